//! Reading: defaults, the fallible reads, `AccessError`, and the `#[uses_context]`
//! entry check.

// Tests declare helper fns next to their use, and exercise every receiver and shape
// of function the attributes accept, some of which clippy would rewrite.
#![allow(
    clippy::items_after_statements,
    clippy::unused_async,
    clippy::boxed_local
)]

mod support;

use ctxvar::{AccessError, context_var, uses_context, with_context};
use ctxvar_tests::nested::ITEM_ID;
use ctxvar_tests::{REQUEST_ID, RETRIES};
use support::panic_message;

#[context_var]
static LABEL: &str = "default label";

#[context_var]
static LIMITS: (u32, u32) = (1, 2);

#[test]
fn a_variable_with_a_default_reads_it_wherever_it_is_not_bound() {
    assert_eq!(RETRIES.get(), 3);
    assert_eq!(LABEL.get(), "default label");
    assert_eq!(LIMITS.with(|(a, b)| a + b), 3);
    assert_eq!(RETRIES.try_get(), Ok(3));
    assert!(RETRIES.is_bound());
    assert_eq!(RETRIES.sync_scope(5, || RETRIES.get()), 5);
    assert_eq!(RETRIES.get(), 3);
}

#[test]
fn fallible_reads_report_an_unbound_variable() {
    assert!(!ITEM_ID.is_bound());
    let err: AccessError = ITEM_ID.try_get().unwrap_err();
    assert_eq!(err.name(), "ITEM_ID");
    assert_eq!(err.module_path(), "ctxvar_tests::nested");
    assert_eq!(
        err.to_string(),
        "context variable `ITEM_ID` is not bound in the current context"
    );
    assert_eq!(
        REQUEST_ID.try_with(String::len).unwrap_err().name(),
        "REQUEST_ID"
    );
    assert_ne!(
        ITEM_ID.try_get().unwrap_err(),
        REQUEST_ID.try_get().unwrap_err()
    );
    assert_eq!(ITEM_ID.try_get(), ITEM_ID.try_get());
}

#[test]
fn fallible_reads_find_a_binding() {
    ITEM_ID.sync_scope(4, || {
        assert!(ITEM_ID.is_bound());
        assert_eq!(ITEM_ID.try_get(), Ok(4));
        assert_eq!(ITEM_ID.try_with(|id| id * 2), Ok(8));
    });
}

#[uses_context(ITEM_ID)]
fn needs_item() -> u64 {
    ITEM_ID.get()
}

#[test]
fn uses_context_checks_on_entry_and_names_the_function_variable_and_fix() {
    assert_eq!(ITEM_ID.sync_scope(1, needs_item), 1);
    let message = panic_message(|| {
        needs_item();
    });
    assert!(
        message.starts_with(
            "`needs_item` uses context variable `ITEM_ID`, but it is not bound where \
             `needs_item` was called."
        ),
        "{message}"
    );
    // The three causes a user meets, each with its fix.
    for fix in [
        "#[with_context(ITEM_ID = ...)]",
        "ctxvar::spawn",
        "in_current_context()",
        "ctxvar::tower::BindLayer",
    ] {
        assert!(message.contains(fix), "{fix}: {message}");
    }
}

#[uses_context(ITEM_ID)]
async fn needs_item_async() -> u64 {
    ITEM_ID.get()
}

#[tokio::test]
async fn uses_context_on_an_async_fn_checks_on_first_poll() {
    let fut = needs_item_async(); // creating the future checks nothing
    let handle = tokio::spawn(fut);
    let err = handle.await.unwrap_err();
    let payload = err.into_panic();
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(message.starts_with("`needs_item_async` uses context variable `ITEM_ID`"));
    assert_eq!(ITEM_ID.scope(2, needs_item_async()).await, 2);
}

/// Runs `f`, which must panic, and returns the file and line its panic reports, as
/// the panic hook sees them.
fn panic_location<R>(f: impl FnOnce() -> R + std::panic::UnwindSafe) -> (String, u32) {
    let location = std::sync::Arc::new(std::sync::Mutex::new(None));
    let hook_location = location.clone();
    let this_thread = std::thread::current().id();
    let previous = std::panic::take_hook();
    // Tests run in parallel: record only this thread's panic.
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == this_thread {
            *hook_location.lock().unwrap() =
                info.location().map(|l| (l.file().to_string(), l.line()));
        }
    }));
    let result = std::panic::catch_unwind(f);
    std::panic::set_hook(previous);
    assert!(result.is_err(), "expected a panic");
    location.lock().unwrap().clone().expect("a location")
}

