//! Enrolment: one course, or every course of a series.

use rusqlite::params;

use super::{Report, Result, Stamp, audit, selected};

/// Enrols the selected members in one course; existing participations are kept.
fn enrol(
    conn: &rusqlite::Connection,
    stamp: &Stamp,
    action: &str,
    course_id: i64,
    code: &str,
) -> Result<i64> {
    let changed = audit(
        conn,
        stamp,
        action,
        code,
        "SELECT m.id, m.username, NULL, json_object('course', ?5, 'status', 'undecided') FROM members m
         WHERE m.id IN (SELECT id FROM temp.sel)
           AND NOT EXISTS (SELECT 1 FROM participations p WHERE p.course_id = ?6 AND p.member_id = m.id)",
        &[&code, &course_id],
    )?;
    conn.execute(
        "INSERT OR IGNORE INTO participations (member_id, course_id, enrolled_at)
         SELECT id, ?1, ?2 FROM temp.sel",
        params![course_id, stamp.at],
    )?;
    Ok(changed)
}

/// `assign_course`: the selected members become participants of the course.
pub fn assign_course(
    conn: &rusqlite::Connection,
    stamp: &Stamp,
    course_id: i64,
    code: &str,
) -> Result<Report> {
    let matched = selected(conn)?;
    let mut report = Report::new("assign_course", matched, stamp);
    report.changed = enrol(conn, stamp, "assign_course", course_id, code)?;
    report.skip("already enrolled", matched - report.changed);
    Ok(report)
}

/// `assign_series`: enrols in every course of the series, in order. `changed`
/// counts new participations; pairs that already existed are skipped.
pub fn assign_series(conn: &rusqlite::Connection, stamp: &Stamp, series_id: i64) -> Result<Report> {
    let matched = selected(conn)?;
    let courses: Vec<(i64, String)> = conn
        .prepare(
            "SELECT c.id, c.code FROM series_courses sc JOIN courses c ON c.id = sc.course_id
             WHERE sc.series_id = ?1 ORDER BY sc.position",
        )?
        .query_map([series_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut report = Report::new("assign_series", matched, stamp);
    for (course_id, code) in &courses {
        report.changed += enrol(conn, stamp, "assign_series", *course_id, code)?;
    }
    report.skip(
        "already enrolled (member and course)",
        matched * courses.len() as i64 - report.changed,
    );
    Ok(report)
}
