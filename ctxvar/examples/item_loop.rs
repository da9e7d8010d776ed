//! The second of the three Python `contextvars` programs ctxvar grew from, in Rust: an
//! async loop over items, each processed with its own `ITEM_ID`, which the processing
//! code reads without taking it as a parameter.
//!
//! ```sh
//! cargo run --example item_loop
//! ```
//!
//! The loop runs twice. One after another, each item is received and finished before
//! the next starts. Concurrently, all three start before any finishes, and each still
//! reads its own id after its `.await`. Python's program sets the variable with
//! `item_id.set(id)`, which stays set after the loop; a binding here ends with its
//! scope, so after both loops `ITEM_ID` is bound to nothing.

use std::time::Duration;

use ctxvar::{context_var, uses_context, with_context};

/// The id of the item being processed.
#[context_var]
static ITEM_ID: &str;

const ITEMS: [(&str, &str); 3] = [("item1", "data1"), ("item2", "data2"), ("item3", "data3")];

/// Processes one item; reads its id from the context, before and after an `.await`.
#[uses_context(ITEM_ID)]
async fn process_item(item_data: &str) {
    println!("Processing item {}: {item_data}", ITEM_ID.get());
    tokio::time::sleep(Duration::from_millis(50)).await; // simulate some work
    println!("Finished item {}", ITEM_ID.get());
}

/// The same binding as an attribute: `ITEM_ID` is `id` for this call only.
#[with_context(ITEM_ID = id)]
async fn process(id: &'static str, item_data: &str) {
    process_item(item_data).await;
}

#[tokio::main]
async fn main() {
    println!("-- one after another");
    for (id, data) in ITEMS {
        // Python: `item_id.set(id); await process_item(data)`. The scope wraps the
        // future, so the binding is in place on every poll of it, and only then.
        ITEM_ID.scope(id, process_item(data)).await;
    }

    println!("-- concurrently");
    futures::future::join_all(ITEMS.map(|(id, data)| process(id, data))).await;

    println!(
        "all items finished; ITEM_ID is bound: {}",
        ITEM_ID.is_bound()
    );
}
