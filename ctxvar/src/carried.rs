//! Messages that carry the context they were sent from: [`Carried`], made with
//! [`Carried::new`] or [`ContextMessageExt::carry_current_context`], and handled on
//! the receiving side in that context.

use core::future::IntoFuture;

use crate::context::{Context, ContextScope};

/// A message and the [`Context`] captured where it was made: an envelope for work
/// handed to another task over a channel, so that the receiver handles it in the
/// sender's context.
///
/// A message sent over a channel is plain data: the task that receives it sees its own
/// bindings, not the sender's. Wrap it on the sending side with
/// [`msg.carry_current_context()`](ContextMessageExt::carry_current_context) (or
/// [`Carried::new(msg)`](Carried::new)), send the `Carried<T>`, and on the receiving
/// side handle it with [`run_in_sender_context`](Carried::run_in_sender_context) (a
/// closure) or [`scope_in_sender_context`](Carried::scope_in_sender_context) (a
/// future), which see exactly the sender's bindings, as work run in a captured
/// [`Context`] does. For a stream of them, see [`CarriedStreamExt`] (feature
/// `stream`). It works with any channel (`tokio::sync::mpsc`, `broadcast`, `flume`, a
/// queue behind a mutex), since it is only a value.
///
/// ```
/// use ctxvar::{context_var, with_context, Carried, ContextMessageExt};
/// use tokio::sync::mpsc;
///
/// #[context_var]
/// static REQUEST_ID: u64;
///
/// #[with_context(REQUEST_ID = id)]
/// async fn submit(id: u64, queue: mpsc::Sender<Carried<&'static str>>) {
///     queue.send("resize".carry_current_context()).await.unwrap();
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (queue, mut jobs) = mpsc::channel(8);
/// submit(7, queue.clone()).await;
/// submit(8, queue).await;
/// let mut handled = Vec::new();
/// while let Some(job) = jobs.recv().await {
///     // Without the envelope the receiver would see its own bindings (here, none).
///     handled.push(job.run_in_sender_context(|job| (job, REQUEST_ID.try_get())));
/// }
/// assert_eq!(handled, [("resize", Ok(7)), ("resize", Ok(8))]);
/// # }
/// ```
///
/// In a `#[with_context]` or `#[uses_context]` function, a handler given to
/// `run_in_sender_context` or `scope_in_sender_context` runs in the sender's context,
/// not the function's: `get` of the function's variables does not compile there.
/// Read with `try_get` (what the sender bound), handle the message in a function
/// declared `#[uses_context(VAR)]` (which checks on entry that the sender bound it),
/// or read the function's value before the call and move it in.
///
/// # Cost
///
/// Making one is one capture, [`Context::current()`]: at most one allocation, none
/// for a single binding, and no value cloned. Handling it enters that context once
/// for [`run_in_sender_context`](Carried::run_in_sender_context), and on every poll
/// for [`scope_in_sender_context`](Carried::scope_in_sender_context), as entering any
/// [`Context`] does. Cloning one clones the message and increments the context's
/// reference count.
// Without the feature the trait does not exist: link to the published docs instead (a
// blank line first: a link definition cannot interrupt the paragraph before it).
#[cfg_attr(
    feature = "stream",
    doc = "",
    doc = "[`CarriedStreamExt`]: crate::CarriedStreamExt"
)]
#[cfg_attr(
    not(feature = "stream"),
    doc = "",
    doc = "[`CarriedStreamExt`]: https://docs.rs/ctxvar/latest/ctxvar/trait.CarriedStreamExt.html"
)]
#[derive(Debug, Clone)]
pub struct Carried<T> {
    message: T,
    context: Context,
}

impl<T> Carried<T> {
    /// `message`, with the context in effect here ([`Context::current()`]).
    ///
    /// ```
    /// use ctxvar::{context_var, Carried};
    ///
    /// #[context_var]
    /// static TENANT: &str;
    ///
    /// let order = TENANT.sync_scope("acme", || Carried::new(42));
    /// assert_eq!(order.run_in_sender_context(|n| (n, TENANT.try_get())), (42, Ok("acme")));
    /// ```
    #[must_use]
    pub fn new(message: T) -> Self {
        Carried {
            message,
            context: Context::current(),
        }
    }

    /// `message`, with `context` as its sender's: the inverse of
    /// [`into_parts`](Carried::into_parts).
    ///
    /// ```
    /// use ctxvar::{Carried, Context};
    ///
    /// let job = Carried::from_parts(Context::empty(), "resize");
    /// assert_eq!(*job.message(), "resize");
    /// ```
    #[must_use]
    pub fn from_parts(context: Context, message: T) -> Self {
        Carried { message, context }
    }

    /// The message.
    ///
    /// ```
    /// use ctxvar::ContextMessageExt;
    ///
    /// let job = vec![1, 2].carry_current_context();
    /// assert_eq!(job.message().len(), 2);
    /// ```
    #[must_use]
    pub fn message(&self) -> &T {
        &self.message
    }

