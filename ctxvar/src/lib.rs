//! Context variables for async Rust.
//!
//! A *context variable* carries request-scoped state (a correlation id, a tenant, the
//! item a loop is working on) through async code without passing it to every call, as
//! Python's `contextvars` does. It is declared with [`#[context_var]`](context_var),
//! bound for the dynamic extent of a function with [`#[with_context]`](with_context),
//! and read with `get`/`with`. Reading a variable where no scope can provide it is a
//! **compile error**.
//!
//! ```
//! use ctxvar::{context_var, uses_context, with_context};
//!
//! /// The correlation id of the request being handled.
//! #[context_var]
//! static CORRELATION_ID: String;
//!
//! #[uses_context(CORRELATION_ID)] // callers must bind it; checked on entry
//! async fn log_message(message: &str) -> String {
//!     format!("[{}] {message}", CORRELATION_ID.get())
//! }
//!
//! #[with_context(CORRELATION_ID = format!("req-{n}"))] // bound on entry, restored on exit
//! async fn process_request(n: u32) -> String {
//!     log_message("received").await
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let (a, b) = tokio::join!(process_request(1), process_request(2));
//! assert_eq!(a, "[req-1] received");
//! assert_eq!(b, "[req-2] received");
//! # }
//! ```
//!
//! # Concepts
//!
//! - **Variable**: a `static`-like declaration, `#[context_var] static NAME: Type;`
//!   (*required*: it has no value until bound) or `static NAME: Type = default;` (it
//!   reads its default wherever it is not bound). The value type must be
//!   `Send + Sync + 'static`.
//! - **Scope**: a dynamic extent in which some variables are bound. `#[with_context]`
//!   makes a function's body a scope; by hand, `NAME.scope(value, future)` and
//!   `NAME.sync_scope(value, closure)` do, and [`Bindings`] binds several variables
//!   at once. Scopes nest: an inner binding shadows an outer one until it ends.
//! - **Names**: import a variable (`use crate::vars::ITEM_ID;`) and all its methods
//!   come with it. To call methods by path without importing it
//!   (`vars::ITEM_ID.try_get()`), add the one crate-wide import
//!   `use ctxvar::prelude::*;`. Reads by path that must be checked (`get`, `with`)
//!   need the import of the variable itself.
//! - **Evidence**: inside a function annotated with `#[with_context]` or
//!   `#[uses_context]`, the variable's name is a local [`Scoped`] value whose reads
//!   compile. Everywhere else, the name is the variable itself, whose infallible reads
//!   do not compile unless it has a default.
//!
//! # What is checked when
//!
//! At compile time:
//!
//! - `NAME.get()` and `NAME.with(..)` of a required variable compile only inside a
//!   function that binds it (`#[with_context(NAME = ..)]`) or declares that its
//!   callers bind it (`#[uses_context(NAME)]`), including in closures and async
//!   blocks written there. Elsewhere the error reads *"context variable `NAME` is read
//!   outside a scope that binds it"* and says which attribute to add.
//! - A closure or async block that reads a variable through that evidence borrows the
//!   function's body, so it cannot be handed to `tokio::spawn` or
//!   `std::thread::spawn`, where it would run without the binding (see "What the
//!   escape error means" below). Handed to `ctxvar::spawn` and the other helpers, which
//!   carry the context, it compiles, unless it reads a variable declared
//!   `inherit = false`, which the task would not see.
//! - Mistakes in the attributes are errors under your own tokens: a name that is not
//!   a context variable, a value or default of the wrong type, a variable named twice,
//!   malformed arguments, the attribute on something that is not a function, a
//!   declaration that is not `static NAME: Type;`, `static mut`, a value type that is
//!   not `Send + Sync + 'static`. On such an error the item is still emitted, so one
//!   mistake gives one error and the rest of the code keeps compiling.
//!
//! At run time:
//!
//! - `#[uses_context]` checks on entry that each variable is bound, and otherwise
//!   panics with a message naming the function, the variable and the fix. After that
//!   entry, no infallible read in its body can fail.
//! - `try_get`, `try_with` and `is_bound` compile anywhere and report a missing value
//!   as an [`AccessError`] or `false`: use them in callbacks, `Drop` impls, trait
//!   objects and code run by foreign executors.
//! - A read the compiler could not follow (work created in a scope and run outside it,
//!   for example on a scoped thread) panics with the variable's name and that cause.
//!
//! # Semantics of a poll
//!
//! A future sees the bindings of whoever polls it, plus its own. Every poll of a
//! binding future installs its bindings over its poller's and restores the previous
//! state when the poll returns, whether it returns `Ready`, `Pending`, or unwinds; so
//! work done in one poll never sees a sibling future's bindings, and a callee never
//! leaks a binding to its caller. A binding future drops its inner future with its
//! bindings still installed. Reads take no lock and hold no borrow: binding inside a
//! `with` closure or a destructor works.
//!
//! A task spawned with `tokio::spawn` or a thread started with `std::thread::spawn`
//! starts with nothing bound. To carry the context along, see below.
//!
//! # Carrying context into tasks and threads
//!
//! [`Context::current()`] captures the bindings in effect (a snapshot), and
//! [`Context::scope`] / [`Context::run`] run work inside one, later and elsewhere, as
//! Python's `copy_context()` and `Context.run` do. The helpers capture at the moment
//! of the call, as Python's `create_task` does:
//!
//! | instead of | write | cost over the plain call |
//! |---|---|---|
//! | `tokio::spawn(fut)` | [`ctxvar::spawn(fut)`](spawn) | one capture; one frame entered per poll |
//! | `tokio::task::spawn_blocking(f)` | [`ctxvar::spawn_blocking(f)`](spawn_blocking) | one capture |
//! | `tokio::task::spawn_local(fut)` | [`ctxvar::spawn_local(fut)`](spawn_local) | one capture; one frame per poll |
//! | `std::thread::spawn(f)` | [`ctxvar::thread::spawn(f)`](thread::spawn) | one capture |
//! | any executor | [`fut.in_current_context()`](FutureExt::in_current_context) | one capture; one frame per poll |
//! | a `Stream` | [`Context::scope_stream`], [`Bindings::scope_stream`] | per poll of the stream |
//!
//! A capture makes one allocation (none when nothing is bound) and never clones a
//! value: the snapshot shares the values with the scopes that bound them. Later
//! rebinding in the parent does not change what a child sees; nothing a child binds
//! is visible to the parent. A variable declared `#[context_var(inherit = false)]` is
//! never captured: use it for what must stay with one task (a database transaction, a
//! session, a lock held for a request).
//!
//! ```
//! # #![allow(dead_code, unused_imports)] // without the `tokio` feature, only the declarations remain
//! use ctxvar::{context_var, uses_context, with_context};
//!
//! #[context_var]
//! static REQUEST_ID: u64;
//!
//! #[context_var(inherit = false)]
//! static TRANSACTION: u32;
//!
//! #[uses_context(REQUEST_ID)]
//! async fn audit() -> (u64, bool) {
//!     (REQUEST_ID.get(), TRANSACTION.is_bound())
//! }
//!
//! # #[cfg(feature = "tokio")]
//! #[with_context(REQUEST_ID = 7, TRANSACTION = 1)]
//! async fn handle() -> (u64, bool) {
//!     ctxvar::spawn(audit()).await.unwrap()
//! }
//!
//! # #[cfg(feature = "tokio")] {
//! # let runtime = tokio::runtime::Runtime::new().unwrap();
//! # runtime.block_on(async {
//! assert_eq!(handle().await, (7, false)); // the task saw REQUEST_ID, not TRANSACTION
//! # });
//! # }
//! ```
//!
//! Inside a `#[with_context]`/`#[uses_context]` function, an `async` block or closure
//! passed to one of these helpers (called by its `ctxvar::` path) may read the
//! function's variables directly, `ctxvar::spawn(async move { REQUEST_ID.get() })`:
//! the attribute gives it evidence of its own, since the task carries the context
//! (and rejects, at compile time, a read of an `inherit = false` variable there).
//!
//! # What the escape error means
//!
//! The evidence inside an annotated function borrows a local of that function named
//! `VAR_is_bound_only_inside_this_function`. Work that reads `VAR` and is sent where it
//! could outlive the function (`tokio::spawn`, `std::thread::spawn`) therefore fails
//! to compile with:
//!
//! ```text
//! error[E0597]: `REQUEST_ID_is_bound_only_inside_this_function` does not live long enough
//!   |
//! 4 | #[with_context(REQUEST_ID = 7)]
//!   |                ^^^^^^^^^^ borrowed value does not live long enough
//! 5 | async fn handle() {
//! 6 |     tokio::spawn(async move { log(REQUEST_ID.get()) });
//!   |     -------------------------------------------------- argument requires that
//!   |            `REQUEST_ID_is_bound_only_inside_this_function` is borrowed for `'static`
//! ```
//!
//! That task would run without the binding. Spawn it with `ctxvar::spawn` (which
//! carries the context), or bind the variable inside the task.
//!
//! # Feature flags
//!
//! - `tokio` (default): [`spawn`], [`spawn_blocking`], [`spawn_local`]. Everything
//!   else works with any executor, without it.
//! - `stream`: per-stream scopes, [`Bindings::scope_stream`] and
//!   [`Context::scope_stream`] (depends on `futures-core`).
//!
//! # Cost
//!
//! Each binding call (one `#[with_context]`, however many variables it binds) is one
//! *frame* in a per-thread chain. Entering a frame on a poll is a few stores, whatever
//! it binds; a read walks the chain from the innermost frame, and a repeated read of
//! the same variable is served from a one-entry per-thread cache; binding allocates
//! once (the values are shared, so capturing them later need not clone them) and
//! polling never does. README.md has the measurements, side by side with
//! `tokio::task_local!`, and the command that reproduces them.
//!
//! # Writing it by hand
//!
//! Every macro is sugar over this crate's API; each macro's documentation ends with the
//! code it stands for.

#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod access;
mod bindings;
mod context;
mod frame;
mod key;
pub mod prelude;
mod scope;
mod scoped;
#[cfg(feature = "tokio")]
mod spawn;
#[cfg(feature = "stream")]
mod stream;
pub mod thread;
mod var;

pub use access::AccessError;
pub use bindings::{Binding, BindingList, Bindings};
pub use context::{Context, ContextScope, FutureExt};
pub use key::{ContextKey, ContextValue, Inherited};
pub use scope::Scope;
pub use scoped::{Anchor, Scoped};
#[cfg(feature = "tokio")]
pub use spawn::{spawn, spawn_blocking, spawn_local};
#[cfg(feature = "stream")]
pub use stream::{ContextStream, ScopeStream};
pub use var::{ContextVar, Variable};

#[doc(inline)]
pub use ctxvar_macros::{context_var, uses_context, with_context};

// Not public API. Used by `ctxvar-macros` expansions; not covered by semver.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
