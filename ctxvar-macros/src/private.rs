//! The one place that spells the path of the runtime's hidden module.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;

/// `::ctxvar::__private`, the only items of the runtime that expansions name besides
/// its public API, spanned at `span`: an expression starting with it is reported
/// there, so expansions for a variable pass the variable's span.
pub(crate) fn private(span: Span) -> TokenStream {
    quote_spanned!(span=> ::ctxvar::__private)
}

/// `private(span)` for a runtime named by `runtime` (`::ctxvar`, or the name
/// `Cargo.toml` gives it: see `crate_path`).
pub(crate) fn private_in(runtime: &TokenStream, span: Span) -> TokenStream {
    quote_spanned!(span=> #runtime::__private)
}
