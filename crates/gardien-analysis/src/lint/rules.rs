//! The rules, one file per rule, named after the rule (`GA201` policy-never-applies is
//! `rules/policy_never_applies.rs`). A rule file holds what the rule decides and how it words
//! a finding; rules that read the same probes share a search in `lint/search/`, run once
//! here. Each rule has a fixture `testdata/lint/<code>.json` and the snapshot of its findings
//! `testdata/lint/<code>.snap` (`tests::every_rule_has_a_file_a_fixture_and_a_snapshot`).

mod admin_portal_lockout;
mod admin_without_mfa;
mod ineffective_emergency_access_exclusion;
mod legacy_authentication_allowed;
mod lockout_all_users;
mod no_emergency_access_exclusion;
mod policy_never_applies;
mod retired_control;
mod retiring_control;
mod shadowed_policy;
mod stale_report_only;
mod unknown_application;
mod unknown_country_blocked;
mod unknown_country_not_blocked;
mod unknown_group;
mod unknown_service_principal;
mod unknown_user;

use super::Context;
use super::search::{families::Families, lockout::Lockout, references::Known};
use gardien_core::eval::grant::{Controls, GrantState};

/// Runs every rule, in code order.
pub(super) fn run_all(cx: &mut Context<'_>) {
    let lockout = Lockout::search(cx);
    lockout_all_users::check(cx, &lockout);
    admin_portal_lockout::check(cx, &lockout);
    no_emergency_access_exclusion::check(cx, &lockout);
    ineffective_emergency_access_exclusion::check(cx, &lockout);

    let known = Known::new(cx.tenant);
    unknown_user::check(cx, &known);
    unknown_group::check(cx, &known);
    unknown_application::check(cx, &known);
    unknown_service_principal::check(cx, &known);

    let families = Families::search(cx);
    policy_never_applies::check(cx, &families);
    shadowed_policy::check(cx, &families);

    legacy_authentication_allowed::check(cx);
    admin_without_mfa::check(cx);
    stale_report_only::check(cx);
    unknown_country_blocked::check(cx);
    unknown_country_not_blocked::check(cx);
    retired_control::check(cx);
    retiring_control::check(cx);
}

/// `` `a`, `b` `` from names.
pub(super) fn list<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> String {
    items
        .into_iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How an applying policy denies, for messages: `blocks`, or the controls that cannot be met.
pub(super) fn denial(grant: GrantState) -> String {
    match grant {
        GrantState::Fail(c) => format!("requires {} and denies", controls(c)),
        _ => "blocks".to_owned(),
    }
}

fn controls(c: Controls) -> String {
    list(c.iter().map(|c| c.as_str()))
}

/// Index of `id` (case-insensitive) in the JSON array at `path` of a policy's raw JSON.
pub(super) fn raw_index(raw: &serde_json::Value, path: &[&str], id: &str) -> Option<usize> {
    let mut v = raw;
    for key in path {
        v = v.get(*key)?;
    }
    v.as_array()?.iter().position(|x| {
        x.as_str()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case(id.trim()))
    })
}

#[cfg(test)]
mod tests {
    use crate::lint::registry::{RULES, RuleStatus};
    use std::path::Path;

    /// Like ruff: each stable rule has its own file, a fixture and a snapshot of its findings
    /// (compared by `lint_cli::every_rule_fixture_matches_its_snapshot`).
    #[test]
    fn every_rule_has_a_file_a_fixture_and_a_snapshot() {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let testdata = crate_dir.join("../../testdata/lint");
        for rule in RULES.iter().filter(|r| r.status == RuleStatus::Stable) {
            let file = crate_dir
                .join("src/lint/rules")
                .join(format!("{}.rs", rule.name.replace('-', "_")));
            assert!(file.is_file(), "{}: no {}", rule.code, file.display());
            let source = std::fs::read_to_string(&file).unwrap_or_default();
            assert!(
                source.starts_with(&format!("//! `{}` {}", rule.code, rule.name)),
                "{} starts with the rule's code and name",
                file.display()
            );
            for ext in ["json", "snap"] {
                let f = testdata.join(format!("{}.{ext}", rule.code));
                assert!(f.is_file(), "{}: no {}", rule.code, f.display());
            }
        }
    }
}
