// A local that held the function's own context may be given another one: after that,
// work run in it is not known to see the function's bindings. Next to it, the local
// kept as captured, which compiles.
use ctxvar::{Context, context_var, with_context};

#[context_var]
static REQUEST_ID: u64;

#[with_context(REQUEST_ID = 7)]
fn reassigned() -> u64 {
    let mut ctx = Context::current();
    ctx = Context::empty();
    ctx.run(|| REQUEST_ID.get())
}

#[with_context(REQUEST_ID = 7)]
fn fixed() -> u64 {
    let ctx = Context::current();
    ctx.run(|| REQUEST_ID.get())
}

fn main() {
    let _ = (reassigned(), fixed());
}
