//! The contract between `ctxvar-macros` expansions and this crate. Not public API:
//! nothing here is covered by semver.

use crate::access;
use crate::bindings::{Binding, Bindings};
use crate::key::ContextKey;

pub use crate::frame::ReadCache;
pub use crate::key::VarMeta;
pub use crate::scoped::{Anchor, Scoped};
pub use std::thread::LocalKey;
pub use std::thread_local;

/// Lets `get` on a variable's trait require `Clone` through a bound on `Self`, which is
/// checked where `get` is called, rather than a bound on the concrete value type,
/// which rustc would reject at the declaration of a variable whose type is not `Clone`.
#[diagnostic::on_unimplemented(
    message = "`get()` clones the value, and `{T}` does not implement `Clone`",
    label = "`get()` needs a `Clone` value",
    note = "read by reference with `.with(|value| ...)` instead"
)]
//
// Safe to implement: a wrong impl can only return a wrong value of the right type.
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

/// Body of `NAME.bind(value)` on a variable's trait.
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

#[cfg(feature = "tracing")]
pub use tracing;

/// `__if_tracing! { { tokens } else { otherwise } }`: the `__TRACED` and `__span` items
/// of a traced variable's `ContextKey` impl, or the error that says the feature is
/// missing, both built by `#[context_var(trace)]`.
///
/// The proc macro cannot see this crate's features, so this macro chooses. Either way
/// the tokens it emits are the attribute's, spanned at the user's `trace`, so an error
/// in them points there and does not say it comes from this macro.
#[cfg(feature = "tracing")]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_tracing {
    ({ $($tokens:tt)* } else { $($otherwise:tt)* }) => {
        $($tokens)*
    };
}

/// Without the feature: the error.
#[cfg(not(feature = "tracing"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __if_tracing {
    ({ $($tokens:tt)* } else { $($otherwise:tt)* }) => {
        $($otherwise)*
    };
}
