//! The habits users bring from other languages and APIs, recognised in an annotated
//! function's body before it is rewritten, each reported as one error of ours that
//! names the variable and the fix:
//!
//! - treating the variable as its value: `let id: u64 = ITEM_ID;`, `*ITEM_ID`,
//!   `ITEM_ID + 1`;
//! - assigning it: `ITEM_ID = 5`, `ITEM_ID.set(5)`;
//! - returning, from a plain `fn`, a closure or `async` block that reads it (a lazy
//!   iterator, a future), which runs after the function and its binding ended.
//!
//! The offending expression is replaced by one that type-checks as anything
//! (`unreachable!()`) or reads through evidence that borrows nothing, so that the
//! report is the only error.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Expr, Path, Stmt};

use crate::args::last_ident;
use crate::carried::detached_receiver;

/// Reports the misuses of `vars` in `stmts` and replaces them; `returns_lazily` says
/// that the function is a plain `fn` whose return type mentions `impl Trait` (a lazy
/// iterator, a future), whose tail may then outlive the binding.
pub(crate) fn report_misuse(
    stmts: &mut [Stmt],
    vars: &[&Path],
    returns_lazily: bool,
) -> TokenStream {
    let mut misuse = Misuse {
        vars,
        errors: TokenStream::new(),
    };
    for stmt in stmts.iter_mut() {
        misuse.visit_stmt_mut(stmt);
    }
    if returns_lazily {
        if let Some(Stmt::Expr(tail, None)) = stmts.last_mut() {
            misuse.returned(tail);
        }
    }
    misuse.errors
}

struct Misuse<'a> {
    vars: &'a [&'a Path],
    errors: TokenStream,
}

impl<'a> Misuse<'a> {
    /// The variable's name, if `expr` is the bare name of one of `vars`.
    fn var_of(&self, expr: &Expr) -> Option<syn::Ident> {
        self.var_named(expr).map(|(name, _)| name)
    }

    /// The variable's name and path, if `expr` is the bare name of one of `vars`.
    fn var_named(&self, expr: &Expr) -> Option<(syn::Ident, &'a Path)> {
        let Expr::Path(path) = expr else {
            return None;
        };
        let ident = path.path.get_ident()?;
        if path.qself.is_some() {
            return None;
        }
        let name = ident.unraw();
        let var = self
            .vars
            .iter()
            .copied()
            .find(|var| last_ident(var).unraw() == name)?;
        Some((name, var))
    }

    fn report(&mut self, at: &impl ToTokens, message: String) {
        self.errors
            .extend(syn::Error::new_spanned(at, message).into_compile_error());
    }

