//! The W3C `baggage` header as text: its members, their keys and values, the
//! percent-encoding, and the limits an outgoing header keeps. Everything here reads
//! input from the network, so everything here is linear in its size.

use std::borrow::Cow;
use std::collections::HashSet;

use super::{MAX_BYTES, MAX_MEMBERS};
use crate::headers::trim_ows;

/// The members of an outgoing header, in order, within the limits.
#[derive(Default)]
pub(super) struct Members<'k> {
    pub(super) text: String,
    pub(super) written: usize,
    /// The keys seen, written or dropped. A set, not a list: the members come from the
    /// network, and a list scanned for each new key made a header of n members cost
    /// n² comparisons (seconds for the 400 KiB a server accepts).
    pub(super) keys: HashSet<&'k str>,
    pub(super) dropped: usize,
    /// A member came after the header was full: it and the rest were not read.
    pub(super) unread: bool,
}

/// The fewest bytes a member takes: a one-character key and `=`, with an empty value.
pub(super) const SHORTEST_MEMBER: usize = 2;

impl<'k> Members<'k> {
    /// Appends `member` unless its key was seen already (the first wins) or it would
    /// exceed a limit. It is then dropped whole (W3C forbids sending part of one), and
    /// its key still counts as seen: a member of lower priority with the same key
    /// (a stale value) must not go out in its place.
    pub(super) fn push(&mut self, key: &'k str, member: &str) {
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
    pub(super) fn stop_if_full(&mut self) -> bool {
        let full = self.written == MAX_MEMBERS
            || (!self.text.is_empty() && self.text.len() + 1 + SHORTEST_MEMBER > MAX_BYTES);
        self.unread |= full;
        full
    }
}

/// A member's key and value (properties dropped), both trimmed; `None` when it is
/// malformed: no `=`, or a key that is not a token.
pub(super) fn split_member(member: &[u8]) -> Option<(&[u8], &[u8])> {
    let without_properties = member.split(|&byte| byte == b';').next().unwrap_or(member);
    let equals = without_properties.iter().position(|&byte| byte == b'=')?;
    let key = trim_ows(&without_properties[..equals]);
    let value = trim_ows(&without_properties[equals + 1..]);
    is_token(key).then_some((key, value))
}

/// The key of a well-formed member, as text.
pub(super) fn member_key(member: &[u8]) -> Option<&str> {
    let (key, _) = split_member(member)?;
    core::str::from_utf8(key).ok()
}

/// A token character (RFC 9110): what a baggage key is made of.
pub(super) const fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric()
        || matches!(
            byte,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// One or more token characters.
pub(super) fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().copied().all(is_tchar)
}

/// A byte W3C allows unescaped in a value: visible ASCII except `"`, `,`, `;` and `\`.
/// `%` is allowed but always starts an escape, so it is escaped when writing.
pub(super) const fn is_value_octet(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// Appends `text` percent-encoded: every byte that is not a value octet, and `%`.
pub(super) fn percent_encode(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        if is_value_octet(byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
}

/// The value percent-decoded, or `None` for a byte W3C does not allow unescaped, an
/// escape that is not `%` and two hex digits, or a result that is not UTF-8. Borrows
/// when there is nothing to decode.
pub(super) fn percent_decode(value: &[u8]) -> Option<Cow<'_, str>> {
    if !value.iter().copied().all(is_value_octet) {
        return None;
    }
    if !value.contains(&b'%') {
        return core::str::from_utf8(value).ok().map(Cow::Borrowed);
    }
    let mut decoded = Vec::with_capacity(value.len());
    let mut bytes = value.iter().copied();
    while let Some(byte) = bytes.next() {
        if byte == b'%' {
            let high = hex_digit(bytes.next()?)?;
            let low = hex_digit(bytes.next()?)?;
            decoded.push(high << 4 | low);
        } else {
            decoded.push(byte);
        }
    }
    String::from_utf8(decoded).ok().map(Cow::Owned)
}

/// The value of one hex digit, either case.
pub(super) const fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}
