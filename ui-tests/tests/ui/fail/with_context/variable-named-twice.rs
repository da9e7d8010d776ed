// The same variable twice.
mod vars {
    #[ctxvar::context_var]
    pub static ITEM_ID: u64;
}

#[ctxvar::with_context(vars::ITEM_ID = 1, vars::ITEM_ID = 2)]
fn handle() {}

fn main() {}
