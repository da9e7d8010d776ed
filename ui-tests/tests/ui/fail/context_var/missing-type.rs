// The type is required.
#[ctxvar::context_var]
static ITEM_ID;

fn main() {}
