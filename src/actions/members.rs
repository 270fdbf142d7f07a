//! Member-level changes of one field: status, country, language, visibility,
//! team, roles; and permanent deletion.

use rusqlite::params;

use super::{Report, Result, Stamp, audit, selected};
use crate::store::codes::ROLES;

/// A member column an action may set, from this fixed list only.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Column {
    Status,
    Country,
    Language,
    Visibility,
    Team,
}

impl Column {
    fn name(self) -> &'static str {
        match self {
            Column::Status => "status",
            Column::Country => "country",
            Column::Language => "language",
            Column::Visibility => "visibility",
            Column::Team => "team",
        }
    }
}

/// Sets `column` to `value` on the selected members that differ; the others
/// are skipped as "already VALUE".
pub fn set_field(
    conn: &rusqlite::Connection,
    stamp: &Stamp,
    action: &str,
    column: Column,
    value: &str,
) -> Result<Report> {
    let matched = selected(conn)?;
    let col = column.name();
    let changed = audit(
        conn,
        stamp,
        action,
        "",
        &format!(
            "SELECT m.id, m.username, json_object('{col}', m.{col}), json_object('{col}', ?5)
             FROM members m WHERE m.id IN (SELECT id FROM temp.sel) AND m.{col} IS NOT ?5"
        ),
        &[&value],
    )?;
    let also = if column == Column::Status {
        ", status_changed_at = ?2"
    } else {
        ""
    };
    conn.execute(
        &format!(
            "UPDATE members SET {col} = ?1, updated_at = ?2{also}
             WHERE id IN (SELECT id FROM temp.sel) AND {col} IS NOT ?1"
        ),
        params![value, stamp.at],
    )?;
    let mut report = Report::new(action, matched, stamp);
    report.changed = changed;
    let shown = if value.is_empty() { "empty" } else { value };
    report.skip(&format!("already {shown}"), matched - changed);
    Ok(report)
}

/// SQL text of the role names of a `roles` bit set, `;`-separated.
fn role_names_sql(expr: &str) -> String {
    let parts: Vec<String> = ROLES
        .iter()
        .enumerate()
        .map(|(i, r)| format!("(CASE WHEN {expr} & {} THEN '{r};' ELSE '' END)", 1 << i))
        .collect();
    format!("rtrim({}, ';')", parts.join(" || "))
}

/// Adds (`add`) or removes the role with bit `bit` on the selected members.
pub fn change_role(
    conn: &rusqlite::Connection,
    stamp: &Stamp,
    role: &str,
    bit: i64,
    add: bool,
) -> Result<Report> {
    let matched = selected(conn)?;
    let (action, new_bits, needs) = if add {
        ("add_role", "m.roles | ?5", "m.roles & ?5 = 0")
    } else {
        ("remove_role", "m.roles & ~?5", "m.roles & ?5 != 0")
    };
    let changed = audit(
        conn,
        stamp,
        action,
        role,
        &format!(
            "SELECT m.id, m.username, json_object('roles', {}), json_object('roles', {})
             FROM members m WHERE m.id IN (SELECT id FROM temp.sel) AND {needs}",
            role_names_sql("m.roles"),
            role_names_sql(&format!("({new_bits})")),
        ),
        &[&bit],
    )?;
    let update = format!(
        "UPDATE members AS m SET roles = {new_bits}, updated_at = ?6
         WHERE m.id IN (SELECT id FROM temp.sel) AND {needs}"
    )
    .replace("?5", "?1")
    .replace("?6", "?2");
    conn.execute(&update, params![bit, stamp.at])?;
    let mut report = Report::new(action, matched, stamp);
    report.changed = changed;
    let reason = if add {
        format!("already {role}")
    } else {
        format!("not {role}")
    };
    report.skip(&reason, matched - changed);
    Ok(report)
}

/// Replaces the e-mail addresses of the selected members wherever the run
/// history quotes them (a script's source, its arguments, error or output),
/// so that deleting a member leaves their address nowhere.
fn erase_from_runs(conn: &rusqlite::Connection) -> Result<()> {
    let emails: std::collections::HashSet<String> = conn
        .prepare("SELECT lower(email) FROM members WHERE id IN (SELECT id FROM temp.sel) AND email != ''")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if emails.is_empty() {
        return Ok(());
    }
    let is_email_char = |c: char| c.is_alphanumeric() || "._%+-@'".contains(c);
    let mut stmt = conn.prepare(
        "SELECT id, source, args, coalesce(error, ''), output FROM runs
         WHERE instr(source || args || coalesce(error, '') || output, '@') > 0",
    )?;
    let runs: Vec<(i64, [String; 4])> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (id, mut texts) in runs {
        let mut changed = false;
        for text in &mut texts {
            let found: Vec<String> = text
                .split(|c: char| !is_email_char(c))
                .filter(|token| token.contains('@') && emails.contains(&token.to_lowercase()))
                .map(str::to_string)
                .collect();
            for email in found {
                *text = text.replace(&email, "[erased]");
                changed = true;
            }
        }
        if changed {
            conn.execute(
                "UPDATE runs SET source = ?2, args = ?3, error = nullif(?4, ''), output = ?5 WHERE id = ?1",
                rusqlite::params![id, texts[0], texts[1], texts[2], texts[3]],
            )?;
        }
    }
    Ok(())
}

/// Permanently erases the selected members and everything about them. Their
/// participations, attempts, certificates, group memberships and queued
/// messages go with them (foreign keys cascade) and their seats are freed.
/// The audit keeps only that the username was deleted, by which run, when:
/// earlier audit rows about them lose their before/after values.
pub fn delete(conn: &rusqlite::Connection, stamp: &Stamp) -> Result<Report> {
    let matched = selected(conn)?;
    erase_from_runs(conn)?;
    conn.execute(
        "UPDATE audit SET before = NULL, after = NULL, member_id = NULL
         WHERE member_id IN (SELECT id FROM temp.sel)",
        [],
    )?;
    audit(
        conn,
        stamp,
        "delete",
        "",
        "SELECT NULL, m.username, NULL, NULL FROM members m WHERE m.id IN (SELECT id FROM temp.sel)",
        &[],
    )?;
    // Overwrite the erased content in the file too, not only unlink it.
    conn.pragma_update(None, "secure_delete", true)?;
    let changed = conn.execute(
        "DELETE FROM members WHERE id IN (SELECT id FROM temp.sel)",
        [],
    )?;
    conn.pragma_update(None, "secure_delete", false)?;
    let mut report = Report::new("delete", matched, stamp);
    report.changed = changed as i64;
    Ok(report)
}
