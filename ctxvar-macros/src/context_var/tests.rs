//! Unit tests of `#[context_var]`'s expansion, on its tokens.

use std::str::FromStr;

use proc_macro2::TokenStream;

fn expand(args: &str, item: &str) -> String {
    super::expand(
        TokenStream::from_str(args).unwrap(),
        TokenStream::from_str(item).unwrap(),
    )
    .to_string()
}

/// Each mistake gives exactly one error, next to a declaration of the variable
/// (the trait and the function named `ITEM_ID`), so that its uses still resolve.
#[test]
fn one_error_and_the_variable_still_declared() {
    let cases = [
        ("inherit = false, inherit = true", "static ITEM_ID: u64;"),
        ("trace, trace", "static ITEM_ID: u64;"),
        ("inherit", "static ITEM_ID: u64;"),
        ("inherit = no", "static ITEM_ID: u64;"),
        ("trace = json", "static ITEM_ID: u64;"),
        ("default = 3", "static ITEM_ID: u64;"),
        ("\"trace\"", "static ITEM_ID: u64;"),
        ("inherit = false trace", "static ITEM_ID: u64;"),
        ("field = \"item\"", "static ITEM_ID: u64;"),
        ("trace, field", "static ITEM_ID: u64;"),
        ("trace, field = 3", "static ITEM_ID: u64;"),
        ("trace, field = \"\"", "static ITEM_ID: u64;"),
        ("trace, field = \"item id\"", "static ITEM_ID: u64;"),
        (
            "trace, field = \"a\", field = \"b\"",
            "static ITEM_ID: u64;",
        ),
        ("", "static mut ITEM_ID: u64;"),
        ("", "const ITEM_ID: u64 = 1;"),
        ("", "static ITEM_ID: &'a str;"),
        ("", "static ITEM_ID: Box<dyn Fn(&'a str) + Sync>;"),
        ("", "static ITEM_ID: impl std::fmt::Display;"),
        ("", "static ITEM_ID: Vec<impl Send>;"),
        ("", "static ITEM_ID: str;"),
        ("", "static ITEM_ID: ([u8]);"),
        ("", "static ITEM_ID: dyn std::fmt::Display + Send;"),
        ("", "static ITEM_ID: Vec<T>;"),
        ("", "static ITEM_ID: std::collections::HashMap<K, V2>;"),
        (
            "trace = display",
            "static ITEM_ID: impl std::fmt::Display = 1;",
        ),
        ("", "static ITEM_ID: str = \"none\";"),
    ];
    for (args, item) in cases {
        let output = expand(args, item);
        // Errors are `compile_error! { .. }`; a traced variable's expansion also holds
        // `compile_error!(..)`, the error for a missing feature, which never fires here.
        assert_eq!(
            output.matches("compile_error ! {").count(),
            1,
            "`#[context_var({args})] {item}` gave:\n{output}"
        );
        assert!(
            output.contains("fn ITEM_ID ()"),
            "{args} / {item}: {output}"
        );
        assert!(
            output.contains("trait ITEM_ID"),
            "{args} / {item}: {output}"
        );
        // A named lifetime is reported, then declared as `'static`.
        assert!(!output.contains("'a str"), "{args} / {item}: {output}");
    }
}

/// Lifetimes bound by a `for<..>` in the type are not errors, and stay.
#[test]
fn higher_ranked_lifetimes_are_kept() {
    let output = expand("", "static F: for<'a> fn(&'a str) -> &'a str;");
    assert!(!output.contains("compile_error"), "{output}");
    assert!(
        output.contains("for < 'a > fn (& 'a str) -> & 'a str"),
        "{output}"
    );
    let output = expand("", "static F: &(dyn for<'a> Fn(&'a str) + Sync);");
    assert!(!output.contains("compile_error"), "{output}");
    assert!(
        output.contains("type Value = & 'static (dyn for < 'a > Fn (& 'a str) + Sync)"),
        "{output}"
    );
}

/// An item that is not a `static` is kept as it is, after the one error.
#[test]
fn other_items_are_kept() {
    let output = expand("", "fn item_id() -> u64 { 7 }");
    assert_eq!(output.matches("compile_error ! {").count(), 1, "{output}");
    assert!(output.ends_with("fn item_id () -> u64 { 7 }"), "{output}");
}

/// Types and defaults on the variable's page read as written.
#[test]
fn tokens_read_as_written() {
    let cases = [
        "u64",
        "&'static str",
        "Vec<(i64, &'static str)>",
        "for<'a> fn(&'a str) -> &'a str",
        "&'static (dyn Fn(&str) + Sync)",
        "std::collections::HashMap<String, Vec<u8>>",
        "String::from(\"x\")",
        "vec![(-1, \"a\"), (2, \"b\")]",
        "Duration::from_secs(30).as_millis()",
    ];
    for case in cases {
        assert_eq!(
            super::tokens_text(TokenStream::from_str(case).unwrap()),
            case
        );
    }
}

