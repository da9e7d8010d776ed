// Events: an `info!` through `tracing-subscriber`'s `fmt`, with the traced variables
// added to it by `ContextFields` or plain.
//
// Included into main.rs, not a module of its own: see there.

/// `fmt` writing to nowhere, its event format wrapped or not.
fn fmt_to_sink<E>(
    map: impl FnOnce(
        tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Full>,
    ) -> E,
) -> impl tracing::Subscriber
where
    E: for<'w> tracing_subscriber::fmt::FormatEvent<
            tracing_subscriber::Registry,
            tracing_subscriber::fmt::format::DefaultFields,
        > + Send
        + Sync
        + 'static,
{
    tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_ansi(false)
        .map_event_format(map)
        .finish()
}

#[inline(never)]
fn event_ctxvar(n: u64) {
    let subscriber = fmt_to_sink(ctxvar::trace::ContextFields::text);
    tracing::subscriber::with_default(subscriber, || {
        TRACED_NAME.sync_scope("acme", || {
            TRACED.sync_scope(7, || {
                for i in 0..n {
                    tracing::info!(i, "handled");
                }
            });
        });
    });
}

#[inline(never)]
fn event_plain(n: u64) {
    let subscriber = fmt_to_sink(|format| format);
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..n {
            tracing::info!(i, "handled");
        }
    });
}
