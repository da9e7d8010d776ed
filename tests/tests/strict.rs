//! Strict helpers (`#[uses_context(VAR, strict)]`): the requirement is part of the
//! type the helper returns, and every common shape of async code awaits it, as
//! written, inside a function that provides the variables. Every test runs on tokio's
//! current-thread runtime and on its multi-thread runtime.

// Tests declare helper fns next to their use.
#![allow(clippy::items_after_statements)]

use std::future::Future;
use std::pin::Pin;

#[cfg(feature = "tokio")]
use ctxvar::ContextFutureExt;
use ctxvar::{UsesContext, Variable, uses_context, with_context};
use ctxvar_tests::nested::ITEM_ID;
use ctxvar_tests::{REQUEST_ID, TENANT};
use futures::StreamExt;

mod support;
use support::on_both_runtimes;

/// A strict helper that needs one variable.
#[uses_context(TENANT, strict)]
async fn table(name: &str) -> String {
    tokio::task::yield_now().await;
    format!("{}.{name}", TENANT.get())
}

/// A strict helper that needs two, and awaits another strict helper.
#[uses_context(TENANT, ITEM_ID, strict)]
async fn row() -> String {
    format!("{}#{}", table("items").await, ITEM_ID.get())
}

#[with_context(TENANT = tenant)]
async fn direct(tenant: &'static str) -> String {
    table("orders").await
}

#[test]
fn a_strict_helper_is_awaited_where_its_variable_is_bound() {
    on_both_runtimes(|| async {
        assert_eq!(direct("acme").await, "acme.orders");
    });
}

/// Not strict itself: its callers must bind `TENANT` (checked when it runs), and its
/// own awaits of strict helpers that need only `TENANT` compile.
#[uses_context(TENANT)]
async fn propagates() -> String {
    table("users").await
}

#[with_context(TENANT = "acme", ITEM_ID = 7)]
async fn both_bound() -> (String, String) {
    (propagates().await, row().await)
}

#[test]
fn requirements_propagate_through_uses_context_and_strict_helpers() {
    on_both_runtimes(|| async {
        assert_eq!(
            both_bound().await,
            ("acme.users".to_owned(), "acme.items#7".to_owned())
        );
    });
}

/// One attribute binds, the other declares: together they provide both variables.
#[with_context(ITEM_ID = 9)]
#[uses_context(TENANT)]
async fn stacked() -> String {
    row().await
}

#[uses_context(TENANT)]
#[with_context(ITEM_ID = 10)]
async fn stacked_the_other_way() -> String {
    row().await
}

#[with_context(TENANT = "acme")]
async fn around_stacked() -> (String, String) {
    (stacked().await, stacked_the_other_way().await)
}

#[test]
fn stacked_attributes_provide_what_each_of_them_provides() {
    on_both_runtimes(|| async {
        assert_eq!(
            around_stacked().await,
            ("acme.items#9".to_owned(), "acme.items#10".to_owned())
        );
    });
}

#[with_context(TENANT = "acme")]
async fn joined() -> (String, String, String, String) {
    let (a, b) = tokio::join!(table("a"), table("b"));
    let (c, d) = futures::join!(table("c"), async { table("d").await });
    (a, b, c, d)
}

#[with_context(TENANT = "acme")]
async fn try_joined() -> Result<(String, String), ()> {
    tokio::try_join!(async { Ok(table("a").await) }, async {
        Ok::<_, ()>(table("b").await)
    })
}

#[test]
fn join_macros_await_strict_helpers() {
    on_both_runtimes(|| async {
        let (a, b, c, d) = joined().await;
        assert_eq!([a, b, c, d], ["acme.a", "acme.b", "acme.c", "acme.d"]);
        assert_eq!(
            try_joined().await,
            Ok(("acme.a".to_owned(), "acme.b".to_owned()))
        );
    });
}

/// `select!` takes its futures as written: await the helper in an `async` block
/// written outside it.
#[with_context(TENANT = "acme")]
async fn selected() -> String {
    let first = async { table("first").await };
    let never = std::future::pending::<String>();
    tokio::select! {
        value = first => value,
        value = never => value,
    }
}

/// The `.await`s of the macros that use their arguments as code, also where those
/// are not expressions: a `tracing` field, a `select!` branch's handler.
#[with_context(TENANT = "acme")]
async fn in_macros() -> String {
    tracing::info!(table = %table("logged").await, "looked up");
    let formatted = format!("{}", table("formatted").await);
    let branch = tokio::select! {
        value = std::future::ready(1) => format!("{value}:{}", table("branch").await),
    };
    format!("{formatted} {branch}")
}

