// A local of the user's that has a variable's name keeps its meaning in work given to
// a ctxvar helper: the attribute gives that work evidence only for names that mean
// the variable there.
#![allow(non_snake_case)]

use ctxvar::{context_var, uses_context, with_context};

#[context_var]
static ITEM_ID: u64;

#[with_context(ITEM_ID = id)]
async fn with_a_let(id: u64) -> (u64, u64) {
    let read = ITEM_ID.get();
    let ITEM_ID = 5;
    (read, ctxvar::spawn(async move { ITEM_ID + 1 }).await.unwrap())
}

#[uses_context(ITEM_ID)]
fn with_patterns() -> Vec<u64> {
    let mut out = vec![ITEM_ID.get()];
    let add = |ITEM_ID: u64| ctxvar::thread::spawn(move || ITEM_ID * 2).join().unwrap();
    out.push(add(10));
    match Some(20) {
        Some(ITEM_ID) => out.push(ctxvar::thread::spawn(move || ITEM_ID + 1).join().unwrap()),
        None => {}
    }
    if let Ok(ITEM_ID) = "30".parse::<u64>() {
        out.push(ctxvar::thread::spawn(move || ITEM_ID + 2).join().unwrap());
    }
    for ITEM_ID in [40_u64] {
        out.push(ctxvar::thread::spawn(move || ITEM_ID + 3).join().unwrap());
    }
    out
}

#[with_context(ITEM_ID = 1)]
fn with_a_parameter(offset: u64, ITEM_ID_COPY: u64) -> u64 {
    // Not the variable's name: rewritten as usual.
    ctxvar::thread::spawn(move || ITEM_ID.get() + offset + ITEM_ID_COPY)
        .join()
        .unwrap()
}

#[tokio::main]
async fn main() {
    assert_eq!(with_a_let(7).await, (7, 6));
    assert_eq!(ITEM_ID.sync_scope(3, with_patterns), [3, 20, 21, 32, 43]);
    assert_eq!(with_a_parameter(10, 100), 111);
}
