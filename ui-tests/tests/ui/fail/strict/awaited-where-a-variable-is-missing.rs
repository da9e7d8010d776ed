// A strict helper that needs two variables, awaited in a function that provides one:
// the error names the other one, under the `.await`.
use ctxvar::{context_var, uses_context, with_context};

#[context_var]
static TENANT: &str;
#[context_var]
static USER: u64;

#[uses_context(TENANT, USER, strict)]
async fn row() -> String {
    format!("{}#{}", TENANT.get(), USER.get())
}

#[with_context(TENANT = "acme")]
async fn missing_user() -> String {
    row().await
}

// The fix: provide both.
#[with_context(TENANT = "acme", USER = 7)]
async fn fixed() -> String {
    row().await
}

fn main() {
    let _ = (missing_user(), fixed());
}
