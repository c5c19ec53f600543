//! `GA004` ineffective-emergency-access-exclusion: a policy that can deny administrators
//! excludes only users and groups that match nobody in the directory.
//!
//! Found by the emergency-access search ([`crate::lint::search::lockout`]) for policies that
//! do exclude someone; needs `directory.json` with users.

use crate::lint::registry::INEFFECTIVE_EMERGENCY_EXCLUSION;
use crate::lint::search::lockout::{Lockout, ineffective_exclusion};
use crate::lint::{Context, Skipped};

pub(super) fn check(cx: &mut Context<'_>, search: &Lockout) {
    if !search.has_directory {
        cx.skipped.push(Skipped {
            codes: vec![INEFFECTIVE_EMERGENCY_EXCLUSION],
            reason: "the tenant has no directory.json with users: whether exclusions match anyone is unknown".to_owned(),
        });
        return;
    }
    let tenant = cx.tenant;
    for d in search
        .denying(tenant)
        .iter()
        .filter(|d| !d.excludes_nobody())
    {
        let (users, groups) = (&d.users.exclude.users, &d.users.exclude.groups);
        let Some(why) = ineffective_exclusion(tenant, users, groups) else {
            continue;
        };
        let suffix = if groups.is_empty() {
            "/conditions/users/excludeUsers"
        } else {
            "/conditions/users/excludeGroups"
        };
        let name = cx.policy_name(d.index);
        cx.report(
            INEFFECTIVE_EMERGENCY_EXCLUSION,
            Some(d.index),
            suffix,
            format!(
                "policy {name} {}, and its exclusions match nobody in the directory: {why}",
                d.witness
            ),
            None,
        );
    }
}
