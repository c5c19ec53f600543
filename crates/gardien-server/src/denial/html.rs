//! The HTML denial page: one self-contained HTML5 document (inline CSS, no script, no
//! external resource), readable from a phone width up.

use super::messages::{fill, msg};
use super::{
    DenialContext, Facts, Lang, UserAction, action_name, category_text, category_title, colon,
    copy_text, detail_rows,
};

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The support contact as HTML: a link for `https://`, `http://` and `mailto:` values
/// without spaces, plain text otherwise (so `javascript:` and the like never become links).
fn support_html(support: &str) -> String {
    let s = support.trim();
    let lower = s.to_ascii_lowercase();
    let linkable = !s.chars().any(char::is_whitespace);
    if linkable && (lower.starts_with("https://") || lower.starts_with("http://")) {
        format!("<a href=\"{0}\">{0}</a>", escape(s))
    } else if linkable && lower.starts_with("mailto:") && s.len() > "mailto:".len() {
        let shown = s.get("mailto:".len()..).unwrap_or(s);
        format!("<a href=\"{}\">{}</a>", escape(s), escape(shown))
    } else {
        format!("<strong>{}</strong>", escape(s))
    }
}

/// One action as HTML (the contact action names the configured support).
fn action_html(action: UserAction, support: Option<&str>, lang: Lang) -> String {
    match (action, support.filter(|s| !s.trim().is_empty())) {
        (UserAction::ContactSupport, Some(s)) => fill(
            &escape(msg(lang, "action-contactSupport-with")),
            &[("support", &support_html(s))],
        ),
        _ => escape(msg(lang, &format!("action-{}", action_name(action)))),
    }
}

const STYLE: &str = r#"
:root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--text:#1f2328;--muted:#59636e;--border:#d1d9e0;--accent:#b42318;--accent-bg:#fef3f2;--temp:#175cd3;--temp-bg:#eff8ff;--struct:#344054;--struct-bg:#eef0f3;--code-bg:#f6f8fa;--link:#0b57d0}
.challenge{--accent:#a15c07;--accent-bg:#fffaeb}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--text:#e6edf3;--muted:#9da7b3;--border:#30363d;--accent:#ff7b72;--accent-bg:#3a1618;--temp:#79c0ff;--temp-bg:#0c2d4a;--struct:#d0d7de;--struct-bg:#262c36;--code-bg:#0d1117;--link:#79c0ff}.challenge{--accent:#e3b341;--accent-bg:#2e2208}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--text);font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Helvetica Neue",Arial,sans-serif}
main{max-width:46rem;margin:2rem auto;padding:0 1rem}
.card{background:var(--card);border:1px solid var(--border);border-top:6px solid var(--accent);border-radius:12px;padding:1.5rem 1.75rem 1.75rem}
.head{display:flex;gap:1rem;align-items:flex-start}
.icon{flex:none;width:2.75rem;height:2.75rem;border-radius:50%;background:var(--accent-bg);color:var(--accent);display:flex;align-items:center;justify-content:center}
.icon svg{width:1.6rem;height:1.6rem}
h1{font-size:1.65rem;line-height:1.25;margin:.25rem 0 .5rem}
h2{font-size:1.1rem;margin:1.75rem 0 .5rem;padding-top:1.25rem;border-top:1px solid var(--border)}
h3{font-size:1rem;margin:1.25rem 0 .25rem}
p{margin:.5rem 0}
.lead{font-size:1.125rem;margin:0}
.intro,.hint,footer{color:var(--muted)}
.intro{font-size:.95rem}
.code{display:inline-block;margin-top:.75rem;background:var(--accent-bg);color:var(--accent);font-weight:600;padding:.2rem .7rem;border-radius:6px}
.cause{font-weight:600;font-size:1.05rem;margin-top:0}
.badge{display:inline-block;border-radius:999px;padding:.1rem .75rem;font-size:.85rem;font-weight:600;margin-right:.4rem}
.temporary .badge{background:var(--temp-bg);color:var(--temp)}
.structural .badge{background:var(--struct-bg);color:var(--struct)}
ol.actions{padding-left:1.4rem;margin:.5rem 0}
ol.actions li{margin:.45rem 0;padding-left:.2rem}
ul.checked{padding-left:1.4rem;margin:.5rem 0}
a{color:var(--link);overflow-wrap:anywhere}
dl.details{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1.25rem;margin:.75rem 0}
dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere;font-variant-numeric:tabular-nums}
pre.copy,.admin{font:.85rem/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;background:var(--code-bg);border:1px solid var(--border);border-radius:8px;padding:.75rem 1rem;white-space:pre-wrap;overflow-wrap:anywhere}
pre.copy{user-select:all;-webkit-user-select:all;margin:.5rem 0 0}
footer{font-size:.8rem;text-align:center;margin:1rem 0 2rem}
@media (max-width:600px){main{margin:.75rem auto;padding:0 .6rem}.card{padding:1.1rem 1rem 1.25rem}h1{font-size:1.35rem}.icon{width:2.25rem;height:2.25rem}.icon svg{width:1.3rem;height:1.3rem}dl.details{grid-template-columns:1fr;gap:0}dd{margin-bottom:.45rem}}
"#;

