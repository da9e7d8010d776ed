//! The list of variables that travel, and how it is built: [`Baggage`], each
//! variable's entry, and the closures that read and bind its value.

use core::fmt;
use std::borrow::Cow;
use std::sync::Arc;

use super::grammar::is_token;
use super::value::BaggageValue;
use crate::var::ContextVar;

/// Appends the text of the variable's value if it is bound here, and says whether
/// it is.
type ReadFn = dyn Fn(&mut String) -> bool + Send + Sync;

/// Parses `text` as the variable's value; if it parses, runs the closure with the
/// variable bound to it. Without enumeration of a context or a way to build one from
/// values, nested `sync_scope`s are how a set of variables known only at run time is
/// bound.
type BindFn = dyn Fn(&str, &mut dyn FnMut()) -> Result<(), NotParsed> + Send + Sync;

/// The text did not parse as the variable's type.
#[derive(Debug)]
pub(super) struct NotParsed;

/// One listed variable.
#[derive(Clone)]
pub(super) struct ListedVar {
    pub(super) key: Cow<'static, str>,
    pub(super) var: &'static str,
    pub(super) read: Arc<ReadFn>,
    pub(super) bind: Arc<BindFn>,
}

/// The context variables that travel in the W3C `baggage` header, each under its
/// baggage key: only these are ever written or read. See the [module
/// documentation](super) for the format, the limits and the security warning.
///
/// Build it once, at start-up, and share it: cloning is one reference-count
/// increment.
///
/// ```
/// use ctxvar::baggage::Baggage;
/// use ctxvar::context_var;
///
/// #[context_var]
/// static TENANT: String;
///
/// #[context_var]
/// static REQUEST_ID: u64;
///
/// let baggage = Baggage::new().var("tenant", TENANT).var("request.id", REQUEST_ID);
/// assert_eq!(
///     format!("{baggage:?}"),
///     r#"Baggage {"tenant": "TENANT", "request.id": "REQUEST_ID"}"#
/// );
/// ```
#[derive(Clone, Default)]
pub struct Baggage {
    pub(super) vars: Arc<[ListedVar]>,
    /// Whether the propagator's extraction also puts the values it binds into the
    /// OpenTelemetry context's baggage (see
    /// [`merge_into_opentelemetry_baggage`](Self::merge_into_opentelemetry_baggage)).
    pub(super) into_otel: bool,
}

impl Baggage {
    /// An empty list: nothing travels until variables are added with [`var`](Self::var).
    ///
    /// ```
    /// use ctxvar::baggage::Baggage;
    ///
    /// let mut headers = http::HeaderMap::new();
    /// Baggage::new().inject(&mut headers);
    /// assert!(headers.is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Baggage::default()
    }

    /// Adds `variable`, sent and read under the baggage key `key`.
    ///
    /// Its value type must implement [`Display`](fmt::Display) and [`FromStr`](core::str::FromStr) (see
    /// [`BaggageValue`]). Keys are case-sensitive, and a short dotted lower-case name
    /// (`tenant`, `request.id`) is the convention; the other services must use the
    /// same one. List only variables not declared `inherit = false` (see "What the
    /// bound context holds" in the [module documentation](super)).
    ///
    /// # Panics
    ///
    /// If `key` is not a valid baggage key (one or more token characters: ASCII letters,
    /// digits and ``! # $ % & ' * + - . ^ _ ` | ~``), or is already listed. Both are
    /// mistakes in the program, found when the list is built at start-up; the message
    /// names the key and the rule.
    ///
    /// ```
    /// use ctxvar::baggage::Baggage;
    /// use ctxvar::context_var;
    ///
    /// #[context_var]
    /// static TENANT: String;
    ///
    /// let baggage = Baggage::new().var("tenant", TENANT);
    /// let keys = std::panic::catch_unwind(|| Baggage::new().var("the tenant", TENANT));
    /// assert!(keys.is_err()); // a space is not a token character
    /// # let _ = baggage;
    /// ```
    #[must_use]
    #[track_caller]
    pub fn var<V>(self, key: impl Into<Cow<'static, str>>, variable: V) -> Self
    where
        V: ContextVar + Send + Sync + 'static,
        V::Value: BaggageValue,
    {
        let key = key.into();
        assert!(
            is_token(key.as_bytes()),
            "baggage key `{}` is not valid: a key is one or more token characters \
             (ASCII letters, digits and ! # $ % & ' * + - . ^ _ ` | ~)",
            key.escape_debug(),
        );
        if let Some(listed) = self.vars.iter().find(|entry| entry.key == key) {
            panic!(
                "baggage key `{key}` is listed twice (for `{}` and `{}`): each key names one variable",
                listed.var,
                variable.name(),
            );
        }
        let entry = ListedVar {
            key,
            var: variable.name(),
            read: Arc::new(move |out: &mut String| {
                variable.try_with(|value| value.write_text(out)).is_ok()
            }),
            bind: Arc::new(move |text: &str, inner: &mut dyn FnMut()| {
                let value = V::Value::from_text(text).ok_or(NotParsed)?;
                variable.sync_scope(value, inner);
                Ok(())
            }),
        };
        let mut vars = self.vars.to_vec();
        vars.push(entry);
        Baggage {
            vars: vars.into(),
            into_otel: self.into_otel,
        }
    }
}

impl fmt::Debug for Baggage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The keys and the names of their variables; values are not the list's.
        f.write_str("Baggage ")?;
        let mut map = f.debug_map();
        for entry in self.vars.iter() {
            map.entry(&entry.key, &entry.var);
        }
        map.finish()
    }
}
