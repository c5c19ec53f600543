//! Accepted findings: a waiver file read by `gardien lint --waivers FILE`.
//!
//! ```toml
//! [[waiver]]
//! rule = "GA302"                       # required: the rule code
//! policy = "CA01 Require MFA"          # optional: policy id or display name
//! user = "breakglass1@contoso.com"     # optional: user id or UPN, as the finding names it
//! app = "00000002-0000-0ff1-ce00-000000000000"  # optional: application id or name, likewise
//! reason = "Emergency-access account, monitored by alert BG-1"  # required
//! expires = "2027-03-31"               # required: last day the waiver holds (UTC)
//! ```
//!
//! A finding is waived by the first unexpired waiver whose rule is the finding's and whose
//! `policy`, `user` and `app` (those given) match it: `policy` the finding's policy (id,
//! case-insensitive, or display name), `user` and `app` a name in the finding's message
//! (case-insensitive). A waiver past its expiry waives nothing and is reported: `lint` then
//! fails, so that accepted risks are looked at again.

use serde::Serialize;

use super::{Finding, LintReport, Severity};

/// One waiver of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiver {
    /// Rule code (`GA302`).
    pub rule: String,
    /// Policy id or display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// User id or UPN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Application id or name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// Why the finding is accepted.
    pub reason: String,
    /// Last day the waiver holds, as written (`2027-03-31`).
    pub expires: String,
    /// Where the waiver is: `file: /waiver/0`.
    pub source: String,
    /// End of the expiry day, Unix seconds.
    #[serde(skip)]
    expires_at: i64,
}

/// Why a waiver file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {pointer}: {reason}")]
pub struct WaiverError {
    /// The file.
    pub file: String,
    /// JSON pointer of the member at fault (`/waiver/2/expires`).
    pub pointer: String,
    /// What is wrong.
    pub reason: String,
}

/// Reads a waiver file (TOML, `[[waiver]]` tables); every waiver must name a known rule, a
/// reason and an expiry date.
pub fn parse(file: &str, text: &str) -> Result<Vec<Waiver>, WaiverError> {
    let err = |pointer: String, reason: String| WaiverError {
        file: file.to_owned(),
        pointer,
        reason,
    };
    let value: toml::Table = toml::from_str(text).map_err(|e| {
        err(
            String::new(),
            format!("not a TOML waiver file: {}", e.message()),
        )
    })?;
    for key in value.keys() {
        if key != "waiver" {
            return Err(err(
                format!("/{key}"),
                "unknown member (expected `[[waiver]]` tables)".to_owned(),
            ));
        }
    }
    let Some(list) = value.get("waiver") else {
        return Ok(Vec::new());
    };
    let Some(list) = list.as_array() else {
        return Err(err(
            "/waiver".to_owned(),
            "expected an array of tables (`[[waiver]]`)".to_owned(),
        ));
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, w) in list.iter().enumerate() {
        let at = |m: &str| format!("/waiver/{i}{m}");
        let Some(t) = w.as_table() else {
            return Err(err(at(""), "expected a table".to_owned()));
        };
        for key in t.keys() {
            if !["rule", "policy", "user", "app", "reason", "expires"].contains(&key.as_str()) {
                return Err(err(
                    at(&format!("/{key}")),
                    "unknown member (rule, policy, user, app, reason, expires)".to_owned(),
                ));
            }
        }
        let text = |m: &str, required: bool| -> Result<Option<String>, WaiverError> {
            match t.get(m) {
                None if required => Err(err(at(&format!("/{m}")), "missing".to_owned())),
                None => Ok(None),
                Some(toml::Value::String(s)) if !s.trim().is_empty() => {
                    Ok(Some(s.trim().to_owned()))
                }
                Some(toml::Value::Datetime(d)) if m == "expires" => Ok(Some(d.to_string())),
                Some(_) => Err(err(
                    at(&format!("/{m}")),
                    "expected a non-empty string".to_owned(),
                )),
            }
        };
        let rule = text("rule", true)?.unwrap_or_default();
        if super::registry::rule(&rule).is_none() {
            return Err(err(at("/rule"), format!("unknown rule `{rule}`")));
        }
        let expires = text("expires", true)?.unwrap_or_default();
        let Some(start) = gardien_core::time::parse_instant(&expires) else {
            return Err(err(
                at("/expires"),
                format!("`{expires}` is not a date (YYYY-MM-DD)"),
            ));
        };
        // A bare date holds through that day.
        let expires_at = if expires.len() == 10 {
            start + 86_400
        } else {
            start
        };
        out.push(Waiver {
            rule,
            policy: text("policy", false)?,
            user: text("user", false)?,
            app: text("app", false)?,
            reason: text("reason", true)?.unwrap_or_default(),
            expires,
            source: format!("{file}: {}", at("")),
            expires_at,
        });
    }
    Ok(out)
}

