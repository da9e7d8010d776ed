//! The annotated function: parsing it, and the pieces both function attributes insert.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Attribute, Expr, ItemFn, Path, ReturnType, Signature, Stmt, Token, Visibility};

use crate::args::last_ident;
use crate::misuse::report_misuse;
use crate::private::{private, runtime};
use crate::provide::provide_to_awaits;
use crate::work::{
    CapturePoint, Contexts, Elsewhere, Import, Site, Why, WorkKind, carrying_macros, path_is, site,
};

/// A function an attribute was put on, split into the parts the expansions rebuild.
pub(crate) struct Function {
    pub(crate) outer_attrs: Vec<Attribute>,
    pub(crate) inner_attrs: Vec<Attribute>,
    /// The function, without `const` (see `not_const`).
    pub(crate) item: ItemFn,
    /// The error for a `const fn`: the attributes do their work at run time. The
    /// function is still expanded, without `const`, so that its body compiles and this
    /// is the one error.
    not_const: Option<syn::Error>,
}

/// What the attributes make of their item.
pub(crate) enum Parsed {
    /// A function with a body they can rewrite.
    Function(Box<Function>),
    /// An item that rustc itself rejects, with an error of its own that says it all:
    /// a function whose signature or body has a syntax error, or an expression or
    /// statement (attributes on those are unstable). The attribute emits it unchanged
    /// and adds no error.
    LeftToRustc,
}

