// A field name is written into text and JSON log lines as it is: it may hold ASCII
// letters, digits, `_`, `.` and `-` only.
#[ctxvar::context_var(trace, field = "tenant id")]
static TENANT: &str;

fn main() {}
