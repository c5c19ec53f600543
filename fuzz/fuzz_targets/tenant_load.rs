//! Arbitrary bytes as each kind of tenant file (policy file, named-location file,
//! `directory.json`, single-file tenant) and as a sign-in request.
//!
//! Checks: loading returns a tenant or errors, never panics; every error names its file, says
//! why, and points inside the document whenever the document is JSON. A tenant that loads
//! compiles and decides the request (or a default sign-in), and the fast decision equals the
//! recorded evaluation's verdict.
#![no_main]

use gardien_core::json::{decode_text, parse_value};
use gardien_core::{CompiledTenant, SignIn, SourceFile, Tenant, TenantSource};
use libfuzzer_sys::fuzz_target;

fn check(name: &str, data: &[u8], source: TenantSource, signin: &SignIn) {
    match Tenant::load(&source) {
        Ok(tenant) => {
            let compiled = CompiledTenant::compile(tenant);
            let evaluation = compiled.evaluate(signin);
            assert_eq!(
                compiled.decide(signin),
                evaluation.verdict,
                "decide and evaluate disagree"
            );
            let _ = compiled.what_if(signin);
        }
        Err(errors) => {
            assert!(!errors.errors.is_empty());
            let document = decode_text(name, data)
                .and_then(|t| parse_value(name, &t))
                .ok();
            for e in &errors.errors {
                assert_eq!(e.file, name, "{e}");
                assert!(!e.reason.is_empty(), "{e:?}");
                if let Some(d) = &document {
                    assert!(
                        d.pointer(&e.pointer).is_some(),
                        "pointer `{}` is not in the file: {e}",
                        e.pointer
                    );
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let signin = SignIn::parse("r.json", data).unwrap_or_else(|_| SignIn::user("u", &["All"]));
    let file = |name: &str| SourceFile::new(name, data.to_vec());
    check(
        "p.json",
        data,
        TenantSource {
            policy_files: vec![file("p.json")],
            ..Default::default()
        },
        &signin,
    );
    check(
        "namedLocations.json",
        data,
        TenantSource {
            location_files: vec![file("namedLocations.json")],
            ..Default::default()
        },
        &signin,
    );
    check(
        "directory.json",
        data,
        TenantSource {
            directory: Some(file("directory.json")),
            ..Default::default()
        },
        &signin,
    );
    check(
        "tenant.json",
        data,
        TenantSource {
            combined: Some(file("tenant.json")),
            ..Default::default()
        },
        &signin,
    );
});
