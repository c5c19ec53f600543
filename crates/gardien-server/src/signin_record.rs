//! The Graph-shaped `signIn` record written for every decision (docs/reference/entra-semantics.md
//! §5.1, §5.2).
//!
//! The record type is the core's ([`gardien_core::signin_log::Record`]): field names are
//! Graph's, so the same records feed `GET /v1/signins`, the JSON-lines export and
//! `gardien replay`. gardien adds one member, `gardien`, holding the decision, the pending
//! controls and the exact evaluate request (`SignIn::to_request_json`), so a replay rebuilds the
//! very sign-in that was decided instead of guessing it back from display strings.

use crate::clean::{MAX_LOGGED_FIELD, truncate};
use crate::json_text::Span;
use gardien_core::model::enums::RiskLevel;
use gardien_core::report::{AppliedEntryKey, AppliedPoliciesJson, applied_entry_json_of};
use gardien_core::signin_log::record::{
    Coordinates, Denial, DenialDevice, DeviceDetail, GardienMember, List, Location, Member,
    Policies, Record, RequestMember, Scalar, Status,
};
pub use gardien_core::signin_log::{client_app_used, status_code};
use gardien_core::signin_log::{failure_reason, operating_system};
use gardien_core::{CompiledTenant, Evaluation};
use gardien_core::{Decision, SignIn, Verdict};
use gardien_signals::Derived;
use gardien_signals::risk::Detection;
pub use gardien_store::{Fragment, Fragments};
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::value::RawValue;
use std::sync::{Arc, LazyLock, Mutex};

/// The empty array of [`Applied::Fragments`].
static EMPTY_ARRAY: LazyLock<Box<RawValue>> =
    LazyLock::new(|| RawValue::from_string("[]".to_owned()).unwrap_or_default());

/// What a record is made of, besides the sign-in and its derivation.
#[derive(Debug)]
pub struct RecordParts<'a> {
    /// Correlation id (also the record id).
    pub correlation_id: &'a str,
    /// When, in milliseconds since the epoch.
    pub created_ms: i64,
    /// The user's principal name / email, when the identity gave one.
    pub user_principal_name: Option<&'a str>,
    /// The user's display name, when known.
    pub user_display_name: Option<&'a str>,
    /// Display name of the application.
    pub app_display_name: &'a str,
    /// The User-Agent, as sent.
    pub user_agent: Option<&'a str>,
    /// The decision.
    pub verdict: &'a Verdict,
    /// Per-policy results.
    pub applied: Applied<'a>,
    /// The session's methods satisfy multifactor authentication.
    pub mfa_done: bool,
    /// Version of the policy set that decided.
    pub policy_version: i64,
    /// For a deny or challenge: what another replica needs to show its page.
    pub denial: Option<DenialParts<'a>>,
}

/// The denial page's part of a record: the SHA-256 of the page key's secret (the key itself
/// never reaches the log) and the device as the page shows it. With the exact request and
/// the policy version, any replica sharing the log can show the page again.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DenialParts<'a> {
    /// Hex SHA-256 of the secret half of the page key.
    pub key_sha256: &'a str,
    /// The device line of the page.
    pub device: &'a crate::denial::DeviceSummary,
}

/// The per-policy results of a record (`appliedConditionalAccessPolicies`): serialized from
/// the evaluation's records, or left out for the store to splice in ([`AppliedCache`]).
#[derive(Debug, Clone, Copy)]
pub enum Applied<'a> {
    /// Serialized from the records.
    Records(AppliedPoliciesJson<'a>),
    /// An empty array, where the store puts the record's [`Fragments`] (see
    /// [`applied_offset`]).
    Fragments,
}

/// Most entries [`AppliedCache`] keeps before it starts again from empty.
pub const APPLIED_CACHE_CAPACITY: usize = 65_536;

/// Bytes of entry texts [`AppliedCache`] keeps before it starts again from empty (an entry
/// is about 250 bytes).
pub const APPLIED_CACHE_BYTES: usize = 16 << 20;

/// The key in a record's text before the per-policy array.
const APPLIED_KEY: &str = "\"appliedConditionalAccessPolicies\":[]";

/// Where a record built with [`Applied::Fragments`] takes its fragments: the byte offset
/// just inside its empty `appliedConditionalAccessPolicies` array. The key is matched with
/// its quotes, and every quote inside a JSON string is escaped, so the first match is the
/// top-level member (no member written before it has that name).
pub fn applied_offset(record: &str) -> Option<usize> {
    record.find(APPLIED_KEY).map(|i| i + APPLIED_KEY.len() - 1)
}

/// `appliedConditionalAccessPolicies` entries of one policy set, as the sign-in log's
/// fragments, by [`AppliedEntryKey`] (the policy, its result and its condition flags).
///
/// An entry is a function of its key, and the few outcomes of each policy repeat across
/// sign-ins, so each entry's text is written once per policy set: a record costs one lookup
/// per policy instead of serializing every policy's names and flags (about 4.7 k
/// instructions each), and the store keeps each entry once (8 bytes per entry per record,
/// instead of ~250). A fragment's id is the first 8 bytes of its text's SHA-256, so replicas
/// sharing a database give the same text the same id. One cache per policy set
/// ([`crate::state::Live`]); at most [`APPLIED_CACHE_CAPACITY`] entries and
/// [`APPLIED_CACHE_BYTES`] bytes, emptied when full.
#[derive(Default)]
pub struct AppliedCache {
    entries: Mutex<AppliedEntries>,
    /// The allowed sign-ins of this policy set and their fragments.
    pub allowed: AllowedMemo,
}

/// Fragments by key, and the bytes of their texts.
type AppliedEntries = (FxHashMap<AppliedEntryKey, Fragment>, usize);

impl std::fmt::Debug for AppliedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppliedCache")
            .field("entries", &self.len())
            .finish()
    }
}

/// The fragment of an entry's text: its id is the first 8 bytes of the text's SHA-256.
pub fn fragment(text: String) -> Fragment {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    let mut id = [0u8; 8];
    id.copy_from_slice(digest.as_ref().get(..8).unwrap_or(&[0; 8]));
    Fragment {
        id: i64::from_le_bytes(id),
        text: Arc::from(text),
    }
}

