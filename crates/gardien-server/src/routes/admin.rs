//! Admin API: Graph-shaped CRUD for policies and named locations, the directory, devices,
//! versions and rollback. Every policy-set write is validated by the core on the whole new
//! tenant; a rejected write is a 400 with the JSON path and changes nothing; an accepted one
//! is a new version (author, time, diff) put in force atomically. `If-Match: "<version>"`
//! makes a write conditional (409 when the version moved); a write without it is applied
//! on whatever is current, in arrival order.
//!
//! Every handler checks the token from the headers before it reads the body: an
//! unauthenticated caller gets 401 at once, its body unread; a `reader` token (read routes
//! only, `crate::credentials`) gets 403 on a write, its body unread too.

use crate::credentials::Role;
use crate::problem::ApiError;
use crate::routes::bearer;
use crate::state::{AppState, WriteError, registry};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use gardien_core::LoadErrors;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::SemaphorePermit;

/// Who says they write: the `X-Gardien-Author` header (free text, at most 200 bytes).
pub(crate) fn author(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-gardien-author")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 200)
        .map(str::to_owned)
}

/// Admits a request holding an admin token whose role allows `needed` (401 without a valid
/// token, 403 with one whose role is not enough); returns who writes (for the version
/// history): the `X-Gardien-Author` header, else the token's name. In demo mode (admin API
/// open on loopback) the request must also name a loopback host and, when it has an
/// `Origin`, come from a page of that same host: a web page the user visits cannot write
/// through the browser, nor reach the API by DNS rebinding.
pub(crate) fn guard(
    state: &AppState,
    headers: &HeaderMap,
    needed: Role,
) -> Result<String, ApiError> {
    if state.demo {
        demo_origin(headers)?;
    }
    let Some(caller) = state.admin_caller(bearer(headers)) else {
        return Err(ApiError::unauthorized());
    };
    if !caller.role.allows(needed) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!(
                "token `{}` has the {} role; this needs the {} role",
                caller.name,
                caller.role.as_str(),
                needed.as_str()
            ),
        ));
    }
    Ok(author(headers).unwrap_or_else(|| caller.name.to_string()))
}

/// Demo mode: `Host` is a loopback name or address, `Origin` (when present) is that host.
fn demo_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let forbidden = |detail: &str| {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            format!("demo mode: {detail}"),
        ))
    };
    let Some(host) = gardien_signals::signals::header_text(headers, header::HOST) else {
        return forbidden("the request has no single Host header");
    };
    let bare = crate::decision::bare_host(host);
    let loopback = bare == "localhost"
        || bare.ends_with(".localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback || host.contains(',') {
        return forbidden("the Host header must name a loopback address");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let own = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|o| o.eq_ignore_ascii_case(host.trim()));
        if !own {
            return forbidden("cross-origin requests are refused");
        }
    }
    Ok(())
}

/// The authenticated JSON object of an admin write: token first (401 with the body
/// unread), then `Content-Type`, then a turn among the [`crate::body::ADMIN_BODIES_AT_ONCE`]
/// admin bodies read and parsed at a time (the permit is returned: hold it while the tree
/// lives), then the body, streamed against `[http] admin_body_bytes` and counted against
/// `max_json_values` before it is parsed. However many authenticated writers send at once,
/// at most that many bodies and their trees are in memory.
pub(crate) async fn write_body<'s>(
    state: &'s AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(String, Map<String, Value>, SemaphorePermit<'s>), ApiError> {
    let author = guard(state, headers, Role::Admin)?;
    crate::body::require_json(headers)?;
    let permit = state
        .admin_bodies
        .acquire()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let http = &state.config.http;
    let patience = std::time::Duration::from_millis(http.header_read_timeout_ms);
    let bytes = crate::body::read(headers, body, http.admin_body_bytes, patience).await?;
    let object = crate::body::parse_object(&bytes, http.max_json_values)?;
    Ok((author, object, permit))
}

/// The version an `If-Match` header names (`"3"`, `W/"3"` or `3`).
pub(crate) fn expected_version(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = v.to_str().unwrap_or("").trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    text.parse()
        .map(Some)
        .map_err(|_| ApiError::bad_request("If-Match: expected a policy version such as \"3\""))
}

