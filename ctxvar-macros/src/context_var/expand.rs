//! Expansion: the items a [`Variable`] becomes. Cannot fail.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, Ident};

use crate::private::private_in;

use super::docs::trait_docs;
use super::parse::{Trace, TraceHow};
use super::validate::{DefaultValue, Variable, respan};

// Input:
//
//     /// Docs.
//     #[context_var]
//     pub static NAME: Type;
//
// Output (see the "Equivalent code" section of `context_var`'s docs):
//
//     #[doc(hidden)] pub fn NAME() -> Variable<dyn NAME> { .. }   // the value namespace
//     /// Docs (what the variable is, their first paragraph, the facts, then the rest).
//     pub trait NAME { #[doc(hidden)] fn get(&self) -> Type where Self: NAME_is_bound_here ..; .. }
//     #[doc(hidden)] impl<F: Fn() -> Variable<dyn NAME>> NAME for F {} // so `NAME.get()` works
//     unsafe impl ContextKey for dyn NAME { type Value = Type; fn __meta() -> .. { static .. } .. }
//     #[diagnostic::on_unimplemented(..)] pub trait NAME_is_bound_here {}
//
// Two items share the name: a function (value namespace), which a `let` inside
// `#[with_context]` functions may shadow with evidence, and a trait (type namespace),
// which carries the methods and names the key type `dyn NAME`. Importing `NAME`
// imports both. A variable with a default gets no `NAME_is_bound_here` trait: it is
// readable anywhere.
pub(super) fn expand_variable(variable: &Variable) -> TokenStream {
    let runtime = &variable.runtime;
    let private = private_in(runtime, Span::call_site());
    let Variable {
        attrs,
        vis,
        name,
        ty,
        inherit,
        ..
    } = variable;
    // `#[cfg]` must reach every generated item, or a disabled variable would leave
    // half of its items behind. Everything else (docs, `deprecated`, ...) belongs to
    // the one documented item, the trait.
    let cfgs: Vec<&Attribute> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr"))
        .collect();
    // Derived names and messages use the name without `r#`.
    let name_str = name.unraw().to_string();
    let kind = kind(variable, &cfgs);
    let default_value = &kind.default_value;
    let meta = quote! {
        #private::VarMeta::new(#name_str, ::core::module_path!(), #inherit, #default_value)
    };
    let meta = match variable.trace {
        Some(trace) => traced_meta(variable, trace, &meta),
        None => meta,
    };
    // Checked where a block passed to `ctxvar::spawn` (in an annotated function) reads
    // the variable: only inherited variables are seen by the spawned task.
    let inherited_impl = inherit.then(|| {
        quote! {
            #(#cfgs)*
            impl #runtime::Inherited for dyn #name + '_ {}
        }
    });
    let variable_trait = variable_trait(variable, &kind);
    let unbound_item = &kind.unbound_item;
    let not_set_item = not_set_item(variable, &cfgs);
    let not_carried_item = (!variable.inherit).then(|| not_carried_item(variable, &cfgs));

    quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_snake_case, dead_code)]
        #[inline(always)]
        #vis fn #name() -> #runtime::Variable<dyn #name> {
            #runtime::Variable::new()
        }

        #variable_trait

        // Hidden, as the methods are: the page's "Implementors" would otherwise show a
        // blanket impl over `Fn() -> Variable<..>`, which says nothing to a reader.
        #(#cfgs)*
        #[doc(hidden)]
        impl<__F: ::core::ops::Fn() -> #runtime::Variable<dyn #name>> #name for __F {}

        // For every object lifetime, not just `'static`: rustc erases all lifetimes in
        // the types an `async fn` holds across `.await` and proves `Send` for any of
        // them, so `dyn NAME + '_` must be a key too. The key is only a type-level tag.
        //
        // SAFETY: `__meta` and `__read_cache` return a `static` and a `thread_local!`
        // declared inside them, which no other code can name, so no other key returns
        // them; each is one item, so every call returns the same one. The key types
        // that share them, `dyn NAME + 'a` for every `'a`, differ only in lifetimes.
        #(#cfgs)*
        unsafe impl #runtime::ContextKey for dyn #name + '_ {
            type Value = #ty;
            type __Key = Self;

            #[inline(always)]
            fn __meta() -> &'static #private::VarMeta<#ty> {
                static META: #private::VarMeta<#ty> = #meta;
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
        #not_set_item
        #not_carried_item
    }
}

