//! The read surface: [`Variable`], which implements every method a variable has
//! wherever it is named (bound or not), and [`ContextVar`], the same methods for
//! generic code and calls by path.
//!
//! These are the one implementation of the fallible reads and the binding calls.
//! Everything else that offers them forwards here: [`ContextVar`]'s methods, the
//! evidence type's ([`Provided`](crate::Provided)), and the trait `#[context_var]`
//! generates for each variable, whose methods make `ITEM_ID.try_get()` work without an
//! import. The infallible reads (`get`, `with`), which compile only where a variable is
//! provided, are the evidence type's. A new read method is one method here, and one
//! forwarding line in each of those three.

use core::future::IntoFuture;
use core::marker::PhantomData;

use crate::access::{self, AccessError};
use crate::bindings::{Binding, Bindings};
use crate::key::ContextKey;
use crate::scope::Scope;

/// What the name of a context variable refers to outside the functions that bind or
/// require it: `#[context_var] static ITEM_ID: u64;` declares a function `ITEM_ID`
/// returning `Variable<dyn ITEM_ID>`, and the variable's methods are implemented for
/// that function. You never need to write this type; it shows up in compiler messages
/// ("fn item `fn() -> ctxvar::Variable<dyn ITEM_ID> {ITEM_ID}`").
///
/// ```
/// #[ctxvar::context_var]
/// static ITEM_ID: u64;
///
/// let _: ctxvar::Variable<dyn ITEM_ID> = ITEM_ID();
/// ```
pub struct Variable<K: ?Sized>(PhantomData<fn(&K)>);

impl<K: ?Sized> Variable<K> {
    /// Used by `#[context_var]` expansions.
    ///
    /// ```
    /// #[ctxvar::context_var]
    /// static ITEM_ID: u64;
    ///
    /// let _ = ctxvar::Variable::<dyn ITEM_ID>::new();
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Variable(PhantomData)
    }
}

impl<K: ContextKey + ?Sized> Variable<K> {
    /// A clone of the innermost value (or the default).
    ///
    /// # Errors
    ///
    /// [`AccessError`] when the variable is not bound and has no default.
    ///
    /// ```
    /// #[ctxvar::context_var]
    /// static ITEM_ID: u64;
    ///
    /// let item_id = ctxvar::Variable::<dyn ITEM_ID>::new();
    /// assert!(item_id.try_get().is_err());
    /// assert_eq!(item_id.sync_scope(7, || item_id.try_get()), Ok(7));
    /// ```
    #[inline]
    pub fn try_get(self) -> Result<K::Value, AccessError>
    where
        K::Value: Clone,
    {
        access::try_with::<K, _>(Clone::clone)
    }

    /// Runs `f` on a reference to the innermost value (or the default).
    ///
    /// Holds no lock or borrow of any shared state: `f` may bind variables and read
    /// this one again.
    ///
    /// # Errors
    ///
    /// [`AccessError`] when the variable is not bound and has no default.
    ///
    /// ```
    /// #[ctxvar::context_var]
    /// static NAME: String;
    ///
    /// let name = ctxvar::Variable::<dyn NAME>::new();
    /// let len = name.sync_scope("ada".to_owned(), || name.try_with(String::len));
    /// assert_eq!(len, Ok(3));
    /// ```
    #[inline]
    pub fn try_with<R>(self, f: impl FnOnce(&K::Value) -> R) -> Result<R, AccessError> {
        access::try_with::<K, R>(f)
    }

    /// Whether a read would find a value (a binding or a default).
    ///
    /// ```
    /// #[ctxvar::context_var]
    /// static ITEM_ID: u64;
    /// #[ctxvar::context_var]
    /// static RETRIES: u32 = 3;
    ///
    /// assert!(!ctxvar::Variable::<dyn ITEM_ID>::new().is_bound());
    /// assert!(ctxvar::Variable::<dyn RETRIES>::new().is_bound()); // its default
    /// ```
    #[inline]
    #[must_use]
    pub fn is_bound(self) -> bool {
        access::is_bound::<K>()
    }

