#![allow(clippy::panic, reason = "test failures report through panics")]

//! End-to-end tests of `gardien test`: the example suite of the repository passes (this is
//! what runs it in CI), a deliberately failing suite exits 2 with readable failures, and
//! suites that cannot run exit 1; the JUnit file is checked for well-formedness and counts.

mod support;

use support::{TempDir, cli::gardien_in, repo_root};

fn gardien(args: &[&str]) -> (i32, String, String) {
    gardien_in(&repo_root(), args)
}

/// Checks that `xml` is well-formed enough for CI tools: a declaration, then properly nested
/// elements with quoted attributes and only the five predefined entities. Returns the
/// element names in document order.
fn check_xml(xml: &str) -> Vec<String> {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .unwrap_or_else(|| panic!("no XML declaration: {xml}"));
    let mut open: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        check_text(&rest[..start]);
        let end = rest[start..]
            .find('>')
            .map(|e| start + e)
            .unwrap_or_else(|| panic!("unclosed tag in {rest}"));
        let tag = &rest[start + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            let top = open.pop().unwrap_or_else(|| panic!("stray </{name}>"));
            assert_eq!(top, name, "mismatched closing tag");
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name: String = tag.chars().take_while(|c| !c.is_whitespace()).collect();
            assert!(
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
                "bad name `{name}`"
            );
            let mut attrs = tag[name.len()..].trim();
            while !attrs.is_empty() {
                let eq = attrs
                    .find("=\"")
                    .unwrap_or_else(|| panic!("bad attribute in <{tag}>"));
                let close = attrs[eq + 2..]
                    .find('"')
                    .unwrap_or_else(|| panic!("unquoted attribute in <{tag}>"));
                check_text(&attrs[eq + 2..eq + 2 + close]);
                attrs = attrs[eq + 2 + close + 1..].trim_start();
            }
            names.push(name.clone());
            if !self_closing {
                open.push(name);
            }
        }
        rest = &rest[end + 1..];
    }
    assert!(rest.trim().is_empty(), "text after the root element");
    assert!(open.is_empty(), "unclosed elements: {open:?}");
    names
}

/// Character data: no raw `<`, entities only the predefined ones.
fn check_text(text: &str) {
    assert!(!text.contains('<'), "raw `<` in {text}");
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        let entity = &rest[i..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| entity.starts_with(e)),
            "bad entity in {text}"
        );
        rest = &rest[i + 1..];
    }
}

/// The value of `attr` on the first `<element ` tag.
fn attribute(xml: &str, element: &str, attr: &str) -> String {
    let tag = xml
        .split(&format!("<{element} "))
        .nth(1)
        .and_then(|t| t.split('>').next())
        .unwrap_or_else(|| panic!("no <{element}>"));
    format!(" {tag}")
        .split(&format!(" {attr}=\""))
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap_or_else(|| panic!("no {attr} on <{element}>"))
        .to_owned()
}

