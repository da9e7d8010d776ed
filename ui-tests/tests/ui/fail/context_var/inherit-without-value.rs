// `inherit` alone says nothing: it is inherited unless `inherit = false`.
#[ctxvar::context_var(inherit)]
static TRANSACTION: u64;

fn main() {}
