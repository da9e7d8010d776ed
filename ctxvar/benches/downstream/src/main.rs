//! ctxvar against `tokio::task_local!`, built as a user's crate is built: the default
//! release profile (16 codegen units, no LTO), with ctxvar as a dependency.
//!
//! ```sh
//! cargo run --release                 # timings: best of 7, ns per operation
//! cargo run --release -- --tsv        # the same, as tab-separated values
//! cargo run --release -- CASE N       # one case, N operations (for callgrind)
//! cargo run --release -- --list       # the cases
//! ```
//!
//! `report.py` beside this crate runs both and prints the table in the README.
//!
//! Every case is a function of its own, never inlined into the driver, and every
//! future is polled through a `dyn Future` pointer the optimiser cannot see through,
//! so no store around a poll can be hoisted out of the polling loop.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Instant;

use ctxvar::{Context, context_var, uses_context, with_context};

#[context_var]
static C0: u64;
#[context_var]
static C1: u64;
#[context_var]
static C2: u64;
#[context_var]
static C3: u64;
#[context_var]
static C4: u64;
#[context_var]
static C5: u64;
#[context_var]
static C6: u64;
#[context_var]
static C7: u64;
#[context_var(trace)]
static TRACED: u64;
#[context_var(trace = display)]
static TRACED_NAME: &str;

tokio::task_local! {
    static T0: u64;
    static T1: u64;
    static T2: u64;
}

/// One row of the table: a ctxvar case, what it is compared with, and the budget on
/// the ratio.
struct Row {
    name: &'static str,
    what: &'static str,
    ours: fn(u64),
    theirs: fn(u64),
    /// What `theirs` is: tokio, or another ctxvar case.
    baseline: &'static str,
    budget: f64,
    /// Operations per callgrind run (`report.py` counts at twice this and at this):
    /// 100 000 for the nanosecond cases, fewer for those that take microseconds, so
    /// valgrind finishes in seconds.
    calls: u64,
}

