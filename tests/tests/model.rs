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
//! Cases: `MODEL_CASES` per runtime flavour; `PROPTEST_CASES=N` overrides it (set low by
//! `.ci/valgrind`, raise it locally for a longer search).

// Programs spawn with `ctxvar::spawn` (feature `tokio`).
#![cfg(feature = "tokio")]
// The interpreter and the model are two big `match`es over the same tree; splitting
// them to please the line-count lint would scatter the semantics they encode.
#![allow(clippy::too_many_lines)]

mod support;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::task::Poll;

use ctxvar::{Context, ContextFutureExt as _, ContextVar, context_var};
use futures::{FutureExt as _, StreamExt as _};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tokio::task::JoinHandle;

use support::pending_n;

/// Programs per runtime flavour in a default `cargo test` run.
const MODEL_CASES: u32 = 1_500;

// The variables under test: a plain one, one whose values count themselves (to prove
// they are all released), one that is not inherited, and one with a default.

/// Required, inherited.
#[context_var]
static A: u64;

/// Required, inherited; its values count how many are alive.
#[context_var]
static B: Tracked;

/// Required, never carried into spawned tasks or captured contexts (`inherit = false`).
#[context_var(inherit = false)]
static TX: u64;

/// Has a default, read wherever it is not bound.
#[context_var]
static D: u64 = D_DEFAULT;

const D_DEFAULT: u64 = 0;

// Fourteen more plain variables: with them, a capture can see more than the 16
// bindings `Context::current()` gathers on the stack, and take its other path.
#[context_var]
static E1: u64;
#[context_var]
static E2: u64;
#[context_var]
static E3: u64;
#[context_var]
static E4: u64;
#[context_var]
static E5: u64;
#[context_var]
static E6: u64;
#[context_var]
static E7: u64;
#[context_var]
static E8: u64;
#[context_var]
static E9: u64;
#[context_var]
static E10: u64;
#[context_var]
static E11: u64;
#[context_var]
static E12: u64;
#[context_var]
static E13: u64;
#[context_var]
static E14: u64;

/// `A`, `B`, `TX`, `D`: the variables programs bind most.
const CORE: usize = 4;
const EXTRA: usize = 14;
const NV: usize = CORE + EXTRA;
const VAR_NAMES: [&str; NV] = [
    "A", "B", "TX", "D", "E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8", "E9", "E10", "E11", "E12",
    "E13", "E14",
];
/// Which variables `Context::current()` captures.
const INHERITED: [bool; NV] = {
    let mut inherited = [true; NV];
    inherited[2] = false; // TX
    inherited
};

/// Runs `$body` with `$v` bound to the core variable whose index is `$var`.
macro_rules! with_core {
    ($var:expr, |$v:ident| $body:expr) => {
        match $var {
            0 => {
                let $v = A;
                $body
            }
            1 => {
                let $v = B;
                $body
            }
            2 => {
                let $v = TX;
                $body
            }
            3 => {
                let $v = D;
                $body
            }
            _ => unreachable!("no core variable {}", $var),
        }
    };
}

/// Runs `$body` with `$v` bound to the extra variable whose index is `$var`.
macro_rules! with_extra {
    ($var:expr, |$v:ident| $body:expr) => {
        match $var {
            4 => {
                let $v = E1;
                $body
            }
            5 => {
                let $v = E2;
                $body
            }
            6 => {
                let $v = E3;
                $body
            }
            7 => {
                let $v = E4;
                $body
            }
            8 => {
                let $v = E5;
                $body
            }
            9 => {
                let $v = E6;
                $body
            }
            10 => {
                let $v = E7;
                $body
            }
            11 => {
                let $v = E8;
                $body
            }
            12 => {
                let $v = E9;
                $body
            }
            13 => {
                let $v = E10;
                $body
            }
            14 => {
                let $v = E11;
                $body
            }
            15 => {
                let $v = E12;
                $body
            }
            16 => {
                let $v = E13;
                $body
            }
            17 => {
                let $v = E14;
                $body
            }
            _ => unreachable!("no extra variable {}", $var),
        }
    };
}

/// Runs `$body` with `$v` bound to the variable whose index is `$var`.
macro_rules! with_var {
    ($var:expr, |$v:ident| $body:expr) => {
        if $var < CORE {
            with_core!($var, |$v| $body)
        } else {
            with_extra!($var, |$v| $body)
        }
    };
}

// ---------------------------------------------------------------------------------
// Programs
// ---------------------------------------------------------------------------------

/// Bindings of one binding call: `(variable index, value)`, later entries shadow
/// earlier ones. Values are unique across a program, so a read that sees another
/// scope's (or task's) value cannot pass by coincidence.
type Vals = Vec<(usize, u64)>;

/// A scope: binds `vals` (over whatever its poller has bound), creates a guard whose
/// destructor reads, then runs `body`. If `wide`, an outer frame first binds all of
/// `E1`..`E14` at once, to `base + 1`..`base + 14`.
#[derive(Clone)]
struct Block {
    wide: Option<u64>,
    vals: Vals,
    guard: Option<u32>,
    body: Vec<Node>,
}

/// Async code.
#[derive(Clone)]
enum Node {
    /// Read every variable and record what was seen.
    Read(u32),
    /// Return `Pending` once (`true`: `tokio::task::yield_now`, `false`: wake at once).
    Yield(bool),
    /// `panic_any(Boom)`: unwinds to the nearest `Catch`.
    Raise,
    Sync(SyncNode),
    /// `scope` the block.
    Bind(Block),
    /// The block, under `catch_unwind`.
    Catch(Block),
    /// `let ctx = Context::current();` then, inside `rebind`, `ctx.scope(block)`: the
    /// block sees the snapshot, not `rebind`.
    Capture {
        rebind: Vals,
        block: Block,
    },
    /// The block's future is created inside `create` (and captures there if `capture`,
    /// with `in_current_context`), then awaited inside `poll`: futures are lazy and see
    /// their poller.
    Lazy {
        create: Vals,
        poll: Vals,
        capture: bool,
        block: Block,
    },
    /// The block polled by a middleware that binds `first` around its first poll and
    /// `later` around every later one (a future sees its poller's bindings).
    Handoff {
        first: Vals,
        later: Vals,
        block: Block,
    },
    /// The block as a task: `ctxvar::spawn` if `inherit`, else `tokio::spawn`.
    Spawn {
        id: u32,
        inherit: bool,
        end: End,
        block: Block,
    },
    /// `join_all` of sibling blocks.
    Join(Vec<Block>),
    /// `tokio::select!` of two blocks: the loser is dropped mid-way. Polled in order
    /// (`biased;`, deterministic, so failures shrink well) or, if `random`, in the order
    /// tokio picks.
    Select {
        random: bool,
        a: Block,
        b: Block,
    },
    /// Poll the block at most `polls` times, then drop it.
    Cancel {
        polls: u8,
        block: Block,
    },
    /// A stream whose items run `items`, one block per `poll_next`, with `vals` bound
    /// by `scope_stream` around every poll of it; if `capture`, inside
    /// `Context::current().scope_stream`, captured where the stream is made. It is
    /// consumed to its end, with `poll` bound around the consumer.
    Stream {
        vals: Vals,
        capture: bool,
        poll: Vals,
        items: Vec<Block>,
    },
}

