//! Stress: tens of thousands of concurrently scoped tasks on the multi-thread runtime,
//! yielding at random, each checking its own values about two thousand times; zero
//! mismatches, and every bound value released when its scope ends (README.md,
//! "Guarantees").
//!
//! Why: a per-thread frame pointer and read cache are only wrong if some interleaving
//! of polls on some worker leaves them pointing at another task's frame. Here
//! thousands of tasks with nested scopes of random depth, captured contexts, child
//! tasks and sibling futures interleave on every worker, moving between workers at
//! every yield, so any such leak shows up as a mismatch. Values count themselves
//! alive: each round ends with none left, so nothing (a frame, a capture, a task)
//! keeps a value beyond its scope, and memory stays bounded over repeated rounds.
//!
//! Size: `CTXVAR_STRESS_TASKS` tasks per round (default below; `.ci/valgrind` sets it
//! low).

// Tasks spawn children with `ctxvar::spawn` (feature `tokio`).
#![cfg(feature = "tokio")]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use ctxvar::{Context, context_var};
use tokio::sync::Barrier;

mod support;
use support::pending_n;

/// Tasks per round in a default `cargo test` run.
const TASKS: u64 = 20_000;
/// Rounds: after each, every value must have been dropped.
const ROUNDS: u64 = 3;
/// How many times each task runs its random work, checking its values throughout.
const PASSES: u64 = 4;
/// Checks of all four variables each time a task checks, in rotating orders.
const CHECKS_PER_CALL: u64 = 16;
/// Deepest nesting of scopes inside a task.
const MAX_DEPTH: u32 = 3;

/// The task's id.
#[context_var]
static TASK: u64;

/// A value that counts itself alive, bound once per scope.
#[context_var]
static PAYLOAD: Counted;

/// Not carried into child tasks.
#[context_var(inherit = false)]
static LOCAL: u64;

/// How deep the current scope is; 0 by default.
#[context_var]
static DEPTH: u32 = 0;

/// Values of `PAYLOAD` alive now, and the most ever alive at once.
static LIVE: AtomicI64 = AtomicI64::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);
static CHECKS: AtomicU64 = AtomicU64::new(0);
static MISMATCHES: AtomicU64 = AtomicU64::new(0);

struct Counted {
    task: u64,
    depth: u32,
    released: Arc<AtomicBool>,
}

