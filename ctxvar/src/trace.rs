//! How `#[context_var(trace)]` records a value: [`TraceDebug`] and [`TraceDisplay`].

use core::fmt;

/// What `#[context_var(trace)]` (or `trace = debug`) needs of the variable's type:
/// [`Debug`](core::fmt::Debug), with which the value is recorded. Implemented for every
/// `Debug` type; you never implement it yourself.
///
/// A traced variable whose type is not `Debug` is a compile error at `trace` that
/// names this trait.
///
/// ```
/// #[derive(Debug)]
/// struct Tenant(u32);
///
/// #[ctxvar::context_var(trace)]
/// static TENANT: Tenant;
///
/// fn recordable<T: ctxvar::TraceDebug>() {}
/// recordable::<Tenant>();
///
/// let id = TENANT.sync_scope(Tenant(7), || {
///     tracing::info!("handled"); // shown as `ctxvar{tenant=Tenant(7)}: handled`
///     TENANT.try_with(|tenant| tenant.0)
/// });
/// assert_eq!(id, Ok(7));
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded with `Debug`",
    label = "declared `trace`, but the type does not implement `Debug`",
    note = "derive or implement `Debug` for it, or record it with `Display`: `#[context_var(trace = display)]`"
)]
//
// Safe to implement: a wrong impl can only record a wrong field value.
pub trait TraceDebug {
    /// The value as `tracing` records a `?value`.
    #[doc(hidden)]
    fn traced(&self) -> tracing::field::DebugValue<&dyn fmt::Debug>;
}

#[diagnostic::do_not_recommend]
impl<T: fmt::Debug> TraceDebug for T {
    fn traced(&self) -> tracing::field::DebugValue<&dyn fmt::Debug> {
        tracing::field::debug(self)
    }
}

/// What `#[context_var(trace = display)]` needs of the variable's type:
/// [`Display`](core::fmt::Display), with which the value is recorded. Implemented for
/// every `Display` type; you never implement it yourself.
///
/// A variable declared `trace = display` whose type is not `Display` is a compile error
/// at `trace` that names this trait.
///
/// ```
/// #[ctxvar::context_var(trace = display)]
/// static REQUEST_ID: u64;
///
/// fn recordable<T: ctxvar::TraceDisplay>() {}
/// recordable::<u64>();
///
/// REQUEST_ID.sync_scope(7, || tracing::info!("handled")); // `ctxvar{request_id=7}: handled`
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded with `Display`",
    label = "declared `trace = display`, but the type does not implement `Display`",
    note = "implement `Display` for it, or record it with `Debug`: `#[context_var(trace)]`"
)]
//
// Safe to implement: a wrong impl can only record a wrong field value.
pub trait TraceDisplay {
    /// The value as `tracing` records a `%value`.
    #[doc(hidden)]
    fn traced(&self) -> tracing::field::DisplayValue<&dyn fmt::Display>;
}

#[diagnostic::do_not_recommend]
impl<T: fmt::Display> TraceDisplay for T {
    fn traced(&self) -> tracing::field::DisplayValue<&dyn fmt::Display> {
        tracing::field::display(self)
    }
}
