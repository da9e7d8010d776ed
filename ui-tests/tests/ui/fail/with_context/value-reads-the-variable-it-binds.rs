// A binding's value is evaluated on entry, in the caller's context, before the
// attribute binds anything: reading the variable there needs the caller to provide it.
// Next to it, the declaration that does.
use ctxvar::{context_var, uses_context, with_context};

#[context_var]
static DEPTH: u32;

#[with_context(DEPTH = DEPTH.get() + 1)]
fn deeper() -> u32 {
    DEPTH.get()
}

#[uses_context(DEPTH)]
#[with_context(DEPTH = DEPTH.get() + 1)]
fn fixed() -> u32 {
    DEPTH.get()
}

fn main() {
    let _ = (deeper(), fixed());
}
