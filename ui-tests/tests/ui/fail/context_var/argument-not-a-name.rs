// The arguments are words, not strings.
#[ctxvar::context_var("trace")]
static REQUEST_ID: u64;

fn main() {}
