// Only a `static` declares a variable; the function is kept, so `main` still
// finds it and the mistake is reported once.
#[ctxvar::context_var]
fn item_id() -> u64 {
    7
}

fn main() {
    assert_eq!(item_id(), 7);
}
