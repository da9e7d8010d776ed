// In annotated functions, blocks and closures given to the ctxvar helpers read the
// variables directly (the task carries the context), as do defaults anywhere.
use ctxvar::{context_var, with_context};

#[context_var]
static ID: u64;

#[context_var]
static RETRIES: u32 = 3;

#[with_context(ID = 7)]
async fn handle() -> (u64, u64, u32) {
    let task = ctxvar::spawn(async move { ID.get() });
    let blocking = ctxvar::spawn_blocking(move || ID.with(|id| id * 2));
    (task.await.unwrap(), blocking.await.unwrap(), RETRIES.get())
}

#[tokio::main]
async fn main() {
    assert_eq!(handle().await, (7, 14, 3));
}
