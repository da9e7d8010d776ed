// A scoped thread may borrow, but it starts with nothing bound, like any new thread.
// Next to it, the way that compiles: capture the context and run the work in it.
use ctxvar::{Context, context_var, with_context};

#[context_var]
static REQUEST_ID: u64;

#[with_context(REQUEST_ID = 7)]
fn fan_out() -> u64 {
    std::thread::scope(|s| s.spawn(|| REQUEST_ID.get()).join().unwrap())
}

#[with_context(REQUEST_ID = 7)]
fn fixed() -> u64 {
    let ctx = Context::current();
    std::thread::scope(|s| s.spawn(|| ctx.run(|| REQUEST_ID.get())).join().unwrap())
}

fn main() {
    let _ = (fan_out(), fixed());
}
