//! `#[uses_context(VAR, ..)]`: declare that callers bind some variables.

use proc_macro2::TokenStream;
use quote::quote;

use crate::args::parse_requirements;
use crate::function::{Body, Evidence, Function, Parsed, evidence, ide_references, rewrite_body};

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let function = match Function::parse(&item, "uses_context")? {
        Parsed::Function(function) => function,
        Parsed::LeftToRustc => return Ok(item),
    };
    let vars = parse_requirements(args)?;
    Ok(expand_function(&function, &vars))
}

// Input:
//
//     #[uses_context(A, m::B)]
//     async fn f(x: X) -> R { body }
//
// Output:
//
//     async fn f(x: X) -> R {
//         let A_is_bound_only_inside_this_function = Anchor::new();
//         let A = Provided::<dyn A>::require(&A_is_bound_only_inside_this_function, "f");
//         (the same for B)
//         body
//     }
//
// The checks are the first statements of the body, so for an `async fn` they run on
// its first poll, inside whatever scopes its poller has entered.
fn expand_function(function: &Function, vars: &[syn::Path]) -> TokenStream {
    let name = function.name();
    let vars: Vec<&syn::Path> = vars.iter().collect();
    let evidence = evidence(&vars, &Evidence::Required { function: &name });
    let body = match function.body() {
        Body::Async(stmts) | Body::Sync(stmts) => {
            let stmts = rewrite_body(stmts, &vars, &function.item);
            quote! {
                #evidence
                #(#stmts)*
            }
        }
        // A boxed future (after `#[async_trait]`, or written by hand): check on its
        // first poll, as for an `async fn`, and keep the evidence inside the future
        // that reads through it.
        Body::BoxedAsync {
            box_pin,
            prologue,
            rest,
            ..
        } => {
            let rest = rewrite_body(rest, &vars, &function.item);
            quote! {
                #box_pin(async move {
                    #(#prologue)*
                    #evidence
                    #(#rest)*
                })
            }
        }
    };
    let references = ide_references(&function.item, &vars);
    function.with_body(&quote!(#references #body))
}
