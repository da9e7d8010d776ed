//! The attributes in a crate of edition 2021. A strict helper returns `impl Future`
//! in a type, which in this edition would not capture a named lifetime of its
//! parameters; these helpers have named lifetimes, elided ones, type parameters and
//! `impl Trait` parameters, and borrow from all of them.

use std::fmt::Display;

use ctxvar::{context_var, uses_context, with_context};

#[context_var]
static TENANT: &'static str;

#[context_var]
static ATTEMPT: u32 = 1;

#[uses_context(TENANT, strict)]
async fn table<'a, T: Display>(
    name: &'a str,
    suffix: &String,
    id: T,
    note: impl Display,
) -> String {
    tokio::task::yield_now().await;
    format!("{}.{name}{suffix}#{id}{note}", TENANT.get())
}

struct Shop<'s>(&'s str);

impl<'s> Shop<'s> {
    #[uses_context(TENANT, strict)]
    async fn owner(&self, prefix: impl AsRef<str>) -> (&'s str, String) {
        tokio::task::yield_now().await;
        (self.0, format!("{}{}", prefix.as_ref(), TENANT.get()))
    }
}

#[uses_context(TENANT)]
async fn not_strict(name: &str) -> String {
    tokio::task::yield_now().await;
    format!("{}:{name}:{}", TENANT.get(), ATTEMPT.get())
}

#[with_context(TENANT = tenant, ATTEMPT = 2)]
async fn handler(tenant: &'static str) -> String {
    let suffix = String::from("!");
    let shop = Shop("bob");
    let (owner, greeting) = shop.owner("hi ").await;
    let spawned = ctxvar::spawn(async move { TENANT.get() }).await.unwrap();
    format!(
        "{} {owner} {greeting} {} {spawned}",
        table("orders", &suffix, 7, '?').await,
        not_strict("x").await
    )
}

#[tokio::test]
async fn strict_and_plain_helpers_compile_and_run_in_edition_2021() {
    assert_eq!(
        handler("acme").await,
        "acme.orders!#7? bob hi acme acme:x:2 acme"
    );
    assert!(!TENANT.is_bound());
}
