//! Model-based property test: random programs, run on tokio's current-thread and
//! multi-thread runtimes, never read a value other than the one the crate docs'
//! semantics give (scopes, reads, defaults, captures, polls; see README.md,
//! "Guarantees").
//!
//! Each generated program is a tree of nested scopes (`VAR.scope`, `A.bind(..).and(..)`,
//! `sync_scope`, and a frame binding 14 variables at once, so that captures also take
//! their path for more than 16 variables), rebinding, yields, reads, captures
//! (`Context::current()` + `ctx.scope` / `ctx.run`, `in_current_context`), spawns with
//! and without context capture (`ctxvar::spawn` / `tokio::spawn`), joins and selects of
//! sibling futures, reads inside `with` closures, futures polled by a "middleware" that
//! binds around each poll, streams (`scope_stream` and `Context::scope_stream`, one
//! item per poll), panics caught at any level, and cancellations (a future dropped
//! after a few polls, `select!` losers, `JoinHandle::abort`, tasks left behind at
//! runtime shutdown).
//!
//! The same tree is interpreted by a reference model ([`Model`]): a plain stack of
//! binding layers per logical task, with no pointers, caches or thread-locals. The model
//! says, for every read (and every destructor that reads), which values it must see and
//! whether it must, may or must not happen; the run records what each read saw. Every
//! recorded read must match, no read may run twice, every read that must happen did,
//! and when the runtime has shut down every bound value has been dropped.
//!
//! Why a model and not more hand-written cases: the runtime's state (one frame pointer
//! and a read cache per thread, restored by guards) is only wrong under particular
//! interleavings of polls, panics and drops; random programs find the interleavings
//! nobody thought of, and shrinking turns them into small named regression tests
//! (at the end of this file).
//!
//! Modules: [`program`] (the trees), [`generate`] (their strategies), [`run`] (the
//! interpreter on tokio), [`reference`] (the model), [`observe`] (what a read sees, for
//! both), [`vars`] (the variables under test). This file holds the properties.
//!
//! Cases: `MODEL_CASES` per runtime flavour; `PROPTEST_CASES=N` overrides it (set low by
//! `.ci/valgrind`, raise it locally for a longer search).

// Programs spawn with `ctxvar::spawn` (feature `tokio`).
#![cfg(feature = "tokio")]
// The interpreter and the model are two big `match`es over the same tree; splitting
// them to please the line-count lint would scatter the semantics they encode.
#![allow(clippy::too_many_lines)]

#[path = "../support/mod.rs"]
mod support;

// `vars` first: its `with_core!` is used by the modules after it.
#[macro_use]
mod vars;
mod generate;
mod observe;
mod program;
mod reference;
mod run;

use std::collections::HashMap;
use std::sync::PoisonError;
use std::sync::atomic::Ordering;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::generate::program;
use crate::program::{Block, Node, Program, SBlock, SyncNode, number};
use crate::reference::{Happen, Model};
use crate::run::{Flavor, run_program};
use crate::vars::{CORE, VA, VB, VD, VTX};

/// Programs per runtime flavour in a default `cargo test` run.
const MODEL_CASES: u32 = 1_500;

// ---------------------------------------------------------------------------------
// Comparing a run with the model
// ---------------------------------------------------------------------------------

