//! The search page.

use super::{decision_badge, field, text};
use crate::console::lang;
use crate::console::page::{e, html, refusal, t, te, url};
use crate::denial::Lang;
use crate::state::{AppState, Live};
use axum::extract::{Query, State};
use axum::response::Response;
use gardien_store::{LogPosition, SearchPage, SignInFilter};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use std::fmt::Write as _;
use std::sync::Arc;

/// Most rows a search shows.
const ROWS: usize = 100;

/// The search form's fields (all optional; empty means "any").
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    app: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    correlation_id: String,
    /// Keyset position of the page (`<created_ms>.<seq>`): sign-ins older than it.
    #[serde(default)]
    before: String,
}

impl SearchQuery {
    /// The query string of this search with `user` and `before` replaced (`None`: left
    /// out), for the links to a chosen user and to the next page.
    fn href(&self, user: &str, before: Option<&str>) -> String {
        let mut out = String::from("/console/signins?");
        let mut sep = "";
        for (k, v) in [
            ("user", user),
            ("app", self.app.as_str()),
            ("result", self.result.as_str()),
            ("errorCode", self.error_code.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("correlationId", self.correlation_id.as_str()),
            ("before", before.unwrap_or("")),
        ] {
            if !v.is_empty() {
                let _ = write!(out, "{sep}{k}={}", url(v));
                sep = "&";
            }
        }
        out
    }
}

/// Most directory users a search offers to choose from.
pub(super) const USER_CHOICES: usize = 20;

/// How user text is compared: NFKC, lower-case, inner whitespace collapsed.
pub(super) fn canonical(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    let folded: String = text.nfkc().flat_map(char::to_lowercase).collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Which user a search means.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum UserMatch {
    /// No user filter.
    Any,
    /// This user id.
    One(String),
    /// Several directory users match: `(id, UPN, display name)`, at most
    /// [`USER_CHOICES`], and whether there are more.
    Several(Vec<(String, String, Option<String>)>, bool),
}

/// The directory users the text names, canonically compared ([`canonical`]): an exact id
/// or UPN is that user; else every user whose id, UPN, display name or a word of the
/// display name starts with the text (at most [`USER_CHOICES`] kept). Text that names no
/// directory user is taken as a user id as written, lower-cased (users absent from the
/// directory still have sign-ins).
pub(super) fn match_user(
    text: &str,
    users: &[gardien_core::model::directory::DirectoryUser],
) -> UserMatch {
    let q = canonical(text);
    if q.is_empty() {
        return UserMatch::Any;
    }
    let mut found = Vec::new();
    let mut more = false;
    for u in users {
        let upn = canonical(&u.user_principal_name);
        let id = u.id.to_ascii_lowercase();
        if upn == q || id == q {
            return UserMatch::One(u.id.to_string());
        }
        let name = u.display_name.as_deref().map(canonical).unwrap_or_default();
        let hit = id.starts_with(&q)
            || upn.starts_with(&q)
            || name.starts_with(&q)
            || name.split(' ').any(|w| w.starts_with(&q));
        if hit {
            if found.len() == USER_CHOICES {
                more = true;
            } else {
                found.push((
                    u.id.to_string(),
                    u.user_principal_name.clone(),
                    u.display_name.clone(),
                ));
            }
        }
    }
    match found.len() {
        0 => UserMatch::One(q),
        1 if !more => UserMatch::One(found.swap_remove(0).0),
        _ => UserMatch::Several(found, more),
    }
}

/// An instant from the form: `datetime-local` (`2026-12-07T10:20`, read as UTC), RFC 3339 or
/// Unix milliseconds.
pub(super) fn form_time(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.len() == 16 && t.as_bytes().get(10) == Some(&b'T') {
        return gardien_core::time::parse_instant_ms(&format!("{t}:00Z"));
    }
    gardien_core::time::parse_instant_ms(t)
}

/// The store filter of a search, or the message key of the field that is wrong. The user is
/// `user` (see [`match_user`]); applications by app id or service principal display name
/// (case-insensitive), through the directory in force.
fn filter(
    q: &SearchQuery,
    live: &Live,
    user: Option<String>,
) -> Result<SignInFilter, &'static str> {
    let directory = &live.tenant.tenant.directory;
    let some = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned);
    let app = some(&q.app).map(|a| {
        directory
            .service_principals
            .iter()
            .find(|sp| sp.display_name.eq_ignore_ascii_case(&a))
            .and_then(|sp| sp.app_id.as_ref().map(|id| id.to_string()))
            .unwrap_or(a)
    });
    let decision = match q.result.as_str() {
        "" => None,
        d @ ("allow" | "challenge" | "deny") => Some(d.to_owned()),
        _ => return Err("search-bad-result"),
    };
    let error_code = match some(&q.error_code) {
        None => None,
        Some(c) => Some(
            c.trim_start_matches("AADSTS")
                .parse::<u32>()
                .map_err(|_| "search-bad-code")?,
        ),
    };
    let time = |v: &str| match some(v) {
        None => Ok(None),
        Some(t) => form_time(&t).map(Some).ok_or("search-bad-time"),
    };
    Ok(SignInFilter {
        user,
        app,
        decision,
        error_code,
        from_ms: time(&q.from)?,
        to_ms: time(&q.to)?,
        correlation_id: some(&q.correlation_id),
        before: match some(&q.before) {
            None => None,
            Some(b) => Some(LogPosition::parse(&b).ok_or("search-bad-before")?),
        },
        limit: Some(ROWS),
    })
}

