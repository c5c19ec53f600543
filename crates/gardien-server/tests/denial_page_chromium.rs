//! The denial page rendered by a real browser: the demo tenant's classic denials and
//! challenge, decided by the core, rendered in English and French, loaded in headless
//! Chromium (`--dump-dom`, `--screenshot`), and checked for the localized cause, action,
//! error code and correlation id, and, at the minimal disclosure level, for the absence of
//! any policy name, id, named location or admin detail.
//!
//! Needs Debian's `chromium` (CI installs it); without it the test prints a SKIP line on
//! stderr and passes. Set `GARDIEN_SCREENSHOT_DIR` to keep the pages and screenshots.
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gardien_core::report::DecisionReport;
use gardien_core::signin::Target;
use gardien_core::{CompiledTenant, SignIn, SourceFile, Tenant, TenantSource};
use gardien_server::denial::{
    DenialContext, DeviceSummary, Disclosure, Lang, problem_json, render_html,
};

const TIMEOUT: Duration = Duration::from_secs(60);

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo")
}

fn source_file(path: &Path) -> SourceFile {
    SourceFile::new(path.display().to_string(), fs::read(path).unwrap())
}

fn demo_tenant() -> CompiledTenant {
    let dir = demo_dir().join("tenant");
    let mut policies: Vec<PathBuf> = fs::read_dir(dir.join("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    policies.sort();
    let source = TenantSource {
        policy_files: policies.iter().map(|p| source_file(p)).collect(),
        location_files: vec![source_file(&dir.join("namedLocations.json"))],
        directory: Some(source_file(&dir.join("directory.json"))),
        ..Default::default()
    };
    CompiledTenant::compile(Tenant::load(&source).unwrap())
}

/// Every name of the tenant that must never reach a page at the minimal level: policy
/// display names and ids, named-location names and ids.
fn secret_names() -> Vec<String> {
    let dir = demo_dir().join("tenant");
    let mut out = Vec::new();
    for entry in fs::read_dir(dir.join("policies")).unwrap() {
        let v: serde_json::Value =
            serde_json::from_slice(&fs::read(entry.unwrap().path()).unwrap()).unwrap();
        out.push(v["displayName"].as_str().unwrap().to_owned());
        out.push(v["id"].as_str().unwrap().to_owned());
    }
    let locations: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("namedLocations.json")).unwrap()).unwrap();
    for l in locations["value"].as_array().unwrap() {
        out.push(l["displayName"].as_str().unwrap().to_owned());
        out.push(l["id"].as_str().unwrap().to_owned());
    }
    assert!(out.len() >= 14, "{out:?}");
    out
}