/// The methods of the variable's trait that exist for their errors: `check_carried`,
/// which the attributes call, and `set`, which a user may try.
pub(super) fn check_methods(variable: &Variable) -> TokenStream {
    let name = &variable.name;
    let not_set = not_set_trait(name);
    let carried_bound = (!variable.inherit).then(|| {
        let carried = not_carried_trait(name);
        quote!(+ #carried)
    });
    quote! {
            /// What `#[with_context]` and `#[uses_context]` call where work that runs in
            /// a captured context (`ctxvar::spawn(..)`, `Context::current().run(..)`)
            /// mentions the variable: it compiles only if the variable is inherited.
            #[doc(hidden)]
            #[inline(always)]
            fn check_carried()
            where
                Self: ::core::marker::Sized #carried_bound,
            {
            }

            /// Never compiles: `NAME.set(value)` is an error that says how a variable
            /// gets a value (its bound is implemented by no `Sized` type).
            #[doc(hidden)]
            fn set<__V>(&self, value: __V)
            where
                Self: ::core::marker::Sized + #not_set,
            {
                let _ = value;
            }
    }
}

/// `NAME_is_carried`: for a variable declared `inherit = false`, the bound of the
/// hidden `check_carried` method of its trait, which no `Sized` type implements.
pub(super) fn not_carried_trait(name: &Ident) -> Ident {
    Ident::new(&format!("{}_is_carried", name.unraw()), name.span())
}

/// The trait behind the error for a variable declared `inherit = false` that work run
/// in a captured context reads: one per such variable, so that the message names it as
/// written. Inherited variables need none (their `check_carried` has no bound), so a
/// variable declared twice gets no error from it.
pub(super) fn not_carried_item(variable: &Variable, cfgs: &[&Attribute]) -> TokenStream {
    let Variable { vis, name, .. } = variable;
    let name_str = name.unraw().to_string();
    let carried = not_carried_trait(name);
    let message = format!(
        "context variable `{name_str}` is declared `inherit = false`, so a captured \
         context does not carry it"
    );
    let label = format!("`{name_str}` is not bound in work that runs in a captured context");
    let note = "`Context::current()`, `.in_current_context()` and ctxvar's spawn helpers \
                carry every bound variable except those declared \
                `#[context_var(inherit = false)]`; bind it again inside the work, or read \
                it with `try_get()`";
    quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
        #vis trait #carried {}

        // Only so that rustc does not suggest implementing it (see `NAME_is_bound_here`).
        #(#cfgs)*
        #[diagnostic::do_not_recommend]
        impl #carried for dyn #name + '_ {}
    }
}

/// `NAME_is_bound_not_set`: the bound of the hidden `set` method of the variable's
/// trait, which no `Sized` type implements.
pub(super) fn not_set_trait(name: &Ident) -> Ident {
    Ident::new(&format!("{}_is_bound_not_set", name.unraw()), name.span())
}

/// The trait behind the error for `NAME.set(value)`, which says how a variable gets a
/// value. Like `NAME_is_bound_here`, one per variable, so that the message names the
/// variable as written (a trait generic over the key could only show `dyn NAME`).
pub(super) fn not_set_item(variable: &Variable, cfgs: &[&Attribute]) -> TokenStream {
    let Variable { vis, name, .. } = variable;
    let name_str = name.unraw().to_string();
    let not_set = not_set_trait(name);
    let message =
        format!("context variable `{name_str}` cannot be assigned: it is bound for a scope");
    let label = "variables are bound, not assigned";
    let note = format!(
        "bind it for a function with `#[with_context({name_str} = value)]`, or for a \
         future or closure with `{name_str}.scope(value, future)` or \
         `{name_str}.sync_scope(value, || ..)`"
    );
    quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
        #vis trait #not_set {}

        // Only so that rustc does not suggest implementing it (see `NAME_is_bound_here`):
        // the key type is not `Sized`, so `set` still never compiles.
        #(#cfgs)*
        #[diagnostic::do_not_recommend]
        impl #not_set for dyn #name + '_ {}
    }
}

/// What depends on whether the variable has a default.
pub(super) struct Kind {
    /// The hidden `NAME_is_bound_here` trait (required variables only).
    pub(super) unbound_item: TokenStream,
    /// `+ NAME_is_bound_here` on `get` and `with` (required variables only).
    pub(super) unbound_bound: TokenStream,
    /// `None` or `Some(default)`, for the variable's metadata.
    pub(super) default_value: TokenStream,
}

