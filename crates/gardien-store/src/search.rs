//! How a sign-in search reads the log, on both backends.
//!
//! Every search filter but the time range leads an index of its own, continued by
//! `(created_ms, seq)` and the other filters' columns (SQLite migration 4, PostgreSQL 3), so
//! the search walks one index newest first and checks every other filter inside it (on
//! SQLite, the user's and the application's ids as their 64-bit keys, migration 9 and
//! `sqlite/keys.rs`, the ids themselves then checked in the few rows that pass). The walk
//! is short when the leading filter matches few records, and SQLite's planner cannot know
//! which one does (its statistics, from `ANALYZE`, would hold the log writer off for seconds
//! on a large log). So, with several filters, the search first probes, in the time range, how
//! far back each one's 5,000th newest record is (counting the records of those that have
//! fewer), and follows the index of the fewest or, when all have that many, of the sparsest
//! lately; a filter that matches nothing makes the search end at once. An unbounded
//! PostgreSQL search leaves the choice to its planner (statistics kept by autovacuum).
//!
//! When every filter matches many records and their conjunction few or none (a user, an
//! application and an error code that each match hundreds of thousands of records, never
//! together), the walk would read all the entries of the smallest filter to fill, or fail to
//! fill, one page: the work of one request would grow with the log. A bounded search
//! ([`run`] with `reads`) stops after about that many index entries instead, at a time
//! boundary: every record at or after it was searched, none before it; the caller continues
//! from there (`SignInFilter::before`). The walk is cut in two windows of time so that a
//! search whose page fills early (the usual case) never pays for the bound: the first holds
//! the entries the probe skipped, the second, read only if the first did not fill the page,
//! the rest of the bound, its start found by skipping entries in the index (`OFFSET`, about
//! a third of the cost of checking them). Both backends walk the same way: SQLite names the
//! index (`INDEXED BY`); PostgreSQL, whose planner takes no hint, reads the leading filter's
//! entries in a subquery of their own that the planner cannot merge with the other filters
//! (`OFFSET 0`), so it can only walk that filter's index.

use std::future::Future;

use sqlx::postgres::{PgPool, PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqlitePool, SqliteRow};
use sqlx::{Database, Encode, Pool, QueryBuilder, Row as _, Type};

use crate::SignInFilter;
use crate::backend::{LogCursor, STORED_COLUMNS};
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
    /// Every entry: the time index, walked when no filter leads an index but one is checked.
    Every,
}

/// An index that a filter leads, with that filter.
#[derive(Clone, Copy)]
pub(crate) struct Lead<'a> {
    index: &'static str,
    column: &'static str,
    value: Value<'a>,
    /// The index's own condition (a partial index), appended to every statement reading its
    /// entries; empty for a whole index.
    condition: &'static str,
}

/// The time index as a lead: walked, bounded, when the only filters checked lead no index
/// (an allowed result, which the result index leaves out).
const TIME_LEAD: Lead<'static> = Lead {
    index: "sign_ins_created",
    column: "created_ms",
    value: Value::Every,
    condition: "",
};

/// Which entries a page statement walks.
#[derive(Clone, Copy)]
pub(crate) enum Walk<'a> {
    /// The planner's choice: a correlation id (its unique index), or an unbounded
    /// PostgreSQL search.
    Planner,
    /// The index that `Lead` leads.
    Lead(Lead<'a>),
    /// The time index (no filter leads one).
    Time,
}

/// What differs between the backends' searches: how a statement is held to one index, and
/// reading the results.
pub(crate) trait Dialect: Database {
    /// Whether an unbounded search picks the index itself (SQLite) rather than leaving it to
    /// the planner (PostgreSQL).
    const PICKS: bool;

    /// Whether the indexes hold the user and application ids' 64-bit keys (SQLite schema
    /// version 9, `sqlite/keys.rs`) rather than the ids (PostgreSQL): a search then leads with
    /// the key and checks the id in the rows that pass.
    const KEYED: bool;

    /// Appends what follows ` FROM sign_ins` in a statement that reads the entries of
    /// `index` (SQLite: ` INDEXED BY <index>`; PostgreSQL: nothing, the index that leads with
    /// the filter's column and gives the order is the planner's only sensible choice there).
    fn push_index(qb: &mut QueryBuilder<'_, Self>, index: &'static str);