/// What the spawner does with the task.
#[derive(Clone, Copy, Debug)]
enum End {
    /// Awaits it.
    Await,
    /// Yields this many times, then aborts it and awaits the handle.
    Abort(u8),
    /// Drops the handle; the harness awaits it after the program.
    Detach,
}

#[derive(Clone)]
struct SBlock {
    vals: Vals,
    guard: Option<u32>,
    body: Vec<SyncNode>,
}

/// Synchronous code, run inside closures.
#[derive(Clone)]
enum SyncNode {
    Read(u32),
    Raise,
    /// `sync_scope` the block.
    Bind(SBlock),
    /// The block, under `catch_unwind`.
    Catch(SBlock),
    /// `let ctx = Context::current();` then, inside `rebind`, `ctx.run(block)`.
    Run {
        rebind: Vals,
        block: SBlock,
    },
    /// The block inside `VAR.try_with(|_| ..)`: runs only if the variable is bound,
    /// and reads and binds while the runtime lends out a reference.
    With {
        var: usize,
        block: SBlock,
    },
}

#[derive(Clone, Debug)]
struct Program {
    root: Block,
}

// Compact `Debug` for blocks: shrunk programs are printed on failure.
impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(base) = self.wide {
            write!(f, "wide[E*={base}+] ")?;
        }
        debug_block(f, &self.vals, self.guard, &self.body)
    }
}

impl fmt::Debug for SBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_block(f, &self.vals, self.guard, &self.body)
    }
}

fn debug_block<T: fmt::Debug>(
    f: &mut fmt::Formatter<'_>,
    vals: &Vals,
    guard: Option<u32>,
    body: &[T],
) -> fmt::Result {
    write!(f, "{:?}", ShowVals(vals))?;
    if let Some(id) = guard {
        write!(f, " guard#{id}")?;
    }
    f.write_str(" ")?;
    f.debug_list().entries(body).finish()
}

/// `[A=1,B=2]`.
struct ShowVals<'a>(&'a Vals);

impl fmt::Debug for ShowVals<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let vals: Vec<String> = self
            .0
            .iter()
            .map(|&(var, value)| format!("{}={value}", VAR_NAMES[var]))
            .collect();
        write!(f, "[{}]", vals.join(","))
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Read(id) => write!(f, "Read#{id}"),
            Node::Yield(false) => f.write_str("Yield"),
            Node::Yield(true) => f.write_str("YieldNow"),
            Node::Raise => f.write_str("Raise"),
            Node::Sync(node) => f.debug_tuple("Sync").field(node).finish(),
            Node::Bind(block) => f.debug_tuple("Bind").field(block).finish(),
            Node::Catch(block) => f.debug_tuple("Catch").field(block).finish(),
            Node::Capture { rebind, block } => f
                .debug_struct("Capture")
                .field("rebind", &ShowVals(rebind))
                .field("block", block)
                .finish(),
            Node::Lazy {
                create,
                poll,
                capture,
                block,
            } => f
                .debug_struct("Lazy")
                .field("create", &ShowVals(create))
                .field("poll", &ShowVals(poll))
                .field("capture", capture)
                .field("block", block)
                .finish(),
            Node::Handoff {
                first,
                later,
                block,
            } => f
                .debug_struct("Handoff")
                .field("first", &ShowVals(first))
                .field("later", &ShowVals(later))
                .field("block", block)
                .finish(),
            Node::Spawn {
                id,
                inherit,
                end,
                block,
            } => f
                .debug_struct(&format!("Spawn#{id}"))
                .field("inherit", inherit)
                .field("end", end)
                .field("block", block)
                .finish(),
            Node::Join(blocks) => f.debug_tuple("Join").field(blocks).finish(),
            Node::Select { random, a, b } => f
                .debug_struct("Select")
                .field("random", random)
                .field("a", a)
                .field("b", b)
                .finish(),
            Node::Cancel { polls, block } => f
                .debug_struct("Cancel")
                .field("polls", polls)
                .field("block", block)
                .finish(),
            Node::Stream {
                vals,
                capture,
                poll,
                items,
            } => f
                .debug_struct("Stream")
                .field("vals", &ShowVals(vals))
                .field("capture", capture)
                .field("poll", &ShowVals(poll))
                .field("items", items)
                .finish(),
        }
    }
}

impl fmt::Debug for SyncNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncNode::Read(id) => write!(f, "Read#{id}"),
            SyncNode::Raise => f.write_str("Raise"),
            SyncNode::Bind(block) => f.debug_tuple("Bind").field(block).finish(),
            SyncNode::Catch(block) => f.debug_tuple("Catch").field(block).finish(),
            SyncNode::Run { rebind, block } => f
                .debug_struct("Run")
                .field("rebind", &ShowVals(rebind))
                .field("block", block)
                .finish(),
            SyncNode::With { var, block } => f
                .debug_struct(&format!("With({})", VAR_NAMES[*var]))
                .field("block", block)
                .finish(),
        }
    }
}

/// Gives every read, guard and task a unique id and every bound value a unique value.
#[derive(Default)]
struct Numbering {
    next_id: u32,
    next_value: u64,
}

impl Numbering {
    fn id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    fn vals(&mut self, vals: &mut Vals) {
        for (_, value) in vals {
            self.next_value += 1;
            *value = D_DEFAULT + self.next_value;
        }
    }

    fn block(&mut self, block: &mut Block) {
        if block.wide.is_some() {
            block.wide = Some(D_DEFAULT + self.next_value);
            self.next_value += EXTRA as u64;
        }
        self.vals(&mut block.vals);
        if block.guard.is_some() {
            block.guard = Some(self.id());
        }
        for node in &mut block.body {
            self.node(node);
        }
    }

    fn sblock(&mut self, block: &mut SBlock) {
        self.vals(&mut block.vals);
        if block.guard.is_some() {
            block.guard = Some(self.id());
        }
        for node in &mut block.body {
            self.sync(node);
        }
    }

