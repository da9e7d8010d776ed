//! `#[with_context]` on every kind of function it accepts (free functions, methods with
//! any receiver, trait impls, generics, `?`).

// Tests declare helper fns next to their use, and exercise every receiver and shape
// of function the attributes accept, some of which clippy would rewrite.
#![allow(
    clippy::items_after_statements,
    clippy::unused_async,
    clippy::boxed_local
)]

mod support;

use ctxvar::{context_var, uses_context, with_context};
use ctxvar_tests::nested::ITEM_ID;
use ctxvar_tests::{REQUEST_ID, RETRIES, TENANT};

#[uses_context(REQUEST_ID, TENANT)]
async fn describe() -> String {
    format!("{}:{}", TENANT.get(), REQUEST_ID.get())
}

#[with_context(REQUEST_ID = format!("req-{n}"), TENANT = "acme")]
async fn free_async(n: u32) -> String {
    tokio::task::yield_now().await;
    describe().await
}

#[tokio::test]
async fn binds_on_an_async_free_function() {
    assert_eq!(free_async(1).await, "acme:req-1");
    assert!(!REQUEST_ID.is_bound(), "the binding must end with the call");
}

#[with_context(ITEM_ID = id * 2)]
fn free_sync(id: u64) -> u64 {
    ITEM_ID.get()
}

#[test]
fn binds_on_a_plain_function() {
    assert_eq!(free_sync(21), 42);
    assert!(!ITEM_ID.is_bound());
}

#[with_context(ctxvar_tests::nested::ITEM_ID = 5)]
fn bound_by_path() -> u64 {
    // Inside, the variable is read by the last segment of the path.
    ITEM_ID.get()
}

#[test]
fn a_variable_can_be_named_by_path() {
    assert_eq!(bound_by_path(), 5);
}

struct Service {
    tenant: &'static str,
    calls: u32,
}

impl Service {
    #[with_context(TENANT = self.tenant)]
    fn by_ref(&self) -> &'static str {
        TENANT.get()
    }

    #[with_context(TENANT = self.tenant)]
    fn by_mut(&mut self) -> u32 {
        self.calls += 1;
        self.calls + u32::try_from(TENANT.get().len()).unwrap()
    }

    #[with_context(TENANT = self.tenant)]
    fn by_value(self) -> String {
        format!("{}:{}", TENANT.get(), self.calls)
    }

    #[with_context(TENANT = self.tenant)]
    fn boxed(self: Box<Self>) -> &'static str {
        TENANT.get()
    }

    #[with_context(TENANT = self.tenant)]
    async fn async_by_ref(&self) -> &'static str {
        tokio::task::yield_now().await;
        TENANT.get()
    }

    #[with_context(TENANT = self.tenant)]
    async fn async_by_mut(&mut self) -> u32 {
        tokio::task::yield_now().await;
        self.calls += 10;
        self.calls
    }

    #[with_context(TENANT = "assoc")]
    fn associated() -> &'static str {
        TENANT.get()
    }

    #[with_context(TENANT = self.tenant)]
    fn name(&self) -> &str {
        // An elided lifetime in the return type, borrowed from `self`.
        let _ = TENANT.get();
        self.tenant
    }
}

#[tokio::test]
async fn binds_on_methods_with_any_receiver() {
    let mut service = Service {
        tenant: "acme",
        calls: 0,
    };
    assert_eq!(service.by_ref(), "acme");
    assert_eq!(service.by_mut(), 5);
    assert_eq!(service.async_by_ref().await, "acme");
    assert_eq!(service.async_by_mut().await, 11);
    assert_eq!(Service::associated(), "assoc");
    assert_eq!(service.name(), "acme");
    assert_eq!(
        Box::new(Service {
            tenant: "boxed",
            calls: 0
        })
        .boxed(),
        "boxed"
    );
    assert_eq!(service.by_value(), "acme:11");
}

trait Handler {
    fn handle(&self, id: u64) -> impl Future<Output = String> + Send;
    fn handle_sync(&self, id: u64) -> String;
    async fn handle_native(&self, id: u64) -> String;
}

struct MyHandler;

impl Handler for MyHandler {
    #[with_context(ITEM_ID = id)]
    async fn handle(&self, id: u64) -> String {
        tokio::task::yield_now().await;
        format!("handled {}", ITEM_ID.get())
    }

    #[with_context(ITEM_ID = id)]
    fn handle_sync(&self, id: u64) -> String {
        format!("sync {}", ITEM_ID.get())
    }

