//! The variable's rustdoc page: what its documentation says besides the user's own.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::{Attribute, Expr};

use super::parse::TraceHow;
use super::validate::{DefaultValue, Variable};

/// The attributes of the variable's trait: the author's, with what the variable is
/// at the start of the page.
///
/// The page opens with what the variable is, in the same paragraph as the author's
/// summary, so that the line item lists show reads as a variable ("Context variable of
/// type `u64`, required. The id of ..") rather than as a trait; the facts follow, then
/// the rest of the author's docs.
pub(super) fn trait_docs(variable: &Variable) -> TokenStream {
    let attrs = &variable.attrs;
    let summary_end = attrs
        .iter()
        .position(|attr| doc_text(attr).is_some_and(|text| text.trim().is_empty()))
        .filter(|&blank| attrs[..blank].iter().any(|attr| doc_text(attr).is_some()))
        .unwrap_or(attrs.len());
    let (summary, rest) = attrs.split_at(summary_end);
    let VariableDocs { lead, facts } = variable_docs(variable);
    quote! {
        #[doc = #lead]
        #(#summary)*
        #[doc = ""]
        #(#[doc = #facts])*
        #[doc = ""]
        #(#rest)*
    }
}

/// The text of a `#[doc = "..."]` attribute (a `///` line), if it is one.
pub(super) fn doc_text(attr: &Attribute) -> Option<String> {
    match &attr.meta {
        syn::Meta::NameValue(doc) if doc.path.is_ident("doc") => match &doc.value {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(text),
                ..
            }) => Some(text.value()),
            _ => None,
        },
        _ => None,
    }
}

/// What a variable's page says before the author's docs.
pub(super) struct VariableDocs {
    /// The first words of the summary: the type, and whether there is a default.
    pub(super) lead: String,
    /// Lines of Markdown after the summary: the settings, how to bind and read the
    /// variable, and where its methods are documented.
    pub(super) facts: Vec<String>,
}

