// Only `static NAME: Type;` (or `= default;`) declares a variable.
#[ctxvar::context_var]
const ITEM_ID: u64 = 1;

// The variable is still declared, with the value as its default: one error.
fn main() {
    assert_eq!(ITEM_ID.get(), 1);
}
