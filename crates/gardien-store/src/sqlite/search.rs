//! How a SQLite sign-in search reads the log.
//!
//! Every search filter but the time range leads an index of its own, continued by
//! `(created_ms, seq)` and the other filters' columns (migration 4), so the search walks one
//! index newest first and checks every other filter inside it. The result index holds the
//! sign-ins not allowed only (migration 7): a search for allowed ones follows another
//! filter's index or, alone, the time index, checking each record's result (allowed
//! sign-ins are most of a log, so that walk is short unless denials flood it). The walk is short when the
//! leading filter matches few records, and SQLite's planner cannot know which one does
//! (its statistics, from `ANALYZE`, would hold the log writer off for seconds on a large
//! log). So, with several filters, the search first probes, in the time range, how far back
//! each one's 5,000th newest record is (counting the records of those that have fewer), and
//! follows the index of the fewest or, when all have that many, of the sparsest lately; a
//! filter that matches nothing makes the search end at once.
//!
//! When every filter matches many records and their conjunction few or none (a user, an
//! application and an error code that each match hundreds of thousands of records, never
//! together), the walk would read all the entries of the smallest filter to fill, or fail to
//! fill, one page. A bounded search ([`run`] with `reads`) stops after about that many index
//! entries instead, at a time boundary: every record at or after it was searched, none
//! before it; the caller continues from there (`SignInFilter::before`). The walk is cut in
//! two windows of time so that a search whose page fills early (the usual case) never pays
//! for the bound: the first holds the entries the probe skipped, the second, read only if
//! the first did not fill the page, the rest of the bound, its start found by skipping
//! entries in the index (`OFFSET`, about a third of the cost of checking them).

use sqlx::sqlite::{Sqlite, SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Row as _};

use crate::SignInFilter;
use crate::log::{
    DECISION_INDEXED, SEARCH_HEAD, UNINDEXED_DECISION, finish_search, push_before, push_filter,
};

/// Most index entries probed per filter before picking (skipping this many takes well under a
/// millisecond).
const PROBE: i64 = 5_000;

/// Share of a bounded search's entries that the probe skips (and the first window holds):
/// one in `FIRST_WINDOW`.
const FIRST_WINDOW: i64 = 10;

/// A filter's value.
#[derive(Clone, Copy)]
enum Value<'a> {
    Text(&'a str),
    Int(i64),
}

/// An index that a filter leads, with that filter.
#[derive(Clone, Copy)]
struct Lead<'a> {
    index: &'static str,
    column: &'static str,
    value: Value<'a>,
    /// The index's own condition (partial index), appended to every statement following
    /// it; empty for a whole index.
    condition: &'static str,
}

/// What a search read: the rows of [`SEARCH_HEAD`], newest first, and, when it stopped at
/// its bound before filling the page, the time (Unix ms) back to which it searched: every
/// matching record at or after it (and before the filter's position) is in the rows, the
/// older ones were not read.
pub(super) struct Found {
    pub(super) rows: Vec<SqliteRow>,
    pub(super) stopped_at: Option<i64>,
}

/// The filters that lead an index, in the order preferred on a tie: an error code is on
/// denials only, a user's or an application's share of the log is unknown, a result is the
/// densest. An allowed result leads none.
fn leads(filter: &SignInFilter) -> Vec<Lead<'_>> {
    let mut out = Vec::new();
    if let Some(code) = filter.error_code {
        out.push(Lead {
            index: "sign_ins_error_code",
            column: "error_code",
            value: Value::Int(i64::from(code)),
            condition: "",
        });
    }
    if let Some(user) = &filter.user {
        out.push(Lead {
            index: "sign_ins_user",
            column: "user_id",
            value: Value::Text(user),
            condition: "",
        });
    }
    if let Some(app) = &filter.app {
        out.push(Lead {
            index: "sign_ins_app",
            column: "app_id",
            value: Value::Text(app),
            condition: "",
        });
    }
    // The result index leaves allowed sign-ins out (migration 7): a search for them follows
    // another filter's index, or the time index checking each record's result.
    if let Some(decision) = &filter.decision
        && decision != UNINDEXED_DECISION
    {
        out.push(Lead {
            index: "sign_ins_decision",
            column: "decision",
            value: Value::Text(decision),
            condition: DECISION_INDEXED,
        });
    }
    out
}

