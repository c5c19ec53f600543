# Messages of the gardien denial page (English, the default language).
#
# Format: a subset of Project Fluent, read by gardien-server at startup (no Fluent crate).
#   - one message per line: `key = value`; keys are letters, digits, `-` and `_`;
#   - lines starting with `#` are comments, blank lines are ignored;
#   - `{ $name }` is replaced by a value (app, support); the value is HTML-escaped;
#   - no multi-line values, no other `{` or `}` in the text.
# Every language file must have exactly the same keys (a unit test checks it), and every
# explanation category and user action needs its messages here.

## Page
page-title-deny = Access blocked
page-title-challenge = Additional verification required
lead-deny = Your access to { $app } was blocked.
lead-challenge = Before you can open { $app }, you need to confirm your identity once more.
intro = Your organization protects this application with security rules (conditional access) that check who you are, the device you use and where you connect from.
label-error-code = Error code
code-challenge-mfa = MFA required
code-challenge = Verification required
heading-why = Why
heading-actions = What you can do
actions-together = Do all of these together:
heading-conditions = What was checked
heading-admin = For administrators
heading-details = Troubleshooting details
heading-copy = Details to send to support
copy-hint = Select the text below and copy it into your message to support.
footer = Protected by gardien.

## Temporary or structural
temporary-true-label = Probably temporary
temporary-true = This may work again later, or from another place or network.
temporary-false-label = Will not change by itself
temporary-false = One of the steps below is needed to get access.

## Troubleshooting details
label-category = Cause
label-correlation = Correlation ID
label-time = Time (UTC)
label-client-ip = IP address
label-application = Application
label-registered = Device registered
label-compliant = Device compliant
label-trust-type = Device join type
label-platform = Platform
label-os-version = System version
label-client-app = Connected with
label-support = Support
label-policies = Policies that applied
label-admin-details = Evaluation details
value-yes = Yes
value-no = No
value-unknown = Unknown
value-none = None
trust-AzureAD = Microsoft Entra joined (company device)
trust-ServerAD = Hybrid joined (company domain)
trust-Workplace = Registered (personal device)
client-browser = Web browser
client-mobileAppsAndDesktopClients = Desktop or mobile app
client-exchangeActiveSync = Mail app (Exchange ActiveSync)
client-other = Older program (legacy protocol)

## Causes: a short title and a sentence for each explanation category
category-deviceNotRegistered-title = Device not registered
category-deviceNotRegistered-text = This application can only be opened from a device your organization knows, and the device you are using is not registered with your organization.
category-deviceNotCompliant-title = Device does not meet the security requirements
category-deviceNotCompliant-text = Your device is known to your organization, but it does not currently meet its security requirements (for example updates, encryption or a screen lock).
category-deviceNotHybridJoined-title = Company computer required
category-deviceNotHybridJoined-text = This application can only be opened from a computer managed by your organization and joined to its company network domain.
category-osVersionTooLow-title = Operating system too old
category-osVersionTooLow-text = The version of the operating system on your device is too old to open this application.
category-device-title = Device not allowed
category-device-text = This particular device or type of device is not allowed to open this application.
category-location-title = Location not allowed
category-location-text = You are connecting from a place or a network from which this application cannot be used.
category-anonymousNetwork-title = VPN or anonymous network
category-anonymousNetwork-text = You seem to be connecting through a VPN, a proxy or an anonymizing network, which hides where you really are.
category-platform-title = Device type not supported
category-platform-text = This application cannot be opened from this kind of device or operating system.
category-clientApp-title = Way of connecting not allowed
category-clientApp-text = This application cannot be opened this way (in a web browser, in an app, or with an older mail program).
category-approvedApp-title = Approved app required
category-approvedApp-text = This application must be opened from an app approved by your organization, such as the official Microsoft mobile apps.
category-appProtection-title = Protected app required
category-appProtection-text = This application must be opened from an app that your organization protects with its data protection settings.
category-risk-title = Unusual sign-in
category-risk-text = This sign-in or your account looks unusual or risky, so access was stopped to protect you.
category-authenticationFlow-title = Sign-in method not allowed
category-authenticationFlow-text = The way you signed in (for example a code entered on another device, or a sign-in passed on from another device) is not allowed for this application.
category-blocked-title = Access not allowed
category-blocked-text = Your organization does not allow access to this application in this situation. There is nothing you can change yourself.
category-mfaRequired-title = Additional verification (MFA) required
category-mfaRequired-text = To open this application you need to confirm your identity with a second method, such as the Authenticator app, a text message or a security key.
category-authenticationStrength-title = Stronger sign-in method required
category-authenticationStrength-text = This application needs a stronger way to sign in than the one you used, such as a security key, Windows Hello or a passkey.
category-termsOfUse-title = Terms of use to accept
category-termsOfUse-text = You need to read and accept your organization's terms of use before opening this application.
category-passwordChange-title = Password change required
category-passwordChange-text = You need to change your password before you can open this application.

