//! `#[context_var] static NAME: Type;` (or `= default;`): declare a variable.
//!
//! Three steps: [`Declaration`] and [`Options`] parse the tokens, keeping the span of
//! everything the user wrote; [`validate`] checks them and builds the model, a
//! [`Variable`]; [`expand_variable`] turns the model into items and cannot fail. An
//! error found on the way is reported next to a best-effort declaration of the
//! variable, so its uses elsewhere still resolve and one mistake gives one error.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Attribute, Expr, Ident, Token, Type, Visibility};

use crate::private::private_in;

/// The words `#[context_var(..)]` gives a meaning to.
mod kw {
    syn::custom_keyword!(inherit);
    syn::custom_keyword!(trace);
    syn::custom_keyword!(debug);
    syn::custom_keyword!(display);
    syn::custom_keyword!(field);
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let declaration = match syn::parse2::<Declaration>(item.clone()) {
        Ok(declaration) => declaration,
        // Some other item (a `fn`, a `struct`): keep it, so that its uses resolve.
        Err(err) => {
            let mut tokens = err.into_compile_error();
            tokens.extend(item);
            return tokens;
        }
    };
    let mut errors = Errors::default();
    let options = syn::parse2::<Options>(args).unwrap_or_else(|err| {
        errors.push(err);
        Options::default()
    });
    let renamed = crate::crate_path::renamed();
    let variable = validate(declaration, options, renamed.as_deref(), &mut errors);
    let mut tokens = errors.into_compile_error();
    if let Some(renamed) = &renamed {
        tokens.extend(crate::crate_path::probe(renamed, "context_var"));
    }
    if let Some(variable) = variable {
        tokens.extend(expand_variable(&variable));
    }
    tokens
}

