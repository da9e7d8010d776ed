// `#[tokio::main]` and `#[tracing::instrument]`, above and below.
use ctxvar::{context_var, with_context};

#[context_var]
static ID: u64;

#[with_context(ID = id)]
#[tracing::instrument]
async fn above(id: u64) -> u64 {
    ID.get()
}

#[tracing::instrument]
#[with_context(ID = id)]
async fn below(id: u64) -> u64 {
    ID.get()
}

#[tokio::main(flavor = "current_thread")]
#[with_context(ID = 3)]
async fn main() {
    assert_eq!(above(1).await + below(2).await, 3);
    assert_eq!(ID.get(), 3);
}