#[test]
fn the_entry_check_panics_at_the_attribute() {
    // `#[track_caller]` reports the line of the variable in `#[uses_context(..)]`.
    let (file, line) = panic_location(needs_item);
    assert!(file.ends_with("reads.rs"), "{file}");
    let source = include_str!("reads.rs");
    let attribute_line = source
        .lines()
        .position(|l| l == "#[uses_context(ITEM_ID)]")
        .expect("the attribute is in this file")
        + 1;
    assert_eq!(line as usize, attribute_line);
}

/// `#[uses_context]` leaves a plain fn's body where it is, so `#[track_caller]` keeps
/// working: the body sees its caller's location, and so does the entry check.
#[uses_context(ITEM_ID)]
#[track_caller]
fn tracked() -> (u64, u32) {
    (ITEM_ID.get(), std::panic::Location::caller().line())
}

#[test]
fn track_caller_on_a_uses_context_fn_reports_its_caller() {
    let (read, (id, line)) = (line!(), ITEM_ID.sync_scope(4, || tracked()));
    assert_eq!((id, line), (4, read));

    // Outside a scope the entry check fails.
    let (call, (file, line)) = (line!(), panic_location(|| tracked()));
    assert!(file.ends_with("reads.rs"), "{file}");
    assert_eq!(
        line, call,
        "the entry check reports the call, not the attribute"
    );
}

#[test]
fn a_read_that_escaped_its_scope_panics_with_the_variable_and_cause() {
    // The compile-time check cannot follow work into a function it does not know
    // (here, one that runs a closure on a scoped thread, which starts with nothing
    // bound): the read runs, and fails with a message naming the variable.
    fn on_a_scoped_thread<R: Send>(work: impl FnOnce() -> R + Send) -> R {
        std::thread::scope(|s| s.spawn(work).join().unwrap())
    }
    #[with_context(ITEM_ID = 1)]
    fn leak_through_a_scoped_thread() -> String {
        on_a_scoped_thread(|| {
            panic_message(|| {
                let _ = ITEM_ID.get();
            })
        })
    }
    let message = leak_through_a_scoped_thread();
    assert!(
        message.starts_with("context variable `ITEM_ID` is not bound here"),
        "{message}"
    );
    assert!(message.contains("Likely cause"), "{message}");
}

#[test]
fn a_new_thread_starts_with_nothing_bound() {
    ITEM_ID.sync_scope(1, || {
        let on_thread = std::thread::spawn(|| ITEM_ID.try_get()).join().unwrap();
        assert!(on_thread.is_err());
        assert_eq!(ITEM_ID.try_get(), Ok(1));
    });
}

#[test]
fn reads_during_thread_local_teardown_return_an_error() {
    struct ReadsAtExit(std::sync::mpsc::Sender<Result<u64, AccessError>>);
    impl Drop for ReadsAtExit {
        fn drop(&mut self) {
            let _ = self.0.send(ITEM_ID.try_get());
            // Binding during teardown works too.
            let _ = self.0.send(ITEM_ID.sync_scope(3, || ITEM_ID.try_get()));
        }
    }
    thread_local! {
        static AT_EXIT: std::cell::RefCell<Option<ReadsAtExit>> = const { std::cell::RefCell::new(None) };
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        AT_EXIT.with(|slot| *slot.borrow_mut() = Some(ReadsAtExit(tx)));
    })
    .join()
    .unwrap();
    assert!(rx.recv().unwrap().is_err());
    assert_eq!(rx.recv().unwrap(), Ok(3));
}

#[test]
fn get_clones_and_with_borrows() {
    #[context_var]
    static BIG: Vec<u8>;
    #[with_context(BIG = vec![1; 1024])]
    fn read_big() -> (usize, usize) {
        let cloned = BIG.get();
        (cloned.len(), BIG.with(Vec::len))
    }
    assert_eq!(read_big(), (1024, 1024));
}

#[test]
fn a_variable_whose_type_is_not_clone_is_read_with_with() {
    struct NotClone(u8);
    #[context_var]
    static HANDLE: NotClone;
    #[with_context(HANDLE = NotClone(9))]
    fn read() -> u8 {
        HANDLE.with(|h| h.0)
    }
    assert_eq!(read(), 9);
    assert_eq!(HANDLE.try_with(|h| h.0).ok(), None);
}

#[test]
fn names_are_reported() {
    assert_eq!(ITEM_ID.name(), "ITEM_ID");
    assert_eq!(<dyn ITEM_ID as ctxvar::ContextKey>::name(), "ITEM_ID");
}

#[test]
fn cfg_on_a_declaration_keeps_or_removes_the_whole_variable() {
    use ctxvar_tests::ENABLED;
    assert_eq!(ENABLED.get(), 1);
}