/// What follows a page's rows, or stands for them when there is none: that nothing
/// matches, or back to when a search that stopped at its bound searched
/// ([`gardien_store::SearchPage::searched_to`]), then the link to the older sign-ins.
pub(super) fn after_rows(lang: Lang, q: &SearchQuery, page: &SearchPage) -> String {
    let mut out = String::new();
    let searched_to = page.searched_to.map(crate::clock::rfc3339);
    let notice = match (&searched_to, page.records.is_empty()) {
        (None, true) => Some("search-none"),
        (None, false) => None,
        (Some(_), true) => Some("search-none-yet"),
        (Some(_), false) => Some("search-stopped"),
    };
    if let Some(key) = notice {
        let text = t(lang, key).replace("{ $time }", searched_to.as_deref().unwrap_or(""));
        let _ = write!(out, "<p class=\"notice\" role=\"status\">{}</p>", e(&text));
    }
    if let Some(next) = page.next {
        let label = if searched_to.is_some() {
            "search-continue"
        } else {
            "search-older"
        };
        let _ = write!(
            out,
            "<p><a href=\"{}\" rel=\"next\">{}</a></p>",
            e(&q.href(&q.user, Some(&next.to_string()))),
            te(lang, label)
        );
    }
    out
}

/// `GET /console/signins`: the search form and the newest matching sign-ins.
pub async fn search(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let session = match crate::console::signed_in(&state, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let lang = lang(&headers);
    let q = query.ok().map(|Query(q)| q).unwrap_or_default();
    let mut body = String::new();
    let _ = write!(
        body,
        "<form class=\"card search\" method=\"get\" action=\"/console/signins\" role=\"search\">\
<div class=\"grid\">{user}{app}\
<div class=\"field\"><label for=\"result\">{result}</label><select id=\"result\" name=\"result\">",
        user = field("user", &te(lang, "search-user"), &q.user, "text", ""),
        app = field("app", &te(lang, "search-app"), &q.app, "text", ""),
        result = te(lang, "search-result"),
    );
    for (value, key) in [
        ("", "search-any"),
        ("allow", "decision-allow"),
        ("challenge", "decision-challenge"),
        ("deny", "decision-deny"),
    ] {
        let _ = write!(
            body,
            "<option value=\"{value}\"{}>{}</option>",
            if q.result == value { " selected" } else { "" },
            te(lang, key)
        );
    }
    let _ = write!(
        body,
        "</select></div>{code}{from}{to}{corr}</div><button type=\"submit\">{search}</button></form>",
        code = field(
            "errorCode",
            &te(lang, "search-code"),
            &q.error_code,
            "text",
            " inputmode=\"numeric\""
        ),
        from = field(
            "from",
            &te(lang, "search-from"),
            &q.from,
            "datetime-local",
            ""
        ),
        to = field("to", &te(lang, "search-to"), &q.to, "datetime-local", ""),
        corr = field(
            "correlationId",
            &te(lang, "search-correlation"),
            &q.correlation_id,
            "text",
            " spellcheck=\"false\""
        ),
        search = te(lang, "search-submit"),
    );
    let live = state.live.load_full();
    let user = match match_user(&q.user, &live.tenant.tenant.directory.users) {
        UserMatch::Any => None,
        UserMatch::One(id) => Some(id),
        UserMatch::Several(users, more) => {
            let _ = write!(
                body,
                "<section class=\"card\" aria-labelledby=\"choose\"><h2 id=\"choose\">{}</h2><ul>",
                te(lang, "search-choose-user")
            );
            for (id, upn, name) in &users {
                let _ = write!(
                    body,
                    "<li><a href=\"{href}\">{label}</a> <code>{id}</code></li>",
                    href = e(&q.href(id, None)),
                    label = e(&match name {
                        Some(n) => format!("{n} ({upn})"),
                        None => upn.clone(),
                    }),
                    id = e(id),
                );
            }
            body.push_str("</ul>");
            if more {
                let _ = write!(
                    body,
                    "<p class=\"muted\">{}</p>",
                    te(lang, "search-more-users")
                );
            }
            body.push_str("</section>");
            return html(
                StatusCode::OK,
                crate::console::tenant::layout_for(
                    &state,
                    lang,
                    &session,
                    t(lang, "search-title"),
                    &body,
                ),
            );
        }
    };
    let page = match filter(&q, &live, user) {
        Err(key) => {
            let _ = write!(
                body,
                "<p class=\"notice error\" role=\"alert\">{}</p>",
                te(lang, key)
            );
            return html(
                StatusCode::BAD_REQUEST,
                crate::console::tenant::layout_for(
                    &state,
                    lang,
                    &session,
                    t(lang, "search-title"),
                    &body,
                ),
            );
        }
        Ok(f) => match state
            .store
            .log()
            .search_bounded(&f, state.config.log.search_reads)
            .await
        {
            Ok(r) => r,
            Err(err) => {
                tracing::error!(error = %err, "console: sign-in search failed");
                return refusal(
                    lang,
                    Some(&session),
                    StatusCode::SERVICE_UNAVAILABLE,
                    "error-store",
                );
            }
        },
    };
    let records = &page.records;
    if !records.is_empty() {
        let _ = write!(
            body,
            "<div class=\"table\"><table><caption>{caption}</caption><thead><tr>\
<th scope=\"col\">{time}</th><th scope=\"col\">{user}</th><th scope=\"col\">{app}</th>\
<th scope=\"col\">{result}</th><th scope=\"col\">{code}</th><th scope=\"col\">{corr}</th></tr></thead><tbody>",
            caption = e(&t(lang, "search-caption").replace("{ $n }", &records.len().to_string())),
            time = te(lang, "col-time"),
            user = te(lang, "search-user"),
            app = te(lang, "search-app"),
            result = te(lang, "search-result"),
            code = te(lang, "search-code"),
            corr = te(lang, "search-correlation"),
        );
        for r in records {
            let corr = text(r, "/correlationId");
            let user_id = text(r, "/userId");
            let user = Some(text(r, "/userPrincipalName"))
                .filter(|u| !u.is_empty())
                .or_else(|| {
                    live.tenant
                        .tenant
                        .directory
                        .users
                        .iter()
                        .find(|u| u.id.eq_ignore_ascii_case(user_id))
                        .map(|u| u.user_principal_name.as_str())
                })
                .unwrap_or(user_id);
            let app = Some(text(r, "/appDisplayName"))
                .filter(|a| !a.is_empty())
                .unwrap_or(text(r, "/appId"));
            let code = r
                .pointer("/status/errorCode")
                .and_then(Value::as_u64)
                .filter(|c| *c != 0)
                .map(|c| c.to_string())
                .unwrap_or_default();
            let _ = write!(
                body,
                "<tr><td class=\"time\">{time}</td><td>{user}</td><td>{app}</td><td>{badge}</td><td>{code}</td>\
<td><a href=\"/console/signins/{href}\"><code>{corr}</code></a></td></tr>",
                time = e(text(r, "/createdDateTime")),
                user = e(user),
                app = e(app),
                badge = decision_badge(lang, text(r, "/gardien/decision")),
                code = e(&code),
                href = url(corr),
                corr = e(corr),
            );
        }
        body.push_str("</tbody></table></div>");
    }
    body.push_str(&after_rows(lang, &q, &page));
    html(
        StatusCode::OK,
        crate::console::tenant::layout_for(&state, lang, &session, t(lang, "search-title"), &body),
    )
}
