// The same name declared twice in one module. rustc reports the names defined twice
// (the variable, and the trait that carries its read-outside-a-scope message) and
// each generated impl as conflicting; none of the messages names a hidden item.
#[ctxvar::context_var]
static ITEM_ID: u64;

#[ctxvar::context_var]
static ITEM_ID: u64;

fn main() {}
