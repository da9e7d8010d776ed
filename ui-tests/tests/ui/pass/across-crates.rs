// A `pub` variable declared in another crate, imported and used.
use ctxvar::{uses_context, with_context};
use ctxvar_ui_tests::TENANT;

#[uses_context(TENANT)]
fn table() -> String {
    format!("{}_orders", TENANT.get())
}

#[with_context(ctxvar_ui_tests::TENANT = "acme")]
fn by_path() -> String {
    table()
}

fn main() {
    assert_eq!(by_path(), "acme_orders");
}
