#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! The AuthZEN Authorization API 1.0 in process (axum router + tower `oneshot`) on the demo
//! tenant: the specification's non-normative examples, gardien's allow / deny / challenge,
//! batch defaults and semantics, errors, and the PDP metadata.

#[allow(dead_code, reason = "shared support: not every test uses all of it")]
#[path = "support/demo.rs"]
mod demo;
#[allow(dead_code, reason = "shared support: not every test uses all of it")]
#[path = "support/harness.rs"]
mod harness;
use axum::Router;
use axum::body::Body;
use demo::{ALICE, BOB, TOKEN, demo_options};
use gardien_server::ServerConfig;
use harness::{Reply, Server};
use http::{Request, StatusCode};
use serde_json::{Value, json};

const PAYROLL: &str = "c0ffee00-0000-4000-8000-000000000100";
const WIKI: &str = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c";
/// In the demo's trusted "HQ egress" named location.
const HQ_IP: &str = "198.51.100.20";
const DECISION_TOKEN: &str = "decision-only-token-42";

async fn server(extra: &str) -> Server {
    let config = format!(
        r#"
[[apps]]
host = "payroll.contoso.example"
app_id = "{PAYROLL}"
name = "Payroll"
[[apps]]
host = "*"
app_id = "{WIKI}"
name = "Wiki"
[admin]
token_sha256 = "{hash}"
decision_token_sha256 = "{decision}"
{extra}
"#,
        hash = gardien_server::state::hash_token(TOKEN),
        decision = gardien_server::state::hash_token(DECISION_TOKEN),
    );
    harness::server(&config, demo_options()).await
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    harness::send(app, "127.0.0.1", req).await
}

fn post(path: &str, token: Option<&str>, body: &str) -> Request<Body> {
    let mut b = Request::post(path).header("content-type", "application/json");
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    b.body(Body::from(body.to_owned())).unwrap()
}

async fn evaluation(s: &Server, body: &Value) -> Reply {
    send(
        &s.app,
        post("/access/v1/evaluation", Some(TOKEN), &body.to_string()),
    )
    .await
}

async fn evaluations(s: &Server, body: &Value) -> Reply {
    send(
        &s.app,
        post("/access/v1/evaluations", Some(TOKEN), &body.to_string()),
    )
    .await
}

/// The decisions of an evaluations answer.
fn decisions(r: &Reply) -> Vec<bool> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert!(
        v.get("decision").is_none(),
        "the batch answer omits the top-level decision (RECOMMENDED)"
    );
    v["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["decision"].as_bool().unwrap())
        .collect()
}

/// Alice (Finance) on a Mac at HQ: no policy stands in the way.
fn alice_at_hq() -> Value {
    json!({"type": "user", "id": ALICE, "properties": {
        "ip_address": HQ_IP, "device_platform": "macOS", "client_app_type": "browser",
        "authentication_methods": ["password"]}})
}

fn app(id: &str) -> Value {
    json!({"type": "application", "id": id})
}

// --- The specification's non-normative examples --------------------------------------------

