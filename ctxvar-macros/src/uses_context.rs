//! `#[uses_context(VAR, ..)]`: declare that callers bind some variables;
//! `#[uses_context(VAR, .., strict)]`: and make that part of the function's type.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::args::{is_strict_flag, parse_variables};
use crate::evidence::{Evidence, evidence};
use crate::function::{Body, Function, Parsed};
use crate::ide::ide_references;
use crate::private::runtime;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let function = match Function::parse(&item, "uses_context")? {
        Parsed::Function(function) => function,
        Parsed::LeftToRustc => return Ok(item),
    };
    let mut vars = parse_variables(args)?;
    let strict = vars
        .iter()
        .position(is_strict_flag)
        .map(|at| vars.remove(at));
    let Some(flag) = &strict else {
        return Ok(expand_function(&function, &vars, false));
    };
    if vars.is_empty() {
        return Err(syn::Error::new(
            flag.span(),
            "expected the variables the function uses before `strict`: \
             `#[uses_context(VAR, strict)]`",
        ));
    }
    // The other mistakes leave a function that is fine without `strict`: it is
    // expanded so, next to the error, which is then the only one.
    if let Some(error) = strict_error(&function, flag) {
        let expanded = expand_function(&function, &vars, false);
        let error = error.into_compile_error();
        return Ok(quote!(#error #expanded));
    }
    Ok(expand_function(&function, &vars, true))
}

/// Why `function` cannot be strict, if it cannot.
fn strict_error(function: &Function, flag: &syn::Path) -> Option<syn::Error> {
    // Below `strict`, another attribute macro would see a plain `fn` that returns a
    // `UsesContext`: `#[tracing::instrument]` would enter its span only while the
    // future is made, `#[with_context]` would bind only then.
    if let Some(below) = function.attribute_macro_below() {
        let name = below.path().to_token_stream().to_string().replace(' ', "");
        return Some(syn::Error::new_spanned(
            below.path(),
            format!(
                "`#[{name}]` would see the plain `fn` that `strict` turns this `async fn` \
                 into, not the `async fn`: write `#[{name}]` above \
                 `#[uses_context(.., strict)]`, which must come last"
            ),
        ));
    }
    if !matches!(function.body(), Body::Async(_)) {
        return Some(syn::Error::new(
            flag.span(),
            "`strict` makes the variables it uses part of the type of the future an `async fn` returns; \
             this function is not an `async fn` (for a plain `fn`, or an \
             `#[async_trait]` method, leave `strict` out: the variables are checked \
             when it runs)",
        ));
    }
    None
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
//         let A = Provided::<dyn A>::checked(&A_is_bound_only_inside_this_function, "f");
//         (the same for B)
//         body
//     }
//
// The checks are the first statements of the body, so for an `async fn` they run on
// its first poll, inside whatever scopes its poller has entered.
//
// With `strict`, the same body runs in a future whose type carries the variables it uses:
//
//     fn f(x: X) -> UsesContext<(Variable<dyn A>, Variable<dyn m::B>), impl Future<Output = R>> {
//         UsesContext::__new(async move { (the body above) })
//     }
fn expand_function(function: &Function, vars: &[syn::Path], strict: bool) -> TokenStream {
    let name = function.name();
    let vars: Vec<&syn::Path> = vars.iter().collect();
    let evidence = evidence(&vars, &Evidence::Required { function: &name });
    let body = match function.body() {
        Body::Async(stmts) | Body::Sync(stmts) => {
            let (items, stmts) = function.rewrite(stmts, &vars);
            quote! {
                #items
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
            let (items, rest) = function.rewrite(rest, &vars);
            quote! {
                #box_pin(async move {
                    #items
                    #(#prologue)*
                    #evidence
                    #(#rest)*
                })
            }
        }
    };
    let references = ide_references(&function.item, &vars);
    if !strict {
        return function.with_body(&quote!(#references #body));
    }
    let mut sig = function.item.sig.clone();
    sig.asyncness = None;
    let (arrow, output) = match &sig.output {
        syn::ReturnType::Default => (syn::token::RArrow::default(), quote!(())),
        syn::ReturnType::Type(arrow, ty) => (*arrow, quote!(#ty)),
    };
    let keys = vars.iter().map(|var| {
        let runtime = runtime(var.span());
        quote_spanned!(var.span()=> #runtime::Variable<dyn #var>)
    });
    // The `impl Future` is this expansion's, whose tokens have this crate's edition,
    // 2024: it captures every lifetime in scope, as the future of an `async fn` does,
    // also in a helper's crate of edition 2021 (`tests/edition-2021` checks it).
    let runtime = runtime(proc_macro2::Span::call_site());
    let returned = quote! {
        #runtime::UsesContext<(#(#keys,)*), impl ::core::future::Future<Output = #output>>
    };
    let future = quote!(#runtime::UsesContext::__new(async move { #body }));
    // rustc answers an `.await` of something that is not a future with advice to make
    // the function `async`, which does not apply to a strict helper. With the user's
    // span, that advice would print `async async fn`; spanned in the expansion, it
    // points at the attribute instead (it cannot be turned off).
    sig.fn_token = syn::Token![fn](proc_macro2::Span::mixed_site());
    sig.output = syn::parse_quote!(#arrow #returned);
    function.with_signature_and_body(&sig, &quote!(#references #future))
}