    /// Appends the source of a page's positions (what follows `FROM `) reading `walk`'s
    /// entries, within `window` of `created_ms` and `filter`'s range and position.
    fn push_walk<'a>(
        qb: &mut QueryBuilder<'a, Self>,
        walk: Walk<'a>,
        filter: &SignInFilter,
        window: (Option<i64>, Option<i64>),
    );

    /// Appends the keyset condition of an export page continuing after `(created_ms, seq)`
    /// (oldest first), in the form this backend's planner turns into an index range.
    fn push_after(qb: &mut QueryBuilder<'_, Self>, created_ms: i64, seq: i64);

    /// Runs `qb`.
    fn fetch<'p, 'q>(
        pool: &'p Pool<Self>,
        qb: QueryBuilder<'q, Self>,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send;

    /// Column `i` of `row`: a time or a count (`None`: SQL `NULL`).
    fn int(row: &Self::Row, i: usize) -> Result<Option<i64>, sqlx::Error>;
}

impl Dialect for Sqlite {
    const PICKS: bool = true;
    const KEYED: bool = true;

    fn push_after(qb: &mut QueryBuilder<'_, Sqlite>, created_ms: i64, seq: i64) {
        qb.push(" AND created_ms >= ")
            .push_bind(created_ms)
            .push(" AND (created_ms > ")
            .push_bind(created_ms)
            .push(" OR seq > ")
            .push_bind(seq)
            .push(")");
    }

    fn push_index(qb: &mut QueryBuilder<'_, Sqlite>, index: &'static str) {
        // Names of our own indexes, never input.
        qb.push(" INDEXED BY ").push(index);
    }

    fn push_walk<'a>(
        qb: &mut QueryBuilder<'a, Sqlite>,
        walk: Walk<'a>,
        _filter: &SignInFilter,
        _window: (Option<i64>, Option<i64>),
    ) {
        qb.push("sign_ins");
        match walk {
            Walk::Planner => {}
            Walk::Lead(lead) => Sqlite::push_index(qb, lead.index),
            Walk::Time => Sqlite::push_index(qb, "sign_ins_created"),
        }
    }

    async fn fetch(
        pool: &SqlitePool,
        mut qb: QueryBuilder<'_, Sqlite>,
    ) -> Result<Vec<SqliteRow>, sqlx::Error> {
        qb.build().fetch_all(pool).await
    }

    fn int(row: &SqliteRow, i: usize) -> Result<Option<i64>, sqlx::Error> {
        row.try_get(i)
    }
}

impl Dialect for Postgres {
    const PICKS: bool = false;
    const KEYED: bool = false;

    fn push_after(qb: &mut QueryBuilder<'_, Postgres>, created_ms: i64, seq: i64) {
        // A row comparison: an index range scan on (created_ms, seq).
        qb.push(" AND (created_ms, seq) > (")
            .push_bind(created_ms)
            .push(", ")
            .push_bind(seq)
            .push(")");
    }

    fn push_index(_qb: &mut QueryBuilder<'_, Postgres>, _index: &'static str) {}

    fn push_walk<'a>(
        qb: &mut QueryBuilder<'a, Postgres>,
        walk: Walk<'a>,
        filter: &SignInFilter,
        window: (Option<i64>, Option<i64>),
    ) {
        let Walk::Lead(lead) = walk else {
            qb.push("sign_ins");
            return;
        };
        // The lead's entries alone, in the index's order: `OFFSET 0` keeps the planner from
        // merging the subquery with the outer filters (and from walking another index); the
        // outer statement checks the other filters on the INCLUDEd columns as they come and
        // stops at its LIMIT. The range, position and window are repeated inside: nothing
        // is pushed into a subquery with an OFFSET.
        qb.push("(SELECT seq, created_ms, user_id, app_id, decision, error_code");
        push_entries(qb, lead, filter);
        push_window(qb, window);
        qb.push(" ORDER BY created_ms DESC, seq DESC OFFSET 0) AS sign_ins");
    }

    async fn fetch(
        pool: &PgPool,
        mut qb: QueryBuilder<'_, Postgres>,
    ) -> Result<Vec<PgRow>, sqlx::Error> {
        qb.build().fetch_all(pool).await
    }

    fn int(row: &PgRow, i: usize) -> Result<Option<i64>, sqlx::Error> {
        row.try_get(i)
    }
}

/// What a search read: the rows of [`SEARCH_HEAD`], newest first, and, when it stopped at
/// its bound before filling the page, the time (Unix ms) back to which it searched: every
/// matching record at or after it (and before the filter's position) is in the rows, the
/// older ones were not read.
pub(crate) struct Found<R> {
    pub(crate) rows: Vec<R>,
    pub(crate) stopped_at: Option<i64>,
}

