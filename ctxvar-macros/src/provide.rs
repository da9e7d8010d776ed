//! What both function attributes do so that a strict helper
//! (`#[uses_context(VAR, strict)]`) can be awaited in their function: evidence of the
//! variables the function provides, handed to every `.await` of its body.

use proc_macro2::{Punct, Spacing, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Path, Stmt, Token};

use crate::args::{is_strict_flag, last_ident, parse_assignments, parse_variables};
use crate::private::{private, runtime};
use crate::tokens;
use crate::work::{Contexts, Elsewhere, Site, site};

/// `stmts` with every `.await` given the evidence that this function provides
/// `provided` (and what the other ctxvar attributes on it provide, `attrs`), and the
/// items that declare that evidence, which go first in the function's body: before
/// the evidence locals, so that a path that is not a variable is only the error
/// rustc reports for it elsewhere (an item cannot see a local, and says so). A body
/// without an `.await` gets no items.
//
// Input:   helper().await
// Output:  #[allow(..)] struct ContextThisFunctionProvides;
//          impl ::ctxvar::__private::Provides<dyn A> for ContextThisFunctionProvides {}
//          #[allow(unused_imports)] use ::ctxvar::__private::PassThrough as _;
//          (helper()).__ctxvar_provide::<ContextThisFunctionProvides>().await
//
// `__ctxvar_provide` is an inherent method of `UsesContext` (what a strict helper
// returns), which peels the variables the evidence provides and fails to compile,
// naming the variable, for one it does not; on anything else it is `PassThrough`'s,
// which returns the value unchanged, so a plain future is awaited as written.
//
// In work that runs in a captured context (`ctxvar::spawn(async { .. })`), the
// evidence is `ContextCarriedProvides`, which provides what the function does, less
// the variables declared `inherit = false`:
//          struct ContextCarriedProvides;
//          impl<K: ?Sized + Inherited> Provides<K> for ContextCarriedProvides
//              where ContextThisFunctionProvides: Provides<K> {}
//
// `plain_fn` says that the function is not `async`: its `async` blocks run when they
// are polled, after it returned, so an `.await` in one is awaited without its
// context, unless the block is carried (`.in_current_context()`) or run here
// (`block_on`).
pub(crate) fn provide_to_awaits(
    stmts: Vec<Stmt>,
    provided: &[&Path],
    attrs: &[Attribute],
    sig: &syn::Signature,
    plain_fn: bool,
) -> (TokenStream, Vec<Stmt>) {
    // Named for what it is: rustc names it when a variable is missing ("the trait
    // `Provides<dyn USER>` is not implemented for `f::ContextThisFunctionProvides`").
    let evidence = syn::Ident::new("ContextThisFunctionProvides", Span::mixed_site());
    // Under another of these attributes, which expanded first: it declared evidence
    // for both (see `provided_by_other_attributes`) and rewrote every `.await`.
    let declared = stmts
        .iter()
        .any(|stmt| matches!(stmt, Stmt::Item(syn::Item::Struct(item)) if item.ident == evidence));
    if declared {
        return (TokenStream::new(), stmts);
    }
    let mut block = syn::Block {
        brace_token: syn::token::Brace::default(),
        stmts,
    };
    let carried = syn::Ident::new("ContextCarriedProvides", Span::mixed_site());
    let mut awaits = Awaits {
        evidence: &evidence,
        carried_evidence: &carried,
        place: Place {
            escaping: false,
            spawned: false,
            carried: false,
            lazy_escapes: plain_fn,
        },
        contexts: Contexts::of_parameters(sig),
        rewritten: 0,
        carried_used: false,
    };
    syn::visit_mut::VisitMut::visit_block_mut(&mut awaits, &mut block);
    // A function without an `.await` (most helpers) needs no evidence: declaring it
    // anyway would cost every such function a type and its impls to check.
    if awaits.rewritten == 0 {
        return (TokenStream::new(), block.stmts);
    }
    let stacked = provided_by_other_attributes(attrs);
    let mut vars: Vec<&Path> = Vec::new();
    for var in provided.iter().copied().chain(&stacked) {
        if !vars.iter().any(|seen| last_ident(seen) == last_ident(var)) {
            vars.push(var);
        }
    }
    let private = private(Span::call_site());
    // Only the variable is spanned at the user's tokens (so that an error about it is
    // reported there); the trait's path is not, or rust-analyzer would take the
    // variable in the attribute for a use of the trait too.
    let trait_path = quote!(#private::Provides);
    let impls = vars
        .iter()
        .map(|var| quote_spanned!(var.span()=> impl #trait_path<dyn #var> for #evidence {}));
    // The bound names a lifetime of the impl, so that rustc checks it where the
    // evidence is used, not at the impl (where it fails for `inherit = false`).
    let carried_items = awaits.carried_used.then(|| {
        let runtime = runtime(Span::call_site());
        let impls = vars.iter().map(|var| {
            quote_spanned! {var.span()=>
                impl<'k> #trait_path<dyn #var + 'k> for #carried
                where
                    dyn #var + 'k: #runtime::Inherited,
                {
                }
            }
        });
        quote! {
            #[allow(non_camel_case_types, dead_code)]
            struct #carried;
            #(#impls)*
        }
    });
    let items = quote! {
        #[allow(non_camel_case_types, dead_code)]
        struct #evidence;
        #(#impls)*
        #carried_items
        #[allow(unused_imports)]
        use #private::PassThrough as _;
    };
    (items, block.stmts)
}

/// The variables the other `#[with_context]` and `#[uses_context]` attributes on the
/// function provide. The outermost attribute expands first and rewrites every
/// `.await`, so its evidence must cover theirs (the inner ones leave an `.await` it
/// rewrote alone).
fn provided_by_other_attributes(attrs: &[Attribute]) -> Vec<Path> {
    let mut vars = Vec::new();
    for attr in attrs {
        let name = last_ident(attr.path()).to_string();
        let Ok(list) = attr.meta.require_list() else {
            continue;
        };
        let args = list.tokens.clone();
        match name.as_str() {
            "with_context" => {
                if let Ok(assignments) = parse_assignments(args) {
                    vars.extend(assignments.into_iter().map(|a| a.var));
                }
            }
            "uses_context" => {
                if let Ok(list) = parse_variables(args) {
                    vars.extend(list.into_iter().filter(|var| !is_strict_flag(var)));
                }
            }
            _ => {}
        }
    }
    vars
}

struct Awaits<'a> {
    evidence: &'a syn::Ident,
    /// The evidence in work that runs in a captured context.
    carried_evidence: &'a syn::Ident,
    /// Where the walk is.
    place: Place,
    /// The contexts held in locals, as far as the walk has seen them.
    contexts: Contexts,
    /// How many `.await`s were given evidence.
    rewritten: usize,
    /// Whether an `.await` was given [`Awaits::carried_evidence`].
    carried_used: bool,
}

/// Where an `.await` is, relative to the function's context.
#[derive(Clone, Copy)]
#[allow(clippy::struct_excessive_bools)] // four independent facts
struct Place {
    /// Inside work that runs without the function's context: an `async` block or a
    /// closure written in the arguments of a call that starts it without carrying
    /// the context (see [`crate::work`]).
    escaping: bool,
    /// In the arguments of such a call, outside any `async` block or closure: what
    /// runs here still runs in the function, the work written here does not.
    spawned: bool,
    /// Inside work that runs in a context captured in the function.
    carried: bool,
    /// Whether an `async` block met next escapes: in a plain `fn`, outside work that
    /// is carried or run here.
    lazy_escapes: bool,
}

impl Awaits<'_> {
    /// `(expr).__ctxvar_provide::<Evidence>()`, spanned at `span` (the `.await`); in
    /// work that starts without the function's context,
    /// `(expr).__ctxvar_not_carried::<SpawnedWithoutContext>()`, which does not
    /// compile on a strict helper's future.
    fn provided(&mut self, expr: &Expr, span: Span) -> Expr {
        let call = self.call(span);
        syn::parse_quote_spanned!(span=> (#expr).#call)
    }

    /// The method call of [`provided`](Self::provided), after its `.`.
    fn call(&mut self, span: Span) -> TokenStream {
        self.rewritten += 1;
        if self.place.escaping {
            let method = syn::Ident::new("__ctxvar_not_carried", span);
            let private = private(Span::call_site());
            quote_spanned!(span=> #method::<#private::SpawnedWithoutContext>())
        } else {
            let method = syn::Ident::new("__ctxvar_provide", span);
            let evidence = if self.place.carried {
                self.carried_used = true;
                self.carried_evidence
            } else {
                self.evidence
            };
            quote_spanned!(span=> #method::<#evidence>())
        }
    }

    /// `tokens` (a macro's body that is not a list of expressions) with the method
    /// call of [`provided`](Self::provided) put before every `.await`:
    /// `x.f().await` becomes `x.f().__ctxvar_provide::<E>().await`, which is what the
    /// rewrite of the expression gives, since a method call and `.await` bind alike.
    fn provided_in_tokens(&mut self, tokens: TokenStream) -> TokenStream {
        tokens::map(tokens, &mut |tokens, i| match &tokens[i] {
            TokenTree::Ident(ident)
                if ident == "await"
                    && matches!(i.checked_sub(1).map(|at| &tokens[at]),
                        Some(TokenTree::Punct(dot)) if dot.as_char() == '.') =>
            {
                let mut call = self.call(ident.span());
                call.extend([
                    TokenTree::Punct(Punct::new('.', Spacing::Alone)),
                    tokens[i].clone(),
                ]);
                Some(call)
            }
            _ => None,
        })
    }

    /// Visits `exprs` with `spawned` set as given.
    fn visit_all<'e>(&mut self, exprs: impl IntoIterator<Item = &'e mut Expr>, spawned: bool) {
        for expr in exprs {
            self.place.spawned = spawned;
            syn::visit_mut::VisitMut::visit_expr_mut(self, expr);
        }
    }
}

/// Whether `expr` is already `(..).__ctxvar_provide::<..>()` (or `__ctxvar_not_carried`):
/// rewritten by an outer attribute on the same function.
fn is_provided(expr: &Expr) -> bool {
    matches!(expr, Expr::MethodCall(call)
        if call.method == "__ctxvar_provide" || call.method == "__ctxvar_not_carried")
}

/// The macros (by the last segment of their path) in whose arguments an `.await` is
/// given the evidence: those that use their arguments as code, never as text. In any
/// other, a strict helper must be awaited before the call (`let t = helper().await;`).
const MACROS_WHOSE_ARGUMENTS_ARE_CODE: &[&str] = &[
    // std
    "format",
    "format_args",
    "print",
    "println",
    "eprint",
    "eprintln",
    "write",
    "writeln",
    "panic",
    "todo",
    "unimplemented",
    "unreachable",
    "vec",
    "assert_eq",
    "assert_ne",
    "debug_assert_eq",
    "debug_assert_ne",
    "pin",
    // tokio, futures
    "join",
    "try_join",
    "select",
    "select_biased",
    // tracing, log
    "event",
    "trace",
    "debug",
    "info",
    "warn",
    "error",
    "trace_span",
    "debug_span",
    "info_span",
    "warn_span",
    "error_span",
    "span",
];

/// Whether `tokens` contain the keyword `fn`, at any depth.
fn mentions_fn(tokens: TokenStream) -> bool {
    tokens::any(
        tokens,
        &mut |tokens, i| matches!(&tokens[i], TokenTree::Ident(ident) if ident == "fn"),
    )
}

impl syn::visit_mut::VisitMut for Awaits<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        self.contexts.assigned(expr);
        let outer = self.place;
        match site(expr, &self.contexts) {
            Some(Site::Carried(point)) => {
                // Its work runs in the context current here (inside escaping work,
                // none), with the variables that are inherited. Called by an imported
                // name that no read had checked, it may be another crate's `spawn`:
                // its work escapes.
                let escapes = !point.is_known();
                self.place.carried = true;
                self.place.lazy_escapes = false;
                if point.captured_earlier {
                    self.place.escaping = false;
                }
                self.visit_all([point.work], escapes);
            }
            Some(Site::Elsewhere(Elsewhere { here, work, .. })) => {
                self.visit_all(here, false);
                self.visit_all(work, true);
            }
            Some(Site::Here { rebinds }) => {
                // `VAR.scope(value, future)`, `bindings.scope(future)`: the future runs
                // in a context of its own, also inside escaping work. (`VAR.scope`
                // binds only `VAR`: a helper that needs another of the function's
                // variables still checks it on entry.) `block_on(future)` runs it here.
                self.place.lazy_escapes = false;
                self.place.spawned = false;
                if rebinds {
                    self.place.escaping = false;
                }
                syn::visit_mut::visit_expr_mut(self, expr);
            }
            None => match expr {
                Expr::Async(_) | Expr::Closure(_) => {
                    // In a plain `fn`, an `async` block runs when it is polled, after
                    // the function (and its bindings) returned.
                    let lazy = self.place.lazy_escapes && matches!(expr, Expr::Async(_));
                    self.place.escaping |= self.place.spawned || lazy;
                    self.place.spawned = false;
                    syn::visit_mut::visit_expr_mut(self, expr);
                }
                _ => syn::visit_mut::visit_expr_mut(self, expr),
            },
        }
        self.place = outer;
        if let Expr::Await(awaited) = expr {
            if !is_provided(&awaited.base) {
                let span = awaited.await_token.span();
                *awaited.base = self.provided(&awaited.base, span);
            }
        }
    }

    fn visit_local_mut(&mut self, local: &mut syn::Local) {
        syn::visit_mut::visit_local_mut(self, local);
        self.contexts.record(local, !self.place.escaping);
    }

    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        // Only the macros of `MACROS_WHOSE_ARGUMENTS_ARE_CODE`: another one may keep its
        // tokens as text (`assert!`, `dbg!`, `stringify!`, a snapshot test's macro),
        // which must not change for an `.await` that is not a strict helper's.
        let name = last_ident(&mac.path).to_string();
        if !MACROS_WHOSE_ARGUMENTS_ARE_CODE.contains(&name.as_str()) {
            return;
        }
        // Arguments that are expressions (`format!`, `join!`): their `.await`s, with
        // the spawned work in them recognised. `join!` and `try_join!` (tokio's,
        // futures') await their arguments themselves: those get the evidence as well.
        let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
        let Ok(mut args) = syn::parse::Parser::parse2(parser, mac.tokens.clone()) else {
            // Other arguments (`info!(table = %table().await)`, `select!`'s
            // branches): every `.await` in their tokens, unless they declare a
            // function, which is not part of this one.
            if !mentions_fn(mac.tokens.clone()) {
                mac.tokens = self.provided_in_tokens(mac.tokens.clone());
            }
            return;
        };
        let joins = name == "join" || name == "try_join";
        for arg in &mut args {
            self.visit_expr_mut(arg);
            if joins && !is_provided(arg) {
                *arg = self.provided(arg, arg.span());
            }
        }
        mac.tokens = quote!(#args);
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {
        // A nested item is not part of this function's body.
    }
}
