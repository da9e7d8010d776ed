//! What a declared variable is at run time: a key type and one static of metadata.

use core::sync::atomic::AtomicBool;
use std::thread::LocalKey;

#[cfg(feature = "tracing")]
use crate::frame::Traced;
use crate::frame::{ReadCache, VarHeader};

/// Implemented by `#[context_var]` for the key type `dyn NAME` of each variable.
///
/// You do not implement this trait yourself; it is what generic code and the
/// hand-written API ([`Binding`](crate::Binding), [`Scope`](crate::Scope)) use to name a
/// variable by type. The key type of a variable `ITEM_ID` is `dyn ITEM_ID` (with any
/// object lifetime: it is only a tag, never a value).
///
/// # Safety
///
/// The runtime finds a variable's values by the address of its metadata and its read
/// cache, and reads what it finds there as `Self::Value` without any check at run
/// time. An implementation must therefore guarantee that:
///
/// - `__meta()` always returns a reference to the same `static`, and no other key type
///   returns a reference to that address;
/// - `__read_cache()` always returns the same `thread_local!`, and no other key type
///   returns it.
///
/// "No other key type" includes the other instantiations of a generic impl (a `static`
/// declared in a generic function is shared by all of them), except key types that
/// differ only in lifetimes, such as `dyn NAME + 'a` and `dyn NAME + 'static` (which
/// `#[context_var]` implements together): `Value` is `'static`, so it is one type for
/// all of them, and lifetimes do not exist at run time.
///
/// A key that borrowed another variable's metadata or cache would read that variable's
/// values as its own `Value` type (a `[u64; 3]` as a `String`, say). `#[context_var]`
/// meets both conditions by declaring the `static` and the `thread_local!` inside the
/// functions that return them, where no other code can name them. The trait is
/// `unsafe` so that a hand-written impl cannot break this by mistake from safe code;
/// write the attribute instead.
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
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a context variable",
    label = "not a context variable",
    note = "declare context variables with `#[ctxvar::context_var] static NAME: Type;`"
)]
pub unsafe trait ContextKey {
    /// The type of the variable's value.
    type Value: ContextValue + 'static;

    /// `Self`. The attributes name a variable's key as `<dyn VAR as ContextKey>::__Key`:
    /// when `VAR` is a trait but not a variable, that projection fails once, and the
    /// failed type silences every later use, so the user sees one error, not four.
    /// (Another type here would make the attributes bind and read that key: wrong,
    /// but still well-typed, since everything is then done through that key.)
    #[doc(hidden)]
    type __Key: ?Sized;

    /// The variable's metadata. Its address is the variable's identity at run time.
    ///
    /// Returns a reference to a `static` declared inside the function. `VarMeta` has
    /// interior mutability, so it can never be a promoted or deduplicated constant: two
    /// keys share an address only if they return the same `static`, which then has one
    /// type, so a lookup can never read a value as the wrong type.
    #[doc(hidden)]
    fn __meta() -> &'static VarMeta<Self::Value>;

    /// This thread's cache of the variable's last lookup: one `thread_local!` per
    /// variable, declared inside the function, so that reading several variables in
    /// turn hits each one's cache.
    #[doc(hidden)]
    fn __read_cache() -> &'static LocalKey<ReadCache>;

    /// The name the variable was declared with.
    #[must_use]
    fn name() -> &'static str {
        Self::__meta().header.name
    }
}

/// What a context variable's value must be: `Send + Sync + 'static`, because bound
/// values are shared with every future and thread that reads them, and with captured
/// [`Context`](crate::Context)s. Implemented for every such type.
///
/// ```
/// fn value<T: ctxvar::ContextValue>() {}
/// value::<String>();
/// value::<std::sync::Arc<Vec<u8>>>();
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the value of a context variable",
    label = "not `Send + Sync + 'static`",
    note = "bound values are shared with every future and thread that reads them; use a thread-safe type, such as `Arc<T>` for `Rc<T>` or `Mutex<T>` for `RefCell<T>`"
)]
//
// No supertraits, and `do_not_recommend` on the one impl: so a type that is neither
// `Send` nor `Sync` gets one error, this trait's message, instead of one per auto trait.
//
// Safe although `VarMeta`'s `Sync` impl relies on it: the blanket impl below is the
// only impl there can be. Coherence rejects any other, even for a type that is not
// `Send` or `Sync` (E0119: auto traits are never used to prove two impls disjoint).
pub trait ContextValue {}

#[diagnostic::do_not_recommend]
impl<T: Send + Sync + 'static> ContextValue for T {}

