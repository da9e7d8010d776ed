// A lazy iterator returned from a function reads after the function's binding ended.
// Next to it, the ways that compile: collect it here, or read the value first.
use ctxvar::{context_var, with_context};

#[context_var]
static OFFSET: u64;

#[with_context(OFFSET = 10)]
fn shifted(items: Vec<u64>) -> impl Iterator<Item = u64> {
    items.into_iter().map(|item| item + OFFSET.get())
}

#[with_context(OFFSET = 10)]
fn collected(items: Vec<u64>) -> impl Iterator<Item = u64> {
    items.into_iter().map(|item| item + OFFSET.get()).collect::<Vec<_>>().into_iter()
}

#[with_context(OFFSET = 10)]
fn read_first(items: Vec<u64>) -> impl Iterator<Item = u64> {
    let offset = OFFSET.get();
    items.into_iter().map(move |item| item + offset)
}

fn main() {
    let _ = (shifted(vec![1]).count(), collected(vec![1]).count(), read_first(vec![1]).count());
}
