//! The one place that spells the path of the runtime's hidden module.

use proc_macro2::TokenStream;
use quote::quote;

/// `::ctxvar::__private`, the only items of the runtime that expansions name besides
/// its public API.
pub(crate) fn private() -> TokenStream {
    quote!(::ctxvar::__private)
}
