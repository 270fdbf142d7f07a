//! The license pool: seats bought, seats held. The store's triggers keep the
//! count of held seats, and its CHECK makes oversubscription impossible; these
//! functions give the clear message before that backstop is reached.

use rusqlite::params;

use super::{ActionError, Report, Result, Stamp, audit, audit_one, selected};

/// (seats bought, seats held).
pub fn seats(conn: &rusqlite::Connection) -> Result<(i64, i64)> {
    Ok(conn.query_row(
        "SELECT seats, used FROM license_pool WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Changes the number of seats; never below the seats held.
/// Returns (seats, held, whether it changed).
pub fn set_seats(conn: &rusqlite::Connection, stamp: &Stamp, n: i64) -> Result<(i64, i64, bool)> {
    let (before, used) = seats(conn)?;
    if n < 0 {
        return Err(ActionError::Invalid(format!(
            "the license pool cannot have {n} seats: give 0 or more"
        )));
    }
    if n < used {
        return Err(ActionError::Invalid(format!(
            "cannot set the license pool to {n} seats: {used} are held; release_license() on some members first"
        )));
    }
    conn.execute("UPDATE license_pool SET seats = ?1 WHERE id = 1", [n])?;
    if n != before {
        audit_one(
            conn,
            stamp,
            "set_license_seats",
            "license pool",
            Some(format!("{{\"seats\":{before}}}")),
            Some(format!("{{\"seats\":{n}}}")),
        )?;
    }
    Ok((n, used, n != before))
}

/// Gives a seat to each selected member without one. When the free seats are
/// too few it fails, naming how many are free, unless `partial`: then the
/// first members of the set get the free seats and the rest are skipped.
pub fn assign(conn: &rusqlite::Connection, stamp: &Stamp, partial: bool) -> Result<Report> {
    let matched = selected(conn)?;
    let need: i64 = conn.query_row(
        "SELECT count(*) FROM members WHERE id IN (SELECT id FROM temp.sel) AND license = 0",
        [],
        |r| r.get(0),
    )?;
    let (total, used) = seats(conn)?;
    let free = total - used;
    if need > free && !partial {
        return Err(ActionError::Invalid(format!(
            "assign_license() needs {need} seats but only {free} of {total} are free; \
             raise the pool with set_license_seats(n), release seats first, \
             or pass #{{partial: true}} to license the first {free} only"
        )));
    }
    let granted = need.min(free);
    let chosen = "SELECT s.id FROM temp.sel s JOIN members m ON m.id = s.id
                  WHERE m.license = 0 ORDER BY s.pos LIMIT ?5";
    audit(
        conn,
        stamp,
        "assign_license",
        "",
        &format!(
            "SELECT m.id, m.username, json_object('license', 0), json_object('license', 1)
             FROM members m WHERE m.id IN ({chosen})"
        ),
        &[&granted],
    )?;
    let changed = conn.execute(
        &format!(
            "UPDATE members SET license = 1, updated_at = ?1 WHERE id IN ({})",
            chosen.replace("?5", "?2")
        ),
        params![stamp.at, granted],
    )? as i64;
    let mut report = Report::new("assign_license", matched, stamp);
    report.changed = changed;
    report.skip("already licensed", matched - need);
    report.skip("no free seat", need - changed);
    Ok(report)
}

/// Takes the seat of each selected member who holds one.
pub fn release(conn: &rusqlite::Connection, stamp: &Stamp) -> Result<Report> {
    let matched = selected(conn)?;
    let changed = audit(
        conn,
        stamp,
        "release_license",
        "",
        "SELECT m.id, m.username, json_object('license', 1), json_object('license', 0)
         FROM members m WHERE m.id IN (SELECT id FROM temp.sel) AND m.license = 1",
        &[],
    )?;
    conn.execute(
        "UPDATE members SET license = 0, updated_at = ?1
         WHERE id IN (SELECT id FROM temp.sel) AND license = 1",
        [&stamp.at],
    )?;
    let mut report = Report::new("release_license", matched, stamp);
    report.changed = changed;
    report.skip("no seat", matched - changed);
    Ok(report)
}