    /// A value for this variable, to bind with [`Bindings::scope`] or
    /// [`Bindings::sync_scope`], possibly together with others.
    ///
    /// ```
    /// #[ctxvar::context_var]
    /// static ITEM_ID: u64;
    /// #[ctxvar::context_var]
    /// static TENANT: &'static str;
    ///
    /// let both = ctxvar::Variable::<dyn ITEM_ID>::new()
    ///     .bind(7)
    ///     .and(ctxvar::Variable::<dyn TENANT>::new().bind("acme"));
    /// assert_eq!(both.sync_scope(|| (ITEM_ID.try_get(), TENANT.try_get())), (Ok(7), Ok("acme")));
    /// ```
    #[inline]
    pub fn bind(self, value: K::Value) -> Bindings<Binding<K>> {
        Bindings::new(value)
    }

    /// Runs `future` with this variable bound to `value` on every poll; see
    /// [`Bindings::scope`].
    ///
    /// ```
    /// #[ctxvar::context_var]
    /// static ITEM_ID: u64;
    ///
    /// # futures::executor::block_on(async {
    /// let item_id = ctxvar::Variable::<dyn ITEM_ID>::new();
    /// assert_eq!(item_id.scope(7, async { item_id.try_get() }).await, Ok(7));
    /// # });
    /// ```
    #[inline]
    pub fn scope<F: IntoFuture>(
        self,
        value: K::Value,
        future: F,
    ) -> Scope<Binding<K>, F::IntoFuture>
    where
        K::Value: Send + Sync,
    {
        self.bind(value).scope(future)
    }

    /// Runs `f` with this variable bound to `value`; see [`Bindings::sync_scope`].
    ///
    /// ```
    /// #[ctxvar::context_var]
    /// static ITEM_ID: u64;
    ///
    /// let item_id = ctxvar::Variable::<dyn ITEM_ID>::new();
    /// assert_eq!(item_id.sync_scope(7, || item_id.try_get()), Ok(7));
    /// ```
    #[inline]
    pub fn sync_scope<R>(self, value: K::Value, f: impl FnOnce() -> R) -> R
    where
        K::Value: Send + Sync,
    {
        self.bind(value).sync_scope(f)
    }

    /// The variable's declared name.
    ///
    /// ```
    /// #[ctxvar::context_var]
    /// static ITEM_ID: u64;
    ///
    /// assert_eq!(ctxvar::Variable::<dyn ITEM_ID>::new().name(), "ITEM_ID");
    /// ```
    #[inline]
    #[must_use]
    pub fn name(self) -> &'static str {
        K::name()
    }
}

/// A `Variable` is a zero-sized marker of its key, so it is `Copy` whatever the key
/// and the value's type (the key is usually a `dyn` type, which is neither `Clone`
/// nor sized). Generic code that takes a `Clone` or `Copy` value accepts it.
///
/// ```
/// #[ctxvar::context_var]
/// static ITEM_ID: u64;
///
/// fn twice<T: Copy>(t: T) -> [T; 2] {
///     [t, t]
/// }
///
/// let variable: ctxvar::Variable<dyn ITEM_ID> = ITEM_ID();
/// let [a, b] = twice(variable);
/// let c = Clone::clone(&variable); // `variable` is still usable: it was copied
/// assert_eq!(format!("{a:?} {b:?} {c:?}"), "Variable Variable Variable");
/// ```
impl<K: ?Sized> Clone for Variable<K> {
    fn clone(&self) -> Self {
        *self
    }
}

