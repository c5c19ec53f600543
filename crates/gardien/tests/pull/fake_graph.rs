//! An in-process fake of the parts of Microsoft Graph and of the token endpoint that
//! `gardien pull` reads, on 127.0.0.1 (axum on its own thread and runtime, stopped on drop).
//!
//! It serves a [`Model`] (the tenant as Graph holds it: groups with direct members, role
//! assignments, ...) with Graph's shapes: collections in pages of `page_size` linked by
//! `@odata.nextLink`, `transitiveMembers` computed from the nesting, role assignments filtered
//! by `roleDefinitionId` with `$expand=principal`. [`Faults`] make it throttle (429/503 with
//! `Retry-After`), refuse tokens (401), fail for good after some requests (500), or hand out a
//! `nextLink` to another host. Every request is logged for the tests to inspect.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A user as Graph has it.
#[derive(Debug, Clone)]
pub struct FakeUser {
    pub id: String,
    pub upn: String,
    pub user_type: &'static str,
}

/// A group with its direct members (user or group ids).
#[derive(Debug, Clone)]
pub struct FakeGroup {
    pub id: String,
    pub display_name: String,
    pub members: Vec<String>,
}

/// A directory role assignment.
#[derive(Debug, Clone)]
pub struct FakeAssignment {
    pub role: String,
    pub principal: String,
    pub scope: String,
}

/// The tenant the fake serves.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub policies: Vec<Value>,
    /// Members only beta returns, per policy id.
    pub beta_extra: BTreeMap<String, Value>,
    pub named_locations: Vec<Value>,
    pub auth_strengths: Vec<Value>,
    pub users: Vec<FakeUser>,
    pub groups: Vec<FakeGroup>,
    pub assignments: Vec<FakeAssignment>,
    pub service_principals: Vec<Value>,
    pub cross_default: Value,
    pub cross_partners: Vec<Value>,
    pub devices: Vec<Value>,
    pub signins: Vec<Value>,
}

/// A burst of throttling on the requests whose path contains `path_contains`.
#[derive(Debug, Clone)]
pub struct Throttle {
    pub path_contains: String,
    pub remaining: u32,
    pub status: u16,
    pub retry_after: Option<u64>,
}

/// Failures on purpose.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub throttles: Vec<Throttle>,
    /// After this many Graph requests, every Graph request gets 500.
    pub fail_after: Option<usize>,
    /// Every Graph request gets 401.
    pub reject_tokens: bool,
    /// The first token issued is refused once (an expired token), the next one accepted.
    pub expire_first_token: bool,
    /// nextLinks point to another host.
    pub foreign_next_link: bool,
    /// Requests whose path contains this get 403 (a permission not granted).
    pub forbid: Option<String>,
    /// Every answer is delayed this long (a distant service).
    pub latency: std::time::Duration,
}

/// How clients authenticate at the fake token endpoint.
#[derive(Debug, Clone)]
pub struct Auth {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// PKCS#1 RSA public key DER and `x5t` of the certificate allowed to sign assertions.
    pub certificate: Option<(Vec<u8>, String)>,
    /// A bearer token accepted as is (the "ready token" path).
    pub static_token: String,
}

impl Default for Auth {
    fn default() -> Self {
        Auth {
            tenant_id: "contoso.example".into(),
            client_id: "11111111-2222-4333-8444-555555555555".into(),
            client_secret: "s3cr3t-value".into(),
            certificate: None,
            static_token: "ready-token-from-az".into(),
        }
    }
}

/// One request the fake saw.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path_and_query: String,
    pub status: u16,
    pub at: Instant,
}

struct Inner {
    model: Model,
    page_size: usize,
    faults: Mutex<Faults>,
    auth: Auth,
    base: String,
    log: Mutex<Vec<Logged>>,
    issued: Mutex<Vec<String>>,
    graph_requests: Mutex<usize>,
    users_by_id: HashMap<String, usize>,
    groups_by_id: HashMap<String, usize>,
    /// Transitive members per group, computed on first request.
    transitive: Mutex<HashMap<usize, Arc<Vec<Value>>>>,
}