#[tokio::test]
async fn specification_examples_are_well_formed_requests() {
    let s = server("").await;
    // Access Evaluation request example (section "Access Evaluation API"): the resource type
    // `account` is not a resource gardien knows, so the decision is closed, with the reason.
    let example = json!({
      "subject": {"type": "user", "id": "alice@example.com"},
      "resource": {"type": "account", "id": "123"},
      "action": {"name": "can_read", "properties": {"method": "GET"}},
      "context": {"time": "1985-10-26T01:22-07:00"}
    });
    let r = evaluation(&s, &example).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("content-type"), "application/json");
    let v = r.json();
    assert_eq!(v["decision"], false);
    assert_eq!(v["context"]["error"]["status"], 400, "{v}");
    assert!(
        v["context"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("can_read"),
        "{v}"
    );

    // The HTTPS binding example, with X-Request-ID echoed.
    let example = json!({
      "subject": {"type": "user", "id": "alice@example.com"},
      "resource": {"type": "todo", "id": "1"},
      "action": {"name": "can_read"},
      "context": {"time": "1985-10-26T01:22-07:00"}
    });
    let mut req = post("/access/v1/evaluation", Some(TOKEN), &example.to_string());
    req.headers_mut().insert(
        "x-request-id",
        "bfe9eb29-ab87-4ca3-be83-a1d5d8305716".parse().unwrap(),
    );
    let r = send(&s.app, req).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("x-request-id"),
        "bfe9eb29-ab87-4ca3-be83-a1d5d8305716"
    );
    assert_eq!(r.json()["decision"], false);

    // The same examples with gardien's own vocabulary: `can_access` an application.
    let mut example = example;
    example["subject"] = alice_at_hq();
    example["action"] = json!({"name": "can_access"});
    example["resource"] = app(WIKI);
    let r = evaluation(&s, &example).await;
    assert_eq!(r.json()["decision"], true, "{}", r.text());

    // The evaluations examples: no defaults, defaults, and an overridden default action.
    let three = |id: &str| json!({"type": "document", "id": id});
    let no_defaults = json!({"evaluations": [
        {"subject": {"type": "user", "id": "alice@example.com"}, "action": {"name": "can_read"},
         "resource": three("boxcarring.md"), "context": {"time": "2024-05-31T15:22-07:00"}},
        {"subject": {"type": "user", "id": "alice@example.com"}, "action": {"name": "can_read"},
         "resource": three("subject-search.md"), "context": {"time": "2024-05-31T15:22-07:00"}},
        {"subject": {"type": "user", "id": "alice@example.com"}, "action": {"name": "can_read"},
         "resource": three("resource-search.md"), "context": {"time": "2024-05-31T15:22-07:00"}}
    ]});
    assert_eq!(
        decisions(&evaluations(&s, &no_defaults).await),
        [false, false, false]
    );
    let defaults = json!({
      "subject": {"type": "user", "id": "alice@example.com"},
      "context": {"time": "2024-05-31T15:22-07:00"},
      "action": {"name": "can_read"},
      "evaluations": [
        {"resource": three("boxcarring.md")},
        {"resource": three("subject-search.md")},
        {"action": {"name": "can_edit"}, "resource": three("resource-search.md")}
      ]
    });
    let r = evaluations(&s, &defaults).await;
    assert_eq!(decisions(&r), [false, false, false]);
    let v = r.json();
    // The override took: the third evaluation names `can_edit`, the others `can_read`.
    let message = |i: usize| {
        v["evaluations"][i]["context"]["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(message(0).contains("can_read"), "{v}");
    assert!(message(2).contains("can_edit"), "{v}");

    // The options example: an unknown option is ignored, execute_all is the semantic.
    let options = json!({
      "evaluations": [{"resource": {"type": "doc", "id": "1"},
                       "subject": {"type": "doc", "id": "2"}}],
      "options": {"evaluations_semantic": "execute_all", "another_option": "value"}
    });
    let r = evaluations(&s, &options).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "the example's evaluation has no action, and no default: {}",
        r.text()
    );
    assert!(r.text().contains("/evaluations/0/action"), "{}", r.text());
}