impl Function {
    /// Parses the item; anything but a function with a body is an error at the item.
    ///
    /// Parsed leniently, as `#[tracing::instrument]` and `#[tokio::main]` do: the
    /// signature first, then the body, which is only a brace-delimited group at that
    /// stage, so that a syntax error in the body is rustc's to report.
    pub(crate) fn parse(item: &TokenStream, attribute: &str) -> syn::Result<Parsed> {
        let signature = |input: ParseStream<'_>| {
            let attrs = input.call(Attribute::parse_outer)?;
            let vis: Visibility = input.parse()?;
            let sig: Signature = input.parse()?;
            let body: Group = input.parse()?;
            if body.delimiter() != Delimiter::Brace {
                return Err(input.error("expected a body"));
            }
            Ok((attrs, vis, sig, body))
        };
        let Ok((outer_attrs, vis, mut sig, body)) = signature.parse2(item.clone()) else {
            let is_expression = syn::parse2::<Expr>(item.clone()).is_ok();
            if is_expression
                || looks_like_a_function_with_a_body(item)
                || matches!(
                    syn::parse2::<Stmt>(item.clone()),
                    Ok(Stmt::Local(_) | Stmt::Expr(..))
                )
            {
                return Ok(Parsed::LeftToRustc);
            }
            return Err(syn::Error::new(
                first_token_span(item),
                format!("`#[{attribute}]` can only be applied to a function with a body"),
            ));
        };
        let statements = |input: ParseStream<'_>| {
            let attrs = input.call(Attribute::parse_inner)?;
            let stmts = input.call(syn::Block::parse_within)?;
            Ok((attrs, stmts))
        };
        let Ok((inner_attrs, stmts)) = statements.parse2(body.stream()) else {
            return Ok(Parsed::LeftToRustc);
        };
        let not_const = sig.constness.take().map(|constness| {
            let what = if attribute == "with_context" {
                "bind context variables: `#[with_context]` binds them when the function runs"
            } else {
                "require context variables: `#[uses_context]` checks them when the function runs"
            };
            syn::Error::new(
                constness.span,
                format!("a `const fn` cannot {what}; remove `const`"),
            )
        });
        let item = ItemFn {
            attrs: outer_attrs.clone(),
            vis,
            sig,
            block: Box::new(syn::Block {
                brace_token: syn::token::Brace(body.delim_span()),
                stmts,
            }),
        };
        Ok(Parsed::Function(Box::new(Function {
            outer_attrs,
            inner_attrs,
            item,
            not_const,
        })))
    }

    /// The function's `#[track_caller]` attribute, if it has one.
    pub(crate) fn track_caller(&self) -> Option<&Attribute> {
        self.outer_attrs
            .iter()
            .find(|attr| attr.path().is_ident("track_caller"))
    }

    /// The first attribute on the function that may be an attribute macro, which
    /// expands after this one and sees what it emits: any but rustc's inert built-in
    /// attributes and tool attributes (`clippy::..`, `rustfmt::..`).
    pub(crate) fn attribute_macro_below(&self) -> Option<&Attribute> {
        const INERT: &[&str] = &[
            "doc",
            "allow",
            "warn",
            "deny",
            "forbid",
            "expect",
            "cfg",
            "cfg_attr",
            "inline",
            "cold",
            "must_use",
            "track_caller",
            "deprecated",
            "no_mangle",
            "export_name",
            "link_section",
            "target_feature",
            "instruction_set",
            "optimize",
            "coverage",
        ];
        const TOOLS: &[&str] = &["clippy", "rustfmt", "diagnostic", "rust_analyzer"];
        self.outer_attrs.iter().find(|attr| {
            let path = attr.path();
            let first = path.segments.first().map(|s| s.ident.to_string());
            let inert = match first.as_deref() {
                Some(name) if path.segments.len() == 1 => INERT.contains(&name),
                Some(tool) => TOOLS.contains(&tool),
                None => true,
            };
            !inert
        })
    }

    /// What the function's body is, for the purpose of wrapping it.
    pub(crate) fn body(&self) -> Body<'_> {
        if self.item.sig.asyncness.is_some() {
            return Body::Async(&self.item.block.stmts);
        }
        match boxed_async_block(&self.item.block.stmts) {
            Some((box_pin, block)) if self.is_async_trait_output() => {
                let (prologue, rest) = block.split_at(parameter_moves_end(block));
                Body::BoxedAsync {
                    box_pin,
                    prologue,
                    rest,
                    self_is_renamed: true,
                }
            }
            Some((box_pin, block)) => Body::BoxedAsync {
                box_pin,
                prologue: &[],
                rest: block,
                self_is_renamed: false,
            },
            None => Body::Sync(&self.item.block.stmts),
        }
    }

    /// Whether this is an `async fn` that `#[async_trait]` has rewritten: it always
    /// adds a lifetime parameter `'async_trait` to the methods it boxes (async-trait
    /// 0.1), a name nothing else gives a lifetime.
    fn is_async_trait_output(&self) -> bool {
        self.item
            .sig
            .generics
            .lifetimes()
            .any(|param| param.lifetime.ident == "async_trait")
    }

    pub(crate) fn name(&self) -> String {
        self.item.sig.ident.to_string()
    }

    /// Re-emits the function with a new body (the braces are added here).
    pub(crate) fn with_body(&self, body: &TokenStream) -> TokenStream {
        self.with_signature_and_body(&self.item.sig, body)
    }

    /// Re-emits the function with a new signature and body.
    pub(crate) fn with_signature_and_body(
        &self,
        sig: &Signature,
        body: &TokenStream,
    ) -> TokenStream {
        let Function {
            outer_attrs,
            inner_attrs,
            item,
            not_const,
        } = self;
        let not_const = not_const.as_ref().map(syn::Error::to_compile_error);
        let vis = &item.vis;
        let brace = item.block.brace_token;
        let mut block = TokenStream::new();
        brace.surround(&mut block, |tokens| {
            for attr in inner_attrs {
                attr.to_tokens(tokens);
            }
            body.to_tokens(tokens);
        });
        quote!(#not_const #(#outer_attrs)* #vis #sig #block)
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

/// Where the statements that an outer `#[uses_context]` put first in the body end:
/// its items and its evidence (`let VAR = Provided::require(..)`), which
/// `#[with_context]` below it keeps before the values it evaluates, so that they may
/// read the variables callers provide: `#[uses_context(DEPTH)]` above
/// `#[with_context(DEPTH = DEPTH.get() + 1)]`. No evidence, no such statements: 0.
pub(crate) fn outer_evidence_end(stmts: &[Stmt]) -> usize {
    let is_evidence = |stmt: &Stmt| match stmt {
        Stmt::Local(local) => {
            let tokens = local.to_token_stream().to_string();
            tokens.contains("_is_bound_only_inside_this_function")
                || (tokens.contains("Provided") && tokens.contains("require"))
        }
        _ => false,
    };
    let end = stmts
        .iter()
        .position(|stmt| !(is_evidence(stmt) || matches!(stmt, Stmt::Item(_) | Stmt::Macro(_))))
        .unwrap_or(stmts.len());
    if stmts[..end].iter().any(is_evidence) {
        // Up to the last evidence statement: what follows it is the user's.
        stmts[..end]
            .iter()
            .rposition(is_evidence)
            .map_or(0, |last| last + 1)
    } else {
        0
    }
}

impl Function {
    /// The passes both attributes run over the body `stmts` (all of it, or what follows
    /// `#[async_trait]`'s prologue), for the variables `vars` the attribute provides:
    /// the read check and its rewrites ([`rewrite_body`]), then the evidence for
    /// strict helpers at every `.await` ([`provide_to_awaits`]). Returns what goes
    /// first in the body (errors, and items that declare the evidence) and the new
    /// statements.
    pub(crate) fn rewrite(&self, stmts: &[Stmt], vars: &[&Path]) -> (TokenStream, Vec<Stmt>) {
        let plain_fn = matches!(self.body(), Body::Sync(_));
        let (stmts, mut first) = rewrite_body(stmts, vars, &self.item);
        let (items, stmts) =
            provide_to_awaits(stmts, vars, &self.outer_attrs, &self.item.sig, plain_fn);
        first.extend(items);
        (first, stmts)
    }
}

/// The shapes of body the attributes know how to wrap.
pub(crate) enum Body<'a> {
    /// An `async fn`: the statements run on the future's first poll.
    Async(&'a [Stmt]),
    /// A plain `fn` whose whole body is `Box::pin(async move { .. })`: what
    /// `#[async_trait]` (which expands before attributes on its methods) makes of an
    /// `async fn`, or the same written by hand. The function returns the future, so the
    /// attributes work inside it, as for an `async fn`.
    BoxedAsync {
        /// The callee, `Box::pin` as the user's crate spells it.
        box_pin: &'a Expr,
        /// After `#[async_trait]`, the block's leading statements that move the
        /// parameters into the future (`let __self = self; let id = id;`), after its
        /// return-type check; empty for a block written by hand.
        prologue: &'a [Stmt],
        /// The rest: the real body.
        rest: &'a [Stmt],
        /// Whether `self` is called `__self` in the block, as `#[async_trait]` renames
        /// it; a block written by hand keeps `self`.
        self_is_renamed: bool,
    },
    /// Any other plain `fn`.
    Sync(&'a [Stmt]),
}

fn boxed_async_block(stmts: &[Stmt]) -> Option<(&Expr, &[Stmt])> {
    let [Stmt::Expr(Expr::Call(call), None)] = stmts else {
        return None;
    };
    if !path_is(&call.func, |names| names.ends_with(&["Box", "pin"])) || call.args.len() != 1 {
        return None;
    }
    match &call.args[0] {
        Expr::Async(block) if block.capture.is_some() => Some((&call.func, &block.block.stmts)),
        _ => None,
    }
}

/// Where `#[async_trait]`'s prologue ends in its boxed block: an optional
/// `if let Some(__ret) = None::<R> { .. }`, then one `let` per parameter moving it into
/// the future: `let x = x;`, `let __self = self;`, `let (a, b) = { let __arg1 = __arg1;
/// __arg1 };`. Values that read parameters must be evaluated after these, or the
/// moved copies would look unused. The body follows, as `let __ret: R = { body };` or
/// `let _: () = { body };`, which is not a parameter move even when the body's own
/// shape is `{ let x = ..; x }`.
fn parameter_moves_end(stmts: &[Stmt]) -> usize {
    let return_type_check = match stmts.first() {
        Some(Stmt::Expr(Expr::If(check), _)) => match &*check.cond {
            Expr::Let(binding) => binding.pat.to_token_stream().to_string().contains("__ret"),
            _ => false,
        },
        _ => false,
    };
    let mut end = usize::from(return_type_check);
    while let Some(Stmt::Local(local)) = stmts.get(end) {
        if !is_parameter_move(local) {
            break;
        }
        end += 1;
    }
    end
}

/// `let x = x;`, `let mut x = x;`, `let __self = self;`, or
/// `let PATTERN = { let __argN = __argN; __argN };`, as `#[async_trait]` writes them.
fn is_parameter_move(local: &syn::Local) -> bool {
    let Some(init) = local.init.as_ref().filter(|init| init.diverge.is_none()) else {
        return false;
    };
    match (&local.pat, &*init.expr) {
        (syn::Pat::Ident(pat), Expr::Path(path)) => path
            .path
            .get_ident()
            .is_some_and(|moved| *moved == pat.ident || (pat.ident == "__self" && moved == "self")),
        (_, Expr::Block(block)) => match block.block.stmts.as_slice() {
            [Stmt::Local(inner), Stmt::Expr(Expr::Path(tail), None)] => {
                let positional = match &inner.pat {
                    syn::Pat::Ident(pat) => &pat.ident,
                    _ => return false,
                };
                positional.to_string().starts_with("__arg")
                    && is_parameter_move(inner)
                    && tail.path.is_ident(positional)
            }
            _ => false,
        },
        _ => false,
    }
}

/// `#[async_trait]` renames `self` to `__self` in the body it boxes; binding values
/// evaluated there must say `__self` too (with the user's span, so it resolves to
/// async-trait's local).
pub(crate) fn rename_self(expr: &Expr) -> Expr {
    struct Rename;
    impl syn::visit_mut::VisitMut for Rename {
        fn visit_expr_path_mut(&mut self, path: &mut syn::ExprPath) {
            if path.qself.is_none() && path.path.is_ident("self") {
                let span = path.path.segments[0].ident.span();
                path.path.segments[0].ident = syn::Ident::new("__self", span);
            }
        }
        fn visit_item_mut(&mut self, _: &mut syn::Item) {
            // A nested item has its own `self`.
        }
    }
    let mut expr = expr.clone();
    syn::visit_mut::VisitMut::visit_expr_mut(&mut Rename, &mut expr);
    expr
}

/// Whether `item` has the keyword `fn` and ends with a `{ .. }` body: a function whose
/// signature rustc will report as malformed.
fn looks_like_a_function_with_a_body(item: &TokenStream) -> bool {
    let tokens: Vec<proc_macro2::TokenTree> = item.clone().into_iter().collect();
    let has_fn = tokens
        .iter()
        .any(|token| matches!(token, proc_macro2::TokenTree::Ident(ident) if ident == "fn"));
    let ends_with_body = matches!(
        tokens.last(),
        Some(proc_macro2::TokenTree::Group(group)) if group.delimiter() == Delimiter::Brace
    );
    has_fn && ends_with_body
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

/// Gives the work passed to every capture point in `stmts` (`ctxvar::spawn(async move
/// { .. })`, and `spawn_local`, `spawn_blocking`, `thread::spawn` with a closure, and
/// `async move { .. }.in_current_context()`) its own evidence for the variables of
/// `vars` it mentions, and makes the call itself borrow the evidence in scope where it
/// is written.
///
/// The work runs in the context captured by the call, so the variables are
/// bound there (if they are inherited, which is checked at compile time). Its own
/// evidence shadows the function's, so the work no longer borrows the function and
/// may be `'static`. The call, though, captures the bindings only if it runs inside
/// the function's extent: a call written inside work that escapes it (a
/// `tokio::spawn`ed block, a closure run on a plain thread, a returned closure or
/// future) would capture whatever context that work runs in. So the call also copies
/// the evidence in scope at the call into a local: work that contains the call
/// captures that evidence, and if the work must be `'static`, rustc reports that the
/// function's anchor "does not live long enough", as for a read.
///
/// Variables whose name the function also binds with a pattern of its own (`let
/// ITEM_ID = ..`, a parameter, a closure parameter, a `match` arm) are left alone: in
/// the work, that name may mean the user's local, not the evidence. A read of such a
/// variable in spawned work then borrows the function's evidence, which does not
/// compile if the work is `'static`: an error, never a wrong value.
///
/// A helper called by the name it was imported under (`spawn(..)`) is checked to be
/// `ctxvar`'s (see [`Import`]).
//
// Input:   ctxvar::spawn(async move { A.get() })
// Output:  {
//              let __ctxvar_evidence_at_call = (A,);      // borrows the scope's evidence
//              ctxvar::spawn(async move {
//                  let A_is_bound_only_inside_this_task = Anchor::new();
//                  <fn() -> Variable<dyn A> as A>::check_carried(); // not `inherit = false`
//                  let A = Provided::<dyn A>::assume_bound(&A_is_bound_only_inside_this_task);
//                  A.get()
//              })
//          }
//
// Input:   async move { A.get() }.in_current_context()
// Output:  {
//              let __ctxvar_evidence_at_call = (A,);
//              let __ctxvar_carried: ContextScope<_> = async move {
//                  let A_is_bound_only_inside_this_future = Anchor::new();
//                  (the same check and evidence)
//                  A.get()
//              }.in_current_context();
//              __ctxvar_carried
//          }
fn with_spawned_evidence(block: &mut syn::Block, vars: &[&Path], function: &ItemFn) -> TokenStream {
    let mut rewrite = Rewrite::new(vars, function);
    syn::visit_mut::VisitMut::visit_block_mut(&mut rewrite, block);
    rewrite.errors
}

/// The rewrites both attributes make in the function's body `stmts`, for the
/// variables of `vars` whose name the function does not bind with a pattern of its
/// own (see [`with_spawned_evidence`]): first evidence for work that carries the
/// context ([`with_spawned_evidence`]), then the fallible reads
/// ([`with_fallible_reads`]), which that first step does not count as reads.
///
/// Returns the new statements, and the errors for reads in work that runs without the
/// function's context (see [`crate::work`]), to emit next to the function.
fn rewrite_body(stmts: &[Stmt], vars: &[&Path], function: &ItemFn) -> (Vec<Stmt>, TokenStream) {
    let shadowed = names_bound_by_patterns(function);
    let vars: Vec<&Path> = vars
        .iter()
        .copied()
        .filter(|var| !shadowed.contains(&last_ident(var).unraw()))
        .collect();
    let mut block = syn::Block {
        brace_token: syn::token::Brace::default(),
        stmts: stmts.to_vec(),
    };
    let mut errors = TokenStream::new();
    if !vars.is_empty() {
        let sig = &function.sig;
        let returns_lazily = sig.asyncness.is_none()
            && matches!(&sig.output, ReturnType::Type(_, ty) if mentions_impl_trait(ty));
        with_reads_by_path(&mut block, &vars);
        errors = report_misuse(&mut block.stmts, &vars, returns_lazily);
        errors.extend(with_spawned_evidence(&mut block, &vars, function));
        with_fallible_reads(&mut block, &vars);
    }
    (block.stmts, errors)
}

/// Makes every method call on a variable named by the path written in the attribute
/// (`vars::ITEM_ID.get()` under `#[with_context(vars::ITEM_ID = ..)]`) a call on the
/// name the attribute gives the function's evidence (`ITEM_ID`), so that a read by
/// that path is checked like a read by the name. (By any other path, `ITEM_ID` is the
/// variable itself, whose `get` compiles only with a default.)
fn with_reads_by_path(block: &mut syn::Block, vars: &[&Path]) {
    struct ByPath<'a> {
        vars: &'a [&'a Path],
    }
    impl syn::visit_mut::VisitMut for ByPath<'_> {
        fn visit_expr_method_call_mut(&mut self, call: &mut syn::ExprMethodCall) {
            if let Expr::Path(receiver) = &*call.receiver {
                let written = receiver.path.to_token_stream().to_string();
                let var = self.vars.iter().find(|var| {
                    var.segments.len() > 1 && var.to_token_stream().to_string() == written
                });
                if let (Some(var), None) = (var, &receiver.qself) {
                    let local = last_ident(var).clone();
                    *call.receiver = syn::parse_quote!(#local);
                }
            }
            syn::visit_mut::visit_expr_method_call_mut(self, call);
        }
        fn visit_item_mut(&mut self, _: &mut syn::Item) {
            // A nested item is not part of this function's body.
        }
    }
    syn::visit_mut::VisitMut::visit_block_mut(&mut ByPath { vars }, block);
}

/// Makes every `VAR.try_get()`, `VAR.try_with(..)` and `VAR.is_bound()` in `block`
/// (including in macro invocations, `format!("{:?}", VAR.try_get())`, at the token
/// level) call through the variable's key instead of the evidence local `VAR`.
///
/// These reads compile anywhere, bound or not, and return what the work that makes
/// them sees; through the evidence they would borrow the function's anchor, and work
/// that makes them could not be `'static`. Written this way they compile in any work
/// (a `tokio::spawn`ed block sees `Err`/`false`), while `get` and `with` still go
/// through the evidence and stay escape-checked.
///
/// Only a receiver that is the variable's bare name is rewritten (not `self.VAR` or
/// `path::VAR`, which do not name the evidence), with the user's span, so that an
/// error in the call is reported at the user's tokens.
//
// Input:   A.try_get()
// Output:  (::ctxvar::__private::Fallible::<<dyn A as ContextKey>::__Key>::new()).try_get()
fn with_fallible_reads(block: &mut syn::Block, vars: &[&Path]) {
    syn::visit_mut::VisitMut::visit_block_mut(&mut FallibleReads { vars }, block);
}

/// The methods that [`with_fallible_reads`] calls through the variable's key.
const FALLIBLE_READS: &[&str] = &["try_get", "try_with", "is_bound"];

struct FallibleReads<'a> {
    vars: &'a [&'a Path],
}

