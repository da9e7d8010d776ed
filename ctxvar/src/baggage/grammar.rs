//! What a `baggage` header is made of: its name, its members (`key=value`, then
//! properties), the characters of a key and of a value. Everything here reads input
//! from the network, so everything here is linear in its size.

use http::HeaderName;

use crate::headers::trim_ows;

/// The header's name; `http` has no constant for it.
pub(super) const BAGGAGE: HeaderName = HeaderName::from_static("baggage");

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
const fn is_tchar(byte: u8) -> bool {
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
