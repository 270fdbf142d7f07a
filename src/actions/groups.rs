//! Group memberships.

use rusqlite::params;

use super::{Report, Result, Stamp, audit, selected};

/// Puts the selected members into the group; members already in it are skipped.
pub fn assign(
    conn: &rusqlite::Connection,
    stamp: &Stamp,
    group_id: i64,
    name: &str,
) -> Result<Report> {
    let matched = selected(conn)?;
    let changed = audit(
        conn,
        stamp,
        "assign_group",
        name,
        "SELECT m.id, m.username, NULL, json_object('group', ?5) FROM members m
         WHERE m.id IN (SELECT id FROM temp.sel)
           AND NOT EXISTS (SELECT 1 FROM group_members g WHERE g.group_id = ?6 AND g.member_id = m.id)",
        &[&name, &group_id],
    )?;
    conn.execute(
        "INSERT OR IGNORE INTO group_members (group_id, member_id) SELECT ?1, id FROM temp.sel",
        params![group_id],
    )?;
    let mut report = Report::new("assign_group", matched, stamp);
    report.changed = changed;
    report.skip("already in group", matched - changed);
    Ok(report)
}

/// Takes the selected members out of the group; members not in it are skipped.
pub fn remove(
    conn: &rusqlite::Connection,
    stamp: &Stamp,
    group_id: i64,
    name: &str,
) -> Result<Report> {
    let matched = selected(conn)?;
    audit(
        conn,
        stamp,
        "remove_from_group",
        name,
        "SELECT m.id, m.username, json_object('group', ?5), NULL FROM members m
         JOIN group_members g ON g.member_id = m.id AND g.group_id = ?6
         WHERE m.id IN (SELECT id FROM temp.sel)",
        &[&name, &group_id],
    )?;
    let changed = conn.execute(
        "DELETE FROM group_members WHERE group_id = ?1 AND member_id IN (SELECT id FROM temp.sel)",
        params![group_id],
    )? as i64;
    let mut report = Report::new("remove_from_group", matched, stamp);
    report.changed = changed;
    report.skip("not in group", matched - changed);
    Ok(report)
}
