//! The annotated function: parsing it, and the pieces both function attributes insert.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Attribute, Expr, ItemFn, Path, ReturnType, Signature, Stmt, Visibility};

use crate::args::last_ident;
use crate::private::private;

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
//                  let () = <dyn A as Inherited>::CHECK;  // not `inherit = false`
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
fn with_spawned_evidence(block: &mut syn::Block, vars: &[&Path]) {
    syn::visit_mut::VisitMut::visit_block_mut(&mut Rewrite { vars }, block);
}

/// The rewrites both attributes make in the function's body `stmts`, for the
/// variables of `vars` whose name the function does not bind with a pattern of its
/// own (see [`with_spawned_evidence`]): first evidence for work that carries the
/// context ([`with_spawned_evidence`]), then the fallible reads
/// ([`with_fallible_reads`]), which that first step does not count as reads.
pub(crate) fn rewrite_body(stmts: &[Stmt], vars: &[&Path], function: &ItemFn) -> Vec<Stmt> {
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
    if !vars.is_empty() {
        with_spawned_evidence(&mut block, &vars);
        with_fallible_reads(&mut block, &vars);
    }
    block.stmts
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
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let mut out = Vec::with_capacity(tokens.len());
        for (i, token) in tokens.iter().enumerate() {
            let replaced = match token {
                TokenTree::Ident(ident)
                    if is_fallible_read(&tokens, i) && !follows_dot_or_path(&tokens, i) =>
                {
                    self.var_named(ident)
                        .map(|(var, ident)| TokenTree::Group(fallible_receiver(var, ident.span())))
                }
                TokenTree::Group(group) => {
                    let mut inner =
                        Group::new(group.delimiter(), self.rewrite_tokens(group.stream()));
                    inner.set_span(group.span());
                    Some(TokenTree::Group(inner))
                }
                _ => None,
            };
            out.push(replaced.unwrap_or_else(|| token.clone()));
        }
        out.into_iter().collect()
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
    let mut receiver = Group::new(
        Delimiter::Parenthesis,
        quote!(#private::Fallible::<#key>::new()),
    );
    receiver.set_span(span);
    receiver
}

/// Whether the token at `i` is followed by `.try_get`, `.try_with` or `.is_bound`.
fn is_fallible_read(tokens: &[TokenTree], i: usize) -> bool {
    matches!(
        (tokens.get(i + 1), tokens.get(i + 2)),
        (Some(TokenTree::Punct(dot)), Some(TokenTree::Ident(method)))
            if dot.as_char() == '.' && FALLIBLE_READS.iter().any(|read| method == read)
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
}

impl syn::visit_mut::VisitMut for Rewrite<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        // Inner calls first: their evidence at the call then names this call's work's
        // evidence, not the function's.
        syn::visit_mut::visit_expr_mut(self, expr);
        let Some((mentioned, work_kind)) = self.give_evidence_to_work(expr) else {
            return;
        };
        // The evidence in scope at the call, copied (a zero-sized `Copy` value) so
        // that a closure or async block around the call captures it. The call itself
        // is left as it was written, around work that is still an `async` block or a
        // closure, for the other attribute if the function has both.
        let at_call = syn::Ident::new("__ctxvar_evidence_at_call", Span::mixed_site());
        let locals = mentioned.iter().map(|var| last_ident(var));
        let call = std::mem::replace(expr, Expr::Verbatim(TokenStream::new()));
        *expr = if work_kind == WorkKind::Future {
            // `.in_current_context()` is recognised by its name: the typed `let`
            // makes sure it is `ctxvar`'s, which returns a `ContextScope`, and not a
            // method of that name that carries nothing.
            let carried = syn::Ident::new("__ctxvar_carried", Span::mixed_site());
            syn::parse_quote!({
                let #at_call = (#(#locals,)*);
                let #carried: ::ctxvar::ContextScope<_> = #call;
                #carried
            })
        } else {
            syn::parse_quote!({
                let #at_call = (#(#locals,)*);
                #call
            })
        };
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {
        // A nested item is not part of this function's body.
    }
}

impl Rewrite<'_> {
    /// If `expr` is a capture point whose work mentions some of the variables, puts
    /// evidence for them at the top of the work, and returns them with the kind of
    /// work.
    fn give_evidence_to_work(&self, expr: &mut Expr) -> Option<(Vec<&Path>, WorkKind)> {
        let point = capture_point(expr)?;
        let mentioned: Vec<&Path> = self
            .vars
            .iter()
            .copied()
            .filter(|var| mentions(point.work, last_ident(var)))
            .collect();
        if mentioned.is_empty() || !matches!(point.work, Expr::Async(_) | Expr::Closure(_)) {
            return None;
        }
        let (first, last) = point.helper;
        let private = private(Span::call_site());
        let mut prelude = TokenStream::new();
        for var in &mentioned {
            let local = last_ident(var);
            let anchor = syn::Ident::new(
                &format!(
                    "{}_is_bound_only_inside_this_{}",
                    local.unraw(),
                    point.work_kind.noun()
                ),
                last,
            );
            // Spanned from the helper's first token to its last, so that an escape of
            // the work's evidence is reported under `ctxvar::spawn`.
            let amp = quote_spanned!(first=> &);
            let reference = quote_spanned!(last=> #amp #anchor);
            // Fails to compile for a variable declared `inherit = false`; spanned at
            // the variable in the attribute.
            let key = key_type(var);
            let check = quote_spanned!(local.span()=> <#key as ::ctxvar::Inherited>::CHECK);
            let scoped = crate::private::private(var.span());
            prelude.extend(quote! {
                #[allow(non_snake_case)]
                let #anchor = #private::Anchor::new();
            });
            prelude.extend(quote_spanned! {var.span()=>
                #[allow(clippy::let_unit_value)]
                let () = #check;
                #[allow(non_snake_case, unused_variables)]
                let #local = #scoped::Provided::<#key>::assume_bound(#reference);
            });
        }
        match point.work {
            Expr::Async(block) => {
                let stmts = &block.block.stmts;
                block.block.stmts = syn::parse_quote!(#prelude #(#stmts)*);
            }
            Expr::Closure(closure) => {
                let inner = &closure.body;
                closure.body = syn::parse_quote!({ #prelude #inner });
            }
            _ => {}
        }
        if let Some(Import {
            callee,
            ctxvar_helper,
        }) = point.import
        {
            let span = callee.span();
            let private = crate::private::private(span);
            let written = std::mem::replace(callee, Expr::Verbatim(TokenStream::new()));
            *callee = syn::parse_quote_spanned!(span=>
                #private::IsCtxvarHelper::check(#written, #ctxvar_helper)
            );
        }
        Some((mentioned, point.work_kind))
    }
}

/// A call that captures the current context for work that runs later, elsewhere.
pub(crate) struct CapturePoint<'a> {
    /// The first and last tokens of the helper's path (`ctxvar`, `spawn`), or the
    /// method's name twice (`in_current_context`).
    helper: (Span, Span),
    /// What the work becomes, for the name of its anchor.
    work_kind: WorkKind,
    /// The work: an `async` block or a closure, to give evidence of its own.
    pub(crate) work: &'a mut Expr,
    /// A helper called by the name it was imported under, to check.
    import: Option<Import<'a>>,
}

impl CapturePoint<'_> {
    /// Whether the call is known to be `ctxvar`'s: by its path, or by the name it was
    /// imported under and checked already (an unchecked name may be another crate's).
    pub(crate) fn is_known(&self) -> bool {
        self.import.is_none()
    }
}

/// A spawn helper called by the name it was imported under: `spawn` in `spawn(work)`.
/// The call is a capture point only if that name is `ctxvar`'s helper, which the
/// expansion checks by passing both to `IsCtxvarHelper::check` (a compile error
/// otherwise: another crate's `spawn` does not carry the context).
struct Import<'a> {
    /// The callee as written, replaced by the checked call.
    callee: &'a mut Expr,
    /// `::ctxvar::spawn` (or `spawn_local`, ..., `thread::spawn`).
    ctxvar_helper: TokenStream,
}

/// What the work given to a capture point becomes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WorkKind {
    /// A task: `ctxvar::spawn`, `spawn_local`, `spawn_blocking`.
    Task,
    /// A thread: `ctxvar::thread::spawn`.
    Thread,
    /// A future that runs in the context captured at the call, wherever it is
    /// polled: `.in_current_context()`.
    Future,
}

impl WorkKind {
    /// The word in the name of the work's anchor, `VAR_is_bound_only_inside_this_..`.
    fn noun(self) -> &'static str {
        match self {
            WorkKind::Task => "task",
            WorkKind::Thread => "thread",
            WorkKind::Future => "future",
        }
    }
}

