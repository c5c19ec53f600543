//! `GA103` unknown-application: a policy targets an application id that no service principal of the directory has and that gardien does not know as a Microsoft application.
//!
//! Compared against [`crate::lint::search::references::Known`]; skipped when the directory
//! does not list service principals.

use crate::lint::Context;
use crate::lint::registry::UNKNOWN_APPLICATION;
use crate::lint::search::references::{IdList, Known, report_unknown, skip};

pub(super) fn check(cx: &mut Context<'_>, known: &Known<'_>) {
    if !known.has_service_principals {
        return skip(cx, UNKNOWN_APPLICATION);
    }
    let tenant = cx.tenant;
    for (i, p) in tenant.tenant.policies.iter().enumerate() {
        let a = &p.conditions.applications;
        let lists = [
            IdList {
                path: ["conditions", "applications", "includeApplications"],
                ids: &a.include.apps,
                what: "application",
                help: None,
            },
            IdList {
                path: ["conditions", "applications", "excludeApplications"],
                ids: &a.exclude.apps,
                what: "application",
                help: None,
            },
        ];
        for list in &lists {
            report_unknown(cx, UNKNOWN_APPLICATION, i, list, &|id| known.app(id));
        }
    }
}
