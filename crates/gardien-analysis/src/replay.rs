//! Replay of sign-in logs against a proposed tenant: what would be decided differently.
//!
//! Each record of a log (an Entra export or `gardien serve`'s own log, see [`log`]) is turned
//! back into the sign-in that was decided ([`rebuild`]), decided again by the proposed tenant
//! with the core's hot path ([`CompiledTenant::decide`]), and compared with what happened
//! before: the logged outcome, or a baseline tenant's decision on the same sign-in. Changes
//! are counted per category ([`Change`]), by responsible policy, user and application; a
//! record that cannot be replayed is counted with its reason. Memory stays bounded by the
//! number of distinct users, applications and policies, whatever the size of the logs.

pub mod cache;
pub mod log;
pub mod rebuild;

use gardien_core::eval::PolicySet;
use gardien_core::ids::normalize_id;
use gardien_core::{CompiledTenant, Decision, Verdict};
use rustc_hash::FxHashMap;
use serde::Serialize;

pub use cache::VerdictCache;
pub use gardien_core::signin_log::Element;
pub use log::{Layout, LogError, Position, ReadError, read_log};
pub use rebuild::{Assumption, Assumptions, Logged, Rebuilt, Skip, SkipReason, rebuild};

/// How many example locations are kept per skip reason.
const EXAMPLES: usize = 5;

/// How a sign-in's outcome changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    /// Allowed or challenged before, denied now.
    NewlyBlocked,
    /// Allowed before, challenged now.
    NewlyChallenged,
    /// Denied before, allowed or challenged now.
    NoLongerBlocked,
    /// Challenged before, allowed now.
    NoLongerChallenged,
    /// Same decision, but an enforced policy applied before and none applies now.
    NoLongerCovered,
    /// Denied before and now, with another error code.
    ErrorCodeChanged,
    /// Denied (or challenged) before and now, with the same code, but another policy decides
    /// ("still blocked, now by CA000").
    DecidingPolicyMoved,
    /// Nothing of the above.
    Unchanged,
}

impl Change {
    /// Every category, in report order.
    pub const ALL: [Change; 8] = [
        Change::NewlyBlocked,
        Change::NewlyChallenged,
        Change::NoLongerBlocked,
        Change::NoLongerChallenged,
        Change::NoLongerCovered,
        Change::ErrorCodeChanged,
        Change::DecidingPolicyMoved,
        Change::Unchanged,
    ];

    /// Stable name (camelCase), as in the JSON report.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::NewlyBlocked => "newlyBlocked",
            Change::NewlyChallenged => "newlyChallenged",
            Change::NoLongerBlocked => "noLongerBlocked",
            Change::NoLongerChallenged => "noLongerChallenged",
            Change::NoLongerCovered => "noLongerCovered",
            Change::ErrorCodeChanged => "errorCodeChanged",
            Change::DecidingPolicyMoved => "decidingPolicyMoved",
            Change::Unchanged => "unchanged",
        }
    }

    /// The same in words, for people.
    pub fn label(self) -> &'static str {
        match self {
            Change::NewlyBlocked => "newly blocked",
            Change::NewlyChallenged => "newly challenged",
            Change::NoLongerBlocked => "no longer blocked",
            Change::NoLongerChallenged => "no longer challenged",
            Change::NoLongerCovered => "no longer covered",
            Change::ErrorCodeChanged => "error code changed",
            Change::DecidingPolicyMoved => "deciding policy moved",
            Change::Unchanged => "unchanged",
        }
    }

    /// The category named `name` ([`Change::as_str`]), for `--fail-on`.
    pub fn parse(name: &str) -> Option<Change> {
        Change::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// The part of an outcome a change is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Allow, challenge or deny.
    pub decision: Decision,
    /// Error code of a deny.
    pub error_code: Option<u32>,
    /// At least one enforced policy applied.
    pub covered: bool,
}

impl Summary {
    /// The summary of a verdict.
    pub fn of(v: &Verdict) -> Summary {
        Summary {
            decision: v.decision,
            error_code: if v.decision == Decision::Deny {
                v.error_code
            } else {
                None
            },
            covered: !v.applied.is_empty(),
        }
    }
}

/// The category of a change from `before` to `after` (the first that holds, in the order of
/// [`Change::ALL`]).
pub fn classify(before: Summary, after: Summary) -> Change {
    use Decision::{Allow, Challenge, Deny};
    match (before.decision, after.decision) {
        (Allow | Challenge, Deny) => Change::NewlyBlocked,
        (Allow, Challenge) => Change::NewlyChallenged,
        (Deny, Allow | Challenge) => Change::NoLongerBlocked,
        (Challenge, Allow) => Change::NoLongerChallenged,
        _ if before.covered && !after.covered => Change::NoLongerCovered,
        (Deny, Deny)
            if before.error_code.is_some()
                && after.error_code.is_some()
                && before.error_code != after.error_code =>
        {
            Change::ErrorCodeChanged
        }
        _ => Change::Unchanged,
    }
}

