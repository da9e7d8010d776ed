//! Compile-time evidence that a variable is bound: [`Provided`] and its [`Anchor`].
//!
//! Outside any scope, the name of a variable (`ITEM_ID`) is a function item whose
//! infallible reads (`get`, `with`) carry a bound that is never met, so they do not
//! compile. `#[with_context]` and `#[uses_context]` shadow that name, inside the
//! function, with a local `Provided` value whose reads have no such bound. The local
//! borrows an [`Anchor`] that lives in the function body, so work that captures it
//! cannot outlive the function (it cannot be moved into a `'static` task or thread).
//!
//! The names these checks use are in the glossary of the `evidence` module.

use core::fmt;
use core::future::IntoFuture;
use core::marker::PhantomData;

use crate::access::{self, AccessError};
use crate::bindings::{Binding, Bindings};
use crate::key::ContextKey;
use crate::scope::Scope;
use crate::var::Variable;

/// A local that `#[with_context]` and `#[uses_context]` create in the function body;
/// every [`Provided`] of the function borrows it.
///
/// ```
/// use ctxvar::{context_var, Anchor, Provided};
///
/// #[context_var]
/// static ITEM_ID: u64;
///
/// ITEM_ID.sync_scope(7, || {
///     let anchor = Anchor::new();
///     let item_id = Provided::<dyn ITEM_ID>::assume_bound(&anchor);
///     assert_eq!(item_id.get(), 7);
/// });
/// ```
#[derive(Debug, Default)]
pub struct Anchor {
    _private: (),
}

impl Anchor {
    /// A new anchor.
    ///
    /// ```
    /// let anchor = ctxvar::Anchor::new();
    /// # let _ = anchor;
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Anchor { _private: () }
    }
}

/// A variable known, at compile time, to be bound in the current function.
///
/// Inside a `#[with_context(ITEM_ID = ..)]` or `#[uses_context(ITEM_ID)]` function the
/// name `ITEM_ID` is a `Provided<'_, dyn ITEM_ID>`: `ITEM_ID.get()` and `ITEM_ID.with(..)`
/// compile there, and cannot fail unless work created in the function is run outside
/// it (the panic then says so). It borrows the function's [`Anchor`], so closures and
/// async blocks that capture it cannot be sent to a `'static` task or thread.
/// (`ITEM_ID.try_get()`, `ITEM_ID.try_with(..)` and `ITEM_ID.is_bound()` written in
/// such a function do not go through it, so they compile in any work.)
///
/// ```
/// use ctxvar::{context_var, with_context};
///
/// #[context_var]
/// static ITEM_ID: u64;
///
/// #[with_context(ITEM_ID = 7)]
/// fn inside() -> u64 {
///     let read = || ITEM_ID.get(); // closures see the same evidence
///     read() + ITEM_ID.with(|id| *id)
/// }
/// assert_eq!(inside(), 14);
/// ```
pub struct Provided<'a, K: ?Sized> {
    anchor: PhantomData<&'a Anchor>,
    key: PhantomData<fn(&K)>,
}

impl<K: ?Sized> Clone for Provided<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K: ?Sized> Copy for Provided<'_, K> {}

impl<K: ContextKey + ?Sized> fmt::Debug for Provided<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Provided").field(&K::name()).finish()
    }
}

impl<'a, K: ContextKey + ?Sized> Provided<'a, K> {
    /// Evidence for a variable that the caller knows is bound, because it has just
    /// bound it; this is what `#[with_context]` uses.
    ///
    /// Nothing is checked here, and nothing unsafe follows if the claim is wrong: reads
    /// still look the variable up, and panic with the variable's name if it is missing.
    ///
    /// ```
    /// use ctxvar::{context_var, Anchor, Provided};
    ///
    /// #[context_var]
    /// static ITEM_ID: u64;
    ///
    /// let id = ITEM_ID.sync_scope(7, || {
    ///     let anchor = Anchor::new();
    ///     Provided::<dyn ITEM_ID>::assume_bound(&anchor).get()
    /// });
    /// assert_eq!(id, 7);
    /// ```
    #[inline]
    #[must_use]
    pub const fn assume_bound(anchor: &'a Anchor) -> Self {
        let _ = anchor;
        Provided {
            anchor: PhantomData,
            key: PhantomData,
        }
    }

