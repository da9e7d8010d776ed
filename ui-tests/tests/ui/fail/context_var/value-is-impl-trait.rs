// A variable holds one concrete type: `impl Trait` is not a type a `static` can have.
use std::fmt::Display;

#[ctxvar::context_var]
static LABEL: impl Display;

// The fix: a boxed trait object.
#[ctxvar::context_var]
static NAME: Box<dyn Display + Send + Sync>;

fn main() {
    let _ = NAME.sync_scope(Box::new(7), || NAME.try_with(|name| name.to_string()));
}
