"""Explanation vectors: denials written from Microsoft's documentation, each with the cause
category, the temporary flag and the user actions a person can take (single and combined
changes). Run `python3 testdata/gen_explanations.py` to rewrite testdata/explanations/.
The expectations are written here by hand; the tests run them through the CLI
(`gardien evaluate --json`) and through the server's denial page (EN and FR)."""
import json, os, shutil
U = "11111111-1111-1111-1111-111111111111"
SPO = "00000003-0000-0ff1-ce00-000000000000"
HQ = "55555555-5555-5555-5555-555555555555"
FR = "66666666-6666-6666-6666-666666666666"
hq = {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": HQ, "displayName": "HQ", "isTrusted": True,
      "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24"}]}
fr = {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": FR, "displayName": "France",
      "countriesAndRegions": ["FR"], "includeUnknownCountriesAndRegions": False}
def pol(pid, grant, **cond):
    c = {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}, "clientAppTypes": ["all"]}
    c.update(cond)
    return {"id": pid, "displayName": pid, "state": "enabled", "conditions": c, "grantControls": grant}
def g(*controls, op="OR", **extra):
    d = {"operator": op, "builtInControls": list(controls)}
    d.update(extra)
    return d
def req(session=None, context=None, **conds):
    r = {"signInIdentity": {"@odata.type": "#microsoft.graph.userSignIn", "userId": U},
         "signInContext": context or {"@odata.type": "#microsoft.graph.applicationContext", "includeApplications": [SPO]},
         "signInConditions": conds}
    if session is not None:
        r["session"] = session
    return r
