//! The contract between `ctxvar-macros` expansions and this crate. Not public API:
//! nothing here is covered by semver.

use crate::access;
use crate::bindings::{Binding, Bindings};
use crate::key::ContextKey;

pub use crate::frame::{Entry, EntryList, EntryPair, ReadCache};
pub use crate::key::{VarHeader, VarMeta};
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

/// A type with no values. Each required variable's hidden `NAME_is_bound_here`
/// trait is implemented for it (behind `do_not_recommend`) only so that rustc does not
/// add "this trait has no implementations, consider adding one" to the read-outside-
/// a-scope error, which would send the user the wrong way.
#[derive(Debug)]
pub enum Uninhabited {}

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

/// How `#[context_var(trace = display)]` records a value.
#[cfg(feature = "tracing")]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded with `Display`",
    label = "declared `trace = display`, but the type does not implement `Display`",
    note = "implement `Display` for it, or record it with `Debug`: `#[context_var(trace)]`"
)]
//
// Safe to implement: a wrong impl can only record a wrong field value.
pub trait TraceDisplay {
    /// The value as `tracing` records a `%value`.
    fn traced(&self) -> tracing::field::DisplayValue<&dyn core::fmt::Display>;
}

#[cfg(feature = "tracing")]
#[diagnostic::do_not_recommend]
impl<T: core::fmt::Display> TraceDisplay for T {
    fn traced(&self) -> tracing::field::DisplayValue<&dyn core::fmt::Display> {
        tracing::field::display(self)
    }
}

/// How `#[context_var(trace)]` (or `trace = debug`) records a value.
#[cfg(feature = "tracing")]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded with `Debug`",
    label = "declared `trace`, but the type does not implement `Debug`",
    note = "derive or implement `Debug` for it, or record it with `Display`: `#[context_var(trace = display)]`"
)]
//
// Safe to implement: a wrong impl can only record a wrong field value.
pub trait TraceDebug {
    /// The value as `tracing` records a `?value`.
    fn traced(&self) -> tracing::field::DebugValue<&dyn core::fmt::Debug>;
}

#[cfg(feature = "tracing")]
#[diagnostic::do_not_recommend]
impl<T: core::fmt::Debug> TraceDebug for T {
    fn traced(&self) -> tracing::field::DebugValue<&dyn core::fmt::Debug> {
        tracing::field::debug(self)
    }
}

/// The items `#[context_var(trace)]` adds to a variable's `ContextKey` impl:
/// `__trace_items!(Type, "field", TraceDebug)`.
///
/// The span is at level `ERROR`, so that any filter that lets events through keeps
/// it (a span's fields are shown only while it is enabled); its target is the module
/// that declares the variable.
#[cfg(feature = "tracing")]
#[doc(hidden)]
#[macro_export]
macro_rules! __trace_items {
    ($ty:ty, $field:literal, $how:ident) => {
        const __TRACED: bool = true;

        fn __span(
            value: &$ty,
            parent: &$crate::__private::tracing::Span,
        ) -> $crate::__private::tracing::Span {
            $crate::__private::tracing::error_span!(
                parent: parent,
                "ctxvar",
                $field = $crate::__private::$how::traced(value)
            )
        }
    };
}

/// Without the feature, `#[context_var(trace)]` is one error that says what to add.
#[cfg(not(feature = "tracing"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __trace_items {
    ($($tokens:tt)*) => {
        ::core::compile_error!(
            "`#[context_var(trace)]` needs the `tracing` feature of ctxvar: \
             `ctxvar = { version = \"0.1\", features = [\"tracing\"] }`"
        );
    };
}
