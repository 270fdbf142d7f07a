//! Import of members: one pass over the file inside the caller's transaction.
//! Each row is validated, compared with the member it names and applied;
//! every problem is collected with its line. The caller commits only when
//! there was none (or `skip_invalid`), and rolls back a plan-only run, so the
//! plan is exactly what applying does.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use super::read::{CsvFile, Row};
use super::{CsvError, MEMBER_COLUMNS, unneutralize};
use crate::actions::{self, Stamp};
use crate::store::{self, codes, search_key};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Add and update only.
    Upsert,
    /// Add and update, and delete every member absent from the file.
    Sync,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub mode: Mode,
    /// Whether plan rows spell out each change (for a plan someone reads).
    pub plan_detail: bool,
    /// Sync refuses to delete more than this; default a tenth of the members.
    pub max_deletions: Option<i64>,
    /// Apply the valid rows; report (and write out) the others.
    pub skip_invalid: bool,
    /// Create groups the file names that do not exist yet.
    pub create_groups: bool,
}

/// A bad row, with its line, its username (when readable) and why.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Problem {
    pub line: u64,
    pub username: String,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub suspended: u64,
    pub reactivated: u64,
    pub deleted: u64,
    pub rejected: u64,
}

/// One line of the plan: what the import does (or did) to one member.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PlanRow {
    /// The file line; none for members deleted because they are absent.
    pub line: Option<u64>,
    pub username: String,
    pub action: String,
    /// `field: before -> after`, `;`-separated.
    pub changes: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Invalid rows: nothing may be applied.
    #[error("{}", describe_problems(.0, *.1))]
    Invalid(Vec<Problem>, u64),
    /// A safety rule stops the import (exit code 3).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Csv(#[from] CsvError),
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Csv(CsvError::Sql(e))
    }
}

/// How many problems are kept in memory for the message; the count goes on.
const KEPT_PROBLEMS: usize = 1000;
/// How many of them the error message lists.
const SHOWN_PROBLEMS: usize = 50;

fn describe_problems(problems: &[Problem], total: u64) -> String {
    let mut text = format!(
        "{total} invalid row{} in the file; nothing was changed (fix them, or apply the valid rows with --skip-invalid):",
        if total == 1 { "" } else { "s" }
    );
    for p in problems.iter().take(SHOWN_PROBLEMS) {
        if p.username.is_empty() {
            text.push_str(&format!("\n  line {}: {}", p.line, p.message));
        } else {
            text.push_str(&format!(
                "\n  line {} ({}): {}",
                p.line, p.username, p.message
            ));
        }
    }
    if total as usize > SHOWN_PROBLEMS.min(problems.len()) {
        text.push_str(&format!(
            "\n  ... and {} more (--plan FILE lists every row)",
            total as usize - SHOWN_PROBLEMS.min(problems.len())
        ));
    }
    text
}

/// What the caller gets back.
#[derive(Debug, Default)]
pub struct Outcome {
    pub counts: Counts,
    /// Rejected rows (with `skip_invalid`), at most `KEPT_PROBLEMS` of them.
    pub problems: Vec<Problem>,
}

/// Receives each rejected row: its cells and the reason.
pub type RejectSink<'a> = &'a mut dyn FnMut(&[String], &str) -> Result<(), CsvError>;

/// Where the rows go besides the database: the plan, rejected rows, progress.
pub struct Sinks<'a> {
    pub plan: &'a mut dyn FnMut(&PlanRow) -> Result<(), CsvError>,
    pub rejects: RejectSink<'a>,
    pub progress: &'a mut dyn FnMut(u64),
}

/// A row's values, `None` where the column is missing.
#[derive(Default, Debug)]
struct Incoming {
    username: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    language: Option<String>,
    country: Option<String>,
    visibility: Option<String>,
    team: Option<String>,
    roles: Option<i64>,
    groups: Option<Vec<i64>>,
    anonymous: Option<bool>,
    license: Option<bool>,
    suspended: Option<bool>,
    deleted: bool,
}