REG = {"@odata.type": "#microsoft.graph.userActionContext", "userAction": "registerSecurityInformation"}
MFA = ["password", "microsoftAuthenticatorPush"]
OUTSIDE = dict(locations={"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]})
DEV = lambda **d: d
V = []
def x(xid, title, policies, request, category, temporary, actions, sets=None, locations=None, cross=None, users=()):
    t = {"policies": policies, "namedLocations": locations if locations is not None else [hq, fr],
         "directory": {"users": [{"id": U, "userPrincipalName": "alice@contoso.com"}] + list(users)}}
    if cross is not None:
        t["crossTenantAccess"] = cross
    e = {"category": category, "temporary": temporary, "userActions": actions}
    if sets is not None:
        e["userActionSets"] = sets
    V.append({"id": xid, "title": title, "tenant": t, "request": request, "expect": e})
B = dict(clientAppType="browser", devicePlatform="windows")
# Devices
x("E01", "unregistered device, compliant device required: register then make compliant",
  [pol("P1", g("compliantDevice"))], req(**B), "deviceNotRegistered", False,
  ["registerDevice", "makeDeviceCompliant", "useAnotherDevice", "contactSupport"],
  [["useAnotherDevice"], ["registerDevice", "makeDeviceCompliant"]])
x("E02", "registered, not compliant", [pol("P1", g("compliantDevice"))],
  req(**B, deviceInfo={"trustType": "Workplace", "isCompliant": False}), "deviceNotCompliant", False,
  ["makeDeviceCompliant", "useAnotherDevice", "contactSupport"], [["makeDeviceCompliant"], ["useAnotherDevice"]])
x("E03", "hybrid join required on a registered device", [pol("P1", g("domainJoinedDevice"))],
  req(**B, deviceInfo={"trustType": "Workplace", "isCompliant": True}), "deviceNotHybridJoined", False,
  ["useAnotherDevice", "contactSupport"], [["useAnotherDevice"]])
x("E04", "compliant or hybrid joined, neither", [pol("P1", g("compliantDevice", "domainJoinedDevice"))],
  req(**B, deviceInfo={"trustType": "Workplace", "isCompliant": False}), "deviceNotCompliant", False,
  ["makeDeviceCompliant", "useAnotherDevice", "contactSupport"])
x("E05", "block except privileged-access workstations (exclude filter)",
  [pol("P1", g("block"), devices={"deviceFilter": {"mode": "exclude", "rule": "device.extensionAttribute1 -eq \"PAW\""}})],
  req(**B, deviceInfo={"trustType": "AzureAD", "isCompliant": True}), "device", False,
  ["useAnotherDevice", "contactSupport"], [["useAnotherDevice"]])
x("E06", "block devices that are not corporate (include filter on ownership)",
  [pol("P1", g("block"), devices={"deviceFilter": {"mode": "include", "rule": "device.deviceOwnership -ne \"Company\""}})],
  req(**B, deviceInfo={"trustType": "Workplace", "isCompliant": True, "deviceOwnership": "Personal"}), "device", False,
  ["useAnotherDevice", "contactSupport"])
x("E07", "old Windows build blocked by an OS version filter",
  [pol("P1", g("block"), devices={"deviceFilter": {"mode": "include", "rule": "device.operatingSystemVersion -startsWith \"10.0.1\""}})],
  req(**B, deviceInfo={"trustType": "AzureAD", "isCompliant": True, "operatingSystemVersion": "10.0.19045"}), "osVersionTooLow", False,
  ["updateOs", "useAnotherDevice", "contactSupport"])
x("E08", "block on unmanaged devices (filter on trust type), unregistered",
  [pol("P1", g("block"), devices={"deviceFilter": {"mode": "exclude", "rule": "device.trustType -eq \"AzureAD\" -or device.trustType -eq \"ServerAD\""}})],
  req(**B), "deviceNotRegistered", False, ["useAnotherDevice", "contactSupport"])
x("E09", "compliant device required from a phone, not compliant",
  [pol("P1", g("compliantDevice"), platforms={"includePlatforms": ["android", "iOS"]})],
  req(clientAppType="mobileAppsAndDesktopClients", devicePlatform="android", deviceInfo={"trustType": "Workplace", "isCompliant": False}),
  "deviceNotCompliant", False, ["makeDeviceCompliant", "useAnotherDevice", "contactSupport"])
x("E10", "MFA and compliant device (AND), unregistered and no MFA",
  [pol("P1", g("mfa", "compliantDevice", op="AND"))], req(**B), "deviceNotRegistered", False,
  ["registerDevice", "makeDeviceCompliant", "useAnotherDevice", "completeMfa", "useStrongerMethod", "contactSupport"])
# Location / network
x("E11", "block outside trusted locations", [pol("P1", g("block"), **OUTSIDE)],
  req(**B, ipAddress="203.0.113.5"), "location", True, ["signInFromAllowedLocation", "contactSupport"], [["signInFromAllowedLocation"]])
x("E12", "block from a country", [pol("P1", g("block"), locations={"includeLocations": [FR]})],
  req(**B, ipAddress="203.0.113.5", country="FR"), "location", True, ["signInFromAllowedLocation", "contactSupport"])
x("E13", "block outside trusted locations behind a VPN", [pol("P1", g("block"), **OUTSIDE)],
  req(**B, ipAddress="203.0.113.5", session={"anonymousNetwork": True}), "anonymousNetwork", True,
  ["disconnectVpn", "signInFromAllowedLocation", "contactSupport"])
x("E14", "security-info registration blocked outside trusted locations (user action)",
  [pol("P1", g("block"), applications={"includeApplications": [], "includeUserActions": ["urn:user:registersecurityinfo"]}, **OUTSIDE)],
  req(context=REG, **B, ipAddress="203.0.113.9"), "location", True, ["signInFromAllowedLocation", "contactSupport"], [["signInFromAllowedLocation"]])
x("E15", "security-info registration needs MFA outside trusted locations",
  [pol("P1", g("mfa"), applications={"includeApplications": [], "includeUserActions": ["urn:user:registersecurityinfo"]}, **OUTSIDE)],
  req(context=REG, **B, ipAddress="203.0.113.9"), "mfaRequired", False, ["signInFromAllowedLocation", "completeMfa", "useStrongerMethod", "contactSupport"])
x("E16", "browser on an unmanaged device blocked outside trusted locations; the app is allowed",
  [pol("P1", g("block"), clientAppTypes=["browser"], **OUTSIDE)],
  req(**B, ipAddress="203.0.113.5"), "location", True, ["signInFromAllowedLocation", "useDesktopApp", "contactSupport"])
x("E17", "behind a VPN, the browser blocked outside trusted places and apps outside HQ: leaving the VPN for HQ is enough",
  [pol("P1", g("block"), clientAppTypes=["browser"], **OUTSIDE), pol("P2", g("block"), clientAppTypes=["mobileAppsAndDesktopClients"], locations={"includeLocations": ["All"], "excludeLocations": [HQ]})],
  req(**B, ipAddress="203.0.113.5", session={"anonymousNetwork": True}), "anonymousNetwork", True,
  ["disconnectVpn", "signInFromAllowedLocation", "contactSupport"])
x("E18", "MFA outside trusted locations", [pol("P1", g("mfa"), **OUTSIDE)],
  req(**B, ipAddress="203.0.113.5"), "mfaRequired", False, ["signInFromAllowedLocation", "completeMfa", "useStrongerMethod", "contactSupport"])
# Platform / client
x("E19", "block Linux", [pol("P1", g("block"), platforms={"includePlatforms": ["linux"]})],
  req(clientAppType="browser", devicePlatform="linux"), "platform", False, ["useAnotherDevice", "contactSupport"], [["useAnotherDevice"]])
x("E20", "block unknown platforms", [pol("P1", g("block"), platforms={"includePlatforms": ["all"], "excludePlatforms": ["android", "iOS", "windows", "macOS", "linux"]})],
  req(clientAppType="browser"), "platform", False, ["useAnotherDevice", "contactSupport"])
x("E21", "block the browser on mobile", [pol("P1", g("block"), clientAppTypes=["browser"], platforms={"includePlatforms": ["android", "iOS"]})],
  req(clientAppType="browser", devicePlatform="iOS"), "clientApp", False, ["useAnotherDevice", "useDesktopApp", "contactSupport"])
x("E22", "block desktop apps (browser only)", [pol("P1", g("block"), clientAppTypes=["mobileAppsAndDesktopClients"])],
  req(clientAppType="mobileAppsAndDesktopClients", devicePlatform="windows"), "clientApp", False, ["useBrowser", "contactSupport"], [["useBrowser"]])
x("E23", "legacy authentication blocked", [pol("P1", g("block"), clientAppTypes=["exchangeActiveSync", "other"])],
  req(clientAppType="other", devicePlatform="windows"), "clientApp", False, ["useModernClient", "contactSupport"], [["useModernClient"]])
x("E24", "legacy client cannot do MFA", [pol("P1", g("mfa"))],
  req(clientAppType="exchangeActiveSync", devicePlatform="iOS"), "clientApp", False, ["useModernClient", "completeMfa", "useStrongerMethod", "contactSupport"],
  [["useModernClient", "completeMfa"], ["useModernClient", "useStrongerMethod"]])
x("E25", "approved client app required", [pol("P1", g("approvedApplication"), platforms={"includePlatforms": ["android", "iOS"]})],
  req(clientAppType="mobileAppsAndDesktopClients", devicePlatform="iOS"), "approvedApp", False, ["useAnotherDevice", "useApprovedApp", "contactSupport"])
x("E26", "app protection policy required", [pol("P1", g("compliantApplication"), platforms={"includePlatforms": ["android", "iOS"]})],
  req(clientAppType="mobileAppsAndDesktopClients", devicePlatform="android"), "appProtection", False, ["useAnotherDevice", "useApprovedApp", "contactSupport"])
x("E27", "device code flow blocked", [pol("P1", g("block"), authenticationFlows={"transferMethods": "deviceCodeFlow"})],
  req(**B, authenticationFlow={"transferMethod": "deviceCodeFlow"}), "authenticationFlow", False, ["contactSupport"], [])
# Risk
x("E28", "high sign-in risk blocked", [pol("P1", g("block"), signInRiskLevels=["high"])],
  req(**B, signInRiskLevel="high"), "risk", True, ["waitAndRetry", "contactSupport"], [["waitAndRetry"]])
x("E29", "high user risk blocked", [pol("P1", g("block"), userRiskLevels=["high"])],
  req(**B, userRiskLevel="high"), "risk", True, ["waitAndRetry", "contactSupport"])
x("E30", "elevated insider risk blocked", [pol("P1", g("block"), insiderRiskLevels="elevated")],
  req(**B, insiderRiskLevel="elevated"), "risk", True, ["waitAndRetry", "contactSupport"])
x("E31", "risky sign-in from an anonymous network", [pol("P1", g("block"), signInRiskLevels=["high", "medium"])],
  req(**B, signInRiskLevel="high", session={"anonymousNetwork": True}), "anonymousNetwork", True, ["disconnectVpn", "waitAndRetry", "contactSupport"])
x("E32", "medium sign-in risk needs MFA", [pol("P1", g("mfa"), signInRiskLevels=["medium"])],
  req(**B, signInRiskLevel="medium"), "mfaRequired", False, ["completeMfa", "useStrongerMethod", "waitAndRetry", "contactSupport"])
x("E33", "high user risk needs a password change", [pol("P1", g("mfa", "passwordChange", op="AND"), userRiskLevels=["high"])],
  req(**B, userRiskLevel="high", session={"authenticationMethods": MFA}), "passwordChange", False, ["changePassword", "waitAndRetry", "contactSupport"])
# Authentication
x("E34", "MFA required", [pol("P1", g("mfa"))], req(**B), "mfaRequired", False, ["completeMfa", "useStrongerMethod", "contactSupport"], [["completeMfa"], ["useStrongerMethod"]])
x("E35", "phishing-resistant strength required", [pol("P1", g(authenticationStrength={"id": "00000000-0000-0000-0000-000000000004"}))],
  req(**B, session={"authenticationMethods": MFA}), "authenticationStrength", False, ["useStrongerMethod", "contactSupport"], [["useStrongerMethod"]])
x("E36", "terms of use", [pol("P1", g(termsOfUse=["tou-1"]))], req(**B, session={"authenticationMethods": MFA}),
  "termsOfUse", False, ["acceptTermsOfUse", "contactSupport"], [["acceptTermsOfUse"]])
x("E37", "MFA and terms of use (AND)", [pol("P1", g("mfa", op="AND", termsOfUse=["tou-1"]))], req(**B),
  "mfaRequired", False, ["completeMfa", "useStrongerMethod", "acceptTermsOfUse", "contactSupport"],
  [["completeMfa", "acceptTermsOfUse"], ["useStrongerMethod", "acceptTermsOfUse"]])
# Blocked / combined
x("E38", "block everyone", [pol("P1", g("block"))], req(**B), "blocked", False, ["contactSupport"], [])
x("E39", "MFA and a compliant device from two policies, registered device",
  [pol("P1", g("mfa")), pol("P2", g("compliantDevice"))],
  req(**B, deviceInfo={"trustType": "Workplace", "isCompliant": False}), "deviceNotCompliant", False,
  ["makeDeviceCompliant", "useAnotherDevice", "completeMfa", "useStrongerMethod", "contactSupport"])
x("E40", "outside trusted locations and not compliant", [pol("P1", g("block"), **OUTSIDE), pol("P2", g("compliantDevice"))],
  req(**B, ipAddress="203.0.113.5", deviceInfo={"trustType": "Workplace", "isCompliant": False}), "location", True,
  ["makeDeviceCompliant", "useAnotherDevice", "signInFromAllowedLocation", "contactSupport"])
x("E41", "browser needs a compliant device, the app is fine",
  [pol("P1", g("compliantDevice"), clientAppTypes=["browser"])],
  req(**B, deviceInfo={"trustType": "Workplace", "isCompliant": False}), "deviceNotCompliant", False,
  ["makeDeviceCompliant", "useAnotherDevice", "useDesktopApp", "contactSupport"])
x("E42", "hybrid join or compliant, unregistered", [pol("P1", g("domainJoinedDevice"))], req(**B),
  "deviceNotHybridJoined", False, ["useAnotherDevice", "contactSupport"])
# External users (Learn: "Authentication and Conditional Access for External ID") and the
# device-code flow (Learn: "Conditional Access: Grant").
def guest(kind, session=None, **conds):
    r = req(session=session, **conds)
    r["signInIdentity"] = {"@odata.type": "#microsoft.graph.userSignIn", "userId": "guest-1",
                           "externalUserType": kind, "externalTenantId": "f0000000-0000-4000-8000-00000000000f"}
    return r
TRUST_MFA = {"default": {"inboundTrust": {"isMfaAccepted": True}}, "partners": []}
x("E43", "guest whose home MFA is trusted: complete MFA in your own organisation", [pol("P1", g("mfa"))],
  guest("b2bCollaborationGuest", **B), "mfaRequired", False,
  ["completeMfaInHomeOrganization", "useStrongerMethod", "contactSupport"],
  [["completeMfaInHomeOrganization"], ["useStrongerMethod"]], cross=TRUST_MFA)
x("E44", "direct connect user without MFA trust: structural", [pol("P1", g("mfa"))],
  guest("b2bDirectConnectUser", session={"homeTenantAuthenticationMethods": MFA}, **B), "blocked", False,
  ["contactSupport"], [])
x("E45", "guest's compliant device not trusted: structural", [pol("P1", g("compliantDevice"))],
  guest("b2bCollaborationGuest", deviceInfo={"trustType": "AzureAD", "isCompliant": True}, **B), "blocked", False,
  ["contactSupport"], [], cross=TRUST_MFA)
x("E46", "device code flow cannot show a compliant device", [pol("P1", g("compliantDevice"))],
  req(clientAppType="mobileAppsAndDesktopClients", devicePlatform="windows", authenticationFlow={"transferMethod": "deviceCodeFlow"},
      deviceInfo={"trustType": "AzureAD", "isCompliant": True}), "authenticationFlow", False, ["contactSupport"], [])
# Agents (Learn: "Conditional Access for agent identities"): no remediation.
AGENT_USER = "a0000000-0000-4000-8000-0000000000d1"
agent_user = {"@odata.type": "#microsoft.graph.agentUser", "id": AGENT_USER, "userPrincipalName": "agent@contoso.com",
              "identityParentId": "a0000000-0000-4000-8000-0000000000a1"}
agent_req = req(**B)
agent_req["signInIdentity"]["userId"] = AGENT_USER
x("E47", "an agent's user account cannot do MFA: structural", [pol("P1", g("mfa"), users={"includeUsers": ["AllAgentIdUsers"]})],
  agent_req, "blocked", False, ["contactSupport"], [], users=[agent_user])
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "explanations")
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
for v in V:
    with open(os.path.join(out, v["id"] + ".json"), "w") as f:
        json.dump(v, f, indent=2)
        f.write("\n")
print(len(V), "explanation vectors")
