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
//!   at once. Scopes nest: an inner binding shadows an outer one until it ends. The
//!   future that `NAME.scope(..)` returns is a [`Scope`].
//! - **Context**: the bindings in effect at a point of execution, from every enclosing
//!   scope. [`Context::current()`] takes an immutable snapshot of them, which other
//!   work (a spawned task, a thread, a callback) can run in later; that is how
//!   bindings are carried across tasks (see below). The future that runs in a
//!   captured context is a [`ContextScope`].
//! - **Names**: import a variable (`use crate::vars::ITEM_ID;`) and all its methods
//!   come with it. To call methods by path without importing it
//!   (`vars::ITEM_ID.try_get()`), add the one crate-wide import
//!   `use ctxvar::prelude::*;`. Reads by path that must be checked (`get`, `with`)
//!   need the import of the variable itself.
//! - **Evidence**: inside a function annotated with `#[with_context]` or
//!   `#[uses_context]`, the variable's name is a local [`Provided`] value (the function
//!   provides the variable) whose reads compile. Everywhere else, the name is the
//!   variable itself, whose infallible reads do not compile unless it has a default.
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
//!   escape error means" below). Handed to `ctxvar::spawn` and the other helpers, or
//!   followed by `.in_current_context()`, which carry the context, it compiles, unless
//!   it reads a variable declared `inherit = false`, which that work would not see, or
//!   the call is itself in work that escapes.
//! - Mistakes in the attributes are errors under your own tokens: a name that is not
//!   a context variable, a value or default of the wrong type, a variable named twice,
//!   malformed arguments, the attribute on something that is not a function or on a
//!   `const fn`, `#[with_context]` with `#[track_caller]` on a plain `fn`, a
//!   declaration that is not `static NAME: Type;`, `static mut`, a value type that is
//!   not `Send + Sync + 'static`. On such an error the item is still emitted, so one
//!   mistake gives one error and the rest of the code keeps compiling.
//!
//! At run time:
//!
//! - `#[uses_context]` checks on entry that each variable is bound, and otherwise
//!   panics with a message naming the function, the variable and the fix (and the
//!   three causes a user meets). After that entry, no infallible read in its body can
//!   fail where the attributes can see how its work runs (the table in [Starting
//!   work](#starting-work)); `uses_context`'s docs say exactly what holds.
//! - `try_get`, `try_with` and `is_bound` compile anywhere (in an annotated function,
//!   also in work that escapes it) and report a missing value as an [`AccessError`] or
//!   `false`: use them in callbacks, `Drop` impls, trait objects and code run by
//!   foreign executors.
//! - A read the compiler could not follow (work created in a scope and run outside it
//!   by a function the attributes do not recognise) panics with the variable's name and
//!   that cause.
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
//! So a future that binds nothing reads what is bound *where it is polled*, not where
//! it was created; Rust futures do nothing until polled. A future that binds with
//! `#[with_context]` carries its bindings with it and sees them whoever polls it:
//!
//! ```
//! use ctxvar::{context_var, with_context};
//!
//! #[context_var]
//! static TENANT: &str;
//!
//! async fn read() -> Option<&'static str> {
//!     TENANT.try_get().ok()
//! }
//!
//! #[with_context(TENANT = tenant)]
//! async fn read_as(tenant: &'static str) -> Option<&'static str> {
//!     read().await
//! }
//!
//! # futures::executor::block_on(async {
//! // Created inside a scope, polled after it ended: the binding is gone.
//! let created_in_scope = TENANT.sync_scope("acme", read);
//! assert_eq!(created_in_scope.await, None);
//!
//! // Polled inside a scope: it sees that scope's binding.
//! assert_eq!(TENANT.scope("poller", read()).await, Some("poller"));
//!
//! // Binding on entry: its own value, whoever polls it.
//! assert_eq!(TENANT.scope("poller", read_as("acme")).await, Some("acme"));
//! # });
//! ```
//!
//! This is Python's loop pitfall (coroutines created in a loop that sets a variable,
//! gathered after it, all see the last value), and why binding belongs on entry to the
//! future that needs the value; `examples/loop_pitfall.rs` in the repository shows it
//! with a loop. The rule is tokio's too: a `task_local!` read sees the scope that is
//! being polled, not the one the future was created in.
//!
//! A task spawned with `tokio::spawn` or a thread started with `std::thread::spawn`
//! starts with nothing bound. To carry the context along, see below.
//!
//! # Starting work
//!
//! [`Context::current()`] captures the bindings in effect (a snapshot), and
//! [`Context::scope`] / [`Context::run`] run work inside one, later and elsewhere, as
//! Python's `copy_context()` and `Context.run` do. The helpers capture at the moment
//! of the call, as Python's `create_task` does. Every way of starting work, and what
//! the work sees:
//!
//! | work started with | sees | to carry the context |
//! |---|---|---|
//! | `.await`, `join!`, `select!`, `FuturesUnordered`: polled in place | the bindings of whoever polls it, plus its own | nothing to do |
//! | `tokio::spawn(fut)`, `JoinSet::spawn`, `Handle::spawn`, `TaskTracker::spawn` | nothing | [`ctxvar::spawn(fut)`][`spawn`], or spawn [`fut.in_current_context()`](ContextFutureExt::in_current_context) |
//! | `tokio::task::spawn_local(fut)` | nothing | [`ctxvar::spawn_local(fut)`][`spawn_local`] |
//! | `tokio::task::spawn_blocking(f)` | nothing | [`ctxvar::spawn_blocking(f)`][`spawn_blocking`] |
//! | `std::thread::spawn(f)` | nothing | [`ctxvar::thread::spawn(f)`](thread::spawn) |
//! | `std::thread::scope(..)`'s `spawn(f)`, a callback run later, another executor | nothing | `let ctx = Context::current();` then [`ctx.run(f)`](Context::run) or [`ctx.scope(fut)`](Context::scope) where it runs |
//! | a task a library spawns (hyper's HTTP/2 streams) | nothing | give the library [`executor::InheritContext::new(executor)`](executor::InheritContext) |
//! | a `Stream` polled by someone else | its poller's bindings | [`Context::scope_stream`], [`Bindings::scope_stream`] |
//! | a response body stream (`Body::from_stream(s)`), polled after the handler returned | nothing | `Body::from_stream(Context::current().scope_stream(s))` |
//! | a message sent over a channel (`mpsc`, `broadcast`, a work queue) | the receiver's bindings | send [`msg.carry_current_context()`](ContextMessageExt::carry_current_context), then handle it with [`carried.run_in_sender_context(f)`](Carried::run_in_sender_context) or [`.scope_in_sender_context(f)`](Carried::scope_in_sender_context), a stream of them with [`CarriedStreamExt`] |
//! | [`Context::empty()`]'s `run`/`scope`, a context captured elsewhere, [`fut.in_context(ctx)`](ContextFutureExt::in_context) | exactly that context's bindings | run it in `Context::current()` instead, or read with `try_get` |
//!
//! | helper | cost over the plain call |
//! |---|---|
//! | [`spawn`], [`spawn_local`], `.in_current_context()` | one capture; one frame entered per poll |
//! | [`spawn_blocking`], [`thread::spawn`], [`Context::run`] | one capture |
//! | [`Carried`] (`.carry_current_context()`) | one capture when made; handling it enters that context as [`Context::run`] and [`Context::scope`] do |
//! | [`executor::InheritContext`] | one capture per task; one frame per poll |
//!
//! There is no `JoinSet` extension: `set.spawn(fut.in_current_context())` says what it
//! does, and works for every spawner that takes a future. Each row, in a function that
//! binds `REQUEST_ID` (the rows without an example here, `spawn_local` and streams,
//! have one in their own docs):
//!
//! ```
//! # #![allow(dead_code, unused_imports)] // without the `tokio` feature, only the declaration remains
//! use ctxvar::{Carried, Context, ContextFutureExt, ContextMessageExt};
//! use ctxvar::{context_var, uses_context, with_context};
//!
//! #[context_var]
//! static REQUEST_ID: u64;
//!
//! #[uses_context(REQUEST_ID)]
//! fn handle(offset: u64) -> u64 {
//!     REQUEST_ID.get() + offset
//! }
//!
//! # #[cfg(feature = "tokio")]
//! #[with_context(REQUEST_ID = 7)]
//! async fn every_way() -> Vec<u64> {
//!     // Polled in place: sees the binding, nothing to carry.
//!     let in_place = async { REQUEST_ID.get() }.await;
//!     // Tasks, blocking work and threads that carry the context.
//!     let task = ctxvar::spawn(async move { REQUEST_ID.get() });
//!     let mut set = tokio::task::JoinSet::new();
//!     set.spawn(async move { REQUEST_ID.get() }.in_current_context());
//!     let blocking = ctxvar::spawn_blocking(move || REQUEST_ID.get());
//!     let thread = ctxvar::thread::spawn(move || REQUEST_ID.get());
//!     // A scoped thread (or a callback, or another executor): capture, then run in it.
//!     let ctx = Context::current();
//!     let scoped = std::thread::scope(|s| s.spawn(|| ctx.run(|| REQUEST_ID.get())).join());
//!     // A message over a channel, handled by another task in the context it was sent
//!     // from: this function's.
//!     let (queue, mut jobs) = tokio::sync::mpsc::unbounded_channel::<Carried<u64>>();
//!     let worker = tokio::spawn(async move {
//!         let job = jobs.recv().await.unwrap();
//!         job.run_in_sender_context(handle)
//!     });
//!     queue.send(0.carry_current_context()).unwrap();
//!     // A plain task carries nothing: only the fallible reads compile there.
//!     let plain = tokio::spawn(async move { REQUEST_ID.try_get() });
//!     assert!(plain.await.unwrap().is_err());
//!     vec![
//!         in_place,
//!         task.await.unwrap(),
//!         set.join_next().await.unwrap().unwrap(),
//!         blocking.await.unwrap(),
//!         thread.join().unwrap(),
//!         scoped.unwrap(),
//!         worker.await.unwrap(),
//!     ]
//! }
//!
//! # #[cfg(feature = "tokio")] {
//! # let runtime = tokio::runtime::Runtime::new().unwrap();
//! # runtime.block_on(async {
//! assert_eq!(every_way().await, [7; 7]);
//! # });
//! # }
//! ```
//!
//! A capture makes at most one allocation (none for a single binding) and never
//! clones a value: the snapshot shares the values with the scopes that bound them.
//! Later rebinding in the parent does not change what a child sees; nothing a child binds
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
//! Inside a `#[with_context]`/`#[uses_context]` function, the rule is one sentence:
//! **work that carries the function's context may read its variables with `get`; any
//! work may use `try_get`, `try_with` and `is_bound`.** (`with` goes with `get`.) The
//! attributes know, by how the call is written, which work carries the context; this
//! table is all they know:
//!
//! | written in the function | the work | `get` there |
//! |---|---|---|
//! | `ctxvar::spawn(w)`, `spawn_local`, `spawn_blocking`, `ctxvar::thread::spawn(w)` (by path, or by the name imported; that name is checked to be ctxvar's) | carries the context | compiles |
//! | `async { .. }.in_current_context()`, `ctxvar::ContextFutureExt::in_current_context(async { .. })` | carries the context | compiles |
//! | `Context::current().run(w)`, `.scope(w)`, `.scope_stream(s)`, and the same on a local captured in the function (`let ctx = Context::current();`), wherever that runs | carries the context | compiles, also in a stream's adaptors |
//! | a `macro_rules!` macro defined in the function that passes its argument to one of the above | carries the context | compiles |
//! | another crate's `spawn`, `spawn_local`, `spawn_blocking` (a function or a method: `tokio::spawn`, `set.spawn`, a scoped thread's `s.spawn`) | starts with nothing bound | a compile error naming the call and the fix |
//! | `Body::from_stream(s)` (any `from_stream`) | a body polled after the handler returned | a compile error: `scope_stream` |
//! | `Context::empty()`'s or a context parameter's `run`/`scope`/`scope_stream`, `w.in_context(ctx)` | exactly that context's bindings | a compile error: `try_get`, or `Context::current()` |
//! | a message's handler: `carried.run_in_sender_context(f)`, `.scope_in_sender_context(f)`, a stream's `.then_in_sender_context(f)`, `.for_each_in_sender_context(f)`; a message's context, `carried.context()`'s or `into_parts()`'s, as above | exactly the sender's bindings | a compile error: `try_get`, a handler declared `#[uses_context]`, or read before the call and move the value in |
//! | `VAR.scope(v, w)`, `bindings.scope(w)`, `block_on(w)` | runs here, with bindings added | compiles |
//!
//! Carried work gets evidence of its own, since it runs in the context captured at the
//! call; a read there of a variable declared `inherit = false` is a compile error. A
//! capture (`ctxvar::spawn(..)`, `.in_current_context()`, `Context::current()`) written
//! inside work that starts with nothing bound captures nothing, and is a compile error
//! too. `.in_current_context()` is recognised when its receiver is the `async` block
//! itself; a block stored in a variable first and passed on later keeps the function's
//! evidence. The future `.in_current_context()` returns is `'static`, so it can go
//! anywhere: a [`JoinSet`](https://docs.rs/tokio/latest/tokio/task/struct.JoinSet.html),
//! a runtime handle, a local to spawn later, a return value. The fallible reads need no
//! evidence: in a plain `tokio::spawn`ed task or `std::thread::spawn`ed thread they
//! compile and report what that work sees, which is nothing (`Err`, `false`).
//!
//! ```
//! use ctxvar::{context_var, with_context, ContextFutureExt};
//!
//! #[context_var]
//! static REQUEST_ID: u64;
//!
//! #[with_context(REQUEST_ID = id)]
//! async fn handle(id: u64) -> (u64, u64, bool) {
//!     let mut set = tokio::task::JoinSet::new();
//!     set.spawn(async move { REQUEST_ID.get() }.in_current_context());
//!     // Captured now, spawned later.
//!     let later = async move { REQUEST_ID.get() + 1 }.in_current_context();
//!     let plain = tokio::spawn(async move { REQUEST_ID.is_bound() }); // carries nothing
//!     let first = set.join_next().await.unwrap().unwrap();
//!     (first, tokio::spawn(later).await.unwrap(), plain.await.unwrap())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! assert_eq!(handle(7).await, (7, 8, false));
//! # }
//! ```
//!
//! # What the escape error means
//!
//! Work the table above does not know (a spawn under another name, a closure stored
//! and run later) is still checked, by the borrow checker: the evidence inside an
//! annotated function borrows a local of that function named
//! `VAR_is_bound_only_inside_this_function`, so work that reads `VAR` and could
//! outlive the function (a `'static` task, thread or return value) fails to compile
//! with:
//!
//! ```text
//! error[E0597]: `REQUEST_ID_is_bound_only_inside_this_function` does not live long enough
//!   |
//! 4 | #[with_context(REQUEST_ID = 7)]
//!   |                ^^^^^^^^^^ borrowed value does not live long enough
//! 5 | async fn handle() {
//! 6 |     run_later(async move { log(REQUEST_ID.get()) });
//!   |     ----------------------------------------------- argument requires that
//!   |            `REQUEST_ID_is_bound_only_inside_this_function` is borrowed for `'static`
//! ```
//!
//! That work would run without the binding. Start it with one of ctxvar's helpers,
//! carry the context into it (`.in_current_context()`, or `Context::current()` and
//! `ctx.run`), bind the variable inside it, or, where a missing value is expected,
//! read it with `try_get`, `try_with` or `is_bound`, which compile in any work. Inside
//! carried work the evidence is the work's own, `VAR_is_bound_only_inside_this_task`
//! (or `.._this_thread`, `.._this_future`, `.._this_closure`, `.._this_stream`).
//!
//! A spawn helper called by a name of its own (`spawn(..)`, `thread::spawn(..)`) is
//! taken for ctxvar's, and checked: if the name is another crate's (`use
//! tokio::spawn`, `use std::thread`), a read in its work fails with "this function is
//! not ctxvar's, so the work it starts does not see the function's context
//! variables", under the name.
//!
//! A `macro_rules!` wrapper around a spawn helper (`macro_rules! go { ($e:expr) =>
//! { ctxvar::spawn($e) } }`) carries the context when it is defined inside the
//! annotated function, where the attribute sees it. Defined outside, it is out of
//! sight, and the borrow checker rejects `go!(async move { REQUEST_ID.get() })` with
//! the error above although the helper carries the context: define the macro inside
//! the function, or make the work carry the context before handing it over, `let
//! work = async move { REQUEST_ID.get() }.in_current_context(); go!(work)`.
//!
//! What the attributes cannot see is checked at run time: a read whose scope is gone
//! panics with the variable's name and the likely cause. Such work is started by a
//! function the table does not list (a wrapper `macro_rules!` defined outside the
//! function, a library's own spawn, a scoped-thread API under another name), or is a
//! future or closure built in the function and run after it returned by a route the
//! borrow checker allows.
//!
//! # Names in error messages
//!
//! The compile-time checks are carried by types, and rustc names some of them in its
//! `help:` and `note:` lines. Every name a user can meet there, and what it means:
//!
//! | name in the message | what it is |
//! |---|---|
//! | `ITEM_ID_is_bound_here` | the bound of `ITEM_ID.get()` and `.with(..)` outside annotated functions: missing means "no scope provides `ITEM_ID` here" |
//! | `ITEM_ID_is_carried` | for a variable declared `inherit = false`: missing means "read in work that runs in a captured context, which does not carry it" |
//! | `ITEM_ID_is_bound_not_set` | the bound of `ITEM_ID.set(..)`, which nothing meets: variables are bound, not assigned |
//! | `fn() -> Variable<dyn ITEM_ID> {ITEM_ID}`, `Variable<dyn ITEM_ID>` | the variable itself: its name is a function returning a [`Variable`], whose key type is `dyn ITEM_ID` |
//! | `dyn ITEM_ID` | the variable's key type ([`ContextKey`]), a tag that names it in types |
//! | `Provided<'_, dyn ITEM_ID>` | inside an annotated function, the variable's name is this evidence that it is bound ([`Provided`]) |
//! | `ITEM_ID_is_bound_only_inside_this_function` (`.._task`, `.._thread`, `.._future`, `.._closure`, `.._stream`) | the local the evidence borrows ([`Anchor`]): "does not live long enough" means the work outlives the scope that binds `ITEM_ID` (see [What the escape error means](#what-the-escape-error-means)) |
//! | [`UsesContext<(Variable<dyn TENANT>,), F>`](UsesContext) | what a strict helper returns: its future `F`, awaitable only where `TENANT` is provided |
//! | `AwaitableAnywhere<dyn TENANT>` | implemented by no future: missing means "a strict helper awaited where nothing provides `TENANT`" |
//! | `AwaitableIn<SpawnedWithoutContext>` | missing means "a strict helper awaited in work that runs without this function's context" |
//! | `Provides<dyn TENANT>`, `AwaitableWith<..>`, `ContextThisFunctionProvides`, `ContextCarriedProvides` | the evidence an annotated function gives its `.await`s: what it provides, and, in carried work, what a captured context carries of it |
//! | [`Inherited`] | implemented for every variable a captured context carries (all but `inherit = false`) |
//! | `IsCtxvarHelper` | the check that a spawn helper called by an imported name is ctxvar's |
//! | [`ContextValue`], `CloneValue` | what a value type must be (`Send + Sync + 'static`), and what `get` needs of it (`Clone`) |
//!
//! # Feature flags
//!
//! - `tokio` (default): [`spawn`], [`spawn_blocking`], [`spawn_local`], which call
//!   tokio's functions of the same names and so need a tokio runtime; it adds a
//!   dependency on `tokio` with only its `rt` feature. Everything else, including
//!   [`thread::spawn`], [`Context`] and [`ContextFutureExt::in_current_context`], works with
//!   any executor without it (`default-features = false`).
//! - `stream`: per-stream scopes, [`Bindings::scope_stream`] and
//!   [`Context::scope_stream`] (depends on `futures-core`).
//! - `tracing`: `#[context_var(trace)]`, which shows a bound variable as a field on
//!   every `tracing` event, and [`trace::ContextFields`], which adds those fields to
//!   `tracing-subscriber`'s `fmt` lines (depends on `tracing` and `tracing-subscriber`
//!   without their default features, `tracing-subscriber` with `fmt`). See
//!   [Logging with `tracing`](#logging-with-tracing).
//! - `hyper`: [`executor::InheritContext`] implements `hyper::rt::Executor`, so the
//!   tasks hyper spawns (a task per HTTP/2 stream) inherit the context of the
//!   connection that spawns them (depends on `hyper` without its default features).
//! - `tower`: [`tower::BindLayer`], a tower layer that binds variables for each
//!   request, computed from the request (a header, an extension); it works with any
//!   tower-based server, axum and hyper included (depends on `tower-layer`,
//!   `tower-service` and `http`). See [In a tower or axum server](#in-a-tower-or-axum-server).
//! - `baggage`: [`baggage::Baggage`], a list of variables that travel between
//!   services in the W3C `baggage` header: written into an outgoing request's
//!   headers (or by a client layer into every request), read back by a tower layer
//!   in the service it calls, and carried over any other carrier as an OpenTelemetry
//!   propagator (depends on `tower-layer`, `tower-service`, `http`, `tracing`, and
//!   `opentelemetry` with only its `trace` feature, for the propagator API and to
//!   merge with the current OpenTelemetry context's baggage).
//!
//! # Logging with `tracing`
//!
//! A variable declared `#[context_var(trace)]` (or `trace = display`) appears on every
//! event logged while it is bound, and on no other: in tasks started with [`spawn`]
//! (if it is inherited), in destructors run while a scope is cancelled, in a stream's
//! items. The logging helper is a plain `tracing::info!` that reads nothing; the
//! subscriber's event format is wrapped once, at start-up:
//!
//! ```
//! # #[cfg(feature = "tracing")] {
//! use ctxvar::{context_var, with_context};
//!
//! #[context_var(trace = display)]
//! static CORRELATION_ID: String;
//!
//! #[with_context(CORRELATION_ID = format!("req-{n}"))]
//! fn handle(n: u32) {
//!     tracing::info!("received"); // ` INFO received correlation_id=req-1`
//! }
//!
//! tracing_subscriber::fmt()
//!     .without_time()
//!     .with_target(false)
//!     .map_event_format(ctxvar::trace::ContextFields::text)
//!     .with_writer(std::io::stdout)
//!     .init();
//! handle(1);
//! # }
//! ```
//!
//! The fields are read from the bindings in effect when an event is handled, so a
//! binding costs the same whether its variable is traced or not, and ctxvar creates no
//! span: no "close" lines, nothing exported per binding by `tracing-opentelemetry`,
//! levels and span names entirely yours (`#[tracing::instrument]` where you want a
//! span). [`trace::ContextFields`] does it for `fmt`'s text and JSON formats;
//! [`trace::for_each_field`] gives the same fields to a layer of your own. The
//! [`trace`] module has the details, `examples/correlation_id.rs` shows the output, and
//! `tests/tests/tracing.rs` checks exactly which fields each event carries.
//!
//! # In a tower or axum server
//!
//! A service that binds for each request must bind twice over: around the inner
//! service's `call`, which may work before it returns its future, and on every poll
//! of that future. `NAME.sync_scope(value, || inner.call(request))` covers only the
//! first and leaves the handler's future unbound; [`Bindings::scope_with`] covers
//! both with one binding, and [`tower::BindLayer`] (feature `tower`) is that, as a
//! layer: `.layer(BindLayer::from_header(REQUEST_ID, header_name, parse))` binds a
//! request id for every handler behind it, from a header the client may omit or
//! garble, with a fallback that `parse` chooses.
//!
//! # Across services
//!
//! A variable bound in one service can be bound in the service it calls:
//! [`baggage::Baggage`] (feature `baggage`) lists the variables that travel, each
//! under a key of the W3C `baggage` header. Its `inject` writes those bound where the
//! outgoing request is built; its `layer()` binds them in the receiving service, as
//! `BindLayer` does from other headers. The header comes from the caller: do not let a
//! variable bound from it decide what a request is allowed to do unless the caller is
//! a trusted peer (the module documentation shows how to restrict it).
//!
//! # Cost
//!
//! Each binding call (one `#[with_context]`, however many variables it binds) is one
//! *frame* in a per-thread chain. Entering a frame on a poll is a few stores, whatever
//! it binds. The first read of a variable under a new chain walks it from the
//! innermost frame; later reads of it are served from the variable's own per-thread
//! cache, so reading several variables in turn costs what tokio's per-variable slots
//! cost. A scope polled again over the same chain (a task's future, polled by its
//! executor) makes the same chain again, so what it read on its last poll is still
//! cached. Binding puts the values in one reference-counted block
//! (they are shared, so capturing them later need not clone them), and polling never
//! allocates. Blocks of up to 128 bytes (room for a `u64`, or for three `String`s) are
//! recycled on the thread that frees them, a few of each size per thread, so the
//! usual bind, which ends before the next one on its thread starts, does not call
//! the allocator at all. README.md has the measurements, side by side with
//! `tokio::task_local!`, and the command that reproduces them.
//!
//! # In an IDE
//!
//! Inside a function annotated with `#[with_context]` or `#[uses_context]`,
//! rust-analyzer takes a read of a variable (`ITEM_ID.get()`, `ITEM_ID.try_get()`) for
//! a reference to its declaration, in plain code, closures, `async` blocks and spawned
//! work, and inside macro calls (`format!`, `println!`, `assert_eq!`,
//! `tracing::info!`). Measured with rust-analyzer 1.95:
//!
//! - **Rename** from the declaration, from a variable in an attribute, or from any
//!   read, inside an annotated function or not, renames every use of the variable,
//!   and the renamed code compiles.
//! - **Find references** on the declaration lists every read.
//! - **Hover** on a read shows the variable's documentation (its value type, default,
//!   how to bind and read it), its hidden function, and the evidence local, `let
//!   ITEM_ID: Provided<'_, dyn ITEM_ID>`.
//! - **Go to definition** on a read offers two places: the declaration, and the
//!   variable in the function's attribute, which names the evidence local.
//!
//! The attributes do this with a few statements that only rust-analyzer compiles
//! (under `cfg(rust_analyzer)`, which rustc does not set); what rustc compiles and
//! reports is unchanged. What they cannot change:
//!
//! - Go to definition on a read also offers the attribute: the evidence local is
//!   named by the attribute's token, and the attribute has no token of the
//!   declaration, which is another macro call. Pick the `#[context_var]` line.
//! - Go to definition and hover on a variable in an attribute's arguments also list
//!   items of this crate (`Bindings`, `ContextKey`, `Provided`): the code generated for
//!   the variable is spanned there, so that compile errors point at it.
//! - Hover on the declaration also shows the hidden function and the hidden trait
//!   `ITEM_ID_is_bound_here`, which the declaration expands to.
//!
//! `tools/rust-analyzer-check/check.py` in the repository asks rust-analyzer about
//! each of these cases and fails if an answer changes; it is run by hand (it needs the
//! `rust-analyzer` component), not in CI.
//!
//! # Writing it by hand
//!
//! Every macro is sugar over this crate's API; each macro's documentation ends with the
//! code it stands for.
//!
//! # Examples
//!
//! `ctxvar/examples/` in the repository holds the three Python `contextvars` programs
//! this crate grew from, in Rust: `cargo run --example correlation_id` (concurrent
//! requests logging their own correlation id through `tracing`), `--example item_loop`
//! (an async loop over items, one after another and concurrently) and
//! `--example loop_pitfall` (where to bind a value that futures created in a loop
//! should see). `--example two_services` (features `baggage` and `tracing`) starts two
//! axum services on loopback: a tenant and a request id bound in the first are bound
//! in the second, carried by the `baggage` header (see [`baggage::Baggage`]).
//!
//! # Migrating from `tokio::task_local!`
//!
//! The runtime model is tokio's: a scope future installs its value on every poll and
//! removes it when the poll returns, so concurrent futures each see their own value,
//! and an inner scope shadows an outer one. Most code carries over name for name:
//!
//! | tokio | ctxvar |
//! |---|---|
//! | `task_local! { static ID: u64; }` | `#[context_var] static ID: u64;` (one attribute per variable) |
//! | (no defaults) | `#[context_var] static RETRIES: u32 = 3;` |
//! | `ID.scope(value, future)` | `ID.scope(value, future)`, or `#[with_context(ID = value)]` on the `async fn` |
//! | `ID.sync_scope(value, \|\| ..)` | `ID.sync_scope(value, \|\| ..)`, or `#[with_context(ID = value)]` on the `fn` |
//! | `A.scope(a, B.scope(b, future))` | `#[with_context(A = a, B = b)]`, or `A.bind(a).and(B.bind(b)).scope(future)` |
//! | `ID.get()`, `ID.with(\|v\| ..)`: panic outside a scope | the same calls, checked at compile time (below) |
//! | `ID.try_get()`, `ID.try_with(\|v\| ..)` | the same; the error, [`AccessError`], names the variable |
//! | (none) | `ID.is_bound()` |
//! | `TaskLocalFuture<u64, F>` | [`Scope<Binding<dyn ID>, F>`](Scope) |
//! | `tokio::spawn(ID.scope(ID.get(), future))` | `ctxvar::spawn(future)` (carries every inherited variable) |
//! | `spawn_blocking(move \|\| ID.sync_scope(id, f))` | `ctxvar::spawn_blocking(f)` |
//!
//! Side by side, a declaration, a binding and a read:
//!
//! ```
//! // tokio
//! tokio::task_local! {
//!     static TOKIO_ID: u64;
//! }
//!
//! async fn tokio_handler() -> u64 {
//!     TOKIO_ID.get() // panics when no caller bound it
//! }
//!
//! // ctxvar
//! use ctxvar::{context_var, uses_context};
//!
//! #[context_var]
//! static ID: u64;
//!
//! #[uses_context(ID)] // callers must bind it; checked on entry
//! async fn handler() -> u64 {
//!     ID.get()
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! assert_eq!(TOKIO_ID.scope(7, tokio_handler()).await, 7);
//! assert_eq!(ID.scope(7, handler()).await, 7);
//!
//! assert_eq!(TOKIO_ID.sync_scope(7, || TOKIO_ID.with(|id| id + 1)), 8);
//! // In a closure outside an annotated function, the checked `with` does not
//! // compile; `try_with` does.
//! assert_eq!(ID.sync_scope(7, || ID.try_with(|id| id + 1)), Ok(8));
//!
//! assert!(TOKIO_ID.try_get().is_err());
//! assert_eq!(ID.try_get().unwrap_err().name(), "ID");
//! # }
//! ```
//!
//! A function that wraps its own work in a scope usually becomes an attribute:
//!
//! ```
//! # use ctxvar::{context_var, uses_context};
//! # #[context_var]
//! # static ID: u64;
//! # #[uses_context(ID)]
//! # async fn handler() -> u64 {
//! #     ID.get()
//! # }
//! use ctxvar::with_context;
//!
//! // tokio: `async fn serve(id: u64) -> u64 { ID.scope(id, handler()).await }`
//! #[with_context(ID = id)]
//! async fn serve(id: u64) -> u64 {
//!     handler().await
//! }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! assert_eq!(serve(7).await, 7);
//! # }
//! ```
//!
//! What changes:
//!
//! - **Reads are checked at compile time.** A helper that calls `ID.get()` or
//!   `ID.with(..)` no longer compiles as it is: add `#[uses_context(ID)]` to it (its
//!   callers must then bind `ID`, which it checks on entry), bind it there with
//!   `#[with_context]`, or read with `try_get`/`try_with` where a missing value is
//!   expected. `get` and `with` of a variable with a default compile anywhere.
//! - **Spawned work can inherit.** `tokio::spawn` still starts with nothing bound, as
//!   before; [`spawn`], [`spawn_blocking`], [`spawn_local`], [`thread::spawn`] and
//!   [`ContextFutureExt::in_current_context`] carry a snapshot of every variable not declared
//!   `#[context_var(inherit = false)]`, taken at the call. Re-scoping by hand at each
//!   spawn site is no longer needed. Inside an annotated function,
//!   `tokio::spawn(async move { ID.get() })` is a compile error (the escape error
//!   above), where tokio would panic in the task.
//! - **Defaults.** `static RETRIES: u32 = 3;` reads `3` wherever it is not bound; tokio
//!   has no defaults, so code that wrapped `try_with` in `unwrap_or` can declare one.
//! - **Values are shared, so they must be `Send + Sync`.** A bound value lives in one
//!   allocation shared with any snapshot that captures it (tokio keeps it inline in the
//!   future and needs only `'static`). A task-local holding a `Cell` or `RefCell` for
//!   in-scope mutation becomes an atomic or a `Mutex`. There is still no `set`: bind a
//!   new value in a nested scope.
//! - **Reading while binding works.** Binding inside a `with` closure, or polling a
//!   scope from one, is fine; tokio panics there (the value is borrowed from its
//!   `RefCell`).
//! - **No `take_value`.** tokio's `TaskLocalFuture::take_value` has no counterpart;
//!   to bind for each poll of a stream, use [`Bindings::scope_stream`] (feature
//!   `stream`).
//! - **Cost.** Binding puts the values in a shared block (recycled per thread, see
//!   "Cost" above) where tokio moves the value into the future; the per-poll cost is one frame per binding call, whatever it binds, where
//!   tokio swaps each variable of each enclosing scope. README.md has the
//!   measurements.

