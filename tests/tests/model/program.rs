//! Programs: the trees of scopes, reads, spawns and polls that are generated, run
//! and modelled, and their numbering.

use std::fmt;

use crate::vars::{D_DEFAULT, EXTRA, VAR_NAMES};

/// Bindings of one binding call: `(variable index, value)`, later entries shadow
/// earlier ones. Values are unique across a program, so a read that sees another
/// scope's (or task's) value cannot pass by coincidence.
pub(crate) type Vals = Vec<(usize, u64)>;

/// A scope: binds `vals` (over whatever its poller has bound), creates a guard whose
/// destructor reads, then runs `body`. If `wide`, an outer frame first binds all of
/// `E1`..`E14` at once, to `base + 1`..`base + 14`.
#[derive(Clone)]
pub(crate) struct Block {
    pub(crate) wide: Option<u64>,
    pub(crate) vals: Vals,
    pub(crate) guard: Option<u32>,
    pub(crate) body: Vec<Node>,
}

/// Async code.
#[derive(Clone)]
pub(crate) enum Node {
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
pub(crate) enum End {
    /// Awaits it.
    Await,
    /// Yields this many times, then aborts it and awaits the handle.
    Abort(u8),
    /// Drops the handle; the harness awaits it after the program.
    Detach,
}

#[derive(Clone)]
pub(crate) struct SBlock {
    pub(crate) vals: Vals,
    pub(crate) guard: Option<u32>,
    pub(crate) body: Vec<SyncNode>,
}

/// Synchronous code, run inside closures.
#[derive(Clone)]
pub(crate) enum SyncNode {
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
pub(crate) struct Program {
    pub(crate) root: Block,
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

pub(crate) fn debug_block<T: fmt::Debug>(
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
pub(crate) struct ShowVals<'a>(&'a Vals);

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
pub(crate) struct Numbering {
    pub(crate) next_id: u32,
    pub(crate) next_value: u64,
}

impl Numbering {
    pub(crate) fn id(&mut self) -> u32 {
        self.next_id += 1;
        self.next_id
    }

    pub(crate) fn vals(&mut self, vals: &mut Vals) {
        for (_, value) in vals {
            self.next_value += 1;
            *value = D_DEFAULT + self.next_value;
        }
    }

    pub(crate) fn block(&mut self, block: &mut Block) {
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

    pub(crate) fn sblock(&mut self, block: &mut SBlock) {
        self.vals(&mut block.vals);
        if block.guard.is_some() {
            block.guard = Some(self.id());
        }
        for node in &mut block.body {
            self.sync(node);
        }
    }

    pub(crate) fn node(&mut self, node: &mut Node) {
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

    pub(crate) fn sync(&mut self, node: &mut SyncNode) {
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

pub(crate) fn number(mut root: Block) -> Program {
    Numbering::default().block(&mut root);
    Program { root }
}