/// Appends ` FROM sign_ins INDEXED BY <index> WHERE <column> = <value>`, the time range
/// and the keyset position of `filter`: the entries of `lead`'s index that a search reads.
fn push_entries<'a>(qb: &mut QueryBuilder<'a, Sqlite>, lead: Lead<'a>, filter: &SignInFilter) {
    // Index and column names are our own, never input.
    qb.push(" FROM sign_ins INDEXED BY ")
        .push(lead.index)
        .push(" WHERE ")
        .push(lead.column)
        .push(" = ");
    match lead.value {
        Value::Text(t) => qb.push_bind(t),
        Value::Int(n) => qb.push_bind(n),
    };
    qb.push(lead.condition);
    if let Some(from) = filter.from_ms {
        qb.push(" AND created_ms >= ").push_bind(from);
    }
    if let Some(to) = filter.to_ms {
        qb.push(" AND created_ms < ").push_bind(to);
    }
    push_before(qb, filter);
}

/// The index to follow and, when the probe found at least `probe` entries in it, the time
/// of the `probe`-th newest. `None` when fewer than two filters lead an index: then every
/// entry of the one index matches (or the correlation id's unique index answers).
///
/// First the time of each candidate's `probe`-th entry (skipping entries is the cheapest
/// walk); every candidate that has that many is at least as long as one that has fewer. Only
/// when several have fewer are those counted, to follow the shortest. When all have that
/// many, the one whose `probe`-th entry is the oldest is the sparsest lately, so likely the
/// shortest, and a bounded walk along it covers the longest time.
async fn pick<'a>(
    pool: &SqlitePool,
    filter: &'a SignInFilter,
    probe: i64,
) -> Result<Option<(Lead<'a>, Option<i64>)>, sqlx::Error> {
    let candidates = leads(filter);
    if candidates.len() < 2 || filter.correlation_id.is_some() {
        return Ok(None);
    }
    let mut qb = QueryBuilder::<Sqlite>::new("SELECT ");
    for (i, lead) in candidates.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        qb.push("(SELECT created_ms");
        push_entries(&mut qb, *lead, filter);
        qb.push(" ORDER BY created_ms DESC, seq DESC LIMIT 1 OFFSET ")
            .push_bind(probe - 1)
            .push(")");
    }
    let row = qb.build().fetch_one(pool).await?;
    let mut short = Vec::new();
    let mut sparsest = None;
    for (i, lead) in candidates.iter().enumerate() {
        match row.try_get::<Option<i64>, _>(i)? {
            // The oldest wins; on a tie, the earlier candidate.
            Some(at) => {
                if sparsest.is_none_or(|(_, t)| at < t) {
                    sparsest = Some((*lead, at));
                }
            }
            None => short.push(*lead),
        }
    }
    match short.as_slice() {
        [] => return Ok(sparsest.map(|(lead, at)| (lead, Some(at)))),
        [one] => return Ok(Some((*one, None))),
        _ => {}
    }
    let mut qb = QueryBuilder::<Sqlite>::new("SELECT ");
    for (i, lead) in short.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        qb.push("(SELECT count(*) FROM (SELECT 1");
        push_entries(&mut qb, *lead, filter);
        qb.push(" LIMIT ").push_bind(probe).push("))");
    }
    let row = qb.build().fetch_one(pool).await?;
    let mut best: Option<(Lead<'a>, i64)> = None;
    for (i, lead) in short.iter().enumerate() {
        let count: i64 = row.try_get(i)?;
        // Fewer entries wins; on a tie, the earlier candidate.
        if best.is_none_or(|(_, c)| count < c) {
            best = Some((*lead, count));
        }
    }
    Ok(best.map(|(lead, _)| (lead, None)))
}

