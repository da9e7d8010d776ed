//! The variables under test, and their indices in programs.

use std::sync::Arc;

use ctxvar::{ContextVar, context_var};

use crate::run::{BoxFut, BoxStream, MakeValue, Shared, Tracked};

// The variables under test: a plain one, one whose values count themselves (to prove
// they are all released), one that is not inherited, and one with a default.

/// Required, inherited.
#[context_var]
pub(crate) static A: u64;

/// Required, inherited; its values count how many are alive.
#[context_var]
pub(crate) static B: Tracked;

/// Required, never carried into spawned tasks or captured contexts (`inherit = false`).
#[context_var(inherit = false)]
pub(crate) static TX: u64;

/// Has a default, read wherever it is not bound.
#[context_var]
pub(crate) static D: u64 = D_DEFAULT;

pub(crate) const D_DEFAULT: u64 = 0;

// Fourteen more plain variables: with them, a capture can see more than the 16
// bindings `Context::current()` gathers on the stack, and take its other path.
#[context_var]
pub(crate) static E1: u64;
#[context_var]
pub(crate) static E2: u64;
#[context_var]
pub(crate) static E3: u64;
#[context_var]
pub(crate) static E4: u64;
#[context_var]
pub(crate) static E5: u64;
#[context_var]
pub(crate) static E6: u64;
#[context_var]
pub(crate) static E7: u64;
#[context_var]
pub(crate) static E8: u64;
#[context_var]
pub(crate) static E9: u64;
#[context_var]
pub(crate) static E10: u64;
#[context_var]
pub(crate) static E11: u64;
#[context_var]
pub(crate) static E12: u64;
#[context_var]
pub(crate) static E13: u64;
#[context_var]
pub(crate) static E14: u64;

/// The indices of `A`, `B`, `TX` and `D`.
pub(crate) const VA: usize = 0;
pub(crate) const VB: usize = 1;
pub(crate) const VTX: usize = 2;
pub(crate) const VD: usize = 3;

/// `A`, `B`, `TX`, `D`: the variables programs bind most.
pub(crate) const CORE: usize = 4;
pub(crate) const EXTRA: usize = 14;
pub(crate) const NV: usize = CORE + EXTRA;
pub(crate) const VAR_NAMES: [&str; NV] = [
    "A", "B", "TX", "D", "E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8", "E9", "E10", "E11", "E12",
    "E13", "E14",
];
/// Which variables `Context::current()` captures.
pub(crate) const INHERITED: [bool; NV] = {
    let mut inherited = [true; NV];
    inherited[2] = false; // TX
    inherited
};

/// Runs `$body` with `$v` bound to the core variable whose index is `$var`.
macro_rules! with_core {
    ($var:expr, |$v:ident| $body:expr) => {
        match $var {
            0 => {
                let $v = $crate::vars::A;
                $body
            }
            1 => {
                let $v = $crate::vars::B;
                $body
            }
            2 => {
                let $v = $crate::vars::TX;
                $body
            }
            3 => {
                let $v = $crate::vars::D;
                $body
            }
            _ => unreachable!("no core variable {}", $var),
        }
    };
}

/// What the interpreter does with a variable chosen by index. Each variable is a type
/// of its own; this trait, implemented for all of them, lets [`VARS`] list them.
pub(crate) trait AnyVar: Sync {
    /// `VAR.scope(value, fut)`.
    fn scope(&self, value: u64, shared: &Arc<Shared>, fut: BoxFut) -> BoxFut;
    /// `VAR.bind(value).scope_stream(stream)`.
    fn scope_stream(&self, value: u64, shared: &Arc<Shared>, stream: BoxStream) -> BoxStream;
    /// `VAR.sync_scope(value, f)`.
    fn sync_scope(&self, value: u64, shared: &Arc<Shared>, f: &mut dyn FnMut());
    /// `VAR.try_with(|_| f())`.
    fn try_run(&self, f: &mut dyn FnMut()) -> Result<(), ctxvar::AccessError>;
    /// The program's value the variable holds, read with `try_get` (`try_with` for a
    /// value that is not `Clone`).
    fn try_read(&self) -> Result<u64, ctxvar::AccessError>;
    /// `VAR.is_bound()`.
    fn is_bound(&self) -> bool;
}

impl<V> AnyVar for V
where
    V: ContextVar<Key: 'static, Value: MakeValue> + Sync,
{
    fn scope(&self, value: u64, shared: &Arc<Shared>, fut: BoxFut) -> BoxFut {
        Box::pin(ContextVar::scope(*self, V::Value::make(value, shared), fut))
    }

    fn scope_stream(&self, value: u64, shared: &Arc<Shared>, stream: BoxStream) -> BoxStream {
        Box::pin(
            self.bind(V::Value::make(value, shared))
                .scope_stream(stream),
        )
    }

    fn sync_scope(&self, value: u64, shared: &Arc<Shared>, f: &mut dyn FnMut()) {
        ContextVar::sync_scope(*self, V::Value::make(value, shared), f);
    }

    fn try_run(&self, f: &mut dyn FnMut()) -> Result<(), ctxvar::AccessError> {
        self.try_with(|_| f())
    }

    fn try_read(&self) -> Result<u64, ctxvar::AccessError> {
        V::Value::try_read(*self)
    }

    fn is_bound(&self) -> bool {
        ContextVar::is_bound(*self)
    }
}

/// Every variable, by its index in programs.
pub(crate) static VARS: [&dyn AnyVar; NV] = [
    &A, &B, &TX, &D, &E1, &E2, &E3, &E4, &E5, &E6, &E7, &E8, &E9, &E10, &E11, &E12, &E13, &E14,
];
