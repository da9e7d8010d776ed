// Methods with every receiver, trait impls, and generic functions.
use ctxvar::{context_var, with_context};

#[context_var]
static ID: u64;

struct Service(u64);

impl Service {
    #[with_context(ID = self.0)]
    fn by_ref(&self) -> u64 {
        ID.get()
    }
    #[with_context(ID = self.0)]
    fn by_mut(&mut self) -> u64 {
        ID.get()
    }
    #[with_context(ID = self.0)]
    fn by_value(self) -> u64 {
        ID.get()
    }
}

trait Handler {
    fn handle(&self, id: u64) -> u64;
}

impl Handler for Service {
    #[with_context(ID = id)]
    fn handle(&self, id: u64) -> u64 {
        ID.get() + self.0
    }
}

#[with_context(ID = id)]
fn generic<T: Into<u64>>(id: u64, extra: T) -> u64 {
    ID.get() + extra.into()
}

fn main() {
    let mut service = Service(1);
    assert_eq!(service.by_ref() + service.by_mut() + service.handle(2), 5);
    assert_eq!(service.by_value(), 1);
    assert_eq!(generic(1, 2u8), 3);
}
