//! Writing the outgoing header: [`Baggage::inject`], and the members it gathers
//! within the limits.

use std::collections::HashSet;

use http::HeaderMap;
use opentelemetry::baggage::BaggageExt as _;

use super::grammar::{BAGGAGE, is_token, member_key};
use super::limits::{MAX_BYTES, MAX_MEMBERS};
use super::list::Baggage;
use super::percent::percent_encode;
use crate::headers::{as_text, is_text, list_elements, replace_text};

impl Baggage {
    /// Writes the listed variables bound here into `headers`' `baggage` header, merged
    /// with the members already there and with the current OpenTelemetry context's
    /// baggage; see "Writing the header" in the [module documentation](super).
    ///
    /// Call it where the outgoing request is built, in the scope whose values should
    /// travel. A listed variable that is not bound here is not written (a member
    /// with its key already in the header is then kept); one declared with a default
    /// is written with its default, as `try_get` reads it.
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
    /// let mut request = http::Request::get("http://b.internal/").body(()).unwrap();
    /// // REQUEST_ID is not bound: only the tenant travels.
    /// TENANT.sync_scope("a,b;c".to_owned(), || baggage.inject(request.headers_mut()));
    /// assert_eq!(request.headers()["baggage"], "tenant=a%2Cb%3Bc");
    /// ```
    pub fn inject(&self, headers: &mut HeaderMap) {
        let text = self.outgoing(
            headers.get_all(&BAGGAGE),
            &opentelemetry::Context::current(),
        );
        // Every member was checked to be text, so it is written unless it is empty; if
        // it were not, sending no baggage would be the safe outcome.
        replace_text(headers, BAGGAGE, &text);
    }

    /// The text of the outgoing `baggage` header: the listed variables bound here,
    /// then the members of `existing` (the lines of a header already on the outgoing
    /// message), then the baggage of `otel`, the first of each key winning, within
    /// the limits. What every carrier writes: [`inject`](Self::inject) for a
    /// `HeaderMap`, and the [`TextMapPropagator`](opentelemetry::propagation::TextMapPropagator)
    /// impl for any other.
    pub(super) fn outgoing<'h, V: AsRef<[u8]> + ?Sized + 'h>(
        &self,
        existing: impl IntoIterator<Item = &'h V>,
        otel: &opentelemetry::Context,
    ) -> String {
        let mut out = Members::default();
        let mut text = String::new();
        for entry in self.vars.iter() {
            text.clear();
            if (entry.read)(&mut text) {
                if out.stop_if_full() {
                    break;
                }
                let mut member = String::with_capacity(entry.key.len() + 1 + text.len());
                member.push_str(&entry.key);
                member.push('=');
                percent_encode(&text, &mut member);
                out.push(&entry.key, &member);
            }
        }
        for raw in list_elements(existing) {
            if out.stop_if_full() {
                break;
            }
            // Members already in the map are passed on as they are, if they are
            // well-formed text a header can carry again.
            let Some(member) = as_text(raw) else {
                continue;
            };
            if let Some(key) = member_key(member.as_bytes()) {
                out.push(key, member);
            }
        }
        for (key, (value, metadata)) in otel.baggage() {
            if out.unread || out.stop_if_full() {
                break;
            }
            let key = key.as_str();
            if !is_token(key.as_bytes()) {
                continue;
            }
            let mut member = String::with_capacity(key.len() + 1 + value.as_str().len());
            member.push_str(key);
            member.push('=');
            percent_encode(value.as_str(), &mut member);
            let metadata = metadata.as_str().trim();
            if !metadata.is_empty() {
                if !metadata.bytes().all(|byte| is_text(byte) && byte != b',') {
                    continue;
                }
                member.push(';');
                member.push_str(metadata);
            }
            out.push(key, &member);
        }
        // The keys borrow from `existing`, which the caller may rewrite next.
        let Members {
            text,
            keys,
            dropped,
            unread,
            ..
        } = out;
        drop(keys);
        if unread {
            tracing::warn!(
                dropped,
                "baggage: the outgoing `baggage` header is full ({MAX_MEMBERS} members, or \
                 {MAX_BYTES} bytes with no room for another member); the members after it \
                 were dropped unread (`dropped` counts those dropped before it filled)"
            );
        } else if dropped > 0 {
            tracing::warn!(
                dropped,
                "baggage: members dropped from the outgoing `baggage` header to stay within \
                 {MAX_MEMBERS} members and {MAX_BYTES} bytes"
            );
        }
        text
    }
}

/// The members of an outgoing header, in order, within the limits.
#[derive(Default)]
struct Members<'k> {
    text: String,
    written: usize,
    /// The keys seen, written or dropped. A set, not a list: the members come from the
    /// network, and a list scanned for each new key made a header of n members cost
    /// n² comparisons (seconds for the 400 KiB a server accepts).
    keys: HashSet<&'k str>,
    dropped: usize,
    /// A member came after the header was full: it and the rest were not read.
    unread: bool,
}

/// The fewest bytes a member takes: a one-character key and `=`, with an empty value.
const SHORTEST_MEMBER: usize = 2;

impl<'k> Members<'k> {
    /// Appends `member` unless its key was seen already (the first wins) or it would
    /// exceed a limit. It is then dropped whole (W3C forbids sending part of one), and
    /// its key still counts as seen: a member of lower priority with the same key
    /// (a stale value) must not go out in its place.
    fn push(&mut self, key: &'k str, member: &str) {
        if !self.keys.insert(key) {
            return;
        }
        let separator = usize::from(!self.text.is_empty());
        if self.written == MAX_MEMBERS || self.text.len() + separator + member.len() > MAX_BYTES {
            self.dropped += 1;
            return;
        }
        if separator == 1 {
            self.text.push(',');
        }
        self.text.push_str(member);
        self.written += 1;
    }

    /// Whether no member can be appended any more: [`MAX_MEMBERS`] written, or no room
    /// for a comma and the shortest member. Then the header is final, and the callers
    /// stop reading (marking the rest unread): whatever follows could only be dropped,
    /// and reading it would let the size of the input, not of the output, decide the
    /// work.
    fn stop_if_full(&mut self) -> bool {
        let full = self.written == MAX_MEMBERS
            || (!self.text.is_empty() && self.text.len() + 1 + SHORTEST_MEMBER > MAX_BYTES);
        self.unread |= full;
        full
    }
}
