//! The contract between `ctxvar-macros` expansions and this crate. Not public API:
//! nothing here is covered by semver.

use core::marker::PhantomData;

use crate::access;
use crate::bindings::{Binding, Bindings};
use crate::key::ContextKey;

pub use crate::frame::{Entry, EntryList, EntryPair};
pub use crate::key::{VarHeader, VarMeta};
pub use crate::scoped::{Anchor, Scoped};

/// What the value-namespace half of a variable (a function item named like the
/// variable) returns; the per-variable trait is implemented for functions returning
/// `Marker<dyn NAME>`, which is how `NAME.get()` finds its methods.
pub struct Marker<K: ?Sized>(PhantomData<fn(&K)>);

impl<K: ?Sized> Marker<K> {
    /// Used by `#[context_var]` expansions.
    #[must_use]
    pub const fn new() -> Self {
        Marker(PhantomData)
    }
}

impl<K: ?Sized> Default for Marker<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: ?Sized> core::fmt::Debug for Marker<K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Marker")
    }
}

/// Lets `get` on a variable's trait require `Clone` through a bound on `Self`, which is
/// checked where `get` is called, rather than a bound on the concrete value type,
/// which rustc would reject at the declaration of a variable whose type is not `Clone`.
#[diagnostic::on_unimplemented(
    message = "`get()` clones the value, and `{T}` does not implement `Clone`",
    label = "`get()` needs a `Clone` value",
    note = "read by reference with `.with(|value| ...)` instead"
)]
pub trait CloneValue<T> {
    /// `T::clone`.
    fn clone_value(value: &T) -> T;
}

impl<S: ?Sized, T: Clone> CloneValue<T> for S {
    #[inline]
    fn clone_value(value: &T) -> T {
        value.clone()
    }
}

/// Implemented by `#[context_var]` for every variable that `Context::current()`
/// captures (all but `inherit = false` ones).
#[diagnostic::on_unimplemented(
    message = "context variable `{Self}` is not carried into spawned tasks",
    label = "read in a task spawned with `ctxvar::spawn` (or a thread started with `ctxvar::thread::spawn`)",
    note = "it is declared `#[context_var(inherit = false)]`, so `ctxvar::spawn` does not capture it; bind it again inside the task, or read it with `try_get()`"
)]
pub trait Inherited {}

/// Evidence inside a block passed to `ctxvar::spawn` (and friends) in an annotated
/// function: the spawned work runs in a context captured at the call, which holds
/// every variable the function binds or requires, if it is inherited.
#[inline]
#[must_use]
pub fn inherited<K: ContextKey + Inherited + ?Sized>(anchor: &Anchor) -> Scoped<'_, K> {
    Scoped::assume_bound(anchor)
}

/// `Bindings::new`, spelled so that a value of the wrong type is reported at the value.
#[inline]
pub fn bind<K: ContextKey + ?Sized>(value: K::Value) -> Bindings<Binding<K>> {
    Bindings::new(value)
}

/// Body of `NAME.get()` on a variable's trait.
#[inline]
#[track_caller]
pub fn get<S: CloneValue<K::Value> + ?Sized, K: ContextKey + ?Sized>() -> K::Value {
    access::with_checked::<K, _>(S::clone_value)
}

/// Body of `NAME.with(f)` on a variable's trait.
#[inline]
#[track_caller]
pub fn with<K: ContextKey + ?Sized, R>(f: impl FnOnce(&K::Value) -> R) -> R {
    access::with_checked::<K, R>(f)
}

/// Body of `NAME.try_get()` on a variable's trait.
///
/// # Errors
///
/// When the variable is not bound and has no default.
#[inline]
pub fn try_get<S: CloneValue<K::Value> + ?Sized, K: ContextKey + ?Sized>()
-> Result<K::Value, access::AccessError> {
    access::try_with::<K, _>(S::clone_value)
}

/// Body of `NAME.try_with(f)` on a variable's trait.
///
/// # Errors
///
/// When the variable is not bound and has no default.
#[inline]
pub fn try_with<K: ContextKey + ?Sized, R>(
    f: impl FnOnce(&K::Value) -> R,
) -> Result<R, access::AccessError> {
    access::try_with::<K, R>(f)
}

/// Body of `NAME.is_bound()` on a variable's trait.
#[inline]
#[must_use]
pub fn is_bound<K: ContextKey + ?Sized>() -> bool {
    access::is_bound::<K>()
}
