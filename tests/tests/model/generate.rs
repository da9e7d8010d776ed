//! Generators: proptest strategies for programs.

use proptest::prelude::*;

use crate::program::{Block, End, Node, Program, SBlock, SyncNode, Vals, number};
use crate::vars::{CORE, NV};

/// Which variables a binding call binds (values are assigned by `Numbering`).
pub(crate) fn vals(min: usize, max: usize) -> impl Strategy<Value = Vals> + Clone {
    let var = prop_oneof![6 => 0..CORE, 1 => CORE..NV];
    prop::collection::vec(var, min..=max)
        .prop_map(|vars| vars.into_iter().map(|var| (var, 0)).collect())
}

pub(crate) fn sblock(
    inner: impl Strategy<Value = SyncNode> + Clone,
) -> impl Strategy<Value = SBlock> + Clone {
    raising_sblock(inner, 2)
}

/// As `raising_block`, for synchronous code.
pub(crate) fn raising_sblock(
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

pub(crate) fn sync_node() -> BoxedStrategy<SyncNode> {
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

pub(crate) fn block(
    inner: impl Strategy<Value = Node> + Clone,
) -> impl Strategy<Value = Block> + Clone {
    raising_block(inner, 1)
}

/// A block that ends with a `Raise` in `in64`/64 of the cases. Panics come at the
/// end of blocks rather than anywhere, so that they do not cut most programs short.
pub(crate) fn raising_block(
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
pub(crate) fn catch(
    inner: impl Strategy<Value = Node> + Clone,
) -> impl Strategy<Value = Node> + Clone {
    raising_block(inner, 32).prop_map(Node::Catch)
}

pub(crate) fn leaf() -> impl Strategy<Value = Node> + Clone {
    prop_oneof![
        4 => Just(Node::Read(0)),
        2 => any::<bool>().prop_map(Node::Yield),
        1 => sync_node().prop_map(Node::Sync),
    ]
}

/// The nodes whose polls are deterministic: no tasks, joins, selects or cancellation.
/// A `Handoff` body uses only these, so the model knows which of its polls each read
/// runs in.
pub(crate) fn sequential_node() -> BoxedStrategy<Node> {
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

pub(crate) fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        3 => Just(End::Await),
        1 => (0..3u8).prop_map(End::Abort),
        1 => Just(End::Detach),
    ]
}

pub(crate) fn node() -> BoxedStrategy<Node> {
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

pub(crate) fn program() -> impl Strategy<Value = Program> {
    (vals(0, 3), prop::collection::vec(node(), 1..8)).prop_map(|(vals, body)| {
        number(Block {
            wide: None,
            vals,
            guard: None,
            body,
        })
    })
}
