// A slice has no size known at compile time: a variable holds an owned sequence.
use std::sync::Arc;

#[ctxvar::context_var]
static ROLES: [u8];

// The fixes: `Vec<T>`, or `Arc<[T]>`, cheap to clone.
#[ctxvar::context_var]
static FLAGS: Vec<u8>;

#[ctxvar::context_var]
static SCOPES: Arc<[u8]>;

fn main() {
    let _ = FLAGS.sync_scope(vec![1], || FLAGS.try_get());
    let _ = SCOPES.sync_scope(Arc::from([1]), || SCOPES.try_get());
}
