//! The expansions are lint-clean: a crate that denies warnings, `clippy::pedantic`,
//! `unused_qualifications` and `dead_code` compiles with both attributes (clippy runs
//! over this file in CI with `-D warnings`).

// Uses `ctxvar::spawn` (feature `tokio`), to cover the attributes' rewrite of it too.
#![cfg(feature = "tokio")]
#![deny(
    warnings,
    clippy::all,
    clippy::pedantic,
    unused_qualifications,
    dead_code,
    unused_results,
    missing_debug_implementations,
    unreachable_pub
)]

use ctxvar::{context_var, uses_context, with_context};

/// A documented variable.
#[context_var]
static ITEM_ID: u64;

/// A variable with a default.
#[context_var]
static RETRIES: u32 = 3;

/// One that stays with its task.
#[context_var(inherit = false)]
static TRANSACTION: u8;

/// Traced with `Debug`: the recording code is spanned at the user's `trace`, so the
/// user's lints see it.
#[context_var(trace)]
static TRACED_DEBUG: &str;

/// Traced with `Display`.
#[context_var(trace = display)]
static TRACED_DISPLAY: u64 = 9;

#[uses_context(ITEM_ID, TRANSACTION)]
async fn read() -> u64 {
    tokio::task::yield_now().await;
    ITEM_ID.get() + u64::from(TRANSACTION.get()) + u64::from(RETRIES.get())
}

#[with_context(ITEM_ID = id, TRANSACTION = 1)]
async fn bind(id: u64) -> u64 {
    let spawned = ctxvar::spawn(async move { ITEM_ID.get() });
    read().await + spawned.await.unwrap_or_default()
}

#[with_context(ITEM_ID = id)]
fn bind_sync(id: u64) -> Result<u64, std::num::ParseIntError> {
    let parsed: u64 = "1".parse()?;
    Ok(parsed + ITEM_ID.get())
}

// A helper called inside work given to a helper: both rewrites nest.
#[with_context(ITEM_ID = id)]
async fn bind_nested(id: u64) -> u64 {
    let blocking =
        ctxvar::spawn_blocking(move || ctxvar::thread::spawn(move || ITEM_ID.get()).join());
    blocking.await.unwrap().unwrap()
}

struct Handler {
    id: u64,
}

impl Handler {
    #[with_context(ITEM_ID = self.id)]
    fn handle(&self) -> u64 {
        ITEM_ID.get()
    }
}

#[tokio::test]
async fn expansions_pass_strict_lints() {
    assert_eq!(bind(2).await, 2 + 1 + 3 + 2);
    assert_eq!(bind_sync(1), Ok(2));
    assert_eq!(bind_nested(4).await, 4);
    assert_eq!(Handler { id: 5 }.handle(), 5);
    assert_eq!(
        TRACED_DEBUG.sync_scope("x", || TRACED_DEBUG.try_get()),
        Ok("x")
    );
    assert_eq!(TRACED_DISPLAY.get(), 9);
}