impl syn::visit_mut::VisitMut for FallibleReads<'_> {
    fn visit_expr_method_call_mut(&mut self, call: &mut syn::ExprMethodCall) {
        if FALLIBLE_READS.iter().any(|read| call.method == read) {
            let named = match &*call.receiver {
                Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => path
                    .path
                    .get_ident()
                    .and_then(|ident| self.var_named(ident)),
                _ => None,
            };
            if let Some((var, ident)) = named {
                let receiver = fallible_receiver(var, ident.span());
                *call.receiver = Expr::Verbatim(receiver.into_token_stream());
            }
        }
        syn::visit_mut::visit_expr_method_call_mut(self, call);
    }

    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        mac.tokens = self.rewrite_tokens(std::mem::take(&mut mac.tokens));
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {
        // A nested item is not part of this function's body.
    }
}

impl FallibleReads<'_> {
    /// The variable whose evidence is named `ident`, and `ident`.
    fn var_named<'i>(&self, ident: &'i syn::Ident) -> Option<(&Path, &'i syn::Ident)> {
        let name = ident.unraw();
        self.vars
            .iter()
            .find(|var| last_ident(var).unraw() == name)
            .map(|var| (*var, ident))
    }

    /// The rewrite at the token level, for a macro's input: `VAR . try_get` where
    /// `VAR` is not preceded by `.` or `::`.
    fn rewrite_tokens(&self, tokens: TokenStream) -> TokenStream {
        replace_receivers(tokens, FALLIBLE_READS, &mut |ident| {
            self.var_named(ident)
                .map(|(var, ident)| fallible_receiver(var, ident.span()))
        })
    }
}

