//! `gardien changes` for people: each dated change of Entra, its date, and the policies of
//! the tenant it concerns with an example sign-in.

use gardien_analysis::changes::{ChangeStatus, ChangesReport};
use gardien_core::dated::ChangeKind;

/// The report as text.
pub fn text(r: &ChangesReport) -> String {
    let mut out = format!(
        "Dated changes of Entra Conditional Access, as of {}\n",
        r.now
    );
    for c in &r.changes {
        let when = match (&c.status, &c.since) {
            (ChangeStatus::InForce, Some(d)) => format!("in force since {d}"),
            (ChangeStatus::Upcoming, Some(d)) => format!("from {d}"),
            _ => format!("announced for {}", c.when),
        };
        out.push_str(&format!("\n{} — {when} ({})\n", c.id, c.kind));
        out.push_str(&format!("  {}\n  {}\n", c.summary, c.page));
        if c.kind == ChangeKind::Enforcement.as_str() {
            out.push_str(&format!(
                "  {} probe sign-ins decided on both sides of the date, {} change decision\n",
                c.probes, c.changed_signins
            ));
        }
        if c.policies.is_empty() {
            out.push_str("  no policy of this tenant is concerned\n");
            continue;
        }
        let n = c.policies.len();
        out.push_str(&format!(
            "  {n} {} concerned:\n",
            if n == 1 { "policy is" } else { "policies are" }
        ));
        for p in &c.policies {
            let name = if p.display_name.is_empty() {
                &p.id
            } else {
                &p.display_name
            };
            out.push_str(&format!("  - {name} ({}): {}\n", p.state, p.effect));
            if let Some(e) = &p.example {
                out.push_str(&format!(
                    "      e.g. {}: {} → {}\n",
                    e.description, e.before, e.after
                ));
            }
        }
    }
    out
}
