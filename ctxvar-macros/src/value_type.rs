//! Checks of a variable's declared type that rustc would otherwise report many times,
//! once for each place the expansion names the type, in terms of the expansion.
//!
//! Each check here gives one error, at the tokens the user wrote, naming the type to
//! write instead, and replaces what is wrong so that the variable is still declared
//! (with a type that gives no further error).

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Type, TypeParamBound};

/// Checks `ty`, the declared type of a variable, and replaces each part that cannot be
/// a variable's type; returns one error for each kind of mistake found (for its first
/// occurrence), and whether `ty` was changed.
pub(crate) fn check(ty: &mut Type) -> (Vec<syn::Error>, bool) {
    let mut errors = Vec::new();
    let mut impls = ReplaceImplTrait::default();
    impls.visit_type_mut(ty);
    errors.extend(impls.first);
    if let Some(err) = replace_unsized(ty) {
        errors.push(err);
    }
    let mut params = ReplaceTypeParameters::default();
    params.visit_type_mut(ty);
    errors.extend(params.first);
    let changed = !errors.is_empty();
    (errors, changed)
}

/// `()`, spanned at `span`: the stand-in for a part of the type that is reported.
fn unit(span: Span) -> Type {
    syn::parse_quote_spanned!(span=> ())
}

/// `impl Trait` anywhere in the type: a `static` has one type, which `impl Trait`
/// does not name.
#[derive(Default)]
struct ReplaceImplTrait {
    first: Option<syn::Error>,
}

impl VisitMut for ReplaceImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(found) = ty {
            if self.first.is_none() {
                let written = crate::context_var::tokens_text(found.to_token_stream());
                let boxed = boxed_dyn(&found.bounds);
                self.first = Some(syn::Error::new_spanned(
                    &*found,
                    format!(
                        "a context variable needs a concrete type, not `{written}`: use a \
                         trait object, such as `{boxed}`"
                    ),
                ));
            }
            *ty = unit(ty.span());
            return;
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

/// `Box<dyn Bounds + Send + Sync>` as text, for the trait bounds of `bounds` (its
/// lifetimes, `?Sized` and `use<..>` left out; `Send` and `Sync` added if missing).
fn boxed_dyn(bounds: &syn::punctuated::Punctuated<TypeParamBound, syn::Token![+]>) -> String {
    let mut traits: Vec<String> = Vec::new();
    let mut send = false;
    let mut sync = false;
    for bound in bounds {
        if let TypeParamBound::Trait(bound) = bound {
            if !matches!(bound.modifier, syn::TraitBoundModifier::None) {
                continue;
            }
            let last = bound.path.segments.last().map(|segment| &segment.ident);
            send |= last.is_some_and(|ident| ident == "Send");
            sync |= last.is_some_and(|ident| ident == "Sync");
            traits.push(crate::context_var::tokens_text(bound.to_token_stream()));
        }
    }
    if !send {
        traits.push("Send".to_owned());
    }
    if !sync {
        traits.push("Sync".to_owned());
    }
    format!("Box<dyn {}>", traits.join(" + "))
}

/// `str`, a slice or a trait object as the whole type (in parentheses or not): the
/// variable holds its value, which needs a size known at compile time. Replaced by
/// the owned type the error suggests.
fn replace_unsized(ty: &mut Type) -> Option<syn::Error> {
    match ty {
        Type::Paren(inner) => return replace_unsized(&mut inner.elem),
        Type::Group(inner) => return replace_unsized(&mut inner.elem),
        _ => {}
    }
    let span = ty.span();
    let (written, fixes, replacement): (String, String, TokenStream) = match &*ty {
        Type::Path(path) if path.qself.is_none() && path.path.is_ident("str") => (
            "str".to_owned(),
            "use `String`, or `Arc<str>` (cheap to clone)".to_owned(),
            quote_spanned!(span=> ::std::string::String),
        ),
        Type::Slice(slice) => {
            let elem = &slice.elem;
            let elem_text = crate::context_var::tokens_text(elem.to_token_stream());
            (
                format!("[{elem_text}]"),
                format!("use `Vec<{elem_text}>`, or `Arc<[{elem_text}]>` (cheap to clone)"),
                quote_spanned!(span=> ::std::vec::Vec<#elem>),
            )
        }
        Type::TraitObject(object) => {
            let written = crate::context_var::tokens_text(object.to_token_stream());
            let boxed = boxed_dyn(&object.bounds);
            let shared = format!("Arc{}", &boxed["Box".len()..]);
            let bounds = &object.bounds;
            let mut extra = TokenStream::new();
            if !boxed_has(bounds, "Send") {
                extra.extend(quote!(+ ::core::marker::Send));
            }
            if !boxed_has(bounds, "Sync") {
                extra.extend(quote!(+ ::core::marker::Sync));
            }
            (
                written,
                format!("use `{boxed}`, or `{shared}` (cheap to clone)"),
                quote_spanned!(span=> ::std::boxed::Box<dyn #bounds #extra>),
            )
        }
        _ => return None,
    };
    let err = syn::Error::new_spanned(
        &*ty,
        format!("`{written}` is unsized, but a context variable holds its value: {fixes}"),
    );
    *ty = syn::parse2(replacement).unwrap_or_else(|_| unit(span));
    Some(err)
}

/// Whether `bounds` name the trait `name` (by its last segment).
fn boxed_has(
    bounds: &syn::punctuated::Punctuated<TypeParamBound, syn::Token![+]>,
    name: &str,
) -> bool {
    bounds.iter().any(|bound| match bound {
        TypeParamBound::Trait(bound) => bound
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == name),
        _ => false,
    })
}

/// A type that reads as a type parameter: one uppercase ASCII letter, optionally
/// followed by digits (`T`, `K`, `T2`), written alone (not as a path such as
/// `self::T`) and without generic arguments. A variable cannot be generic, and the
/// attribute cannot see what is in scope, so such a name is taken to be a type
/// parameter the user meant the variable to have; a type of that name is written by
/// its path.
#[derive(Default)]
struct ReplaceTypeParameters {
    first: Option<syn::Error>,
}

fn is_type_parameter_name(ident: &syn::Ident) -> bool {
    let name = ident.to_string();
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase()) && chars.all(|c| c.is_ascii_digit())
}

impl VisitMut for ReplaceTypeParameters {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::Path(path) = ty {
            let param = path.qself.is_none()
                && path.path.leading_colon.is_none()
                && path.path.segments.len() == 1
                && path.path.segments[0].arguments.is_none()
                && is_type_parameter_name(&path.path.segments[0].ident);
            if param {
                if self.first.is_none() {
                    let name = &path.path.segments[0].ident;
                    self.first = Some(syn::Error::new(
                        name.span(),
                        format!(
                            "a context variable cannot be generic: write a concrete type in \
                             place of `{name}` (a type of your own named `{name}` is written \
                             by its path, as `self::{name}`)"
                        ),
                    ));
                }
                *ty = unit(ty.span());
                return;
            }
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}
