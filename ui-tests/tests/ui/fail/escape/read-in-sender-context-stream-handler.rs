// A stream of messages handled each in its sender's context: the handler's read is
// not known to be bound, though this function binds the variable. Next to it, the
// fallible read that compiles.
use ctxvar::{AccessError, Carried, CarriedStreamExt, context_var, with_context};
use futures::stream::{self, StreamExt};

#[context_var]
static REQUEST_ID: u64;

#[with_context(REQUEST_ID = 7)]
async fn handled(jobs: Vec<Carried<u64>>) -> Vec<u64> {
    stream::iter(jobs)
        .then_in_sender_context(|n| async move { n + REQUEST_ID.get() })
        .collect()
        .await
}

#[with_context(REQUEST_ID = 7)]
async fn fixed(jobs: Vec<Carried<u64>>) -> Vec<Result<u64, AccessError>> {
    stream::iter(jobs)
        .then_in_sender_context(|n| async move { REQUEST_ID.try_get().map(|id| id + n) })
        .collect()
        .await
}

fn main() {
    let _ = (handled(Vec::new()), fixed(Vec::new()));
}