/// What a sign-in is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    /// The outcome in the log ([`Rebuilt::logged`]).
    Logged,
    /// The baseline tenant's verdict on the rebuilt sign-in.
    Baseline(Verdict),
}

/// One replayed sign-in: its change, and both outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compared {
    /// The category.
    pub change: Change,
    /// Before.
    pub before: Before,
    /// The proposed tenant's verdict.
    pub after: Verdict,
}

/// What happened to one log element.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Rebuilt and compared.
    Replayed(Box<Replayed>),
    /// Not replayed (counted in the report with its reason).
    Skipped(Skip),
}

/// A replayed sign-in.
#[derive(Debug, Clone)]
pub struct Replayed {
    /// The rebuilt sign-in.
    pub rebuilt: Rebuilt,
    /// Its comparison.
    pub compared: Compared,
}

/// A count for one policy, user or application.
#[derive(Debug, Clone, Default)]
struct Tally {
    name: Box<str>,
    count: u64,
}

fn bump(map: &mut FxHashMap<Box<str>, Tally>, id: &str, name: Option<&str>) {
    match map.get_mut(id) {
        Some(t) => {
            t.count += 1;
            if t.name.is_empty()
                && let Some(n) = name
            {
                t.name = Box::from(n);
            }
        }
        None => {
            map.insert(
                Box::from(id),
                Tally {
                    name: Box::from(name.unwrap_or_default()),
                    count: 1,
                },
            );
        }
    }
}

/// The names of a deciding-policy move as first seen, and its count.
#[derive(Debug, Clone, Default)]
struct Move {
    before_name: Box<str>,
    now_name: Box<str>,
    count: u64,
}

/// Deciding-policy moves by the policy of before, then the policy of now (ids), so that
/// counting a move looks two ids up and builds no string.
type Moves = FxHashMap<Box<str>, FxHashMap<Box<str>, Move>>;

fn bump_move(
    moves: &mut Moves,
    (before_id, before_name): (&str, &str),
    (now_id, now_name): (&str, &str),
) {
    let now = match moves.get_mut(before_id) {
        Some(now) => now,
        None => moves.entry(Box::from(before_id)).or_default(),
    };
    match now.get_mut(now_id) {
        Some(m) => m.count += 1,
        None => {
            now.insert(
                Box::from(now_id),
                Move {
                    before_name: Box::from(before_name),
                    now_name: Box::from(now_name),
                    count: 1,
                },
            );
        }
    }
}

#[derive(Debug, Default)]
struct Group {
    count: u64,
    /// Deciding-policy moves only.
    by_move: Moves,
    by_policy: FxHashMap<Box<str>, Tally>,
    by_user: FxHashMap<Box<str>, Tally>,
    by_app: FxHashMap<Box<str>, Tally>,
}

#[derive(Debug, Default)]
struct Skipped {
    count: u64,
    examples: Vec<String>,
}

/// Replays rebuilt sign-ins against a proposed tenant and keeps the counts.
#[derive(Debug)]
pub struct Replay<'t> {
    tenants: Tenants<'t>,
    cache: VerdictCache,
    records: u64,
    exact: u64,
    with_assumptions: u64,
    assumptions: [u64; Assumption::ALL.len()],
    skipped: [Skipped; SkipReason::ALL.len()],
    groups: [Group; Change::ALL.len()],
}

/// The tenants of a replay and their normalised policy ids.
#[derive(Debug)]
struct Tenants<'t> {
    proposed: &'t CompiledTenant,
    baseline: Option<&'t CompiledTenant>,
    proposed_ids: Vec<Box<str>>,
    baseline_ids: Vec<Box<str>>,
    /// Normalised id → index in the proposed tenant.
    proposed_index: FxHashMap<Box<str>, usize>,
}

impl<'t> Tenants<'t> {
    fn tenant_policy(&self, baseline: bool, index: usize) -> Option<(&'t str, &'t str)> {
        let tenant = if baseline {
            self.baseline?
        } else {
            self.proposed
        };
        tenant
            .tenant
            .policies
            .get(index)
            .map(|p| (p.id.as_str(), p.display_name.as_str()))
    }

    fn tenant_id(&self, baseline: bool, index: usize) -> Option<&str> {
        let ids = if baseline {
            &self.baseline_ids
        } else {
            &self.proposed_ids
        };
        ids.get(index).map(|s| &**s)
    }

