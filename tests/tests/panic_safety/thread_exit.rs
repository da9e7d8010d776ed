//! Thread-local teardown at thread exit: destructors that run after every scope on
//! the thread has ended read errors and defaults, and can bind, capture and poll.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, mpsc};
use std::task::Poll;

use ctxvar::{AccessError, Context};

use crate::support::poll_once;
use crate::{ID, NAME, Snapshot, nothing_bound, snapshot};

/// Everything a destructor does at thread exit, reported over a channel.
#[derive(Debug, PartialEq)]
struct AtExit {
    seen: Snapshot,
    bound_inside: Result<u64, AccessError>,
    captured_empty: bool,
    polled: Poll<Result<u64, AccessError>>,
}

struct ReportsAtExit(mpsc::Sender<AtExit>);

impl Drop for ReportsAtExit {
    fn drop(&mut self) {
        let ctx = Context::current();
        let report = AtExit {
            seen: snapshot(),
            bound_inside: ID.sync_scope(8, || ID.try_get()),
            captured_empty: ID.sync_scope(8, || ctx.run(|| ID.is_bound())),
            polled: poll_once(Box::pin(ID.scope(9, async { ID.try_get() })).as_mut()),
        };
        let _ = self.0.send(report);
    }
}

thread_local! {
    static REPORTER: RefCell<Option<ReportsAtExit>> = const { RefCell::new(None) };
    /// A pending scope future, dropped at thread exit.
    static PENDING: RefCell<Option<Pin<Box<dyn Future<Output = ()>>>>> = const { RefCell::new(None) };
}

fn expected_at_exit() -> AtExit {
    AtExit {
        seen: nothing_bound(),
        bound_inside: Ok(8),
        captured_empty: false,
        polled: Poll::Ready(Ok(9)),
    }
}

#[test]
fn thread_local_destructors_read_errors_and_defaults_and_can_bind() {
    // Registered inside scopes, run at thread exit after they have all ended: the
    // destructor finds nothing bound (defaults still apply), and can bind, capture
    // and poll as anywhere else.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        ID.sync_scope(1, || {
            NAME.sync_scope("registered".to_string(), || {
                REPORTER.with(|slot| *slot.borrow_mut() = Some(ReportsAtExit(tx)));
            });
        });
    })
    .join()
    .expect("the thread exits cleanly");
    assert_eq!(rx.recv().unwrap(), expected_at_exit());

    // A thread that ran in a captured context: the context has ended by teardown.
    let (tx, rx) = mpsc::channel();
    let handle = ID.sync_scope(1, || {
        ctxvar::thread::spawn(move || {
            assert_eq!(ID.try_get(), Ok(1));
            REPORTER.with(|slot| *slot.borrow_mut() = Some(ReportsAtExit(tx)));
        })
    });
    handle.join().expect("the thread exits cleanly");
    assert_eq!(rx.recv().unwrap(), expected_at_exit());
}

#[test]
fn a_scope_future_dropped_at_thread_exit_still_binds_for_its_destructors() {
    let seen = Arc::new(Mutex::new(None));
    let guard_seen = seen.clone();
    std::thread::spawn(move || {
        struct ReadsOnDrop(Arc<Mutex<Option<Snapshot>>>);
        impl Drop for ReadsOnDrop {
            fn drop(&mut self) {
                *self.0.lock().unwrap() = Some(snapshot());
            }
        }
        let guard = ReadsOnDrop(guard_seen);
        let mut fut: Pin<Box<dyn Future<Output = ()>>> = Box::pin(ID.scope(6, async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }));
        assert!(poll_once(fut.as_mut()).is_pending());
        PENDING.with(|slot| *slot.borrow_mut() = Some(fut));
    })
    .join()
    .expect("the thread exits cleanly");
    let seen = seen.lock().unwrap().take().expect("dropped at thread exit");
    assert_eq!(seen.id, Ok(6));
    assert!(seen.name.is_err());
}

#[cfg(feature = "tokio")] // `ctxvar::spawn`
#[test]
fn tokio_worker_threads_tear_down_cleanly() {
    let (tx, rx) = mpsc::channel();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async move {
        ID.scope(1, async move {
            ctxvar::spawn(async move {
                // Registered on a worker thread, inside the task's context.
                assert_eq!(ID.try_get(), Ok(1));
                REPORTER.with(|slot| *slot.borrow_mut() = Some(ReportsAtExit(tx)));
            })
            .await
            .unwrap();
        })
        .await;
    });
    // Shutting the runtime down ends its worker threads.
    drop(runtime);
    assert_eq!(rx.recv().unwrap(), expected_at_exit());
}