/// The three-document semantics example, with applications for documents: 1 (Wiki) and 3
/// (a Wiki URL) are allowed, 2 (Payroll) is not (CA04: a browser needs a compliant device).
#[tokio::test]
async fn evaluations_semantics_follow_the_specification_example() {
    let s = server("").await;
    let request = |semantic: &str| {
        json!({
          "subject": alice_at_hq(),
          "action": {"name": "can_access"},
          "options": {"evaluations_semantic": semantic},
          "evaluations": [
            {"resource": app(WIKI)},
            {"resource": app(PAYROLL)},
            {"resource": {"type": "url", "id": "https://wiki.contoso.example/page"}}
          ]
        })
    };
    let r = evaluations(&s, &request("execute_all")).await;
    assert_eq!(decisions(&r), [true, false, true]);
    let v = r.json();
    assert_eq!(v["evaluations"][1]["context"]["gardien_decision"], "deny");
    assert_eq!(v["evaluations"][1]["context"]["error_code"], 53000);
    // Without options: execute_all.
    let mut plain = request("execute_all");
    plain.as_object_mut().unwrap().remove("options");
    assert_eq!(
        decisions(&evaluations(&s, &plain).await),
        [true, false, true]
    );
    assert_eq!(
        decisions(&evaluations(&s, &request("deny_on_first_deny")).await),
        [true, false]
    );
    assert_eq!(
        decisions(&evaluations(&s, &request("permit_on_first_permit")).await),
        [true]
    );
    let r = evaluations(&s, &request("all_of_them")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("evaluations_semantic"), "{}", r.text());

    // An evaluation that cannot be decided is a denial for deny_on_first_deny.
    let failing = json!({
      "subject": alice_at_hq(), "action": {"name": "can_access"},
      "options": {"evaluations_semantic": "deny_on_first_deny"},
      "evaluations": [{"resource": {"type": "spaceship", "id": "1"}}, {"resource": app(WIKI)}]
    });
    let r = evaluations(&s, &failing).await;
    assert_eq!(decisions(&r), [false]);
    assert_eq!(
        r.json()["evaluations"][0]["context"]["error"]["status"],
        404
    );

    // Without evaluations the request is a single evaluation, and so is its answer.
    let single = json!({"subject": alice_at_hq(), "action": {"name": "can_access"},
                        "resource": app(WIKI), "evaluations": []});
    let r = evaluations(&s, &single).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["decision"], true, "{}", r.text());
}

// --- gardien's decisions --------------------------------------------------------------------