    fn node(&mut self, node: &mut Node) {
        match node {
            Node::Read(id) => *id = self.id(),
            Node::Yield(_) | Node::Raise => {}
            Node::Sync(node) => self.sync(node),
            Node::Bind(block) | Node::Catch(block) | Node::Cancel { block, .. } => {
                self.block(block);
            }
            Node::Capture { rebind, block } => {
                self.vals(rebind);
                self.block(block);
            }
            Node::Lazy {
                create,
                poll,
                block,
                ..
            } => {
                self.vals(create);
                self.vals(poll);
                self.block(block);
            }
            Node::Handoff {
                first,
                later,
                block,
            } => {
                self.vals(first);
                self.vals(later);
                self.block(block);
            }
            Node::Spawn { id, block, .. } => {
                *id = self.id();
                self.block(block);
            }
            Node::Join(blocks) => blocks.iter_mut().for_each(|block| self.block(block)),
            Node::Select { a, b, .. } => {
                self.block(a);
                self.block(b);
            }
            Node::Stream {
                vals, poll, items, ..
            } => {
                self.vals(vals);
                self.vals(poll);
                for block in items {
                    self.block(block);
                }
            }
        }
    }

    fn sync(&mut self, node: &mut SyncNode) {
        match node {
            SyncNode::Read(id) => *id = self.id(),
            SyncNode::Raise => {}
            SyncNode::Bind(block) | SyncNode::Catch(block) | SyncNode::With { block, .. } => {
                self.sblock(block);
            }
            SyncNode::Run { rebind, block } => {
                self.vals(rebind);
                self.sblock(block);
            }
        }
    }
}

fn number(mut root: Block) -> Program {
    Numbering::default().block(&mut root);
    Program { root }
}

// ---------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------

/// Which variables a binding call binds (values are assigned by `Numbering`).
fn vals(min: usize, max: usize) -> impl Strategy<Value = Vals> + Clone {
    let var = prop_oneof![6 => 0..CORE, 1 => CORE..NV];
    prop::collection::vec(var, min..=max)
        .prop_map(|vars| vars.into_iter().map(|var| (var, 0)).collect())
}

fn sblock(inner: impl Strategy<Value = SyncNode> + Clone) -> impl Strategy<Value = SBlock> + Clone {
    raising_sblock(inner, 2)
}

/// As `raising_block`, for synchronous code.
fn raising_sblock(
    inner: impl Strategy<Value = SyncNode> + Clone,
    in64: u32,
) -> impl Strategy<Value = SBlock> + Clone {
    (
        vals(0, 3),
        any::<bool>(),
        prop::collection::vec(inner, 0..4),
        0..64u32,
    )
        .prop_map(move |(vals, guard, mut body, raise)| {
            if raise >= 64 - in64 {
                body.push(SyncNode::Raise);
            }
            SBlock {
                vals,
                guard: guard.then_some(0),
                body,
            }
        })
}

fn sync_node() -> BoxedStrategy<SyncNode> {
    Just(SyncNode::Read(0))
        .prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                sblock(inner.clone()).prop_map(SyncNode::Bind),
                raising_sblock(inner.clone(), 32).prop_map(SyncNode::Catch),
                (vals(0, 2), sblock(inner.clone()))
                    .prop_map(|(rebind, block)| SyncNode::Run { rebind, block }),
                (0..CORE, sblock(inner)).prop_map(|(var, block)| SyncNode::With { var, block }),
            ]
        })
        .boxed()
}

fn block(inner: impl Strategy<Value = Node> + Clone) -> impl Strategy<Value = Block> + Clone {
    raising_block(inner, 1)
}

/// A block that ends with a `Raise` in `in64`/64 of the cases. Panics come at the
/// end of blocks rather than anywhere, so that they do not cut most programs short.
fn raising_block(
    inner: impl Strategy<Value = Node> + Clone,
    in64: u32,
) -> impl Strategy<Value = Block> + Clone {
    (
        vals(0, 3),
        any::<bool>(),
        prop::collection::vec(inner, 0..5),
        0..64u32,
        0..16u32,
    )
        .prop_map(move |(vals, guard, mut body, raise, wide)| {
            // Both shrink towards 0: no panic, no wide frame.
            if raise >= 64 - in64 {
                body.push(Node::Raise);
            }
            Block {
                wide: (wide == 15).then_some(0),
                vals,
                guard: guard.then_some(0),
                body,
            }
        })
}

/// A `Catch` whose block ends with a `Raise` half the time.
fn catch(inner: impl Strategy<Value = Node> + Clone) -> impl Strategy<Value = Node> + Clone {
    raising_block(inner, 32).prop_map(Node::Catch)
}

fn leaf() -> impl Strategy<Value = Node> + Clone {
    prop_oneof![
        4 => Just(Node::Read(0)),
        2 => any::<bool>().prop_map(Node::Yield),
        1 => sync_node().prop_map(Node::Sync),
    ]
}

/// The nodes whose polls are deterministic: no tasks, joins, selects or cancellation.
/// A `Handoff` body uses only these, so the model knows which of its polls each read
/// runs in.
fn sequential_node() -> BoxedStrategy<Node> {
    leaf()
        .prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                block(inner.clone()).prop_map(Node::Bind),
                catch(inner.clone()),
                (vals(0, 2), block(inner.clone()))
                    .prop_map(|(rebind, block)| Node::Capture { rebind, block }),
                (vals(0, 2), vals(0, 2), any::<bool>(), block(inner.clone())).prop_map(
                    |(create, poll, capture, block)| Node::Lazy {
                        create,
                        poll,
                        capture,
                        block
                    }
                ),
                (vals(0, 2), vals(0, 2), block(inner)).prop_map(|(first, later, block)| {
                    Node::Handoff {
                        first,
                        later,
                        block,
                    }
                }),
            ]
        })
        .boxed()
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        3 => Just(End::Await),
        1 => (0..3u8).prop_map(End::Abort),
        1 => Just(End::Detach),
    ]
}