impl AppliedCache {
    /// The fragments of `evaluation`'s per-policy results with `tenant` (the policy set this
    /// cache belongs to), in order; `None` only if an entry cannot be serialized.
    pub fn fragments(
        &self,
        tenant: &CompiledTenant,
        evaluation: &Evaluation,
    ) -> Option<Vec<Fragment>> {
        self.fragments_of(tenant, evaluation.policies.iter().map(AppliedEntryKey::of))
    }

    /// The fragments of per-policy results given by their keys (as
    /// [`CompiledTenant::decide_entries`] gives them, one per policy in tenant order), with
    /// `tenant` (the policy set this cache belongs to), in order; `None` only if an entry
    /// cannot be serialized. The same fragments as [`AppliedCache::fragments`] of the
    /// evaluation whose records have these keys.
    pub fn entry_fragments(
        &self,
        tenant: &CompiledTenant,
        keys: &[AppliedEntryKey],
    ) -> Option<Vec<Fragment>> {
        self.fragments_of(tenant, keys.iter().copied())
    }

    fn fragments_of(
        &self,
        tenant: &CompiledTenant,
        keys: impl ExactSizeIterator<Item = AppliedEntryKey>,
    ) -> Option<Vec<Fragment>> {
        let mut out = Vec::with_capacity(keys.len());
        let mut guard = self.entries.lock().ok()?;
        let (map, bytes) = &mut *guard;
        for key in keys {
            if let Some(found) = map.get(&key) {
                out.push(found.clone());
                continue;
            }
            let made = fragment(applied_entry_json_of(tenant, &key)?);
            let size = made.text.len();
            if map.len() >= APPLIED_CACHE_CAPACITY || *bytes + size > APPLIED_CACHE_BYTES {
                map.clear();
                *bytes = 0;
            }
            *bytes += size;
            map.insert(key, made.clone());
            out.push(made);
        }
        Some(out)
    }

    /// Entries remembered now.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |m| m.0.len())
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Most allowed sign-ins an [`AllowedMemo`] keeps before it starts again from empty.
pub const ALLOWED_MEMO_CAPACITY: usize = 4096;

/// Most fragments (all entries together) an [`AllowedMemo`] keeps before it starts again
/// from empty: about 6 MiB of [`Fragment`]s (a 200-policy set's 1,310 sign-ins).
pub const ALLOWED_MEMO_FRAGMENTS: usize = 1 << 18;

/// Lookups per [`AllowedMemo`] window: a window with fewer than [`ALLOWED_MEMO_MIN_HITS`]
/// hits turns the memo off for the next [`ALLOWED_MEMO_OFF_WINDOWS`] windows' requests.
pub const ALLOWED_MEMO_WINDOW: u32 = 1024;

/// Hits a window needs for the memo to stay on.
pub const ALLOWED_MEMO_MIN_HITS: u32 = 32;

/// Windows of requests the memo stays off after a window without enough hits.
pub const ALLOWED_MEMO_OFF_WINDOWS: u32 = 15;

/// Allowed sign-ins of one policy set and their records' per-policy fragments, by the
/// sign-in's encoding ([`gardien_core::signin_key::encode`], the key of replay's verdict
/// cache and of the explanation memo: equal bytes exactly when the sign-ins are equal, the
/// instant aside, of which only the dated-change regime counts — all the evaluation reads).
///
/// The traced evaluation of a large policy set is most of an allowed request's work (≈ 70 k
/// instructions on 200 policies, then ≈ 27 k to key its 200 entries), and an allowed
/// sign-in repeats (every asset of a page is a request of the same user, device, address
/// and application): a remembered sign-in skips both. Only allows are remembered (a deny
/// or challenge needs the evaluation for its page anyway). At most
/// [`ALLOWED_MEMO_CAPACITY`] sign-ins and [`ALLOWED_MEMO_FRAGMENTS`] fragments, emptied
/// when full; traffic that does not repeat turns it off for a while (a window of
/// [`ALLOWED_MEMO_WINDOW`] lookups with fewer than [`ALLOWED_MEMO_MIN_HITS`] hits), so
/// distinct sign-ins pay the key and the insert on one request in sixteen only.
#[derive(Default)]
pub struct AllowedMemo {
    inner: Mutex<MemoState>,
}

impl std::fmt::Debug for AllowedMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AllowedMemo")
            .field("len", &self.len())
            .finish()
    }
}

/// A remembered allowed sign-in: its verdict and its record's fragments.
type Remembered = (Verdict, Arc<[Fragment]>);

#[derive(Default)]
struct MemoState {
    map: FxHashMap<Box<[u8]>, Remembered>,
    fragments: usize,
    lookups: u32,
    hits: u32,
    /// Requests left before the memo is used again.
    off: u32,
}

/// Bytes reserved for a [`MemoKey`] before it is written.
const MEMO_KEY_CAPACITY: usize = 512;

/// The memo's key of one sign-in, and whether it was looked up.
#[derive(Debug, Default)]
pub struct MemoKey {
    bytes: Vec<u8>,
    looked_up: bool,
}

impl MemoKey {
    /// The sign-in's encoding, when [`AllowedMemo::get`] wrote it (equal exactly when the
    /// sign-ins are equal, the instant aside but for its dated-change regime).
    pub fn encoded(&self) -> Option<&[u8]> {
        self.looked_up.then_some(self.bytes.as_slice())
    }
}

impl AllowedMemo {
    /// The verdict and record fragments of `signin` when it is a remembered allowed
    /// sign-in; `key` keeps its encoding for [`AllowedMemo::remember`].
    pub fn get(&self, signin: &SignIn, key: &mut MemoKey) -> Option<(Verdict, Vec<Fragment>)> {
        key.looked_up = false;
        {
            let mut state = self.inner.lock().ok()?;
            if state.off > 0 {
                state.off -= 1;
                return None;
            }
        }
        // Room for a whole key at once (a forward-auth sign-in's is ~150 bytes): growing the
        // vector from empty cost four reallocations, ~1.4 k instructions per request.
        key.bytes.reserve(MEMO_KEY_CAPACITY);
        gardien_core::signin_key::encode(signin, &mut key.bytes);
        key.looked_up = true;
        let mut state = self.inner.lock().ok()?;
        let found = state
            .map
            .get(key.bytes.as_slice())
            .map(|(v, f)| (*v, f.to_vec()));
        state.lookups += 1;
        state.hits += u32::from(found.is_some());
        if state.lookups >= ALLOWED_MEMO_WINDOW {
            if state.hits < ALLOWED_MEMO_MIN_HITS {
                state.off = ALLOWED_MEMO_WINDOW * ALLOWED_MEMO_OFF_WINDOWS;
            }
            state.lookups = 0;
            state.hits = 0;
        }
        found
    }