/// The one place that decides what a capture point is:
///
/// - `ctxvar::spawn(work)`, `ctxvar::spawn_local(work)`, `ctxvar::spawn_blocking(work)`,
///   `ctxvar::thread::spawn(work)` (any path that starts with `ctxvar` and ends so);
/// - `async { .. }.in_current_context()` and `async move { .. }.in_current_context()`:
///   an `async` block written as the receiver of the method (recognised by its name;
///   the expansion checks that it returns `ctxvar`'s `ContextScope`), and
///   `ctxvar::ContextFutureExt::in_current_context(work)` (also through `ctxvar::prelude`).
///
/// - `spawn(work)`, `spawn_local(work)`, `spawn_blocking(work)`, `thread::spawn(work)`:
///   a helper called by the name it was imported under, checked to be `ctxvar`'s (see
///   [`Import`]).
///
/// Other forms (a future built first and passed to a helper later, a method
/// `set.spawn(work)`) are not recognised: their work keeps the function's evidence.
pub(crate) fn capture_point(expr: &mut Expr) -> Option<CapturePoint<'_>> {
    match expr {
        Expr::Call(call) => helper_call(call),
        Expr::MethodCall(call) => {
            let receiver_is_async = matches!(&*call.receiver, Expr::Async(_));
            if call.method != "in_current_context"
                || !call.args.is_empty()
                || call.turbofish.is_some()
                || !receiver_is_async
            {
                return None;
            }
            let span = call.method.span();
            Some(CapturePoint {
                helper: (span, span),
                work_kind: WorkKind::Future,
                work: &mut call.receiver,
                import: None,
            })
        }
        _ => None,
    }
}

