//! "What if": the logged sign-in with changes, decided again.

use super::trace::{decide, decision_page, load};
use super::{decision_badge, field, text};
use crate::console::page::{e, refusal, te, url};
use crate::console::{Session, lang};
use crate::denial::Lang;
use crate::state::AppState;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use gardien_core::Decision;
use gardien_core::model::enums::{AuthMethod, ClientAppType};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::Arc;

/// The device state a request describes: `unregistered`, `registered` or `compliant`.
pub(super) fn device_state(request: &Value) -> &'static str {
    match request.pointer("/signInConditions/deviceInfo") {
        None | Some(Value::Null) => "unregistered",
        Some(d) if d.get("isCompliant").and_then(Value::as_bool) == Some(true) => "compliant",
        Some(_) => "registered",
    }
}

/// The what-if form, prefilled from `request`.
pub(super) fn what_if_form(lang: Lang, session: &Session, id: &str, request: &Value) -> String {
    let mut out = String::from("<section aria-labelledby=\"h-whatif\" class=\"card\">");
    let _ = write!(
        out,
        "<h2 id=\"h-whatif\">{}</h2><p class=\"muted\">{}</p>\
<form method=\"post\" action=\"/console/signins/{}/whatif\">\
<input type=\"hidden\" name=\"csrf\" value=\"{}\"><div class=\"grid\">\
<div class=\"field\"><label for=\"device\">{}</label><select id=\"device\" name=\"device\">",
        te(lang, "whatif-title"),
        te(lang, "whatif-hint"),
        url(id),
        e(&session.csrf),
        te(lang, "signin-device"),
    );
    let state = device_state(request);
    for (value, key) in [
        ("unregistered", "device-unregistered"),
        ("registered", "device-not-compliant"),
        ("compliant", "device-compliant"),
    ] {
        let _ = write!(
            out,
            "<option value=\"{value}\"{}>{}</option>",
            if state == value { " selected" } else { "" },
            te(lang, key)
        );
    }
    let cond = |k: &str| {
        request
            .pointer(&format!("/signInConditions/{k}"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let _ = write!(
        out,
        "</select></div>{ip}{country}<div class=\"field\"><label for=\"clientApp\">{client}</label><select id=\"clientApp\" name=\"clientApp\">",
        ip = field(
            "ip",
            &te(lang, "signin-ip"),
            &cond("ipAddress"),
            "text",
            " spellcheck=\"false\""
        ),
        country = field(
            "country",
            &te(lang, "whatif-country"),
            &cond("country"),
            "text",
            " maxlength=\"2\" autocomplete=\"off\""
        ),
        client = te(lang, "signin-client"),
    );
    let client = cond("clientAppType");
    for c in ClientAppType::ALL {
        let _ = write!(
            out,
            "<option value=\"{v}\"{sel}>{label}</option>",
            v = c.as_str(),
            sel = if client.eq_ignore_ascii_case(c.as_str()) {
                " selected"
            } else {
                ""
            },
            label = te(lang, &format!("client-{}", c.as_str())),
        );
    }
    out.push_str("</select></div></div>");
    let done: Vec<String> = request
        .pointer("/session/authenticationMethods")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let _ = write!(
        out,
        "<fieldset><legend>{}</legend><div class=\"checks\">",
        te(lang, "whatif-methods")
    );
    for m in AuthMethod::ALL {
        let name = m.as_str();
        let _ = write!(
            out,
            "<div class=\"check\"><input type=\"checkbox\" id=\"m-{name}\" name=\"method\" value=\"{name}\"{checked}><label for=\"m-{name}\">{name}</label></div>",
            checked = if done.contains(&name.to_ascii_lowercase()) {
                " checked"
            } else {
                ""
            },
        );
    }
    let _ = write!(
        out,
        "</div></fieldset><button type=\"submit\">{}</button></form></section>",
        te(lang, "whatif-submit")
    );
    out
}

/// Applies the what-if form to a logged request. `Err` names the message of the field that
/// is wrong.
pub(super) fn changed_request(
    request: &Value,
    form: &[(String, String)],
) -> Result<Value, &'static str> {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
    };
    let mut r = request.clone();
    let conditions = r
        .as_object_mut()
        .map(|o| {
            o.entry("signInConditions")
                .or_insert_with(|| json!({}))
                .clone()
        })
        .unwrap_or_else(|| json!({}));
    let mut c = match conditions {
        Value::Object(o) => o,
        _ => serde_json::Map::new(),
    };
    match get("device").as_deref() {
        Some("unregistered") => {
            c.remove("deviceInfo");
        }
        Some(state @ ("registered" | "compliant")) => {
            let mut device = match c.remove("deviceInfo") {
                Some(Value::Object(d)) => d,
                _ => serde_json::Map::new(),
            };
            device.insert("isCompliant".into(), json!(state == "compliant"));
            device
                .entry("trustType")
                .or_insert_with(|| json!("Workplace"));
            c.insert("deviceInfo".into(), Value::Object(device));
        }
        None => {}
        Some(_) => return Err("whatif-bad-device"),
    }
    match get("ip").as_deref() {
        None | Some("") => {
            c.remove("ipAddress");
        }
        Some(ip) => {
            ip.parse::<std::net::IpAddr>()
                .map_err(|_| "whatif-bad-ip")?;
            c.insert("ipAddress".into(), json!(ip));
        }
    }
    match get("country").as_deref() {
        None | Some("") => {
            c.remove("country");
        }
        Some(cc) if cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_alphabetic()) => {
            c.insert("country".into(), json!(cc.to_ascii_uppercase()));
        }
        Some(_) => return Err("whatif-bad-country"),
    }
    if let Some(app) = get("clientApp") {
        let parsed = ClientAppType::parse(&app).ok_or("whatif-bad-client")?;
        c.insert("clientAppType".into(), json!(parsed.as_str()));
    }
    let mut methods = Vec::new();
    for (k, v) in form {
        if k == "method" {
            let m = AuthMethod::parse(v).ok_or("whatif-bad-method")?;
            methods.push(json!(m.as_str()));
        }
    }
    if let Some(o) = r.as_object_mut() {
        o.insert("signInConditions".into(), Value::Object(c));
        let session = o.entry("session").or_insert_with(|| json!({}));
        if let Some(s) = session.as_object_mut() {
            s.insert("authenticationMethods".into(), Value::Array(methods));
        }
    }
    Ok(r)
}

