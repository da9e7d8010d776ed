// An argument `#[context_var]` does not know.
#[ctxvar::context_var(inherit = false, default = 3)]
static ITEM_ID: u64;

fn main() {}
