//! Import of participations: `course,username,status,deadline,active`, keyed
//! by course and username, with the same rules as the member import: one
//! pass, every problem with its line, all-or-nothing, a plan, and in sync
//! mode a deletion threshold.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::import::{
    ImportError, Mode, Options, Outcome, PlanRow, Problem, Sinks, next_row, reject,
};
use super::read::{CsvFile, Row};
use super::{CsvError, PARTICIPATION_COLUMNS, unneutralize};
use crate::actions::Stamp;
use crate::store::codes;

struct Incoming {
    course_id: i64,
    member_id: i64,
    status: Option<&'static str>,
    /// `Some(None)` clears the deadline.
    deadline: Option<Option<String>>,
    active: Option<bool>,
}

fn map_header(header: &[String]) -> Result<[Option<usize>; 5], CsvError> {
    let mut slots = [None; 5];
    for (position, name) in header.iter().enumerate() {
        let Some(slot) = PARTICIPATION_COLUMNS.iter().position(|c| c == name) else {
            return Err(CsvError::Line {
                line: 1,
                message: format!(
                    "unknown column '{name}' in the header; the columns are: {}",
                    PARTICIPATION_COLUMNS.join(", ")
                ),
            });
        };
        if slots[slot].replace(position).is_some() {
            return Err(CsvError::Line {
                line: 1,
                message: format!("the column '{name}' appears twice in the header"),
            });
        }
    }
    if slots[0].is_none() || slots[1].is_none() {
        return Err(CsvError::Line {
            line: 1,
            message: "the header needs the columns 'course' and 'username': together they are the key of every row".into(),
        });
    }
    Ok(slots)
}

fn parse(
    conn: &Connection,
    row: &Row,
    slots: &[Option<usize>; 5],
    width: usize,
    courses: &HashMap<String, i64>,
) -> Result<Incoming, (String, Vec<String>)> {
    let cell = |slot: usize| {
        slots[slot].map(|i| unneutralize(row.cells.get(i).unwrap_or_default()).trim())
    };
    let username = cell(1).unwrap_or_default().to_string();
    let mut problems = Vec::new();
    if row.cells.len() != width {
        problems.push(format!(
            "the row has {} cells but the header has {width}",
            row.cells.len()
        ));
        return Err((username, problems));
    }
    let course = cell(0).unwrap_or_default();
    let course_id = courses.get(course).copied();
    if course_id.is_none() {
        problems.push(format!(
            "unknown course '{course}'; create it first with create_course(code, title)"
        ));
    }
    let member_id: Option<i64> = conn
        .prepare_cached("SELECT id FROM members WHERE username = ?1")
        .and_then(|mut s| s.query_row([username.as_str()], |r| r.get(0)).optional())
        .unwrap_or(None);
    if member_id.is_none() {
        problems.push(format!(
            "no member with username '{username}'; import the members first"
        ));
    }
    let status = cell(2).and_then(|s| {
        codes::participation_status(s)
            .map_err(|e| problems.push(e))
            .ok()
    });
    let deadline = cell(3).map(|d| {
        if d.is_empty() {
            None
        } else {
            match d.parse::<jiff::civil::Date>() {
                Ok(date) => Some(date.to_string()),
                Err(_) => {
                    problems.push(format!(
                        "deadline '{d}' is not a date written as YYYY-MM-DD"
                    ));
                    None
                }
            }
        }
    });
    let active = cell(4).and_then(|a| match a {
        "1" => Some(true),
        "0" => Some(false),
        other => {
            problems.push(format!("active must be 0 or 1, not '{other}'"));
            None
        }
    });
    match (course_id, member_id) {
        (Some(course_id), Some(member_id)) if problems.is_empty() => Ok(Incoming {
            course_id,
            member_id,
            status,
            deadline,
            active,
        }),
        _ => Err((username, problems)),
    }
}

/// Issues a certificate (next serial) or withdraws the current one, as the status requires.
fn certificate(
    conn: &Connection,
    stamp: &Stamp,
    participation: i64,
    passed: bool,
) -> rusqlite::Result<()> {
    if !passed {
        conn.execute(
            "DELETE FROM certificates WHERE participation_id = ?1 AND current = 1",
            [participation],
        )?;
        return Ok(());
    }
    let next: i64 = conn
        .query_row(
            "SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'certificate_serial'",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0)
        + 1;
    conn.execute(
        "INSERT INTO certificates (participation_id, attempt, serial, issued_on)
         SELECT id, attempt, ?2, ?3 FROM participations WHERE id = ?1",
        params![participation, format!("RC-{next:08}"), stamp.today],
    )?;
    conn.execute(
        "INSERT OR REPLACE INTO settings (key, value) VALUES ('certificate_serial', ?1)",
        [next.to_string()],
    )?;
    Ok(())
}

/// One audit row; its target is the file line (the run names the file).
fn audit(
    conn: &Connection,
    stamp: &Stamp,
    action: &str,
    target: &str,
    member: i64,
    before: Option<String>,
    after: Option<String>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit (run_id, at, action, target, member_id, username, before, after)
         SELECT ?1, ?2, ?3, ?4, id, username, ?6, ?7 FROM members WHERE id = ?5",
    )?
    .execute(params![
        stamp.run_id,
        stamp.at,
        action,
        target,
        member,
        before,
        after
    ])?;
    Ok(())
}

