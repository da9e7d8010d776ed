//! Variables declared in a crate of their own, so the behaviour tests (each its own
//! crate) use them across crates, as a library's users would.

use ctxvar::context_var;

/// The correlation id of the request being handled.
#[context_var]
pub static REQUEST_ID: String;

/// The tenant of the request; a `&'static str` to test elided lifetimes.
#[context_var]
pub static TENANT: &str;

/// How many times to retry; has a default.
#[context_var]
pub static RETRIES: u32 = 3;

/// Nested modules work as well as the crate root.
pub mod nested {
    /// A required variable declared in a nested module.
    #[ctxvar::context_var]
    pub static ITEM_ID: u64;
}

/// `#[cfg]` written below the attribute applies to every item the declaration expands
/// to: this crate would not compile if half of a disabled variable were left behind.
#[context_var]
#[cfg(any())] // never true
pub static DISABLED: u8;

/// An enabled variable with a `#[cfg]` that holds, and a default.
#[context_var]
#[cfg(not(any()))] // always true
pub static ENABLED: u8 = 1;

/// The Rust code of `README.md`, compiled and run as this crate's doctests, so that
/// what the README shows keeps working.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
