//! Admin pages: the policy version history, the semantic diff between two versions (from
//! `gardien-analysis`: which classes of sign-ins change decision, and which policy change
//! causes it), and rollback.
//!
//! A rollback is a POST with the session's CSRF token, admins only (a reader gets 403). It
//! goes through [`AppState::apply`] like an admin API write: the earlier snapshot is
//! validated, stored as a new version whose author is `console:<actor>` and whose summary
//! says `rollback to version N`, then put in force. Every rollback attempt by a signed-in
//! person with a valid CSRF token (done, refused to a reader, or failed) is also an entry of
//! the store's admin audit trail (`GET /v1/admin/audit`, token `console:<actor>`), and is
//! logged with the actor.

use super::lang;
use super::page::{e, html, layout, refusal, t, te};
use super::{CsrfForm, Session};
use crate::denial::Lang;
use crate::state::{AppState, WriteError};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use std::fmt::Write as _;
use std::sync::Arc;

/// `GET /console/versions`: every version, newest first, with a diff form and rollback
/// buttons.
pub async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let session = match super::admin(&state, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let lang = lang(&headers);
    let mut versions = match state.store.versions().await {
        Ok(v) => v,
        Err(err) => {
            tracing::error!(error = %err, "console: versions unavailable");
            return refusal(
                lang,
                Some(&session),
                StatusCode::SERVICE_UNAVAILABLE,
                "error-store",
            );
        }
    };
    versions.sort_by_key(|v| std::cmp::Reverse(v.version));
    let current = state.live.load().version;
    let mut body = String::new();
    let options = |selected: Option<i64>| {
        versions
            .iter()
            .map(|v| {
                format!(
                    "<option value=\"{n}\"{sel}>{n}</option>",
                    n = v.version,
                    sel = if Some(v.version) == selected {
                        " selected"
                    } else {
                        ""
                    }
                )
            })
            .collect::<String>()
    };
    let previous = versions.get(1).map(|v| v.version);
    let _ = write!(
        body,
        "<form class=\"card\" method=\"get\" action=\"/console/versions/diff\"><h2>{heading}</h2><div class=\"grid\">\
<div class=\"field\"><label for=\"from\">{from}</label><select id=\"from\" name=\"from\">{from_options}</select></div>\
<div class=\"field\"><label for=\"to\">{to}</label><select id=\"to\" name=\"to\">{to_options}</select></div></div>\
<button type=\"submit\">{submit}</button></form>",
        heading = te(lang, "versions-diff-heading"),
        from = te(lang, "versions-from"),
        to = te(lang, "versions-to"),
        from_options = options(previous.or(Some(current))),
        to_options = options(Some(current)),
        submit = te(lang, "versions-diff-submit"),
    );
    let _ = write!(
        body,
        "<div class=\"table\"><table><caption>{caption}</caption><thead><tr><th scope=\"col\">{version}</th>\
<th scope=\"col\">{when}</th><th scope=\"col\">{author}</th><th scope=\"col\">{summary}</th><th scope=\"col\">{action}</th></tr></thead><tbody>",
        caption = te(lang, "versions-caption"),
        version = te(lang, "versions-version"),
        when = te(lang, "col-time"),
        author = te(lang, "versions-author"),
        summary = te(lang, "versions-summary"),
        action = te(lang, "versions-action"),
    );
    for v in &versions {
        let action = if v.version == current {
            format!(
                "<span class=\"badge allow\">{}</span>",
                te(lang, "versions-current")
            )
        } else {
            format!(
                "<form method=\"post\" action=\"/console/versions/{n}/rollback\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<button type=\"submit\" class=\"secondary\">{label} {n}</button></form>",
                n = v.version,
                csrf = e(&session.csrf),
                label = te(lang, "versions-rollback"),
            )
        };
        let _ = write!(
            body,
            "<tr><td>{n}</td><td class=\"time\">{when}</td><td>{author}</td><td>{summary}</td><td>{action}</td></tr>",
            n = v.version,
            when = e(&crate::clock::rfc3339(v.created_ms)),
            author = e(&v.author),
            summary = e(&v.summary),
        );
    }
    body.push_str("</tbody></table></div>");
    html(
        StatusCode::OK,
        layout(lang, Some(&session), t(lang, "versions-title"), &body),
    )
}

/// The two versions to compare.
#[derive(Debug, Deserialize)]
pub struct DiffQuery {
    from: i64,
    to: i64,
}

