import json, os
U = "11111111-1111-1111-1111-111111111111"
G_PARENT = "22222222-2222-2222-2222-222222222222"
G_CHILD = "33333333-3333-3333-3333-333333333333"
SP = "44444444-4444-4444-4444-444444444444"
EXO = "00000002-0000-0ff1-ce00-000000000000"
SPO = "00000003-0000-0ff1-ce00-000000000000"
HQ = "55555555-5555-5555-5555-555555555555"
FR = "66666666-6666-6666-6666-666666666666"
def pol(pid, grant=None, state="enabled", **cond):
    c = {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]}
    c.update(cond)
    p = {"id": pid, "displayName": pid, "state": state, "conditions": c}
    if grant is not None:
        p["grantControls"] = grant
    return p
def g(*controls, op="OR"):
    return {"operator": op, "builtInControls": list(controls)}
directory = {"users": [{"id": U, "userPrincipalName": "alice@contoso.com", "memberOf": [G_CHILD]}],
             "groups": [{"id": G_PARENT, "displayName": "Staff"}, {"id": G_CHILD, "displayName": "Finance", "memberOf": [G_PARENT]}],
             "servicePrincipals": [{"id": SP, "appId": "77777777-7777-7777-7777-777777777777", "displayName": "Payroll batch"}]}
def req(**conds):
    session = conds.pop("session", None)
    r = {"signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": U},
         "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [SPO]},
         "signInConditions": conds}
    if session is not None:
        r["session"] = session
    return r
MFA = ["password", "microsoftAuthenticatorPush"]
V = []
def vec(vid, title, rule, policies, request, expect, mode="evaluate", locations=None, extra_dir=None, note=None, now=None, cross=None):
    d = json.loads(json.dumps(directory))
    if extra_dir: d.update(extra_dir)
    t = {"policies": policies, "namedLocations": locations or [], "directory": d}
    if cross is not None: t["crossTenantAccess"] = cross
    v = {"id": vid, "title": title, "rule": rule, "mode": mode, "tenant": t, "request": request, "expect": expect}
    if note: v["note"] = note
    if now: v["now"] = now
    V.append(v)
vec("T01", "nested group exclusion beats All", "[DOC] exclusion wins, nesting counts",
    [pol("P1", g("mfa"), users={"includeUsers": ["All"], "excludeGroups": [G_PARENT]})], req(clientAppType="browser"),
    {"decision": "allow", "errorCode": None, "conditionalAccessStatus": "notApplied", "policies": {"P1": "notApplied"}})
vec("T02", "MFA done, device not compliant", "[DOC] all applying policies must be satisfied",
    [pol("P1", g("mfa")), pol("P2", g("compliantDevice"))],
    req(clientAppType="browser", deviceInfo={"isCompliant": False, "trustType": "AzureAD"}, session={"authenticationMethods": MFA}),
    {"decision": "deny", "errorCode": 53000, "conditionalAccessStatus": "failure", "policies": {"P1": "success", "P2": "failure"}})
vec("T03", "block wins over MFA", "[DOC] block stops enforcement",
    [pol("P1", g("block")), pol("P2", g("mfa"))], req(clientAppType="browser"),
    {"decision": "deny", "errorCode": 53003, "requiredControls": ["block"], "policies": {"P1": "failure", "P2": "failure"}})
vec("T04", "OR of mfa and compliant device, compliant device", "[DOC] one control is enough",
    [pol("P1", g("mfa", "compliantDevice"))], req(clientAppType="browser", deviceInfo={"isCompliant": True, "trustType": "AzureAD"}),
    {"decision": "allow", "errorCode": None, "conditionalAccessStatus": "success", "policies": {"P1": "success"}})
vec("T05", "report-only block", "[DOC] report-only never enforced",
    [pol("P1", g("block"), state="enabledForReportingButNotEnforced")], req(clientAppType="browser"),
    {"decision": "allow", "conditionalAccessStatus": "notApplied", "policies": {"P1": "reportOnlyFailure"}})
vec("T06", "report-only mfa without MFA claim", "[DOC] report-only never prompts",
    [pol("P1", g("mfa"), state="enabledForReportingButNotEnforced")], req(clientAppType="browser"),
    {"decision": "allow", "policies": {"P1": "reportOnlyInterrupted"}})
vec("T07", "disabled policy", "[DOC] not evaluated",
    [pol("P1", g("block"), state="disabled")], req(clientAppType="browser"),
    {"decision": "allow", "policies": {"P1": "notEnabled"}})
vec("T08", "unknown platform recipe", "[DOC] include all, exclude supported, block",
    [pol("P1", g("block"), platforms={"includePlatforms": ["all"], "excludePlatforms": ["android", "iOS", "windows", "macOS"]})],
    req(clientAppType="browser"),
    {"decision": "deny", "errorCode": 53003, "policies": {"P1": "failure"}},
    note="no devicePlatform: a ChromeOS user agent is an unknown platform (the signals crate maps UAs)")
vec("T08b", "unknown platform given explicitly", "[DOC] unknown matched only by all",
    [pol("P1", g("block"), platforms={"includePlatforms": ["all"], "excludePlatforms": ["android", "iOS", "windows", "macOS"]})],
    req(clientAppType="browser", devicePlatform="unknownFutureValue"),
    {"decision": "deny", "errorCode": 53003, "policies": {"P1": "failure"}})
vec("T08c", "supported platform is excluded", "[DOC] exclusion",
    [pol("P1", g("block"), platforms={"includePlatforms": ["all"], "excludePlatforms": ["android", "iOS", "windows", "macOS"]})],
    req(clientAppType="browser", devicePlatform="windows"),
    {"decision": "allow", "policies": {"P1": "notApplied"}})
vec("T09", "exclude filter with negative operator, unregistered device", "[DOC] null semantics",
    [pol("P1", g("block"), devices={"deviceFilter": {"mode": "exclude", "rule": "device.extensionAttribute1 -ne \"SAW\""}})],
    req(clientAppType="browser"),
    {"decision": "allow", "policies": {"P1": "notApplied"}})
