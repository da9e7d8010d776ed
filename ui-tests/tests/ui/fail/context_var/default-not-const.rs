// A default is a constant expression, as for any `static`. (A call of a function of
// this file: a method of the standard library would make rustc quote its source, which
// it does only when the `rust-src` component is installed.)
fn anonymous() -> String {
    String::from("anonymous")
}

#[ctxvar::context_var]
static NAME: String = anonymous();

fn main() {}