#[test]
fn select_and_other_macros_await_strict_helpers() {
    on_both_runtimes(|| async {
        assert_eq!(selected().await, "acme.first");
        assert_eq!(in_macros().await, "acme.formatted 1:acme.branch");
    });
}

#[with_context(TENANT = "acme")]
async fn fanned_out(names: &[&str]) -> (Vec<String>, Vec<String>) {
    let all =
        futures::future::join_all(names.iter().map(|name| async move { table(name).await })).await;
    let unordered = futures::stream::FuturesUnordered::new();
    for name in names {
        unordered.push(async move { table(name).await });
    }
    let mut any_order: Vec<String> = unordered.collect().await;
    any_order.sort();
    (all, any_order)
}

#[test]
fn join_all_and_futures_unordered_over_a_loop() {
    on_both_runtimes(|| async {
        let (all, any_order) = fanned_out(&["x", "y"]).await;
        assert_eq!(all, ["acme.x", "acme.y"]);
        assert_eq!(any_order, ["acme.x", "acme.y"]);
    });
}

#[cfg(feature = "tokio")]
#[with_context(TENANT = "acme")]
async fn spawned() -> Vec<String> {
    let mut set = tokio::task::JoinSet::new();
    set.spawn(async { table("set").await }.in_current_context());
    let helper = ctxvar::spawn(async { table("spawn").await });
    let carried = tokio::spawn(async { table("tokio").await }.in_current_context());
    let by_path = tokio::spawn(ctxvar::ContextFutureExt::in_current_context(async {
        table("path").await
    }));
    let context = ctxvar::Context::current();
    let scoped = tokio::spawn(context.scope(async { table("scope").await }));
    let bound = tokio::spawn(TENANT.scope("other", async { table("bound").await }));
    // A context entered inside the spawned work is the work's own.
    let context = ctxvar::Context::current();
    let entered =
        tokio::spawn(async move { context.scope(async { table("entered").await }).await });
    let mut seen = set.join_all().await;
    for task in [helper, carried, by_path, scoped, bound, entered] {
        seen.push(task.await.unwrap());
    }
    seen
}

#[cfg(feature = "tokio")]
#[test]
fn join_set_and_spawn_helpers_await_strict_helpers_in_carried_work() {
    on_both_runtimes(|| async {
        assert_eq!(
            spawned().await,
            [
                "acme.set",
                "acme.spawn",
                "acme.tokio",
                "acme.path",
                "acme.scope",
                "other.bound",
                "acme.entered"
            ]
        );
    });
}

/// A spawn helper imported by name is recognised as `ctxvar`'s only where a read in
/// its work has it checked; a read does here.
#[cfg(feature = "tokio")]
#[with_context(TENANT = "acme")]
async fn spawned_by_an_imported_helper() -> String {
    use ctxvar::spawn;
    spawn(async { format!("{} {}", TENANT.get(), table("imported").await) })
        .await
        .unwrap()
}

#[cfg(feature = "tokio")]
#[test]
fn an_imported_spawn_helper_checked_by_a_read_carries_the_context() {
    on_both_runtimes(|| async {
        assert_eq!(spawned_by_an_imported_helper().await, "acme acme.imported");
    });
}

/// Work that starts without the context still awaits plain futures as written, and a
/// strict helper through its explicit escape, `assume_provided`, which checks on
/// entry (here it panics: the spawned task has nothing bound).
#[cfg(feature = "tokio")]
#[with_context(TENANT = "acme")]
async fn spawned_without_the_context() -> (usize, String) {
    let plain = tokio::spawn(async { std::future::ready(1).await });
    let escaped = tokio::spawn(async { table("escaped").assume_provided().await });
    let thread = std::thread::spawn(|| futures::executor::block_on(async { 2 }));
    let panic = escaped.await.unwrap_err().into_panic();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    (plain.await.unwrap() + thread.join().unwrap(), message)
}

#[cfg(feature = "tokio")]
#[test]
fn work_spawned_without_the_context_awaits_plain_futures_and_assumed_helpers() {
    on_both_runtimes(|| async {
        let (sum, message) = spawned_without_the_context().await;
        assert_eq!(sum, 3);
        assert!(message.contains("TENANT"), "{message}");
    });
}

#[with_context(TENANT = "acme")]
async fn boxed() -> String {
    let future: Pin<Box<dyn Future<Output = String> + Send>> =
        Box::pin(async { table("boxed").await });
    future.await
}