/// The errors found so far, reported together.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(err),
            None => self.0 = Some(err),
        }
    }

    fn into_compile_error(self) -> TokenStream {
        self.0
            .map(syn::Error::into_compile_error)
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------

/// `#[context_var(inherit = false, trace = display)]`: each option with the span of
/// the word that names it, so that errors about it point there.
#[derive(Default)]
struct Options {
    inherit: Option<Inherit>,
    trace: Option<Trace>,
    /// `field = "name"`: the traced variable's field name, as written.
    field: Option<FieldName>,
}

/// `field = "name"`, with the span of the word `field` (for an error about it) and the
/// name as written.
struct FieldName {
    key: Span,
    name: syn::LitStr,
}

/// `inherit = true` or `inherit = false`.
struct Inherit {
    /// The `true` or `false` as written, with its span.
    value: syn::LitBool,
}

/// `trace`, `trace = debug` or `trace = display`: show the variable on `tracing`
/// events while it is bound.
#[derive(Clone, Copy)]
struct Trace {
    how: TraceHow,
    /// The word `trace`: errors about recording the value point at it.
    span: Span,
}

#[derive(Clone, Copy)]
enum TraceHow {
    Debug,
    Display,
}

const EXPECTED_OPTIONS: &str =
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

fn given_twice(span: Span, key: &str) -> syn::Error {
    syn::Error::new(span, format!("`{key}` is given twice"))
}

/// `= true` or `= false`, after `inherit`.
fn parse_inherit(input: ParseStream<'_>, key: kw::inherit) -> syn::Result<Inherit> {
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
fn parse_field_name(input: ParseStream<'_>, key: kw::field) -> syn::Result<FieldName> {
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
fn parse_trace_how(input: ParseStream<'_>) -> syn::Result<TraceHow> {
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
struct Declaration {
    attrs: Vec<Attribute>,
    vis: Visibility,
    /// `static`, or `const`, which is an error.
    keyword: Keyword,
    mutability: Option<Token![mut]>,
    name: Ident,
    /// `None` for `static NAME;`, which rustc itself rejects.
    ty: Option<Type>,
    default: Option<Expr>,
}

enum Keyword {
    Static,
    Const(Token![const]),
}

const EXPECTED_DECLARATION: &str = "context variables are declared as `static NAME: Type;` or \
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

// ---------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------

/// A variable to declare: everything the expansion needs, already checked.
struct Variable {
    attrs: Vec<Attribute>,
    vis: Visibility,
    name: Ident,
    /// The declared type with its lifetimes spelled out (`&str` is `&'static str`).
    ty: Type,
    default: DefaultValue,
    /// Whether `Context::current()` (and so `ctxvar::spawn`) captures the variable.
    inherit: bool,
    trace: Option<Trace>,
    /// The log field a traced variable is shown as: `field = ".."`, or the variable's
    /// name in lower case (`CORRELATION_ID` as `correlation_id`), the usual spelling
    /// of log fields.
    field: String,
    /// `::ctxvar`, or `::cv` where `Cargo.toml` renames the dependency (see
    /// `crate_path`), so that the variable is declared either way.
    runtime: TokenStream,
    /// The runtime's name in that path, for the links in the variable's docs.
    runtime_name: String,
}

/// A variable's default value.
enum DefaultValue {
    /// Required: no default.
    None,
    /// `= default`, as written.
    Given(Expr),
    /// Written, but left out because the type was reported and replaced (the default
    /// would not have the new type): the variable is declared as having a default, so
    /// that its reads compile, and its value is never read, as nothing compiles.
    Dropped,
}

/// Checks a parsed declaration, pushing what is wrong to `errors`, and returns the
/// variable to declare anyway (the closest to what the user meant), or `None` when
/// there is no type to declare it with.
fn validate(
    declaration: Declaration,
    options: Options,
    renamed: Option<&str>,
    errors: &mut Errors,
) -> Option<Variable> {
    let Declaration {
        attrs,
        vis,
        keyword,
        mutability,
        name,
        ty,
        default,
    } = declaration;
    if let Keyword::Const(token) = keyword {
        errors.push(syn::Error::new(token.span, EXPECTED_DECLARATION));
    }
    if let Some(mutability) = mutability {
        errors.push(syn::Error::new(
            mutability.span,
            "a context variable cannot be `static mut`: bind a new value in a scope \
             with `#[with_context]` instead of mutating it",
        ));
    }
    // `static NAME;` is a syntax error rustc reports itself ("missing type for
    // `static` item"); a second error from us would only repeat it.
    let mut ty = ty?;
    if let Some(lifetime) = first_named_lifetime(&ty) {
        errors.push(syn::Error::new(
            lifetime.span(),
            format!(
                "the type of a context variable must be `'static`: its values are shared \
                 with every task and thread that reads them; write `'static` instead of \
                 `{lifetime}`, or use an owned type"
            ),
        ));
    }
    static_lifetimes(&mut ty);
    // A type that is reported here is replaced; so are the default (which would not
    // have the new type) and `trace` (which may not format it): one error.
    let (type_errors, replaced) = crate::value_type::check(&mut ty);
    for err in type_errors {
        errors.push(err);
    }
    let field = match &options.field {
        Some(field) => {
            if options.trace.is_none() {
                errors.push(syn::Error::new(
                    field.key,
                    "`field` names the log field of a traced variable: add `trace`, as in \
                     `#[context_var(trace, field = \"..\")]`",
                ));
            }
            let name = field.name.value();
            let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
            if name.is_empty() || !name.chars().all(allowed) {
                errors.push(syn::Error::new(
                    field.name.span(),
                    "a field name is ASCII letters, digits, `_`, `.` and `-`, as in \
                     `\"tenant.id\"`",
                ));
            }
            name
        }
        None => name.unraw().to_string().to_lowercase(),
    };
    Some(Variable {
        attrs,
        vis,
        name,
        ty,
        default: match default {
            Some(_) if replaced => DefaultValue::Dropped,
            Some(default) => DefaultValue::Given(default),
            None => DefaultValue::None,
        },
        inherit: options.inherit.is_none_or(|inherit| inherit.value.value),
        trace: options.trace.filter(|_| !replaced),
        field,
        // `renamed` is an identifier (`crate_path` checks it), so this cannot panic.
        runtime: renamed.map_or_else(
            || quote!(::ctxvar),
            |renamed| {
                let renamed = Ident::new(renamed, Span::call_site());
                quote!(::#renamed)
            },
        ),
        runtime_name: renamed.unwrap_or("ctxvar").to_owned(),
    })
}

/// The first lifetime in `ty` other than `'static`, `'_` and those a `for<..>`
/// inside the type introduces.
fn first_named_lifetime(ty: &Type) -> Option<syn::Lifetime> {
    #[derive(Default)]
    struct Find {
        /// Lifetimes bound by the enclosing `for<..>`s.
        bound: Vec<Ident>,
        found: Option<syn::Lifetime>,
    }
    impl Find {
        fn with_bound(
            &mut self,
            bound: Option<&syn::BoundLifetimes>,
            visit: impl FnOnce(&mut Self),
        ) {
            let before = self.bound.len();
            self.bound.extend(introduced(bound));
            visit(self);
            self.bound.truncate(before);
        }
    }
    impl<'ast> Visit<'ast> for Find {
        fn visit_lifetime(&mut self, lifetime: &'ast syn::Lifetime) {
            let ident = &lifetime.ident;
            if self.found.is_none()
                && ident != "static"
                && ident != "_"
                && !self.bound.contains(ident)
            {
                self.found = Some(lifetime.clone());
            }
        }
        fn visit_type_bare_fn(&mut self, ty: &'ast syn::TypeBareFn) {
            self.with_bound(ty.lifetimes.as_ref(), |this| {
                syn::visit::visit_type_bare_fn(this, ty);
            });
        }
        fn visit_trait_bound(&mut self, bound: &'ast syn::TraitBound) {
            self.with_bound(bound.lifetimes.as_ref(), |this| {
                syn::visit::visit_trait_bound(this, bound);
            });
        }
    }
    let mut find = Find::default();
    find.visit_type(ty);
    find.found
}

/// The lifetimes a `for<'a, ..>` introduces.
fn introduced(bound: Option<&syn::BoundLifetimes>) -> impl Iterator<Item = Ident> + '_ {
    bound
        .into_iter()
        .flat_map(|bound| &bound.lifetimes)
        .filter_map(|param| match param {
            syn::GenericParam::Lifetime(param) => Some(param.lifetime.ident.clone()),
            _ => None,
        })
}

/// A `static`'s type may elide lifetimes (`&str` means `&'static str`); the generated
/// trait methods and associated type may not, so spell them out. A named lifetime
/// (already reported) becomes `'static` too, so that the variable is still declared.
///
/// Function pointer types and `Fn(..)` bounds are left alone: a lifetime elided there
/// is a fresh one for each call (`fn(&str)` takes a `&str` of any lifetime), as it
/// is in the `static` the user wrote.
fn static_lifetimes(ty: &mut Type) {
    #[derive(Default)]
    struct Fill {
        /// Lifetimes bound by the enclosing `for<..>`s, which stay.
        bound: Vec<Ident>,
        /// How many function pointer types or `Fn(..)` argument lists enclose the
        /// current node: elided lifetimes there stay elided.
        in_fn: usize,
    }
    impl Fill {
        fn with_bound(
            &mut self,
            bound: Option<&syn::BoundLifetimes>,
            visit: impl FnOnce(&mut Self),
        ) {
            let before = self.bound.len();
            self.bound.extend(introduced(bound));
            visit(self);
            self.bound.truncate(before);
        }
    }
    impl VisitMut for Fill {
        fn visit_type_reference_mut(&mut self, reference: &mut syn::TypeReference) {
            if reference.lifetime.is_none() && self.in_fn == 0 {
                reference.lifetime = Some(syn::Lifetime::new("'static", reference.and_token.span));
            }
            syn::visit_mut::visit_type_reference_mut(self, reference);
        }
        fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
            let ident = &lifetime.ident;
            let keep =
                ident == "static" || self.bound.contains(ident) || (ident == "_" && self.in_fn > 0);
            if !keep {
                *lifetime = syn::Lifetime::new("'static", lifetime.span());
            }
        }
        fn visit_type_bare_fn_mut(&mut self, ty: &mut syn::TypeBareFn) {
            self.in_fn += 1;
            let lifetimes = ty.lifetimes.clone();
            self.with_bound(lifetimes.as_ref(), |this| {
                syn::visit_mut::visit_type_bare_fn_mut(this, ty);
            });
            self.in_fn -= 1;
        }
        fn visit_parenthesized_generic_arguments_mut(
            &mut self,
            arguments: &mut syn::ParenthesizedGenericArguments,
        ) {
            self.in_fn += 1;
            syn::visit_mut::visit_parenthesized_generic_arguments_mut(self, arguments);
            self.in_fn -= 1;
        }
        fn visit_trait_bound_mut(&mut self, bound: &mut syn::TraitBound) {
            let lifetimes = bound.lifetimes.clone();
            self.with_bound(lifetimes.as_ref(), |this| {
                syn::visit_mut::visit_trait_bound_mut(this, bound);
            });
        }
    }
    Fill::default().visit_type_mut(ty);
}

/// `tokens` with every span set to `span`, so that an error about them points at one
/// place the user wrote rather than across lines.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = proc_macro2::TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// Expansion
// ---------------------------------------------------------------------------------

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
fn expand_variable(variable: &Variable) -> TokenStream {
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
fn check_methods(variable: &Variable) -> TokenStream {
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
fn not_carried_trait(name: &Ident) -> Ident {
    Ident::new(&format!("{}_is_carried", name.unraw()), name.span())
}

/// The trait behind the error for a variable declared `inherit = false` that work run
/// in a captured context reads: one per such variable, so that the message names it as
/// written. Inherited variables need none (their `check_carried` has no bound), so a
/// variable declared twice gets no error from it.
fn not_carried_item(variable: &Variable, cfgs: &[&Attribute]) -> TokenStream {
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
fn not_set_trait(name: &Ident) -> Ident {
    Ident::new(&format!("{}_is_bound_not_set", name.unraw()), name.span())
}

/// The trait behind the error for `NAME.set(value)`, which says how a variable gets a
/// value. Like `NAME_is_bound_here`, one per variable, so that the message names the
/// variable as written (a trait generic over the key could only show `dyn NAME`).
fn not_set_item(variable: &Variable, cfgs: &[&Attribute]) -> TokenStream {
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
struct Kind {
    /// The hidden `NAME_is_bound_here` trait (required variables only).
    unbound_item: TokenStream,
    /// `+ NAME_is_bound_here` on `get` and `with` (required variables only).
    unbound_bound: TokenStream,
    /// `None` or `Some(default)`, for the variable's metadata.
    default_value: TokenStream,
}

fn kind(variable: &Variable, cfgs: &[&Attribute]) -> Kind {
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
fn traced_meta(variable: &Variable, trace: Trace, meta: &TokenStream) -> TokenStream {
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
fn variable_trait(variable: &Variable, kind: &Kind) -> TokenStream {
    let runtime = &variable.runtime;
    let private = private_in(runtime, Span::call_site());
    let Variable { vis, name, ty, .. } = variable;
    let name_str = name.unraw().to_string();
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
                #private::get::<Self, dyn #name>()
            }

            /// Runs `f` on a reference to the innermost value (or the default).
            #[doc(hidden)]
            #[track_caller]
            fn with<__R>(&self, f: impl ::core::ops::FnOnce(&#ty) -> __R) -> __R
            where
                Self: ::core::marker::Sized #unbound_bound,
            {
                #private::with::<dyn #name, __R>(f)
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
                #private::try_get::<Self, dyn #name>()
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
                #private::try_with::<dyn #name, __R>(f)
            }

            /// Whether a read would find a value (a binding or a default).
            #[doc(hidden)]
            #[must_use]
            fn is_bound(&self) -> bool
            where
                Self: ::core::marker::Sized,
            {
                #private::is_bound::<dyn #name>()
            }

            /// A value for this variable, to bind with `scope` or `sync_scope`,
            /// possibly together with others (`ctxvar::Bindings`).
            #[doc(hidden)]
            fn bind(&self, value: #ty) -> #runtime::Bindings<#runtime::Binding<dyn #name>>
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
                #name_str
            }

            #checks
        }
    }
}

/// The attributes of the variable's trait: the author's, with what the variable is
/// at the start of the page.
///
/// The page opens with what the variable is, in the same paragraph as the author's
/// summary, so that the line item lists show reads as a variable ("Context variable of
/// type `u64`, required. The id of ..") rather than as a trait; the facts follow, then
/// the rest of the author's docs.
fn trait_docs(variable: &Variable) -> TokenStream {
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
fn doc_text(attr: &Attribute) -> Option<String> {
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
struct VariableDocs {
    /// The first words of the summary: the type, and whether there is a default.
    lead: String,
    /// Lines of Markdown after the summary: the settings, how to bind and read the
    /// variable, and where its methods are documented.
    facts: Vec<String>,
}

/// What a reader of the variable's page needs first: its type and default, then its
/// settings and how to bind and read it, one line each, linking ctxvar's docs. The
/// links are intra-doc links through `ctxvar`, which the expansion names anyway, so
/// they lead to the docs of the version in use. Each target exists whatever ctxvar's
/// features (`ctxvar::spawn` needs `tokio`, so it is not a link).
fn variable_docs(variable: &Variable) -> VariableDocs {
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

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proc_macro2::TokenStream;

    fn expand(args: &str, item: &str) -> String {
        super::expand(
            TokenStream::from_str(args).unwrap(),
            TokenStream::from_str(item).unwrap(),
        )
        .to_string()
    }

    /// Each mistake gives exactly one error, next to a declaration of the variable
    /// (the trait and the function named `ITEM_ID`), so that its uses still resolve.
    #[test]
    fn one_error_and_the_variable_still_declared() {
        let cases = [
            ("inherit = false, inherit = true", "static ITEM_ID: u64;"),
            ("trace, trace", "static ITEM_ID: u64;"),
            ("inherit", "static ITEM_ID: u64;"),
            ("inherit = no", "static ITEM_ID: u64;"),
            ("trace = json", "static ITEM_ID: u64;"),
            ("default = 3", "static ITEM_ID: u64;"),
            ("\"trace\"", "static ITEM_ID: u64;"),
            ("inherit = false trace", "static ITEM_ID: u64;"),
            ("field = \"item\"", "static ITEM_ID: u64;"),
            ("trace, field", "static ITEM_ID: u64;"),
            ("trace, field = 3", "static ITEM_ID: u64;"),
            ("trace, field = \"\"", "static ITEM_ID: u64;"),
            ("trace, field = \"item id\"", "static ITEM_ID: u64;"),
            (
                "trace, field = \"a\", field = \"b\"",
                "static ITEM_ID: u64;",
            ),
            ("", "static mut ITEM_ID: u64;"),
            ("", "const ITEM_ID: u64 = 1;"),
            ("", "static ITEM_ID: &'a str;"),
            ("", "static ITEM_ID: Box<dyn Fn(&'a str) + Sync>;"),
            ("", "static ITEM_ID: impl std::fmt::Display;"),
            ("", "static ITEM_ID: Vec<impl Send>;"),
            ("", "static ITEM_ID: str;"),
            ("", "static ITEM_ID: ([u8]);"),
            ("", "static ITEM_ID: dyn std::fmt::Display + Send;"),
            ("", "static ITEM_ID: Vec<T>;"),
            ("", "static ITEM_ID: std::collections::HashMap<K, V2>;"),
            (
                "trace = display",
                "static ITEM_ID: impl std::fmt::Display = 1;",
            ),
            ("", "static ITEM_ID: str = \"none\";"),
        ];
        for (args, item) in cases {
            let output = expand(args, item);
            // Errors are `compile_error! { .. }`; a traced variable's expansion also holds
            // `compile_error!(..)`, the error for a missing feature, which never fires here.
            assert_eq!(
                output.matches("compile_error ! {").count(),
                1,
                "`#[context_var({args})] {item}` gave:\n{output}"
            );
            assert!(
                output.contains("fn ITEM_ID ()"),
                "{args} / {item}: {output}"
            );
            assert!(
                output.contains("trait ITEM_ID"),
                "{args} / {item}: {output}"
            );
            // A named lifetime is reported, then declared as `'static`.
            assert!(!output.contains("'a str"), "{args} / {item}: {output}");
        }
    }

    /// Lifetimes bound by a `for<..>` in the type are not errors, and stay.
    #[test]
    fn higher_ranked_lifetimes_are_kept() {
        let output = expand("", "static F: for<'a> fn(&'a str) -> &'a str;");
        assert!(!output.contains("compile_error"), "{output}");
        assert!(
            output.contains("for < 'a > fn (& 'a str) -> & 'a str"),
            "{output}"
        );
        let output = expand("", "static F: &(dyn for<'a> Fn(&'a str) + Sync);");
        assert!(!output.contains("compile_error"), "{output}");
        assert!(
            output.contains("type Value = & 'static (dyn for < 'a > Fn (& 'a str) + Sync)"),
            "{output}"
        );
    }

    /// An item that is not a `static` is kept as it is, after the one error.
    #[test]
    fn other_items_are_kept() {
        let output = expand("", "fn item_id() -> u64 { 7 }");
        assert_eq!(output.matches("compile_error ! {").count(), 1, "{output}");
        assert!(output.ends_with("fn item_id () -> u64 { 7 }"), "{output}");
    }

    /// Types and defaults on the variable's page read as written.
    #[test]
    fn tokens_read_as_written() {
        let cases = [
            "u64",
            "&'static str",
            "Vec<(i64, &'static str)>",
            "for<'a> fn(&'a str) -> &'a str",
            "&'static (dyn Fn(&str) + Sync)",
            "std::collections::HashMap<String, Vec<u8>>",
            "String::from(\"x\")",
            "vec![(-1, \"a\"), (2, \"b\")]",
            "Duration::from_secs(30).as_millis()",
        ];
        for case in cases {
            assert_eq!(
                super::tokens_text(TokenStream::from_str(case).unwrap()),
                case
            );
        }
    }

    /// The summary opens with what the variable is, in the author's first paragraph
    /// (the line item lists show); the facts follow, before the rest of the author's
    /// docs.
    #[test]
    fn docs_lead_with_the_variable_then_the_summary() {
        let output = expand(
            "trace = display, field = \"item.id\"",
            "/// The id.\n///\n/// More.\nstatic ITEM_ID: u64;",
        );
        let lead = output
            .find("\"*Context variable* of type `u64`, required.\"")
            .unwrap();
        let summary = output.find("\" The id.\"").unwrap();
        let facts = output.find("**Default**: none").unwrap();
        let traced = output.find("as the field `item.id` (`Display`)").unwrap();
        let more = output.find("\" More.\"").unwrap();
        assert!(
            lead < summary && summary < facts && facts < traced && traced < more,
            "{output}"
        );
        // No blank line between the lead and the summary: one paragraph.
        assert!(
            !output[lead..summary].contains("# [doc = \"\"]"),
            "{output}"
        );
        let output = expand("", "static ITEM_ID: &str = \"none\";");
        assert!(
            output.contains(r#"of type `&'static str`, default `\"none\"`."#),
            "{output}"
        );
        assert!(output.contains(r#"**Default**: `\"none\"`"#), "{output}");
    }

    /// Only the docs are on the page: the methods (documented in `context_var`'s docs,
    /// which the page links) and the blanket impl behind `NAME.get()` are hidden, so
    /// the declaration reads `pub trait NAME { }` and names no hidden bound.
    #[test]
    fn methods_and_blanket_impl_are_hidden() {
        let output = expand("", "pub static ITEM_ID: u64;");
        let blanket_impl = "# [doc (hidden)] impl < __F : :: core :: ops :: Fn ()";
        let start = output.find("trait ITEM_ID {").unwrap();
        let end = output.find(blanket_impl).unwrap();
        let trait_body = &output[start..end];
        let methods = trait_body.matches(" fn ").count();
        assert_eq!(methods, 11, "{output}");
        assert_eq!(
            trait_body.matches("# [doc (hidden)] ").count(),
            methods,
            "{output}"
        );
        assert!(
            output.contains("context_var#using-the-variable"),
            "{output}"
        );
    }

    /// A type that cannot be a variable's is replaced by one that can, and so are the
    /// default and `trace` of the declaration (which would not fit the new type).
    #[test]
    fn reported_types_are_replaced() {
        let output = expand("trace = display", "static ITEM_ID: impl Display = 1;");
        assert!(output.contains("type Value = ()"), "{output}");
        assert!(!output.contains("impl Display ;"), "{output}");
        assert!(!output.contains("TraceDisplay"), "{output}");
        assert!(
            !output.contains("1i32") && !output.contains("= 1 ;"),
            "{output}"
        );
        // With a default, so that reads elsewhere compile: no `NAME_is_bound_here`.
        assert!(!output.contains("ITEM_ID_is_bound_here"), "{output}");
        let output = expand("", "static ITEM_ID: str;");
        assert!(
            output.contains("type Value = :: std :: string :: String"),
            "{output}"
        );
        let output = expand("", "static ITEM_ID: [u8];");
        assert!(
            output.contains("type Value = :: std :: vec :: Vec < u8 >"),
            "{output}"
        );
        let output = expand("", "static ITEM_ID: dyn Display + Send;");
        assert!(
            output.contains(
                "type Value = :: std :: boxed :: Box < dyn Display + Send + :: core :: marker :: Sync >"
            ),
            "{output}"
        );
        let output = expand("", "static ITEM_ID: Vec<T>;");
        assert!(output.contains("type Value = Vec < () >"), "{output}");
        // Names that read as types, and type parameters written by path, are kept.
        for ty in [
            "Vec<Tx>",
            "Vec<self::T>",
            "Vec<T<u8>>",
            "[u8; 4]",
            "Box<str>",
        ] {
            let output = expand("", &format!("static ITEM_ID: {ty};"));
            assert!(!output.contains("compile_error"), "{ty}: {output}");
        }
    }

    /// The expansion's own type parameters have names that rustc cannot suggest for a
    /// type the user misspelled (it suggests names within a small edit distance).
    #[test]
    fn type_parameters_are_not_single_letters() {
        let output = expand("", "static ITEM_ID: u64;");
        for param in ["< R >", "< F :", "< R ,", "-> R"] {
            assert!(!output.contains(param), "{param}: {output}");
        }
    }

    /// `static NAME;` is rustc's own error: nothing is added to it.
    #[test]
    fn missing_type_is_left_to_rustc() {
        assert_eq!(expand("", "static ITEM_ID;"), "");
    }
}
