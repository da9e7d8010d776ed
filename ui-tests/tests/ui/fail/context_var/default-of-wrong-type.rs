// A default of the wrong type; the caret is on the default.
#[ctxvar::context_var]
static RETRIES: u32 = "three";

fn main() {}
