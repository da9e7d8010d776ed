//! The one table of calls that run work somewhere other than where it is written, and
//! what each gives that work of the annotated function's context.
//!
//! Both passes that care read it: the read check (`function.rs`: which `get`s may use
//! the function's evidence) and the `.await` rewrite for strict helpers (`provide.rs`).
//!
//! | call | the work | [`Site`] |
//! |---|---|---|
//! | `ctxvar::spawn(w)`, `spawn_local`, `spawn_blocking`, `ctxvar::thread::spawn(w)` (or imported, checked) | runs in the context captured at the call | [`Site::Carried`] |
//! | `w.in_current_context()`, `ContextFutureExt::in_current_context(w)` | the same | [`Site::Carried`] |
//! | `Context::current().run(w)`, `.scope(w)`, `.scope_stream(w)`; the same on a local captured so in the function | the same | [`Site::Carried`] |
//! | another crate's `spawn`, `spawn_local`, `spawn_blocking` (a function or a method: `tokio::spawn`, `std::thread::spawn`, `set.spawn`, a scoped thread's `s.spawn`) | starts with nothing bound | [`Site::Elsewhere`], [`Why::Spawned`] |
//! | `Body::from_stream(s)` (any `from_stream`) | a response body, polled after the function returns | [`Site::Elsewhere`], [`Why::Body`] |
//! | `Context::empty().run(w)` (and `.scope`, `.scope_stream`), the same on another captured context (a parameter, a message's `m.context()`, the context of `let (ctx, _) = m.into_parts()`), `w.in_context(ctx)` | runs with exactly that context's bindings | [`Site::Elsewhere`], [`Why::AnotherContext`] |
//! | `m.run_in_sender_context(w)`, `m.scope_in_sender_context(w)`, `s.then_in_sender_context(w)`, `s.for_each_in_sender_context(w)` (methods, or called by a path ending in the name) | a handler of a `Carried` message, run with exactly its sender's bindings | [`Site::Elsewhere`], [`Why::AnotherContext`] |
//! | `VAR.scope(v, w)`, `bindings.scope(w)`, `.sync_scope(..)`, `block_on(w)` | runs here, with some bindings added | [`Site::Here`] |
//!
//! A call that is none of these is not recognised: its work keeps the function's
//! evidence, which borrows the function, so work that outlives it is still a borrow
//! error (the backstop), and work that runs elsewhere without outliving it is checked
//! at run time.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{ToTokens, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Path};

use crate::args::last_ident;
use crate::private::{runtime, runtime_name};
use crate::tokens;

/// What a call does with the work written in its arguments (or receiver).
pub(crate) enum Site<'a> {
    /// The work runs in the context captured at the call.
    Carried(CapturePoint<'a>),
    /// The work runs without the function's context.
    Elsewhere(Elsewhere<'a>),
    /// The work runs here, in the function's context, with some variables bound anew
    /// (`rebinds`: `VAR.scope(v, fut)`) or as it is (`block_on(fut)`).
    Here { rebinds: bool },
}

/// A call whose work runs without the function's context.
pub(crate) struct Elsewhere<'a> {
    pub(crate) why: Why,
    /// The call as written, for messages: `tokio::spawn`, `set.spawn`,
    /// `Context::empty().run`, `.in_context`.
    pub(crate) call: String,
    /// The parts evaluated where the call is written: the callee or receiver, and the
    /// arguments that are not work.
    pub(crate) here: Vec<&'a mut Expr>,
    /// The parts that hold the work: their `async` blocks (and, see
    /// [`Why::closures_anywhere`], closures) run elsewhere.
    pub(crate) work: Vec<&'a mut Expr>,
    /// ctxvar's helper that starts the same work carrying the context, for a spawn
    /// called by its path: `ctxvar::spawn` for `tokio::spawn`.
    pub(crate) carrying_helper: Option<String>,
    /// Whether the other context is a message's sender's (the work is the handler
    /// given to one of [`IN_SENDER_CONTEXT`]), so the fix differs: running the handler
    /// in the current context instead would defeat the envelope.
    pub(crate) senders_context: bool,
}

