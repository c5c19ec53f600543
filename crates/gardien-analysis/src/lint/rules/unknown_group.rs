//! `GA102` unknown-group: a policy includes or excludes a group id that is not in the directory.
//!
//! Compared against [`crate::lint::search::references::Known`]; skipped when the directory
//! does not list groups.

use crate::lint::Context;
use crate::lint::registry::UNKNOWN_GROUP;
use crate::lint::search::references::{Known, UsersMember, report_unknown_users_member, skip};

pub(super) fn check(cx: &mut Context<'_>, known: &Known<'_>) {
    if !known.has_groups {
        return skip(cx, UNKNOWN_GROUP);
    }
    let groups = UsersMember {
        include: "includeGroups",
        exclude: "excludeGroups",
        what: "group",
        exclude_help: "an excluded group that does not exist excludes nobody: if it is the emergency-access group, point the exclusion at the existing group",
        ids: |p| &p.groups,
    };
    report_unknown_users_member(cx, UNKNOWN_GROUP, &groups, &|id| known.group(id));
}