fn node() -> BoxedStrategy<Node> {
    leaf()
        .prop_recursive(5, 160, 3, |inner| {
            prop_oneof![
                3 => block(inner.clone()).prop_map(Node::Bind),
                3 => catch(inner.clone()),
                2 => (vals(0, 2), block(inner.clone()))
                    .prop_map(|(rebind, block)| Node::Capture { rebind, block }),
                1 => (vals(0, 2), vals(0, 2), any::<bool>(), block(inner.clone())).prop_map(
                    |(create, poll, capture, block)| Node::Lazy {
                        create,
                        poll,
                        capture,
                        block
                    }
                ),
                2 => (vals(0, 2), vals(0, 2), block(sequential_node())).prop_map(
                    |(first, later, block)| Node::Handoff {
                        first,
                        later,
                        block,
                    }
                ),
                3 => (any::<bool>(), end(), raising_block(inner.clone(), 12)).prop_map(
                    |(inherit, end, block)| Node::Spawn {
                        id: 0,
                        inherit,
                        end,
                        block
                    }
                ),
                2 => prop::collection::vec(raising_block(inner.clone(), 6), 2..=3)
                    .prop_map(Node::Join),
                2 => (
                    any::<bool>(),
                    raising_block(inner.clone(), 6),
                    raising_block(inner.clone(), 6)
                )
                    .prop_map(|(random, a, b)| Node::Select { random, a, b }),
                2 => (1..4u8, block(inner.clone()))
                    .prop_map(|(polls, block)| Node::Cancel { polls, block }),
                2 => (
                    vals(0, 2),
                    any::<bool>(),
                    vals(0, 2),
                    prop::collection::vec(raising_block(inner, 6), 1..=3)
                )
                    .prop_map(|(vals, capture, poll, items)| Node::Stream {
                        vals,
                        capture,
                        poll,
                        items
                    }),
            ]
        })
        .boxed()
}

fn program() -> impl Strategy<Value = Program> {
    (vals(0, 3), prop::collection::vec(node(), 1..8)).prop_map(|(vals, body)| {
        number(Block {
            wide: None,
            vals,
            guard: None,
            body,
        })
    })
}

// ---------------------------------------------------------------------------------
// What a read sees
// ---------------------------------------------------------------------------------

/// The bound value of each variable (`None`: not bound).
type Env = [Option<u64>; NV];

/// What one read observed: `try_get` (`None` for an error) and `is_bound` of each
/// variable.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Obs {
    get: [Option<u64>; NV],
    bound: [bool; NV],
}

impl fmt::Debug for Obs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (var, name) in VAR_NAMES.iter().enumerate() {
            if var >= CORE && self.get[var].is_none() && !self.bound[var] {
                continue; // unbound extras are noise
            }
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            match self.get[var] {
                Some(value) => write!(f, "{name}={value}")?,
                None => write!(f, "{name}=err")?,
            }
            if self.bound[var] != self.get[var].is_some() {
                f.write_str("(is_bound disagrees)")?;
            }
        }
        Ok(())
    }
}

/// What a read sees in `env`: the value, the default, or an error.
fn expected_obs(env: &Env) -> Obs {
    let mut defaults = [None; NV];
    defaults[3] = Some(D_DEFAULT);
    let mut obs = Obs {
        get: [None; NV],
        bound: [false; NV],
    };
    for var in 0..NV {
        obs.get[var] = env[var].or(defaults[var]);
        obs.bound[var] = obs.get[var].is_some();
    }
    obs
}

/// Marks an error that names the wrong variable, so it cannot match any expectation.
const WRONG_ERROR: u64 = u64::MAX;

fn checked<T>(
    result: Result<T, ctxvar::AccessError>,
    name: &str,
    value: impl Fn(T) -> u64,
) -> Option<u64> {
    match result {
        Ok(v) => Some(value(v)),
        Err(err) if err.name() == name => None,
        Err(_) => Some(WRONG_ERROR),
    }
}

/// Reads every variable with the runtime, through each read API.
fn observe() -> Obs {
    let d = D.get();
    let d_try = D.try_get().ok();
    let mut obs = Obs {
        get: [None; NV],
        bound: [false; NV],
    };
    obs.get[..CORE].copy_from_slice(&[
        checked(A.try_get(), "A", |v| v),
        checked(B.try_with(|b| b.id), "B", |v| v),
        checked(TX.try_get(), "TX", |v| v),
        // The infallible read of a variable with a default must agree with `try_get`.
        if d_try == Some(d) {
            d_try
        } else {
            Some(WRONG_ERROR)
        },
    ]);
    obs.bound[..CORE].copy_from_slice(&[A.is_bound(), B.is_bound(), TX.is_bound(), D.is_bound()]);
    for (var, name) in VAR_NAMES.iter().enumerate().skip(CORE) {
        with_extra!(var, |v| {
            obs.get[var] = checked(v.try_get(), name, |x| x);
            obs.bound[var] = v.is_bound();
        });
    }
    obs
}

// ---------------------------------------------------------------------------------
// Running a program
// ---------------------------------------------------------------------------------

/// The panic payload of `Raise`; any other payload is a real failure.
struct Boom;

/// How a task ended, as its `JoinHandle` reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TaskEnd {
    Completed,
    Panicked,
    Cancelled,
}

/// What a run records, shared by all its tasks.
#[derive(Default)]
struct Shared {
    seen: Mutex<Vec<(u32, Obs)>>,
    ends: Mutex<Vec<(u32, TaskEnd)>>,
    failures: Mutex<Vec<String>>,
    detached: Mutex<Vec<(u32, JoinHandle<()>)>>,
    /// `B` values alive.
    live: AtomicIsize,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Never panic here: this runs in destructors, possibly while unwinding.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn record(&self, id: u32) {
        let obs = observe();
        lock(&self.seen).push((id, obs));
    }

    fn fail(&self, message: String) {
        lock(&self.failures).push(message);
    }

    /// A caught panic must be ours: anything else (a panic inside the runtime) fails.
    fn check_caught<T>(&self, result: std::thread::Result<T>) {
        if let Err(payload) = result
            && !payload.is::<Boom>()
        {
            self.fail(format!(
                "unexpected panic: {}",
                payload_text(payload.as_ref())
            ));
        }
    }
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string payload".to_string()
    }
}

/// A value of `B`: counts itself alive in `Shared::live`.
struct Tracked {
    id: u64,
    shared: Arc<Shared>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.shared.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Builds a variable's value from a program's value.
trait MakeValue {
    fn make(value: u64, shared: &Arc<Shared>) -> Self;
}

impl MakeValue for u64 {
    fn make(value: u64, _: &Arc<Shared>) -> Self {
        value
    }
}

impl MakeValue for Tracked {
    fn make(id: u64, shared: &Arc<Shared>) -> Self {
        shared.live.fetch_add(1, Ordering::SeqCst);
        Tracked {
            id,
            shared: shared.clone(),
        }
    }
}

/// Reads every variable when dropped: destructors see the scope's bindings.
struct Guard {
    shared: Arc<Shared>,
    id: u32,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.shared.record(self.id);
    }
}

fn guard(shared: &Arc<Shared>, id: Option<u32>) -> Option<Guard> {
    id.map(|id| Guard {
        shared: shared.clone(),
        id,
    })
}

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One frame binding one variable, `VAR.scope(value, fut)`.
fn scope1<V>(var: V, value: u64, shared: &Arc<Shared>, fut: BoxFut) -> BoxFut
where
    V: ContextVar<Key: 'static, Value: MakeValue>,
{
    Box::pin(var.scope(V::Value::make(value, shared), fut))
}