/// `(::ctxvar::__private::Fallible::<KEY>::new())`, its parentheses spanned at the
/// user's `VAR` (`span`), so that an error about the call is reported there.
///
/// The tokens inside are not: rust-analyzer takes every token of the expansion spanned
/// at `VAR` for the read itself, and hover and go-to-definition there would list the
/// crate `ctxvar`, its hidden module and `Fallible`, not the variable (see
/// [`ide_references`]). The key is spanned at the variable in the attribute, the path
/// at the attribute.
fn fallible_receiver(var: &Path, span: Span) -> Group {
    let private = private(Span::call_site());
    let key = key_type(var);
    receiver_at(quote!(#private::Fallible::<#key>::new()), span)
}

/// `(receiver)`, its parentheses spanned at `span`.
fn receiver_at(receiver: TokenStream, span: Span) -> Group {
    let mut group = Group::new(Delimiter::Parenthesis, receiver);
    group.set_span(span);
    group
}

/// Whether the token at `i` is followed by `.try_get`, `.try_with` or `.is_bound`.
fn is_fallible_read(tokens: &[TokenTree], i: usize) -> bool {
    is_followed_by_a_call_of(tokens, i, FALLIBLE_READS)
}

/// Whether the token at `i` is followed by `.` and one of `methods`.
fn is_followed_by_a_call_of(tokens: &[TokenTree], i: usize, methods: &[&str]) -> bool {
    matches!(
        (tokens.get(i + 1), tokens.get(i + 2)),
        (Some(TokenTree::Punct(dot)), Some(TokenTree::Ident(method)))
            if dot.as_char() == '.' && methods.iter().any(|name| method == name)
    )
}

/// Whether the token at `i` follows `.` or `::` (a field, or a segment of a path), not
/// a single `:` (`field: VAR.try_get()` in a macro's struct-like input).
fn follows_dot_or_path(tokens: &[TokenTree], i: usize) -> bool {
    let punct = |back: usize| match i.checked_sub(back).and_then(|at| tokens.get(at)) {
        Some(TokenTree::Punct(punct)) => Some(punct),
        _ => None,
    };
    match punct(1) {
        Some(dot) if dot.as_char() == '.' => true,
        Some(colon) if colon.as_char() == ':' => punct(2).is_some_and(|first| {
            first.as_char() == ':' && first.spacing() == proc_macro2::Spacing::Joint
        }),
        _ => false,
    }
}

struct Rewrite<'a> {
    vars: &'a [&'a Path],
    /// The contexts held in locals, as far as the walk has seen them.
    contexts: Contexts,
    /// In the arguments of a call whose work runs elsewhere, outside the work itself:
    /// the `async` blocks (and, for some calls, closures) met next are that work.
    pending: Option<Outside>,
    /// Inside work that runs without the function's context.
    outside: Option<Outside>,
    /// The errors found: a read or capture in work that runs elsewhere.
    errors: TokenStream,
    /// How many regions of work that runs elsewhere were entered, to number them.
    regions: usize,
    /// The variables already reported in a region, so that each gets one error there.
    reported: Vec<(usize, syn::Ident)>,
    /// The function's own macros that pass work to a capture point.
    carrying_macros: Vec<syn::Ident>,
}

