//! What a declared variable is at run time: a key type and one static of metadata.

use core::sync::atomic::AtomicBool;

/// Implemented by `#[context_var]` for the key type `dyn NAME` of each variable.
///
/// You do not implement this trait yourself; it is what generic code and the
/// hand-written API ([`Binding`](crate::Binding), [`Scope`](crate::Scope)) use to name a
/// variable by type. The key type of a variable `ITEM_ID` is `dyn ITEM_ID` (with any
/// object lifetime: it is only a tag, never a value).
///
/// ```
/// use ctxvar::{context_var, ContextKey};
///
/// #[context_var]
/// static ITEM_ID: u64;
///
/// fn name_of<K: ContextKey + ?Sized>() -> &'static str {
///     K::name()
/// }
/// assert_eq!(name_of::<dyn ITEM_ID>(), "ITEM_ID");
/// ```
pub trait ContextKey {
    /// The type of the variable's value.
    type Value: Send + Sync + 'static;

    /// The variable's metadata. Its address is the variable's identity at run time.
    ///
    /// Returns a reference to a `static` declared inside the function. `VarMeta` has
    /// interior mutability, so it can never be a promoted or deduplicated constant: two
    /// keys share an address only if they return the same `static`, which then has one
    /// type, so a lookup can never read a value as the wrong type.
    #[doc(hidden)]
    fn __meta() -> &'static VarMeta<Self::Value>;

    /// The name the variable was declared with.
    #[must_use]
    fn name() -> &'static str {
        Self::__meta().header.name
    }
}

/// The part of a variable's metadata that does not depend on its type.
///
/// Frames store a pointer to this header as the variable's key, so reads compare
/// addresses, never `TypeId`s or strings.
#[doc(hidden)]
#[derive(Debug)]
pub struct VarHeader {
    pub(crate) name: &'static str,
    pub(crate) module_path: &'static str,
    /// Whether `Context::current()` captures this variable's bindings.
    pub(crate) inherit: bool,
}

/// Metadata of one variable; `#[context_var]` places one in a `static`.
#[doc(hidden)]
#[derive(Debug)]
#[repr(C)] // `header` first: a `*const VarMeta<T>` is also a `*const VarHeader`.
pub struct VarMeta<T> {
    pub(crate) header: VarHeader,
    pub(crate) default: Option<T>,
    // Interior mutability makes `&VarMeta` unpromotable; see `ContextKey::__meta`.
    not_promotable: AtomicBool,
}

impl<T> VarMeta<T> {
    /// Used by `#[context_var]` expansions; not covered by semver.
    #[must_use]
    pub const fn new(
        name: &'static str,
        module_path: &'static str,
        inherit: bool,
        default: Option<T>,
    ) -> Self {
        VarMeta {
            header: VarHeader {
                name,
                module_path,
                inherit,
            },
            default,
            not_promotable: AtomicBool::new(false),
        }
    }
}

pub(crate) fn key_of<K: ContextKey + ?Sized>() -> *const VarHeader {
    core::ptr::from_ref(K::__meta()).cast()
}
