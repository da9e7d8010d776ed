//! Procedural macros of [`ctxvar`](https://docs.rs/ctxvar). Use them through `ctxvar`,
//! which re-exports them; this crate is an implementation detail.
//!
//! Each entry point is a thin shim: parse and validate into a model, then expand
//! infallibly. On an error, the user's item is emitted unchanged next to the error, so
//! one mistake gives one error and the rest of the code (and IDE completion) keeps
//! working.

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod args;
mod carried;
mod context_var;
mod crate_path;
mod evidence;
mod fallible;
mod function;
mod ide;
mod misuse;
#[cfg(test)]
mod never_panics;
mod private;
mod provide;
mod uses_context;
mod value_type;
mod with_context;
mod work;

use proc_macro::TokenStream;

/// Declares a context variable.
///
/// ```
/// use ctxvar::context_var;
///
/// /// The item the current task is working on.
/// #[context_var]
/// pub static ITEM_ID: u64; // required: no value until bound
///
/// #[context_var]
/// pub(crate) static RETRIES: u32 = 3; // has a default: readable anywhere
///
/// assert_eq!(RETRIES.get(), 3);
/// assert!(ITEM_ID.try_get().is_err());
/// assert_eq!(ITEM_ID.sync_scope(7, || ITEM_ID.try_get()), Ok(7));
/// ```
///
/// # Syntax
///
/// `#[context_var] VIS static NAME: Type;` or `... static NAME: Type = default;`.
///
/// - The value type must be `Send + Sync + 'static`; elided lifetimes (`&str`) mean
///   `'static`, as in any `static`.
/// - It must be one concrete, sized type, as a variable holds its value and has one
///   type for the whole program: not `impl Trait` (write `Box<dyn Trait + Send +
///   Sync>`), not `str`, a slice or `dyn Trait` (write `String` or `Arc<str>`, `Vec<T>`
///   or `Arc<[T]>`, `Box<dyn Trait + Send + Sync>`).
/// - A variable cannot be generic. The attribute cannot see which types are in scope,
///   so it takes a type named with one uppercase letter, optionally followed by digits
///   (`T`, `K`, `V2`), written alone and without generic arguments, to be a type
///   parameter, and rejects it; a type of your own with such a name is written by its
///   path (`self::T`, `crate::model::T`).
///
/// ```compile_fail
/// #[ctxvar::context_var]
/// static ITEMS: Vec<T>; // error: a context variable cannot be generic: write a concrete type in place of `T` ..
/// ```
/// - The default is a constant expression, as for any `static`; it is read, never
///   cloned into place, by `with`, and cloned by `get`.
/// - Visibility, doc comments, `#[cfg]` and other attributes are kept.
///
/// # Using the variable
///
/// Import it (`use crate::vars::ITEM_ID;`) or name it by path; no other import is
/// needed. On the variable:
///
/// | method | compiles | returns |
/// |---|---|---|
/// | `get()` (needs `Type: Clone`), `with(\|v\| ..)` | with a default; or inside `#[with_context]` / `#[uses_context]` functions that name it | the innermost value or the default |
/// | `try_get()`, `try_with(\|v\| ..)` | anywhere | `Result<_, ctxvar::AccessError>` |
/// | `is_bound()` | anywhere | `bool` |
/// | `scope(value, future)` | anywhere | a [`Scope`](https://docs.rs/ctxvar/latest/ctxvar/struct.Scope.html) future |
/// | `sync_scope(value, \|\| ..)` | anywhere | the closure's result |
/// | `bind(value)` | anywhere | `Bindings`, to bind several variables at once |
/// | `name()` | anywhere | the declared name |
///
/// A variable is never assigned: `ITEM_ID.set(5)` is a compile error that names the
/// ways to bind it (`#[with_context(ITEM_ID = 5)]` on a function, `ITEM_ID.scope(5,
/// future)` or `ITEM_ID.sync_scope(5, || ..)`).
///
/// ```compile_fail
/// #[ctxvar::context_var]
/// static ITEM_ID: u64;
///
/// fn assign() {
///     ITEM_ID.set(5); // error: context variable `ITEM_ID` cannot be assigned: it is bound for a scope
/// }
/// ```
///
/// A required variable read outside such a function is a compile error:
///
/// ```compile_fail
/// #[ctxvar::context_var]
/// static ITEM_ID: u64;
///
/// fn outside() -> u64 {
///     ITEM_ID.get() // error: context variable `ITEM_ID` is read outside a scope that binds it
/// }
/// ```
///
/// # Defaults
///
/// A variable declared with `= default` reads its default wherever it is not bound:
/// `get` and `with` compile anywhere, and `is_bound()` is always `true`. A binding
/// shadows the default for its scope, as it shadows an outer binding.
///
/// ```
/// use ctxvar::context_var;
///
/// #[context_var]
/// static RETRIES: u32 = 3;
///
/// fn retries() -> u32 {
///     RETRIES.get() // no attribute needed: there is always a value
/// }
///
/// assert_eq!(retries(), 3);
/// assert_eq!(RETRIES.sync_scope(0, retries), 0);
/// assert!(RETRIES.is_bound());
/// ```
///
/// # `inherit = false`
///
/// `#[context_var(inherit = false)]` declares a variable that
/// [`Context::current()`](https://docs.rs/ctxvar/latest/ctxvar/struct.Context.html)
/// never captures, so `ctxvar::spawn` and the other helpers do not carry it into the
/// task or thread they start: use it for what must stay with one task, such as a
/// database transaction or a session. Inside a `#[with_context]` or `#[uses_context]`
/// function, reading it in a block passed to one of those helpers is a compile error.
///
/// ```
/// use ctxvar::context_var;
///
/// #[context_var]
/// static REQUEST_ID: u64;
///
/// #[context_var(inherit = false)]
/// static TRANSACTION: u32;
///
/// let in_thread = REQUEST_ID.bind(7).and(TRANSACTION.bind(1)).sync_scope(|| {
///     ctxvar::thread::spawn(|| (REQUEST_ID.try_get(), TRANSACTION.is_bound()))
/// });
/// assert_eq!(in_thread.join().unwrap(), (Ok(7), false));
/// ```
///
/// # `trace` (feature `tracing`)
///
/// `#[context_var(trace)]` makes every [`tracing`](https://docs.rs/tracing) event
/// emitted while the variable is bound carry its value as a field, with no code in
/// the logging calls: `trace` records it with `Debug`, `trace = display` with
/// `Display` (`trace = debug` says the default explicitly). The field is named like
/// the variable in lower case (`REQUEST_ID` is logged as `request_id`), or as
/// `field = "name"` says (`#[context_var(trace, field = "tenant.id")]`; ASCII letters,
/// digits, `_`, `.` and `-`).
///
/// The field is read when an event is handled, from the bindings in effect on the
/// thread that emits it: so it shows on events in spawned work only if the variable
/// is inherited, on events from destructors while a scope is cancelled, and never
/// after the binding has ended. No span is created: a traced binding costs what an
/// untraced one does. A subscriber shows the fields through
/// [`ctxvar::trace::ContextFields`](https://docs.rs/ctxvar/latest/ctxvar/trace/struct.ContextFields.html)
/// (`tracing_subscriber::fmt().map_event_format(ContextFields::text)`, or `::json`) or
/// [`ctxvar::trace::for_each_field`](https://docs.rs/ctxvar/latest/ctxvar/trace/fn.for_each_field.html)
/// in a layer of its own.
///
/// ```
/// use ctxvar::context_var;
///
/// #[context_var(trace = display)]
/// static REQUEST_ID: u64;
///
/// fn log(message: &str) {
///     tracing::info!("{message}"); // shown as `INFO handled request_id=7`
/// }
///
/// REQUEST_ID.sync_scope(7, || log("handled"));
/// ```
///
/// A variable declared `trace` whose type is not `Debug` (or `trace = display` and not
/// `Display`) is a compile error at the declaration; without the `tracing` feature,
/// `trace` is a compile error that names the feature.
///
/// # In rustdoc
///
/// rustdoc has no kind of item for a variable: it lists one under *Traits*, as "Trait
/// `ITEM_ID`", because the variable's name is also a trait (so that `dyn ITEM_ID` names
/// its key type). The generated docs say what it is first, so that the one-line
/// summary in the module's list reads "*Context variable* of type `u64`, required.",
/// followed by the summary written on the declaration. The page then gives the
/// default, whether the variable is inherited and traced, how to bind and read it, and
/// links here for its methods, which the page does not list (they are hidden, like
/// the blanket impl they come from, as their signatures name hidden bounds); then the
/// rest of the doc comment. The docs of ctxvar show such pages in
/// [`ctxvar::example`](https://docs.rs/ctxvar/latest/ctxvar/example/index.html), a module
/// that exists only there.
///
/// # Compile errors
///
/// Each under the tokens at fault: an item that is not `static NAME: Type;` or
/// `static NAME: Type = default;`, `static mut`, a value type that is not
/// `Send + Sync + 'static` (or names a lifetime other than `'static`), an `impl Trait`,
/// unsized or generic value type (see [Syntax](#syntax)), a default of the
/// wrong type or that is not a constant expression, an argument other than
/// `inherit = true`, `inherit = false`, `trace`, `trace = debug`, `trace = display` or
/// `field = "name"` (or one given twice; `field` without `trace`, or a name with other
/// characters than ASCII letters, digits, `_`, `.` and `-`), and a traced type that
/// cannot be recorded
/// ([`TraceDebug`](https://docs.rs/ctxvar/latest/ctxvar/trait.TraceDebug.html),
/// [`TraceDisplay`](https://docs.rs/ctxvar/latest/ctxvar/trait.TraceDisplay.html)). The
/// variable is still declared next to the error (a `const` in place of `static` is
/// declared as the variable it was meant to be, another item is kept as it is), so its
/// uses elsewhere compile and the mistake is reported once.
///
/// The code the attributes generate names the runtime as the crate's `Cargo.toml` does:
/// `ctxvar`, or the name a renamed dependency has (`cv = { package = "ctxvar", .. }`),
/// so a rename needs nothing else (`#[cv::with_context(..)]`, `cv::spawn(..)`). The
/// attributes read only the crate's `Cargo.toml`, and its workspace's for a
/// `workspace = true` dependency; where they cannot tell, they name `ctxvar`, which
/// `extern crate cv as ctxvar;` at the crate root makes reachable.
///
/// A name declared twice in one module is reported by rustc itself: the name (and the
/// hidden `NAME_is_bound_here` and `NAME_is_bound_not_set` traits) defined multiple times, and each of the
/// variable's impls as conflicting. The attribute cannot see the other declaration,
/// and the impls are keyed by the name, so these errors come together; none of them
/// names a hidden item.
///
/// # Equivalent code without the macro
///
/// The declaration expands to a function and a trait of the same name (see the crate
/// docs for why), written here in full for `static ITEM_ID: u64;`. It uses items of
/// `ctxvar::__private`, which are not covered by semver, and implements the `unsafe`
/// trait [`ContextKey`](https://docs.rs/ctxvar/latest/ctxvar/trait.ContextKey.html),
/// whose safety contract the attribute upholds for you: write the attribute.
///
/// ```
/// use ctxvar::Variable;
/// use ctxvar::__private::{self as private, VarMeta};
///
/// #[doc(hidden)]
/// #[allow(non_snake_case)]
/// pub fn ITEM_ID() -> Variable<dyn ITEM_ID> {
///     Variable::new()
/// }
///
/// /// *Context variable* of type `u64`, required.
/// /// The item the current task is working on.
/// ///
/// /// Declared with [`#[context_var]`](ctxvar::context_var). rustdoc lists it under ..
/// ///
/// /// - **Default**: none, so it is *required*: `ITEM_ID.get()` compiles only where it is bound.
/// /// - **Inherited**: yes: [`Context::current()`](ctxvar::Context::current) captures it, ..
/// /// - **Traced**: no.
/// /// - **Bind**: [`#[with_context(ITEM_ID = value)]`](ctxvar::with_context) on a function, ..
/// /// - **Read**: `ITEM_ID.get()` or `ITEM_ID.with(|value| ..)` in a function that binds it ..
/// /// - **Methods**: `get`, `with`, .. the same for [every variable](ctxvar::context_var#using-the-variable); ..
/// ///
/// /// (The rest of the docs written on the declaration, after their first paragraph.)
/// #[allow(non_camel_case_types, dead_code)]
/// pub trait ITEM_ID {
///     // Each method is hidden (and so are their docs, kept for IDEs): the page lists
///     // none, and reads `pub trait ITEM_ID { }`.
///     //
///     // `CloneValue` implies `Sized`: like the `Self: Sized` of the other methods, it
///     // keeps the method out of the vtable, so that `dyn ITEM_ID` is a type.
///     #[doc(hidden)]
///     fn get(&self) -> u64
///     where
///         Self: private::CloneValue<u64> + ITEM_ID_is_bound_here,
///     {
///         // The checked read is the evidence type's: the bound above decides where
///         // it compiles, so here it may assume the variable is provided.
///         ctxvar::Provided::<dyn ITEM_ID>::assume_bound(&ctxvar::Anchor::new())
///             .with(<Self as private::CloneValue<u64>>::clone_value)
///     }
///     #[doc(hidden)]
///     fn try_get(&self) -> Result<u64, ctxvar::AccessError>
///     where
///         Self: private::CloneValue<u64>,
///     {
///         // Every other method forwards to `Variable`, the one implementation.
///         Variable::<dyn ITEM_ID>::new().try_with(<Self as private::CloneValue<u64>>::clone_value)
///     }
///     #[doc(hidden)]
///     fn sync_scope<R>(&self, value: u64, f: impl FnOnce() -> R) -> R
///     where
///         Self: ctxvar::ContextVar<Key = dyn ITEM_ID, Value = u64>,
///     {
///         ctxvar::ContextVar::sync_scope(*self, value, f)
///     }
///     // ... and `with`, `try_with`, `is_bound`, `bind`, `scope`, `name` alike, and a
///     // `set` whose bound (a trait like `ITEM_ID_is_bound_here`, implemented by no
///     // `Sized` type) makes `ITEM_ID.set(..)` an error that says how to bind it.
/// }
///
/// #[doc(hidden)]
/// impl<F: Fn() -> Variable<dyn ITEM_ID>> ITEM_ID for F {}
///
/// // SAFETY: the `static` and the `thread_local!` are declared inside the functions
/// // that return them, so they belong to this key alone.
/// unsafe impl ctxvar::ContextKey for dyn ITEM_ID {
///     type Value = u64;
///     type __Key = Self;
///     fn __meta() -> &'static VarMeta<u64> {
///         static META: VarMeta<u64> = VarMeta::new("ITEM_ID", module_path!(), true, None);
///         &META
///     }
///     fn __read_cache() -> &'static std::thread::LocalKey<private::ReadCache> {
///         std::thread_local! {
///             static CACHE: private::ReadCache = const { private::ReadCache::new() };
///         }
///         &CACHE
///     }
/// }
///
/// #[doc(hidden)]
/// #[allow(non_camel_case_types)]
/// #[diagnostic::on_unimplemented(
///     message = "context variable `ITEM_ID` is read outside a scope that binds it"
/// )]
/// pub trait ITEM_ID_is_bound_here {}
///
/// #[diagnostic::do_not_recommend]
/// impl ITEM_ID_is_bound_here for dyn ITEM_ID {}
///
/// assert_eq!(ITEM_ID.sync_scope(7, || ITEM_ID.try_get()), Ok(7));
/// ```
#[proc_macro_attribute]
pub fn context_var(args: TokenStream, item: TokenStream) -> TokenStream {
    // On errors it declares the variable anyway where it can, and keeps an item that
    // is not a `static` unchanged (see `expand`); it never re-emits the `static`
    // itself, which without a value is an error of its own.
    context_var::expand(args.into(), item.into()).into()
}