    /// The policy a change is attributed to: the proposed tenant's deciding policy for what
    /// is newly blocked or challenged (or denied with another code), the deciding policy
    /// before for what is no longer blocked or challenged, the first policy that applied
    /// before for what is no longer covered. Ids are normalised. `baseline` is the
    /// baseline's verdict (`None`: compared with the log).
    fn responsible<'a>(
        &'a self,
        r: &'a Rebuilt,
        change: Change,
        after: &Verdict,
        baseline: Option<&Verdict>,
    ) -> Option<(&'a str, &'a str)> {
        let from_tenant = |baseline: bool, index: Option<usize>| {
            let i = index?;
            let (_, name) = self.tenant_policy(baseline, i)?;
            Some((self.tenant_id(baseline, i)?, name))
        };
        match change {
            Change::NewlyBlocked
            | Change::NewlyChallenged
            | Change::ErrorCodeChanged
            | Change::DecidingPolicyMoved => from_tenant(false, after.deciding_policy),
            Change::NoLongerBlocked | Change::NoLongerChallenged => match baseline {
                Some(v) => from_tenant(true, v.deciding_policy),
                None => r
                    .logged
                    .as_ref()
                    .ok()
                    .and_then(Logged::deciding)
                    .map(|p| (&*p.id, &*p.display_name)),
            },
            Change::NoLongerCovered => match baseline {
                Some(v) => from_tenant(true, v.applied.iter().next()),
                None => r
                    .logged
                    .as_ref()
                    .ok()
                    .and_then(|l| l.policies.first())
                    .map(|p| (&*p.id, &*p.display_name)),
            },
            Change::Unchanged => None,
        }
    }

    /// The deciding policy before (id normalised, name): the baseline's (`baseline`), else
    /// the log's.
    fn deciding_before<'a>(
        &'a self,
        baseline: Option<&Verdict>,
        r: &'a Rebuilt,
    ) -> Option<(&'a str, &'a str)> {
        match baseline {
            Some(v) => {
                let i = v.deciding_policy?;
                let (_, name) = self.tenant_policy(true, i)?;
                Some((self.tenant_id(true, i)?, name))
            }
            None => r
                .logged
                .as_ref()
                .ok()
                .and_then(Logged::deciding)
                .map(|p| (&*p.id, &*p.display_name)),
        }
    }

    fn names(&self, baseline: bool, set: &PolicySet) -> Vec<PolicyName<'t>> {
        set.iter()
            .filter_map(|i| self.tenant_policy(baseline, i))
            .map(|(id, display_name)| PolicyName { id, display_name })
            .collect()
    }
}

fn ids(t: Option<&CompiledTenant>) -> Vec<Box<str>> {
    t.map(|t| {
        t.tenant
            .policies
            .iter()
            .map(|p| normalize_id(&p.id))
            .collect()
    })
    .unwrap_or_default()
}

impl<'t> Replay<'t> {
    /// Replays against `proposed`, comparing with `baseline`'s decisions when given, else
    /// with the logged outcomes.
    pub fn new(proposed: &'t CompiledTenant, baseline: Option<&'t CompiledTenant>) -> Self {
        Replay {
            tenants: Tenants {
                proposed,
                baseline,
                proposed_ids: ids(Some(proposed)),
                baseline_ids: ids(baseline),
                proposed_index: ids(Some(proposed))
                    .into_iter()
                    .enumerate()
                    .map(|(i, id)| (id, i))
                    .collect(),
            },
            cache: VerdictCache::new(cache::DEFAULT_CAPACITY),
            records: 0,
            exact: 0,
            with_assumptions: 0,
            assumptions: [0; Assumption::ALL.len()],
            skipped: Default::default(),
            groups: Default::default(),
        }
    }

    /// Remembers at most `capacity` distinct sign-ins' verdicts (0: decide every sign-in).
    #[must_use]
    pub fn with_cache_capacity(mut self, capacity: usize) -> Self {
        self.cache = VerdictCache::new(capacity);
        self
    }

    /// Sign-ins whose verdicts came from the cache, and all sign-ins decided.
    pub fn cache_hits(&self) -> (u64, u64) {
        self.cache.hits()
    }

    /// Rebuilds, decides and compares one log element; `location` names it for the examples
    /// of skipped records.
    pub fn replay(&mut self, element: &Element<'_>, location: impl FnOnce() -> String) -> Outcome {
        match rebuild(element) {
            Err(skip) => {
                self.skip(&skip, location);
                Outcome::Skipped(skip)
            }
            Ok(rebuilt) => match self.compare(&rebuilt, location) {
                Some(compared) => Outcome::Replayed(Box::new(Replayed { rebuilt, compared })),
                None => Outcome::Skipped(match rebuilt.logged {
                    Err(skip) => skip,
                    Ok(_) => Skip {
                        reason: SkipReason::NoOutcome,
                        detail: String::new(),
                    },
                }),
            },
        }
    }

