// Arguments are separated by commas.
#[ctxvar::context_var(inherit = false trace)]
static TRANSACTION: u64;

fn main() {}