/// Binds context variables for the dynamic extent of a function.
///
/// ```
/// use ctxvar::{context_var, uses_context, with_context};
///
/// #[context_var]
/// static ITEM_ID: u64;
///
/// #[uses_context(ITEM_ID)]
/// async fn log(message: &str) -> String {
///     format!("item {}: {message}", ITEM_ID.get())
/// }
///
/// #[with_context(ITEM_ID = id)]
/// async fn process(id: u64) -> String {
///     tokio::task::yield_now().await;
///     log("done").await
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // Concurrent calls each see their own value.
/// let (a, b) = tokio::join!(process(1), process(2));
/// assert_eq!((a.as_str(), b.as_str()), ("item 1: done", "item 2: done"));
/// # }
/// ```
///
/// # Syntax
///
/// `#[with_context(VAR = value, path::to::OTHER = value, ...)]` on an `async fn` or a
/// plain `fn`: free functions, methods with any receiver, trait impl methods (including
/// native `async fn` in traits), generic functions, functions returning `Result` that
/// use `?`. Not on a `const fn`: the variables are bound when the function runs. On a
/// plain `fn`, not together with `#[track_caller]`: the body runs inside a closure,
/// where the caller's location would be lost (both are compile errors).
///
/// # Semantics
///
/// - The values are evaluated on entry (on the first poll of an `async fn`), left to
///   right, before the new bindings exist: they see the caller's bindings and may use
///   the parameters. A value that moves a parameter moves it; clone it to use it in
///   the body too.
/// - The bindings hold for the whole body, across `.await`s and worker threads, and
///   are restored on every exit: return, `?`, panic, and (for an `async fn`) the future
///   being dropped mid-way. While the body's future is dropped the values are still
///   bound, so destructors can read them.
/// - The body runs in a `move` closure or `async move` block, which takes the
///   parameters it uses; a parameter the body never mentions (such as `_permit`) stays
///   with the function and is dropped after the bindings are restored. A parameter
///   whose destructor must read the variables has to be used in the body
///   (`drop(permit)` at the end will do).
/// - Inside the function, each variable is named by the last segment of its path
///   (`ITEM_ID` for `vars::ITEM_ID`), and `get`/`with` compile there, also in closures
///   and async blocks written in the body.
/// - Binding a variable that a caller already bound shadows it until the function
///   returns; nothing leaks to the caller or to sibling futures.
/// - All the variables of one attribute are one frame: binding eight costs the same
///   per poll as binding one.
///
/// ```
/// use ctxvar::{context_var, uses_context, with_context};
///
/// #[context_var]
/// static SHARD: u32;
///
/// #[uses_context(SHARD)]
/// fn shard() -> u32 {
///     SHARD.get()
/// }
///
/// struct Worker {
///     shard: u32,
/// }
///
/// impl Worker {
///     // A method; the value may use `self` and the other parameters. `?` returns
///     // early, and the caller's bindings are back either way.
///     #[with_context(SHARD = self.shard)]
///     fn scaled(&self, factor: &str) -> Result<u32, std::num::ParseIntError> {
///         let factor: u32 = factor.parse()?;
///         Ok(shard() * factor)
///     }
/// }
///
/// // Nesting: the inner binding shadows the outer one until it returns.
/// #[with_context(SHARD = 1)]
/// fn outer() -> (u32, u32, u32) {
///     let before = shard();
///     let inner = Worker { shard: 2 }.scaled("10").unwrap();
///     (before, inner, shard())
/// }
///
/// assert_eq!(outer(), (1, 20, 1));
/// assert!(Worker { shard: 2 }.scaled("x").is_err());
/// assert!(!SHARD.is_bound()); // nothing leaks to the caller
/// ```
///
/// # Spawned work
///
/// Work that carries the context (a block or closure written as the argument of one of
/// ctxvar's spawn helpers, called by its path or by the name it was imported under, or
/// an `async` block followed by `.in_current_context()`) may read the function's
/// variables with `get`; any work may use `try_get`, `try_with` and `is_bound`. A
/// `get` or `with` in work that carries nothing (`tokio::spawn`, `std::thread::spawn`)
/// does not compile: its block borrows the function, and the error says that
/// `VAR_is_bound_only_inside_this_function` does not live long enough (or, for a
/// helper imported from another crate under one of ctxvar's names, that it is not
/// ctxvar's). Functions with `#[uses_context]` follow the same rule.
///
/// ```
/// use ctxvar::{context_var, with_context, ContextFutureExt};
///
/// #[context_var]
/// static SHARD: u32;
///
/// #[with_context(SHARD = 3)]
/// fn start() -> impl std::future::Future<Output = u32> + Send + 'static {
///     async move { SHARD.get() }.in_current_context() // runs with SHARD = 3
/// }
///
/// #[with_context(SHARD = 4)]
/// async fn plain() -> bool {
///     tokio::spawn(async move { SHARD.is_bound() }).await.unwrap() // sees nothing
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(tokio::spawn(start()).await.unwrap(), 3);
/// assert!(!plain().await);
/// # }
/// ```
///
/// # With other attributes
///
/// `#[tokio::main]`, `#[tokio::test]` and `#[tracing::instrument]` work above or below
/// it. In an `#[async_trait]` impl, put it on the method as usual: `#[async_trait]`
/// expands first and boxes the body, and `#[with_context]` binds inside the boxed
/// future, so the values are still evaluated on its first poll (the same holds for
/// `#[uses_context]`). `#[async_trait]`'s output is recognised by the lifetime
/// `'async_trait` it adds to the method.
///
/// A plain `fn` whose whole body is `Box::pin(async move { .. })`, written by hand, is
/// treated the same way: the function only creates that future, so the values are
/// evaluated and the variables bound inside it, on its first poll, and `self` in a
/// value is the `self` the future captures.
///
/// To read a variable in the binding value itself (`DEPTH = DEPTH.get() + 1`), put
/// `#[with_context]` *above* `#[uses_context(DEPTH)]`, so the read is inside the
/// `uses_context` evidence.
///
/// ```
/// use ctxvar::{context_var, uses_context, with_context};
///
/// #[context_var]
/// static DEPTH: u32;
///
/// #[with_context(DEPTH = DEPTH.get() + 1)]
/// #[uses_context(DEPTH)]
/// fn deeper() -> u32 {
///     DEPTH.get()
/// }
///
/// #[tokio::main(flavor = "current_thread")]
/// #[with_context(DEPTH = 0)]
/// async fn main() {
///     assert_eq!(DEPTH.get(), 0);
///     assert_eq!(deeper(), 1);
///     assert_eq!(DEPTH.get(), 0);
/// }
/// ```
///
/// # Panics
///
/// The attribute adds no panic of its own. A panic while evaluating a value binds
/// nothing; a panic in the body unwinds through the scope, which restores the caller's
/// bindings on the way out.
///
/// # Equivalent code without the macro
///
/// ```
/// # use ctxvar::context_var;
/// # #[context_var] static ITEM_ID: u64;
/// use ctxvar::{Anchor, Provided};
///
/// // #[with_context(ITEM_ID = id)] async fn process(id: u64) -> u64 { ITEM_ID.get() }
/// async fn process(id: u64) -> u64 {
///     let bindings = ITEM_ID.bind(id); // values first: they see the caller's bindings
///     #[allow(non_snake_case)]
///     let ITEM_ID_is_bound_only_inside_this_function = Anchor::new();
///     #[allow(non_snake_case)]
///     let ITEM_ID = Provided::<dyn ITEM_ID>::assume_bound(&ITEM_ID_is_bound_only_inside_this_function);
///     bindings.scope(async move { ITEM_ID.get() }).await
/// }
///
/// // #[with_context(ITEM_ID = id)] fn process_sync(id: u64) -> u64 { ITEM_ID.get() }
/// fn process_sync(id: u64) -> u64 {
///     let bindings = ITEM_ID.bind(id);
///     #[allow(non_snake_case)]
///     let ITEM_ID_is_bound_only_inside_this_function = Anchor::new();
///     #[allow(non_snake_case)]
///     let ITEM_ID = Provided::<dyn ITEM_ID>::assume_bound(&ITEM_ID_is_bound_only_inside_this_function);
///     bindings.sync_scope(move || -> u64 { ITEM_ID.get() })
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(process(1).await, 1);
/// assert_eq!(process_sync(2), 2);
/// # }
/// ```
///
/// Several variables are bound as one frame with `A.bind(a).and(B.bind(b))`.
#[proc_macro_attribute]
pub fn with_context(args: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    with_context::expand(args.into(), item.into())
        .unwrap_or_else(|err| with_error(err, original))
        .into()
}

