//! What a `User-Agent` header says about the client (docs/reference/entra-semantics.md §3.6, §3.7):
//! the Entra device platform, the OS version, and the client app type.
//!
//! A User-Agent is written by the client and proves nothing: Entra itself detects the
//! platform from it and Microsoft recommends platform conditions for *block* rules or
//! together with device or app controls. This classifier is a hand-written, allocation-free
//! scanner: it looks at the first [`MAX_SCANNED_BYTES`] bytes, matches ASCII keywords
//! case-insensitively where clients vary, and never fails (any input gives an answer).
//!
//! # Device platform
//!
//! The first rule that matches wins (docs/reference/entra-semantics.md §3.6, refined):
//!
//! 1. **windowsPhone**: `Windows Phone`, `Windows Mobile`, `WindowsPhone`, `WPDesktop`,
//!    `ZuneWP7` / `XBLWP7`, UC Browser's `wds 7.10`, the EAS client `MSFT-WP`. Checked first
//!    because Windows Phone 8.1 also writes `Android` and `like iPhone`.
//! 2. **android**: an `Android` word (also `Android2.2`, `Android/7.0`, `Android-Mail`), UC
//!    Browser's `Adr 4.2` and `JUC (Linux; …`, Meta Quest's `OculusBrowser` (its UA says
//!    `X11; Linux`), and Amazon `Silk` (Fire OS is Android; Silk's desktop mode sends a Mac
//!    UA). `Outlook-iOS-Android` is a product name and says nothing about the platform.
//! 3. **unknown** for other Apple systems: `watchOS`, `tvOS`, `Apple TV` / `AppleTV`. Entra's
//!    iOS platform covers iOS and iPadOS only, and Intune manages neither watchOS nor tvOS,
//!    so these fall under "unsupported platform" rules. A bare `CFNetwork … Darwin/…` UA from
//!    a watch or TV app cannot be told from an iOS one and is classified iOS.
//! 4. **iOS**: the iOS-only browsers `CriOS`, `FxiOS`, `EdgiOS`, `OPiOS` (even when they ask
//!    for a desktop site and send a Mac UA); `iPhone`, `iPad`, `iPod`, an `iOS` word; and
//!    native Apple networking (`CFNetwork`, `Darwin/`) *without* a Mac hint (`x86_64`,
//!    `i386`, `arm64`, `amd64`, `ppc`, `MacBook…`, `Macmini`, `iMac`, `MacPro`, `macOS`,
//!    `Macintosh`, `Mac OS X`, Go's `GOOS`): iOS apps send no architecture, macOS apps do.
//! 5. **macOS**: `Macintosh`, `Mac OS X`, a `macOS` word, `MacOutlook`, and Darwin with a Mac
//!    hint. **Caveat**: iPadOS Safari (13 and later) requests desktop sites by default and
//!    sends a Mac UA (`Macintosh; Intel Mac OS X 10_15_7`) with nothing that tells an iPad,
//!    so an iPad browser is classified macOS — as Entra sees it too. A policy that requires a
//!    compliant device on iOS does not catch it; pair it with a macOS or "all platforms" rule.
//!    Likewise Android browsers in "desktop site" mode send a Linux UA (`X11; Linux
//!    x86_64`) and are classified linux.
//! 6. **unknown** for ChromeOS: `CrOS`, and Citrix Workspace's ChromeOS UA (`X11; Windows …
//!    CitrixChromeApp`). Entra does not support ChromeOS as a platform.
//! 7. **windows**: `Windows` (including `Windows NT`, `Windows CE`, `Microsoft_Windows_NT`),
//!    `WinNT`, `Win95`, `Win98`, `Win 9x`, `Win3.11`, `Win16`, `Win32`, `Win64`, `MSFT-WIN`.
//! 8. **unknown** for systems that mention Linux or X11 but are not what Entra calls Linux:
//!    the BSDs (Entra has no BSD platform; its `linux` is Linux only), Solaris / SunOS, AIX,
//!    HP-UX, IRIX, Tizen, webOS, KaiOS, Maemo, MeeGo, Sailfish, HarmonyOS, BlackBerry,
//!    Symbian, Fuchsia, e-ink Kindles, game consoles, and TVs or cast devices (`HbbTV`,
//!    `SMART-TV`, `GoogleTV`, `NetCast`, `CrKey`, Roku, WebTV).
//! 9. **linux**: `Linux`, `X11`, or a distribution name (Ubuntu and its flavours, Fedora,
//!    Debian, Gentoo, Red Hat, CentOS, Mandriva, Slackware, SUSE).
//! 10. **unknown** otherwise, including an empty User-Agent.
//!
//! # OS version
//!
//! [`OsVersion`] is numeric so that a "minimum OS version" rule can compare it:
//!
//! * Android, iOS, macOS and Windows Phone: the version the UA writes (`Android 14`,
//!   `iPhone OS 17_4_1`, `Mac OS X 10_15_7`, `Windows Phone 8.1`), `_` or `.` separated.
//!   Versions outside a plausible range for the platform are ignored (so an app's own
//!   version, as in `Outlook-iOS/665.29827`, is not taken for the OS version).
//! * Windows: the **NT version**, the scale Entra and Intune use for Windows
//!   (`10.0.19045`): `Windows NT 6.1` → `6.1.0`; marketing names are translated
//!   (`Windows 7` → `6.1`, `Windows 8.1` → `6.3`, `Windows 10` → `10.0`, `Windows 11` →
//!   `10.0.22000`, `XP` → `5.1`, `Vista` → `6.0`, `2000` → `5.0`); the Windows 9x line gets
//!   its internal versions (`95` → `4.0`, `98` → `4.10`, `ME` → `4.90`, `3.1` → `3.1`).
//!   Windows CE has none (its versions are not on the NT scale). Browsers freeze the UA at
//!   `Windows NT 10.0`, so Windows 11 looks like Windows 10 and no build number is seen: a
//!   rule asking for `10.0.19045` is never met by a browser's UA.
//! * iOS and macOS apps that only send `CFNetwork/… Darwin/…`: the version is inferred
//!   from the Darwin kernel version (iOS: Darwin 9 → 2, 10 → 3.2 or 4, 11 → 4.3 or 5,
//!   13 → 6, 14 → 7 or 8, with the `CFNetwork` version telling them apart, Darwin 15–24 →
//!   iOS 9–18, Darwin 25 → iOS 26, and from Darwin 21 the Darwin minor as iOS minor; macOS: Darwin 5–19 → 10.1–10.15, Darwin
//!   20–24 → 11–15, Darwin 25 → 26). Where only the major can be inferred, minor and patch
//!   are 0: a lower bound, so a minimum-version rule errs towards non-compliance.
//! * **Frozen versions**: Chromium's User-Agent reduction writes `Android 10; K` on every
//!   Android, `Windows NT 10.0` on every Windows and `Mac OS X 10_15_7` on every Mac;
//!   Safari and Firefox freeze macOS at 10.15 too. The real versions travel in Client Hints
//!   (`Sec-CH-UA-Platform-Version`), which this module does not read. A UA version is
//!   therefore a claim and often a floor, never proof for a minimum-version rule.
//! * Linux: the kernel version when written (`Linux 2.6.32`, `Linux/5.15.0`); distribution
//!   versions in UAs are unreliable (`Fedora/3.0.4` is the Firefox package) and ignored.
//!
//! # Client app type
//!
//! The protocol decides in Entra (docs/reference/entra-semantics.md §3.7); a UA is the best hint a
//! proxy has:
//!
//! 1. **other** for an empty User-Agent (or one without any ASCII letter or digit, such as
//!    `-` or blanks): IMAP, POP3 and SMTP AUTH clients and
//!    scripts send none, and `other` is the most restrictive class (legacy authentication,
//!    blocked whatever the grant control).
//! 2. **exchangeActiveSync**: native EAS mail clients: a UA that starts with `Apple-iPhone`,
//!    `Apple-iPad`, `Apple-iPod` (iOS Mail, e.g. `Apple-iPhone9C1/1702.80`) or `Android-`
//!    (`Android-Mail/…`, Samsung's `Android-SAMSUNG-SM-…`); an upper-case `EAS` word
//!    (`Android/4.4-EAS-1.3`, `(EAS)`); `ActiveSync`; `MSFT-WP/`, `MSFT-WIN-` (Windows Phone
//!    and Windows Mail EAS); `TouchDown`; iOS's EAS daemon `dataaccessd`.
//! 3. **other**: clients that announce a legacy protocol or basic authentication:
//!    `BAV2ROPC` (Exchange Online's basic-auth-to-ROPC bridge, as seen in Entra logs),
//!    `CBAInPROD` / `CBAinTAR` (Exchange's certificate-based legacy auth),
//!    `ExchangeServicesClient` / `ExchangeWebServices` (EWS; with OAuth EWS is modern, but
//!    the UA cannot tell and legacy is the restrictive reading), `Outlook-Express` (Windows
//!    Live Mail), and Office / Outlook 2010 and older (`Microsoft Outlook 14.0`,
//!    `MSOffice 12`, `Microsoft Office/14.0`), which cannot do modern authentication.
//! 4. **mobileAppsAndDesktopClients**: modern-auth native clients: MSAL / ADAL
//!    (`MSAL`, `ADAL`, `Microsoft.Identity.Client`, `x-client-SKU`, `PKeyAuth`), Office 2013
//!    and later (`Microsoft Office/16.0`, `Microsoft Outlook 16.0`, `MSOffice 16`,
//!    `ms-office`), `MacOutlook`, `Outlook-iOS`, `Outlook-Android`, `Outlook-iOS-Android`
//!    (REST, not EAS), Teams (`Teams/`, `MicrosoftTeams`, `MSTeams`), OneDrive, OneNote, Skype,
//!    Windows' WAM (`Windows-AzureAD-Authentication-Provider`), PowerShell, Electron apps,
//!    Thunderbird (a mail app that signs in to Microsoft 365 with OAuth; its password-based
//!    IMAP reaches Entra as `BAV2ROPC`), native Apple (`CFNetwork`, `Darwin`) and Android
//!    (`okhttp`, `Dalvik`) networking, `Alamofire`, in-app browsers (`FBAN` / `FBAV`,
//!    `Instagram`, Android WebView's `wv` unless a `…Browser` token says the WebView *is* a
//!    browser, as in Maxthon's `MxBrowser`) and iOS WebViews (an iOS `Mozilla/` UA without
//!    `Safari`, an iOS browser token or a browser token).
//! 5. **browser**: a `Mozilla/` UA, or a browser token (`Opera`, `UCWEB`, `NetFront`,
//!    `Links`, `Lynx`, `w3m`, `Konqueror`, `Mosaic`, `Midori`, `Dolphin`, any `…Browser`
//!    word, …). Safari's own background requests (`Safari/… CFNetwork/… Darwin/…`) are
//!    native networking and count as an app; sign-in pages are loaded with `Mozilla/`.
//! 6. **mobileAppsAndDesktopClients** for anything else: a UA that is neither a browser nor
//!    a known legacy client is an HTTP library or a native app (`curl/8.5`,
//!    `python-requests/2.31`, `MyApp/1.0`), i.e. a public client using modern auth.

