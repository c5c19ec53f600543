//! Resource limits on input: every file, HTTP body and request gardien reads.
//!
//! The loaders in this crate enforce them (so the command line and the server get the same
//! checks), and each one fails with a [`LoadError`](crate::LoadError) naming the file, the JSON
//! pointer and the limit, e.g. `policies.json: /value: 600 policies; the limit is 512`.
//! Where Entra documents a figure the constant is that figure or, when gardien's own data
//! structures allow more, the larger value and why. `docs/limits.md` lists them all.

/// Largest file or HTTP body, in bytes: 64 MiB.
///
/// Checked on the raw bytes, before decoding or parsing. Entra has no file format; a real
/// export of 195 policies and 195 named locations of 2000 ranges each is about 30 MB, so this
/// leaves room while keeping memory bounded (a parsed JSON value takes several times its text).
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// Deepest JSON nesting (arrays and objects) in a file or body: 64 levels.
///
/// Graph's deepest Conditional Access shape (a combined tenant file down to
/// `…/guestsOrExternalUsers/externalTenants/members/0`) is under 12 levels. gardien checks the
/// nesting itself, before `serde_json` (whose own limit is 128), so that the error names the
/// JSON pointer of the value that is too deep.
pub const MAX_JSON_DEPTH: usize = 64;

/// Most Conditional Access policies in a tenant: 512.
///
/// Entra allows 195 (docs/reference/entra-semantics.md §7); gardien's policy bitsets hold 512, so
/// tenants that are larger than Entra allows (test and proposed policy sets) still load.
pub const MAX_POLICIES: usize = 512;

/// Most named locations in a tenant: 195, Entra's documented limit
/// (docs/reference/entra-semantics.md §7).
pub const MAX_NAMED_LOCATIONS: usize = 195;

/// Most IP ranges in one IP named location: 2000, Entra's documented limit
/// (docs/reference/entra-semantics.md §7).
pub const MAX_RANGES_PER_LOCATION: usize = 2000;

/// Most IP ranges in a whole tenant: 390,000, the product of the two limits above.
///
/// Implied by [`MAX_NAMED_LOCATIONS`] × [`MAX_RANGES_PER_LOCATION`] rather than checked on its
/// own; it is the size the IP index is designed and benchmarked for (docs/design.md: "195 named
/// locations x up to 2000 ranges").
pub const MAX_TOTAL_RANGES: usize = MAX_NAMED_LOCATIONS * MAX_RANGES_PER_LOCATION;

/// Most MFA trusted IP ranges (`directory.json` `mfaTrustedIps`): 50, Entra's limit
/// (docs/reference/entra-semantics.md §7).
pub const MAX_MFA_TRUSTED_IPS: usize = 50;

/// Longest device filter or custom-security-attribute filter rule, in characters: 3072,
/// Entra's documented limit (docs/reference/entra-semantics.md §3.8, §7).
pub const MAX_RULE_LENGTH: usize = 3072;

/// Deepest nesting of parentheses and `-not` in a filter rule: 32 levels.
///
/// Entra documents no figure. Parsing, evaluating and printing a rule recurse once per level,
/// so the limit keeps them far from the stack size of a server worker thread; real rules nest
/// two or three levels.
pub const MAX_RULE_DEPTH: usize = 32;

/// Longest object id, in characters: 256.
///
/// Entra object ids are 36-character GUIDs; gardien also accepts short opaque ids (`user-1`)
/// and `c1`…`c99`, but nothing longer than this: a longer "id" is a pasted document.
pub const MAX_ID_LENGTH: usize = 256;

/// Longest display name (policies, named locations, groups, service principals,
/// authentication strengths), in characters: 256.
///
/// Graph documents 256 characters for a group's `displayName`; the longest name in the policy
/// corpus is 151.
pub const MAX_NAME_LENGTH: usize = 256;

