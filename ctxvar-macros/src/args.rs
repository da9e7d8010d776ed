//! Argument lists of `#[with_context(VAR = value, ..)]` and `#[uses_context(VAR, ..)]`.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, Ident, Path, Token};

/// One `VAR = value` of `#[with_context]`.
pub(crate) struct Assignment {
    pub(crate) var: Path,
    pub(crate) value: Expr,
}

impl Parse for Assignment {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let var: Path = input.call(Path::parse_mod_style).map_err(|err| {
            syn::Error::new(
                err.span(),
                "expected a context variable, as in `VAR = value`",
            )
        })?;
        if !input.peek(Token![=]) {
            let name = last_ident(&var);
            return Err(syn::Error::new_spanned(
                &var,
                format!(
                    "expected `{name} = value`: each argument of `#[with_context]` binds a \
                     variable; to declare that callers bind `{name}`, use \
                     `#[uses_context({name})]`"
                ),
            ));
        }
        let eq: Token![=] = input.parse()?;
        if input.is_empty() || input.peek(Token![,]) {
            return Err(syn::Error::new(
                eq.span,
                format!("expected a value after `{} =`", last_ident(&var)),
            ));
        }
        let value: Expr = input.parse()?;
        Ok(Assignment { var, value })
    }
}

/// Parses `#[with_context]`'s arguments: at least one `VAR = value`, no variable twice.
pub(crate) fn parse_assignments(args: TokenStream) -> syn::Result<Vec<Assignment>> {
    let list = Punctuated::<Assignment, Token![,]>::parse_terminated.parse2(args)?;
    if list.is_empty() {
        return Err(syn::Error::new(
            Span::call_site(),
            "expected at least one binding: `#[with_context(VAR = value, ...)]`",
        ));
    }
    let list: Vec<Assignment> = list.into_iter().collect();
    reject_duplicates(list.iter().map(|a| &a.var))?;
    Ok(list)
}

/// Parses `#[uses_context]`'s arguments: at least one variable, none twice.
pub(crate) fn parse_variables(args: TokenStream) -> syn::Result<Vec<Path>> {
    let parser = |input: ParseStream<'_>| {
        Punctuated::<Path, Token![,]>::parse_terminated_with(input, Path::parse_mod_style)
    };
    let list = parser.parse2(args).map_err(|err| {
        let message = if err.to_string().contains('=') || err.to_string().contains("`,`") {
            "`#[uses_context]` takes the names of variables its callers bind \
             (`#[uses_context(VAR, ...)]`); to bind a variable here, use \
             `#[with_context(VAR = value)]`"
        } else {
            "expected context variables: `#[uses_context(VAR, ...)]`"
        };
        syn::Error::new(err.span(), message)
    })?;
    if list.is_empty() {
        return Err(syn::Error::new(
            Span::call_site(),
            "expected at least one context variable: `#[uses_context(VAR, ...)]`",
        ));
    }
    let list: Vec<Path> = list.into_iter().collect();
    reject_duplicates(list.iter())?;
    Ok(list)
}

/// Whether an argument of `#[uses_context]` is the word `strict`, not a variable.
pub(crate) fn is_strict_flag(path: &Path) -> bool {
    path.leading_colon.is_none() && path.is_ident("strict")
}

/// The name a variable has inside the function: the last segment of its path.
pub(crate) fn last_ident(path: &Path) -> &Ident {
    // `Path::parse_mod_style` never yields an empty path.
    &path
        .segments
        .last()
        .expect("a parsed path has a segment")
        .ident
}

/// Two arguments naming the same variable (even by different paths) would shadow each
/// other's local inside the function.
fn reject_duplicates<'a>(vars: impl Iterator<Item = &'a Path>) -> syn::Result<()> {
    let mut seen: Vec<&Ident> = Vec::new();
    for var in vars {
        let ident = last_ident(var);
        if seen.contains(&ident) {
            return Err(syn::Error::new(
                var.span(),
                format!("`{ident}` is named twice; name each context variable once"),
            ));
        }
        seen.push(ident);
    }
    Ok(())
}
