//! Reading the incoming header: [`Baggage::extract`], which scans it within the
//! limits and binds the listed variables it finds into a [`Context`].

use std::borrow::Cow;

use http::HeaderMap;

use super::grammar::{BAGGAGE, split_member};
use super::limits::{MAX_BYTES, MAX_MEMBERS};
use super::list::{Baggage, ListedVar};
use super::percent::percent_decode;
use crate::context::Context;
use crate::headers::{list_elements, list_exceeds};

impl Baggage {
    /// The context to handle a request with these `headers` in: the listed variables
    /// found in its `baggage` header bound, over the bindings in effect here.
    ///
    /// Run the handler with [`Context::run`] or [`Context::scope`]. This is what the
    /// [`layer`](Self::layer) does for each request; use it with a server that is not
    /// tower-based. See "Reading the header" and "What the bound context holds" in the
    /// [module documentation](super), and do not call it for untrusted callers if a
    /// variable it binds grants anything.
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
    /// let mut headers = http::HeaderMap::new();
    /// // `request.id` is not a number: it alone is left unbound (and a warning logged).
    /// headers.insert("baggage", "request.id=seven, tenant=acme%20corp;source=edge".parse().unwrap());
    ///
    /// # futures::executor::block_on(async {
    /// let ctx = baggage.extract(&headers);
    /// let seen = ctx.scope(async { (TENANT.try_get(), REQUEST_ID.is_bound()) }).await;
    /// assert_eq!(seen, (Ok("acme corp".to_owned()), false));
    /// # });
    /// ```
    #[must_use]
    pub fn extract(&self, headers: &HeaderMap) -> Context {
        self.extract_lines(&headers.get_all(&BAGGAGE))
    }

    /// [`extract`](Self::extract) for any carrier: `lines` are the values of its
    /// `baggage` header (one or more, read as one list), as the
    /// [`TextMapPropagator`](opentelemetry::propagation::TextMapPropagator) impl gets
    /// them from an `Extractor`.
    pub(super) fn extract_lines<'h, V: AsRef<[u8]> + ?Sized + 'h>(
        &self,
        lines: impl IntoIterator<Item = &'h V> + Copy,
    ) -> Context {
        self.extract_lines_bound(lines, &mut |_, _| {})
    }

    /// [`extract_lines`](Self::extract_lines), calling `bound(key, text)` for each
    /// listed variable it binds (decoded, and parsed as its type).
    pub(super) fn extract_lines_bound<'h, V: AsRef<[u8]> + ?Sized + 'h>(
        &self,
        lines: impl IntoIterator<Item = &'h V> + Copy,
        bound: &mut dyn FnMut(&str, &str),
    ) -> Context {
        let mut found: Vec<Found<'_>> = self.vars.iter().map(|_| Found::Missing).collect();
        if let Err(limit) = self.scan(lines, &mut found) {
            tracing::warn!(
                "baggage: the `baggage` header is over {limit}; no baggage variable bound"
            );
            return Context::current();
        }
        let mut values = Vec::with_capacity(found.len());
        for (entry, found) in self.vars.iter().zip(found) {
            match found {
                Found::Missing => {}
                Found::Invalid => tracing::warn!(
                    key = %entry.key,
                    "baggage: the value of `{}` is not valid percent-encoded UTF-8 text; `{}` not bound",
                    entry.key,
                    entry.var,
                ),
                Found::Value(text) => values.push((entry, text)),
            }
        }
        let mut ctx = None;
        bind_nested(&values, &mut ctx, bound);
        ctx.unwrap_or_else(Context::current)
    }

    /// Reads the headers into `found` (one slot per entry), or says which limit they
    /// exceed. Work and memory are bounded by the limits, not by the input: the size is
    /// checked before anything is decoded, and only listed keys' values are decoded.
    fn scan<'h, V: AsRef<[u8]> + ?Sized + 'h>(
        &self,
        lines: impl IntoIterator<Item = &'h V> + Copy,
        found: &mut [Found<'h>],
    ) -> Result<(), &'static str> {
        // The lines form one list, as if joined with commas.
        if list_exceeds(lines, MAX_BYTES) {
            return Err("8192 bytes");
        }
        for (read, member) in list_elements(lines).enumerate() {
            if read == MAX_MEMBERS {
                return Err("180 members");
            }
            let Some((key, value)) = split_member(member) else {
                continue;
            };
            let listed = self
                .vars
                .iter()
                .position(|entry| entry.key.as_bytes() == key);
            if let Some(index) = listed {
                // The first member with a key decides, valid or not.
                if matches!(found[index], Found::Missing) {
                    found[index] = percent_decode(value).map_or(Found::Invalid, Found::Value);
                }
            }
        }
        Ok(())
    }
}

/// What the header says about one listed key.
enum Found<'h> {
    /// No member with the key.
    Missing,
    /// The first member's value, percent-decoded.
    Value(Cow<'h, str>),
    /// The first member's value is not valid percent-encoded UTF-8.
    Invalid,
}

/// Binds each value in turn, each scope inside the previous one, and captures the
/// context at the innermost level into `out`. A value that does not parse is skipped
/// (with a warning) and the rest are still bound.
fn bind_nested(
    values: &[(&ListedVar, Cow<'_, str>)],
    out: &mut Option<Context>,
    bound: &mut dyn FnMut(&str, &str),
) {
    let Some(((entry, text), rest)) = values.split_first() else {
        *out = Some(Context::current());
        return;
    };
    let bind_rest = &mut || {
        bound(&entry.key, text);
        bind_nested(rest, out, bound);
    };
    if (entry.bind)(text, bind_rest).is_err() {
        tracing::warn!(
            key = %entry.key,
            "baggage: the value of `{}` does not parse as the type of `{}`; not bound",
            entry.key,
            entry.var,
        );
        bind_nested(rest, out, bound);
    }
}