/// One frame binding two variables, `V.bind(a).and(W.bind(b)).scope(fut)`.
fn scope2<V, W>(v: V, a: u64, w: W, b: u64, shared: &Arc<Shared>, fut: BoxFut) -> BoxFut
where
    V: ContextVar<Key: 'static, Value: MakeValue>,
    W: ContextVar<Key: 'static, Value: MakeValue>,
{
    let bindings = v
        .bind(V::Value::make(a, shared))
        .and(w.bind(W::Value::make(b, shared)));
    Box::pin(bindings.scope(fut))
}

/// `fut` with `vals` bound: pairs of core variables share a frame, later values
/// shadow earlier ones.
fn scope_all(vals: &[(usize, u64)], shared: &Arc<Shared>, fut: BoxFut) -> BoxFut {
    match vals {
        [] => fut,
        [(a, x), (b, y), rest @ ..] if *a < CORE && *b < CORE => {
            let inner = scope_all(rest, shared, fut);
            with_core!(*a, |v| with_core!(*b, |w| scope2(
                v, *x, w, *y, shared, inner
            )))
        }
        [(var, value), rest @ ..] => {
            let inner = scope_all(rest, shared, fut);
            with_var!(*var, |v| scope1(v, *value, shared, inner))
        }
    }
}

type BoxStream = Pin<Box<dyn futures::Stream<Item = ()> + Send>>;

/// `stream` with `vals` bound around each of its polls, one binding call each (later
/// values shadow earlier ones): `VAR.bind(value).scope_stream(stream)`.
fn scope_stream_all(vals: &[(usize, u64)], shared: &Arc<Shared>, stream: BoxStream) -> BoxStream {
    match vals {
        [] => stream,
        [(var, value), rest @ ..] => {
            let inner = scope_stream_all(rest, shared, stream);
            with_var!(*var, |v| Box::pin(
                v.bind(MakeValue::make(*value, shared)).scope_stream(inner)
            ) as BoxStream)
        }
    }
}

/// `fut` with `E1`..`E14` bound to `base + 1`..`base + 14` in one frame.
fn scope_wide(base: u64, fut: BoxFut) -> BoxFut {
    let bindings = E1
        .bind(base + 1)
        .and(E2.bind(base + 2))
        .and(E3.bind(base + 3))
        .and(E4.bind(base + 4))
        .and(E5.bind(base + 5))
        .and(E6.bind(base + 6))
        .and(E7.bind(base + 7))
        .and(E8.bind(base + 8))
        .and(E9.bind(base + 9))
        .and(E10.bind(base + 10))
        .and(E11.bind(base + 11))
        .and(E12.bind(base + 12))
        .and(E13.bind(base + 13))
        .and(E14.bind(base + 14));
    Box::pin(bindings.scope(fut))
}

/// What `scope_wide(base, ..)` binds.
fn wide_vals(base: u64) -> Vals {
    (CORE..NV)
        .map(|var| (var, base + (var - CORE) as u64 + 1))
        .collect()
}

fn sync1<V>(var: V, value: u64, shared: &Arc<Shared>, f: impl FnOnce())
where
    V: ContextVar<Value: MakeValue>,
{
    var.sync_scope(V::Value::make(value, shared), f);
}

fn sync2<V, W>(first: (V, u64), second: (W, u64), shared: &Arc<Shared>, f: impl FnOnce())
where
    V: ContextVar<Value: MakeValue>,
    W: ContextVar<Value: MakeValue>,
{
    let (first, first_value) = first;
    let (second, second_value) = second;
    first
        .bind(V::Value::make(first_value, shared))
        .and(second.bind(W::Value::make(second_value, shared)))
        .sync_scope(f);
}

/// `f` with `vals` bound, as `scope_all` does for futures.
fn sync_all(vals: &[(usize, u64)], shared: &Arc<Shared>, body: &mut dyn FnMut()) {
    match vals {
        [] => body(),
        [(a, x), (b, y), rest @ ..] if *a < CORE && *b < CORE => {
            let inner = || sync_all(rest, shared, body);
            with_core!(*a, |v| with_core!(*b, |w| sync2(
                (v, *x),
                (w, *y),
                shared,
                inner
            )));
        }
        [(var, value), rest @ ..] => {
            let inner = || sync_all(rest, shared, body);
            with_var!(*var, |v| sync1(v, *value, shared, inner));
        }
    }
}

fn run_sync(shared: &Arc<Shared>, node: &SyncNode) {
    match node {
        SyncNode::Read(id) => shared.record(*id),
        SyncNode::Raise => std::panic::panic_any(Boom),
        SyncNode::Bind(block) => run_sblock(shared, block),
        SyncNode::Catch(block) => {
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| run_sblock(shared, block)));
            shared.check_caught(result);
        }
        SyncNode::Run { rebind, block } => {
            let ctx = Context::current();
            sync_all(rebind, shared, &mut || {
                ctx.run(|| run_sblock(shared, block));
            });
        }
        SyncNode::With { var, block } => {
            // Unbound: the closure does not run (the model knows).
            let _ = with_core!(*var, |v| v.try_with(|_| run_sblock(shared, block)));
        }
    }
}

fn run_sblock(shared: &Arc<Shared>, block: &SBlock) {
    sync_all(&block.vals, shared, &mut || {
        let _guard = guard(shared, block.guard);
        for node in &block.body {
            run_sync(shared, node);
        }
    });
}

fn run_block(shared: &Arc<Shared>, block: Block) -> BoxFut {
    let Block {
        wide,
        vals,
        guard: id,
        body,
    } = block;
    let inner_shared = shared.clone();
    let inner = Box::pin(async move {
        let _guard = guard(&inner_shared, id);
        for node in body {
            run_node(&inner_shared, node).await;
        }
    });
    let scoped = scope_all(&vals, shared, inner);
    match wide {
        Some(base) => scope_wide(base, scoped),
        None => scoped,
    }
}

/// Polls `inner` with `first` bound around its first poll and `later` around the
/// others: middleware that wraps each `inner.poll` in a scope.
struct Handoff {
    inner: BoxFut,
    first: Vals,
    later: Vals,
    polls: u32,
    shared: Arc<Shared>,
}

impl Future for Handoff {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let vals = if this.polls == 0 {
            &this.first
        } else {
            &this.later
        };
        this.polls += 1;
        let mut out = Poll::Pending;
        sync_all(vals, &this.shared, &mut || {
            out = this.inner.as_mut().poll(cx);
        });
        out
    }
}

/// Polls `inner` at most `left` times, then drops it (cancellation mid-way).
struct PollLimit {
    inner: Option<BoxFut>,
    left: u8,
}