/// Work that runs without the function's context, as the messages describe it.
#[derive(Clone)]
struct Outside {
    why: Why,
    call: String,
    closures_anywhere: bool,
    /// ctxvar's helper that would carry the context, if the call has one.
    carrying_helper: Option<&'static str>,
    /// Whether the work is a closure (a thread's), not a future.
    closure: bool,
    /// The region's number.
    region: usize,
}

impl syn::visit_mut::VisitMut for Rewrite<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        self.contexts.assigned(expr);
        if self.outside.is_some() {
            self.report_read(expr);
        }
        let pending_work = match expr {
            Expr::Async(_) => true,
            Expr::Closure(_) => self.pending.as_ref().is_some_and(|p| p.closures_anywhere),
            _ => false,
        };
        if pending_work {
            if let Some(pending) = self.pending.take() {
                let outer = self.outside.replace(pending.clone());
                syn::visit_mut::visit_expr_mut(self, expr);
                self.outside = outer;
                self.pending = Some(pending);
                return;
            }
        }
        let contexts = self.contexts.clone();
        let mut at_call = None;
        match site(expr, &contexts) {
            Some(Site::Carried(point)) => at_call = self.carried(point),
            Some(Site::Elsewhere(elsewhere)) => {
                let closures_anywhere = elsewhere.closures_anywhere();
                let Elsewhere {
                    why,
                    call,
                    here,
                    mut work,
                    carrying_helper,
                } = elsewhere;
                for part in here {
                    self.visit_expr_mut(part);
                }
                self.regions += 1;
                let region = Outside {
                    why,
                    call,
                    closures_anywhere,
                    carrying_helper,
                    closure: false,
                    region: self.regions,
                };
                let outer = self.pending.replace(region);
                for part in &mut work {
                    // A closure written as the work itself runs elsewhere, whatever
                    // the call.
                    if matches!(part, Expr::Closure(_)) {
                        let region = self.pending.clone().map(|region| Outside {
                            closure: true,
                            ..region
                        });
                        let outside = std::mem::replace(&mut self.outside, region);
                        let pending = self.pending.take();
                        syn::visit_mut::visit_expr_mut(self, part);
                        self.pending = pending;
                        self.outside = outside;
                    } else {
                        self.visit_expr_mut(part);
                    }
                }
                self.pending = outer;
            }
            Some(Site::Here { .. }) | None => syn::visit_mut::visit_expr_mut(self, expr),
        }
        if let Some(at_call) = at_call {
            at_call.wrap(expr);
        }
    }

    fn visit_local_mut(&mut self, local: &mut syn::Local) {
        syn::visit_mut::visit_local_mut(self, local);
        self.contexts.record(local, self.outside.is_none());
    }

    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        if let Some(name) = mac
            .path
            .get_ident()
            .filter(|name| self.carrying_macros.contains(name))
        {
            // A macro of the function's own that passes its argument to a capture point:
            // its `async` blocks and closures are carried work.
            let call = format!("{name}!");
            let span = name.span();
            let parser = Punctuated::<Expr, Token![,]>::parse_terminated;
            if let Ok(mut args) = syn::parse::Parser::parse2(parser, mac.tokens.clone()) {
                for arg in &mut args {
                    if matches!(arg, Expr::Async(_) | Expr::Closure(_)) {
                        let point = CapturePoint {
                            helper: (span, span),
                            work_kind: WorkKind::Task,
                            work: arg,
                            import: None,
                            captured_earlier: false,
                            call: call.clone(),
                            check: None,
                        };
                        // The call cannot be wrapped in a macro's argument list: no
                        // evidence at the call (see `AtCall`).
                        let _ = self.carried(point);
                    } else {
                        syn::visit_mut::VisitMut::visit_expr_mut(self, arg);
                    }
                }
                mac.tokens = args.into_token_stream();
                return;
            }
        }
        // Reads in a macro's arguments, at the token level (`info!("{}", ID.get())`
        // in a spawned block).
        if self.outside.is_some() {
            mac.tokens = self.report_reads_in_tokens(std::mem::take(&mut mac.tokens));
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {
        // A nested item is not part of this function's body.
    }
}
/// What a capture point's call is wrapped in: the evidence in scope at the call,
/// copied (a zero-sized `Copy` value) so that a closure or async block around the
/// call captures it, and the checks that the call is `ctxvar`'s.
struct AtCall {
    locals: Vec<syn::Ident>,
    work_kind: WorkKind,
    check: Option<TokenStream>,
}