/// A running fake; stops on drop.
pub struct FakeGraph {
    inner: Arc<Inner>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeGraph {
    /// Starts serving `model`.
    pub fn start(model: Model, page_size: usize, faults: Faults, auth: Auth) -> FakeGraph {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let users_by_id = model
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id.clone(), i))
            .collect();
        let groups_by_id = model
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.clone(), i))
            .collect();
        let inner = Arc::new(Inner {
            model,
            page_size,
            faults: Mutex::new(faults),
            auth,
            base: format!("http://{addr}"),
            log: Mutex::new(Vec::new()),
            issued: Mutex::new(Vec::new()),
            graph_requests: Mutex::new(0),
            users_by_id,
            groups_by_id,
            transitive: Mutex::new(HashMap::new()),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = inner.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(handle).with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        FakeGraph {
            inner,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.inner.base.clone()
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<Logged> {
        self.inner.log.lock().unwrap().clone()
    }

    /// Tokens the token endpoint issued.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.inner.issued.lock().unwrap().clone()
    }
}

impl Drop for FakeGraph {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/json")],
        json!({"error": {"code": code, "message": message}}).to_string(),
    )
        .into_response()
}

fn json_response(v: &Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        v.to_string(),
    )
        .into_response()
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let latency = inner.faults.lock().unwrap().latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = route(&inner, &method, &uri, &headers, &body);
    inner.log.lock().unwrap().push(Logged {
        method: method.to_string(),
        path_and_query,
        status: response.status().as_u16(),
        at: Instant::now(),
    });
    response
}

