// A read moved into a closure that runs on a plain thread, which carries nothing: the
// evidence that `REQUEST_ID` is bound lives only inside `handle`.
use ctxvar::{context_var, uses_context};

#[context_var]
static REQUEST_ID: u64;

// `std::thread::spawn`, declared here so that rustc's note on where the `'static`
// requirement comes from quotes this file rather than the standard library's source
// (which rustc quotes only when the `rust-src` component is installed).
fn on_a_thread(work: impl FnOnce() -> u64 + Send + 'static) -> u64 {
    std::thread::spawn(work).join().unwrap()
}

#[uses_context(REQUEST_ID)]
fn handle() -> u64 {
    on_a_thread(move || REQUEST_ID.get())
}

// ctxvar's helper carries the context to the thread: this compiles.
#[uses_context(REQUEST_ID)]
fn with_ctxvar_thread() -> u64 {
    ctxvar::thread::spawn(move || REQUEST_ID.get()).join().unwrap()
}

fn main() {}
