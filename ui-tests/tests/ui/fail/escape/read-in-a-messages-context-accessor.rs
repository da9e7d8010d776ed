// `carried.context()` is the message's sender's context: work run in it is not known
// to see this function's binding. Next to it, the fallible read that compiles.
use ctxvar::{AccessError, Carried, context_var, uses_context};

#[context_var]
static REQUEST_ID: u64;

#[uses_context(REQUEST_ID)]
fn handled(job: &Carried<u64>) -> u64 {
    job.context().run(|| REQUEST_ID.get())
}

#[uses_context(REQUEST_ID)]
fn fixed(job: &Carried<u64>) -> Result<u64, AccessError> {
    job.context().run(|| REQUEST_ID.try_get())
}

fn main() {
    let job = Carried::new(1);
    let _ = REQUEST_ID.sync_scope(7, || (handled(&job), fixed(&job)));
}
