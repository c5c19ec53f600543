//! Graph enumerations used by conditions, controls and requests, with their wire spellings.

/// Defines a field-less enum with its Graph spelling, case-insensitive parsing and `ALL`.
macro_rules! graph_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every member, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The Graph spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the Graph spelling, case-insensitively.
            pub fn parse(text: &str) -> Option<Self> {
                let text = text.trim();
                $(if text.eq_ignore_ascii_case($text) { return Some($name::$variant); })+
                None
            }

            /// The Graph spellings of every member, for error messages.
            pub fn expected() -> String {
                [$($text),+].iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
            }

            /// Dense index of the member (declaration order).
            pub fn index(self) -> usize {
                self as usize
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use graph_enum;

graph_enum! {
    /// Client app type of a sign-in (`conditionalAccessClientApp` without `all`).
    ClientAppType {
        /// Web browser (SAML, WS-Fed, OIDC, confidential clients).
        Browser = "browser",
        /// Modern-auth native and mobile clients.
        MobileAppsAndDesktopClients = "mobileAppsAndDesktopClients",
        /// Exchange ActiveSync (legacy authentication).
        ExchangeActiveSync = "exchangeActiveSync",
        /// Every other legacy protocol (IMAP, POP3, SMTP AUTH, ...).
        Other = "other",
    }
}

impl ClientAppType {
    /// Legacy authentication clients cannot perform MFA or interactive controls.
    pub fn is_legacy(self) -> bool {
        matches!(
            self,
            ClientAppType::ExchangeActiveSync | ClientAppType::Other
        )
    }
}

graph_enum! {
    /// Device platform of a sign-in; `Unknown` is what Entra sees for unrecognised platforms.
    DevicePlatform {
        /// Android.
        Android = "android",
        /// iOS and iPadOS.
        IOS = "iOS",
        /// Windows.
        Windows = "windows",
        /// Windows Phone (legacy).
        WindowsPhone = "windowsPhone",
        /// macOS.
        MacOS = "macOS",
        /// Linux.
        Linux = "linux",
        /// A platform Entra does not recognise (ChromeOS, unknown user agents).
        Unknown = "unknown",
    }
}

graph_enum! {
    /// Sign-in, user and service-principal risk level.
    RiskLevel {
        /// No risk.
        None = "none",
        /// Low risk.
        Low = "low",
        /// Medium risk.
        Medium = "medium",
        /// High risk.
        High = "high",
    }
}

graph_enum! {
    /// Insider risk level of a user (Purview Adaptive Protection).
    InsiderRiskLevel {
        /// No insider risk.
        None = "none",
        /// Minor.
        Minor = "minor",
        /// Moderate.
        Moderate = "moderate",
        /// Elevated.
        Elevated = "elevated",
    }
}

graph_enum! {
    /// Authentication transfer method of a sign-in (protocol tracked).
    TransferMethod {
        /// Neither device code nor authentication transfer.
        None = "none",
        /// Device code flow.
        DeviceCodeFlow = "deviceCodeFlow",
        /// Authentication transfer (QR code from desktop to mobile).
        AuthenticationTransfer = "authenticationTransfer",
    }
}

graph_enum! {
    /// Kinds of guest or external users (`conditionalAccessGuestOrExternalUserTypes`).
    ExternalUserType {
        /// Local guest: credentials in this directory, `userType` Guest.
        InternalGuest = "internalGuest",
        /// B2B collaboration guest.
        B2bCollaborationGuest = "b2bCollaborationGuest",
        /// B2B collaboration member.
        B2bCollaborationMember = "b2bCollaborationMember",
        /// B2B direct connect user (no object here).
        B2bDirectConnectUser = "b2bDirectConnectUser",
        /// Any other external user.
        OtherExternalUser = "otherExternalUser",
        /// Service provider (CSP / GDAP) user.
        ServiceProvider = "serviceProvider",
    }
}

graph_enum! {
    /// Built-in grant controls (`conditionalAccessGrantControl`).
    BuiltInControl {
        /// Block access.
        Block = "block",
        /// Require multifactor authentication.
        Mfa = "mfa",
        /// Require a compliant device.
        CompliantDevice = "compliantDevice",
        /// Require a Microsoft Entra hybrid joined device.
        DomainJoinedDevice = "domainJoinedDevice",
        /// Require an approved client app.
        ApprovedApplication = "approvedApplication",
        /// Require an app protection policy.
        CompliantApplication = "compliantApplication",
        /// Require a password change.
        PasswordChange = "passwordChange",
        /// Microsoft-managed remediation of user risk.
        RiskRemediation = "riskRemediation",
    }
}

graph_enum! {
    /// Authentication method modes (`authenticationMethodModes`).
    AuthMethod {
        /// Password.
        Password = "password",
        /// Voice call.
        Voice = "voice",
        /// Hardware OATH token.
        HardwareOath = "hardwareOath",
        /// Software OATH token.
        SoftwareOath = "softwareOath",
        /// SMS.
        Sms = "sms",
        /// FIDO2 security key or passkey.
        Fido2 = "fido2",
        /// Windows Hello for Business.
        WindowsHelloForBusiness = "windowsHelloForBusiness",
        /// Microsoft Authenticator push.
        MicrosoftAuthenticatorPush = "microsoftAuthenticatorPush",
        /// Microsoft Authenticator phone sign-in.
        DeviceBasedPush = "deviceBasedPush",
        /// Temporary Access Pass, one-time.
        TemporaryAccessPassOneTime = "temporaryAccessPassOneTime",
        /// Temporary Access Pass, multi-use.
        TemporaryAccessPassMultiUse = "temporaryAccessPassMultiUse",
        /// Email one-time passcode.
        Email = "email",
        /// Certificate-based authentication, single factor.
        X509CertificateSingleFactor = "x509CertificateSingleFactor",
        /// Certificate-based authentication, multi-factor.
        X509CertificateMultiFactor = "x509CertificateMultiFactor",
        /// Federated single factor.
        FederatedSingleFactor = "federatedSingleFactor",
        /// Federated multi-factor.
        FederatedMultiFactor = "federatedMultiFactor",
        /// QR code with PIN.
        QrCodePin = "qrCodePin",
    }
}

/// A set of authentication methods as a bitmask over [`AuthMethod::index`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AuthMethods(pub u32);

impl AuthMethods {
    /// Adds a method.
    pub fn insert(&mut self, m: AuthMethod) {
        self.0 |= 1 << m.index();
    }
    /// Whether every method of `combination` is in the set.
    pub fn covers(self, combination: AuthMethods) -> bool {
        combination.0 != 0 && self.0 & combination.0 == combination.0
    }
    /// Builds a set from methods.
    pub fn of(methods: &[AuthMethod]) -> Self {
        let mut s = AuthMethods(0);
        for m in methods {
            s.insert(*m);
        }
        s
    }
    /// The methods in the set.
    pub fn iter(self) -> impl Iterator<Item = AuthMethod> {
        AuthMethod::ALL
            .iter()
            .copied()
            .filter(move |m| self.0 & (1 << m.index()) != 0)
    }
}

/// A small set of enum members as a bitmask over their dense index (at most 32 members).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct EnumSet(pub u32);

impl EnumSet {
    /// Adds a member index.
    pub fn insert(&mut self, index: usize) {
        self.0 |= 1 << index;
    }
    /// Whether the member index is present.
    pub fn contains(self, index: usize) -> bool {
        self.0 & (1 << index) != 0
    }
    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}
