// `#[uses_context]` naming something that is not a context variable.
use ctxvar::uses_context;

struct Config;

#[uses_context(Config)]
fn handle() {}

fn main() {}