impl Waiver {
    /// Whether the waiver no longer holds at `now` (Unix seconds).
    pub fn expired(&self, now: i64) -> bool {
        now >= self.expires_at
    }

    /// Whether the waiver covers a finding (expiry aside).
    pub fn matches(&self, f: &Finding) -> bool {
        let contains = |needle: &str| {
            f.message
                .to_ascii_lowercase()
                .contains(&needle.to_ascii_lowercase())
        };
        self.rule.eq_ignore_ascii_case(f.code)
            && self.policy.as_deref().is_none_or(|p| {
                f.policy
                    .as_ref()
                    .is_some_and(|r| r.id.eq_ignore_ascii_case(p) || r.display_name == p)
            })
            && self.user.as_deref().is_none_or(contains)
            && self.app.as_deref().is_none_or(contains)
    }
}

/// A finding accepted by a waiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaivedFinding {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// Why it is accepted (the waiver's reason).
    pub reason: String,
    /// Until when (the waiver's expiry).
    pub expires: String,
    /// Where the waiver is.
    pub waiver: String,
}

/// A lint report with its waivers applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Waived {
    /// Findings not waived (the summary counts only these).
    #[serde(flatten)]
    pub report: LintReport,
    /// Findings accepted by an unexpired waiver.
    pub waived: Vec<WaivedFinding>,
    /// Waivers past their expiry: they waive nothing, and make `lint` fail.
    pub expired_waivers: Vec<Waiver>,
    /// Unexpired waivers that matched no finding (stale, worth removing).
    pub unused_waivers: Vec<Waiver>,
}

impl Waived {
    /// Whether the run fails: a finding at or above `threshold`, or an expired waiver.
    pub fn fails(&self, threshold: Severity) -> bool {
        self.report.fails(threshold) || !self.expired_waivers.is_empty()
    }
}

/// Applies waivers at `now` (Unix seconds).
pub fn apply(report: LintReport, waivers: &[Waiver], now: i64) -> Waived {
    let mut used = vec![false; waivers.len()];
    let mut kept = Vec::new();
    let mut waived = Vec::new();
    for f in report.findings {
        let hit = waivers
            .iter()
            .enumerate()
            .find(|(_, w)| !w.expired(now) && w.matches(&f));
        match hit {
            Some((i, w)) => {
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
                waived.push(WaivedFinding {
                    finding: f,
                    reason: w.reason.clone(),
                    expires: w.expires.clone(),
                    waiver: w.source.clone(),
                });
            }
            None => kept.push(f),
        }
    }
    let count = |s: Severity| kept.iter().filter(|f| f.severity == s).count();
    let mut summary = report.summary;
    summary.errors = count(Severity::Error);
    summary.warnings = count(Severity::Warning);
    summary.infos = count(Severity::Info);
    summary.total = kept.len();
    Waived {
        report: LintReport {
            findings: kept,
            summary,
        },
        waived,
        expired_waivers: waivers.iter().filter(|w| w.expired(now)).cloned().collect(),
        unused_waivers: waivers
            .iter()
            .zip(&used)
            .filter(|(w, u)| !**u && !w.expired(now))
            .map(|(w, _)| w.clone())
            .collect(),
    }
}

#[cfg(test)]
#[allow(clippy::panic, reason = "test failures report through panics")]
mod tests {
    use super::*;
    use crate::lint::probe::testing::{grant, policy, tenant};
    use crate::lint::{LintOptions, lint};
    use serde_json::json;

    fn day(d: &str) -> i64 {
        gardien_core::time::parse_instant(d).unwrap_or_else(|| panic!("{d}"))
    }

    /// A policy that locks every user out (GA001).
    fn report() -> LintReport {
        let t = tenant(
            vec![policy(
                "CA09 Terms",
                json!({"users": {"includeUsers": ["All"]}}),
                grant("compliantDevice"),
            )],
            json!([]),
            None,
        );
        lint(&t, &LintOptions::default())
    }