    /// Counts a record that was not replayed.
    pub fn skip(&mut self, skip: &Skip, location: impl FnOnce() -> String) {
        self.records += 1;
        if let Some(s) = self.skipped.get_mut(skip.reason as usize) {
            s.count += 1;
            if s.examples.len() < EXAMPLES {
                s.examples.push(format!("{}: {}", location(), skip.detail));
            }
        }
    }

    /// Decides a rebuilt sign-in with the proposed tenant and compares; `None` (counted as
    /// skipped) when comparing with the log and the log has no usable outcome.
    pub fn compare(&mut self, r: &Rebuilt, location: impl FnOnce() -> String) -> Option<Compared> {
        if self.tenants.baseline.is_none()
            && let Err(skip) = &r.logged
        {
            self.skip(skip, location);
            return None;
        }
        if self.tenants.baseline.is_none() {
            // Compared with the log: the verdict goes from `decide` to the result with as
            // few moves as possible (each is a copy of a few hundred bytes).
            let after = self.cache.decide_proposed(&r.signin, self.tenants.proposed);
            let change = self.count(r, &after, None)?;
            return Some(Compared {
                change,
                before: Before::Logged,
                after,
            });
        }
        let (after, baseline) =
            self.cache
                .decide(&r.signin, self.tenants.proposed, self.tenants.baseline);
        // Judged and counted on references: a verdict is a few hundred bytes, and each move
        // of one is a copy.
        let change = self.count(r, &after, baseline.as_ref())?;
        Some(Compared {
            change,
            before: match baseline {
                Some(v) => Before::Baseline(v),
                None => Before::Logged,
            },
            after,
        })
    }

    /// Judges and counts a sign-in decided `after` by the proposed tenant (and `baseline`
    /// by the baseline tenant); `None` when there is nothing to compare with.
    fn count(
        &mut self,
        r: &Rebuilt,
        after: &Verdict,
        baseline: Option<&Verdict>,
    ) -> Option<Change> {
        let before_summary = match (baseline, &r.logged) {
            (Some(v), _) => Summary::of(v),
            (None, Ok(l)) => Summary {
                decision: l.decision,
                error_code: l.error_code,
                covered: l.covered,
            },
            (None, Err(_)) => return None,
        };
        let mut change = classify(before_summary, Summary::of(after));
        // Same outcome, but the policy that decided before no longer applies (enforced) in
        // the proposed tenant: another one decides now. (Judged on the policy of before
        // rather than on "first failing policy" orders, which logs do not guarantee.)
        if change == Change::Unchanged
            && after.decision != Decision::Allow
            && let Some((before_id, _)) = self.tenants.deciding_before(baseline, r)
            // Most often the same policy decides (it applies, as a deciding policy does);
            // else look the policy of before up.
            && after.deciding_policy.and_then(|i| self.tenants.tenant_id(false, i))
                != Some(before_id)
            && !self
                .tenants
                .proposed_index
                .get(before_id)
                .is_some_and(|i| after.applied.contains(*i))
        {
            change = Change::DecidingPolicyMoved;
        }
        self.records += 1;
        if r.exact {
            self.exact += 1;
        } else {
            self.with_assumptions += 1;
            for a in r.assumptions.iter() {
                if let Some(n) = self.assumptions.get_mut(a as usize) {
                    *n += 1;
                }
            }
        }
        let Some(g) = self.groups.get_mut(change as usize) else {
            return Some(change);
        };
        g.count += 1;
        if change != Change::Unchanged {
            let policy = self.tenants.responsible(r, change, after, baseline);
            if let Some((id, name)) = policy {
                bump(&mut g.by_policy, id, Some(name));
            }
            if change == Change::DecidingPolicyMoved
                && let Some(before) = self.tenants.deciding_before(baseline, r)
            {
                bump_move(&mut g.by_move, before, policy.unwrap_or(("", "")));
            }
            bump(&mut g.by_user, &r.user_id, r.user_name.as_deref());
            bump(&mut g.by_app, &r.app_id, r.app_name.as_deref());
        }
        Some(change)
    }

