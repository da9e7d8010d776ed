// The same read inside an async block of an unannotated function.
use ctxvar::context_var;

#[context_var]
static ITEM_ID: u64;

fn make_task() -> impl std::future::Future<Output = u64> {
    async { ITEM_ID.get() }
}

fn main() {}
