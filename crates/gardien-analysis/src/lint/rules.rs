//! The rules, one module per family.

mod coverage;
mod dated;
mod dead;
mod lockout;
mod references;

use super::Context;
use gardien_core::eval::Evaluation;
use gardien_core::eval::grant::{Controls, GrantState};

/// Runs every family.
pub(super) fn run_all(cx: &mut Context<'_>) {
    lockout::run(cx);
    references::run(cx);
    dead::run(cx);
    coverage::run(cx);
    dated::run(cx);
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
pub(super) fn denial(eval: &Evaluation, index: usize) -> String {
    match eval.policies.get(index).and_then(|r| r.grant) {
        Some(GrantState::Fail(c)) => format!("requires {} and denies", controls(c)),
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
