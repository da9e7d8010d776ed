// A context variable's value outlives every scope, so its type cannot borrow
// for a named lifetime.
#[ctxvar::context_var]
static USER: &'a str;

// The variable is still declared (as `&'static str`): one error.
fn main() {
    let _: Result<&'static str, _> = USER.try_get();
}
