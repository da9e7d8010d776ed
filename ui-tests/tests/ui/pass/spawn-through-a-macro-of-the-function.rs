// A `macro_rules!` macro of the function's own that passes its argument to one of
// ctxvar's spawn helpers carries the context like the helper: its work reads with `get`.
// (A value read by `#[with_context]` before binding needs `#[uses_context]` above it.)
use ctxvar::{context_var, uses_context, with_context};

#[context_var]
static ID: u64;

#[with_context(ID = 3)]
async fn wrapped() -> u64 {
    macro_rules! go {
        ($work:expr) => {
            ctxvar::spawn($work)
        };
    }
    go!(async move { ID.get() }).await.unwrap()
}

#[uses_context(ID)]
#[with_context(ID = ID.get() + 1)]
async fn deeper() -> u64 {
    ID.get()
}

#[tokio::main]
async fn main() {
    assert_eq!(wrapped().await, 3);
    assert_eq!(ID.scope(5, deeper()).await, 6);
}
