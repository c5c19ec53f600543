//! The OpenID AuthZEN Authorization API 1.0 (Access Evaluation): `POST /access/v1/evaluation`,
//! `POST /access/v1/evaluations` (boxcarring, with defaults and `evaluations_semantic`) and
//! `GET /.well-known/authzen-configuration` (PDP metadata).
//!
//! Each evaluation (subject, action, resource, context) becomes a sign-in (the mapping is
//! documented in `docs/authzen.md`) decided by the same evaluator and logged like any other
//! decision ([`decision::decide_and_log`]). `decision` is `true` only for an allow; a deny
//! or a challenge is `false` with gardien's reason in `context`, within the configured
//! disclosure level.
//!
//! Errors follow the specification's HTTPS binding: 400 when the information model is not
//! respected (a required entity or key missing, a wrong JSON type), 401 without a valid
//! bearer token, 500 when nothing could be decided; bodies are an error message string.
//! What is well formed but cannot be a sign-in (an unknown subject type, an unroutable
//! resource, an unreadable property) is decided closed: `"decision": false` with
//! `context.error` `{status, message}`, as the specification shows for evaluations.

use crate::decision::{self, DecideParts, Decided, route_app};
use crate::denial::{Lang, problem_json};
use crate::metrics::Endpoint;
use crate::routes::{DECISION_BODY_BYTES, bearer};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use gardien_core::{Decision, SignIn};
use gardien_signals::Derived;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Instant;

/// Most evaluations one `/access/v1/evaluations` request may carry (each is a logged
/// decision); more is a 400.
pub const MAX_EVALUATIONS: usize = 100;

/// The request id header the specification recommends; echoed on every answer.
const REQUEST_ID: &str = "x-request-id";

/// An answer of the AuthZEN endpoints, before the request id is echoed.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let mut r = (status, message.into()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    // The specification's error body, not one of gardien's problem documents.
    r.extensions_mut().insert(crate::routes::PlainError);
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"gardien\""),
        );
    }
    r
}

/// Copies the PEP's `X-Request-ID` onto the answer (the specification: MUST when present).
fn with_request_id(mut response: Response, request: &HeaderMap) -> Response {
    if let Some(id) = request.get(REQUEST_ID) {
        response.headers_mut().insert(REQUEST_ID, id.clone());
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /.well-known/authzen-configuration`: the PDP metadata. `policy_decision_point` is
/// `[authzen] policy_decision_point` when configured, else `https://` and the request's
/// `Host`; the endpoints are under it. No search API is offered, so none is listed.
pub async fn metadata(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let base = match pdp_identifier(&state, &headers) {
        Ok(base) => base,
        Err(message) => return with_request_id(error(StatusCode::BAD_REQUEST, message), &headers),
    };
    let body = json!({
        "policy_decision_point": base,
        "access_evaluation_endpoint": format!("{base}/access/v1/evaluation"),
        "access_evaluations_endpoint": format!("{base}/access/v1/evaluations"),
    });
    let mut r = axum::Json(body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    with_request_id(r, &headers)
}

/// The PDP identifier: configured, or `https://<Host>` (no path, query or fragment).
fn pdp_identifier(state: &AppState, headers: &HeaderMap) -> Result<String, &'static str> {
    if let Some(base) = &state.config.authzen.policy_decision_point {
        return Ok(base.trim_end_matches('/').to_owned());
    }
    let host = gardien_signals::signals::header_text(headers, header::HOST)
        .map(str::trim)
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .ok_or("no usable Host header: set [authzen] policy_decision_point")?;
    Ok(format!("https://{}", host.to_ascii_lowercase()))
}

/// Authenticates (before the body is read), then reads the body as a JSON object.
async fn read_request(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Map<String, Value>, Response> {
    if !state.decision_allowed(bearer(headers)) {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "a valid bearer token (the decision or admin token) is required",
        ));
    }
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if !json_type {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the request Content-Type must be application/json",
        ));
    }
    let bytes = axum::body::to_bytes(body, DECISION_BODY_BYTES)
        .await
        .map_err(|_| {
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is larger than {DECISION_BODY_BYTES} bytes"),
            )
        })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "the request body must be a JSON object",
        )),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("the request body is not JSON: {e}"),
        )),
    }
}

