//! `#[context_var] static NAME: Type;` (or `= default;`): declare a variable.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Attribute, Expr, Ident, Token, Type, Visibility};

use crate::private::private;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let declaration: Declaration = match syn::parse2(item) {
        Ok(declaration) => declaration,
        Err(err) => return err.into_compile_error(),
    };
    if declaration.ty.is_none() {
        // `static NAME;` is a syntax error rustc reports itself ("missing type for
        // `static` item"); a second error from us would only repeat it.
        return TokenStream::new();
    }
    // From here on the name and type are known: whatever else is wrong, the variable
    // is still declared next to the error, so its uses elsewhere resolve and the user
    // sees one error, not one per use.
    let mut errors = TokenStream::new();
    let options = syn::parse2::<Options>(args).unwrap_or_else(|err| {
        errors.extend(err.into_compile_error());
        Options {
            inherit: true,
            trace: None,
        }
    });
    if let Some(mutability) = declaration.mutability {
        errors.extend(
            syn::Error::new(
                mutability.span,
                "a context variable cannot be `static mut`: bind a new value in a scope \
                 with `#[with_context]` instead of mutating it",
            )
            .into_compile_error(),
        );
    }
    errors.extend(expand_declaration(&declaration, &options));
    errors
}

/// `#[context_var(inherit = false, trace)]`.
struct Options {
    /// Whether `Context::current()` (and so `ctxvar::spawn`) captures the variable.
    inherit: bool,
    /// `trace`, `trace = debug` or `trace = display`: show the variable on `tracing`
    /// events while it is bound.
    trace: Option<Trace>,
}

/// How a traced variable's value is recorded, and where the user asked for it.
struct Trace {
    /// `TraceDebug` or `TraceDisplay`, the `__private` trait that records it.
    how: Ident,
    span: proc_macro2::Span,
}

const EXPECTED_OPTIONS: &str = "expected `inherit = false`, `trace`, or `trace = display`";

impl Parse for Options {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut inherit: Option<syn::LitBool> = None;
        let mut trace: Option<Trace> = None;
        while !input.is_empty() {
            let key: Ident = input
                .parse()
                .map_err(|err| syn::Error::new(err.span(), EXPECTED_OPTIONS))?;
            let given_twice = || syn::Error::new(key.span(), format!("`{key}` is given twice"));
            if key == "inherit" {
                if inherit.is_some() {
                    return Err(given_twice());
                }
                input.parse::<Token![=]>()?;
                inherit =
                    Some(input.parse().map_err(|err| {
                        syn::Error::new(err.span(), "expected `true` or `false`")
                    })?);
            } else if key == "trace" {
                if trace.is_some() {
                    return Err(given_twice());
                }
                // `Debug` unless told otherwise, as `#[tracing::instrument]` records
                // arguments.
                let mut how = "TraceDebug";
                if input.peek(Token![=]) {
                    input.parse::<Token![=]>()?;
                    let mode: Ident = input.parse().map_err(|err| {
                        syn::Error::new(err.span(), "expected `display` or `debug`")
                    })?;
                    how = match mode.to_string().as_str() {
                        "display" => "TraceDisplay",
                        "debug" => "TraceDebug",
                        _ => {
                            return Err(syn::Error::new(
                                mode.span(),
                                "expected `display` or `debug`: how the value is recorded",
                            ));
                        }
                    };
                }
                trace = Some(Trace {
                    how: Ident::new(how, key.span()),
                    span: key.span(),
                });
            } else {
                return Err(syn::Error::new(
                    key.span(),
                    format!("unknown argument `{key}`; {EXPECTED_OPTIONS}"),
                ));
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(Options {
            inherit: inherit.is_none_or(|lit| lit.value),
            trace,
        })
    }
}

/// `#[attrs] vis static NAME: Type;` or `... = default;`.
///
/// Parsed by hand because `syn::ItemStatic` requires an initializer.
struct Declaration {
    attrs: Vec<Attribute>,
    vis: Visibility,
    mutability: Option<Token![mut]>,
    name: Ident,
    /// `None` for `static NAME;`, which rustc itself rejects.
    ty: Option<Type>,
    default: Option<Expr>,
}

impl Parse for Declaration {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let expected = "context variables are declared as `static NAME: Type;` or \
                        `static NAME: Type = default;`";
        if !input.peek(Token![static]) {
            return Err(syn::Error::new(input.span(), expected));
        }
        input.parse::<Token![static]>()?;
        let mutability: Option<Token![mut]> = input.parse()?;
        let name: Ident = input
            .parse()
            .map_err(|err| syn::Error::new(err.span(), expected))?;
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
            return Err(syn::Error::new(input.span(), expected));
        }
        Ok(Declaration {
            attrs,
            vis,
            mutability,
            name,
            ty,
            default,
        })
    }
}

