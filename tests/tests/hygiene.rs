//! The expansions name nothing through the user's scope: they still work when
//! `core`, `std` and `ctxvar` are shadowed by local modules and the prelude's names
//! by local types (expansions must use absolute paths).

// Uses `ctxvar::spawn` (feature `tokio`), to cover the attributes' rewrite of it too.
#![cfg(feature = "tokio")]
#![allow(
    dead_code,
    non_camel_case_types,
    clippy::items_after_statements,
    clippy::unused_async
)]

// Shadow prelude names at the crate root.
struct Option;
struct Some;
struct None;
struct Result;
struct Ok;
struct Err;
struct Box;
struct Vec;
struct Clone;
struct Send;
struct Sync;
struct Fn;
struct FnOnce;
struct Sized;
struct Default;

// Shadow the crates the expansions use, for non-absolute paths.
mod core {}
mod std {}

mod user {
    // And `ctxvar` itself, in the module that uses the macros.
    mod ctxvar {}

    #[::ctxvar::context_var]
    pub(crate) static ITEM_ID: u64;

    #[::ctxvar::context_var]
    pub(crate) static RETRIES: u32 = 3;

    #[::ctxvar::context_var(inherit = false)]
    pub(crate) static TRANSACTION: u8;

    // The recording code of a traced variable is spanned at the user's `trace`, so it
    // resolves in this module, among the shadowing names.
    #[::ctxvar::context_var(trace)]
    pub(crate) static TRACED: u64;

    #[::ctxvar::context_var(trace = display)]
    pub(crate) static TRACED_DISPLAY: u64 = 5;

    pub(crate) fn traced() -> u64 {
        TRACED.sync_scope(2, || TRACED.try_get().unwrap_or(0)) + TRACED_DISPLAY.get()
    }

    #[::ctxvar::uses_context(ITEM_ID)]
    pub(crate) async fn read() -> u64 {
        ITEM_ID.get() + u64::from(RETRIES.get())
    }

    #[::ctxvar::with_context(ITEM_ID = id, TRANSACTION = 1)]
    pub(crate) async fn bind(id: u64) -> u64 {
        let spawned = ::ctxvar::spawn(async move { ITEM_ID.get() }).await;
        read().await + spawned.unwrap_or(0) + u64::from(TRANSACTION.get())
    }

    #[::ctxvar::with_context(ITEM_ID = id)]
    pub(crate) fn bind_sync(id: u64) -> ::core::result::Result<u64, ()> {
        let value: ::core::result::Result<u64, ()> = ::core::result::Result::Ok(ITEM_ID.get());
        let value = value?;
        ::core::result::Result::Ok(value)
    }
}

#[::tokio::test]
async fn expansions_use_absolute_paths_only() {
    ::core::assert_eq!(user::bind(4).await, 4 + 3 + 4 + 1);
    ::core::assert_eq!(user::bind_sync(2), ::core::result::Result::Ok(2));
    ::core::assert_eq!(user::traced(), 2 + 5);
}
