//! What the compiler is told: the types that make a read of a variable where nothing
//! provides it a compile error.
//!
//! # Glossary
//!
//! One noun and two verbs carry the whole vocabulary, here and in the macros:
//!
//! - a binding **provides** a variable: `#[with_context(VAR = ..)]`, `VAR.scope(..)`,
//!   a captured [`Context`](crate::Context) entered with `run` or `scope`;
//! - a function **uses** a variable that its callers provide: `#[uses_context(VAR)]`,
//!   and the future of a strict helper, [`UsesContext`];
//! - **evidence** is what tells the compiler that a variable is provided where a read
//!   or an `.await` is written. It is a value for reads and a type for `.await`s.
//!
//! The names, each under the verb it is built on:
//!
//! | name | what it is |
//! |---|---|
//! | [`Provided<'a, K>`](Provided) | the evidence for reads: inside an annotated function, the variable's name is this local; its `get` and `with` have no bound |
//! | [`Anchor`] | the local in the function body that every `Provided` of the function borrows, so that work capturing the evidence cannot outlive the function |
//! | `Provides<K>` | a trait of evidence *types*: `E: Provides<dyn VAR>` means "where `E` is the evidence, `VAR` is provided" |
//! | `ContextThisFunctionProvides`, `ContextCarriedProvides` | the evidence types the macros declare in an annotated function: what its body provides, and what a captured context carries of it into work that runs elsewhere |
//! | `AssumeProvided` | the evidence type that provides everything, for [`UsesContext::assume_provided`] |
//! | [`UsesContext<Vars, F>`](UsesContext) | a strict helper's future `F`, which uses the variables `Vars` |
//! | `AwaitableWith<E>` | a `UsesContext` gives up its future where evidence `E` provides its variables: how every `.await` of an annotated function's body compiles |
//! | `AwaitableIn<W>` | the same for work of kind `W` that does not hold the function's evidence: awaitable only in work that carries the context (`CarriesTheContext`), never in `SpawnedWithoutContext` |
//! | [`AwaitableAnywhere<K>`](crate::AwaitableAnywhere) | implemented by no future: the bound of `UsesContext`'s own `Future` impl, so an `.await` with no evidence at all reports which variable is missing |
//! | `PassThrough` | the same calls on every other future, which they return unchanged, so that the macros can rewrite every `.await` without knowing its type |
//!
//! Every name rustc can show a user is also in the crate docs, "Names in error
//! messages", with what it means there.

mod provided;
mod strict;

pub use provided::{Anchor, Provided};
pub use strict::{
    AssumeProvided, AwaitableIn, AwaitableWith, CarriesTheContext, PassThrough, Provides,
    SpawnedWithoutContext, UsesContext,
};