    /// Remembers a sign-in looked up with `key`, its verdict (an allow: others are not
    /// remembered) and its record's fragments.
    pub fn remember(&self, key: &MemoKey, verdict: &Verdict, fragments: &[Fragment]) {
        if !key.looked_up || verdict.decision != Decision::Allow {
            return;
        }
        let Ok(mut state) = self.inner.lock() else {
            return;
        };
        if state.map.len() >= ALLOWED_MEMO_CAPACITY
            || state.fragments + fragments.len() > ALLOWED_MEMO_FRAGMENTS
        {
            state.map.clear();
            state.fragments = 0;
        }
        state.fragments += fragments.len();
        let previous = state.map.insert(
            key.bytes.as_slice().into(),
            (*verdict, Arc::from(fragments)),
        );
        if let Some((_, previous)) = previous {
            state.fragments -= previous.len();
        }
    }

    /// Forgets every sign-in and stays off from now on, as the hit-rate guard turns it off
    /// for traffic that does not repeat (the handler bench's `HANDLER_MEMO=off` measures
    /// distinct sign-ins this way: each request pays its decision and its record).
    pub fn turn_off(&self) {
        if let Ok(mut state) = self.inner.lock() {
            state.map.clear();
            state.fragments = 0;
            state.off = u32::MAX;
        }
    }

    /// Sign-ins remembered now.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |s| s.map.len())
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'a> From<&'a crate::denial::DeviceSummary> for DenialDevice<'a> {
    fn from(d: &'a crate::denial::DeviceSummary) -> Self {
        DenialDevice {
            registered: Some(Scalar::Bool(d.registered)),
            compliant: Some(d.compliant.map_or(Scalar::Null, Scalar::Bool)),
            trust_type: Some(Scalar::or_null(d.trust_type.as_deref())),
            platform: Some(Scalar::from(d.platform.as_str())),
            os_version: Some(Scalar::or_null(d.os_version.as_deref())),
            client_app: Some(Scalar::from(d.client_app.as_str())),
        }
    }
}

fn risk_event(d: &Detection) -> &'static str {
    match d {
        Detection::AnonymousNetwork(_) => "anonymizedIPAddress",
        Detection::ImpossibleTravel { .. } => "unlikelyTravel",
        Detection::UnfamiliarCountry(_) => "unfamiliarFeatures",
    }
}

/// Builds the `signIn` record as JSON text: the core's [`Record`] (the one sign-in record
/// type, also what replay reads), serialized straight to text (no intermediate JSON tree:
/// this runs for every decision). Every string that comes from the request is cut to
/// [`MAX_LOGGED_FIELD`] bytes (marked with [`crate::clean::TRUNCATED`]): a record costs the
/// log a few KiB, whatever the client sends.
pub fn build(signin: &SignIn, derived: &Derived, parts: &RecordParts<'_>) -> String {
    build_noting_applied(signin, derived, parts).0
}

/// Bytes reserved for a record's text (a demo tenant's record is ~2 KB without its
/// per-policy entries).
const RECORD_CAPACITY: usize = 4096;

/// As [`build`], with where the record's per-policy array starts: with
/// [`Applied::Fragments`], the [`applied_offset`] of the text, noted while it is written
/// (no search of the text).
pub fn build_noting_applied(
    signin: &SignIn,
    derived: &Derived,
    parts: &RecordParts<'_>,
) -> (String, Option<usize>) {
    with_record(signin, derived, parts, |record| {
        // Serializing strings, numbers and JSON values cannot fail.
        let (text, at) =
            crate::json_text::to_string_noting(record, RECORD_CAPACITY, APPLIED_MEMBER)
                .unwrap_or_default();
        // The offset inside the array, only where it is the empty one left for fragments.
        let at = at
            .filter(|at| text.get(*at..*at + 2) == Some("[]"))
            .map(|at| at + 1);
        (text, at)
    })
}

/// Slots of a [`RecordCache`].
pub const RECORD_CACHE_SLOTS: usize = 1024;

/// Record texts of recent decisions, by everything a record is made of except its id and
/// time, which are written into a copy of the remembered text.
///
/// Forward-auth traffic repeats its sign-ins (every asset of a page is a request of the same
/// user, device, address and client), and building a record is most of an allowed request's
/// work (~25 k instructions: ~100 strings to escape). A remembered text is reused only when
/// the sign-in (its time aside: the record writes no time of it but `evaluatedAt`, compared
/// apart), the derived signals and every other part of the record are equal to those it was
/// built from; only allowed-style records (no denial part) whose per-policy results go to
/// the store as fragments are remembered. Direct-mapped ([`RECORD_CACHE_SLOTS`] slots by a
/// hash of the user, address, User-Agent and device): a collision replaces the slot. One per
/// policy set ([`crate::state::Live`]).
pub struct RecordCache {
    slots: Box<[Mutex<Option<CachedRecord>>]>,
}

impl Default for RecordCache {
    fn default() -> Self {
        RecordCache {
            slots: (0..RECORD_CACHE_SLOTS).map(|_| Mutex::new(None)).collect(),
        }
    }
}

impl std::fmt::Debug for RecordCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordCache")
            .field("slots", &self.slots.len())
            .finish()
    }
}

/// A remembered record: what it was built from, its text, where its id, time and
/// correlation id are in it, and the offset inside its empty per-policy array.
struct CachedRecord {
    key: RecordKey,
    text: String,
    spans: [Span; 3],
    applied_at: usize,
}

