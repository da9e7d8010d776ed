// A ctxvar helper called inside work that itself carries the context, or inside work
// that runs before the function returns, captures the function's bindings: the reads
// compile and see them.
use ctxvar::{context_var, uses_context, with_context};

#[context_var]
static ID: u64;

#[with_context(ID = id)]
async fn nested_tasks(id: u64) -> (u64, u64) {
    // A task that spawns a task, and a blocking task that starts a thread.
    let task = ctxvar::spawn(async move { ctxvar::spawn(async move { ID.get() }).await.unwrap() });
    let thread = ctxvar::spawn_blocking(move || ctxvar::thread::spawn(move || ID.get() + 1).join().unwrap());
    (task.await.unwrap(), thread.await.unwrap())
}

#[context_var]
static SHARD: u32;

// Both attributes give the spawned work evidence, each for its own variables.
#[uses_context(SHARD)]
#[with_context(ID = 5)]
async fn stacked() -> u64 {
    ctxvar::spawn(async move { ID.get() + u64::from(SHARD.get()) }).await.unwrap()
}

#[with_context(ID = 6)]
#[uses_context(SHARD)]
fn stacked_the_other_way() -> u64 {
    ctxvar::thread::spawn(move || ID.get() + u64::from(SHARD.get())).join().unwrap()
}

#[uses_context(ID)]
fn in_a_local_closure() -> u64 {
    // A closure called before the function returns.
    let start = || ctxvar::thread::spawn(move || ID.get());
    start().join().unwrap()
}

#[tokio::main]
async fn main() {
    assert_eq!(nested_tasks(7).await, (7, 8));
    assert_eq!(ID.sync_scope(3, in_a_local_closure), 3);
    assert_eq!(SHARD.scope(10, stacked()).await, 15);
    assert_eq!(SHARD.sync_scope(20, stacked_the_other_way), 26);
}