/// A `Variable` is `Copy` for every key, like the `Clone` impl above: copying it
/// copies nothing but the zero-sized marker.
///
/// ```
/// #[ctxvar::context_var]
/// static ITEM_ID: u64;
///
/// let variable = ctxvar::Variable::<dyn ITEM_ID>::new();
/// let copy = variable;
/// assert_eq!(format!("{copy:?}"), format!("{variable:?}"));
/// ```
impl<K: ?Sized> Copy for Variable<K> {}

impl<K: ?Sized> Default for Variable<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: ?Sized> core::fmt::Debug for Variable<K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Variable")
    }
}

/// The methods every context variable has wherever it is named, whether or not it is
/// bound: implemented for each variable declared with `#[context_var]`.
///
/// A variable's own name brings these methods into scope when it is imported; this
/// trait serves generic code and calls by path (through [`prelude`](crate::prelude)).
/// The methods take `self` by value (a variable is `Copy`), so that where both this
/// trait and the variable are in scope, calls resolve here without ambiguity.
///
/// ```
/// use ctxvar::{context_var, ContextVar};
///
/// #[context_var]
/// static ITEM_ID: u64;
///
/// fn describe(var: impl ContextVar<Value = u64>) -> String {
///     match var.try_get() {
///         Ok(value) => format!("{} = {value}", var.name()),
///         Err(err) => err.to_string(),
///     }
/// }
/// assert_eq!(ITEM_ID.sync_scope(7, || describe(ITEM_ID)), "ITEM_ID = 7");
/// ```
//
// Safe to implement: every method reaches the runtime through `Key`, whose
// `ContextKey` impl is `unsafe` and fixes the value type (`Key: ContextKey<Value =
// Self::Value>`), so an impl for any type can at worst name the wrong variable or
// override a method with wrong but well-typed behaviour.
pub trait ContextVar: Copy {
    /// The variable's key type, `dyn NAME`.
    type Key: ContextKey<Value = Self::Value> + ?Sized;
    /// The type of the variable's value.
    type Value: Send + Sync + 'static;

    /// A clone of the innermost value (or the default).
    ///
    /// # Errors
    ///
    /// [`AccessError`] when the variable is not bound and has no default.
    fn try_get(self) -> Result<Self::Value, AccessError>
    where
        Self::Value: Clone,
    {
        Variable::<Self::Key>::new().try_get()
    }

    /// Runs `f` on the innermost value (or the default).
    ///
    /// # Errors
    ///
    /// [`AccessError`] when the variable is not bound and has no default.
    fn try_with<R>(self, f: impl FnOnce(&Self::Value) -> R) -> Result<R, AccessError> {
        Variable::<Self::Key>::new().try_with(f)
    }

    /// Whether a read would find a value (a binding or a default).
    #[must_use]
    fn is_bound(self) -> bool {
        Variable::<Self::Key>::new().is_bound()
    }

    /// A value for this variable, to bind with [`Bindings::scope`] or
    /// [`Bindings::sync_scope`], possibly together with others.
    fn bind(self, value: Self::Value) -> Bindings<Binding<Self::Key>> {
        Variable::<Self::Key>::new().bind(value)
    }

    /// Runs `future` with this variable bound to `value` on every poll.
    fn scope<F: IntoFuture>(
        self,
        value: Self::Value,
        future: F,
    ) -> Scope<Binding<Self::Key>, F::IntoFuture> {
        Variable::<Self::Key>::new().scope(value, future)
    }

    /// Runs `f` with this variable bound to `value`.
    fn sync_scope<R>(self, value: Self::Value, f: impl FnOnce() -> R) -> R {
        Variable::<Self::Key>::new().sync_scope(value, f)
    }

    /// The variable's declared name.
    #[must_use]
    fn name(self) -> &'static str {
        Variable::<Self::Key>::new().name()
    }
}

impl<F, K> ContextVar for F
where
    F: Fn() -> Variable<K> + Copy,
    K: ContextKey + ?Sized,
    K::Value: Send + Sync,
{
    type Key = K;
    type Value = K::Value;
}