pub(super) fn kind(variable: &Variable, cfgs: &[&Attribute]) -> Kind {
    let Variable {
        vis,
        name,
        ty,
        default,
        ..
    } = variable;
    let name_str = name.unraw().to_string();
    match default {
        DefaultValue::None => {
            // Public like the variable (a bound of its public trait) and hidden. rustc
            // prints its name in a `help:` line of the read-outside-a-scope error ("the
            // trait `ITEM_ID_is_bound_here` is not implemented for fn item .."), so the
            // name says what is missing instead of looking like an internal path.
            let unbound = Ident::new(&format!("{name_str}_is_bound_here"), name.span());
            let message =
                format!("context variable `{name_str}` is read outside a scope that binds it");
            let label = format!("`{name_str}` is not bound in this function");
            let note = format!(
                "bind it for this function with `#[with_context({name_str} = ...)]`, or \
                 declare that callers bind it with `#[uses_context({name_str})]`"
            );
            let note_path = "inside such a function, name the variable as in the attribute \
                             (a read by another path is not checked), and read it in the \
                             function's own code: a `macro_rules!` macro defined outside the \
                             function cannot see its binding (define the macro inside the \
                             function, or pass it the value)";
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

                // Only so that rustc does not add "this trait has no implementations,
                // consider adding one" to the read-outside-a-scope error, which would
                // send the user the wrong way. Never used: `get` and `with` require
                // `Self: Sized`, and the key type is unsized. Implemented for the key
                // rather than a hidden type so that no message can name anything the
                // user did not write.
                #(#cfgs)*
                #[diagnostic::do_not_recommend]
                impl #unbound for dyn #name + '_ {}


            };
            Kind {
                unbound_item: item,
                unbound_bound: quote!(+ #unbound),
                default_value: quote!(::core::option::Option::None),
            }
        }
        DefaultValue::Dropped => Kind {
            unbound_item: TokenStream::new(),
            unbound_bound: TokenStream::new(),
            default_value: quote!(::core::option::Option::None),
        },
        DefaultValue::Given(default) => Kind {
            unbound_item: TokenStream::new(),
            unbound_bound: TokenStream::new(),
            // A typed `let`, so a default of the wrong type is reported at the default,
            // "expected due to this" at the declared type.
            default_value: quote_spanned! {default.span()=>
                ::core::option::Option::Some({
                    let default: #ty = #default;
                    default
                })
            },
        },
    }
}

