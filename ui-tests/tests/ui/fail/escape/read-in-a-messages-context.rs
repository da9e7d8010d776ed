// A message's context, taken from it with `into_parts`, is its sender's:
// work run there is not known to see this function's binding. Next to it, the
// fallible read that compiles.
use ctxvar::{AccessError, Carried, context_var, with_context};

#[context_var]
static REQUEST_ID: u64;

#[with_context(REQUEST_ID = 7)]
fn handled(job: Carried<u64>) -> u64 {
    let (sender, n) = job.into_parts();
    sender.run(|| n + REQUEST_ID.get())
}

#[with_context(REQUEST_ID = 7)]
fn fixed(job: Carried<u64>) -> Result<u64, AccessError> {
    let (sender, n) = job.into_parts();
    sender.run(|| REQUEST_ID.try_get().map(|id| id + n))
}

fn main() {
    let _ = (handled(Carried::new(1)), fixed(Carried::new(1)));
}
