//! Help-desk pages: sign-in search, one sign-in (decision, trace, what the user saw) and
//! "what if".
//!
//! A sign-in's page decides its logged request again (`gardien.request` of the record: the
//! exact request that was decided) with the core's evaluator, against the policy version
//! that decided it and as of its own time: the same [`gardien_core::report::DecisionReport`] the CLI's `explain`
//! and the denial page are built from. "What if" changes that request (device state,
//! location, client app, methods) and decides it again the same way.

mod search;
mod trace;
mod what_if;

pub use search::{SearchQuery, search};
pub use trace::detail;
pub use what_if::what_if;

use super::page::{e, te};
use crate::denial::Lang;
use serde_json::Value;

fn text<'a>(record: &'a Value, pointer: &str) -> &'a str {
    record
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn decision_badge(lang: Lang, decision: &str) -> String {
    let class = match decision {
        "allow" => "allow",
        "challenge" => "challenge",
        _ => "deny",
    };
    format!(
        "<span class=\"badge {class}\">{}</span>",
        te(lang, &format!("decision-{class}"))
    )
}

fn field(id: &str, label: &str, value: &str, kind: &str, extra: &str) -> String {
    format!(
        "<div class=\"field\"><label for=\"{id}\">{label}</label><input id=\"{id}\" name=\"{id}\" type=\"{kind}\" value=\"{}\"{extra}></div>",
        e(value)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests")]
mod tests {
    use super::search::form_time;
    use super::trace::policy;
    use super::what_if::{changed_request, device_state};
    use super::*;
    use crate::denial::Disclosure;
    use gardien_core::eval::PolicyResult;
    use gardien_core::report::TracePolicy;
    use serde_json::json;

    fn request() -> Value {
        json!({
            "signInIdentity": {"userId": "u"},
            "signInContext": {"includeApplications": ["a"]},
            "signInConditions": {"clientAppType": "browser", "ipAddress": "198.51.100.20",
                "deviceInfo": {"isCompliant": false, "trustType": "Workplace"}},
            "session": {"authenticationMethods": ["password"]}
        })
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn what_if_changes_only_what_the_form_says() {
        let r = changed_request(
            &request(),
            &form(&[
                ("device", "compliant"),
                ("ip", "198.51.100.20"),
                ("country", "fr"),
                ("clientApp", "mobileAppsAndDesktopClients"),
                ("method", "password"),
                ("method", "fido2"),
            ]),
        )
        .unwrap();
        assert_eq!(r["signInConditions"]["deviceInfo"]["isCompliant"], true);
        assert_eq!(
            r["signInConditions"]["deviceInfo"]["trustType"],
            "Workplace"
        );
        assert_eq!(r["signInConditions"]["country"], "FR");
        assert_eq!(
            r["signInConditions"]["clientAppType"],
            "mobileAppsAndDesktopClients"
        );
        assert_eq!(
            r["session"]["authenticationMethods"],
            json!(["password", "fido2"])
        );
        assert_eq!(r["signInIdentity"], request()["signInIdentity"]);
        let r = changed_request(&request(), &form(&[("device", "unregistered")])).unwrap();
        assert!(r["signInConditions"].get("deviceInfo").is_none());
        assert_eq!(device_state(&r), "unregistered");
        assert_eq!(device_state(&request()), "registered");
    }

    #[test]
    fn what_if_refuses_bad_fields() {
        for (k, v, key) in [
            ("ip", "not-an-ip", "whatif-bad-ip"),
            ("country", "FRA", "whatif-bad-country"),
            ("clientApp", "telnet", "whatif-bad-client"),
            ("method", "carrierPigeon", "whatif-bad-method"),
            ("device", "jailbroken", "whatif-bad-device"),
        ] {
            assert_eq!(changed_request(&request(), &form(&[(k, v)])), Err(key));
        }
    }

    #[test]
    fn policies_are_shown_at_the_disclosure_level() {
        use gardien_core::eval::Condition;
        use gardien_core::eval::input::Outcome;
        use gardien_core::model::policy::PolicyState;
        use gardien_core::report::{Grant, TraceCondition};
        let trace = TracePolicy {
            index: 0,
            policy_id: "ca04-id".into(),
            display_name: "CA04 <Payroll>".into(),
            state: PolicyState::Enabled,
            applies: true,
            conditions: vec![TraceCondition {
                condition: Condition::Location,
                result: Outcome::Satisfied,
                detail: "in `HQ egress`".into(),
            }],
            grant: Grant(None),
            grant_detail: String::new(),
        };
        let render = |d: Disclosure| {
            let mut out = String::new();
            policy(
                &mut out,
                Lang::En,
                3,
                &trace,
                Some(PolicyResult::Failure),
                d,
            );
            out
        };
        let minimal = render(Disclosure::Minimal);
        assert!(minimal.contains("Policy 3") && minimal.contains("failure"));
        for hidden in ["CA04", "ca04-id", "Location", "HQ egress"] {
            assert!(!minimal.contains(hidden), "minimal shows `{hidden}`");
        }
        let detailed = render(Disclosure::Detailed);
        assert!(detailed.contains("Policy 3") && detailed.contains("Location"));
        for hidden in ["CA04", "ca04-id", "HQ egress"] {
            assert!(!detailed.contains(hidden), "detailed shows `{hidden}`");
        }
        let full = render(Disclosure::Full);
        assert!(full.contains("CA04 &lt;Payroll&gt;") && full.contains("ca04-id"));
        assert!(full.contains("in `HQ egress`"));
    }

    #[test]
    fn users_are_found_by_partial_canonical_name_upn_or_id_and_bounded() {
        use super::search::{USER_CHOICES, UserMatch, canonical, match_user};
        use gardien_core::model::directory::DirectoryUser;
        let user = |id: &str, upn: &str, name: Option<&str>| DirectoryUser {
            id: id.into(),
            user_principal_name: upn.into(),
            display_name: name.map(str::to_owned),
            is_guest: false,
            external_user_type: None,
            home_tenant_id: None,
            member_of: Vec::new(),
            roles: Vec::new(),
            agent_user: false,
        };
        let users = vec![
            user("a1a1-0001", "alice@contoso.example", Some("Alice Martin")),
            user("b2b2-0002", "bob@contoso.example", Some("Ｂob  Ｍartin")),
            user("c3c3-0003", "Élodie@contoso.example", None),
        ];
        assert_eq!(canonical("  ＡLICE   Martin "), "alice martin");
        assert_eq!(match_user("  ", &users), UserMatch::Any);
        // A prefix of the display name, of a word of it, of the UPN, of the id.
        for text in ["ali", "ALICE M", "alice@", "a1a1", "A1A1-0001"] {
            assert_eq!(
                match_user(text, &users),
                UserMatch::One("a1a1-0001".into()),
                "{text}"
            );
        }
        assert_eq!(
            match_user("élodie", &users),
            UserMatch::One("c3c3-0003".into())
        );
        // Full-width letters and doubled spaces are canonicalised (NFKC).
        assert_eq!(
            match_user("bob mar", &users),
            UserMatch::One("b2b2-0002".into())
        );
        match match_user("martin", &users) {
            UserMatch::Several(found, more) => {
                assert_eq!(found.len(), 2);
                assert!(!more);
            }
            other => panic!("{other:?}"),
        }
        // An exact UPN wins over prefixes of others.
        let mut many: Vec<DirectoryUser> = (0..50)
            .map(|i| user(&format!("id-{i:02}"), &format!("user{i}@x.example"), None))
            .collect();
        match match_user("user", &many) {
            UserMatch::Several(found, more) => {
                assert_eq!(found.len(), USER_CHOICES);
                assert!(more);
            }
            other => panic!("{other:?}"),
        }
        many.push(user("id-x", "user@x.example", None));
        assert_eq!(
            match_user("USER@x.example", &many),
            UserMatch::One("id-x".into())
        );
        // Nobody in the directory: the text as an id, lower-cased.
        assert_eq!(
            match_user("D4D4-0004", &users),
            UserMatch::One("d4d4-0004".into())
        );
    }

    /// A page that stopped at its bound says back to when it searched, with or without
    /// rows, and links to the older sign-ins from that position; a full page links on as
    /// before; an empty last page says nothing matches, with no link.
    #[test]
    fn a_page_that_stopped_early_says_back_to_when_and_links_on() {
        use super::search::after_rows;
        use gardien_store::{LogPosition, SearchPage};
        let q: SearchQuery =
            serde_json::from_value(json!({"user": "alice", "errorCode": "53003"})).unwrap();
        let at = 1_790_375_000_500;
        let stopped = |records: Vec<Value>| SearchPage {
            records,
            next: Some(LogPosition::before_millisecond(at)),
            searched_to: Some(at),
        };
        let link = "href=\"/console/signins?user=alice&amp;errorCode=53003&amp;before=1790375000500\" rel=\"next\"";
        let none = after_rows(Lang::En, &q, &stopped(Vec::new()));
        assert!(
            none.contains("No sign-in matches since 2026-09-25T"),
            "{none}"
        );
        assert!(none.contains(link), "{none}");
        assert!(none.contains("Search older sign-ins"), "{none}");
        let some = after_rows(Lang::Fr, &q, &stopped(vec![json!({})]));
        assert!(
            some.contains("Recherche faite jusqu’au 2026-09-25T"),
            "{some}"
        );
        assert!(some.contains(link), "{some}");
        let full = after_rows(
            Lang::En,
            &q,
            &SearchPage {
                records: vec![json!({})],
                next: Some(LogPosition {
                    created_ms: at,
                    seq: 7,
                }),
                searched_to: None,
            },
        );
        assert!(!full.contains("notice"), "{full}");
        assert!(
            full.contains("before=1790375000500.7\" rel=\"next\">Older sign-ins"),
            "{full}"
        );
        let end = after_rows(
            Lang::En,
            &q,
            &SearchPage {
                records: Vec::new(),
                next: None,
                searched_to: None,
            },
        );
        assert!(
            end.contains("No sign-in matches.") && !end.contains("href"),
            "{end}"
        );
    }

    #[test]
    fn form_times_are_utc() {
        assert_eq!(form_time("1970-01-01T00:01"), Some(60_000));
        assert_eq!(form_time("1970-01-01T00:01:00Z"), Some(60_000));
        assert_eq!(form_time("yesterday"), None);
    }
}
