// `#[uses_context]` naming a trait that is not a context variable.
use ctxvar::uses_context;
use std::fmt::Debug;

#[uses_context(Debug)]
async fn handle() {}

fn main() {}
