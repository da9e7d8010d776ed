//! Work held inside bindings: [`Inside`], what every wrapper that runs a future, a
//! stream or a closure in bindings is built on ([`Scope`](crate::Scope),
//! [`ContextScope`](crate::ContextScope), the stream adapters and the closures of the
//! spawn helpers).
//!
//! Each such wrapper must use its inner value, and **drop it, with the bindings
//! entered**, so destructors can read the variables. That needs the value to be dropped
//! in place, inside a call, and never again: `Option<T>` would say so safely, at the
//! cost of a discriminant in every wrapper (unless `T` has a niche) and a test on every
//! poll (the frame's address escapes to a thread-local during a poll, so the compiler
//! cannot hoist the `Some` check out of a polling loop). [`Inside`] keeps the value in
//! a [`ManuallyDrop`] instead, and owns the `unsafe` this needs in one place.

use core::mem::ManuallyDrop;
use core::pin::Pin;
use core::ptr;

/// Bindings that work can be run in: a binding call's frame, entered over the current
/// bindings (`scope.rs`), or a captured context, entered instead of them
/// (`context.rs`).
///
/// # Safety
///
/// `enter` calls `f` exactly once, and neither returns nor unwinds before it has
/// called it. [`Inside`] drops its value in that call; a pinned value must be dropped
/// before its memory is freed or reused, so a call that never came would break the
/// pinning guarantee.
pub(crate) unsafe trait Enter {
    /// Runs `f` with these bindings entered.
    fn enter<R>(&mut self, f: impl FnOnce() -> R) -> R;
}

/// A value (a future, a stream, a closure) that is used, and dropped, inside the
/// bindings `E`.
///
/// # Invariant
///
/// `value` is initialised from `new` until it is dropped or moved out, and that
/// happens once: in `Drop` (with `E` entered) or in
/// [`into_inner_with`](Self::into_inner_with), which takes `self` by value and never
/// drops it. Nothing else touches `value` but through a reference.
///
/// # Pinning
///
/// Pinning is structural for `value` and not for `enter`: a pinned `Inside` hands out
/// `Pin<&mut T>` and `&mut E`. That is sound because `value` is never moved while
/// pinned (it is moved out only by `into_inner_with`, which needs `self` by value, so
/// an `Inside` that was pinned is never given to it unless it is `Unpin`, and then so
/// is `T`), it is dropped in place (by the `Drop` impl, in the call to `E::enter`,
/// which the contract of [`Enter`] guarantees is made), and `Inside` is `Unpin` only
/// when `T` is.
pub(crate) struct Inside<E: Enter, T> {
    enter: E,
    value: ManuallyDrop<T>,
}

// `E` is never pinned (see the type's documentation), so only `T` decides; without
// this, a frame over a value that is not `Unpin` would make its `Scope` not `Unpin`.
impl<E: Enter, T: Unpin> Unpin for Inside<E, T> {}

impl<E: Enter, T> Inside<E, T> {
    /// `value`, to be used and dropped inside `enter`.
    #[inline]
    pub(crate) fn new(enter: E, value: T) -> Self {
        Inside {
            enter,
            value: ManuallyDrop::new(value),
        }
    }

    /// The value `make` makes with `enter` entered, to be used and dropped inside it.
    #[inline]
    pub(crate) fn new_with(mut enter: E, make: impl FnOnce() -> T) -> Self {
        let value = enter.enter(make);
        Inside::new(enter, value)
    }

    /// Runs `f` on the pinned value with the bindings entered (to poll it).
    #[inline]
    pub(crate) fn with_pin_mut<R>(self: Pin<&mut Self>, f: impl FnOnce(Pin<&mut T>) -> R) -> R {
        // SAFETY: nothing is moved out of `this`: `value` is pinned again below, and
        // `enter` is not structurally pinned (see "Pinning" on the type).
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: pinning is structural for `value` (see "Pinning" on the type), and it
        // is initialised (see "Invariant").
        let value = unsafe { Pin::new_unchecked(&mut *this.value) };
        this.enter.enter(|| f(value))
    }