/// `POST /console/signins/{id}/whatif`: the logged sign-in with the form's changes, decided
/// again by the core, next to what was decided.
pub async fn what_if(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = form.ok().map(|Form(f)| f).unwrap_or_default();
    let csrf = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    let session = match crate::console::signed_in_post(&state, &headers, csrf) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let lang = lang(&headers);
    let (record, tenant, version) = match load(&state, &id).await {
        Ok(x) => x,
        Err(key) => return refusal(lang, Some(&session), StatusCode::NOT_FOUND, key),
    };
    let Some(logged) = record.pointer("/gardien/request").cloned() else {
        return refusal(
            lang,
            Some(&session),
            StatusCode::UNPROCESSABLE_ENTITY,
            "error-not-replayable",
        );
    };
    let changed = match changed_request(&logged, &form) {
        Ok(r) => r,
        Err(key) => return refusal(lang, Some(&session), StatusCode::BAD_REQUEST, key),
    };
    let decided = match decide(record, changed, tenant, version) {
        Ok(d) => d,
        Err(key) => return refusal(lang, Some(&session), StatusCode::BAD_REQUEST, key),
    };
    let before = text(&decided.record, "/gardien/decision").to_owned();
    let after = decided.report.decision;
    let body = format!(
        "<section aria-labelledby=\"h-outcome\" class=\"card\"><h2 id=\"h-outcome\">{}</h2>\
<p class=\"outcome-line\">{} → {}{}</p><p><a href=\"/console/signins/{}\">{}</a></p></section>",
        te(lang, "whatif-outcome"),
        decision_badge(lang, &before),
        decision_badge(lang, after.as_str()),
        decided
            .report
            .error_code
            .filter(|_| after == Decision::Deny)
            .map(|c| format!(" <code>AADSTS{c}</code>"))
            .unwrap_or_default(),
        url(&id),
        te(lang, "whatif-back"),
    );
    tracing::info!(actor = %session.actor, correlation_id = %id, decision = after.as_str(), "console: what-if");
    decision_page(&state, lang, &session, &id, &decided, true, body)
}
