// An argument that names a trait but not a context variable.
use ctxvar::with_context;
use std::fmt::Display;

#[with_context(Display = 1)]
fn handle() {}

fn main() {}
