//! The macros never panic, whatever tokens they are given: random token streams, and
//! random arguments on well-formed items, through all three expanders.
//! Behaviour is tested through the runtime crate and trybuild; this only checks that
//! expansion always returns.

use std::str::FromStr;

use proc_macro2::TokenStream;

/// Fragments that the macros look at, and some they do not.
const FRAGMENTS: &[&str] = &[
    "ITEM_ID",
    "vars::ITEM_ID",
    "=",
    "==",
    ",",
    ";",
    ":",
    "::",
    "static",
    "mut",
    "fn",
    "async",
    "move",
    "pub",
    "pub(crate)",
    "u64",
    "&str",
    "'static",
    "1",
    "\"x\"",
    "self",
    "Self",
    "inherit",
    "false",
    "true",
    "dyn",
    "impl",
    "->",
    "?",
    "struct",
    "trait",
    "const",
    "{}",
    "()",
    "[]",
    "(ITEM_ID = 1)",
    "{ ITEM_ID.get() }",
    "Box::pin",
    "(async move {})",
    "ctxvar::spawn",
    "ctxvar::thread::spawn",
    "(move || ITEM_ID.get())",
    ".",
    "in_current_context",
    ".in_current_context()",
    "async move { ITEM_ID.get() }",
    "ctxvar::ContextFutureExt::in_current_context",
    "try_get",
    ".try_get()",
    ".is_bound()",
    ".try_with(|v| *v)",
    "format!",
    "(\"{:?}\", ITEM_ID.try_get())",
    "#[cfg(test)]",
    "#![allow(unused)]",
    "where",
    "T",
    "<",
    ">",
    "<T>",
    "..",
    "|",
    "||",
    "_",
    "r#ITEM_ID",
    "trace",
    "display",
    "debug",
    "'a",
    "for<'a>",
    "fn(&str)",
    "Fn(&str)",
];

/// A small deterministic generator (no dependency, reproducible failures).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from(self.0 >> 33).unwrap() % bound
    }

    fn tokens(&mut self, max: usize) -> String {
        let len = self.next(max + 1);
        (0..len)
            .map(|_| FRAGMENTS[self.next(FRAGMENTS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn stream(text: &str) -> Option<TokenStream> {
    TokenStream::from_str(text).ok()
}

const ITEMS: &[&str] = &[
    "fn f() {}",
    "async fn f(x: u64) -> Result<u64, ()> { Ok(x?) }",
    "fn m(&self) -> u64 { ITEM_ID.get() }",
    "fn f() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> { Box::pin(async move { let __self = self; let x = x; ctxvar::spawn(async move { ITEM_ID.get() }); }) }",
    "fn f<'async_trait>(self: Box<Self>) -> P<'async_trait> { Box::pin(async move { if let Some(__ret) = None::<u64> { return __ret; } let __self = self; let __ret: u64 = { ITEM_ID.get() }; __ret }) }",
    "async fn f() { let job = async move { ITEM_ID.get() }.in_current_context(); tokio::spawn(async move { async { ITEM_ID.get() }.in_current_context().await }); }",
    "fn f() -> impl Future<Output = u64> { ctxvar::ContextFutureExt::in_current_context(async move { ITEM_ID.get() }) }",
    "fn f() { x.in_current_context(); async {}.in_current_context::<u8>(1); ctxvar::prelude::ContextFutureExt::in_current_context(|| ITEM_ID.get()); }",
    "fn f() { tokio::spawn(async move { format!(\"{:?}\", ITEM_ID.try_with(|v| *v)); x.ITEM_ID.is_bound(); vars::ITEM_ID.try_get(); ITEM_ID . try_get }); std::thread::spawn(move || ITEM_ID.is_bound()); }",
    "fn f() { let ITEM_ID = 1; m!(ITEM_ID.try_get(), ::ITEM_ID.is_bound, r#ITEM_ID.try_get()); }",
    "const fn f(x: u64) -> u64 { ITEM_ID.get() }",
    "#[track_caller] fn f() -> u64 { ITEM_ID.get() }",
    "fn f() -> u64 { let x = ITEM_ID.get() * ; x }",
    "move || ITEM_ID.get()",
    "fn f(x: ) -> u64 { ITEM_ID.get() }",
    "static ITEM_ID: u64;",
    "pub static ITEM_ID: &str = \"x\";",
    "static ITEM_ID: &'a str;",
    "static mut ITEM_ID: for<'a> fn(&'a str) -> &'b str;",
    "const ITEM_ID: u64 = 1;",
    "static ITEM_ID;",
    "static ITEM_ID: (impl Display + ?Sized + 'a, [T2]) = x;",
    "static ITEM_ID: (dyn ?Sized + use<>);",
    "static ITEM_ID: str = \"x\";",
    "struct S;",
    "fn f();",
];

#[test]
fn expansion_never_panics() {
    let mut random = Lcg(0x5eed);
    for _ in 0..20_000 {
        let args = random.tokens(8);
        let item = if random.next(2) == 0 {
            ITEMS[random.next(ITEMS.len())].to_owned()
        } else {
            random.tokens(12)
        };
        let (Some(args), Some(item)) = (stream(&args), stream(&item)) else {
            continue; // unbalanced delimiters: not a token stream rustc could pass
        };
        let _ = crate::with_context::expand(args.clone(), item.clone());
        let _ = crate::uses_context::expand(args.clone(), item.clone());
        let _ = crate::context_var::expand(args, item);
    }
}
