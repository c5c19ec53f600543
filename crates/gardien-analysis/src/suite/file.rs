//! The suite file: TOML, read with spans so that every problem names its line.

use gardien_core::Decision;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A suite file that cannot be used: the file, where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SuiteError {
    /// The suite file, as named by the caller.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for SuiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.reason)
    }
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where a scenario's request comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestSource {
    /// A request JSON file (path resolved against the suite's directory).
    File(PathBuf),
    /// An inline request (the TOML table, as JSON).
    Inline(serde_json::Value),
}

/// A policy named in an expectation: by id or display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRef {
    /// As written.
    pub name: String,
    /// Line in the suite file.
    pub line: usize,
}

/// What a scenario expects; only what is given is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// `decision`.
    pub decision: Option<Decision>,
    /// `decisionIn`: the decision is one of these (`["challenge", "deny"]`: not allowed).
    pub decision_in: Option<Vec<Decision>>,
    /// `errorCode` (of a deny).
    pub error_code: Option<u32>,
    /// `conditionalAccessStatus`.
    pub conditional_access_status: Option<String>,
    /// `requiredControls`, compared as a set.
    pub required_controls: Option<Vec<String>>,
    /// `policies`: exactly the enforced policies that apply.
    pub policies: Option<Vec<PolicyRef>>,
    /// `policiesInclude`: these apply (others may too).
    pub policies_include: Vec<PolicyRef>,
    /// `policiesExclude`: none of these applies.
    pub policies_exclude: Vec<PolicyRef>,
    /// `reportOnly`: exactly the report-only policies that apply.
    pub report_only: Option<Vec<PolicyRef>>,
    /// `category` of the explanation (`none` when there is none).
    pub category: Option<String>,
    /// `temporary` of the explanation.
    pub temporary: Option<bool>,
    /// `userActions` of the explanation, in order.
    pub user_actions: Option<Vec<String>>,
}

impl Expect {
    /// Whether nothing is expected (such a scenario could never fail).
    pub fn is_empty(&self) -> bool {
        *self == Expect::default()
    }
}

/// One named scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Its name (unique in the suite).
    pub name: String,
    /// Line of its `[[scenario]]` table.
    pub line: usize,
    /// The sign-in.
    pub request: RequestSource,
    /// What is expected.
    pub expect: Expect,
}

