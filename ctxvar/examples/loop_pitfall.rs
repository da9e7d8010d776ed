//! The third of the three Python `contextvars` programs ctxvar grew from, told
//! correctly: where to bind a value that work created in a loop should see.
//!
//! ```sh
//! cargo run --example loop_pitfall
//! ```
//!
//! The Python program sets `message` in a loop, creates a task per iteration with
//! `asyncio.create_task`, and its write-up claims that every task prints "third".
//! Python prints first, second, third: `create_task` copies the context when it is
//! called. The pitfall is real for work that is *created* in the loop but started
//! later: coroutines appended to a list in that loop and passed to `gather` afterwards
//! all print "third", because `gather` wraps each in a task only when it is called,
//! after the loop, and each task copies the context as it is then.
//!
//! Rust futures are lazy in the same way: a future does nothing until it is polled,
//! and it sees what is bound where it is polled. So:
//!
//! 1. `ctxvar::spawn` captures the context when it is called, as `create_task` does:
//!    first, second, third.
//! 2. Binding around the *creation* of a future (a `sync_scope` per iteration) binds
//!    nothing the future will see: awaited later, each future sees whatever is bound
//!    where it is polled (nothing, or the awaiting code's value).
//! 3. The fix is to bind on entry to the future that needs the value:
//!    `#[with_context(MESSAGE = message)]` evaluates the binding on the future's first
//!    poll from its own argument, so wherever and whenever it runs it prints its own
//!    message.

use ctxvar::{context_var, with_context};

/// The message the current piece of work prints.
#[context_var]
static MESSAGE: &str;

const MESSAGES: [&str; 3] = ["first", "second", "third"];

/// Prints `MESSAGE` as it is bound when this future runs.
///
/// It reads with `try_get`, so that the pitfall prints "(not bound)". A reader declared
/// `#[uses_context(MESSAGE)]` would compile in all three cases too (the compiler
/// cannot see where a future will be polled) and, in the pitfall, panic on its first
/// poll with a message naming the variable.
async fn print_message() {
    match MESSAGE.try_get() {
        Ok(message) => println!("Message: {message}"),
        Err(_) => println!("Message: (not bound)"),
    }
}

/// The fix: the binding is part of the future, made on entry from its own argument.
#[with_context(MESSAGE = message)]
async fn print_own_message(message: &'static str) {
    print_message().await;
}

/// The pitfall: a scope per iteration around the *creation* of each future. The scope
/// has ended before any of them is polled.
fn create_in_loop() -> Vec<impl Future<Output = ()>> {
    MESSAGES
        .iter()
        .map(|&message| MESSAGE.sync_scope(message, print_message))
        .collect()
}

// One thread, so the spawned tasks run in the order they were spawned.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("-- the Python program: a task spawned per iteration, run after the loop");
    // `ctxvar::spawn` captures the context at the call, as `asyncio.create_task` does.
    let tasks: Vec<_> = MESSAGES
        .iter()
        .map(|&message| MESSAGE.sync_scope(message, || ctxvar::spawn(print_message())))
        .collect();
    for task in tasks {
        task.await.unwrap();
    }

    println!("-- the pitfall: futures created in a scope, awaited after it");
    futures::future::join_all(create_in_loop()).await;

    println!("-- futures created the same way, awaited where MESSAGE is bound to \"outer\"");
    MESSAGE
        .scope("outer", futures::future::join_all(create_in_loop()))
        .await;

    println!("-- the fix: #[with_context(MESSAGE = message)], futures awaited after the loop");
    futures::future::join_all(MESSAGES.map(print_own_message)).await;
}