/// A call of a capture point by its path: a `ctxvar::` spawn helper,
/// `ctxvar::ContextFutureExt::in_current_context(work)`, or a helper called by the name it
/// was imported under (`spawn(work)`, `thread::spawn(work)`), which is `ctxvar`'s only
/// if the check [`CapturePoint::import`] asks for passes.
fn helper_call(call: &mut syn::ExprCall) -> Option<CapturePoint<'_>> {
    if call.args.len() != 1 {
        return None;
    }
    // A call an attribute already checked (the other attribute, on the same function,
    // rewrote it first): `IsCtxvarHelper::check(spawn, ::ctxvar::spawn)(work)`.
    if let Expr::Call(checked) = &*call.func {
        let kind = checked_import(checked)?;
        let span = checked.args[0].span();
        return Some(CapturePoint {
            helper: (span, span),
            work_kind: kind,
            work: &mut call.args[0],
            import: None,
        });
    }
    let Expr::Path(callee) = &*call.func else {
        return None;
    };
    if callee.qself.is_some() {
        return None;
    }
    let path = &callee.path;
    // Spanned at the name as written: if it is another crate's `spawn`, the error is
    // reported there.
    let span = callee.span();
    let first_name = &path.segments[0].ident;
    let (work_kind, ctxvar_helper) = with_segment_names(path, |names| match names {
        ["ctxvar", "spawn" | "spawn_local" | "spawn_blocking"] => Some((WorkKind::Task, None)),
        ["ctxvar", "thread", "spawn"] => Some((WorkKind::Thread, None)),
        ["ctxvar", "ContextFutureExt", "in_current_context"]
        | [
            "ctxvar",
            "prelude",
            "ContextFutureExt",
            "in_current_context",
        ] => Some((WorkKind::Future, None)),
        ["spawn" | "spawn_local" | "spawn_blocking"] if path.leading_colon.is_none() => Some((
            WorkKind::Task,
            Some(quote_spanned!(span=> ::ctxvar::#first_name)),
        )),
        ["thread", "spawn"] if path.leading_colon.is_none() => Some((
            WorkKind::Thread,
            Some(quote_spanned!(span=> ::ctxvar::thread::spawn)),
        )),
        _ => None,
    })?;
    let segments = &path.segments;
    let first = path
        .leading_colon
        .map_or_else(|| segments[0].ident.span(), |colon| colon.spans[0]);
    let last = segments[segments.len() - 1].ident.span();
    let (func, args) = (&mut call.func, &mut call.args);
    Some(CapturePoint {
        helper: (first, last),
        work_kind,
        work: &mut args[0],
        import: ctxvar_helper.map(|ctxvar_helper| Import {
            callee: func,
            ctxvar_helper,
        }),
    })
}

/// If `call` is `::ctxvar::__private::IsCtxvarHelper::check(name, ::ctxvar::..)`, the
/// kind of work the `ctxvar` helper it checks against starts.
fn checked_import(call: &syn::ExprCall) -> Option<WorkKind> {
    let is_check = path_is(&call.func, |names| {
        names == ["ctxvar", "__private", "IsCtxvarHelper", "check"]
    });
    if !is_check || call.args.len() != 2 {
        return None;
    }
    let Expr::Path(helper) = &call.args[1] else {
        return None;
    };
    with_segment_names(&helper.path, |names| match names {
        ["ctxvar", "thread", "spawn"] => Some(WorkKind::Thread),
        ["ctxvar", _] => Some(WorkKind::Task),
        _ => None,
    })
}

/// The names the function binds with patterns of its own: parameters, `let`s,
/// closure parameters, `match`, `if let`, `while let` and `for` patterns.
fn names_bound_by_patterns(function: &ItemFn) -> Vec<syn::Ident> {
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

/// Whether `callee` is a plain path whose segment names (`Box::pin` → `["Box", "pin"]`)
/// satisfy `test`.
fn path_is(callee: &Expr, test: impl FnOnce(&[&str]) -> bool) -> bool {
    match callee {
        Expr::Path(path) => with_segment_names(&path.path, test),
        _ => false,
    }
}

/// `f` of the segment names of `path` (`Box::pin` → `["Box", "pin"]`), to match on.
fn with_segment_names<R>(path: &Path, f: impl FnOnce(&[&str]) -> R) -> R {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    f(&names)
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
    quote_spanned!(var.span()=> <dyn #var as ::ctxvar::ContextKey>::__Key)
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
