// Work run in `Context::empty()` sees nothing bound, whatever the function binds. Next
// to it, the ways that compile: a fallible read, and the function's own context.
use ctxvar::{Context, context_var, with_context};

#[context_var]
static REQUEST_ID: u64;

#[with_context(REQUEST_ID = 7)]
fn isolated() -> u64 {
    Context::empty().run(|| REQUEST_ID.get())
}

#[with_context(REQUEST_ID = 7)]
fn fixed() -> (Result<u64, ctxvar::AccessError>, u64) {
    (
        Context::empty().run(|| REQUEST_ID.try_get()),
        Context::current().run(|| REQUEST_ID.get()),
    )
}

fn main() {
    let _ = (isolated(), fixed());
}