impl Future for PollLimit {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(());
        };
        if inner.as_mut().poll(cx).is_ready() {
            self.inner = None;
            return Poll::Ready(());
        }
        self.left -= 1;
        if self.left == 0 {
            // Dropped here, inside this poll: its destructors run in our poller's
            // bindings, under the dropped scopes' own.
            self.inner = None;
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

fn task_end(shared: &Shared, result: Result<(), tokio::task::JoinError>) -> TaskEnd {
    match result {
        Ok(()) => TaskEnd::Completed,
        Err(err) if err.is_cancelled() => TaskEnd::Cancelled,
        Err(err) => {
            shared.check_caught(Err::<(), _>(err.into_panic()));
            TaskEnd::Panicked
        }
    }
}

fn run_node(shared: &Arc<Shared>, node: Node) -> BoxFut {
    let shared = shared.clone();
    Box::pin(async move {
        match node {
            Node::Read(id) => shared.record(id),
            Node::Yield(false) => pending_n(1).await,
            Node::Yield(true) => tokio::task::yield_now().await,
            Node::Raise => std::panic::panic_any(Boom),
            Node::Sync(node) => run_sync(&shared, &node),
            Node::Bind(block) => run_block(&shared, block).await,
            Node::Catch(block) => {
                let result = AssertUnwindSafe(run_block(&shared, block))
                    .catch_unwind()
                    .await;
                shared.check_caught(result);
            }
            Node::Capture { rebind, block } => {
                let ctx = Context::current();
                let inner: BoxFut = Box::pin(ctx.scope(run_block(&shared, block)));
                scope_all(&rebind, &shared, inner).await;
            }
            Node::Lazy {
                create,
                poll,
                capture,
                block,
            } => {
                let mut block = Some(block);
                let mut fut = None;
                sync_all(&create, &shared, &mut || {
                    let inner = run_block(&shared, block.take().expect("created once"));
                    fut = Some(if capture {
                        Box::pin(inner.in_current_context()) as BoxFut
                    } else {
                        inner
                    });
                });
                scope_all(&poll, &shared, fut.expect("created")).await;
            }
            Node::Handoff {
                first,
                later,
                block,
            } => {
                Handoff {
                    inner: run_block(&shared, block),
                    first,
                    later,
                    polls: 0,
                    shared: shared.clone(),
                }
                .await;
            }
            Node::Spawn {
                id,
                inherit,
                end,
                block,
            } => {
                let task = run_block(&shared, block);
                let handle = if inherit {
                    ctxvar::spawn(task)
                } else {
                    tokio::spawn(task)
                };
                match end {
                    End::Await => {
                        let end = task_end(&shared, handle.await);
                        lock(&shared.ends).push((id, end));
                    }
                    End::Abort(yields) => {
                        for _ in 0..yields {
                            pending_n(1).await;
                        }
                        handle.abort();
                        let end = task_end(&shared, handle.await);
                        lock(&shared.ends).push((id, end));
                    }
                    End::Detach => lock(&shared.detached).push((id, handle)),
                }
            }
            Node::Join(blocks) => {
                let branches = blocks.into_iter().map(|block| run_block(&shared, block));
                futures::future::join_all(branches).await;
            }
            Node::Select {
                random: false,
                a,
                b,
            } => {
                tokio::select! {
                    biased;
                    () = run_block(&shared, a) => {}
                    () = run_block(&shared, b) => {}
                }
            }
            Node::Select { random: true, a, b } => {
                tokio::select! {
                    () = run_block(&shared, a) => {}
                    () = run_block(&shared, b) => {}
                }
            }
            Node::Cancel { polls, block } => {
                PollLimit {
                    inner: Some(run_block(&shared, block)),
                    left: polls,
                }
                .await;
            }
            Node::Stream {
                vals,
                capture,
                poll,
                items,
            } => {
                let item_shared = shared.clone();
                let inner: BoxStream = Box::pin(
                    futures::stream::iter(items).then(move |item| run_block(&item_shared, item)),
                );
                let scoped = scope_stream_all(&vals, &shared, inner);
                let mut stream: BoxStream = if capture {
                    Box::pin(Context::current().scope_stream(scoped))
                } else {
                    scoped
                };
                let consume: BoxFut =
                    Box::pin(async move { while stream.next().await.is_some() {} });
                scope_all(&poll, &shared, consume).await;
            }
        }
    })
}

#[derive(Clone, Copy, Debug)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

/// Runs `program` on a fresh runtime of `flavor`, shuts the runtime down, and returns
/// everything it recorded.
fn run_program(program: &Program, flavor: Flavor) -> Shared {
    quiet_intentional_panics();
    let shared = Arc::new(Shared::default());
    let runtime = match flavor {
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread().build(),
        Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build(),
    }
    .expect("a runtime");
    let root_shared = shared.clone();
    let root_block = program.root.clone();
    let root = async move {
        // The root is a `Catch`: a `Raise` outside any other ends the program.
        let result = AssertUnwindSafe(run_block(&root_shared, root_block))
            .catch_unwind()
            .await;
        root_shared.check_caught(result);
        // Detached tasks run to the end (tasks they detach in turn included).
        loop {
            let next = lock(&root_shared.detached).pop();
            let Some((id, handle)) = next else { break };
            let end = task_end(&root_shared, handle.await);
            lock(&root_shared.ends).push((id, end));
        }
    };
    match flavor {
        Flavor::CurrentThread => runtime.block_on(root),
        // On a worker, so the root task too moves between threads.
        Flavor::MultiThread => runtime
            .block_on(runtime.spawn(root))
            .expect("the root catches every panic"),
    }
    // Tasks left behind (their spawner was cancelled) are dropped here.
    drop(runtime);
    drop(std::mem::take(&mut *lock(&shared.detached)));
    Arc::try_unwrap(shared).unwrap_or_else(|shared| {
        panic!(
            "{} references to the run's state outlived the runtime: a future or value leaked",
            Arc::strong_count(&shared) - 1
        )
    })
}

/// Our `Raise`s would print thousands of panic messages; other panics still print.
fn quiet_intentional_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<Boom>() {
                default(info);
            }
        }));
    });
}

// ---------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------

/// Whether a read (or a destructor, or a task's end) is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Happen {
    Must,
    /// It may be cut off by a cancellation, or by a sibling's panic.
    May,
    /// It comes after a panic, or in a `with` closure that does not run.
    Never,
}

impl Happen {
    fn weaken(self) -> Self {
        match self {
            Happen::Must => Happen::May,
            other => other,
        }
    }
}

/// How a piece of code ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Out {
    Done,
    Raised,
    /// It may or may not panic (a panic inside a branch that may be cancelled first).
    Maybe,
}