/// Most users, groups or service principals in `directory.json`, per list: 1,000,000.
///
/// Entra's default directory quota is 300,000 objects per tenant (50,000 without a verified
/// domain) and can be raised on request; this leaves room for large tenants while keeping the
/// compiled directory bounded.
pub const MAX_DIRECTORY_OBJECTS: usize = 1_000_000;

/// Most groups a user is in, directly and through nesting: 2048, Entra's documented figure
/// beyond which sign-ins may be blocked (docs/reference/entra-semantics.md §7).
///
/// Also the longest `memberOf` list of a user or a group. gardien expands nesting when it
/// compiles the tenant, so the limit also bounds the compiled directory.
pub const MAX_GROUPS_PER_USER: usize = 2048;

/// Most steps taken to expand group nesting for all users of `directory.json`: 2^26
/// (67,108,864).
///
/// A step is one (user, group) membership considered while following `memberOf` upwards, the
/// work [`crate::CompiledTenant::compile`] does; a tenant of 300,000 users in 50 groups each
/// takes 15 million. The bound keeps compiling under a few seconds and the compiled
/// memberships under 256 MiB whatever the shape of the nesting.
pub const MAX_EXPANDED_MEMBERSHIPS: usize = 1 << 26;

/// Most items in one list of a sign-in request (`includeApplications`,
/// `authenticationMethods`, `acceptedTermsOfUse`, `requestedScopes`, `physicalIds`,
/// `systemLabels`): 1000.
///
/// Graph documents no figure; a real sign-in names one resource and a handful of methods.
pub const MAX_REQUEST_LIST_ITEMS: usize = 1000;

/// Longest device property value in a request (`deviceInfo` strings), in characters: 1024.
///
/// Entra stores extension attributes of up to 1024 characters; other device properties are
/// shorter. Filter operators such as `-contains` cost the product of the value's and the
/// rule's lengths, so the bound keeps one decision cheap.
pub const MAX_DEVICE_VALUE_LENGTH: usize = 1024;

/// Most problems listed when a tenant is rejected: 100.
///
/// Not an input limit but a bound on the output: every bad item of a list is one error, and
/// errors inside a policy carry its name, so an unbounded list would multiply a file's size in
/// memory. Reading stops once this many problems are found, and the list ends with a line
/// saying so.
pub const MAX_ERRORS: usize = 100;

const _: () = assert!(MAX_NAMED_LOCATIONS + 2 <= crate::network::MAX_LOCATIONS);
const _: () = assert!(MAX_POLICIES <= 8 * std::mem::size_of::<crate::eval::PolicySet>());

#[cfg(test)]
mod tests {
    //! Each limit through the public loaders: at the limit it loads, one past it fails with a
    //! message naming the file, the pointer and the limit.

    use super::*;
    use crate::filter::DeviceFilterRule;
    use crate::{LoadError, LoadErrors, SignIn, SourceFile, Tenant, TenantSource};
    use serde_json::{Value, json};