use gardien_core::model::enums::{ClientAppType, DevicePlatform};

/// At most this many bytes of a User-Agent are scanned; the rest is ignored. Real UAs are
/// a few hundred bytes, so the cap only bounds the work an attacker can cause.
pub const MAX_SCANNED_BYTES: usize = 2048;

pub use crate::os_version::OsVersion;

/// What a User-Agent says about the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserAgentInfo {
    /// The Entra device platform ([`DevicePlatform::Unknown`] when not recognised).
    pub platform: DevicePlatform,
    /// The OS version written in (or inferred from) the UA, if any (see the module docs).
    pub os_version: Option<OsVersion>,
    /// Browser, modern native client, Exchange ActiveSync or other legacy client.
    pub client_app_type: ClientAppType,
}

/// Classifies a User-Agent: platform, OS version and client app type (rules in the module
/// docs). Never fails and never allocates; an empty UA is `unknown` / `other`.
pub fn classify(user_agent: &str) -> UserAgentInfo {
    let all = user_agent.as_bytes();
    let b = all.get(..MAX_SCANNED_BYTES).unwrap_or(all);
    let mut words = Words::new(b);
    let f = scan(b, &mut words);
    let platform = platform_of(f);
    let os_version = match platform {
        DevicePlatform::Android => android_version(&words),
        DevicePlatform::IOS => ios_version(&words),
        DevicePlatform::MacOS => macos_version(&words),
        DevicePlatform::Windows => windows_version(&words),
        DevicePlatform::WindowsPhone => windows_phone_version(&words),
        DevicePlatform::Linux => linux_version(&words),
        DevicePlatform::Unknown => None,
    };
    UserAgentInfo {
        platform,
        os_version,
        client_app_type: client_app_of(b, f, platform),
    }
}

/// Slots of [`classify_remembered`]'s memo.
const MEMO_SLOTS: usize = 64;

/// User-Agents classified lately, direct-mapped by a hash of the text (the whole text is
/// compared: a slot answers only for the very same User-Agent).
static MEMO: std::sync::LazyLock<Vec<MemoSlot>> =
    std::sync::LazyLock::new(|| (0..MEMO_SLOTS).map(|_| Default::default()).collect());

/// A User-Agent (as scanned) and its classification.
type MemoSlot = std::sync::Mutex<Option<(Box<str>, UserAgentInfo)>>;

/// [`classify`], remembered for the last User-Agents seen (a process-wide memo of 64
/// slots: the result is a function of the text alone). A request path sees the same few
/// clients again and again; a browser's User-Agent costs a few thousand instructions to
/// scan, a lookup about a hash of the text and one comparison.
pub fn classify_remembered(user_agent: &str) -> UserAgentInfo {
    use std::hash::{Hash, Hasher};
    let all = user_agent.as_bytes();
    let scanned = all.get(..MAX_SCANNED_BYTES).unwrap_or(all);
    let mut h = rustc_hash::FxHasher::default();
    scanned.hash(&mut h);
    let Some(slot) = MEMO.get((h.finish() >> 58) as usize % MEMO_SLOTS) else {
        return classify(user_agent);
    };
    if let Ok(guard) = slot.lock()
        && let Some((text, info)) = guard.as_ref()
        && text.as_bytes() == scanned
    {
        return *info;
    }
    let info = classify(user_agent);
    if let (Ok(mut guard), Ok(text)) = (slot.lock(), std::str::from_utf8(scanned)) {
        *guard = Some((text.into(), info));
    }
    info
}

// ---------------------------------------------------------------------------------------
// Features found by the scanner, one bit each.