    /// Evidence for a variable that a caller must have bound, checked now; this is
    /// what `#[uses_context]` runs on entry to a function.
    ///
    /// # Panics
    ///
    /// If the variable is neither bound nor has a default. The message names
    /// `function`, the variable and the fix, at the caller's location.
    ///
    /// ```
    /// use ctxvar::{context_var, Anchor, Provided};
    ///
    /// #[context_var]
    /// static ITEM_ID: u64;
    ///
    /// fn by_hand() -> u64 {
    ///     let anchor = Anchor::new();
    ///     let item_id = Provided::<dyn ITEM_ID>::checked(&anchor, "by_hand");
    ///     item_id.get()
    /// }
    /// assert_eq!(ITEM_ID.sync_scope(7, by_hand), 7);
    /// assert!(std::panic::catch_unwind(by_hand).is_err());
    /// ```
    #[inline]
    #[must_use]
    #[track_caller]
    pub fn checked(anchor: &'a Anchor, function: &'static str) -> Self {
        access::check_used::<K>(function);
        Self::assume_bound(anchor)
    }

    /// A clone of the variable's innermost value.
    ///
    /// # Panics
    ///
    /// Only if work created in the scope runs outside it; see [`Provided`].
    ///
    /// ```
    /// use ctxvar::{context_var, with_context};
    ///
    /// #[context_var]
    /// static NAME: String;
    ///
    /// #[with_context(NAME = "ada".to_string())]
    /// fn greet() -> String {
    ///     format!("hello {}", NAME.get())
    /// }
    /// assert_eq!(greet(), "hello ada");
    /// ```
    #[inline]
    #[must_use]
    #[track_caller]
    pub fn get(&self) -> K::Value
    where
        K::Value: Clone,
    {
        access::with_checked::<K, _>(Clone::clone)
    }