/// The metadata `meta` of a traced variable: `meta.traced("field", format)`.
///
/// The value is formatted through `ctxvar::TraceDebug` or `ctxvar::TraceDisplay`,
/// named by tokens spanned at the user's `trace`: a type that cannot be formatted so is
/// one error there, naming a documented trait. The field's name is `variable.field`.
/// Without the `tracing` feature of ctxvar, which only `__if_tracing!` can see, it is
/// instead one error at `trace` that names the feature.
pub(super) fn traced_meta(variable: &Variable, trace: Trace, meta: &TokenStream) -> TokenStream {
    // Spanned at `trace` as the rest, so that errors in these tokens point there.
    let runtime = &respan(variable.runtime.clone(), trace.span);
    let field = &variable.field;
    let how = match trace.how {
        TraceHow::Debug => quote_spanned!(trace.span=> #runtime::TraceDebug),
        TraceHow::Display => quote_spanned!(trace.span=> #runtime::TraceDisplay),
    };
    let ty = &variable.ty;
    let recorded_ty = respan(quote!(#ty), trace.span);
    let format = quote_spanned!(trace.span=> <#recorded_ty as #how>::fmt_traced);
    let missing_feature = "`#[context_var(trace)]` needs the `tracing` feature of ctxvar: \
                           `ctxvar = { version = \"0.1\", features = [\"tracing\"] }`";
    quote_spanned! {trace.span=>
        #runtime::__if_tracing! {
            { #meta.traced(#field, #format) } else { ::core::compile_error!(#missing_feature) }
        }
    }
}

/// The trait named like the variable: its documentation, and the methods that
/// `NAME.get()` and friends resolve to outside annotated functions.
///
/// `kind.unbound_bound` is `+ NAME_is_bound_here` for a required variable (so `get`
/// and `with` fail to compile where it is not known to be bound) and empty with a
/// default.
pub(super) fn variable_trait(variable: &Variable, kind: &Kind) -> TokenStream {
    let runtime = &variable.runtime;
    let private = private_in(runtime, Span::call_site());
    let Variable { vis, name, ty, .. } = variable;
    let unbound_bound = &kind.unbound_bound;
    let checks = check_methods(variable);
    let docs = trait_docs(variable);
    quote! {
        #docs
        #[allow(non_camel_case_types, dead_code)]
        #vis trait #name {
            /// A clone of the innermost value (or the default).
            #[doc(hidden)]
            #[track_caller]
            #[must_use]
            fn get(&self) -> #ty
            where
                Self: #private::CloneValue<#ty> #unbound_bound,
            {
                #runtime::Provided::<dyn #name>::assume_bound(&#runtime::Anchor::new())
                    .with(<Self as #private::CloneValue<#ty>>::clone_value)
            }

            /// Runs `f` on a reference to the innermost value (or the default).
            #[doc(hidden)]
            #[track_caller]
            fn with<__R>(&self, f: impl ::core::ops::FnOnce(&#ty) -> __R) -> __R
            where
                Self: ::core::marker::Sized #unbound_bound,
            {
                #runtime::Provided::<dyn #name>::assume_bound(&#runtime::Anchor::new()).with(f)
            }

            /// A clone of the innermost value (or the default), or an error if the
            /// variable is not bound.
            ///
            /// # Errors
            ///
            /// `ctxvar::AccessError` when the variable is not bound and has no default.
            #[doc(hidden)]
            fn try_get(&self) -> ::core::result::Result<#ty, #runtime::AccessError>
            where
                Self: #private::CloneValue<#ty>,
            {
                #runtime::Variable::<dyn #name>::new()
                    .try_with(<Self as #private::CloneValue<#ty>>::clone_value)
            }

            /// Runs `f` on the innermost value (or the default), or returns an error if
            /// the variable is not bound.
            ///
            /// # Errors
            ///
            /// `ctxvar::AccessError` when the variable is not bound and has no default.
            #[doc(hidden)]
            fn try_with<__R>(
                &self,
                f: impl ::core::ops::FnOnce(&#ty) -> __R,
            ) -> ::core::result::Result<__R, #runtime::AccessError>
            where
                Self: ::core::marker::Sized,
            {
                #runtime::Variable::<dyn #name>::new().try_with(f)
            }

            /// Whether a read would find a value (a binding or a default).
            #[doc(hidden)]
            #[must_use]
            fn is_bound(&self) -> bool
            where
                Self: ::core::marker::Sized,
            {
                #runtime::Variable::<dyn #name>::new().is_bound()
            }

            /// A value for this variable, to bind with `scope` or `sync_scope`,
            /// possibly together with others (`ctxvar::Bindings`).
            #[doc(hidden)]
            fn bind(&self, value: #ty) -> #runtime::Bindings<#runtime::Binding<dyn #name>>
            where
                Self: ::core::marker::Sized,
            {
                #runtime::Variable::<dyn #name>::new().bind(value)
            }

            // `scope` and `sync_scope` need a `Send + Sync` value. Their bound names
            // `Self`, so rustc checks it where they are called, not here: a variable
            // declared with a type that is not `Send + Sync` gets one error, at its
            // declaration (`ContextKey::Value: ContextValue`), not one per method.

            /// Runs `future` with this variable bound to `value` on every poll.
            #[doc(hidden)]
            fn scope<__F: ::core::future::IntoFuture>(
                &self,
                value: #ty,
                future: __F,
            ) -> #runtime::Scope<#runtime::Binding<dyn #name>, __F::IntoFuture>
            where
                Self: #runtime::ContextVar<Key = dyn #name, Value = #ty>,
            {
                #runtime::ContextVar::scope(*self, value, future)
            }

            /// Runs `f` with this variable bound to `value`.
            #[doc(hidden)]
            fn sync_scope<__R>(&self, value: #ty, f: impl ::core::ops::FnOnce() -> __R) -> __R
            where
                Self: #runtime::ContextVar<Key = dyn #name, Value = #ty>,
            {
                #runtime::ContextVar::sync_scope(*self, value, f)
            }

            /// The variable's declared name.
            #[doc(hidden)]
            #[must_use]
            fn name(&self) -> &'static str
            where
                Self: ::core::marker::Sized,
            {
                #runtime::Variable::<dyn #name>::new().name()
            }

            #checks
        }
    }
}