/// Why work runs without the function's context.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Why {
    /// Another crate's spawn: a new task or thread starts with nothing bound.
    Spawned,
    /// A response body's stream, polled after the handler returned.
    Body,
    /// A context other than the current one: `Context::empty()`, a captured context.
    AnotherContext,
}

impl Why {
    /// Whether a closure anywhere in the work runs elsewhere, or only one that is the
    /// work itself. An `async` block is lazy wherever it is written; a closure nested
    /// in a spawn's argument (`tokio::spawn(run(items.iter().map(|i| ..).collect()))`)
    /// may run right here. A body stream's closures are its adaptors'.
    pub(crate) fn closures_anywhere(self) -> bool {
        self == Why::Body
    }
}

/// The contexts the function holds in locals, by name: captured in the function
/// itself (`let ctx = Context::current();`), or not known to have its bindings (a
/// parameter of type `Context`, `Context::empty()`, a capture made inside work that
/// runs elsewhere).
#[derive(Default)]
pub(crate) struct Contexts {
    captured_here: Vec<syn::Ident>,
    other: Vec<syn::Ident>,
}

/// What a receiver is known to be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ContextIs {
    /// `Context::current()`, evaluated where it is written.
    Current,
    /// A local holding a capture made in the function.
    CapturedHere,
    /// Some other context.
    Other,
}

impl Contexts {
    /// The parameters of type `Context` or `&Context`: contexts captured elsewhere.
    pub(crate) fn of_parameters(sig: &syn::Signature) -> Self {
        let mut contexts = Contexts::default();
        for input in &sig.inputs {
            if let syn::FnArg::Typed(typed) = input {
                if let (syn::Pat::Ident(pat), true) = (&*typed.pat, is_context_type(&typed.ty)) {
                    contexts.other.push(pat.ident.clone());
                }
            }
        }
        contexts
    }

    /// Records `let NAME = INIT;` (or `let NAME: Context = ..`), seen where the
    /// function's context is current (`in_function`) or not, and `let (NAME, _) =
    /// message.into_parts();`, a message's sender's context.
    pub(crate) fn record(&mut self, local: &syn::Local, in_function: bool) {
        let named = match &local.pat {
            syn::Pat::Ident(pat) => Some((&pat.ident, None)),
            syn::Pat::Type(typed) => match &*typed.pat {
                syn::Pat::Ident(pat) => Some((&pat.ident, Some(&*typed.ty))),
                _ => None,
            },
            _ => None,
        };
        let Some((ident, ty)) = named else {
            self.record_pattern(&local.pat, local.init.as_ref());
            return;
        };
        self.captured_here.retain(|name| name != ident);
        self.other.retain(|name| name != ident);
        let init = local.init.as_ref().map(|init| &*init.expr);
        match init.and_then(|init| self.context_is(init)) {
            Some(ContextIs::Current | ContextIs::CapturedHere) if in_function => {
                self.captured_here.push(ident.clone());
            }
            Some(_) => self.other.push(ident.clone()),
            None if ty.is_some_and(is_context_type) => self.other.push(ident.clone()),
            None => {}
        }
    }