/// Runs `program` on `flavor` and compares every observation with the model.
fn check_program(program: &Program, flavor: Flavor) -> Result<(), String> {
    let model = Model::of(program);
    let run = run_program(program, flavor);
    let mut errors = Vec::new();
    errors.extend(
        run.failures
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner),
    );
    let live = run.live.load(Ordering::SeqCst);
    if live != 0 {
        errors.push(format!("{live} values of B were never dropped"));
    }

    let seen = run
        .seen
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let mut count: HashMap<u32, usize> = HashMap::new();
    for (id, obs) in &seen {
        *count.entry(*id).or_default() += 1;
        let expect = &model.reads[id];
        if expect.happen == Happen::Never {
            errors.push(format!("#{id} ran, but must not: saw {obs:?}"));
        } else if !expect.alts.contains(obs) {
            errors.push(format!(
                "#{id} saw {obs:?}, expected {}",
                expect
                    .alts
                    .iter()
                    .map(|alt| format!("{alt:?}"))
                    .collect::<Vec<_>>()
                    .join("  or  ")
            ));
        }
    }
    for (id, expect) in &model.reads {
        match count.get(id).copied().unwrap_or(0) {
            0 if expect.happen == Happen::Must => errors.push(format!("#{id} never ran")),
            0 | 1 => {}
            n => errors.push(format!("#{id} ran {n} times")),
        }
    }

    let ends = run
        .ends
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let mut ended: HashMap<u32, usize> = HashMap::new();
    for (id, end) in &ends {
        *ended.entry(*id).or_default() += 1;
        let (allowed, happen) = &model.tasks[id];
        if *happen == Happen::Never || !allowed.contains(end) {
            errors.push(format!(
                "task #{id} ended {end:?}, expected one of {allowed:?}"
            ));
        }
    }
    for (id, (_, happen)) in &model.tasks {
        if *happen == Happen::Must && !ended.contains_key(id) {
            errors.push(format!("task #{id} was never joined"));
        }
    }

    if errors.is_empty() {
        Ok(())
    } else {
        errors.sort();
        Err(format!(
            "on the {flavor:?} runtime:\n  {}",
            errors.join("\n  ")
        ))
    }
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(MODEL_CASES);
    ProptestConfig {
        cases,
        // A failure is kept as a named regression test below, not in a file.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_programs_on_the_current_thread_runtime_match_the_model(program in program()) {
        check_program(&program, Flavor::CurrentThread).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn random_programs_on_the_multi_thread_runtime_match_the_model(program in program()) {
        check_program(&program, Flavor::MultiThread).map_err(TestCaseError::fail)?;
    }
}

// ---------------------------------------------------------------------------------
// Named regression tests: shrunk programs, written out
// ---------------------------------------------------------------------------------

fn both_flavors(root: Block) {
    let program = number(root);
    for flavor in [Flavor::CurrentThread, Flavor::MultiThread] {
        if let Err(err) = check_program(&program, flavor) {
            panic!("{program:#?}\n{err}");
        }
    }
}

/// A block binding `vars` (values are numbered by `number`).
fn blk(vars: &[usize], guard: bool, body: Vec<Node>) -> Block {
    Block {
        wide: None,
        vals: vars.iter().map(|&var| (var, 0)).collect(),
        guard: guard.then_some(0),
        body,
    }
}

fn sblk(vars: &[usize], body: Vec<SyncNode>) -> SBlock {
    SBlock {
        vals: vars.iter().map(|&var| (var, 0)).collect(),
        guard: None,
        body,
    }
}

// Each of these was shrunk from a failure of the model test against a deliberately
// broken runtime (a bug introduced on purpose, one at a time), then trimmed by hand;
// each fails if that part of the runtime breaks again.

#[test]
fn regression_a_scope_entered_where_an_ended_one_was_does_not_read_its_values() {
    // Two sibling `sync_scope`s at the same stack depth put their frames at the same
    // address. The read cache must not survive the first: with the cache left set,
    // the second saw the first's (freed) `D` instead of the default.
    both_flavors(blk(
        &[],
        false,
        vec![
            Node::Sync(SyncNode::Bind(sblk(&[VD], vec![SyncNode::Read(0)]))),
            Node::Sync(SyncNode::Bind(sblk(&[VA], vec![SyncNode::Read(0)]))),
        ],
    ));
}

#[test]
fn regression_a_cancelled_scope_drops_its_future_inside_its_bindings() {
    // A future dropped mid-way (here after one poll) is dropped with its
    // scope's values still bound; its destructors read them.
    both_flavors(blk(
        &[VB],
        false,
        vec![Node::Cancel {
            polls: 1,
            block: blk(&[VA], true, vec![Node::Yield(false)]),
        }],
    ));
}