/// Everything a record is made of except its id and time.
#[derive(PartialEq)]
struct RecordKey {
    signin: SignIn,
    /// The sign-in's encoding ([`MemoKey::encoded`]), when it was known.
    signin_key: Option<Box<[u8]>>,
    derived: Derived,
    user_principal_name: Option<String>,
    user_display_name: Option<String>,
    app_display_name: String,
    user_agent: Option<String>,
    verdict: Verdict,
    mfa_done: bool,
    policy_version: i64,
    /// The `evaluatedAt` the record writes (the sign-in's time when it is not the record's).
    evaluated_at: Option<i64>,
}

/// The `evaluatedAt` of a record.
fn evaluated_at(signin: &SignIn, created_ms: i64) -> Option<i64> {
    signin.at.filter(|at| *at != created_ms.div_euclid(1000))
}

impl RecordKey {
    /// The key of a record that can be remembered: fragments, no denial part, and request
    /// strings short enough to be logged uncut (a slot then holds a few KiB at most, so the
    /// cache stays within a few MiB whatever clients send).
    fn cacheable(derived: &Derived, parts: &RecordParts<'_>) -> bool {
        let short = |s: Option<&str>| s.is_none_or(|s| s.len() <= MAX_LOGGED_FIELD);
        matches!(parts.applied, Applied::Fragments)
            && parts.denial.is_none()
            && short(parts.user_agent)
            && short(parts.user_principal_name)
            && short(parts.user_display_name)
            && short(Some(parts.app_display_name))
            && short(derived.device_identifier.as_deref())
    }

    fn new(
        signin: &SignIn,
        signin_key: Option<&[u8]>,
        derived: &Derived,
        parts: &RecordParts<'_>,
    ) -> RecordKey {
        // Every part is named: a part added to records must be added here too.
        let RecordParts {
            correlation_id: _,
            created_ms,
            user_principal_name,
            user_display_name,
            app_display_name,
            user_agent,
            verdict,
            applied: _,
            mfa_done,
            policy_version,
            denial: _,
        } = parts;
        RecordKey {
            signin: signin.clone(),
            signin_key: signin_key.map(Box::from),
            derived: derived.clone(),
            user_principal_name: user_principal_name.map(str::to_owned),
            user_display_name: user_display_name.map(str::to_owned),
            app_display_name: (*app_display_name).to_owned(),
            user_agent: user_agent.map(str::to_owned),
            verdict: **verdict,
            mfa_done: *mfa_done,
            policy_version: *policy_version,
            evaluated_at: evaluated_at(signin, *created_ms),
        }
    }

    /// Whether a record of these parts is the remembered one (ids and times aside). The
    /// remembered sign-in takes the new one's time first: no member but `evaluatedAt` is
    /// written from it. With both sign-ins' encodings known, the encodings are compared
    /// instead of the sign-ins (equal exactly when the sign-ins are, the instant aside but
    /// for its dated-change regime: a few bytes compared, not every field of the device).
    fn matches(
        &mut self,
        signin: &SignIn,
        signin_key: Option<&[u8]>,
        derived: &Derived,
        parts: &RecordParts<'_>,
    ) -> bool {
        let RecordParts {
            correlation_id: _,
            created_ms,
            user_principal_name,
            user_display_name,
            app_display_name,
            user_agent,
            verdict,
            applied: _,
            mfa_done,
            policy_version,
            denial: _,
        } = parts;
        self.signin.at = signin.at;
        self.policy_version == *policy_version
            && self.verdict == **verdict
            && self.mfa_done == *mfa_done
            && self.evaluated_at == evaluated_at(signin, *created_ms)
            && self.user_agent.as_deref() == *user_agent
            && self.app_display_name == *app_display_name
            && self.user_principal_name.as_deref() == *user_principal_name
            && self.user_display_name.as_deref() == *user_display_name
            && match (self.signin_key.as_deref(), signin_key) {
                (Some(remembered), Some(key)) => remembered == key,
                _ => self.signin == *signin,
            }
            && self.derived == *derived
    }
}

/// The slot of a record's parts.
fn slot_of(signin: &SignIn, derived: &Derived, parts: &RecordParts<'_>) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    if let gardien_core::signin::Subject::User { id, .. } = &signin.subject {
        id.hash(&mut h);
    }
    signin.ip_address.hash(&mut h);
    parts.user_agent.hash(&mut h);
    derived.device_identifier.hash(&mut h);
    // The slot count is a power of two; the hash's high bits are its best.
    (h.finish() >> (64 - RECORD_CACHE_SLOTS.trailing_zeros())) as usize % RECORD_CACHE_SLOTS
}

impl RecordCache {
    /// [`build_noting_applied`], from the remembered text of equal parts when there is one.
    /// `signin_key`: the sign-in's encoding when the allowed memo wrote it
    /// ([`MemoKey::encoded`]); the remembered sign-in is then compared by its encoding.
    pub fn build_noting_applied(
        &self,
        signin: &SignIn,
        signin_key: Option<&[u8]>,
        derived: &Derived,
        parts: &RecordParts<'_>,
    ) -> (String, Option<usize>) {
        if !RecordKey::cacheable(derived, parts) {
            return build_noting_applied(signin, derived, parts);
        }
        let Some(slot) = self.slots.get(slot_of(signin, derived, parts)) else {
            return build_noting_applied(signin, derived, parts);
        };
        let created = crate::clock::rfc3339(parts.created_ms);
        if let Ok(mut guard) = slot.lock()
            && let Some(cached) = guard.as_mut()
            && cached.key.matches(signin, signin_key, derived, parts)
        {
            return cached.with(parts.correlation_id, &created);
        }
        let (text, spans) = with_record(signin, derived, parts, |record| {
            crate::json_text::to_string_spans(
                record,
                RECORD_CAPACITY,
                ["id", "createdDateTime", "correlationId", APPLIED_MEMBER],
            )
            .unwrap_or_default()
        });
        let at = spans[3]
            .filter(|(start, end)| text.get(*start..*end) == Some("[]"))
            .map(|(start, _)| start + 1);
        if let ([Some(id), Some(time), Some(correlation), _], Some(applied_at)) = (spans, at)
            && id.0 < time.0
            && time.0 < correlation.0
            && correlation.1 <= applied_at
            && let Ok(mut guard) = slot.lock()
        {
            *guard = Some(CachedRecord {
                key: RecordKey::new(signin, signin_key, derived, parts),
                text: text.clone(),
                spans: [id, time, correlation],
                applied_at,
            });
        }
        (text, at)
    }
}

