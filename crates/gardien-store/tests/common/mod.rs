//! Realistic sign-in records for the tests and the benchmark, and a fresh database per test
//! on either backend (`db.rs`).

#![allow(
    dead_code,
    unused_imports,
    unused_macros,
    reason = "shared by several test, bench and example binaries, each using a part"
)]

mod db;

pub(crate) use db::backend_tests;
pub use db::{Conn, TestDb};

use gardien_store::{SignInRecord, StoreOptions};
use serde_json::json;

/// A fake but well-formed GUID derived from `n`.
pub fn guid(n: u64) -> String {
    let h = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (n >> 7);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (h >> 32) as u32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        (h >> 20) & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

/// A Graph `signIn` record of about 1.5 KB, as the server writes it.
pub fn sign_in(
    id: &str,
    created_ms: i64,
    user_id: &str,
    app_id: &str,
    decision: &str,
    error_code: Option<u32>,
) -> SignInRecord {
    let record = json!({
        "id": id,
        "createdDateTime": format!("{created_ms}"),
        "userDisplayName": "Camille Martin",
        "userPrincipalName": "camille.martin@contoso.example",
        "userId": user_id,
        "appId": app_id,
        "appDisplayName": "Contoso Expenses",
        "ipAddress": "203.0.113.57",
        "clientAppUsed": "Browser",
        "correlationId": id,
        "conditionalAccessStatus": match decision { "allow" => "success", "deny" => "failure", _ => "notApplied" },
        "isInteractive": true,
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "low",
        "riskState": "none",
        "riskEventTypes_v2": [],
        "resourceDisplayName": "Contoso Expenses API",
        "resourceId": "00000003-0000-0000-c000-000000000000",
        "status": {
            "errorCode": error_code.unwrap_or(0),
            "failureReason": if error_code.is_some() { "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance." } else { "Other." },
            "additionalDetails": "gardien decision"
        },
        "deviceDetail": {
            "deviceId": "",
            "displayName": "",
            "operatingSystem": "Windows10",
            "browser": "Edge 124.0.0",
            "isCompliant": false,
            "isManaged": false,
            "trustType": ""
        },
        "location": {
            "city": "Paris",
            "state": "Ile-de-France",
            "countryOrRegion": "FR",
            "geoCoordinates": { "altitude": null, "latitude": 48.8566, "longitude": 2.3522 }
        },
        "appliedConditionalAccessPolicies": [
            {
                "id": "7a1c2f3e-0b4d-4c55-9e6f-1a2b3c4d5e6f",
                "displayName": "Block access from outside allowed countries",
                "enforcedGrantControls": ["block"],
                "enforcedSessionControls": [],
                "result": if decision == "deny" { "failure" } else { "notApplied" }
            },
            {
                "id": "8b2d3e4f-1c5e-4d66-af70-2b3c4d5e6f70",
                "displayName": "Require MFA for all users",
                "enforcedGrantControls": ["mfa"],
                "enforcedSessionControls": ["signInFrequency"],
                "result": if decision == "challenge" { "failure" } else { "success" }
            },
            {
                "id": "9c3e4f50-2d6f-4e77-b081-3c4d5e6f7081",
                "displayName": "Require compliant device for admins",
                "enforcedGrantControls": ["compliantDevice"],
                "enforcedSessionControls": [],
                "result": "notApplied"
            }
        ]
    });
    SignInRecord {
        id: id.to_owned(),
        created_ms,
        user_id: user_id.to_owned(),
        app_id: app_id.to_owned(),
        decision: decision.to_owned(),
        error_code,
        record: record.to_string(),
        fragments: None,
    }
}

/// Correlation id number `n`, shaped like the server's (a per-process prefix and a counter,
/// formatted as a UUID), hence increasing.
pub fn correlation_id(n: u64) -> String {
    format!(
        "5f0c7a21-9e3b-4d42-{:04x}-{:012x}",
        0x8000 | ((n >> 48) & 0x3fff),
        n & 0xffff_ffff_ffff
    )
}

/// Record number `n` of a synthetic stream: server-like correlation ids, 1000 users (in
/// turn: the worst case for the user index), 20 apps, decisions in turn. Built by patching
/// a prebuilt record, as cheap as a `signIn` object gets.
pub fn nth(n: u64, created_ms: i64) -> SignInRecord {
    static TEMPLATES: std::sync::OnceLock<[SignInRecord; 3]> = std::sync::OnceLock::new();
    let templates = TEMPLATES.get_or_init(|| {
        [
            sign_in("", 0, "", "", "allow", None),
            sign_in("", 0, "", "", "challenge", None),
            sign_in("", 0, "", "", "deny", Some(53003)),
        ]
    });
    let mut record = templates[(n % 3) as usize].clone();
    record.id = correlation_id(n);
    record.created_ms = created_ms;
    record.user_id = guid(1_000_000 + n % 1000);
    record.app_id = guid(2_000_000 + n % 20);
    let mut value: serde_json::Value = serde_json::from_str(&record.record).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        for key in ["id", "correlationId"] {
            object.insert(key.to_owned(), record.id.clone().into());
        }
        object.insert("createdDateTime".to_owned(), created_ms.to_string().into());
        object.insert("userId".to_owned(), record.user_id.clone().into());
        object.insert("appId".to_owned(), record.app_id.clone().into());
    }
    record.record = value.to_string();
    record
}