/// Implemented by `#[context_var]` for every variable that
/// [`Context::current()`](crate::Context::current) captures: all but those declared
/// `#[context_var(inherit = false)]`.
///
/// Inside an annotated function, a strict helper awaited in work that runs in a
/// captured context (a block passed to `ctxvar::spawn`, or another helper) may only
/// require variables that implement it, since the work sees no other. (A read there of
/// a variable that does not is checked by the variable's own trait, whose error names
/// it as written.)
///
/// ```
/// use ctxvar::{context_var, Inherited};
///
/// #[context_var]
/// static REQUEST_ID: u64;
///
/// fn carried<K: Inherited + ?Sized>() -> &'static str {
///     K::name()
/// }
/// assert_eq!(carried::<dyn REQUEST_ID>(), "REQUEST_ID");
/// ```
#[diagnostic::on_unimplemented(
    message = "context variable `{Self}` is declared `inherit = false`, so a captured context does not carry it",
    label = "needed in work that runs in a captured context",
    note = "`Context::current()`, `.in_current_context()` and ctxvar's spawn helpers carry every bound variable except those declared `#[context_var(inherit = false)]`; bind it again inside the work, or read it with `try_get()`"
)]
//
// Safe to implement: the runtime never relies on it. A wrong impl (for a variable
// declared `inherit = false`) only lets a strict helper be awaited in a spawned block,
// and its entry check then panics with the variable's name.
pub trait Inherited: ContextKey {}

/// Metadata of one variable; `#[context_var]` places one in a `static`.
#[doc(hidden)]
#[derive(Debug)]
#[repr(C)] // `header` first: a `*const VarMeta<T>` is also a `*const VarHeader`.
pub struct VarMeta<T> {
    pub(crate) header: VarHeader,
    pub(crate) default: Option<T>,
    /// Feature `tracing`: how a traced variable's values are formatted on log events.
    #[cfg(feature = "tracing")]
    format: Option<fn(&T, &mut core::fmt::Formatter<'_>) -> core::fmt::Result>,
    // Interior mutability makes `&VarMeta` unpromotable; see `ContextKey::__meta`.
    not_promotable: AtomicBool,
}

// SAFETY: the only `&T` a `VarMeta<T>` hands out (its default) is reached through
// `ContextKey::__meta`, whose `Value` is `ContextValue`, so `Sync`: the blanket impl
// below is the only impl of `ContextValue` there can be (coherence rejects any other
// as overlapping, E0119, whatever the type), and it requires `Send + Sync + 'static`. The fields are
// private to this crate, so no other path exists. Being `Sync` regardless of `T` keeps
// a variable declared with a non-`Sync` type to one error (at `ContextValue`).
unsafe impl<T> Sync for VarMeta<T> {}

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
                #[cfg(feature = "tracing")]
                traced: None,
            },
            default,
            #[cfg(feature = "tracing")]
            format: None,
            not_promotable: AtomicBool::new(false),
        }
    }
}

#[cfg(feature = "tracing")]
impl<T> VarMeta<T> {
    /// `#[context_var(trace)]`: bound values show on log events as the field `field`,
    /// formatted by `format` (`<T as TraceDebug>::fmt_traced`, or `TraceDisplay`'s).
    /// Used by `#[context_var]` expansions; not covered by semver.
    #[must_use]
    pub const fn traced(
        mut self,
        field: &'static str,
        format: fn(&T, &mut core::fmt::Formatter<'_>) -> core::fmt::Result,
    ) -> Self {
        self.format = Some(format);
        self.header.traced = Some(Traced {
            field,
            format: format_traced::<T>,
        });
        self
    }
}

/// Formats a traced variable's value with the function its metadata holds
/// (`Traced::format` of a `VarMeta<T>`'s header).
///
/// # Safety
///
/// `header` is the header of a `VarMeta<T>`, and `value` points to a live `T`.
#[cfg(feature = "tracing")]
unsafe fn format_traced<T>(
    header: *const VarHeader,
    value: *const (),
    f: &mut core::fmt::Formatter<'_>,
) -> core::fmt::Result {
    // SAFETY: `VarMeta<T>` is `repr(C)` with its header first, so the header of a
    // `VarMeta<T>` (the caller's contract) is at the start of it.
    let meta = unsafe { &*header.cast::<VarMeta<T>>() };
    // SAFETY: the caller's contract.
    let value = unsafe { &*value.cast::<T>() };
    match meta.format {
        Some(format) => format(value, f),
        None => Ok(()),
    }
}

pub(crate) fn key_of<K: ContextKey + ?Sized>() -> *const VarHeader {
    core::ptr::from_ref(K::__meta()).cast()
}