const ROWS: &[Row] = &[
    Row {
        name: "get",
        what: "`get` of the innermost binding",
        ours: get_ctxvar,
        theirs: get_tokio,
        baseline: "tokio",
        budget: 1.0,
        calls: 100_000,
    },
    Row {
        name: "with",
        what: "`with` of the innermost binding",
        ours: with_ctxvar,
        theirs: with_tokio,
        baseline: "tokio",
        budget: 1.0,
        calls: 100_000,
    },
    Row {
        name: "try_get",
        what: "`try_get` through a non-inlined fn",
        ours: try_get_ctxvar,
        theirs: try_get_tokio,
        baseline: "tokio",
        budget: 1.0,
        calls: 100_000,
    },
    Row {
        name: "helper",
        what: "a `#[uses_context]` helper that reads with `get`",
        ours: helper_ctxvar,
        theirs: helper_tokio,
        baseline: "tokio",
        budget: 1.0,
        calls: 100_000,
    },
    Row {
        name: "read2",
        what: "2 variables read in turn (per pair)",
        ours: read2_ctxvar,
        theirs: read2_tokio,
        baseline: "tokio",
        budget: 1.0,
        calls: 100_000,
    },
    Row {
        name: "first1",
        what: "poll + first reads of 2 variables bound 1 scope out",
        ours: first1_ctxvar,
        theirs: first1_tokio,
        baseline: "tokio",
        budget: 1.0,
        calls: 100_000,
    },
    Row {
        name: "first4",
        what: "poll + first reads of 2 variables bound 4 scopes out",
        ours: first4_ctxvar,
        theirs: first4_tokio,
        baseline: "tokio",
        budget: 1.0,
        calls: 100_000,
    },
    Row {
        name: "first8",
        what: "poll + first reads of 2 variables bound 8 scopes out",
        ours: first8_ctxvar,
        theirs: first8_tokio,
        baseline: "tokio",
        budget: 1.0,
        calls: 100_000,
    },
    Row {
        name: "poll1",
        what: "poll of one `#[with_context]` binding 1 variable",
        ours: poll1_ctxvar,
        theirs: poll1_tokio,
        baseline: "tokio",
        budget: 1.0,
        calls: 100_000,
    },
    Row {
        name: "poll8",
        what: "poll of one `#[with_context]` binding 8 variables",
        ours: poll8_ctxvar,
        theirs: poll1_ctxvar,
        baseline: "ctxvar, 1 variable",
        budget: 1.2,
        calls: 100_000,
    },
    Row {
        name: "depth16",
        what: "poll of 16 nested scopes",
        ours: depth16_ctxvar,
        theirs: depth16_tokio,
        baseline: "tokio",
        budget: 0.5,
        calls: 100_000,
    },
    Row {
        name: "depth16-boxed",
        what: "poll of 16 nested boxed scopes",
        ours: depth16_boxed_ctxvar,
        theirs: depth16_boxed_tokio,
        baseline: "tokio",
        budget: 0.5,
        calls: 100_000,
    },
    Row {
        name: "capture",
        what: "`Context::current()` + run work in it, one `u64` (tokio: `get` + re-scope)",
        ours: capture_ctxvar,
        theirs: capture_tokio,
        baseline: "tokio",
        budget: 2.0,
        calls: 100_000,
    },
    Row {
        name: "bind",
        what: "bind one `u64` + run to completion",
        ours: bind_ctxvar,
        theirs: bind_tokio,
        baseline: "tokio",
        budget: 1.5,
        calls: 100_000,
    },
    Row {
        name: "traced",
        what: "`#[context_var(trace)]` bind + run, registry subscriber, no event",
        ours: traced_ctxvar,
        theirs: bind_ctxvar,
        baseline: "ctxvar, untraced",
        budget: 2.0,
        calls: 100_000,
    },
    Row {
        name: "event",
        what: "`info!` through `fmt` + `ContextFields` with 2 traced variables bound (baseline: plain `fmt`, nothing bound)",
        ours: event_ctxvar,
        theirs: event_plain,
        baseline: "`tracing-subscriber` `fmt`",
        // Measured and stated, no budget.
        budget: 0.0,
        calls: 100_000,
    },
    Row {
        name: "inject400k",
        what: "`Baggage::inject` into a request whose `baggage` header is 400 KiB of distinct members (about hyper's header limit), 2 listed variables bound (baseline: the same into an 8 KiB header, the W3C maximum)",
        ours: inject_400k,
        theirs: inject_8k,
        baseline: "ctxvar, 8 KiB header",
        budget: 1.2,
        calls: 1_000,
    },
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => timings(false),
        [tsv] if tsv == "--tsv" => timings(true),
        [list] if list == "--list" => {
            for row in ROWS {
                println!("{}-ctxvar\n{}-baseline", row.name, row.name);
            }
        }
        [case, n] => run_case(case, n.parse().expect("N is a number")),
        _ => panic!("usage: downstream [--list | CASE N]"),
    }
}

fn run_case(case: &str, n: u64) {
    let (name, side) = case
        .rsplit_once('-')
        .expect("CASE is NAME-ctxvar or NAME-baseline");
    let row = ROWS
        .iter()
        .find(|row| row.name == name)
        .unwrap_or_else(|| panic!("no case {name}"));
    let f = match side {
        "ctxvar" => row.ours,
        "baseline" => row.theirs,
        _ => panic!("CASE is NAME-ctxvar or NAME-baseline"),
    };
    with_subscriber(|| f(n));
}

/// The registry subscriber is the default for every case, as in a service: only
/// traced variables make spans.
fn with_subscriber(f: impl FnOnce()) {
    use tracing_subscriber::layer::SubscriberExt;
    let subscriber =
        tracing_subscriber::registry().with(tracing_subscriber::filter::LevelFilter::INFO);
    tracing::subscriber::with_default(subscriber, f);
}