/// `response` with `ETag: "<version>"`.
pub(crate) fn with_etag(mut response: Response, version: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, v);
    }
    response
}

/// Refuses members that Graph does not define on the written object (`400` naming each, with
/// the nearest known name), as Graph does; nothing changes.
/// The object is checked in place (moved into a `Value` and back, never copied: a body of
/// `max_json_values` values is one tree, not two).
fn check_schema_members(key: &str, object: &mut Map<String, Value>) -> Result<(), ApiError> {
    let ty = match key {
        "policies" => &gardien_core::schema::POLICY,
        "namedLocations" => &gardien_core::schema::NAMED_LOCATION,
        "directory" => &gardien_core::schema::DIRECTORY,
        _ => return Ok(()),
    };
    let value = Value::Object(std::mem::take(object));
    let unknown = gardien_core::schema::unknown_members(&value, ty);
    if let Value::Object(o) = value {
        *object = o;
    }
    let errors: Vec<gardien_core::LoadError> = unknown
        .into_iter()
        .map(|u| {
            gardien_core::LoadError::new("request body", u.pointer.clone(), u.reason())
                .with_code(gardien_core::error::UNKNOWN_MEMBER)
                .with_help(u.help(true))
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(&LoadErrors::capped(errors)))
    }
}

/// Rewrites errors about the written item so they point into the request body.
fn relative(mut errors: LoadErrors, kind: &str, index: Option<usize>) -> LoadErrors {
    if let Some(i) = index {
        let prefix = format!("/{kind}/{i}");
        for e in &mut errors.errors {
            if let Some(rest) = e.pointer.strip_prefix(&prefix)
                && (rest.is_empty() || rest.starts_with('/'))
            {
                e.pointer = rest.to_owned();
                e.file = "request body".to_owned();
            }
        }
    }
    errors
}

/// The answer to a write the state refused: 400 with the core's errors (pointing into the
/// request body when `index` names the item written), 409 on a version conflict, 500 on a
/// store failure.
pub(crate) fn write_error(e: WriteError, kind: &str, index: Option<usize>) -> ApiError {
    match e {
        WriteError::Rejected(errors) => ApiError::invalid(&relative(errors, kind, index)),
        WriteError::Conflict { expected, actual } => ApiError::conflict(format!(
            "the policy set is at version {}, not {}; read it again and retry",
            actual.map_or("none".to_owned(), |v| v.to_string()),
            expected.map_or("none".to_owned(), |v| v.to_string())
        )),
        WriteError::Store(e) => ApiError::internal(&e),
    }
}