    #[with_context(ITEM_ID = id)]
    async fn handle_native(&self, id: u64) -> String {
        format!("native {}", ITEM_ID.get())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binds_on_trait_impl_methods() {
    // The `Send` bound of `handle` holds: the scoped future can be spawned.
    let spawned = tokio::spawn(async { MyHandler.handle(3).await });
    assert_eq!(spawned.await.unwrap(), "handled 3");
    assert_eq!(MyHandler.handle_sync(4), "sync 4");
    assert_eq!(MyHandler.handle_native(5).await, "native 5");
}

#[with_context(ITEM_ID = u64::from(value.clone().into()))]
async fn generic<T: Clone + Into<u32>, U>(value: T, extra: U) -> (u64, U)
where
    U: Send,
{
    tokio::task::yield_now().await;
    (ITEM_ID.get(), extra)
}

#[with_context(ITEM_ID = 1)]
fn generic_sync<T: std::fmt::Display>(value: T) -> String {
    format!("{value}{}", ITEM_ID.get())
}

#[tokio::test]
async fn binds_on_generic_functions() {
    assert_eq!(generic(7u8, "x").await, (7, "x"));
    assert_eq!(generic_sync("v"), "v1");
}

#[derive(Debug, PartialEq)]
struct Failed(u64);

impl From<std::num::ParseIntError> for Failed {
    fn from(_: std::num::ParseIntError) -> Self {
        Failed(0)
    }
}

#[with_context(ITEM_ID = 9)]
async fn question_mark(input: &str) -> Result<u64, Failed> {
    tokio::task::yield_now().await;
    let parsed: u64 = input.parse()?;
    if parsed == 0 {
        return Err(Failed(ITEM_ID.get()));
    }
    Ok(parsed + ITEM_ID.get())
}

#[with_context(ITEM_ID = 9)]
fn question_mark_sync(input: &str) -> Result<u64, Failed> {
    let parsed: u64 = input.parse()?;
    if parsed == 0 {
        return Err(Failed(ITEM_ID.get()));
    }
    Ok(parsed + ITEM_ID.get())
}

#[tokio::test]
async fn result_returning_functions_use_question_mark_and_early_return() {
    assert_eq!(question_mark("1").await, Ok(10));
    assert_eq!(question_mark("x").await, Err(Failed(0)));
    assert_eq!(question_mark("0").await, Err(Failed(9)));
    assert!(!ITEM_ID.is_bound(), "restored after `?` and early return");
    assert_eq!(question_mark_sync("1"), Ok(10));
    assert_eq!(question_mark_sync("x"), Err(Failed(0)));
    assert_eq!(question_mark_sync("0"), Err(Failed(9)));
    assert!(!ITEM_ID.is_bound());
}

#[with_context(ITEM_ID = 1)]
fn returns_impl_trait() -> impl std::fmt::Display {
    ITEM_ID.get()
}

#[test]
fn impl_trait_return_types_work() {
    assert_eq!(returns_impl_trait().to_string(), "1");
}

#[with_context(ITEM_ID = 2)]
async fn closures_and_blocks() -> u64 {
    let closure = || ITEM_ID.get();
    let block = async { ITEM_ID.get() };
    let closure_to_block = || async { ITEM_ID.with(|id| *id) };
    closure() + block.await + closure_to_block().await
}

#[tokio::test]
async fn closures_and_async_blocks_in_the_body_read_the_binding() {
    assert_eq!(closures_and_blocks().await, 6);
}

#[context_var]
static ORDER: Vec<&'static str>;

fn record(log: &std::sync::Mutex<Vec<&'static str>>, what: &'static str) -> &'static str {
    log.lock().unwrap().push(what);
    what
}

#[with_context(ORDER = vec![record(log, "first")], TENANT = record(log, "second"))]
fn evaluation_order(
    log: &std::sync::Mutex<Vec<&'static str>>,
) -> (Vec<&'static str>, &'static str) {
    (ORDER.get(), TENANT.get())
}

#[test]
fn values_are_evaluated_left_to_right() {
    let log = std::sync::Mutex::new(Vec::new());
    assert_eq!(evaluation_order(&log), (vec!["first"], "second"));
    assert_eq!(*log.lock().unwrap(), ["first", "second"]);
}

#[with_context(ITEM_ID = 1)]
async fn lazy_values(log: &std::sync::Mutex<Vec<&'static str>>) {
    record(log, "body");
}

#[tokio::test]
async fn async_values_are_evaluated_on_first_poll_in_the_callers_context() {
    #[with_context(TENANT = "outer")]
    async fn caller() -> &'static str {
        inner_reads_caller().await
    }
    // The value of the inner binding reads the caller's binding of the same variable.
    #[with_context(TENANT = if TENANT.get() == "outer" { "saw outer" } else { "no" })]
    #[uses_context(TENANT)]
    async fn inner_reads_caller() -> &'static str {
        TENANT.get()
    }
    assert_eq!(caller().await, "saw outer");

    let log = std::sync::Mutex::new(Vec::new());
    let fut = lazy_values(&log);
    assert!(
        log.lock().unwrap().is_empty(),
        "nothing runs before the first poll"
    );
    fut.await;
    assert_eq!(*log.lock().unwrap(), ["body"]);
}

#[with_context(RETRIES = 0)]
fn rebinding_a_default() -> u32 {
    RETRIES.get()
}

#[test]
fn a_variable_with_a_default_can_be_bound() {
    assert_eq!(RETRIES.get(), 3);
    assert_eq!(rebinding_a_default(), 0);
    assert_eq!(RETRIES.get(), 3);
}

#[with_context(ITEM_ID = 1)]
#[tokio::test]
async fn above_tokio_test() {
    tokio::task::yield_now().await;
    assert_eq!(ITEM_ID.get(), 1);
}

#[tokio::test]
#[with_context(ITEM_ID = 2)]
async fn below_tokio_test() {
    tokio::task::yield_now().await;
    assert_eq!(ITEM_ID.get(), 2);
}