impl Counted {
    fn new(task: u64, depth: u32) -> (Self, Arc<AtomicBool>) {
        let live = LIVE.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK.fetch_max(live, Ordering::SeqCst);
        let released = Arc::new(AtomicBool::new(false));
        let value = Counted {
            task,
            depth,
            released: released.clone(),
        };
        (value, released)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.released.store(true, Ordering::SeqCst);
        LIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A small deterministic PRNG (splitmix64), one per task.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What a task's code must see: its own id and payload, the depth it is at, and its
/// `LOCAL` unless it runs in a child task (which does not inherit it).
#[derive(Clone, Copy)]
struct Expected {
    task: u64,
    depth: u32,
    local: Option<u64>,
}

fn check(expected: Expected, order: u64) {
    CHECKS.fetch_add(CHECKS_PER_CALL, Ordering::Relaxed);
    // The variables are read in rotating orders: the first read of each after a poll
    // began walks the chain, later ones hit its read cache, and a stale cache only
    // shows when a read repeats after the chain changed.
    let mut ok = true;
    for round in 0..CHECKS_PER_CALL {
        for n in 0..4 {
            ok &= match (order + round + n) % 4 {
                0 => TASK.try_get() == Ok(expected.task),
                1 => PAYLOAD.try_with(|p| (p.task, p.depth)) == Ok((expected.task, expected.depth)),
                2 => DEPTH.get() == expected.depth,
                _ => LOCAL.try_get().ok() == expected.local,
            };
        }
    }
    if !ok {
        MISMATCHES.fetch_add(1, Ordering::Relaxed);
    }
}

/// Yields 0–2 times, in one of two ways, so polls of all tasks interleave and tasks
/// move between workers.
async fn random_yields(rng: &mut Rng) {
    for _ in 0..rng.below(3) {
        if rng.below(2) == 0 {
            tokio::task::yield_now().await;
        } else {
            pending_n(1).await;
        }
    }
}

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Checks, yields and nests scopes at random, down to `MAX_DEPTH`.
fn work(expected: Expected, mut rng: Rng) -> BoxFut {
    Box::pin(async move {
        for _ in 0..2 {
            check(expected, rng.next());
            random_yields(&mut rng).await;
            check(expected, rng.next());
            match rng.below(6) {
                // A nested scope rebinding the payload and the depth in one frame.
                0 | 1 if expected.depth < MAX_DEPTH => {
                    let inner = Expected {
                        depth: expected.depth + 1,
                        ..expected
                    };
                    let (payload, released) = Counted::new(inner.task, inner.depth);
                    let seed = rng.next();
                    PAYLOAD
                        .bind(payload)
                        .and(DEPTH.bind(inner.depth))
                        .scope(work(inner, Rng(seed)))
                        .await;
                    // The inner scope's value is gone as soon as its scope is.
                    if !released.load(Ordering::SeqCst) {
                        MISMATCHES.fetch_add(1, Ordering::Relaxed);
                    }
                }
                // Two sibling scopes joined in this task.
                2 if expected.depth < MAX_DEPTH => {
                    let inner = Expected {
                        depth: expected.depth + 1,
                        ..expected
                    };
                    let (a, _) = Counted::new(inner.task, inner.depth);
                    let (b, _) = Counted::new(inner.task, inner.depth);
                    let (seed_a, seed_b) = (rng.next(), rng.next());
                    tokio::join!(
                        PAYLOAD
                            .bind(a)
                            .and(DEPTH.bind(inner.depth))
                            .scope(work(inner, Rng(seed_a))),
                        PAYLOAD
                            .bind(b)
                            .and(DEPTH.bind(inner.depth))
                            .scope(work(inner, Rng(seed_b))),
                    );
                }
                // A child task carrying the context, without `LOCAL`.
                3 => {
                    let child = Expected {
                        local: None,
                        ..expected
                    };
                    let order = rng.next();
                    ctxvar::spawn(async move { check(child, order) })
                        .await
                        .unwrap();
                }
                // A capture entered later, after yields, and on a rebinding.
                4 => {
                    let ctx = Context::current();
                    random_yields(&mut rng).await;
                    let captured = Expected {
                        local: None,
                        ..expected
                    };
                    let order = rng.next();
                    TASK.scope(u64::MAX, ctx.scope(async move { check(captured, order) }))
                        .await;
                }
                _ => {}
            }
        }
    })
}

async fn task(id: u64, start: Arc<Barrier>) {
    let (payload, released) = Counted::new(id, 0);
    let expected = Expected {
        task: id,
        depth: 0,
        local: Some(id * 3),
    };
    let body = async move {
        check(expected, id);
        // Every task of the round waits here, inside its scope, until all have
        // started: then they all run at once.
        start.wait().await;
        for pass in 0..PASSES {
            work(expected, Rng(id ^ (pass << 40))).await;
        }
    };
    TASK.bind(id)
        .and(PAYLOAD.bind(payload))
        .and(LOCAL.bind(id * 3))
        .scope(body)
        .await;
    if !released.load(Ordering::SeqCst) {
        MISMATCHES.fetch_add(1, Ordering::Relaxed);
    }
    // Nothing of the task's is left on the worker it finished on.
    if TASK.is_bound() || PAYLOAD.is_bound() || LOCAL.is_bound() || DEPTH.get() != 0 {
        MISMATCHES.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn tens_of_thousands_of_scoped_tasks_never_see_another_tasks_values() {
    let tasks: u64 = std::env::var("CTXVAR_STRESS_TASKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(TASKS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    for round in 0..ROUNDS {
        runtime.block_on(async {
            // All of a round's tasks are in their scopes at once, then interleave on
            // every worker.
            let start = Arc::new(Barrier::new(usize::try_from(tasks).unwrap()));
            let handles: Vec<_> = (0..tasks)
                .map(|n| tokio::spawn(task(round * tasks + n, start.clone())))
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
        });
        assert_eq!(MISMATCHES.load(Ordering::SeqCst), 0, "round {round}");
        assert_eq!(
            LIVE.load(Ordering::SeqCst),
            0,
            "values outlived their scopes in round {round}"
        );
    }
    let checks = CHECKS.load(Ordering::SeqCst);
    // Every task checks once on entry and four times per pass at its top level (more
    // in nested scopes), `CHECKS_PER_CALL` each time: thousands of times on average.
    let least = (1 + 4 * PASSES) * CHECKS_PER_CALL;
    assert!(checks >= ROUNDS * tasks * least, "{checks} checks");
    assert!(checks / (ROUNDS * tasks) >= 1_000, "{checks} checks");
    // Values are bounded by what is in scope at once: each task holds at most one
    // value per level of nesting, times two for joined siblings.
    let peak = PEAK.load(Ordering::SeqCst);
    let tasks = i64::try_from(tasks).unwrap();
    assert!(peak >= tasks, "all tasks were in scope at once");
    assert!(
        peak <= tasks * (2 << MAX_DEPTH),
        "peak of {peak} live values"
    );
    eprintln!(
        "{checks} checks ({} per task), at most {peak} values alive at once",
        checks / (ROUNDS * u64::try_from(tasks).unwrap())
    );
}
