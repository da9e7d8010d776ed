//! Compile-fail and compile-pass fixtures for ctxvar's macros.
//!
//! The `.stderr` snapshots are rustc's exact output, recorded with rustc 1.95.0 (the
//! one toolchain of this project's machines), so the test runs on exactly that stable
//! release and is ignored on any other. See `ui-tests/README.md` to update them.

#[rustversion::attr(
    not(stable(1.95)),
    ignore = "UI snapshots are recorded with rustc 1.95; see ui-tests/README.md"
)]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/**/*.rs");
    t.pass("tests/ui/pass/**/*.rs");
}
