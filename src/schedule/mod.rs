//! Scheduled runs: named scripts with a cron expression and a time zone, a
//! next-due time, and a lock per schedule held in the database with an
//! expiry, so two `run-due` never run one schedule at once and a crashed
//! process's lock is taken over once it expires.

use std::str::FromStr;

use croner::Cron;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use rusqlite::{Connection, OptionalExtension, params};

use crate::store;

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

type Result<T> = std::result::Result<T, ScheduleError>;

/// One schedule as stored.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub id: i64,
    pub name: String,
    pub cron: String,
    pub script: String,
    pub args: Vec<(String, String)>,
    pub tz: String,
    /// Destructive actions in its runs are confirmed (`--yes` at `schedule add`).
    pub confirm: bool,
    pub enabled: bool,
    pub next_due: Option<String>,
}

/// A cron expression, or why it is not one.
pub fn parse_cron(expr: &str) -> Result<Cron> {
    Cron::from_str(expr.trim())
        .map_err(|e| ScheduleError::Invalid(format!("invalid cron expression '{expr}': {e}")))
}

/// An IANA time zone such as `Europe/Amsterdam`.
pub fn parse_tz(name: &str) -> Result<TimeZone> {
    TimeZone::get(name.trim()).map_err(|_| {
        ScheduleError::Invalid(format!(
            "unknown time zone '{name}': use an IANA name such as UTC or Europe/Amsterdam"
        ))
    })
}

/// The first time after `after` that the cron expression matches, in `tz`.
pub fn next_after(cron: &Cron, tz: &TimeZone, after: Timestamp) -> Result<Timestamp> {
    let zoned = after.to_zoned(tz.clone());
    cron.find_next_occurrence(&zoned, false)
        .map(|z| z.timestamp())
        .map_err(|e| {
            ScheduleError::Invalid(format!(
                "the cron expression never matches after {after}: {e}"
            ))
        })
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ScheduleError::Invalid(format!(
            "schedule name '{name}': use up to 64 letters, digits, '-', '_' or '.'"
        )))
    }
}

fn read(row: &rusqlite::Row) -> rusqlite::Result<Schedule> {
    let args: String = row.get(4)?;
    let args: Vec<(String, String)> =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&args)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
            .collect();
    Ok(Schedule {
        id: row.get(0)?,
        name: row.get(1)?,
        cron: row.get(2)?,
        script: row.get(3)?,
        args,
        tz: row.get(5)?,
        confirm: row.get(6)?,
        enabled: row.get(7)?,
        next_due: row.get(8)?,
    })
}

const COLUMNS: &str = "id, name, cron, script, args, tz, confirm, enabled, next_due";

/// What `schedule add` was given.
pub struct NewSchedule<'a> {
    pub name: &'a str,
    pub cron: &'a str,
    pub script: &'a str,
    pub args: &'a [(String, String)],
    pub tz: &'a str,
    pub confirm: bool,
}

/// Stores a new schedule, first due at its next cron time after `now`.
pub fn add(conn: &Connection, new: &NewSchedule, now: Timestamp) -> Result<Schedule> {
    let NewSchedule {
        name,
        cron,
        script,
        args,
        tz,
        confirm,
    } = *new;
    check_name(name)?;
    let parsed = parse_cron(cron)?;
    let zone = parse_tz(tz)?;
    let next = next_after(&parsed, &zone, now)?;
    if find(conn, name)?.is_some() {
        return Err(ScheduleError::Invalid(format!(
            "a schedule named '{name}' exists; remove it first or choose another name"
        )));
    }
    let args_json: serde_json::Map<String, serde_json::Value> = args
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    conn.execute(
        "INSERT INTO schedules (name, cron, script, args, tz, confirm, next_due, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            name,
            cron.trim(),
            script,
            serde_json::Value::Object(args_json).to_string(),
            tz.trim(),
            confirm,
            store::timestamp(next),
            store::timestamp(now)
        ],
    )?;
    find(conn, name)?.ok_or_else(|| ScheduleError::Invalid("the schedule vanished".into()))
}

pub fn find(conn: &Connection, name: &str) -> Result<Option<Schedule>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM schedules WHERE name = ?1"),
            [name],
            read,
        )
        .optional()?)
}

fn existing(conn: &Connection, name: &str) -> Result<Schedule> {
    find(conn, name)?.ok_or_else(|| {
        ScheduleError::Invalid(format!(
            "no schedule named '{name}'; `rollcall schedule list` shows them"
        ))
    })
}

pub fn all(conn: &Connection) -> Result<Vec<Schedule>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM schedules ORDER BY name"))?;
    let rows = stmt.query_map([], read)?.collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn remove(conn: &Connection, name: &str) -> Result<()> {
    let schedule = existing(conn, name)?;
    conn.execute("DELETE FROM schedules WHERE id = ?1", [schedule.id])?;
    Ok(())
}

