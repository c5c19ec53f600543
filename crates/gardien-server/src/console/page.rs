//! The console's HTML: one escaping function ([`e`]) for every dynamic value, the page
//! frame ([`layout`]), and the message catalogue (`locales/console.en.ftl`,
//! `locales/console.fr.ftl`, same format as the denial page's).

use super::{ConsoleRole, Session};
use crate::denial::Lang;
use crate::denial::messages::{Catalogue, parse};
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use std::fmt::Write as _;
use std::sync::LazyLock;

const EN_SOURCE: &str = include_str!("../../locales/console.en.ftl");
const FR_SOURCE: &str = include_str!("../../locales/console.fr.ftl");

// A malformed file gives an empty catalogue (then English, then the key, is shown); the unit
// tests make sure both parse and have the same keys.
static EN: LazyLock<Catalogue> = LazyLock::new(|| parse(EN_SOURCE).unwrap_or_default());
static FR: LazyLock<Catalogue> = LazyLock::new(|| parse(FR_SOURCE).unwrap_or_default());

/// The console message `key` in `lang`, else in English, else `""` (which [`te`] shows as
/// the key itself; a unit test makes sure every literal key exists). Messages are plain
/// text: escape them like any other value.
pub fn t(lang: Lang, key: &str) -> &'static str {
    let cat: &'static Catalogue = match lang {
        Lang::En => &EN,
        Lang::Fr => &FR,
    };
    cat.get(key).or_else(|| EN.get(key)).copied().unwrap_or("")
}

/// The message `key`, escaped for HTML.
pub fn te(lang: Lang, key: &str) -> String {
    let m = t(lang, key);
    if m.is_empty() { e(key) } else { e(m) }
}

/// HTML-escapes text for element content and double-quoted attributes: the one escaping
/// function of the console.
pub fn e(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query or path value.
pub fn url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `page` (a [`layout`] output) that the browser reloads every `seconds` (a `<meta
/// http-equiv="refresh">` in its head: no script, allowed by the CSP).
pub fn refreshing(page: &str, seconds: u32) -> String {
    page.replacen(
        "<head>",
        &format!("<head><meta http-equiv=\"refresh\" content=\"{seconds}\">"),
        1,
    )
}

/// A complete page: `<html lang>`, the stylesheet, a skip link, the navigation for the
/// session's role, the sign-out form (with the CSRF token), `<main>` with the title as `h1`
/// and `body` (already HTML). Admins see the links to the policy pages
/// ([`super::tenant`]); see [`layout_nav`] for readers allowed there.
pub fn layout(lang: Lang, session: Option<&Session>, title: &str, body: &str) -> String {
    let tenant_pages = session.is_some_and(|s| s.role == ConsoleRole::Admin);
    layout_nav(lang, session, tenant_pages, title, body)
}

/// [`layout`], with the links to the policy pages when `tenant_pages` (an admin, or a reader
/// at `full` disclosure).
pub fn layout_nav(
    lang: Lang,
    session: Option<&Session>,
    tenant_pages: bool,
    title: &str,
    body: &str,
) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"color-scheme\" content=\"light dark\">\
<title>{title} · gardien</title>\
<link rel=\"stylesheet\" href=\"/console/static/console.css\"></head>\
<body><a class=\"skip\" href=\"#main\">{skip}</a><header class=\"top\">\
<span class=\"brand\">gardien <span class=\"muted\">{console}</span></span>",
        code = lang.code(),
        title = e(title),
        skip = te(lang, "skip"),
        console = te(lang, "console"),
    );
    if let Some(s) = session {
        let _ = write!(
            out,
            "<nav aria-label=\"{nav}\"><ul><li><a href=\"/console/signins\">{signins}</a></li>",
            nav = te(lang, "nav-label"),
            signins = te(lang, "nav-signins"),
        );
        if s.role == ConsoleRole::Admin {
            let _ = write!(
                out,
                "<li><a href=\"/console/versions\">{}</a></li>",
                te(lang, "nav-versions")
            );
        }
        if tenant_pages {
            for (href, key) in super::tenant::PAGES {
                let _ = write!(out, "<li><a href=\"{href}\">{}</a></li>", te(lang, key));
            }
        }
        let _ = write!(
            out,
            "</ul></nav><form class=\"who\" method=\"post\" action=\"/console/logout\">\
<span>{who} · <span class=\"role\">{role}</span></span>\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<button type=\"submit\" class=\"link\">{out_label}</button></form>",
            who = e(s.name.as_deref().unwrap_or(&s.actor)),
            role = te(lang, &format!("role-{}", s.role.as_str())),
            csrf = e(&s.csrf),
            out_label = te(lang, "sign-out"),
        );
    }
    let _ = write!(
        out,
        "</header><main id=\"main\"><h1>{title}</h1>{body}</main>\
<footer><p>{footer}</p></footer></body></html>",
        title = e(title),
        footer = te(lang, "footer"),
    );
    out
}

