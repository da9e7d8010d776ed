use ctxvar::uses_context;

#[uses_context(strict)]
async fn table() -> String {
    String::new()
}

fn main() {
    let _ = table();
}