// Without a feature its items do not exist, so the manual's links to them point at
// the published docs instead of failing to resolve (a blank line first: a link
// definition cannot interrupt the paragraph before it).
#![cfg_attr(
    not(feature = "stream"),
    doc = "",
    doc = "[`Bindings::scope_stream`]: https://docs.rs/ctxvar/latest/ctxvar/struct.Bindings.html#method.scope_stream",
    doc = "[`CarriedStreamExt`]: https://docs.rs/ctxvar/latest/ctxvar/trait.CarriedStreamExt.html",
    doc = "[`Context::scope_stream`]: https://docs.rs/ctxvar/latest/ctxvar/struct.Context.html#method.scope_stream"
)]
#![cfg_attr(
    not(feature = "tokio"),
    doc = "",
    doc = "[`spawn`]: https://docs.rs/ctxvar/latest/ctxvar/fn.spawn.html",
    doc = "[`spawn_blocking`]: https://docs.rs/ctxvar/latest/ctxvar/fn.spawn_blocking.html",
    doc = "[`spawn_local`]: https://docs.rs/ctxvar/latest/ctxvar/fn.spawn_local.html"
)]
#![cfg_attr(
    not(feature = "tracing"),
    doc = "",
    doc = "[`trace`]: https://docs.rs/ctxvar/latest/ctxvar/trace/index.html",
    doc = "[`trace::ContextFields`]: https://docs.rs/ctxvar/latest/ctxvar/trace/struct.ContextFields.html",
    doc = "[`trace::for_each_field`]: https://docs.rs/ctxvar/latest/ctxvar/trace/fn.for_each_field.html"
)]
#![cfg_attr(
    not(feature = "tower"),
    doc = "",
    doc = "[`tower::BindLayer`]: https://docs.rs/ctxvar/latest/ctxvar/tower/struct.BindLayer.html"
)]
#![cfg_attr(
    not(feature = "baggage"),
    doc = "",
    doc = "[`baggage::Baggage`]: https://docs.rs/ctxvar/latest/ctxvar/baggage/struct.Baggage.html"
)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod access;
#[cfg(feature = "baggage")]
#[cfg_attr(docsrs, doc(cfg(feature = "baggage")))]
pub mod baggage;
mod bindings;
mod carried;
#[cfg(feature = "stream")]
mod carried_stream;
mod context;
mod evidence;
// Declared variables, for their pages: only where docs are built (and in this crate's
// tests, which check that they compile). The expansion names `::ctxvar`.
#[cfg(any(doc, test))]
pub mod example;
#[cfg(any(doc, test))]
extern crate self as ctxvar;
pub mod executor;
mod frame;
#[cfg(any(feature = "tower", feature = "baggage"))]
mod headers;
mod inside;
mod key;
pub mod prelude;
mod scope;
#[cfg(feature = "tokio")]
mod spawn;
#[cfg(feature = "stream")]
mod stream;
pub mod thread;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub mod trace;
mod var;

