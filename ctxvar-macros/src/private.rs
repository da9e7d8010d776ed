//! The one place that spells the paths of the runtime and its hidden module.

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote_spanned;

/// The runtime's name in the crate being compiled: `ctxvar`, or the name its
/// `Cargo.toml` gives the dependency (`cv = { package = "ctxvar", .. }`; see
/// `crate_path`).
pub(crate) fn runtime_name() -> String {
    crate::crate_path::renamed().unwrap_or_else(|| "ctxvar".to_owned())
}

/// `::ctxvar` (or `::cv` where the dependency is renamed), spanned at `span`.
pub(crate) fn runtime(span: Span) -> TokenStream {
    let name = Ident::new(&runtime_name(), span);
    quote_spanned!(span=> ::#name)
}

/// `::ctxvar::__private`, the only items of the runtime that expansions name besides
/// its public API, spanned at `span`: an expression starting with it is reported
/// there, so expansions for a variable pass the variable's span.
pub(crate) fn private(span: Span) -> TokenStream {
    private_in(&runtime(span), span)
}

/// `private(span)` for a runtime named by `runtime` (`::ctxvar`, or the name
/// `Cargo.toml` gives it: see `crate_path`).
pub(crate) fn private_in(runtime: &TokenStream, span: Span) -> TokenStream {
    quote_spanned!(span=> #runtime::__private)
}