impl AtCall {
    /// The call itself is left as it was written, around work that is still an
    /// `async` block or a closure, for the other attribute if the function has both.
    fn wrap(self, expr: &mut Expr) {
        let at_call = syn::Ident::new("__ctxvar_evidence_at_call", Span::mixed_site());
        let AtCall {
            locals,
            work_kind,
            check,
        } = self;
        let call = std::mem::replace(expr, Expr::Verbatim(TokenStream::new()));
        *expr = if matches!(work_kind, WorkKind::Future | WorkKind::Stream) {
            // `.in_current_context()` is recognised by its name, and
            // `Context::current()` by its path: the typed `let` makes sure the call
            // is `ctxvar`'s, which returns a `ContextScope` (or `ContextStream`),
            // and not a method of that name that carries nothing.
            let carried = syn::Ident::new("__ctxvar_carried", Span::mixed_site());
            let runtime = runtime(Span::call_site());
            let ty = if work_kind == WorkKind::Future {
                quote!(#runtime::ContextScope<_>)
            } else {
                quote!(#runtime::ContextStream<_>)
            };
            syn::parse_quote!({
                #check
                let #at_call = (#(#locals,)*);
                let #carried: #ty = #call;
                #carried
            })
        } else {
            syn::parse_quote!({
                #check
                let #at_call = (#(#locals,)*);
                #call
            })
        };
    }
}

impl<'a> Rewrite<'a> {
    fn new(vars: &'a [&'a Path], function: &ItemFn) -> Self {
        Rewrite {
            vars,
            contexts: Contexts::of_parameters(&function.sig),
            pending: None,
            outside: None,
            errors: TokenStream::new(),
            regions: 0,
            reported: Vec::new(),
            carrying_macros: carrying_macros(&function.block),
        }
    }

    /// The variable of `vars` that `ident` names, if any.
    fn var_named(&self, ident: &syn::Ident) -> Option<&'a Path> {
        let name = ident.unraw();
        self.vars
            .iter()
            .copied()
            .find(|var| last_ident(var).unraw() == name)
    }

    /// Reports `expr` if it is an infallible read (`VAR.get()`, `VAR.with(..)`) in
    /// work that runs elsewhere, and reads through evidence of its own instead, so
    /// that the report is the one error.
    fn report_read(&mut self, expr: &mut Expr) {
        let Expr::MethodCall(call) = expr else {
            return;
        };
        if call.method != "get" && call.method != "with" {
            return;
        }
        let Expr::Path(receiver) = &*call.receiver else {
            return;
        };
        if receiver.qself.is_some() || !receiver.attrs.is_empty() {
            return;
        }
        let Some(ident) = receiver.path.get_ident().cloned() else {
            return;
        };
        let Some(var) = self.var_named(&ident) else {
            return;
        };
        let detached = detached_receiver(var, ident.span());
        self.report(&ident);
        *call.receiver = Expr::Verbatim(detached.into_token_stream());
    }

    /// [`Rewrite::report_read`] at the token level, for a macro's arguments.
    fn report_reads_in_tokens(&mut self, tokens: TokenStream) -> TokenStream {
        replace_receivers(tokens, &["get", "with"], &mut |ident| {
            let var = self.var_named(ident)?;
            self.report(ident);
            Some(detached_receiver(var, ident.span()))
        })
    }

    /// One error per variable and region: the read at `read`.
    fn report(&mut self, read: &syn::Ident) {
        let Some(outside) = &self.outside else {
            return;
        };
        let name = read.unraw();
        if self
            .reported
            .iter()
            .any(|(region, seen)| *region == outside.region && *seen == name)
        {
            return;
        }
        self.reported.push((outside.region, name.clone()));
        let message = read_elsewhere_message(&name.to_string(), outside);
        self.errors
            .extend(syn::Error::new(read.span(), message).into_compile_error());
    }

