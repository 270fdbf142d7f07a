//! Running a set: its SQL part as one statement, then closure filters and
//! limits in chain order, one row at a time (never a million-element array).

use rhai::{Dynamic, NativeCallContext};
use rusqlite::params_from_iter;

use super::error::{RhaiResult, fail, to_rhai};
use super::types::{Member, MemberSet};
use crate::query::{Plan, TailOp};
use crate::store::rows::MemberRow;

fn plan<'a>(ncx: &NativeCallContext, set: &'a MemberSet) -> RhaiResult<Plan<'a>> {
    set.query.plan().map_err(to_rhai(ncx))
}

/// Calls `sink` with each member of the set, in order, until it returns false.
pub fn for_each(
    ncx: &NativeCallContext,
    set: &MemberSet,
    sink: impl FnMut(Member) -> RhaiResult<bool>,
) -> RhaiResult<()> {
    // A scan reads pages straight from the operating system's cache through a
    // memory map instead of copying each one in with a system call (a third
    // of a closure filter's time over a large academy). Only scans map: the
    // mapped pages would count as the process's memory in bulk writes.
    let conn = &set.ctx.conn;
    let _ = conn.pragma_update(None, "mmap_size", MMAP_BYTES);
    let result = scan(ncx, set, sink);
    let _ = conn.pragma_update(None, "mmap_size", 0);
    result
}

/// How much of the database a scan may map.
const MMAP_BYTES: i64 = 1 << 32;

fn scan(
    ncx: &NativeCallContext,
    set: &MemberSet,
    mut sink: impl FnMut(Member) -> RhaiResult<bool>,
) -> RhaiResult<()> {
    let plan = plan(ncx, set)?;
    let sql = plan.select(&set.query.columns());
    let mut stmt = set.ctx.conn.prepare(&sql.text).map_err(to_rhai(ncx))?;
    let mut rows = stmt
        .query(params_from_iter(sql.params.iter()))
        .map_err(to_rhai(ncx))?;
    let with_participation = set.is_participants();
    // How many rows have passed each tail step so far, for the limits.
    let mut passed = vec![0i64; plan.tail.len()];
    'rows: while let Some(row) = rows.next().map_err(to_rhai(ncx))? {
        let member = Member::new(
            MemberRow::read(row, with_participation).map_err(to_rhai(ncx))?,
            set.course.clone(),
        );
        for (step, op) in plan.tail.iter().enumerate() {
            match op {
                TailOp::Closure(i) => {
                    if !keep(ncx, set, *i, &member)? {
                        continue 'rows;
                    }
                }
                TailOp::Limit(n) => {
                    // A full limit lets no later row through either.
                    if passed[step] >= *n {
                        break 'rows;
                    }
                }
            }
            passed[step] += 1;
        }
        if !sink(member)? {
            break;
        }
        // Once a limit is full no later row can pass it: stop reading (and
        // stop calling closures) now.
        let full = plan
            .tail
            .iter()
            .zip(&passed)
            .any(|(op, n)| matches!(op, TailOp::Limit(max) if n >= max));
        if full {
            break;
        }
    }
    Ok(())
}

fn keep(
    ncx: &NativeCallContext,
    set: &MemberSet,
    closure: usize,
    member: &Member,
) -> RhaiResult<bool> {
    let f = &set.closures[closure];
    let verdict = f.call_raw(ncx, None, [Dynamic::from(member.clone())])?;
    match verdict.as_bool() {
        Ok(keep) => Ok(keep),
        Err(kind) => fail(
            ncx,
            format!(
                "the closure given to filter() must return true or false, but it returned a {kind}"
            ),
        ),
    }
}

/// The number of members in the set.
pub fn count(ncx: &NativeCallContext, set: &MemberSet) -> RhaiResult<i64> {
    let plan = plan(ncx, set)?;
    if plan.tail.is_empty() {
        let sql = plan.count();
        return set
            .ctx
            .conn
            .query_row(&sql.text, params_from_iter(sql.params.iter()), |r| r.get(0))
            .map_err(to_rhai(ncx));
    }
    let mut n = 0;
    for_each(ncx, set, |_| {
        n += 1;
        Ok(true)
    })?;
    Ok(n)
}

/// The keys of the set in order: member ids, or participation ids of a participant set.
pub fn keys(ncx: &NativeCallContext, set: &MemberSet) -> RhaiResult<Vec<i64>> {
    let plan = plan(ncx, set)?;
    if plan.tail.is_empty() {
        let sql = plan.select(set.query.key());
        let mut stmt = set.ctx.conn.prepare(&sql.text).map_err(to_rhai(ncx))?;
        return stmt
            .query_map(params_from_iter(sql.params.iter()), |r| r.get(0))
            .and_then(|rows| rows.collect::<Result<Vec<i64>, _>>())
            .map_err(to_rhai(ncx));
    }
    let mut keys = Vec::new();
    for_each(ncx, set, |m| {
        keys.push(match &m.row.participation {
            Some(p) => p.id,
            None => m.row.id,
        });
        Ok(true)
    })?;
    Ok(keys)
}