/// `POST /access/v1/evaluation`: one decision.
pub async fn evaluation(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let answer = async {
        let request = read_request(&state, &headers, body).await?;
        let tuple = Tuple::read(&request, &Tuple::default(), "")
            .map_err(|m| error(StatusCode::BAD_REQUEST, m))?;
        let decided = evaluate(&state, &tuple, &headers).await;
        if let Some(cause) = &decided.internal {
            tracing::error!(%cause, "AuthZEN evaluation failed");
            return Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "gardien could not decide; the server log has the cause",
            ));
        }
        Ok(decided.into_response())
    }
    .await;
    with_request_id(answer.unwrap_or_else(|e| e), &headers)
}

/// How a batch is run (`options.evaluations_semantic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Semantic {
    ExecuteAll,
    DenyOnFirstDeny,
    PermitOnFirstPermit,
}

/// `POST /access/v1/evaluations`: several decisions, with top-level defaults.
pub async fn evaluations(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let answer = async {
        let request = read_request(&state, &headers, body).await?;
        let bad = |m: String| error(StatusCode::BAD_REQUEST, m);
        let items = match request.get("evaluations") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(_) => return Err(bad("/evaluations: must be an array".into())),
        };
        // No evaluations: the single Access Evaluation request, and its answer.
        if items.is_empty() {
            let tuple = Tuple::read(&request, &Tuple::default(), "").map_err(bad)?;
            let decided = evaluate(&state, &tuple, &headers).await;
            if let Some(cause) = &decided.internal {
                tracing::error!(%cause, "AuthZEN evaluation failed");
                return Err(error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "gardien could not decide; the server log has the cause",
                ));
            }
            return Ok(decided.into_response());
        }
        if items.len() > MAX_EVALUATIONS {
            return Err(bad(format!(
                "/evaluations: {} evaluations; at most {MAX_EVALUATIONS} per request",
                items.len()
            )));
        }
        let semantic = semantic(&request).map_err(bad)?;
        let defaults = Tuple::defaults(&request).map_err(bad)?;
        // Every evaluation is checked before any is decided: a broken one fails the payload.
        let tuples = items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(o) => Tuple::read(o, &defaults, &format!("/evaluations/{i}")),
                _ => Err(format!("/evaluations/{i}: must be an object")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad)?;
        let mut out = Vec::with_capacity(tuples.len());
        for tuple in &tuples {
            let decided = evaluate(&state, tuple, &headers).await;
            let allowed = decided.allowed;
            out.push(decided.body);
            let stop = match semantic {
                Semantic::ExecuteAll => false,
                Semantic::DenyOnFirstDeny => !allowed,
                Semantic::PermitOnFirstPermit => allowed,
            };
            if stop {
                break;
            }
        }
        Ok(axum::Json(json!({ "evaluations": out })).into_response())
    }
    .await;
    with_request_id(answer.unwrap_or_else(|e| e), &headers)
}

fn semantic(request: &Map<String, Value>) -> Result<Semantic, String> {
    let options = match request.get("options") {
        None | Some(Value::Null) => return Ok(Semantic::ExecuteAll),
        Some(Value::Object(o)) => o,
        Some(_) => return Err("/options: must be an object".into()),
    };
    match options.get("evaluations_semantic") {
        None | Some(Value::Null) => Ok(Semantic::ExecuteAll),
        Some(Value::String(s)) => match s.as_str() {
            "execute_all" => Ok(Semantic::ExecuteAll),
            "deny_on_first_deny" => Ok(Semantic::DenyOnFirstDeny),
            "permit_on_first_permit" => Ok(Semantic::PermitOnFirstPermit),
            other => Err(format!(
                "/options/evaluations_semantic: `{}` is not one of execute_all, deny_on_first_deny, permit_on_first_permit",
                other.escape_debug()
            )),
        },
        Some(_) => Err("/options/evaluations_semantic: must be a string".into()),
    }
}

/// A Subject or Resource: `type`, `id`, optional `properties`.
#[derive(Debug, Clone)]
struct Entity {
    kind: String,
    id: String,
    properties: Map<String, Value>,
}

