//! `gardien validate`: every problem in a tenant.

use anyhow::Result;
use serde_json::json;
use std::path::Path;

use crate::tenant_fs::{self, Loaded};
use crate::{Exit, print_out};

/// Loads the tenant; prints a summary, or every problem and exits 1.
pub fn run(tenant: &Path, json: bool) -> Result<Exit> {
    match tenant_fs::load(tenant)? {
        Loaded::Tenant(t) => {
            let t = &t.tenant;
            if json {
                print_out(&format!(
                    "{}\n",
                    json!({"valid": true, "policies": t.policies.len(), "namedLocations": t.named_locations.len(),
                           "users": t.directory.users.len(), "groups": t.directory.groups.len(), "errors": []})
                ))?;
            } else {
                print_out(&format!(
                    "ok: {} policies, {} named locations, {} users, {} groups\n",
                    t.policies.len(),
                    t.named_locations.len(),
                    t.directory.users.len(),
                    t.directory.groups.len()
                ))?;
            }
            Ok(Exit::Ok)
        }
        Loaded::Invalid(errors) => {
            if json {
                let list: Vec<_> = errors
                    .errors
                    .iter()
                    .map(|e| {
                        json!({"file": e.file, "pointer": e.pointer, "reason": e.reason, "help": e.help,
                               "policy": e.policy.as_ref().map(|p| json!({"id": p.0, "displayName": p.1}))})
                    })
                    .collect();
                print_out(&format!("{}\n", json!({"valid": false, "errors": list})))?;
            } else {
                for e in &errors.errors {
                    eprintln!("error: {e}");
                }
                eprintln!("{} problem(s) found", errors.errors.len());
            }
            Ok(Exit::Failure)
        }
    }
}
