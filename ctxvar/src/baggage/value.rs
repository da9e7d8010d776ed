//! What a variable's value type needs to travel: the conversions to and from a
//! baggage value's text.

use core::fmt;
use core::str::FromStr;

/// What a variable's value type needs to travel as baggage: written with
/// [`Display`](fmt::Display), read back with [`FromStr`]. Implemented for every type
/// that has both; you never implement it yourself.
///
/// The two should round-trip (`value.to_string().parse()` gives `value` back), as
/// they do for numbers, `String`, `bool`, `Uuid` and most ids. A type that does not
/// implement both is a compile error at
/// [`Baggage::var`](crate::baggage::Baggage::var) that names this trait.
///
/// ```
/// use ctxvar::baggage::BaggageValue;
///
/// fn travels<T: BaggageValue>() {}
/// travels::<u64>();
/// travels::<String>();
/// travels::<std::net::IpAddr>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot travel as baggage",
    label = "the variable's value type must implement both `Display` and `FromStr`",
    note = "a baggage value is written with `Display` and read back with `FromStr`; implement both for it, or list a variable of a type that has them"
)]
//
// The conversions are methods of its own, not supertraits, so that a type missing
// either gets this one message, not one per missing trait.
pub trait BaggageValue: Sized + Send + Sync + 'static {
    /// Appends the value's text (not yet percent-encoded) to `out`.
    #[doc(hidden)]
    fn write_text(&self, out: &mut String);

    /// The value read back from its text, or `None` when the text does not parse.
    #[doc(hidden)]
    fn from_text(text: &str) -> Option<Self>;
}

#[diagnostic::do_not_recommend]
impl<T: fmt::Display + FromStr + Send + Sync + 'static> BaggageValue for T {
    fn write_text(&self, out: &mut String) {
        use core::fmt::Write as _;
        // Writing to a `String` fails only if `Display` itself reports an error; the
        // text written so far is then sent as it is.
        let _ = write!(out, "{self}");
    }

    fn from_text(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}
