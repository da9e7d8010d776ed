// A read with `with` outside any scope, of a variable declared in another module and imported.
mod vars {
    #[ctxvar::context_var]
    pub static TENANT: String;
}

use vars::TENANT;

fn tenant_len() -> usize {
    TENANT.with(|tenant| tenant.len())
}

fn main() {}
