// Malformed arguments: none at all.
#[ctxvar::uses_context]
fn handle() {}

fn main() {}
