//! Which index a SQLite sign-in search follows.
//!
//! Every search filter but the time range leads an index of its own, continued by
//! `(created_ms, seq)` and the other filters' columns (migration 4), so the search walks one
//! index newest first and checks every other filter inside it. The walk is short when the
//! leading filter matches few records, and SQLite's planner cannot know which one does
//! (its statistics, from `ANALYZE`, would hold the log writer off for seconds on a large
//! log). So, with several filters, the search first counts, up to [`PROBE`], the records
//! each one matches in the time range, and follows the index of the fewest; a filter that
//! matches nothing makes the search end at once.

use sqlx::sqlite::{Sqlite, SqlitePool};
use sqlx::{QueryBuilder, Row as _};

use crate::SignInFilter;

/// Most index entries counted per filter before picking (a count of this many takes about a
/// millisecond).
const PROBE: i64 = 5_000;

/// A filter's value.
enum Value<'a> {
    Text(&'a str),
    Int(i64),
}

/// The index to follow (`INDEXED BY`), or `None` to let the planner use the correlation
/// id's unique index.
pub(super) async fn pick_index(
    pool: &SqlitePool,
    filter: &SignInFilter,
) -> Result<Option<&'static str>, sqlx::Error> {
    if filter.correlation_id.is_some() {
        return Ok(None);
    }
    // In the order preferred on a tie (every count at the bound): an error code is on
    // denials only, a user's or an application's share of the log is unknown, a result is
    // the densest.
    let mut candidates: Vec<(&'static str, &'static str, Value<'_>)> = Vec::new();
    if let Some(code) = filter.error_code {
        candidates.push((
            "sign_ins_error_code",
            "error_code",
            Value::Int(i64::from(code)),
        ));
    }
    if let Some(user) = &filter.user {
        candidates.push(("sign_ins_user", "user_id", Value::Text(user)));
    }
    if let Some(app) = &filter.app {
        candidates.push(("sign_ins_app", "app_id", Value::Text(app)));
    }
    if let Some(decision) = &filter.decision {
        candidates.push(("sign_ins_decision", "decision", Value::Text(decision)));
    }
    let first = match candidates.first() {
        None => return Ok(Some("sign_ins_created")),
        Some((index, _, _)) if candidates.len() == 1 => return Ok(Some(index)),
        Some((index, _, _)) => *index,
    };
    let mut qb = QueryBuilder::<Sqlite>::new("SELECT ");
    for (i, (index, column, value)) in candidates.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        qb.push("(SELECT count(*) FROM (SELECT 1 FROM sign_ins INDEXED BY ")
            .push(index)
            .push(" WHERE ")
            .push(column)
            .push(" = ");
        match value {
            Value::Text(t) => qb.push_bind(*t),
            Value::Int(n) => qb.push_bind(*n),
        };
        if let Some(from) = filter.from_ms {
            qb.push(" AND created_ms >= ").push_bind(from);
        }
        if let Some(to) = filter.to_ms {
            qb.push(" AND created_ms < ").push_bind(to);
        }
        crate::log::push_before(&mut qb, filter);
        qb.push(" LIMIT ").push_bind(PROBE).push("))");
    }
    let row = qb.build().fetch_one(pool).await?;
    let mut best = (first, i64::MAX);
    for (i, (index, _, _)) in candidates.iter().enumerate() {
        let count: i64 = row.try_get(i)?;
        if count < best.1 {
            best = (index, count);
        }
    }
    Ok(Some(best.0))
}