/// The member as stored.
struct Current {
    id: i64,
    email: String,
    first_name: String,
    last_name: String,
    language: String,
    country: String,
    visibility: String,
    team: String,
    roles: i64,
    anonymous: bool,
    license: bool,
    suspended: bool,
}

/// Column positions: `slots[i]` is the file column of `MEMBER_COLUMNS[i]`.
fn map_header(header: &[String]) -> Result<[Option<usize>; 14], CsvError> {
    let mut slots = [None; 14];
    for (position, name) in header.iter().enumerate() {
        let name = name.trim_start_matches('\u{feff}');
        let Some(slot) = MEMBER_COLUMNS.iter().position(|c| *c == name) else {
            return Err(CsvError::Line {
                line: 1,
                message: format!(
                    "unknown column '{name}' in the header; the columns are: {}",
                    MEMBER_COLUMNS.join(", ")
                ),
            });
        };
        if slots[slot].is_some() {
            return Err(CsvError::Line {
                line: 1,
                message: format!("the column '{name}' appears twice in the header"),
            });
        }
        slots[slot] = Some(position);
    }
    if slots[0].is_none() {
        return Err(CsvError::Line {
            line: 1,
            message: "the header has no 'username' column: it is the key of every row".into(),
        });
    }
    Ok(slots)
}

fn plain_text(field: &str, value: &str, max: usize, problems: &mut Vec<String>) -> String {
    let value = value.trim();
    if value.chars().count() > max {
        problems.push(format!("{field} is longer than {max} characters"));
    }
    if value.chars().any(char::is_control) {
        problems.push(format!(
            "{field} {value:?} contains a line break or control character"
        ));
    }
    value.to_string()
}

fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && value.len() <= 254
        && !value.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, ',' | ';' | '<' | '>' | '"')
        })
}

fn flag(field: &str, value: &str, problems: &mut Vec<String>) -> Option<bool> {
    match value.trim() {
        "1" => Some(true),
        "0" => Some(false),
        other => {
            problems.push(format!("{field} must be 0 or 1, not '{other}'"));
            None
        }
    }
}

struct Importer<'c> {
    conn: &'c Connection,
    stamp: &'c Stamp,
    options: &'c Options,
    slots: [Option<usize>; 14],
    width: usize,
    groups: HashMap<String, i64>,
    free_seats: i64,
    /// The seats bought, for messages.
    seats: i64,
    /// The file line that named each member id so far (0: not named): a
    /// username twice is an error, and sync deletes the members never named.
    /// Member ids are dense, so a vector is the smallest and fastest set.
    seen: std::cell::RefCell<Vec<u32>>,
    source: String,
}