/// One layer of what is bound, from the task's root up to the running code.
#[derive(Clone, Debug)]
enum Layer {
    /// A captured context (or a task's start): hides everything below.
    Root(Box<Env>),
    /// A binding call.
    Bind(Vals),
    /// A middleware binding `first` around the first poll of its future, `later`
    /// around the others; `polls` counts the polls so far.
    Handoff {
        first: Vals,
        later: Vals,
        polls: u32,
    },
}

fn apply(env: &mut Env, vals: &Vals) {
    for &(var, value) in vals {
        env[var] = Some(value);
    }
}

/// What is visible on top of `layers`.
fn env_of(layers: &[Layer]) -> Env {
    let mut env = [None; NV];
    for layer in layers {
        match layer {
            Layer::Root(root) => env = **root,
            Layer::Bind(vals) => apply(&mut env, vals),
            Layer::Handoff {
                first,
                later,
                polls,
            } => apply(&mut env, if *polls == 0 { first } else { later }),
        }
    }
    env
}

/// What a destructor sees when the future holding it is dropped by code that sees
/// `dropper`: every scope between enters its bindings to drop its inner future, a
/// context enters its snapshot; a middleware binds only around polls.
fn drop_env(dropper: &Env, layers: &[Layer]) -> Env {
    let mut env = *dropper;
    for layer in layers {
        match layer {
            Layer::Root(root) => env = **root,
            Layer::Bind(vals) => apply(&mut env, vals),
            Layer::Handoff { .. } => {}
        }
    }
    env
}

/// What a capture holds: everything visible, except variables that are not inherited.
fn inherited(mut env: Env) -> Env {
    for var in 0..NV {
        if !INHERITED[var] {
            env[var] = None;
        }
    }
    env
}

/// The model's state in one logical task (or one branch of a join or select).
#[derive(Clone)]
struct State {
    layers: Vec<Layer>,
    /// Where the code may be dropped mid-way: the layer the dropped future starts at,
    /// and what its dropper sees.
    cancels: Vec<(usize, Env)>,
    happen: Happen,
}

impl State {
    fn task(root: &Env, cancellable: bool, happen: Happen) -> Self {
        State {
            layers: vec![Layer::Root(Box::new(*root))],
            cancels: if cancellable {
                vec![(0, [None; NV])]
            } else {
                Vec::new()
            },
            happen: if cancellable { happen.weaken() } else { happen },
        }
    }

    /// A branch that may be dropped mid-way by code that sees what this sees now.
    fn cancellable_branch(&self) -> Self {
        let mut branch = self.clone();
        branch
            .cancels
            .push((self.layers.len(), env_of(&self.layers)));
        branch.happen = self.happen.weaken();
        branch
    }
}

/// What a read must observe (any of `alts`) and whether it runs.
#[derive(Debug)]
struct Expect {
    alts: Vec<Obs>,
    happen: Happen,
}

#[derive(Default)]
struct Model {
    reads: HashMap<u32, Expect>,
    tasks: HashMap<u32, (Vec<TaskEnd>, Happen)>,
}

impl Model {
    fn of(program: &Program) -> Self {
        let mut model = Model::default();
        let mut state = State::task(&[None; NV], false, Happen::Must);
        let _ = model.block(&mut state, &program.root); // the root catches
        model
    }

    fn expect(&mut self, id: u32, alts: Vec<Obs>, happen: Happen) {
        let previous = self.reads.insert(id, Expect { alts, happen });
        assert!(previous.is_none(), "id {id} used twice");
    }

    fn read(&mut self, state: &State, id: u32) {
        let obs = expected_obs(&env_of(&state.layers));
        self.expect(id, vec![obs], state.happen);
    }

    /// A guard created when its block started (in mode `happen`), dropped now: at the
    /// block's end or while unwinding, in the block's bindings; or earlier, if the block
    /// is cancelled, by whoever drops it.
    fn guard(&mut self, state: &State, id: u32, happen: Happen, cancellable: bool) {
        let mut alts = vec![expected_obs(&env_of(&state.layers))];
        if cancellable {
            for (start, dropper) in &state.cancels {
                let alt = expected_obs(&drop_env(dropper, &state.layers[*start..]));
                if !alts.contains(&alt) {
                    alts.push(alt);
                }
            }
        }
        self.expect(id, alts, happen);
    }

    fn block(&mut self, state: &mut State, block: &Block) -> Out {
        let happen = state.happen;
        let depth = state.layers.len();
        if let Some(base) = block.wide {
            state.layers.push(Layer::Bind(wide_vals(base)));
        }
        state.layers.push(Layer::Bind(block.vals.clone()));
        let out = self.body(state, &block.body);
        if let Some(id) = block.guard {
            self.guard(state, id, happen, true);
        }
        state.layers.truncate(depth);
        out
    }

    fn body(&mut self, state: &mut State, body: &[Node]) -> Out {
        let happen = state.happen;
        let mut out = Out::Done;
        for node in body {
            match out {
                Out::Raised => {
                    self.never(node);
                    continue;
                }
                Out::Maybe => state.happen = state.happen.weaken(),
                Out::Done => {}
            }
            out = match (out, self.node(state, node)) {
                (_, Out::Raised) => Out::Raised,
                (Out::Maybe, _) | (_, Out::Maybe) => Out::Maybe,
                _ => Out::Done,
            };
        }
        state.happen = happen;
        out
    }

    /// Runs `f` on a state with `layers` pushed, then pops them.
    fn layered(
        &mut self,
        state: &mut State,
        layers: Vec<Layer>,
        f: impl FnOnce(&mut Self, &mut State) -> Out,
    ) -> Out {
        let depth = state.layers.len();
        state.layers.extend(layers);
        let out = f(self, state);
        state.layers.truncate(depth);
        out
    }