    /// Reports a bare variable used as a value at `expr`, if it is one, and reads its
    /// value there instead (what the user meant), through evidence that borrows
    /// nothing.
    fn value_use(&mut self, expr: &mut Expr) {
        if let Some((name, var)) = self.var_named(expr) {
            self.report(
                expr,
                format!(
                    "`{name}` is a context variable, not its value: read the value with \
                     `{name}.get()` (a clone), or `{name}.with(|value| ..)` (by reference)"
                ),
            );
            let span = expr.span();
            let receiver = detached_receiver(var, span);
            *expr = syn::parse_quote_spanned!(span=> #receiver.get());
        }
    }

    fn assigned(&mut self, at: &impl ToTokens, name: &syn::Ident) {
        self.report(
            at,
            format!(
                "`{name}` cannot be assigned: a context variable is bound for a scope. \
                 Bind it for a function with `#[with_context({name} = value)]`, or for a \
                 future or closure with `{name}.scope(value, future)` or \
                 `{name}.sync_scope(value, || ..)`"
            ),
        );
    }

    /// Reports the closures and `async` blocks in a returned expression that read a
    /// variable, unless a method consumes them first (`.collect()`) or they carry the
    /// context (`.in_current_context()`).
    fn returned(&mut self, expr: &mut Expr) {
        match expr {
            Expr::MethodCall(call) if consumes(&call.method) || carries(&call.method) => {}
            Expr::Closure(_) | Expr::Async(_) => {
                let Some(name) = self.first_read(expr) else {
                    return;
                };
                let message = if matches!(expr, Expr::Async(_)) {
                    format!(
                        "this `async` block reads `{name}` and is returned: it runs when it is \
                         polled, after this function returned and its binding ended. Make the \
                         function `async`, or carry the context into the future: \
                         `async move {{ .. }}.in_current_context()`"
                    )
                } else {
                    format!(
                        "this closure reads `{name}` and is returned: it runs after this \
                         function returned and its binding ended. Consume it here (for an \
                         iterator, `.collect::<Vec<_>>()`), or read the value first, `let \
                         value = {name}.get();`, and use `value` in the closure"
                    )
                };
                let at = closure_head(expr);
                self.report(&at, message);
                detach_reads(expr, self.vars);
            }
            Expr::MethodCall(call) => {
                self.returned(&mut call.receiver);
                for arg in &mut call.args {
                    self.returned(arg);
                }
            }
            Expr::Call(call) => {
                for arg in &mut call.args {
                    self.returned(arg);
                }
            }
            Expr::Paren(paren) => self.returned(&mut paren.expr),
            Expr::Block(block) => {
                if let Some(Stmt::Expr(tail, None)) = block.block.stmts.last_mut() {
                    self.returned(tail);
                }
            }
            _ => {}
        }
    }

    /// The first variable that `expr` reads with `get` or `with`.
    fn first_read(&self, expr: &Expr) -> Option<syn::Ident> {
        struct First<'m, 'a> {
            misuse: &'m Misuse<'a>,
            found: Option<syn::Ident>,
        }
        impl syn::visit::Visit<'_> for First<'_, '_> {
            fn visit_expr_method_call(&mut self, call: &syn::ExprMethodCall) {
                if self.found.is_none() && (call.method == "get" || call.method == "with") {
                    self.found = self.misuse.var_of(&call.receiver);
                }
                syn::visit::visit_expr_method_call(self, call);
            }
            fn visit_item(&mut self, _: &syn::Item) {}
        }
        let mut first = First {
            misuse: self,
            found: None,
        };
        syn::visit::Visit::visit_expr(&mut first, expr);
        first.found
    }
}