/// Enables (next due from `now`) or disables a schedule.
pub fn set_enabled(conn: &Connection, name: &str, enabled: bool, now: Timestamp) -> Result<()> {
    let schedule = existing(conn, name)?;
    let next = next_after(&parse_cron(&schedule.cron)?, &parse_tz(&schedule.tz)?, now)?;
    conn.execute(
        "UPDATE schedules SET enabled = ?2, next_due = ?3 WHERE id = ?1",
        params![schedule.id, enabled, store::timestamp(next)],
    )?;
    Ok(())
}

/// Enabled schedules due at `now`.
pub fn due(conn: &Connection, now: Timestamp) -> Result<Vec<Schedule>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM schedules WHERE enabled = 1 AND next_due <= ?1 ORDER BY next_due, name"
    ))?;
    let rows = stmt
        .query_map([store::timestamp(now)], read)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The earliest next-due time of the enabled schedules.
pub fn earliest_due(conn: &Connection) -> Result<Option<Timestamp>> {
    let next: Option<String> = conn.query_row(
        "SELECT min(next_due) FROM schedules WHERE enabled = 1",
        [],
        |r| r.get(0),
    )?;
    Ok(next.and_then(|t| t.parse().ok()))
}

/// Takes the lock of a due schedule for `owner` until `until`. False when
/// another process holds an unexpired lock or the schedule is no longer due
/// (another process ran it meanwhile), or the database is busy with a run.
pub fn try_lock(
    conn: &Connection,
    id: i64,
    owner: &str,
    now: Timestamp,
    until: Timestamp,
) -> Result<bool> {
    let now = store::timestamp(now);
    // Read first: in WAL mode this never waits for a writer.
    let free: Option<bool> = conn
        .query_row(
            "SELECT lock_owner IS NULL OR lock_expires < ?2 FROM schedules
             WHERE id = ?1 AND enabled = 1 AND next_due <= ?2",
            params![id, now],
            |r| r.get(0),
        )
        .optional()?;
    if free != Some(true) {
        return Ok(false);
    }
    let taken = conn.execute(
        "UPDATE schedules SET lock_owner = ?2, lock_expires = ?3
         WHERE id = ?1 AND enabled = 1 AND next_due <= ?4 AND (lock_owner IS NULL OR lock_expires < ?4)",
        params![id, owner, store::timestamp(until), now],
    );
    match taken {
        Ok(1) => {
            // A run left 'running' by a process that died with the lock ended
            // then: its transaction was rolled back with it.
            conn.execute(
                "UPDATE runs SET outcome = 'error', ended_at = ?2,
                     error = 'the process running it stopped before it finished (killed?); its changes were rolled back'
                 WHERE schedule_id = ?1 AND outcome = 'running'",
                params![id, now],
            )?;
            Ok(true)
        }
        Ok(_) => Ok(false),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::DatabaseBusy =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Releases the lock and sets the next due time (after `now`: missed times run once).
pub fn finish(
    conn: &Connection,
    schedule: &Schedule,
    owner: &str,
    now: Timestamp,
) -> Result<Timestamp> {
    let next = next_after(&parse_cron(&schedule.cron)?, &parse_tz(&schedule.tz)?, now)?;
    conn.execute(
        "UPDATE schedules SET next_due = ?3, lock_owner = NULL, lock_expires = NULL
         WHERE id = ?1 AND lock_owner = ?2",
        params![schedule.id, owner, store::timestamp(next)],
    )?;
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn next_times_follow_the_time_zone() {
        let cron = parse_cron("0 3 * * *").unwrap();
        let utc = parse_tz("UTC").unwrap();
        let ams = parse_tz("Europe/Amsterdam").unwrap();
        let now = at("2026-11-21T12:00:00Z");
        assert_eq!(
            next_after(&cron, &utc, now).unwrap(),
            at("2026-11-22T03:00:00Z")
        );
        assert_eq!(
            next_after(&cron, &ams, now).unwrap(),
            at("2026-11-22T02:00:00Z")
        );
        assert!(parse_cron("61 * * * *").is_err());
        assert!(parse_tz("Mars/Olympus").is_err());
    }

    #[test]
    fn a_lock_is_held_until_it_expires() {
        let conn = store::open_in_memory().unwrap();
        let now = at("2026-11-21T12:00:00Z");
        let new = NewSchedule {
            name: "nightly",
            cron: "0 3 * * *",
            script: "x.rhai",
            args: &[],
            tz: "UTC",
            confirm: false,
        };
        let s = add(&conn, &new, now).unwrap();
        let due_at = at("2026-11-22T03:00:30Z");
        assert!(due(&conn, now).unwrap().is_empty());
        assert_eq!(due(&conn, due_at).unwrap().len(), 1);
        let expiry = at("2026-11-22T04:00:00Z");
        assert!(try_lock(&conn, s.id, "a", due_at, expiry).unwrap());
        assert!(!try_lock(&conn, s.id, "b", due_at, expiry).unwrap());
        // After the expiry another process may take over.
        assert!(
            try_lock(
                &conn,
                s.id,
                "b",
                at("2026-11-22T04:00:01Z"),
                at("2026-11-22T05:00:00Z")
            )
            .unwrap()
        );
        let next = finish(&conn, &s, "b", at("2026-11-25T10:00:00Z")).unwrap();
        assert_eq!(next, at("2026-11-26T03:00:00Z"), "missed runs run once");
    }
}