/// An Action: `name` (its optional `properties` are checked to be an object, and not used).
#[derive(Debug, Clone)]
struct Action {
    name: String,
}

/// One evaluation request (after the batch defaults are applied).
#[derive(Debug, Clone, Default)]
struct Tuple {
    subject: Option<Entity>,
    action: Option<Action>,
    resource: Option<Entity>,
    context: Map<String, Value>,
}

/// A member that is present and not `null` (the specification: a null property is absent).
fn member<'a>(o: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    o.get(key).filter(|v| !v.is_null())
}

fn object<'a>(value: &'a Value, pointer: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{pointer}: must be an object"))
}

fn required_string(o: &Map<String, Value>, key: &str, pointer: &str) -> Result<String, String> {
    match member(o, key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("{pointer}/{key}: must be a string")),
        None => Err(format!("{pointer}/{key}: missing (required)")),
    }
}

fn properties(o: &Map<String, Value>, pointer: &str) -> Result<Map<String, Value>, String> {
    match member(o, "properties") {
        None => Ok(Map::new()),
        Some(v) => object(v, &format!("{pointer}/properties")).cloned(),
    }
}

fn entity(value: &Value, pointer: &str) -> Result<Entity, String> {
    let o = object(value, pointer)?;
    Ok(Entity {
        kind: required_string(o, "type", pointer)?,
        id: required_string(o, "id", pointer)?,
        properties: properties(o, pointer)?,
    })
}

fn action(value: &Value, pointer: &str) -> Result<Action, String> {
    let o = object(value, pointer)?;
    properties(o, pointer)?;
    Ok(Action {
        name: required_string(o, "name", pointer)?,
    })
}

impl Tuple {
    /// The top-level members of an evaluations request, as defaults (each may be absent).
    fn defaults(request: &Map<String, Value>) -> Result<Tuple, String> {
        Ok(Tuple {
            subject: member(request, "subject")
                .map(|v| entity(v, "/subject"))
                .transpose()?,
            action: member(request, "action")
                .map(|v| action(v, "/action"))
                .transpose()?,
            resource: member(request, "resource")
                .map(|v| entity(v, "/resource"))
                .transpose()?,
            context: match member(request, "context") {
                None => Map::new(),
                Some(v) => object(v, "/context")?.clone(),
            },
        })
    }

    /// An evaluation at `pointer`: its own members, else the defaults; subject, action and
    /// resource are required (a 400 names the first one missing).
    fn read(o: &Map<String, Value>, defaults: &Tuple, pointer: &str) -> Result<Tuple, String> {
        let subject = match member(o, "subject") {
            Some(v) => entity(v, &format!("{pointer}/subject"))?,
            None => defaults
                .subject
                .clone()
                .ok_or_else(|| format!("{pointer}/subject: missing (required)"))?,
        };
        let action = match member(o, "action") {
            Some(v) => action(v, &format!("{pointer}/action"))?,
            None => defaults
                .action
                .clone()
                .ok_or_else(|| format!("{pointer}/action: missing (required)"))?,
        };
        let resource = match member(o, "resource") {
            Some(v) => entity(v, &format!("{pointer}/resource"))?,
            None => defaults
                .resource
                .clone()
                .ok_or_else(|| format!("{pointer}/resource: missing (required)"))?,
        };
        let context = match member(o, "context") {
            Some(v) => object(v, &format!("{pointer}/context"))?.clone(),
            None => defaults.context.clone(),
        };
        Ok(Tuple {
            subject: Some(subject),
            action: Some(action),
            resource: Some(resource),
            context,
        })
    }
}

/// Why an evaluation could not become a sign-in: decided closed with this in
/// `context.error`.
#[derive(Debug)]
struct NotDecidable {
    status: u16,
    message: String,
}

impl NotDecidable {
    fn bad(message: impl Into<String>) -> Self {
        NotDecidable {
            status: 400,
            message: message.into(),
        }
    }
}

/// A sign-in built from an evaluation, with the application name the denial shows.
struct Mapped {
    signin: SignIn,
    app_name: String,
}