## What the user can do, one sentence per user action
action-registerDevice = Register this device with your organization (for example with the Company Portal app, or under "Access work or school" in the device settings), then try again.
action-makeDeviceCompliant = Bring your device up to your organization's requirements: open the Company Portal app, check the device status and follow its instructions, then try again.
action-updateOs = Install the latest updates of your operating system, restart the device, then try again.
action-useAnotherDevice = Use another device, such as a computer or a phone provided or managed by your organization.
action-disconnectVpn = Disconnect from your VPN or proxy (personal VPN apps included), then try again.
action-signInFromAllowedLocation = Try again from an allowed place, such as your office network or your usual country.
action-useDesktopApp = Open this application with its desktop or mobile app instead of a web browser.
action-useBrowser = Open this application in a web browser instead of the app.
action-useApprovedApp = Use an app approved by your organization (for example Outlook or Microsoft Edge on a phone) to open this application.
action-useModernClient = Your program uses an older way of connecting that is not allowed: use an up-to-date app, such as a recent version of Outlook.
action-completeMfa = Sign in again and complete the additional verification (for example approve the notification in the Authenticator app).
action-completeMfaInHomeOrganization = Complete the additional verification in your own organisation: sign in again and approve the multifactor authentication your home organisation asks for.
action-useStrongerMethod = Sign in with a stronger method, such as a security key, Windows Hello or a passkey. If you have none, ask your support to set one up.
action-changePassword = Change your password, then sign in again with the new one.
action-acceptTermsOfUse = Sign in again and accept the terms of use when they are shown.
action-waitAndRetry = Wait a while and try again later.
action-contactSupport = Contact your IT support and give them the troubleshooting details below.
action-contactSupport-with = Contact your IT support ({ $support }) and give them the troubleshooting details below.

## Detailed disclosure: what the deciding rule checked, in generic terms
condition-location = Location: not in an allowed or trusted location
condition-devicePlatform = Device platform: this platform is restricted
condition-devices = Device: the state or properties of this device are restricted
condition-clientApps = Client app: this way of connecting (browser, app or legacy protocol) is restricted
condition-signInRisk = Sign-in risk: this sign-in was rated risky
condition-userRisk = User risk: the account was rated risky
condition-insiderRisk = Insider risk: the account was flagged
condition-authenticationFlow = Authentication flow: this sign-in flow (device code or transfer) is restricted
control-block = Grant: access is blocked
control-mfa = Grant: multifactor authentication required
control-authenticationStrength = Grant: stronger authentication method required
control-compliantDevice = Grant: compliant device required
control-domainJoinedDevice = Grant: hybrid joined device required
control-approvedApplication = Grant: approved client app required
control-compliantApplication = Grant: app protection policy required
control-passwordChange = Grant: password change required
control-riskRemediation = Grant: secure remediation of the risk required
control-termsOfUse = Grant: terms of use must be accepted
control-customAuthenticationFactors = Grant: custom verification required
control-signInFrequency = Session: a fresh sign-in is required
