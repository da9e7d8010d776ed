//! Panic safety and re-entrancy (README.md, "Guarantees"): panics in binding
//! expressions, in `with` closures, in destructors of bound values and of inner
//! futures; reading and binding inside `with` closures and destructors; polling one
//! scope future from inside another's poll; reading during thread-local teardown at
//! thread exit.
//!
//! Each case either works or fails with a clear panic, and in every case the scopes
//! around it are exactly as they were: the tests run inside `in_outer`, which binds
//! every variable in several frames, warms the read cache, and compares what it sees
//! before and after. The runtime keeps one frame pointer and a read cache per thread,
//! restored by guards; a guard that did not run on some unwinding or re-entrant path
//! would show up there as a wrong value, or as a crash.
//!
//! Modules: [`panics`], [`reentrancy`] (reading, binding, capturing and polling inside
//! `with` closures, destructors and other polls), [`thread_exit`] (thread-local
//! teardown). This file holds what they share: the variables, the snapshots and
//! `in_outer`, and the bound value whose destructor counts, panics or reads.

// Tests declare helper fns and types next to their use.
#![allow(clippy::items_after_statements)]

#[path = "../support/mod.rs"]
mod support;

mod panics;
mod reentrancy;
mod thread_exit;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ctxvar::{AccessError, context_var};

/// Required, inherited.
#[context_var]
static ID: u64;

/// Required, heap-allocated.
#[context_var]
static NAME: String;

/// Not inherited.
#[context_var(inherit = false)]
static TX: u64;

/// Has a default.
#[context_var]
static LEVEL: u32 = 0;

/// Values that count their drops, and may panic or read when dropped.
#[context_var]
static RES: Resource;

/// Everything a read can see, for comparing before and after.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Snapshot {
    id: Result<u64, AccessError>,
    name: Result<String, AccessError>,
    tx: Result<u64, AccessError>,
    level: u32,
    res: Result<&'static str, AccessError>,
    bound: [bool; 5],
}

fn snapshot() -> Snapshot {
    Snapshot {
        id: ID.try_get(),
        name: NAME.try_get(),
        tx: TX.try_get(),
        level: LEVEL.get(),
        res: RES.try_with(|res| res.label),
        bound: [
            ID.is_bound(),
            NAME.is_bound(),
            TX.is_bound(),
            LEVEL.is_bound(),
            RES.is_bound(),
        ],
    }
}

/// `snapshot`, reading in the opposite order: the runtime caches its last lookup, and
/// a stale cache entry only shows when a read repeats the previous one's variable.
fn snapshot_in_reverse() -> Snapshot {
    let bound_res = RES.is_bound();
    let bound_level = LEVEL.is_bound();
    let bound_tx = TX.is_bound();
    let bound_name = NAME.is_bound();
    let bound_id = ID.is_bound();
    let res = RES.try_with(|res| res.label);
    let level = LEVEL.get();
    let tx = TX.try_get();
    let name = NAME.try_get();
    let id = ID.try_get();
    Snapshot {
        id,
        name,
        tx,
        level,
        res,
        bound: [bound_id, bound_name, bound_tx, bound_level, bound_res],
    }
}

/// What `in_outer` binds.
fn outer() -> Snapshot {
    Snapshot {
        id: Ok(1),
        name: Ok("outer".to_string()),
        tx: Ok(10),
        level: 70,
        res: Ok("outer"),
        bound: [true; 5],
    }
}

/// What a thread with nothing bound sees.
fn nothing_bound() -> Snapshot {
    Snapshot {
        id: ID.try_get(),
        name: NAME.try_get(),
        tx: TX.try_get(),
        level: 0,
        res: RES.try_with(|res| res.label),
        bound: [false, false, false, true, false],
    }
}

/// Runs `f` inside three frames binding every variable, and checks that they are
/// exactly as before when `f` returns, and that nothing is left bound afterwards.
fn in_outer<R>(f: impl FnOnce() -> R) -> R {
    let result = ID.sync_scope(1, || {
        NAME.bind("outer".to_string())
            .and(TX.bind(10))
            .sync_scope(|| {
                LEVEL
                    .bind(70)
                    .and(RES.bind(Resource::plain("outer")))
                    .sync_scope(|| {
                        // Read twice: the second read of each variable hits the cache.
                        assert_eq!(snapshot(), outer());
                        assert_eq!(snapshot(), outer());
                        let result = f();
                        assert_eq!(snapshot(), outer(), "the scopes around the panic changed");
                        assert_eq!(snapshot_in_reverse(), outer());
                        result
                    })
            })
    });
    assert_eq!(snapshot(), nothing_bound(), "a binding was left behind");
    assert_eq!(snapshot_in_reverse(), nothing_bound());
    result
}

/// Where a `Resource`'s destructor reports what it saw.
type SeenOnDrop = Arc<Mutex<Vec<(Snapshot, u32)>>>;

/// A value of `RES`.
struct Resource {
    label: &'static str,
    drops: Option<Arc<AtomicUsize>>,
    panic_on_drop: bool,
    /// What its destructor saw, after binding `LEVEL = 99` there.
    seen_on_drop: Option<SeenOnDrop>,
}

impl Resource {
    fn new(
        label: &'static str,
        drops: Option<&Arc<AtomicUsize>>,
        panic_on_drop: bool,
        seen_on_drop: Option<&SeenOnDrop>,
    ) -> Self {
        Resource {
            label,
            drops: drops.cloned(),
            panic_on_drop,
            seen_on_drop: seen_on_drop.cloned(),
        }
    }

    fn plain(label: &'static str) -> Self {
        Resource::new(label, None, false, None)
    }

    fn counted(label: &'static str, drops: &Arc<AtomicUsize>) -> Self {
        Resource::new(label, Some(drops), false, None)
    }

    fn panics_on_drop(label: &'static str, drops: &Arc<AtomicUsize>) -> Self {
        Resource::new(label, Some(drops), true, None)
    }

    fn reads_on_drop(label: &'static str, seen: &SeenOnDrop) -> Self {
        Resource::new(label, None, false, Some(seen))
    }
}

impl Drop for Resource {
    fn drop(&mut self) {
        if let Some(drops) = &self.drops {
            drops.fetch_add(1, Ordering::SeqCst);
        }
        if let Some(seen) = &self.seen_on_drop {
            // Reading and binding in a destructor.
            let record = (snapshot(), LEVEL.sync_scope(99, || LEVEL.get()));
            seen.lock().unwrap().push(record);
        }
        assert!(
            !self.panic_on_drop,
            "resource `{}` panicked in drop",
            self.label
        );
    }
}