/// A page statement: the positions of up to `limit` records matching `filter` in `index`
/// (or the planner's choice), optionally within `[from, to)` of `created_ms`, then their
/// records.
async fn page(
    pool: &SqlitePool,
    filter: &SignInFilter,
    index: Option<&'static str>,
    window: (Option<i64>, Option<i64>),
    limit: i64,
) -> Result<Vec<SqliteRow>, sqlx::Error> {
    let mut qb = QueryBuilder::<Sqlite>::new(SEARCH_HEAD);
    if let Some(index) = index {
        // Names of our own indexes, never input.
        qb.push(" INDEXED BY ").push(index);
    }
    qb.push(" WHERE 1 = 1");
    push_filter(&mut qb, filter);
    push_before(&mut qb, filter);
    if let Some(from) = window.0 {
        qb.push(" AND created_ms >= ").push_bind(from);
    }
    if let Some(to) = window.1 {
        qb.push(" AND created_ms < ").push_bind(to);
    }
    finish_search(&mut qb, limit);
    qb.build().fetch_all(pool).await
}

/// The time of the entry `skip` entries past the newest one of `lead`'s index older than
/// `before_ms` (within the filter's range and position), if there are that many.
async fn skip_back(
    pool: &SqlitePool,
    filter: &SignInFilter,
    lead: Lead<'_>,
    before_ms: i64,
    skip: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let mut qb = QueryBuilder::<Sqlite>::new("SELECT created_ms");
    push_entries(&mut qb, lead, filter);
    qb.push(" AND created_ms < ")
        .push_bind(before_ms)
        .push(" ORDER BY created_ms DESC, seq DESC LIMIT 1 OFFSET ")
        .push_bind(skip);
    let row = qb.build().fetch_optional(pool).await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// Up to `limit` records matching `filter`, newest first. With `reads`, the search reads
/// about that many index entries at most (ties of the boundary's millisecond aside) and
/// says where it stopped if the page is not full by then.
pub(super) async fn run(
    pool: &SqlitePool,
    filter: &SignInFilter,
    limit: i64,
    reads: Option<i64>,
) -> Result<Found, sqlx::Error> {
    let probe = match reads {
        Some(reads) => (reads / FIRST_WINDOW).clamp(1, PROBE),
        None => PROBE,
    };
    let picked = pick(pool, filter, probe).await?;
    let index = match (filter.correlation_id.is_some(), &picked) {
        (true, _) => None,
        (false, Some((lead, _))) => Some(lead.index),
        (false, None) => Some(
            leads(filter)
                .first()
                .map_or("sign_ins_created", |l| l.index),
        ),
    };
    // The bound matters only when several filters are checked along an index that has more
    // entries than the probe skipped: otherwise the walk reads fewer than the probe did.
    let (Some(reads), Some((lead, Some(first_from)))) = (reads, picked) else {
        return Ok(Found {
            rows: page(pool, filter, index, (None, None), limit).await?,
            stopped_at: None,
        });
    };
    let mut rows = page(pool, filter, index, (Some(first_from), None), limit).await?;
    let left = limit - i64::try_from(rows.len()).unwrap_or(limit);
    if left <= 0 {
        return Ok(Found {
            rows,
            stopped_at: None,
        });
    }
    let rest = reads - probe;
    let second_from = if rest > 0 {
        skip_back(pool, filter, lead, first_from, rest - 1).await?
    } else {
        Some(first_from)
    };
    if second_from != Some(first_from) {
        rows.extend(page(pool, filter, index, (second_from, Some(first_from)), left).await?);
    }
    let full = i64::try_from(rows.len()).unwrap_or(limit) >= limit;
    Ok(Found {
        rows,
        stopped_at: if full { None } else { second_from },
    })
}