/// A parsed suite.
#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    /// The file, as named by the caller.
    pub file: String,
    /// `name`, else the file's stem.
    pub name: String,
    /// The tenant (path resolved against the suite's directory).
    pub tenant: PathBuf,
    /// The scenarios, in file order.
    pub scenarios: Vec<Scenario>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteToml {
    name: Option<String>,
    #[serde(rename = "description")]
    _description: Option<String>,
    tenant: Option<Spanned<String>>,
    #[serde(default)]
    scenario: Vec<Spanned<ScenarioToml>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioToml {
    name: Option<Spanned<String>>,
    #[serde(rename = "description")]
    _description: Option<String>,
    request: Option<Spanned<serde_json::Value>>,
    expect: Option<Spanned<ExpectToml>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum DecisionToml {
    Allow,
    Challenge,
    Deny,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ExpectToml {
    decision: Option<DecisionToml>,
    decision_in: Option<Vec<DecisionToml>>,
    error_code: Option<u32>,
    conditional_access_status: Option<String>,
    required_controls: Option<Vec<String>>,
    policies: Option<Vec<Spanned<String>>>,
    policies_include: Option<Vec<Spanned<String>>>,
    policies_exclude: Option<Vec<Spanned<String>>>,
    report_only: Option<Vec<Spanned<String>>>,
    category: Option<String>,
    temporary: Option<bool>,
    user_actions: Option<Vec<String>>,
}

impl Suite {
    /// Parses a suite; `dir` is the suite file's directory (relative paths in the suite are
    /// resolved against it).
    pub fn parse(file: &str, text: &str, dir: &Path) -> Result<Suite, SuiteError> {
        let error = |offset: Option<usize>, reason: String| {
            let (line, column) = match offset.map(|o| line_column(text, o)) {
                Some((l, c)) => (Some(l), Some(c)),
                None => (None, None),
            };
            SuiteError {
                file: file.to_owned(),
                line,
                column,
                reason,
            }
        };
        let raw: SuiteToml = toml::from_str(text).map_err(|e| {
            let mut reason = e.message().trim_end().replace('\n', "; ");
            if let Some(hint) = gardien_core::schema::unknown_field_hint(&reason) {
                reason.push_str("; ");
                reason.push_str(&hint);
            }
            error(e.span().map(|s| s.start), reason)
        })?;
        let tenant = raw.tenant.ok_or_else(|| {
            error(
                None,
                "missing `tenant` (the tenant directory or JSON file, relative to this suite)"
                    .to_owned(),
            )
        })?;
        if tenant.get_ref().trim().is_empty() {
            return Err(error(
                Some(tenant.span().start),
                "`tenant` is empty".to_owned(),
            ));
        }
        if raw.scenario.is_empty() {
            return Err(error(
                None,
                "no `[[scenario]]`: a suite without scenarios tests nothing".to_owned(),
            ));
        }
        let line = |offset: usize| line_column(text, offset).0;
        let refs = |list: Option<Vec<Spanned<String>>>| -> Option<Vec<PolicyRef>> {
            list.map(|l| {
                l.into_iter()
                    .map(|s| PolicyRef {
                        line: line(s.span().start),
                        name: s.into_inner(),
                    })
                    .collect()
            })
        };
        let mut scenarios: Vec<Scenario> = Vec::with_capacity(raw.scenario.len());
        for spanned in raw.scenario {
            let at = spanned.span().start;
            let s = spanned.into_inner();
            let name = s
                .name
                .ok_or_else(|| error(Some(at), "scenario without a `name`".to_owned()))?;
            let name_at = name.span().start;
            let name = name.into_inner();
            if name.trim().is_empty() {
                return Err(error(Some(name_at), "empty scenario `name`".to_owned()));
            }
            if let Some(first) = scenarios.iter().find(|x| x.name == name) {
                return Err(error(
                    Some(name_at),
                    format!(
                        "scenario `{name}` is already defined at line {}",
                        first.line
                    ),
                ));
            }
            let request = s.request.ok_or_else(|| {
                error(
                    Some(at),
                    format!("scenario `{name}` has no `request` (a path to a request JSON file, or an inline table)"),
                )
            })?;
            let request_at = request.span().start;
            let request = match request.into_inner() {
                serde_json::Value::String(p) => RequestSource::File(dir.join(p)),
                v @ serde_json::Value::Object(_) => RequestSource::Inline(v),
                _ => {
                    return Err(error(
                        Some(request_at),
                        format!("scenario `{name}`: `request` must be a path or a table"),
                    ));
                }
            };
            let expect = s.expect.ok_or_else(|| {
                error(
                    Some(at),
                    format!("scenario `{name}` has no `expect` table: it could never fail"),
                )
            })?;
            let expect_at = expect.span().start;
            let e = expect.into_inner();
            let decision = |d: DecisionToml| match d {
                DecisionToml::Allow => Decision::Allow,
                DecisionToml::Challenge => Decision::Challenge,
                DecisionToml::Deny => Decision::Deny,
            };
            if e.decision_in.as_ref().is_some_and(Vec::is_empty) {
                return Err(error(
                    Some(expect_at),
                    format!("scenario `{name}`: `decisionIn` is empty: it could never pass"),
                ));
            }
            let expect = Expect {
                decision: e.decision.map(decision),
                decision_in: e.decision_in.map(|v| v.into_iter().map(decision).collect()),
                error_code: e.error_code,
                conditional_access_status: e.conditional_access_status,
                required_controls: e.required_controls,
                policies: refs(e.policies),
                policies_include: refs(e.policies_include).unwrap_or_default(),
                policies_exclude: refs(e.policies_exclude).unwrap_or_default(),
                report_only: refs(e.report_only),
                category: e.category,
                temporary: e.temporary,
                user_actions: e.user_actions,
            };
            if expect.is_empty() {
                return Err(error(
                    Some(expect_at),
                    format!("scenario `{name}` expects nothing: it could never fail"),
                ));
            }
            scenarios.push(Scenario {
                name,
                line: line(at),
                request,
                expect,
            });
        }
        let name = raw
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| {
                Path::new(file)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| file.to_owned())
            });
        Ok(Suite {
            file: file.to_owned(),
            name,
            tenant: dir.join(tenant.into_inner()),
            scenarios,
        })
    }
}

#[cfg(test)]
#[allow(clippy::panic, reason = "test failures report through panics")]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Suite, SuiteError> {
        Suite::parse("s.toml", text, Path::new("suites"))
    }

    #[test]
    fn a_suite_with_both_request_forms() {
        let s = parse(
            r##"
name = "demo"
tenant = "../tenant"

[[scenario]]
name = "from a file"
request = "requests/a.json"
expect = { decision = "deny", errorCode = 53003, policies = ["CA01"] }

[[scenario]]
name = "inline"
[scenario.request]
signInIdentity = { "@odata.type" = "#microsoft.graph.userSignIn", userId = "u" }
signInContext = { includeApplications = ["app"] }
[scenario.expect]
decision = "allow"
"##,
        );
        let s = s.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.name, "demo");
        assert_eq!(s.tenant, Path::new("suites/../tenant"));
        assert_eq!(s.scenarios.len(), 2);
        assert_eq!(
            s.scenarios[0].request,
            RequestSource::File(PathBuf::from("suites/requests/a.json"))
        );
        assert_eq!(s.scenarios[0].line, 5);
        assert_eq!(s.scenarios[0].expect.error_code, Some(53003));
        assert_eq!(
            s.scenarios[0].expect.policies.as_ref().map(|p| p[0].line),
            Some(8)
        );
        assert!(matches!(
            &s.scenarios[1].request,
            RequestSource::Inline(v) if v["signInIdentity"]["@odata.type"] == "#microsoft.graph.userSignIn"
        ));
        assert_eq!(s.scenarios[1].expect.decision, Some(Decision::Allow));
    }

    #[test]
    fn problems_name_their_line() {
        let cases = [
            (
                "tenant = \"t\"\n[[scenario]]\nname = \"a\"\nrequest = \"r.json\"\nexpect = { decison = \"deny\" }\n",
                "s.toml:5:",
                "; did you mean `decision`?",
            ),
            (
                "tenant = \"t\"\n[[scenario]]\nname = \"a\"\nrequest = \"r.json\"\nexpect = { decision = \"block\" }\n",
                "s.toml:5:",
                "unknown variant `block`",
            ),
            (
                "tenant = \"t\"\n[[scenario]]\nname = \"a\"\nrequest = \"r.json\"\nexpect = {}\n",
                "s.toml:5:",
                "expects nothing",
            ),
            (
                "tenant = \"t\"\n[[scenario]]\nname = \"a\"\nrequest = \"r.json\"\n",
                "s.toml:2:",
                "no `expect` table",
            ),
            (
                "tenant = \"t\"\n[[scenario]]\nname = \"a\"\nrequest = \"r\"\nexpect = {decision=\"allow\"}\n[[scenario]]\nname = \"a\"\nrequest = \"r\"\nexpect = {decision=\"allow\"}\n",
                "s.toml:7:",
                "already defined at line 2",
            ),
            ("tenant = \"t\"\n", "s.toml: ", "no `[[scenario]]`"),
            ("tenant = \n", "s.toml:1:", ""),
            (
                "[[scenario]]\nname = \"a\"\nrequest = 3\nexpect = {decision=\"allow\"}\n",
                "s.toml: ",
                "missing `tenant`",
            ),
            (
                "tenant = \"t\"\n[[scenario]]\nname = \"a\"\nrequest = 3\nexpect = {decision=\"allow\"}\n",
                "s.toml:4:",
                "must be a path or a table",
            ),
        ];
        for (text, at, reason) in cases {
            let e = parse(text).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.starts_with(at) && e.contains(reason), "{text:?}: {e}");
        }
    }
}