    /// The value, for what needs no bindings (a stream's size hint).
    #[cfg(feature = "stream")]
    #[inline]
    pub(crate) fn get_ref(&self) -> &T {
        &self.value
    }

    /// Moves the value out and runs `f` on it with the bindings entered (to call a
    /// closure); the bindings are dropped after the call.
    #[inline]
    pub(crate) fn into_inner_with<R>(self, f: impl FnOnce(T) -> R) -> R {
        // Never dropped: its fields are moved out below, once each.
        let mut this = ManuallyDrop::new(self);
        // SAFETY: `value` is initialised (see "Invariant"), and taken only here:
        // `this` is never dropped and not used after the next statement. `self` was
        // given by value, so it is not pinned (or it is `Unpin`, and so is `T`).
        let value = unsafe { ManuallyDrop::take(&mut this.value) };
        // SAFETY: `enter` is initialised, and read only here: `this` is never dropped
        // or used again, so the copy read out is its only owner.
        let mut enter = unsafe { ptr::read(&raw const this.enter) };
        enter.enter(|| f(value))
    }
}

impl<E: Enter, T> Drop for Inside<E, T> {
    #[inline]
    fn drop(&mut self) {
        let value = &mut self.value;
        self.enter.enter(|| {
            // SAFETY: `value` is initialised (see "Invariant": `into_inner_with` never
            // drops `self`), this is the only place that drops it, and `self` is never
            // used again. It is dropped in place, never moved, as pinning requires,
            // and `E::enter` makes this call (see `Enter`).
            unsafe { ManuallyDrop::drop(value) }
        });
    }
}

#[cfg(test)]
mod tests {
    //! The invariant, with an `Enter` of the tests' own that counts how deeply it is
    //! entered (so no frame is involved): the value is used and dropped entered, once,
    //! in place, after a panic, after a move to another thread; the bindings are
    //! dropped once too. The wrappers' own tests (with real bindings) are in
    //! `tests/tests/inner_drop.rs`; the sizes are below.

    use core::cell::Cell;
    use core::future::Future;
    use core::pin::Pin;
    use core::task::{Context, Poll, Waker};
    use std::marker::PhantomPinned;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::{Enter, Inside};

    std::thread_local! {
        static DEPTH: Cell<u32> = const { Cell::new(0) };
    }

    fn depth() -> u32 {
        DEPTH.with(Cell::get)
    }

    /// Enters by counting; counts its own drops.
    struct Counting {
        drops: Arc<AtomicUsize>,
    }

    // SAFETY: `enter` calls `f` once, and does nothing before that can fail.
    unsafe impl Enter for Counting {
        fn enter<R>(&mut self, f: impl FnOnce() -> R) -> R {
            struct Leave;
            impl Drop for Leave {
                fn drop(&mut self) {
                    DEPTH.with(|d| d.set(d.get() - 1));
                }
            }
            DEPTH.with(|d| d.set(d.get() + 1));
            let _leave = Leave;
            f()
        }
    }

    impl Drop for Counting {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A future that is not `Unpin`: it records the address it is polled at and the
    /// depth, checks that it is dropped where it was pinned, entered, and counts its
    /// drops. It is `Pending` until polled `ready_after` times, then `Ready`; polled
    /// again, it panics, as an `async fn` does.
    struct Probe {
        polls: u32,
        ready_after: u32,
        panic_on_poll: bool,
        pinned_at: Cell<usize>,
        drops: Arc<AtomicUsize>,
        dropped_at_depth: Arc<AtomicUsize>,
        _pin: PhantomPinned,
    }

    impl Probe {
        fn new(counters: &Counters, ready_after: u32) -> Self {
            Probe {
                polls: 0,
                ready_after,
                panic_on_poll: false,
                pinned_at: Cell::new(0),
                drops: counters.value_drops.clone(),
                dropped_at_depth: counters.dropped_at_depth.clone(),
                _pin: PhantomPinned,
            }
        }
    }

