//! The W3C limits of a `baggage` header: what [`Baggage::extract`] refuses over, and
//! what [`Baggage::inject`] keeps within.
//!
//! [`Baggage::extract`]: crate::baggage::Baggage::extract
//! [`Baggage::inject`]: crate::baggage::Baggage::inject

/// The most bytes the `baggage` headers of a request may hold together (counting a
/// comma between two headers): 8192, the W3C limit. Over it, nothing is bound.
///
/// ```
/// use ctxvar::baggage::{Baggage, MAX_BYTES};
/// use ctxvar::context_var;
///
/// #[context_var]
/// static TENANT: String;
///
/// let baggage = Baggage::new().var("tenant", TENANT);
/// let mut headers = http::HeaderMap::new();
/// let padding = "x".repeat(MAX_BYTES);
/// headers.insert("baggage", format!("tenant=acme,pad={padding}").parse().unwrap());
/// assert!(baggage.extract(&headers).run(|| TENANT.try_get()).is_err());
/// ```
pub const MAX_BYTES: usize = 8192;

/// The most list-members the `baggage` headers of a request may hold together: 180,
/// the W3C limit. Over it, nothing is bound.
///
/// ```
/// use ctxvar::baggage::{Baggage, MAX_MEMBERS};
/// use ctxvar::context_var;
///
/// #[context_var]
/// static TENANT: String;
///
/// let baggage = Baggage::new().var("tenant", TENANT);
/// let many = (0..MAX_MEMBERS).map(|n| format!("k{n}=v")).collect::<Vec<_>>().join(",");
/// let mut headers = http::HeaderMap::new();
/// headers.insert("baggage", format!("tenant=acme,{many}").parse().unwrap());
/// assert!(baggage.extract(&headers).run(|| TENANT.try_get()).is_err());
/// ```
pub const MAX_MEMBERS: usize = 180;