/// Windows Phone / Windows Mobile.
const WP: u64 = 1 << 0;
/// Android.
const ANDROID: u64 = 1 << 1;
/// Amazon Silk (Fire OS).
const SILK: u64 = 1 << 2;
/// watchOS, tvOS, Apple TV.
const APPLE_OTHER: u64 = 1 << 3;
/// Browsers that exist only on iOS.
const IOS_BROWSER: u64 = 1 << 4;
/// iPhone, iPad, iPod, iOS.
const IOS_DEVICE: u64 = 1 << 5;
/// CFNetwork or Darwin: native Apple networking.
const APPLE_NET: u64 = 1 << 6;
/// Macintosh, Mac OS X, macOS.
const MAC: u64 = 1 << 7;
/// Something only a Mac sends next to Darwin (architecture, Mac model).
const MAC_HINT: u64 = 1 << 8;
/// ChromeOS.
const CROS: u64 = 1 << 9;
/// Citrix Workspace's Chrome app.
const CITRIX_CHROME: u64 = 1 << 10;
/// Windows.
const WINDOWS: u64 = 1 << 11;
/// A system Entra does not know that may also say Linux or X11.
const NON_ENTRA: u64 = 1 << 12;
/// X11.
const X11: u64 = 1 << 13;
/// Linux or a distribution.
const LINUX: u64 = 1 << 14;
/// Exchange ActiveSync client.
const EAS: u64 = 1 << 15;
/// Legacy protocol or basic-auth client.
const LEGACY: u64 = 1 << 16;
/// Office / Outlook 2010 or older.
const OFFICE_OLD: u64 = 1 << 17;
/// Office / Outlook 2013 or later, or of unknown version.
const OFFICE_MODERN: u64 = 1 << 18;
/// Modern-auth native client.
const NATIVE: u64 = 1 << 19;
/// `Mozilla/`.
const MOZILLA: u64 = 1 << 20;
/// A browser's own token.
const BROWSER_TOKEN: u64 = 1 << 21;
/// `Safari` (absent from iOS WebViews).
const SAFARI: u64 = 1 << 22;
/// Android WebView (`; wv)`): an in-app browser unless a browser names itself.
const WEBVIEW: u64 = 1 << 23;

/// A keyword matched at the start of a word: lower-case ASCII text, the features it sets,
/// and whether the character after it must not be a letter.
type Keyword = (&'static [u8], u64, bool);

/// The keywords starting with `letter` (lower case).
fn keywords(letter: u8) -> &'static [Keyword] {
    match letter {
        b'a' => &[
            (b"android", ANDROID, false),
            (b"adal", NATIVE, true),
            (b"alamofire", NATIVE, false),
            (b"apple tv", APPLE_OTHER, true),
            (b"appletv", APPLE_OTHER, true),
            (b"activesync", EAS, false),
            (b"arm64", MAC_HINT, true),
            (b"amd64", MAC_HINT, true),
            (b"aix", NON_ENTRA, true),
        ],
        b'b' => &[
            (b"bav2ropc", LEGACY, false),
            (b"bsd", NON_ENTRA, true),
            (b"blackberry", NON_ENTRA, false),
            (b"bb10", NON_ENTRA, true),
        ],
        b'c' => &[
            (b"cfnetwork", APPLE_NET | NATIVE, false),
            (b"cros", CROS, true),
            (b"crios", IOS_BROWSER, true),
            (b"citrixchromeapp", CITRIX_CHROME, false),
            (b"cbainprod", LEGACY, false),
            (b"cbaintar", LEGACY, false),
            (b"centos", LINUX, false),
            (b"crkey", NON_ENTRA, false),
        ],
        b'd' => &[
            (b"darwin", APPLE_NET | NATIVE, true),
            (b"dalvik", ANDROID | NATIVE, false),
            (b"debian", LINUX, false),
            (b"dataaccessd", EAS, false),
            (b"dragonfly", NON_ENTRA, false),
            (b"dillo", BROWSER_TOKEN, false),
            (b"dolphin", BROWSER_TOKEN, true),
        ],
        b'e' => &[
            (b"electron/", NATIVE, false),
            (b"edgios", IOS_BROWSER, true),
            (b"exchangeservicesclient", LEGACY, false),
            (b"exchangewebservices", LEGACY, false),
            (b"elinks", BROWSER_TOKEN, false),
        ],
        b'f' => &[
            (b"fxios", IOS_BROWSER, true),
            (b"fedora", LINUX, false),
            (b"freebsd", NON_ENTRA, false),
            (b"fban", NATIVE, true),
            (b"fbav", NATIVE, true),
            (b"fuchsia", NON_ENTRA, false),
        ],
        b'g' => &[
            (b"gentoo", LINUX, false),
            (b"googletv", NON_ENTRA, false),
            (b"google tv", NON_ENTRA, false),
            (b"goos", MAC_HINT, true),
        ],
        b'h' => &[
            (b"hbbtv", NON_ENTRA, false),
            (b"hpwos", NON_ENTRA, false),
            (b"hp-ux", NON_ENTRA, false),
            (b"harmonyos", NON_ENTRA, false),
        ],
        b'i' => &[
            (b"iphone", IOS_DEVICE, false),
            (b"ipad", IOS_DEVICE, false),
            (b"ipod", IOS_DEVICE, false),
            (b"ios", IOS_DEVICE, true),
            (b"i386", MAC_HINT, true),
            (b"imac", MAC_HINT, false),
            (b"instagram", NATIVE, false),
            (b"irix", NON_ENTRA, false),
        ],
        b'k' => &[
            (b"kaios", NON_ENTRA, false),
            (b"kindle", NON_ENTRA, false),
            (b"kubuntu", LINUX, false),
            (b"konqueror", BROWSER_TOKEN, false),
        ],
        b'l' => &[
            (b"linux", LINUX, false),
            (b"lubuntu", LINUX, false),
            (b"links", BROWSER_TOKEN, true),
            (b"lynx", BROWSER_TOKEN, true),
        ],
        b'm' => &[
            (b"macintosh", MAC, false),
            (b"mac os x", MAC, false),
            (b"macos", MAC, true),
            (b"macoutlook", MAC | NATIVE, false),
            (b"macbook", MAC_HINT, false),
            (b"macmini", MAC_HINT, false),
            (b"macpro", MAC_HINT, false),
            (b"msal", NATIVE, true),
            (b"microsoft.identity.client", NATIVE, false),
            (b"microsoftteams", NATIVE, false),
            (b"msteams", NATIVE, false),
            (b"msft-wp", WP | EAS, false),
            (b"msft-win", WINDOWS | EAS, false),
            (b"ms-office", OFFICE_MODERN, false),
            (b"mozilla/", MOZILLA, false),
            (b"mandriva", LINUX, false),
            (b"maemo", NON_ENTRA, false),
            (b"meego", NON_ENTRA, false),
            (b"mosaic", BROWSER_TOKEN, false),
            (b"midori", BROWSER_TOKEN, false),
            (b"microsoft internet explorer", BROWSER_TOKEN, false),
        ],
        b'n' => &[
            (b"netbsd", NON_ENTRA, false),
            (b"nintendo", NON_ENTRA, false),
            (b"netcast", NON_ENTRA, false),
            (b"netfront", BROWSER_TOKEN, false),
        ],
        b'o' => &[
            (b"outlook-ios", IOS_DEVICE | NATIVE, false),
            (b"outlook-android", ANDROID | NATIVE, false),
            (b"outlook-express", LEGACY, false),
            (b"outlook express", LEGACY, false),
            (b"okhttp", NATIVE, false),
            (b"onedrive", NATIVE, false),
            (b"onenote", NATIVE, false),
            (b"oculus", ANDROID, false),
            (b"opios", IOS_BROWSER, true),
            (b"openbsd", NON_ENTRA, false),
            (b"opensuse", LINUX, false),
            (b"opera", BROWSER_TOKEN, false),
            (b"obigo", BROWSER_TOKEN, false),
        ],
        b'p' => &[
            (b"pkeyauth", NATIVE, false),
            (b"playstation", NON_ENTRA, false),
            (b"powershell", NATIVE, false),
            (b"ppc", MAC_HINT, true),
        ],
        b'r' => &[
            (b"red hat", LINUX, false),
            (b"redhat", LINUX, false),
            (b"roku", NON_ENTRA, false),
        ],
        b's' => &[
            (b"silk", SILK, false),
            (b"safari", SAFARI, false),
            (b"skype", NATIVE, false),
            (b"skydrive", NATIVE, false),
            (b"slackware", LINUX, false),
            (b"suse", LINUX, true),
            (b"sunos", NON_ENTRA, false),
            (b"solaris", NON_ENTRA, false),
            (b"symbian", NON_ENTRA, false),
            (b"series60", NON_ENTRA, false),
            (b"sailfish", NON_ENTRA, false),
            (b"smart-tv", NON_ENTRA, false),
            (b"smarttv", NON_ENTRA, false),
        ],
        b't' => &[
            (b"teams/", NATIVE, false),
            (b"tvos", APPLE_OTHER, true),
            (b"tizen", NON_ENTRA, false),
            (b"touchdown", EAS, false),
            (b"thunderbird", NATIVE, false),
        ],
        b'u' => &[(b"ubuntu", LINUX, false), (b"ucweb", BROWSER_TOKEN, false)],
        b'w' => &[
            (b"windows phone", WP, false),
            (b"windows mobile", WP, false),
            (b"windowsphone", WP, false),
            (b"windows-azuread-authentication-provider", NATIVE, false),
            (b"windowspowershell", NATIVE, false),
            (b"windows", WINDOWS, false),
            (b"wpdesktop", WP, false),
            (b"wv", WEBVIEW, true),
            (b"watchos", APPLE_OTHER, true),
            (b"webos", NON_ENTRA, false),
            (b"web0s", NON_ENTRA, false),
            (b"webtv", NON_ENTRA, false),
            (b"w3m", BROWSER_TOKEN, true),
        ],
        b'x' => &[
            (b"x11", X11, true),
            (b"x86_64", MAC_HINT, false),
            (b"xblwp", WP, false),
            (b"x-client-sku", NATIVE, false),
            (b"xubuntu", LINUX, false),
        ],
        b'z' => &[(b"zunewp", WP, false)],
        _ => &[],
    }
}

