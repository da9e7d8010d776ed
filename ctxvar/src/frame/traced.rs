//! Feature `tracing`: the bound values of traced variables, as log events show them.
//!
//! The values are borrowed from linked frames, alive by the invariant stated and argued
//! in the parent module's documentation (`frame/mod.rs`).

use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr;

use super::capture::initialised;
use super::layout::{Traced, VarHeader};
use super::lookup::ChainEntries;
use super::with_chain;

/// A bound value of a traced variable, to format (feature `tracing`): borrowed from a
/// linked frame for one call of [`for_each_traced`]'s callback.
pub(crate) struct TracedValue<'a> {
    key: *const VarHeader,
    value: *const (),
    format: unsafe fn(*const VarHeader, *const (), &mut fmt::Formatter<'_>) -> fmt::Result,
    /// The chain is borrowed: the value is alive only during the callback.
    chain: PhantomData<&'a ()>,
}

impl fmt::Display for TracedValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: `value` is the value of an entry of a frame that stays linked for as
        // long as `self` is borrowed (see `for_each_traced`), so it is alive, and it
        // is of the declared type of the variable whose header is `key`, which holds
        // `format`.
        unsafe { (self.format)(self.key, self.value, f) }
    }
}

/// What [`for_each_traced`] found of one variable: how to show it, where its value
/// is, and its key (to skip its shadowed bindings).
type FoundTraced = (Traced, *const (), *const VarHeader);

/// Calls `f` with the field name and value of every traced variable bound on this
/// thread and visible here (each one's innermost binding), outermost first (feature
/// `tracing`).
///
/// Untraced entries cost a pointer check each. The callback may bind, read, capture
/// and log: frames it enters are gone again before it returns, and the frames walked
/// here stay linked until this function returns.
pub(crate) fn for_each_traced(mut f: impl FnMut(&'static str, TracedValue<'_>)) {
    const ON_STACK: usize = 16;
    let mut found = [MaybeUninit::<FoundTraced>::uninit(); ON_STACK];
    let mut count = 0;
    // Past `ON_STACK` traced variables in view, which no real program reaches.
    let mut more: Vec<FoundTraced> = Vec::new();
    with_chain(|chain| {
        for (entry, _) in ChainEntries::from(chain) {
            // SAFETY: keys point to the `static` metadata of a variable.
            let Some(traced) = (unsafe { (*entry.key).traced }) else {
                continue;
            };
            // SAFETY: `found[..count]` is initialised.
            let earlier = unsafe { initialised(&found, count) };
            let shadowed = earlier
                .iter()
                .chain(&more)
                .any(|&(_, _, key)| ptr::eq(key, entry.key));
            if shadowed {
                continue;
            }
            if count < ON_STACK {
                found[count].write((traced, entry.value, entry.key));
                count += 1;
            } else {
                more.push((traced, entry.value, entry.key));
            }
        }
    });
    // SAFETY: `found[..count]` is initialised.
    let found = unsafe { initialised(&found, count) };
    // Found innermost first; shown outermost first, as spans are.
    for &(traced, value, key) in found.iter().chain(&more).rev() {
        let value = TracedValue {
            key,
            value,
            format: traced.format,
            chain: PhantomData,
        };
        f(traced.field, value);
    }
}
