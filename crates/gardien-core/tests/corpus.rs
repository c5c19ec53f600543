//! Every file of the real policy corpus (`../shared/corpus/policies/`) either loads or is
//! rejected with a precise, expected reason. Skips, saying so, when the corpus is absent.

use gardien_core::{SourceFile, Tenant, TenantSource};
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/policies");
    dir.is_dir().then_some(dir)
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            json_files(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("json"))
        {
            out.push(p);
        }
    }
}

fn source(path: &Path, root: &Path) -> SourceFile {
    let name = path
        .strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string();
    SourceFile::new(name, std::fs::read(path).unwrap_or_default())
}

/// Named-location files of a source folder that go with a policy file.
fn is_location_file(rel: &str) -> bool {
    rel.contains("NamedLocations/") || rel.contains("_Locations") || rel.contains("-Locations")
}

fn locations_for(rel: &str, all: &[PathBuf], root: &Path) -> Vec<SourceFile> {
    let folder = rel.split('/').next().unwrap_or("");
    // denis-beuermann: pair each policy snapshot with the locations of the same date.
    let date = rel
        .rsplit('/')
        .next()
        .and_then(|f| f.get(..8))
        .filter(|d| d.chars().all(|c| c.is_ascii_digit()));
    all.iter()
        .filter(|p| {
            let r = p.strip_prefix(root).unwrap_or(p).display().to_string();
            is_location_file(&r)
                && r.starts_with(folder)
                && date.is_none_or(|d| r.rsplit('/').next().is_some_and(|f| f.starts_with(d)))
        })
        .map(|p| source(p, root))
        .collect()
}

/// What each file must do: load (with this many policies) or fail with this text.
fn expectation(rel: &str) -> Result<usize, &'static str> {
    let folder = rel.split('/').next().unwrap_or("");
    if is_location_file(rel) {
        return Ok(0);
    }
    if rel.contains("/Groups/") {
        return Err("this is a group object, not a Conditional Access policy");
    }
    if rel.ends_with("MigrationTable.json") || rel.ends_with("Convert.Json") {
        return Err("not a Conditional Access policy: missing `conditions`");
    }
    if rel.contains("/AuthenticationStrengths/") {
        return Err("this is an `authenticationStrengthPolicy`, not a Conditional Access policy");
    }
    match folder {
        "j0eyv__ConditionalAccessBaseline" | "Cloudshield-io__Conditional-Access-Framework" => {
            Ok(1)
        }
        "denis-beuermann__ConditionalAccess" if rel.contains("20220427") => Ok(52),
        // The 2021 snapshot refers to two named locations its location file lacks.
        "denis-beuermann__ConditionalAccess" => Err("named location `10dea6b9-"),
        "DataGuys__ConditionalAccessAnalyzer" => {
            Err("this is a `conditionalAccessTemplate`, not a policy")
        }
        // PowerShell SDK output is converted (with a note); the CISA test policies that
        // target a user action in report-only mode load with a warning. The other slice names
        // a location it does not ship.
        "cisagov__ScubaGear" if rel.contains("Sample-Reports") => Ok(7),
        "cisagov__ScubaGear" => {
            Err("named location `19da112d-49e5-4699-9c8c-728a47d3016c` does not exist")
        }
        "Clutch2View__nis2-conditional-access-policies" => Err(
            "`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` is a placeholder in GUID form, not an object id",
        ),
        "Fortigi__ConditionalAccess" => Err("looks like a display name, not an object id"),
        // The security-info registration template is report-only on a user action: a warning.
        "Azure-Samples__azure-ad-conditional-access-apis" => Ok(1),
        "AlexFilipin__ConditionalAccess" if rel.contains("/509 - ") => {
            Err("this is a PowerShell SDK serialisation, not Graph JSON")
        }
        "AlexFilipin__ConditionalAccess"
            if rel.contains("/600 - ") || rel.contains("/700 - ") || rel.contains("/701 - ") =>
        {
            Ok(1)
        }
        "AlexFilipin__ConditionalAccess" => Err("is a template placeholder, not an object id"),
        _ => Err("no expectation for this file"),
    }
}

