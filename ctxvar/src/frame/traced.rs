//! Feature `tracing`: the bound values of traced variables, as log events show them.
//!
//! The values are borrowed from linked frames, alive by the invariant stated and argued
//! in the parent module's documentation (`frame/mod.rs`).

use core::fmt;

use super::layout::{Entry, Traced};
use super::visible::{SmallList, for_each_visible};
use super::with_chain;

/// A bound value of a traced variable, to format (feature `tracing`): borrowed from a
/// linked frame for one call of [`for_each_traced`]'s callback.
pub(crate) struct TracedValue<'chain> {
    entry: &'chain Entry,
    traced: Traced,
}

impl fmt::Display for TracedValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SAFETY: the entry is borrowed from a linked frame, so its value is alive; it
        // is of the declared type of the variable whose header is its key, which holds
        // `traced`.
        unsafe { (self.traced.format)(self.entry.key, self.entry.value, f) }
    }
}

/// How a traced entry's variable is shown; `None` for an untraced one.
fn traced(entry: &Entry) -> Option<Traced> {
    // SAFETY: keys point to the `static` metadata of a variable.
    unsafe { (*entry.key).traced }
}

/// Calls `f` with the field name and value of every traced variable bound on this
/// thread and visible here (each one's innermost binding), outermost first (feature
/// `tracing`).
///
/// Untraced entries cost a pointer check each. The callback may bind, read, capture
/// and log: frames it enters are gone again before it returns, and the frames walked
/// here stay linked until this function returns.
pub(crate) fn for_each_traced(mut f: impl FnMut(&'static str, TracedValue<'_>)) {
    with_chain(|chain| {
        let mut found = SmallList::new();
        for_each_visible(
            chain,
            |entry| traced(entry).is_some(),
            |binding| found.push(binding.entry),
        );
        // Found innermost first; shown outermost first, as spans are.
        for &entry in found.iter().rev() {
            if let Some(traced) = traced(entry) {
                f(traced.field, TracedValue { entry, traced });
            }
        }
    });
}
