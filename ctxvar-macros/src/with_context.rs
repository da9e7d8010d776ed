//! `#[with_context(VAR = value, ..)]`: bind variables for a function's extent.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::args::{Assignment, last_ident, parse_assignments, parse_variables};
use crate::evidence::{Evidence, evidence, key_type};
use crate::function::{
    Body, Function, Parsed, names_bound_by_patterns, outer_evidence_end, rename_self,
};
use crate::ide::ide_references;
use crate::misuse::report_reads_in_values;
use crate::private::runtime;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let function = match Function::parse(&item, "with_context")? {
        Parsed::Function(function) => function,
        Parsed::LeftToRustc => return Ok(item),
    };
    let mut assignments = parse_assignments(args)?;
    let vars: Vec<syn::Path> = assignments.iter().map(|a| a.var.clone()).collect();
    let vars: Vec<&syn::Path> = vars.iter().collect();
    // Provided to the values by `#[uses_context]` on the same function: above this
    // attribute (which expanded first: its evidence is in the body), or below it
    // (which will put its evidence before the values).
    let mut provided = names_bound_by_patterns(&function.item);
    for attr in &function.outer_attrs {
        let is_uses_context = last_ident(attr.path()) == "uses_context";
        if let (true, Ok(list)) = (is_uses_context, attr.meta.require_list()) {
            if let Ok(vars) = parse_variables(list.tokens.clone()) {
                provided.extend(vars.iter().map(|var| last_ident(var).unraw()));
            }
        }
    }
    let errors = report_reads_in_values(
        assignments.iter_mut().map(|a| &mut a.value),
        &vars,
        &provided,
    );
    let mut tokens = errors;
    tokens.extend(expand_function(&function, &assignments));
    Ok(tokens)
}

