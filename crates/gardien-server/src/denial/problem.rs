//! The RFC 9457 problem details body (`application/problem+json`).

use serde_json::{Map, Value, json};

use super::messages::{fill, msg};
use super::{
    DenialContext, Facts, Lang, PROBLEM_TYPE_BASE, action_name, category_name, category_text,
    category_title,
};

/// Builds the body (members documented on [`super::problem_json`]).
pub(crate) fn render(ctx: &DenialContext<'_>, facts: &Facts<'_>, lang: Lang) -> Value {
    let category = category_name(facts.category);
    let d = ctx.device;
    let detail = format!(
        "{} {}",
        fill(facts.lead(lang), &[("app", ctx.application)]),
        category_text(facts.category, lang)
    );
    let mut o = Map::new();
    o.insert(
        "type".into(),
        Value::String(format!(
            "{PROBLEM_TYPE_BASE}{}",
            category.to_ascii_lowercase()
        )),
    );
    o.insert(
        "title".into(),
        Value::String(category_title(facts.category, lang)),
    );
    o.insert("status".into(), json!(ctx.status));
    o.insert("detail".into(), Value::String(detail));
    o.insert(
        "decision".into(),
        json!(if facts.deny { "deny" } else { "challenge" }),
    );
    o.insert(
        "errorCode".into(),
        json!(if facts.deny {
            ctx.report.error_code
        } else {
            None
        }),
    );
    o.insert("category".into(), json!(category));
    o.insert("temporary".into(), json!(facts.temporary));
    o.insert(
        "userActions".into(),
        json!(
            facts
                .actions
                .iter()
                .map(|a| action_name(*a))
                .collect::<Vec<_>>()
        ),
    );
    o.insert(
        "userActionSets".into(),
        json!(
            ctx.report
                .explanation
                .as_ref()
                .map(|e| e.user_action_sets.clone())
                .unwrap_or_default()
        ),
    );
    if ctx.report.explanation.as_ref().is_some_and(|e| e.partial) {
        // The search was cut (many explanations at once): the actions found until then.
        o.insert("partial".into(), json!(true));
    }
    o.insert("correlationId".into(), json!(ctx.correlation_id));
    o.insert("timestamp".into(), json!(ctx.timestamp));
    o.insert(
        "clientIp".into(),
        json!(ctx.client_ip.map(|ip| ip.to_string())),
    );
    o.insert("application".into(), json!(ctx.application));
    o.insert(
        "device".into(),
        json!({
            "registered": d.registered,
            "compliant": d.compliant,
            "trustType": d.trust_type,
            "platform": d.platform,
            "osVersion": d.os_version,
            "clientApp": d.client_app,
        }),
    );
    if let Some(s) = ctx.support.filter(|s| !s.trim().is_empty()) {
        o.insert("support".into(), json!(s));
    }
    if ctx.disclosure != super::Disclosure::Minimal {
        o.insert(
            "failingConditions".into(),
            Value::Array(
                facts
                    .failing
                    .iter()
                    .map(|f| json!({"kind": f.kind, "name": f.name, "text": msg(lang, &f.key)}))
                    .collect(),
            ),
        );
    }
    if ctx.disclosure == super::Disclosure::Full {
        o.insert(
            "policies".into(),
            Value::Array(
                facts
                    .policies
                    .iter()
                    .map(|p| json!({"id": p.id, "displayName": p.display_name, "result": p.result}))
                    .collect(),
            ),
        );
        o.insert("adminDetails".into(), json!(facts.admin_details));
    }
    Value::Object(o)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::super::tests::report;
    use super::super::{Category, DeviceSummary, Disclosure, UserAction, problem_json};
    use super::*;

    #[test]
    fn partial_only_when_the_search_was_cut() {
        let mut r = report(
            "deny",
            "block",
            &["block"],
            Category::AnonymousNetwork,
            &[UserAction::DisconnectVpn, UserAction::ContactSupport],
        );
        let d = DeviceSummary::default();
        let json_of = |r: &gardien_core::report::DecisionReport| {
            problem_json(
                &DenialContext {
                    report: r,
                    correlation_id: "corr-1",
                    timestamp: "2025-03-01T10:20:30Z",
                    client_ip: None,
                    application: "Payroll",
                    device: &d,
                    disclosure: Disclosure::Minimal,
                    support: None,
                    status: 403,
                },
                Lang::En,
            )
        };
        assert!(json_of(&r).get("partial").is_none());
        if let Some(e) = r.explanation.as_mut() {
            e.partial = true;
        }
        let v = json_of(&r);
        assert_eq!(v["partial"], true);
        assert_eq!(v["userActions"], json!(["disconnectVpn", "contactSupport"]));
    }

    #[test]
    fn problem_members_by_disclosure() {
        let r = report(
            "deny",
            "block",
            &["block"],
            Category::AnonymousNetwork,
            &[UserAction::DisconnectVpn, UserAction::ContactSupport],
        );
        let d = DeviceSummary {
            platform: "windows".into(),
            client_app: "browser".into(),
            ..Default::default()
        };
        let ctx = DenialContext {
            report: &r,
            correlation_id: "corr-1",
            timestamp: "2025-03-01T10:20:30Z",
            client_ip: "2001:db8::1".parse().ok(),
            application: "<Payroll>",
            device: &d,
            disclosure: Disclosure::Minimal,
            support: None,
            status: 403,
        };
        let v = problem_json(&ctx, Lang::En);
        assert_eq!(
            v["type"],
            "https://github.com/gardien-ca/gardien/blob/main/docs/problems.md#anonymousnetwork"
        );
        assert_eq!(v["title"], "VPN or anonymous network");
        assert_eq!(v["status"], 403);
        assert_eq!(
            v["detail"].as_str().unwrap(),
            "Your access to <Payroll> was blocked. You seem to be connecting through a VPN, a proxy or an anonymizing network, which hides where you really are."
        );
        assert_eq!(v["decision"], "deny");
        assert_eq!(v["errorCode"], 53003);
        assert_eq!(v["category"], "anonymousNetwork");
        assert_eq!(v["temporary"], true);
        assert_eq!(v["userActions"], json!(["disconnectVpn", "contactSupport"]));
        assert_eq!(v["correlationId"], "corr-1");
        assert_eq!(v["clientIp"], "2001:db8::1");
        assert_eq!(v["application"], "<Payroll>");
        assert_eq!(
            v["device"],
            json!({"registered": false, "compliant": null, "trustType": null,
                   "platform": "windows", "osVersion": null, "clientApp": "browser"})
        );
        assert!(v.get("support").is_none());
        assert!(v.get("failingConditions").is_none());
        assert!(v.get("policies").is_none());
        assert!(v.get("adminDetails").is_none());
        assert!(!v.to_string().contains("Secret"));
        assert!(!v.to_string().contains("pol-secret-id"));

        let fr = problem_json(&ctx, Lang::Fr);
        assert_eq!(fr["title"], "VPN ou réseau anonyme");
        assert!(
            fr["detail"]
                .as_str()
                .unwrap()
                .starts_with("Votre accès à <Payroll> a été bloqué.")
        );

        let detailed = problem_json(
            &DenialContext {
                disclosure: Disclosure::Detailed,
                support: Some("https://help.example"),
                ..ctx
            },
            Lang::En,
        );
        assert_eq!(
            detailed["failingConditions"],
            json!([
                {"kind": "condition", "name": "location", "text": "Location: not in an allowed or trusted location"},
                {"kind": "condition", "name": "clientApps", "text": "Client app: this way of connecting (browser, app or legacy protocol) is restricted"},
                {"kind": "control", "name": "block", "text": "Grant: access is blocked"}
            ])
        );
        assert_eq!(detailed["support"], "https://help.example");
        assert!(!detailed.to_string().contains("Secret"));
        assert!(!detailed.to_string().contains("pol-secret-id"));

        let full = problem_json(
            &DenialContext {
                disclosure: Disclosure::Full,
                ..ctx
            },
            Lang::En,
        );
        assert_eq!(
            full["policies"],
            json!([{"id": "pol-secret-id", "displayName": "Secret Policy Name", "result": "failure"}])
        );
        assert!(
            full["adminDetails"]
                .as_str()
                .unwrap()
                .contains("Secret Named Location")
        );
    }

    #[test]
    fn challenge_has_no_error_code() {
        let r = report(
            "challenge",
            "interrupt: mfa",
            &["mfa"],
            Category::MfaRequired,
            &[UserAction::CompleteMfa, UserAction::ContactSupport],
        );
        let d = DeviceSummary::default();
        let ctx = DenialContext {
            report: &r,
            correlation_id: "c",
            timestamp: "t",
            client_ip: None,
            application: "App",
            device: &d,
            disclosure: Disclosure::Minimal,
            support: None,
            status: 401,
        };
        let v = problem_json(&ctx, Lang::En);
        assert_eq!(v["status"], 401);
        assert_eq!(v["decision"], "challenge");
        assert_eq!(v["errorCode"], Value::Null);
        assert_eq!(v["category"], "mfaRequired");
        assert_eq!(v["clientIp"], Value::Null);
        assert!(v["type"].as_str().unwrap().ends_with("#mfarequired"));
    }
}
