// A read moved into a thread escapes the function's binding.
use ctxvar::{context_var, uses_context};

#[context_var]
static REQUEST_ID: u64;

#[uses_context(REQUEST_ID)]
fn handle() -> u64 {
    std::thread::spawn(move || REQUEST_ID.get()).join().unwrap()
}

fn main() {}
