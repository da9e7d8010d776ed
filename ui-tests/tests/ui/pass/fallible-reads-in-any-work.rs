// In annotated functions, `try_get`, `try_with` and `is_bound` compile in any work,
// 'static or not, also inside macros, and report what that work sees: nothing in a
// plain tokio task or thread, the value in work that carries the context.
use ctxvar::{context_var, uses_context, with_context, AccessError};

#[context_var]
static ITEM_ID: u64;

#[context_var(inherit = false)]
static TRANSACTION: u32;

// Takes `name: expression`, as some logging and JSON macros do.
macro_rules! field {
    ($name:ident: $value:expr) => {
        (stringify!($name), $value)
    };
}

#[with_context(ITEM_ID = id)]
async fn plain_spawns(id: u64) -> (Result<u64, AccessError>, bool, String) {
    let task = tokio::spawn(async move { field!(item: ITEM_ID.try_get()).1 });
    let thread = std::thread::spawn(move || ITEM_ID.is_bound());
    let formatted = tokio::spawn(async move {
        tracing::info!(item_id = ?ITEM_ID.try_get(), "in a plain task");
        format!("{:?}", ITEM_ID.try_with(|id| id + 1).is_err())
    });
    (task.await.unwrap(), thread.join().unwrap(), formatted.await.unwrap())
}

#[uses_context(ITEM_ID)]
async fn carried() -> (Result<u64, AccessError>, String) {
    let task = ctxvar::spawn(async move { ITEM_ID.try_get() });
    let thread = ctxvar::thread::spawn(move || format!("{:?}", ITEM_ID.try_with(|id| id * 2)));
    (task.await.unwrap(), thread.join().unwrap())
}

// A variable declared `inherit = false` may be read with `try_get` in work given to
// a helper: that work does not see it.
#[with_context(TRANSACTION = 1)]
async fn not_inherited() -> (bool, u32) {
    let seen = ctxvar::spawn(async move { TRANSACTION.try_get().is_ok() }).await.unwrap();
    (seen, TRANSACTION.get())
}

#[tokio::main]
async fn main() {
    let (task, thread, formatted) = plain_spawns(7).await;
    assert!(task.is_err());
    assert!(!thread);
    assert_eq!(formatted, "true");
    assert_eq!(ITEM_ID.scope(3, carried()).await, (Ok(3), "Ok(6)".to_string()));
    assert_eq!(not_inherited().await, (false, 1));
}
