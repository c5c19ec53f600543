# Messages of the gardien web console (English, the default language).
#
# Same format as en.ftl (the denial page's): one `key = value` per line, `#` comments,
# `{ $name }` placeholders; values are plain text, HTML-escaped when shown. Every language
# file has exactly the same keys (a unit test checks it).

## Frame
console = console
skip = Skip to content
nav-label = Console
nav-signins = Sign-ins
nav-versions = Policy versions
role-reader = reader
role-admin = admin
sign-out = Sign out
footer = gardien console: decisions are computed by the same evaluator as the server and the CLI.
back-home = Back to the console
continue = Continue

## Sign-in
login-title = Sign in to the gardien console
login-token-heading = Admin API token
login-token-hint = A token of the admin API ([admin] token_sha256 or a named [[admin.tokens]] entry): its role, reader or admin, is the session's. The decision token does not open the console.
login-token-label = Token
login-submit = Sign in
login-none-configured = No sign-in method is configured: set an [admin] token or [console.oidc] (see docs/console.md).
oidc-sign-in = Sign in with
oidc-default-label = your organization
oidc-signed-in = You are signed in.

## Errors
error-title = Not possible
error-admin-only = This page is for administrators.
error-csrf = The form was refused: its security token is missing or invalid. Reload the page and try again.
error-bad-token = This token does not open the console.
error-internal = Something went wrong; the details are in the server log.
error-store = The store did not answer; try again in a moment.
error-no-oidc = Sign-in through an identity provider is not configured.
error-oidc-refused = The identity provider did not sign you in.
error-oidc-state = This sign-in attempt is unknown or has expired. Start again.
error-oidc-token = The identity provider's answer could not be verified.
error-rate-limited = Too many sign-in attempts from your address; wait a minute and try again.
error-oidc-discovery = The identity provider's configuration could not be read; try again later.
error-signout = You could not be signed out: the store did not answer. Try again.
error-no-role = Your account has no role for the gardien console.
error-no-signin = No sign-in has this correlation id.
error-not-replayable = This sign-in cannot be decided again: its request or its policy version is no longer available.
error-no-version = No such policy version.
error-diff-query = Choose two versions to compare.
error-conflict = The policies changed meanwhile; reload the page and try again.

## Search
search-title = Sign-ins
search-user = User
search-app = Application
search-result = Result
search-any = Any
search-code = Error code
search-from = From (UTC)
search-to = To (UTC)
search-correlation = Correlation id
search-submit = Search
search-none = No sign-in matches.
search-older = Older sign-ins
search-choose-user = Several users match; choose one:
search-more-users = More users match: type more of the name.
search-bad-before = The page position is not valid; start the search again.
search-caption = Newest matching sign-ins ({ $n })
search-bad-result = The result must be allow, challenge or deny.
search-bad-code = The error code must be a number, such as 53003.
search-bad-time = A time must look like 2026-12-07T10:20 (UTC).
col-time = Time (UTC)
decision-allow = Allowed
decision-challenge = Challenged
decision-deny = Denied

## One sign-in
signin-title = Sign-in
signin-summary = Summary
signin-decision = Decision
signin-required = Required controls
signin-ip = IP address
signin-location = Country or region
signin-client = Client app
signin-device = Device
signin-version = Policy version
signin-mismatch = Decided again now, this sign-in gives { $now }: the logged decision was made by another evaluator or input.
signin-user-saw = What the user saw
signin-allowed = The sign-in was allowed: the user saw no page.
signin-temporary = This is likely temporary.
signin-structural = This will not change by itself.
signin-policies = Policies
signin-minimal = Policy details are hidden at your disclosure level.
signin-policy-n = Policy { $n }
signin-applies = applies
signin-not-applies = does not apply
signin-grant = Grant
device-compliant = compliant
device-not-compliant = registered, not compliant
device-unregistered = unregistered

## Conditions (what-if names)
cond-users = Users
cond-workloadIdentities = Workload identities
cond-application = Application
cond-userActions = User actions
cond-authenticationContext = Authentication context
cond-devicePlatform = Device platform
cond-devices = Device filter
cond-clientApps = Client apps
cond-location = Location
cond-signInRisk = Sign-in risk
cond-userRisk = User risk
cond-insiderRisk = Insider risk
cond-authenticationFlow = Authentication flow
outcome-satisfied = met
outcome-notSatisfied = not met
outcome-notEnoughInformation = not enough information

## What if
whatif-title = What if
whatif-hint = The logged sign-in, with your changes, decided again by the same evaluator.
whatif-country = Country (2 letters)
whatif-methods = Authentication methods done
whatif-submit = Decide again
whatif-outcome = Outcome
whatif-back = Back to the logged sign-in
whatif-user-would-see = What the user would see
whatif-allowed = The sign-in would be allowed: the user would see no page.
whatif-bad-ip = The IP address is not valid.
whatif-bad-country = The country must be two letters, such as FR.
whatif-bad-client = Unknown client app.
whatif-bad-method = Unknown authentication method.
whatif-bad-device = Unknown device state.
client-browser = Browser
client-mobileAppsAndDesktopClients = Mobile app or desktop client
client-exchangeActiveSync = Exchange ActiveSync
client-other = Other (legacy protocol)

## Versions
versions-title = Policy versions
versions-caption = Every accepted change, newest first
versions-version = Version
versions-author = Author
versions-summary = Change
versions-action = Action
versions-current = In force
versions-rollback = Roll back to
versions-diff-heading = Compare two versions
versions-from = From version
versions-to = To version
versions-diff-submit = Compare
diff-title = What changes between two versions
diff-lead = Sign-ins whose decision changes from version { $from } to version { $to }, computed over every class of sign-in the two policy sets distinguish.
diff-policy-changes = Policies changed
diff-no-policy-change = No policy differs.
diff-changes = Decisions that change
diff-no-change = No sign-in changes decision.
diff-caused-by = Caused by:
diff-back = Back to the versions
rollback-title = Rolled back
rollback-done = Version { $restored } is in force again, as version { $version }.
