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
//!
//! The cases are in files by what they measure (`reads.rs`, `polls.rs`, `binds.rs`
//! for captures and binds, `events.rs` for log lines, `baggage.rs`), included at the
//! end of this file rather than made modules: rustc splits a crate into codegen units
//! by module, and what gets inlined depends on the split (a read of a
//! `tokio::task_local!` declared in another module is a call, not a few
//! instructions). In one module, as the cases were written and measured, the counts
//! measure the libraries, not the layout of this program.

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

// The cases, in one module with the variables and the driver: see the top of the file.
include!("reads.rs");
include!("polls.rs");
include!("binds.rs");
include!("events.rs");
include!("baggage.rs");
