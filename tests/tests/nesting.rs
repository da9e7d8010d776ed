//! Rebinding shadows, and the outer value is back when the inner scope ends.

// Tests declare helper fns next to their use, and exercise every receiver and shape
// of function the attributes accept, some of which clippy would rewrite.
#![allow(
    clippy::items_after_statements,
    clippy::unused_async,
    clippy::boxed_local
)]

mod support;

use ctxvar::{uses_context, with_context};
use ctxvar_tests::TENANT;
use ctxvar_tests::nested::ITEM_ID;

#[with_context(ITEM_ID = 1)]
async fn outer() -> Vec<u64> {
    let mut seen = vec![ITEM_ID.get()];
    seen.extend(middle().await);
    seen.push(ITEM_ID.get());
    seen
}

#[with_context(ITEM_ID = 2)]
async fn middle() -> Vec<u64> {
    let mut seen = vec![ITEM_ID.get()];
    tokio::task::yield_now().await;
    seen.push(inner().await);
    seen.push(ITEM_ID.get());
    seen
}

#[with_context(ITEM_ID = 3)]
async fn inner() -> u64 {
    tokio::task::yield_now().await;
    ITEM_ID.get()
}

#[tokio::test]
async fn nested_rebinding_shadows_and_restores() {
    assert_eq!(outer().await, [1, 2, 3, 2, 1]);
}

#[with_context(ITEM_ID = depth)]
fn recurse(depth: u64) -> Vec<u64> {
    let mut seen = vec![ITEM_ID.get()];
    if depth < 20 {
        seen.extend(recurse(depth + 1));
    }
    seen.push(ITEM_ID.get());
    seen
}

#[test]
fn deep_sync_nesting_restores_each_level() {
    let seen = recurse(0);
    let down: Vec<u64> = (0..=20).collect();
    let up: Vec<u64> = (0..=20).rev().collect();
    assert_eq!(seen, [down, up].concat());
}

#[tokio::test]
async fn a_child_never_leaks_to_its_caller_or_siblings() {
    #[with_context(TENANT = "parent")]
    async fn parent() -> (&'static str, &'static str, &'static str) {
        let (a, b) = tokio::join!(child_a(), child_b());
        (a, b, TENANT.get())
    }
    #[with_context(TENANT = "a")]
    async fn child_a() -> &'static str {
        tokio::task::yield_now().await;
        TENANT.get()
    }
    #[uses_context(TENANT)]
    async fn child_b() -> &'static str {
        // Polled between `child_a`'s polls: must see the parent's value, never "a".
        tokio::task::yield_now().await;
        TENANT.get()
    }
    assert_eq!(parent().await, ("a", "parent", "parent"));
}

#[tokio::test]
async fn manual_scopes_nest_with_attribute_scopes() {
    #[with_context(ITEM_ID = 10)]
    async fn attr() -> (u64, u64, u64) {
        let manual = ITEM_ID.scope(20, async { ITEM_ID.get() }).await;
        let sync = ITEM_ID.sync_scope(30, || ITEM_ID.get());
        (manual, sync, ITEM_ID.get())
    }
    assert_eq!(attr().await, (20, 30, 10));
    let by_hand = ITEM_ID.scope(1, attr()).await;
    assert_eq!(by_hand, (20, 30, 10));
}

#[test]
fn one_binding_call_may_bind_several_variables_and_the_last_one_wins() {
    let seen = ITEM_ID
        .bind(1)
        .and(TENANT.bind("t"))
        .and(ITEM_ID.bind(2))
        .sync_scope(|| (ITEM_ID.try_get(), TENANT.try_get()));
    assert_eq!(seen, (Ok(2), Ok("t")));
}

#[test]
fn binding_inside_a_with_closure_works() {
    // Reads hold no borrow that could block a nested bind.
    #[with_context(ITEM_ID = 1)]
    fn outer() -> u64 {
        ITEM_ID.with(|outer| ITEM_ID.sync_scope(outer + 1, || ITEM_ID.with(|inner| *inner)))
    }
    assert_eq!(outer(), 2);
}