/// A page answer.
pub fn html(status: StatusCode, page: String) -> Response {
    (status, Html(page)).into_response()
}

/// An error page: `status`, the message `key` in a notice.
pub fn refusal(lang: Lang, session: Option<&Session>, status: StatusCode, key: &str) -> Response {
    let title = t(lang, "error-title");
    let body = format!(
        "<p class=\"notice error\" role=\"alert\">{}</p><p><a href=\"/console/\">{}</a></p>",
        te(lang, key),
        te(lang, "back-home")
    );
    html(status, layout(lang, session, title, &body))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn catalogues_parse_and_have_the_same_keys() {
        let en = parse(EN_SOURCE).unwrap();
        let fr = parse(FR_SOURCE).unwrap();
        let en_keys: Vec<_> = en.keys().collect();
        let fr_keys: Vec<_> = fr.keys().collect();
        assert_eq!(en_keys, fr_keys);
    }

    #[test]
    fn every_key_used_in_the_console_source_exists() {
        let en = parse(EN_SOURCE).unwrap();
        let prefixes = [
            "search",
            "signin",
            "error",
            "whatif",
            "versions",
            "diff",
            "login",
            "oidc",
            "nav",
            "device",
            "decision",
            "rollback",
            "col",
            "sign",
            "back",
            "skip",
            "footer",
            "tenant",
            "policies",
            "coverage",
            "lint",
            "gaps",
            "locations",
            "devices",
        ];
        let sources = [
            include_str!("page.rs"),
            include_str!("auth.rs"),
            include_str!("signins.rs"),
            include_str!("signins/search.rs"),
            include_str!("signins/trace.rs"),
            include_str!("signins/what_if.rs"),
            include_str!("versions.rs"),
            include_str!("tenant.rs"),
            include_str!("../console.rs"),
        ];
        let mut checked = 0;
        for source in sources {
            // Every string literal that looks like a message key.
            for (i, piece) in source.split('"').enumerate() {
                let key_like = i % 2 == 1
                    && piece.contains('-')
                    && piece.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && prefixes.iter().any(|p| piece.starts_with(&format!("{p}-")));
                if key_like && !piece.ends_with('-') {
                    checked += 1;
                    assert!(en.contains_key(piece), "missing message `{piece}`");
                }
            }
        }
        assert!(checked > 60, "{checked}");
        // Keys made from vocabulary names.
        for c in gardien_core::model::enums::ClientAppType::ALL {
            assert!(en.contains_key(format!("client-{}", c.as_str()).as_str()));
        }
        for o in ["satisfied", "notSatisfied", "notEnoughInformation"] {
            assert!(en.contains_key(format!("outcome-{o}").as_str()));
        }
        for r in [ConsoleRole::Reader, ConsoleRole::Admin] {
            assert!(en.contains_key(format!("role-{}", r.as_str()).as_str()));
        }
        for k in gardien_analysis::doc::CellKind::ALL {
            assert!(en.contains_key(format!("coverage-kind-{}", k.as_str()).as_str()));
        }
        for s in ["error", "warning", "info"] {
            assert!(gardien_analysis::lint::Severity::parse(s).is_some());
            assert!(en.contains_key(format!("lint-{s}").as_str()));
        }
    }

    #[test]
    fn escaping_covers_markup_quotes_and_controls() {
        assert_eq!(
            e("<a href=\"x\">'&'</a>\u{1b}"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\u{fffd}"
        );
        assert_eq!(url("a b/é&"), "a%20b%2F%C3%A9%26");
    }

    #[test]
    fn the_frame_escapes_the_session_and_shows_admin_links_to_admins_only() {
        let s = Session {
            actor: "<script>".into(),
            name: None,
            role: ConsoleRole::Reader,
            csrf: "tok\"en".into(),
            exp: 1,
            sid: String::new(),
        };
        let page = layout(Lang::Fr, Some(&s), "T<i>", "<p>x</p>");
        assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"fr\">"));
        assert!(page.contains("&lt;script&gt;") && !page.contains("<script"));
        assert!(page.contains("value=\"tok&quot;en\""));
        assert!(page.contains("<h1>T&lt;i&gt;</h1>"));
        assert!(!page.contains("/console/versions"));
        let admin = Session {
            role: ConsoleRole::Admin,
            ..s
        };
        assert!(layout(Lang::En, Some(&admin), "T", "").contains("/console/versions"));
    }
}
