// SPEC §6.4: only `static NAME: Type;` (or `= default;`) declares a variable.
#[ctxvar::context_var]
const ITEM_ID: u64 = 1;

fn main() {}
