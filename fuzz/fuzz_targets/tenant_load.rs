//! Arbitrary bytes as a policy file, a named-locations file and a sign-in request: loading
//! returns a value or errors, never panics; a tenant that loads also compiles and decides.
#![no_main]

use gardien_core::{CompiledTenant, SignIn, SourceFile, Tenant, TenantSource};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = TenantSource {
        policy_files: vec![SourceFile::new("p.json", data.to_vec())],
        ..Default::default()
    };
    let request = SignIn::parse("r.json", data);
    if let Ok(tenant) = Tenant::load(&source) {
        let compiled = CompiledTenant::compile(tenant);
        let signin = request.unwrap_or_else(|_| SignIn::user("u", &["All"]));
        let _ = compiled.evaluate(&signin);
    }
    let _ = Tenant::load(&TenantSource {
        location_files: vec![SourceFile::new("namedLocations.json", data.to_vec())],
        ..Default::default()
    });
});
