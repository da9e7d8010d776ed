// Each argument may be given once, whatever its value.
#[ctxvar::context_var(trace, trace = display)]
static REQUEST_ID: u64;

fn main() {}
