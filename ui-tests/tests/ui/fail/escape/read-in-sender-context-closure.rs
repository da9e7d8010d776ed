// A message's handler runs in the context the message was sent from, not the
// function's: a read there is not known to be bound. Next to it, the ways that
// compile: a fallible read (what the sender bound), and the function's own value read
// before the call and moved in.
use ctxvar::{AccessError, Carried, context_var, with_context};

#[context_var]
static REQUEST_ID: u64;

#[with_context(REQUEST_ID = 7)]
fn handled(job: Carried<u64>) -> u64 {
    job.run_in_sender_context(|n| n + REQUEST_ID.get())
}

#[with_context(REQUEST_ID = 7)]
fn fixed(first: Carried<u64>, second: Carried<u64>) -> (Result<u64, AccessError>, u64) {
    let ours = REQUEST_ID.get();
    (
        first.run_in_sender_context(|n| REQUEST_ID.try_get().map(|id| id + n)),
        second.run_in_sender_context(move |n| n + ours),
    )
}

fn main() {
    let _ = (handled(Carried::new(1)), fixed(Carried::new(1), Carried::new(2)));
}