    /// The listing entry of a replayed sign-in (`--json`); `source` is its location.
    pub fn entry<'a>(&'a self, source: &'a str, r: &'a Rebuilt, c: &Compared) -> SignInEntry<'a> {
        let after = Side {
            decision: c.after.decision.as_str(),
            error_code: Summary::of(&c.after).error_code,
            deciding_policy: c
                .after
                .deciding_policy
                .and_then(|i| self.tenants.tenant_policy(false, i))
                .map(|(id, display_name)| PolicyName { id, display_name }),
            policies: self.tenants.names(false, &c.after.applied),
        };
        let before = match (&c.before, &r.logged) {
            (Before::Baseline(v), _) => Side {
                decision: v.decision.as_str(),
                error_code: Summary::of(v).error_code,
                deciding_policy: v
                    .deciding_policy
                    .and_then(|i| self.tenants.tenant_policy(true, i))
                    .map(|(id, display_name)| PolicyName { id, display_name }),
                policies: self.tenants.names(true, &v.applied),
            },
            (Before::Logged, Ok(l)) => Side {
                decision: l.decision.as_str(),
                error_code: l.error_code,
                deciding_policy: l.deciding().map(|p| PolicyName {
                    id: &p.id,
                    display_name: &p.display_name,
                }),
                policies: l
                    .policies
                    .iter()
                    .map(|p| PolicyName {
                        id: &p.id,
                        display_name: &p.display_name,
                    })
                    .collect(),
            },
            (Before::Logged, Err(_)) => Side {
                decision: "unknown",
                error_code: None,
                deciding_policy: None,
                policies: Vec::new(),
            },
        };
        SignInEntry {
            source,
            correlation_id: r.correlation_id.as_deref(),
            created_date_time: r.created.as_deref(),
            user_id: &r.user_id,
            user_principal_name: r.user_name.as_deref(),
            app_id: &r.app_id,
            app_display_name: r.app_name.as_deref(),
            rebuilt: if r.exact { "exact" } else { "withAssumptions" },
            assumptions: r.assumptions.iter().map(Assumption::as_str).collect(),
            change: c.change.as_str(),
            before,
            after,
        }
    }

    /// The report of everything replayed so far.
    pub fn report(&self) -> ReplayReport {
        let skipped: u64 = self.skipped.iter().map(|s| s.count).sum();
        let sorted = |map: &FxHashMap<Box<str>, Tally>| {
            let mut v: Vec<Count> = map
                .iter()
                .map(|(id, t)| Count {
                    id: id.to_string(),
                    display_name: if t.name.is_empty() {
                        id.to_string()
                    } else {
                        t.name.to_string()
                    },
                    count: t.count,
                })
                .collect();
            v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.id.cmp(&b.id)));
            v
        };
        let moves = |moves: &Moves| {
            let mut v: Vec<Count> = moves
                .iter()
                .flat_map(|(before_id, now)| {
                    now.iter().map(move |(now_id, m)| Count {
                        id: format!("{before_id} → {now_id}"),
                        display_name: format!("{} → {}", m.before_name, m.now_name),
                        count: m.count,
                    })
                })
                .collect();
            v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.id.cmp(&b.id)));
            v
        };
        let group = |c: Change| {
            let g = self.groups.get(c as usize);
            ChangeSummary {
                count: g.map_or(0, |g| g.count),
                by_policy: g.map(|g| sorted(&g.by_policy)).unwrap_or_default(),
                by_user: g.map(|g| sorted(&g.by_user)).unwrap_or_default(),
                by_app: g.map(|g| sorted(&g.by_app)).unwrap_or_default(),
                by_move: g.map(|g| moves(&g.by_move)).unwrap_or_default(),
            }
        };
        ReplayReport {
            compared_with: if self.tenants.baseline.is_some() {
                "baseline"
            } else {
                "loggedOutcome"
            },
            totals: Totals {
                records: self.records,
                replayed: self.exact + self.with_assumptions,
                exact: self.exact,
                with_assumptions: self.with_assumptions,
                skipped,
            },
            changes: Changes {
                newly_blocked: group(Change::NewlyBlocked),
                newly_challenged: group(Change::NewlyChallenged),
                no_longer_blocked: group(Change::NoLongerBlocked),
                no_longer_challenged: group(Change::NoLongerChallenged),
                no_longer_covered: group(Change::NoLongerCovered),
                error_code_changed: group(Change::ErrorCodeChanged),
                deciding_policy_moved: group(Change::DecidingPolicyMoved),
                unchanged: self
                    .groups
                    .get(Change::Unchanged as usize)
                    .map_or(0, |g| g.count),
            },
            skipped: SkipReason::ALL
                .iter()
                .zip(&self.skipped)
                .filter(|(_, s)| s.count > 0)
                .map(|(r, s)| SkippedCount {
                    reason: r.as_str(),
                    count: s.count,
                    examples: s.examples.clone(),
                })
                .collect(),
            assumptions: Assumption::ALL
                .iter()
                .zip(&self.assumptions)
                .filter(|(_, n)| **n > 0)
                .map(|(a, n)| AssumptionCount {
                    assumption: a.as_str(),
                    count: *n,
                    meaning: a.meaning(),
                })
                .collect(),
        }
    }
}

/// A policy in a listing entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyName<'a> {
    /// Policy id.
    pub id: &'a str,
    /// Display name.
    pub display_name: &'a str,
}

/// One side (before or after) of a listing entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Side<'a> {
    /// `allow`, `challenge` or `deny`.
    pub decision: &'static str,
    /// Error code of a deny.
    pub error_code: Option<u32>,
    /// The policy that decided a deny or challenge.
    pub deciding_policy: Option<PolicyName<'a>>,
    /// Enforced policies that applied.
    pub policies: Vec<PolicyName<'a>>,
}

