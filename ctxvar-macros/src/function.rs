//! The annotated function: parsing it, and the pieces both function attributes insert.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{AttrStyle, Attribute, ItemFn, Path, ReturnType, Stmt};

use crate::args::last_ident;
use crate::private::private;

/// A function an attribute was put on, split into the parts the expansions rebuild.
pub(crate) struct Function {
    pub(crate) outer_attrs: Vec<Attribute>,
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) item: ItemFn,
}

impl Function {
    /// Parses the item; anything but a function with a body is an error at the item.
    pub(crate) fn parse(item: TokenStream, attribute: &str) -> syn::Result<Self> {
        let first_token = first_token_span(&item);
        let item: ItemFn = syn::parse2(item).map_err(|_| {
            syn::Error::new(
                first_token,
                format!("`#[{attribute}]` can only be applied to a function with a body"),
            )
        })?;
        let (inner_attrs, outer_attrs) = item
            .attrs
            .iter()
            .cloned()
            .partition(|attr| matches!(attr.style, AttrStyle::Inner(_)));
        Ok(Function {
            outer_attrs,
            inner_attrs,
            item,
        })
    }

    pub(crate) fn is_async(&self) -> bool {
        self.item.sig.asyncness.is_some()
    }

    pub(crate) fn name(&self) -> String {
        self.item.sig.ident.to_string()
    }

    pub(crate) fn stmts(&self) -> &[Stmt] {
        &self.item.block.stmts
    }

    /// Re-emits the function with a new body (the braces are added here).
    pub(crate) fn with_body(&self, body: &TokenStream) -> TokenStream {
        let Function {
            outer_attrs,
            inner_attrs,
            item,
        } = self;
        let (vis, sig) = (&item.vis, &item.sig);
        let brace = item.block.brace_token;
        let mut block = TokenStream::new();
        brace.surround(&mut block, |tokens| {
            for attr in inner_attrs {
                attr.to_tokens(tokens);
            }
            body.to_tokens(tokens);
        });
        quote!(#(#outer_attrs)* #vis #sig #block)
    }

    /// The declared return type, if it can be written as the type of a `let`: not when
    /// it mentions `impl Trait`.
    pub(crate) fn nameable_return_type(&self) -> Option<TokenStream> {
        match &self.item.sig.output {
            ReturnType::Default => Some(quote!(())),
            ReturnType::Type(_, ty) if !mentions_impl_trait(ty) => Some(ty.to_token_stream()),
            ReturnType::Type(..) => None,
        }
    }
}

fn first_token_span(item: &TokenStream) -> Span {
    item.clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |token| token.span())
}

fn mentions_impl_trait(ty: &syn::Type) -> bool {
    struct Finder(bool);
    impl Visit<'_> for Finder {
        fn visit_type_impl_trait(&mut self, _: &syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

/// The hidden local every piece of evidence in one function borrows.
pub(crate) fn anchor_ident() -> syn::Ident {
    syn::Ident::new("__ctxvar_anchor", Span::mixed_site())
}

/// `let __ctxvar_anchor = Anchor::new();`
pub(crate) fn anchor_stmt() -> TokenStream {
    let private = private();
    let anchor = anchor_ident();
    quote!(let #anchor = #private::Anchor::new();)
}

/// How evidence for one variable is made.
pub(crate) enum Evidence<'a> {
    /// The variable was just bound by this function.
    Bound,
    /// Callers must have bound it; checked now, reported as `function`'s requirement.
    Required { function: &'a str },
}

/// `let VAR = Scoped::<dyn path::VAR>::...(&__ctxvar_anchor);`
///
/// The local is named by the user's own token (the last segment of the path), so the
/// body's `VAR.get()` resolves to it and errors point at the attribute's argument.
pub(crate) fn evidence_stmt(var: &Path, evidence: &Evidence<'_>) -> TokenStream {
    let private = private();
    let anchor = anchor_ident();
    let local = last_ident(var);
    // Spanned at the argument, so a `#[track_caller]` panic of `require` reports the
    // attribute's line, and a path that is not a variable is reported there.
    let make = match evidence {
        Evidence::Bound => quote_spanned! {var.span()=>
            #private::Scoped::<dyn #var>::assume_bound(&#anchor)
        },
        Evidence::Required { function } => quote_spanned! {var.span()=>
            #private::Scoped::<dyn #var>::require(&#anchor, #function)
        },
    };
    quote! {
        #[allow(non_snake_case, unused_variables)]
        let #local = #make;
    }
}
