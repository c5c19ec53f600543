//! JUnit XML for CI systems (GitLab, Jenkins, Azure DevOps, GitHub test reporters).
//!
//! One `<testsuite>` per suite file, one `<testcase>` per scenario; a mismatch is a
//! `<failure>`, a scenario that could not run an `<error>`, and a suite that could not run
//! at all one `<testcase>` named `(suite)` with its `<error>`.

use std::fmt::Write as _;

use super::{Status, SuiteReport};

/// Escapes text for XML attributes and content; characters XML 1.0 forbids become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit XML document of a run.
pub fn junit(reports: &[SuiteReport]) -> String {
    let tests: usize = reports
        .iter()
        .map(|r| r.scenarios.len() + usize::from(r.error.is_some()))
        .sum();
    let failures: usize = reports.iter().map(SuiteReport::failed).sum();
    let errors: usize = reports.iter().map(SuiteReport::errors).sum();
    let seconds: f64 = reports.iter().map(|r| r.seconds).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"gardien\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{seconds:.6}\">"
    );
    for r in reports {
        let name = escape(&r.name);
        let file = escape(&r.file);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{:.6}\" file=\"{file}\">",
            r.scenarios.len() + usize::from(r.error.is_some()),
            r.failed(),
            r.errors(),
            r.seconds
        );
        if !r.tenant.is_empty() {
            let _ = writeln!(
                out,
                "    <properties>\n      <property name=\"tenant\" value=\"{}\"/>\n    </properties>",
                escape(&r.tenant)
            );
        }
        if let Some(e) = &r.error {
            let _ = writeln!(
                out,
                "    <testcase name=\"(suite)\" classname=\"{name}\" file=\"{file}\" time=\"0\">\n      <error message=\"{}\" type=\"suite\">{}</error>\n    </testcase>",
                escape(e.lines().next().unwrap_or_default()),
                escape(e)
            );
        }
        for s in &r.scenarios {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{name}\" file=\"{file}\" line=\"{}\" time=\"{:.6}\"",
                escape(&s.name),
                s.line,
                s.seconds
            );
            match &s.status {
                Status::Passed => out.push_str("/>\n"),
                Status::Failed(_) => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"mismatch\">{}</failure>\n    </testcase>",
                        escape(&s.headline()),
                        escape(&s.failure_text())
                    );
                }
                Status::Error(_) => {
                    let _ = writeln!(
                        out,
                        ">\n      <error message=\"{}\" type=\"error\">{}</error>\n    </testcase>",
                        escape(&s.headline()),
                        escape(&s.failure_text())
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{Mismatch, ScenarioResult};

    fn scenario(name: &str, status: Status) -> ScenarioResult {
        ScenarioResult {
            name: name.to_owned(),
            line: 3,
            status,
            report: None,
            seconds: 0.0,
        }
    }

    #[test]
    fn counts_and_escaping() {
        let reports = vec![
            SuiteReport {
                file: "a&b.toml".to_owned(),
                name: "a<b>".to_owned(),
                tenant: "t".to_owned(),
                error: None,
                scenarios: vec![
                    scenario("ok \"1\"", Status::Passed),
                    scenario(
                        "bad",
                        Status::Failed(vec![Mismatch {
                            what: "decision",
                            expected: "allow".to_owned(),
                            actual: "deny".to_owned(),
                        }]),
                    ),
                    scenario("broken\u{1}", Status::Error("cannot read".to_owned())),
                ],
                seconds: 0.5,
            },
            SuiteReport::not_run("c.toml", "c.toml:1: expected `=`"),
        ];
        let xml = junit(&reports);
        assert!(
            xml.contains("<testsuites name=\"gardien\" tests=\"4\" failures=\"1\" errors=\"2\""),
            "{xml}"
        );
        assert!(
            xml.contains("<testsuite name=\"a&lt;b&gt;\" tests=\"3\" failures=\"1\" errors=\"1\""),
            "{xml}"
        );
        assert!(xml.contains("file=\"a&amp;b.toml\""), "{xml}");
        assert!(xml.contains("name=\"ok &quot;1&quot;\""), "{xml}");
        assert!(xml.contains("name=\"broken\u{FFFD}\""), "{xml}");
        assert!(
            xml.contains("<failure message=\"decision: expected allow, got deny\""),
            "{xml}"
        );
        assert!(
            xml.contains("<testcase name=\"(suite)\" classname=\"c\""),
            "{xml}"
        );
        assert_eq!(xml.matches("<testcase ").count(), 4);
        assert_eq!(xml.matches("</testsuite>").count(), 2);
    }
}