/// One replayed sign-in in the `--json` listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInEntry<'a> {
    /// Where the record is (`file:line` or `file: /value/3`).
    pub source: &'a str,
    /// `correlationId` (or `id`).
    pub correlation_id: Option<&'a str>,
    /// `createdDateTime`.
    pub created_date_time: Option<&'a str>,
    /// User (or service principal) id.
    pub user_id: &'a str,
    /// `userPrincipalName`.
    pub user_principal_name: Option<&'a str>,
    /// Application id.
    pub app_id: &'a str,
    /// `appDisplayName`.
    pub app_display_name: Option<&'a str>,
    /// `exact` (gardien's request) or `withAssumptions`.
    pub rebuilt: &'static str,
    /// The assumptions made to rebuild it.
    pub assumptions: Vec<&'static str>,
    /// The change category.
    pub change: &'static str,
    /// Before: the logged outcome or the baseline's decision.
    pub before: Side<'a>,
    /// After: the proposed tenant's decision.
    pub after: Side<'a>,
}

/// One skipped record in the `--json` listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedEntry<'a> {
    /// Where the record is.
    pub source: &'a str,
    /// The reason (stable name).
    pub skipped: &'static str,
    /// The detail.
    pub detail: &'a str,
}

/// Records read, replayed and skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Every record (element or non-blank line) read.
    pub records: u64,
    /// Replayed: `exact + withAssumptions`.
    pub replayed: u64,
    /// Rebuilt exactly from gardien's `request`.
    pub exact: u64,
    /// Rebuilt from Graph members, with at least one assumption.
    pub with_assumptions: u64,
    /// Not replayed (see `skipped`).
    pub skipped: u64,
}

/// A count for one policy, user or application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Count {
    /// Id (policy id, user id, application id; normalised).
    pub id: String,
    /// Display name (policy name, user principal name, application name; the id when the
    /// log has none).
    pub display_name: String,
    /// Sign-ins.
    pub count: u64,
}

/// The sign-ins of one change category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeSummary {
    /// Sign-ins.
    pub count: u64,
    /// By responsible policy, most first.
    pub by_policy: Vec<Count>,
    /// By user, most first.
    pub by_user: Vec<Count>,
    /// By application, most first.
    pub by_app: Vec<Count>,
    /// Deciding-policy moves only: by `before → now` policy pair (ids and names), most first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_move: Vec<Count>,
}

/// Every change category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    /// Allowed or challenged before, denied now.
    pub newly_blocked: ChangeSummary,
    /// Allowed before, challenged now.
    pub newly_challenged: ChangeSummary,
    /// Denied before, allowed or challenged now.
    pub no_longer_blocked: ChangeSummary,
    /// Challenged before, allowed now.
    pub no_longer_challenged: ChangeSummary,
    /// Same decision; a policy applied before, none now.
    pub no_longer_covered: ChangeSummary,
    /// Denied before and now, another error code.
    pub error_code_changed: ChangeSummary,
    /// Same decision and code, another deciding policy.
    pub deciding_policy_moved: ChangeSummary,
    /// No change.
    pub unchanged: u64,
}

impl Changes {
    /// The summary of a changed category (`None` for [`Change::Unchanged`]).
    pub fn get(&self, c: Change) -> Option<&ChangeSummary> {
        match c {
            Change::NewlyBlocked => Some(&self.newly_blocked),
            Change::NewlyChallenged => Some(&self.newly_challenged),
            Change::NoLongerBlocked => Some(&self.no_longer_blocked),
            Change::NoLongerChallenged => Some(&self.no_longer_challenged),
            Change::NoLongerCovered => Some(&self.no_longer_covered),
            Change::ErrorCodeChanged => Some(&self.error_code_changed),
            Change::DecidingPolicyMoved => Some(&self.deciding_policy_moved),
            Change::Unchanged => None,
        }
    }
}

/// Records skipped for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkippedCount {
    /// The reason (stable name).
    pub reason: &'static str,
    /// Records.
    pub count: u64,
    /// The first few: `location: detail`.
    pub examples: Vec<String>,
}

/// Rebuilt records that needed one assumption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssumptionCount {
    /// The assumption (stable name).
    pub assumption: &'static str,
    /// Records.
    pub count: u64,
    /// What was missing and what was assumed.
    pub meaning: &'static str,
}

/// The result of a replay (`gardien replay --json`, after the per-sign-in listing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayReport {
    /// `loggedOutcome` or `baseline`.
    pub compared_with: &'static str,
    /// Records read, replayed, skipped.
    pub totals: Totals,
    /// Per change category.
    pub changes: Changes,
    /// Skipped records by reason.
    pub skipped: Vec<SkippedCount>,
    /// Assumptions made to rebuild records from Graph members.
    pub assumptions: Vec<AssumptionCount>,
}

