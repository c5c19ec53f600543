//! `GA101` unknown-user: a policy includes or excludes a user id that is not in the directory.
//!
//! Compared against [`crate::lint::search::references::Known`]; skipped when the directory
//! does not list users.

use crate::lint::Context;
use crate::lint::registry::UNKNOWN_USER;
use crate::lint::search::references::{IdList, Known, report_unknown, skip};

pub(super) fn check(cx: &mut Context<'_>, known: &Known<'_>) {
    if !known.has_users {
        return skip(cx, UNKNOWN_USER);
    }
    let tenant = cx.tenant;
    for (i, p) in tenant.tenant.policies.iter().enumerate() {
        let Some(u) = &p.conditions.users else {
            continue;
        };
        let lists = [
            IdList {
                path: ["conditions", "users", "includeUsers"],
                ids: &u.include.users,
                what: "user",
                help: None,
            },
            IdList {
                path: ["conditions", "users", "excludeUsers"],
                ids: &u.exclude.users,
                what: "user",
                help: Some(
                    "an excluded account that does not exist protects nobody: if it is an emergency-access account, exclude the account that exists (better: a group)",
                ),
            },
        ];
        for list in &lists {
            report_unknown(cx, UNKNOWN_USER, i, list, &|id| known.user(id));
        }
    }
}
