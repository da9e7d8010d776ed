// A strict helper's future given to a combinator, which awaits it out of the
// function's sight, even in a function that provides the variable: the error says to
// give the combinator an `async` block that awaits the helper.
use std::future::Future;

use ctxvar::{context_var, uses_context, with_context};

#[context_var]
static TENANT: &str;

#[uses_context(TENANT, strict)]
async fn table(name: &str) -> String {
    format!("{}.{name}", TENANT.get())
}

/// Stands for `join_all`: takes futures, awaits them itself.
async fn all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut outputs = Vec::new();
    for future in futures {
        outputs.push(future.await);
    }
    outputs
}

#[with_context(TENANT = "acme")]
async fn combined() -> Vec<String> {
    all(vec![table("a"), table("b")]).await
}

// The fix: futures that await the helper where the function provides it.
#[with_context(TENANT = "acme")]
async fn fixed() -> Vec<String> {
    let futures = ["a", "b"].map(|name| async move { table(name).await });
    all(futures.into()).await
}

fn main() {
    let _ = (combined(), fixed());
}
