//! `try_get`, `try_with` and `is_bound` in annotated functions compile in any work,
//! `'static` or not, and report what that work sees: nothing in a plain
//! `tokio::spawn`ed task or `std::thread::spawn`ed thread, the value in work that
//! carries the context.

use ctxvar::{AccessError, ContextFutureExt, uses_context, with_context};
use ctxvar_tests::nested::ITEM_ID;
use ctxvar_tests::{REQUEST_ID, TENANT};

mod support;
use support::on_both_runtimes;

#[with_context(ITEM_ID = id)]
async fn in_plain_work(id: u64) -> (Result<u64, AccessError>, bool, String, bool) {
    let task = tokio::spawn(async move { ITEM_ID.try_get() });
    let thread = std::thread::spawn(move || ITEM_ID.is_bound());
    let formatted = tokio::spawn(async move { format!("{:?}", ITEM_ID.try_with(|id| id + 1)) });
    let blocking = tokio::task::spawn_blocking(move || ITEM_ID.is_bound());
    (
        task.await.unwrap(),
        thread.join().unwrap(),
        formatted.await.unwrap(),
        blocking.await.unwrap(),
    )
}

#[test]
fn plain_tasks_and_threads_see_nothing() {
    on_both_runtimes(|| async {
        let (task, thread, formatted, blocking) = in_plain_work(7).await;
        assert_eq!(task.unwrap_err().name(), "ITEM_ID");
        assert!(!thread);
        assert!(formatted.starts_with("Err("), "{formatted}");
        assert!(!blocking);
    });
}

#[uses_context(REQUEST_ID)]
async fn in_carried_work() -> (
    Result<String, AccessError>,
    Result<usize, AccessError>,
    bool,
) {
    // Carried by hand: not a capture point, and the fallible read needs none.
    let task = tokio::spawn(ctxvar::Context::current().scope(async move { REQUEST_ID.try_get() }));
    let future = tokio::spawn(async move { REQUEST_ID.try_with(String::len) }.in_current_context());
    let thread = ctxvar::thread::spawn(move || REQUEST_ID.is_bound());
    (
        task.await.unwrap(),
        future.await.unwrap(),
        thread.join().unwrap(),
    )
}

#[test]
fn carried_work_sees_the_value() {
    on_both_runtimes(|| async {
        let seen = REQUEST_ID.scope("req-1".into(), in_carried_work()).await;
        assert_eq!(seen, (Ok("req-1".to_string()), Ok(5), true));
    });
}

#[with_context(TENANT = tenant)]
fn in_the_function(tenant: &'static str) -> (Result<&'static str, AccessError>, bool, String) {
    // Where the evidence could read too, the fallible reads see the same binding,
    // also inside macros and closures.
    let read = || TENANT.try_get();
    (
        read(),
        TENANT.is_bound(),
        format!("{}", TENANT.try_with(|t| t.len()).unwrap()),
    )
}

#[test]
fn in_the_function_itself_the_reads_see_its_binding() {
    assert_eq!(in_the_function("acme"), (Ok("acme"), true, "4".to_string()));
    assert!(!TENANT.is_bound());
}