/// The filters that lead an index, in the order preferred on a tie: an error code is on
/// denials only, a user's or an application's share of the log is unknown, a result is the
/// densest. An allowed result leads none: the result index leaves allowed sign-ins out
/// (SQLite migration 7, PostgreSQL 6), so the search checks it along another index. A user
/// or an application leads with its id's key where the indexes hold keys
/// ([`Dialect::KEYED`]).
fn leads<DB: Dialect>(filter: &SignInFilter) -> Vec<Lead<'_>> {
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
            column: if DB::KEYED { "user_key" } else { "user_id" },
            value: id_value::<DB>(user),
            condition: "",
        });
    }
    if let Some(app) = &filter.app {
        out.push(Lead {
            index: "sign_ins_app",
            column: if DB::KEYED { "app_key" } else { "app_id" },
            value: id_value::<DB>(app),
            condition: "",
        });
    }
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

/// What a user or application lead compares: the id's key or the id ([`Dialect::KEYED`]).
fn id_value<DB: Dialect>(id: &str) -> Value<'_> {
    if DB::KEYED {
        Value::Int(crate::sqlite::keys::id_key(id))
    } else {
        Value::Text(id)
    }
}

/// Appends ` FROM sign_ins [INDEXED BY <index>] WHERE <column> = <value>`, the time range
/// and the keyset position of `filter`: the entries of `lead`'s index that a search reads.
fn push_entries<'a, DB: Dialect>(
    qb: &mut QueryBuilder<'a, DB>,
    lead: Lead<'a>,
    filter: &SignInFilter,
) where
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    qb.push(" FROM sign_ins");
    DB::push_index(qb, lead.index);
    // Column names are our own, never input.
    qb.push(" WHERE ");
    match lead.value {
        Value::Text(t) => qb.push(lead.column).push(" = ").push_bind(t),
        Value::Int(n) => qb.push(lead.column).push(" = ").push_bind(n),
        Value::Every => qb.push("1 = 1"),
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

/// Appends the bounds of `window` (`[from, to)` of `created_ms`).
fn push_window<'a, DB: Database>(qb: &mut QueryBuilder<'a, DB>, window: (Option<i64>, Option<i64>))
where
    i64: Encode<'a, DB> + Type<DB>,
{
    if let Some(from) = window.0 {
        qb.push(" AND created_ms >= ").push_bind(from);
    }
    if let Some(to) = window.1 {
        qb.push(" AND created_ms < ").push_bind(to);
    }
}

/// The index to follow and, when the probe found at least `probe` entries in it, the time
/// of the `probe`-th newest. `None` when fewer than two filters lead an index and every
/// other filter is in that index's key: then every entry of the one index matches (or the
/// correlation id's unique index answers). An allowed result is checked, not led: with it,
/// one index (or the time index, when no filter leads one) is followed like several.
///
/// First the time of each candidate's `probe`-th entry (skipping entries is the cheapest
/// walk); every candidate that has that many is at least as long as one that has fewer. Only
/// when several have fewer are those counted, to follow the shortest. When all have that
/// many, the one whose `probe`-th entry is the oldest is the sparsest lately, so likely the
/// shortest, and a bounded walk along it covers the longest time.
async fn pick<'a, DB: Dialect>(
    pool: &Pool<DB>,
    filter: &'a SignInFilter,
    probe: i64,
) -> Result<Option<(Lead<'a>, Option<i64>)>, sqlx::Error>
where
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut candidates = leads::<DB>(filter);
    // A filter checked but leading no index (an allowed result) makes even one index's
    // walk, or the time index's, read entries that do not match: bounded like several.
    let checks_unled = filter
        .decision
        .as_deref()
        .is_some_and(|d| d == UNINDEXED_DECISION);
    if filter.correlation_id.is_some() || (candidates.len() < 2 && !checks_unled) {
        return Ok(None);
    }
    if candidates.is_empty() {
        candidates.push(TIME_LEAD);
    }
    let mut qb = QueryBuilder::<DB>::new("SELECT ");
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
    let rows = DB::fetch(pool, qb).await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let mut short = Vec::new();
    let mut sparsest = None;
    for (i, lead) in candidates.iter().enumerate() {
        match DB::int(row, i)? {
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
    let mut qb = QueryBuilder::<DB>::new("SELECT ");
    for (i, lead) in short.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        qb.push("(SELECT count(*) FROM (SELECT 1");
        push_entries(&mut qb, *lead, filter);
        qb.push(" LIMIT ").push_bind(probe).push(") AS c)");
    }
    let rows = DB::fetch(pool, qb).await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let mut best: Option<(Lead<'a>, i64)> = None;
    for (i, lead) in short.iter().enumerate() {
        let count = DB::int(row, i)?.unwrap_or(0);
        // Fewer entries wins; on a tie, the earlier candidate.
        if best.is_none_or(|(_, c)| count < c) {
            best = Some((*lead, count));
        }
    }
    Ok(best.map(|(lead, _)| (lead, None)))
}

/// A page statement: the positions of up to `limit` records matching `filter` along `walk`,
/// optionally within `[from, to)` of `created_ms`, then their records.
async fn page<'a, DB: Dialect>(
    pool: &Pool<DB>,
    filter: &'a SignInFilter,
    walk: Walk<'a>,
    window: (Option<i64>, Option<i64>),
    limit: i64,
) -> Result<Vec<DB::Row>, sqlx::Error>
where
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::<DB>::new(SEARCH_HEAD);
    DB::push_walk(&mut qb, walk, filter, window);
    qb.push(" WHERE 1 = 1");
    push_filter(&mut qb, filter, DB::KEYED);
    push_before(&mut qb, filter);
    push_window(&mut qb, window);
    finish_search(&mut qb, limit);
    DB::fetch(pool, qb).await
}

