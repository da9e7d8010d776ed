//! The fallible reads (`try_get`, `try_with`, `is_bound`), which compile in any work:
//! called through the variable's key instead of the function's evidence; and the
//! token-level rewrite of a method call's receiver that they and the reported reads share.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::{Expr, Path};

use crate::args::last_ident;
use crate::evidence::key_type;
use crate::private::runtime;
use crate::tokens::{self, follows_dot_or_path, is_followed_by_a_call_of};

/// Makes every `VAR.try_get()`, `VAR.try_with(..)` and `VAR.is_bound()` in `block`
/// (including in macro invocations, `format!("{:?}", VAR.try_get())`, at the token
/// level) call through the variable's key instead of the evidence local `VAR`.
///
/// These reads compile anywhere, bound or not, and return what the work that makes
/// them sees; through the evidence they would borrow the function's anchor, and work
/// that makes them could not be `'static`. Written this way they compile in any work
/// (a `tokio::spawn`ed block sees `Err`/`false`), while `get` and `with` still go
/// through the evidence and stay escape-checked.
///
/// Only a receiver that is the variable's bare name is rewritten (not `self.VAR` or
/// `path::VAR`, which do not name the evidence), with the user's span, so that an
/// error in the call is reported at the user's tokens.
//
// Input:   A.try_get()
// Output:  (::ctxvar::Variable::<<dyn A as ContextKey>::__Key>::new()).try_get()
pub(crate) fn with_fallible_reads(block: &mut syn::Block, vars: &[&Path]) {
    syn::visit_mut::VisitMut::visit_block_mut(&mut FallibleReads { vars }, block);
}

/// The methods that [`with_fallible_reads`] calls through the variable's key.
pub(crate) const FALLIBLE_READS: &[&str] = &["try_get", "try_with", "is_bound"];

pub(crate) struct FallibleReads<'a> {
    vars: &'a [&'a Path],
}

impl syn::visit_mut::VisitMut for FallibleReads<'_> {
    fn visit_expr_method_call_mut(&mut self, call: &mut syn::ExprMethodCall) {
        if FALLIBLE_READS.iter().any(|read| call.method == read) {
            let named = match &*call.receiver {
                Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => path
                    .path
                    .get_ident()
                    .and_then(|ident| self.var_named(ident)),
                _ => None,
            };
            if let Some((var, ident)) = named {
                let receiver = fallible_receiver(var, ident.span());
                *call.receiver = Expr::Verbatim(receiver.into_token_stream());
            }
        }
        syn::visit_mut::visit_expr_method_call_mut(self, call);
    }

    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        mac.tokens = self.rewrite_tokens(std::mem::take(&mut mac.tokens));
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {
        // A nested item is not part of this function's body.
    }
}

impl FallibleReads<'_> {
    /// The variable whose evidence is named `ident`, and `ident`.
    fn var_named<'i>(&self, ident: &'i syn::Ident) -> Option<(&Path, &'i syn::Ident)> {
        let name = ident.unraw();
        self.vars
            .iter()
            .find(|var| last_ident(var).unraw() == name)
            .map(|var| (*var, ident))
    }

    /// The rewrite at the token level, for a macro's input: `VAR . try_get` where
    /// `VAR` is not preceded by `.` or `::`.
    fn rewrite_tokens(&self, tokens: TokenStream) -> TokenStream {
        replace_receivers(tokens, FALLIBLE_READS, &mut |ident| {
            self.var_named(ident)
                .map(|(var, ident)| fallible_receiver(var, ident.span()))
        })
    }
}

/// `(::ctxvar::Variable::<KEY>::new())`, its parentheses spanned at the
/// user's `VAR` (`span`), so that an error about the call is reported there.
///
/// The tokens inside are not: rust-analyzer takes every token of the expansion spanned
/// at `VAR` for the read itself, and hover and go-to-definition there would list the
/// crate `ctxvar` and `Variable`, not the variable (see
/// [`ide_references`]). The key is spanned at the variable in the attribute, the path
/// at the attribute.
pub(crate) fn fallible_receiver(var: &Path, span: Span) -> Group {
    let runtime = runtime(Span::call_site());
    let key = key_type(var);
    receiver_at(quote!(#runtime::Variable::<#key>::new()), span)
}

/// `(receiver)`, its parentheses spanned at `span`.
pub(crate) fn receiver_at(receiver: TokenStream, span: Span) -> Group {
    let mut group = Group::new(Delimiter::Parenthesis, receiver);
    group.set_span(span);
    group
}

/// Whether the token at `i` is followed by `.try_get`, `.try_with` or `.is_bound`.
pub(crate) fn is_fallible_read(tokens: &[TokenTree], i: usize) -> bool {
    is_followed_by_a_call_of(tokens, i, FALLIBLE_READS)
}

/// `tokens` (a macro's arguments), with the receiver `NAME` of every call
/// `NAME.method(..)` of `methods` (where `NAME` follows neither `.` nor `::`) replaced
/// by what `replace` gives for it, if anything; at any depth.
pub(crate) fn replace_receivers(
    tokens: TokenStream,
    methods: &[&str],
    replace: &mut dyn FnMut(&syn::Ident) -> Option<Group>,
) -> TokenStream {
    tokens::map(tokens, &mut |tokens, i| match &tokens[i] {
        TokenTree::Ident(ident)
            if is_followed_by_a_call_of(tokens, i, methods) && !follows_dot_or_path(tokens, i) =>
        {
            replace(ident).map(|group| TokenTree::Group(group).into())
        }
        _ => None,
    })
}
