// `strict` turns the `async fn` into a plain `fn` that returns a `UsesContext`: an
// attribute macro below it would see that `fn`, and bind (or enter its span) only while
// the future is made. Each is one error, at the attribute to move; the fixes follow.
use ctxvar::{context_var, uses_context, with_context};

#[context_var]
static TENANT: &str;
#[context_var]
static USER: u64;

#[uses_context(TENANT, strict)]
#[with_context(USER = 7)]
async fn binds_below() -> String {
    format!("{}#{}", TENANT.get(), USER.get())
}

#[uses_context(TENANT, strict)]
#[tracing::instrument]
async fn instrumented_below() -> String {
    TENANT.get().to_owned()
}

// The fixes: `strict` last. (Inert attributes, such as `#[inline]`, may follow it.)
#[with_context(USER = 7)]
#[uses_context(TENANT, strict)]
async fn binds_above() -> String {
    format!("{}#{}", TENANT.get(), USER.get())
}

#[tracing::instrument]
#[uses_context(TENANT, strict)]
#[allow(clippy::unused_async)]
async fn instrumented_above() -> String {
    TENANT.get().to_owned()
}

#[with_context(TENANT = "acme")]
async fn caller() -> String {
    format!("{}{}", binds_above().await, instrumented_above().await)
}

fn main() {
    let _ = (binds_below(), instrumented_below(), caller());
}