pub use access::AccessError;
pub use bindings::{Binding, BindingList, Bindings};
pub use carried::{Carried, ContextMessageExt};
#[cfg(feature = "stream")]
pub use carried_stream::{CarriedStreamExt, ForEachInSenderContext, ThenInSenderContext};
pub use context::{Context, ContextFutureExt, ContextScope};
pub use evidence::{Anchor, Provided, UsesContext};
pub use key::{ContextKey, ContextValue, Inherited};
pub use scope::Scope;
#[cfg(feature = "tokio")]
pub use spawn::{spawn, spawn_blocking, spawn_local};
#[cfg(feature = "stream")]
pub use stream::{ContextStream, ScopeStream};
#[cfg(feature = "tracing")]
pub use trace::{TraceDebug, TraceDisplay};
pub use var::{ContextVar, Variable};

#[doc(inline)]
pub use ctxvar_macros::{context_var, uses_context, with_context};

// Not public API. Used by `ctxvar-macros` expansions; not covered by semver.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
// Also at the root, hidden: rustc prints a trait by its shortest visible path, and
// through `__private` alone the error for another crate's `spawn` would name
// `ctxvar::__private::IsCtxvarHelper` instead of `IsCtxvarHelper`.
#[doc(hidden)]
pub use __private::IsCtxvarHelper;
// The same for the traits a strict helper's errors name.
#[doc(hidden)]
pub use __private::{
    AwaitableIn, AwaitableWith, CarriesTheContext, Provides, SpawnedWithoutContext,
};

/// What a [`UsesContext`] awaited without evidence (in a function without the
/// attributes, or by a combinator such as `join_all`) would need of the helper's
/// future `Self`: implemented by nothing, so that the error is this message, under
/// the `.await`. (The bound could be `Provides`, but rustc would then list, under the
/// error, the evidence types of the crate's annotated functions that implement it.)
///
/// Safe to implement: a wrong impl lets the helper's future be awaited anywhere, and
/// the helper's entry check then panics, naming the variable.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a strict helper uses context variable `{K}`, which is not provided where its future is awaited",
    label = "uses `{K}`",
    note = "await it in a function that binds the variable, `#[with_context(VAR = ...)]`, or declares it, `#[uses_context(VAR)]`",
    note = "a future given to a combinator or a spawn function is awaited there, out of such a function's sight: give it `async {{ helper().await }}`, or `helper().assume_provided()` to leave the check to the helper's entry",
    note = "a trait method that is a strict helper returns `UsesContext<..>` in the trait too"
)]
pub trait AwaitableAnywhere<K: ?Sized> {}
