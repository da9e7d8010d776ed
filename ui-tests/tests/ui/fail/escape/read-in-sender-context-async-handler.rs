// A message's async handler runs in the context the message was sent from, on every
// poll: a read there is not known to be bound, though this function declares the
// variable. Next to it, the fallible read that compiles.
use ctxvar::{AccessError, Carried, context_var, uses_context};

#[context_var]
static REQUEST_ID: u64;

#[uses_context(REQUEST_ID)]
async fn handled(job: Carried<u64>) -> u64 {
    job.scope_in_sender_context(|n| async move { n + REQUEST_ID.get() }).await
}

#[uses_context(REQUEST_ID)]
async fn fixed(job: Carried<u64>) -> Result<u64, AccessError> {
    job.scope_in_sender_context(|n| async move { REQUEST_ID.try_get().map(|id| id + n) })
        .await
}

fn main() {
    let _ = (handled(Carried::new(1)), fixed(Carried::new(1)));
}
