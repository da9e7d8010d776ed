//! The facts the three Python `contextvars` programs ctxvar grew from show, asserted on
//! the same programs in Rust (see `ctxvar/examples/`): `correlation_id.rs`,
//! `item_loop.rs` and `loop_pitfall.rs`.

// Tests declare helper fns next to their use, and exercise every receiver and shape
// of function the attributes accept, some of which clippy would rewrite.
#![allow(
    clippy::items_after_statements,
    clippy::unused_async,
    clippy::boxed_local
)]

use std::sync::Mutex;

use ctxvar::{uses_context, with_context};
use ctxvar_tests::REQUEST_ID;

/// The first program (`correlation_id.rs`): concurrent requests, and a logging helper
/// that reads the correlation id without taking it as a parameter.
mod correlation_id {
    use super::*;

    static LOG: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

    #[uses_context(REQUEST_ID)]
    async fn log_message(message: String) {
        LOG.lock().unwrap().push((REQUEST_ID.get(), message));
    }

    #[with_context(REQUEST_ID = format!("id-of-{request_data}"))]
    async fn process_request(request_data: String) {
        log_message(format!("Received: {request_data}")).await;
        tokio::task::yield_now().await;
        log_message(format!("Processed: {request_data}")).await;
    }

    #[tokio::test]
    async fn concurrent_requests_log_their_own_correlation_id() {
        let requests = (0..3).map(|i| process_request(format!("request_{i}")));
        futures::future::join_all(requests).await;
        let log = LOG.lock().unwrap().clone();
        assert_eq!(log.len(), 6);
        // The requests interleave: all three are received before any is processed...
        assert!(
            log[..3].iter().all(|(_, m)| m.starts_with("Received")),
            "{log:?}"
        );
        // ...and every line carries the id of the request it is about.
        for (id, message) in &log {
            let request = message.split(": ").nth(1).unwrap();
            assert_eq!(id, &format!("id-of-{request}"));
        }
    }

    /// What the example's subscriber prints, collected here.
    static OUTPUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

    struct Output;

    impl std::io::Write for Output {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            OUTPUT.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    // The example's variable: traced, so every event carries it as a field.
    #[ctxvar::context_var(trace = display)]
    static CORRELATION_ID: String;

    // The example's helper: a plain `tracing::info!` that never reads the variable.
    fn trace_message(message: &str) {
        tracing::info!("{message}");
    }

    #[with_context(CORRELATION_ID = format!("id-of-{request_data}"))]
    async fn traced_request(request_data: String) {
        trace_message(&format!("Received: {request_data}"));
        tokio::task::yield_now().await;
        trace_message(&format!("Processed: {request_data}"));
    }

    #[tokio::test] // one thread: the subscriber below is this thread's default
    async fn log_lines_carry_their_requests_correlation_id_as_a_field() {
        let subscriber = tracing_subscriber::fmt()
            .without_time()
            .with_target(false)
            .with_writer(|| Output)
            .with_ansi(false)
            .map_event_format(ctxvar::trace::ContextFields::text)
            .finish();
        let _default = tracing::subscriber::set_default(subscriber);

        let requests = (0..3).map(|i| traced_request(format!("request_{i}")));
        futures::future::join_all(requests).await;

        let output = String::from_utf8(OUTPUT.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = output.lines().collect();
        assert_eq!(
            lines,
            [
                " INFO Received: request_0 correlation_id=id-of-request_0",
                " INFO Received: request_1 correlation_id=id-of-request_1",
                " INFO Received: request_2 correlation_id=id-of-request_2",
                " INFO Processed: request_0 correlation_id=id-of-request_0",
                " INFO Processed: request_1 correlation_id=id-of-request_1",
                " INFO Processed: request_2 correlation_id=id-of-request_2",
            ]
        );
    }
}

/// The second program (`item_loop.rs`): an async loop over items, each processed with
/// its own `ITEM_ID`, one after another and concurrently.
mod item_loop {
    use super::*;
    use ctxvar::context_var;

    #[context_var]
    static ITEM_ID: &str;

    const ITEMS: [(&str, &str); 3] = [("item1", "data1"), ("item2", "data2"), ("item3", "data3")];

    #[uses_context(ITEM_ID)]
    async fn process_item(log: &Mutex<Vec<String>>, item_data: &str) {
        log.lock()
            .unwrap()
            .push(format!("processing {}: {item_data}", ITEM_ID.get()));
        tokio::task::yield_now().await; // the other items run here, when concurrent
        log.lock()
            .unwrap()
            .push(format!("finished {}", ITEM_ID.get()));
    }

