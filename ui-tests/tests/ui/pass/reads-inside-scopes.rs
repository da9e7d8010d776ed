// Reads that must compile: inside binders and requirers (also in closures and async
// blocks), variables by path and imported, and defaults anywhere.
mod vars {
    #[ctxvar::context_var]
    pub static ITEM_ID: u64;

    #[ctxvar::context_var]
    pub static RETRIES: u32 = 3;
}

use ctxvar::{uses_context, with_context};
use vars::ITEM_ID;

#[with_context(vars::ITEM_ID = id)]
async fn by_path(id: u64) -> u64 {
    let closure = || ITEM_ID.get();
    let block = async { ITEM_ID.with(|id| *id) };
    closure() + block.await
}

#[uses_context(ITEM_ID)]
fn required() -> u64 {
    ITEM_ID.get()
}

fn anywhere() -> u32 {
    use vars::RETRIES;
    RETRIES.get()
}

fn by_path_with_the_prelude() -> bool {
    use ctxvar::prelude::*;
    vars::ITEM_ID.sync_scope(1, || vars::ITEM_ID.try_get() == Ok(1))
        && !vars::ITEM_ID.is_bound()
        && vars::RETRIES.try_with(|r| *r) == Ok(3)
        // With both the prelude and the variable in scope, calls are not ambiguous.
        && ITEM_ID.try_get().is_err()
}

fn main() {
    let sum = futures_lite_block_on(by_path(2));
    assert_eq!(sum, 4);
    assert_eq!(ITEM_ID.sync_scope(5, required), 5);
    assert_eq!(anywhere(), 3);
    assert!(by_path_with_the_prelude());
}

fn futures_lite_block_on<F: std::future::Future>(fut: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(fut)
}