const USER_ACTIONS: &[(&str, &str)] = &[
    (
        "register_security_information",
        "registerSecurityInformation",
    ),
    ("registersecurityinformation", "registerSecurityInformation"),
    ("register_or_join_devices", "registerOrJoinDevices"),
    ("registerorjoindevices", "registerOrJoinDevices"),
];

const HTTP_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE",
];

/// `1985-10-26T01:22-07:00` (the specification's examples give no seconds) as RFC 3339.
fn with_seconds(text: &str) -> String {
    let Some(t) = text.find(['T', 't']) else {
        return text.to_owned();
    };
    let rest = text.get(t + 1..).unwrap_or("");
    let clock_end = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let clock = rest.get(..clock_end).unwrap_or("");
    if clock.len() == 5 && clock.as_bytes().get(2) == Some(&b':') {
        format!(
            "{}:00{}",
            text.get(..t + 1 + clock_end).unwrap_or(""),
            rest.get(clock_end..).unwrap_or("")
        )
    } else {
        text.to_owned()
    }
}

/// A string property, or an error naming it when it is something else.
fn text_property<'a>(
    props: &'a Map<String, Value>,
    key: &str,
    pointer: &str,
) -> Result<Option<&'a str>, NotDecidable> {
    match member(props, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(NotDecidable::bad(format!(
            "{pointer}/properties/{key}: must be a string"
        ))),
    }
}