    /// Records a `let` whose pattern is not a name: the names it binds shadow any
    /// context of that name, and the first of a pair taken from `.into_parts()` (a
    /// `Carried` message's) is its sender's context. Recognised by the method's name,
    /// as `.context()` is (see [`Contexts::context_is`]): another type's first part
    /// matters only if its `run`, `scope` or `scope_stream` is given work that reads
    /// with `get`.
    fn record_pattern(&mut self, pat: &syn::Pat, init: Option<&syn::LocalInit>) {
        struct Names<'p>(Vec<&'p syn::Ident>);
        impl<'p> syn::visit::Visit<'p> for Names<'p> {
            fn visit_pat_ident(&mut self, pat: &'p syn::PatIdent) {
                self.0.push(&pat.ident);
                syn::visit::visit_pat_ident(self, pat);
            }
        }
        let mut names = Names(Vec::new());
        syn::visit::Visit::visit_pat(&mut names, pat);
        self.captured_here.retain(|name| !names.0.contains(&name));
        self.other.retain(|name| !names.0.contains(&name));
        let tuple = match pat {
            syn::Pat::Type(typed) => &*typed.pat,
            pat => pat,
        };
        let from_into_parts = init.is_some_and(|init| {
            matches!(&*init.expr, Expr::MethodCall(call)
                if call.method == "into_parts" && call.args.is_empty())
        });
        if let (syn::Pat::Tuple(tuple), true) = (tuple, from_into_parts) {
            if let Some(syn::Pat::Ident(first)) = tuple.elems.first() {
                self.other.push(first.ident.clone());
            }
        }
    }

    /// Notes an assignment `NAME = ..` seen in the walk: a local captured in the
    /// function may now hold any context.
    pub(crate) fn assigned(&mut self, expr: &Expr) {
        if let Expr::Assign(assign) = expr {
            if let Expr::Path(path) = &*assign.left {
                if let Some(ident) = path.path.get_ident() {
                    if self.captured_here.contains(ident) {
                        self.captured_here.retain(|name| name != ident);
                        self.other.push(ident.clone());
                    }
                }
            }
        }
    }

    /// What `expr` is known to be, if it is known to be a `Context`.
    fn context_is(&self, expr: &Expr) -> Option<ContextIs> {
        match expr {
            Expr::Call(call) if call.args.is_empty() => {
                let Expr::Path(callee) = &*call.func else {
                    return None;
                };
                with_segment_names(&callee.path, |names| match names {
                    [.., "Context", "current"] => Some(ContextIs::Current),
                    [.., "Context", _] => Some(ContextIs::Other),
                    _ => None,
                })
            }
            Expr::Path(path) => {
                let ident = path.path.get_ident()?;
                if self.captured_here.contains(ident) {
                    Some(ContextIs::CapturedHere)
                } else if self.other.contains(ident) {
                    Some(ContextIs::Other)
                } else {
                    None
                }
            }
            Expr::MethodCall(call) if call.method == "clone" && call.args.is_empty() => {
                self.context_is(&call.receiver)
            }
            // A `Carried` message's sender's context. Recognised by name: a method of
            // another type by that name only matters if its result's `run`, `scope` or
            // `scope_stream` is given work that reads with `get`, and then the error
            // says to use `try_get`.
            Expr::MethodCall(call) if call.method == "context" && call.args.is_empty() => {
                Some(ContextIs::Other)
            }
            Expr::Paren(paren) => self.context_is(&paren.expr),
            Expr::Reference(reference) => self.context_is(&reference.expr),
            _ => None,
        }
    }
}

/// `Context`, `ctxvar::Context`, or a reference to one.
fn is_context_type(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Reference(reference) => is_context_type(&reference.elem),
        syn::Type::Path(path) if path.qself.is_none() => {
            with_segment_names(&path.path, |names| matches!(names, [.., "Context"]))
                && path
                    .path
                    .segments
                    .iter()
                    .all(|segment| segment.arguments.is_none())
        }
        _ => false,
    }
}

/// The runtime's functions that start work carrying the caller's context, one row
/// each: adding such a function to the runtime means adding its row here.
pub(crate) const HELPERS: &[Helper] = &[
    Helper::imported(&["spawn"], WorkKind::Task),
    Helper::imported(&["spawn_local"], WorkKind::Task),
    Helper::imported(&["spawn_blocking"], WorkKind::Task),
    Helper::imported(&["thread", "spawn"], WorkKind::Thread),
    Helper::by_path(
        &["ContextFutureExt", "in_current_context"],
        WorkKind::Future,
    ),
    Helper::by_path(
        &["prelude", "ContextFutureExt", "in_current_context"],
        WorkKind::Future,
    ),
];

/// A row of [`HELPERS`].
pub(crate) struct Helper {
    /// Its path in the runtime, without the crate's name.
    path: &'static [&'static str],
    /// What the work given to it becomes.
    work: WorkKind,
    /// Whether it is recognised by the name it is imported under too (`spawn(..)`
    /// after `use ctxvar::spawn`, `thread::spawn(..)` after `use ctxvar::thread`),
    /// checked to be the runtime's (`IsCtxvarHelper`) since the name alone could be
    /// another crate's.
    by_import: bool,
}

