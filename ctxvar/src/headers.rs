//! HTTP header values as the crate reads and writes them: the helpers, and the rules,
//! of every carrier that meets HTTP (the tower layer's `FromHeader`, the `baggage`
//! codec, and any carrier added later: a propagator, gRPC metadata, a layer on
//! outgoing requests).
//!
//! # Values from the network are hostile
//!
//! A request's headers are whatever the client sent, so every reader here
//!
//! - **never panics**, whatever the bytes: bytes that are not UTF-8, bytes above 0x7F,
//!   empty values, a header sent any number of times;
//! - **does bounded work**: one pass at most over what it reads, never more (no
//!   quadratic path); [`list_elements`] is lazy, so a caller that has what it needs
//!   stops reading, and [`list_exceeds`] stops counting at the limit it checks, so
//!   an oversized header costs no more than one at the limit;
//! - **allocates nothing**: what it returns is borrowed from the map.
//!
//! # Text
//!
//! A value is *text* when every byte is visible ASCII, a space or a tab: what
//! [`HeaderValue::to_str`] accepts ([`is_text`], [`as_text`]). A header may also carry
//! bytes above 0x7F (obs-text), but their meaning depends on an encoding no one
//! declared, and `http` does not hand them out as a `str`. So a single value that is
//! not text is treated as absent; a list's elements stay bytes, for the list's own
//! grammar to judge (a `baggage` value that is not text is an invalid value, and a
//! member that is not text is not forwarded); and a writer writes only text
//! ([`replace_text`]), so that a peer reading under the same rule reads what was
//! sent.
//!
//! # One value, or a list: a header sent twice
//!
//! HTTP lets a header appear on several lines, and lets any hop on the way combine
//! those lines into one, joined by commas, or split one back into several (RFC 9110,
//! section 5.3), but only for a header defined as a comma-separated list. So a
//! header sent twice means one of two things, and the two readers here differ on
//! purpose, one rule per kind of header:
//!
//! - **A single value** ([`single_text`]): `x-request-id`, `x-tenant`, what
//!   `tower::FromHeader` binds. It is read only when the header appears exactly
//!   once, as text. Sent twice, even with the same value, it is refused (`None`), not
//!   resolved: two values for one id are ambiguous, and the layers and proxies around
//!   this one disagree on which counts (the first, the last, both joined by a comma),
//!   so taking either would let a client show this layer one value and a layer next
//!   to it another. The caller then binds a value of its own.
//! - **A list** ([`list_elements`]): `baggage`, a list by the W3C specification. All
//!   its lines are one list, in order, as if joined by commas: a hop may have split
//!   or joined them, and the meaning must not depend on it. The list's limits
//!   therefore count every line, with a comma between two ([`list_exceeds`]), and
//!   empty elements (stray commas, which such joining produces) are skipped. Which
//!   element wins when a list repeats one of its keys is the list's own rule (for
//!   `baggage`, the first).
//!
//! # Writing
//!
//! A header this crate writes is one line ([`replace_text`]): every value it had is
//! replaced, so a list written after merging what was there (as `baggage` does) is
//! not followed by the lines it merged.

// Each helper serves at least one of `tower` and `baggage`; built with only one of
// them, the other's helpers are unused.
#![cfg_attr(
    not(all(feature = "tower", feature = "baggage")),
    allow(dead_code, reason = "the helpers of the feature not built")
)]

use http::{HeaderMap, HeaderName, HeaderValue};

/// Whether `byte` is text in a header value: visible ASCII, a space or a tab (the
/// bytes [`HeaderValue::to_str`] accepts).
pub(crate) const fn is_text(byte: u8) -> bool {
    matches!(byte, b'\t' | 0x20..=0x7E)
}

/// `bytes` as a `str` when every byte is text, or `None`.
pub(crate) fn as_text(bytes: &[u8]) -> Option<&str> {
    if bytes.iter().copied().all(is_text) {
        // Text is ASCII, so this cannot fail.
        core::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

/// The value of a single-value header `name`, when it appears exactly once and is
/// text: the only case in which what the client sent is one unambiguous text. `None`
/// when it is missing, sent more than once, or not text (see the [module
/// documentation](self) for why a header sent twice is refused).
pub(crate) fn single_text<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Option<&'h str> {
    let mut values = headers.get_all(name).iter();
    let only = values.next()?;
    if values.next().is_some() {
        return None;
    }
    as_text(only.as_bytes())
}

/// Whether the `lines` of a list header, joined by commas, take more than
/// `max_bytes` bytes. Counting stops at the limit: the lines after it are not read.
///
/// The lines are an HTTP request's (`&headers.get_all(name)`), or those of any other
/// carrier (gRPC metadata, a message's headers) that gives a header's values as text.
pub(crate) fn list_exceeds<'h, V: AsRef<[u8]> + ?Sized + 'h>(
    lines: impl IntoIterator<Item = &'h V>,
    max_bytes: usize,
) -> bool {
    let mut size = 0usize;
    for (n, value) in lines.into_iter().enumerate() {
        // A comma between two lines.
        size = size.saturating_add(value.as_ref().len() + usize::from(n > 0));
        if size > max_bytes {
            return true;
        }
    }
    false
}

/// The elements of a list header given as its `lines`: every line split at its
/// commas, each element without the spaces and tabs around it, in order, the empty
/// ones skipped. Lazy: what the caller does not take is not read.
pub(crate) fn list_elements<'h, V: AsRef<[u8]> + ?Sized + 'h>(
    lines: impl IntoIterator<Item = &'h V>,
) -> impl Iterator<Item = &'h [u8]> {
    lines
        .into_iter()
        .flat_map(|value| value.as_ref().split(|&byte| byte == b','))
        .map(trim_ows)
        .filter(|element| !element.is_empty())
}

/// `bytes` without the optional whitespace (spaces and tabs) at either end.
pub(crate) fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |end| end + 1);
    &bytes[start..end]
}

/// Sets the header `name` to `text` alone, replacing every value it had; removes it
/// when `text` is empty or is not text (nothing is sent rather than a value a peer
/// would refuse).
pub(crate) fn replace_text(headers: &mut HeaderMap, name: HeaderName, text: &str) {
    headers.remove(&name);
    if text.is_empty() || as_text(text.as_bytes()).is_none() {
        return;
    }
    // Text is always a valid value; were it not, the header stays removed.
    if let Ok(value) = HeaderValue::from_str(text) {
        headers.insert(name, value);
    }
}
