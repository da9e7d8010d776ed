//! `#[with_context(VAR = value, ..)]`: bind variables for a function's extent.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::args::{Assignment, parse_assignments};
use crate::function::{Body, Evidence, Function, anchor_stmt, evidence_stmt, rename_self};
use crate::private::private;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let function = Function::parse(item, "with_context")?;
    let assignments = parse_assignments(args)?;
    Ok(expand_function(&function, &assignments))
}

// Input:
//
//     #[with_context(A = a, m::B = b)]
//     async fn f(x: X) -> R { body }
//
// Output:
//
//     async fn f(x: X) -> R {
//         bind::<dyn A>(a).and(bind::<dyn m::B>(b)).scope(async move {
//             if false { return <value of type R>; }   // the "fake return", see below
//             let __ctxvar_anchor = Anchor::new();
//             let A = Scoped::<dyn A>::assume_bound(&__ctxvar_anchor);
//             let B = Scoped::<dyn m::B>::assume_bound(&__ctxvar_anchor);
//             body
//         }).await
//     }
//
// A plain `fn` gets `.sync_scope(move || -> R { .. })` instead of `.scope(async move ..)`;
// a method rewritten by `#[async_trait]` gets the `async fn` treatment inside its
// `Box::pin(async move { .. })`.
// The values are evaluated on entry (the first poll of an `async fn`), left to right,
// before the new bindings exist, so they see the caller's bindings and the parameters.
fn expand_function(function: &Function, assignments: &[Assignment]) -> TokenStream {
    let bindings = chain_bindings(assignments, Clone::clone);
    let anchor = anchor_stmt();
    let evidence = assignments
        .iter()
        .map(|a| evidence_stmt(&a.var, &Evidence::Bound));
    let body = match function.body() {
        Body::Async(stmts) => {
            let fake_return = fake_return(function);
            quote! {
                #bindings.scope(async move {
                    #fake_return
                    #anchor
                    #(#evidence)*
                    #(#stmts)*
                }).await
            }
        }
        // `#[async_trait]` already turned the body into a boxed future: bind inside it,
        // after its parameter moves, so the values are still evaluated on the first
        // poll and see the parameters. Its block fixes its own output type, so no fake
        // return is needed.
        Body::BoxedAsync {
            box_pin,
            prologue,
            rest,
        } => {
            let bindings = chain_bindings(assignments, rename_self);
            quote! {
                #box_pin(async move {
                    #(#prologue)*
                    #bindings.scope(async move {
                        #anchor
                        #(#evidence)*
                        #(#rest)*
                    }).await
                })
            }
        }
        Body::Sync(stmts) => {
            let output = function.nameable_return_type().map(|ty| quote!(-> #ty));
            quote! {
                #bindings.sync_scope(move || #output {
                    #anchor
                    #(#evidence)*
                    #(#stmts)*
                })
            }
        }
    };
    function.with_body(&body)
}

/// `bind::<dyn A>(a).and(bind::<dyn B>(b))...`, each value passed through `value`.
fn chain_bindings(
    assignments: &[Assignment],
    value: impl Fn(&syn::Expr) -> syn::Expr,
) -> TokenStream {
    let private = private();
    let mut bindings = assignments.iter().map(|Assignment { var, value: expr }| {
        let expr = value(expr);
        quote_spanned!(expr.span()=> #private::bind::<dyn #var>(#expr))
    });
    let first = bindings.next();
    quote!(#first #(.and(#bindings))*)
}

/// An unreachable `return` of the declared return type, first in the async block.
///
/// It fixes the block's output type before the body is checked, so `?` knows what to
/// convert into and a wrong return value is reported at the user's expression and
/// return type, not at the attribute (the technique of tracing's `#[instrument]`,
/// tokio-rs/tracing#2270). Omitted when the return type mentions `impl Trait`, which
/// cannot be the type of a `let`.
fn fake_return(function: &Function) -> TokenStream {
    let Some(ty) = function.nameable_return_type() else {
        return TokenStream::new();
    };
    let ret = syn::Ident::new("__ctxvar_fake_return", proc_macro2::Span::mixed_site());
    quote! {
        #[allow(
            unknown_lints,
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::let_with_type_underscore,
            clippy::needless_return,
            clippy::unreachable
        )]
        if false {
            let #ret: #ty = loop {};
            return #ret;
        }
    }
}
