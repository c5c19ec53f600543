//! Helpers for the unit tests of the evaluator modules: a tenant and a sign-in from inline
//! Graph JSON, through the public loaders (so the tests exercise what users load).

use crate::{CompiledTenant, SignIn, SourceFile, Tenant, TenantSource};
use serde_json::{Value, json};

/// Loads and compiles a tenant given as one Graph JSON document (`{"policies": [...]}`);
/// `None` when it does not load.
pub(crate) fn compile(tenant: &Value) -> Option<CompiledTenant> {
    let source = TenantSource {
        combined: Some(SourceFile::new("t.json", tenant.to_string())),
        ..Default::default()
    };
    Tenant::load(&source).ok().map(CompiledTenant::compile)
}

/// A sign-in of user `u1` to application `a1` with these `signInConditions` and, when not
/// null, this `session`; `None` when the request does not parse.
pub(crate) fn signin(conditions: Value, session: Value) -> Option<SignIn> {
    let mut request = json!({
        "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": "u1"},
        "signInContext": {"@odata.type": "#microsoft.graph.applicationContext",
                          "includeApplications": ["a1"]},
        "signInConditions": conditions});
    if !session.is_null() {
        request["session"] = session;
    }
    SignIn::from_value("r.json", &request).ok()
}