    /// Runs `f` on a reference to the variable's innermost value.
    ///
    /// Holds no lock or borrow of any shared state: `f` may bind variables and read
    /// this one again.
    ///
    /// # Panics
    ///
    /// Only if work created in the scope runs outside it; see [`Provided`].
    ///
    /// ```
    /// use ctxvar::{context_var, with_context};
    ///
    /// #[context_var]
    /// static NAME: String;
    ///
    /// #[with_context(NAME = "ada".to_string())]
    /// fn name_len() -> usize {
    ///     NAME.with(|name| name.len())
    /// }
    /// assert_eq!(name_len(), 3);
    /// ```
    #[inline]
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&K::Value) -> R) -> R {
        access::with_checked::<K, R>(f)
    }

    /// A clone of the innermost value, or an error if the variable is not bound.
    ///
    /// # Errors
    ///
    /// [`AccessError`] if the variable is not bound here and has no default.
    ///
    /// ```
    /// use ctxvar::{context_var, with_context};
    ///
    /// #[context_var]
    /// static ITEM_ID: u64;
    ///
    /// #[with_context(ITEM_ID = 7)]
    /// fn read() -> Result<u64, ctxvar::AccessError> {
    ///     ITEM_ID.try_get()
    /// }
    /// assert_eq!(read(), Ok(7));
    /// ```
    #[inline]
    pub fn try_get(&self) -> Result<K::Value, AccessError>
    where
        K::Value: Clone,
    {
        Variable::<K>::new().try_get()
    }

    /// Runs `f` on the innermost value, or returns an error if the variable is not
    /// bound.
    ///
    /// # Errors
    ///
    /// [`AccessError`] if the variable is not bound here and has no default.
    ///
    /// ```
    /// use ctxvar::{context_var, with_context};
    ///
    /// #[context_var]
    /// static ITEM_ID: u64;
    ///
    /// #[with_context(ITEM_ID = 7)]
    /// fn read() -> Result<u64, ctxvar::AccessError> {
    ///     ITEM_ID.try_with(|id| id + 1)
    /// }
    /// assert_eq!(read(), Ok(8));
    /// ```
    #[inline]
    pub fn try_with<R>(&self, f: impl FnOnce(&K::Value) -> R) -> Result<R, AccessError> {
        Variable::<K>::new().try_with(f)
    }

    /// Whether a read would find a value (a binding or a default).
    ///
    /// ```
    /// use ctxvar::{context_var, with_context};
    ///
    /// #[context_var]
    /// static ITEM_ID: u64;
    ///
    /// #[with_context(ITEM_ID = 7)]
    /// fn check() -> bool {
    ///     ITEM_ID.is_bound()
    /// }
    /// assert!(check());
    /// ```
    #[inline]
    #[must_use]
    pub fn is_bound(&self) -> bool {
        Variable::<K>::new().is_bound()
    }

    /// A value for this variable, to bind with [`Bindings::scope`] or
    /// [`Bindings::sync_scope`], possibly together with others.
    ///
    /// ```
    /// use ctxvar::{context_var, with_context};
    ///
    /// #[context_var]
    /// static DEPTH: u32;
    ///
    /// #[with_context(DEPTH = 0)]
    /// fn nested() -> u32 {
    ///     DEPTH.bind(DEPTH.get() + 1).sync_scope(|| DEPTH.get())
    /// }
    /// assert_eq!(nested(), 1);
    /// ```
    #[inline]
    pub fn bind(&self, value: K::Value) -> Bindings<Binding<K>> {
        Variable::<K>::new().bind(value)
    }

    /// Runs a future with this variable rebound to `value`; see [`Bindings::scope`].
    ///
    /// ```
    /// use ctxvar::{context_var, with_context};
    ///
    /// #[context_var]
    /// static DEPTH: u32;
    ///
    /// #[with_context(DEPTH = 0)]
    /// async fn nested() -> (u32, u32) {
    ///     let inner = DEPTH.scope(1, async { DEPTH.get() }).await;
    ///     (inner, DEPTH.get())
    /// }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// assert_eq!(nested().await, (1, 0));
    /// # }
    /// ```
    #[inline]
    pub fn scope<F: IntoFuture>(
        &self,
        value: K::Value,
        future: F,
    ) -> Scope<Binding<K>, F::IntoFuture>
    where
        K::Value: Send + Sync,
    {
        Variable::<K>::new().scope(value, future)
    }

    /// Runs a closure with this variable rebound to `value`; see
    /// [`Bindings::sync_scope`].
    ///
    /// ```
    /// use ctxvar::{context_var, with_context};
    ///
    /// #[context_var]
    /// static DEPTH: u32;
    ///
    /// #[with_context(DEPTH = 0)]
    /// fn nested() -> (u32, u32) {
    ///     (DEPTH.sync_scope(1, || DEPTH.get()), DEPTH.get())
    /// }
    /// assert_eq!(nested(), (1, 0));
    /// ```
    #[inline]
    pub fn sync_scope<R>(&self, value: K::Value, f: impl FnOnce() -> R) -> R
    where
        K::Value: Send + Sync,
    {
        Variable::<K>::new().sync_scope(value, f)
    }

    /// The variable's declared name.
    ///
    /// ```
    /// use ctxvar::{context_var, with_context};
    ///
    /// #[context_var]
    /// static ITEM_ID: u64;
    ///
    /// #[with_context(ITEM_ID = 1)]
    /// fn name() -> &'static str {
    ///     ITEM_ID.name()
    /// }
    /// assert_eq!(name(), "ITEM_ID");
    /// ```
    #[inline]
    #[must_use]
    pub fn name(&self) -> &'static str {
        Variable::<K>::new().name()
    }
}