#[test]
fn the_example_suite_passes_with_junit() {
    let tmp = TempDir::new("suite-demo");
    let junit = tmp.path().join("junit.xml");
    let junit_arg = junit.display().to_string();
    let (code, out, err) = gardien(&["test", "examples/suites/demo.toml", "--junit", &junit_arg]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("8 scenarios in 1 suite: 8 passed, 0 failed, 0 errors"),
        "{out}"
    );
    assert!(
        out.contains("  ok    laptop abroad on a VPN is blocked by location (line 14)"),
        "{out}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap_or_else(|e| panic!("no JUnit file: {e}"));
    let names = check_xml(&xml);
    assert_eq!(names.iter().filter(|n| *n == "testsuites").count(), 1);
    assert_eq!(names.iter().filter(|n| *n == "testsuite").count(), 1);
    assert_eq!(names.iter().filter(|n| *n == "testcase").count(), 8);
    assert!(
        !names.iter().any(|n| n == "failure" || n == "error"),
        "{xml}"
    );
    assert_eq!(attribute(&xml, "testsuites", "tests"), "8");
    assert_eq!(attribute(&xml, "testsuites", "failures"), "0");
    assert_eq!(attribute(&xml, "testsuites", "errors"), "0");
    assert_eq!(
        attribute(&xml, "testsuite", "name"),
        "Demo tenant: the classic cases"
    );
    assert_eq!(
        attribute(&xml, "testsuite", "file"),
        "examples/suites/demo.toml"
    );
    assert_eq!(
        attribute(&xml, "testcase", "name"),
        "laptop abroad on a VPN is blocked by location"
    );
}

#[test]
fn a_failing_suite_exits_2_and_explains() {
    let tmp = TempDir::new("suite-failing");
    let junit = tmp.path().join("junit.xml");
    let junit_arg = junit.display().to_string();
    let (code, out, err) = gardien(&[
        "test",
        "testdata/suites/failing.toml",
        "examples/suites/demo.toml",
        "--junit",
        &junit_arg,
    ]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("11 scenarios in 2 suites: 9 passed, 2 failed, 0 errors"),
        "{out}"
    );
    let failure = out
        .split("  FAIL  laptop abroad is wrongly expected to be allowed (line 12)\n")
        .nth(1)
        .and_then(|rest| rest.split("\n  FAIL").next())
        .unwrap_or_else(|| panic!("no failure block: {out}"));
    for want in [
        "decision: expected allow\n",
        "got      deny\n",
        "policies: expected [CA06 Require MFA outside trusted networks]\n",
        "got      [CA01 Block sign-ins from outside the EU, CA04 Payroll in a browser needs a compliant device, CA06 Require MFA outside trusted networks]\n",
        "what came: deny (AADSTS53003), required controls: block",
        "cause: anonymousNetwork (temporary)",
        "policies that applied:\n",
        "failure               CA01 Block sign-ins from outside the EU\n",
        "location: IP 203.0.113.50, country BR; in no named location",
        "grant: block (the policy blocks access)",
        "policies that did not apply:\n",
    ] {
        assert!(failure.contains(want), "missing `{want}` in:\n{failure}");
    }
    assert!(out.contains("errorCode: expected 53000\n"), "{out}");
    assert!(
        out.contains("category: expected deviceNotCompliant\n"),
        "{out}"
    );
    assert!(
        out.contains("  ok    administrator without MFA is challenged (line 7)"),
        "{out}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap_or_else(|e| panic!("no JUnit file: {e}"));
    let names = check_xml(&xml);
    assert_eq!(names.iter().filter(|n| *n == "testcase").count(), 11);
    assert_eq!(names.iter().filter(|n| *n == "failure").count(), 2);
    assert_eq!(attribute(&xml, "testsuites", "tests"), "11");
    assert_eq!(attribute(&xml, "testsuites", "failures"), "2");
    assert_eq!(attribute(&xml, "testsuite", "failures"), "2");
    assert_eq!(
        attribute(&xml, "failure", "message"),
        "decision: expected allow, got deny"
    );
}

#[test]
fn suites_that_cannot_run_exit_1() {
    let tmp = TempDir::new("suite-errors");
    let root = repo_root().display().to_string();
    let broken = tmp.path().join("broken.toml");
    std::fs::write(
        &broken,
        format!(
            "tenant = \"{root}/examples/demo/tenant\"\n\n[[scenario]]\nname = \"missing request file\"\nrequest = \"nowhere.json\"\nexpect = {{ decision = \"allow\" }}\n\n[[scenario]]\nname = \"unknown policy\"\nrequest = \"{root}/examples/demo/requests/admin-needs-mfa.json\"\nexpect = {{ policiesExclude = [\"CA99 No such policy\"] }}\n\n[[scenario]]\nname = \"still runs\"\nrequest = \"{root}/examples/demo/requests/admin-needs-mfa.json\"\nexpect = {{ decision = \"allow\" }}\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let invalid = tmp.path().join("invalid.toml");
    std::fs::write(&invalid, "tenant = \"t\"\n[[scenario]]\nname = \"x\"\nrequest = \"r.json\"\nexpect = { decision = \"blocked\" }\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let junit = tmp.path().join("junit.xml");
    let (broken_arg, invalid_arg, junit_arg) = (
        broken.display().to_string(),
        invalid.display().to_string(),
        junit.display().to_string(),
    );
    let (code, out, err) = gardien(&["test", &broken_arg, &invalid_arg, "--junit", &junit_arg]);
    assert_eq!(code, 1, "errors win over failures: {out}{err}");
    assert!(
        out.contains("3 scenarios in 2 suites: 0 passed, 1 failed, 3 errors"),
        "{out}"
    );
    assert!(
        out.contains("  ERROR missing request file (line 3)"),
        "{out}"
    );
    assert!(out.contains("cannot run: cannot read `"), "{out}");
    assert!(
        out.contains(
            "line 11: no policy with id or display name `CA99 No such policy` in the tenant"
        ),
        "{out}"
    );
    assert!(out.contains(&format!("{invalid_arg}:5:")), "{out}");
    assert!(out.contains("unknown variant `blocked`"), "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap_or_else(|e| panic!("no JUnit file: {e}"));
    let names = check_xml(&xml);
    assert_eq!(names.iter().filter(|n| *n == "error").count(), 3);
    assert_eq!(attribute(&xml, "testsuites", "errors"), "3");

    // A suite whose tenant is invalid cannot run either.
    let bad_tenant = tmp.path().join("bad-tenant.toml");
    std::fs::write(&bad_tenant, "tenant = \"no-such-tenant\"\n[[scenario]]\nname = \"x\"\nrequest = \"r.json\"\nexpect = { decision = \"allow\" }\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, out, _) = gardien(&["test", &bad_tenant.display().to_string()]);
    assert_eq!(code, 1);
    assert!(out.contains("does not exist"), "{out}");
}

/// The scenario names a `gardien test` text report marks as passed.
fn passed_scenarios(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.trim_start().strip_prefix("ok "))
        .map(|l| {
            let l = l.trim();
            l.rsplit_once(" (line ")
                .map_or(l, |(name, _)| name)
                .to_owned()
        })
        .collect()
}

/// The baseline suites (`examples/baselines/`) run against any tenant with `--tenant`: on the
/// demo tenant by default, and on the real exports of the corpus (skipped, saying so, when it
/// is absent), where the controls each export meets are pinned. A control a tenant does not
/// meet is a failure (exit 2), never an error (exit 1).
#[test]
fn baseline_suites_run_against_real_exports() {
    let suites = [
        "examples/baselines/microsoft-recommended.toml",
        "examples/baselines/cisa-scuba-ms-aad.toml",
    ];
    for suite in suites {
        let (code, out, err) = gardien(&["test", suite]);
        assert!(
            code == 0 || code == 2,
            "{suite} on the demo tenant: {code}\n{out}\n{err}"
        );
    }
    let corpus = repo_root().join("../shared/corpus/policies");
    if !corpus.is_dir() {
        println!(
            "SKIPPED: ../shared/corpus/policies is absent; the baselines ran on the demo tenant only"
        );
        return;
    }
    for (export, expected) in BASELINE_RESULTS {
        let tenant = corpus.join(export);
        let tenant = tenant.to_str().unwrap_or_default();
        let mut passed = Vec::new();
        for suite in suites {
            let (code, out, err) = gardien(&["test", suite, "--tenant", tenant]);
            assert!(
                code == 0 || code == 2,
                "{suite} on {export}: exit {code}\n{out}\n{err}"
            );
            passed.extend(passed_scenarios(&out));
        }
        let expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(passed, expected, "{export}: the controls met changed");
    }
}

/// Per real export, the baseline scenarios it passes, in suite order. The sign-in is a
/// member in no group from an address in the United States: every policy of the Conditional
/// Access Framework export is disabled, so it meets none; CISA's sample tenant does not
/// require phishing-resistant MFA or managed devices for every user, nor block unknown
/// platforms; no tenant here protects security-info registration from an unmanaged device.
/// CISA's other export (`CreateReportStubs`) names a location it does not ship and cannot
/// run.
const BASELINE_RESULTS: &[(&str, &[&str])] = &[
    (
        "j0eyv__ConditionalAccessBaseline",
        &[
            "block legacy authentication: Exchange ActiveSync is denied",
            "block legacy authentication: other legacy clients are denied",
            "require MFA for all users: a password alone does not get in",
            "require MFA for Azure management: a password alone does not get in",
            "require MFA for risky sign-ins: a high-risk sign-in with a password alone does not get in",
            "require a secure password change for high-risk users: MFA alone does not get in",
            "block unknown or unsupported device platforms: an unknown platform is denied",
            "block device code flow: a device-code sign-in is denied even with MFA",
            "MS.AAD.1.1v1 legacy authentication SHALL be blocked: Exchange ActiveSync",
            "MS.AAD.1.1v1 legacy authentication SHALL be blocked: other legacy clients",
            "MS.AAD.2.1v1 users detected as high risk SHALL be blocked",
            "MS.AAD.2.3v1 sign-ins detected as high risk SHALL be blocked",
            "MS.AAD.3.1v1 phishing-resistant MFA SHALL be enforced for all users: push MFA is not enough",
            "MS.AAD.3.2v1 if phishing-resistant MFA is not enforced, an alternative MFA method SHALL be: a password alone does not get in",
            "MS.AAD.3.7v1 managed devices SHOULD be required for authentication: phishing-resistant MFA on an unmanaged device is not enough",
        ],
    ),
    ("Cloudshield-io__Conditional-Access-Framework", &[]),
    (
        "cisagov__ScubaGear/Sample-Reports__ProviderSettingsExport.conditional_access_policies.json",
        &[
            "block legacy authentication: Exchange ActiveSync is denied",
            "block legacy authentication: other legacy clients are denied",
            "require MFA for all users: a password alone does not get in",
            "require MFA for Azure management: a password alone does not get in",
            "require MFA for risky sign-ins: a high-risk sign-in with a password alone does not get in",
            "require a secure password change for high-risk users: MFA alone does not get in",
            "block device code flow: a device-code sign-in is denied even with MFA",
            "MS.AAD.1.1v1 legacy authentication SHALL be blocked: Exchange ActiveSync",
            "MS.AAD.1.1v1 legacy authentication SHALL be blocked: other legacy clients",
            "MS.AAD.2.1v1 users detected as high risk SHALL be blocked",
            "MS.AAD.2.3v1 sign-ins detected as high risk SHALL be blocked",
            "MS.AAD.3.2v1 if phishing-resistant MFA is not enforced, an alternative MFA method SHALL be: a password alone does not get in",
        ],
    ),
];