/// The time of the entry `skip` entries past the newest one of `lead`'s index older than
/// `before_ms` (within the filter's range and position), if there are that many.
async fn skip_back<'a, DB: Dialect>(
    pool: &Pool<DB>,
    filter: &'a SignInFilter,
    lead: Lead<'a>,
    before_ms: i64,
    skip: i64,
) -> Result<Option<i64>, sqlx::Error>
where
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::<DB>::new("SELECT created_ms");
    push_entries(&mut qb, lead, filter);
    qb.push(" AND created_ms < ")
        .push_bind(before_ms)
        .push(" ORDER BY created_ms DESC, seq DESC LIMIT 1 OFFSET ")
        .push_bind(skip);
    let rows = DB::fetch(pool, qb).await?;
    rows.first().map_or(Ok(None), |r| DB::int(r, 0))
}

/// Up to `limit` records matching `filter`, newest first. With `reads`, the search reads
/// about that many index entries at most (ties of the boundary's millisecond aside) and
/// says where it stopped if the page is not full by then.
pub(crate) async fn run<'a, DB: Dialect>(
    pool: &Pool<DB>,
    filter: &'a SignInFilter,
    limit: i64,
    reads: Option<i64>,
) -> Result<Found<DB::Row>, sqlx::Error>
where
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    if reads.is_none() && !DB::PICKS {
        return Ok(Found {
            rows: page(pool, filter, Walk::Planner, (None, None), limit).await?,
            stopped_at: None,
        });
    }
    let probe = match reads {
        Some(reads) => (reads / FIRST_WINDOW).clamp(1, PROBE),
        None => PROBE,
    };
    let picked = pick(pool, filter, probe).await?;
    let walk = match (filter.correlation_id.is_some(), &picked) {
        (true, _) => Walk::Planner,
        (false, Some((lead, _))) => Walk::Lead(*lead),
        (false, None) => leads::<DB>(filter)
            .first()
            .map_or(Walk::Time, |l| Walk::Lead(*l)),
    };
    // The bound matters only when filters are checked along an index that has more
    // entries than the probe skipped: otherwise the walk reads fewer than the probe did.
    let (Some(reads), Some((lead, Some(first_from)))) = (reads, picked) else {
        return Ok(Found {
            rows: page(pool, filter, walk, (None, None), limit).await?,
            stopped_at: None,
        });
    };
    let mut rows = page(pool, filter, walk, (Some(first_from), None), limit).await?;
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
        rows.extend(page(pool, filter, walk, (second_from, Some(first_from)), left).await?);
    }
    let full = i64::try_from(rows.len()).unwrap_or(limit) >= limit;
    Ok(Found {
        rows,
        stopped_at: if full { None } else { second_from },
    })
}

/// The rows of an export page: `created_ms, seq` and [`STORED_COLUMNS`] of at most `page`
/// records matching `filter` (its position aside), oldest first, after `after`.
pub(crate) async fn export_rows<'a, DB: Dialect>(
    pool: &Pool<DB>,
    filter: &'a SignInFilter,
    after: Option<LogCursor>,
    page: i64,
) -> Result<Vec<DB::Row>, sqlx::Error>
where
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut qb = QueryBuilder::<DB>::new(format!(
        "SELECT created_ms, seq, {STORED_COLUMNS} FROM sign_ins WHERE 1 = 1"
    ));
    push_filter(&mut qb, filter, DB::KEYED);
    if let Some((created_ms, seq)) = after {
        DB::push_after(&mut qb, created_ms, seq);
    }
    qb.push(" ORDER BY created_ms, seq LIMIT ").push_bind(page);
    DB::fetch(pool, qb).await
}
