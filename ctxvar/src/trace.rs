//! Context variables on log lines (feature `tracing`).
//!
//! A variable declared `#[context_var(trace)]` (or `trace = display`) is shown as a
//! field on every `tracing` event emitted while it is bound, and on no other: the
//! fields are read from the bindings in effect *when the event is formatted*, on the
//! thread that emits it. So a binding costs nothing more for being traced (no span
//! is made, entered or closed), spawned work shows exactly the variables it inherits,
//! and events logged by destructors during cancellation show the values still bound
//! there.
//!
//! With `tracing-subscriber`'s `fmt`, wrap its event format in [`ContextFields`],
//! which adds the fields to each line, in text or JSON:
//!
//! ```
//! use ctxvar::trace::ContextFields;
//!
//! #[ctxvar::context_var(trace = display)]
//! static REQUEST_ID: u64;
//!
//! tracing_subscriber::fmt()
//!     .without_time()
//!     .map_event_format(ContextFields::text)
//!     .with_writer(std::io::stdout)
//!     .init();
//!
//! REQUEST_ID.sync_scope(7, || tracing::info!("handled"));
//! // prints ` INFO rust_out: handled request_id=7`
//! ```
//!
//! Anything else that handles events (a `tracing_subscriber::Layer` of your own, a
//! log shipper) reads the same fields with [`for_each_field`] when it sees an event.
//!
//! The field is named like the variable in lower case (`REQUEST_ID` as `request_id`),
//! or as the declaration says: `#[context_var(trace, field = "request.id")]`. It goes
//! on events of every level, since it belongs to the event, not to a span: there is no
//! level or span name of ctxvar's to filter or configure.
//!
//! Spans are left to you: to time a request or export it with `tracing-opentelemetry`,
//! put `#[tracing::instrument]` on the function; ctxvar adds no span of its own, so
//! nothing is exported or logged per binding.

use core::cell::RefCell;
use core::fmt::{self, Write as _};

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::frame;

