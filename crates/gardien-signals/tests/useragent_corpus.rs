//! Accuracy of [`gardien_signals::useragent::classify`] on the ua-parser project's test
//! cases (uap-core `tests/`, copied to `shared/corpus/useragents`; see its `SOURCE.md`).
//!
//! * `test_os.yaml` + `additional_os_tests.yaml`: the expected OS family of each UA is mapped
//!   to an Entra platform ([`entra_platform`]); the headline figure counts the cases whose
//!   family maps to a *named* Entra platform, the rest should be `unknown`. The OS major
//!   version is checked where the corpus gives one ([`version_matches`]).
//! * `test_ua.yaml`: UAs of web-browser families ([`BROWSER_FAMILIES`]) should be
//!   classified `browser`.
//!
//! The corpus is optional: without the folder the test prints why and passes.
//! Run with `cargo test -p gardien-signals --test useragent_corpus -- --nocapture`.

use gardien_core::model::enums::{ClientAppType, DevicePlatform};
use gardien_signals::useragent::{OsVersion, classify};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One `test_cases` entry.
#[derive(Debug, Default)]
struct Case {
    user_agent: String,
    family: String,
    major: Option<String>,
    minor: Option<String>,
}

/// The corpus folder, next to the workspace.
fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/useragents")
}

/// A YAML scalar: `'single ''quoted'''`, `"double \"quoted\""`, plain, or empty (`None`).
fn scalar(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw == "~" || raw == "null" {
        return None;
    }
    if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Some(inner.replace("''", "'"));
    }
    if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(other) => out.push(other),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        return Some(out);
    }
    Some(raw.to_owned())
}

/// The `test_cases` of a uap-core test file, with a tiny line parser (the files are flat:
/// `- user_agent_string: …` then `family:`, `major:`, `minor:`, … at a deeper indent).
fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("- user_agent_string:") {
            cases.push(Case {
                user_agent: scalar(rest).unwrap_or_default(),
                ..Case::default()
            });
            continue;
        }
        let Some(case) = cases.last_mut() else {
            continue;
        };
        let Some((key, value)) = trimmed.split_once(':') else {
            continue;
        };
        match key {
            "family" => case.family = scalar(value).unwrap_or_default(),
            "major" => case.major = scalar(value),
            "minor" => case.minor = scalar(value),
            _ => {}
        }
    }
    cases
}

/// Reads and parses one corpus file.
fn load(dir: &Path, name: &str) -> Vec<Case> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_cases(&text),
        Err(e) => {
            println!("cannot read {}: {e}", path.display());
            Vec::new()
        }
    }
}

/// The Entra platform a uap OS family should map to; `None` for families that should be
/// `unknown` (not counted in the headline figure).
///
/// * `Windows` → windows; `Windows Phone`, `Windows Mobile` → windowsPhone.
/// * `Mac OS X` → macOS (`Mac OS`, the classic Mac OS, is not macOS).
/// * `iOS` → iOS. `WatchOS`, `tvOS`, `ATV OS X` (Apple TV) → unknown: Entra's iOS platform
///   is iOS and iPadOS, and neither system is managed by Intune.
/// * `Android` → android, and `Chromecast Android` (an Android TV UA that says Android,
///   as Entra would read it).
/// * Linux and its distributions (`Linux`, `Ubuntu`, `Fedora`, `Debian`, `Gentoo`,
///   `Red Hat`, `CentOS`, `Mandriva`, `Slackware`, `SUSE`, `Linux Mint`, `PCLinuxOS`,
///   `Puppy`, and `WeTab`, a MeeGo-derived tablet distribution whose UA is a plain X11 Linux
///   one) → linux.
/// * Everything else → unknown: `Chrome OS` (unsupported by Entra), the Chromecast devices
///   (`Chromecast Linux`, `SmartSpeaker`, `Fuchsia`: Cast devices, not Linux computers),
///   GoogleTV and smart TVs, the BSDs and Solaris (Entra's linux is Linux only), Symbian,
///   BlackBerry, Firefox OS, KaiOS, Tizen, webOS, Kindle (e-ink), consoles and `Other`.
fn entra_platform(family: &str) -> Option<DevicePlatform> {
    Some(match family {
        "Windows" => DevicePlatform::Windows,
        "Windows Phone" | "Windows Mobile" => DevicePlatform::WindowsPhone,
        "Mac OS X" => DevicePlatform::MacOS,
        "iOS" => DevicePlatform::IOS,
        "Android" | "Chromecast Android" => DevicePlatform::Android,
        "Linux" | "Ubuntu" | "Kubuntu" | "Xubuntu" | "Lubuntu" | "Fedora" | "Debian" | "Gentoo"
        | "Red Hat" | "CentOS" | "Mandriva" | "Slackware" | "SUSE" | "openSUSE" | "Linux Mint"
        | "PCLinuxOS" | "Puppy" | "Arch Linux" | "WeTab" => DevicePlatform::Linux,
        _ => return None,
    })
}

