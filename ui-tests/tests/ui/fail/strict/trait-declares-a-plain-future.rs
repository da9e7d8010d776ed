// A strict helper implementing a trait method that the trait declares as a plain
// `async fn`: the trait promises a future that can be awaited anywhere.
use std::future::Future;

use ctxvar::{UsesContext, Variable, context_var, uses_context};

#[context_var]
static TENANT: &str;

trait Orders {
    async fn table(&self) -> String;
}

struct Shop;

impl Orders for Shop {
    #[uses_context(TENANT, strict)]
    async fn table(&self) -> String {
        format!("{}.shop", TENANT.get())
    }
}

// The fix: the trait declares the requirement too.
trait StrictOrders {
    fn table(&self) -> UsesContext<(Variable<dyn TENANT>,), impl Future<Output = String> + '_>;
}

impl StrictOrders for Shop {
    #[uses_context(TENANT, strict)]
    async fn table(&self) -> String {
        format!("{}.shop", TENANT.get())
    }
}

fn main() {
    let _ = (Orders::table(&Shop), StrictOrders::table(&Shop));
}