impl Importer<'_> {
    fn cell<'r>(&self, row: &'r Row, slot: usize) -> Option<&'r str> {
        self.slots[slot].map(|i| unneutralize(row.cells.get(i).map_or("", String::as_str)))
    }

    /// Reads and checks a row; all of its problems at once.
    fn parse(&mut self, row: &Row) -> Result<Incoming, Vec<String>> {
        let mut problems = Vec::new();
        if row.cells.len() != self.width {
            problems.push(format!(
                "the row has {} cells but the header has {} (a missing or extra delimiter, or an unclosed quote?)",
                row.cells.len(),
                self.width
            ));
            return Err(problems);
        }
        let mut incoming = Incoming::default();
        let username = self.cell(row, 0).unwrap_or_default().trim();
        if username.is_empty() {
            problems.push("the username is empty".into());
        } else if username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            problems.push(format!(
                "the username {username:?} contains spaces or control characters"
            ));
        } else if username.chars().count() > 150 {
            problems.push("the username is longer than 150 characters".into());
        }
        incoming.username = username.to_string();
        if let Some(email) = self.cell(row, 1) {
            let email = email.trim();
            if !email.is_empty() && !is_email(email) {
                problems.push(format!("'{email}' is not an e-mail address"));
            }
            incoming.email = Some(email.to_string());
        }
        incoming.first_name = self
            .cell(row, 2)
            .map(|v| plain_text("first_name", v, 100, &mut problems));
        incoming.last_name = self
            .cell(row, 3)
            .map(|v| plain_text("last_name", v, 100, &mut problems));
        if let Some(language) = self.cell(row, 4) {
            match codes::language(language) {
                Ok(code) => incoming.language = Some(code),
                Err(_) if language.trim().is_empty() => problems
                    .push("language cannot be empty: give an ISO 639-1 code such as en".into()),
                Err(e) => problems.push(e),
            }
        }
        if let Some(country) = self.cell(row, 5) {
            if country.trim().is_empty() {
                incoming.country = Some(String::new());
            } else {
                match codes::country(country) {
                    Ok(code) => incoming.country = Some(code),
                    Err(e) => problems.push(e),
                }
            }
        }
        if let Some(visibility) = self.cell(row, 6) {
            match codes::visibility(visibility) {
                Ok(v) => incoming.visibility = Some(v.to_string()),
                Err(e) => problems.push(e),
            }
        }
        incoming.team = self
            .cell(row, 7)
            .map(|v| plain_text("team", v, 100, &mut problems));
        if let Some(roles) = self.cell(row, 8) {
            let mut bits = 0;
            for role in roles.split(';').map(str::trim).filter(|r| !r.is_empty()) {
                match codes::role_bit(role) {
                    Ok(bit) => bits |= bit,
                    Err(e) => problems.push(e),
                }
            }
            incoming.roles = Some(bits);
        }
        if let Some(groups) = self.cell(row, 9) {
            let mut ids = Vec::new();
            for name in groups.split(';').map(str::trim).filter(|g| !g.is_empty()) {
                match self.group_id(name) {
                    Ok(Some(id)) => ids.push(id),
                    Ok(None) => problems.push(format!(
                        "unknown group '{name}' (create it first, or import with --create-groups)"
                    )),
                    Err(e) => problems.push(e.to_string()),
                }
            }
            ids.sort_unstable();
            ids.dedup();
            incoming.groups = Some(ids);
        }
        incoming.anonymous = self
            .cell(row, 10)
            .and_then(|v| flag("anonymous", v, &mut problems));
        incoming.license = self
            .cell(row, 11)
            .and_then(|v| flag("license", v, &mut problems));
        incoming.suspended = self
            .cell(row, 12)
            .and_then(|v| flag("suspended", v, &mut problems));
        incoming.deleted = self
            .cell(row, 13)
            .and_then(|v| flag("deleted", v, &mut problems))
            == Some(true);
        if problems.is_empty() {
            Ok(incoming)
        } else {
            Err(problems)
        }
    }

    fn group_id(&mut self, name: &str) -> Result<Option<i64>, rusqlite::Error> {
        if let Some(id) = self.groups.get(name) {
            return Ok(Some(*id));
        }
        if !self.options.create_groups {
            return Ok(None);
        }
        self.conn.execute(
            "INSERT INTO groups (name, created_at) VALUES (?1, ?2)",
            params![name, self.stamp.at],
        )?;
        let id = self.conn.last_insert_rowid();
        actions::audit_one(self.conn, self.stamp, "create_group", name, None, None).map_err(
            |e| match e {
                actions::ActionError::Sql(e) => e,
                other => rusqlite::Error::ToSqlConversionFailure(other.to_string().into()),
            },
        )?;
        self.groups.insert(name.to_string(), id);
        Ok(Some(id))
    }

    fn current(&self, username: &str) -> rusqlite::Result<Option<Current>> {
        self.conn
            .prepare_cached(
                "SELECT id, email, first_name, last_name, language, country, visibility, team, roles,
                        anonymous, license, status = 'suspended' FROM members WHERE username = ?1",
            )?
            .query_row([username], |r| {
                Ok(Current {
                    id: r.get(0)?,
                    email: r.get(1)?,
                    first_name: r.get(2)?,
                    last_name: r.get(3)?,
                    language: r.get(4)?,
                    country: r.get(5)?,
                    visibility: r.get(6)?,
                    team: r.get(7)?,
                    roles: r.get(8)?,
                    anonymous: r.get(9)?,
                    license: r.get(10)?,
                    suspended: r.get(11)?,
                })
            })
            .optional()
    }

    fn member_groups(&self, id: i64) -> rusqlite::Result<Vec<i64>> {
        // Sorted here: with an ORDER BY, SQLite re-prepares this statement on
        // every call, which was a quarter of a re-import's time.
        let mut ids: Vec<i64> = self
            .conn
            .prepare_cached("SELECT group_id FROM group_members WHERE member_id = ?1")?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.sort_unstable();
        Ok(ids)
    }

    fn group_names(&self, ids: &[i64]) -> String {
        let mut names: Vec<&str> = self
            .groups
            .iter()
            .filter(|(_, id)| ids.contains(id))
            .map(|(n, _)| n.as_str())
            .collect();
        names.sort_unstable();
        names.join(";")
    }

    /// Marks a member as named by the file; the line of an earlier mention if any.
    fn see(&self, id: i64, line: u64) -> rusqlite::Result<Option<u64>> {
        let mut seen = self.seen.borrow_mut();
        let slot = id.max(0) as usize;
        if slot >= seen.len() {
            seen.resize(slot + 1 + slot / 2, 0);
        }
        match seen[slot] {
            0 => {
                seen[slot] = line.min(u32::MAX as u64) as u32;
                Ok(None)
            }
            first => Ok(Some(first as u64)),
        }
    }

    fn was_seen(&self, id: i64) -> bool {
        self.seen
            .borrow()
            .get(id.max(0) as usize)
            .is_some_and(|line| *line != 0)
    }

    fn audit(
        &self,
        action: &str,
        id: i64,
        username: &str,
        before: Option<String>,
        after: Option<String>,
    ) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO audit (run_id, at, action, target, member_id, username, before, after)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                self.stamp.run_id,
                self.stamp.at,
                action,
                self.source,
                id,
                username,
                before,
                after
            ])?;
        Ok(())
    }

    fn no_seat(&self) -> String {
        format!(
            "no free license seat for this member: all {} seats are held (0 free); raise the pool \
             with set_license_seats(n), free seats, or set license to 0",
            self.seats
        )
    }

    fn create(&mut self, row: &Row, new: &Incoming) -> Result<PlanRow, String> {
        let license = new.license.unwrap_or(false);
        if license {
            if self.free_seats < 1 {
                return Err(self.no_seat());
            }
            self.free_seats -= 1;
        }
        let email = new.email.clone().unwrap_or_default();
        let first = new.first_name.clone().unwrap_or_default();
        let last = new.last_name.clone().unwrap_or_default();
        let language = new.language.clone().unwrap_or_else(|| "en".into());
        let country = new.country.clone().unwrap_or_default();
        let visibility = new.visibility.clone().unwrap_or_else(|| "members".into());
        let team = new.team.clone().unwrap_or_default();
        let roles = new.roles.unwrap_or(1);
        let anonymous = new.anonymous.unwrap_or(false);
        let suspended = new.suspended.unwrap_or(false);
        let result = self
            .conn
            .prepare_cached(
                "INSERT INTO members (username, email, first_name, last_name, language, country, visibility,
                     team, roles, anonymous, status, license, search_key, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    new.username,
                    email,
                    first,
                    last,
                    language,
                    country,
                    visibility,
                    team,
                    roles,
                    anonymous,
                    if suspended { "suspended" } else { "active" },
                    license,
                    search_key(&new.username, &email, &first, &last),
                    self.stamp.at,
                ])
            });
        result.map_err(|e| e.to_string())?;
        let id = self.conn.last_insert_rowid();
        self.see(id, row.line).map_err(|e| e.to_string())?;
        let groups = new.groups.clone().unwrap_or_default();
        for group in &groups {
            self.add_to_group(*group, id).map_err(|e| e.to_string())?;
        }
        let role_names = codes::role_names(roles).join(";");
        let group_names = self.group_names(&groups);
        let mut after: Vec<(&str, &str)> = Vec::with_capacity(12);
        let mut changes = Vec::new();
        for (field, value) in [
            ("email", email.as_str()),
            ("first_name", &first),
            ("last_name", &last),
            ("language", &language),
            ("country", &country),
            ("visibility", &visibility),
            ("team", &team),
            ("roles", &role_names),
            ("groups", &group_names),
            ("anonymous", if anonymous { "1" } else { "0" }),
            ("license", if license { "1" } else { "0" }),
            ("suspended", if suspended { "1" } else { "0" }),
        ] {
            after.push((field, value));
            if self.options.plan_detail && !value.is_empty() && value != "0" {
                changes.push(format!("{field}: {value}"));
            }
        }
        self.audit("create", id, &new.username, None, Some(json_object(&after)))
            .map_err(|e| e.to_string())?;
        Ok(PlanRow {
            line: Some(row.line),
            username: new.username.clone(),
            action: "create".into(),
            changes: changes.join("; "),
        })
    }

    fn add_to_group(&self, group: i64, member: i64) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO group_members (group_id, member_id) VALUES (?1, ?2)",
            )?
            .execute([group, member])?;
        Ok(())
    }

    /// Applies the differences between `old` and `new`; the plan row says which.
    fn update(
        &mut self,
        row: &Row,
        old: &Current,
        new: &Incoming,
        counts: &mut Counts,
    ) -> Result<PlanRow, String> {
        let mut sets: Vec<(&'static str, Value)> = Vec::new();
        let mut before = serde_json::Map::new();
        let mut after = serde_json::Map::new();
        let mut changes: Vec<String> = Vec::new();
        let mut note = |field: &str, was: &str, now: &str| {
            before.insert(field.into(), was.into());
            after.insert(field.into(), now.into());
            changes.push(format!("{field}: {was} -> {now}"));
        };
        for (column, now, was) in [
            ("email", &new.email, &old.email),
            ("first_name", &new.first_name, &old.first_name),
            ("last_name", &new.last_name, &old.last_name),
            ("language", &new.language, &old.language),
            ("country", &new.country, &old.country),
            ("visibility", &new.visibility, &old.visibility),
            ("team", &new.team, &old.team),
        ] {
            if let Some(now) = now.as_ref().filter(|n| *n != was) {
                note(column, was, now);
                sets.push((column, Value::Text(now.clone())));
            }
        }
        if let Some(roles) = new.roles.filter(|r| *r != old.roles) {
            note(
                "roles",
                &codes::role_names(old.roles).join(";"),
                &codes::role_names(roles).join(";"),
            );
            sets.push(("roles", Value::Integer(roles)));
        }
        if let Some(anonymous) = new.anonymous.filter(|a| *a != old.anonymous) {
            note(
                "anonymous",
                if old.anonymous { "1" } else { "0" },
                if anonymous { "1" } else { "0" },
            );
            sets.push(("anonymous", Value::Integer(anonymous as i64)));
        }
        if let Some(license) = new.license.filter(|l| *l != old.license) {
            if license && self.free_seats < 1 {
                return Err(self.no_seat());
            }
            self.free_seats += if license { -1 } else { 1 };
            note(
                "license",
                if old.license { "1" } else { "0" },
                if license { "1" } else { "0" },
            );
            sets.push(("license", Value::Integer(license as i64)));
        }
        let status_change = new.suspended.filter(|s| *s != old.suspended);
        if let Some(suspended) = status_change {
            note(
                "suspended",
                if old.suspended { "1" } else { "0" },
                if suspended { "1" } else { "0" },
            );
            sets.push((
                "status",
                Value::Text(if suspended { "suspended" } else { "active" }.into()),
            ));
        }
        let mut group_changes: Option<(Vec<i64>, Vec<i64>)> = None;
        if let Some(groups) = &new.groups {
            let current = self.member_groups(old.id).map_err(|e| e.to_string())?;
            if *groups != current {
                note(
                    "groups",
                    &self.group_names(&current),
                    &self.group_names(groups),
                );
                group_changes = Some((current, groups.clone()));
            }
        }
        let field_changes =
            sets.len() - status_change.is_some() as usize + group_changes.is_some() as usize;
        if changes.is_empty() {
            counts.unchanged += 1;
            return Ok(PlanRow {
                line: Some(row.line),
                username: new.username.clone(),
                action: "unchanged".into(),
                changes: String::new(),
            });
        }
        if sets
            .iter()
            .any(|(c, _)| matches!(*c, "email" | "first_name" | "last_name"))
        {
            let pick = |column: &str, old_value: &str| -> String {
                sets.iter()
                    .find(|(c, _)| *c == column)
                    .and_then(|(_, v)| match v {
                        Value::Text(t) => Some(t.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| old_value.to_string())
            };
            let key = search_key(
                &new.username,
                &pick("email", &old.email),
                &pick("first_name", &old.first_name),
                &pick("last_name", &old.last_name),
            );
            sets.push(("search_key", Value::Text(key)));
        }
        if status_change.is_some() {
            sets.push(("status_changed_at", Value::Text(self.stamp.at.clone())));
        }
        if !sets.is_empty() {
            let assignments: Vec<String> = sets
                .iter()
                .enumerate()
                .map(|(i, (c, _))| format!("{c} = ?{}", i + 1))
                .collect();
            let sql = format!(
                "UPDATE members SET {}, updated_at = ?{} WHERE id = ?{}",
                assignments.join(", "),
                sets.len() + 1,
                sets.len() + 2
            );
            let mut values: Vec<Value> = sets.into_iter().map(|(_, v)| v).collect();
            values.push(Value::Text(self.stamp.at.clone()));
            values.push(Value::Integer(old.id));
            self.conn
                .prepare_cached(&sql)
                .and_then(|mut s| s.execute(rusqlite::params_from_iter(values)))
                .map_err(|e| e.to_string())?;
        }
        if let Some((current, wanted)) = group_changes {
            for gone in current.iter().filter(|g| !wanted.contains(g)) {
                self.conn
                    .prepare_cached(
                        "DELETE FROM group_members WHERE group_id = ?1 AND member_id = ?2",
                    )
                    .and_then(|mut s| s.execute([*gone, old.id]))
                    .map_err(|e| e.to_string())?;
            }
            for added in wanted.iter().filter(|g| !current.contains(g)) {
                self.add_to_group(*added, old.id)
                    .map_err(|e| e.to_string())?;
            }
        }
        let mut action = Vec::new();
        if field_changes > 0 {
            counts.updated += 1;
            action.push("update");
        }
        match status_change {
            Some(true) => {
                counts.suspended += 1;
                action.push("suspend");
            }
            Some(false) => {
                counts.reactivated += 1;
                action.push("reactivate");
            }
            None => {}
        }
        let action = action.join(", ");
        self.audit(
            &format!("import {action}"),
            old.id,
            &new.username,
            Some(serde_json::Value::Object(before).to_string()),
            Some(serde_json::Value::Object(after).to_string()),
        )
        .map_err(|e| e.to_string())?;
        Ok(PlanRow {
            line: Some(row.line),
            username: new.username.clone(),
            action,
            changes: changes.join("; "),
        })
    }
}

/// A JSON object of text values, written directly: audit rows of a large
/// import are many.
fn json_object(pairs: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(256);
    out.push('{');
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(&mut out, key);
        out.push(':');
        json_string(&mut out, value);
    }
    out.push('}');
    out
}

fn json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Counts a rejected row, puts it in the plan and the rejects file, keeps the problem.
pub(super) fn reject(
    outcome: &mut Outcome,
    sinks: &mut Sinks,
    options: &Options,
    total: &mut u64,
    problem: Problem,
    cells: &[String],
) -> Result<(), CsvError> {
    *total += 1;
    outcome.counts.rejected += 1;
    (sinks.plan)(&PlanRow {
        line: Some(problem.line),
        username: problem.username.clone(),
        action: "invalid".into(),
        changes: problem.message.clone(),
    })?;
    if options.skip_invalid {
        (sinks.rejects)(cells, &problem.message)?;
    }
    if outcome.problems.len() < KEPT_PROBLEMS {
        outcome.problems.push(problem);
    }
    Ok(())
}

/// The next row to import, counting it and reporting progress; a line that
/// cannot be read is rejected (with its line number) and reading goes on.
pub(super) fn next_row(
    file: &mut CsvFile,
    outcome: &mut Outcome,
    sinks: &mut Sinks,
    options: &Options,
    total: &mut u64,
    rows: &mut u64,
) -> Result<Option<Row>, ImportError> {
    while let Some(next) = file.next_row() {
        *rows += 1;
        if rows.is_multiple_of(4096) {
            (sinks.progress)(file.offset());
        }
        match next {
            Ok(row) => return Ok(Some(row)),
            Err(CsvError::Line { line, message }) => {
                let problem = Problem {
                    line,
                    username: String::new(),
                    message,
                };
                reject(outcome, sinks, options, total, problem, &[])?;
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok(None)
}

/// Imports `file` into the members. Runs inside the caller's transaction.
pub fn members(
    conn: &Connection,
    file: &mut CsvFile,
    stamp: &Stamp,
    options: &Options,
    source: &str,
    mut sinks: Sinks,
) -> Result<Outcome, ImportError> {
    let slots = map_header(&file.header)?;
    let groups: HashMap<String, i64> = conn
        .prepare("SELECT name, id FROM groups")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let (seats, used) =
        actions::licenses::seats(conn).map_err(|e| ImportError::Refused(e.to_string()))?;
    let members_before: i64 = conn.query_row("SELECT count(*) FROM members", [], |r| r.get(0))?;
    // A large file into a small academy: build the indexes once at the end
    // (rows of an export are about 100 bytes).
    let bulk = file.size > 4 << 20 && (file.size / 100) as i64 > 2 * members_before;
    let dropped = if bulk {
        store::drop_indexes(conn, &["members", "audit", "group_members"])?
    } else {
        Vec::new()
    };
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS import_delete (id INTEGER PRIMARY KEY);
         DELETE FROM temp.import_delete;
         CREATE TEMP TABLE IF NOT EXISTS import_absent (id INTEGER PRIMARY KEY);
         DELETE FROM temp.import_absent;",
    )?;
    let mut importer = Importer {
        conn,
        stamp,
        options,
        slots,
        width: file.header.len(),
        groups,
        free_seats: seats - used,
        seats,
        seen: std::cell::RefCell::new(Vec::new()),
        source: source.to_string(),
    };
    let mut outcome = Outcome::default();
    let mut problem_total = 0u64;
    let mut rows = 0u64;
    while let Some(row) = next_row(
        file,
        &mut outcome,
        &mut sinks,
        options,
        &mut problem_total,
        &mut rows,
    )? {
        let incoming = match importer.parse(&row) {
            Ok(incoming) => incoming,
            Err(messages) => {
                let username = importer
                    .cell(&row, 0)
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                // A rejected row still names its member: sync must not take
                // them for absent and delete them.
                if let Some(old) = importer.current(&username)? {
                    importer.see(old.id, row.line)?;
                }
                reject(
                    &mut outcome,
                    &mut sinks,
                    options,
                    &mut problem_total,
                    Problem {
                        line: row.line,
                        username,
                        message: messages.join("; "),
                    },
                    &row.cells,
                )?;
                continue;
            }
        };
        let current = importer.current(&incoming.username)?;
        if let Some(old) = &current
            && let Some(first) = importer.see(old.id, row.line)?
        {
            let message = format!("the username appears twice in the file (first on line {first})");
            reject(
                &mut outcome,
                &mut sinks,
                options,
                &mut problem_total,
                Problem {
                    line: row.line,
                    username: incoming.username.clone(),
                    message,
                },
                &row.cells,
            )?;
            continue;
        }
        let result = match (&current, incoming.deleted) {
            (Some(old), true) => {
                conn.execute(
                    "INSERT OR IGNORE INTO temp.import_delete (id) VALUES (?1)",
                    [old.id],
                )?;
                if old.license {
                    importer.free_seats += 1;
                }
                Ok(PlanRow {
                    line: Some(row.line),
                    username: incoming.username.clone(),
                    action: "delete".into(),
                    changes: "deleted = 1".into(),
                })
            }
            (None, true) => {
                outcome.counts.unchanged += 1;
                Ok(PlanRow {
                    line: Some(row.line),
                    username: incoming.username.clone(),
                    action: "unchanged".into(),
                    changes: "deleted = 1, but there is no such member".into(),
                })
            }
            (None, false) => importer
                .create(&row, &incoming)
                .inspect(|_| outcome.counts.created += 1),
            (Some(old), false) => importer.update(&row, old, &incoming, &mut outcome.counts),
        };
        match result {
            Ok(plan_row) => (sinks.plan)(&plan_row)?,
            // An existing member was marked as named above, so a rejected
            // update never makes them look absent to a sync.
            Err(message) => {
                reject(
                    &mut outcome,
                    &mut sinks,
                    options,
                    &mut problem_total,
                    Problem {
                        line: row.line,
                        username: incoming.username.clone(),
                        message,
                    },
                    &row.cells,
                )?;
            }
        }
    }
    (sinks.progress)(file.offset());
    store::rebuild_indexes(conn, &dropped)?;

    if options.mode == Mode::Sync {
        if rows == 0 {
            return Err(ImportError::Refused(
                "the file has no member rows: in sync mode that would delete every member, so it is always refused".into(),
            ));
        }
        let mut ids = conn.prepare("SELECT id FROM members")?;
        let mut absent = conn.prepare("INSERT INTO temp.import_absent (id) VALUES (?1)")?;
        let mut rows = ids.query([])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            if !importer.was_seen(id) {
                absent.execute([id])?;
            }
        }
        conn.execute(
            "INSERT OR IGNORE INTO temp.import_delete (id) SELECT id FROM temp.import_absent",
            [],
        )?;
    }
    if problem_total > 0 && !options.skip_invalid {
        return Err(ImportError::Invalid(
            std::mem::take(&mut outcome.problems),
            problem_total,
        ));
    }
    let deleting: i64 =
        conn.query_row("SELECT count(*) FROM temp.import_delete", [], |r| r.get(0))?;
    if options.mode == Mode::Sync {
        let limit = options.max_deletions.unwrap_or(members_before / 10);
        if deleting > limit {
            return Err(ImportError::Refused(format!(
                "this sync would delete {deleting} of {members_before} members, more than the limit of {limit}; \
                 nothing was changed. Check the file (a partial export?), look at the plan with --dry-run, \
                 and raise the limit with --max-deletions N if it is right"
            )));
        }
    }
    if deleting > 0 {
        let mut absent = conn.prepare(
            "SELECT m.username FROM members m WHERE m.id IN (SELECT id FROM temp.import_absent)
             ORDER BY m.username",
        )?;
        let mut names = absent.query([])?;
        while let Some(name) = names.next()? {
            (sinks.plan)(&PlanRow {
                line: None,
                username: name.get(0)?,
                action: "delete".into(),
                changes: "absent from the file".into(),
            })?;
        }
        actions::select_sql(conn, "SELECT id FROM temp.import_delete ORDER BY id", &[])
            .and_then(|_| actions::members::delete(conn, stamp))
            .map_err(|e| ImportError::Refused(e.to_string()))?;
        outcome.counts.deleted = deleting as u64;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_objects_escape_what_they_must() {
        let text = json_object(&[("a", "plain"), ("b", "quote \" back \\ line\n")]);
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["a"], "plain");
        assert_eq!(parsed["b"], "quote \" back \\ line\n");
    }
}
