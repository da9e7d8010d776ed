// `field` names the log field of a traced variable; without `trace` there is none.
#[ctxvar::context_var(field = "tenant.id")]
static TENANT: &str;

fn main() {}
