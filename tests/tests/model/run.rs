//! Running a program: the interpreter, on a tokio runtime, recording what each read
//! sees.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, Mutex, Once, PoisonError};
use std::task::Poll;

use ctxvar::{Context, ContextFutureExt as _, ContextVar};
use futures::{FutureExt as _, StreamExt as _};
use tokio::task::JoinHandle;

use crate::observe::{Obs, observe};
use crate::program::{Block, End, Node, Program, SBlock, SyncNode, Vals};
use crate::support::pending_n;
use crate::vars::{CORE, E1, E2, E3, E4, E5, E6, E7, E8, E9, E10, E11, E12, E13, E14, NV, VARS};

/// The panic payload of `Raise`; any other payload is a real failure.
pub(crate) struct Boom;

/// How a task ended, as its `JoinHandle` reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskEnd {
    Completed,
    Panicked,
    Cancelled,
}

/// What a run records, shared by all its tasks.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) seen: Mutex<Vec<(u32, Obs)>>,
    pub(crate) ends: Mutex<Vec<(u32, TaskEnd)>>,
    pub(crate) failures: Mutex<Vec<String>>,
    pub(crate) detached: Mutex<Vec<(u32, JoinHandle<()>)>>,
    /// `B` values alive.
    pub(crate) live: AtomicIsize,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Never panic here: this runs in destructors, possibly while unwinding.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn record(&self, id: u32) {
        let obs = observe();
        lock(&self.seen).push((id, obs));
    }

    pub(crate) fn fail(&self, message: String) {
        lock(&self.failures).push(message);
    }

    /// A caught panic must be ours: anything else (a panic inside the runtime) fails.
    pub(crate) fn check_caught<T>(&self, result: std::thread::Result<T>) {
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

pub(crate) fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string payload".to_string()
    }
}

/// A value of `B`: counts itself alive in `Shared::live`.
pub(crate) struct Tracked {
    pub(crate) id: u64,
    pub(crate) shared: Arc<Shared>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.shared.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Builds a variable's value from a program's value.
pub(crate) trait MakeValue: Sized {
    fn make(value: u64, shared: &Arc<Shared>) -> Self;
    /// The program's value that `var` holds.
    fn try_read(var: impl ContextVar<Value = Self>) -> Result<u64, ctxvar::AccessError>;
}

impl MakeValue for u64 {
    fn make(value: u64, _: &Arc<Shared>) -> Self {
        value
    }

    fn try_read(var: impl ContextVar<Value = Self>) -> Result<u64, ctxvar::AccessError> {
        var.try_get()
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

    fn try_read(var: impl ContextVar<Value = Self>) -> Result<u64, ctxvar::AccessError> {
        var.try_with(|tracked| tracked.id)
    }
}

/// Reads every variable when dropped: destructors see the scope's bindings.
pub(crate) struct Guard {
    pub(crate) shared: Arc<Shared>,
    pub(crate) id: u32,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.shared.record(self.id);
    }
}

pub(crate) fn guard(shared: &Arc<Shared>, id: Option<u32>) -> Option<Guard> {
    id.map(|id| Guard {
        shared: shared.clone(),
        id,
    })
}

pub(crate) type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;

/// One frame binding two variables, `V.bind(a).and(W.bind(b)).scope(fut)`.
pub(crate) fn scope2<V, W>(v: V, a: u64, w: W, b: u64, shared: &Arc<Shared>, fut: BoxFut) -> BoxFut
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
pub(crate) fn scope_all(vals: &[(usize, u64)], shared: &Arc<Shared>, fut: BoxFut) -> BoxFut {
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
            VARS[*var].scope(*value, shared, inner)
        }
    }
}

pub(crate) type BoxStream = Pin<Box<dyn futures::Stream<Item = ()> + Send>>;

/// `stream` with `vals` bound around each of its polls, one binding call each (later
/// values shadow earlier ones): `VAR.bind(value).scope_stream(stream)`.
pub(crate) fn scope_stream_all(
    vals: &[(usize, u64)],
    shared: &Arc<Shared>,
    stream: BoxStream,
) -> BoxStream {
    match vals {
        [] => stream,
        [(var, value), rest @ ..] => {
            let inner = scope_stream_all(rest, shared, stream);
            VARS[*var].scope_stream(*value, shared, inner)
        }
    }
}

/// `fut` with `E1`..`E14` bound to `base + 1`..`base + 14` in one frame.
pub(crate) fn scope_wide(base: u64, fut: BoxFut) -> BoxFut {
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
pub(crate) fn wide_vals(base: u64) -> Vals {
    (CORE..NV)
        .map(|var| (var, base + (var - CORE) as u64 + 1))
        .collect()
}

pub(crate) fn sync2<V, W>(first: (V, u64), second: (W, u64), shared: &Arc<Shared>, f: impl FnOnce())
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
pub(crate) fn sync_all(vals: &[(usize, u64)], shared: &Arc<Shared>, body: &mut dyn FnMut()) {
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
            VARS[*var].sync_scope(*value, shared, &mut || sync_all(rest, shared, body));
        }
    }
}

pub(crate) fn run_sync(shared: &Arc<Shared>, node: &SyncNode) {
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
            let _ = VARS[*var].try_run(&mut || run_sblock(shared, block));
        }
    }
}

pub(crate) fn run_sblock(shared: &Arc<Shared>, block: &SBlock) {
    sync_all(&block.vals, shared, &mut || {
        let _guard = guard(shared, block.guard);
        for node in &block.body {
            run_sync(shared, node);
        }
    });
}

pub(crate) fn run_block(shared: &Arc<Shared>, block: Block) -> BoxFut {
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
pub(crate) struct Handoff {
    pub(crate) inner: BoxFut,
    pub(crate) first: Vals,
    pub(crate) later: Vals,
    pub(crate) polls: u32,
    pub(crate) shared: Arc<Shared>,
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
pub(crate) struct PollLimit {
    pub(crate) inner: Option<BoxFut>,
    pub(crate) left: u8,
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

pub(crate) fn task_end(shared: &Shared, result: Result<(), tokio::task::JoinError>) -> TaskEnd {
    match result {
        Ok(()) => TaskEnd::Completed,
        Err(err) if err.is_cancelled() => TaskEnd::Cancelled,
        Err(err) => {
            shared.check_caught(Err::<(), _>(err.into_panic()));
            TaskEnd::Panicked
        }
    }
}

pub(crate) fn run_node(shared: &Arc<Shared>, node: Node) -> BoxFut {
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
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
}

/// Runs `program` on a fresh runtime of `flavor`, shuts the runtime down, and returns
/// everything it recorded.
pub(crate) fn run_program(program: &Program, flavor: Flavor) -> Shared {
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
pub(crate) fn quiet_intentional_panics() {
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
