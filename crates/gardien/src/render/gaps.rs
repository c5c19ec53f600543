//! `gardien gaps` for people: totals, the attacker model, the most exposed gaps with a
//! representative sign-in and the request that reproduces it.

use gardien_analysis::gaps::GapsReport;

/// Gaps shown in full; `--json` lists them all.
pub const TOP: usize = 10;

/// `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The report as text.
pub fn text(r: &GapsReport) -> String {
    let s = &r.summary;
    let mut out = String::new();
    out.push_str(&format!(
        "Coverage gaps of {} policies ({} enabled, {} report-only, {} disabled)\n\n",
        s.policies, s.enabled, s.report_only, s.disabled
    ));
    let dims: Vec<String> = s
        .dimensions
        .iter()
        .map(|d| format!("{} {}", d.dimension, d.classes))
        .collect();
    match &s.partial {
        None => out.push_str(&format!(
            "Partition: {}\n  = {} classes, walked exhaustively ({} × {} distinct policy sets, {} sign-ins decided) in {:.1} ms\n\n",
            dims.join(" · "),
            thousands(s.total_classes),
            s.outer_keys,
            s.inner_keys,
            s.evaluations,
            s.elapsed_ms
        )),
        Some(p) => out.push_str(&format!(
            "Partition: {}\n  = {} classes; PARTIAL walk (--partial): {} combinations, more than the {} gardien walks, so only the broadest users × applications were walked: {} of {} distinct policy sets ({} of {} user × application class pairs) × {}, {} sign-ins decided, in {:.1} ms. The gaps below are real; gaps of the pairs not walked were not looked for.\n\n",
            dims.join(" · "),
            thousands(s.total_classes),
            p.combinations,
            p.limit,
            p.outer_keys_walked,
            p.outer_keys_total,
            p.pairs_walked,
            p.pairs_total,
            s.inner_keys,
            s.evaluations,
            s.elapsed_ms
        )),
    }
    out.push_str("Attacker model (a stolen password):\n");
    for a in &r.attacker_controlled {
        out.push_str(&format!(
            "  {:<20} {:<7} {}\n",
            a.dimension, a.attacker_controlled, a.assumption
        ));
    }
    out.push('\n');
    if r.gaps.is_empty() {
        out.push_str("No gap: every class is denied or asked for MFA or a compliant device.\n");
    } else {
        out.push_str(&format!(
            "{} gaps ({} reachable by an attacker): {} classes with no control, {} with no strong control.\n",
            s.gaps,
            s.attacker_reachable_gaps,
            thousands(s.no_control_classes),
            thousands(s.no_strong_control_classes)
        ));
    }
    for g in r.gaps.iter().take(TOP) {
        out.push_str(&format!(
            "\n#{} {} · exposure {:.1}{} · {} classes\n",
            g.rank,
            g.kind.text(),
            g.exposure,
            if g.attacker_reachable {
                " · reachable by an attacker"
            } else {
                ""
            },
            thousands(g.classes)
        ));
        out.push_str(&format!("  {}\n", g.summary));
        let mut decision = format!("  Decision: {}", g.outcome.short());
        if g.outcome.applied_policies.is_empty() {
            decision.push_str(", no enabled policy applies");
        } else {
            decision.push_str(&format!(
                ", applied: {}",
                g.outcome.applied_policies.join(", ")
            ));
        }
        if !g.outcome.report_only_policies.is_empty() {
            decision.push_str(&format!(
                " (report-only, not enforced: {})",
                g.outcome.report_only_policies.join(", ")
            ));
        }
        out.push_str(&decision);
        out.push('\n');
        out.push_str(&format!(
            "  For example: {}\n",
            g.representative.description
        ));
        if let Some(entry) = &g.representative.directory_user {
            out.push_str(&format!(
                "  (a hypothetical user: add to directory.json `users` to reproduce: {})\n",
                serde_json::to_string(entry).unwrap_or_default()
            ));
        }
        out.push_str("  gardien evaluate --tenant T --request R.json, with R.json:\n");
        let request = serde_json::to_string_pretty(&g.representative.request).unwrap_or_default();
        for line in request.lines() {
            out.push_str(&format!("    {line}\n"));
        }
    }
    if r.gaps.len() > TOP {
        out.push_str(&format!(
            "\n… and {} more gaps (use --json for every gap and its representative).\n",
            r.gaps.len() - TOP
        ));
    }
    out.push_str("\nApproximations:\n");
    for a in &r.approximations {
        out.push_str(&format!("  - {a}\n"));
    }
    out
}
