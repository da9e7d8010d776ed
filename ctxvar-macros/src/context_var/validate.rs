//! Validation: the checks on a parsed declaration, and the model they build, a
//! [`Variable`].

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Attribute, Expr, Ident, Type, Visibility};

use super::Errors;
use super::parse::{Declaration, EXPECTED_DECLARATION, Keyword, Options, Trace};

/// A variable to declare: everything the expansion needs, already checked.
pub(super) struct Variable {
    pub(super) attrs: Vec<Attribute>,
    pub(super) vis: Visibility,
    pub(super) name: Ident,
    /// The declared type with its lifetimes spelled out (`&str` is `&'static str`).
    pub(super) ty: Type,
    pub(super) default: DefaultValue,
    /// Whether `Context::current()` (and so `ctxvar::spawn`) captures the variable.
    pub(super) inherit: bool,
    pub(super) trace: Option<Trace>,
    /// The log field a traced variable is shown as: `field = ".."`, or the variable's
    /// name in lower case (`CORRELATION_ID` as `correlation_id`), the usual spelling
    /// of log fields.
    pub(super) field: String,
    /// `::ctxvar`, or `::cv` where `Cargo.toml` renames the dependency (see
    /// `crate_path`), so that the variable is declared either way.
    pub(super) runtime: TokenStream,
    /// The runtime's name in that path, for the links in the variable's docs.
    pub(super) runtime_name: String,
}

/// A variable's default value.
pub(super) enum DefaultValue {
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
pub(super) fn validate(
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

/// A visitor of a type that keeps the lifetimes the enclosing `for<..>`s bind.
trait UnderForLifetimes: Sized {
    /// The lifetimes bound by the enclosing `for<..>`s.
    fn bound(&mut self) -> &mut Vec<Ident>;

    /// Runs `visit` with the lifetimes `bound` introduces added to [`Self::bound`].
    fn with_bound(&mut self, bound: Option<&syn::BoundLifetimes>, visit: impl FnOnce(&mut Self)) {
        let before = self.bound().len();
        self.bound().extend(introduced(bound));
        visit(self);
        self.bound().truncate(before);
    }
}

/// The first lifetime in `ty` other than `'static`, `'_` and those a `for<..>`
/// inside the type introduces.
pub(super) fn first_named_lifetime(ty: &Type) -> Option<syn::Lifetime> {
    #[derive(Default)]
    struct Find {
        /// Lifetimes bound by the enclosing `for<..>`s.
        bound: Vec<Ident>,
        found: Option<syn::Lifetime>,
    }
    impl UnderForLifetimes for Find {
        fn bound(&mut self) -> &mut Vec<Ident> {
            &mut self.bound
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
pub(super) fn introduced(bound: Option<&syn::BoundLifetimes>) -> impl Iterator<Item = Ident> + '_ {
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
pub(super) fn static_lifetimes(ty: &mut Type) {
    #[derive(Default)]
    struct Fill {
        /// Lifetimes bound by the enclosing `for<..>`s, which stay.
        bound: Vec<Ident>,
        /// How many function pointer types or `Fn(..)` argument lists enclose the
        /// current node: elided lifetimes there stay elided.
        in_fn: usize,
    }
    impl UnderForLifetimes for Fill {
        fn bound(&mut self) -> &mut Vec<Ident> {
            &mut self.bound
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
pub(super) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    crate::tokens::map(tokens, &mut |tokens, i| {
        let mut token = tokens[i].clone();
        if let proc_macro2::TokenTree::Group(group) = &token {
            let mut inner =
                proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
            inner.set_span(span);
            token = proc_macro2::TokenTree::Group(inner);
        } else {
            token.set_span(span);
        }
        Some(token.into())
    })
}