    impl Future for Probe {
        type Output = u32;

        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
            assert_eq!(depth(), 1, "polled outside the bindings");
            let address = core::ptr::from_ref::<Self>(&*self) as usize;
            // SAFETY: nothing is moved out.
            let this = unsafe { self.get_unchecked_mut() };
            match this.pinned_at.get() {
                0 => this.pinned_at.set(address),
                at => assert_eq!(at, address, "moved while pinned"),
            }
            assert!(!this.panic_on_poll, "the inner future panics");
            assert!(this.polls <= this.ready_after, "polled after completion");
            this.polls += 1;
            if this.polls > this.ready_after {
                Poll::Ready(this.polls)
            } else {
                Poll::Pending
            }
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            let address = core::ptr::from_ref::<Self>(self) as usize;
            let at = self.pinned_at.get();
            assert!(
                at == 0 || at == address,
                "dropped elsewhere than it was pinned"
            );
            self.dropped_at_depth
                .store(depth() as usize, Ordering::SeqCst);
            self.drops.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[derive(Default)]
    struct Counters {
        enter_drops: Arc<AtomicUsize>,
        value_drops: Arc<AtomicUsize>,
        dropped_at_depth: Arc<AtomicUsize>,
    }

    impl Counters {
        fn counting(&self) -> Counting {
            Counting {
                drops: self.enter_drops.clone(),
            }
        }

        /// Each dropped once, the value with the bindings entered.
        fn assert_dropped_once_inside(&self) {
            assert_eq!(self.value_drops.load(Ordering::SeqCst), 1);
            assert_eq!(self.enter_drops.load(Ordering::SeqCst), 1);
            assert_eq!(self.dropped_at_depth.load(Ordering::SeqCst), 1);
            assert_eq!(depth(), 0);
        }
    }

    fn poll<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    fn poll_inside<T: Future>(inside: Pin<&mut Inside<Counting, T>>) -> Poll<T::Output> {
        inside.with_pin_mut(poll)
    }

    #[test]
    fn dropped_inside_without_a_poll() {
        let counters = Counters::default();
        drop(Inside::new(counters.counting(), Probe::new(&counters, 0)));
        counters.assert_dropped_once_inside();
    }

    #[test]
    fn dropped_inside_after_completion() {
        let counters = Counters::default();
        let mut inside = Box::pin(Inside::new(counters.counting(), Probe::new(&counters, 1)));
        assert_eq!(poll_inside(inside.as_mut()), Poll::Pending);
        assert_eq!(poll_inside(inside.as_mut()), Poll::Ready(2));
        assert_eq!(counters.value_drops.load(Ordering::SeqCst), 0);
        drop(inside);
        counters.assert_dropped_once_inside();
    }

    #[test]
    fn cancelled_before_completion_is_dropped_inside() {
        let counters = Counters::default();
        let mut inside = Box::pin(Inside::new(counters.counting(), Probe::new(&counters, 5)));
        assert_eq!(poll_inside(inside.as_mut()), Poll::Pending);
        drop(inside);
        counters.assert_dropped_once_inside();
    }

    #[test]
    fn a_panic_in_a_poll_leaves_the_value_to_be_dropped_inside() {
        let counters = Counters::default();
        let mut probe = Probe::new(&counters, 5);
        probe.panic_on_poll = true;
        let mut inside = Box::pin(Inside::new(counters.counting(), probe));
        let panicked = catch_unwind(AssertUnwindSafe(|| poll_inside(inside.as_mut())));
        assert!(panicked.is_err());
        assert_eq!(depth(), 0, "the panic left the bindings entered");
        assert_eq!(counters.value_drops.load(Ordering::SeqCst), 0);
        drop(inside);
        counters.assert_dropped_once_inside();
    }

    #[test]
    fn a_poll_after_completion_reaches_the_value_which_is_still_dropped_once() {
        let counters = Counters::default();
        let mut inside = Box::pin(Inside::new(counters.counting(), Probe::new(&counters, 0)));
        assert_eq!(poll_inside(inside.as_mut()), Poll::Ready(1));
        let panicked = catch_unwind(AssertUnwindSafe(|| poll_inside(inside.as_mut())));
        assert!(
            panicked.is_err(),
            "the inner future decides what a late poll does"
        );
        assert_eq!(depth(), 0);
        drop(inside);
        counters.assert_dropped_once_inside();
    }