fn route(inner: &Inner, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
    let path = uri.path();
    let query = uri.query().unwrap_or_default();
    if method == Method::POST && path.ends_with("/oauth2/v2.0/token") {
        return token(inner, path, &String::from_utf8_lossy(body));
    }
    if method != Method::GET {
        return graph_error(StatusCode::METHOD_NOT_ALLOWED, "BadRequest", "GET only");
    }
    // Authentication first, as Graph does.
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    {
        let faults = inner.faults.lock().unwrap();
        if faults.reject_tokens {
            return graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token validation failure.",
            );
        }
    }
    let issued = inner.issued.lock().unwrap().clone();
    let expire_first = inner.faults.lock().unwrap().expire_first_token;
    let valid = bearer == inner.auth.static_token
        || issued
            .iter()
            .enumerate()
            .any(|(i, t)| *t == bearer && !(expire_first && i == 0));
    if !valid {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        );
    }
    {
        let mut n = inner.graph_requests.lock().unwrap();
        *n += 1;
        if inner
            .faults
            .lock()
            .unwrap()
            .fail_after
            .is_some_and(|limit| *n > limit)
        {
            return graph_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UnknownError",
                "the fake fails on purpose",
            );
        }
    }
    if inner
        .faults
        .lock()
        .unwrap()
        .forbid
        .as_ref()
        .is_some_and(|f| path.contains(f.as_str()))
    {
        return graph_error(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    {
        let mut faults = inner.faults.lock().unwrap();
        if let Some(t) = faults
            .throttles
            .iter_mut()
            .find(|t| t.remaining > 0 && path.contains(&t.path_contains))
        {
            t.remaining -= 1;
            let mut r = graph_error(
                StatusCode::from_u16(t.status).unwrap(),
                "TooManyRequests",
                "throttled on purpose",
            );
            if let Some(s) = t.retry_after {
                r.headers_mut()
                    .insert("retry-after", s.to_string().parse().unwrap());
            }
            return r;
        }
    }
    let q = pairs(query);
    let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let m = &inner.model;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let list: Arc<Vec<Value>> = Arc::new(match segments.as_slice() {
        ["v1.0", "identity", "conditionalAccess", "policies"] => m.policies.clone(),
        ["beta", "identity", "conditionalAccess", "policies"] => m
            .policies
            .iter()
            .map(|p| {
                let mut p = p.clone();
                let id = p["id"].as_str().unwrap_or_default().to_owned();
                if let (Value::Object(t), Some(Value::Object(e))) = (&mut p, m.beta_extra.get(&id))
                {
                    for (k, v) in e {
                        t.insert(k.clone(), v.clone());
                    }
                }
                p
            })
            .collect(),
        ["v1.0", "identity", "conditionalAccess", "namedLocations"] => m.named_locations.clone(),
        ["v1.0", "policies", "authenticationStrengthPolicies"] => m.auth_strengths.clone(),
        ["v1.0", "groups", id] => {
            return match inner.groups_by_id.get(*id) {
                Some(&i) => json_response(&json!({
                    "@odata.context": format!("{}/v1.0/$metadata#groups(id,displayName)/$entity", inner.base),
                    "id": m.groups[i].id, "displayName": m.groups[i].display_name})),
                None => graph_error(
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    "Resource does not exist",
                ),
            };
        }
        ["v1.0", "groups", id, "transitiveMembers"] => {
            let Some(&start) = inner.groups_by_id.get(*id) else {
                return graph_error(
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    "no group",
                );
            };
            let cached = inner.transitive.lock().unwrap().get(&start).cloned();
            let members = cached.unwrap_or_else(|| {
                let computed = Arc::new(transitive_members(inner, start));
                inner
                    .transitive
                    .lock()
                    .unwrap()
                    .insert(start, computed.clone());
                computed
            });
            return page(inner, path, query, &members, get("$skiptoken"), get("$top"));
        }
        // Listing users: only the guests (`$filter=userType eq 'Guest'`, which Graph supports
        // without advanced query parameters); the fake refuses other listings, so a pull that
        // would read every user of a large tenant fails here.
        ["v1.0", "users"] => {
            if get("$filter").as_deref() != Some("userType eq 'Guest'") {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "the fake lists guests only",
                );
            }
            let guests: Vec<Value> = m
                .users
                .iter()
                .filter(|u| u.user_type == "Guest")
                .map(user_json)
                .collect();
            return page(inner, path, query, &guests, get("$skiptoken"), get("$top"));
        }
        ["v1.0", "users", id] => {
            return match inner.users_by_id.get(*id) {
                Some(&i) => json_response(&user_json(&m.users[i])),
                None => graph_error(
                    StatusCode::NOT_FOUND,
                    "Request_ResourceNotFound",
                    "Resource does not exist",
                ),
            };
        }
        ["v1.0", "roleManagement", "directory", "roleAssignments"] => {
            let filter = get("$filter").unwrap_or_default();
            let Some(role) = filter
                .strip_prefix("roleDefinitionId eq '")
                .and_then(|r| r.strip_suffix('\''))
            else {
                return graph_error(StatusCode::BAD_REQUEST, "BadRequest", "filter required");
            };
            let expand = get("$expand").is_some_and(|e| e == "principal");
            m.assignments
                .iter()
                .filter(|a| a.role == role)
                .map(|a| {
                    let mut v = json!({"id": format!("{}-{}", a.role, a.principal), "roleDefinitionId": a.role,
                                       "principalId": a.principal, "directoryScopeId": a.scope});
                    if expand {
                        v["principal"] = match (inner.users_by_id.get(&a.principal), inner.groups_by_id.get(&a.principal)) {
                            (Some(&u), _) => user_json(&m.users[u]),
                            (_, Some(&g)) => json!({"@odata.type": "#microsoft.graph.group", "id": m.groups[g].id,
                                                    "displayName": m.groups[g].display_name}),
                            _ => json!({"@odata.type": "#microsoft.graph.servicePrincipal", "id": a.principal}),
                        };
                    }
                    v
                })
                .collect()
        }
        ["v1.0", "servicePrincipals"] => m.service_principals.clone(),
        ["v1.0", "policies", "crossTenantAccessPolicy", "default"] => {
            let mut d = m.cross_default.clone();
            d["@odata.context"] = json!(format!(
                "{}/v1.0/$metadata#policies/crossTenantAccessPolicy/default/$entity",
                inner.base
            ));
            return json_response(&d);
        }
        ["v1.0", "policies", "crossTenantAccessPolicy", "partners"] => m.cross_partners.clone(),
        ["v1.0", "devices"] => m.devices.clone(),
        ["beta", "auditLogs", "signIns"] => {
            let filter = get("$filter").unwrap_or_default();
            let since = filter
                .strip_prefix("createdDateTime ge ")
                .unwrap_or_default()
                .to_owned();
            m.signins
                .iter()
                .filter(|s| s["createdDateTime"].as_str().unwrap_or_default() >= since.as_str())
                .cloned()
                .collect()
        }
        _ => {
            return graph_error(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                "the fake does not serve this",
            );
        }
    });
    page(inner, path, query, &list, get("$skiptoken"), get("$top"))
}

fn user_json(u: &FakeUser) -> Value {
    json!({"@odata.type": "#microsoft.graph.user", "id": u.id, "userPrincipalName": u.upn, "userType": u.user_type})
}