#[test]
fn regression_running_a_context_restores_the_callers_bindings() {
    // After `ctx.run` / a poll of `ctx.scope`, the caller's own bindings are back.
    both_flavors(blk(
        &[VA],
        false,
        vec![
            Node::Sync(SyncNode::Run {
                rebind: Vec::new(),
                block: sblk(&[], Vec::new()),
            }),
            Node::Read(0),
            Node::Capture {
                rebind: Vec::new(),
                block: blk(&[], false, vec![Node::Yield(true)]),
            },
            Node::Read(0),
        ],
    ));
}

#[test]
fn regression_a_capture_leaves_out_variables_that_are_not_inherited() {
    both_flavors(blk(
        &[VTX, VA],
        false,
        vec![Node::Capture {
            rebind: Vec::new(),
            block: blk(&[], false, vec![Node::Read(0)]),
        }],
    ));
}

#[test]
fn regression_a_context_hides_its_callers_bindings() {
    // `ctx.run` and `ctx.scope` see exactly the snapshot, not `B`, bound by
    // the caller after the capture.
    both_flavors(blk(
        &[],
        false,
        vec![
            Node::Sync(SyncNode::Run {
                rebind: vec![(VB, 0)],
                block: sblk(&[], vec![SyncNode::Read(0)]),
            }),
            Node::Capture {
                rebind: vec![(VB, 0)],
                block: blk(&[], false, vec![Node::Yield(false), Node::Read(0)]),
            },
        ],
    ));
}

#[test]
fn regression_a_cancelled_context_scope_drops_its_future_inside_the_context() {
    // The guard must see the snapshot (without `TX`), not its dropper's `TX`.
    both_flavors(blk(
        &[VTX],
        false,
        vec![Node::Cancel {
            polls: 1,
            block: blk(
                &[],
                false,
                vec![Node::Capture {
                    rebind: Vec::new(),
                    block: blk(&[], true, vec![Node::Yield(false)]),
                }],
            ),
        }],
    ));
}

#[test]
fn regression_a_capture_of_more_than_16_variables_shadows_and_filters_like_a_small_one() {
    // With `E1`..`E14` and three core variables visible, `Context::current()` gathers
    // more bindings than it keeps on the stack and takes its slower path, which must
    // still keep only the innermost binding of each variable, and no `TX`.
    let captures = || {
        vec![
            Node::Sync(SyncNode::Run {
                rebind: Vec::new(),
                block: sblk(&[], vec![SyncNode::Read(0)]),
            }),
            Node::Capture {
                rebind: Vec::new(),
                block: blk(&[], false, vec![Node::Yield(false), Node::Read(0)]),
            },
        ]
    };
    let mut wide = blk(&[VTX, VA, VB, VD], false, captures());
    // Rebinding `E3` and `A` shadows the wide frame's and the outer `A`.
    wide.body
        .push(Node::Bind(blk(&[CORE + 2, VA], false, captures())));
    wide.wide = Some(0);
    both_flavors(wide);
}

#[test]
fn regression_a_cancelled_context_stream_drops_its_items_inside_the_context() {
    // A stream run in a captured context (here the loser of a `select!`) is dropped in
    // that context: its pending item's guard sees the snapshot (without `TX`), not the
    // `TX` of the scope that drops it.
    both_flavors(blk(
        &[],
        false,
        vec![Node::Select {
            random: false,
            a: blk(&[], false, vec![Node::Yield(false)]),
            b: blk(
                &[VTX],
                false,
                vec![Node::Stream {
                    vals: Vec::new(),
                    capture: true,
                    poll: Vec::new(),
                    items: vec![blk(&[], true, vec![Node::Yield(false), Node::Yield(false)])],
                }],
            ),
        }],
    ));
}
