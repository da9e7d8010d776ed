// `thread::spawn` from std, not from ctxvar: a plain thread starts with nothing bound.
// Next to it, ctxvar's helper of the same name, which compiles.
use std::thread;

use ctxvar::{context_var, uses_context};

#[context_var]
static REQUEST_ID: u64;

#[uses_context(REQUEST_ID)]
fn handle() -> u64 {
    thread::spawn(move || REQUEST_ID.get()).join().unwrap()
}

#[uses_context(REQUEST_ID)]
fn with_ctxvar_thread() -> u64 {
    ctxvar::thread::spawn(move || REQUEST_ID.get()).join().unwrap()
}

fn main() {}
