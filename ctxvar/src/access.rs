//! Reading variables: the one lookup every read makes (`read`, which takes a found
//! value as its variable's type), the reads built on it (`try_with`, `is_bound`, the
//! checked read of the evidence, the entry check of `#[uses_context]`), and the error
//! they report.

use core::fmt;

use crate::frame::{Lookup, VarHeader};
use crate::key::{ContextKey, key_of};

/// The error of a fallible read (`try_get`, `try_with`) of a variable that is not
/// bound where it was read and has no default.
///
/// Its `Display` names the variable:
///
/// ```
/// use ctxvar::context_var;
///
/// #[context_var]
/// static ITEM_ID: u64;
///
/// let err = ITEM_ID.try_get().unwrap_err();
/// assert_eq!(err.name(), "ITEM_ID");
/// assert_eq!(
///     err.to_string(),
///     "context variable `ITEM_ID` is not bound in the current context",
/// );
/// ```
#[derive(Clone, Copy)]
pub struct AccessError {
    var: &'static VarHeader,
}

/// Two errors are equal when they are about the same variable.
impl PartialEq for AccessError {
    fn eq(&self, other: &Self) -> bool {
        core::ptr::eq(self.var, other.var)
    }
}
impl Eq for AccessError {}

impl AccessError {
    /// The name of the variable that was read.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.var.name
    }

    /// The module the variable was declared in, as `module_path!()` printed it.
    ///
    /// ```
    /// mod vars {
    ///     #[ctxvar::context_var]
    ///     pub static ITEM_ID: u64;
    /// }
    /// use vars::ITEM_ID;
    ///
    /// assert!(ITEM_ID.try_get().unwrap_err().module_path().ends_with("vars"));
    /// ```
    #[must_use]
    pub fn module_path(&self) -> &'static str {
        self.var.module_path
    }
}

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessError")
            .field("name", &self.var.name)
            .field("module_path", &self.var.module_path)
            .finish()
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "context variable `{}` is not bound in the current context",
            self.var.name
        )
    }
}

impl core::error::Error for AccessError {}

/// Runs `f` on the innermost value of `K`, or its default.
#[inline]
pub(crate) fn try_with<K, R>(f: impl FnOnce(&K::Value) -> R) -> Result<R, AccessError>
where
    K: ContextKey + ?Sized,
{
    read::<K, _, _>(
        f,
        |f, value| Ok(f(value)),
        |_| {
            Err(AccessError {
                var: &K::__meta().header,
            })
        },
    )
}

#[inline]
pub(crate) fn is_bound<K: ContextKey + ?Sized>() -> bool {
    read::<K, _, _>((), |(), _| true, |()| false)
}

/// `with` where the compiler has checked that a scope provides `K`.
///
/// Can still fail when a future or closure built inside the scope runs outside it,
/// which the compile-time check cannot see; the panic says so.
#[inline]
#[track_caller]
pub(crate) fn with_checked<K, R>(f: impl FnOnce(&K::Value) -> R) -> R
where
    K: ContextKey + ?Sized,
{
    match try_with::<K, R>(f) {
        Ok(r) => r,
        Err(err) => unbound_in_checked_scope(err),
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn unbound_in_checked_scope(err: AccessError) -> ! {
    panic!(
        "context variable `{name}` is not bound here, although this read is inside a function \
         that binds or uses it. Likely cause: work written in that function runs where \
         its bindings are not in effect: started by a function the attributes do not \
         recognise (a spawn or thread of another library, or a wrapper of your own: start \
         it with ctxvar's helpers, or capture `ctxvar::Context::current()` in the function \
         and run the work in it), or a future or closure built there and run after it \
         returned. Keep such work inside the function's extent, or use `{name}.try_get()` \
         where the variable may be missing",
        name = err.name()
    )
}

/// The check at the entry of a `#[uses_context]` function.
#[inline]
#[track_caller]
pub(crate) fn check_used<K: ContextKey + ?Sized>(function: &'static str) {
    if !is_bound::<K>() {
        used_but_unbound(K::name(), function);
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn used_but_unbound(name: &str, function: &str) -> ! {
    panic!(
        "`{function}` uses context variable `{name}`, but it is not bound where \
         `{function}` was called. Causes, with their fixes: (1) no caller binds it: bind it \
         in a caller with `#[with_context({name} = ...)]` or `{name}.scope(value, future)`; \
         (2) it was called in a task or thread that starts with nothing bound (`tokio::spawn`, \
         `std::thread::spawn`): start that work with `ctxvar::spawn` (or \
         `ctxvar::spawn_blocking`, `ctxvar::thread::spawn`), or spawn \
         `future.in_current_context()`; (3) it is a request handler, and its router lacks \
         the layer that binds `{name}` for each request: add `ctxvar::tower::BindLayer` (or \
         the baggage layer) to the router"
    )
}

/// `found(arg, value)` with `K`'s innermost binding on this thread, else its default,
/// else `missing(arg)`: every read.
#[inline]
pub(crate) fn read<K: ContextKey + ?Sized, A, R>(
    arg: A,
    found: impl FnOnce(A, &K::Value) -> R,
    missing: impl FnOnce(A) -> R,
) -> R {
    let lookup = Lookup {
        key: key_of::<K>(),
        cache: K::__read_cache(),
        default: default_of::<K>,
    };
    lookup.read(
        arg,
        // SAFETY: `value` is `K`'s default, in its `static` metadata, or the value of an
        // entry whose key is `K`'s metadata address, which holds a `K::Value`: only `K`
        // returns that metadata (the contract of the `unsafe` trait `ContextKey`), and
        // entries are made only from a binding of their key's own type. Either lives at
        // least until this function returns (a frame stays linked until then).
        |arg, value| found(arg, unsafe { &*value.cast::<K::Value>() }),
        missing,
    )
}

/// Where `K`'s default is, if it has one: in its `static` metadata, alive for ever.
fn default_of<K: ContextKey + ?Sized>() -> Option<*const ()> {
    K::__meta()
        .default
        .as_ref()
        .map(|value| core::ptr::from_ref(value).cast())
}