/// One pass over the UA: at each word start, the keywords of its first letter and a few
/// rules that need more context; a word ending in `browser` is a browser token.
fn scan(b: &[u8], words: &mut Words<'_>) -> u64 {
    let mut f = 0;
    let mut i = 0;
    while i < b.len() {
        if !is_word_start(b, i) {
            i += 1;
            continue;
        }
        words.push(i);
        let letter = at(b, i).to_ascii_lowercase();
        let second = at(b, i + 1).to_ascii_lowercase();
        for &(kw, flag, bounded) in keywords(letter) {
            // Every keyword has two letters or more; the second rejects most quickly.
            if kw.get(1) == Some(&second) && keyword_at(b, i, kw, bounded) {
                f |= flag;
            }
        }
        let end = word_end(b, i);
        if matches!(letter, b'a' | b'e' | b'j' | b'm' | b'w') {
            f |= special_at(b, i, letter);
        }
        if end - i >= 7 && ends_with_ci(b.get(i..end).unwrap_or_default(), b"browser") {
            f |= BROWSER_TOKEN;
        }
        // `Outlook-iOS-Android` names a product, not a platform: skip its words.
        i = if letter == b'o' && starts_ci(b, i, b"outlook-ios-android") {
            f |= NATIVE;
            i + b"outlook-ios-android".len()
        } else {
            end.max(i + 1)
        };
    }
    f
}

/// Rules at a word start that need more than a keyword.
fn special_at(b: &[u8], i: usize, letter: u8) -> u64 {
    match letter {
        // UC Browser: `Adr 4.2.2` is Android.
        b'a' if keyword_at(b, i, b"adr", true)
            && at(b, i + 3) == b' '
            && at(b, i + 4).is_ascii_digit() =>
        {
            ANDROID
        }
        // Upper-case `EAS` word: an ActiveSync client (`Android/4.4-EAS-1.3`).
        b'e' if b.get(i..i + 3) == Some(&b"EAS"[..]) && !at(b, i + 3).is_ascii_alphabetic() => EAS,
        // UC Browser's Android build: `JUC (Linux; U; 2.3.6; …)`.
        b'j' if keyword_at(b, i, b"juc", true) => {
            let j = skip(b, i + 3, b" ");
            if at(b, j) == b'(' && starts_ci(b, j + 1, b"linux") {
                ANDROID
            } else {
                0
            }
        }
        // Office and Outlook: 2010 (14) and older cannot do modern authentication.
        b'm' => {
            for kw in [&b"microsoft office"[..], b"microsoft outlook", b"msoffice"] {
                if starts_ci(b, i, kw) {
                    return if office_is_old(b, i + kw.len()) {
                        OFFICE_OLD
                    } else {
                        OFFICE_MODERN
                    };
                }
            }
            0
        }
        // `Win95`, `Win98`, `Win16`, `Win32`, `WinNT`, `Win 9x`, `WinCE`.
        b'w' if starts_ci(b, i, b"win") => {
            let j = i + 3;
            let c = at(b, j);
            if c.is_ascii_digit()
                || keyword_at(b, j, b"nt", true)
                || keyword_at(b, j, b"ce", true)
                || starts_ci(b, j, b" nt ")
                || starts_ci(b, j, b" 9x")
            {
                WINDOWS
            } else {
                0
            }
        }
        b'w' if keyword_at(b, i, b"wds", true)
            && at(b, i + 3) == b' '
            && at(b, i + 4).is_ascii_digit() =>
        {
            // UC Browser on Windows Phone: `(Windows; U; wds 7.10; …)`.
            WP
        }
        _ => 0,
    }
}

/// Whether the Office version after a product name (`/12.0`, ` Outlook 14.0.7162`,
/// ` 12`) is 2010 / 14 or older. No version: not old.
fn office_is_old(b: &[u8], from: usize) -> bool {
    let mut j = from;
    let limit = from + 16;
    while j < limit && j < b.len() && !at(b, j).is_ascii_digit() {
        let c = at(b, j);
        if !(c.is_ascii_alphabetic() || c == b' ' || c == b'/') {
            return false;
        }
        j += 1;
    }
    match parse_version(b, j) {
        Some(p) if p.version.major >= 2000 => p.version.major <= 2010,
        Some(p) => p.version.major <= 14,
        None => false,
    }
}

/// The platform, first matching rule wins (module docs).
fn platform_of(f: u64) -> DevicePlatform {
    let has = |bits: u64| f & bits != 0;
    if has(WP) {
        DevicePlatform::WindowsPhone
    } else if has(ANDROID) || (has(SILK) && !has(NON_ENTRA)) {
        DevicePlatform::Android
    } else if has(APPLE_OTHER) {
        DevicePlatform::Unknown
    } else if has(IOS_BROWSER | IOS_DEVICE) || (has(APPLE_NET) && !has(MAC | MAC_HINT)) {
        DevicePlatform::IOS
    } else if has(MAC | APPLE_NET) {
        DevicePlatform::MacOS
    } else if has(CROS) || (has(CITRIX_CHROME) && has(X11)) {
        DevicePlatform::Unknown
    } else if has(WINDOWS) {
        DevicePlatform::Windows
    } else if has(NON_ENTRA) {
        DevicePlatform::Unknown
    } else if has(LINUX | X11) {
        DevicePlatform::Linux
    } else {
        DevicePlatform::Unknown
    }
}

/// The client app type (module docs).
fn client_app_of(b: &[u8], f: u64, platform: DevicePlatform) -> ClientAppType {
    let has = |bits: u64| f & bits != 0;
    if !b.iter().any(u8::is_ascii_alphanumeric) {
        ClientAppType::Other
    } else if has(EAS)
        || b.starts_with(b"Apple-iPhone")
        || b.starts_with(b"Apple-iPad")
        || b.starts_with(b"Apple-iPod")
        || starts_ci(b, 0, b"android-")
    {
        ClientAppType::ExchangeActiveSync
    } else if has(LEGACY | OFFICE_OLD) {
        ClientAppType::Other
    } else if has(NATIVE | OFFICE_MODERN)
        || (has(WEBVIEW) && !has(BROWSER_TOKEN))
        || (platform == DevicePlatform::IOS
            && has(MOZILLA)
            && !has(SAFARI | IOS_BROWSER | BROWSER_TOKEN))
    {
        ClientAppType::MobileAppsAndDesktopClients
    } else if has(MOZILLA | BROWSER_TOKEN) {
        ClientAppType::Browser
    } else {
        ClientAppType::MobileAppsAndDesktopClients
    }
}