/// Maps one evaluation to a sign-in (the table of `docs/authzen.md`).
fn map(state: &AppState, tuple: &Tuple, created_ms: i64) -> Result<Mapped, NotDecidable> {
    let (Some(subject), Some(action), Some(resource)) =
        (&tuple.subject, &tuple.action, &tuple.resource)
    else {
        return Err(NotDecidable::bad("incomplete evaluation"));
    };
    let sp = subject.properties.clone();
    let identity = match subject.kind.to_ascii_lowercase().as_str() {
        "user" | "identity" => {
            let mut o = json!({"@odata.type": "#microsoft.graph.userSignIn", "userId": subject.id});
            if let Some(t) = text_property(&sp, "external_tenant_id", "/subject")? {
                o["externalTenantId"] = json!(t);
            }
            if let Some(t) = text_property(&sp, "external_user_type", "/subject")? {
                o["externalUserType"] = json!(t);
            }
            o
        }
        "service_principal" | "serviceprincipal" | "workload" => json!({
            "@odata.type": "#microsoft.graph.servicePrincipalSignIn",
            "servicePrincipalId": subject.id,
        }),
        other => {
            return Err(NotDecidable::bad(format!(
                "/subject/type: `{}` is not a subject gardien decides for; use `user` (or `identity`) or `service_principal`",
                other.escape_debug()
            )));
        }
    };

    // The target: a user action named by the action, else what the resource names.
    let action_name = action.name.trim();
    let user_action = USER_ACTIONS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(action_name))
        .map(|(_, graph)| *graph);
    let access = action_name.eq_ignore_ascii_case("can_access")
        || HTTP_METHODS
            .iter()
            .any(|m| m.eq_ignore_ascii_case(action_name));
    let (context, app_name) = if let Some(graph) = user_action {
        (
            json!({"@odata.type": "#microsoft.graph.userActionContext", "userAction": graph}),
            graph.to_owned(),
        )
    } else if !access {
        return Err(NotDecidable::bad(format!(
            "/action/name: `{}` is not an action gardien decides; use `can_access` (or an HTTP method), `register_security_information` or `register_or_join_devices`",
            action_name.escape_debug()
        )));
    } else {
        target(state, resource)?
    };

    let mut conditions = Map::new();
    let mut session = match member(&sp, "session") {
        None => Map::new(),
        Some(Value::Object(o)) => o.clone(),
        Some(_) => {
            return Err(NotDecidable::bad(
                "/subject/properties/session: must be an object",
            ));
        }
    };
    for (key, graph) in [
        ("ip_address", "ipAddress"),
        ("client_app_type", "clientAppType"),
        ("device_platform", "devicePlatform"),
        ("country", "country"),
    ] {
        if let Some(v) = text_property(&sp, key, "/subject")? {
            conditions.insert(graph.into(), json!(v));
        }
    }
    let mut device = match member(&sp, "device") {
        None => None,
        Some(Value::Object(o)) => Some(o.clone()),
        Some(_) => {
            return Err(NotDecidable::bad(
                "/subject/properties/device: must be an object (Graph deviceInfo)",
            ));
        }
    };
    if let Some(id) = text_property(&sp, "device_id", "/subject")? {
        device
            .get_or_insert_with(Map::new)
            .insert("deviceId".into(), json!(id));
    }
    if let Some(d) = device {
        conditions.insert("deviceInfo".into(), Value::Object(d));
    }
    let mut methods: Vec<Value> = Vec::new();
    match member(&sp, "authentication_methods") {
        None => {}
        Some(Value::Array(list)) => methods.extend(list.iter().cloned()),
        Some(_) => {
            return Err(NotDecidable::bad(
                "/subject/properties/authentication_methods: must be an array of strings",
            ));
        }
    }
    match member(&sp, "amr") {
        None => {}
        Some(Value::Array(list)) => {
            let mapped = crate::identity::methods_from_amr(list.iter().filter_map(Value::as_str));
            methods.extend(mapped.iter().map(|m| json!(m.as_str())));
        }
        Some(_) => {
            return Err(NotDecidable::bad(
                "/subject/properties/amr: must be an array of strings (RFC 8176)",
            ));
        }
    }
    if !methods.is_empty() {
        session.insert("authenticationMethods".into(), Value::Array(methods));
    }
    for (key, graph) in [
        ("sign_in_risk_level", "signInRiskLevel"),
        ("user_risk_level", "userRiskLevel"),
        ("service_principal_risk_level", "servicePrincipalRiskLevel"),
        ("insider_risk_level", "insiderRiskLevel"),
    ] {
        match member(&tuple.context, key) {
            None => {}
            Some(Value::String(s)) => {
                conditions.insert(graph.into(), json!(s));
            }
            Some(_) => {
                return Err(NotDecidable::bad(format!(
                    "/context/{key}: must be a string"
                )));
            }
        }
    }
    let mut graph = json!({
        "signInIdentity": identity,
        "signInContext": context,
        "signInConditions": conditions,
    });
    if !session.is_empty() {
        graph["session"] = Value::Object(session);
    }
    let mut signin = SignIn::from_value("authzen request", &graph)
        .map_err(|e| NotDecidable::bad(format!("{}: {}", authzen_pointer(&e.pointer), e.reason)))?;
    signin.at = Some(match member(&tuple.context, "time") {
        None => created_ms.div_euclid(1000),
        Some(Value::String(t)) => {
            gardien_core::time::parse_instant(&with_seconds(t)).ok_or_else(|| {
                NotDecidable::bad(format!(
                    "/context/time: {}",
                    gardien_core::time::instant_help(t)
                ))
            })?
        }
        Some(_) => return Err(NotDecidable::bad("/context/time: must be a string")),
    });
    Ok(Mapped { signin, app_name })
}

/// Where a Graph request pointer came from in the AuthZEN request.
fn authzen_pointer(graph: &str) -> String {
    const MAP: &[(&str, &str)] = &[
        (
            "/signInConditions/ipAddress",
            "/subject/properties/ip_address",
        ),
        (
            "/signInConditions/clientAppType",
            "/subject/properties/client_app_type",
        ),
        (
            "/signInConditions/devicePlatform",
            "/subject/properties/device_platform",
        ),
        ("/signInConditions/country", "/subject/properties/country"),
        ("/signInConditions/deviceInfo", "/subject/properties/device"),
        (
            "/signInConditions/signInRiskLevel",
            "/context/sign_in_risk_level",
        ),
        (
            "/signInConditions/userRiskLevel",
            "/context/user_risk_level",
        ),
        (
            "/signInConditions/servicePrincipalRiskLevel",
            "/context/service_principal_risk_level",
        ),
        (
            "/signInConditions/insiderRiskLevel",
            "/context/insider_risk_level",
        ),
        (
            "/session/authenticationMethods",
            "/subject/properties/authentication_methods",
        ),
        ("/session", "/subject/properties/session"),
        ("/signInIdentity", "/subject"),
        ("/signInContext", "/resource"),
    ];
    MAP.iter().find(|(g, _)| graph.starts_with(g)).map_or_else(
        || graph.to_owned(),
        |(g, a)| format!("{a}{}", graph.get(g.len()..).unwrap_or("")),
    )
}

