//! Strict helpers: a helper whose variables are part of the type it returns, so that
//! awaiting it where a variable is not provided is a compile error at the `.await`.

use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{self, Poll};

use pin_project_lite::pin_project;

use crate::AwaitableAnywhere;
use crate::var::Variable;

pin_project! {
    /// What a strict helper returns (`#[uses_context(VAR, strict)] async fn ..`): its
    /// future, which can be awaited only where the variables of `K` are provided. `K`
    /// lists them: `UsesContext<(Variable<dyn TENANT>, Variable<dyn USER>), impl
    /// Future<Output = T>>` (up to eight).
    ///
    /// *Provided* means: in a function annotated with `#[with_context(VAR = ..)]` or
    /// `#[uses_context(VAR)]` (strict or not), in its closures and `async` blocks. There,
    /// `helper().await` compiles as written: the attribute hands the function's evidence
    /// to every `.await` of its body. Anywhere else, `helper().await` does not compile:
    /// "a strict helper uses context variable `dyn VAR`, which is not provided
    /// where its future is awaited", with the attributes that would. The same holds
    /// for a combinator that awaits the future itself (`join_all(vec![helper()])`):
    /// give it `async { helper().await }` instead.
    ///
    /// Its `Future` impls have a hidden bound that no future meets: they exist so that
    /// awaiting it where nothing provides its variables reports which one.
    ///
    /// A strict helper also checks on entry, as every `#[uses_context]` function does, so
    /// where the evidence cannot reach, [`assume_provided`](Self::assume_provided) leaves
    /// the check to that run-time check alone.
    ///
    /// ```
    /// use ctxvar::{context_var, uses_context, with_context};
    ///
    /// #[context_var]
    /// static TENANT: &str;
    ///
    /// #[uses_context(TENANT, strict)]
    /// async fn table() -> String {
    ///     format!("{}.orders", TENANT.get())
    /// }
    ///
    /// #[with_context(TENANT = "acme")]
    /// async fn handler() -> String {
    ///     table().await // provided here: compiles
    /// }
    ///
    /// # futures::executor::block_on(async {
    /// assert_eq!(handler().await, "acme.orders");
    /// # });
    /// ```
    ///
    /// Awaiting it in a function that provides nothing is a compile error:
    ///
    /// ```compile_fail
    /// # use ctxvar::{context_var, uses_context};
    /// # #[context_var]
    /// # static TENANT: &str;
    /// # #[uses_context(TENANT, strict)]
    /// # async fn table() -> String { TENANT.get().to_owned() }
    /// async fn unannotated() -> String {
    ///     table().await // a strict helper uses context variable `dyn TENANT`, ..
    /// }
    /// ```
    #[must_use = "a strict helper's future does nothing unless it is awaited where its variables are provided"]
    pub struct UsesContext<K: ?Sized, F> {
        #[pin]
        inner: F,
        key: PhantomData<fn(&K)>,
    }
}

impl<K: ?Sized, F> UsesContext<K, F> {
    /// What a strict helper's expansion returns: its future, requiring `K`.
    #[doc(hidden)]
    pub const fn __new(inner: F) -> Self {
        UsesContext {
            inner,
            key: PhantomData,
        }
    }

    /// The helper's future, its variables no longer in its type: it checks on its first poll, as a
    /// non-strict `#[uses_context]` function does, and panics there, naming the
    /// variable, if it is not bound. For where no attribute's evidence reaches: a
    /// combinator or trait that takes plain futures from a function without the
    /// attribute, or a macro whose body the attribute does not see.
    ///
    /// ```
    /// # use ctxvar::{context_var, uses_context};
    /// #[context_var]
    /// static TENANT: &str;
    ///
    /// #[uses_context(TENANT, strict)]
    /// async fn table() -> String {
    ///     format!("{}.orders", TENANT.get())
    /// }
    ///
    /// # futures::executor::block_on(async {
    /// let future = table().assume_provided();
    /// assert_eq!(TENANT.scope("acme", future).await, "acme.orders");
    /// # });
    /// ```
    pub fn assume_provided(self) -> <Self as AwaitableWith<AssumeProvided>>::Future
    where
        Self: AwaitableWith<AssumeProvided>,
    {
        AwaitableWith::provide(self)
    }

    /// The `.await` rewrite of the attributes: the future, if `E` provides every
    /// variable of `K`.
    #[doc(hidden)]
    #[inline]
    pub fn __ctxvar_provide<E>(self) -> <Self as AwaitableWith<E>>::Future
    where
        Self: AwaitableWith<E>,
    {
        AwaitableWith::provide(self)
    }
}

impl<K: ?Sized, F> UsesContext<K, F> {
    /// The `.await` rewrite of the attributes inside work that starts without the
    /// function's context (a `tokio::spawn`ed block, a closure run on a plain
    /// thread), with `W` = [`SpawnedWithoutContext`]: never compiles on a
    /// `UsesContext`. (`W` is a parameter so that rustc does not give up on this
    /// method, and take `PassThrough`'s, before it reports why.)
    #[doc(hidden)]
    #[inline]
    pub fn __ctxvar_not_carried<W>(self) -> <Self as AwaitableIn<W>>::Future
    where
        Self: AwaitableIn<W>,
    {
        AwaitableIn::provide(self)
    }
}

