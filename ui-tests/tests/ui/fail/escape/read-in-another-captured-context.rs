// A context captured somewhere else (here, given by the caller) has its own bindings,
// not the function's: a read in work run there is not known to be bound. Next to it,
// the ways that compile: a fallible read, and a context captured in the function.
use ctxvar::{Context, context_var, uses_context};

#[context_var]
static REQUEST_ID: u64;

#[uses_context(REQUEST_ID)]
async fn in_theirs(theirs: Context) -> u64 {
    theirs.scope(async { REQUEST_ID.get() }).await
}

#[uses_context(REQUEST_ID)]
async fn fixed(theirs: Context) -> (Result<u64, ctxvar::AccessError>, u64) {
    let ours = Context::current();
    (
        theirs.scope(async { REQUEST_ID.try_get() }).await,
        ours.scope(async { REQUEST_ID.get() }).await,
    )
}

fn main() {
    let _ = (in_theirs(Context::empty()), fixed(Context::empty()));
}