// ---------------------------------------------------------------------------------------
// OS versions.

/// Android: `Android 14`, `Android/7.1.2`, `Android: 11`, `Android2.2.1`,
/// `android mobile/7.0`, UC Browser's `Adr 4.2.2` and `JUC (Linux; U; 2.3.6; …)`.
fn android_version(words: &Words<'_>) -> Option<OsVersion> {
    let b = words.bytes;
    let plausible = |v: OsVersion| (1..=40).contains(&v.major);
    for i in words.starting_with(b"android") {
        if in_product_name(b, i, 7) {
            continue;
        }
        let mut j = skip(b, i + 7, b" /:");
        if starts_ci(b, j, b"mobile/") {
            j += 7;
        }
        if let Some(v) = version_at(b, j).filter(|v| plausible(*v)) {
            return Some(v);
        }
    }
    for i in words.starting_with(b"adr ") {
        if let Some(v) = version_at(b, i + 4).filter(|v| plausible(*v)) {
            return Some(v);
        }
    }
    for i in words.starting_with(b"linux") {
        let j = skip(b, i + 5, b" ");
        if at(b, j) != b';' {
            continue;
        }
        let j = skip(b, j + 1, b" ");
        if at(b, j).eq_ignore_ascii_case(&b'u') && at(b, j + 1) == b';' {
            let j = skip(b, j + 2, b" ");
            if let Some(v) = version_at(b, j).filter(|v| plausible(*v)) {
                return Some(v);
            }
        }
    }
    None
}

/// iOS: `CPU iPhone OS 17_4_1 like Mac OS X`, `iOS 7.0.2`, `iOS/7.0`, `iPh OS 5_0_1`,
/// `iPhone OS,6.1`, `iPhone/6.1.2`, else the Darwin version of a `CFNetwork` app.
fn ios_version(words: &Words<'_>) -> Option<OsVersion> {
    let b = words.bytes;
    let plausible = |v: OsVersion| (1..=60).contains(&v.major);
    // The number just before `like Mac OS X`.
    for i in words.starting_with(b"like") {
        let after = skip(b, i + 4, b" +");
        if !starts_ci(b, after, b"mac") {
            continue;
        }
        let end = skip_back(b, i, b" +");
        let mut start = end;
        while start > 0 {
            let c = at(b, start - 1);
            if c.is_ascii_digit() || c == b'_' || c == b'.' {
                start -= 1;
            } else {
                break;
            }
        }
        if let Some(v) = version_at(b, start).filter(|v| plausible(*v)) {
            return Some(v);
        }
    }
    for i in words.starting_with(b"ios") {
        if in_product_name(b, i, 3) {
            continue;
        }
        let j = skip(b, i + 3, b" /;");
        if let Some(v) = version_at(b, j).filter(|v| plausible(*v)) {
            return Some(v);
        }
    }
    for i in words.starting_with(b"os") {
        if at(b, i + 2).is_ascii_alphabetic() {
            continue;
        }
        let j = skip(b, i + 2, b" ,");
        if let Some(v) = version_at(b, j).filter(|v| plausible(*v)) {
            return Some(v);
        }
    }
    let (darwin, cfnetwork) = darwin_and_cfnetwork(words);
    let Some(d) = darwin else {
        // Titanium apps: `(iPhone/6.1.2; iPhone OS; …)`. Checked after Darwin because
        // `Island for iPhone/1.95 CFNetwork/…` is the app's own version.
        return words
            .starting_with(b"iphone/")
            .find_map(|i| version_at(b, i + 7).filter(|v| plausible(*v)));
    };
    let major = match d.major {
        9 => 2,
        10 if cfnetwork.is_some_and(|c| c < 480) => 3,
        10 => 4,
        11 if cfnetwork.is_some_and(|c| c < 500) => 4,
        11 => 5,
        13 => 6,
        14 if cfnetwork.is_some_and(|c| c < 700) => 7,
        14 => 8,
        15..=24 => d.major - 6,
        25..=60 => d.major + 1,
        _ => return None,
    };
    // From Darwin 21 (iOS 15) the Darwin minor tracks the iOS minor.
    let minor = if d.major >= 21 { d.minor } else { 0 };
    Some(OsVersion::new(major, minor, 0))
}

/// macOS: `Mac OS X 10_15_7`, `MacOS X 10_10_2`, `OS X 10.9.2`, `Mac+OS+X+10_11_6`,
/// `Mac OS X/10.10.4`, `Mac OS X Version 10.12.6`, else the Darwin version.
fn macos_version(words: &Words<'_>) -> Option<OsVersion> {
    let b = words.bytes;
    let plausible = |v: OsVersion| (10..=60).contains(&v.major);
    let mut i = 0;
    while let Some(pos) = find_ci(b, b"os", i) {
        i = pos + 2;
        let j = skip(b, pos + 2, b" +_");
        if !at(b, j).eq_ignore_ascii_case(&b'x') || at(b, j + 1).is_ascii_alphanumeric() {
            continue;
        }
        let mut k = skip(b, j + 1, b" +_/");
        if starts_ci(b, k, b"version") {
            k = skip(b, k + 7, b" ");
        }
        if let Some(v) = version_at(b, k).filter(|v| plausible(*v)) {
            return Some(v);
        }
    }
    let d = darwin_and_cfnetwork(words).0?;
    match d.major {
        5..=19 => Some(OsVersion::new(10, d.major - 4, 0)),
        20..=24 => Some(OsVersion::new(d.major - 9, 0, 0)),
        25..=60 => Some(OsVersion::new(d.major + 1, 0, 0)),
        _ => None,
    }
}

/// Windows, on the NT scale: `Windows NT 10.0`, `Microsoft_Windows_NT_6.2.9200.0`,
/// `Win NT 5.0`, `Windows 7`, `Windows/8.1`, `Windows 10 Pro`, `Microsoft Windows
/// 10.0.19045`, `Windows XP`, `Win95`, `Win 9x 4.90`, `Win3.11`.
fn windows_version(words: &Words<'_>) -> Option<OsVersion> {
    let b = words.bytes;
    for i in words.starting_with(b"win") {
        let mut j = i + 3;
        if starts_ci(b, j, b"dows") {
            j += 4;
        }
        j = skip(b, j, b" _/");
        if keyword_at(b, j, b"nt", true) {
            let k = skip(b, j + 2, b" _");
            match version_at(b, k) {
                Some(v) if (3..=10).contains(&v.major) => return Some(v),
                _ => continue,
            }
        }
        if keyword_at(b, j, b"xp", true) {
            return Some(OsVersion::new(5, 1, 0));
        }
        if keyword_at(b, j, b"vista", true) {
            return Some(OsVersion::new(6, 0, 0));
        }
        if keyword_at(b, j, b"me", true) {
            return Some(OsVersion::new(4, 90, 0));
        }
        if keyword_at(b, j, b"9x", true) {
            let k = skip(b, j + 2, b" ");
            match version_at(b, k) {
                Some(v) if v.major == 4 => return Some(v),
                _ => continue,
            }
        }
        let Some(p) = parse_version(b, j) else {
            continue;
        };
        let v = p.version;
        let nt = match (v.major, v.minor) {
            (10, _) if p.components >= 2 => v,
            (10, _) => OsVersion::new(10, 0, 0),
            (11, _) => OsVersion::new(10, 0, 22000),
            (8, 1) => OsVersion::new(6, 3, 0),
            (8, _) => OsVersion::new(6, 2, 0),
            (7, _) => OsVersion::new(6, 1, 0),
            (2000, _) => OsVersion::new(5, 0, 0),
            (95, _) => OsVersion::new(4, 0, 0),
            (98, _) => OsVersion::new(4, 10, 0),
            (16, _) => OsVersion::new(3, 1, 0),
            (3, _) => v,
            _ => continue,
        };
        return Some(nt);
    }
    None
}

