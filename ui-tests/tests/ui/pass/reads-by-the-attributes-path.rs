// A variable bound or declared by its path (`vars::REQUEST_ID`) is read by that path
// too, as by its last name, and checked the same way.
use ctxvar::prelude::*;

mod vars {
    #[ctxvar::context_var]
    pub static REQUEST_ID: u64;
}

#[ctxvar::with_context(vars::REQUEST_ID = 5)]
fn handler() -> u64 {
    vars::REQUEST_ID.get() + vars::REQUEST_ID.with(|id| *id) + REQUEST_ID.get()
}

#[ctxvar::uses_context(vars::REQUEST_ID)]
fn helper() -> Result<u64, ctxvar::AccessError> {
    vars::REQUEST_ID.try_get()
}

fn main() {
    assert_eq!(handler(), 15);
    assert_eq!(vars::REQUEST_ID.sync_scope(3, helper), Ok(3));
}