    fn policy(i: usize) -> Value {
        json!({"id": format!("p{i}"), "displayName": format!("P{i}"), "state": "enabled",
               "conditions": {"users": {"includeUsers": ["All"]},
                              "applications": {"includeApplications": ["All"]},
                              "clientAppTypes": ["all"]},
               "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}})
    }

    fn file(name: &str, value: &Value) -> SourceFile {
        SourceFile::new(name, value.to_string())
    }

    fn policies(n: usize) -> Value {
        json!({"value": (0..n).map(policy).collect::<Vec<_>>()})
    }

    fn load(source: TenantSource) -> Result<Tenant, Vec<String>> {
        Tenant::load(&source).map_err(|e| e.errors.iter().map(LoadError::to_string).collect())
    }

    fn with_policies(value: &Value) -> TenantSource {
        TenantSource {
            policy_files: vec![file("policies.json", value)],
            ..Default::default()
        }
    }

    fn with_locations(value: &Value) -> TenantSource {
        TenantSource {
            location_files: vec![file("namedLocations.json", value)],
            ..Default::default()
        }
    }

    fn with_directory(value: &Value) -> TenantSource {
        TenantSource {
            directory: Some(file("directory.json", value)),
            ..Default::default()
        }
    }

    /// The only error of a failed load, displayed.
    fn only_error(r: Result<Tenant, Vec<String>>) -> String {
        match r {
            Ok(_) => "loaded".to_owned(),
            Err(mut e) if e.len() == 1 => e.remove(0),
            Err(e) => format!("{} errors: {e:?}", e.len()),
        }
    }

    fn request(extra: &[(&str, Value)]) -> Value {
        let mut r = json!({
            "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": "u1"},
            "signInContext": {"@odata.type": "#microsoft.graph.applicationContext",
                              "includeApplications": ["All"]},
            "signInConditions": {},
        });
        for (pointer, value) in extra {
            if let Some(slot) = r.pointer_mut(pointer) {
                *slot = value.clone();
            }
        }
        r
    }

    fn request_error(r: &Value) -> String {
        match SignIn::parse("request.json", r.to_string().as_bytes()) {
            Ok(_) => "parsed".to_owned(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn file_size() {
        let body = request(&[]).to_string();
        let mut at_limit = body.clone().into_bytes();
        at_limit.resize(MAX_FILE_BYTES, b' ');
        assert!(SignIn::parse("request.json", &at_limit).is_ok());
        at_limit.push(b' ');
        assert_eq!(
            SignIn::parse("request.json", &at_limit)
                .err()
                .map(|e| e.to_string()),
            Some("request.json: 67108865 bytes; the limit is 67108864 bytes (64 MiB)".to_owned())
        );
        let source = TenantSource {
            policy_files: vec![SourceFile::new("policies/big.json", at_limit)],
            ..Default::default()
        };
        assert_eq!(
            only_error(load(source)),
            "policies/big.json: 67108865 bytes; the limit is 67108864 bytes (64 MiB)"
        );
    }

    #[test]
    fn json_depth() {
        // The root object is level 1; member `@odata.a/b~` (an annotation, allowed anywhere)
        // holds `levels` nested arrays.
        let text = |levels: usize| {
            let base = request(&[]).to_string();
            let inner = format!("{}1{}", "[".repeat(levels), "]".repeat(levels));
            format!(
                "{{\"@odata.a/b~\":{inner},{}",
                base.get(1..).unwrap_or_default()
            )
        };
        assert!(SignIn::parse("request.json", text(MAX_JSON_DEPTH - 1).as_bytes()).is_ok());
        let e = SignIn::parse("request.json", text(MAX_JSON_DEPTH).as_bytes()).err();
        // The 64th array, at level 65, is the first past the limit.
        let pointer = format!("/@odata.a~1b~0{}", "/0".repeat(MAX_JSON_DEPTH - 1));
        assert_eq!(
            e.map(|e| e.to_string()),
            Some(format!(
                "request.json: {pointer}: JSON nested more than 64 levels deep; the limit is 64"
            ))
        );
        // Deeper than serde_json's own limit (128): still this error, not serde's.
        let e = SignIn::parse("request.json", text(10_000).as_bytes()).err();
        assert!(
            e.as_ref()
                .is_some_and(|e| e.reason.ends_with("the limit is 64")),
            "{e:?}"
        );
        // Brackets inside strings, escaped quotes included, do not count.
        let quoted = format!("{{\"k\":\"\\\"{}\"}}", "[{".repeat(100));
        assert!(crate::json::parse_value("f.json", &quoted).is_ok());
    }

    #[test]
    fn policy_count() {
        assert!(load(with_policies(&policies(MAX_POLICIES))).is_ok());
        let e = only_error(load(with_policies(&policies(MAX_POLICIES + 1))));
        assert_eq!(
            e,
            "policies.json: /value: 513 policies; the limit is 512\n  help: Entra allows 195 policies per tenant; gardien loads up to 512"
        );
        // Across files, the file that passes the limit is named.
        let source = TenantSource {
            policy_files: vec![
                file("policies/a.json", &policies(300)),
                file(
                    "policies/b.json",
                    &json!((300..600).map(policy).collect::<Vec<_>>()),
                ),
            ],
            ..Default::default()
        };
        assert!(
            only_error(load(source))
                .starts_with("policies/b.json: 600 policies in 2 files; the limit is 512")
        );
    }

    fn ip_location(i: usize, ranges: usize) -> Value {
        let ranges: Vec<Value> = (0..ranges)
            .map(|r| json!({"cidrAddress": format!("10.{}.{}.0/24", r / 256, r % 256)}))
            .collect();
        json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "id": format!("l{i}"),
               "displayName": format!("L{i}"), "ipRanges": ranges})
    }

    #[test]
    fn named_location_count() {
        let locations =
            |n: usize| json!({"value": (0..n).map(|i| ip_location(i, 1)).collect::<Vec<_>>()});
        assert!(load(with_locations(&locations(MAX_NAMED_LOCATIONS))).is_ok());
        assert_eq!(
            only_error(load(with_locations(&locations(MAX_NAMED_LOCATIONS + 1)))),
            "namedLocations.json: /value: 196 named locations; the limit is 195\n  help: Entra allows 195 named locations per tenant"
        );
    }

    #[test]
    fn ranges_per_location() {
        let at_limit = json!([ip_location(0, MAX_RANGES_PER_LOCATION)]);
        assert!(load(with_locations(&at_limit)).is_ok());
        let over = json!([ip_location(0, MAX_RANGES_PER_LOCATION + 1)]);
        assert_eq!(
            only_error(load(with_locations(&over))),
            "namedLocations.json: /0/ipRanges: 2001 IP ranges; the limit is 2000 per named location"
        );
    }

    #[test]
    fn mfa_trusted_ips() {
        let ips = |n: usize| json!({"mfaTrustedIps": (0..n).map(|i| format!("192.0.{i}.0/24")).collect::<Vec<_>>()});
        assert!(load(with_directory(&ips(MAX_MFA_TRUSTED_IPS))).is_ok());
        assert_eq!(
            only_error(load(with_directory(&ips(MAX_MFA_TRUSTED_IPS + 1)))),
            "directory.json: /mfaTrustedIps: 51 MFA trusted IP ranges; the limit is 50"
        );
    }

    #[test]
    fn device_filter_length_and_depth_in_a_policy() {
        let with_rule = |rule: String| {
            let mut p = policy(0);
            p["conditions"]["devices"] = json!({"deviceFilter": {"mode": "exclude", "rule": rule}});
            load(with_policies(&json!([p])))
        };
        // `device.model -eq ""` is 19 characters.
        let value = "x".repeat(MAX_RULE_LENGTH - 19);
        assert!(with_rule(format!("device.model -eq \"{value}\"")).is_ok());
        assert_eq!(
            only_error(with_rule(format!("device.model -eq \"{value}x\""))),
            "policies.json: /0/conditions/devices/deviceFilter/rule: policy `P0`: invalid device filter: at character 3073: rule is 3073 characters long; the limit is 3072"
        );
        let nested = |depth: usize| {
            format!(
                "{}device.model -eq \"x\"{}",
                "(".repeat(depth),
                ")".repeat(depth)
            )
        };
        assert!(with_rule(nested(MAX_RULE_DEPTH)).is_ok());
        assert!(DeviceFilterRule::parse(&nested(MAX_RULE_DEPTH + 1)).is_err());
        assert_eq!(
            only_error(with_rule(nested(MAX_RULE_DEPTH + 1))),
            "policies.json: /0/conditions/devices/deviceFilter/rule: policy `P0`: invalid device filter: at character 33: rule nests more than 32 levels of parentheses and `-not`; the limit is 32"
        );
    }

    #[test]
    fn id_and_name_length() {
        let id = |n: usize| "a".repeat(n);
        let mut p = policy(0);
        p["id"] = json!(id(MAX_ID_LENGTH));
        p["displayName"] = json!("n".repeat(MAX_NAME_LENGTH));
        p["conditions"]["users"]["excludeGroups"] = json!([id(MAX_ID_LENGTH)]);
        assert!(load(with_policies(&json!([p.clone()]))).is_ok());
        p["conditions"]["users"]["excludeGroups"] = json!([id(MAX_ID_LENGTH + 1)]);
        assert_eq!(
            only_error(load(with_policies(&json!([p.clone()])))),
            format!(
                "policies.json: /0/conditions/users/excludeGroups/0: policy `{}`: id is 257 characters long; the limit is 256",
                "n".repeat(MAX_NAME_LENGTH)
            )
        );
        let mut p = policy(0);
        p["id"] = json!(id(MAX_ID_LENGTH + 1));
        assert_eq!(
            only_error(load(with_policies(&json!([p])))),
            "policies.json: /0/id: policy `P0`: id is 257 characters long; the limit is 256"
        );
        let mut p = policy(0);
        p["displayName"] = json!("n".repeat(MAX_NAME_LENGTH + 1));
        assert_eq!(
            only_error(load(with_policies(&json!([p])))),
            "policies.json: /0/displayName: policy `p0`: name is 257 characters long; the limit is 256"
        );
        let group = |name: String| json!({"groups": [{"id": "g1", "displayName": name}]});
        assert!(load(with_directory(&group("n".repeat(MAX_NAME_LENGTH)))).is_ok());
        assert_eq!(
            only_error(load(with_directory(&group(
                "n".repeat(MAX_NAME_LENGTH + 1)
            )))),
            "directory.json: /groups/0/displayName: name is 257 characters long; the limit is 256"
        );
        let r = request(&[("/signInIdentity/userId", json!(id(MAX_ID_LENGTH)))]);
        assert_eq!(request_error(&r), "parsed");
        let r = request(&[("/signInIdentity/userId", json!(id(MAX_ID_LENGTH + 1)))]);
        assert_eq!(
            request_error(&r),
            "request.json: /signInIdentity/userId: id is 257 characters long; the limit is 256"
        );
        // The beta spelling of an authentication context is named as written.
        let r = request(&[(
            "/signInContext",
            json!({"@odata.type": "#microsoft.graph.whatIfAuthenticationContext",
                   "authenticationContext": id(MAX_ID_LENGTH + 1)}),
        )]);
        assert_eq!(
            request_error(&r),
            "request.json: /signInContext/authenticationContext: id is 257 characters long; the limit is 256"
        );
    }

    #[test]
    fn directory_object_count() {
        // Just below: the count is accepted and the objects are read (and found wanting).
        let users = |n: usize| json!({"users": vec![json!({}); n]});
        let below = load(with_directory(&users(MAX_DIRECTORY_OBJECTS)));
        assert!(
            below.as_ref().err().is_some_and(|e| e
                .first()
                .is_some_and(|e| e == "directory.json: /users/0: missing `id`")),
            "{below:?}"
        );
        assert_eq!(
            only_error(load(with_directory(&users(MAX_DIRECTORY_OBJECTS + 1)))),
            "directory.json: /users: 1000001 users; the limit is 1000000"
        );
    }

    #[test]
    fn group_memberships() {
        let direct = |n: usize| {
            let groups: Vec<String> = (0..n).map(|g| format!("g{g}")).collect();
            json!({"users": [{"id": "u1", "memberOf": groups}]})
        };
        assert!(load(with_directory(&direct(MAX_GROUPS_PER_USER))).is_ok());
        assert_eq!(
            only_error(load(with_directory(&direct(MAX_GROUPS_PER_USER + 1)))),
            "directory.json: /users/0/memberOf: 2049 groups; the limit is 2048"
        );
        // Nesting: a chain of groups, each member of the next.
        let chain = |n: usize| {
            let groups: Vec<Value> = (0..n)
                .map(|g| json!({"id": format!("g{g}"), "memberOf": [format!("g{}", g + 1)]}))
                .collect();
            json!({"groups": groups, "users": [{"id": "u0", "memberOf": []},
                                                {"id": "u1", "memberOf": ["g0"]}]})
        };
        // g0 … g(n-1) plus g(n), named only in memberOf.
        assert!(load(with_directory(&chain(MAX_GROUPS_PER_USER - 1))).is_ok());
        assert_eq!(
            only_error(load(with_directory(&chain(MAX_GROUPS_PER_USER)))),
            "directory.json: /users/1/memberOf: user `u1` is in more than 2048 groups (direct and nested); the limit is 2048"
        );
    }

    #[test]
    fn request_lists_and_device_values() {
        let apps = |n: usize| json!((0..n).map(|i| format!("app{i}")).collect::<Vec<_>>());
        let r = request(&[(
            "/signInContext/includeApplications",
            apps(MAX_REQUEST_LIST_ITEMS),
        )]);
        assert_eq!(request_error(&r), "parsed");
        let r = request(&[(
            "/signInContext/includeApplications",
            apps(MAX_REQUEST_LIST_ITEMS + 1),
        )]);
        assert_eq!(
            request_error(&r),
            "request.json: /signInContext/includeApplications: 1001 items; the limit is 1000"
        );
        let device = |key: &str, n: usize| {
            let value = if key == "systemLabels" {
                json!(vec!["l"; n])
            } else {
                json!("v".repeat(n))
            };
            request(&[("/signInConditions", json!({"deviceInfo": {key: value}}))])
        };
        assert_eq!(
            request_error(&device("displayName", MAX_DEVICE_VALUE_LENGTH)),
            "parsed"
        );
        assert_eq!(
            request_error(&device("displayName", MAX_DEVICE_VALUE_LENGTH + 1)),
            "request.json: /signInConditions/deviceInfo/displayName: value is 1025 characters long; the limit is 1024"
        );
        assert_eq!(
            request_error(&device("extensionAttribute3", MAX_DEVICE_VALUE_LENGTH)),
            "parsed"
        );
        assert_eq!(
            request_error(&device("extensionAttribute3", MAX_DEVICE_VALUE_LENGTH + 1)),
            "request.json: /signInConditions/deviceInfo/extensionAttribute3: value is 1025 characters long; the limit is 1024"
        );
        assert_eq!(
            request_error(&device("systemLabels", MAX_REQUEST_LIST_ITEMS)),
            "parsed"
        );
        assert_eq!(
            request_error(&device("systemLabels", MAX_REQUEST_LIST_ITEMS + 1)),
            "request.json: /signInConditions/deviceInfo/systemLabels: 1001 items; the limit is 1000"
        );
    }

    #[test]
    fn error_count() {
        let bad_groups = |n: usize| {
            let mut p = policy(0);
            p["conditions"]["users"]["excludeGroups"] = json!(vec!["<group>"; n]);
            Tenant::load(&with_policies(&json!([p])))
                .err()
                .unwrap_or_default()
        };
        let LoadErrors { errors, .. } = bad_groups(MAX_ERRORS);
        assert_eq!(errors.len(), MAX_ERRORS);
        assert!(errors.iter().all(|e| e.reason.contains("placeholder")));
        let LoadErrors { errors, .. } = bad_groups(100_000);
        assert_eq!(errors.len(), MAX_ERRORS + 1);
        assert_eq!(
            errors.last().map(LoadError::to_string).as_deref(),
            Some(
                "policies.json: more than 100 problems; the limit is 100 listed\n  help: fix these and load again to see the others"
            )
        );
    }
}