impl Helper {
    const fn imported(path: &'static [&'static str], work: WorkKind) -> Self {
        Helper {
            path,
            work,
            by_import: true,
        }
    }

    const fn by_path(path: &'static [&'static str], work: WorkKind) -> Self {
        Helper {
            path,
            work,
            by_import: false,
        }
    }

    /// The row of the runtime's helper at `path` (its crate's name first).
    fn at(path: &[&str]) -> Option<&'static Helper> {
        let (crate_name, rest) = path.split_first()?;
        (*crate_name == "ctxvar").then(|| HELPERS.iter().find(|helper| helper.path == rest))?
    }

    /// The row of a helper that may be called by `path`, the name it was imported
    /// under.
    fn imported_as(path: &[&str]) -> Option<&'static Helper> {
        HELPERS
            .iter()
            .find(|helper| helper.by_import && helper.path == path)
    }

    /// The helper that carries the context for another crate's spawn function `call`
    /// (the path as written, ending in `last`), to name in the fix.
    fn instead_of(call: &str, last: &str) -> Option<String> {
        let thread = call.contains("thread::");
        HELPERS
            .iter()
            .find(|helper| {
                helper.by_import
                    && helper.path.last() == Some(&last)
                    && (helper.work == WorkKind::Thread) == thread
            })
            .map(|helper| format!("ctxvar::{}", helper.path.join("::")))
    }
}

/// The names of the calls that start work with nothing bound, unless they are
/// `ctxvar`'s: `tokio::spawn(..)`, `std::thread::spawn(..)`, `set.spawn(..)`,
/// `scope.spawn(..)`.
const SPAWNS: [&str; 3] = ["spawn", "spawn_local", "spawn_blocking"];

/// The methods that run a handler in the context a `Carried` message was sent from:
/// `Carried`'s own, and `CarriedStreamExt`'s for a stream of them. The handler is the
/// one argument. Recognised by name alone, whatever the receiver: the names are
/// ctxvar's, and the worst a method of another type with one of them can cost is a
/// `get` in its argument reported as a read in another context (`try_get` compiles).
pub(crate) const IN_SENDER_CONTEXT: [&str; 4] = [
    "run_in_sender_context",
    "scope_in_sender_context",
    "then_in_sender_context",
    "for_each_in_sender_context",
];

/// What `expr` does with its work, if it is a call of the table in this module's
/// docs; `contexts` tells which locals hold contexts.
pub(crate) fn site<'a>(expr: &'a mut Expr, contexts: &Contexts) -> Option<Site<'a>> {
    match expr {
        Expr::Call(call) => {
            if helper_call(call).is_some() {
                return helper_call(call).map(Site::Carried);
            }
            let Expr::Path(callee) = &*call.func else {
                return None;
            };
            let last = last_ident(&callee.path).to_string();
            if IN_SENDER_CONTEXT.contains(&last.as_str()) && call.args.len() == 2 {
                // `Carried::run_in_sender_context(message, handler)`.
                let call_text = path_text(&callee.path);
                let mut args = call.args.iter_mut();
                let mut here = vec![&mut *call.func];
                here.extend(args.next());
                return Some(Site::Elsewhere(Elsewhere {
                    why: Why::AnotherContext,
                    call: call_text,
                    here,
                    work: args.collect(),
                    carrying_helper: None,
                    senders_context: true,
                }));
            }
            let why = if SPAWNS.contains(&last.as_str()) {
                Why::Spawned
            } else if last == "from_stream" {
                Why::Body
            } else if last == "block_on" {
                return Some(Site::Here { rebinds: false });
            } else {
                return None;
            };
            let call_text = path_text(&callee.path);
            let carrying_helper = if why == Why::Spawned {
                Helper::instead_of(&call_text, &last)
            } else {
                None
            };
            Some(Site::Elsewhere(Elsewhere {
                why,
                call: call_text,
                here: vec![&mut *call.func],
                work: call.args.iter_mut().collect(),
                carrying_helper,
                senders_context: false,
            }))
        }
        Expr::MethodCall(call) => method_site(call, contexts),
        _ => None,
    }
}

