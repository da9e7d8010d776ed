//! The trybuild harness lives in `tests/ui.rs`. This library declares variables that
//! the fixtures use from another crate, as a library's users would.

/// A public variable declared in another crate than the fixtures that read it.
#[ctxvar::context_var]
pub static TENANT: &str;

/// A strict helper declared in another crate than the fixtures that await it, as a
/// library's helpers are.
#[ctxvar::uses_context(TENANT, strict)]
pub async fn tenant_table() -> String {
    format!("{}.orders", TENANT.get())
}
