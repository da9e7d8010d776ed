// `trace = display` needs `Display`; a `Vec` has only `Debug`.
#[ctxvar::context_var(trace = display)]
static TAGS: Vec<u8>;

fn main() {}
