#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests report failures through panics"
)]

//! Every source of the real policy corpus (`../shared/corpus/policies/*`), pointed at with
//! `--tenant` as it is (folder or file, unconverted): the layout is always recognised; live
//! exports load completely, templates and hand-written examples are refused for what they
//! contain, with the expected reason. Skips, saying so, when the corpus is absent.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/policies");
    dir.is_dir().then_some(dir)
}

fn validate(tenant: &Path) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gardien"))
        .args(["validate", "--format", "json", "--tenant"])
        .arg(tenant)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gardien: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// What a source must give: `Ok((policies, named locations))`, or the text of its first
/// error.
fn expectation(source: &str) -> Result<(u64, u64), &'static str> {
    match source {
        "j0eyv__ConditionalAccessBaseline" => Ok((36, 3)),
        "Cloudshield-io__Conditional-Access-Framework" => Ok((42, 4)),
        "AlexFilipin__ConditionalAccess" => Err("is a template placeholder, not an object id"),
        // The security-info registration template is a report-only user-action policy:
        // loaded with a warning (Entra does not evaluate it).
        "Azure-Samples__azure-ad-conditional-access-apis" => Ok((6, 0)),
        "Clutch2View__nis2-conditional-access-policies" => {
            Err("is a placeholder in GUID form, not an object id")
        }
        "DataGuys__ConditionalAccessAnalyzer" => {
            Err("this is a `conditionalAccessTemplate`, not a policy")
        }
        "Fortigi__ConditionalAccess" => Err("looks like a display name, not an object id"),
        // Two slices of CISA's test tenants side by side: the same policy ids twice (their
        // report-only user-action policies are warnings, not errors).
        "cisagov__ScubaGear" => Err("duplicate policy id"),
        // Two snapshots of the same tenant side by side: the same ids twice.
        "denis-beuermann__ConditionalAccess" => Err("duplicate named location id"),
        _ => Err("no expectation for this source"),
    }
}

#[test]
fn every_corpus_source_loads_as_is() {
    let Some(root) = corpus() else {
        println!(
            "SKIPPED: ../shared/corpus/policies is absent; the corpus layout test did not run"
        );
        return;
    };
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    sources.sort();
    assert!(sources.len() >= 9, "{sources:?}");
    let mut failures = Vec::new();
    for dir in &sources {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (code, v, err) = validate(dir);
        assert!(
            !err.contains("has no `policies/` folder"),
            "{name}: the layout is not recognised: {err}"
        );
        let got = if code == 0 {
            Ok((
                v["policies"].as_u64().unwrap_or(0),
                v["namedLocations"].as_u64().unwrap_or(0),
            ))
        } else {
            Err(v["errors"][0]["message"]
                .as_str()
                .unwrap_or(&err)
                .to_owned())
        };
        let ok = match (&got, expectation(&name)) {
            (Ok(g), Ok(w)) => *g == w,
            (Err(g), Err(w)) => g.contains(w),
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{name}: expected {:?}, got {got:?}",
                expectation(&name)
            ));
        }
        // Live exports hold only members Graph defines.
        if code == 0 {
            let unknown: Vec<&Value> = v["warnings"]
                .as_array()
                .map(|w| w.iter().filter(|w| w["code"] == "GV004").collect())
                .unwrap_or_default();
            assert!(unknown.is_empty(), "{name}: {unknown:?}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // One file of a source, as is: the PowerShell SDK export and a Graph collection.
    let (code, v, err) = validate(&root.join(
        "cisagov__ScubaGear/Sample-Reports__ProviderSettingsExport.conditional_access_policies.json",
    ));
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["policies"], 7);
    assert_eq!(v["notes"][0]["code"], "GV013", "{v}");

    // The 2022 snapshot in a folder of its own (files copied byte for byte).
    let denis = root.join("denis-beuermann__ConditionalAccess/archive");
    let tmp = std::env::temp_dir().join(format!("gardien-corpus-{}", std::process::id()));
    for (snapshot, files) in [
        (
            "2022",
            ["20220427-Policies.json", "20220427-Locations.json"],
        ),
        (
            "2021",
            ["20210511-Policies.json", "20210511_Locations.json"],
        ),
    ] {
        let folder = tmp.join(snapshot);
        std::fs::create_dir_all(&folder).unwrap();
        for f in files {
            std::fs::copy(denis.join(f), folder.join(f)).unwrap();
        }
        let (code, v, err) = validate(&folder);
        if snapshot == "2022" {
            assert_eq!(code, 0, "{err}{v}");
            assert_eq!(
                (v["policies"].as_u64(), v["namedLocations"].as_u64()),
                (Some(52), Some(84))
            );
        } else {
            // Its policies refer to two named locations its location file lacks.
            assert_eq!(code, 1);
            let messages: Vec<&str> = v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|e| e["message"].as_str())
                .collect();
            assert!(
                messages
                    .iter()
                    .any(|m| m.contains("named location `10dea6b9-"))
                    && messages
                        .iter()
                        .any(|m| m.contains("named location `ec5b5794-")),
                "{messages:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
