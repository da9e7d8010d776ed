// Malformed arguments: none at all.
#[ctxvar::with_context]
fn handle() {}

fn main() {}
