//! Parsing: the declaration and the options of `#[context_var(..)]`, each with the
//! span of what the user wrote, so that an error points there.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Expr, Ident, Token, Type, Visibility};

/// The words `#[context_var(..)]` gives a meaning to.
pub(super) mod kw {
    syn::custom_keyword!(inherit);
    syn::custom_keyword!(trace);
    syn::custom_keyword!(debug);
    syn::custom_keyword!(display);
    syn::custom_keyword!(field);
}

/// `#[context_var(inherit = false, trace = display)]`: each option with the span of
/// the word that names it, so that errors about it point there.
#[derive(Default)]
pub(super) struct Options {
    pub(super) inherit: Option<Inherit>,
    pub(super) trace: Option<Trace>,
    /// `field = "name"`: the traced variable's field name, as written.
    pub(super) field: Option<FieldName>,
}

/// `field = "name"`, with the span of the word `field` (for an error about it) and the
/// name as written.
pub(super) struct FieldName {
    pub(super) key: Span,
    pub(super) name: syn::LitStr,
}

/// `inherit = true` or `inherit = false`.
pub(super) struct Inherit {
    /// The `true` or `false` as written, with its span.
    pub(super) value: syn::LitBool,
}

/// `trace`, `trace = debug` or `trace = display`: show the variable on `tracing`
/// events while it is bound.
#[derive(Clone, Copy)]
pub(super) struct Trace {
    pub(super) how: TraceHow,
    /// The word `trace`: errors about recording the value point at it.
    pub(super) span: Span,
}

#[derive(Clone, Copy)]
pub(super) enum TraceHow {
    Debug,
    Display,
}

pub(super) const EXPECTED_OPTIONS: &str =
    "expected `inherit = false`, `trace`, `trace = display`, or `field = \"name\"`";

impl Parse for Options {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut options = Options::default();
        while !input.is_empty() {
            if input.peek(kw::inherit) {
                let key: kw::inherit = input.parse()?;
                if options.inherit.is_some() {
                    return Err(given_twice(key.span, "inherit"));
                }
                options.inherit = Some(parse_inherit(input, key)?);
            } else if input.peek(kw::trace) {
                let key: kw::trace = input.parse()?;
                if options.trace.is_some() {
                    return Err(given_twice(key.span, "trace"));
                }
                options.trace = Some(Trace {
                    how: parse_trace_how(input)?,
                    span: key.span,
                });
            } else if input.peek(kw::field) {
                let key: kw::field = input.parse()?;
                if options.field.is_some() {
                    return Err(given_twice(key.span, "field"));
                }
                options.field = Some(parse_field_name(input, key)?);
            } else {
                return Err(match input.call(Ident::parse_any) {
                    Ok(key) => syn::Error::new(
                        key.span(),
                        format!("unknown argument `{key}`; {EXPECTED_OPTIONS}"),
                    ),
                    Err(err) => syn::Error::new(err.span(), EXPECTED_OPTIONS),
                });
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(options)
    }
}

pub(super) fn given_twice(span: Span, key: &str) -> syn::Error {
    syn::Error::new(span, format!("`{key}` is given twice"))
}

/// `= true` or `= false`, after `inherit`.
pub(super) fn parse_inherit(input: ParseStream<'_>, key: kw::inherit) -> syn::Result<Inherit> {
    if !input.peek(Token![=]) {
        return Err(syn::Error::new(
            key.span,
            "expected `inherit = false` (or `inherit = true`, the default)",
        ));
    }
    input.parse::<Token![=]>()?;
    let value: syn::LitBool = input
        .parse()
        .map_err(|err| syn::Error::new(err.span(), "expected `true` or `false`"))?;
    Ok(Inherit { value })
}

/// `= "name"`, after `field`.
pub(super) fn parse_field_name(input: ParseStream<'_>, key: kw::field) -> syn::Result<FieldName> {
    const EXPECTED: &str =
        "expected `field = \"name\"`: the log field a traced variable is shown as";
    if !input.peek(Token![=]) {
        return Err(syn::Error::new(key.span, EXPECTED));
    }
    input.parse::<Token![=]>()?;
    let name: syn::LitStr = input
        .parse()
        .map_err(|err| syn::Error::new(err.span(), EXPECTED))?;
    Ok(FieldName {
        key: key.span,
        name,
    })
}

/// Nothing, `= debug` or `= display`, after `trace`.
pub(super) fn parse_trace_how(input: ParseStream<'_>) -> syn::Result<TraceHow> {
    // `Debug` unless told otherwise, as `#[tracing::instrument]` records arguments.
    if !input.peek(Token![=]) {
        return Ok(TraceHow::Debug);
    }
    input.parse::<Token![=]>()?;
    if input.peek(kw::debug) {
        input.parse::<kw::debug>()?;
        Ok(TraceHow::Debug)
    } else if input.peek(kw::display) {
        input.parse::<kw::display>()?;
        Ok(TraceHow::Display)
    } else {
        let span = match input.parse::<proc_macro2::TokenTree>() {
            Ok(token) => token.span(),
            Err(err) => err.span(),
        };
        Err(syn::Error::new(
            span,
            "expected `display` or `debug`: how the value is recorded",
        ))
    }
}

/// `#[attrs] vis static NAME: Type;` or `... = default;` as written, before any check.
///
/// Parsed by hand because `syn::ItemStatic` requires an initializer. Also accepts
/// `const` for `static` and a missing type, which [`validate`] reports.
pub(super) struct Declaration {
    pub(super) attrs: Vec<Attribute>,
    pub(super) vis: Visibility,
    /// `static`, or `const`, which is an error.
    pub(super) keyword: Keyword,
    pub(super) mutability: Option<Token![mut]>,
    pub(super) name: Ident,
    /// `None` for `static NAME;`, which rustc itself rejects.
    pub(super) ty: Option<Type>,
    pub(super) default: Option<Expr>,
}

pub(super) enum Keyword {
    Static,
    Const(Token![const]),
}

pub(super) const EXPECTED_DECLARATION: &str = "context variables are declared as `static NAME: Type;` or \
                                    `static NAME: Type = default;`";

impl Parse for Declaration {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let keyword = if input.peek(Token![static]) {
            input.parse::<Token![static]>()?;
            Keyword::Static
        } else if input.peek(Token![const]) {
            Keyword::Const(input.parse()?)
        } else {
            return Err(syn::Error::new(input.span(), EXPECTED_DECLARATION));
        };
        let mutability: Option<Token![mut]> = input.parse()?;
        let name: Ident = input
            .parse()
            .map_err(|err| syn::Error::new(err.span(), EXPECTED_DECLARATION))?;
        let ty = if input.peek(Token![:]) {
            input.parse::<Token![:]>()?;
            Some(input.parse::<Type>()?)
        } else {
            None
        };
        let default = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse::<Expr>()?)
        } else {
            None
        };
        input.parse::<Token![;]>()?;
        if !input.is_empty() {
            return Err(syn::Error::new(input.span(), EXPECTED_DECLARATION));
        }
        Ok(Declaration {
            attrs,
            vis,
            keyword,
            mutability,
            name,
            ty,
            default,
        })
    }
}