/// Nanoseconds per operation: the best of 7 runs of `n` operations, `n` chosen so a
/// run takes about 20 ms.
fn time(f: fn(u64)) -> f64 {
    let mut n = 1_000;
    loop {
        let start = Instant::now();
        f(n);
        if start.elapsed().as_millis() >= 5 {
            break;
        }
        n *= 2;
    }
    n *= 4;
    (0..7)
        .map(|_| {
            let start = Instant::now();
            f(n);
            start.elapsed().as_secs_f64() * 1e9 / n as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// Prints each row's timings: a markdown table, or tab-separated values for
/// `report.py` (name, work, baseline, budget, ctxvar ns, baseline ns, operations per
/// callgrind run).
fn timings(tsv: bool) {
    with_subscriber(|| {
        if !tsv {
            println!("| case | work | ctxvar ns | baseline | baseline ns | ratio | budget |");
            println!("|---|---|---:|---|---:|---:|---:|");
        }
        for row in ROWS {
            // Interleaved, so both sides see the same machine.
            let ours = time(row.ours);
            let theirs = time(row.theirs);
            if tsv {
                println!(
                    "{}\t{}\t{}\t{}\t{ours:.3}\t{theirs:.3}\t{}",
                    row.name, row.what, row.baseline, row.budget, row.calls
                );
            } else {
                println!(
                    "| {} | {} | {ours:.2} | {} | {theirs:.2} | {:.2}x | {}x |",
                    row.name,
                    row.what,
                    row.baseline,
                    ours / theirs,
                    row.budget
                );
            }
        }
    });
}

// ---------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------

#[with_context(C0 = 7)]
#[inline(never)]
fn get_ctxvar(n: u64) {
    for _ in 0..n {
        black_box(C0.get());
    }
}

#[inline(never)]
fn get_tokio(n: u64) {
    T0.sync_scope(7, || {
        for _ in 0..n {
            black_box(T0.get());
        }
    });
}

#[with_context(C0 = 7)]
#[inline(never)]
fn with_ctxvar(n: u64) {
    for _ in 0..n {
        C0.with(|v| black_box(*v));
    }
}

#[inline(never)]
fn with_tokio(n: u64) {
    T0.sync_scope(7, || {
        for _ in 0..n {
            T0.with(|v| black_box(*v));
        }
    });
}

#[inline(never)]
fn try_get_c0() -> Option<u64> {
    C0.try_get().ok()
}

#[inline(never)]
fn try_get_t0() -> Option<u64> {
    T0.try_with(|v| *v).ok()
}

#[inline(never)]
fn try_get_ctxvar(n: u64) {
    C0.sync_scope(7, || {
        for _ in 0..n {
            black_box(try_get_c0());
        }
    });
}

#[inline(never)]
fn try_get_tokio(n: u64) {
    T0.sync_scope(7, || {
        for _ in 0..n {
            black_box(try_get_t0());
        }
    });
}

#[uses_context(C0)]
#[inline(never)]
fn helper_c0() -> u64 {
    C0.get()
}

#[inline(never)]
fn helper_t0() -> u64 {
    T0.get()
}

#[inline(never)]
fn helper_ctxvar(n: u64) {
    C0.sync_scope(7, || {
        for _ in 0..n {
            black_box(helper_c0());
        }
    });
}

#[inline(never)]
fn helper_tokio(n: u64) {
    T0.sync_scope(7, || {
        for _ in 0..n {
            black_box(helper_t0());
        }
    });
}

#[with_context(C0 = 7, C1 = 8)]
#[inline(never)]
fn read2_ctxvar(n: u64) {
    for _ in 0..n {
        black_box(C0.get());
        black_box(C1.get());
    }
}

#[inline(never)]
fn read2_tokio(n: u64) {
    T0.sync_scope(7, || {
        T1.sync_scope(8, || {
            for _ in 0..n {
                black_box(T0.get());
                black_box(T1.get());
            }
        });
    });
}

// ---------------------------------------------------------------------------------
// Polls
// ---------------------------------------------------------------------------------

/// A future that is never ready and does nothing but run `read` on each poll.
struct Leaf<R>(R);

impl<R: Fn() -> u64 + Unpin> Future for Leaf<R> {
    type Output = u64;
    #[inline(never)]
    fn poll(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<u64> {
        black_box((self.0)());
        Poll::Pending
    }
}

fn idle() -> u64 {
    0
}

/// Polls `future` `n` times through a pointer the optimiser cannot see through.
#[inline(never)]
fn poll_n(mut future: Pin<Box<dyn Future<Output = u64> + '_>>, n: u64) {
    let mut cx = TaskContext::from_waker(Waker::noop());
    for _ in 0..n {
        let future = black_box(&mut future);
        let _ = black_box(future.as_mut().poll(&mut cx));
    }
}

#[uses_context(C0, C1)]
fn read_c0_c1() -> u64 {
    C0.get() + C1.get()
}

fn read_t0_t1() -> u64 {
    T0.get() + T1.get()
}

/// `future` inside `levels` scopes, each rebinding one more variable.
fn nest_ctxvar(
    levels: usize,
    future: Pin<Box<dyn Future<Output = u64>>>,
) -> Pin<Box<dyn Future<Output = u64>>> {
    (0..levels).fold(future, |inner, level| {
        Box::pin(C2.scope(level as u64, inner))
    })
}

fn nest_tokio(
    levels: usize,
    future: Pin<Box<dyn Future<Output = u64>>>,
) -> Pin<Box<dyn Future<Output = u64>>> {
    (0..levels).fold(future, |inner, level| {
        Box::pin(T2.scope(level as u64, inner))
    })
}

/// A poll entering `distance` scopes, the outermost binding the two variables the
/// innermost future reads; every poll enters anew, so the reads are the poll's first.
fn first_reads_ctxvar(distance: usize, n: u64) {
    let leaf = nest_ctxvar(distance - 1, Box::pin(Leaf(read_c0_c1)));
    poll_n(Box::pin(C0.bind(1).and(C1.bind(2)).scope(leaf)), n);
}

fn first_reads_tokio(distance: usize, n: u64) {
    let leaf = nest_tokio(distance - 1, Box::pin(Leaf(read_t0_t1)));
    poll_n(Box::pin(T0.scope(1, T1.scope(2, leaf))), n);
}

#[inline(never)]
fn first1_ctxvar(n: u64) {
    first_reads_ctxvar(1, n);
}
#[inline(never)]
fn first1_tokio(n: u64) {
    first_reads_tokio(1, n);
}
#[inline(never)]
fn first4_ctxvar(n: u64) {
    first_reads_ctxvar(4, n);
}
#[inline(never)]
fn first4_tokio(n: u64) {
    first_reads_tokio(4, n);
}
#[inline(never)]
fn first8_ctxvar(n: u64) {
    first_reads_ctxvar(8, n);
}
#[inline(never)]
fn first8_tokio(n: u64) {
    first_reads_tokio(8, n);
}

#[with_context(C0 = 1)]
async fn bind1() -> u64 {
    Leaf(idle).await
}

#[with_context(C0 = 1, C1 = 2, C2 = 3, C3 = 4, C4 = 5, C5 = 6, C6 = 7, C7 = 8)]
async fn bind8() -> u64 {
    Leaf(idle).await
}

#[inline(never)]
fn poll1_ctxvar(n: u64) {
    poll_n(Box::pin(bind1()), n);
}

#[inline(never)]
fn poll1_tokio(n: u64) {
    poll_n(Box::pin(T0.scope(1, Leaf(idle))), n);
}

#[inline(never)]
fn poll8_ctxvar(n: u64) {
    poll_n(Box::pin(bind8()), n);
}

/// 16 scopes nested in one future type, each polling the next directly.
macro_rules! nest16 {
    ($var:ident, $leaf:expr) => {
        $var.scope(
            1,
            $var.scope(
                2,
                $var.scope(
                    3,
                    $var.scope(
                        4,
                        $var.scope(
                            5,
                            $var.scope(
                                6,
                                $var.scope(
                                    7,
                                    $var.scope(
                                        8,
                                        $var.scope(
                                            9,
                                            $var.scope(
                                                10,
                                                $var.scope(
                                                    11,
                                                    $var.scope(
                                                        12,
                                                        $var.scope(
                                                            13,
                                                            $var.scope(
                                                                14,
                                                                $var.scope(
                                                                    15,
                                                                    $var.scope(16, $leaf),
                                                                ),
                                                            ),
                                                        ),
                                                    ),
                                                ),
                                            ),
                                        ),
                                    ),
                                ),
                            ),
                        ),
                    ),
                ),
            ),
        )
    };
}

#[inline(never)]
fn depth16_ctxvar(n: u64) {
    poll_n(Box::pin(nest16!(C2, Leaf(idle))), n);
}

#[inline(never)]
fn depth16_tokio(n: u64) {
    poll_n(Box::pin(nest16!(T2, Leaf(idle))), n);
}

#[inline(never)]
fn depth16_boxed_ctxvar(n: u64) {
    poll_n(nest_ctxvar(16, Box::pin(Leaf(idle))), n);
}

#[inline(never)]
fn depth16_boxed_tokio(n: u64) {
    poll_n(nest_tokio(16, Box::pin(Leaf(idle))), n);
}

// ---------------------------------------------------------------------------------
// Captures and binds
// ---------------------------------------------------------------------------------

#[inline(never)]
fn capture_ctxvar(n: u64) {
    C0.sync_scope(7, || {
        for _ in 0..n {
            let context = black_box(Context::current());
            black_box(context.run(try_get_c0));
        }
    });
}

#[inline(never)]
fn capture_tokio(n: u64) {
    T0.sync_scope(7, || {
        for _ in 0..n {
            let value = black_box(T0.get());
            black_box(T0.sync_scope(value, try_get_t0));
        }
    });
}

/// Polls a future that completes on its first poll.
fn run_to_completion<F: Future>(future: F) -> F::Output {
    let mut cx = TaskContext::from_waker(Waker::noop());
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the case's future completes at once"),
    }
}

#[with_context(C0 = value)]
async fn bound(value: u64) -> u64 {
    C0.get()
}

#[with_context(TRACED = value)]
async fn traced(value: u64) -> u64 {
    TRACED.get()
}

#[inline(never)]
fn bind_ctxvar(n: u64) {
    for i in 0..n {
        black_box(run_to_completion(bound(black_box(i))));
    }
}

#[inline(never)]
fn bind_tokio(n: u64) {
    for i in 0..n {
        black_box(run_to_completion(
            T0.scope(black_box(i), async { T0.get() }),
        ));
    }
}

#[inline(never)]
fn traced_ctxvar(n: u64) {
    for i in 0..n {
        black_box(run_to_completion(traced(black_box(i))));
    }
}

/// `fmt` writing to nowhere, its event format wrapped or not.
fn fmt_to_sink<E>(
    map: impl FnOnce(
        tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Full>,
    ) -> E,
) -> impl tracing::Subscriber
where
    E: for<'w> tracing_subscriber::fmt::FormatEvent<
            tracing_subscriber::Registry,
            tracing_subscriber::fmt::format::DefaultFields,
        > + Send
        + Sync
        + 'static,
{
    tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_ansi(false)
        .map_event_format(map)
        .finish()
}

#[inline(never)]
fn event_ctxvar(n: u64) {
    let subscriber = fmt_to_sink(ctxvar::trace::ContextFields::text);
    tracing::subscriber::with_default(subscriber, || {
        TRACED_NAME.sync_scope("acme", || {
            TRACED.sync_scope(7, || {
                for i in 0..n {
                    tracing::info!(i, "handled");
                }
            });
        });
    });
}

#[inline(never)]
fn event_plain(n: u64) {
    let subscriber = fmt_to_sink(|format| format);
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..n {
            tracing::info!(i, "handled");
        }
    });
}

// ---------------------------------------------------------------------------------
// Baggage
// ---------------------------------------------------------------------------------

#[context_var]
static TENANT: String;

/// The listed variables: bound in both cases, so each call writes two members before
/// it reads the incoming header.
static BAGGAGE: std::sync::LazyLock<ctxvar::baggage::Baggage> = std::sync::LazyLock::new(|| {
    ctxvar::baggage::Baggage::new()
        .var("tenant", TENANT)
        .var("request.id", C0)
});

/// Headers with one `baggage` header of at least `bytes` bytes of short members with
/// distinct keys (`0=1,1=1,..,z=1,10=1,..`: each key is a number in base 62), as a
/// client may send them to a gateway that forwards its headers. Short members are the
/// most members per byte, the most work per byte for a parser.
fn incoming_baggage(bytes: usize) -> http::HeaderMap {
    const DIGITS: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut text = Vec::with_capacity(bytes + 16);
    let mut n = 0usize;
    while text.len() < bytes {
        if n > 0 {
            text.push(b',');
        }
        let start = text.len();
        let mut rest = n;
        loop {
            text.push(DIGITS[rest % 62]);
            rest /= 62;
            if rest == 0 {
                break;
            }
        }
        text[start..].reverse();
        text.extend_from_slice(b"=1");
        n += 1;
    }
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "baggage",
        http::HeaderValue::from_bytes(&text).expect("header text"),
    );
    headers
}

/// `n` calls of `inject`, each into its own copy of `incoming` (a copy shares the
/// header's bytes: a reference-count increment, not a copy of the 400 KiB).
fn inject_n(incoming: &http::HeaderMap, n: u64) {
    TENANT.sync_scope("acme".to_owned(), || {
        C0.sync_scope(7, || {
            for _ in 0..n {
                let mut headers = incoming.clone();
                BAGGAGE.inject(black_box(&mut headers));
                black_box(headers);
            }
        });
    });
}

#[inline(never)]
fn inject_400k(n: u64) {
    inject_n(&incoming_baggage(400 * 1024), n);
}

#[inline(never)]
fn inject_8k(n: u64) {
    inject_n(&incoming_baggage(ctxvar::baggage::MAX_BYTES), n);
}
