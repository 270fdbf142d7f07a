//! Creating groups, courses and series.

use rusqlite::{OptionalExtension, params};

use super::{ActionError, Result, Stamp, audit_one};

/// A name or title as given, trimmed; refused when empty, too long or with control characters.
fn clean(what: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ActionError::Invalid(format!("a {what} cannot be empty")));
    }
    if value.chars().count() > max {
        return Err(ActionError::Invalid(format!(
            "the {what} '{value}' is longer than {max} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(ActionError::Invalid(format!(
            "the {what} {value:?} contains control characters"
        )));
    }
    Ok(value.to_string())
}

/// A course or series code: no spaces, so it stays usable in file names and CSV cells.
fn code(what: &str, value: &str) -> Result<String> {
    let value = clean(what, value, 64)?;
    if value.contains(char::is_whitespace) || value.contains([';', ',', '/', '\\']) {
        return Err(ActionError::Invalid(format!(
            "the {what} '{value}' may not contain spaces, ';', ',', '/' or '\\'"
        )));
    }
    Ok(value)
}

fn exists(conn: &rusqlite::Connection, sql: &str, key: &str) -> Result<bool> {
    Ok(conn.query_row(sql, [key], |_| Ok(())).optional()?.is_some())
}

pub fn create_group(conn: &rusqlite::Connection, stamp: &Stamp, name: &str) -> Result<String> {
    let name = clean("group name", name, 100)?;
    if exists(conn, "SELECT 1 FROM groups WHERE name = ?1", &name)? {
        return Err(ActionError::Invalid(format!(
            "the group '{name}' already exists"
        )));
    }
    conn.execute(
        "INSERT INTO groups (name, created_at) VALUES (?1, ?2)",
        params![name, stamp.at],
    )?;
    audit_one(conn, stamp, "create_group", &name, None, None)?;
    Ok(name)
}

pub fn create_course(
    conn: &rusqlite::Connection,
    stamp: &Stamp,
    code_text: &str,
    title: &str,
) -> Result<String> {
    let code = code("course code", code_text)?;
    let title = clean("course title", title, 200)?;
    if exists(conn, "SELECT 1 FROM courses WHERE code = ?1", &code)? {
        return Err(ActionError::Invalid(format!(
            "the course '{code}' already exists"
        )));
    }
    conn.execute(
        "INSERT INTO courses (code, title, created_at) VALUES (?1, ?2, ?3)",
        params![code, title, stamp.at],
    )?;
    audit_one(
        conn,
        stamp,
        "create_course",
        &code,
        None,
        Some(serde_json::json!({"title": title}).to_string()),
    )?;
    Ok(code)
}

/// A series of existing courses, in the order given.
pub fn create_series(
    conn: &rusqlite::Connection,
    stamp: &Stamp,
    code_text: &str,
    title: &str,
    courses: &[String],
) -> Result<String> {
    let code = code("series code", code_text)?;
    let title = clean("series title", title, 200)?;
    if exists(conn, "SELECT 1 FROM series WHERE code = ?1", &code)? {
        return Err(ActionError::Invalid(format!(
            "the series '{code}' already exists"
        )));
    }
    let mut ids = Vec::new();
    for course in courses {
        let id: Option<i64> = conn
            .query_row(
                "SELECT id FROM courses WHERE code = ?1",
                [course.trim()],
                |r| r.get(0),
            )
            .optional()?;
        match id {
            Some(id) if ids.contains(&id) => {
                return Err(ActionError::Invalid(format!(
                    "the course '{course}' appears twice in the series"
                )));
            }
            Some(id) => ids.push(id),
            None => {
                return Err(ActionError::Invalid(format!(
                    "unknown course '{course}' in the series; create it first with create_course(code, title)"
                )));
            }
        }
    }
    conn.execute(
        "INSERT INTO series (code, title, created_at) VALUES (?1, ?2, ?3)",
        params![code, title, stamp.at],
    )?;
    let series_id = conn.last_insert_rowid();
    for (position, course_id) in ids.iter().enumerate() {
        conn.execute(
            "INSERT INTO series_courses (series_id, position, course_id) VALUES (?1, ?2, ?3)",
            params![series_id, position as i64 + 1, course_id],
        )?;
    }
    audit_one(
        conn,
        stamp,
        "create_series",
        &code,
        None,
        Some(serde_json::json!({"title": title, "courses": courses}).to_string()),
    )?;
    Ok(code)
}
