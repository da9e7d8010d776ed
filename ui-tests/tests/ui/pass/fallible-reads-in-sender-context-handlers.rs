// A message's handler runs in the context the message was sent from, not the
// function's. In annotated functions, a handler compiles with what does not need the
// function's binding there, and sees the sender's: `try_get`, a helper that declares
// the variable (checked on entry), a value read before the call and moved in, and a
// binding made inside (a call of a `#[with_context]` function).
use ctxvar::{AccessError, Carried, CarriedStreamExt, ContextMessageExt};
use ctxvar::{context_var, uses_context, with_context};
use futures::stream::{self, StreamExt};

#[context_var]
static REQUEST_ID: u64;

#[uses_context(REQUEST_ID)]
fn add_request_id(n: u64) -> u64 {
    REQUEST_ID.get() + n
}

#[with_context(REQUEST_ID = n)]
fn rebound(n: u64) -> u64 {
    REQUEST_ID.get()
}

type Seen = (Result<u64, AccessError>, u64, u64, u64, u64, Result<u64, AccessError>);

#[with_context(REQUEST_ID = 1)]
async fn receiver(jobs: Vec<Carried<u64>>) -> Vec<Seen> {
    let ours = REQUEST_ID.get();
    let mut seen = Vec::new();
    for job in jobs {
        let closure = job.clone().run_in_sender_context(|n| REQUEST_ID.try_get().map(|id| id + n));
        let helper = job.clone().run_in_sender_context(add_request_id);
        let moved = job.clone().run_in_sender_context(move |n| n + ours);
        let bound_inside = job.clone().run_in_sender_context(|n| rebound(n * 100));
        let by_path = Carried::run_in_sender_context(job.clone(), |_| REQUEST_ID.try_get());
        let future = job
            .scope_in_sender_context(|n| async move { REQUEST_ID.try_get().unwrap_or(0) + n })
            .await;
        seen.push((closure, helper, moved, bound_inside, future, by_path));
    }
    seen
}

#[uses_context(REQUEST_ID)]
async fn from_a_stream(jobs: Vec<Carried<u64>>) -> Vec<Result<u64, AccessError>> {
    stream::iter(jobs)
        .then_in_sender_context(|n| async move { REQUEST_ID.try_get().map(|id| id + n) })
        .collect()
        .await
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let jobs: Vec<Carried<u64>> = [10, 20]
        .into_iter()
        .map(|id| REQUEST_ID.sync_scope(id, || 5.carry_current_context()))
        .collect();
    assert_eq!(
        receiver(jobs.clone()).await,
        [(Ok(15), 15, 6, 500, 15, Ok(10)), (Ok(25), 25, 6, 500, 25, Ok(20))]
    );
    assert_eq!(REQUEST_ID.scope(1, from_a_stream(jobs)).await, [Ok(15), Ok(25)]);
}