impl VisitMut for Misuse<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            // Reported, and replaced by its arguments, evaluated and dropped: the
            // unit value an assignment has.
            Expr::MethodCall(call) if call.method == "set" => {
                if let Some(name) = self.var_of(&call.receiver) {
                    self.assigned(&call.method, &name);
                    let args = &call.args;
                    *expr = syn::parse_quote!({ let _ = (#args); });
                    return;
                }
            }
            Expr::Assign(assign) => {
                if let Some(name) = self.var_of(&assign.left) {
                    self.assigned(&assign.left, &name);
                    let value = &assign.right;
                    *expr = syn::parse_quote!({ let _ = #value; });
                    return;
                }
            }
            // `*ITEM_ID` as a whole becomes the read.
            Expr::Unary(unary)
                if matches!(unary.op, syn::UnOp::Deref(_))
                    && self.var_of(&unary.expr).is_some() =>
            {
                let mut inner = (*unary.expr).clone();
                self.value_use(&mut inner);
                *expr = inner;
                return;
            }
            Expr::Binary(binary) => {
                self.value_use(&mut binary.left);
                self.value_use(&mut binary.right);
            }
            _ => {}
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }

    fn visit_local_mut(&mut self, local: &mut syn::Local) {
        if let Some(init) = &mut local.init {
            self.value_use(&mut init.expr);
        }
        syn::visit_mut::visit_local_mut(self, local);
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {
        // A nested item is not part of this function's body.
    }
}

/// Methods that consume an iterator or stream where they are called.
fn consumes(method: &syn::Ident) -> bool {
    const CONSUMERS: &[&str] = &[
        "collect",
        "sum",
        "product",
        "count",
        "fold",
        "for_each",
        "max",
        "min",
        "last",
        "nth",
        "reduce",
        "all",
        "any",
        "find",
        "position",
        "unzip",
        "partition",
    ];
    CONSUMERS.iter().any(|name| method == name)
}

/// Methods that carry the current context into a future or stream.
fn carries(method: &syn::Ident) -> bool {
    method == "in_current_context" || method == "scope_stream" || method == "scope"
}

/// The span to report a closure or `async` block at: its parameters, or its `async`
/// keyword, rather than the whole body.
fn closure_head(expr: &Expr) -> TokenStream {
    match expr {
        Expr::Closure(closure) => {
            let mut head = TokenStream::new();
            closure.capture.to_tokens(&mut head);
            closure.or1_token.to_tokens(&mut head);
            closure.inputs.to_tokens(&mut head);
            closure.or2_token.to_tokens(&mut head);
            head
        }
        Expr::Async(block) => {
            let mut head = TokenStream::new();
            block.async_token.to_tokens(&mut head);
            block.capture.to_tokens(&mut head);
            head
        }
        _ => expr.to_token_stream(),
    }
}

/// Makes every `VAR.get()` and `VAR.with(..)` in `expr` read through evidence that
/// borrows nothing (already reported).
fn detach_reads(expr: &mut Expr, vars: &[&Path]) {
    struct Detach<'a> {
        vars: &'a [&'a Path],
    }
    impl VisitMut for Detach<'_> {
        fn visit_expr_method_call_mut(&mut self, call: &mut syn::ExprMethodCall) {
            if call.method == "get" || call.method == "with" {
                if let Expr::Path(receiver) = &*call.receiver {
                    let var = receiver.path.get_ident().and_then(|ident| {
                        let name = ident.unraw();
                        self.vars
                            .iter()
                            .find(|var| last_ident(var).unraw() == name)
                            .map(|var| (*var, ident.span()))
                    });
                    if let Some((var, span)) = var {
                        let detached = detached_receiver(var, span);
                        *call.receiver = Expr::Verbatim(detached.into_token_stream());
                    }
                }
            }
            syn::visit_mut::visit_expr_method_call_mut(self, call);
        }
        fn visit_item_mut(&mut self, _: &mut syn::Item) {}
    }
    Detach { vars }.visit_expr_mut(expr);
}

/// `#[with_context(DEPTH = DEPTH.get() + 1)]`: a value is evaluated on entry, in the
/// caller's context, before the attribute binds anything, so a read there of one of
/// `vars` is provided only if the function declares it (`#[uses_context(DEPTH)]`
/// above, which has made evidence named like it: `provided`). Each other one is
/// reported, and reads through evidence that borrows nothing.
pub(crate) fn report_reads_in_values<'e>(
    values: impl IntoIterator<Item = &'e mut Expr>,
    vars: &[&Path],
    provided: &[syn::Ident],
) -> TokenStream {
    let unprovided: Vec<&Path> = vars
        .iter()
        .copied()
        .filter(|var| !provided.contains(&last_ident(var).unraw()))
        .collect();
    let misuse = Misuse {
        vars: &unprovided,
        errors: TokenStream::new(),
    };
    let mut errors = TokenStream::new();
    for value in values {
        if let Some(name) = misuse.first_read(value) {
            let message = format!(
                "this value is evaluated when the function is entered, in its caller's \
                 context, before `{name}` is bound here: declare that callers bind it with \
                 `#[uses_context({name})]` on this function, or read it with \
                 `{name}.try_get()`"
            );
            errors.extend(syn::Error::new_spanned(&*value, message).into_compile_error());
            detach_reads(value, &unprovided);
        }
    }
    errors
}