impl<K: ?Sized, F> fmt::Debug for UsesContext<K, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsesContext").finish_non_exhaustive()
    }
}

/// Evidence that a function provides the variable whose key is `K`:
/// `#[with_context]` and `#[uses_context]` implement it for a type of their own in
/// each annotated function.
///
/// Safe to implement: a wrong impl lets a strict helper be awaited where its variable
/// is not bound, and the helper's entry check then panics, naming it.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "this function does not provide context variable `{K}`, which the awaited helper uses",
    label = "the helper uses `{K}`",
    note = "bind it for this function with `#[with_context(VAR = ...)]`, or declare that callers bind it with `#[uses_context(VAR)]`"
)]
pub trait Provides<K: ?Sized> {}

/// The evidence the attributes' `.await` rewrite gives a strict helper awaited in
/// work that starts without the function's context: a `tokio::spawn`ed block, a
/// closure run on a plain thread. Such work is recognised where it is written, as
/// the argument of a call of `spawn`, `spawn_local` or `spawn_blocking` that is not
/// `ctxvar`'s (a function or a method: `tokio::spawn`, `std::thread::spawn`,
/// `JoinSet::spawn`).
#[derive(Debug)]
pub enum SpawnedWithoutContext {}

/// Gives the future of a [`UsesContext`] awaited in work `W`: never, for
/// [`SpawnedWithoutContext`], so that the error names the helper's future (and so
/// its variables) and says how to carry the context.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is awaited in work that runs without this function's context",
    label = "a strict helper, awaited where this function's bindings are not in effect",
    note = "a task or thread started by another crate's spawn starts with nothing bound: start it with `ctxvar::spawn` (or `ctxvar::spawn_local`, `ctxvar::spawn_blocking`, `ctxvar::thread::spawn`), written by its path, or spawn `async move {{ .. }}.in_current_context()`",
    note = "an `async` block in a plain `fn` runs when it is polled, after the function returned: carry the context into it with `.in_current_context()`, or make the function `async`",
    note = "work run in another context (`Context::empty()`, a context captured elsewhere) sees only that context's bindings"
)]
pub trait AwaitableIn<W> {
    /// The helper's future.
    type Future: Future;
    /// The helper's future.
    fn provide(self) -> Self::Future;
}

/// Implemented by nothing: the bound that [`AwaitableIn`]'s one impl cannot meet.
#[doc(hidden)]
pub trait CarriesTheContext {}

// Not recommended, so that rustc reports the `AwaitableIn` bound, with its message,
// rather than the bound of this impl that fails.
#[diagnostic::do_not_recommend]
impl<K: ?Sized, F: Future, W: CarriesTheContext> AwaitableIn<W> for UsesContext<K, F> {
    type Future = F;
    fn provide(self) -> F {
        self.inner
    }
}

/// Gives the future of a [`UsesContext`] whose every variable `E` provides.
#[doc(hidden)]
pub trait AwaitableWith<E> {
    /// The helper's future.
    type Future: Future;
    /// The helper's future.
    fn provide(self) -> Self::Future;
}

/// One impl per number of variables (the list is a tuple of `Variable`s), so that
/// rustc selects it by the list's shape alone and reports the one `Provides` bound
/// that fails, with its message.
macro_rules! provide_impls {
    ($($var:ident)+) => {
        impl<E, F: Future, $($var: ?Sized),+> AwaitableWith<E>
            for UsesContext<($(Variable<$var>,)+), F>
        where
            $(E: Provides<$var>,)+
        {
            type Future = F;
            #[inline]
            fn provide(self) -> F {
                self.inner
            }
        }

        // Awaited with no evidence: in a function without the attributes, or by a
        // combinator (`join_all`). Implemented only where the helper's own future
        // is `AwaitableAnywhere`, which none is, so that the error names the
        // variable and the attributes, rather than std's "is not a future".
        impl<F: Future, $($var: ?Sized),+> Future for UsesContext<($(Variable<$var>,)+), F>
        where
            $(F: AwaitableAnywhere<$var>,)+
        {
            type Output = F::Output;
            fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<F::Output> {
                self.project().inner.poll(cx)
            }
        }
    };
}

provide_impls!(A);
provide_impls!(A B);
provide_impls!(A B C);
provide_impls!(A B C D);
provide_impls!(A B C D G);
provide_impls!(A B C D G H);
provide_impls!(A B C D G H I);
provide_impls!(A B C D G H I J);

/// The evidence [`UsesContext::assume_provided`] uses: it provides every variable,
/// leaving the check to the helper's entry.
#[derive(Debug)]
pub enum AssumeProvided {}

impl<K: ?Sized> Provides<K> for AssumeProvided {}

/// What the attributes' `.await` rewrite calls on anything that is not a
/// [`UsesContext`]: the value itself, unchanged, so that a plain future is awaited as
/// it was written (an inherent method of `UsesContext` takes precedence over this).
#[doc(hidden)]
pub trait PassThrough: Sized {
    /// `self`.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    #[must_use]
    fn __ctxvar_provide<E>(self) -> Self {
        self
    }

    /// `self`.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    #[must_use]
    fn __ctxvar_not_carried<W>(self) -> Self {
        self
    }
}

impl<T> PassThrough for T {}
