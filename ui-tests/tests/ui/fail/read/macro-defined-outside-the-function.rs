// A `macro_rules!` macro defined outside a function cannot see the function's binding
// (its own tokens resolve where it is defined). Next to it, the macro defined inside.
use ctxvar::{context_var, with_context};

#[context_var]
static ITEM_ID: u64;

macro_rules! item_label {
    () => {
        format!("item {}", ITEM_ID.get())
    };
}

#[with_context(ITEM_ID = 7)]
fn label() -> String {
    item_label!()
}

#[with_context(ITEM_ID = 7)]
fn fixed() -> String {
    macro_rules! item_label {
        () => {
            format!("item {}", ITEM_ID.get())
        };
    }
    item_label!()
}

fn main() {
    let _ = (label(), fixed());
}