#[cfg(test)]
#[allow(clippy::panic, reason = "test failures report through panics")]
mod tests {
    use super::*;
    use gardien_core::{SourceFile, Tenant, TenantSource};

    macro_rules! demo {
        ($path:literal) => {
            SourceFile::new(
                $path,
                include_bytes!(concat!("../../../examples/demo/tenant/", $path)).to_vec(),
            )
        };
    }

    /// The demo tenant, with CA04 (compliant device for Payroll) disabled when `proposed`.
    fn demo_tenant(proposed: bool) -> CompiledTenant {
        demo_disabling(if proposed { &[3] } else { &[] })
    }

    /// The demo tenant with the policies at these indices disabled.
    fn demo_disabling(disabled: &[usize]) -> CompiledTenant {
        demo_with(disabled, None)
    }

    /// The demo tenant with the policies at these indices disabled and one more policy file.
    fn demo_with(disabled: &[usize], extra: Option<SourceFile>) -> CompiledTenant {
        let mut policies = vec![
            demo!("policies/ca01.json"),
            demo!("policies/ca02.json"),
            demo!("policies/ca03.json"),
            demo!("policies/ca04.json"),
            demo!("policies/ca05.json"),
            demo!("policies/ca06.json"),
        ];
        for i in disabled {
            let text =
                String::from_utf8_lossy(&policies[*i].bytes).replace("\"enabled\"", "\"disabled\"");
            policies[*i] =
                SourceFile::new(format!("policies/ca0{}.json", i + 1), text.into_bytes());
        }
        policies.extend(extra);
        let source = TenantSource {
            policy_files: policies,
            location_files: vec![demo!("namedLocations.json")],
            directory: Some(demo!("directory.json")),
            ..Default::default()
        };
        match Tenant::load(&source) {
            Ok(t) => CompiledTenant::compile(t),
            Err(e) => panic!("{e}"),
        }
    }

    const LOGS: [(&str, &str); 2] = [
        (
            "gardien.jsonl",
            include_str!("../../../testdata/signins/gardien.jsonl"),
        ),
        (
            "entra-export.json",
            include_str!("../../../testdata/signins/entra-export.json"),
        ),
    ];

    /// Replays the sample logs `rounds` times; returns the report and every change in order.
    fn run(replay: &mut Replay<'_>, rounds: usize) -> (ReplayReport, Vec<Option<Change>>) {
        let mut changes = Vec::new();
        for _ in 0..rounds {
            for (name, text) in LOGS {
                let r = read_log(name, text.as_bytes(), |pos, e| {
                    changes.push(match replay.replay(&e, || pos.describe(name)) {
                        Outcome::Replayed(r) => Some(r.compared.change),
                        Outcome::Skipped(_) => None,
                    });
                    Ok::<(), String>(())
                });
                assert!(r.is_ok(), "{r:?}");
            }
        }
        (replay.report(), changes)
    }

    #[test]
    fn the_verdict_cache_changes_nothing_but_speed() {
        let current = demo_tenant(false);
        let proposed = demo_tenant(true);
        for baseline in [None, Some(&current)] {
            let mut cached = Replay::new(&proposed, baseline);
            let mut plain = Replay::new(&proposed, baseline).with_cache_capacity(0);
            let a = run(&mut cached, 3);
            let b = run(&mut plain, 3);
            assert_eq!(a, b);
            let (hits, lookups) = cached.cache_hits();
            assert!(hits * 3 >= lookups * 2 - 3 * 22, "{hits}/{lookups}");
            assert_eq!(plain.cache_hits(), (0, 0));
            let blocked = a.0.changes.no_longer_blocked.count;
            assert_eq!(blocked, if baseline.is_some() { 12 } else { 9 });
        }
        // A tiny cache is emptied when full and still gives the same answers.
        let mut tiny = Replay::new(&proposed, None).with_cache_capacity(2);
        let mut plain = Replay::new(&proposed, None).with_cache_capacity(0);
        assert_eq!(run(&mut tiny, 2), run(&mut plain, 2));
    }

    /// A log whose first 2,048 sign-ins are all distinct makes the cache step aside at
    /// once (the repeats that follow are decided again); one with a repeat in ten keeps it.
    #[test]
    fn the_verdict_cache_steps_aside_early_when_nothing_repeats() {
        let tenant = demo_tenant(false);
        let signin = |i: usize| gardien_core::SignIn::user(&format!("user-{i}"), &["app"]);
        for (repeat_every, hits_after) in [(None, 0), (Some(10), 10)] {
            let mut cache = cache::VerdictCache::new(cache::DEFAULT_CAPACITY);
            for i in 0..2048 {
                let i = match repeat_every {
                    Some(n) if i % n == 0 => 0,
                    _ => i,
                };
                cache.decide(&signin(i), &tenant, None);
            }
            let (hits, _) = cache.hits();
            for _ in 0..10 {
                let (v, _) = cache.decide(&signin(1), &tenant, None);
                assert_eq!(v, tenant.decide(&signin(1)));
            }
            assert_eq!(cache.hits().0 - hits, hits_after, "{repeat_every:?}");
        }
    }

