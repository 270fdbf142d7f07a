//! Whole-academy functions: the entry points of every chain, the listings of
//! courses, groups and series, and small helpers (`today`, `log`).

use std::rc::Rc;

use rhai::plugin::*;
use rusqlite::OptionalExtension;

use crate::engine::Ctx;
use crate::engine::error::{RhaiResult, fail, to_rhai};
use crate::engine::types::{Member, MemberSet};
use crate::query::{Cond, Op};
use crate::store::lookup::{self, Named, Table};
use crate::store::rows::{MEMBER_COLUMNS, MemberRow};

/// A course, group or series found by `course()`, `group()` or `series()`.
#[derive(Clone)]
pub struct Entity {
    pub ctx: Rc<Ctx>,
    pub table: Table,
    pub named: Named,
}

fn entity(ncx: &NativeCallContext, table: Table, key: &str) -> RhaiResult<Entity> {
    let ctx = Ctx::of(ncx);
    match lookup::find(&ctx.conn, table, key.trim()) {
        Ok(Some(named)) => Ok(Entity { ctx, table, named }),
        Ok(None) => fail(ncx, lookup::unknown(&ctx.conn, table, key)),
        Err(e) => fail(ncx, e.to_string()),
    }
}

/// Runs `sql` and returns each row as a map with the given column names.
fn rows_as_maps(ncx: &NativeCallContext, sql: &str, columns: &[&str]) -> RhaiResult<rhai::Array> {
    let ctx = Ctx::of(ncx);
    let mut stmt = ctx.conn.prepare(sql).map_err(to_rhai(ncx))?;
    let rows = stmt
        .query_map([], |row| {
            let mut map = rhai::Map::new();
            for (i, name) in columns.iter().enumerate() {
                let value = match row.get_ref(i)? {
                    rusqlite::types::ValueRef::Integer(n) => Dynamic::from(n),
                    rusqlite::types::ValueRef::Real(x) => Dynamic::from(x),
                    rusqlite::types::ValueRef::Text(t) => {
                        Dynamic::from(String::from_utf8_lossy(t).into_owned())
                    }
                    _ => Dynamic::UNIT,
                };
                map.insert((*name).into(), value);
            }
            Ok(Dynamic::from(map))
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(to_rhai(ncx))?;
    Ok(rows)
}

/// The run's date moved by `days`.
fn shifted(ncx: &NativeCallContext, days: i64) -> RhaiResult<String> {
    let today = Ctx::of(ncx).options.today;
    jiff::Span::new()
        .try_days(days)
        .ok()
        .and_then(|span| today.checked_add(span).ok())
        .map(|d| d.to_string())
        .map_or_else(
            || {
                fail(
                    ncx,
                    format!("{days} days from today is outside the calendar"),
                )
            },
            Ok,
        )
}

#[export_module]
pub mod api {
    /// Every member of the academy: the start of most chains.
    ///
    /// ```rhai
    /// members().count()
    /// ```
    #[rhai_fn(name = "members")]
    pub fn all_members(ncx: NativeCallContext) -> MemberSet {
        MemberSet::members(Ctx::of(&ncx))
    }

    /// One member by username; an error when there is none.
    ///
    /// ```rhai
    /// member(members().first().username).email
    /// ```
    #[rhai_fn(return_raw)]
    pub fn member(ncx: NativeCallContext, username: &str) -> RhaiResult<Member> {
        let ctx = Ctx::of(&ncx);
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM members m WHERE m.username = ?1");
        let row = ctx
            .conn
            .query_row(&sql, [username.trim()], |r| MemberRow::read(r, false))
            .optional()
            .map_err(to_rhai(&ncx))?;
        match row {
            Some(row) => Ok(Member::new(row, None)),
            None => fail(
                &ncx,
                format!(
                    "no member with username '{username}'; members().search(\"{username}\").show() finds similar ones"
                ),
            ),
        }
    }

    /// A course by code: `course(code).participants()` is its participant set.
    ///
    /// ```rhai
    /// course("GDPR-201").title
    /// ```
    #[rhai_fn(return_raw)]
    pub fn course(ncx: NativeCallContext, code: &str) -> RhaiResult<Entity> {
        super::entity(&ncx, Table::Course, code)
    }

    /// A group by name: `group(name).members()` is its member set.
    ///
    /// ```rhai
    /// group("sales").members().count()
    /// ```
    #[rhai_fn(return_raw)]
    pub fn group(ncx: NativeCallContext, name: &str) -> RhaiResult<Entity> {
        super::entity(&ncx, Table::Group, name)
    }

    /// A course series by code: `series(code).members()` are the members enrolled
    /// in any of its courses; `.courses` lists its course codes in order.
    ///
    /// ```rhai
    /// series("onboarding").courses
    /// ```
    #[rhai_fn(return_raw)]
    pub fn series(ncx: NativeCallContext, code: &str) -> RhaiResult<Entity> {
        super::entity(&ncx, Table::Series, code)
    }

    /// The participants of a course, a participant set.
    ///
    /// ```rhai
    /// course("GDPR-201").participants().overdue().count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn participants(ncx: NativeCallContext, e: &mut Entity) -> RhaiResult<MemberSet> {
        match e.table {
            Table::Course => Ok(MemberSet::participants(
                e.ctx.clone(),
                e.named.id,
                e.named.key.clone().into(),
            )),
            _ => fail(
                &ncx,
                format!(
                    "participants() is for courses; use {}(\"{}\").members()",
                    e.table.noun(),
                    e.named.key
                ),
            ),
        }
    }

    /// The members of a group, or of a series (enrolled in any of its courses).
    ///
    /// ```rhai
    /// series("compliance").members().count()
    /// ```
    #[rhai_fn(pure, return_raw, name = "members")]
    pub fn entity_members(ncx: NativeCallContext, e: &mut Entity) -> RhaiResult<MemberSet> {
        let all = MemberSet::members(e.ctx.clone());
        match e.table {
            Table::Group => Ok(all.with(Op::Cond(Cond::InGroup(e.named.id)))),
            Table::Series => Ok(all.with(Op::Cond(Cond::InSeries(e.named.id)))),
            Table::Course => fail(
                &ncx,
                format!(
                    "use course(\"{}\").participants() for the people in a course",
                    e.named.key
                ),
            ),
        }
    }

    /// The code of a course or series, the name of a group.
    #[rhai_fn(get = "code", pure)]
    pub fn code(e: &mut Entity) -> String {
        e.named.key.clone()
    }
    #[rhai_fn(get = "name", pure)]
    pub fn name(e: &mut Entity) -> String {
        e.named.key.clone()
    }
    #[rhai_fn(get = "title", pure)]
    pub fn title(e: &mut Entity) -> String {
        e.named.title.clone()
    }
    /// The course codes of a series, in order (empty for courses and groups).
    #[rhai_fn(get = "courses", pure, return_raw)]
    pub fn series_courses(ncx: NativeCallContext, e: &mut Entity) -> RhaiResult<rhai::Array> {
        let mut stmt = e
            .ctx
            .conn
            .prepare_cached(
                "SELECT c.code FROM series_courses sc JOIN courses c ON c.id = sc.course_id
                 WHERE sc.series_id = ?1 ORDER BY sc.position",
            )
            .map_err(to_rhai(&ncx))?;
        if !matches!(e.table, Table::Series) {
            return Ok(rhai::Array::new());
        }
        let codes = stmt
            .query_map([e.named.id], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(to_rhai(&ncx))?;
        Ok(codes.into_iter().map(Dynamic::from).collect())
    }
    #[rhai_fn(pure, name = "to_string", name = "to_debug")]
    pub fn describe(e: &mut Entity) -> String {
        if e.named.title == e.named.key {
            format!("{} {}", e.table.noun(), e.named.key)
        } else {
            format!("{} {} ({})", e.table.noun(), e.named.key, e.named.title)
        }
    }

    /// Every course with its participant counts by status.
    ///
    /// ```rhai
    /// courses().len()
    /// ```
    #[rhai_fn(return_raw)]
    pub fn courses(ncx: NativeCallContext) -> RhaiResult<rhai::Array> {
        super::rows_as_maps(
            &ncx,
            "SELECT c.code, c.title, count(p.id),
                    count(*) FILTER (WHERE p.status = 'passed'),
                    count(*) FILTER (WHERE p.status = 'failed'),
                    count(*) FILTER (WHERE p.status = 'undecided')
             FROM courses c LEFT JOIN participations p ON p.course_id = c.id
             GROUP BY c.id ORDER BY c.code",
            &[
                "code",
                "title",
                "participants",
                "passed",
                "failed",
                "undecided",
            ],
        )
    }

    /// Every group with its member count.
    ///
    /// ```rhai
    /// groups().map(|g| g.name)
    /// ```
    #[rhai_fn(return_raw)]
    pub fn groups(ncx: NativeCallContext) -> RhaiResult<rhai::Array> {
        super::rows_as_maps(
            &ncx,
            "SELECT g.name, count(gm.member_id) FROM groups g
             LEFT JOIN group_members gm ON gm.group_id = g.id GROUP BY g.id ORDER BY g.name",
            &["name", "members"],
        )
    }

    /// Every series with its courses (codes, `;`-separated) and participant count.
    ///
    /// ```rhai
    /// series_list().len()
    /// ```
    #[rhai_fn(return_raw)]
    pub fn series_list(ncx: NativeCallContext) -> RhaiResult<rhai::Array> {
        super::rows_as_maps(
            &ncx,
            "SELECT s.code, s.title,
                    (SELECT group_concat(code, ';') FROM (SELECT c.code FROM series_courses sc
                        JOIN courses c ON c.id = sc.course_id WHERE sc.series_id = s.id ORDER BY sc.position)),
                    (SELECT count(DISTINCT p.member_id) FROM series_courses sc
                        JOIN participations p ON p.course_id = sc.course_id WHERE sc.series_id = s.id)
             FROM series s ORDER BY s.code",
            &["code", "title", "courses", "members"],
        )
    }

    /// The run's date as YYYY-MM-DD (`--today` sets it, for tests and replays).
    ///
    /// ```rhai
    /// today()
    /// ```
    pub fn today(ncx: NativeCallContext) -> String {
        Ctx::of(&ncx).today()
    }

    /// The date `n` days before the run's `today()`, as YYYY-MM-DD.
    ///
    /// ```rhai
    /// days_ago(30)
    /// ```
    #[rhai_fn(return_raw)]
    pub fn days_ago(ncx: NativeCallContext, n: i64) -> RhaiResult<String> {
        super::shifted(&ncx, -n)
    }

    /// The date `n` days after the run's `today()`, as YYYY-MM-DD: for deadlines.
    ///
    /// ```rhai
    /// days_from_today(14)
    /// ```
    #[rhai_fn(return_raw)]
    pub fn days_from_today(ncx: NativeCallContext, n: i64) -> RhaiResult<String> {
        super::shifted(&ncx, n)
    }

    /// Writes a message to stderr (to the run's output in scheduled runs); `-q` silences it.
    ///
    /// ```rhai
    /// log("starting the nightly clean-up")
    /// ```
    pub fn log(ncx: NativeCallContext, message: &str) {
        Ctx::of(&ncx).log(message);
    }
}