/// Whether the platform word at `i` (`len` bytes) is part of a product name followed by the
/// product's own version: `Outlook-Android/2.0`, `Android-Mail/…`, `Outlook-iOS/665.2`,
/// `MSAL.Xamarin.iOS/4.60.0`.
fn in_product_name(b: &[u8], i: usize, len: usize) -> bool {
    (i > 0 && matches!(at(b, i - 1), b'-' | b'.')) || at(b, i + len) == b'-'
}

/// Windows Phone: `Windows Phone 8.1`, `Windows Phone OS 7.5`, `Windows Mobile 6.1`,
/// `WindowsPhone/8.10`, `wds 7.10`, `MSFT-WP/8.10.14219`.
fn windows_phone_version(words: &Words<'_>) -> Option<OsVersion> {
    let b = words.bytes;
    let plausible = |v: OsVersion| (5..=10).contains(&v.major);
    for kw in [
        &b"windows phone"[..],
        b"windowsphone",
        b"windows mobile",
        b"wds",
        b"msft-wp",
    ] {
        for i in words.starting_with(kw) {
            let mut j = skip(b, i + kw.len(), b" /");
            if keyword_at(b, j, b"os", true) {
                j = skip(b, j + 2, b" ");
            }
            if let Some(v) = version_at(b, j).filter(|v| plausible(*v)) {
                return Some(v);
            }
        }
    }
    None
}

/// Linux: the kernel version, `Linux 2.6.32`, `Linux/5.15.0-91-generic`.
fn linux_version(words: &Words<'_>) -> Option<OsVersion> {
    let b = words.bytes;
    for i in words.starting_with(b"linux") {
        let j = skip(b, i + 5, b" /");
        if j == i + 5 {
            continue;
        }
        if let Some(v) = version_at(b, j).filter(|v| (1..=20).contains(&v.major)) {
            return Some(v);
        }
    }
    None
}

/// The `Darwin/x.y` version and the `CFNetwork/n` major.
fn darwin_and_cfnetwork(words: &Words<'_>) -> (Option<OsVersion>, Option<u32>) {
    let b = words.bytes;
    let darwin = words
        .starting_with(b"darwin/")
        .find_map(|i| version_at(b, i + 7));
    let cfnetwork = words
        .starting_with(b"cfnetwork/")
        .find_map(|i| version_at(b, i + 10))
        .map(|v| v.major);
    (darwin, cfnetwork)
}

// ---------------------------------------------------------------------------------------
// Byte helpers: never index out of bounds, never panic.

/// The byte at `i`, or 0 past the end.
#[inline]
fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// A letter not preceded by a letter.
#[inline]
fn is_word_start(b: &[u8], i: usize) -> bool {
    at(b, i).is_ascii_alphabetic() && (i == 0 || !at(b, i - 1).is_ascii_alphabetic())
}

/// The end of the run of letters starting at `i`.
fn word_end(b: &[u8], i: usize) -> usize {
    let mut j = i;
    while at(b, j).is_ascii_alphabetic() {
        j += 1;
    }
    j
}

/// `b[i..]` starts with `kw`, ASCII case-insensitively (`kw` is lower case).
#[inline]
fn starts_ci(b: &[u8], i: usize, kw: &[u8]) -> bool {
    match b.get(i..) {
        Some(rest) if rest.len() >= kw.len() => rest
            .iter()
            .zip(kw)
            .all(|(x, y)| x.to_ascii_lowercase() == *y),
        _ => false,
    }
}

/// `kw` at `i`, and if `bounded`, not followed by a letter.
#[inline]
fn keyword_at(b: &[u8], i: usize, kw: &[u8], bounded: bool) -> bool {
    starts_ci(b, i, kw) && !(bounded && at(b, i + kw.len()).is_ascii_alphabetic())
}

/// `s` ends with `suffix`, ASCII case-insensitively.
fn ends_with_ci(s: &[u8], suffix: &[u8]) -> bool {
    s.len() >= suffix.len()
        && s.get(s.len() - suffix.len()..)
            .is_some_and(|t| t.eq_ignore_ascii_case(suffix))
}

/// The first position at or after `from` where `kw` starts, case-insensitively.
fn find_ci(b: &[u8], kw: &[u8], from: usize) -> Option<usize> {
    let first = *kw.first()?;
    (from..b.len()).find(|&i| at(b, i).eq_ignore_ascii_case(&first) && starts_ci(b, i, kw))
}

/// At most this many word starts are remembered; a UA with more words is searched byte
/// by byte (slower, same answer).
const MAX_WORDS: usize = 128;

/// The scanned bytes and the positions where their words start, recorded by [`scan`] so
/// that version extraction does not read every byte again.
struct Words<'a> {
    /// The scanned bytes.
    bytes: &'a [u8],
    /// Word start positions (the first `count` of them, at most [`MAX_WORDS`]).
    starts: [u16; MAX_WORDS],
    /// How many word starts were found (may exceed [`MAX_WORDS`]).
    count: usize,
}

impl<'a> Words<'a> {
    /// No words recorded yet.
    fn new(bytes: &'a [u8]) -> Self {
        Words {
            bytes,
            starts: [0; MAX_WORDS],
            count: 0,
        }
    }

    /// Records a word start.
    fn push(&mut self, i: usize) {
        if let (Some(slot), Ok(pos)) = (self.starts.get_mut(self.count), u16::try_from(i)) {
            *slot = pos;
        }
        self.count += 1;
    }

    /// The word starts where `kw` begins, case-insensitively, in order.
    fn starting_with<'k>(&'k self, kw: &'k [u8]) -> impl Iterator<Item = usize> + 'k {
        let b = self.bytes;
        let (recorded, fallback) = if self.count <= MAX_WORDS {
            (self.starts.get(..self.count).unwrap_or_default(), 0..0)
        } else {
            (&[][..], 0..b.len())
        };
        recorded
            .iter()
            .map(|&i| usize::from(i))
            .chain(fallback)
            .filter(move |&i| is_word_start(b, i) && starts_ci(b, i, kw))
    }
}

/// The first position at or after `i` whose byte is not in `set`.
fn skip(b: &[u8], mut i: usize, set: &[u8]) -> usize {
    while i < b.len() && set.contains(&at(b, i)) {
        i += 1;
    }
    i
}

/// The position after the last byte before `i` that is not in `set`.
fn skip_back(b: &[u8], mut i: usize, set: &[u8]) -> usize {
    while i > 0 && set.contains(&at(b, i - 1)) {
        i -= 1;
    }
    i
}

/// A version parsed from bytes.
struct Parsed {
    /// The version.
    version: OsVersion,
    /// How many components were written (1 for `10`, 3 for `10.0.19045`, 4 for more).
    components: u8,
}

/// A number of one to nine digits at `i`, and the position after it.
fn number_at(b: &[u8], i: usize) -> Option<(u32, usize)> {
    let mut j = i;
    let mut n: u32 = 0;
    while at(b, j).is_ascii_digit() {
        if j - i == 9 {
            return None;
        }
        n = n * 10 + u32::from(at(b, j) - b'0');
        j += 1;
    }
    (j > i).then_some((n, j))
}

/// `major[(.|_)minor[(.|_)patch[(.|_)more…]]]` starting at `i`; a separator not followed by
/// a number is not consumed.
fn parse_version(b: &[u8], i: usize) -> Option<Parsed> {
    let (major, mut end) = number_at(b, i)?;
    let mut parts = [major, 0, 0, 0];
    let mut components: u8 = 1;
    while matches!(at(b, end), b'.' | b'_') {
        let Some((n, next)) = number_at(b, end + 1) else {
            break;
        };
        if let Some(slot) = parts.get_mut(usize::from(components)) {
            *slot = n;
        }
        components = components.saturating_add(1).min(4);
        end = next;
    }
    Some(Parsed {
        version: OsVersion::new(parts[0], parts[1], parts[2]).with_revision(parts[3]),
        components,
    })
}

