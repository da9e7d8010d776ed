//! The annotated function: parsing it, and [`Function::rewrite`], the one pipeline of
//! passes that both function attributes run over its body, in this order:
//!
//! 1. reads by the path written in the attribute become reads by the name
//!    (`with_reads_by_path`, here);
//! 2. the habits users bring are reported (`misuse.rs`);
//! 3. work that runs elsewhere, by the table in `work.rs`: carried work gets evidence
//!    of its own, a read in work that runs without the context is reported
//!    (`carried.rs`);
//! 4. the fallible reads are called through the variable's key (`fallible.rs`);
//! 5. every `.await` is given the evidence for strict helpers (`provide.rs`).
//!
//! The evidence statements themselves are `evidence.rs`'s, and what rust-analyzer is
//! told is `ide.rs`'s.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::visit::Visit;
use syn::{Attribute, Expr, ItemFn, Path, ReturnType, Signature, Stmt, Visibility};

use crate::args::last_ident;
use crate::carried::with_spawned_evidence;
use crate::fallible::with_fallible_reads;
use crate::misuse::report_misuse;
use crate::provide::provide_to_awaits;
use crate::work::path_is;

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
                "use context variables: `#[uses_context]` checks them when the function runs"
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
/// its items and its evidence (`let VAR = Provided::checked(..)`), which
/// `#[with_context]` below it keeps before the values it evaluates, so that they may
/// read the variables callers provide: `#[uses_context(DEPTH)]` above
/// `#[with_context(DEPTH = DEPTH.get() + 1)]`. No evidence, no such statements: 0.
pub(crate) fn outer_evidence_end(stmts: &[Stmt]) -> usize {
    let is_evidence = |stmt: &Stmt| match stmt {
        Stmt::Local(local) => {
            let tokens = local.to_token_stream().to_string();
            tokens.contains("_is_bound_only_inside_this_function")
                || (tokens.contains("Provided") && tokens.contains("checked"))
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
