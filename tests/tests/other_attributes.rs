//! `#[with_context]` and `#[uses_context]` next to the attributes they are documented
//! to work with: `#[async_trait]`, `#[tracing::instrument]` (both orders), and
//! `#[tokio::test]` (in `with_context.rs`); and on hand-written boxed futures.

// Tests declare helper fns next to their use, and exercise every receiver and shape
// of function the attributes accept, some of which clippy would rewrite.
#![allow(
    clippy::items_after_statements,
    clippy::unused_async,
    clippy::boxed_local
)]

use std::sync::Arc;

use ctxvar::{uses_context, with_context};
use ctxvar_tests::TENANT;
use ctxvar_tests::nested::ITEM_ID;

#[async_trait::async_trait]
trait Handler: Send + Sync {
    async fn handle(&self, id: u64) -> String;
    async fn describe(&self) -> String;
    async fn consume(self: Box<Self>, (a, b): (u64, u64)) -> u64;
    async fn no_return(&self, id: u64);
    async fn read_into_local(&self, id: u64) -> u64;
}

struct Tenant(&'static str);

#[async_trait::async_trait]
impl Handler for Tenant {
    #[with_context(ITEM_ID = id, TENANT = self.0)]
    async fn handle(&self, id: u64) -> String {
        tokio::task::yield_now().await;
        self.describe().await
    }

    #[uses_context(ITEM_ID, TENANT)]
    async fn describe(&self) -> String {
        format!("{}#{}", TENANT.get(), ITEM_ID.get())
    }

    // `self` by value and a pattern parameter, both read by the binding value.
    #[with_context(ITEM_ID = a + b, TENANT = self.0)]
    async fn consume(self: Box<Self>, (a, b): (u64, u64)) -> u64 {
        tokio::task::yield_now().await;
        ITEM_ID.get() + u64::try_from(TENANT.get().len()).unwrap()
    }

    #[with_context(ITEM_ID = id)]
    async fn no_return(&self, id: u64) {
        assert_eq!(ITEM_ID.get(), id);
    }

    // A body shaped like one of `#[async_trait]`'s parameter moves
    // (`{ let x = ..; x }`) is still the body, run inside the binding.
    #[with_context(ITEM_ID = id)]
    #[allow(clippy::let_and_return)]
    async fn read_into_local(&self, id: u64) -> u64 {
        let read = ITEM_ID.get();
        read
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_inside_async_trait_impls_through_trait_objects() {
    let handlers: Vec<Arc<dyn Handler>> = vec![Arc::new(Tenant("a")), Arc::new(Tenant("b"))];
    let tasks: Vec<_> = handlers
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = h.clone();
            tokio::spawn(async move { h.handle(i as u64).await })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    assert_eq!(out, ["a#0", "b#1"]);
    assert_eq!(Box::new(Tenant("abc")).consume((1, 2)).await, 6);
    Tenant("d").no_return(4).await;
    assert_eq!(Tenant("e").read_into_local(5).await, 5);
    let unbound = tokio::spawn(async { Tenant("c").describe().await }).await;
    assert!(
        unbound.unwrap_err().is_panic(),
        "the entry check runs on first poll"
    );
}

#[with_context(ITEM_ID = id)]
#[tracing::instrument]
async fn above_instrument(id: u64) -> u64 {
    tokio::task::yield_now().await;
    ITEM_ID.get()
}

#[tracing::instrument]
#[with_context(ITEM_ID = id)]
async fn below_instrument(id: u64) -> u64 {
    tokio::task::yield_now().await;
    ITEM_ID.get()
}

#[tracing::instrument]
#[with_context(ITEM_ID = id)]
fn sync_below_instrument(id: u64) -> u64 {
    ITEM_ID.get()
}

#[tokio::test]
async fn works_with_tracing_instrument_in_either_order() {
    let subscriber = tracing_subscriber::fmt().with_test_writer().finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    assert_eq!(above_instrument(1).await, 1);
    assert_eq!(below_instrument(2).await, 2);
    assert_eq!(sync_below_instrument(3), 3);
}

// A hand-written method returning a boxed future, in the shape `#[async_trait]`
// produces, but without its renaming of `self`: the attributes bind inside the future,
// on its first poll.
struct Boxed {
    id: u64,
}

impl Boxed {
    #[with_context(ITEM_ID = self.id)]
    fn read(
        &self,
        offset: u64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = u64> + Send + '_>> {
        Box::pin(async move {
            let offset = offset * 10;
            tokio::task::yield_now().await;
            ITEM_ID.get() + offset + self.id
        })
    }

    #[uses_context(ITEM_ID)]
    fn describe(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = String> + Send + '_>> {
        Box::pin(async move { format!("{}:{}", self.id, ITEM_ID.get()) })
    }
}

#[tokio::test]
async fn hand_written_boxed_futures_bind_on_first_poll() {
    let boxed = Boxed { id: 2 };
    assert_eq!(boxed.read(1).await, 2 + 10 + 2);
    assert!(!ITEM_ID.is_bound(), "the binding ends with the future");
    // Created outside any scope, checked and read on the first poll, inside one.
    let describe = boxed.describe();
    assert_eq!(ITEM_ID.scope(9, describe).await, "2:9");
    let unbound = tokio::spawn(async move { Boxed { id: 3 }.describe().await }).await;
    assert!(
        unbound.unwrap_err().is_panic(),
        "the entry check runs on first poll"
    );
}