fn transitive_members(inner: &Inner, start: usize) -> Vec<Value> {
    let m = &inner.model;
    let mut seen_groups = HashSet::from([start]);
    let mut seen_users = HashSet::new();
    let mut stack = vec![start];
    let mut out = Vec::new();
    while let Some(g) = stack.pop() {
        for member in &m.groups[g].members {
            if let Some(&u) = inner.users_by_id.get(member) {
                if seen_users.insert(u) {
                    out.push(user_json(&m.users[u]));
                }
            } else if let Some(&sub) = inner.groups_by_id.get(member)
                && seen_groups.insert(sub)
            {
                out.push(
                    json!({"@odata.type": "#microsoft.graph.group", "id": m.groups[sub].id,
                                "userPrincipalName": null, "userType": null}),
                );
                stack.push(sub);
            }
        }
    }
    out
}

fn page(
    inner: &Inner,
    path: &str,
    query: &str,
    list: &[Value],
    skip: Option<String>,
    top: Option<String>,
) -> Response {
    let size = top
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(100)
        .min(inner.page_size)
        .max(1);
    let start: usize = skip.and_then(|s| s.parse().ok()).unwrap_or(0);
    let end = (start + size).min(list.len());
    let mut body = json!({
        "@odata.context": format!("{}{path}/$metadata", inner.base),
        "value": list.get(start..end).unwrap_or_default(),
    });
    if end < list.len() {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| {
                !p.is_empty() && !p.starts_with("$skiptoken=") && !p.starts_with("%24skiptoken=")
            })
            .collect();
        let host = if inner.faults.lock().unwrap().foreign_next_link {
            "http://127.0.0.2:9".to_owned()
        } else {
            inner.base.clone()
        };
        let mut next = format!("{host}{path}?");
        for p in kept {
            next.push_str(p);
            next.push('&');
        }
        next.push_str(&format!("$skiptoken={end}"));
        body["@odata.nextLink"] = json!(next);
    }
    json_response(&body)
}

fn token(inner: &Inner, path: &str, body: &str) -> Response {
    let form: HashMap<String, String> = pairs(body).into_iter().collect();
    let auth = &inner.auth;
    let refuse = |code: &str, description: &str| {
        (
            StatusCode::UNAUTHORIZED,
            [("content-type", "application/json")],
            json!({"error": code, "error_description": description}).to_string(),
        )
            .into_response()
    };
    if path != format!("/{}/oauth2/v2.0/token", auth.tenant_id) {
        return refuse("invalid_request", "AADSTS90002: Tenant not found.");
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials")
        || form.get("client_id") != Some(&auth.client_id)
        || form.get("scope") != Some(&format!("{}/.default", inner.base))
    {
        return refuse(
            "invalid_request",
            "AADSTS900144: bad grant, client or scope.",
        );
    }
    let ok = if let Some(secret) = form.get("client_secret") {
        *secret == auth.client_secret
    } else if let Some(assertion) = form.get("client_assertion") {
        form.get("client_assertion_type").map(String::as_str)
            == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            && verify_assertion(inner, path, assertion)
    } else {
        false
    };
    if !ok {
        return refuse(
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 0",
        );
    }
    let mut issued = inner.issued.lock().unwrap();
    let t = format!("issued-token-{}", issued.len());
    issued.push(t.clone());
    json_response(&json!({"token_type": "Bearer", "expires_in": 3599, "access_token": t}))
}

fn verify_assertion(inner: &Inner, path: &str, assertion: &str) -> bool {
    let Some((public, x5t)) = &inner.auth.certificate else {
        return false;
    };
    let parts: Vec<&str> = assertion.split('.').collect();
    let [h, c, s] = parts.as_slice() else {
        return false;
    };
    let (Ok(hb), Ok(cb), Ok(sig)) = (
        URL_SAFE_NO_PAD.decode(h),
        URL_SAFE_NO_PAD.decode(c),
        URL_SAFE_NO_PAD.decode(s),
    ) else {
        return false;
    };
    let key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        public,
    );
    if key.verify(format!("{h}.{c}").as_bytes(), &sig).is_err() {
        return false;
    }
    let header: Value = serde_json::from_slice(&hb).unwrap_or_default();
    let claims: Value = serde_json::from_slice(&cb).unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    header["alg"] == "RS256"
        && header["x5t"] == x5t.as_str()
        && claims["aud"] == format!("{}{path}", inner.base)
        && claims["iss"] == inner.auth.client_id.as_str()
        && claims["sub"] == inner.auth.client_id.as_str()
        && claims["exp"].as_u64().is_some_and(|e| e > now)
        && claims["jti"].as_str().is_some_and(|j| j.len() >= 16)
}
