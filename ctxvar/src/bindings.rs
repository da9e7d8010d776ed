//! Values waiting to be bound: [`Binding`] (one variable) and [`Bindings`] (several,
//! entered as one frame).

use core::fmt;
use core::marker::PhantomData;
use core::ptr;

use crate::frame::{Entry, EntryList, EntryPair};
use crate::key::{ContextKey, key_of};

/// The value of one variable, ready to be bound.
///
/// Made by `VAR.bind(value)` (as part of a [`Bindings`]); it appears in the type of a
/// [`Scope`](crate::Scope) future, so it can be named: the future of
/// `ITEM_ID.scope(7, fut)` is a `Scope<Binding<dyn ITEM_ID>, F>`.
///
/// ```
/// use ctxvar::{context_var, Binding, Bindings};
///
/// #[context_var]
/// static ITEM_ID: u64;
///
/// let bindings: Bindings<Binding<dyn ITEM_ID>> = ITEM_ID.bind(7);
/// assert_eq!(bindings.sync_scope(|| ITEM_ID.try_get()), Ok(7));
/// ```
pub struct Binding<K: ContextKey + ?Sized> {
    value: K::Value,
    key: PhantomData<fn(&K)>,
}

impl<K: ContextKey + ?Sized> fmt::Debug for Binding<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The value's type need not be `Debug`; the name is what identifies a binding.
        f.debug_struct("Binding")
            .field("var", &K::name())
            .finish_non_exhaustive()
    }
}

/// A list of values to bind in one frame: a [`Binding`] or a pair of lists.
///
/// Sealed: implemented for [`Binding`] and for pairs `(A, B)` of lists.
///
/// A list can be bound (by [`Bindings::scope`] and friends) only when it is
/// `Send + Sync`, which it is when every value is; the trait itself does not require
/// it, so that naming `Scope<Binding<dyn NAME>, F>` never repeats an error already
/// reported at a declaration whose type is not `Send + Sync`.
pub trait BindingList: Sized + sealed::Sealed {
    #[doc(hidden)]
    type Entries: EntryList;
    #[doc(hidden)]
    fn entries(&self) -> Self::Entries;
}

mod sealed {
    pub trait Sealed {}
    impl<K: crate::key::ContextKey + ?Sized> Sealed for super::Binding<K> {}
    impl<A: Sealed, B: Sealed> Sealed for (A, B) {}
}

impl<K: ContextKey + ?Sized> BindingList for Binding<K> {
    type Entries = Entry;

    #[inline]
    fn entries(&self) -> Entry {
        Entry {
            key: key_of::<K>(),
            value: ptr::from_ref(&self.value).cast(),
        }
    }
}

// Entries are laid out newest first (`B` was added after `A`): a frame's lookup scans
// forward and stops at the first match, so later bindings shadow earlier ones, and
// the newest entry sits at a fixed offset right after the frame's head.
impl<A: BindingList, B: BindingList> BindingList for (A, B) {
    type Entries = EntryPair<B::Entries, A::Entries>;

    #[inline]
    fn entries(&self) -> Self::Entries {
        EntryPair(self.1.entries(), self.0.entries())
    }
}

/// Values for one or more variables, bound together as one frame.
///
/// Build it with `VAR.bind(value)` and [`and`](Bindings::and), then run work inside it
/// with [`scope`](Bindings::scope) (a future) or [`sync_scope`](Bindings::sync_scope)
/// (a closure). Binding several variables in one `Bindings` costs the same per poll
/// as binding one; this is what `#[with_context(A = .., B = ..)]` expands to.
///
/// ```
/// use ctxvar::{context_var, uses_context};
///
/// #[context_var]
/// static ITEM_ID: u64;
/// #[context_var]
/// static TENANT: &'static str;
///
/// #[uses_context(ITEM_ID, TENANT)]
/// fn describe() -> String {
///     format!("{}#{}", TENANT.get(), ITEM_ID.get())
/// }
///
/// let text = ITEM_ID.bind(7).and(TENANT.bind("acme")).sync_scope(describe);
/// assert_eq!(text, "acme#7");
/// ```
pub struct Bindings<L> {
    list: L,
}

impl<L: BindingList> fmt::Debug for Bindings<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bindings").finish_non_exhaustive()
    }
}

impl<K: ContextKey + ?Sized> Bindings<Binding<K>> {
    /// One value for the variable whose key type is `K`; `VAR.bind(value)` is the
    /// usual spelling.
    ///
    /// ```
    /// use ctxvar::{context_var, Binding, Bindings};
    ///
    /// #[context_var]
    /// static ITEM_ID: u64;
    ///
    /// let bindings = Bindings::<Binding<dyn ITEM_ID>>::new(7);
    /// assert_eq!(bindings.sync_scope(|| ITEM_ID.try_get()), Ok(7));
    /// ```
    #[inline]
    #[must_use]
    pub fn new(value: K::Value) -> Self {
        Bindings {
            list: Binding {
                value,
                key: PhantomData,
            },
        }
    }
}

impl<L: BindingList> Bindings<L> {
    /// The values, to bind (see `scope.rs`).
    #[inline]
    pub(crate) fn into_list(self) -> L {
        self.list
    }

    /// Adds more bindings. If a variable appears twice, the later value wins.
    ///
    /// ```
    /// use ctxvar::context_var;
    ///
    /// #[context_var]
    /// static A: u8;
    /// #[context_var]
    /// static B: u8;
    ///
    /// let sum = A.bind(1).and(B.bind(2)).sync_scope(|| A.try_get().unwrap() + B.try_get().unwrap());
    /// assert_eq!(sum, 3);
    /// ```
    #[inline]
    #[must_use]
    pub fn and<M: BindingList>(self, more: Bindings<M>) -> Bindings<(L, M)> {
        Bindings {
            list: (self.list, more.list),
        }
    }
}
