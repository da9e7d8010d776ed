//! What rust-analyzer needs to follow a read to the variable's declaration.

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::{ItemFn, Path};

use crate::args::last_ident;
use crate::function::names_bound_by_patterns;
use crate::tokens::{self, follows_dot_or_path};

/// For rust-analyzer only (`#[cfg(rust_analyzer)]`, which it sets and rustc does
/// not): an item that names, for every read of a variable of `vars` in the body, the
/// variable's declaration by the path written in the attribute with its last segment
/// replaced by the read's own token: its trait, `PhantomData<dyn m::ITEM_ID>`, and its
/// function, `m::ITEM_ID` (an item does not see the function's locals).
///
/// A read resolves, by hygiene, to the evidence local, which rust-analyzer knows only
/// from the attribute. A token that the expansion also uses here is, for
/// rust-analyzer, a reference to the declaration as well: renaming the declaration (or
/// a read) renames the read, in `format!` and other macros too; references, hover and
/// go-to-definition at the read reach the declaration. rustc never sees the two
/// statements, so they add no error at the user's tokens; the `allow` is for rustc
/// releases that do not know the `rust_analyzer` cfg, and must be on an item around
/// the statement, not on the statement itself.
///
/// Every token named like the variable counts (inside macro calls too), except after
/// `.` or `::` and except for variables the function binds with a pattern of its own
/// (see [`rewrite_body`]).
//
// Input:   #[uses_context(m::A)] fn f() { A.get(); format!("{}", A.get()); }
// Output:  #[allow(unexpected_cfgs)]
//          const _: () = {
//              #[cfg(rust_analyzer)]
//              let _: (PhantomData<dyn m::A>, PhantomData<dyn m::A>);   // each `A`: a read
//              #[cfg(rust_analyzer)]
//              let _ = (m::A, m::A, m::A);        // the attribute's `A`, then the reads
//          };
pub(crate) fn ide_references(function: &ItemFn, vars: &[&Path]) -> TokenStream {
    fn walk(tokens: TokenStream, name: &syn::Ident, found: &mut Vec<syn::Ident>) {
        // Collects as it goes; the answer (never `true`) is not needed.
        tokens::any(tokens, &mut |tokens, i| {
            if let TokenTree::Ident(ident) = &tokens[i] {
                if ident.unraw() == *name && !follows_dot_or_path(tokens, i) {
                    found.push(ident.clone());
                }
            }
            false
        });
    }
    let shadowed = names_bound_by_patterns(function);
    let body = function.block.to_token_stream();
    let mut paths = Vec::new();
    let mut values = Vec::new();
    for var in vars {
        // The variable in the attribute, as a value too: for rust-analyzer it names
        // the variable's trait and the evidence local, and now its function as well,
        // so that a rename from the attribute, or from a read outside annotated
        // functions (which names only the function), renames all three.
        values.push((*var).clone());
        let name = last_ident(var).unraw();
        if shadowed.contains(&name) {
            continue;
        }
        let mut reads = Vec::new();
        walk(body.clone(), &name, &mut reads);
        for read in reads {
            let mut path = (*var).clone();
            if let Some(last) = path.segments.last_mut() {
                last.ident = read;
            }
            values.push(path.clone());
            paths.push(path);
        }
    }
    quote! {
        #[allow(unexpected_cfgs)]
        const _: () = {
            #[cfg(rust_analyzer)]
            let _: (#(::core::marker::PhantomData<dyn #paths>,)*);
            #[cfg(rust_analyzer)]
            let _ = (#(#values,)*);
        };
    }
}