/// Calls `f` with the field name and value of every traced variable bound here (its
/// innermost binding), outermost first: what [`ContextFields`] adds to each line.
///
/// For a subscriber or layer of your own: call it where you handle an event (in
/// `Layer::on_event`), which runs on the thread that emitted it, with its bindings.
/// The value is shown with `Debug`, or `Display` for a variable declared
/// `trace = display`, as it is: a value that came from a client (baggage) may hold
/// control characters, so escape them where the output is text read by people or
/// split into lines, as [`ContextFields::text`] does.
///
/// ```
/// use ctxvar::{context_var, trace};
///
/// #[context_var(trace)]
/// static TENANT: &'static str;
/// #[context_var(trace = display)]
/// static REQUEST_ID: u64;
///
/// let mut line = String::new();
/// TENANT.sync_scope("acme", || {
///     REQUEST_ID.sync_scope(7, || {
///         trace::for_each_field(|name, value| line.push_str(&format!(" {name}={value}")));
///     })
/// });
/// assert_eq!(line, r#" tenant="acme" request_id=7"#);
/// ```
pub fn for_each_field(mut f: impl FnMut(&'static str, &dyn fmt::Display)) {
    frame::for_each_traced(|name, value| f(name, &value));
}

/// What `#[context_var(trace)]` (or `trace = debug`) needs of the variable's type:
/// [`Debug`](core::fmt::Debug), with which the value is recorded. Implemented for every
/// `Debug` type; you never implement it yourself.
///
/// A traced variable whose type is not `Debug` is a compile error at `trace` that
/// names this trait.
///
/// ```
/// #[derive(Debug)]
/// struct Tenant(u32);
///
/// #[ctxvar::context_var(trace)]
/// static TENANT: Tenant;
///
/// fn recordable<T: ctxvar::TraceDebug>() {}
/// recordable::<Tenant>();
///
/// let id = TENANT.sync_scope(Tenant(7), || {
///     tracing::info!("handled"); // shown as `INFO handled tenant=Tenant(7)`
///     TENANT.try_with(|tenant| tenant.0)
/// });
/// assert_eq!(id, Ok(7));
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded with `Debug`",
    label = "declared `trace`, but the type does not implement `Debug`",
    note = "derive or implement `Debug` for it, or record it with `Display`: `#[context_var(trace = display)]`"
)]
//
// Safe to implement: a wrong impl can only record a wrong field value.
pub trait TraceDebug {
    /// Formats the value as it is shown on log events.
    #[doc(hidden)]
    fn fmt_traced(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

#[diagnostic::do_not_recommend]
impl<T: fmt::Debug> TraceDebug for T {
    fn fmt_traced(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What `#[context_var(trace = display)]` needs of the variable's type:
/// [`Display`](core::fmt::Display), with which the value is recorded. Implemented for
/// every `Display` type; you never implement it yourself.
///
/// A variable declared `trace = display` whose type is not `Display` is a compile error
/// at `trace` that names this trait.
///
/// ```
/// #[ctxvar::context_var(trace = display)]
/// static REQUEST_ID: u64;
///
/// fn recordable<T: ctxvar::TraceDisplay>() {}
/// recordable::<u64>();
///
/// REQUEST_ID.sync_scope(7, || tracing::info!("handled")); // shown as `INFO handled request_id=7`
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded with `Display`",
    label = "declared `trace = display`, but the type does not implement `Display`",
    note = "implement `Display` for it, or record it with `Debug`: `#[context_var(trace)]`"
)]
//
// Safe to implement: a wrong impl can only record a wrong field value.
pub trait TraceDisplay {
    /// Formats the value as it is shown on log events.
    #[doc(hidden)]
    fn fmt_traced(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

#[diagnostic::do_not_recommend]
impl<T: fmt::Display> TraceDisplay for T {
    fn fmt_traced(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A `tracing-subscriber` event format that adds the traced context variables bound
/// where each event is emitted to its line: `tracing_subscriber::fmt()
/// .map_event_format(ContextFields::text)`, or `ContextFields::json` after `.json()`.
///
/// - **Text** (`fmt()`, `.compact()`, `.pretty()`): ` name=value` for each variable,
///   at the end of the line (after the event's own fields; for `pretty`, after its
///   last line), outermost binding first, with control characters in the value
///   escaped (see [`text`](Self::text)).
/// - **JSON** (`.json()`): the variables join the event's `"fields"` object (or the
///   top level, with `flatten_event(true)`), as strings: `"request_id":"7"`. An event
///   field of the same name comes after them, so a parser that keeps the last key
///   sees the event's.
///
/// Lines with no traced variable bound are written exactly as the wrapped format
/// writes them. With a variable bound, the wrapped format writes into a buffer (one
/// per thread, reused), to which the fields are added. ANSI colours follow the
/// writer, as they do without the wrapper.
///
/// ```
/// use ctxvar::trace::ContextFields;
///
/// #[ctxvar::context_var(trace = display)]
/// static REQUEST_ID: u64;
///
/// let subscriber = tracing_subscriber::fmt()
///     .json()
///     .map_event_format(ContextFields::json)
///     .with_writer(std::io::stdout)
///     .finish();
/// tracing::subscriber::with_default(subscriber, || {
///     // {"timestamp":"..","level":"INFO","fields":{"request_id":"7","message":"handled"},..}
///     REQUEST_ID.sync_scope(7, || tracing::info!("handled"));
/// });
/// ```
#[derive(Debug, Clone)]
pub struct ContextFields<F, T> {
    /// The wrapped format, writing without ANSI escapes ...
    plain: Format<F, T>,
    /// ... and with them: chosen per line by the writer, since the format writes into
    /// a buffer that cannot say whether the terminal takes colours.
    ansi: Format<F, T>,
    json: bool,
}

impl<F, T: Clone> ContextFields<F, T> {
    /// Adds the fields to each line of a text format: `fmt::format()`, `.compact()`,
    /// `.pretty()` and their options.
    ///
    /// # Control characters are escaped
    ///
    /// A value may hold text a client sent (a tenant read from its `baggage` header,
    /// percent-decoded), so control characters in it are escaped, in `Display` and
    /// `Debug` values alike: a value cannot end the line and forge another, nor send
    /// the terminal an escape sequence (colours, the window title, clearing the
    /// screen). `\n`, `\r` and `\t` are written as those two characters, as Rust, C
    /// and JSON write them; the other C0 controls and DEL as `\x` and two hex digits
    /// (`\x1b`, `\x7f`), the form `tracing-subscriber`'s `fmt` uses for the
    /// escapes it removes from messages; C1 controls (U+0080 to U+009F, two bytes in
    /// UTF-8) as their code point, `\u{9b}`, the form of Rust's `escape_debug`. Nothing
    /// else is changed: a backslash is not doubled, so the escaping keeps text
    /// without control characters exactly as it is (a Windows path, a `Debug` string
    /// that escaped its own) at the price of not being reversible. A value with no
    /// control character is written as it is, with no allocation. The ANSI styling
    /// `ContextFields` adds around the field names, when the writer takes colours, is
    /// its own and is not escaped.
    ///
    /// JSON lines ([`json`](Self::json)) escape control characters as JSON does.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// #[ctxvar::context_var(trace = display)]
    /// static TENANT: String;
    ///
    /// #[derive(Clone, Default)]
    /// struct Lines(Arc<Mutex<Vec<u8>>>);
    /// impl std::io::Write for Lines {
    ///     fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
    ///         self.0.lock().unwrap().extend_from_slice(bytes);
    ///         Ok(bytes.len())
    ///     }
    ///     fn flush(&mut self) -> std::io::Result<()> {
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let lines = Lines::default();
    /// let writer = lines.clone();
    /// let subscriber = tracing_subscriber::fmt()
    ///     .compact()
    ///     .without_time()
    ///     .with_target(false)
    ///     .with_ansi(false)
    ///     .with_writer(move || writer.clone())
    ///     .map_event_format(ctxvar::trace::ContextFields::text)
    ///     .finish();
    /// tracing::subscriber::with_default(subscriber, || {
    ///     TENANT.sync_scope("acme\n INFO forged\x1b[2J".to_owned(), || tracing::info!("handled"));
    /// });
    /// let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    /// assert_eq!(text, " INFO handled tenant=acme\\n INFO forged\\x1b[2J\n");
    /// ```
    pub fn text(format: Format<F, T>) -> Self
    where
        F: Clone,
    {
        Self::wrap(format, false)
    }

    /// Adds the fields to each object of a JSON format (`fmt::format().json()`).
    ///
    /// ```
    /// let _ = tracing_subscriber::fmt()
    ///     .json()
    ///     .map_event_format(ctxvar::trace::ContextFields::json);
    /// ```
    pub fn json(format: Format<F, T>) -> Self
    where
        F: Clone,
    {
        Self::wrap(format, true)
    }

    fn wrap(format: Format<F, T>, json: bool) -> Self
    where
        F: Clone,
    {
        ContextFields {
            plain: format.clone().with_ansi(false),
            ansi: format.with_ansi(true),
            json,
        }
    }
}

impl<S, N, F, T> FormatEvent<S, N> for ContextFields<F, T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    Format<F, T>: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ansi = writer.has_ansi_escapes();
        let format = if ansi { &self.ansi } else { &self.plain };
        // A first walk of the chain (a few pointer loads) decides whether the line
        // needs the buffer at all; the second, in `add_to_*`, writes the fields
        // straight into it, so no value is formatted into a `String` of its own.
        let mut any = false;
        for_each_field(|_, _| any = true);
        if !any {
            return format.format_event(ctx, writer, event);
        }
        with_buffer(|line| {
            format.format_event(ctx, Writer::new(line), event)?;
            if self.json {
                add_to_json(line);
            } else {
                add_to_text(line, ansi);
            }
            writer.write_str(line)
        })
    }
}

/// ` name=value` for each traced variable bound here, before the line's trailing
/// newlines.
fn add_to_text(line: &mut String, ansi: bool) {
    let end = line.trim_end_matches('\n').len();
    let newlines = line.split_off(end);
    for_each_field(|name, value| {
        // As `tracing-subscriber` writes an event's own fields: the name in italics
        // and a dimmed `=`.
        let _ = if ansi {
            write!(line, " \x1b[3m{name}\x1b[0m\x1b[2m=\x1b[0m")
        } else {
            write!(line, " {name}=")
        };
        // The value may be the caller's (a tenant read from baggage): its control
        // characters must not end the line or reach the terminal.
        let _ = write!(TextEscaped(line), "{value}");
    });
    line.push_str(&newlines);
}

/// Writes text with its control characters escaped, for a value on a text line (see
/// [`ContextFields::text`] for the forms). Text with none is written as it is, in one
/// piece.
struct TextEscaped<'a>(&'a mut String);

impl fmt::Write for TextEscaped<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text;
        // `is_control` is exactly C0, DEL and C1.
        while let Some((at, c)) = rest.char_indices().find(|&(_, c)| c.is_control()) {
            self.0.push_str(&rest[..at]);
            match c {
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                '\t' => self.0.push_str("\\t"),
                // The other C0 controls and DEL are one byte each: shown as that byte.
                c if c.is_ascii() => write!(self.0, "\\x{:02x}", u32::from(c))?,
                // C1 controls are two bytes in UTF-8, so shown as the code point.
                c => write!(self.0, "\\u{{{:x}}}", u32::from(c))?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.push_str(rest);
        Ok(())
    }
}

/// `"name":"value",` for each traced variable bound here, at the start of the
/// object's `"fields"`, or of the object itself if it has none (`flatten_event(true)`).
fn add_to_json(line: &mut String) {
    // The first `"fields":{` is the key: nothing before it can contain that text,
    // since a quote inside a JSON string is escaped.
    let at = match line.find("\"fields\":{") {
        Some(key) => key + "\"fields\":{".len(),
        None => match line.find('{') {
            Some(object) => object + 1,
            // Not JSON: leave the line as the format wrote it.
            None => return,
        },
    };
    let empty = line[at..].trim_start().starts_with('}');
    let mut members = String::new();
    for_each_field(|name, value| {
        if !members.is_empty() {
            members.push(',');
        }
        // A field name is ASCII letters, digits, `_`, `.` and `-` (`#[context_var]`
        // checks it): nothing to escape.
        let _ = write!(members, "\"{name}\":\"");
        let _ = write!(JsonEscaped(&mut members), "{value}");
        members.push('"');
    });
    if !empty {
        members.push(',');
    }
    line.insert_str(at, &members);
}

/// Writes text escaped for the inside of a JSON string.
struct JsonEscaped<T>(T);

impl fmt::Write for JsonEscaped<&mut String> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for c in text.chars() {
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                '\t' => self.0.push_str("\\t"),
                c if c < ' ' => write!(self.0, "\\u{:04x}", u32::from(c))?,
                c => self.0.push(c),
            }
        }
        Ok(())
    }
}

/// Runs `f` on this thread's line buffer, cleared, or on a new one if that one is in
/// use (an event logged while another is formatted) or gone (thread exit).
fn with_buffer<R>(f: impl FnOnce(&mut String) -> R) -> R {
    thread_local! {
        static BUFFER: RefCell<String> = const { RefCell::new(String::new()) };
    }
    let mut f = Some(f);
    let reused = BUFFER.try_with(|buffer| {
        let mut buffer = buffer.try_borrow_mut().ok()?;
        buffer.clear();
        let f = f.take()?;
        Some(f(&mut buffer))
    });
    match (reused, f) {
        (Ok(Some(result)), _) => result,
        (_, Some(f)) => f(&mut String::new()),
        (_, None) => unreachable!("`f` is taken only when it is run"),
    }
}