    #[with_context(ITEM_ID = id)]
    async fn process(log: &Mutex<Vec<String>>, id: &'static str, item_data: &str) {
        process_item(log, item_data).await;
    }

    #[tokio::test]
    async fn one_after_another_each_item_sees_its_own_id() {
        let log = Mutex::new(Vec::new());
        for (id, data) in ITEMS {
            ITEM_ID.scope(id, process_item(&log, data)).await;
        }
        assert_eq!(
            log.into_inner().unwrap(),
            [
                "processing item1: data1",
                "finished item1",
                "processing item2: data2",
                "finished item2",
                "processing item3: data3",
                "finished item3",
            ]
        );
        assert!(!ITEM_ID.is_bound(), "a binding ends with its scope");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrently_each_item_sees_its_own_id_after_its_await() {
        let log = Mutex::new(Vec::new());
        futures::future::join_all(ITEMS.map(|(id, data)| process(&log, id, data))).await;
        assert_eq!(
            log.into_inner().unwrap(),
            [
                "processing item1: data1",
                "processing item2: data2",
                "processing item3: data3",
                "finished item1",
                "finished item2",
                "finished item3",
            ]
        );
        assert!(!ITEM_ID.is_bound());
    }
}

/// The third program (`loop_pitfall.rs`), told correctly: a future sees what is bound
/// where it is polled, so a binding around its creation is lost; binding on entry
/// (`#[with_context]`) or spawning with `ctxvar::spawn` (which captures at the call)
/// keeps each value with its work.
mod loop_pitfall {
    use super::*;
    use ctxvar::context_var;

    #[context_var]
    static MESSAGE: &str;

    const MESSAGES: [&str; 3] = ["first", "second", "third"];

    async fn read_message() -> Option<&'static str> {
        tokio::task::yield_now().await;
        MESSAGE.try_get().ok()
    }

    #[with_context(MESSAGE = message)]
    async fn read_own_message(message: &'static str) -> Option<&'static str> {
        read_message().await
    }

    fn create_in_loop() -> Vec<impl Future<Output = Option<&'static str>>> {
        MESSAGES
            .iter()
            .map(|&message| MESSAGE.sync_scope(message, read_message))
            .collect()
    }

    #[cfg(feature = "tokio")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_task_spawned_per_iteration_sees_its_iterations_value() {
        // The Python program; `ctxvar::spawn` captures at the call, as Python's
        // `create_task` copies the context, so this prints first, second, third.
        let tasks: Vec<_> = MESSAGES
            .iter()
            .map(|&message| MESSAGE.sync_scope(message, || ctxvar::spawn(read_message())))
            .collect();
        let mut seen = Vec::new();
        for task in tasks {
            seen.push(task.await.unwrap());
        }
        assert_eq!(seen, [Some("first"), Some("second"), Some("third")]);
    }

    #[tokio::test]
    async fn futures_created_in_a_scope_and_awaited_after_it_see_nothing() {
        let seen = futures::future::join_all(create_in_loop()).await;
        assert_eq!(seen, [None, None, None]);
    }

    #[tokio::test]
    async fn futures_created_in_a_scope_see_the_value_where_they_are_polled() {
        let seen = MESSAGE
            .scope("outer", futures::future::join_all(create_in_loop()))
            .await;
        assert_eq!(seen, [Some("outer"); 3]);
    }

    #[tokio::test]
    async fn binding_on_entry_keeps_each_value_with_its_future() {
        let futures = MESSAGES.map(read_own_message); // created now, polled later
        let seen = MESSAGE
            .scope("outer", futures::future::join_all(futures))
            .await;
        assert_eq!(seen, [Some("first"), Some("second"), Some("third")]);
    }

    #[uses_context(MESSAGE)]
    async fn require_message() -> &'static str {
        MESSAGE.get()
    }

    #[tokio::test]
    async fn a_uses_context_reader_created_in_a_scope_panics_on_its_first_poll() {
        // It compiles (the compiler cannot see where a future is polled); the entry
        // check, on the first poll, finds the scope gone.
        let fut = MESSAGE.sync_scope("first", require_message);
        let err = tokio::spawn(fut).await.unwrap_err();
        let payload = err.into_panic();
        let message = payload.downcast_ref::<String>().unwrap();
        assert!(
            message.starts_with("`require_message` uses context variable `MESSAGE`"),
            "{message}"
        );
    }
}
