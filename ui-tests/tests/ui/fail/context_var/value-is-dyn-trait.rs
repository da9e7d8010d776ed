// A trait object has no size known at compile time: a variable holds it boxed.
use std::fmt::Display;

#[ctxvar::context_var]
static LABEL: dyn Display;

// The fix: a box, `Send + Sync` as every value must be.
#[ctxvar::context_var]
static NAME: Box<dyn Display + Send + Sync>;

fn main() {
    let _ = NAME.sync_scope(Box::new(7), || NAME.try_with(|name| name.to_string()));
}
