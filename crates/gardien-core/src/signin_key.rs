//! A sign-in as bytes, for the caches that remember what a pure function of the tenant and
//! the sign-in returned (replay's verdicts, explanations' user actions).
//!
//! Every field of `SignIn` (and of its device and session) is written with tags and length
//! prefixes, so that two sign-ins have the same bytes exactly when they are equal. The
//! fields are destructured exhaustively: a field added to `SignIn` is a compile error here,
//! never a silently shared result. The instant ([`SignIn::at`]) is written as the regime of
//! dated changes in force ([`crate::dated::regime`]), all that the evaluation reads of it.

use crate::device::DeviceInfo;
use crate::signin::{Session, SignIn, Subject, Target};
use std::net::IpAddr;

fn text(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn opt_text(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            text(out, s);
        }
    }
}

fn texts(out: &mut Vec<u8>, list: &[Box<str>]) {
    out.extend_from_slice(&(list.len() as u32).to_le_bytes());
    for s in list {
        text(out, s);
    }
}

fn small(out: &mut Vec<u8>, index: Option<usize>) {
    out.push(index.map_or(0, |i| (i as u8).wrapping_add(1)));
}

fn number(out: &mut Vec<u8>, n: Option<u64>) {
    match n {
        None => out.push(0),
        Some(n) => {
            out.push(1);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

fn country(out: &mut Vec<u8>, c: Option<[u8; 2]>) {
    match c {
        None => out.push(0),
        Some(c) => {
            out.push(1);
            out.extend_from_slice(&c);
        }
    }
}

fn device(out: &mut Vec<u8>, d: &DeviceInfo) {
    let DeviceInfo {
        device_id,
        display_name,
        device_ownership,
        enrollment_profile_name,
        is_compliant,
        manufacturer,
        mdm_app_id,
        model,
        operating_system,
        operating_system_version,
        physical_ids,
        profile_type,
        system_labels,
        trust_type,
        extension_attributes,
    } = d;
    for s in [
        device_id,
        display_name,
        device_ownership,
        enrollment_profile_name,
        manufacturer,
        mdm_app_id,
        model,
        operating_system,
        operating_system_version,
        profile_type,
        trust_type,
    ] {
        opt_text(out, s.as_deref());
    }
    out.push(match is_compliant {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    });
    texts(out, physical_ids);
    texts(out, system_labels);
    for a in extension_attributes {
        opt_text(out, a.as_deref());
    }
}

fn session(out: &mut Vec<u8>, s: &Session) {
    let Session {
        methods,
        home_methods,
        accepted_terms_of_use,
        password_changed,
        approved_client_app,
        app_protection_policy,
        original_transfer_method,
        seconds_since_authentication,
        seconds_since_mfa,
        requested_scopes,
        gps_country,
        compliant_network,
        anonymous_network,
        refresh,
        confidential_client,
    } = s;
    out.extend_from_slice(&methods.0.to_le_bytes());
    out.extend_from_slice(&home_methods.0.to_le_bytes());
    texts(out, accepted_terms_of_use);
    for b in [
        password_changed,
        approved_client_app,
        app_protection_policy,
        compliant_network,
        anonymous_network,
        refresh,
        confidential_client,
    ] {
        out.push(u8::from(*b));
    }
    small(out, original_transfer_method.map(|t| t.index()));
    number(out, *seconds_since_authentication);
    number(out, *seconds_since_mfa);
    texts(out, requested_scopes);
    country(out, *gps_country);
}

/// Writes every field of a sign-in into `out` (cleared first); equal bytes exactly when the
/// sign-ins are equal, except the instant, of which only the dated-change regime counts.
pub fn encode(s: &SignIn, out: &mut Vec<u8>) {
    let SignIn {
        subject,
        target,
        client_app_type,
        device_platform,
        ip_address,
        country: ip_country,
        device: signin_device,
        sign_in_risk,
        user_risk,
        service_principal_risk,
        insider_risk,
        agent_risk,
        transfer_method,
        applied_policies_only,
        session: signin_session,
        at,
    } = s;
    out.clear();
    // Not the instant itself (every record has its own): which dated changes are in force,
    // all that the evaluation reads of it.
    out.push(crate::dated::regime(*at));
    match subject {
        Subject::User {
            id,
            external_tenant_id,
            external_user_type,
        } => {
            out.push(1);
            text(out, id);
            opt_text(out, external_tenant_id.as_deref());
            small(out, external_user_type.map(|t| t.index()));
        }
        Subject::ServicePrincipal { id } => {
            out.push(2);
            text(out, id);
        }
        Subject::Agent { id } => {
            out.push(3);
            text(out, id);
        }
    }
    match target {
        Target::Applications(apps) => {
            out.push(1);
            texts(out, apps);
        }
        Target::UserAction(a) => {
            out.push(2);
            text(out, a.request_name());
        }
        Target::AuthContext(c) => {
            out.push(3);
            text(out, c);
        }
    }
    small(out, client_app_type.map(|c| c.index()));
    small(out, device_platform.map(|p| p.index()));
    match ip_address {
        None => out.push(0),
        Some(IpAddr::V4(ip)) => {
            out.push(4);
            out.extend_from_slice(&ip.octets());
        }
        Some(IpAddr::V6(ip)) => {
            out.push(6);
            out.extend_from_slice(&ip.octets());
        }
    }
    country(out, *ip_country);
    match signin_device {
        None => out.push(0),
        Some(d) => {
            out.push(1);
            device(out, d);
        }
    }
    for r in [sign_in_risk, user_risk, service_principal_risk, agent_risk] {
        small(out, r.map(|r| r.index()));
    }
    small(out, insider_risk.map(|r| r.index()));
    small(out, transfer_method.map(|t| t.index()));
    out.push(u8::from(*applied_policies_only));
    session(out, signin_session);
}

#[cfg(test)]
#[allow(clippy::panic, reason = "test failures report through panics")]
mod tests {
    use super::*;
    use crate::model::enums::{AuthMethod, AuthMethods, ClientAppType, RiskLevel};

    fn bytes(s: &SignIn) -> Vec<u8> {
        let mut out = Vec::new();
        encode(s, &mut out);
        out
    }

    #[test]
    fn every_difference_changes_the_encoding() {
        let base = SignIn::user("u1", &["app"]);
        let mut variants: Vec<SignIn> = Vec::new();
        let mut v = |f: &dyn Fn(&mut SignIn)| {
            let mut s = base.clone();
            f(&mut s);
            variants.push(s);
        };
        v(&|s| s.subject = SignIn::user("u2", &[]).subject);
        v(&|s| s.target = SignIn::user("u1", &["app", "other"]).target);
        v(&|s| s.client_app_type = Some(ClientAppType::Browser));
        v(&|s| s.agent_risk = Some(RiskLevel::High));
        v(&|s| s.subject = crate::signin::Subject::Agent { id: "u1".into() });
        v(&|s| s.ip_address = "10.0.0.1".parse().ok());
        v(&|s| s.country = Some(*b"FR"));
        v(&|s| s.device = Some(DeviceInfo::default()));
        v(&|s| {
            s.device = Some(DeviceInfo {
                is_compliant: Some(false),
                ..DeviceInfo::default()
            })
        });
        v(&|s| {
            let mut d = DeviceInfo::default();
            d.extension_attributes[14] = Some(Box::from("x"));
            s.device = Some(d);
        });
        v(&|s| s.user_risk = Some(RiskLevel::None));
        v(&|s| s.applied_policies_only = true);
        v(&|s| s.session.methods = AuthMethods::of(&[AuthMethod::Password]));
        v(&|s| s.session.refresh = true);
        v(&|s| s.session.confidential_client = true);
        v(&|s| s.session.home_methods = AuthMethods::of(&[AuthMethod::Password]));
        v(&|s| s.session.seconds_since_mfa = Some(0));
        v(&|s| s.session.requested_scopes = vec![Box::from("openid")]);
        let mut seen = vec![bytes(&base)];
        for s in &variants {
            let b = bytes(s);
            assert!(!seen.contains(&b), "{s:?} encodes like another sign-in");
            seen.push(b);
        }
        assert_eq!(bytes(&base), bytes(&base.clone()));
    }
}
