//! The reference model: a plain stack of binding layers per logical task, with no
//! pointers, caches or thread-locals.

use std::collections::HashMap;

use crate::observe::{Env, Obs, expected_obs};
use crate::program::{Block, End, Node, Program, SBlock, SyncNode, Vals};
use crate::run::{TaskEnd, wide_vals};
use crate::vars::{INHERITED, NV};

/// Whether a read (or a destructor, or a task's end) is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Happen {
    Must,
    /// It may be cut off by a cancellation, or by a sibling's panic.
    May,
    /// It comes after a panic, or in a `with` closure that does not run.
    Never,
}

impl Happen {
    pub(crate) fn weaken(self) -> Self {
        match self {
            Happen::Must => Happen::May,
            other => other,
        }
    }
}

/// How a piece of code ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Out {
    Done,
    Raised,
    /// It may or may not panic (a panic inside a branch that may be cancelled first).
    Maybe,
}

/// One layer of what is bound, from the task's root up to the running code.
#[derive(Clone, Debug)]
pub(crate) enum Layer {
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

pub(crate) fn apply(env: &mut Env, vals: &Vals) {
    for &(var, value) in vals {
        env[var] = Some(value);
    }
}

/// What is visible on top of `layers`.
pub(crate) fn env_of(layers: &[Layer]) -> Env {
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
pub(crate) fn drop_env(dropper: &Env, layers: &[Layer]) -> Env {
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
pub(crate) fn inherited(mut env: Env) -> Env {
    for var in 0..NV {
        if !INHERITED[var] {
            env[var] = None;
        }
    }
    env
}

/// The model's state in one logical task (or one branch of a join or select).
#[derive(Clone)]
pub(crate) struct State {
    pub(crate) layers: Vec<Layer>,
    /// Where the code may be dropped mid-way: the layer the dropped future starts at,
    /// and what its dropper sees.
    pub(crate) cancels: Vec<(usize, Env)>,
    pub(crate) happen: Happen,
}

impl State {
    pub(crate) fn task(root: &Env, cancellable: bool, happen: Happen) -> Self {
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
    pub(crate) fn cancellable_branch(&self) -> Self {
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
pub(crate) struct Expect {
    pub(crate) alts: Vec<Obs>,
    pub(crate) happen: Happen,
}

#[derive(Default)]
pub(crate) struct Model {
    pub(crate) reads: HashMap<u32, Expect>,
    pub(crate) tasks: HashMap<u32, (Vec<TaskEnd>, Happen)>,
}

impl Model {
    pub(crate) fn of(program: &Program) -> Self {
        let mut model = Model::default();
        let mut state = State::task(&[None; NV], false, Happen::Must);
        let _ = model.block(&mut state, &program.root); // the root catches
        model
    }

    pub(crate) fn expect(&mut self, id: u32, alts: Vec<Obs>, happen: Happen) {
        let previous = self.reads.insert(id, Expect { alts, happen });
        assert!(previous.is_none(), "id {id} used twice");
    }

    pub(crate) fn read(&mut self, state: &State, id: u32) {
        let obs = expected_obs(&env_of(&state.layers));
        self.expect(id, vec![obs], state.happen);
    }

    /// A guard created when its block started (in mode `happen`), dropped now: at the
    /// block's end or while unwinding, in the block's bindings; or earlier, if the block
    /// is cancelled, by whoever drops it.
    pub(crate) fn guard(&mut self, state: &State, id: u32, happen: Happen, cancellable: bool) {
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

    pub(crate) fn block(&mut self, state: &mut State, block: &Block) -> Out {
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

    pub(crate) fn body(&mut self, state: &mut State, body: &[Node]) -> Out {
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
    pub(crate) fn layered(
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

    pub(crate) fn node(&mut self, state: &mut State, node: &Node) -> Out {
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

    pub(crate) fn sblock(&mut self, state: &mut State, block: &SBlock) -> Out {
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

    pub(crate) fn sync(&mut self, state: &mut State, node: &SyncNode) -> Out {
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

    pub(crate) fn never(&mut self, node: &Node) {
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

    pub(crate) fn never_block(&mut self, block: &Block) {
        if let Some(id) = block.guard {
            self.expect(id, Vec::new(), Happen::Never);
        }
        block.body.iter().for_each(|node| self.never(node));
    }

    pub(crate) fn never_sync(&mut self, node: &SyncNode) {
        match node {
            SyncNode::Read(id) => self.expect(*id, Vec::new(), Happen::Never),
            SyncNode::Raise => {}
            SyncNode::Bind(block)
            | SyncNode::Catch(block)
            | SyncNode::Run { block, .. }
            | SyncNode::With { block, .. } => self.never_sblock(block),
        }
    }

    pub(crate) fn never_sblock(&mut self, block: &SBlock) {
        if let Some(id) = block.guard {
            self.expect(id, Vec::new(), Happen::Never);
        }
        block.body.iter().for_each(|node| self.never_sync(node));
    }
}
