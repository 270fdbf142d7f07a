//! Course-level changes to participations (the selection holds participation ids).

use rusqlite::params;

use super::{Report, Result, Stamp, audit, selected};

/// Deactivates (`active = false`) or reactivates participations at course level.
pub fn set_active(conn: &rusqlite::Connection, stamp: &Stamp, active: bool) -> Result<Report> {
    let matched = selected(conn)?;
    let action = if active { "reactivate" } else { "suspend" };
    let changed = audit(
        conn,
        stamp,
        action,
        "",
        "SELECT m.id, m.username, json_object('course', c.code, 'active', p.active),
                json_object('course', c.code, 'active', ?5)
         FROM participations p JOIN members m ON m.id = p.member_id JOIN courses c ON c.id = p.course_id
         WHERE p.id IN (SELECT id FROM temp.sel) AND p.active != ?5",
        &[&active],
    )?;
    conn.execute(
        "UPDATE participations SET active = ?1 WHERE id IN (SELECT id FROM temp.sel) AND active != ?1",
        params![active],
    )?;
    let mut report = Report::new(action, matched, stamp);
    report.changed = changed;
    report.skip(if active { "already active in the course" } else { "already inactive in the course" }, matched - changed);
    Ok(report)
}
