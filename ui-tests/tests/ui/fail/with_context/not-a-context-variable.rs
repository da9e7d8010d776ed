// An argument that is not a context variable.
use ctxvar::with_context;

struct Config;

#[with_context(Config = 1)]
fn handle() {}

fn main() {}