#[tokio::test]
async fn allow_deny_and_challenge_are_decided_and_logged() {
    let s = server("").await;
    // Allow.
    let r = evaluation(
        &s,
        &json!({"subject": alice_at_hq(), "action": {"name": "can_access"}, "resource": app(WIKI)}),
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"decision": true}),
        "an allow is the bare Decision"
    );
    let allow_id = r.header("x-gardien-correlation-id").to_owned();
    assert_eq!(allow_id.len(), 36);

    // Deny: from Brazil, outside the EU (CA01 blocks).
    let abroad = json!({"type": "user", "id": ALICE, "properties": {
        "ip_address": "203.0.113.50", "country": "BR", "device_platform": "macOS"}});
    let r = evaluation(
        &s,
        &json!({"subject": abroad, "action": {"name": "can_access"}, "resource": app(WIKI)}),
    )
    .await;
    let v = r.json();
    assert_eq!(v["decision"], false, "{v}");
    let c = &v["context"];
    assert_eq!(c["gardien_decision"], "deny");
    assert_eq!(c["error_code"], 53003);
    assert_eq!(c["category"], "location", "{c}");
    assert!(
        c["reason_user"]["en"].as_str().unwrap().contains("Wiki"),
        "{c}"
    );
    // Minimal disclosure (the default): no policy, no failing condition, no admin reason.
    assert!(
        c.get("policies").is_none() && c.get("reason_admin").is_none(),
        "{c}"
    );
    assert!(c.get("failing_conditions").is_none(), "{c}");
    // The denial page of the decision is there for the PEP to show.
    let page = c["denial_page"].as_str().unwrap();
    let r = send(
        &s.app,
        Request::get(page)
            .header("accept", "application/problem+json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["errorCode"], 53003);

    // Challenge: Bob is a Global Administrator (CA03 requires MFA) — a step-up request, as
    // the specification's third context example.
    let bob = json!({"type": "identity", "id": BOB, "properties": {
        "ip_address": HQ_IP, "device_platform": "macOS", "client_app_type": "browser",
        "amr": ["pwd"]}});
    let r = evaluation(
        &s,
        &json!({"subject": bob, "action": {"name": "GET"}, "resource": app(WIKI)}),
    )
    .await;
    let v = r.json();
    assert_eq!(v["decision"], false, "{v}");
    assert_eq!(v["context"]["gardien_decision"], "challenge", "{v}");
    assert_eq!(v["context"]["acr_values"], "mfa");
    assert_eq!(v["context"]["required_controls"], json!(["mfa"]));
    assert!(v["context"].get("error_code").is_none(), "{v}");
    // With MFA done (amr `mfa`), allowed.
    let mut bob_mfa = bob.clone();
    bob_mfa["properties"]["amr"] = json!(["pwd", "mfa"]);
    let r = evaluation(
        &s,
        &json!({"subject": bob_mfa, "action": {"name": "can_access"}, "resource": app(WIKI)}),
    )
    .await;
    assert_eq!(r.json()["decision"], true, "{}", r.text());

    // Every decision is in the sign-in log, with the AuthZEN subject as the user.
    let r = send(
        &s.app,
        Request::get(format!("/v1/signins?correlationId={allow_id}"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let logged = r.json();
    let record = &logged["value"][0];
    assert_eq!(record["userId"], ALICE, "{logged}");
    assert_eq!(record["appId"], WIKI, "{logged}");
    assert!(
        record["gardien"].get("evaluatedAt").is_none(),
        "decided now: {logged}"
    );

    // `context.time` decides as of another instant, and the log says so.
    let r = evaluation(
        &s,
        &json!({"subject": alice_at_hq(), "action": {"name": "can_access"}, "resource": app(WIKI),
                "context": {"time": "2026-05-31T15:22-07:00"}}),
    )
    .await;
    let id = r.header("x-gardien-correlation-id").to_owned();
    let r = send(
        &s.app,
        Request::get(format!("/v1/signins?correlationId={id}"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        r.json()["value"][0]["gardien"]["evaluatedAt"],
        "2026-05-31T22:22:00Z"
    );
    let _ = &s.state;
}

#[tokio::test]
async fn disclosure_level_governs_the_reason() {
    let s = server("[page]\ndisclosure = \"full\"\n").await;
    let abroad = json!({"type": "user", "id": ALICE, "properties": {
        "ip_address": "203.0.113.50", "country": "BR", "device_platform": "macOS"}});
    let r = evaluation(
        &s,
        &json!({"subject": abroad, "action": {"name": "can_access"}, "resource": app(WIKI)}),
    )
    .await;
    let c = r.json()["context"].clone();
    assert!(c.to_string().contains("CA01"), "full names the policy: {c}");
    assert!(c["reason_admin"]["en"].is_string(), "{c}");
    assert!(c["failing_conditions"].is_array(), "{c}");
}

#[tokio::test]
async fn routes_url_resources_times_and_user_actions() {
    let s = server("").await;
    // A URL routed through [[apps]]: payroll.contoso.example is Payroll (CA04: a browser
    // needs a compliant device).
    let r = evaluation(
        &s,
        &json!({"subject": alice_at_hq(), "action": {"name": "can_access"},
        "resource": {"type": "url", "id": "https://payroll.contoso.example/salaries?id=1"}}),
    )
    .await;
    let v = r.json();
    assert_eq!(v["decision"], false, "{v}");
    assert!(
        v["context"]["reason_user"]["en"]
            .as_str()
            .unwrap()
            .contains("Payroll"),
        "{v}"
    );
    // A route with the host in the resource properties (the API gateway interop shape).
    let r = evaluation(&s, &json!({"subject": alice_at_hq(), "action": {"name": "POST"},
        "resource": {"type": "route", "id": "/todos", "properties": {"host": "wiki.contoso.example"}}})).await;
    assert_eq!(r.json()["decision"], true, "{}", r.text());
    // A compliant device (Graph deviceInfo) satisfies CA04.
    let mut subject = alice_at_hq();
    subject["properties"]["device"] = json!({"isCompliant": true, "trustType": "azureAD"});
    let r = evaluation(
        &s,
        &json!({"subject": subject, "action": {"name": "can_access"},
        "resource": app(PAYROLL)}),
    )
    .await;
    assert_eq!(r.json()["decision"], true, "{}", r.text());
    // A user action.
    let r = evaluation(
        &s,
        &json!({"subject": alice_at_hq(),
        "action": {"name": "register_security_information"},
        "resource": {"type": "user_action", "id": "registerSecurityInformation"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["decision"].is_boolean());
    // A risk level the core does not know: closed, naming the AuthZEN member.
    let r = evaluation(
        &s,
        &json!({"subject": alice_at_hq(), "action": {"name": "can_access"},
        "resource": app(WIKI), "context": {"sign_in_risk_level": "extreme"}}),
    )
    .await;
    let v = r.json();
    assert_eq!(v["decision"], false);
    assert_eq!(v["context"]["error"]["status"], 400);
    assert!(
        v["context"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/context/sign_in_risk_level"),
        "{v}"
    );
    // An unreadable time, and an IP address that is not one.
    let r = evaluation(
        &s,
        &json!({"subject": alice_at_hq(), "action": {"name": "can_access"},
        "resource": app(WIKI), "context": {"time": "yesterday"}}),
    )
    .await;
    assert!(
        r.json()["context"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/context/time")
    );
    let mut subject = alice_at_hq();
    subject["properties"]["ip_address"] = json!("banana");
    let r = evaluation(
        &s,
        &json!({"subject": subject, "action": {"name": "can_access"},
        "resource": app(WIKI)}),
    )
    .await;
    assert!(
        r.json()["context"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/subject/properties/ip_address"),
        "{}",
        r.text()
    );
    // An unrouted URL: no such application.
    let s2 = server("").await;
    let r = evaluation(
        &s2,
        &json!({"subject": alice_at_hq(), "action": {"name": "can_access"},
        "resource": {"type": "url", "id": "not a url"}}),
    )
    .await;
    assert_eq!(r.json()["context"]["error"]["status"], 400);
}

// --- Errors and authentication --------------------------------------------------------------

#[tokio::test]
async fn bad_requests_are_400_with_a_message() {
    let s = server("").await;
    let valid =
        json!({"subject": alice_at_hq(), "action": {"name": "can_access"}, "resource": app(WIKI)});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"action": {"name": "can_access"}, "resource": app(WIKI)}),
            "/subject",
        ),
        (
            json!({"subject": alice_at_hq(), "resource": app(WIKI)}),
            "/action",
        ),
        (
            json!({"subject": alice_at_hq(), "action": {"name": "can_access"}}),
            "/resource",
        ),
        (
            json!({"subject": {"type": "user"}, "action": {"name": "can_access"}, "resource": app(WIKI)}),
            "/subject/id",
        ),
        (
            json!({"subject": {"id": "x"}, "action": {"name": "can_access"}, "resource": app(WIKI)}),
            "/subject/type",
        ),
        (
            json!({"subject": alice_at_hq(), "action": {"name": 3}, "resource": app(WIKI)}),
            "/action/name",
        ),
        (
            json!({"subject": alice_at_hq(), "action": {}, "resource": app(WIKI)}),
            "/action/name",
        ),
        (
            json!({"subject": alice_at_hq(), "action": {"name": "can_access"}, "resource": {"type": "application", "id": 5}}),
            "/resource/id",
        ),
        (
            json!({"subject": alice_at_hq(), "action": {"name": "can_access"}, "resource": app(WIKI), "context": []}),
            "/context",
        ),
        (
            json!({"subject": {"type": "user", "id": "a", "properties": "x"}, "action": {"name": "can_access"}, "resource": app(WIKI)}),
            "/subject/properties",
        ),
    ];
    for (body, pointer) in cases {
        let r = evaluation(&s, &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(r.header("content-type").starts_with("text/plain"));
        assert!(r.text().contains(pointer), "{body}: {}", r.text());
    }
    for raw in ["[1, 2]", "not json", "\"text\""] {
        let r = send(&s.app, post("/access/v1/evaluation", Some(TOKEN), raw)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{raw}");
    }
    // Batch: the broken evaluation fails the whole payload, naming it.
    let batch = json!({"subject": alice_at_hq(), "evaluations": [
        {"action": {"name": "can_access"}, "resource": app(WIKI)},
        {"resource": app(WIKI)}]});
    let r = evaluations(&s, &batch).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("/evaluations/1/action"), "{}", r.text());
    let r = evaluations(&s, &json!({"evaluations": {"a": 1}})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = evaluations(&s, &json!({"evaluations": [1]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = evaluations(&s, &json!({"options": 1, "evaluations": [valid.clone()]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let many: Vec<Value> = (0..=gardien_server::routes::authzen::MAX_EVALUATIONS)
        .map(|_| valid.clone())
        .collect();
    let r = evaluations(&s, &json!({"evaluations": many})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("at most"), "{}", r.text());
    // Unknown members are ignored (forward compatibility); null is absent.
    let mut extra = valid.clone();
    extra["future"] = json!({"x": 1});
    extra["context"] = Value::Null;
    extra["subject"]["properties"]["department"] = json!("Sales");
    assert_eq!(evaluation(&s, &extra).await.json()["decision"], true);
    // Content-Type must be JSON.
    let mut req = post("/access/v1/evaluation", Some(TOKEN), &valid.to_string());
    req.headers_mut()
        .insert("content-type", "text/plain".parse().unwrap());
    assert_eq!(
        send(&s.app, req).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

#[tokio::test]
async fn the_token_is_checked_before_the_body() {
    let s = server("").await;
    let valid =
        json!({"subject": alice_at_hq(), "action": {"name": "can_access"}, "resource": app(WIKI)})
            .to_string();
    for path in ["/access/v1/evaluation", "/access/v1/evaluations"] {
        // No token, a wrong one, and a broken body without a token: 401 before any parsing.
        for (token, body) in [
            (None, valid.as_str()),
            (Some("wrong"), valid.as_str()),
            (None, "{"),
        ] {
            let mut req = post(path, token, body);
            req.headers_mut()
                .insert("x-request-id", "r-1".parse().unwrap());
            let r = send(&s.app, req).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path} {token:?}");
            assert!(r.header("www-authenticate").starts_with("Bearer"), "{path}");
            assert_eq!(r.header("x-request-id"), "r-1");
        }
        // The decision token is enough (and so is the admin token, used above).
        let r = send(&s.app, post(path, Some(DECISION_TOKEN), &valid)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
    }
    // An oversized body is refused (after the token), as on the other decision endpoints.
    let big = format!(
        "{{\"pad\": \"{}\"}}",
        "x".repeat(gardien_server::routes::DECISION_BODY_BYTES)
    );
    let r = send(&s.app, post("/access/v1/evaluation", Some(TOKEN), &big)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Without a token the same body is not even read: 401, not 413.
    for path in ["/access/v1/evaluation", "/access/v1/evaluations"] {
        let r = send(&s.app, post(path, None, &big)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn metadata_lists_the_endpoints() {
    let s = server("").await;
    let r = send(
        &s.app,
        Request::get("/.well-known/authzen-configuration")
            .header("host", "pdp.example.com")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(
        r.json(),
        json!({
            "policy_decision_point": "https://pdp.example.com",
            "access_evaluation_endpoint": "https://pdp.example.com/access/v1/evaluation",
            "access_evaluations_endpoint": "https://pdp.example.com/access/v1/evaluations",
        }),
        "no search endpoint, no capability: parameters without values are omitted"
    );
    let s = server("[authzen]\npolicy_decision_point = \"https://gardien.example.org/\"\n").await;
    let r = send(
        &s.app,
        Request::get("/.well-known/authzen-configuration")
            .header("host", "evil.example")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        r.json()["policy_decision_point"],
        "https://gardien.example.org"
    );
    assert_eq!(
        r.json()["access_evaluations_endpoint"],
        "https://gardien.example.org/access/v1/evaluations"
    );
    for bad in [
        "http://gardien.example.org",
        "https://gardien.example.org/?q=1",
        "gardien",
    ] {
        let text = format!("[authzen]\npolicy_decision_point = \"{bad}\"\n");
        assert!(ServerConfig::parse("t.toml", &text).is_err(), "{bad}");
    }
}