    fn node(&mut self, state: &mut State, node: &Node) -> Out {
        match node {
            Node::Read(id) => {
                self.read(state, *id);
                Out::Done
            }
            Node::Yield(_) => {
                // One `Pending`: every middleware around this code sees one more poll.
                for layer in &mut state.layers {
                    if let Layer::Handoff { polls, .. } = layer {
                        *polls += 1;
                    }
                }
                Out::Done
            }
            Node::Raise => Out::Raised,
            Node::Sync(node) => self.sync(state, node),
            Node::Bind(block) => self.block(state, block),
            Node::Catch(block) => {
                let _ = self.block(state, block);
                Out::Done
            }
            Node::Capture { rebind, block } => {
                let captured = inherited(env_of(&state.layers));
                let layers = vec![Layer::Bind(rebind.clone()), Layer::Root(Box::new(captured))];
                self.layered(state, layers, |model, state| model.block(state, block))
            }
            Node::Lazy {
                create,
                poll,
                capture,
                block,
            } => {
                let mut layers = vec![Layer::Bind(poll.clone())];
                if *capture {
                    let mut at_creation = env_of(&state.layers);
                    apply(&mut at_creation, create);
                    layers.push(Layer::Root(Box::new(inherited(at_creation))));
                }
                // Without a capture, where the future was created does not matter.
                self.layered(state, layers, |model, state| model.block(state, block))
            }
            Node::Handoff {
                first,
                later,
                block,
            } => {
                let layers = vec![Layer::Handoff {
                    first: first.clone(),
                    later: later.clone(),
                    polls: 0,
                }];
                self.layered(state, layers, |model, state| model.block(state, block))
            }
            Node::Spawn {
                id,
                inherit,
                end,
                block,
            } => {
                let root = if *inherit {
                    inherited(env_of(&state.layers))
                } else {
                    [None; NV]
                };
                // Aborted, or orphaned when the spawner is cancelled first and then
                // dropped at shutdown by a thread with nothing bound.
                let aborted = matches!(end, End::Abort(_));
                let cancellable = aborted || state.happen != Happen::Must;
                let mut task = State::task(&root, cancellable, state.happen);
                let out = self.block(&mut task, block);
                let mut ends = match out {
                    Out::Done => vec![TaskEnd::Completed],
                    Out::Raised => vec![TaskEnd::Panicked],
                    Out::Maybe => vec![TaskEnd::Completed, TaskEnd::Panicked],
                };
                if cancellable {
                    // Aborted; or cancelled at shutdown while its (orphaned) spawner
                    // still runs and sees that.
                    ends.push(TaskEnd::Cancelled);
                }
                self.tasks.insert(*id, (ends, state.happen));
                Out::Done
            }
            Node::Join(blocks) => {
                // A branch that panics drops its unfinished siblings.
                let outs: Vec<Out> = blocks
                    .iter()
                    .map(|block| Model::default().block(&mut state.clone(), block))
                    .collect();
                let may_raise = outs.iter().any(|&out| out != Out::Done);
                for block in blocks {
                    let mut branch = if may_raise {
                        state.cancellable_branch()
                    } else {
                        state.clone()
                    };
                    let _ = self.block(&mut branch, block);
                }
                if outs.contains(&Out::Raised) {
                    Out::Raised
                } else if may_raise {
                    Out::Maybe
                } else {
                    Out::Done
                }
            }
            Node::Select { a, b, .. } => {
                let mut raises = false;
                for block in [a, b] {
                    raises |= self.block(&mut state.cancellable_branch(), block) != Out::Done;
                }
                if raises { Out::Maybe } else { Out::Done }
            }
            Node::Cancel { block, .. } => {
                match self.block(&mut state.cancellable_branch(), block) {
                    Out::Done => Out::Done,
                    Out::Raised | Out::Maybe => Out::Maybe,
                }
            }
            Node::Stream {
                vals,
                capture,
                poll,
                items,
            } => {
                // The consumer's bindings, then the snapshot taken where the stream was
                // made (if any), then the stream's own; each item is a scope in them.
                let mut layers = vec![Layer::Bind(poll.clone())];
                if *capture {
                    layers.push(Layer::Root(Box::new(inherited(env_of(&state.layers)))));
                }
                layers.push(Layer::Bind(vals.clone()));
                let items: Vec<Node> = items.iter().cloned().map(Node::Bind).collect();
                self.layered(state, layers, |model, state| model.body(state, &items))
            }
        }
    }

    fn sblock(&mut self, state: &mut State, block: &SBlock) -> Out {
        let happen = state.happen;
        state.layers.push(Layer::Bind(block.vals.clone()));
        let mut out = Out::Done;
        for node in &block.body {
            if out == Out::Raised {
                self.never_sync(node);
            } else {
                out = self.sync(state, node);
            }
        }
        if let Some(id) = block.guard {
            // Synchronous code is never dropped mid-way.
            self.guard(state, id, happen, false);
        }
        state.layers.pop();
        out
    }

    fn sync(&mut self, state: &mut State, node: &SyncNode) -> Out {
        match node {
            SyncNode::Read(id) => {
                self.read(state, *id);
                Out::Done
            }
            SyncNode::Raise => Out::Raised,
            SyncNode::Bind(block) => self.sblock(state, block),
            SyncNode::Catch(block) => {
                let _ = self.sblock(state, block);
                Out::Done
            }
            SyncNode::Run { rebind, block } => {
                let captured = inherited(env_of(&state.layers));
                let layers = vec![Layer::Bind(rebind.clone()), Layer::Root(Box::new(captured))];
                self.layered(state, layers, |model, state| model.sblock(state, block))
            }
            SyncNode::With { var, block } => {
                if expected_obs(&env_of(&state.layers)).bound[*var] {
                    self.sblock(state, block)
                } else {
                    self.never_sblock(block);
                    Out::Done
                }
            }
        }
    }

    fn never(&mut self, node: &Node) {
        match node {
            Node::Read(id) => self.expect(*id, Vec::new(), Happen::Never),
            Node::Yield(_) | Node::Raise => {}
            Node::Sync(node) => self.never_sync(node),
            Node::Bind(block)
            | Node::Catch(block)
            | Node::Capture { block, .. }
            | Node::Lazy { block, .. }
            | Node::Handoff { block, .. }
            | Node::Cancel { block, .. } => self.never_block(block),
            Node::Spawn { id, block, .. } => {
                self.tasks.insert(*id, (Vec::new(), Happen::Never));
                self.never_block(block);
            }
            Node::Join(blocks) => blocks.iter().for_each(|block| self.never_block(block)),
            Node::Select { a, b, .. } => {
                self.never_block(a);
                self.never_block(b);
            }
            Node::Stream { items, .. } => items.iter().for_each(|block| self.never_block(block)),
        }
    }

    fn never_block(&mut self, block: &Block) {
        if let Some(id) = block.guard {
            self.expect(id, Vec::new(), Happen::Never);
        }
        block.body.iter().for_each(|node| self.never(node));
    }

    fn never_sync(&mut self, node: &SyncNode) {
        match node {
            SyncNode::Read(id) => self.expect(*id, Vec::new(), Happen::Never),
            SyncNode::Raise => {}
            SyncNode::Bind(block)
            | SyncNode::Catch(block)
            | SyncNode::Run { block, .. }
            | SyncNode::With { block, .. } => self.never_sblock(block),
        }
    }

    fn never_sblock(&mut self, block: &SBlock) {
        if let Some(id) = block.guard {
            self.expect(id, Vec::new(), Happen::Never);
        }
        block.body.iter().for_each(|node| self.never_sync(node));
    }
}

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

/// Variable indices, for writing programs by hand.
const VA: usize = 0;
const VB: usize = 1;
const VTX: usize = 2;
const VD: usize = 3;

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
