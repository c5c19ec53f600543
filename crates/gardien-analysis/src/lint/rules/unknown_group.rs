//! `GA102` unknown-group: a policy includes or excludes a group id that is not in the directory.
//!
//! Compared against [`crate::lint::search::references::Known`]; skipped when the directory
//! does not list groups.

use crate::lint::Context;
use crate::lint::registry::UNKNOWN_GROUP;
use crate::lint::search::references::{IdList, Known, report_unknown, skip};

pub(super) fn check(cx: &mut Context<'_>, known: &Known<'_>) {
    if !known.has_groups {
        return skip(cx, UNKNOWN_GROUP);
    }
    let tenant = cx.tenant;
    for (i, p) in tenant.tenant.policies.iter().enumerate() {
        let Some(u) = &p.conditions.users else {
            continue;
        };
        let lists = [
            IdList {
                path: ["conditions", "users", "includeGroups"],
                ids: &u.include.groups,
                what: "group",
                help: None,
            },
            IdList {
                path: ["conditions", "users", "excludeGroups"],
                ids: &u.exclude.groups,
                what: "group",
                help: Some(
                    "an excluded group that does not exist excludes nobody: if it is the emergency-access group, point the exclusion at the existing group",
                ),
            },
        ];
        for list in &lists {
            report_unknown(cx, UNKNOWN_GROUP, i, list, &|id| known.group(id));
        }
    }
}
