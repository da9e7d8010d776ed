//! Work that runs elsewhere, as the table in `work.rs` tells it: carried work gets
//! evidence of its own, and a read in work that runs without the function's context
//! is one error of ours, instead of rustc's borrow error.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ItemFn, Path, Token};

use crate::args::last_ident;
use crate::evidence::key_type;
use crate::fallible::{is_fallible_read, receiver_at, replace_receivers};
use crate::private::{private, runtime};
use crate::tokens;
use crate::work::{
    CapturePoint, Contexts, Elsewhere, Import, Site, Why, WorkKind, carrying_macros, site,
};

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
pub(crate) fn with_spawned_evidence(
    block: &mut syn::Block,
    vars: &[&Path],
    function: &ItemFn,
) -> TokenStream {
    let mut rewrite = Rewrite::new(vars, function);
    syn::visit_mut::VisitMut::visit_block_mut(&mut rewrite, block);
    rewrite.errors
}

pub(crate) struct Rewrite<'a> {
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
pub(crate) struct Outside {
    why: Why,
    call: String,
    /// ctxvar's helper that would carry the context, if the call has one.
    carrying_helper: Option<String>,
    /// Whether the work is a handler run in a message's sender's context.
    senders_context: bool,
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
            Expr::Closure(_) => self
                .pending
                .as_ref()
                .is_some_and(|p| p.why.closures_anywhere()),
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
        let mut at_call = None;
        match site(expr, &self.contexts) {
            Some(Site::Carried(point)) => at_call = self.carried(point),
            Some(Site::Elsewhere(elsewhere)) => {
                let Elsewhere {
                    why,
                    call,
                    here,
                    mut work,
                    carrying_helper,
                    senders_context,
                } = elsewhere;
                for part in here {
                    self.visit_expr_mut(part);
                }
                self.regions += 1;
                let region = Outside {
                    why,
                    call,
                    carrying_helper,
                    senders_context,
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
pub(crate) struct AtCall {
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
pub(crate) fn give_prelude(work: &mut Expr, prelude: &TokenStream, vars: &[&Path]) {
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

/// The error for a read of `name` in work that runs without the function's context.
pub(crate) fn read_elsewhere_message(name: &str, outside: &Outside) -> String {
    let call = &outside.call;
    match outside.why {
        Why::Spawned => {
            let fix = match (outside.carrying_helper.as_deref(), outside.closure) {
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
        Why::AnotherContext if outside.senders_context => format!(
            "`{name}` is read in a handler that `{call}` runs in the context its message \
             was sent from, where this function's binding is not known to be visible: \
             read it with `{name}.try_get()` (what the sender bound), or handle the \
             message in a function declared `#[uses_context({name})]`; to use this \
             function's value instead, read it before the call and move it into the \
             handler"
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
pub(crate) fn capture_elsewhere_message(name: &str, call: &str, outside: &Outside) -> String {
    let outer = &outside.call;
    format!(
        "`{call}` captures the context of the work it is written in, which `{outer}` runs \
         without this function's context, so `{name}` is not bound there: call `{call}` \
         in the function itself, outside that work"
    )
}

/// Whether `ident` appears anywhere in `expr`'s tokens, other than as the receiver of
/// a fallible read (`ident.try_get()`), which [`with_fallible_reads`] rewrites so that
/// it needs no evidence.
pub(crate) fn mentions(expr: &Expr, ident: &syn::Ident) -> bool {
    tokens::any(
        expr.to_token_stream(),
        &mut |tokens, i| matches!(&tokens[i], TokenTree::Ident(found) if found == ident && !is_fallible_read(tokens, i)),
    )
}
