//! Content negotiation for the denial page: language (`Accept-Language`) and HTML vs JSON
//! (`Accept`), both with q-values (RFC 9110 §12.5).

use super::Lang;

/// The q-value of an element's parameters, in thousandths (1000 when absent, `None` when
/// malformed: such an element is ignored).
fn quality<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    for p in params {
        let Some((name, value)) = p.split_once('=') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("q") {
            continue;
        }
        let q: f64 = value.trim().parse().ok()?;
        if !(0.0..=1.0).contains(&q) {
            return None;
        }
        // In 0..=1000 after the range check.
        return Some((q * 1000.0).round() as u16);
    }
    Some(1000)
}

impl Lang {
    /// The best supported language for an `Accept-Language` header (English by default).
    ///
    /// Elements are matched on their primary subtag (`fr-CA` is French); the highest q-value
    /// wins, the first listed on a tie; `q=0` excludes; `*` stands for the default, English.
    pub fn negotiate(accept_language: Option<&str>) -> Lang {
        let mut best: Option<(u16, Lang)> = None;
        for element in accept_language.unwrap_or("").split(',') {
            let mut parts = element.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let Some(q) = quality(parts) else { continue };
            if q == 0 {
                continue;
            }
            let primary = tag.split(['-', '_']).next().unwrap_or("");
            let lang = if primary.eq_ignore_ascii_case("fr") {
                Lang::Fr
            } else if primary.eq_ignore_ascii_case("en") || primary == "*" {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }

    /// The BCP 47 code (`en`, `fr`), for `<html lang>` and `Content-Language`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }
}

/// The q-value (thousandths) and specificity (2 exact, 1 `type/*`, 0 `*/*`) that `accept`
/// gives to `media`: those of the most specific matching range, `(0, 0)` when none matches.
fn media_quality(accept: &str, media: &str) -> (u16, u8) {
    let (mtype, msub) = media.split_once('/').unwrap_or((media, ""));
    let mut best: Option<(u8, u16)> = None;
    for element in accept.split(',') {
        let mut parts = element.split(';');
        let range = parts.next().unwrap_or("").trim();
        let Some((rtype, rsub)) = range.split_once('/') else {
            continue;
        };
        let (rtype, rsub) = (rtype.trim(), rsub.trim());
        let specificity = if rtype == "*" && rsub == "*" {
            0
        } else if rtype.eq_ignore_ascii_case(mtype) && rsub == "*" {
            1
        } else if rtype.eq_ignore_ascii_case(mtype) && rsub.eq_ignore_ascii_case(msub) {
            2
        } else {
            continue;
        };
        let Some(q) = quality(parts) else { continue };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    best.map_or((0, 0), |(s, q)| (q, s))
}

/// Whether the client prefers HTML (a browser) over JSON, from Accept.
///
/// HTML (`text/html`, `application/xhtml+xml`) must get a higher q-value than JSON
/// (`application/json`, `application/problem+json`), or the same q-value through a more
/// specific range: browsers (`text/html,...,*/*;q=0.8`) get the page; `*/*` (curl, fetch),
/// JSON types and a missing header get `application/problem+json`.
pub fn prefers_html(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    let best = |types: &[&str]| {
        types
            .iter()
            .map(|t| media_quality(accept, t))
            .max()
            .unwrap_or((0, 0))
    };
    let html = best(&["text/html", "application/xhtml+xml"]);
    let json = best(&["application/json", "application/problem+json"]);
    html.0 > 0 && html > json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_negotiation() {
        assert_eq!(Lang::negotiate(None), Lang::En);
        assert_eq!(Lang::negotiate(Some("")), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("fr-FR,fr;q=0.9,en;q=0.8")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("en-US,en;q=0.9,fr;q=0.8")), Lang::En);
        assert_eq!(Lang::negotiate(Some("en;q=0.5, fr-CA;q=0.7")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("de-DE, fr;q=0.5")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("de-DE, es")), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr;q=0, en;q=0.1")), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr;q=0")), Lang::En);
        assert_eq!(Lang::negotiate(Some("FR_be ; Q=1")), Lang::Fr);
        assert_eq!(Lang::negotiate(Some("fr;q=abc, en;q=0.2")), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr;q=2")), Lang::En);
        assert_eq!(Lang::negotiate(Some("*;q=0.9, fr;q=0.8")), Lang::En);
        assert_eq!(Lang::negotiate(Some("fr, en")), Lang::Fr);
        assert_eq!(Lang::Fr.code(), "fr");
        assert_eq!(Lang::En.code(), "en");
    }

    #[test]
    fn html_or_json() {
        let chrome =
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
        let firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(prefers_html(Some(chrome)));
        assert!(prefers_html(Some(firefox)));
        assert!(prefers_html(Some("text/html")));
        assert!(prefers_html(Some("text/*")));
        assert!(!prefers_html(None));
        assert!(!prefers_html(Some("*/*")));
        assert!(!prefers_html(Some("")));
        assert!(!prefers_html(Some("application/json")));
        assert!(!prefers_html(Some(
            "application/problem+json, text/html;q=0.5"
        )));
        assert!(!prefers_html(Some("text/html, application/json")));
        assert!(!prefers_html(Some("text/html;q=0, */*")));
        assert!(prefers_html(Some("application/json;q=0.5, text/html")));
        assert!(prefers_html(Some(
            "text/html;level=1;q=0.9, application/*;q=0.5"
        )));
    }
}
