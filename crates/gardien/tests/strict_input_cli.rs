#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests report failures through panics"
)]

//! What admins really type and export, through the `gardien` binary: each case that used to
//! give a silent, confident wrong answer now gives the exit status and message below.

mod support;

use support::{cli::gardien, cli::write_json};

use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// A fresh temporary folder for one test.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gardien-strict-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const SPO: &str = "00000003-0000-0ff1-ce00-000000000000";

fn block_outside_nl() -> Value {
    json!({"id": "p-block", "displayName": "Block outside NL", "state": "enabled",
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]},
                       "clientAppTypes": ["all"],
                       "locations": {"includeLocations": ["All"], "excludeLocations": ["loc-nl"]}},
        "grantControls": {"operator": "OR", "builtInControls": ["block"]}})
}

fn staff_compliant_device() -> Value {
    json!({"id": "p-device", "displayName": "Compliant device for SharePoint", "state": "enabled",
        "conditions": {"users": {"includeGroups": ["g-staff"]}, "applications": {"includeApplications": [SPO]},
                       "clientAppTypes": ["all"]},
        "grantControls": {"operator": "OR", "builtInControls": ["compliantDevice"]}})
}

/// A tenant: outside NL is blocked (53003), staff need a compliant device for SharePoint
/// (53000). Jan is staff.
fn tenant(dir: &Path, with_directory: bool) -> String {
    let mut t = json!({
        "policies": [block_outside_nl(), staff_compliant_device()],
        "namedLocations": [{"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "loc-nl",
                            "displayName": "NL", "countriesAndRegions": ["NL"],
                            "includeUnknownCountriesAndRegions": false}],
    });
    if with_directory {
        t["directory"] = json!({
            "users": [{"id": "u-jan", "userPrincipalName": "jan@contoso.nl", "memberOf": ["g-staff"]},
                      {"id": "u-ann", "userPrincipalName": "ann@contoso.nl"}],
            "groups": [{"id": "g-staff", "displayName": "Staff"}],
            "servicePrincipals": [{"id": "sp-spo", "appId": SPO, "displayName": "Office 365 SharePoint Online"},
                                  {"id": "sp-pay1", "appId": "app-pay1", "displayName": "Payroll"},
                                  {"id": "sp-pay2", "appId": "app-pay2", "displayName": "Payroll"}]
        });
    }
    write_json(dir, "tenant.json", &t)
}

/// Jan, from the Netherlands, to SharePoint, on an unregistered device.
fn request() -> Value {
    json!({
        "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": "u-jan"},
        "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [SPO]},
        "signInConditions": {"ipAddress": "192.0.2.1", "country": "NL", "devicePlatform": "windows"}
    })
}

fn rename(v: &mut Value, parent: &str, from: &str, to: &str) {
    let target = if parent.is_empty() {
        v
    } else {
        v.pointer_mut(parent).unwrap()
    };
    let o = target.as_object_mut().unwrap();
    let moved = o.remove(from).unwrap();
    o.insert(to.to_owned(), moved);
}

