// A strict helper awaited in a function without `#[with_context]` or `#[uses_context]`:
// the error names the variable and the attributes that provide it. (rustc's two
// suggestions after it, to remove the `.await` or to make the helper `async`, are
// wrong for a strict helper; the attribute cannot remove them.)
use ctxvar::{context_var, uses_context, with_context};

#[context_var]
static TENANT: &str;

#[uses_context(TENANT, strict)]
async fn table() -> String {
    format!("{}.orders", TENANT.get())
}

async fn unannotated() -> String {
    table().await
}

// The fix: bind it (or declare it with `#[uses_context(TENANT)]`).
#[with_context(TENANT = "acme")]
async fn fixed() -> String {
    table().await
}

fn main() {
    let _ = (unannotated(), fixed());
}