// Input:
//
//     /// Docs.
//     #[context_var]
//     pub static NAME: Type;
//
// Output (see the "Equivalent code" section of `context_var`'s docs):
//
//     #[doc(hidden)] pub fn NAME() -> Variable<dyn NAME> { .. }   // the value namespace
//     /// Docs.
//     pub trait NAME { fn get(&self) -> Type where Self: NAME_is_bound_here ..; .. }
//     impl<F: Fn() -> Variable<dyn NAME>> NAME for F {}            // so `NAME.get()` works
//     impl ContextKey for dyn NAME { type Value = Type; fn __meta() -> .. { static .. } .. }
//     #[diagnostic::on_unimplemented(..)] pub trait NAME_is_bound_here {}
//
// Two items share the name: a function (value namespace), which a `let` inside
// `#[with_context]` functions may shadow with evidence, and a trait (type namespace),
// which carries the methods and names the key type `dyn NAME`. Importing `NAME`
// imports both. A variable with a default gets no `unbound` trait: it is readable
// anywhere.
fn expand_declaration(declaration: &Declaration, options: &Options) -> TokenStream {
    let private = private(Span::call_site());
    let Declaration {
        attrs, vis, name, ..
    } = declaration;
    let Some(ty) = &declaration.ty else {
        return TokenStream::new();
    };
    let ty = static_lifetimes(ty);
    // `#[cfg]` must reach every generated item, or a disabled variable would leave
    // half of its items behind. Everything else (docs, `deprecated`, ...) belongs to
    // the one documented item, the trait.
    let cfgs: Vec<&Attribute> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr"))
        .collect();
    // Public like the variable (a bound of its public trait) and hidden. rustc prints
    // its name in a `help:` line of the read-outside-a-scope error ("the trait
    // `ITEM_ID_is_bound_here` is not implemented for fn item .."), so the name says
    // what is missing instead of looking like an internal path.
    // Derived names and messages use the name without `r#`.
    let name_str = name.unraw().to_string();
    let unbound = Ident::new(&format!("{name_str}_is_bound_here"), name.span());
    let ty_str = quote!(#ty).to_string().replace(' ', "");

    let Kind {
        doc: kind_doc,
        unbound_item,
        unbound_bound,
        default_value,
    } = kind(declaration, &cfgs, &unbound, &ty_str);
    let inherit = options.inherit;
    // The field is named like the variable in lower case (`CORRELATION_ID` is logged
    // as `correlation_id`), the usual spelling of log fields.
    let trace_items = options.trace.as_ref().map(|Trace { how, span }| {
        let field = name_str.to_lowercase();
        quote_spanned!(*span=> ::ctxvar::__trace_items!(#ty, #field, #how);)
    });
    let inherit_doc = if inherit {
        "Captured by `ctxvar::Context::current()`, so `ctxvar::spawn` carries it into new tasks."
    } else {
        "Declared `inherit = false`: never captured by `ctxvar::Context::current()`, so \
         tasks spawned with `ctxvar::spawn` do not see it."
    };
    let see_also = "See the [`ctxvar`](https://docs.rs/ctxvar) crate for how to bind and read it.";
    // Checked where a block passed to `ctxvar::spawn` (in an annotated function) reads
    // the variable: only inherited variables are seen by the spawned task.
    let inherited_impl = if inherit {
        quote! {
            #(#cfgs)*
            impl ::ctxvar::Inherited for dyn #name + '_ {}
        }
    } else {
        TokenStream::new()
    };
    let variable_trait = variable_trait(
        declaration,
        &ty,
        &[kind_doc, inherit_doc.to_owned(), see_also.to_owned()],
        &unbound_bound,
    );

    quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_snake_case, dead_code)]
        #[inline(always)]
        #vis fn #name() -> ::ctxvar::Variable<dyn #name> {
            ::ctxvar::Variable::new()
        }

        #variable_trait

        #(#cfgs)*
        impl<F: ::core::ops::Fn() -> ::ctxvar::Variable<dyn #name>> #name for F {}

        // For every object lifetime, not just `'static`: rustc erases all lifetimes in
        // the types an `async fn` holds across `.await` and proves `Send` for any of
        // them, so `dyn NAME + '_` must be a key too. The key is only a type-level tag.
        //
        // SAFETY: `__meta` and `__read_cache` return a `static` and a `thread_local!`
        // declared inside them, which no other code can name, so no other key returns
        // them; each is one item, so every call returns the same one.
        #(#cfgs)*
        unsafe impl ::ctxvar::ContextKey for dyn #name + '_ {
            type Value = #ty;
            type __Key = Self;
            #trace_items

            #[inline(always)]
            fn __meta() -> &'static #private::VarMeta<#ty> {
                static META: #private::VarMeta<#ty> =
                    #private::VarMeta::new(#name_str, ::core::module_path!(), #inherit, #default_value);
                &META
            }

            #[inline(always)]
            fn __read_cache() -> &'static #private::LocalKey<#private::ReadCache> {
                #private::thread_local! {
                    static CACHE: #private::ReadCache = const { #private::ReadCache::new() };
                }
                &CACHE
            }
        }

        #inherited_impl
        #unbound_item
    }
}

