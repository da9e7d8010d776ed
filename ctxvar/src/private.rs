//! The contract between `ctxvar-macros` expansions and this crate. Not public API:
//! nothing here is covered by semver.

pub use crate::AwaitableAnywhere;
pub use crate::evidence::{Anchor, Provided};
pub use crate::evidence::{
    AssumeProvided, AwaitableIn, AwaitableWith, CarriesTheContext, PassThrough, Provides,
    SpawnedWithoutContext,
};
pub use crate::frame::ReadCache;
pub use crate::key::VarMeta;
pub use std::thread::LocalKey;
pub use std::thread_local;

/// Lets `get` on a variable's trait require `Clone` through a bound on `Self`, which is
/// checked where `get` is called, rather than a bound on the concrete value type,
/// which rustc would reject at the declaration of a variable whose type is not `Clone`.
///
/// `Sized` as a supertrait keeps `get` and `try_get` out of the vtable of `dyn NAME`
/// (which must stay a type: it is the variable's key) without a `Self: Sized` of their
/// own, one bound fewer in the signatures on the variable's page.
#[diagnostic::on_unimplemented(
    message = "`get()` clones the value, and `{T}` does not implement `Clone`",
    label = "`get()` needs a `Clone` value",
    note = "read by reference with `.with(|value| ...)` instead"
)]
//
// Safe to implement: a wrong impl can only return a wrong value of the right type.
pub trait CloneValue<T>: Sized {
    /// `T::clone`.
    fn clone_value(value: &T) -> T;
}

impl<S, T: Clone> CloneValue<T> for S {
    #[inline]
    fn clone_value(value: &T) -> T {
        value.clone()
    }
}

/// Checks that a spawn helper called by a name of its own (`spawn(..)`, after `use
/// ctxvar::spawn`) is `ctxvar`'s: `IsCtxvarHelper::check(spawn, ::ctxvar::spawn)`
/// compiles only if both are the same function, and returns the first.
///
/// `#[with_context]` and `#[uses_context]` give the work passed to such a call its own
/// evidence, as for `ctxvar::spawn(..)`; this check keeps that from reaching work that
/// another crate's `spawn` starts with nothing bound.
///
/// The second impl is never used: with one impl, rustc would infer `C` from `Self`
/// before it looks at the second argument, and report a type mismatch instead of the
/// message below.
#[diagnostic::on_unimplemented(
    message = "this function is not ctxvar's, so the work it starts does not see the \
               function's context variables",
    label = "not one of ctxvar's spawn helpers",
    note = "import ctxvar's helper (`ctxvar::spawn`, `spawn_blocking`, `spawn_local`, \
            `ctxvar::thread::spawn`) or call it by its path, or make the work carry the \
            context: `async move {{ .. }}.in_current_context()`"
)]
pub trait IsCtxvarHelper<C>: Sized {
    /// `self`, if it is the same function as the second argument.
    #[inline]
    #[must_use]
    fn check(self, _: C) -> Self {
        self
    }
}

impl<H> IsCtxvarHelper<H> for H {}

/// See [`IsCtxvarHelper`].
#[derive(Debug)]
pub enum NotAHelper {}

impl<H> IsCtxvarHelper<(NotAHelper, H)> for H {}

/// `__if_tracing! { { tokens } else { otherwise } }`: a traced variable's metadata, or
/// the error that says the feature is missing, both built by `#[context_var(trace)]`.
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