/// What a reader of the variable's page needs first: its type and default, then its
/// settings and how to bind and read it, one line each, linking ctxvar's docs. The
/// links are intra-doc links through `ctxvar`, which the expansion names anyway, so
/// they lead to the docs of the version in use. Each target exists whatever ctxvar's
/// features (`ctxvar::spawn` needs `tokio`, so it is not a link).
pub(super) fn variable_docs(variable: &Variable) -> VariableDocs {
    let Variable {
        name,
        ty,
        default,
        inherit,
        trace,
        ..
    } = variable;
    let name = name.unraw().to_string();
    let ty = tokens_text(quote!(#ty));
    // A long expression would crowd the page, and closures and blocks are not spaced
    // well by `tokens_text`: the declaration shows those.
    let default = match default {
        DefaultValue::None => None,
        DefaultValue::Given(default) => {
            let default = tokens_text(quote!(#default));
            Some((default.len() <= 60 && !default.contains(['`', '|', '{'])).then_some(default))
        }
        DefaultValue::Dropped => Some(None),
    };
    let (lead, default_line) = match &default {
        None => (
            format!("*Context variable* of type `{ty}`, required."),
            format!(
                "- **Default**: none, so it is *required*: `{name}.get()` compiles only where \
                 it is bound."
            ),
        ),
        Some(Some(default)) => (
            format!("*Context variable* of type `{ty}`, default `{default}`."),
            format!("- **Default**: `{default}`, read wherever the variable is not bound."),
        ),
        Some(None) => (
            format!("*Context variable* of type `{ty}`, with a default."),
            "- **Default**: yes (see the declaration), read wherever the variable is not \
             bound."
                .to_owned(),
        ),
    };
    let inherit_line = if *inherit {
        "- **Inherited**: yes: [`Context::current()`](ctxvar::Context::current) captures it, \
         so `ctxvar::spawn` and the [other helpers](ctxvar#starting-work) carry it into the \
         tasks and threads they start."
    } else {
        "- **Inherited**: no (`inherit = false`): [`Context::current()`](ctxvar::Context::current) \
         leaves it out, so tasks and threads started with `ctxvar::spawn` or the [other \
         helpers](ctxvar#starting-work) see it unbound."
    };
    let trace_line = match trace {
        None => "- **Traced**: no.".to_owned(),
        Some(trace) => {
            let how = match trace.how {
                TraceHow::Debug => "`Debug`",
                TraceHow::Display => "`Display`",
            };
            format!(
                "- **Traced**: as the field `{}` ({how}) on every `tracing` event logged \
                 while it is bound ([`ctxvar::trace`](ctxvar#logging-with-tracing)).",
                variable.field
            )
        }
    };
    let read_line = if default.is_some() {
        format!("- **Read**: `{name}.get()` or `{name}.with(|value| ..)`, anywhere.")
    } else {
        format!(
            "- **Read**: `{name}.get()` or `{name}.with(|value| ..)` in a function that binds \
             it or is annotated [`#[uses_context({name})]`](ctxvar::uses_context); \
             `{name}.try_get()` anywhere."
        )
    };
    let mut facts = vec![
        // rustdoc has no section for variables: say why the page is a trait's.
        format!(
            "Declared with [`#[context_var]`](ctxvar::context_var). rustdoc lists it under \
             *Traits*: a variable is also a trait of its name, and `dyn {name}` is its key \
             type."
        ),
        String::new(),
        default_line,
        inherit_line.to_owned(),
        trace_line,
        format!(
            "- **Bind**: [`#[with_context({name} = value)]`](ctxvar::with_context) on a \
             function, or `{name}.scope(value, future)`."
        ),
        read_line,
        "- **Methods**: `get`, `with`, `try_get`, `try_with`, `is_bound`, `bind`, `scope`, \
         `sync_scope` and `name`, the same for [every \
         variable](ctxvar::context_var#using-the-variable); generic code takes a variable \
         as a [`ContextVar`](ctxvar::ContextVar)."
            .to_owned(),
    ];
    // Where `Cargo.toml` renames ctxvar, its links go through that name.
    if variable.runtime_name != "ctxvar" {
        let to = format!("]({}", variable.runtime_name);
        for fact in &mut facts {
            *fact = fact.replace("](ctxvar", &to);
        }
    }
    VariableDocs { lead, facts }
}

/// Tokens as a person would write them, for the docs: `Vec<&'static str>` where
/// `to_string` gives `Vec < & 'static str >`. Only the spacing may differ from the
/// source, never the tokens.
pub(crate) fn tokens_text(tokens: TokenStream) -> String {
    use proc_macro2::{Delimiter, Spacing, TokenTree};
    fn push(out: &mut String, tokens: TokenStream) {
        // Whether a space may go before the next token.
        let mut space = false;
        // Whether the previous token is a lifetime's name.
        let mut lifetime = false;
        let mut quote = false;
        for token in tokens {
            let after_lifetime = lifetime;
            lifetime = quote && matches!(token, TokenTree::Ident(_));
            quote = matches!(&token, TokenTree::Punct(punct) if punct.as_char() == '\'');
            let (text, space_before, space_after) = match &token {
                TokenTree::Group(group) => {
                    let (open, close) = match group.delimiter() {
                        Delimiter::Parenthesis => ("(", ")"),
                        Delimiter::Bracket => ("[", "]"),
                        Delimiter::Brace => ("{ ", " }"),
                        Delimiter::None => ("", ""),
                    };
                    let mut inner = String::new();
                    push(&mut inner, group.stream());
                    // `f(..)`, `m![..]`, but `&'a (..)`.
                    let call = group.delimiter() != Delimiter::Brace && !after_lifetime;
                    (format!("{open}{inner}{close}"), !call, true)
                }
                TokenTree::Punct(punct) => {
                    let c = punct.as_char();
                    let joint = punct.spacing() == Spacing::Joint;
                    match c {
                        // `a, b`; `->`, `=>`; the end of generics: `Vec<u8>`,
                        // `for<'a> fn(..)`.
                        ',' | ';' | '>' => (c.to_string(), false, true),
                        // A prefix operator: `-1`, `*x`.
                        '-' | '*' if out.is_empty() || out.ends_with([',', '=', '(']) => {
                            (c.to_string(), true, false)
                        }
                        // `&T`, `'a`, `#[..]`: a space before, none after.
                        '&' | '\'' | '#' => (c.to_string(), true, false),
                        '.' | ':' | '<' | '!' | '?' => {
                            // `::`, `<..>`, `x.y`, `m!(..)`: no spaces, except after a
                            // lone `:` (`a: b`).
                            let after = c == ':' && !joint && !out.ends_with(':');
                            (c.to_string(), false, after)
                        }
                        _ => (c.to_string(), true, !joint),
                    }
                }
                TokenTree::Ident(ident) => (ident.to_string(), true, true),
                TokenTree::Literal(literal) => (literal.to_string(), true, true),
            };
            if space && (space_before || out.ends_with([',', ';'])) {
                out.push(' ');
            }
            out.push_str(&text);
            space = space_after;
        }
    }
    let mut out = String::new();
    push(&mut out, tokens);
    out
}
