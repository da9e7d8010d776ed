// A strict helper declared in a library, awaited where its variable is not provided:
// the error names the helper's requirement, and no path the user cannot write.
async fn unannotated() -> String {
    ctxvar_ui_tests::tenant_table().await
}

// The fix: provide the variable.
#[ctxvar::with_context(ctxvar_ui_tests::TENANT = "acme")]
async fn fixed() -> String {
    ctxvar_ui_tests::tenant_table().await
}

fn main() {
    let _ = (unannotated(), fixed());
}