fn method_site<'a>(call: &'a mut syn::ExprMethodCall, contexts: &Contexts) -> Option<Site<'a>> {
    let method = call.method.to_string();
    if method == "in_current_context"
        && call.args.is_empty()
        && call.turbofish.is_none()
        && matches!(&*call.receiver, Expr::Async(_))
    {
        let span = call.method.span();
        return Some(Site::Carried(CapturePoint {
            helper: (span, span),
            work_kind: WorkKind::Future,
            work: &mut call.receiver,
            import: None,
            captured_earlier: false,
            call: ".in_current_context()".to_owned(),
            check: None,
        }));
    }
    if SPAWNS.contains(&method.as_str()) {
        return Some(Site::Elsewhere(Elsewhere {
            why: Why::Spawned,
            call: format!("{}.{method}", receiver_text(&call.receiver)),
            here: vec![&mut *call.receiver],
            work: call.args.iter_mut().collect(),
            carrying_helper: None,
            senders_context: false,
        }));
    }
    if method == "in_context" && call.args.len() == 1 {
        return Some(Site::Elsewhere(Elsewhere {
            why: Why::AnotherContext,
            call: ".in_context(..)".to_owned(),
            here: call.args.iter_mut().collect(),
            work: vec![&mut *call.receiver],
            carrying_helper: None,
            senders_context: false,
        }));
    }
    if IN_SENDER_CONTEXT.contains(&method.as_str()) && call.args.len() == 1 {
        return Some(Site::Elsewhere(Elsewhere {
            why: Why::AnotherContext,
            call: format!("{}.{method}", receiver_text(&call.receiver)),
            here: vec![&mut *call.receiver],
            work: call.args.iter_mut().collect(),
            carrying_helper: None,
            senders_context: true,
        }));
    }
    if method == "block_on" {
        return Some(Site::Here { rebinds: false });
    }
    let runs_work = matches!(method.as_str(), "run" | "scope" | "scope_stream");
    if !runs_work || call.args.len() != 1 {
        return matches!(method.as_str(), "scope" | "sync_scope" | "scope_stream")
            .then_some(Site::Here { rebinds: true });
    }
    let Some(is) = contexts.context_is(&call.receiver) else {
        // `bindings.scope(fut)`, and any other type's `run`: not a context.
        return (method != "run").then_some(Site::Here { rebinds: true });
    };
    if is == ContextIs::Other {
        let call_text = format!("{}.{method}", receiver_text(&call.receiver));
        return Some(Site::Elsewhere(Elsewhere {
            why: Why::AnotherContext,
            call: call_text,
            here: vec![&mut *call.receiver],
            work: call.args.iter_mut().collect(),
            carrying_helper: None,
            senders_context: false,
        }));
    }
    let work_kind = match method.as_str() {
        "run" => WorkKind::Closure,
        "scope" => WorkKind::Future,
        _ => WorkKind::Stream,
    };
    let first = call.receiver.span();
    let last = call.method.span();
    let call_text = format!("{}.{method}", receiver_text(&call.receiver));
    // `Context::current()` is recognised by its path: this fails to compile unless it
    // is ctxvar's.
    let check = match &*call.receiver {
        Expr::Call(current) => {
            let callee = &current.func;
            let runtime = runtime(callee.span());
            Some(quote_spanned!(callee.span()=> let _: fn() -> #runtime::Context = #callee;))
        }
        _ => None,
    };
    Some(Site::Carried(CapturePoint {
        helper: (first, last),
        work_kind,
        work: &mut call.args[0],
        import: None,
        captured_earlier: is == ContextIs::CapturedHere,
        call: call_text,
        check,
    }))
}

/// A path as the user wrote it, without spaces: `tokio::spawn`.
fn path_text(path: &Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

/// A receiver for a message: as written if short (`set`, `Context::empty()`),
/// otherwise elided.
fn receiver_text(receiver: &Expr) -> String {
    let text = receiver.to_token_stream().to_string();
    let text = text
        .replace(" :: ", "::")
        .replace(" (", "(")
        .replace("( ", "(")
        .replace(" )", ")")
        .replace(" .", ".")
        .replace(". ", ".");
    if text.len() <= 32 {
        text
    } else {
        "..".to_owned()
    }
}

/// A call that captures the current context for work that runs later, elsewhere.
pub(crate) struct CapturePoint<'a> {
    /// The first and last tokens of the helper's path (`ctxvar`, `spawn`), or the
    /// method's name twice (`in_current_context`), or the receiver and the method
    /// (`Context::current()`, `run`).
    pub(crate) helper: (Span, Span),
    /// What the work becomes, for the name of its anchor.
    pub(crate) work_kind: WorkKind,
    /// The work: an `async` block or a closure, or an expression whose closures and
    /// `async` blocks are the work (a stream).
    pub(crate) work: &'a mut Expr,
    /// A helper called by the name it was imported under, to check.
    pub(crate) import: Option<Import<'a>>,
    /// Whether the context was captured before, where the function's context was
    /// current (a local, `let ctx = Context::current();`): then the call may run
    /// anywhere, since what it runs in is already fixed.
    pub(crate) captured_earlier: bool,
    /// The call as written, for messages.
    pub(crate) call: String,
    /// A statement that fails to compile unless the call is `ctxvar`'s, where that is
    /// not checked otherwise.
    pub(crate) check: Option<TokenStream>,
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
pub(crate) struct Import<'a> {
    /// The callee as written, replaced by the checked call.
    pub(crate) callee: &'a mut Expr,
    /// `::ctxvar::spawn` (or `spawn_local`, ..., `thread::spawn`).
    pub(crate) ctxvar_helper: TokenStream,
}

/// What the work given to a capture point becomes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkKind {
    /// A task: `ctxvar::spawn`, `spawn_local`, `spawn_blocking`.
    Task,
    /// A thread: `ctxvar::thread::spawn`.
    Thread,
    /// A future that runs in the context captured at the call, wherever it is
    /// polled: `.in_current_context()`, `Context::current().scope(..)`.
    Future,
    /// A closure run in a captured context: `Context::current().run(..)`.
    Closure,
    /// A stream polled in a captured context: `Context::current().scope_stream(..)`.
    Stream,
}