/// The version at `i`, if any.
fn version_at(b: &[u8], i: usize) -> Option<OsVersion> {
    parse_version(b, i).map(|p| p.version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(major: u32, minor: u32, patch: u32) -> Option<OsVersion> {
        Some(OsVersion::new(major, minor, patch))
    }

    /// Asserts platform, version and client app type of one UA.
    #[track_caller]
    fn check(
        ua: &str,
        platform: DevicePlatform,
        version: Option<OsVersion>,
        client: ClientAppType,
    ) {
        let info = classify(ua);
        // The memo answers the same, first and second time.
        assert_eq!(classify_remembered(ua), info, "{ua}");
        assert_eq!(classify_remembered(ua), info, "{ua}");
        assert_eq!(
            info,
            UserAgentInfo {
                platform,
                os_version: version,
                client_app_type: client,
            },
            "{ua}"
        );
    }

    use ClientAppType::{Browser, ExchangeActiveSync as Eas, MobileAppsAndDesktopClients as App};
    use DevicePlatform as P;

    #[test]
    fn browsers_on_each_platform() {
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
            P::Windows,
            v(10, 0, 0),
            Browser,
        );
        check(
            "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
            P::Windows,
            v(6, 1, 0),
            Browser,
        );
        check(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
            P::MacOS,
            v(10, 15, 7),
            Browser,
        );
        check(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0",
            P::MacOS,
            v(14, 4, 0),
            Browser,
        );
        check(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
            P::IOS,
            v(17, 4, 1),
            Browser,
        );
        check(
            "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
            P::IOS,
            v(16, 6, 0),
            Browser,
        );
        check(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
            P::Android,
            v(14, 0, 0),
            Browser,
        );
        check(
            "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
            P::Android,
            v(13, 0, 0),
            Browser,
        );
        check(
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            P::Linux,
            None,
            Browser,
        );
        check(
            "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
            P::WindowsPhone,
            v(10, 0, 0),
            Browser,
        );
        check(
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
            P::Unknown,
            None,
            Browser,
        );
        check(
            "Mozilla/5.0 (X11; FreeBSD amd64; rv:125.0) Gecko/20100101 Firefox/125.0",
            P::Unknown,
            None,
            Browser,
        );
        check(
            "Mozilla/5.0 (Mobile; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5",
            P::Unknown,
            None,
            Browser,
        );
    }

    #[test]
    fn ipad_desktop_mode_is_macos() {
        // iPadOS Safari's default desktop-class UA: nothing says iPad.
        let info = classify(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
        );
        assert_eq!(info.platform, P::MacOS);
        // iOS-only browsers still tell, even in desktop mode.
        let info = classify(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) EdgiOS/124 Version/17.0 Safari/605.1.15",
        );
        assert_eq!(info.platform, P::IOS);
        assert_eq!(info.os_version, None);
    }

    #[test]
    fn tricky_platforms() {
        // Meta Quest: Android, although the UA says X11; Linux.
        assert_eq!(
            classify("Mozilla/5.0 (X11; Linux x86_64; Quest 3) AppleWebKit/537.36 (KHTML, like Gecko) OculusBrowser/31.0 Chrome/120.0 VR Safari/537.36").platform,
            P::Android
        );
        // Kindle Fire Silk in desktop mode (Mac UA) and e-ink Kindle.
        assert_eq!(
            classify("Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_6_3; en-us; Silk/1.1.0-80) AppleWebKit/533.16 (KHTML, like Gecko) Version/5.0 Safari/533.16 Silk-Accelerated=true").platform,
            P::Android
        );
        assert_eq!(
            classify("Mozilla/5.0 (Linux; U; en-US) AppleWebKit/528.5+ (KHTML, like Gecko, Safari/528.5+) Version/4.0 Kindle/3.0 (screen 600x800; rotate)").platform,
            P::Unknown
        );
        // Tizen and webOS TVs say Linux.
        assert_eq!(
            classify("Mozilla/5.0 (SMART-TV; Linux; Tizen 2.3) AppleWebkit/538.1 (KHTML, like Gecko) SamsungBrowser/1.0 TV Safari/538.1").platform,
            P::Unknown
        );
        assert_eq!(
            classify("Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.41 (KHTML, like Gecko) Large Screen WebAppManager Safari/537.41").platform,
            P::Unknown
        );
        // Windows Phone 8.1 says Android and iPhone too.
        assert_eq!(
            classify("Mozilla/5.0 (Mobile; Windows Phone 8.1; Android 4.0; ARM; Trident/7.0; Touch; rv:11.0; IEMobile/11.0; NOKIA; Lumia 920) like iPhone OS 7_0_3 Mac OS X AppleWebKit/537 (KHTML, like Gecko) Mobile Safari/537").os_version,
            v(8, 1, 0)
        );
        // KaiOS contains "iOS" but is not iOS; watchOS and tvOS are unknown.
        assert_eq!(classify("KAIOS/2.5.1").platform, P::Unknown);
        assert_eq!(
            classify("atc/1.0 watchOS/5.1.3 model/Watch3,4 hwp/t8004 build/16S535 (6; dt:156)")
                .platform,
            P::Unknown
        );
        assert_eq!(
            classify("AppleCoreMedia/1.0.0.12F69 (Apple TV; U; CPU OS 8_3 like Mac OS X; en_us)")
                .platform,
            P::Unknown
        );
        // Citrix Workspace on ChromeOS writes "Windows".
        assert_eq!(
            classify("Mozilla/5.0 (X11; Windows x86_64 10718.88.2) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/68.0.3440.118 Safari/537.36 CitrixChromeApp").platform,
            P::Unknown
        );
        // The Outlook product name does not make an iPhone an Android.
        assert_eq!(
            classify("Mozilla/5.0 (iPhone; CPU iPhone OS 9_3_4 like Mac OS X) AppleWebKit/601.1 (KHTML, like Gecko) Outlook-iOS-Android/1.0 Mobile/13G35 Safari/601.1.46").platform,
            P::IOS
        );
        assert_eq!(
            classify("Mozilla/4.0 (compatible; MSIE 5.0; Windows 98; Linux 3.3.8-3.3)").platform,
            P::Windows
        );
    }

    #[test]
    fn native_apple_networking() {
        check(
            "App/0 CFNetwork/1494.0.7 Darwin/23.4.0",
            P::IOS,
            v(17, 4, 0),
            App,
        );
        check(
            "MyApp/1.0 CFNetwork/811.5.4 Darwin/16.6.0",
            P::IOS,
            v(10, 0, 0),
            App,
        );
        check(
            "Safari/9537.71 CFNetwork/673.0.2 Darwin/13.0.1 (x86_64) (MacBookPro11,1)",
            P::MacOS,
            v(10, 9, 0),
            App,
        );
        check(
            "MyMacApp/2.0 CFNetwork/1494.0.7 Darwin/23.4.0 (arm64)",
            P::MacOS,
            v(14, 0, 0),
            App,
        );
        check(
            "App/1 CFNetwork/3826.400.120 Darwin/25.4.0",
            P::IOS,
            v(26, 4, 0),
            App,
        );
    }

    #[test]
    fn modern_native_clients() {
        check(
            "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
            P::Windows,
            v(10, 0, 0),
            App,
        );
        check(
            "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
            P::Unknown,
            None,
            App,
        );
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Teams/1.6.00.4472 Chrome/98.0.4758.141 Electron/17.4.1 Safari/537.36",
            P::Windows,
            v(10, 0, 0),
            App,
        );
        check(
            "Outlook-iOS/723.4027091.prod.iphone (4.2416.0)",
            P::IOS,
            None,
            App,
        );
        check("Outlook-Android/2.0", P::Android, None, App);
        check(
            "MacOutlook/16.84.24041420 (Intelx64 Mac OS X 14.4.1 (Build 23E224))",
            P::MacOS,
            v(14, 4, 1),
            App,
        );
        check(
            "Mozilla/5.0 (Linux; Android 12; SM-G991B Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/123.0.6312.118 Mobile Safari/537.36 PKeyAuth/1.0",
            P::Android,
            v(12, 0, 0),
            App,
        );
        check(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
            P::IOS,
            v(17, 4, 0),
            App,
        );
        check(
            "Dalvik/2.1.0 (Linux; U; Android 11; Pixel 5 Build/RQ3A.210805.001.A1)",
            P::Android,
            v(11, 0, 0),
            App,
        );
        check("okhttp/4.12.0", P::Unknown, None, App);
        check(
            "MSAL.Xamarin.iOS/4.60.0 (iOS 17.4)",
            P::IOS,
            v(17, 4, 0),
            App,
        );
        check(
            "MSAL.Android/4.9.0 (Android 13; Pixel 7)",
            P::Android,
            v(13, 0, 0),
            App,
        );
        check("curl/8.5.0", P::Unknown, None, App);
        check(
            "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.19045; en-US) PowerShell/7.4.2",
            P::Windows,
            v(10, 0, 0),
            App,
        );
        check(
            "Windows-AzureAD-Authentication-Provider/1.0",
            P::Windows,
            None,
            App,
        );
        check(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:115.0) Gecko/20100101 Thunderbird/115.10.1",
            P::Windows,
            v(10, 0, 0),
            App,
        );
    }

    #[test]
    fn exchange_activesync_clients() {
        check("Apple-iPhone9C1/1702.80", P::IOS, None, Eas);
        check("Apple-iPad13C4/2101.5.4", P::IOS, None, Eas);
        check("Android-Mail/2023.10.22", P::Android, None, Eas);
        check("Android/4.4.2-EAS-1.3", P::Android, v(4, 4, 2), Eas);
        check(
            "MSFT-WP/8.10.14219 (gzip)",
            P::WindowsPhone,
            v(8, 10, 14219),
            Eas,
        );
        check("MSFT-WIN-3/6.3.9600", P::Windows, None, Eas);
        check("TouchDown(MSRPC)/8.1.00051", P::Unknown, None, Eas);
        check(
            "iOS/17.4.1 (21E236) dataaccessd/1.0",
            P::IOS,
            v(17, 4, 1),
            Eas,
        );
    }

    #[test]
    fn legacy_clients_are_other() {
        check("", P::Unknown, None, ClientAppType::Other);
        check("   ", P::Unknown, None, ClientAppType::Other);
        check("BAV2ROPC", P::Unknown, None, ClientAppType::Other);
        check("CBAInPROD", P::Unknown, None, ClientAppType::Other);
        check(
            "Microsoft Office/14.0 (Windows NT 6.1; Microsoft Outlook 14.0.7162; Pro)",
            P::Windows,
            v(6, 1, 0),
            ClientAppType::Other,
        );
        check(
            "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 5.1; .NET CLR 1.1.4322; MSOffice 12)",
            P::Windows,
            v(5, 1, 0),
            ClientAppType::Other,
        );
        check(
            "ExchangeServicesClient/15.00.0913.015",
            P::Unknown,
            None,
            ClientAppType::Other,
        );
        check(
            "Mac OS X/10.14.6 (18G103); ExchangeWebServices/9.0 (283)",
            P::MacOS,
            v(10, 14, 6),
            ClientAppType::Other,
        );
        check(
            "Outlook-Express/7.0 (MSIE 7.0; Windows NT 6.1; Trident/4.0)",
            P::Windows,
            v(6, 1, 0),
            ClientAppType::Other,
        );
    }

    #[test]
    fn windows_versions() {
        let os = |ua: &str| classify(ua).os_version;
        assert_eq!(os("Mozilla/5.0 (Windows NT 6.3; WOW64)"), v(6, 3, 0));
        assert_eq!(os("Box Sync/4.0;Windows/8.1;x86"), v(6, 3, 0));
        assert_eq!(
            os("PAN GlobalProtect/4.1 (Microsoft Windows 10 Pro , 64-bit)"),
            v(10, 0, 0)
        );
        assert_eq!(os("Foo (Microsoft Windows 11 Enterprise)"), v(10, 0, 22000));
        assert_eq!(
            os("iTunes/12 (Windows; Microsoft Windows 7 Ultimate Edition)"),
            v(6, 1, 0)
        );
        assert_eq!(
            os("aws-sdk-dotnet OS/Microsoft_Windows_NT_6.2.9200.0"),
            v(6, 2, 9200)
        );
        assert_eq!(
            os("Mozilla/5.0 (Windows; U; Win 9x 4.90; de; rv:1.8.1.7)"),
            v(4, 90, 0)
        );
        assert_eq!(os("Mozilla/5.0 (Windows; U; Win95; en-GB)"), v(4, 0, 0));
        assert_eq!(
            os("Mozilla/4.0 (compatible; MSIE 5.0; Windows ME) Opera 5.11"),
            v(4, 90, 0)
        );
        assert_eq!(
            os("Mozilla/5.0 (WindowsCE 6.0; rv:2.0.1) Gecko Firefox/5.0.1"),
            None
        );
        assert_eq!(os("Mozilla/5.0 (Windows; U; Win32; rv:1.6)"), None);
    }

    #[test]
    fn os_version_parse_order_display() {
        assert_eq!(OsVersion::parse("17"), v(17, 0, 0));
        assert_eq!(OsVersion::parse(" 10_15_7 "), v(10, 15, 7));
        assert_eq!(
            OsVersion::parse("10.0.19045.3693"),
            Some(OsVersion::new(10, 0, 19045).with_revision(3693))
        );
        assert_eq!(OsVersion::parse(""), None);
        assert_eq!(OsVersion::parse("10."), None);
        assert_eq!(OsVersion::parse("v10"), None);
        assert_eq!(OsVersion::parse("10.0-beta"), None);
        assert_eq!(OsVersion::parse("1234567890"), None);
        assert!(OsVersion::new(10, 9, 0) < OsVersion::new(10, 10, 0));
        assert!(OsVersion::new(9, 99, 99) < OsVersion::new(10, 0, 0));
        assert_eq!(OsVersion::new(10, 0, 19045).to_string(), "10.0.19045");
    }

    #[test]
    fn huge_and_odd_inputs() {
        let mut ua = String::from("Mozilla/5.0 (Windows NT 10.0) ");
        ua.push_str(&"é".repeat(100_000));
        ua.push_str(" Android 14");
        let info = classify(&ua);
        assert_eq!(info.platform, P::Windows);
        assert_eq!(info.client_app_type, Browser);
        // A keyword cut by the cap is simply not seen.
        let cut = format!("{}Android 14", " ".repeat(MAX_SCANNED_BYTES - 4));
        assert_eq!(classify(&cut).platform, P::Unknown);
        assert_eq!(classify("Android 99999999999").os_version, None);
        assert_eq!(classify("Linux/").platform, P::Linux);
        assert_eq!(classify("Darwin/").platform, P::IOS);
    }

    proptest! {
        #[test]
        fn classify_never_panics(ua in ".*") {
            let _ = classify(&ua);
        }

        #[test]
        fn classify_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let ua = String::from_utf8_lossy(&bytes);
            let _ = classify(&ua);
        }

        #[test]
        fn classify_never_panics_on_ua_like_text(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("Mozilla/5.0 "), Just("(Windows NT "), Just("Android "), Just("iPhone OS "),
                    Just("like Mac OS X"), Just("Darwin/"), Just("CFNetwork/"), Just("Win 9x "),
                    Just("Linux; U; "), Just("MSOffice "), Just("Windows Phone OS "), Just("_"),
                    Just("."), Just("9"), Just("99999999999"), Just(" "), Just(";"), Just("JUC ("),
                ],
                0..40,
            )
        ) {
            let ua: String = parts.concat();
            let _ = classify(&ua);
        }
    }
}
