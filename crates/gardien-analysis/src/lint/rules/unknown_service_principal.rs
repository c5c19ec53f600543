//! `GA104` unknown-service-principal: a workload-identity policy names a service principal that is not in the directory.
//!
//! Compared against [`crate::lint::search::references::Known`]; skipped when the directory
//! does not list service principals.

use crate::lint::Context;
use crate::lint::registry::UNKNOWN_SERVICE_PRINCIPAL;
use crate::lint::search::references::{IdList, Known, report_unknown, skip};

pub(super) fn check(cx: &mut Context<'_>, known: &Known<'_>) {
    if !known.has_service_principals {
        return skip(cx, UNKNOWN_SERVICE_PRINCIPAL);
    }
    let tenant = cx.tenant;
    for (i, p) in tenant.tenant.policies.iter().enumerate() {
        let Some(c) = &p.conditions.client_applications else {
            continue;
        };
        let lists = [
            IdList {
                path: [
                    "conditions",
                    "clientApplications",
                    "includeServicePrincipals",
                ],
                ids: &c.include,
                what: "service principal",
                help: None,
            },
            IdList {
                path: [
                    "conditions",
                    "clientApplications",
                    "excludeServicePrincipals",
                ],
                ids: &c.exclude,
                what: "service principal",
                help: None,
            },
        ];
        for list in &lists {
            report_unknown(cx, UNKNOWN_SERVICE_PRINCIPAL, i, list, &|id| {
                known.service_principal(id)
            });
        }
    }
}
