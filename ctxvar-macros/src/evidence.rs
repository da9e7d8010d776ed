//! The evidence statements: what makes `VAR.get()` compile inside an annotated
//! function, and the key type that names a variable.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Path;
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::args::last_ident;
use crate::private::{private, runtime};

/// How evidence for one variable is made.
pub(crate) enum Evidence<'a> {
    /// The variable was just bound by this function.
    Bound,
    /// Callers must have bound it; checked now, reported as a variable `function` uses.
    Required { function: &'a str },
}

/// The evidence statements for some variables: per variable `VAR`, an anchor local
/// named `VAR_is_bound_only_inside_this_function`, then
/// `let VAR = Provided::<dyn path::VAR>::..(&anchor);`, named by the user's own token
/// (the last segment of the path) so that the body's `VAR.get()` resolves to it.
///
/// They belong in the function's own body, not inside the `async` block or closure
/// that `#[with_context]` wraps the body in (which captures `VAR`, a zero-sized
/// value). When work that reads `VAR` is moved into a `'static` task or thread, rustc
/// then reports that "`VAR_is_bound_only_inside_this_function` does not live long
/// enough", which is the whole explanation; an anchor inside the wrapped block would
/// be part of a temporary, and rustc would speak of a "temporary value".
pub(crate) fn evidence(vars: &[&Path], evidence: &Evidence<'_>) -> TokenStream {
    let mut statements = TokenStream::new();
    for var in vars {
        let private = private(var.span());
        let local = last_ident(var);
        // Derived names use the name without `r#`.
        let name = local.unraw();
        let anchor = syn::Ident::new(
            &format!("{name}_is_bound_only_inside_this_function"),
            local.span(),
        );
        // The borrow is spanned at the variable in the attribute: that is where an
        // escape error puts its caret. It is not kept in a local of its own, which an
        // `async fn` would store across its `.await`.
        let reference = quote_spanned!(local.span()=> &#anchor);
        statements.extend(quote! {
            #[allow(non_snake_case)]
            let #anchor = #private::Anchor::new();
        });
        // Spanned at the argument, so a `#[track_caller]` panic of `require` reports
        // the attribute's line, and a path that is not a variable is reported there.
        let key = key_type(var);
        let make = match evidence {
            Evidence::Bound => quote_spanned! {var.span()=>
                #private::Provided::<#key>::assume_bound(#reference)
            },
            Evidence::Required { function } => quote_spanned! {var.span()=>
                #private::Provided::<#key>::checked(#reference, #function)
            },
        };
        statements.extend(quote_spanned! {var.span()=>
            #[allow(non_snake_case, unused_variables)]
            let #local = #make;
        });
    }
    statements
}

/// The key type of the variable at `var`, `dyn VAR`, named through a projection
/// (`ContextKey::__Key`) and spanned at the variable: if `VAR` is a trait that is not
/// a variable, the projection is the one place that fails, and rustc reports it once.
pub(crate) fn key_type(var: &Path) -> TokenStream {
    let runtime = runtime(var.span());
    quote_spanned!(var.span()=> <dyn #var as #runtime::ContextKey>::__Key)
}
