// A crate that forbids `unsafe` code can still declare variables: the `unsafe impl`
// the attribute generates is spanned inside the macro, where the lint does not look.
#![forbid(unsafe_code)]

use ctxvar::{context_var, uses_context, with_context};

#[context_var]
static ITEM_ID: u64;

#[context_var(inherit = false, trace = display)]
static RETRIES: u32 = 3;

#[uses_context(ITEM_ID)]
fn item() -> u64 {
    ITEM_ID.get()
}

#[with_context(ITEM_ID = 7)]
fn process() -> (u64, u32) {
    (item(), RETRIES.get())
}

fn main() {
    assert_eq!(process(), (7, 3));
}