/// What depends on whether the variable has a default.
struct Kind {
    /// A sentence for the variable's docs.
    doc: String,
    /// The hidden `NAME_is_bound_here` trait (required variables only).
    unbound_item: TokenStream,
    /// `+ NAME_is_bound_here` on `get` and `with` (required variables only).
    unbound_bound: TokenStream,
    /// `None` or `Some(default)`, for the variable's metadata.
    default_value: TokenStream,
}

fn kind(declaration: &Declaration, cfgs: &[&Attribute], unbound: &Ident, ty_str: &str) -> Kind {
    let Declaration {
        vis, name, default, ..
    } = declaration;
    let name_str = name.unraw().to_string();
    let private = private(Span::call_site());
    match default {
        None => {
            let message =
                format!("context variable `{name_str}` is read outside a scope that binds it");
            let label = format!("`{name_str}` is not bound in this function");
            let note = format!(
                "bind it for this function with `#[with_context({name_str} = ...)]`, or \
                 declare that callers bind it with `#[uses_context({name_str})]`"
            );
            let note_path = "inside such a function, name the variable as in the attribute \
                             (a read by another path is not checked)";
            let item = quote! {
                #(#cfgs)*
                #[doc(hidden)]
                #[allow(non_camel_case_types)]
                #[diagnostic::on_unimplemented(
                    message = #message,
                    label = #label,
                    note = #note,
                    note = #note_path
                )]
                #vis trait #unbound {}

                // Never used: see `Uninhabited`.
                #(#cfgs)*
                #[diagnostic::do_not_recommend]
                impl #unbound for #private::Uninhabited {}
            };
            Kind {
                doc: format!(
                    "*Context variable* of type `{ty_str}`, required: reads compile only in \
                     functions annotated with `#[with_context({name_str} = ...)]` or \
                     `#[uses_context({name_str})]`."
                ),
                unbound_item: item,
                unbound_bound: quote!(+ #unbound),
                default_value: quote!(::core::option::Option::None),
            }
        }
        Some(default) => Kind {
            doc: format!(
                "*Context variable* of type `{ty_str}`, with a default: reads compile anywhere, \
                 and find the default where the variable is not bound."
            ),
            unbound_item: TokenStream::new(),
            unbound_bound: TokenStream::new(),
            // A typed `let`, so a default of the wrong type is reported at the default,
            // "expected due to this" at the declared type.
            default_value: {
                let ty = &declaration.ty;
                quote_spanned! {default.span()=>
                    ::core::option::Option::Some({
                        let default: #ty = #default;
                        default
                    })
                }
            },
        },
    }
}

