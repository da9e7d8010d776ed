// SPEC §6.4: malformed arguments: none at all.
#[ctxvar::with_context]
fn handle() {}

fn main() {}
