// A variable has one type for the whole program: it cannot be generic over `T`.
#[ctxvar::context_var]
static ITEMS: Vec<T>;

// The fix: a concrete type.
#[ctxvar::context_var]
static IDS: Vec<u64>;

fn main() {
    let _ = IDS.sync_scope(vec![7], || IDS.try_get());
}