impl CachedRecord {
    /// The remembered text with another id (and correlation id) and time.
    fn with(&self, id: &str, created: &str) -> (String, Option<usize>) {
        let mut out = String::with_capacity(self.text.len() + 16);
        let mut last = 0;
        for (span, value) in self.spans.iter().zip([id, created, id]) {
            out.push_str(self.text.get(last..span.0).unwrap_or_default());
            crate::json_text::push_str(&mut out, value);
            last = span.1;
        }
        // The per-policy array comes after the three: it moves by what they changed.
        let applied_at = self.applied_at - last + out.len();
        out.push_str(self.text.get(last..).unwrap_or_default());
        (out, Some(applied_at))
    }
}

/// Calls `f` with the record of a decision (the record borrows the parts it is made of).
fn with_record<R>(
    signin: &SignIn,
    derived: &Derived,
    parts: &RecordParts<'_>,
    f: impl FnOnce(&Record<'_>) -> R,
) -> R {
    let v = parts.verdict;
    let (user_id, app_id) = ids(signin);
    let user_id = truncate(&user_id, MAX_LOGGED_FIELD);
    let app_id = truncate(&app_id, MAX_LOGGED_FIELD);
    let user_principal_name = parts
        .user_principal_name
        .map(|s| truncate(s, MAX_LOGGED_FIELD));
    let user_display_name = parts
        .user_display_name
        .map(|s| truncate(s, MAX_LOGGED_FIELD));
    let app_display_name = truncate(parts.app_display_name, MAX_LOGGED_FIELD);
    let user_agent = parts.user_agent.map(|s| truncate(s, MAX_LOGGED_FIELD));
    let device_identifier = derived
        .device_identifier
        .as_deref()
        .map(|s| truncate(s, MAX_LOGGED_FIELD));
    let device = signin.device.as_ref();
    let text = |f: fn(&gardien_core::device::DeviceInfo) -> Option<&Box<str>>| {
        Scalar::from(device.and_then(|d| f(d).map(|s| &**s)).unwrap_or(""))
    };
    let operating_system = operating_system(
        derived.platform,
        derived.os_version.map(|v| v.to_string()).as_deref(),
    );
    let (risk_level, risk_events) = match &derived.risk {
        Some(r) => (
            r.level.as_str(),
            List::names(r.detections.iter().map(risk_event)),
        ),
        None => (
            signin.sign_in_risk.unwrap_or(RiskLevel::None).as_str(),
            List::Value(Vec::new()),
        ),
    };
    let code = status_code(v);
    let country = signin
        .country
        .map(|c| String::from_utf8_lossy(&c).into_owned());
    let denial = match &parts.denial {
        None => Member::Absent,
        Some(d) => Member::Value(Denial {
            key_sha256: Some(Scalar::from(d.key_sha256)),
            device: Member::Value(DenialDevice::from(d.device)),
        }),
    };
    let record = Record {
        id: Some(Scalar::from(parts.correlation_id)),
        created_date_time: Some(Scalar::from(crate::clock::rfc3339(parts.created_ms))),
        user_id: Some(Scalar::from(&*user_id)),
        user_principal_name: Some(Scalar::or_null(user_principal_name.as_deref())),
        user_display_name: Some(Scalar::or_null(user_display_name.as_deref())),
        app_id: Some(Scalar::from(&*app_id)),
        app_display_name: Some(Scalar::from(&*app_display_name)),
        ip_address: Some(derived.client_ip.address.map_or(Scalar::Null, |a| {
            Scalar::from(gardien_core::network::ip_text(&a))
        })),
        client_app_used: Some(Scalar::from(client_app_used(signin.client_app_type))),
        user_agent: Some(Scalar::or_null(user_agent.as_deref())),
        correlation_id: Some(Scalar::from(parts.correlation_id)),
        is_interactive: Some(Scalar::Bool(true)),
        status: Member::Value(Status {
            error_code: Some(Scalar::Int(i64::from(code))),
            failure_reason: Some(Scalar::from(failure_reason(v))),
            additional_details: Some(if code == 0 {
                Scalar::Null
            } else {
                Scalar::from(format!("AADSTS{code}"))
            }),
        }),
        device_detail: Member::Value(DeviceDetail {
            device_id: Some(text(|d| d.device_id.as_ref())),
            display_name: Some(text(|d| d.display_name.as_ref())),
            operating_system: Some(Scalar::from(operating_system)),
            browser: Some(Scalar::from("")),
            is_compliant: Some(Scalar::Bool(
                device.and_then(|d| d.is_compliant).unwrap_or(false),
            )),
            is_managed: Some(Scalar::Bool(device.is_some_and(|d| d.trust_type.is_some()))),
            trust_type: Some(text(|d| d.trust_type.as_ref())),
            gardien_identifier: device_identifier.as_deref().map(Scalar::from),
        }),
        location: Member::Value(Location {
            city: Some(Scalar::Null),
            state: Some(Scalar::Null),
            country_or_region: Some(country.map_or(Scalar::Null, Scalar::from)),
            geo_coordinates: match derived.place.and_then(|p| p.coordinates) {
                Some((latitude, longitude)) => Member::Value(Coordinates {
                    latitude: Some(Scalar::Number(latitude)),
                    longitude: Some(Scalar::Number(longitude)),
                    altitude: Some(Scalar::Null),
                }),
                None => Member::Null,
            },
        }),
        risk_level_during_sign_in: Some(Scalar::from(risk_level)),
        risk_event_types_v2: risk_events,
        conditional_access_status: Some(Scalar::from(match v.decision {
            Decision::Deny | Decision::Challenge => "failure",
            Decision::Allow if !v.applied.is_empty() => "success",
            Decision::Allow => "notApplied",
        })),
        authentication_requirement: Some(Scalar::from(if parts.mfa_done {
            "multiFactorAuthentication"
        } else {
            "singleFactorAuthentication"
        })),
        applied_policies: match parts.applied {
            Applied::Records(records) => Policies::Evaluation(records),
            Applied::Fragments => Policies::Text(&EMPTY_ARRAY),
        },
        gardien: Member::Value(GardienMember {
            decision: Some(Scalar::from(v.decision.as_str())),
            required_controls: List::names(v.required.iter().map(|c| c.as_str())),
            policy_version: Some(Scalar::Int(parts.policy_version)),
            denial,
            request: Some(RequestMember::Written(signin)),
            evaluated_at: evaluated_at(signin, parts.created_ms)
                .map(|at| Scalar::from(gardien_core::time::format_rfc3339(at))),
        }),
        ..Record::default()
    };
    f(&record)
}

/// The member of a record holding its per-policy results.
const APPLIED_MEMBER: &str = "appliedConditionalAccessPolicies";

/// The user id and first application id of a sign-in (empty when absent).
pub fn ids(signin: &SignIn) -> (String, String) {
    // Copied as `str`s (`to_string` on a `Box<str>` goes through `Display`).
    let user = match &signin.subject {
        gardien_core::signin::Subject::User { id, .. } => String::from(&**id),
        gardien_core::signin::Subject::ServicePrincipal { id }
        | gardien_core::signin::Subject::Agent { id } => String::from(&**id),
    };
    let app = match &signin.target {
        gardien_core::signin::Target::Applications(apps) => {
            apps.first().map(|a| String::from(&**a)).unwrap_or_default()
        }
        gardien_core::signin::Target::UserAction(a) => a.urn().to_owned(),
        gardien_core::signin::Target::AuthContext(c) => String::from(&**c),
    };
    (user, app)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test setup")]
mod tests {
    use super::*;

    #[test]
    fn remembered_records_are_the_records_built_anew() {
        let cache = RecordCache::default();
        let verdict = {
            let tenant = gardien_core::CompiledTenant::compile(
                gardien_core::Tenant::load(&gardien_core::TenantSource::default()).unwrap(),
            );
            tenant.evaluate(&SignIn::user("u", &["a"])).verdict
        };
        let base = {
            let mut s = SignIn::user("u1", &["a1"]);
            s.ip_address = "198.51.100.20".parse().ok();
            s.at = Some(1_765_000_000);
            s
        };
        let mut compliant = base.clone();
        compliant.device = Some(gardien_core::device::DeviceInfo {
            device_id: Some("d1".into()),
            is_compliant: Some(true),
            ..Default::default()
        });
        let mut not_compliant = compliant.clone();
        if let Some(d) = &mut not_compliant.device {
            d.is_compliant = Some(false);
        }
        let mut later = base.clone();
        later.at = Some(1_765_000_007);
        let mut other_user = base.clone();
        other_user.subject = SignIn::user("u2", &[]).subject;
        let derived = gardien_signals::Derived::given(&base);
        let mut derived_elsewhere = derived.clone();
        derived_elsewhere.place = Some(gardien_signals::geoip::Place {
            country: Some(*b"FR"),
            coordinates: Some((48.85, 2.35)),
        });
        let mut hits = 0;
        let keyed = RecordCache::default();
        let mut keyed_hits = 0;
        let cases: Vec<(&SignIn, &gardien_signals::Derived, Option<&str>, i64)> = vec![
            (&base, &derived, Some("agent/1"), 1_765_000_000_001),
            (&base, &derived, Some("agent/1"), 1_765_000_000_002),
            // Another second: the sign-in's time now differs from the record's.
            (&base, &derived, Some("agent/1"), 1_765_000_001_003),
            (&later, &derived, Some("agent/1"), 1_765_000_007_004),
            (&later, &derived, Some("agent/1"), 1_765_000_007_999),
            (&base, &derived, Some("agent/\"2\""), 1_765_000_000_005),
            (&base, &derived, None, 1_765_000_000_006),
            (&compliant, &derived, Some("agent/1"), 1_765_000_000_007),
            (&not_compliant, &derived, Some("agent/1"), 1_765_000_000_008),
            (&compliant, &derived, Some("agent/1"), 1_765_000_000_009),
            (&other_user, &derived, Some("agent/1"), 1_765_000_000_010),
            (
                &base,
                &derived_elsewhere,
                Some("agent/1"),
                1_765_000_000_011,
            ),
            (&base, &derived, Some("agent/1"), 1_765_000_000_012),
        ];
        for (n, (signin, derived, agent, created_ms)) in cases.into_iter().enumerate() {
            let id = format!("00000000-0000-4000-8000-{n:012}");
            let parts = RecordParts {
                correlation_id: &id,
                created_ms,
                user_principal_name: Some("a@b.example"),
                user_display_name: None,
                app_display_name: "App",
                user_agent: agent,
                verdict: &verdict,
                applied: Applied::Fragments,
                mfa_done: false,
                policy_version: 3,
                denial: None,
            };
            let slot = slot_of(signin, derived, &parts);
            let remembered = cache.slots[slot]
                .lock()
                .unwrap()
                .as_mut()
                .is_some_and(|c| c.key.matches(signin, None, derived, &parts));
            hits += usize::from(remembered);
            let expected = build_noting_applied(signin, derived, &parts);
            assert_eq!(
                cache.build_noting_applied(signin, None, derived, &parts),
                expected
            );
            // The same with the sign-ins' encodings: the same reuse, the same texts.
            let mut key = Vec::new();
            gardien_core::signin_key::encode(signin, &mut key);
            keyed_hits += usize::from(
                keyed.slots[slot]
                    .lock()
                    .unwrap()
                    .as_mut()
                    .is_some_and(|c| c.key.matches(signin, Some(&key), derived, &parts)),
            );
            assert_eq!(
                keyed.build_noting_applied(signin, Some(&key), derived, &parts),
                expected
            );
            assert!(expected.0.contains(&id));
        }
        // Repeats were served from the cache (and equal the records built anew above).
        assert!(hits >= 2, "{hits} hits");
        assert_eq!(keyed_hits, hits);
        // A record with a denial part is never remembered.
        let fresh = RecordCache::default();
        let device = crate::denial::DeviceSummary {
            registered: false,
            compliant: None,
            trust_type: None,
            platform: "windows".to_owned(),
            os_version: None,
            client_app: "browser".to_owned(),
        };
        let parts = RecordParts {
            correlation_id: "c",
            created_ms: 1,
            user_principal_name: None,
            user_display_name: None,
            app_display_name: "App",
            user_agent: None,
            verdict: &verdict,
            applied: Applied::Fragments,
            mfa_done: false,
            policy_version: 3,
            denial: Some(DenialParts {
                key_sha256: "ab",
                device: &device,
            }),
        };
        assert_eq!(
            fresh.build_noting_applied(&base, None, &derived, &parts),
            build_noting_applied(&base, &derived, &parts)
        );
        assert!(fresh.slots.iter().all(|s| s.lock().unwrap().is_none()));
        // Nor one with a User-Agent longer than a record keeps.
        let long = "a".repeat(MAX_LOGGED_FIELD + 1);
        let parts = RecordParts {
            user_agent: Some(&long),
            denial: None,
            ..parts
        };
        assert_eq!(
            fresh.build_noting_applied(&base, None, &derived, &parts),
            build_noting_applied(&base, &derived, &parts)
        );
        assert!(fresh.slots.iter().all(|s| s.lock().unwrap().is_none()));
    }

    #[test]
    fn the_allowed_memo_gives_back_the_evaluations_verdict_and_fragments() {
        let tenant = crate::snapshot::compile(
            "tenant.json",
            &serde_json::json!({"policies": [
                {"id": "p1", "displayName": "Block legacy", "state": "enabled",
                 "conditions": {"users": {"includeUsers": ["All"]},
                                "applications": {"includeApplications": ["All"]},
                                "clientAppTypes": ["exchangeActiveSync", "other"]},
                 "grantControls": {"operator": "OR", "builtInControls": ["block"]}},
                {"id": "p2", "displayName": "MFA", "state": "enabledForReportingButNotEnforced",
                 "conditions": {"users": {"includeUsers": ["All"]},
                                "applications": {"includeApplications": ["All"]}},
                 "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}
            ]}),
        )
        .unwrap();
        let cache = AppliedCache::default();
        let memo = &cache.allowed;
        let mut browser = SignIn::user("u1", &["a1"]);
        browser.client_app_type = Some(gardien_core::model::enums::ClientAppType::Browser);
        browser.at = Some(1_765_000_000);
        let mut legacy = browser.clone();
        legacy.client_app_type = Some(gardien_core::model::enums::ClientAppType::Other);
        let mut key = MemoKey::default();
        for signin in [&browser, &legacy] {
            assert!(memo.get(signin, &mut key).is_none());
            let evaluation = tenant.evaluate(signin);
            let fragments = cache.fragments(&tenant, &evaluation).unwrap();
            memo.remember(&key, &evaluation.verdict, &fragments);
        }
        // The allow is remembered, the deny is not.
        assert_eq!(memo.len(), 1);
        assert!(memo.get(&legacy, &mut key).is_none());
        // The same sign-in a minute later: the evaluation's verdict and fragments.
        let mut later = browser.clone();
        later.at = Some(1_765_000_060);
        let evaluation = tenant.evaluate(&later);
        assert_eq!(evaluation.verdict.decision, Decision::Allow);
        let (verdict, fragments) = memo.get(&later, &mut key).unwrap();
        assert_eq!(verdict, evaluation.verdict);
        assert_eq!(fragments, cache.fragments(&tenant, &evaluation).unwrap());
        // Another user is another sign-in.
        let mut other = browser.clone();
        other.subject = SignIn::user("u2", &[]).subject;
        assert!(memo.get(&other, &mut key).is_none());

        // Sign-ins that never repeat turn the memo off for a while: no key, no lookup.
        let fresh = AllowedMemo::default();
        for n in 0..ALLOWED_MEMO_WINDOW {
            let mut s = browser.clone();
            s.subject = SignIn::user(&format!("distinct-{n}"), &[]).subject;
            assert!(fresh.get(&s, &mut key).is_none());
            assert!(key.looked_up);
            fresh.remember(&key, &evaluation.verdict, &fragments);
        }
        assert_eq!(fresh.len(), ALLOWED_MEMO_WINDOW as usize);
        assert!(fresh.get(&browser, &mut key).is_none());
        assert!(!key.looked_up);
        fresh.remember(&key, &evaluation.verdict, &fragments);
        assert_eq!(fresh.len(), ALLOWED_MEMO_WINDOW as usize);
        // It comes back after the windows it is off.
        for _ in 1..ALLOWED_MEMO_WINDOW * ALLOWED_MEMO_OFF_WINDOWS {
            assert!(fresh.get(&browser, &mut key).is_none());
        }
        fresh.remember(&key, &evaluation.verdict, &fragments);
        assert!(!key.looked_up);
        assert!(fresh.get(&browser, &mut key).is_none());
        assert!(key.looked_up);
        fresh.remember(&key, &evaluation.verdict, &fragments);
        assert!(fresh.get(&browser, &mut key).is_some());
    }

    #[test]
    fn records_are_the_text_serde_json_writes() {
        let mut signin = SignIn::user("u-\"quoted\"\n\u{1}", &["app-é-漢"]);
        signin.ip_address = "2001:db8::1".parse().ok();
        signin.country = Some(*b"FR");
        signin.device = Some(gardien_core::device::DeviceInfo {
            device_id: Some("d\\1".into()),
            display_name: Some("PC\t🙂".into()),
            ..Default::default()
        });
        let mut derived = gardien_signals::Derived::given(&signin);
        derived.place = Some(gardien_signals::geoip::Place {
            country: Some(*b"FR"),
            coordinates: Some((48.8566, 2.352_2)),
        });
        derived.device_identifier = Some("0A:0B\u{7f}".to_owned());
        derived.risk = Some(gardien_signals::risk::RiskAssessment {
            level: RiskLevel::High,
            detections: vec![gardien_signals::risk::Detection::UnfamiliarCountry(*b"FR")],
        });
        let long_agent = format!("Agent/1.0 \u{8}\u{c}{}", "x\"".repeat(2000));
        let device = crate::denial::DeviceSummary {
            registered: true,
            compliant: None,
            trust_type: Some("Workplace".to_owned()),
            platform: "windows".to_owned(),
            os_version: Some("10.0.19045".to_owned()),
            client_app: "browser".to_owned(),
        };
        let tenant = crate::snapshot::compile(
            "tenant.json",
            &serde_json::json!({"policies": [
                {"id": "p1", "displayName": "Block \"all\"\t", "state": "enabled",
                 "conditions": {"users": {"includeUsers": ["All"]},
                                "applications": {"includeApplications": ["All"]}},
                 "grantControls": {"operator": "OR", "builtInControls": ["block"]}}
            ]}),
        )
        .unwrap();
        let evaluation = tenant.evaluate(&signin);
        let verdict = evaluation.verdict;
        assert_eq!(verdict.decision, Decision::Deny);
        let records = Applied::Records(AppliedPoliciesJson {
            tenant: &tenant,
            evaluation: &evaluation,
        });
        for (agent, denial, applied) in [
            (Some(long_agent.as_str()), true, Applied::Fragments),
            (None, false, Applied::Fragments),
            (Some("Mozilla/5.0"), true, records),
        ] {
            let parts = RecordParts {
                correlation_id: "c-1",
                created_ms: 1_765_000_000_123,
                user_principal_name: Some("a@b.example"),
                user_display_name: Some("Zoë \"Z\" \u{2028}"),
                app_display_name: "App\\",
                user_agent: agent,
                verdict: &verdict,
                applied,
                mfa_done: true,
                policy_version: 7,
                denial: denial.then_some(DenialParts {
                    key_sha256: "ab",
                    device: &device,
                }),
            };
            let reference = with_record(&signin, &derived, &parts, |r| {
                serde_json::to_string(r).unwrap()
            });
            let (text, at) = build_noting_applied(&signin, &derived, &parts);
            assert_eq!(text, reference);
            match applied {
                Applied::Fragments => {
                    assert_eq!(at, applied_offset(&reference));
                    assert!(at.is_some());
                }
                // Entries written in the text: nothing to splice.
                Applied::Records(_) => assert_eq!(at, None),
            }
        }
    }

    #[test]
    fn fragments_rebuild_the_serialized_entries_and_the_whole_record() {
        let tenant = crate::snapshot::compile(
            "tenant.json",
            &serde_json::json!({"policies": [
                {"id": "p1", "displayName": "Block \"legacy\"", "state": "enabled",
                 "conditions": {"users": {"includeUsers": ["All"]},
                                "applications": {"includeApplications": ["All"]},
                                "clientAppTypes": ["exchangeActiveSync", "other"]},
                 "grantControls": {"operator": "OR", "builtInControls": ["block"]}},
                {"id": "p2", "displayName": "MFA", "state": "enabledForReportingButNotEnforced",
                 "conditions": {"users": {"includeUsers": ["All"]},
                                "applications": {"includeApplications": ["All"]}},
                 "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}},
                {"id": "p3", "displayName": "Off", "state": "disabled",
                 "conditions": {"users": {"includeUsers": ["All"]},
                                "applications": {"includeApplications": ["All"]}},
                 "grantControls": {"operator": "OR", "builtInControls": ["mfa"]}}
            ]}),
        )
        .unwrap();
        let cache = AppliedCache::default();
        let browser = {
            let mut s = SignIn::user("u1", &["a1"]);
            s.client_app_type = Some(gardien_core::model::enums::ClientAppType::Browser);
            s
        };
        let mut legacy = browser.clone();
        legacy.client_app_type = Some(gardien_core::model::enums::ClientAppType::Other);
        let mut other_user = browser.clone();
        other_user.subject = SignIn::user("u2", &[]).subject;
        // Entries: the browser's 3; the legacy client's p1 (applied) and p2 (report-only:
        // a legacy client cannot do MFA, another result), p3 (disabled) the same; the
        // browser again and another user the policies treat alike add none.
        for (s, entries) in [(&browser, 3), (&legacy, 5), (&browser, 5), (&other_user, 5)] {
            let evaluation = tenant.evaluate(s);
            let direct = serde_json::to_string(&AppliedPoliciesJson {
                tenant: &tenant,
                evaluation: &evaluation,
            })
            .unwrap();
            let fragments = cache.fragments(&tenant, &evaluation).unwrap();
            let joined: Vec<&str> = fragments.iter().map(|f| &*f.text).collect();
            assert_eq!(format!("[{}]", joined.join(",")), direct);
            assert_eq!(cache.len(), entries);
            // The same text always has the same id (replicas agree), another text another.
            for f in &fragments {
                assert_eq!(fragment(f.text.to_string()).id, f.id);
            }
            // The whole record read back equals the record written whole.
            let derived = gardien_signals::Derived::given(s);
            let parts = |applied| RecordParts {
                correlation_id: "c-1",
                created_ms: 1_765_000_000_000,
                user_principal_name: Some("someone \"appliedConditionalAccessPolicies\":[]"),
                user_display_name: None,
                app_display_name: "App",
                user_agent: None,
                verdict: &evaluation.verdict,
                applied,
                mfa_done: false,
                policy_version: 3,
                denial: None,
            };
            let whole = build(
                s,
                &derived,
                &parts(Applied::Records(AppliedPoliciesJson {
                    tenant: &tenant,
                    evaluation: &evaluation,
                })),
            );
            let compact = build(s, &derived, &parts(Applied::Fragments));
            let at = applied_offset(&compact).unwrap();
            let spliced = Fragments {
                at,
                entries: fragments,
            }
            .splice(&compact);
            assert_eq!(spliced, whole);
        }
        let ids: std::collections::HashSet<i64> = {
            let e = tenant.evaluate(&legacy);
            let b = tenant.evaluate(&browser);
            [e, b]
                .iter()
                .flat_map(|ev| cache.fragments(&tenant, ev).unwrap())
                .map(|f| f.id)
                .collect()
        };
        assert_eq!(ids.len(), 5);
    }
}
