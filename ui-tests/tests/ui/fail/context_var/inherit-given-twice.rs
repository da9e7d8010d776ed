// Each argument may be given once.
#[ctxvar::context_var(inherit = false, inherit = true)]
static TRANSACTION: u64;

fn main() {}
