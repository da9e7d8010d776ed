//! The one walk over token trees, for what reaches the passes as tokens rather than
//! syntax: the arguments of a macro invocation in a body (`format!`, `tracing::info!`,
//! `tokio::select!`, a user's `macro_rules!`) and the declaration's own tokens.
//!
//! Each pass says what it does at one token, given the tokens of that token's level
//! (so that it can look at its neighbours: `NAME` `.` `get`); the walk into groups,
//! and the rebuilding of a group with its delimiter and span, is written once here.

use proc_macro2::{Group, Spacing, TokenStream, TokenTree};

/// `tokens` with each token replaced by what `replace` gives for it, at any depth.
///
/// `replace` is given the tokens of a level and an index into them. Where it gives
/// `None`, the token stays, and a group is rebuilt from its contents, walked in turn,
/// with its own delimiter and span.
pub(crate) fn map(
    tokens: TokenStream,
    replace: &mut dyn FnMut(&[TokenTree], usize) -> Option<TokenStream>,
) -> TokenStream {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = TokenStream::new();
    for (i, token) in tokens.iter().enumerate() {
        if let Some(replacement) = replace(&tokens, i) {
            out.extend(replacement);
        } else if let TokenTree::Group(group) = token {
            let mut inner = Group::new(group.delimiter(), map(group.stream(), replace));
            inner.set_span(group.span());
            out.extend([TokenTree::Group(inner)]);
        } else {
            out.extend([token.clone()]);
        }
    }
    out
}

/// Whether `test` holds for any token of `tokens`, at any depth (a group's contents
/// are tested after the group itself). `test` is given a level's tokens and an index.
pub(crate) fn any(tokens: TokenStream, test: &mut dyn FnMut(&[TokenTree], usize) -> bool) -> bool {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    tokens.iter().enumerate().any(|(i, token)| {
        test(&tokens, i) || matches!(token, TokenTree::Group(group) if any(group.stream(), test))
    })
}

/// Whether the token at `i` is followed by `.` and one of `methods`.
pub(crate) fn is_followed_by_a_call_of(tokens: &[TokenTree], i: usize, methods: &[&str]) -> bool {
    matches!(
        (tokens.get(i + 1), tokens.get(i + 2)),
        (Some(TokenTree::Punct(dot)), Some(TokenTree::Ident(method)))
            if dot.as_char() == '.' && methods.iter().any(|name| method == name)
    )
}

/// Whether the token at `i` follows `.` or `::` (a field, or a segment of a path), not
/// a single `:` (`field: VAR.try_get()` in a macro's struct-like input).
pub(crate) fn follows_dot_or_path(tokens: &[TokenTree], i: usize) -> bool {
    let punct = |back: usize| match i.checked_sub(back).and_then(|at| tokens.get(at)) {
        Some(TokenTree::Punct(punct)) => Some(punct),
        _ => None,
    };
    match punct(1) {
        Some(dot) if dot.as_char() == '.' => true,
        Some(colon) if colon.as_char() == ':' => punct(2)
            .is_some_and(|first| first.as_char() == ':' && first.spacing() == Spacing::Joint),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::{any, map};

    #[test]
    fn map_rewrites_at_every_depth_and_keeps_the_groups() {
        let tokens = quote!(a (b [a] { a }) c);
        let mapped = map(tokens, &mut |tokens, i| {
            matches!(&tokens[i], proc_macro2::TokenTree::Ident(ident) if ident == "a")
                .then(|| quote!(z))
        });
        assert_eq!(mapped.to_string(), quote!(z (b [z] { z }) c).to_string());
    }

    #[test]
    fn any_looks_inside_groups_and_sees_neighbours() {
        let is_dot_await = |tokens: &[proc_macro2::TokenTree], i: usize| {
            i > 0
                && matches!(&tokens[i], proc_macro2::TokenTree::Ident(ident) if ident == "await")
                && matches!(&tokens[i - 1], proc_macro2::TokenTree::Punct(dot) if dot.as_char() == '.')
        };
        assert!(any(quote!(f(x { y.await })), &mut |t, i| is_dot_await(
            t, i
        )));
        assert!(!any(quote!(f(x { await })), &mut |t, i| is_dot_await(t, i)));
    }
}
