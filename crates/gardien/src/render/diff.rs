//! `gardien diff` for people: the partition, the policies that differ and what each
//! causes, then each transition with its groups, causes and a representative sign-in.

use gardien_analysis::diff::{Change, DiffReport};
use gardien_analysis::gaps::DecisionSummary;

/// Groups shown per transition; `--json` lists them all.
pub const GROUPS_PER_TRANSITION: usize = 5;

/// The report as text.
pub fn text(r: &DiffReport) -> String {
    let s = &r.summary;
    let mut out = format!(
        "Semantic diff: {} policies → {} policies\n",
        s.from_policies, s.to_policies
    );
    let dims: Vec<String> = s
        .dimensions
        .iter()
        .map(|d| format!("{} {}", d.dimension, d.classes))
        .collect();
    out.push_str(&format!(
        "Partition (union of both tenants): {}\n  = {} classes compared ({} sign-ins decided in each tenant) in {:.1} ms\n\n",
        dims.join(" · "),
        s.total_classes,
        s.evaluations,
        s.elapsed_ms
    ));
    if !r.has_changes() {
        out.push_str(
            "No change: every class keeps its decision, error code and required controls.\n",
        );
        return out;
    }
    if !s.policy_changes.is_empty() {
        out.push_str(&format!("{} policies differ:\n", s.policy_changes.len()));
        for a in &s.by_policy {
            out.push_str(&format!(
                "  {}: causes {} classes{}\n",
                a.policy,
                a.causes,
                if a.contributes > 0 {
                    format!(", contributes to {}", a.contributes)
                } else {
                    String::new()
                }
            ));
        }
        out.push('\n');
    }
    out.push_str(&format!("{} classes change outcome:\n", s.changed_classes));
    for t in &s.transitions {
        out.push_str(&format!(
            "  {}: {} classes in {} groups\n",
            t.transition, t.classes, t.groups
        ));
    }
    for t in &s.transitions {
        out.push_str(&format!("\n{} ({} classes)\n", t.transition, t.classes));
        let groups: Vec<&Change> = r
            .changes
            .iter()
            .filter(|c| c.transition == t.transition)
            .collect();
        for c in groups.iter().take(GROUPS_PER_TRANSITION) {
            out.push_str(&format!("  - {} ({} classes)\n", c.summary, c.classes));
            if !c.caused_by.is_empty() {
                out.push_str(&format!("    caused by: {}\n", c.caused_by.join("; ")));
            } else if !c.contributing.is_empty() {
                out.push_str(&format!(
                    "    caused by these changes together: {}\n",
                    c.contributing.join("; ")
                ));
            }
            out.push_str(&format!(
                "    e.g. {}\n    from: {}{}\n    to:   {}{}\n",
                c.representative.description,
                c.from.short(),
                applied(&c.from),
                c.to.short(),
                applied(&c.to)
            ));
            if let Some(entry) = &c.representative.directory_user {
                out.push_str(&format!(
                    "    (a hypothetical user: add to directory.json `users` to reproduce: {})\n",
                    serde_json::to_string(entry).unwrap_or_default()
                ));
            }
        }
        if groups.len() > GROUPS_PER_TRANSITION {
            out.push_str(&format!(
                "  … and {} more groups (--json lists them all)\n",
                groups.len() - GROUPS_PER_TRANSITION
            ));
        }
    }
    out
}

fn applied(d: &DecisionSummary) -> String {
    if d.applied_policies.is_empty() {
        ", no enabled policy applies".to_owned()
    } else {
        format!(", applied: {}", d.applied_policies.join(", "))
    }
}