/// The participation of a member in a course, if there is one.
fn participation(conn: &Connection, member: i64, course: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM participations WHERE member_id = ?1 AND course_id = ?2")?
        .query_row([member, course], |r| r.get(0))
        .optional()
}

/// Marks a participation as named by the file; the line of an earlier mention if any.
fn see(conn: &Connection, id: i64, line: u64) -> rusqlite::Result<Option<i64>> {
    let added = conn
        .prepare_cached("INSERT OR IGNORE INTO temp.import_seen (id, line) VALUES (?1, ?2)")?
        .execute(params![id, line as i64])?;
    if added == 1 {
        return Ok(None);
    }
    conn.query_row(
        "SELECT line FROM temp.import_seen WHERE id = ?1",
        [id],
        |r| r.get(0),
    )
    .map(Some)
}

/// Applies one valid row; returns its plan line.
fn apply(
    conn: &Connection,
    stamp: &Stamp,
    row: &Row,
    new: &Incoming,
    codes_by_id: &HashMap<i64, String>,
    outcome: &mut Outcome,
) -> rusqlite::Result<PlanRow> {
    let course = codes_by_id.get(&new.course_id).cloned().unwrap_or_default();
    let username: String = conn.query_row(
        "SELECT username FROM members WHERE id = ?1",
        [new.member_id],
        |r| r.get(0),
    )?;
    let existing: Option<(i64, String, Option<String>, bool)> = conn
        .prepare_cached("SELECT id, status, deadline, active FROM participations WHERE member_id = ?1 AND course_id = ?2")?
        .query_row([new.member_id, new.course_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let Some((id, status, deadline, active)) = existing else {
        let status = new.status.unwrap_or("undecided");
        let deadline = new.deadline.clone().flatten();
        let active = new.active.unwrap_or(true);
        conn.prepare_cached(
            "INSERT INTO participations (member_id, course_id, status, deadline, active, enrolled_at, completed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, CASE WHEN ?3 = 'undecided' THEN NULL ELSE ?6 END)",
        )?
        .execute(params![new.member_id, new.course_id, status, deadline, active, stamp.at])?;
        let id = conn.last_insert_rowid();
        conn.execute(
            "INSERT INTO temp.import_seen (id, line) VALUES (?1, ?2)",
            params![id, row.line as i64],
        )?;
        if status == "passed" {
            certificate(conn, stamp, id, true)?;
        }
        let after = serde_json::json!({"course": course, "status": status, "deadline": deadline, "active": active});
        audit(
            conn,
            stamp,
            "create participation",
            &format!("line {}", row.line),
            new.member_id,
            None,
            Some(after.to_string()),
        )?;
        outcome.counts.created += 1;
        return Ok(PlanRow {
            line: Some(row.line),
            username,
            action: "create",
            changes: format!("course: {course}; status: {status}"),
        });
    };
    let mut changes = Vec::new();
    let mut before = serde_json::Map::new();
    let mut after = serde_json::Map::new();
    if let Some(now) = new.status.filter(|s| *s != status) {
        changes.push(format!("status: {status} -> {now}"));
        before.insert("status".into(), status.clone().into());
        after.insert("status".into(), now.into());
        conn.execute(
            "UPDATE participations SET status = ?2,
                 completed_at = CASE WHEN ?2 = 'undecided' THEN NULL ELSE coalesce(completed_at, ?3) END WHERE id = ?1",
            params![id, now, stamp.at],
        )?;
        if now == "passed" || status == "passed" {
            certificate(conn, stamp, id, now == "passed")?;
        }
    }
    if let Some(now) = new.deadline.as_ref().filter(|d| **d != deadline) {
        changes.push(format!(
            "deadline: {} -> {}",
            deadline.clone().unwrap_or_default(),
            now.clone().unwrap_or_default()
        ));
        before.insert("deadline".into(), deadline.clone().into());
        after.insert("deadline".into(), now.clone().into());
        conn.execute(
            "UPDATE participations SET deadline = ?2 WHERE id = ?1",
            params![id, now],
        )?;
    }
    if let Some(now) = new.active.filter(|a| *a != active) {
        changes.push(format!("active: {} -> {}", active as u8, now as u8));
        before.insert("active".into(), active.into());
        after.insert("active".into(), now.into());
        conn.execute(
            "UPDATE participations SET active = ?2 WHERE id = ?1",
            params![id, now],
        )?;
    }
    if changes.is_empty() {
        outcome.counts.unchanged += 1;
        return Ok(PlanRow {
            line: Some(row.line),
            username,
            action: "unchanged",
            changes: String::new(),
        });
    }
    before.insert("course".into(), course.clone().into());
    after.insert("course".into(), course.into());
    audit(
        conn,
        stamp,
        "update participation",
        &format!("line {}", row.line),
        new.member_id,
        Some(serde_json::Value::Object(before).to_string()),
        Some(serde_json::Value::Object(after).to_string()),
    )?;
    outcome.counts.updated += 1;
    Ok(PlanRow {
        line: Some(row.line),
        username,
        action: "update",
        changes: changes.join("; "),
    })
}

/// Imports participations from `file`, inside the caller's transaction.
pub fn import(
    conn: &Connection,
    file: &mut CsvFile,
    stamp: &Stamp,
    options: &Options,
    mut sinks: Sinks,
) -> Result<Outcome, ImportError> {
    let slots = map_header(&file.header)?;
    let courses: HashMap<String, i64> = conn
        .prepare("SELECT code, id FROM courses")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let codes_by_id: HashMap<i64, String> = courses.iter().map(|(c, i)| (*i, c.clone())).collect();
    let before: i64 = conn.query_row("SELECT count(*) FROM participations", [], |r| r.get(0))?;
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS import_seen (id INTEGER PRIMARY KEY, line INTEGER NOT NULL);
         DELETE FROM temp.import_seen;",
    )?;
    let mut outcome = Outcome::default();
    let mut total = 0u64;
    let mut rows = 0u64;
    while let Some(row) = next_row(
        file,
        &mut outcome,
        &mut sinks,
        options,
        &mut total,
        &mut rows,
    )? {
        match parse(conn, &row, &slots, file.header.len(), &courses) {
            Err((username, messages)) => {
                // A rejected row still names its participation: sync must not
                // take it for absent and remove it.
                let course = slots[0]
                    .and_then(|i| row.cells.get(i))
                    .map(|c| unneutralize(c).trim());
                let course_id = course.and_then(|c| courses.get(c)).copied();
                let member_id: Option<i64> = conn
                    .prepare_cached("SELECT id FROM members WHERE username = ?1")?
                    .query_row([username.as_str()], |r| r.get(0))
                    .optional()?;
                if let (Some(course_id), Some(member_id)) = (course_id, member_id)
                    && let Some(id) = participation(conn, member_id, course_id)?
                {
                    see(conn, id, row.line)?;
                }
                reject(
                    &mut outcome,
                    &mut sinks,
                    options,
                    &mut total,
                    Problem {
                        line: row.line,
                        username,
                        message: messages.join("; "),
                    },
                    &row.cells,
                )?;
            }
            Ok(incoming)
                if let Some(first) =
                    match participation(conn, incoming.member_id, incoming.course_id)? {
                        Some(id) => see(conn, id, row.line)?,
                        None => None,
                    } =>
            {
                let username = slots[1]
                    .and_then(|i| row.cells.get(i))
                    .unwrap_or_default()
                    .to_string();
                let message = format!(
                    "this course and username appear twice in the file (first on line {first})"
                );
                reject(
                    &mut outcome,
                    &mut sinks,
                    options,
                    &mut total,
                    Problem {
                        line: row.line,
                        username,
                        message,
                    },
                    &row.cells,
                )?;
            }
            Ok(incoming) => match apply(conn, stamp, &row, &incoming, &codes_by_id, &mut outcome) {
                Ok(plan) => sinks.plan(|| plan)?,
                Err(e) => return Err(e.into()),
            },
        }
    }
    (sinks.progress)(file.offset());
    if total > 0 && !options.skip_invalid {
        return Err(ImportError::Invalid(
            std::mem::take(&mut outcome.problems),
            total,
        ));
    }
    if options.mode == Mode::Sync {
        if rows == 0 {
            return Err(ImportError::Refused(
                "the file has no participation rows: in sync mode that would remove every participation, so it is always refused".into(),
            ));
        }
        let absent: i64 = conn.query_row(
            "SELECT count(*) FROM participations WHERE id NOT IN (SELECT id FROM temp.import_seen)",
            [],
            |r| r.get(0),
        )?;
        let limit = options.max_deletions.unwrap_or(before / 10);
        if absent > limit {
            return Err(ImportError::Refused(format!(
                "this sync would remove {absent} of {before} participations, more than the limit of {limit}; \
                 nothing was changed. Check the file, look at the plan with --dry-run, and raise the limit \
                 with --max-deletions N if it is right"
            )));
        }
        let mut stmt = conn.prepare(
            "SELECT p.id, p.member_id, m.username, c.code, p.status FROM participations p
             JOIN members m ON m.id = p.member_id JOIN courses c ON c.id = p.course_id
             WHERE p.id NOT IN (SELECT id FROM temp.import_seen) ORDER BY c.code, m.username",
        )?;
        let gone: Vec<(i64, i64, String, String, String)> = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<Result<_, _>>()?;
        for (id, member, username, course, status) in gone {
            sinks.plan(|| PlanRow {
                line: None,
                username,
                action: "delete",
                changes: format!("{course}: absent from the file"),
            })?;
            let was = serde_json::json!({"course": course, "status": status});
            audit(
                conn,
                stamp,
                "remove participation",
                "absent from the file",
                member,
                Some(was.to_string()),
                None,
            )?;
            conn.execute("DELETE FROM participations WHERE id = ?1", [id])?;
            outcome.counts.deleted += 1;
        }
    }
    Ok(outcome)
}