/// CPU time of this process's threads so far, summed by thread name (`/proc/self/task`):
/// `(name, nanoseconds on CPU, user ticks, system ticks)`, sorted by name. Threads that
/// ended are not counted. For the examples' breakdowns (Linux only; empty elsewhere).
pub fn thread_cpu() -> Vec<(String, u64, u64, u64)> {
    let mut by_name: std::collections::BTreeMap<String, (u64, u64, u64)> = Default::default();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    for task in tasks.flatten() {
        let dir = task.path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        // Numbered threads (sqlx-sqlite-worker-3, tokio-runtime-w) grouped by their stem.
        let name = name
            .trim()
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .to_owned();
        let ns: u64 = std::fs::read_to_string(dir.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
            .unwrap_or(0);
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let tick = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let entry = by_name.entry(name).or_default();
        entry.0 += ns;
        entry.1 += tick(11);
        entry.2 += tick(12);
    }
    by_name
        .into_iter()
        .map(|(name, (ns, user, system))| (name, ns, user, system))
        .collect()
}

/// Prints the CPU time per record of each thread group between two [`thread_cpu`] readings.
pub fn print_thread_cpu(
    before: &[(String, u64, u64, u64)],
    after: &[(String, u64, u64, u64)],
    records: u64,
) {
    let mut total = 0.0;
    for (name, ns, user, system) in after {
        let (b_ns, b_user, b_system) = before
            .iter()
            .find(|b| &b.0 == name)
            .map_or((0, 0, 0), |b| (b.1, b.2, b.3));
        let per = (ns - b_ns) as f64 / 1e3 / records.max(1) as f64;
        let (u, s) = (user - b_user, system - b_system);
        total += per;
        println!(
            "  {name:<24} {per:7.2} µs per record ({:.0} % system)",
            if u + s > 0 {
                s as f64 * 100.0 / (u + s) as f64
            } else {
                0.0
            }
        );
    }
    println!("  {:<24} {total:7.2} µs per record", "all threads");
}

/// `/proc/self/io`: (bytes written, write calls, bytes read, read calls) by every thread
/// of the process so far (zeros where it cannot be read).
pub fn process_io() -> [u64; 4] {
    let text = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    [
        field("wchar:"),
        field("syscw:"),
        field("rchar:"),
        field("syscr:"),
    ]
}

/// Record number `n` of [`nth`], with `users` distinct users and `apps` distinct
/// applications in turn instead of 1000 and 20 (the record's text keeps [`nth`]'s; the
/// indexed columns change). `LOG_USERS` and `LOG_APPS` in the examples.
pub fn nth_among(n: u64, created_ms: i64, users: u64, apps: u64) -> SignInRecord {
    let mut record = nth(n, created_ms);
    record.user_id = guid(1_000_000 + n % users.max(1));
    record.app_id = guid(2_000_000 + n % apps.max(1));
    record
}

/// The environment variable `name` read as a `T`, or `default` when unset or unreadable
/// (the examples' knobs: `LOG_USERS`, `LOG_APPS`...).
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The examples' store: a new schema of the PostgreSQL at `GARDIEN_BENCH_DATABASE_URL` when
/// that is set (it must answer), a temporary SQLite file otherwise.
pub async fn bench_db() -> TestDb {
    match std::env::var("GARDIEN_BENCH_DATABASE_URL") {
        Ok(url) => TestDb::postgres_at(&url)
            .await
            .expect("PostgreSQL unreachable"),
        Err(_) => TestDb::sqlite(),
    }
}

/// [`StoreOptions::commit_interval`] from `LOG_COMMIT_INTERVAL_US` (microseconds), or the
/// default.
pub fn commit_interval_from_env() -> std::time::Duration {
    std::env::var("LOG_COMMIT_INTERVAL_US")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(
            StoreOptions::default().commit_interval,
            std::time::Duration::from_micros,
        )
}