    #[test]
    fn moved_between_threads_while_pinned_is_polled_and_dropped_in_place() {
        let counters = Counters::default();
        let mut inside = Box::pin(Inside::new(counters.counting(), Probe::new(&counters, 2)));
        assert_eq!(poll_inside(inside.as_mut()), Poll::Pending);
        // `Probe` holds a `Cell`, which is `Send`: the box moves, the value stays put.
        let mut inside = std::thread::spawn(move || {
            assert_eq!(poll_inside(inside.as_mut()), Poll::Pending);
            inside
        })
        .join()
        .unwrap();
        assert_eq!(poll_inside(inside.as_mut()), Poll::Ready(3));
        std::thread::spawn(move || {
            drop(inside);
            assert_eq!(depth(), 0);
        })
        .join()
        .unwrap();
        assert_eq!(counters.value_drops.load(Ordering::SeqCst), 1);
        assert_eq!(counters.enter_drops.load(Ordering::SeqCst), 1);
        assert_eq!(counters.dropped_at_depth.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_panicking_destructor_still_drops_the_bindings_once() {
        struct Explodes(Arc<AtomicUsize>);
        impl Drop for Explodes {
            fn drop(&mut self) {
                self.0.store(depth() as usize, Ordering::SeqCst);
                panic!("the value's destructor panics");
            }
        }
        let counters = Counters::default();
        let inside = Inside::new(
            counters.counting(),
            Explodes(counters.dropped_at_depth.clone()),
        );
        assert!(catch_unwind(AssertUnwindSafe(|| drop(inside))).is_err());
        assert_eq!(counters.dropped_at_depth.load(Ordering::SeqCst), 1);
        assert_eq!(counters.enter_drops.load(Ordering::SeqCst), 1);
        assert_eq!(depth(), 0);
    }

    #[test]
    fn made_inside_then_called_inside_by_value() {
        let counters = Counters::default();
        let inside = Inside::new_with(counters.counting(), || {
            let made_at = depth();
            move || (made_at, depth())
        });
        assert_eq!(depth(), 0);
        assert_eq!(inside.into_inner_with(|f| f()), (1, 1));
        assert_eq!(counters.enter_drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn moved_out_value_is_not_dropped_again_and_a_panic_drops_the_bindings() {
        let counters = Counters::default();
        let inside = Inside::new(counters.counting(), Probe::new(&counters, 0));
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            inside.into_inner_with(|probe| {
                drop(probe);
                panic!("the closure panics");
            })
        }));
        assert!(panicked.is_err());
        counters.assert_dropped_once_inside();
    }

    /// Holding a value inside bindings costs no more than the bindings and the value
    /// side by side: no discriminant, for any wrapper.
    #[test]
    fn the_wrappers_are_no_larger_than_their_parts() {
        use core::mem::size_of;

        use crate::bindings::{Binding, BindingList};
        use crate::context::{Context, ContextScope};
        use crate::example::REQUEST_ID;
        use crate::frame::OwnedFrame;
        use crate::scope::Scope;

        type Frame =
            OwnedFrame<Binding<dyn REQUEST_ID>, <Binding<dyn REQUEST_ID> as BindingList>::Entries>;

        fn check<F>() {
            assert_eq!(
                size_of::<Scope<Binding<dyn REQUEST_ID>, F>>(),
                size_of::<(Frame, F)>()
            );
            assert_eq!(size_of::<ContextScope<F>>(), size_of::<(Context, F)>());
            #[cfg(feature = "stream")]
            {
                use crate::stream::{ContextStream, ScopeStream};
                assert_eq!(
                    size_of::<ScopeStream<Binding<dyn REQUEST_ID>, F>>(),
                    size_of::<(Frame, F)>()
                );
                assert_eq!(size_of::<ContextStream<F>>(), size_of::<(Context, F)>());
            }
        }

        check::<()>();
        check::<u8>();
        check::<bool>();
        check::<u64>();
        check::<[u64; 3]>();
        check::<core::future::Ready<u64>>();
        check::<Pin<Box<dyn Future<Output = ()> + Send>>>();
        // What an `Option` cost: a future without a niche grew by its alignment.
        assert!(size_of::<ContextScope<u64>>() < size_of::<(Context, Option<u64>)>());
    }
}