#[test]
fn request_typos_are_errors_with_did_you_mean() {
    let dir = folder("typos");
    let t = tenant(&dir, true);
    // The well-formed request: Jan is staff without a compliant device.
    let ok = write_json(&dir, "ok.json", &request());
    let (code, out, _) = gardien(&["evaluate", "--tenant", &t, "--request", &ok]);
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("decision: deny (AADSTS53000)"), "{out}");

    // `signinConditions`: was read as "no conditions" (deny 53003, unknown country).
    let mut typo = request();
    rename(&mut typo, "", "signInConditions", "signinConditions");
    let typo = write_json(&dir, "typo.json", &typo);
    let (code, out, err) = gardien(&["evaluate", "--tenant", &t, "--request", &typo, "--json"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.is_empty(), "nothing on stdout: {out}");
    assert!(
        err.contains("error[GV004]: unknown member `signinConditions` of evaluate request"),
        "{err}"
    );
    assert!(err.contains("typo.json:12:3 (/signinConditions)"), "{err}");
    assert!(
        err.contains("help: did you mean `signInConditions`?"),
        "{err}"
    );
    // The offending line is shown, the member underlined.
    assert!(err.contains("\"signinConditions\": {"), "{err}");
    assert!(err.contains("^^^^^^^^^^^^^^^^^^"), "{err}");

    // `devicePlatfrom`: was ignored.
    let mut typo = request();
    rename(
        &mut typo,
        "/signInConditions",
        "devicePlatform",
        "devicePlatfrom",
    );
    let typo = write_json(&dir, "platform.json", &typo);
    let (code, _, err) = gardien(&["whatif", "--tenant", &t, "--request", &typo]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("unknown member `devicePlatfrom` of signInConditions")
            && err.contains("did you mean `devicePlatform`?"),
        "{err}"
    );

    // `session.authMethods`: was ignored (no MFA done, silently).
    let mut typo = request();
    typo["session"] = json!({"authMethods": ["password", "fido2"]});
    let typo = write_json(&dir, "session.json", &typo);
    let (code, _, err) = gardien(&["evaluate", "--tenant", &t, "--request", &typo]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("/session/authMethods")
            && err.contains("unknown member `authMethods` of session")
            && err.contains("did you mean `authenticationMethods`?"),
        "{err}"
    );

    // A typo deeper down: `deviceInfo.isCompliantt`.
    let mut typo = request();
    typo["signInConditions"]["deviceInfo"] = json!({"isCompliantt": true});
    let typo = write_json(&dir, "device.json", &typo);
    let (code, _, err) = gardien(&["evaluate", "--tenant", &t, "--request", &typo]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("/signInConditions/deviceInfo/isCompliantt")
            && err.contains("did you mean `isCompliant`?"),
        "{err}"
    );
    // OData annotations are always allowed.
    let mut annotated = request();
    annotated["@odata.context"] = json!("https://graph.microsoft.com/v1.0/$metadata");
    let annotated = write_json(&dir, "annotated.json", &annotated);
    let (code, _, err) = gardien(&["evaluate", "--tenant", &t, "--request", &annotated]);
    assert_eq!(code, 2, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn names_resolve_through_the_directory_or_fail_with_candidates() {
    let dir = folder("names");
    let t = tenant(&dir, true);
    // A UPN: was taken as an unknown user id (challenge); Jan is really denied.
    let mut upn = request();
    upn["signInIdentity"]["userId"] = json!("Jan@Contoso.nl");
    let upn = write_json(&dir, "upn.json", &upn);
    let (code, out, _) = gardien(&["evaluate", "--tenant", &t, "--request", &upn]);
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("decision: deny (AADSTS53000)"), "{out}");

    // A display name where the app id belongs: was an app of that literal id.
    let mut name = request();
    name["signInContext"]["includeApplications"] = json!(["Office 365 SharePoint Online"]);
    let name = write_json(&dir, "name.json", &name);
    let (code, out, _) = gardien(&["evaluate", "--tenant", &t, "--request", &name]);
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("decision: deny (AADSTS53000)"), "{out}");

    // A UPN that is nobody: an error naming the nearest users, never a user of that id.
    let mut nobody = request();
    nobody["signInIdentity"]["userId"] = json!("jna@contoso.nl");
    let nobody = write_json(&dir, "nobody.json", &nobody);
    let (code, out, err) = gardien(&["evaluate", "--tenant", &t, "--request", &nobody]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains(
            "error[GV010]: no user with userPrincipalName `jna@contoso.nl` in directory.json"
        ),
        "{err}"
    );
    assert!(err.contains("(/signInIdentity/userId)"), "{err}");
    assert!(err.contains("`jan@contoso.nl`"), "{err}");

    // An ambiguous display name: an error listing both.
    let mut twice = request();
    twice["signInContext"]["includeApplications"] = json!(["Payroll"]);
    let twice = write_json(&dir, "twice.json", &twice);
    let (code, _, err) = gardien(&["whatif", "--tenant", &t, "--request", &twice]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("error[GV011]: `Payroll` is the display name of 2 service principals")
            && err.contains("`app-pay1`")
            && err.contains("`app-pay2`"),
        "{err}"
    );

    // An unknown display name: an error with the nearest names.
    let mut unknown = request();
    unknown["signInContext"]["includeApplications"] = json!(["Office 365 Sharepoint"]);
    let unknown = write_json(&dir, "unknown.json", &unknown);
    let (code, _, err) = gardien(&["evaluate", "--tenant", &t, "--request", &unknown]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no service principal named `Office 365 Sharepoint`")
            && err.contains("`Office 365 SharePoint Online`"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_policy_typo_is_a_warning_that_strict_validate_and_lint_fail_on() {
    let dir = folder("policy-typo");
    let mut p = block_outside_nl();
    p["conditions"]["users"] = json!({"includeUser": ["All"]});
    let t = write_json(
        &dir,
        "tenant.json",
        &json!({"policies": [p], "namedLocations": [{"@odata.type": "#microsoft.graph.countryNamedLocation",
            "id": "loc-nl", "displayName": "NL", "countriesAndRegions": ["NL"]}]}),
    );
    // validate: ok (exit 0) but says it, with the line and the nearest name.
    let (code, out, err) = gardien(&["validate", "--tenant", &t]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 warning"), "{out}");
    assert!(
        err.contains("warning[GV004]: unknown member `includeUser` of conditionalAccessUsers"),
        "{err}"
    );
    assert!(
        err.contains("(/policies/0/conditions/users/includeUser)"),
        "{err}"
    );
    assert!(err.contains("help: did you mean `includeUsers`?"), "{err}");
    assert!(err.contains("policy `Block outside NL` (p-block)"), "{err}");
    // --strict fails on it.
    let (code, out, _) = gardien(&["validate", "--tenant", &t, "--strict"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--strict: 1 warning found"), "{out}");
    // JSON names it too.
    let (code, out, _) = gardien(&["validate", "--tenant", &t, "--json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["warnings"][0]["code"], "GV004");
    assert_eq!(
        v["warnings"][0]["pointer"],
        "/policies/0/conditions/users/includeUser"
    );
    assert_eq!(v["warnings"][0]["help"], "did you mean `includeUsers`?");
    assert!(v["warnings"][0]["line"].as_u64().is_some(), "{v}");
    // lint fails (exit 2) and shows the warning before its findings.
    let (code, out, _) = gardien(&["lint", "--tenant", &t]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("did you mean `includeUsers`?"), "{out}");
    // Its finding about the member the policy lacks says that the member is absent.
    assert!(
        out.contains("/policies/0/conditions/users/includeUsers (absent)"),
        "{out}"
    );
    let (code, out, _) = gardien(&["lint", "--tenant", &t, "--format", "sarif"]);
    assert_eq!(code, 2);
    let sarif: Value = serde_json::from_str(&out).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let gv = results
        .iter()
        .find(|r| r["ruleId"] == "GV004")
        .expect("GV004 result");
    let index = gv["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["rules"][index]["id"],
        "GV004"
    );
    // evaluate still decides, and says it on stderr.
    let req = write_json(&dir, "r.json", &request());
    let (code, _, err) = gardien(&["evaluate", "--tenant", &t, "--request", &req]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning[GV004]") && err.contains("includeUser"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_directory_data_is_counted_and_warned() {
    let dir = folder("no-directory");
    let t = tenant(&dir, false);
    let (code, out, err) = gardien(&["validate", "--tenant", &t]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("ok: 2 policies, 1 named locations, 0 users, 0 groups; 1 warning"),
        "{out}"
    );
    assert!(
        out.contains("missing directory data: 1 of 2 policies reference 0 users, 1 group, 0 roles that directory.json does not define:\n  Compliant device for SharePoint\n"),
        "{out}"
    );
    assert!(err.contains("warning[GV012]"), "{err}");
    let (code, out, _) = gardien(&["validate", "--tenant", &t, "--json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["missingDirectory"]["groups"], json!(["g-staff"]));
    assert_eq!(v["missingDirectory"]["policies"][0]["id"], "p-device");
    let (code, _, _) = gardien(&["validate", "--tenant", &t, "--strict"]);
    assert_eq!(code, 1);
    // evaluate decides (the group is treated as not a member) and warns on stderr.
    let req = write_json(&dir, "r.json", &request());
    let (code, out, err) = gardien(&["evaluate", "--tenant", &t, "--request", &req]);
    assert_eq!(code, 0, "{out}");
    assert!(
        err.contains("warning[GV012]")
            && err.contains("1 policy references 1 group that directory.json does not define")
            && err.contains("membership in them is unknown"),
        "{err}"
    );
    let (_, _, err) = gardien(&["whatif", "--tenant", &t, "--request", &req]);
    assert!(err.contains("warning[GV012]"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn utf16le_with_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

#[test]
fn export_folders_and_powershell_output_load_as_is() {
    let dir = folder("export");
    // The layout the common export tools write: ConditionalAccess/ and NamedLocations/, one
    // object per file, UTF-16 with a BOM, a tool's own file at the root and group objects.
    let export = dir.join("export");
    let mut p = block_outside_nl();
    p["@odata.context"] = json!(
        "https://graph.microsoft.com/beta/$metadata#identity/conditionalAccess/policies/$entity"
    );
    p["conditions"]["times"] = Value::Null;
    std::fs::create_dir_all(export.join("ConditionalAccess")).unwrap();
    std::fs::create_dir_all(export.join("NamedLocations")).unwrap();
    std::fs::create_dir_all(export.join("Groups")).unwrap();
    std::fs::write(
        export.join("ConditionalAccess/CA001.json"),
        utf16le_with_bom(&serde_json::to_string_pretty(&p).unwrap()),
    )
    .unwrap();
    std::fs::write(
        export.join("NamedLocations/NL.json"),
        utf16le_with_bom(
            &json!({"@odata.type": "#microsoft.graph.countryNamedLocation", "id": "loc-nl",
                    "displayName": "NL", "countriesAndRegions": ["NL"],
                    "includeUnknownCountriesAndRegions": false, "countryLookupMethod": "clientIpAddress"})
            .to_string(),
        ),
    )
    .unwrap();
    write_json(
        &export,
        "Groups/Staff.json",
        &json!({"id": "g-staff", "displayName": "Staff", "securityEnabled": true}),
    );
    write_json(
        &export,
        "MigrationTable.json",
        &json!({"TenantId": "x", "Objects": []}),
    );
    let folder_arg = export.display().to_string();
    let (code, out, err) = gardien(&["validate", "--tenant", &folder_arg]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("ok: 1 policies, 1 named locations"),
        "{out}"
    );
    assert!(
        err.contains("note[GV014]") && err.contains("MigrationTable.json"),
        "{err}"
    );
    assert!(err.contains("1 group object file(s) skipped"), "{err}");
    assert!(
        !err.contains("warning"),
        "a clean export has no warning: {err}"
    );

    // A Graph collection file `{"@odata.context", "value": [...]}` given as the tenant.
    let collection = write_json(
        &dir,
        "policies.json",
        &json!({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies", "value": [staff_compliant_device()]}),
    );
    let (code, out, err) = gardien(&["validate", "--tenant", &collection]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("ok: 1 policies"), "{out}");

    // PowerShell SDK `ConvertTo-Json` output: PascalCase, /Date(n)/, objects of nulls.
    let ps = json!([{
        "Id": "p-ps", "DisplayName": "Require MFA", "State": "enabled",
        "CreatedDateTime": "/Date(1618315427741)/", "ModifiedDateTime": null, "AdditionalProperties": {},
        "Conditions": {"Users": {"IncludeUsers": ["All"], "ExcludeUsers": [], "IncludeGuestsOrExternalUsers": {"ExternalTenants": {"MembershipKind": null}, "GuestOrExternalUserTypes": null}},
                       "Applications": {"IncludeApplications": ["All"], "ApplicationFilter": {"Mode": null, "Rule": null}},
                       "ClientAppTypes": ["all"], "Times": null, "DeviceStates": {"IncludeStates": null, "ExcludeStates": null}},
        "GrantControls": {"Operator": "OR", "BuiltInControls": ["mfa"],
                          "AuthenticationStrength": {"Id": null, "AllowedCombinations": null},
                          "AuthenticationStrength@odata.context": "x"},
        "SessionControls": {"SignInFrequency": {"IsEnabled": null, "Type": null, "Value": null}}
    }]);
    let ps = write_json(&dir, "ps.json", &ps);
    let (code, out, err) = gardien(&["validate", "--tenant", &ps]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("ok: 1 policies"), "{out}");
    assert!(
        err.contains("note[GV013]: PowerShell SDK output (PascalCase members, /Date(n)/ dates) converted to Graph JSON"),
        "{err}"
    );
    let req = write_json(&dir, "r.json", &request());
    let (code, out, _) = gardien(&["evaluate", "--tenant", &ps, "--request", &req]);
    assert_eq!(code, 3, "the converted policy requires MFA: {out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn suite_typos_are_errors_with_did_you_mean() {
    let dir = folder("suite");
    tenant(&dir, true);
    write_json(&dir, "r.json", &request());
    let suite = dir.join("s.toml");
    std::fs::write(
        &suite,
        "tenant = \"tenant.json\"\n[[scenario]]\nname = \"jan\"\nrequest = \"r.json\"\nexpect = { decison = \"deny\" }\n",
    )
    .unwrap();
    let (code, out, _) = gardien(&["test", &suite.display().to_string()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error[GV004]: unknown field `decison`")
            && out.contains("did you mean `decision`?"),
        "{out}"
    );
    assert!(out.contains("s.toml:5:12"), "{out}");
    assert!(out.contains("expect = { decison = \"deny\" }"), "{out}");
    // An inline request is hand-written input too.
    std::fs::write(
        &suite,
        "tenant = \"tenant.json\"\n[[scenario]]\nname = \"jan\"\nexpect = { decision = \"deny\" }\n[scenario.request]\nsignInIdentity = { userId = \"jan@contoso.nl\" }\nsignInContext = { includeApplications = [\"Office 365 SharePoint Online\"] }\nsigninConditions = { country = \"NL\" }\n",
    )
    .unwrap();
    let (code, out, _) = gardien(&["test", &suite.display().to_string()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("did you mean `signInConditions`?"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