/// The Graph `signInContext` of an access to a resource, and the application name.
fn target(state: &AppState, resource: &Entity) -> Result<(Value, String), NotDecidable> {
    let props = &resource.properties;
    let app = |id: &str| {
        let name = state
            .config
            .apps
            .iter()
            .find(|a| a.app_id.eq_ignore_ascii_case(id))
            .and_then(|a| a.name.clone())
            .unwrap_or_else(|| id.to_owned());
        (
            json!({"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [id]}),
            name,
        )
    };
    match resource.kind.to_ascii_lowercase().as_str() {
        "application" | "app" => return Ok(app(&resource.id)),
        "authentication_context" | "authenticationcontext" => {
            return Ok((
                json!({"@odata.type": "#microsoft.graph.authContext", "authenticationContextValue": resource.id}),
                resource.id.clone(),
            ));
        }
        _ => {}
    }
    // A URL, or a host and path: routed through [[apps]] as forward-auth does.
    let url = match resource.kind.to_ascii_lowercase().as_str() {
        "url" => Some(resource.id.as_str()),
        _ => text_property(props, "url", "/resource")?,
    };
    let (host, path) = if let Some(url) = url {
        let uri: http::Uri = url.parse().map_err(|_| {
            NotDecidable::bad(format!("/resource: `{}` is not a URL", url.escape_debug()))
        })?;
        let host = uri.host().ok_or_else(|| {
            NotDecidable::bad(format!("/resource: `{}` names no host", url.escape_debug()))
        })?;
        (
            decision::bare_host(host),
            uri.path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
        )
    } else if resource.kind.eq_ignore_ascii_case("route") || member(props, "host").is_some() {
        let host = text_property(props, "host", "/resource")?.unwrap_or("");
        let path = match text_property(props, "path", "/resource")? {
            Some(p) => p.to_owned(),
            None if resource.kind.eq_ignore_ascii_case("route") => resource.id.clone(),
            None => "/".to_owned(),
        };
        (decision::bare_host(host), path)
    } else {
        return Err(NotDecidable {
            status: 404,
            message: format!(
                "resource type `{}` is unknown to gardien: use `application` (id: the application id), `url`, `route`, or `authentication_context`",
                resource.kind.escape_debug()
            ),
        });
    };
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    let route = route_app(&state.config.apps, &host, &path).ok_or_else(|| NotDecidable {
        status: 404,
        message: "no application is configured for this address".to_owned(),
    })?;
    let (context, _) = app(&route.app_id);
    Ok((
        context,
        route.name.clone().unwrap_or_else(|| route.app_id.clone()),
    ))
}

/// One evaluation's answer.
struct Evaluated {
    /// `{"decision": …, "context": …}`.
    body: Value,
    /// The decision.
    allowed: bool,
    /// Set when gardien failed inside (the single endpoint then answers 500).
    internal: Option<String>,
    /// The correlation id of the logged decision.
    correlation_id: Option<String>,
}

impl Evaluated {
    /// The single-evaluation answer: the Decision, with the correlation id in a header.
    fn into_response(self) -> Response {
        let mut r = axum::Json(self.body).into_response();
        if let Some(id) = self.correlation_id.as_deref()
            && let Ok(v) = HeaderValue::from_str(id)
        {
            r.headers_mut().insert("x-gardien-correlation-id", v);
        }
        r
    }
}

/// Maps, decides and logs one evaluation.
async fn evaluate(state: &AppState, tuple: &Tuple, headers: &HeaderMap) -> Evaluated {
    let closed = |status: u16, message: &str| Evaluated {
        body: json!({"decision": false, "context": {"error": {"status": status, "message": message}}}),
        allowed: false,
        internal: None,
        correlation_id: None,
    };
    let created_ms = crate::clock::now_ms();
    let mapped = match map(state, tuple, created_ms) {
        Ok(m) => m,
        Err(e) => return closed(e.status, &e.message),
    };
    let started = Instant::now();
    let derived = Derived::given(&mapped.signin);
    let decided = decision::decide_and_log(
        state,
        &mapped.signin,
        &derived,
        None,
        DecideParts {
            created_ms,
            user_agent: None,
            app_name: &mapped.app_name,
            want_report: false,
        },
    )
    .await;
    let decided = match decided {
        Ok(d) => d,
        Err(refusal) => {
            let mut e = closed(500, "gardien could not decide; access is denied");
            e.internal = Some(refusal.to_string());
            return e;
        }
    };
    state.metrics.decision(
        Endpoint::Evaluate,
        decided.verdict.decision.as_str(),
        decided.verdict.error_code.unwrap_or(0),
        started.elapsed(),
    );
    let allowed = decided.verdict.decision == Decision::Allow;
    // An allow is the bare Decision, as in the specification's examples: a PEP may reject a
    // permit whose context it does not understand.
    let body = if allowed {
        json!({"decision": true})
    } else {
        json!({"decision": false, "context": reason(state, &decided, headers)})
    };
    Evaluated {
        body,
        allowed,
        internal: None,
        correlation_id: Some(decided.correlation_id),
    }
}

/// gardien's reason for a decision, within the configured disclosure level (the same
/// members as the denial problem document, which applies that level).
fn reason(state: &AppState, decided: &Decided, headers: &HeaderMap) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(decided.correlation_id));
    o.insert(
        "gardien_decision".into(),
        json!(decided.verdict.decision.as_str()),
    );
    let Some((key, record)) = &decided.denial else {
        return Value::Object(o);
    };
    let lang = Lang::negotiate(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let ctx = record.context(&state.config.page);
    let problem = problem_json(&ctx, lang);
    let code = lang.code();
    if let Some(c) = problem.get("errorCode").filter(|c| !c.is_null()) {
        o.insert("error_code".into(), c.clone());
    }
    for (from, to) in [
        ("category", "category"),
        ("userActions", "user_actions"),
        ("failingConditions", "failing_conditions"),
        ("policies", "policies"),
        ("support", "support"),
    ] {
        if let Some(v) = problem.get(from).filter(|v| !v.is_null()) {
            o.insert(to.into(), v.clone());
        }
    }
    if let Some(detail) = problem.get("detail").and_then(Value::as_str) {
        o.insert("reason_user".into(), json!({ code: detail }));
    }
    if let Some(admin) = problem.get("adminDetails").and_then(Value::as_str) {
        o.insert("reason_admin".into(), json!({ code: admin }));
    }
    if decided.verdict.decision == Decision::Challenge {
        let controls: Vec<&str> = decided
            .verdict
            .required
            .iter()
            .map(|c| c.as_str())
            .collect();
        o.insert("acr_values".into(), json!(controls.join(" ")));
        o.insert("required_controls".into(), json!(controls));
    }
    o.insert("denial_page".into(), json!(format!("/v1/denial/{key}")));
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_only_times_get_seconds() {
        assert_eq!(
            with_seconds("1985-10-26T01:22-07:00"),
            "1985-10-26T01:22:00-07:00"
        );
        assert_eq!(with_seconds("2024-05-31T15:22Z"), "2024-05-31T15:22:00Z");
        assert_eq!(with_seconds("2024-05-31T15:22:10Z"), "2024-05-31T15:22:10Z");
        assert_eq!(with_seconds("2024-05-31"), "2024-05-31");
        assert_eq!(
            gardien_core::time::parse_instant(&with_seconds("1985-10-26T01:22-07:00")),
            Some(499_162_920)
        );
    }

    #[test]
    fn graph_pointers_are_named_in_authzen_terms() {
        assert_eq!(
            authzen_pointer("/signInConditions/ipAddress"),
            "/subject/properties/ip_address"
        );
        assert_eq!(
            authzen_pointer("/signInConditions/deviceInfo/isCompliant"),
            "/subject/properties/device/isCompliant"
        );
        assert_eq!(authzen_pointer("/elsewhere"), "/elsewhere");
    }
}
