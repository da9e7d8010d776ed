//! `Send`, `Sync` and `Unpin` of every public type, checked at compile time: this file
//! compiles only if each type has exactly the auto traits listed here. Changing one is
//! a semver-relevant change, so it must be deliberate.
//!
//! | type | `Send` | `Sync` | `Unpin` |
//! |---|---|---|---|
//! | `Context` | yes | yes | yes |
//! | `ContextScope<F>` | iff `F: Send` | iff `F: Sync` | iff `F: Unpin` |
//! | `Scope<L, F>` | iff `F: Send` | iff `F: Sync` | iff `F: Unpin` |
//! | `ScopeStream<L, S>` (feature `stream`) | iff `S: Send` | iff `S: Sync` | iff `S: Unpin` |
//! | `ContextStream<S>` (feature `stream`) | iff `S: Send` | iff `S: Sync` | iff `S: Unpin` |
//! | `Binding<K>` | yes | yes | iff `K::Value: Unpin` |
//! | `Bindings<L>` | yes | yes | iff the values are `Unpin` |
//! | `Variable<K>` | yes | yes | yes |
//! | `Provided<'a, K>` | yes | yes | yes |
//! | `Anchor` | yes | yes | yes |
//! | `AccessError` | yes | yes | yes |
//! | `JoinHandle<T>` of `spawn`, `spawn_blocking`, `spawn_local` (tokio's) | iff `T: Send` | iff `T: Send` | yes |
//! | `std::thread::JoinHandle<T>` of `ctxvar::thread::spawn` | yes | yes | yes |
//!
//! Bound values are always `Send + Sync` (`#[context_var]` requires it), so a binding
//! list `L` never takes these traits away: a scope is as `Send`, `Sync` and `Unpin` as
//! the future or stream it wraps (the values live in a shared allocation, not in the
//! scope, so an `!Unpin` value does not make the scope `!Unpin`). The futures returned
//! by `#[with_context]` and `#[uses_context]` functions are `Send` when their body is.
//!
//! How: a type that should have a trait is passed to a function that requires it
//! (`is_send::<T>()`). A type that should not have it names a method of a trait with
//! two blanket impls, one for every type and one for types with the trait (the
//! technique of tokio's `tests/async_send_sync.rs`): with the trait, both impls apply
//! and the call is ambiguous, which does not compile. Where a trait holds under a
//! bound, a generic function proves it for every type meeting the bound, and concrete
//! types show that it is lost without it.

#![allow(dead_code, clippy::extra_unused_type_parameters)]

use std::cell::Cell;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::MutexGuard;
use std::task::{Context as TaskContext, Poll};

use ctxvar::{
    AccessError, Anchor, Binding, BindingList, Bindings, Context, ContextKey, ContextScope,
    ContextStream, Provided, Scope, ScopeStream, Variable, context_var, uses_context, with_context,
};

fn is_send<T: ?Sized + Send>() {}
fn is_sync<T: ?Sized + Sync>() {}
fn is_unpin<T: ?Sized + Unpin>() {}

/// Ambiguous for `Send` types: `<T as AmbiguousIfSend<_>>::some_item` compiles only
/// when `T` is not `Send`.
trait AmbiguousIfSend<A> {
    fn some_item(&self) {}
}
impl<T: ?Sized> AmbiguousIfSend<()> for T {}
impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}

/// Ambiguous for `Sync` types.
trait AmbiguousIfSync<A> {
    fn some_item(&self) {}
}
impl<T: ?Sized> AmbiguousIfSync<()> for T {}
impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}

/// Ambiguous for `Unpin` types.
trait AmbiguousIfUnpin<A> {
    fn some_item(&self) {}
}
impl<T: ?Sized> AmbiguousIfUnpin<()> for T {}
impl<T: ?Sized + Unpin> AmbiguousIfUnpin<u8> for T {}

/// `auto_traits!(T: Send, !Sync, Unpin);` compiles only if `T` is `Send`, not `Sync`,
/// and `Unpin`. Each of the three must be given, with or without `!`.
macro_rules! auto_traits {
    ($t:ty: $($traits:tt)*) => {
        const _: fn() = || {
            auto_traits!(@ [$t] $($traits)*);
        };
    };
    (@ [$t:ty]) => {};
    (@ [$t:ty] , $($rest:tt)*) => { auto_traits!(@ [$t] $($rest)*); };
    (@ [$t:ty] Send $($rest:tt)*) => { is_send::<$t>(); auto_traits!(@ [$t] $($rest)*); };
    (@ [$t:ty] Sync $($rest:tt)*) => { is_sync::<$t>(); auto_traits!(@ [$t] $($rest)*); };
    (@ [$t:ty] Unpin $($rest:tt)*) => { is_unpin::<$t>(); auto_traits!(@ [$t] $($rest)*); };
    (@ [$t:ty] !Send $($rest:tt)*) => {
        let _ = <$t as AmbiguousIfSend<_>>::some_item;
        auto_traits!(@ [$t] $($rest)*);
    };
    (@ [$t:ty] !Sync $($rest:tt)*) => {
        let _ = <$t as AmbiguousIfSync<_>>::some_item;
        auto_traits!(@ [$t] $($rest)*);
    };
    (@ [$t:ty] !Unpin $($rest:tt)*) => {
        let _ = <$t as AmbiguousIfUnpin<_>>::some_item;
        auto_traits!(@ [$t] $($rest)*);
    };
}

