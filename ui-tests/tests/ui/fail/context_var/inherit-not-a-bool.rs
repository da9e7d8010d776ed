// `inherit` takes `true` or `false`.
#[ctxvar::context_var(inherit = no)]
static ITEM_ID: u64;

fn main() {}
