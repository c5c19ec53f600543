//! `crossTenantAccess.json`: Graph's cross-tenant access policy, as
//! `GET /policies/crossTenantAccessPolicy/default` and `/partners` return it (DESIGN.md).
//!
//! Only what Conditional Access reads is kept: each configuration's `inboundTrust` (whether
//! MFA, compliant-device and hybrid-joined claims from an external user's home tenant count
//! here) and a partner's `isServiceProvider`. Rules (Microsoft Learn, "Authentication and
//! Conditional Access for External ID",
//! <https://learn.microsoft.com/entra/external-id/authentication-conditional-access>):
//! - the default configuration applies to every external Microsoft Entra organisation; a
//!   partner configuration replaces it for that tenant;
//! - a partner whose `inboundTrust` is null (or absent) inherits the default's (Graph's
//!   documented meaning of a null partner setting); a partner `inboundTrust` object is taken
//!   as a whole, and a member it leaves out or sets to null is `false` [gardien decision:
//!   fail closed, nothing is trusted that the file does not say];
//! - no file means Graph's defaults: nothing trusted.

use serde_json::Value;

use crate::error::{LoadError, record};
use crate::ids::normalize_id;
use crate::json::{Node, kind, opt_bool, opt_string, with_member};

/// Which claims from an external user's home tenant this tenant accepts
/// (`crossTenantAccessPolicyInboundTrust`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct InboundTrust {
    /// `isMfaAccepted`: MFA done in the home tenant counts.
    pub mfa: bool,
    /// `isCompliantDeviceAccepted`: the home tenant's compliant-device claim counts.
    pub compliant_device: bool,
    /// `isHybridAzureADJoinedDeviceAccepted`: the home tenant's hybrid-joined claim counts.
    pub hybrid_joined_device: bool,
}

/// A partner configuration (`crossTenantAccessPolicyConfigurationPartner`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerConfiguration {
    /// The partner's tenant id (normalised).
    pub tenant_id: Box<str>,
    /// Its own inbound trust, `None` when it inherits the default's.
    pub inbound_trust: Option<InboundTrust>,
    /// `isServiceProvider`: users from this tenant are service-provider users (CSP, GDAP).
    pub is_service_provider: bool,
}

/// The cross-tenant access policy of a tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrossTenantAccess {
    /// The default configuration's inbound trust.
    pub default_trust: InboundTrust,
    /// Partner configurations, in file order (tenant ids unique).
    pub partners: Vec<PartnerConfiguration>,
}

impl CrossTenantAccess {
    /// The partner configuration of a home tenant, when there is one.
    pub fn partner(&self, home_tenant: &str) -> Option<&PartnerConfiguration> {
        self.partners
            .iter()
            .find(|p| p.tenant_id.eq_ignore_ascii_case(home_tenant))
    }

    /// The inbound trust that applies to users of `home_tenant`: the partner's own, else
    /// the default. An unknown home tenant gets the default (the partner entries need a
    /// tenant id to apply).
    pub fn trust_for(&self, home_tenant: Option<&str>) -> InboundTrust {
        home_tenant
            .and_then(|h| self.partner(h))
            .and_then(|p| p.inbound_trust)
            .unwrap_or(self.default_trust)
    }
}

fn read_trust(node: &Node<'_>) -> Result<InboundTrust, LoadError> {
    node.object("an inbound trust configuration")?;
    Ok(InboundTrust {
        mfa: opt_bool(node, "isMfaAccepted")?.unwrap_or(false),
        compliant_device: opt_bool(node, "isCompliantDeviceAccepted")?.unwrap_or(false),
        hybrid_joined_device: opt_bool(node, "isHybridAzureADJoinedDeviceAccepted")?
            .unwrap_or(false),
    })
}

fn read_partner(node: &Node<'_>) -> Result<PartnerConfiguration, LoadError> {
    node.object("a partner configuration")?;
    let tenant_id = opt_string(node, "tenantId")?
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| node.error("missing `tenantId`"))?;
    Ok(PartnerConfiguration {
        tenant_id: normalize_id(&tenant_id),
        inbound_trust: with_member(node, "inboundTrust", |t| {
            t.map(|t| read_trust(&t)).transpose()
        })?,
        is_service_provider: opt_bool(node, "isServiceProvider")?.unwrap_or(false),
    })
}