/// The app's display name from the demo directory, else its id.
fn app_name(signin: &SignIn) -> String {
    let Target::Applications(apps) = &signin.target else {
        return "unknown".into();
    };
    let id = apps.first().map(|a| a.to_string()).unwrap_or_default();
    let dir: serde_json::Value =
        serde_json::from_slice(&fs::read(demo_dir().join("tenant/directory.json")).unwrap())
            .unwrap();
    dir["servicePrincipals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sp| sp["appId"] == id.as_str())
        .and_then(|sp| sp["displayName"].as_str())
        .map_or(id.clone(), str::to_owned)
}

fn device_summary(signin: &SignIn) -> DeviceSummary {
    let d = signin.device.as_ref();
    DeviceSummary {
        registered: d.is_some(),
        compliant: d.and_then(|d| d.is_compliant),
        trust_type: d.and_then(|d| d.trust_type.as_deref().map(str::to_owned)),
        platform: signin
            .device_platform
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        os_version: d.and_then(|d| d.operating_system_version.as_deref().map(str::to_owned)),
        client_app: signin
            .client_app_type
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
    }
}

/// One demo case: the request, its report, and what the page must say.
struct Case {
    file: &'static str,
    report: DecisionReport,
    signin: SignIn,
    status: u16,
    code: [&'static str; 2],
    cause: [&'static str; 2],
    action: [&'static str; 2],
}

fn cases(tenant: &CompiledTenant) -> Vec<Case> {
    let specs = [
        (
            "laptop-abroad.json",
            "deny",
            403,
            ["AADSTS53003", "AADSTS53003"],
            ["VPN or anonymous network", "VPN ou réseau anonyme"],
            [
                "Disconnect from your VPN or proxy",
                "Déconnectez-vous de votre VPN ou de votre proxy",
            ],
        ),
        (
            "phone-not-compliant.json",
            "deny",
            403,
            ["AADSTS53000", "AADSTS53000"],
            [
                "Device does not meet the security requirements",
                "Appareil non conforme aux exigences de sécurité",
            ],
            [
                "Bring your device up to your organization's requirements",
                "Mettez votre appareil en conformité",
            ],
        ),
        (
            "old-windows.json",
            "deny",
            403,
            ["AADSTS53003", "AADSTS53003"],
            [
                "Operating system too old",
                "Système d’exploitation trop ancien",
            ],
            [
                "Install the latest updates of your operating system",
                "Installez les dernières mises à jour de votre système d’exploitation",
            ],
        ),
        (
            "admin-needs-mfa.json",
            "challenge",
            401,
            ["MFA required", "MFA requise"],
            [
                "Additional verification (MFA) required",
                "Vérification supplémentaire (MFA) requise",
            ],
            [
                "Sign in again and complete the additional verification",
                "Reconnectez-vous et effectuez la vérification supplémentaire",
            ],
        ),
    ];
    specs
        .into_iter()
        .map(|(file, decision, status, code, cause, action)| {
            let path = demo_dir().join("requests").join(file);
            let signin = SignIn::parse(file, &fs::read(path).unwrap()).unwrap();
            let report = DecisionReport::new(tenant, &signin, &tenant.evaluate(&signin));
            assert_eq!(report.decision.as_str(), decision, "{file}");
            Case {
                file,
                report,
                signin,
                status,
                code,
                cause,
                action,
            }
        })
        .collect()
}

fn find_chromium() -> Option<PathBuf> {
    let fixed = Path::new("/usr/bin/chromium");
    if fixed.is_file() {
        return Some(fixed.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// Runs Chromium headless with `args` then `url`, with a fresh profile and a timeout;
/// returns its standard output.
fn chromium(bin: &Path, work: &Path, args: &[String], url: &str) -> String {
    let profile = tempfile::tempdir_in(work).unwrap();
    let out_path = profile.path().with_extension("stdout");
    let stdout = fs::File::create(&out_path).unwrap();
    let stderr = fs::File::create(profile.path().with_extension("stderr")).unwrap();
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let errors =
                fs::read_to_string(profile.path().with_extension("stderr")).unwrap_or_default();
            assert!(status.success(), "chromium failed ({status}): {errors}");
            break;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {TIMEOUT:?} for {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    fs::read_to_string(&out_path).unwrap()
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

fn assert_png(path: &Path) {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    assert!(
        bytes.len() > 20_000,
        "{} is suspiciously small ({} bytes)",
        path.display(),
        bytes.len()
    );
}

#[test]
fn demo_denials_render_in_chromium() {
    let Some(bin) = find_chromium() else {
        eprintln!("SKIP: chromium not installed (apt-get install chromium)");
        return;
    };
    let tenant = demo_tenant();
    let secrets = secret_names();
    let work = tempfile::tempdir().unwrap();
    let shots = std::env::var_os("GARDIEN_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| work.path().join("shots"));
    fs::create_dir_all(&shots).unwrap();
    let langs = [(Lang::En, "en"), (Lang::Fr, "fr")];

    for case in cases(&tenant) {
        let explanation = case.report.explanation.clone().unwrap();
        let app = app_name(&case.signin);
        let device = device_summary(&case.signin);
        let correlation_id = format!("corr-{}", case.file.trim_end_matches(".json"));
        let ctx = DenialContext {
            report: &case.report,
            correlation_id: &correlation_id,
            timestamp: "2025-03-01T10:20:30Z",
            client_ip: case.signin.ip_address,
            application: &app,
            device: &device,
            disclosure: Disclosure::Minimal,
            support: Some("mailto:helpdesk@contoso.example"),
            status: case.status,
        };
        let stem = case.file.trim_end_matches(".json");
        for (i, (lang, code)) in langs.iter().enumerate() {
            // Minimal: the page a user sees by default.
            let page = shots.join(format!("{stem}-{code}-minimal.html"));
            fs::write(&page, render_html(&ctx, *lang)).unwrap();
            let dom = chromium(&bin, work.path(), &["--dump-dom".into()], &file_url(&page));
            assert!(dom.contains(&format!("<html lang=\"{code}\"")), "{dom}");
            for expected in [
                case.code[i],
                case.cause[i],
                case.action[i],
                correlation_id.as_str(),
                app.as_str(),
                "helpdesk@contoso.example",
            ] {
                assert!(
                    dom.contains(expected),
                    "{stem} ({code}): `{expected}` missing from the rendered page:\n{dom}"
                );
            }
            // The same actions as `gardien evaluate --json` and `gardien explain`: one step per
            // minimal set (a combined change is one step), then contact support.
            let json_actions = problem_json(&ctx, *lang);
            assert_eq!(
                json_actions["userActions"],
                serde_json::to_value(&explanation.user_actions).unwrap(),
                "{stem} ({code})"
            );
            for set in &explanation.user_action_sets {
                let names: Vec<String> = set
                    .iter()
                    .map(|a| {
                        serde_json::to_value(a)
                            .unwrap()
                            .as_str()
                            .unwrap()
                            .to_owned()
                    })
                    .collect();
                let step = format!("data-action=\"{}\"", names.join(" "));
                assert!(
                    dom.contains(&step),
                    "{stem} ({code}): no step `{step}`:\n{dom}"
                );
            }
            assert!(
                dom.contains("data-action=\"contactSupport\""),
                "{stem} ({code})"
            );
            for secret in &secrets {
                assert!(
                    !dom.contains(secret.as_str()),
                    "{stem} ({code}): minimal page shows `{secret}`"
                );
            }
            assert!(!dom.contains(&explanation.admin_details));
            let json = problem_json(&ctx, *lang).to_string();
            for secret in &secrets {
                assert!(
                    !json.contains(secret.as_str()),
                    "{stem} ({code}): minimal JSON shows `{secret}`"
                );
            }
            assert!(!json.contains(&explanation.admin_details));

            // Full: the deciding policy's name and the admin details appear.
            let full = DenialContext {
                disclosure: Disclosure::Full,
                ..ctx
            };
            let page = shots.join(format!("{stem}-{code}-full.html"));
            fs::write(&page, render_html(&full, *lang)).unwrap();
            let dom = chromium(&bin, work.path(), &["--dump-dom".into()], &file_url(&page));
            let deciding = explanation
                .admin_details
                .split('`')
                .nth(1)
                .unwrap()
                .to_owned();
            assert!(
                dom.contains(&deciding),
                "{stem} ({code}): full page lacks `{deciding}`"
            );
            assert!(dom.contains(case.cause[i]));

            // Screenshots: desktop and phone widths, and the full level once.
            let shoot = [
                ("minimal", "1000,1400", "desktop"),
                ("minimal", "390,844", "phone"),
                ("full", "1000,1400", "desktop"),
            ];
            for (level, size, label) in shoot {
                let wanted = match (level, label) {
                    ("minimal", "desktop") => true,
                    ("minimal", _) => stem == "laptop-abroad" || stem == "admin-needs-mfa",
                    _ => stem == "laptop-abroad",
                };
                if !wanted {
                    continue;
                }
                let page = shots.join(format!("{stem}-{code}-{level}.html"));
                let png = shots.join(format!("{stem}-{code}-{level}-{label}.png"));
                let _ = fs::remove_file(&png);
                chromium(
                    &bin,
                    work.path(),
                    &[
                        format!("--screenshot={}", png.display()),
                        format!("--window-size={size}"),
                    ],
                    &file_url(&page),
                );
                assert_png(&png);
            }
        }
    }
}
