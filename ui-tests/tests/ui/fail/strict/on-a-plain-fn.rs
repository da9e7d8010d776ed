// `strict` puts the requirement in the type of the future an `async fn` returns.
use ctxvar::{context_var, uses_context};

#[context_var]
static TENANT: &str;

#[uses_context(TENANT, strict)]
fn table() -> String {
    format!("{}.orders", TENANT.get())
}

fn main() {
    let _ = table();
}