/// Reads `crossTenantAccess.json` (or the `crossTenantAccess` member of a single-file
/// tenant). Errors are recorded; what could not be read is left at its default (nothing
/// trusted), and the load fails anyway.
pub fn read_cross_tenant_access(node: &Node<'_>, errors: &mut Vec<LoadError>) -> CrossTenantAccess {
    let mut out = CrossTenantAccess::default();
    if let Err(e) = node.object("the cross-tenant access policy") {
        record(errors, e);
        return out;
    }
    let default = with_member(node, "default", |d| match d {
        None => Ok(InboundTrust::default()),
        Some(d) => {
            d.object("the default configuration")?;
            with_member(&d, "inboundTrust", |t| match t {
                None => Ok(InboundTrust::default()),
                Some(t) => read_trust(&t),
            })
        }
    });
    match default {
        Ok(t) => out.default_trust = t,
        Err(e) => record(errors, e),
    }
    let partners = node.value.get("partners").unwrap_or(&Value::Null);
    match partners {
        Value::Null => {}
        Value::Array(items) => {
            let cell = node.key_cell("partners");
            let list = node.child(&cell, partners);
            for (i, item) in items.iter().enumerate() {
                let cell = list.index_cell(i);
                let p = list.child(&cell, item);
                match read_partner(&p) {
                    Ok(partner) => {
                        if out.partner(&partner.tenant_id).is_some() {
                            record(
                                errors,
                                p.error(format!(
                                    "duplicate partner configuration for tenant `{}`",
                                    partner.tenant_id
                                )),
                            );
                        } else {
                            out.partners.push(partner);
                        }
                    }
                    Err(e) => record(errors, e),
                }
            }
        }
        other => {
            let cell = node.key_cell("partners");
            record(
                errors,
                node.child(&cell, other).error(format!(
                    "expected an array of partner configurations, found {}",
                    kind(other)
                )),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> (CrossTenantAccess, Vec<LoadError>) {
        let mut errors = Vec::new();
        let node = Node::root("crossTenantAccess.json", "", &v);
        (read_cross_tenant_access(&node, &mut errors), errors)
    }

    #[test]
    fn partner_trust_overrides_the_default_and_null_inherits_it() {
        let (c, errors) = read(json!({
        "default": {"inboundTrust": {"isMfaAccepted": true, "isCompliantDeviceAccepted": true,
                                      "isHybridAzureADJoinedDeviceAccepted": false}},
        "partners": [
            {"tenantId": "AAA", "inboundTrust": {"isMfaAccepted": false}},
            {"tenantId": "bbb", "inboundTrust": null, "isServiceProvider": true},
        ]}));
        assert!(errors.is_empty(), "{errors:?}");
        let default = InboundTrust {
            mfa: true,
            compliant_device: true,
            hybrid_joined_device: false,
        };
        assert_eq!(c.trust_for(None), default);
        assert_eq!(c.trust_for(Some("zzz")), default);
        assert_eq!(c.trust_for(Some("aaa")), InboundTrust::default());
        assert_eq!(c.trust_for(Some("BBB")), default);
        assert!(c.partner("bbb").is_some_and(|p| p.is_service_provider));
    }

    #[test]
    fn bad_shapes_name_the_pointer() {
        let (_, errors) = read(
            json!({"default": {"inboundTrust": {"isMfaAccepted": "yes"}},
                                      "partners": [{"inboundTrust": {}}, {"tenantId": "a"}, {"tenantId": "A"}]}),
        );
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(
            text[0].contains("/default/inboundTrust/isMfaAccepted"),
            "{text:?}"
        );
        assert!(
            text[1].contains("/partners/0") && text[1].contains("tenantId"),
            "{text:?}"
        );
        assert!(
            text[2].contains("/partners/2") && text[2].contains("duplicate"),
            "{text:?}"
        );
    }
}