/// The summary opens with what the variable is, in the author's first paragraph
/// (the line item lists show); the facts follow, before the rest of the author's
/// docs.
#[test]
fn docs_lead_with_the_variable_then_the_summary() {
    let output = expand(
        "trace = display, field = \"item.id\"",
        "/// The id.\n///\n/// More.\nstatic ITEM_ID: u64;",
    );
    let lead = output
        .find("\"*Context variable* of type `u64`, required.\"")
        .unwrap();
    let summary = output.find("\" The id.\"").unwrap();
    let facts = output.find("**Default**: none").unwrap();
    let traced = output.find("as the field `item.id` (`Display`)").unwrap();
    let more = output.find("\" More.\"").unwrap();
    assert!(
        lead < summary && summary < facts && facts < traced && traced < more,
        "{output}"
    );
    // No blank line between the lead and the summary: one paragraph.
    assert!(
        !output[lead..summary].contains("# [doc = \"\"]"),
        "{output}"
    );
    let output = expand("", "static ITEM_ID: &str = \"none\";");
    assert!(
        output.contains(r#"of type `&'static str`, default `\"none\"`."#),
        "{output}"
    );
    assert!(output.contains(r#"**Default**: `\"none\"`"#), "{output}");
}

/// Only the docs are on the page: the methods (documented in `context_var`'s docs,
/// which the page links) and the blanket impl behind `NAME.get()` are hidden, so
/// the declaration reads `pub trait NAME { }` and names no hidden bound.
#[test]
fn methods_and_blanket_impl_are_hidden() {
    let output = expand("", "pub static ITEM_ID: u64;");
    let blanket_impl = "# [doc (hidden)] impl < __F : :: core :: ops :: Fn ()";
    let start = output.find("trait ITEM_ID {").unwrap();
    let end = output.find(blanket_impl).unwrap();
    let trait_body = &output[start..end];
    let methods = trait_body.matches(" fn ").count();
    assert_eq!(methods, 11, "{output}");
    assert_eq!(
        trait_body.matches("# [doc (hidden)] ").count(),
        methods,
        "{output}"
    );
    assert!(
        output.contains("context_var#using-the-variable"),
        "{output}"
    );
}

/// A type that cannot be a variable's is replaced by one that can, and so are the
/// default and `trace` of the declaration (which would not fit the new type).
#[test]
fn reported_types_are_replaced() {
    let output = expand("trace = display", "static ITEM_ID: impl Display = 1;");
    assert!(output.contains("type Value = ()"), "{output}");
    assert!(!output.contains("impl Display ;"), "{output}");
    assert!(!output.contains("TraceDisplay"), "{output}");
    assert!(
        !output.contains("1i32") && !output.contains("= 1 ;"),
        "{output}"
    );
    // With a default, so that reads elsewhere compile: no `NAME_is_bound_here`.
    assert!(!output.contains("ITEM_ID_is_bound_here"), "{output}");
    let output = expand("", "static ITEM_ID: str;");
    assert!(
        output.contains("type Value = :: std :: string :: String"),
        "{output}"
    );
    let output = expand("", "static ITEM_ID: [u8];");
    assert!(
        output.contains("type Value = :: std :: vec :: Vec < u8 >"),
        "{output}"
    );
    let output = expand("", "static ITEM_ID: dyn Display + Send;");
    assert!(
        output.contains(
            "type Value = :: std :: boxed :: Box < dyn Display + Send + :: core :: marker :: Sync >"
        ),
        "{output}"
    );
    let output = expand("", "static ITEM_ID: Vec<T>;");
    assert!(output.contains("type Value = Vec < () >"), "{output}");
    // Names that read as types, and type parameters written by path, are kept.
    for ty in [
        "Vec<Tx>",
        "Vec<self::T>",
        "Vec<T<u8>>",
        "[u8; 4]",
        "Box<str>",
    ] {
        let output = expand("", &format!("static ITEM_ID: {ty};"));
        assert!(!output.contains("compile_error"), "{ty}: {output}");
    }
}

/// The expansion's own type parameters have names that rustc cannot suggest for a
/// type the user misspelled (it suggests names within a small edit distance).
#[test]
fn type_parameters_are_not_single_letters() {
    let output = expand("", "static ITEM_ID: u64;");
    for param in ["< R >", "< F :", "< R ,", "-> R"] {
        assert!(!output.contains(param), "{param}: {output}");
    }
}

/// `static NAME;` is rustc's own error: nothing is added to it.
#[test]
fn missing_type_is_left_to_rustc() {
    assert_eq!(expand("", "static ITEM_ID;"), "");
}