    #[test]
    fn a_waiver_moves_matching_findings_aside_until_it_expires() {
        let r = report();
        let before = r.findings.iter().filter(|f| f.code == "GA001").count();
        assert!(before > 0, "{r:?}");
        let text = r#"
[[waiver]]
rule = "GA001"
reason = "Accepted until the MFA rollout"
expires = "2027-03-31"
"#;
        let waivers = parse("waivers.toml", text).unwrap_or_else(|e| panic!("{e}"));
        let w = apply(r.clone(), &waivers, day("2027-03-31T23:00:00Z"));
        assert_eq!(w.waived.len(), before);
        assert!(w.report.findings.iter().all(|f| f.code != "GA001"));
        assert!(!w.fails(Severity::Info));
        assert_eq!(w.report.summary.total, r.summary.total - before);
        assert!(w.expired_waivers.is_empty() && w.unused_waivers.is_empty());
        assert_eq!(w.waived[0].reason, "Accepted until the MFA rollout");
        assert_eq!(w.waived[0].waiver, "waivers.toml: /waiver/0");
        // The day after its expiry it waives nothing and fails the run, whatever the
        // threshold.
        let w = apply(r.clone(), &waivers, day("2027-04-01"));
        assert!(w.waived.is_empty());
        assert_eq!(w.report.findings, r.findings);
        assert_eq!(w.expired_waivers.len(), 1);
        assert!(w.fails(Severity::Error));
    }

    #[test]
    fn policy_user_and_app_narrow_a_waiver() {
        let r = report();
        let text = r#"
[[waiver]]
rule = "GA001"
policy = "some other policy"
reason = "r"
expires = "2030-01-01"
"#;
        let waivers = parse("w.toml", text).unwrap_or_else(|e| panic!("{e}"));
        let w = apply(r.clone(), &waivers, day("2027-01-01"));
        assert!(w.waived.is_empty());
        assert_eq!(w.unused_waivers.len(), 1);
        let text = r#"
[[waiver]]
rule = "GA001"
user = "no such user anywhere"
reason = "r"
expires = "2030-01-01"
"#;
        let waivers = parse("w.toml", text).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            apply(r.clone(), &waivers, day("2027-01-01"))
                .waived
                .is_empty()
        );
        // The policy by id, case-insensitively.
        let text = "[[waiver]]\nrule = \"GA001\"\npolicy = \"ca09 TERMS\"\nreason = \"r\"\nexpires = \"2030-01-01\"";
        let waivers = parse("w.toml", text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(apply(r, &waivers, day("2027-01-01")).waived.len(), 1);
    }

    #[test]
    fn bad_waiver_files_name_the_member() {
        let cases = [
            (
                "[[waiver]]\nrule = \"GA999\"\nreason = \"r\"\nexpires = \"2030-01-01\"",
                "/waiver/0/rule",
                "unknown rule `GA999`",
            ),
            (
                "[[waiver]]\nrule = \"GA302\"\nexpires = \"2030-01-01\"",
                "/waiver/0/reason",
                "missing",
            ),
            (
                "[[waiver]]\nrule = \"GA302\"\nreason = \"r\"",
                "/waiver/0/expires",
                "missing",
            ),
            (
                "[[waiver]]\nrule = \"GA302\"\nreason = \"r\"\nexpires = \"soon\"",
                "/waiver/0/expires",
                "not a date",
            ),
            (
                "[[waiver]]\nrule = \"GA302\"\nreason = \"r\"\nexpires = \"2030-01-01\"\nuntil = 1",
                "/waiver/0/until",
                "unknown member",
            ),
            (
                "[[waivers]]\nrule = \"GA302\"",
                "/waivers",
                "unknown member",
            ),
        ];
        for (text, pointer, reason) in cases {
            match parse("w.toml", text) {
                Ok(w) => panic!("accepted {text}: {w:?}"),
                Err(e) => {
                    assert_eq!(e.pointer, pointer, "{text}");
                    assert!(e.reason.contains(reason), "{e}");
                    assert_eq!(e.file, "w.toml");
                }
            }
        }
        // A TOML date (unquoted) is read too.
        let w = parse(
            "w.toml",
            "[[waiver]]\nrule = \"GA302\"\nreason = \"r\"\nexpires = 2030-01-01",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w[0].expires, "2030-01-01");
    }
}
