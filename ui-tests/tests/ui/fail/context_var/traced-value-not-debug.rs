// `trace` records the value with `Debug`; this type implements neither
// `Debug` nor `Display`.
pub struct Token(u64);

#[ctxvar::context_var(trace)]
static TOKEN: Token;

fn main() {}
