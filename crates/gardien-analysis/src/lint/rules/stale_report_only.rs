//! `GA303` stale-report-only: a policy has been in report-only mode for longer than the
//! allowed age (90 days by default). Skipped without a current time.

use gardien_core::model::policy::PolicyState;

use crate::lint::registry::STALE_REPORT_ONLY;
use crate::lint::{Context, Skipped, parse_timestamp};

/// GA303: report-only policies older than the allowed age.
pub(super) fn check(cx: &mut Context<'_>) {
    let Some(now) = cx.options.now else {
        cx.skipped.push(Skipped {
            codes: vec![STALE_REPORT_ONLY],
            reason: "no current time was given".to_owned(),
        });
        return;
    };
    let max = i64::from(cx.options.report_only_max_age_days);
    let mut found = Vec::new();
    for (i, p) in cx.tenant.tenant.policies.iter().enumerate() {
        if p.state != PolicyState::ReportOnly {
            continue;
        }
        let stamp = ["modifiedDateTime", "createdDateTime"]
            .iter()
            .find_map(|k| {
                let text = p.raw.get(*k)?.as_str()?;
                Some((text.to_owned(), parse_timestamp(text)?))
            });
        let Some((text, at)) = stamp else { continue };
        let days = (now - at).div_euclid(86_400);
        if days > max {
            let date = text.get(..10).unwrap_or(&text).to_owned();
            found.push((i, date, days));
        }
    }
    for (i, date, days) in found {
        let name = cx.policy_name(i);
        cx.report(
            STALE_REPORT_ONLY,
            Some(i),
            "/state",
            format!(
                "policy {name} has been report-only since {date} ({days} days, more than {max})"
            ),
            None,
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::probe::testing::{codes, grant, policy, tenant, users};
    use crate::lint::{LintOptions, lint, parse_timestamp};
    use serde_json::json;

    #[test]
    fn ga303_stale_report_only() {
        let mut p = policy("old", json!({"users": users()}), grant("mfa"));
        p["state"] = json!("enabledForReportingButNotEnforced");
        p["createdDateTime"] = json!("2024-01-01T00:00:00Z");
        p["modifiedDateTime"] = json!("2024-03-01T00:00:00Z");
        let t = tenant(vec![p], json!([]), None);
        let at = |now: &str| LintOptions {
            now: parse_timestamp(now),
            ..LintOptions::default()
        };
        let r = lint(&t, &at("2024-06-01"));
        assert!(
            r.findings
                .iter()
                .any(|f| f.code == "GA303" && f.message.contains("since 2024-03-01 (92 days")),
            "{r:?}"
        );
        assert_eq!(
            codes(&lint(&t, &at("2024-05-01")), "GA303"),
            Vec::<&str>::new()
        );
        let r = lint(&t, &LintOptions::default());
        assert!(r.summary.skipped.iter().any(|s| s.codes == vec!["GA303"]));
    }
}