const ICON_DENY: &str = r#"<svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"><circle cx="12" cy="12" r="9"/><path d="M5.6 5.6l12.8 12.8"/></svg>"#;
const ICON_CHALLENGE: &str = r#"<svg viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"><rect x="5" y="11" width="14" height="9" rx="2"/><path d="M8 11V8a4 4 0 0 1 8 0v3"/></svg>"#;

/// Renders the page.
pub(crate) fn render(ctx: &DenialContext<'_>, facts: &Facts<'_>, lang: Lang) -> String {
    let app = escape(ctx.application);
    let title = escape(facts.title(lang));
    let mut h = String::with_capacity(12 * 1024);
    h.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"{}\" dir=\"ltr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"robots\" content=\"noindex, nofollow\">\n\
         <title>{title} – {app}</title>\n<style>{STYLE}</style>\n</head>\n",
        lang.code()
    ));
    let kind = if facts.deny { "deny" } else { "challenge" };
    h.push_str(&format!(
        "<body class=\"{kind}\">\n<main>\n<div class=\"card\">\n<div class=\"head\">\
         <div class=\"icon\">{}</div>\n<div>\n<h1>{title}</h1>\n<p class=\"lead\">{}</p>\n</div>\n</div>\n",
        if facts.deny { ICON_DENY } else { ICON_CHALLENGE },
        fill(
            &escape(facts.lead(lang)),
            &[("app", &format!("<strong>{app}</strong>"))]
        ),
    ));
    h.push_str(&format!(
        "<p class=\"code\" id=\"error-code\">{}{}{}</p>\n",
        escape(msg(lang, "label-error-code")),
        colon(lang),
        escape(&facts.code_label(ctx.report, lang))
    ));
    h.push_str(&format!(
        "<p class=\"intro\">{}</p>\n",
        escape(msg(lang, "intro"))
    ));

    // Why, and whether it will pass.
    let (class, label, text) = if facts.temporary {
        ("temporary", "temporary-true-label", "temporary-true")
    } else {
        ("structural", "temporary-false-label", "temporary-false")
    };
    h.push_str(&format!(
        "<section id=\"why\">\n<h2>{}</h2>\n<p class=\"cause\">{}</p>\n<p>{}</p>\n\
         <p class=\"{class}\"><span class=\"badge\">{}</span>{}</p>\n</section>\n",
        escape(msg(lang, "heading-why")),
        escape(&category_title(facts.category, lang)),
        escape(&category_text(facts.category, lang)),
        escape(msg(lang, label)),
        escape(msg(lang, text)),
    ));

    // What to do, in the explanation's order.
    h.push_str(&format!(
        "<section id=\"actions\">\n<h2>{}</h2>\n<ol class=\"actions\">\n",
        escape(msg(lang, "heading-actions"))
    ));
    for step in &facts.steps {
        match step.as_slice() {
            [a] => h.push_str(&format!(
                "<li data-action=\"{}\">{}</li>\n",
                action_name(*a),
                action_html(*a, ctx.support, lang)
            )),
            // A combined change is one step: every action of it is needed.
            actions => {
                let names: Vec<&str> = actions.iter().map(|a| action_name(*a)).collect();
                h.push_str(&format!(
                    "<li data-action=\"{}\">{}\n<ul class=\"together\">\n",
                    names.join(" "),
                    escape(msg(lang, "actions-together"))
                ));
                for a in actions {
                    h.push_str(&format!(
                        "<li>{}</li>\n",
                        action_html(*a, ctx.support, lang)
                    ));
                }
                h.push_str("</ul></li>\n");
            }
        }
    }
    h.push_str("</ol>\n</section>\n");

    // Detailed: generic failing conditions and controls.
    if !facts.failing.is_empty() {
        h.push_str(&format!(
            "<section id=\"checked\">\n<h2>{}</h2>\n<ul class=\"checked\">\n",
            escape(msg(lang, "heading-conditions"))
        ));
        for f in &facts.failing {
            h.push_str(&format!("<li>{}</li>\n", escape(msg(lang, &f.key))));
        }
        h.push_str("</ul>\n</section>\n");
    }

    // Full: policy names and the admin details.
    if !facts.policies.is_empty() || facts.admin_details.is_some() {
        h.push_str(&format!(
            "<section id=\"admin\">\n<h2>{}</h2>\n",
            escape(msg(lang, "heading-admin"))
        ));
        if !facts.policies.is_empty() {
            h.push_str(&format!(
                "<h3>{}</h3>\n<ul class=\"checked\">\n",
                escape(msg(lang, "label-policies"))
            ));
            for p in &facts.policies {
                h.push_str(&format!(
                    "<li>{} <small>({})</small></li>\n",
                    escape(&p.display_name),
                    escape(&p.id)
                ));
            }
            h.push_str("</ul>\n");
        }
        if let Some(d) = facts.admin_details {
            h.push_str(&format!(
                "<h3>{}</h3>\n<p class=\"admin\">{}</p>\n",
                escape(msg(lang, "label-admin-details")),
                escape(d)
            ));
        }
        h.push_str("</section>\n");
    }

    // Troubleshooting details and the block to copy.
    h.push_str(&format!(
        "<section id=\"details\">\n<h2>{}</h2>\n<dl class=\"details\">\n",
        escape(msg(lang, "heading-details"))
    ));
    for (label, value) in detail_rows(ctx, facts, lang) {
        h.push_str(&format!(
            "<dt>{}</dt><dd>{}</dd>\n",
            escape(&label),
            escape(&value)
        ));
    }
    h.push_str("</dl>\n");
    h.push_str(&format!(
        "<h3 id=\"copy-heading\">{}</h3>\n<p class=\"hint\">{}</p>\n\
         <pre class=\"copy\" id=\"copy\" tabindex=\"0\" aria-labelledby=\"copy-heading\">{}</pre>\n</section>\n",
        escape(msg(lang, "heading-copy")),
        escape(msg(lang, "copy-hint")),
        escape(copy_text(ctx, facts, lang).trim_end()),
    ));
    h.push_str(&format!(
        "</div>\n<footer>{}</footer>\n</main>\n</body>\n</html>\n",
        escape(msg(lang, "footer"))
    ));
    h
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::super::tests::report;
    use super::super::{Category, DeviceSummary, Disclosure, render_html};
    use super::*;

    fn device() -> DeviceSummary {
        DeviceSummary {
            registered: true,
            compliant: Some(false),
            trust_type: Some("Workplace".into()),
            platform: "android".into(),
            os_version: Some("14".into()),
            client_app: "browser".into(),
        }
    }

    fn ctx<'a>(
        r: &'a super::super::DecisionReport,
        d: &'a DeviceSummary,
        app: &'a str,
        disclosure: Disclosure,
        support: Option<&'a str>,
    ) -> DenialContext<'a> {
        DenialContext {
            report: r,
            correlation_id: "corr-1234",
            timestamp: "2025-03-01T10:20:30Z",
            client_ip: "203.0.113.7".parse().ok(),
            application: app,
            device: d,
            disclosure,
            support,
            status: 403,
        }
    }

    #[test]
    fn escapes_every_dynamic_value() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let r = report(
            "deny",
            "block",
            &["block"],
            Category::Location,
            &[UserAction::ContactSupport],
        );
        let mut d = device();
        d.os_version = Some("<img src=x onerror=alert(2)>".into());
        d.platform = "<b>".into();
        let app = "<script>alert(1)</script> & \"Payroll\"";
        let c = DenialContext {
            correlation_id: "<i>corr</i>",
            ..ctx(&r, &d, app, Disclosure::Full, Some("javascript:alert(3)"))
        };
        let html = render_html(&c, Lang::En);
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"));
        assert!(!html.contains("<i>corr"));
        assert!(!html.contains("<b>"));
        assert!(!html.contains("href=\"javascript"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Payroll&quot;"));
        assert!(html.contains("<strong>javascript:alert(3)</strong>"));
    }

    #[test]
    fn support_links() {
        assert_eq!(
            support_html("https://help.example/it?a=1&b=2"),
            "<a href=\"https://help.example/it?a=1&amp;b=2\">https://help.example/it?a=1&amp;b=2</a>"
        );
        assert_eq!(
            support_html("mailto:help@example.com"),
            "<a href=\"mailto:help@example.com\">help@example.com</a>"
        );
        assert_eq!(
            support_html("Call 01 23 45 67 89"),
            "<strong>Call 01 23 45 67 89</strong>"
        );
        assert_eq!(support_html("https://x y"), "<strong>https://x y</strong>");
    }

    #[test]
    fn page_structure_in_both_languages() {
        let r = report(
            "deny",
            "block",
            &["block"],
            Category::AnonymousNetwork,
            &[
                UserAction::DisconnectVpn,
                UserAction::SignInFromAllowedLocation,
                UserAction::ContactSupport,
            ],
        );
        let d = device();
        let c = ctx(
            &r,
            &d,
            "Payroll",
            Disclosure::Minimal,
            Some("mailto:it@example.com"),
        );
        let en = render_html(&c, Lang::En);
        assert!(en.starts_with("<!DOCTYPE html>\n<html lang=\"en\""));
        assert!(en.contains("<title>Access blocked – Payroll</title>"));
        assert!(en.contains("AADSTS53003"));
        assert!(en.contains("VPN or anonymous network"));
        assert!(en.contains("Probably temporary"));
        assert!(en.contains("2025-03-01 10:20:30 UTC"));
        assert!(en.contains("203.0.113.7"));
        assert!(en.contains("corr-1234"));
        assert!(en.contains("<a href=\"mailto:it@example.com\">it@example.com</a>"));
        assert!(!en.contains("<script"));
        assert!(!en.contains("http://") && !en.contains("src=\"http"));
        // Actions in the explanation's order.
        let vpn = en.find("data-action=\"disconnectVpn\"").unwrap();
        let loc = en
            .find("data-action=\"signInFromAllowedLocation\"")
            .unwrap();
        let sup = en.find("data-action=\"contactSupport\"").unwrap();
        assert!(vpn < loc && loc < sup);
        let fr = render_html(&c, Lang::Fr);
        assert!(fr.starts_with("<!DOCTYPE html>\n<html lang=\"fr\""));
        assert!(fr.contains("Accès bloqué"));
        assert!(fr.contains("VPN ou réseau anonyme"));
        assert!(fr.contains("Probablement temporaire"));
        assert!(fr.contains("Déconnectez-vous de votre VPN"));
        // Minimal: nothing from the policies.
        for html in [&en, &fr] {
            assert!(!html.contains("Secret"), "{html}");
            assert!(!html.contains("pol-secret-id"));
            assert!(!html.contains("id=\"checked\""));
            assert!(!html.contains("id=\"admin\""));
        }
    }

    #[test]
    fn disclosure_levels() {
        let r = report(
            "deny",
            "block",
            &["block"],
            Category::Location,
            &[UserAction::ContactSupport],
        );
        let d = device();
        let detailed = render_html(&ctx(&r, &d, "App", Disclosure::Detailed, None), Lang::En);
        assert!(detailed.contains("Location: not in an allowed or trusted location"));
        assert!(detailed.contains("Grant: access is blocked"));
        assert!(!detailed.contains("Secret"));
        assert!(!detailed.contains("pol-secret-id"));
        let full = render_html(&ctx(&r, &d, "App", Disclosure::Full, None), Lang::Fr);
        assert!(full.contains("Lieu : hors des lieux autorisés"));
        assert!(full.contains("Secret Policy Name <small>(pol-secret-id)</small>"));
        assert!(full.contains("in `Secret Named Location`"));
    }

    #[test]
    fn challenge_page() {
        let r = report(
            "challenge",
            "interrupt: mfa",
            &["mfa"],
            Category::MfaRequired,
            &[UserAction::CompleteMfa, UserAction::ContactSupport],
        );
        let d = device();
        let c = DenialContext {
            status: 401,
            ..ctx(&r, &d, "Admin portal", Disclosure::Minimal, None)
        };
        let en = render_html(&c, Lang::En);
        assert!(en.contains("<body class=\"challenge\">"));
        assert!(en.contains("Additional verification required"));
        assert!(en.contains("MFA required"));
        assert!(!en.contains("AADSTS"));
        assert!(en.contains("Will not change by itself"));
        let fr = render_html(&c, Lang::Fr);
        assert!(fr.contains("MFA requise"));
        assert!(fr.contains("Reconnectez-vous et effectuez la vérification supplémentaire"));
    }
}
