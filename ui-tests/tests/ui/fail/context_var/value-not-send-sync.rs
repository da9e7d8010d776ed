// Values are shared across threads, so they must be `Send + Sync`.
use std::rc::Rc;

#[ctxvar::context_var]
static NAME: Rc<str>;

fn main() {}
