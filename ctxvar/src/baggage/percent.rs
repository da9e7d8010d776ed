//! The percent-encoding of baggage values: written for every byte a value may not
//! carry as it is, read back strictly. Linear in the value's size.

use std::borrow::Cow;

use super::grammar::is_value_octet;

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
const fn hex_digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}
