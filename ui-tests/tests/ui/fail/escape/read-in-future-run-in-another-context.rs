// `.in_context(ctx)` runs a future with exactly `ctx`'s bindings: a read there is not
// known to be bound. Next to it, the future that carries the function's context.
use ctxvar::{Context, ContextFutureExt, context_var, with_context};

#[context_var]
static REQUEST_ID: u64;

#[with_context(REQUEST_ID = 7)]
async fn elsewhere(ctx: Context) -> u64 {
    async { REQUEST_ID.get() }.in_context(ctx).await
}

#[with_context(REQUEST_ID = 7)]
async fn fixed() -> u64 {
    async { REQUEST_ID.get() }.in_current_context().await
}

fn main() {
    let _ = (elsewhere(Context::empty()), fixed());
}