/// Families whose uap version is a distribution or package version, not comparable with
/// the kernel version gardien reports for Linux (`Fedora/3.0.4` is Firefox's package).
fn version_comparable(family: &str) -> bool {
    !matches!(
        family,
        "Ubuntu"
            | "Kubuntu"
            | "Xubuntu"
            | "Lubuntu"
            | "Fedora"
            | "Debian"
            | "Red Hat"
            | "CentOS"
            | "Mandriva"
            | "Slackware"
            | "SUSE"
            | "openSUSE"
            | "Linux Mint"
            | "PCLinuxOS"
            | "Puppy"
            | "WeTab"
    )
}

/// Whether gardien's version agrees with uap's `major` (and `minor` where uap's major is a
/// name). Windows is compared on the NT scale gardien reports: uap's `10` is NT 10.0 (or
/// 6.4, the Windows 10 preview), `8` / `RT` NT 6.2 or 6.3, `8.1` NT 6.3, `7` NT 6.1, `Vista` 6.0, `XP`
/// 5.1 or 5.2, `2000` 5.0, `NT` 3.x or 4.x, `95` 4.0, `98` 4.10, `ME` 4.90, `3.1` 3.x;
/// `CE` has no NT version, so gardien should report none.
fn version_matches(platform: DevicePlatform, major: &str, got: Option<OsVersion>) -> bool {
    if platform == DevicePlatform::Windows {
        let nt = got.map(|v| (v.major, v.minor));
        return match major {
            "CE" => got.is_none(),
            "10" => matches!(nt, Some((10, _) | (6, 4))),
            "8" | "RT" => matches!(nt, Some((6, 2 | 3))),
            "8.1" => nt == Some((6, 3)),
            "7" => nt == Some((6, 1)),
            "Vista" => nt == Some((6, 0)),
            "XP" => matches!(nt, Some((5, 1 | 2))),
            "2000" => nt == Some((5, 0)),
            "NT" => matches!(nt, Some((3 | 4, _))),
            "95" => nt == Some((4, 0)),
            "98" => nt == Some((4, 10)),
            "ME" => nt == Some((4, 90)),
            "3.1" => matches!(nt, Some((3, _))),
            _ => false,
        };
    }
    match (major.parse::<u32>(), got) {
        (Ok(expected), Some(v)) => v.major == expected,
        _ => false,
    }
}

/// `n/d (p%)`.
fn ratio(n: usize, d: usize) -> String {
    let pct = if d == 0 {
        100.0
    } else {
        n as f64 * 100.0 / d as f64
    };
    format!("{n}/{d} ({pct:.1}%)")
}

fn pct(n: usize, d: usize) -> f64 {
    if d == 0 {
        100.0
    } else {
        n as f64 * 100.0 / d as f64
    }
}