/// A random (version 4) UUID for a created object; `None` without OS randomness.
fn new_id() -> Option<String> {
    let mut b = crate::clock::random_bytes::<16>()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = crate::clock::hex(&b);
    Some(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// A Graph collection of the policy set: `policies` or `namedLocations`.
#[derive(Clone, Copy)]
struct Collection {
    key: &'static str,
    noun: &'static str,
    odata_type: Option<&'static str>,
}

const POLICIES: Collection = Collection {
    key: "policies",
    noun: "policy",
    odata_type: None,
};
const LOCATIONS: Collection = Collection {
    key: "namedLocations",
    noun: "named location",
    odata_type: Some("#microsoft.graph.namedLocation"),
};

/// Writes without `If-Match` that lost a race with another replica are retried this many
/// times on the newer version before the conflict is answered.
pub(crate) const WRITE_RETRIES: usize = 8;

fn same_id(v: &Value, id: &str) -> bool {
    v.get("id")
        .and_then(Value::as_str)
        .is_some_and(|x| x.eq_ignore_ascii_case(id))
}

impl Collection {
    fn list(self, state: &AppState, headers: &HeaderMap) -> Result<Response, ApiError> {
        guard(state, headers, Role::Reader)?;
        let live = state.live.load();
        let items = crate::snapshot::list(&live.snapshot, self.key);
        Ok(with_etag(
            Json(json!({ "value": items })).into_response(),
            live.version,
        ))
    }

    fn get(self, state: &AppState, headers: &HeaderMap, id: &str) -> Result<Response, ApiError> {
        guard(state, headers, Role::Reader)?;
        let live = state.live.load();
        crate::snapshot::list(&live.snapshot, self.key)
            .iter()
            .find(|v| same_id(v, id))
            .map(|v| with_etag(Json(v.clone()).into_response(), live.version))
            .ok_or_else(|| ApiError::not_found(format!("no {} with id `{id}`", self.noun)))
    }

    /// Applies `edit` to the collection's array (returning the index written, if any).
    /// Without `If-Match`, the edit is applied to whatever is current, in arrival order: a
    /// conflict with another replica's write is retried on the newer version.
    async fn write(
        self,
        state: &AppState,
        headers: &HeaderMap,
        mut edit: impl FnMut(&mut Vec<Value>) -> Result<Option<usize>, ApiError>,
    ) -> Result<(i64, Value, Option<usize>), ApiError> {
        let author = guard(state, headers, Role::Admin)?;
        let expected = expected_version(headers)?;
        let _order = state.admin_edits.lock().await;
        let mut attempt = 0;
        loop {
            let live = state.live_for_write(expected).await;
            let mut snapshot = live.snapshot.clone();
            let mut items = crate::snapshot::list(&snapshot, self.key).to_vec();
            let index = edit(&mut items)?;
            if self.key == POLICIES.key {
                // Entra refuses some writes from a date (a control that became read-only).
                let refused = gardien_core::dated::refused_policy_writes(
                    crate::snapshot::list(&live.snapshot, self.key),
                    &items,
                    crate::clock::now_ms().div_euclid(1000),
                    "request body",
                );
                if !refused.is_empty() {
                    state
                        .metrics
                        .rejected_writes
                        .fetch_add(1, Ordering::Relaxed);
                    return Err(write_error(
                        WriteError::Rejected(LoadErrors::capped(refused)),
                        self.key,
                        index,
                    ));
                }
            }
            let written = index
                .and_then(|i| items.get(i).cloned())
                .unwrap_or(Value::Null);
            snapshot[self.key] = Value::Array(items);
            match state
                .apply(&author, expected.or(Some(live.version)), snapshot, None)
                .await
            {
                Ok(version) => return Ok((version, written, index)),
                Err(WriteError::Conflict { .. })
                    if expected.is_none() && attempt < WRITE_RETRIES =>
                {
                    attempt += 1;
                    if let Err(e) = state.sync_policy().await {
                        tracing::warn!(error = %e, "could not catch up with the store before a retry");
                    }
                }
                Err(e) => return Err(write_error(e, self.key, index)),
            }
        }
    }

    async fn create(
        self,
        state: &AppState,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Response, ApiError> {
        let (_, mut object, _permit) = write_body(state, headers, body).await?;
        check_schema_members(self.key, &mut object)?;
        let id = match object.get("id").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => new_id().ok_or_else(|| ApiError::internal(&"no OS randomness for an id"))?,
        };
        object.insert("id".into(), Value::String(id.clone()));
        if let (Some(t), None) = (self.odata_type, object.get("@odata.type")) {
            object.insert("@odata.type".into(), Value::String(t.to_owned()));
        }
        let (version, written, _) = self
            .write(state, headers, |items| {
                if items.iter().any(|v| same_id(v, &id)) {
                    return Err(ApiError::conflict(format!(
                        "a {} with id `{id}` exists",
                        self.noun
                    )));
                }
                items.push(Value::Object(object.clone()));
                Ok(Some(items.len() - 1))
            })
            .await?;
        Ok(with_etag(
            (StatusCode::CREATED, Json(written)).into_response(),
            version,
        ))
    }

    async fn update(
        self,
        state: &AppState,
        headers: &HeaderMap,
        id: &str,
        body: Body,
        merge: bool,
    ) -> Result<Response, ApiError> {
        let (_, mut object, _permit) = write_body(state, headers, body).await?;
        check_schema_members(self.key, &mut object)?;
        if let Some(other) = object.get("id").and_then(Value::as_str)
            && !other.eq_ignore_ascii_case(id)
        {
            return Err(ApiError::bad_request(
                "request body: `id` differs from the URL",
            ));
        }
        let noun = self.noun;
        let (version, written, _) = self
            .write(state, headers, |items| {
                let i = items
                    .iter()
                    .position(|v| same_id(v, id))
                    .ok_or_else(|| ApiError::not_found(format!("no {noun} with id `{id}`")))?;
                let current = items
                    .get_mut(i)
                    .ok_or_else(|| ApiError::not_found(id.to_owned()))?;
                if merge {
                    // Graph PATCH: the members given replace the current ones (a complex
                    // member such as `conditions` is replaced whole).
                    if let Value::Object(cur) = current {
                        for (k, v) in &object {
                            cur.insert(k.clone(), v.clone());
                        }
                    }
                } else {
                    let mut replacement = object.clone();
                    replacement.insert(
                        "id".into(),
                        current.get("id").cloned().unwrap_or(Value::Null),
                    );
                    *current = Value::Object(replacement);
                }
                Ok(Some(i))
            })
            .await?;
        Ok(with_etag(Json(written).into_response(), version))
    }

    async fn delete(
        self,
        state: &AppState,
        headers: &HeaderMap,
        id: &str,
    ) -> Result<Response, ApiError> {
        let noun = self.noun;
        let (version, _, _) = self
            .write(state, headers, |items| {
                let before = items.len();
                items.retain(|v| !same_id(v, id));
                if items.len() == before {
                    return Err(ApiError::not_found(format!("no {noun} with id `{id}`")));
                }
                Ok(None)
            })
            .await?;
        Ok(with_etag(StatusCode::NO_CONTENT.into_response(), version))
    }
}

macro_rules! collection_handlers {
    ($c:expr, $list:ident, $create:ident, $get:ident, $patch:ident, $put:ident, $delete:ident) => {
        /// List (Graph collection `{"value":[...]}`, `ETag` = policy version).
        pub async fn $list(
            State(s): State<Arc<AppState>>,
            h: HeaderMap,
        ) -> Result<Response, ApiError> {
            $c.list(&s, &h)
        }
        /// Create (201; the id is generated when absent).
        pub async fn $create(
            State(s): State<Arc<AppState>>,
            h: HeaderMap,
            body: Body,
        ) -> Result<Response, ApiError> {
            $c.create(&s, &h, body).await
        }
        /// Read one.
        pub async fn $get(
            State(s): State<Arc<AppState>>,
            h: HeaderMap,
            Path(id): Path<String>,
        ) -> Result<Response, ApiError> {
            $c.get(&s, &h, &id)
        }
        /// Update the given members (Graph PATCH).
        pub async fn $patch(
            State(s): State<Arc<AppState>>,
            h: HeaderMap,
            Path(id): Path<String>,
            body: Body,
        ) -> Result<Response, ApiError> {
            $c.update(&s, &h, &id, body, true).await
        }
        /// Replace whole.
        pub async fn $put(
            State(s): State<Arc<AppState>>,
            h: HeaderMap,
            Path(id): Path<String>,
            body: Body,
        ) -> Result<Response, ApiError> {
            $c.update(&s, &h, &id, body, false).await
        }
        /// Delete (204).
        pub async fn $delete(
            State(s): State<Arc<AppState>>,
            h: HeaderMap,
            Path(id): Path<String>,
        ) -> Result<Response, ApiError> {
            $c.delete(&s, &h, &id).await
        }
    };
}

collection_handlers!(
    POLICIES,
    list_policies,
    create_policy,
    get_policy,
    patch_policy,
    put_policy,
    delete_policy
);
collection_handlers!(
    LOCATIONS,
    list_locations,
    create_location,
    get_location,
    patch_location,
    put_location,
    delete_location
);

/// `GET /v1/admin/directory`.
pub async fn get_directory(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    guard(&state, &headers, Role::Reader)?;
    let live = state.live.load();
    Ok(with_etag(
        Json(live.snapshot.get("directory").cloned().unwrap_or(json!({}))).into_response(),
        live.version,
    ))
}

/// `PUT /v1/admin/directory`: imports a directory (users, groups, roles), validated with
/// the policies that reference it: every `memberOf` names a group of the directory, and a
/// group a policy includes or excludes is not removed (400 with pointers, nothing changed).
pub async fn put_directory(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (author, mut directory, _permit) = write_body(&state, &headers, body).await?;
    check_schema_members("directory", &mut directory)?;
    let expected = expected_version(&headers)?;
    let directory = Value::Object(directory);
    let _order = state.admin_edits.lock().await;
    let mut attempt = 0;
    loop {
        let live = state.live_for_write(expected).await;
        check_directory(&live.snapshot, &directory)?;
        let mut snapshot = live.snapshot.clone();
        snapshot["directory"] = directory.clone();
        let applied = state
            .apply(
                &author,
                expected.or(Some(live.version)),
                snapshot,
                Some("directory import"),
            )
            .await;
        let error = match applied {
            Ok(version) => return Ok(with_etag(StatusCode::NO_CONTENT.into_response(), version)),
            Err(WriteError::Conflict { .. }) if expected.is_none() && attempt < WRITE_RETRIES => {
                attempt += 1;
                if let Err(e) = state.sync_policy().await {
                    tracing::warn!(error = %e, "could not catch up with the store before a retry");
                }
                continue;
            }
            Err(e) => e,
        };
        return Err(match error {
            WriteError::Rejected(mut errors) => {
                for err in &mut errors.errors {
                    if let Some(rest) = err.pointer.strip_prefix("/directory") {
                        err.pointer = rest.to_owned();
                        err.file = "request body".to_owned();
                    }
                }
                ApiError::invalid(&errors)
            }
            other => write_error(other, "directory", None),
        });
    }
}

/// Ids of the `groups` of a directory, lower case.
fn group_ids(directory: &Value) -> std::collections::HashSet<String> {
    directory
        .get("groups")
        .and_then(Value::as_array)
        .map(|groups| {
            groups
                .iter()
                .filter_map(|g| g.get("id").and_then(Value::as_str))
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default()
}

/// The directory checks the core leaves to the write API (a tenant file may hold a partial
/// directory; a directory written through the API replaces the whole one).
fn check_directory(current: &Value, directory: &Value) -> Result<(), ApiError> {
    let groups = group_ids(directory);
    let mut problems = Vec::new();
    for kind in ["users", "groups"] {
        let items = directory.get(kind).and_then(Value::as_array);
        for (i, item) in items.into_iter().flatten().enumerate() {
            let parents = item.get("memberOf").and_then(Value::as_array);
            for (j, parent) in parents.into_iter().flatten().enumerate() {
                if let Some(id) = parent.as_str()
                    && !groups.contains(&id.to_ascii_lowercase())
                {
                    problems.push((
                        format!("/{kind}/{i}/memberOf/{j}"),
                        format!(
                            "group `{}` is not in the directory",
                            crate::clean::escape(id, 128)
                        ),
                    ));
                }
            }
        }
    }
    let before = current.get("directory").map(group_ids).unwrap_or_default();
    for (p, policy) in crate::snapshot::list(current, "policies")
        .iter()
        .enumerate()
    {
        for member in ["includeGroups", "excludeGroups"] {
            let ids = policy
                .pointer(&format!("/conditions/users/{member}"))
                .and_then(Value::as_array);
            for id in ids.into_iter().flatten().filter_map(Value::as_str) {
                let key = id.to_ascii_lowercase();
                if before.contains(&key) && !groups.contains(&key) {
                    let name = policy
                        .get("displayName")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    problems.push((
                        "/groups".to_owned(),
                        format!(
                            "group `{}` is in `{member}` of policy `{}` (/policies/{p}); change the policy before removing the group",
                            crate::clean::escape(id, 128),
                            crate::clean::escape(name, 256)
                        ),
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_body(
            format!("{} problem(s); nothing was changed", problems.len()),
            &problems,
        ))
    }
}

/// `GET /v1/admin/versions`: every version, newest first.
pub async fn list_versions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    guard(&state, &headers, Role::Reader)?;
    let versions = state
        .store
        .versions()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let value: Vec<Value> = versions
        .into_iter()
        .map(|v| dated(serde_json::to_value(v).unwrap_or(Value::Null)))
        .collect();
    Ok(Json(
        json!({ "current": state.live.load().version, "value": value }),
    ))
}

/// A version as the API shows it: `createdDateTime` (RFC 3339, UTC, as Graph dates are)
/// beside `createdMs`.
fn dated(mut version: Value) -> Value {
    let ms = version.get("createdMs").and_then(Value::as_i64);
    if let (Some(ms), Some(object)) = (ms, version.as_object_mut()) {
        object.insert(
            "createdDateTime".into(),
            Value::String(crate::clock::rfc3339(ms)),
        );
    }
    version
}

/// `GET /v1/admin/versions/{version}`: one version with its snapshot and diff.
pub async fn get_version(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(version): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    guard(&state, &headers, Role::Reader)?;
    match state
        .store
        .version(version)
        .await
        .map_err(|e| ApiError::internal(&e))?
    {
        Some(v) => Ok(Json(dated(serde_json::to_value(v).unwrap_or(Value::Null)))),
        None => Err(ApiError::not_found(format!("no version {version}"))),
    }
}

/// `POST /v1/admin/versions/{version}/rollback`: puts an earlier version back in force, as
/// a new version (history is never rewritten).
pub async fn rollback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(version): Path<i64>,
) -> Result<Response, ApiError> {
    let author = guard(&state, &headers, Role::Admin)?;
    let expected = expected_version(&headers)?;
    let Some(old) = state
        .store
        .version(version)
        .await
        .map_err(|e| ApiError::internal(&e))?
    else {
        return Err(ApiError::not_found(format!("no version {version}")));
    };
    let prefix = format!("rollback to version {version}");
    let new = state
        .apply(&author, expected, old.snapshot, Some(&prefix))
        .await
        .map_err(|e| write_error(e, "policies", None))?;
    Ok(with_etag(
        Json(json!({"version": new, "restored": version})).into_response(),
        new,
    ))
}

fn device_id(v: &Value) -> Option<&str> {
    v.get("deviceId").and_then(Value::as_str)
}

/// `GET /v1/admin/devices`.
pub async fn list_devices(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    guard(&state, &headers, Role::Reader)?;
    let devices = state
        .store
        .devices()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(json!({ "value": devices })))
}

/// `PUT /v1/admin/devices`: replaces the whole registry (`{"value":[...]}`), validated first.
pub async fn replace_devices(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let (_, object, _permit) = write_body(&state, &headers, body).await?;
    let Some(Value::Array(devices)) = object.get("value") else {
        return Err(ApiError::bad_request(
            "request body: expected {\"value\": [device, ...]}",
        ));
    };
    registry(devices).map_err(|e| {
        ApiError::bad_request(e.to_string().replace("store:devices", "request body"))
    })?;
    state
        .store
        .replace_devices(devices)
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    state
        .reload_devices()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/admin/devices/{deviceId}`.
pub async fn get_device(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    guard(&state, &headers, Role::Reader)?;
    let devices = state
        .store
        .devices()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    devices
        .into_iter()
        .find(|d| device_id(d) == Some(id.as_str()))
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no device with deviceId `{id}`")))
}

/// `PUT /v1/admin/devices/{deviceId}`: creates or replaces one device (201 or 200).
pub async fn put_device(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (_, mut object, _permit) = write_body(&state, &headers, body).await?;
    if let Some(other) = object.get("deviceId").and_then(Value::as_str)
        && other != id
    {
        return Err(ApiError::bad_request(
            "request body: `deviceId` differs from the URL",
        ));
    }
    object.insert("deviceId".into(), Value::String(id.clone()));
    let device = Value::Object(object);
    // Validate with the rest of the registry (duplicate identifiers, bad properties).
    let mut all = state
        .store
        .devices()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    all.retain(|d| device_id(d) != Some(id.as_str()));
    all.push(device.clone());
    registry(&all)
        .map_err(|e| ApiError::bad_request(e.to_string().replace("store:devices", "devices")))?;
    let created = state
        .store
        .put_device(&id, &device)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    state
        .reload_devices()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(device)).into_response())
}

/// `DELETE /v1/admin/devices/{deviceId}`: the device is unregistered from then on.
pub async fn delete_device(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    guard(&state, &headers, Role::Admin)?;
    if !state
        .store
        .delete_device(&id)
        .await
        .map_err(|e| ApiError::internal(&e))?
    {
        return Err(ApiError::not_found(format!(
            "no device with deviceId `{id}`"
        )));
    }
    state
        .reload_devices()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(StatusCode::NO_CONTENT)
}
