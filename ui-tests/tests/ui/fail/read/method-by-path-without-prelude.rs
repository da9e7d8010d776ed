// Calling a variable's method by path, with neither the variable nor the
// prelude imported, is an error that says which import to add.
mod vars {
    #[ctxvar::context_var]
    pub static ITEM_ID: u64;
}

fn main() {
    let _ = vars::ITEM_ID.is_bound();
}