/// The trait named like the variable: its documentation, and the methods that
/// `NAME.get()` and friends resolve to outside annotated functions.
///
/// `unbound_bound` is `+ NAME_is_bound_here` for a required variable (so `get` and
/// `with` fail to compile where it is not known to be bound) and empty with a default.
fn variable_trait(
    declaration: &Declaration,
    ty: &Type,
    extra_docs: &[String],
    unbound_bound: &TokenStream,
) -> TokenStream {
    let private = private(Span::call_site());
    let Declaration {
        attrs, vis, name, ..
    } = declaration;
    let name_str = name.unraw().to_string();
    quote! {
        #(#attrs)*
        #[doc = ""]
        #(#[doc = #extra_docs])*
        #[allow(non_camel_case_types, dead_code)]
        #vis trait #name {
            /// A clone of the innermost value (or the default).
            #[track_caller]
            #[must_use]
            fn get(&self) -> #ty
            where
                Self: ::core::marker::Sized + #private::CloneValue<#ty> #unbound_bound,
            {
                #private::get::<Self, dyn #name>()
            }

            /// Runs `f` on a reference to the innermost value (or the default).
            #[track_caller]
            fn with<R>(&self, f: impl ::core::ops::FnOnce(&#ty) -> R) -> R
            where
                Self: ::core::marker::Sized #unbound_bound,
            {
                #private::with::<dyn #name, R>(f)
            }

            /// A clone of the innermost value (or the default), or an error if the
            /// variable is not bound.
            ///
            /// # Errors
            ///
            /// `ctxvar::AccessError` when the variable is not bound and has no default.
            fn try_get(&self) -> ::core::result::Result<#ty, ::ctxvar::AccessError>
            where
                Self: ::core::marker::Sized + #private::CloneValue<#ty>,
            {
                #private::try_get::<Self, dyn #name>()
            }

            /// Runs `f` on the innermost value (or the default), or returns an error if
            /// the variable is not bound.
            ///
            /// # Errors
            ///
            /// `ctxvar::AccessError` when the variable is not bound and has no default.
            fn try_with<R>(
                &self,
                f: impl ::core::ops::FnOnce(&#ty) -> R,
            ) -> ::core::result::Result<R, ::ctxvar::AccessError>
            where
                Self: ::core::marker::Sized,
            {
                #private::try_with::<dyn #name, R>(f)
            }

            /// Whether a read would find a value (a binding or a default).
            #[must_use]
            fn is_bound(&self) -> bool
            where
                Self: ::core::marker::Sized,
            {
                #private::is_bound::<dyn #name>()
            }

            /// A value for this variable, to bind with `scope` or `sync_scope`,
            /// possibly together with others (`ctxvar::Bindings`).
            fn bind(&self, value: #ty) -> ::ctxvar::Bindings<::ctxvar::Binding<dyn #name>>
            where
                Self: ::core::marker::Sized,
            {
                #private::bind::<dyn #name>(value)
            }

            // `scope` and `sync_scope` need a `Send + Sync` value. Their bound names
            // `Self`, so rustc checks it where they are called, not here: a variable
            // declared with a type that is not `Send + Sync` gets one error, at its
            // declaration (`ContextKey::Value: ContextValue`), not one per method.

            /// Runs `future` with this variable bound to `value` on every poll.
            fn scope<F: ::core::future::IntoFuture>(
                &self,
                value: #ty,
                future: F,
            ) -> ::ctxvar::Scope<::ctxvar::Binding<dyn #name>, F::IntoFuture>
            where
                Self: ::ctxvar::ContextVar<Key = dyn #name, Value = #ty>,
            {
                ::ctxvar::ContextVar::scope(*self, value, future)
            }

            /// Runs `f` with this variable bound to `value`.
            fn sync_scope<R>(&self, value: #ty, f: impl ::core::ops::FnOnce() -> R) -> R
            where
                Self: ::ctxvar::ContextVar<Key = dyn #name, Value = #ty>,
            {
                ::ctxvar::ContextVar::sync_scope(*self, value, f)
            }

            /// The variable's declared name.
            #[must_use]
            fn name(&self) -> &'static str
            where
                Self: ::core::marker::Sized,
            {
                #name_str
            }
        }

    }
}

/// A `static`'s type may elide lifetimes (`&str` means `&'static str`); the generated
/// trait methods and associated type may not, so spell them out.
fn static_lifetimes(ty: &Type) -> Type {
    struct Fill;
    impl VisitMut for Fill {
        fn visit_type_reference_mut(&mut self, reference: &mut syn::TypeReference) {
            match &reference.lifetime {
                None => {
                    reference.lifetime =
                        Some(syn::Lifetime::new("'static", reference.and_token.span));
                }
                Some(lifetime) if lifetime.ident == "_" => {
                    reference.lifetime = Some(syn::Lifetime::new("'static", lifetime.span()));
                }
                Some(_) => {}
            }
            syn::visit_mut::visit_type_reference_mut(self, reference);
        }
        fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
            if lifetime.ident == "_" {
                *lifetime = syn::Lifetime::new("'static", lifetime.span());
            }
        }
    }
    let mut ty = ty.clone();
    Fill.visit_type_mut(&mut ty);
    ty
}
