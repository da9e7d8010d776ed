// The value is recorded with `display` or `debug`, nothing else.
#[ctxvar::context_var(trace = json)]
static REQUEST_ID: u64;

fn main() {}