#[test]
fn os_corpus_platform_and_version_accuracy() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        println!("skipped: corpus folder {} absent", dir.display());
        return;
    }
    let mut cases = load(&dir, "test_os.yaml");
    cases.extend(load(&dir, "additional_os_tests.yaml"));
    assert!(
        !cases.is_empty(),
        "no test cases parsed from {}",
        dir.display()
    );

    // family -> (expected platform, correct, total)
    let mut per_family: BTreeMap<&str, (Option<DevicePlatform>, usize, usize)> = BTreeMap::new();
    let (mut mapped_ok, mut mapped_total, mut rest_ok, mut rest_total) = (0, 0, 0, 0);
    let (mut version_ok, mut version_total, mut version_skipped) = (0, 0, 0);
    let mut misses = Vec::new();
    let mut version_misses = Vec::new();

    for case in &cases {
        let info = classify(&case.user_agent);
        let expected = entra_platform(&case.family);
        let want = expected.unwrap_or(DevicePlatform::Unknown);
        let ok = info.platform == want;
        let entry = per_family
            .entry(case.family.as_str())
            .or_insert((expected, 0, 0));
        entry.2 += 1;
        if ok {
            entry.1 += 1;
        } else {
            misses.push(format!(
                "  [{}] expected {want}, got {}: {}",
                case.family, info.platform, case.user_agent
            ));
        }
        if expected.is_some() {
            mapped_total += 1;
            mapped_ok += usize::from(ok);
            if let Some(major) = case.major.as_deref() {
                if !version_comparable(&case.family) {
                    version_skipped += 1;
                } else {
                    version_total += 1;
                    if version_matches(want, major, info.os_version) {
                        version_ok += 1;
                    } else {
                        version_misses.push(format!(
                            "  [{}] expected major {major} (minor {}), got {}: {}",
                            case.family,
                            case.minor.as_deref().unwrap_or("-"),
                            info.os_version
                                .map_or_else(|| "none".to_owned(), |v| v.to_string()),
                            case.user_agent
                        ));
                    }
                }
            }
        } else {
            rest_total += 1;
            rest_ok += usize::from(ok);
        }
    }

    println!("per family (expected Entra platform: correct/total):");
    for (family, (expected, ok, total)) in &per_family {
        let expected = expected.map_or("unknown (unmapped)", DevicePlatform::as_str);
        println!("  {family:<24} -> {expected:<20} {ok}/{total}");
    }
    println!("misclassified ({}, up to 30 shown):", misses.len());
    for line in misses.iter().take(30) {
        println!("{line}");
    }
    println!("version misses ({}, up to 30 shown):", version_misses.len());
    for line in version_misses.iter().take(30) {
        println!("{line}");
    }
    println!(
        "platform accuracy: {} on families mapped to an Entra platform",
        ratio(mapped_ok, mapped_total)
    );
    println!(
        "unknown accuracy: {} on the other families (expected unknown)",
        ratio(rest_ok, rest_total)
    );
    println!(
        "os major version accuracy: {} on mapped cases with a corpus major \
         ({version_skipped} distribution-version cases not comparable)",
        ratio(version_ok, version_total)
    );

    assert!(
        pct(mapped_ok, mapped_total) >= 99.0,
        "platform accuracy below 99%: {}",
        ratio(mapped_ok, mapped_total)
    );
    assert!(
        pct(rest_ok, rest_total) >= 98.0,
        "unknown accuracy below 98%: {}",
        ratio(rest_ok, rest_total)
    );
    assert!(
        pct(version_ok, version_total) >= 97.0,
        "OS major version accuracy below 97%: {}",
        ratio(version_ok, version_total)
    );
}

/// Browser families of `test_ua.yaml`: web browsers people sign in with.
const BROWSER_FAMILIES: &[&str] = &[
    "Chrome",
    "Chrome Mobile",
    "Chrome Mobile iOS",
    "Chromium",
    "Firefox",
    "Firefox Mobile",
    "Firefox iOS",
    "Firefox Beta",
    "Safari",
    "Mobile Safari",
    "Edge",
    "Edge Mobile",
    "IE",
    "IE Mobile",
    "Opera",
    "Opera Mini",
    "Opera Mobile",
    "Opera Tablet",
    "Opera Touch",
    "Opera GX",
    "Opera Neon",
    "Opera Coast",
    "Samsung Internet",
    "UC Browser",
    "Yandex Browser",
    "Vivaldi",
    "Brave",
    "Amazon Silk",
    "Android",
    "QQ Browser",
    "QQ Browser Mobile",
    "Puffin",
    "Dolphin",
    "Maxthon",
    "Whale",
    "Baidu Browser",
    "Pale Moon",
    "Avast Secure Browser",
    "Aloha Browser",
    "DuckDuckGo Mobile",
    "Coc Coc",
    "Huawei Browser",
    "MiuiBrowser",
    "Mint Browser",
    "Seznam prohlížeč",
    "Sailfish Browser",
    "Nokia Browser",
    "NetFront",
    "BlackBerry WebKit",
    "Iron",
    "Midori",
    "Konqueror",
];

#[test]
fn ua_corpus_browsers_are_browsers() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        println!("skipped: corpus folder {} absent", dir.display());
        return;
    }
    let cases = load(&dir, "test_ua.yaml");
    assert!(!cases.is_empty(), "no test cases parsed from test_ua.yaml");
    let (mut ok, mut total) = (0, 0);
    let mut misses = Vec::new();
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for case in &cases {
        let client = classify(&case.user_agent).client_app_type;
        *by_type.entry(client.as_str()).or_default() += 1;
        if !BROWSER_FAMILIES.contains(&case.family.as_str()) {
            continue;
        }
        total += 1;
        if client == ClientAppType::Browser {
            ok += 1;
        } else {
            misses.push(format!("  [{}] {client}: {}", case.family, case.user_agent));
        }
    }
    println!(
        "client app types over all {} test_ua cases: {by_type:?}",
        cases.len()
    );
    println!("browser misses ({}, up to 30 shown):", misses.len());
    for line in misses.iter().take(30) {
        println!("{line}");
    }
    println!("browser accuracy: {} on browser families", ratio(ok, total));
    assert!(
        pct(ok, total) >= 97.0,
        "browser accuracy below 97%: {}",
        ratio(ok, total)
    );
}
