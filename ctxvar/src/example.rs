//! What a variable's documentation page looks like: these variables are declared with
//! [`#[context_var]`](crate::context_var) as an application declares its own, and
//! their pages are what rustdoc makes of yours.
//!
//! **Only in the documentation** (and the crate's own tests): this module is not part
//! of the API, and code cannot name it.

use crate::context_var;

/// The id of the request being served.
///
/// Bound for each request by the server, as `#[with_context(REQUEST_ID = id)]` on
/// its handler.
#[context_var]
pub static REQUEST_ID: u64;

/// How many times a failed call is retried.
#[context_var]
pub static RETRIES: u32 = 3;

/// The database transaction the task has open: it stays with that task.
#[context_var(inherit = false)]
pub static TRANSACTION: u64;

/// The tenant, shown on every log line written while it is bound.
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
#[context_var(trace = display, field = "tenant.id")]
pub static TENANT: &str = "none";
