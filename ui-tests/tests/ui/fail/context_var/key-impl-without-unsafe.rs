// `ContextKey` is an `unsafe` trait: the runtime trusts each key's metadata and read
// cache to be its own. This impl, written without `unsafe`, hands out the read cache
// of `ITEMS`, so a read of `NAME` would see the `[u64; 3]` bound to `ITEMS` as a
// `String`. It must not compile.
use ctxvar::ContextKey;
use ctxvar::__private::{LocalKey, ReadCache, VarMeta};

#[ctxvar::context_var]
static ITEMS: [u64; 3];

pub trait NAME {}

impl ContextKey for dyn NAME {
    type Value = String;
    type __Key = Self;

    fn __meta() -> &'static VarMeta<String> {
        static META: VarMeta<String> = VarMeta::new("NAME", module_path!(), true, None);
        &META
    }

    fn __read_cache() -> &'static LocalKey<ReadCache> {
        <dyn ITEMS as ContextKey>::__read_cache()
    }
}

fn main() {}
