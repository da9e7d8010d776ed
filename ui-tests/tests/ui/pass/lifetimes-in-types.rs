// Lifetimes in a variable's type mean what they mean in any `static`: an elided
// reference lifetime is `'static`, while in a function pointer or an `Fn(..)` bound it
// is a fresh lifetime per call, and `for<'a>` binds its own.
use ctxvar::context_var;

#[context_var]
static GREETING: &str = "hello";

#[context_var]
static TRIM: fn(&str) -> &str = str::trim;

#[context_var]
static FIRST: for<'a> fn(&'a [u8]) -> Option<&'a u8> = <[u8]>::first;

#[context_var]
static LEN: &(dyn Fn(&str) -> usize + Sync) = &str::len;

fn main() {
    let _: &'static str = GREETING.get();
    // Called with borrows of a local, which a `fn(&'static str)` would reject.
    let local = String::from("  padded  ");
    assert_eq!(TRIM.get()(&local), "padded");
    let bytes = vec![7_u8];
    assert_eq!(FIRST.get()(&bytes), Some(&7));
    assert_eq!(LEN.with(|len| len(&local)), 10);
}