/// Declares that a function's callers bind some context variables.
///
/// Inside the function `get` and `with` compile for those variables; on entry (the
/// first poll of an `async fn`) each is checked, and if one is not bound the function
/// panics with a message that names it, the variable and the fix. After a successful
/// entry no `get` or `with` in the body can fail, except in work the attributes cannot
/// see run elsewhere (below).
///
/// ```
/// use ctxvar::{context_var, uses_context};
///
/// #[context_var]
/// static TENANT: String;
///
/// #[uses_context(TENANT)]
/// fn table_name() -> String {
///     format!("{}_orders", TENANT.get())
/// }
///
/// assert_eq!(TENANT.sync_scope("acme".into(), table_name), "acme_orders");
///
/// let unbound = std::panic::catch_unwind(table_name).unwrap_err();
/// let message = unbound.downcast_ref::<String>().unwrap();
/// assert!(message.starts_with("`table_name` uses context variable `TENANT`"));
/// ```
///
/// # Syntax
///
/// `#[uses_context(VAR, path::to::OTHER, ...)]` on the same kinds of functions as
/// `#[with_context]`, except a `const fn`. Inside the function each variable is named
/// by the last segment of its path. Variables with a default need no declaration, but
/// may have one. The body stays where it is, so `#[track_caller]` on a plain `fn`
/// keeps working; the entry check's panic then reports the caller's location.
///
/// # On an `async fn`
///
/// The check runs on the future's first poll, inside whatever scopes its poller has
/// entered, not when the future is created: a future may be created anywhere and
/// awaited inside a scope.
///
/// ```
/// use ctxvar::{context_var, uses_context};
///
/// #[context_var]
/// static TENANT: String;
///
/// #[uses_context(TENANT)]
/// async fn table_name() -> String {
///     format!("{}_orders", TENANT.get())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let future = table_name(); // nothing is checked yet
/// assert_eq!(TENANT.scope("acme".into(), future).await, "acme_orders");
/// # }
/// ```
///
/// # Strict: the variables in the helper's type
///
/// With `strict` after the variables, an `async fn` returns a
/// [`UsesContext`](https://docs.rs/ctxvar/latest/ctxvar/struct.UsesContext.html)
/// instead of a plain future, and awaiting it where the variables are not provided
/// does not compile. *Provided* means: in a function with `#[with_context]` that binds
/// them or `#[uses_context]` that declares them (strict or not), in its closures and
/// `async` blocks, in work given to the spawn helpers and `.in_current_context()`,
/// and in the arguments of the macros that use them as code: std's formatting macros
/// (`format!`, `println!`, `write!`, `panic!`), `vec!`, `assert_eq!`/`assert_ne!`,
/// `join!`, `try_join!` and `select!` (tokio's and futures'), `tracing`'s and `log`'s
/// event and span macros. Both attributes hand the function's evidence to every
/// `.await` there; awaiting anything else is unchanged. Other macros are left as
/// written, as they may keep their tokens as text (`assert!`, `dbg!`, `stringify!`):
/// await a strict helper before calling them.
///
/// ```
/// use ctxvar::{context_var, uses_context, with_context};
///
/// #[context_var]
/// static TENANT: String;
///
/// #[uses_context(TENANT, strict)]
/// async fn table_name() -> String {
///     format!("{}_orders", TENANT.get())
/// }
///
/// #[with_context(TENANT = tenant)]
/// async fn handler(tenant: String) -> String {
///     let (a, b) = tokio::join!(table_name(), async { table_name().await });
///     a + &b
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(handler("acme".into()).await, "acme_ordersacme_orders");
/// # }
/// ```
///
/// In a function without either attribute, `table_name().await` is an error under
/// the `.await` that names the variable and the attributes that would provide it:
/// "a strict helper uses context variable `dyn TENANT`, which is not provided
/// where its future is awaited". A combinator that awaits the helper's future itself
/// (`join_all(vec![table_name()])`) gets that error too, in any function: give it
/// `async { table_name().await }` instead; and so does a trait method implemented by a
/// strict helper where the trait declares a plain `async fn` (see below). In a function
/// that provides some variables but not all, the error names the one missing: "this
/// function does not provide context variable `dyn USER`, which the awaited helper
/// uses".
///
/// Where the evidence cannot reach, the ways through:
/// - `tokio::select!` takes its futures as written: write `let f = async {
///   helper().await };` before it and select on `f`.
/// - A trait method that is a strict helper declares the type in the trait:
///   `fn table(&self) -> UsesContext<(Variable<dyn TENANT>,), impl Future<Output =
///   String> + '_>`, and the impl keeps `#[uses_context(TENANT, strict)] async fn`.
/// - `#[async_trait]` methods (and so methods called through `dyn Trait`) and plain
///   `fn`s cannot be strict: their type has no room for the variables (the
///   attribute says so). Leave `strict` out: the method checks on entry, and its
///   body, under `#[uses_context]`, awaits strict helpers as any annotated function
///   does.
/// - Anything else (a function without the attributes that must await one):
///   `helper().assume_provided()` takes the variables out of the type, by name, and the helper's
///   own check on entry remains.
///
/// Work that starts without the function's context does not provide it: a strict
/// helper awaited in an `async` block or closure written as the argument of
/// `tokio::spawn`, `std::thread::spawn`, `set.spawn(..)` (any function or method
/// named `spawn`, `spawn_local` or `spawn_blocking` whose path does not start with
/// `ctxvar`) is an error, "`UsesContext<..>` is awaited in work that starts without
/// this function's context", that says how to carry it. Written as that argument,
/// `async { .. }.in_current_context()` carries the function's context; and a
/// future written as the argument of `ctx.scope(..)` or `VAR.scope(value, ..)` runs
/// in that context, also inside spawned work. A spawn helper imported by name (`use ctxvar::spawn;
/// spawn(..)`) is recognised as ctxvar's only where its work also reads one of the
/// function's variables, which has the name checked; otherwise write its path,
/// `ctxvar::spawn(..)`.
///
/// This is read from where the work is written, not from its type: a block stored in
/// a local and spawned by another crate later (`let f = async { helper().await };
/// tokio::spawn(f)`) keeps the function's evidence. So a strict helper still checks
/// on entry, and panics there, naming the variable, as a non-strict one would. The
/// function must be an `async fn`; its future captures every lifetime and type of
/// its parameters, as an `async fn`'s does, in editions 2021 and 2024 alike.
/// `strict` turns it into a plain `fn` that returns the future, so it must be the
/// last attribute macro on the function: `#[tracing::instrument]` or
/// `#[with_context]` go above it (below, each is a compile error that says so).
///
/// Without the macro, `strict` is this signature and body:
///
/// ```
/// # use ctxvar::context_var;
/// # #[context_var] static TENANT: String;
/// use ctxvar::{Anchor, UsesContext, Provided, Variable};
///
/// // #[uses_context(TENANT, strict)] async fn table_name() -> String { .. }
/// fn table_name() -> UsesContext<(Variable<dyn TENANT>,), impl Future<Output = String>> {
///     UsesContext::__new(async move {
///         #[allow(non_snake_case)]
///         let TENANT_is_bound_only_inside_this_function = Anchor::new();
///         #[allow(non_snake_case)]
///         let TENANT = Provided::<dyn TENANT>::checked(&TENANT_is_bound_only_inside_this_function, "table_name");
///         format!("{}_orders", TENANT.get())
///     })
/// }
///
/// // In a function that provides `TENANT`, each `.await` is given the evidence:
/// async fn caller() -> String {
///     struct ContextThisFunctionProvides;
///     impl ctxvar::Provides<dyn TENANT> for ContextThisFunctionProvides {}
///     table_name().__ctxvar_provide::<ContextThisFunctionProvides>().await
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(TENANT.scope("acme".into(), caller()).await, "acme_orders");
/// # }
/// ```
///
/// # Panics
///
/// On entry, if a listed variable is neither bound nor has a default. The message
/// names the function, the variable and the fix (one line, wrapped here), and the
/// panic's location is the variable in the attribute (with `#[track_caller]`, the
/// call):
///
/// ```text
/// `table_name` uses context variable `TENANT`, but it is not bound where
/// `table_name` was called. Causes, with their fixes: (1) no caller binds it: bind it
/// in a caller with `#[with_context(TENANT = ...)]` or `TENANT.scope(value, future)`;
/// (2) it was called in a task or thread that starts with nothing bound
/// (`tokio::spawn`, `std::thread::spawn`): start that work with `ctxvar::spawn` (or
/// `ctxvar::spawn_blocking`, `ctxvar::thread::spawn`), or spawn
/// `future.in_current_context()`; (3) it is a request handler, and its router lacks
/// the layer that binds `TENANT` for each request: add `ctxvar::tower::BindLayer` (or
/// the baggage layer) to the router
/// ```
///
/// What holds after a successful entry, exactly: a `get` or `with` of those variables
/// in the body cannot fail when it runs in the function itself, in its closures and
/// `async` blocks polled or called there, or in work that carries the context (ctxvar's
/// spawn helpers, `.in_current_context()`, `Context::current()`'s `run`, `scope` and
/// `scope_stream`). A read in work run without the function's context that the
/// attributes can see (another crate's spawn, a scoped thread's `spawn`, a body
/// stream, `Context::empty()` or a context parameter, `.in_context(ctx)`, a closure or
/// `async` block a plain `fn` returns) is a compile error. Work they cannot see, run
/// elsewhere without outliving the function (a closure passed to a function of yours
/// that runs it on a scoped thread, a wrapper `macro_rules!` defined outside the
/// function), is not covered: a read there panics with the variable's name and this
/// cause, and `try_get` is the read for it.
///
/// # Equivalent code without the macro
///
/// (Besides this, the attribute declares the evidence that it provides `TENANT` to
/// every `.await` of the body, for strict helpers; see above.)
///
/// ```
/// # use ctxvar::context_var;
/// # #[context_var] static TENANT: String;
/// use ctxvar::{Anchor, Provided};
///
/// // #[uses_context(TENANT)] fn table_name() -> String { .. }
/// fn table_name() -> String {
///     #[allow(non_snake_case)]
///     let TENANT_is_bound_only_inside_this_function = Anchor::new();
///     #[allow(non_snake_case)]
///     let TENANT = Provided::<dyn TENANT>::checked(&TENANT_is_bound_only_inside_this_function, "table_name");
///     format!("{}_orders", TENANT.get())
/// }
/// assert_eq!(TENANT.sync_scope("acme".into(), table_name), "acme_orders");
/// ```
#[proc_macro_attribute]
pub fn uses_context(args: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    uses_context::expand(args.into(), item.into())
        .unwrap_or_else(|err| with_error(err, original))
        .into()
}

/// The error, followed by the user's item unchanged, so that one mistake in an
/// attribute gives one error and uses of the item still resolve (tokio-rs/tokio#4162).
fn with_error(err: syn::Error, original: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let mut tokens = err.into_compile_error();
    tokens.extend(original);
    tokens
}
