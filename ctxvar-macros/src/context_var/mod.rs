//! `#[context_var] static NAME: Type;` (or `= default;`): declare a variable.
//!
//! Three steps: [`Declaration`] and [`Options`] parse the tokens, keeping the span of
//! everything the user wrote; [`validate`] checks them and builds the model, a
//! [`Variable`]; [`expand_variable`] turns the model into items and cannot fail. An
//! error found on the way is reported next to a best-effort declaration of the
//! variable, so its uses elsewhere still resolve and one mistake gives one error.

use proc_macro2::TokenStream;

mod docs;
mod expand;
mod parse;
#[cfg(test)]
mod tests;
mod validate;

use expand::expand_variable;
use parse::{Declaration, Options};
use validate::validate;

pub(crate) use docs::tokens_text;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let declaration = match syn::parse2::<Declaration>(item.clone()) {
        Ok(declaration) => declaration,
        // Some other item (a `fn`, a `struct`): keep it, so that its uses resolve.
        Err(err) => {
            let mut tokens = err.into_compile_error();
            tokens.extend(item);
            return tokens;
        }
    };
    let mut errors = Errors::default();
    let options = syn::parse2::<Options>(args).unwrap_or_else(|err| {
        errors.push(err);
        Options::default()
    });
    let renamed = crate::crate_path::renamed();
    let variable = validate(declaration, options, renamed.as_deref(), &mut errors);
    let mut tokens = errors.into_compile_error();
    if let Some(variable) = variable {
        tokens.extend(expand_variable(&variable));
    }
    tokens
}

/// The errors found so far, reported together.
#[derive(Default)]
pub(super) struct Errors(Option<syn::Error>);

impl Errors {
    pub(super) fn push(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(err),
            None => self.0 = Some(err),
        }
    }

    fn into_compile_error(self) -> TokenStream {
        self.0
            .map(syn::Error::into_compile_error)
            .unwrap_or_default()
    }
}
