//! The 200-policy synthetic tenant's sign-ins (the core bench's generated mix) as
//! forward-auth requests: one host per application (`app-<n>.synthetic.example`, mapped by
//! `[[apps]]` lines), the client's address and country as proxy headers, a User-Agent per
//! client type and platform, the session's methods as `Remote-Amr`. Shared by the load and
//! handler benches, which include it with `#[path]` beside `synthetic` and `demo`.

use super::demo::{CHROME_WIN, SAFARI_MAC};
use super::synthetic::Synthetic;

/// One generated sign-in, as the headers of a forward-auth request carry it.
pub struct ForwardAuthSignIn {
    /// `Remote-User`.
    pub user: String,
    /// `X-Forwarded-Host`: the application's host.
    pub host: String,
    /// `X-Forwarded-For`.
    pub address: String,
    /// `CF-IPCountry`.
    pub country: String,
    /// `User-Agent`.
    pub user_agent: &'static str,
    /// `Remote-Amr`: a password alone, or multifactor.
    pub amr: &'static str,
}

/// The `[[apps]]` lines mapping one host per application, and every sign-in of the mix.
pub fn forward_auth_sign_ins(generated: &Synthetic) -> (String, Vec<ForwardAuthSignIn>) {
    let mut apps: Vec<String> = Vec::new();
    let mut sign_ins = Vec::new();
    for body in &generated.requests {
        let c = &body["signInConditions"];
        let app = body["signInContext"]["includeApplications"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let n = match apps.iter().position(|a| *a == app) {
            Some(n) => n,
            None => {
                apps.push(app);
                apps.len() - 1
            }
        };
        let methods = &body["session"]["authenticationMethods"];
        let amr = if methods.as_array().map_or(0, Vec::len) > 1
            || methods[0].as_str().unwrap_or_default() != "password"
        {
            "pwd,mfa"
        } else {
            "pwd"
        };
        sign_ins.push(ForwardAuthSignIn {
            user: body["signInIdentity"]["userId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            host: format!("app-{n}.synthetic.example"),
            address: c["ipAddress"].as_str().unwrap_or_default().to_owned(),
            country: c["country"].as_str().unwrap_or("US").to_owned(),
            user_agent: user_agent(
                c["clientAppType"].as_str().unwrap_or_default(),
                c["devicePlatform"].as_str().unwrap_or_default(),
            ),
            amr,
        });
    }
    let apps = apps
        .iter()
        .enumerate()
        .map(|(n, app)| {
            format!("[[apps]]\nhost = \"app-{n}.synthetic.example\"\napp_id = \"{app}\"\nname = \"App {n}\"\n")
        })
        .collect();
    (apps, sign_ins)
}

/// A User-Agent giving the client type and platform of a generated sign-in (as far as a
/// User-Agent can).
fn user_agent(client: &str, platform: &str) -> &'static str {
    match (client, platform) {
        ("browser", "iOS") => {
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
        }
        ("browser", "android") => {
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
        }
        ("browser", "macOS") => SAFARI_MAC,
        ("browser", "linux") => {
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
        }
        ("browser", _) => CHROME_WIN,
        (_, "iOS") => "Outlook-iOS/2.0",
        (_, "android") => "Outlook-Android/2.0",
        (_, "macOS") => "Microsoft Office/16.0 (Macintosh; Mac OS X 14.5; Microsoft Outlook 16.89)",
        _ => "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)",
    }
}