    /// Gives the work of a capture point evidence for the variables it mentions, and
    /// returns what its call must be wrapped in (see [`AtCall`]), if anything.
    fn carried(&mut self, point: CapturePoint<'_>) -> Option<AtCall> {
        let CapturePoint {
            helper: (first, last),
            work_kind,
            work,
            import,
            captured_earlier,
            call,
            check,
        } = point;
        // Work given by value (`ctxvar::spawn(future)`) was made elsewhere; only an
        // `async` block or closure written here gets evidence of its own, and a
        // stream's adaptors.
        let written_here =
            matches!(work, Expr::Async(_) | Expr::Closure(_)) || work_kind == WorkKind::Stream;
        if !written_here {
            syn::visit_mut::VisitMut::visit_expr_mut(self, work);
            return None;
        }
        let mentioned: Vec<&'a Path> = self
            .vars
            .iter()
            .copied()
            .filter(|var| mentions(work, last_ident(var)))
            .collect();
        // Inside work that runs elsewhere, a capture captures that work's context.
        let inside_elsewhere = self.outside.clone().filter(|_| !captured_earlier);
        if let (Some(outside), Some(var)) = (&inside_elsewhere, mentioned.first()) {
            let name = last_ident(var).unraw().to_string();
            let message = capture_elsewhere_message(&name, &call, outside);
            let first_token = syn::Ident::new("helper", first);
            let last_token = [syn::Ident::new("helper", last)];
            // Spanned from the helper's first token to its last.
            let helper = quote_spanned!(first=> #first_token);
            let helper = quote!(#helper #(#last_token)*);
            self.errors
                .extend(syn::Error::new_spanned(helper, message).into_compile_error());
        }
        // The work itself runs in the captured context.
        let (outside, pending) = (self.outside.take(), self.pending.take());
        syn::visit_mut::VisitMut::visit_expr_mut(self, work);
        (self.outside, self.pending) = (outside, pending);
        if mentioned.is_empty() {
            return None;
        }
        let mut prelude = TokenStream::new();
        let private = private(Span::call_site());
        for var in &mentioned {
            let local = last_ident(var);
            let anchor = syn::Ident::new(
                &format!(
                    "{}_is_bound_only_inside_this_{}",
                    local.unraw(),
                    work_kind.noun()
                ),
                last,
            );
            // Spanned from the helper's first token to its last, so that an escape of
            // the work's evidence is reported under `ctxvar::spawn`.
            let amp = quote_spanned!(first=> &);
            let reference = quote_spanned!(last=> #amp #anchor);
            // Fails to compile for a variable declared `inherit = false`, with a message
            // that names it; spanned at the variable in the attribute. Called through
            // the variable's trait (named by the same path whether or not it is
            // imported), on a type that implements it like the variable does.
            let key = key_type(var);
            let runtime = runtime(local.span());
            let check = quote_spanned! {local.span()=>
                <fn() -> #runtime::Variable<dyn #var> as #var>::check_carried();
            };
            let scoped = crate::private::private(var.span());
            prelude.extend(quote! {
                #[allow(non_snake_case)]
                let #anchor = #private::Anchor::new();
            });
            prelude.extend(quote_spanned! {var.span()=>
                #check
                #[allow(non_snake_case, unused_variables)]
                let #local = #scoped::Provided::<#key>::assume_bound(#reference);
            });
        }
        give_prelude(work, &prelude, &mentioned);
        if let Some(Import {
            callee,
            ctxvar_helper,
        }) = import
        {
            let span = callee.span();
            let private = crate::private::private(span);
            let written = std::mem::replace(callee, Expr::Verbatim(TokenStream::new()));
            *callee = syn::parse_quote_spanned!(span=>
                #private::IsCtxvarHelper::check(#written, #ctxvar_helper)
            );
        }
        if captured_earlier || inside_elsewhere.is_some() {
            return None;
        }
        Some(AtCall {
            locals: mentioned
                .iter()
                .map(|var| last_ident(var).clone())
                .collect(),
            work_kind,
            check,
        })
    }
}

/// Puts `prelude` first in `work` if it is an `async` block or a closure; otherwise
/// (a stream built from adaptors) first in each outermost `async` block or closure in
/// it that mentions one of `vars`.
fn give_prelude(work: &mut Expr, prelude: &TokenStream, vars: &[&Path]) {
    struct Outermost<'p> {
        prelude: &'p TokenStream,
        vars: &'p [&'p Path],
    }
    impl syn::visit_mut::VisitMut for Outermost<'_> {
        fn visit_expr_mut(&mut self, expr: &mut Expr) {
            let is_work = matches!(expr, Expr::Async(_) | Expr::Closure(_));
            if is_work && self.vars.iter().any(|var| mentions(expr, last_ident(var))) {
                give_prelude(expr, self.prelude, self.vars);
            } else {
                syn::visit_mut::visit_expr_mut(self, expr);
            }
        }
        fn visit_item_mut(&mut self, _: &mut syn::Item) {
            // A nested item is not part of the work.
        }
    }
    match work {
        Expr::Async(block) => {
            let stmts = &block.block.stmts;
            block.block.stmts = syn::parse_quote!(#prelude #(#stmts)*);
        }
        Expr::Closure(closure) => {
            let inner = &closure.body;
            closure.body = syn::parse_quote!({ #prelude #inner });
        }
        _ => syn::visit_mut::VisitMut::visit_expr_mut(&mut Outermost { prelude, vars }, work),
    }
}

/// `(::ctxvar::__private::Provided::<KEY>::assume_bound(&Anchor::new()))`: evidence
/// that borrows nothing beyond its statement, for a read already reported, so that
/// the report is its one error. Spanned like [`fallible_receiver`].
pub(crate) fn detached_receiver(var: &Path, span: Span) -> Group {
    let private = private(Span::call_site());
    let key = key_type(var);
    receiver_at(
        quote!(#private::Provided::<#key>::assume_bound(&#private::Anchor::new())),
        span,
    )
}

/// `tokens` (a macro's arguments), with the receiver `NAME` of every call
/// `NAME.method(..)` of `methods` (where `NAME` follows neither `.` nor `::`) replaced
/// by what `replace` gives for it, if anything; at any depth.
fn replace_receivers(
    tokens: TokenStream,
    methods: &[&str],
    replace: &mut dyn FnMut(&syn::Ident) -> Option<Group>,
) -> TokenStream {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(tokens.len());
    for (i, token) in tokens.iter().enumerate() {
        let replaced = match token {
            TokenTree::Ident(ident)
                if is_followed_by_a_call_of(&tokens, i, methods)
                    && !follows_dot_or_path(&tokens, i) =>
            {
                replace(ident).map(TokenTree::Group)
            }
            TokenTree::Group(group) => {
                let stream = replace_receivers(group.stream(), methods, replace);
                let mut inner = Group::new(group.delimiter(), stream);
                inner.set_span(group.span());
                Some(TokenTree::Group(inner))
            }
            _ => None,
        };
        out.push(replaced.unwrap_or_else(|| token.clone()));
    }
    out.into_iter().collect()
}

/// The error for a read of `name` in work that runs without the function's context.
fn read_elsewhere_message(name: &str, outside: &Outside) -> String {
    let call = &outside.call;
    match outside.why {
        Why::Spawned => {
            let fix = match (outside.carrying_helper, outside.closure) {
                (Some(helper), false) => format!(
                    "spawn it with `{helper}(..)`, which carries this function's context, \
                     or spawn `async move {{ .. }}.in_current_context()`"
                ),
                (Some(helper), true) => {
                    format!("spawn it with `{helper}(..)`, which carries this function's context")
                }
                (None, false) => "carry this function's context into the future: \
                                  `async move { .. }.in_current_context()`"
                    .to_owned(),
                (None, true) => "capture this function's context first, `let ctx = \
                                 ctxvar::Context::current();`, and read inside \
                                 `ctx.run(|| ..)` in the work"
                    .to_owned(),
            };
            format!("`{name}` is read in work that `{call}` starts with nothing bound: {fix}")
        }
        Why::Body => format!(
            "`{name}` is read in a stream that `{call}` polls after this function returns, \
             outside its context, so it is not bound there: carry the context into every \
             poll with `ctxvar::Context::current().scope_stream(stream)`"
        ),
        Why::AnotherContext => format!(
            "`{name}` is read in work that `{call}` runs in another context, where this \
             function's binding is not known to be visible: read it with \
             `{name}.try_get()`, run the work in `ctxvar::Context::current()`, or bind \
             the variable inside the work"
        ),
    }
}

/// The error for a capture point written inside work that runs elsewhere.
fn capture_elsewhere_message(name: &str, call: &str, outside: &Outside) -> String {
    let outer = &outside.call;
    format!(
        "`{call}` captures the context of the work it is written in, which `{outer}` runs \
         without this function's context, so `{name}` is not bound there: call `{call}` \
         in the function itself, outside that work"
    )
}

/// The names the function binds with patterns of its own: parameters, `let`s,
/// closure parameters, `match`, `if let`, `while let` and `for` patterns.
pub(crate) fn names_bound_by_patterns(function: &ItemFn) -> Vec<syn::Ident> {
    struct Collect(Vec<syn::Ident>);
    impl Visit<'_> for Collect {
        fn visit_pat_ident(&mut self, pat: &syn::PatIdent) {
            self.0.push(pat.ident.unraw());
            syn::visit::visit_pat_ident(self, pat);
        }
        fn visit_item(&mut self, _: &syn::Item) {
            // A nested item's bindings are its own.
        }
    }
    let mut collect = Collect(Vec::new());
    for input in &function.sig.inputs {
        collect.visit_fn_arg(input);
    }
    collect.visit_block(&function.block);
    collect.0
}

/// Whether `ident` appears anywhere in `expr`'s tokens, other than as the receiver of
/// a fallible read (`ident.try_get()`), which [`with_fallible_reads`] rewrites so that
/// it needs no evidence.
fn mentions(expr: &Expr, ident: &syn::Ident) -> bool {
    fn walk(tokens: TokenStream, ident: &syn::Ident) -> bool {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        tokens.iter().enumerate().any(|(i, token)| match token {
            TokenTree::Ident(found) => found == ident && !is_fallible_read(&tokens, i),
            TokenTree::Group(group) => walk(group.stream(), ident),
            _ => false,
        })
    }
    walk(expr.to_token_stream(), ident)
}

/// How evidence for one variable is made.
pub(crate) enum Evidence<'a> {
    /// The variable was just bound by this function.
    Bound,
    /// Callers must have bound it; checked now, reported as `function`'s requirement.
    Required { function: &'a str },
}

/// The evidence statements for some variables: per variable `VAR`, an anchor local
/// named `VAR_is_bound_only_inside_this_function`, then
/// `let VAR = Provided::<dyn path::VAR>::..(&anchor);`, named by the user's own token
/// (the last segment of the path) so that the body's `VAR.get()` resolves to it.
///
/// They belong in the function's own body, not inside the `async` block or closure
/// that `#[with_context]` wraps the body in (which captures `VAR`, a zero-sized
/// value). When work that reads `VAR` is moved into a `'static` task or thread, rustc
/// then reports that "`VAR_is_bound_only_inside_this_function` does not live long
/// enough", which is the whole explanation; an anchor inside the wrapped block would
/// be part of a temporary, and rustc would speak of a "temporary value".
pub(crate) fn evidence(vars: &[&Path], evidence: &Evidence<'_>) -> TokenStream {
    let mut statements = TokenStream::new();
    for var in vars {
        let private = private(var.span());
        let local = last_ident(var);
        // Derived names use the name without `r#`.
        let name = local.unraw();
        let anchor = syn::Ident::new(
            &format!("{name}_is_bound_only_inside_this_function"),
            local.span(),
        );
        // The borrow is spanned at the variable in the attribute: that is where an
        // escape error puts its caret. It is not kept in a local of its own, which an
        // `async fn` would store across its `.await`.
        let reference = quote_spanned!(local.span()=> &#anchor);
        statements.extend(quote! {
            #[allow(non_snake_case)]
            let #anchor = #private::Anchor::new();
        });
        // Spanned at the argument, so a `#[track_caller]` panic of `require` reports
        // the attribute's line, and a path that is not a variable is reported there.
        let key = key_type(var);
        let make = match evidence {
            Evidence::Bound => quote_spanned! {var.span()=>
                #private::Provided::<#key>::assume_bound(#reference)
            },
            Evidence::Required { function } => quote_spanned! {var.span()=>
                #private::Provided::<#key>::require(#reference, #function)
            },
        };
        statements.extend(quote_spanned! {var.span()=>
            #[allow(non_snake_case, unused_variables)]
            let #local = #make;
        });
    }
    statements
}

/// The key type of the variable at `var`, `dyn VAR`, named through a projection
/// (`ContextKey::__Key`) and spanned at the variable: if `VAR` is a trait that is not
/// a variable, the projection is the one place that fails, and rustc reports it once.
pub(crate) fn key_type(var: &Path) -> TokenStream {
    let runtime = runtime(var.span());
    quote_spanned!(var.span()=> <dyn #var as #runtime::ContextKey>::__Key)
}

/// For rust-analyzer only (`#[cfg(rust_analyzer)]`, which it sets and rustc does
/// not): an item that names, for every read of a variable of `vars` in the body, the
/// variable's declaration by the path written in the attribute with its last segment
/// replaced by the read's own token: its trait, `PhantomData<dyn m::ITEM_ID>`, and its
/// function, `m::ITEM_ID` (an item does not see the function's locals).
///
/// A read resolves, by hygiene, to the evidence local, which rust-analyzer knows only
/// from the attribute. A token that the expansion also uses here is, for
/// rust-analyzer, a reference to the declaration as well: renaming the declaration (or
/// a read) renames the read, in `format!` and other macros too; references, hover and
/// go-to-definition at the read reach the declaration. rustc never sees the two
/// statements, so they add no error at the user's tokens; the `allow` is for rustc
/// releases that do not know the `rust_analyzer` cfg, and must be on an item around
/// the statement, not on the statement itself.
///
/// Every token named like the variable counts (inside macro calls too), except after
/// `.` or `::` and except for variables the function binds with a pattern of its own
/// (see [`rewrite_body`]).
//
// Input:   #[uses_context(m::A)] fn f() { A.get(); format!("{}", A.get()); }
// Output:  #[allow(unexpected_cfgs)]
//          const _: () = {
//              #[cfg(rust_analyzer)]
//              let _: (PhantomData<dyn m::A>, PhantomData<dyn m::A>);   // each `A`: a read
//              #[cfg(rust_analyzer)]
//              let _ = (m::A, m::A, m::A);        // the attribute's `A`, then the reads
//          };
pub(crate) fn ide_references(function: &ItemFn, vars: &[&Path]) -> TokenStream {
    fn walk(tokens: TokenStream, name: &syn::Ident, found: &mut Vec<syn::Ident>) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Ident(ident)
                    if ident.unraw() == *name && !follows_dot_or_path(&tokens, i) =>
                {
                    found.push(ident.clone());
                }
                TokenTree::Group(group) => walk(group.stream(), name, found),
                _ => {}
            }
        }
    }
    let shadowed = names_bound_by_patterns(function);
    let body = function.block.to_token_stream();
    let mut paths = Vec::new();
    let mut values = Vec::new();
    for var in vars {
        // The variable in the attribute, as a value too: for rust-analyzer it names
        // the variable's trait and the evidence local, and now its function as well,
        // so that a rename from the attribute, or from a read outside annotated
        // functions (which names only the function), renames all three.
        values.push((*var).clone());
        let name = last_ident(var).unraw();
        if shadowed.contains(&name) {
            continue;
        }
        let mut reads = Vec::new();
        walk(body.clone(), &name, &mut reads);
        for read in reads {
            let mut path = (*var).clone();
            if let Some(last) = path.segments.last_mut() {
                last.ident = read;
            }
            values.push(path.clone());
            paths.push(path);
        }
    }
    quote! {
        #[allow(unexpected_cfgs)]
        const _: () = {
            #[cfg(rust_analyzer)]
            let _: (#(::core::marker::PhantomData<dyn #paths>,)*);
            #[cfg(rust_analyzer)]
            let _ = (#(#values,)*);
        };
    }
}