#[test]
fn a_strict_helper_behind_dyn_future() {
    on_both_runtimes(|| async {
        assert_eq!(boxed().await, "acme.boxed");
    });
}

/// A trait whose method is a strict helper declares the requirement in its signature.
trait Orders {
    fn table(
        &self,
    ) -> UsesContext<(Variable<dyn TENANT>,), impl Future<Output = String> + Send + '_>;
}

struct Shop;

impl Orders for Shop {
    #[uses_context(TENANT, strict)]
    async fn table(&self) -> String {
        format!("{}.shop", TENANT.get())
    }
}

#[with_context(TENANT = "acme")]
async fn through_a_trait(shop: &impl Orders) -> String {
    shop.table().await
}

#[test]
fn a_strict_helper_behind_a_trait() {
    on_both_runtimes(|| async {
        assert_eq!(through_a_trait(&Shop).await, "acme.shop");
    });
}

/// Behind `#[async_trait]`, and so behind `dyn`: the method returns a boxed future,
/// whose type has no room for the requirement. The method is a plain
/// `#[uses_context]` (checked when it runs), and awaits strict helpers inside.
#[async_trait::async_trait]
trait Catalog {
    async fn table(&self) -> String;
}

struct Store;

#[async_trait::async_trait]
impl Catalog for Store {
    #[uses_context(TENANT)]
    async fn table(&self) -> String {
        table("catalog").await
    }
}

#[with_context(TENANT = "acme")]
async fn through_dyn(catalog: &(dyn Catalog + Sync)) -> String {
    catalog.table().await
}

#[test]
fn a_strict_helper_behind_async_trait_and_dyn() {
    on_both_runtimes(|| async {
        assert_eq!(through_dyn(&Store).await, "acme.catalog");
        // Where nothing binds it, the method's own check on entry names the variable.
        let unbound = tokio::spawn(async { Store.table().await });
        let panic = unbound.await.unwrap_err().into_panic();
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("`TENANT`"), "{message}");
    });
}

#[test]
fn assume_provided_falls_back_to_the_check_on_entry() {
    on_both_runtimes(|| async {
        // Where no attribute's evidence reaches (here, a test without one), the
        // requirement is dropped by name and checked when the helper runs.
        let bound = TENANT.scope("acme", table("by_hand").assume_provided());
        assert_eq!(bound.await, "acme.by_hand");
        let unbound = tokio::spawn(table("unbound").assume_provided());
        let panic = unbound.await.unwrap_err().into_panic();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(message.contains("TENANT"), "{message}");
        assert!(message.contains("table"), "{message}");
    });
}

/// Non-strict awaits in annotated functions are unchanged: a future is awaited as it
/// was written, whatever its type.
#[with_context(REQUEST_ID = "r".to_owned())]
async fn plain_awaits() -> usize {
    let ready = std::future::ready(1).await;
    let boxed: Pin<Box<dyn Future<Output = usize> + Send>> = Box::pin(async { 2 });
    let mut by_ref = std::pin::pin!(async { 3 });
    ready + boxed.await + (&mut by_ref).await + REQUEST_ID.get().len()
}

#[test]
fn plain_awaits_are_unchanged() {
    on_both_runtimes(|| async {
        assert_eq!(plain_awaits().await, 7);
    });
}

/// A macro that keeps its tokens as text (`stringify!`, and with it `assert!`,
/// `dbg!`, a snapshot test's macro) sees an `.await` as written.
#[with_context(REQUEST_ID = "r".to_owned())]
async fn awaits_as_text() -> (&'static str, &'static str) {
    macro_rules! text {
        ($($tokens:tt)*) => {
            stringify!($($tokens)*)
        };
    }
    let _ = REQUEST_ID.get();
    (
        stringify!(std::future::ready(1).await),
        text!(f(std::future::ready(1).await)),
    )
}

#[test]
fn macros_that_keep_their_tokens_as_text_see_awaits_as_written() {
    on_both_runtimes(|| async {
        // Spaces aside: tokens that an attribute macro emitted again are printed with
        // spaces of rustc's choosing (`std :: future`).
        let (by_stringify, by_macro) = awaits_as_text().await;
        let squeezed = |text: &str| text.replace(' ', "");
        assert_eq!(squeezed(by_stringify), "std::future::ready(1).await");
        assert_eq!(squeezed(by_macro), "f(std::future::ready(1).await)");
    });
}
