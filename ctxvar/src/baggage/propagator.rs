//! The list as an OpenTelemetry propagator: the same header, written into any
//! `Injector` and read from any `Extractor`, so that the variables travel over every
//! carrier OpenTelemetry users already have (HTTP headers, tonic metadata, the headers
//! of a Kafka, NATS or AMQP message).

use std::sync::LazyLock;

use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};

use super::list::Baggage;
use crate::context::Context;

/// The one field the propagator reads and writes.
static FIELDS: LazyLock<[String; 1]> = LazyLock::new(|| ["baggage".to_owned()]);

/// Writes and reads the W3C `baggage` header through OpenTelemetry's carriers, with
/// the rules of [`inject`](Baggage::inject) and [`extract`](Baggage::extract): the
/// same limits, the same opt-in keys, a value that does not parse dropped with a
/// warning that names its key and never shows the value.
///
/// - **Injecting** writes the listed variables bound where it is called, merged with
///   the baggage of the OpenTelemetry context it is given (the first of each key
///   wins). Use it *instead of* OpenTelemetry's own `BaggagePropagator`, not beside
///   it: both write the one `baggage` field, and the later would replace the other.
/// - **Extracting** returns the OpenTelemetry context it is given, carrying the
///   [`Context`] with the listed variables found bound (over the bindings in effect
///   where it is called); [`extracted_context`] takes it out, to run the handler in.
///   The OpenTelemetry context's own baggage is left as it was, unless the list asks
///   for the values to be merged into it
///   ([`merge_into_opentelemetry_baggage`](Baggage::merge_into_opentelemetry_baggage)).
///
/// It composes with `TraceContextPropagator` in a `TextMapCompositePropagator`, and
/// can be installed as the global propagator. What it extracts is whatever the sender
/// wrote: as with the [layer](Baggage::layer), never authorise on a variable bound
/// from it unless the sender is trusted (see the [module documentation](super)).
///
/// ```
/// use std::collections::HashMap;
///
/// use ctxvar::baggage::{Baggage, extracted_context};
/// use ctxvar::context_var;
/// use opentelemetry::propagation::TextMapPropagator;
///
/// #[context_var]
/// static TENANT: String;
///
/// let baggage = Baggage::new().var("tenant", TENANT);
///
/// // The sender: the headers of a queue message, here a map. (Called by its trait's
/// // name: `Baggage`'s own `inject` and `extract` take an `http::HeaderMap`.)
/// let mut message_headers = HashMap::new();
/// TENANT.sync_scope("acme".to_owned(), || {
///     TextMapPropagator::inject(&baggage, &mut message_headers);
/// });
/// assert_eq!(message_headers["baggage"], "tenant=acme");
///
/// // The receiver: the handling runs in the context the headers carry.
/// let otel_cx = TextMapPropagator::extract(&baggage, &message_headers);
/// let ctx = extracted_context(&otel_cx).expect("extracted by a ctxvar propagator");
/// assert_eq!(ctx.run(|| TENANT.try_get()), Ok("acme".to_owned()));
/// ```
impl TextMapPropagator for Baggage {
    fn inject_context(&self, cx: &opentelemetry::Context, injector: &mut dyn Injector) {
        let text = self.outgoing(core::iter::empty::<&[u8]>(), cx);
        if !text.is_empty() {
            injector.set("baggage", text);
        }
    }

    fn extract_with_context(
        &self,
        cx: &opentelemetry::Context,
        extractor: &dyn Extractor,
    ) -> opentelemetry::Context {
        let values = extractor.get_all("baggage").unwrap_or_default();
        if !self.into_otel {
            return cx.with_value(Extracted(self.extract_lines(&values)));
        }
        // The context's baggage, then the values bound, which replace its members of
        // the same keys (as they shadow them in the ctxvar context).
        let mut merged = opentelemetry::baggage::Baggage::new();
        for (key, (value, metadata)) in cx.baggage() {
            merged.insert_with_metadata(key.clone(), value.clone(), metadata.clone());
        }
        let ctx = self.extract_lines_bound(&values, &mut |key, text| {
            merged.insert(key.to_owned(), text.to_owned());
        });
        cx.with_value(Extracted(ctx)).with_baggage(merged)
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&*FIELDS)
    }
}

impl Baggage {
    /// Makes the propagator's extraction also add the values it binds to the
    /// OpenTelemetry context's baggage, for code that reads them there (a span
    /// processor, an exporter); the members already in it are kept, those of the
    /// same keys replaced. Only what was bound is added: a listed value that did not
    /// decode or parse is in neither.
    ///
    /// ```
    /// use std::collections::HashMap;
    ///
    /// use ctxvar::baggage::Baggage;
    /// use ctxvar::context_var;
    /// use opentelemetry::baggage::BaggageExt;
    /// use opentelemetry::propagation::TextMapPropagator;
    ///
    /// #[context_var]
    /// static TENANT: String;
    /// #[context_var]
    /// static SHARD: u32;
    ///
    /// let baggage = Baggage::new()
    ///     .var("tenant", TENANT)
    ///     .var("shard", SHARD)
    ///     .merge_into_opentelemetry_baggage();
    /// let headers = HashMap::from([("baggage".to_owned(), "tenant=acme,shard=x".to_owned())]);
    /// let cx = TextMapPropagator::extract(&baggage, &headers);
    /// assert_eq!(cx.baggage().get("tenant").map(|v| v.as_str()), Some("acme"));
    /// assert_eq!(cx.baggage().get("shard"), None); // `x` is not a `u32`
    /// ```
    #[must_use]
    pub fn merge_into_opentelemetry_baggage(mut self) -> Self {
        self.into_otel = true;
        self
    }
}

/// The context a [`Baggage`] propagator extracted, as a value of the OpenTelemetry
/// context it returned.
#[derive(Debug)]
struct Extracted(Context);

/// The [`Context`] that a [`Baggage`] propagator's extraction put into `cx`, with the
/// listed variables it found bound; `None` if no `Baggage` extracted into `cx` (for
/// example, a composite propagator without one).
///
/// ```
/// use std::collections::HashMap;
///
/// use ctxvar::baggage::{Baggage, extracted_context};
/// use ctxvar::context_var;
/// use opentelemetry::propagation::TextMapPropagator;
///
/// #[context_var]
/// static TENANT: String;
///
/// let baggage = Baggage::new().var("tenant", TENANT);
/// let headers = HashMap::from([("baggage".to_owned(), "tenant=acme".to_owned())]);
///
/// let ctx = extracted_context(&TextMapPropagator::extract(&baggage, &headers)).unwrap();
/// assert_eq!(ctx.run(|| TENANT.try_get()), Ok("acme".to_owned()));
/// // A context no `Baggage` extracted into carries none.
/// assert!(extracted_context(&opentelemetry::Context::new()).is_none());
/// ```
#[must_use]
pub fn extracted_context(cx: &opentelemetry::Context) -> Option<Context> {
    cx.get::<Extracted>().map(|extracted| extracted.0.clone())
}