// Input:
//
//     #[with_context(A = a, m::B = b)]
//     async fn f(x: X) -> R { body }
//
// Output:
//
//     async fn f(x: X) -> R {
//         let __ctxvar_bindings = Bindings::<Binding<dyn A>>::new(a).and(/* m::B = b */);
//         let A_is_bound_only_inside_this_function = Anchor::new();
//         let A = Provided::<dyn A>::assume_bound(&A_is_bound_only_inside_this_function);
//         (the same for B)
//         __ctxvar_bindings.scope(async move {
//             if false { return <value of type R>; }   // the "fake return", see below
//             body                                   // captures A and B: zero-sized
//         }).await
//     }
//
// A plain `fn` gets `.sync_scope(move || -> R { .. })` instead of `.scope(async move ..)`;
// a method rewritten by `#[async_trait]`, or written by hand as
// `Box::pin(async move { .. })`, gets the `async fn` treatment inside that future.
// The values are evaluated on entry (the first poll of an `async fn`), left to right,
// before the new bindings exist, so they see the caller's bindings and the parameters.
fn expand_function(function: &Function, assignments: &[Assignment]) -> TokenStream {
    let vars: Vec<&syn::Path> = assignments.iter().map(|a| &a.var).collect();
    let evidence = evidence(&vars, &Evidence::Bound);
    let spawned = |stmts: &[syn::Stmt]| function.rewrite(stmts, &vars);
    let mut provided = TokenStream::new();
    let evaluated = syn::Ident::new("__ctxvar_bindings", proc_macro2::Span::mixed_site());
    // Spanned at the first variable: rustc checks the local's type at its `let`, and
    // for a path that is not a variable that check must not add an error at the
    // attribute to the one at the variable.
    let span = assignments
        .first()
        .map_or_else(proc_macro2::Span::call_site, |a| a.var.span());
    let evaluate = |bindings: &TokenStream| quote_spanned!(span=> let #evaluated = #bindings;);
    let body = match function.body() {
        Body::Async(stmts) => {
            let (outer, stmts) = stmts.split_at(outer_evidence_end(stmts));
            let (items, stmts) = spawned(stmts);
            provided = quote!(#(#outer)* #items);
            let evaluate = evaluate(&chain_bindings(assignments, Clone::clone));
            let fake_return = fake_return(function);
            // The values are evaluated first (they must see the caller's bindings and
            // the variable itself, not the evidence), then the evidence is made in the
            // function's body; the block captures it, a zero-sized `Copy` value.
            quote! {
                #evaluate
                #evidence
                #evaluated.scope(async move {
                    #fake_return
                    #(#stmts)*
                }).await
            }
        }
        // The body is a boxed future (`#[async_trait]`'s, or one written by hand):
        // bind inside it, after `#[async_trait]`'s parameter moves, so the values are
        // still evaluated on the first poll and see the parameters. Its block fixes its
        // own output type, so no fake return is needed.
        Body::BoxedAsync {
            box_pin,
            prologue,
            rest,
            self_is_renamed,
        } => {
            let evaluate = if self_is_renamed {
                evaluate(&chain_bindings(assignments, rename_self))
            } else {
                evaluate(&chain_bindings(assignments, Clone::clone))
            };
            let (items, rest) = spawned(rest);
            quote! {
                // The function returns this future, so the evidence goes inside it too.
                #box_pin(async move {
                    #items
                    #(#prologue)*
                    #evaluate
                    #evidence
                    #evaluated.scope(async move {
                        #(#rest)*
                    }).await
                })
            }
        }
        Body::Sync(stmts) => {
            let (outer, stmts) = stmts.split_at(outer_evidence_end(stmts));
            let (items, stmts) = spawned(stmts);
            provided = quote!(#(#outer)* #items);
            let evaluate = evaluate(&chain_bindings(assignments, Clone::clone));
            let output = function.nameable_return_type().map(|ty| quote!(-> #ty));
            let track_caller = track_caller_error(function);
            // The call is the function's return value. Its receiver is parenthesized
            // with the span of the body's `{` and its arguments with that of the `}`,
            // so rustc spans the call over the body, and an error about what the
            // function returns (a `'static` closure or future that borrows the
            // evidence) points there rather than at the attribute. (A method call,
            // not a path, so that no path is written with the user's spans.)
            let brace = function.item.block.brace_token.span;
            let mut receiver = proc_macro2::Group::new(
                proc_macro2::Delimiter::Parenthesis,
                evaluated.to_token_stream(),
            );
            receiver.set_span(brace.open());
            let mut closure = proc_macro2::Group::new(
                proc_macro2::Delimiter::Parenthesis,
                quote! {
                    move || #output {
                        #(#stmts)*
                    }
                },
            );
            closure.set_span(brace.close());
            quote! {
                #track_caller
                #evaluate
                #evidence
                #receiver.sync_scope #closure
            }
        }
    };
    let references = ide_references(&function.item, &vars);
    function.with_body(&quote!(#provided #references #body))
}

/// The body of a plain `fn` runs in a closure, which cannot be `#[track_caller]` on
/// stable Rust: the location would silently be the closure's. Reported next to the
/// expansion, which keeps the attribute, so this is the one error.
fn track_caller_error(function: &Function) -> Option<TokenStream> {
    function.track_caller().map(|attr| {
        syn::Error::new_spanned(
            attr,
            "`#[with_context]` cannot keep `#[track_caller]` on a plain `fn`: it runs the \
             body inside a closure, where the caller's location is lost; bind the variables \
             in a function that this one calls instead",
        )
        .to_compile_error()
    })
}

/// `Bindings::<Binding<dyn A>>::new(a).and(...)...`, each value passed through `value`.
fn chain_bindings(
    assignments: &[Assignment],
    value: impl Fn(&syn::Expr) -> syn::Expr,
) -> TokenStream {
    let mut bindings = assignments.iter().map(|Assignment { var, value: expr }| {
        let expr = value(expr);
        // A typed `let`, so that a value of the wrong type is reported as "expected
        // `u64`, found `&str`" at the value, "expected due to this" at the variable.
        let runtime = runtime(var.span());
        let ty = quote_spanned!(var.span()=> <dyn #var as #runtime::ContextKey>::Value);
        let value = syn::Ident::new("__ctxvar_value", proc_macro2::Span::mixed_site());
        let key = key_type(var);
        // Spanned at the variable like the key, so that for a path that is not a
        // variable, rustc's one error is there and not also at the attribute.
        quote_spanned! {var.span()=>
            #runtime::Bindings::<#runtime::Binding<#key>>::new({
                let #value: #ty = #expr;
                #value
            })
        }
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
