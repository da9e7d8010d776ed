// A default is a constant expression, as for any `static`.
#[ctxvar::context_var]
static NAME: String = "anonymous".to_string();

fn main() {}