// ---------------------------------------------------------------------------------
// Test types: a future and a stream with exactly the auto traits of `T`.
// ---------------------------------------------------------------------------------

/// A future (and stream) that is `Send`, `Sync` and `Unpin` exactly when `T` is.
struct Probe<T>(T);

impl<T> Future for Probe<T> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl<T> futures::Stream for Probe<T> {
    type Item = ();
    fn poll_next(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Option<()>> {
        Poll::Pending
    }
}

/// `Send + Sync + Unpin`.
type All = Probe<()>;
/// `Send + Unpin`, not `Sync`.
type NotSync = Probe<Cell<u8>>;
/// `Sync + Unpin`, not `Send`.
type NotSend = Probe<MutexGuard<'static, u8>>;
/// `Unpin` only.
type Neither = Probe<Rc<u8>>;
/// `Send + Sync`, not `Unpin`.
type Pinned = Probe<PhantomPinned>;

auto_traits!(All: Send, Sync, Unpin);
auto_traits!(NotSync: Send, !Sync, Unpin);
auto_traits!(NotSend: !Send, Sync, Unpin);
auto_traits!(Neither: !Send, !Sync, Unpin);
auto_traits!(Pinned: Send, Sync, !Unpin);

#[context_var]
static ITEM_ID: u64;

/// A variable whose value is not `Unpin` (values need only be `Send + Sync`).
#[context_var]
static PINNED: PhantomPinned;

type One = Binding<dyn ITEM_ID>;
type Two = (Binding<dyn ITEM_ID>, Binding<dyn PINNED>);

// ---------------------------------------------------------------------------------
// Types without parameters, and types whose parameters never matter.
// ---------------------------------------------------------------------------------

auto_traits!(Context: Send, Sync, Unpin);
auto_traits!(AccessError: Send, Sync, Unpin);
auto_traits!(Anchor: Send, Sync, Unpin);
auto_traits!(Variable<dyn ITEM_ID>: Send, Sync, Unpin);
auto_traits!(Provided<'static, dyn ITEM_ID>: Send, Sync, Unpin);

/// `Variable<K>` and `Provided<'a, K>` hold no `K`: their traits hold for every key,
/// even one that is none of them, and for every lifetime.
#[allow(clippy::extra_unused_lifetimes)] // `'a` is the point: any lifetime
fn variable_and_scoped<'a, K: ?Sized>() {
    is_send::<Variable<K>>();
    is_sync::<Variable<K>>();
    is_unpin::<Variable<K>>();
    is_send::<Provided<'a, K>>();
    is_sync::<Provided<'a, K>>();
    is_unpin::<Provided<'a, K>>();
}

// ---------------------------------------------------------------------------------
// Bindings: always `Send + Sync` (values are); `Unpin` iff the values are.
// ---------------------------------------------------------------------------------

auto_traits!(One: Send, Sync, Unpin);
auto_traits!(Binding<dyn PINNED>: Send, Sync, !Unpin);
auto_traits!(Bindings<One>: Send, Sync, Unpin);
auto_traits!(Bindings<Two>: Send, Sync, !Unpin);

fn binding<K: ContextKey + ?Sized>()
where
    K::Value: Send + Sync + Unpin,
{
    is_send::<Binding<K>>();
    is_sync::<Binding<K>>();
    is_unpin::<Binding<K>>();
}

fn bindings<L: BindingList + Send + Sync + Unpin>() {
    is_send::<Bindings<L>>();
    is_sync::<Bindings<L>>();
    is_unpin::<Bindings<L>>();
}

// ---------------------------------------------------------------------------------
// Scopes: as `Send`, `Sync` and `Unpin` as the future they wrap.
// ---------------------------------------------------------------------------------

fn scope<L: BindingList + Send + Sync, F: Send + Sync + Unpin>() {
    is_send::<Scope<L, F>>();
    is_sync::<Scope<L, F>>();
    is_unpin::<Scope<L, F>>();
}

fn context_scope<F: Send + Sync + Unpin>() {
    is_send::<ContextScope<F>>();
    is_sync::<ContextScope<F>>();
    is_unpin::<ContextScope<F>>();
}

auto_traits!(Scope<One, All>: Send, Sync, Unpin);
auto_traits!(Scope<One, NotSync>: Send, !Sync, Unpin);
auto_traits!(Scope<One, NotSend>: !Send, Sync, Unpin);
auto_traits!(Scope<One, Neither>: !Send, !Sync, Unpin);
auto_traits!(Scope<One, Pinned>: Send, Sync, !Unpin);
// An `!Unpin` value is not in the scope: the scope stays `Unpin`.
auto_traits!(Scope<Two, All>: Send, Sync, Unpin);

auto_traits!(ContextScope<All>: Send, Sync, Unpin);
auto_traits!(ContextScope<NotSync>: Send, !Sync, Unpin);
auto_traits!(ContextScope<NotSend>: !Send, Sync, Unpin);
auto_traits!(ContextScope<Neither>: !Send, !Sync, Unpin);
auto_traits!(ContextScope<Pinned>: Send, Sync, !Unpin);

// ---------------------------------------------------------------------------------
// Streams (feature `stream`): as the stream they wrap.
// ---------------------------------------------------------------------------------

fn scope_stream<L: BindingList + Send + Sync, S: Send + Sync + Unpin>() {
    is_send::<ScopeStream<L, S>>();
    is_sync::<ScopeStream<L, S>>();
    is_unpin::<ScopeStream<L, S>>();
}

fn context_stream<S: Send + Sync + Unpin>() {
    is_send::<ContextStream<S>>();
    is_sync::<ContextStream<S>>();
    is_unpin::<ContextStream<S>>();
}

auto_traits!(ScopeStream<One, All>: Send, Sync, Unpin);
auto_traits!(ScopeStream<One, NotSync>: Send, !Sync, Unpin);
auto_traits!(ScopeStream<One, NotSend>: !Send, Sync, Unpin);
auto_traits!(ScopeStream<One, Neither>: !Send, !Sync, Unpin);
auto_traits!(ScopeStream<One, Pinned>: Send, Sync, !Unpin);
auto_traits!(ScopeStream<Two, All>: Send, Sync, Unpin);

auto_traits!(ContextStream<All>: Send, Sync, Unpin);
auto_traits!(ContextStream<NotSync>: Send, !Sync, Unpin);
auto_traits!(ContextStream<NotSend>: !Send, Sync, Unpin);
auto_traits!(ContextStream<Neither>: !Send, !Sync, Unpin);
auto_traits!(ContextStream<Pinned>: Send, Sync, !Unpin);

// ---------------------------------------------------------------------------------
// The handles the spawn helpers return (tokio's and std's types).
// ---------------------------------------------------------------------------------

#[cfg(feature = "tokio")]
fn spawn_handles<T: Send>() {
    is_send::<tokio::task::JoinHandle<T>>();
    is_sync::<tokio::task::JoinHandle<T>>();
    is_unpin::<tokio::task::JoinHandle<T>>();
}

// `spawn_local`'s output need not be `Send`; its handle then is neither.
#[cfg(feature = "tokio")]
auto_traits!(tokio::task::JoinHandle<Rc<u8>>: !Send, !Sync, Unpin);

fn thread_handle<T>() {
    is_send::<std::thread::JoinHandle<T>>();
    is_sync::<std::thread::JoinHandle<T>>();
    is_unpin::<std::thread::JoinHandle<T>>();
}

// ---------------------------------------------------------------------------------
// The futures the attributes produce: `Send` when the body is.
// ---------------------------------------------------------------------------------

#[with_context(ITEM_ID = id)]
async fn binds(id: u64) -> u64 {
    reads().await
}

#[uses_context(ITEM_ID)]
async fn reads() -> u64 {
    tokio::task::yield_now().await;
    ITEM_ID.get()
}

#[with_context(ITEM_ID = id)]
async fn binds_and_holds_an_rc(id: u64) -> u64 {
    let rc = Rc::new(ITEM_ID.get());
    tokio::task::yield_now().await;
    *rc
}

const _: fn() = || {
    fn send<T: Send>(_: &T) {}
    fn sync<T: Sync>(_: &T) {}
    let binds = binds(1);
    send(&binds);
    sync(&binds);
    <_ as AmbiguousIfUnpin<_>>::some_item(&binds);
    let reads = reads();
    send(&reads);
    sync(&reads);
    let holds = binds_and_holds_an_rc(1);
    <_ as AmbiguousIfSend<_>>::some_item(&holds);
};
