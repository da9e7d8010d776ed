// A response body's stream is polled after the handler returns, outside its context.
// Next to it, the stream that carries the context into every poll. (`Body` stands for
// a web framework's body type.)
use ctxvar::{Context, context_var, with_context};
use futures::StreamExt as _;

#[context_var]
static REQUEST_ID: u64;

struct Body;

impl Body {
    fn from_stream<S: 'static>(_: S) -> Body {
        Body
    }
}

#[with_context(REQUEST_ID = 7)]
fn respond() -> Body {
    let lines = futures::stream::iter(vec![1, 2, 3]);
    Body::from_stream(lines.map(|n| n + REQUEST_ID.get()))
}

#[with_context(REQUEST_ID = 7)]
fn fixed() -> Body {
    let lines = futures::stream::iter(vec![1, 2, 3]);
    Body::from_stream(Context::current().scope_stream(lines.map(|n| n + REQUEST_ID.get())))
}

fn main() {
    let _ = (respond(), fixed());
}