/// `GET /console/versions/diff?from=&to=`: the semantic diff from the analysis crate.
pub async fn diff(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<DiffQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let session = match super::admin(&state, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let lang = lang(&headers);
    let Ok(Query(q)) = query else {
        return refusal(
            lang,
            Some(&session),
            StatusCode::BAD_REQUEST,
            "error-diff-query",
        );
    };
    let mut tenants = Vec::new();
    for n in [q.from, q.to] {
        let stored = match stored_version(&state, n, lang, &session).await {
            Ok(v) => v,
            Err(r) => return *r,
        };
        match crate::snapshot::compile(&format!("store:version {n}"), &stored.snapshot) {
            Ok(c) => tenants.push(c.tenant),
            Err(_) => {
                return refusal(
                    lang,
                    Some(&session),
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "error-not-replayable",
                );
            }
        }
    }
    let (Some(from), Some(to)) = (tenants.first(), tenants.get(1)) else {
        return refusal(
            lang,
            Some(&session),
            StatusCode::BAD_REQUEST,
            "error-diff-query",
        );
    };
    // The diff walks every class of sign-ins the two sets distinguish: off the async
    // workers.
    let (from, to) = (from.clone(), to.clone());
    let report =
        match tokio::task::spawn_blocking(move || gardien_analysis::diff::diff(&from, &to)).await {
            Ok(Ok(r)) => r,
            Ok(Err(err)) => {
                tracing::error!(error = %err, "console: diff failed");
                return refusal(
                    lang,
                    Some(&session),
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "error-internal",
                );
            }
            Err(_) => {
                return refusal(
                    lang,
                    Some(&session),
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "error-internal",
                );
            }
        };
    let s = &report.summary;
    let mut body = format!(
        "<p>{}</p>",
        e(&t(lang, "diff-lead")
            .replace("{ $from }", &q.from.to_string())
            .replace("{ $to }", &q.to.to_string()))
    );
    let _ = write!(
        body,
        "<section class=\"card\" aria-labelledby=\"h-policy-changes\"><h2 id=\"h-policy-changes\">{}</h2>",
        te(lang, "diff-policy-changes")
    );
    if s.policy_changes.is_empty() {
        let _ = write!(body, "<p>{}</p>", te(lang, "diff-no-policy-change"));
    } else {
        body.push_str("<ul>");
        for c in &s.policy_changes {
            let _ = write!(body, "<li>{}</li>", e(&c.describe()));
        }
        body.push_str("</ul>");
    }
    body.push_str("</section>");
    let _ = write!(
        body,
        "<section class=\"card\" aria-labelledby=\"h-changes\"><h2 id=\"h-changes\">{}</h2>",
        te(lang, "diff-changes")
    );
    if report.changes.is_empty() {
        let _ = write!(body, "<p>{}</p>", te(lang, "diff-no-change"));
    } else {
        body.push_str("<ol class=\"changes\">");
        for c in &report.changes {
            let _ = write!(
                body,
                "<li><p><strong class=\"transition\">{}</strong></p><p>{}</p>",
                e(&c.transition),
                e(&c.summary)
            );
            if !c.caused_by.is_empty() {
                let _ = write!(
                    body,
                    "<p class=\"muted\">{} {}</p>",
                    te(lang, "diff-caused-by"),
                    e(&c.caused_by.join("; "))
                );
            }
            body.push_str("</li>");
        }
        body.push_str("</ol>");
    }
    body.push_str("</section>");
    let _ = write!(
        body,
        "<p><a href=\"/console/versions\">{}</a></p>",
        te(lang, "diff-back")
    );
    html(
        StatusCode::OK,
        layout(lang, Some(&session), t(lang, "diff-title"), &body),
    )
}

/// `POST /console/versions/{version}/rollback`: admins only, with the CSRF token.
pub async fn rollback(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(version): Path<i64>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let session = match super::signed_in_post(&state, &headers, CsrfForm::token(&form)) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let path = format!("/console/versions/{version}/rollback");
    let session = match super::admin(&state, &headers) {
        Ok(s) => s,
        Err(r) => {
            tracing::warn!(actor = %session.actor, role = session.role.as_str(), version, "console: rollback refused (not an admin)");
            audit(&state, &session, path, r.status(), None).await;
            return *r;
        }
    };
    let lang = lang(&headers);
    let old = match stored_version(&state, version, lang, &session).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let author = format!("console:{}", session.actor);
    let prefix = format!("rollback to version {version}");
    let _edit = state.admin_edits.lock().await;
    match state
        .apply(&author, None, old.snapshot, Some(&prefix))
        .await
    {
        Ok(new) => {
            tracing::info!(actor = %session.actor, restored = version, version = new, "console: rollback");
            audit(&state, &session, path, StatusCode::OK, Some(new)).await;
            let body = format!(
                "<p class=\"notice\" role=\"status\">{}</p><p><a href=\"/console/versions\">{}</a></p>",
                e(&t(lang, "rollback-done")
                    .replace("{ $restored }", &version.to_string())
                    .replace("{ $version }", &new.to_string())),
                te(lang, "diff-back")
            );
            html(
                StatusCode::OK,
                layout(lang, Some(&session), t(lang, "rollback-title"), &body),
            )
        }
        Err(err) => {
            tracing::warn!(actor = %session.actor, restored = version, error = %err, "console: rollback failed");
            let (status, key) = match err {
                WriteError::Conflict { .. } => (StatusCode::CONFLICT, "error-conflict"),
                WriteError::Rejected(_) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "error-not-replayable")
                }
                WriteError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "error-store"),
            };
            audit(&state, &session, path, status, None).await;
            refusal(lang, Some(&session), status, key)
        }
    }
}

/// An entry of the admin audit trail for a console action (token `console:<actor>`).
/// A stored policy version, or the page that says why there is none (404 when it does not
/// exist, 503 when the store cannot answer).
async fn stored_version(
    state: &AppState,
    version: i64,
    lang: Lang,
    session: &Session,
) -> Result<gardien_store::TenantVersion, Box<Response>> {
    match state.store.version(version).await {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(Box::new(refusal(
            lang,
            Some(session),
            StatusCode::NOT_FOUND,
            "error-no-version",
        ))),
        Err(_) => Err(Box::new(refusal(
            lang,
            Some(session),
            StatusCode::SERVICE_UNAVAILABLE,
            "error-store",
        ))),
    }
}

async fn audit(
    state: &AppState,
    session: &Session,
    path: String,
    status: StatusCode,
    version: Option<i64>,
) {
    let entry = gardien_store::AuditEntry {
        created_ms: crate::clock::now_ms(),
        token: format!("console:{}", session.actor),
        role: session.role.as_str().to_owned(),
        method: "POST".to_owned(),
        path,
        status: status.as_u16(),
        version,
        author: session.name.clone(),
    };
    if let Err(e) = state.store.append_audit(&entry).await {
        state
            .metrics
            .audit_errors
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::error!(error = %e, token = %entry.token, "console: audit entry not stored");
    }
}