    /// The context captured when the message was made.
    ///
    /// ```
    /// use ctxvar::{context_var, ContextMessageExt};
    ///
    /// #[context_var]
    /// static TENANT: &str;
    ///
    /// let job = TENANT.sync_scope("acme", || "resize".carry_current_context());
    /// assert_eq!(job.context().run(|| TENANT.try_get()), Ok("acme"));
    /// ```
    #[must_use]
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The context and the message, apart: to run something else in the sender's
    /// context, or to drop the context and keep the message.
    ///
    /// ```
    /// use ctxvar::{context_var, ContextMessageExt};
    ///
    /// #[context_var]
    /// static TENANT: &str;
    ///
    /// let job = TENANT.sync_scope("acme", || "resize".carry_current_context());
    /// let (sender, job) = job.into_parts();
    /// assert_eq!(job, "resize");
    /// assert_eq!(sender.run(|| TENANT.try_get()), Ok("acme"));
    /// ```
    #[must_use]
    pub fn into_parts(self) -> (Context, T) {
        (self.context, self.message)
    }

    /// Calls `handle` with the message in the sender's context: it sees exactly the
    /// bindings captured when the message was made, whatever the caller has bound,
    /// and the caller's bindings are back when it returns or unwinds.
    ///
    /// ```
    /// use ctxvar::{context_var, ContextMessageExt};
    ///
    /// #[context_var]
    /// static TENANT: &str;
    ///
    /// let job = TENANT.sync_scope("acme", || 7.carry_current_context());
    /// let seen = TENANT.sync_scope("receiver", || {
    ///     job.run_in_sender_context(|n| (n, TENANT.try_get()))
    /// });
    /// assert_eq!(seen, (7, Ok("acme")));
    /// ```
    pub fn run_in_sender_context<R>(self, handle: impl FnOnce(T) -> R) -> R {
        let Carried { message, context } = self;
        context.run(|| handle(message))
    }

    /// Calls `handle` with the message in the sender's context, and runs the future it
    /// returns in that context on every poll (and while it is dropped): a
    /// [`ContextScope`], as [`Context::scope`] returns.
    ///
    /// `handle` is called right away, so what it does before its future starts sees
    /// the sender's bindings too.
    ///
    /// ```
    /// use ctxvar::{context_var, ContextMessageExt};
    ///
    /// #[context_var]
    /// static TENANT: &str;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let job = TENANT.sync_scope("acme", || 7.carry_current_context());
    /// let handled = job.scope_in_sender_context(|n| async move {
    ///     tokio::task::yield_now().await;
    ///     (n, TENANT.try_get())
    /// });
    /// assert_eq!(TENANT.scope("receiver", handled).await, (7, Ok("acme")));
    /// # }
    /// ```
    pub fn scope_in_sender_context<F: IntoFuture>(
        self,
        handle: impl FnOnce(T) -> F,
    ) -> ContextScope<F::IntoFuture> {
        let Carried { message, context } = self;
        let future = context.run(|| handle(message).into_future());
        context.scope(future)
    }
}

/// Wraps any value as a [`Carried`] message with the current context:
/// `msg.carry_current_context()`.
///
/// Implemented for every `Send` value, futures included (a future sent this way is a
/// message like any other: [`ContextFutureExt::in_current_context`] is the method
/// that makes a future run in a context). In scope with `use ctxvar::prelude::*`. Its
/// name differs from `opentelemetry`'s `FutureExt::with_current_context`, which is
/// implemented for every type too, so both traits can be imported together.
///
/// [`ContextFutureExt::in_current_context`]: crate::ContextFutureExt::in_current_context
///
/// ```
/// use ctxvar::{context_var, Carried, ContextMessageExt};
///
/// #[context_var]
/// static TENANT: &str;
///
/// let (tx, rx) = std::sync::mpsc::channel::<Carried<u32>>();
/// TENANT.sync_scope("acme", || tx.send(42.carry_current_context())).unwrap();
/// let worker = std::thread::spawn(move || {
///     rx.recv().unwrap().run_in_sender_context(|n| (n, TENANT.try_get()))
/// });
/// assert_eq!(worker.join().unwrap(), (42, Ok("acme")));
/// ```
pub trait ContextMessageExt: Send + Sized {
    /// This value as a message carrying the context in effect here; the same as
    /// [`Carried::new(self)`](Carried::new).
    ///
    /// ```
    /// use ctxvar::{context_var, ContextMessageExt};
    ///
    /// #[context_var]
    /// static TENANT: &str;
    ///
    /// let job = TENANT.sync_scope("acme", || String::from("resize").carry_current_context());
    /// let done = job.run_in_sender_context(|job| format!("{job}: {}", TENANT.try_get().unwrap()));
    /// assert_eq!(done, "resize: acme");
    /// ```
    #[must_use]
    fn carry_current_context(self) -> Carried<Self> {
        Carried::new(self)
    }
}

impl<T: Send> ContextMessageExt for T {}