    #[test]
    fn a_block_now_decided_by_another_policy_is_a_move_not_unchanged() {
        // Alice on Payroll from Brazil: CA01 (outside the EU) denies with 53003. The proposal
        // disables CA01 and adds CA07, the same block: still denied (same code), by CA07 now.
        let Some(line) = LOGS[0].1.lines().next() else {
            panic!("empty sample log")
        };
        assert!(line.contains("\"countryOrRegion\":\"BR\""));
        let ca07 = String::from_utf8_lossy(include_bytes!(
            "../../../examples/demo/tenant/policies/ca01.json"
        ))
        .replace("ca01-0000", "ca07-0000")
        .replace(
            "CA01 Block sign-ins from outside the EU",
            "CA07 Block outside the EU",
        );
        let current = demo_disabling(&[]);
        let proposed = demo_with(
            &[0],
            Some(SourceFile::new("policies/ca07.json", ca07.into_bytes())),
        );
        for baseline in [None, Some(&current)] {
            let mut replay = Replay::new(&proposed, baseline);
            let r = read_log("move.jsonl", line.as_bytes(), |pos, e| {
                match replay.replay(&e, || pos.describe("move.jsonl")) {
                    Outcome::Replayed(r) => {
                        assert_eq!(
                            r.compared.change,
                            Change::DecidingPolicyMoved,
                            "{:?}",
                            r.compared
                        );
                        assert_eq!(r.compared.after.decision, Decision::Deny);
                    }
                    Outcome::Skipped(s) => panic!("skipped: {s:?}"),
                }
                Ok::<(), String>(())
            });
            assert!(r.is_ok(), "{r:?}");
            let report = replay.report();
            let moved = &report.changes.deciding_policy_moved;
            assert_eq!((moved.count, report.changes.unchanged), (1, 0));
            assert_eq!(
                moved.by_policy.first().map(|c| c.display_name.as_str()),
                Some("CA07 Block outside the EU")
            );
            assert_eq!(
                moved.by_move.first().map(|c| c.display_name.as_str()),
                Some("CA01 Block sign-ins from outside the EU → CA07 Block outside the EU")
            );
        }
        // Nothing moves when nothing changes.
        let mut same = Replay::new(&current, Some(&current));
        let r = read_log("move.jsonl", line.as_bytes(), |pos, e| {
            let _ = same.replay(&e, || pos.describe("move.jsonl"));
            Ok::<(), String>(())
        });
        assert!(r.is_ok());
        assert_eq!(same.report().changes.unchanged, 1);
    }

    fn s(decision: Decision, error_code: Option<u32>, covered: bool) -> Summary {
        Summary {
            decision,
            error_code,
            covered,
        }
    }

    #[test]
    fn categories() {
        use Decision::{Allow, Challenge, Deny};
        let cases = [
            (
                s(Allow, None, true),
                s(Deny, Some(53003), true),
                Change::NewlyBlocked,
            ),
            (
                s(Challenge, None, true),
                s(Deny, Some(53000), true),
                Change::NewlyBlocked,
            ),
            (
                s(Allow, None, false),
                s(Challenge, None, true),
                Change::NewlyChallenged,
            ),
            (
                s(Deny, Some(53003), true),
                s(Challenge, None, true),
                Change::NoLongerBlocked,
            ),
            (
                s(Deny, Some(53003), true),
                s(Allow, None, false),
                Change::NoLongerBlocked,
            ),
            (
                s(Challenge, None, true),
                s(Allow, None, false),
                Change::NoLongerChallenged,
            ),
            (
                s(Allow, None, true),
                s(Allow, None, false),
                Change::NoLongerCovered,
            ),
            (
                s(Deny, Some(53003), true),
                s(Deny, Some(53000), true),
                Change::ErrorCodeChanged,
            ),
            (
                s(Deny, None, true),
                s(Deny, Some(53000), true),
                Change::Unchanged,
            ),
            (
                s(Allow, None, false),
                s(Allow, None, true),
                Change::Unchanged,
            ),
            (
                s(Challenge, None, true),
                s(Challenge, None, true),
                Change::Unchanged,
            ),
        ];
        for (before, after, want) in cases {
            assert_eq!(classify(before, after), want, "{before:?} -> {after:?}");
        }
    }
}
