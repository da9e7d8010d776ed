//! Procedural macros of [`ctxvar`](https://docs.rs/ctxvar). Use them through `ctxvar`,
//! which re-exports them; this crate is an implementation detail.
//!
//! Each entry point is a thin shim: parse and validate into a model, then expand
//! infallibly. On an error, the user's item is emitted unchanged next to the error, so
//! one mistake gives one error and the rest of the code (and IDE completion) keeps
//! working. Each attribute's user documentation, which `ctxvar` shows where it
//! re-exports it, is a page of its own in `docs/`, its examples run as doctests.

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod args;
mod carried;
mod context_var;
mod crate_path;
mod evidence;
mod fallible;
mod function;
mod ide;
mod misuse;
#[cfg(test)]
mod never_panics;
mod private;
mod provide;
mod tokens;
mod uses_context;
mod value_type;
mod with_context;
mod work;

use proc_macro::TokenStream;

#[doc = include_str!("docs/context_var.md")]
#[proc_macro_attribute]
pub fn context_var(args: TokenStream, item: TokenStream) -> TokenStream {
    // On errors it declares the variable anyway where it can, and keeps an item that
    // is not a `static` unchanged (see `expand`); it never re-emits the `static`
    // itself, which without a value is an error of its own.
    context_var::expand(args.into(), item.into()).into()
}

#[doc = include_str!("docs/with_context.md")]
#[proc_macro_attribute]
pub fn with_context(args: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    with_context::expand(args.into(), item.into())
        .unwrap_or_else(|err| with_error(err, original))
        .into()
}

#[doc = include_str!("docs/uses_context.md")]
#[proc_macro_attribute]
pub fn uses_context(args: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    uses_context::expand(args.into(), item.into())
        .unwrap_or_else(|err| with_error(err, original))
        .into()
}

/// The error, followed by the user's item unchanged, so that one mistake in an
/// attribute gives one error and uses of the item still resolve (tokio-rs/tokio#4162).
fn with_error(err: syn::Error, original: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let mut tokens = err.into_compile_error();
    tokens.extend(original);
    tokens
}
