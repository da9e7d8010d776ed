// `str` has no size known at compile time: a variable holds an owned string.
use std::sync::Arc;

#[ctxvar::context_var]
static NAME: str;

// The fixes: `String`, or `Arc<str>`, cheap to clone.
#[ctxvar::context_var]
static TENANT: String;

#[ctxvar::context_var]
static REGION: Arc<str>;

fn main() {
    let _ = TENANT.sync_scope("acme".to_owned(), || TENANT.try_get());
    let _ = REGION.sync_scope(Arc::from("eu"), || REGION.try_get());
}