vec("T10", "include filter with positive operator, unregistered device", "[DOC] null semantics",
    [pol("P1", g("mfa"), devices={"deviceFilter": {"mode": "include", "rule": "device.trustType -eq \"AzureAD\""}})],
    req(clientAppType="browser"),
    {"decision": "allow", "policies": {"P1": "notApplied"}})
hq = {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": HQ, "displayName": "HQ", "isTrusted": True,
      "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24"},
                   {"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2001:db8:1::/48"}]}
fr = {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": FR, "displayName": "France",
      "countriesAndRegions": ["FR"], "includeUnknownCountriesAndRegions": False}
vec("T11", "trusted location excluded", "[DOC] AllTrusted",
    [pol("P1", g("mfa"), locations={"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]})],
    req(clientAppType="browser", ipAddress="198.51.100.7"),
    {"decision": "allow", "policies": {"P1": "notApplied"}}, locations=[hq, fr])
vec("T11b", "outside trusted location, IPv4-mapped IPv6 inside", "[DOC] AllTrusted + mapped addresses",
    [pol("P1", g("mfa"), locations={"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]})],
    req(clientAppType="browser", ipAddress="::ffff:198.51.100.9"),
    {"decision": "allow", "policies": {"P1": "notApplied"}}, locations=[hq, fr])
vec("T11c", "outside trusted location needs MFA", "[DOC] AllTrusted",
    [pol("P1", g("mfa"), locations={"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]})],
    req(clientAppType="browser", ipAddress="203.0.113.5"),
    {"decision": "challenge", "errorCode": None, "requiredControls": ["mfa"], "policies": {"P1": "failure"}}, locations=[hq, fr])
vec("T12", "unknown country is not in an excluded country location", "[DOC + INF]",
    [pol("P1", g("block"), locations={"includeLocations": ["All"], "excludeLocations": [FR]})],
    req(clientAppType="browser", ipAddress="203.0.113.5"),
    {"decision": "deny", "errorCode": 53003, "policies": {"P1": "failure"}}, locations=[hq, fr])
vec("T12b", "allowed country is excluded", "[DOC]",
    [pol("P1", g("block"), locations={"includeLocations": ["All"], "excludeLocations": [FR]})],
    req(clientAppType="browser", ipAddress="203.0.113.5", country="fr"),
    {"decision": "allow", "policies": {"P1": "notApplied"}}, locations=[hq, fr])
vec("T13", "legacy authentication blocked", "[DOC]",
    [pol("P1", g("block"), clientAppTypes=["exchangeActiveSync", "other"])], req(clientAppType="other"),
    {"decision": "deny", "errorCode": 53003, "policies": {"P1": "failure"}})
vec("T14", "legacy client cannot do MFA", "[DOC]",
    [pol("P1", g("mfa"))], req(clientAppType="other"),
    {"decision": "deny", "errorCode": 53003, "policies": {"P1": "failure"}})
vec("T15", "protocol tracking: device code session refreshed", "[DOC]",
    [pol("P1", g("block"), authenticationFlows={"transferMethods": "deviceCodeFlow"})],
    req(clientAppType="mobileAppsAndDesktopClients", session={"originalTransferMethod": "deviceCodeFlow", "refresh": True}),
    {"decision": "deny", "errorCode": 530036, "policies": {"P1": "failure"}})
vec("T15b", "device code flow blocked at sign-in", "[DOC]",
    [pol("P1", g("block"), authenticationFlows={"transferMethods": "deviceCodeFlow,authenticationTransfer"})],
    req(clientAppType="mobileAppsAndDesktopClients", authenticationFlow={"transferMethod": "deviceCodeFlow"}),
    {"decision": "deny", "errorCode": 53003, "policies": {"P1": "failure"}})
vec("T16", "workload policy does not apply to users", "[DOC example]",
    [{"id": "P1", "displayName": "P1", "state": "enabled",
      "conditions": {"users": {"includeUsers": ["None"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"],
                     "clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"]}},
      "grantControls": g("block")}],
    req(clientAppType="browser"),
    {"decision": "allow", "policies": {"P1": "notApplied"}})
sp_req = {"signInIdentity": {"@odata.type": "#microsoft.graph.servicePrincipalSignIn", "servicePrincipalId": SP},
          "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [SPO]},
          "signInConditions": {}}
vec("T17", "user policy does not apply to a service principal", "[INF]",
    [pol("P1", g("block"))], sp_req,
    {"decision": "allow", "policies": {"P1": "notApplied"}})
vec("T17b", "workload policy blocks the service principal", "[DOC]",
    [{"id": "P1", "displayName": "P1", "state": "enabled",
      "conditions": {"users": {"includeUsers": ["None"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"],
                     "clientApplications": {"includeServicePrincipals": ["ServicePrincipalsInMyTenant"]}},
      "grantControls": g("block")}],
    sp_req,
    {"decision": "deny", "errorCode": 53003, "policies": {"P1": "failure"}})
vec("T18", "what-if without country", "[DOC] notEnoughInformation",
    [pol("P1", g("block"), locations={"includeLocations": [FR]})],
    req(clientAppType="browser"),
    {"P1": {"policyApplies": False, "analysisReasons": "notEnoughInformation"}}, mode="whatif", locations=[hq, fr])
vec("T19", "what-if report-only policy applies", "[DOC example]",
    [pol("P1", g("mfa", "passwordChange", op="AND"), state="enabledForReportingButNotEnforced", userRiskLevels=["high"])],
    req(clientAppType="browser", userRiskLevel="high", devicePlatform="android", country="US", ipAddress="40.77.182.32"),
    {"P1": {"policyApplies": True, "analysisReasons": "notSet"}}, mode="whatif")
vec("T20", "baseline scopes enforced through Azure AD Graph", "[DOC] 2026 behaviour",
    [pol("P1", g("mfa"), applications={"includeApplications": ["All"], "excludeApplications": [EXO]})],
    {**req(clientAppType="mobileAppsAndDesktopClients", session={"requestedScopes": ["openid", "profile"]}),
     "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [EXO]}},
    {"decision": "challenge", "requiredControls": ["mfa"], "policies": {"P1": "failure"}})
vec("T20b", "baseline scopes exempt in legacy mode", "[DOC] historic behaviour",
    [pol("P1", g("mfa"), applications={"includeApplications": ["All"], "excludeApplications": [EXO]})],
    {**req(clientAppType="mobileAppsAndDesktopClients", session={"requestedScopes": ["openid", "profile"]}),
     "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [EXO]}},
    {"decision": "allow", "policies": {"P1": "notApplied"}}, extra_dir={"baselineScopesMode": "legacy"})
bad21 = pol("P1", g("passwordChange"), userRiskLevels=["high"])
vec("T21", "passwordChange without mfa is rejected", "[DOC constraint]", [bad21], req(),
    {"loadError": "`passwordChange` must be combined with `mfa`"}, mode="load")
bad21b = pol("P1", g("mfa", "passwordChange", op="AND"), userRiskLevels=["high"], platforms={"includePlatforms": ["all"]})
vec("T21b", "passwordChange with a platform condition is rejected", "[DOC constraint]", [bad21b], req(),
    {"loadError": "may only have users, applications and user risk conditions"}, mode="load")
long_rule = " -or ".join(['device.displayName -eq "%s"' % ("x" * 20)] * 120)
vec("T22", "device filter longer than 3072 characters is rejected", "[DOC limit]",
    [pol("P1", g("block"), devices={"deviceFilter": {"mode": "include", "rule": long_rule}})], req(),
    {"loadError": "3072"}, mode="load")
vec("T23", "Office365 applies via the Exchange audience", "[DOC umbrella rule]",
    [pol("P1", g("mfa"), applications={"includeApplications": ["Office365"]})],
    {**req(clientAppType="browser"), "signInContext": {"@odata.type": "#microsoft.graph.applicationContext",
       "includeApplications": ["00000003-0000-0000-c000-000000000000", EXO]}},
    {"decision": "challenge", "requiredControls": ["mfa"], "policies": {"P1": "failure"}})
vec("T24", "sign-in frequency everyTime within 5-minute tolerance", "[DOC]",
    [pol("P1", g("mfa"), sessionControls={}) | {"sessionControls": {"signInFrequency": {"isEnabled": True, "frequencyInterval": "everyTime", "authenticationType": "primaryAndSecondaryAuthentication"}}}],
    req(clientAppType="browser", session={"authenticationMethods": MFA, "secondsSinceMfa": 180}),
    {"decision": "allow", "policies": {"P1": "success"}})
vec("T24b", "sign-in frequency everyTime beyond tolerance", "[DOC]",
    [pol("P1", g("mfa")) | {"sessionControls": {"signInFrequency": {"isEnabled": True, "frequencyInterval": "everyTime", "authenticationType": "primaryAndSecondaryAuthentication"}}}],
    req(clientAppType="browser", session={"authenticationMethods": MFA, "secondsSinceMfa": 900}),
    {"decision": "challenge", "requiredControls": ["signInFrequency"], "policies": {"P1": "failure"}})
vec("W01", "what-if lists every unmet condition", "[SCHEMA] analysisReasons is a flags value",
    [pol("P1", g("block"), users={"includeUsers": ["someone-else"]}, platforms={"includePlatforms": ["iOS"]}, clientAppTypes=["browser"])],
    req(clientAppType="mobileAppsAndDesktopClients", devicePlatform="android"),
    {"P1": {"policyApplies": False, "analysisReasons": "users,devicePlatform,clientApps"}}, mode="whatif")
vec("W02", "what-if reports disabled policies as policyNotEnabled alone", "[INF from name]",
    [pol("P1", g("block"), state="disabled", users={"includeUsers": ["someone-else"]})], req(clientAppType="browser"),
    {"P1": {"policyApplies": False, "analysisReasons": "policyNotEnabled"}}, mode="whatif")
vec("W03", "what-if: unmet condition plus missing input", "[DOC] notEnoughInformation",
    [pol("P1", g("block"), users={"includeUsers": ["someone-else"]}, signInRiskLevels=["high"])], req(clientAppType="browser"),
    {"P1": {"policyApplies": False, "analysisReasons": "notEnoughInformation,users"}}, mode="whatif")
legacy = {"conditionalAccessWhatIfSubject": {"@odata.type": "#microsoft.graph.userSubject", "userId": U},
          "conditionalAccessContext": {"@odata.type": "#microsoft.graph.whatIfApplicationContext", "includeApplications": [SPO]},
          "conditionalAccessWhatIfConditions": {"clientAppType": "browser", "devicePlatform": "iOS", "country": "FR"},
          "appliedPoliciesOnly": True}
vec("W04", "legacy beta request names", "[OBS] older beta shape",
    [pol("P1", g("mfa"), platforms={"includePlatforms": ["iOS"]}), pol("P2", g("block"), platforms={"includePlatforms": ["android"]})], legacy,
    {"P1": {"policyApplies": True, "analysisReasons": "notSet"}}, mode="whatif")
vec("W05", "user action context", "[DOC] user actions",
    [pol("P1", g("mfa"), applications={"includeApplications": [], "includeUserActions": ["urn:user:registersecurityinfo"]}, locations={"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]})],
    {**req(clientAppType="browser", ipAddress="203.0.113.9"), "signInContext": {"@odata.type": "#microsoft.graph.userActionContext", "userAction": "registerSecurityInformation"}},
    {"decision": "challenge", "requiredControls": ["mfa"], "policies": {"P1": "failure"}}, locations=[hq, fr])
vec("W06", "guests by kind and tenant", "[DOC] external user types",
    [pol("P1", g("block"), users={"includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest,serviceProvider",
        "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessEnumeratedExternalTenants", "membershipKind": "enumerated", "members": ["tenant-a"]}}})],
    {**req(clientAppType="browser"), "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": "guest-1", "externalTenantId": "TENANT-A", "externalUserType": "b2bCollaborationGuest"}},
    {"decision": "deny", "errorCode": 53003, "policies": {"P1": "failure"}})
vec("W07", "guest from another tenant is not included", "[DOC] external tenants",
    [pol("P1", g("block"), users={"includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest",
        "externalTenants": {"@odata.type": "#microsoft.graph.conditionalAccessEnumeratedExternalTenants", "membershipKind": "enumerated", "members": ["tenant-a"]}}})],
    {**req(clientAppType="browser"), "signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": "guest-1", "externalTenantId": "tenant-b", "externalUserType": "b2bCollaborationGuest"}},
    {"decision": "allow", "policies": {"P1": "notApplied"}})
vec("W08", "authentication strength satisfied only by phishing-resistant methods", "[DOC] strengths",
    [pol("P1", {"operator": "OR", "builtInControls": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}})],
    req(clientAppType="browser", session={"authenticationMethods": MFA}),
    {"decision": "challenge", "requiredControls": ["authenticationStrength"], "policies": {"P1": "failure"}})
vec("W09", "hybrid join required", "[DOC] 53001",
    [pol("P1", g("domainJoinedDevice"))], req(clientAppType="browser", deviceInfo={"trustType": "AzureAD", "isCompliant": True}),
    {"decision": "deny", "errorCode": 53001, "requiredControls": ["domainJoinedDevice"]})
vec("W10", "app protection required", "[DOC] 53009",
    [pol("P1", g("compliantApplication"))], req(clientAppType="mobileAppsAndDesktopClients", devicePlatform="iOS"),
    {"decision": "deny", "errorCode": 53009})
vec("W11", "AND of mfa and terms of use challenges both in canonical order", "[DOC] canonical order",
    [pol("P1", {"operator": "AND", "builtInControls": ["mfa"], "termsOfUse": ["tou-1"]})], req(clientAppType="browser"),
    {"decision": "challenge", "requiredControls": ["mfa", "termsOfUse"]})
vec("W12", "MFA trusted IPs count as trusted", "[DOC] AllTrusted includes MFA trusted IPs",
    [pol("P1", g("mfa"), locations={"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]})],
    req(clientAppType="browser", ipAddress="192.0.2.77"),
    {"decision": "allow", "policies": {"P1": "notApplied"}}, extra_dir={"mfaTrustedIps": ["192.0.2.0/24"]})
vec("W13", "tracked refresh blocked by a flow policy and a general block: 530036 whatever the order", "[INF] specific code wins",
    [pol("P1", g("block"), clientAppTypes=["mobileAppsAndDesktopClients"]),
     pol("P2", g("block"), authenticationFlows={"transferMethods": "deviceCodeFlow"})],
    req(clientAppType="mobileAppsAndDesktopClients", session={"originalTransferMethod": "deviceCodeFlow", "refresh": True}),
    {"decision": "deny", "errorCode": 530036, "policies": {"P1": "failure", "P2": "failure"}})
# Dated changes: the same tenant and request on both sides of a date (`now`, the evaluation
# instant: `--now` in the CLI, `?at=` on the server's /v1/evaluate, SignIn.at in the core).
BEFORE_ROLLOUT, ROLLOUT = "2026-06-14T23:59:59Z", "2026-06-15T00:00:00Z"
BASELINE_POLICY = [pol("P1", g("mfa"), applications={"includeApplications": ["All"], "excludeApplications": [EXO]})]
BASELINE_REQ = {**req(clientAppType="mobileAppsAndDesktopClients", session={"requestedScopes": ["openid", "profile"]}),
                "signInContext": {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [EXO]}}
vec("D01", "baseline scopes before the rollout date: exempt", "[DOC] enforcement rollout begins June 15 2026",
    BASELINE_POLICY, BASELINE_REQ, {"decision": "allow", "policies": {"P1": "notApplied"}}, now=BEFORE_ROLLOUT)
vec("D02", "baseline scopes from the rollout date: enforced", "[DOC] enforcement rollout begins June 15 2026",
    BASELINE_POLICY, BASELINE_REQ, {"decision": "challenge", "requiredControls": ["mfa"], "policies": {"P1": "failure"}}, now=ROLLOUT)
vec("D03", "baseline scopes enforced early by the tenant", "[DOC] enable enforcement before the rollout",
    BASELINE_POLICY, BASELINE_REQ, {"decision": "challenge", "requiredControls": ["mfa"], "policies": {"P1": "failure"}},
    now=BEFORE_ROLLOUT, extra_dir={"baselineScopesMode": "enforced"})
vec("D04", "baseline scopes enforcement disabled by the tenant after the date", "[DOC] disable enforcement",
    BASELINE_POLICY, BASELINE_REQ, {"decision": "allow", "policies": {"P1": "notApplied"}},
    now=ROLLOUT, extra_dir={"baselineScopesMode": "legacy"})
CUSTOM = "88888888-8888-8888-8888-888888888888"
vec("D05", "baseline scopes with a custom target the policy excludes", "[DOC] customize behavior",
    [pol("P1", g("mfa"), applications={"includeApplications": ["All"], "excludeApplications": [EXO, CUSTOM]})],
    BASELINE_REQ, {"decision": "allow", "policies": {"P1": "notApplied"}},
    now=ROLLOUT, extra_dir={"baselineScopesMode": "customTarget", "baselineScopesTarget": CUSTOM})
vec("D06", "baseline scopes with a custom target another policy does not exclude", "[DOC] customize behavior",
    BASELINE_POLICY, BASELINE_REQ, {"decision": "challenge", "requiredControls": ["mfa"], "policies": {"P1": "failure"}},
    now=ROLLOUT, extra_dir={"baselineScopesMode": "customTarget", "baselineScopesTarget": CUSTOM})
APPROVED = [pol("P1", g("approvedApplication"), platforms={"includePlatforms": ["android", "iOS"]})]
APPROVED_REQ = req(clientAppType="mobileAppsAndDesktopClients", devicePlatform="android")
vec("D07", "approved client app required before its read-only date", "[DOC] 53002",
    APPROVED, APPROVED_REQ, {"decision": "deny", "errorCode": 53002, "requiredControls": ["approvedApplication"]},
    now="2026-06-29T23:59:59Z")
vec("D08", "approved client app still enforced after its read-only date", "[DOC] migrate-approved-client-app, 2026-05-29: existing policies continue to be enforced",
    APPROVED, APPROVED_REQ, {"decision": "deny", "errorCode": 53002, "requiredControls": ["approvedApplication"]},
    now="2026-06-30T00:00:00Z")
vec("D09", "approved client app satisfied after its read-only date", "[DOC] still enforced",
    APPROVED, {**APPROVED_REQ, "session": {"approvedClientApp": True}}, {"decision": "allow", "policies": {"P1": "success"}},
    now="2026-12-07T00:00:00Z")
# External users and cross-tenant trust (Learn: "Authentication and Conditional Access for
# External ID", https://learn.microsoft.com/entra/external-id/authentication-conditional-access).
FABRIKAM = "f0000000-0000-4000-8000-00000000000f"
NORTHWIND = "f0000000-0000-4000-8000-00000000000e"
def guest(kind="b2bCollaborationGuest", tenant=FABRIKAM, **conds):
    r = req(**conds)
    r["signInIdentity"] = {"@odata.type": "#microsoft.graph.userSignIn", "userId": "guest-1",
                           "externalUserType": kind, "externalTenantId": tenant}
    return r
def trust(mfa=False, compliant=False, hybrid=False):
    return {"isMfaAccepted": mfa, "isCompliantDeviceAccepted": compliant, "isHybridAzureADJoinedDeviceAccepted": hybrid}
def cta(default=None, partners=()):
    return {"default": {"inboundTrust": default or trust()}, "partners": [{"tenantId": t, "inboundTrust": i} for t, i in partners]}
HOME_MFA = {"homeTenantAuthenticationMethods": MFA}
MFA_POLICY = [pol("P1", g("mfa"))]
vec("X01", "guest with home MFA and no inbound trust is challenged here", "[DOC] without MFA trust B2B collaboration users do MFA in the resource tenant",
    MFA_POLICY, guest(clientAppType="browser", session=HOME_MFA),
    {"decision": "challenge", "requiredControls": ["mfa"], "errorCode": None, "policies": {"P1": "failure"}})
vec("X02", "guest with home MFA and default MFA trust is allowed", "[DOC] inbound trust accepts MFA claims",
    MFA_POLICY, guest(clientAppType="browser", session=HOME_MFA),
    {"decision": "allow", "policies": {"P1": "success"}}, cross=cta(trust(mfa=True)))
vec("X03", "partner entry without MFA trust overrides a trusting default", "[DOC] partner configuration overrides the default",
    MFA_POLICY, guest(clientAppType="browser", session=HOME_MFA),
    {"decision": "challenge", "requiredControls": ["mfa"]}, cross=cta(trust(mfa=True), [(FABRIKAM, trust())]))
vec("X04", "partner entry trusting MFA overrides a default that does not", "[DOC] partner configuration overrides the default",
    MFA_POLICY, guest(clientAppType="browser", session=HOME_MFA),
    {"decision": "allow", "policies": {"P1": "success"}}, cross=cta(trust(), [(FABRIKAM, trust(mfa=True)), (NORTHWIND, trust())]))
vec("X05", "partner entry with null inbound trust inherits the default", "[SCHEMA] null partner setting inherits the default",
    MFA_POLICY, guest(clientAppType="browser", session=HOME_MFA),
    {"decision": "allow"}, cross=cta(trust(mfa=True), [(FABRIKAM, None)]))
vec("X06", "guest with MFA done here and no trust is allowed", "[DOC] resource tenant MFA (Table 1 resource-tenant methods)",
    MFA_POLICY, guest(clientAppType="browser", session={"authenticationMethods": MFA}),
    {"decision": "allow", "policies": {"P1": "success"}})
vec("X07", "guest without home MFA under MFA trust is challenged (in the home tenant)", "[DOC] challenge to complete MFA in the home tenant",
    MFA_POLICY, guest(clientAppType="browser", session={"authenticationMethods": MFA}),
    {"decision": "challenge", "requiredControls": ["mfa"]}, cross=cta(trust(mfa=True)))
vec("X08", "direct connect user without MFA trust is blocked by an MFA policy", "[DOC] access is blocked for B2B direct connect users",
    MFA_POLICY, guest(kind="b2bDirectConnectUser", clientAppType="browser", session={**HOME_MFA, "authenticationMethods": MFA}),
    {"decision": "deny", "errorCode": 53003, "requiredControls": ["mfa"], "policies": {"P1": "failure"}})
vec("X09", "direct connect user with MFA trust and home MFA is allowed", "[DOC] MFA trust enables access for B2B direct connect users",
    MFA_POLICY, guest(kind="b2bDirectConnectUser", clientAppType="browser", session=HOME_MFA),
    {"decision": "allow", "policies": {"P1": "success"}}, cross=cta(trust(mfa=True)))
vec("X10", "direct connect user with MFA trust and no home MFA is challenged", "[DOC] MFA challenge in the home tenant",
    MFA_POLICY, guest(kind="b2bDirectConnectUser", clientAppType="browser"),
    {"decision": "challenge", "requiredControls": ["mfa"]}, cross=cta(trust(mfa=True)))
COMPLIANT = [pol("P1", g("compliantDevice"))]
COMPLIANT_DEVICE = {"isCompliant": True, "trustType": "AzureAD"}
vec("X11", "compliant home device of a guest without compliant-device trust is denied", "[DOC] device compliance that cannot be evaluated blocks",
    COMPLIANT, guest(clientAppType="browser", deviceInfo=COMPLIANT_DEVICE),
    {"decision": "deny", "errorCode": 53000, "requiredControls": ["compliantDevice"]}, cross=cta(trust(mfa=True)))
vec("X12", "compliant home device of a guest with compliant-device trust is allowed", "[DOC] trusted compliant-device claim",
    COMPLIANT, guest(clientAppType="browser", deviceInfo=COMPLIANT_DEVICE),
    {"decision": "allow", "policies": {"P1": "success"}}, cross=cta(trust(compliant=True)))
vec("X13", "hybrid joined home device of a direct connect user with hybrid trust is allowed", "[DOC] trusted hybrid joined claim",
    [pol("P1", g("domainJoinedDevice"))], guest(kind="b2bDirectConnectUser", clientAppType="browser", deviceInfo={"trustType": "ServerAD"}),
    {"decision": "allow"}, cross=cta(trust(), [(FABRIKAM, trust(hybrid=True))]))
vec("X14", "hybrid joined home device of a direct connect user without hybrid trust is denied", "[DOC] untrusted hybrid joined claim",
    [pol("P1", g("domainJoinedDevice"))], guest(kind="b2bDirectConnectUser", clientAppType="browser", deviceInfo={"trustType": "ServerAD"}),
    {"decision": "deny", "errorCode": 53001}, cross=cta(trust(hybrid=True), [(FABRIKAM, trust(compliant=True))]))
PHISHING = {"operator": "OR", "builtInControls": [], "authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}}
vec("X15", "phishing-resistant strength met by a home FIDO2 key under MFA trust", "[DOC] Table 1: FIDO2 counts from the home tenant",
    [pol("P1", PHISHING)], guest(clientAppType="browser", session={"homeTenantAuthenticationMethods": ["fido2"]}),
    {"decision": "allow"}, cross=cta(trust(mfa=True)))
vec("X16", "phishing-resistant strength cannot be met in the resource tenant without MFA trust", "[DOC] Table 1: FIDO2 is not offered in the resource tenant",
    [pol("P1", PHISHING)], guest(clientAppType="browser", session={"authenticationMethods": ["fido2"], "homeTenantAuthenticationMethods": ["fido2"]}),
    {"decision": "deny", "errorCode": 53003, "requiredControls": ["authenticationStrength"]})
vec("X17", "approved client app is not supported for external users", "[DOC] comparison table: not supported",
    [pol("P1", g("approvedApplication"), platforms={"includePlatforms": ["android", "iOS"]})],
    guest(clientAppType="mobileAppsAndDesktopClients", devicePlatform="iOS", session={"approvedClientApp": True}),
    {"decision": "deny", "errorCode": 53002, "requiredControls": ["approvedApplication"]}, cross=cta(trust(True, True, True)))
TOU = "0000abcd-0000-4000-8000-000000000001"
vec("X18", "terms of use challenge a collaboration guest", "[DOC] terms of use supported for B2B collaboration users",
    [pol("P1", {"operator": "OR", "builtInControls": [], "termsOfUse": [TOU]})], guest(clientAppType="browser"),
    {"decision": "challenge", "requiredControls": ["termsOfUse"]})
vec("X19", "terms of use block a direct connect user", "[DOC] terms of use not supported for B2B direct connect users",
    [pol("P1", {"operator": "OR", "builtInControls": [], "termsOfUse": [TOU]})], guest(kind="b2bDirectConnectUser", clientAppType="browser"),
    {"decision": "deny", "errorCode": 53003, "requiredControls": ["termsOfUse"]})
vec("X20", "a local guest is not external: home-tenant methods play no part", "[DOC] local guests authenticate here",
    MFA_POLICY, guest(kind="internalGuest", clientAppType="browser", session={"authenticationMethods": MFA}),
    {"decision": "allow"}, cross=cta(trust()))
# Authentication flows carry no device state.
vec("F01", "device code flow cannot satisfy a compliant-device requirement", "[DOC] device code flow cannot carry device state; 530033 [OBS]",
    COMPLIANT, req(clientAppType="mobileAppsAndDesktopClients", deviceInfo=COMPLIANT_DEVICE, authenticationFlow={"transferMethod": "deviceCodeFlow"}),
    {"decision": "deny", "errorCode": 530033, "requiredControls": ["compliantDevice"], "policies": {"P1": "failure"}})
vec("F02", "device code flow without device controls is only challenged for MFA", "[DOC] MFA is interactive in the device code flow",
    MFA_POLICY, req(clientAppType="mobileAppsAndDesktopClients", deviceInfo=COMPLIANT_DEVICE, authenticationFlow={"transferMethod": "deviceCodeFlow"}),
    {"decision": "challenge", "requiredControls": ["mfa"]})
vec("F03", "refresh of a device-code session cannot satisfy hybrid join", "[DOC] protocol tracking; no device state",
    [pol("P1", g("domainJoinedDevice"))], req(clientAppType="mobileAppsAndDesktopClients", deviceInfo={"trustType": "ServerAD"},
                                              session={"originalTransferMethod": "deviceCodeFlow", "refresh": True}),
    {"decision": "deny", "errorCode": 530033, "requiredControls": ["domainJoinedDevice"]})
vec("F04", "the same device without the device code flow is compliant", "[DOC] interactive sign-in carries device state",
    COMPLIANT, req(clientAppType="mobileAppsAndDesktopClients", deviceInfo=COMPLIANT_DEVICE),
    {"decision": "allow", "policies": {"P1": "success"}})
# Baseline scopes: the confidential-client OIDC-only exception (concept-enforcement-resource-exclusions).
WEBAPP = "99999999-9999-9999-9999-999999999999"
CONF_POLICY = [pol("P1", g("mfa"), applications={"includeApplications": ["All"], "excludeApplications": [WEBAPP]})]
def web_req(scopes, confidential):
    r = req(clientAppType="browser", session={"requestedScopes": scopes, "confidentialClient": confidential})
    r["signInContext"]["includeApplications"] = [WEBAPP]
    if not confidential: r["session"].pop("confidentialClient")
    return r
vec("B01", "confidential client excluded from the policy asking only OIDC scopes keeps its audience", "[DOC] no change for confidential clients requesting only OIDC scopes",
    CONF_POLICY, web_req(["openid", "profile", "offline_access"], True), {"decision": "allow", "policies": {"P1": "notApplied"}}, now=ROLLOUT)
vec("B02", "confidential client excluded from the policy asking a baseline directory scope is enforced", "[DOC] confidential clients requesting baseline directory scopes",
    CONF_POLICY, web_req(["openid", "User.Read", "People.Read"], True), {"decision": "challenge", "requiredControls": ["mfa"]}, now=ROLLOUT)
vec("B03", "public client asking only OIDC scopes is enforced through Windows Azure Active Directory", "[DOC] public clients requesting only baseline scopes",
    CONF_POLICY, web_req(["openid", "profile"], False), {"decision": "challenge", "requiredControls": ["mfa"]}, now=ROLLOUT)
# Agent identities (preview). Learn: "Conditional Access for agent identities"
# (https://learn.microsoft.com/entra/identity/conditional-access/agent-id) and "Target agent
# identities in Microsoft Entra Conditional Access policies"; Graph beta agentSignIn,
# conditionalAccessClientApplications, agentIdRiskLevels.
AGENT = "a0000000-0000-4000-8000-0000000000a1"
AGENT_APP = "a0000000-0000-4000-8000-0000000000b1"
AGENT2 = "a0000000-0000-4000-8000-0000000000a2"
BLUEPRINT_APP = "b0000000-0000-4000-8000-0000000000b0"
BLUEPRINT_SP = "b0000000-0000-4000-8000-0000000000c0"
AGENT_USER = "a0000000-0000-4000-8000-0000000000d1"
GRAPH = "00000003-0000-0000-c000-000000000000"
EXCHANGE_ENDPOINT = "fb60f99c-7a34-4190-8149-302f77469936"
AGENT_DIR = {
    "servicePrincipals": directory["servicePrincipals"] + [
        {"@odata.type": "#microsoft.graph.agentIdentity", "id": AGENT, "appId": AGENT_APP, "displayName": "Report agent",
         "agentIdentityBlueprintId": BLUEPRINT_APP,
         "customSecurityAttributes": {"AgentAttributes": {"DataSensitivity": "Confidential"}}},
        {"@odata.type": "#microsoft.graph.agentIdentity", "id": AGENT2, "displayName": "Public agent",
         "customSecurityAttributes": {"AgentAttributes": {"DataSensitivity": "Public"}}},
        {"@odata.type": "#microsoft.graph.agentIdentityBlueprintPrincipal", "id": BLUEPRINT_SP, "appId": BLUEPRINT_APP,
         "displayName": "Report agent blueprint"}],
    "users": directory["users"] + [
        {"@odata.type": "#microsoft.graph.agentUser", "id": AGENT_USER, "userPrincipalName": "report-agent@contoso.com",
         "identityParentId": AGENT, "memberOf": [G_CHILD]}],
}
def agent_pol(pid, grant=None, state="enabled", **client):
    p = pol(pid, grant or g("block"), state)
    p["conditions"]["users"] = {"includeUsers": ["None"]}
    p["conditions"]["clientApplications"] = client
    p["conditions"].pop("clientAppTypes")
    return p
def agent_req(agent=AGENT, app=SPO, **conds):
    r = req(**conds)
    r["signInIdentity"] = {"@odata.type": "#microsoft.graph.agentSignIn", "agentServicePrincipalId": agent}
    r["signInContext"]["includeApplications"] = [app]
    return r
def agent_user_req(**conds):
    r = req(**conds)
    r["signInIdentity"]["userId"] = AGENT_USER
    return r
ALL_AGENTS = {"includeAgentIdServicePrincipals": ["All"]}
def avec(vid, title, rule, policies, request, expect, mode="evaluate"):
    vec(vid, title, rule, policies, request, expect, mode=mode, extra_dir=AGENT_DIR)
avec("A01", "block all agent identities denies an agent identity", "[DOC] all agent identities, block",
     [agent_pol("P1", **ALL_AGENTS)], agent_req(),
     {"decision": "deny", "errorCode": 53003, "requiredControls": ["block"], "policies": {"P1": "failure"}})
avec("A02", "an excluded agent identity is allowed", "[DOC] excludeAgentIdServicePrincipals",
     [agent_pol("P1", **ALL_AGENTS, excludeAgentIdServicePrincipals=[AGENT])], agent_req(),
     {"decision": "allow", "conditionalAccessStatus": "notApplied", "policies": {"P1": "notApplied"}})
avec("A03", "a policy on the blueprint covers its agent identities", "[DOC] targeting a blueprint covers every agent derived from it",
     [agent_pol("P1", includeAgentIdServicePrincipals=[BLUEPRINT_APP])], agent_req(),
     {"decision": "deny", "errorCode": 53003, "policies": {"P1": "failure"}})
avec("A04", "an agent of another blueprint is not covered by a blueprint policy", "[DOC] blueprint targeting",
     [agent_pol("P1", includeAgentIdServicePrincipals=[BLUEPRINT_APP])], agent_req(agent=AGENT2),
     {"decision": "allow", "policies": {"P1": "notApplied"}})
avec("A05", "custom security attribute filter blocks confidential agents", "[DOC] attribute-driven Conditional Access",
     [agent_pol("P1", agentIdServicePrincipalFilter={"mode": "include", "rule": "CustomSecurityAttribute.AgentAttributes_DataSensitivity -eq \"Confidential\""})],
     agent_req(), {"decision": "deny", "errorCode": 53003, "policies": {"P1": "failure"}})
avec("A06", "custom security attribute filter leaves public agents alone", "[DOC] attribute-driven Conditional Access",
     [agent_pol("P1", agentIdServicePrincipalFilter={"mode": "include", "rule": "CustomSecurityAttribute.AgentAttributes_DataSensitivity -eq \"Confidential\""})],
     agent_req(agent=AGENT2), {"decision": "allow", "policies": {"P1": "notApplied"}})
avec("A07", "an exclude filter cannot exempt an agent the directory does not list", "[gardien] unknown attributes match no filter (fail closed)",
     [agent_pol("P1", **ALL_AGENTS, agentIdServicePrincipalFilter={"mode": "exclude", "rule": "CustomSecurityAttribute.AgentAttributes_DataSensitivity -eq \"Public\""})],
     agent_req(agent="a0000000-0000-4000-8000-0000000000ff"), {"decision": "deny", "errorCode": 53003})
HIGH_RISK = [agent_pol("P1", **ALL_AGENTS)]
HIGH_RISK[0]["conditions"]["agentIdRiskLevels"] = "medium,high"
avec("A08", "a high-risk agent identity is blocked by an agent risk policy", "[DOC] agent risk condition",
     HIGH_RISK, agent_req(agentIdRiskLevel="high"), {"decision": "deny", "errorCode": 53003, "policies": {"P1": "failure"}})
avec("A09", "a low-risk agent identity is not blocked by a medium/high agent risk policy", "[DOC] agent risk condition",
     HIGH_RISK, agent_req(agentIdRiskLevel="low"), {"decision": "allow", "policies": {"P1": "notApplied"}})
avec("A10", "policies for all users do not apply to agent identities", "[DOC] agent-based policies apply when agents use their own identity",
     [pol("P1", g("block"))], agent_req(), {"decision": "allow", "policies": {"P1": "notApplied"}})
avec("A11", "agent identity policies do not apply to people", "[DOC] assignments are per token subject",
     [agent_pol("P1", **ALL_AGENTS)], req(clientAppType="browser"), {"decision": "allow", "policies": {"P1": "notApplied"}})
avec("A12", "all agent users are blocked, the agent user is denied", "[DOC] AllAgentIdUsers, block",
     [pol("P1", g("block"), users={"includeUsers": ["AllAgentIdUsers"]})], agent_user_req(),
     {"decision": "deny", "errorCode": 53003, "policies": {"P1": "failure"}})
avec("A13", "policies for All users do not include agents' user accounts", "[DOC] policies targeting all users don't include agent's user accounts",
     [pol("P1", g("block"))], agent_user_req(), {"decision": "allow", "policies": {"P1": "notApplied"}})
avec("A14", "groups do not scope agents' user accounts", "[DOC] group membership cannot scope agent users",
     [pol("P1", g("block"), users={"includeGroups": [G_CHILD]})], agent_user_req(), {"decision": "allow", "policies": {"P1": "notApplied"}})
avec("A15", "AllAgentIdUsers does not include people", "[DOC] agent users are a separate scope",
     [pol("P1", g("block"), users={"includeUsers": ["AllAgentIdUsers"]})], req(clientAppType="browser"),
     {"decision": "allow", "policies": {"P1": "notApplied"}})
RISKY_USERS = [pol("P1", g("block"), users={"includeUsers": ["AllAgentIdUsers"]}, agentIdRiskLevels="high")]
avec("A16", "a high-risk agent user is blocked", "[DOC] block access for high-risk agent's user account",
     RISKY_USERS, agent_user_req(agentIdRiskLevel="high"), {"decision": "deny", "errorCode": 53003})
avec("A17", "an agent user without agent risk is allowed", "[DOC] agent risk condition",
     RISKY_USERS, agent_user_req(), {"decision": "allow", "policies": {"P1": "notApplied"}})
avec("A18", "an agent user on a compliant device satisfies a compliant-device policy", "[DOC] agent users can be required to run on compliant devices",
     [pol("P1", g("compliantDevice"), users={"includeUsers": ["AllAgentIdUsers"]})], agent_user_req(deviceInfo=COMPLIANT_DEVICE),
     {"decision": "allow", "policies": {"P1": "success"}})
avec("A19", "MFA cannot be met by an agent user: denied, not challenged", "[DOC] no remediation for agents; [gardien] fail closed",
     [pol("P1", g("mfa"), users={"includeUsers": ["AllAgentIdUsers"]})], agent_user_req(),
     {"decision": "deny", "errorCode": 53003, "requiredControls": ["mfa"], "policies": {"P1": "failure"}})
avec("A20", "a blueprint acquiring a Microsoft Graph token is exempt", "[DOC] Conditional Access does not apply to blueprint token acquisition for creating agents",
     [agent_pol("P1", **ALL_AGENTS, includeServicePrincipals=["ServicePrincipalsInMyTenant"])], agent_req(agent=BLUEPRINT_SP, app=GRAPH),
     {"decision": "allow", "policies": {"P1": "notApplied"}})
avec("A21", "an intermediate token exchange of an agent identity is exempt", "[DOC] AAD Token Exchange Endpoint: Public is never evaluated",
     [agent_pol("P1", **ALL_AGENTS)], agent_req(app=EXCHANGE_ENDPOINT), {"decision": "allow", "policies": {"P1": "notApplied"}})
avec("A22", "all agent resources: an agent calling another agent is blocked", "[DOC] All agent resources (agent-to-agent)",
     [dict(agent_pol("P1", **ALL_AGENTS), conditions={**agent_pol("P1", **ALL_AGENTS)["conditions"], "applications": {"includeApplications": ["AllAgentIdResources"]}})],
     agent_req(agent=AGENT2, app=AGENT_APP), {"decision": "deny", "errorCode": 53003})
avec("A23", "all agent resources: an agent calling SharePoint is not covered", "[DOC] All agent resources",
     [dict(agent_pol("P1", **ALL_AGENTS), conditions={**agent_pol("P1", **ALL_AGENTS)["conditions"], "applications": {"includeApplications": ["AllAgentIdResources"]}})],
     agent_req(agent=AGENT2), {"decision": "allow", "policies": {"P1": "notApplied"}})
avec("A24", "what-if: an agent identity not assigned and a person's policy", "[SCHEMA] agentIdentities reason",
     [agent_pol("P1", includeAgentIdServicePrincipals=[AGENT2]), pol("P2", g("block"))], agent_req(),
     {"P1": {"policyApplies": False, "analysisReasons": "agentIdentities"}, "P2": {"policyApplies": False, "analysisReasons": "agentIdentities"}}, mode="whatif")
avec("A25", "what-if: agent risk not selected", "[SCHEMA] agentIdRisk reason",
     HIGH_RISK, agent_req(agentIdRiskLevel="low"),
     {"P1": {"policyApplies": False, "analysisReasons": "agentIdRisk"}}, mode="whatif")
avec("A26", "what-if: an agent without a risk level cannot be decided", "[DOC] notEnoughInformation",
     HIGH_RISK, agent_req(), {"P1": {"policyApplies": False, "analysisReasons": "notEnoughInformation"}}, mode="whatif")
os.makedirs("vectors", exist_ok=True)
for v in V:
    # T24 helper: remove stray sessionControls inside conditions
    for p in v["tenant"]["policies"]:
        p["conditions"].pop("sessionControls", None)
    name = "vectors/%s-%s.json" % (v["id"], v["title"].lower().replace(" ", "-").replace(",", "").replace(":", "")[:50])
    with open(name, "w") as f:
        json.dump(v, f, indent=2)
        f.write("\n")
print(len(V))