#[test]
fn every_corpus_file_loads_or_is_rejected_precisely() {
    let Some(root) = corpus() else {
        println!("SKIPPED: ../shared/corpus/policies is absent; the corpus test did not run");
        return;
    };
    let mut files = Vec::new();
    json_files(&root, &mut files);
    let (mut loaded, mut rejected, mut policies) = (0, 0, 0);
    let mut failures = Vec::new();
    for path in &files {
        let rel = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        let location_files = if is_location_file(&rel) {
            Vec::new()
        } else {
            locations_for(&rel, &files, &root)
        };
        let src = if is_location_file(&rel) {
            TenantSource {
                location_files: vec![source(path, &root)],
                ..Default::default()
            }
        } else {
            TenantSource {
                policy_files: vec![source(path, &root)],
                location_files,
                ..Default::default()
            }
        };
        let result = Tenant::load(&src);
        match (&result, expectation(&rel)) {
            (Ok(t), Ok(n)) if t.policies.len() == n && (n > 0 || !t.named_locations.is_empty()) => {
            }
            (Err(e), Err(want)) if e.to_string().contains(want) => {}
            (got, want) => failures.push(format!(
                "{rel}: expected {want:?}, got {}",
                match got {
                    Ok(t) => format!(
                        "{} policies, {} locations",
                        t.policies.len(),
                        t.named_locations.len()
                    ),
                    Err(e) => e.to_string().lines().next().unwrap_or("").to_owned(),
                }
            )),
        }
        match result {
            Ok(t) => {
                loaded += 1;
                policies += t.policies.len();
            }
            Err(_) => rejected += 1,
        }
    }
    println!(
        "corpus: {} files, {loaded} loaded ({policies} policies), {rejected} rejected",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} unexpected outcomes:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn load_folder(root: &Path, policies: &str, locations: &str) -> Result<Tenant, String> {
    let mut p = Vec::new();
    json_files(&root.join(policies), &mut p);
    let mut l = Vec::new();
    json_files(&root.join(locations), &mut l);
    let source = TenantSource {
        policy_files: p.iter().map(|f| source(f, root)).collect(),
        location_files: l.iter().map(|f| source(f, root)).collect(),
        ..Default::default()
    };
    Tenant::load(&source).map_err(|e| e.to_string())
}

#[test]
fn live_tenant_exports_load_completely() {
    let Some(root) = corpus() else {
        println!("SKIPPED: ../shared/corpus/policies is absent; the corpus test did not run");
        return;
    };
    let j0eyv = load_folder(
        &root,
        "j0eyv__ConditionalAccessBaseline/ConditionalAccess",
        "j0eyv__ConditionalAccessBaseline/NamedLocations",
    );
    assert_eq!(
        j0eyv
            .as_ref()
            .map(|t| (t.policies.len(), t.named_locations.len())),
        Ok((36, 3))
    );
    // Every member of a live export is one Graph defines (v1.0 or beta): no warning.
    let warnings = |t: &Result<Tenant, String>| -> Vec<String> {
        t.as_ref()
            .map(|t| t.warnings.iter().map(|w| w.to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(warnings(&j0eyv), Vec::<String>::new());
    let cloudshield = load_folder(
        &root,
        "Cloudshield-io__Conditional-Access-Framework/ConditionalAccess",
        "Cloudshield-io__Conditional-Access-Framework/NamedLocations",
    );
    assert_eq!(cloudshield.as_ref().map(|t| t.policies.len()), Ok(42));
    assert_eq!(warnings(&cloudshield), Vec::<String>::new());
    let denis = root.join("denis-beuermann__ConditionalAccess/archive");
    let load = |p: &str, l: &str| {
        Tenant::load(&TenantSource {
            policy_files: vec![source(&denis.join(p), &root)],
            location_files: vec![source(&denis.join(l), &root)],
            ..Default::default()
        })
    };
    let t2022 = load("20220427-Policies.json", "20220427-Locations.json");
    assert_eq!(
        t2022
            .as_ref()
            .map(|t| (t.policies.len(), t.named_locations.len()))
            .map_err(|e| e.to_string()),
        Ok((52, 84))
    );
    assert_eq!(
        t2022.map(|t| t.warnings.len()).map_err(|e| e.to_string()),
        Ok(0)
    );
    // The 2021 snapshot: the validator names both missing locations.
    let e = load("20210511-Policies.json", "20210511_Locations.json")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("named location `10dea6b9-") && e.contains("named location `ec5b5794-"),
        "{e}"
    );
    assert!(
        e.contains("/conditions/locations/"),
        "errors name the JSON path: {e}"
    );
}
