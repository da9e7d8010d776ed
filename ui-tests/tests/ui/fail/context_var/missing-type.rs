// SPEC §6.4: the type is required.
#[ctxvar::context_var]
static ITEM_ID;

fn main() {}