impl WorkKind {
    /// The word in the name of the work's anchor, `VAR_is_bound_only_inside_this_..`.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            WorkKind::Task => "task",
            WorkKind::Thread => "thread",
            WorkKind::Future => "future",
            WorkKind::Closure => "closure",
            WorkKind::Stream => "stream",
        }
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
            captured_earlier: false,
            call: "ctxvar::spawn".to_owned(),
            check: None,
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
    let (work_kind, ctxvar_helper) = with_segment_names(path, |names| {
        if let Some(helper) = Helper::at(names) {
            return Some((helper.work, None));
        }
        let helper = Helper::imported_as(names).filter(|_| path.leading_colon.is_none())?;
        // The runtime's helper of that name, to check the imported one against; its
        // last segment is the user's, so that a mismatch is reported there.
        let runtime = runtime(span);
        let module = helper.path[..helper.path.len() - 1]
            .iter()
            .map(|name| syn::Ident::new(name, span));
        let last = &path.segments[path.segments.len() - 1].ident;
        Some((
            helper.work,
            Some(quote_spanned!(span=> #runtime #(::#module)* ::#last)),
        ))
    })?;
    let segments = &path.segments;
    let first = path
        .leading_colon
        .map_or_else(|| segments[0].ident.span(), |colon| colon.spans[0]);
    let last = segments[segments.len() - 1].ident.span();
    let call_text = path_text(path);
    let (func, args) = (&mut call.func, &mut call.args);
    Some(CapturePoint {
        helper: (first, last),
        work_kind,
        work: &mut args[0],
        import: ctxvar_helper.map(|ctxvar_helper| Import {
            callee: func,
            ctxvar_helper,
        }),
        captured_earlier: false,
        call: call_text,
        check: None,
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
    with_segment_names(&helper.path, |names| {
        Helper::at(names).map(|helper| helper.work)
    })
}

/// Whether `callee` is a plain path whose segment names (`Box::pin` → `["Box", "pin"]`)
/// satisfy `test`.
pub(crate) fn path_is(callee: &Expr, test: impl FnOnce(&[&str]) -> bool) -> bool {
    match callee {
        Expr::Path(path) => with_segment_names(&path.path, test),
        _ => false,
    }
}

/// `f` of the segment names of `path` (`Box::pin` → `["Box", "pin"]`), to match on.
///
/// A first segment that names the runtime by the name the crate gives it in
/// `Cargo.toml` (`cv::spawn`, see `crate_path`) reads as `ctxvar`.
pub(crate) fn with_segment_names<R>(path: &Path, f: impl FnOnce(&[&str]) -> R) -> R {
    let mut names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    if names.len() > 1 && names[0] != "ctxvar" && names[0] == runtime_name() {
        "ctxvar".clone_into(&mut names[0]);
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    f(&names)
}

/// The `macro_rules!` macros defined in `block` (at any depth) that pass one of their
/// arguments to a capture point: `macro_rules! go { ($e:expr) => { ctxvar::spawn($e) } }`.
/// An `async` block or closure given to such a macro is carried work, as it would be
/// given to the helper directly. (A macro defined outside the function is out of the
/// attribute's sight.)
pub(crate) fn carrying_macros(block: &syn::Block) -> Vec<syn::Ident> {
    struct Find(Vec<syn::Ident>);
    impl syn::visit::Visit<'_> for Find {
        fn visit_macro(&mut self, mac: &syn::Macro) {
            if mac.path.is_ident("macro_rules") {
                let mut tokens = mac.tokens.clone().into_iter();
                if let (Some(TokenTree::Ident(name)), true) = (
                    tokens.next(),
                    passes_a_metavariable_to_a_helper(mac.tokens.clone()),
                ) {
                    self.0.push(name);
                }
            }
        }
        fn visit_item(&mut self, item: &syn::Item) {
            // `macro_rules! name { .. }` in a block is an `Item::Macro` that holds the
            // name apart from the tokens.
            if let syn::Item::Macro(item) = item {
                if let (true, Some(name)) = (item.mac.path.is_ident("macro_rules"), &item.ident) {
                    if passes_a_metavariable_to_a_helper(item.mac.tokens.clone()) {
                        self.0.push(name.clone());
                    }
                }
            }
        }
    }
    let mut find = Find(Vec::new());
    syn::visit::Visit::visit_block(&mut find, block);
    find.0
}

/// Whether `tokens` contain `ctxvar::spawn($x)` (or `spawn_local`, `spawn_blocking`,
/// `thread::spawn`) or `$x.in_current_context()`, at any depth.
fn passes_a_metavariable_to_a_helper(tokens: TokenStream) -> bool {
    let is_metavariable = |stream: TokenStream| {
        let inner: Vec<TokenTree> = stream.into_iter().collect();
        matches!(inner.as_slice(), [TokenTree::Punct(dollar), TokenTree::Ident(_)] if dollar.as_char() == '$')
    };
    tokens::any(tokens, &mut |tokens, i| match &tokens[i] {
        TokenTree::Ident(name) if SPAWNS.iter().any(|spawn| name == spawn) => {
            let by_ctxvar = tokens[..i].iter().rev().take(6).any(|before| {
                matches!(before, TokenTree::Ident(crate_name)
                    if *crate_name == "ctxvar" || *crate_name == runtime_name())
            });
            by_ctxvar
                && matches!(tokens.get(i + 1), Some(TokenTree::Group(args))
                    if args.delimiter() == proc_macro2::Delimiter::Parenthesis
                        && is_metavariable(args.stream()))
        }
        TokenTree::Ident(method) if method == "in_current_context" => {
            i >= 3
                && matches!(&tokens[i - 1], TokenTree::Punct(dot) if dot.as_char() == '.')
                && matches!(&tokens[i - 3], TokenTree::Punct(dollar) if dollar.as_char() == '$')
        }
        _ => false,
    })
}
