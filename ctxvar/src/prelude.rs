//! The one import that makes every variable's methods callable by path.
//!
//! Importing a variable (`use vars::ITEM_ID;`) brings its methods with it. Naming it by
//! path without importing it (`vars::ITEM_ID.try_get()`) needs a trait in scope; this
//! module's glob import provides it for every variable at once:
//!
//! ```
//! use ctxvar::prelude::*;
//!
//! mod vars {
//!     #[ctxvar::context_var]
//!     pub static ITEM_ID: u64;
//! }
//!
//! assert!(!vars::ITEM_ID.is_bound());
//! let id = vars::ITEM_ID.sync_scope(7, || vars::ITEM_ID.try_get());
//! assert_eq!(id, Ok(7));
//! ```
//!
//! `get` and `with` are not part of it: they compile only where the variable is
//! known to be bound, which the compiler checks through the variable's own name.
//! Import the variable, or read it inside a `#[with_context]`/`#[uses_context]`
//! function.
//!
//! It also brings, as `_` (their names stay free for yours), the traits of the
//! extension methods `.in_current_context()` on futures, `.carry_current_context()` on
//! any message and, with the feature `stream`, `.then_in_sender_context(..)` and
//! `.for_each_in_sender_context(..)` on streams of messages.

#[cfg(feature = "stream")]
pub use crate::CarriedStreamExt as _;
pub use crate::ContextFutureExt as _;
pub use crate::ContextMessageExt as _;
pub use crate::ContextVar as _;
