//! Import of members: one pass over the file inside the caller's transaction.
//! A second thread reads and checks the rows (`Parser`) while this one
//! compares each with the member it names and applies it (`Importer`); every
//! problem is collected with its line. The caller commits only when there
//! was none (or `skip_invalid`), and rolls back a plan-only run, so the plan
//! is exactly what applying does.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{Receiver, SyncSender};

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};

use super::read::{CsvFile, Row};
use super::{CsvError, MEMBER_COLUMNS, unneutralize};
use crate::actions::{self, Stamp};
use crate::store::{codes, search_key};

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

impl Counts {
    /// Each count with its name, in report order.
    pub fn named(&self) -> [(&'static str, u64); 7] {
        [
            ("created", self.created),
            ("updated", self.updated),
            ("unchanged", self.unchanged),
            ("suspended", self.suspended),
            ("reactivated", self.reactivated),
            ("deleted", self.deleted),
            ("rejected", self.rejected),
        ]
    }

    /// The records changed: all but the unchanged and rejected rows.
    pub fn changes(&self) -> u64 {
        self.created + self.updated + self.suspended + self.reactivated + self.deleted
    }
}

/// One line of the plan: what the import does (or did) to one member.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PlanRow {
    /// The file line; none for members deleted because they are absent.
    pub line: Option<u64>,
    pub username: String,
    pub action: &'static str,
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

/// Receives each row of the plan.
pub type PlanSink<'a> = &'a mut dyn FnMut(&PlanRow) -> Result<(), CsvError>;

/// Receives each rejected row: its cells and the reason.
pub type RejectSink<'a> = &'a mut dyn FnMut(&csv::StringRecord, &str) -> Result<(), CsvError>;

/// Where the rows go besides the database: the plan, rejected rows, progress.
pub struct Sinks<'a> {
    /// None when no one reads the plan: its rows are then not even made.
    pub plan: Option<PlanSink<'a>>,
    pub rejects: RejectSink<'a>,
    pub progress: &'a mut dyn FnMut(u64),
}

impl Sinks<'_> {
    /// Hands a plan row, made only when someone reads the plan.
    pub fn plan(&mut self, row: impl FnOnce() -> PlanRow) -> Result<(), CsvError> {
        match self.plan.as_mut() {
            Some(plan) => plan(&row()),
            None => Ok(()),
        }
    }
}

/// What the import did with one row: the plan's action and account.
struct Done {
    action: &'static str,
    changes: String,
}

impl Done {
    fn new(action: &'static str, changes: impl Into<String>) -> Done {
        Done {
            action,
            changes: changes.into(),
        }
    }
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
    /// The groups named, sorted, without repeats.
    groups: Option<Vec<String>>,
    anonymous: Option<bool>,
    license: Option<bool>,
    suspended: Option<bool>,
    deleted: bool,
}

impl Incoming {
    /// What a new member gets where the row has no column.
    fn email(&self) -> &str {
        text_or(&self.email, "")
    }
    fn language(&self) -> &str {
        text_or(&self.language, "en")
    }
    fn visibility(&self) -> &str {
        text_or(&self.visibility, "members")
    }
}

fn text_or<'a>(value: &'a Option<String>, default: &'a str) -> &'a str {
    value.as_deref().unwrap_or(default)
}

/// What creating a row's member writes besides the row's text: its values
/// where the row has none, and what is derived. Worked out on the reading
/// thread.
#[derive(Debug)]
struct NewMember {
    roles: i64,
    anonymous: bool,
    license: bool,
    suspended: bool,
    search_key: String,
    /// The audit row's `after`.
    after: String,
    /// The plan's account of the values (with `plan_detail` only).
    changes: String,
}

/// A row as the reading thread hands it over.
#[expect(
    clippy::large_enum_variant,
    reason = "most rows are valid; boxing them would cost an allocation each"
)]
enum Item {
    /// A valid row; in a bulk load with its new member worked out.
    Valid {
        row: Row,
        incoming: Incoming,
        new: Option<NewMember>,
    },
    Invalid {
        row: Row,
        username: String,
        message: String,
    },
    /// A line the CSV reader could not read.
    Unreadable(Problem),
}

/// A member a row names, as `find` tells.
struct Found {
    id: i64,
    license: bool,
    /// The member as stored, copied out only when the row changes them.
    changed: Option<Current>,
}

/// The member as stored.
struct Current {
    id: i64,
    /// The ids of their groups, sorted.
    groups: Vec<i64>,
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

/// Reads and checks rows. It needs no database, so that it runs on a thread
/// of its own while the rows before are written.
struct Parser {
    slots: [Option<usize>; 14],
    width: usize,
    /// The groups that exist.
    groups: HashSet<String>,
    create_groups: bool,
    plan_detail: bool,
    /// Whether rows come with their new member (a bulk load: most are new).
    bulk: bool,
}

impl Parser {
    fn cell<'r>(&self, row: &'r Row, slot: usize) -> Option<&'r str> {
        self.slots[slot].map(|i| unneutralize(row.cells.get(i).unwrap_or_default()))
    }

    /// A row checked, with what creating its member takes.
    fn item(&self, row: Row) -> Item {
        match self.parse(&row) {
            Ok(incoming) => {
                let new = (self.bulk && !incoming.deleted).then(|| self.new_member(&incoming));
                Item::Valid { row, incoming, new }
            }
            Err(messages) => Item::Invalid {
                username: self.cell(&row, 0).unwrap_or_default().trim().to_string(),
                message: messages.join("; "),
                row,
            },
        }
    }

    /// Reads and checks a row; all of its problems at once.
    fn parse(&self, row: &Row) -> Result<Incoming, Vec<String>> {
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
            let mut names = Vec::new();
            for name in groups.split(';').map(str::trim).filter(|g| !g.is_empty()) {
                if self.create_groups || self.groups.contains(name) {
                    names.push(name.to_string());
                } else {
                    problems.push(format!(
                        "unknown group '{name}' (create it first, or import with --create-groups)"
                    ));
                }
            }
            names.sort_unstable();
            names.dedup();
            incoming.groups = Some(names);
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

    /// The member a valid row creates.
    fn new_member(&self, new: &Incoming) -> NewMember {
        let email = new.email();
        let first_name = text_or(&new.first_name, "");
        let last_name = text_or(&new.last_name, "");
        let roles = new.roles.unwrap_or(1);
        let anonymous = new.anonymous.unwrap_or(false);
        let license = new.license.unwrap_or(false);
        let suspended = new.suspended.unwrap_or(false);
        let role_names = codes::role_names(roles).join(";");
        let group_names = new.groups.as_deref().unwrap_or_default().join(";");
        // The values the member starts with; an empty field or a 0 flag is
        // left out (a million-row import writes a million of these).
        let mut after: Vec<(&str, &str)> = Vec::with_capacity(12);
        let mut changes = Vec::new();
        for (field, value) in [
            ("email", email),
            ("first_name", first_name),
            ("last_name", last_name),
            ("language", new.language()),
            ("country", text_or(&new.country, "")),
            ("visibility", new.visibility()),
            ("team", text_or(&new.team, "")),
            ("roles", &role_names),
            ("groups", &group_names),
            ("anonymous", if anonymous { "1" } else { "0" }),
            ("license", if license { "1" } else { "0" }),
            ("suspended", if suspended { "1" } else { "0" }),
        ] {
            if value.is_empty() || value == "0" {
                continue;
            }
            after.push((field, value));
            if self.plan_detail {
                changes.push(format!("{field}: {value}"));
            }
        }
        let after = json_object(&after);
        NewMember {
            search_key: search_key(&new.username, email, first_name, last_name),
            roles,
            anonymous,
            license,
            suspended,
            after,
            changes: changes.join("; "),
        }
    }
}

/// The statements of every row, prepared once.
struct Statements<'c> {
    find_member: rusqlite::Statement<'c>,
    insert_member: rusqlite::Statement<'c>,
    insert_group: rusqlite::Statement<'c>,
    insert_audit: rusqlite::Statement<'c>,
}

impl<'c> Statements<'c> {
    fn prepare(conn: &'c Connection) -> rusqlite::Result<Statements<'c>> {
        Ok(Statements {
            // The groups' ids come from the index on member_id.
            find_member: conn.prepare(
                "SELECT id, email, first_name, last_name, language, country, visibility, team, roles,
                        anonymous, license, status = 'suspended',
                        (SELECT group_concat(group_id) FROM group_members WHERE member_id = m.id)
                 FROM members m WHERE username = ?1",
            )?,
            insert_member: conn.prepare(
                "INSERT INTO members (username, email, first_name, last_name, language, country, visibility,
                     team, roles, anonymous, status, license, search_key, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)
                 ON CONFLICT (username) DO NOTHING",
            )?,
            insert_group: conn.prepare(
                "INSERT OR IGNORE INTO group_members (group_id, member_id) VALUES (?1, ?2)",
            )?,
            // The target is the file line; the run names the file.
            insert_audit: conn.prepare(
                "INSERT INTO audit (run_id, at, action, target, member_id, username, before, after)
                 VALUES (?1, ?2, ?3, 'line ' || ?4, ?5, ?6, ?7, ?8)",
            )?,
        })
    }
}

/// Applies checked rows to the database, on the importing thread.
struct Importer<'c> {
    conn: &'c Connection,
    sql: Statements<'c>,
    stamp: &'c Stamp,
    groups: HashMap<String, i64>,
    /// The same, by id.
    group_names: HashMap<i64, String>,
    free_seats: i64,
    /// The seats bought, for messages.
    seats: i64,
    /// The file line that named each member id so far (0: not named): a
    /// username twice is an error, and sync deletes the members never named.
    /// Member ids are dense, so a vector is the smallest and fastest set.
    seen: Vec<u32>,
}

impl Importer<'_> {
    /// The ids of the groups a row names, sorted. The parser let through
    /// unknown names only with --create-groups: they are created here.
    fn group_ids(&mut self, names: &[String]) -> rusqlite::Result<Vec<i64>> {
        let mut ids = Vec::with_capacity(names.len());
        for name in names {
            let id = match self.groups.get(name) {
                Some(id) => *id,
                None => self.create_group(name)?,
            };
            ids.push(id);
        }
        ids.sort_unstable();
        Ok(ids)
    }

    fn create_group(&mut self, name: &str) -> rusqlite::Result<i64> {
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
        self.group_names.insert(id, name.to_string());
        Ok(id)
    }

    /// The id of the member named `username`, if there is one.
    fn member_id(&self, username: &str) -> rusqlite::Result<Option<i64>> {
        self.conn
            .prepare_cached("SELECT id FROM members WHERE username = ?1")?
            .query_row([username], |r| r.get(0))
            .optional()
    }

    /// The names of groups, sorted and `;`-separated, as the CSV has them.
    fn names_of(&self, ids: &[i64]) -> String {
        let mut names: Vec<&str> = ids
            .iter()
            .filter_map(|id| self.group_names.get(id).map(String::as_str))
            .collect();
        names.sort_unstable();
        names.join(";")
    }

    /// Marks a member as named by the file; the line of an earlier mention if any.
    fn see(&mut self, id: i64, line: u64) -> Option<u64> {
        let seen = &mut self.seen;
        let slot = id.max(0) as usize;
        if slot >= seen.len() {
            seen.resize(slot + 1 + slot / 2, 0);
        }
        match seen[slot] {
            0 => {
                seen[slot] = line.min(u32::MAX as u64) as u32;
                None
            }
            first => Some(first as u64),
        }
    }

    fn was_seen(&self, id: i64) -> bool {
        self.seen
            .get(id.max(0) as usize)
            .is_some_and(|line| *line != 0)
    }

    /// One audit row; its target is the file line (the run names the file).
    fn audit(
        &mut self,
        action: &str,
        line: u64,
        id: i64,
        username: &str,
        before: Option<&str>,
        after: Option<&str>,
    ) -> rusqlite::Result<()> {
        self.sql.insert_audit.execute(params![
            self.stamp.run_id,
            self.stamp.at,
            action,
            line as i64,
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

    /// Creates the member the row names; `None` when the username is taken
    /// (nothing was written), or, when `trying`, when it needs a seat and
    /// none is free: the caller then looks the member up.
    fn create(
        &mut self,
        row: &Row,
        incoming: &Incoming,
        new: &NewMember,
        groups: &[i64],
        trying: bool,
    ) -> Result<Option<Done>, String> {
        let username = incoming.username.as_str();
        if new.license && self.free_seats < 1 {
            return if trying {
                Ok(None)
            } else {
                Err(self.no_seat())
            };
        }
        let inserted = self
            .sql
            .insert_member
            .execute(params![
                username,
                incoming.email(),
                text_or(&incoming.first_name, ""),
                text_or(&incoming.last_name, ""),
                incoming.language(),
                text_or(&incoming.country, ""),
                incoming.visibility(),
                text_or(&incoming.team, ""),
                new.roles,
                new.anonymous,
                if new.suspended { "suspended" } else { "active" },
                new.license,
                new.search_key,
                self.stamp.at,
            ])
            .map_err(|e| e.to_string())?;
        if inserted == 0 {
            return Ok(None);
        }
        if new.license {
            self.free_seats -= 1;
        }
        let id = self.conn.last_insert_rowid();
        self.see(id, row.line);
        for group in groups {
            self.add_to_group(*group, id).map_err(|e| e.to_string())?;
        }
        self.audit("create", row.line, id, username, None, Some(&new.after))
            .map_err(|e| e.to_string())?;
        Ok(Some(Done::new("create", new.changes.as_str())))
    }

    fn add_to_group(&mut self, group: i64, member: i64) -> rusqlite::Result<()> {
        self.sql.insert_group.execute([group, member])?;
        Ok(())
    }

    /// Does what a valid row asks; `Err` rejects the row. In a bulk load the
    /// member is inserted straight away and looked up only when the username
    /// is taken.
    fn apply(
        &mut self,
        parser: &Parser,
        row: &Row,
        incoming: &Incoming,
        new: Option<&NewMember>,
        counts: &mut Counts,
    ) -> rusqlite::Result<Result<Done, String>> {
        let groups = match &incoming.groups {
            Some(names) => Some(self.group_ids(names)?),
            None => None,
        };
        let no_groups: &[i64] = &[];
        let group_ids = groups.as_deref().unwrap_or(no_groups);
        if let Some(new) = new {
            match self.create(row, incoming, new, group_ids, true) {
                Ok(None) => {}
                created => {
                    return Ok(created.map(|done| {
                        counts.created += 1;
                        done.expect("a created member")
                    }));
                }
            }
        }
        let found = self.find(incoming, groups.as_deref())?;
        if let Some(found) = &found
            && let Some(first) = self.see(found.id, row.line)
        {
            return Ok(Err(format!(
                "the username appears twice in the file (first on line {first})"
            )));
        }
        Ok(match (found, incoming.deleted) {
            (Some(found), true) => {
                self.conn.execute(
                    "INSERT OR IGNORE INTO temp.import_delete (id) VALUES (?1)",
                    [found.id],
                )?;
                if found.license {
                    self.free_seats += 1;
                }
                Ok(Done::new("delete", "deleted = 1"))
            }
            (None, true) => {
                counts.unchanged += 1;
                Ok(Done::new(
                    "unchanged",
                    "deleted = 1, but there is no such member",
                ))
            }
            (None, false) => {
                let worked_out;
                let new = match new {
                    Some(new) => new,
                    None => {
                        worked_out = parser.new_member(incoming);
                        &worked_out
                    }
                };
                match self.create(row, incoming, new, group_ids, false) {
                    Ok(Some(created)) => {
                        counts.created += 1;
                        Ok(created)
                    }
                    Ok(None) => Err(format!("the username {} is taken", incoming.username)),
                    Err(message) => Err(message),
                }
            }
            (Some(found), false) => match found.changed {
                None => {
                    counts.unchanged += 1;
                    Ok(Done::new("unchanged", ""))
                }
                Some(old) => self.update(row, &old, incoming, groups.as_deref(), counts),
            },
        })
    }

    /// The member a row names, compared with the row in place: most rows of
    /// a re-import change nothing, and then nothing is copied out. Their
    /// groups come in the same statement.
    fn find(&mut self, new: &Incoming, groups: Option<&[i64]>) -> rusqlite::Result<Option<Found>> {
        self.sql
            .find_member
            .query_row([&new.username], |r| {
                let same_text = |i: usize, value: &Option<String>| -> rusqlite::Result<bool> {
                    Ok(match value {
                        None => true,
                        Some(value) => r.get_ref(i)?.as_str()? == value,
                    })
                };
                let same_flag = |i: usize, value: Option<bool>| -> rusqlite::Result<bool> {
                    Ok(value.is_none_or(|v| r.get::<_, bool>(i).is_ok_and(|was| was == v)))
                };
                let held = r.get_ref(12)?.as_str_or_null()?.unwrap_or_default();
                let held_ids = || held.split(',').filter_map(|id| id.parse::<i64>().ok());
                let same_groups = match groups {
                    None => true,
                    // Both lists are without repeats: the same length and
                    // every id held also wanted is the same set.
                    Some(wanted) => {
                        held_ids().count() == wanted.len()
                            && held_ids().all(|id| wanted.contains(&id))
                    }
                };
                let changes = !(same_text(1, &new.email)?
                    && same_text(2, &new.first_name)?
                    && same_text(3, &new.last_name)?
                    && same_text(4, &new.language)?
                    && same_text(5, &new.country)?
                    && same_text(6, &new.visibility)?
                    && same_text(7, &new.team)?
                    && new
                        .roles
                        .is_none_or(|v| r.get::<_, i64>(8).is_ok_and(|was| was == v))
                    && same_flag(9, new.anonymous)?
                    && same_flag(10, new.license)?
                    && same_flag(11, new.suspended)?
                    && same_groups);
                let id = r.get(0)?;
                let changed = if changes {
                    let mut groups: Vec<i64> = held_ids().collect();
                    groups.sort_unstable();
                    Some(Current {
                        id,
                        groups,
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
                } else {
                    None
                };
                Ok(Found {
                    id,
                    license: r.get(10)?,
                    changed,
                })
            })
            .optional()
    }

    /// Applies the differences between `old` and `new`; the plan row says which.
    fn update(
        &mut self,
        row: &Row,
        old: &Current,
        new: &Incoming,
        groups: Option<&[i64]>,
        counts: &mut Counts,
    ) -> Result<Done, String> {
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
        if let Some(groups) = groups {
            let current = old.groups.clone();
            if groups != current {
                note("groups", &self.names_of(&current), &self.names_of(groups));
                group_changes = Some((current, groups.to_vec()));
            }
        }
        let field_changes =
            sets.len() - status_change.is_some() as usize + group_changes.is_some() as usize;
        if changes.is_empty() {
            counts.unchanged += 1;
            return Ok(Done::new("unchanged", ""));
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
        let updated = field_changes > 0;
        if updated {
            counts.updated += 1;
        }
        match status_change {
            Some(true) => counts.suspended += 1,
            Some(false) => counts.reactivated += 1,
            None => {}
        }
        let action = match (updated, status_change) {
            (true, Some(true)) => "update, suspend",
            (true, Some(false)) => "update, reactivate",
            (false, Some(true)) => "suspend",
            (false, Some(false)) => "reactivate",
            (_, None) => "update",
        };
        self.audit(
            &format!("import {action}"),
            row.line,
            old.id,
            &new.username,
            Some(&serde_json::Value::Object(before).to_string()),
            Some(&serde_json::Value::Object(after).to_string()),
        )
        .map_err(|e| e.to_string())?;
        Ok(Done::new(action, changes.join("; ")))
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
    let mut plain = 0;
    for (i, b) in text.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b if b < 0x20 => "",
            _ => continue,
        };
        out.push_str(&text[plain..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        plain = i + 1;
    }
    out.push_str(&text[plain..]);
    out.push('"');
}

/// Counts a rejected row, puts it in the plan and the rejects file, keeps the problem.
pub(super) fn reject(
    outcome: &mut Outcome,
    sinks: &mut Sinks,
    options: &Options,
    total: &mut u64,
    problem: Problem,
    cells: &csv::StringRecord,
) -> Result<(), CsvError> {
    *total += 1;
    outcome.counts.rejected += 1;
    sinks.plan(|| PlanRow {
        line: Some(problem.line),
        username: problem.username.clone(),
        action: "invalid",
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
                reject(
                    outcome,
                    sinks,
                    options,
                    total,
                    problem,
                    &csv::StringRecord::new(),
                )?;
            }
            Err(other) => return Err(other.into()),
        }
    }
    Ok(None)
}

/// Rows in a batch from the reading thread, and batches it reads ahead.
const BATCH_ROWS: usize = 1024;
const BATCHES_AHEAD: usize = 4;

/// Rows read and checked, and how far into the file they reach.
struct Batch {
    items: Vec<Item>,
    offset: u64,
}

/// The reading thread: reads and checks rows and hands them over in batches,
/// until the end of the file, an error that ends the reading, or the importer
/// stops (it drops its end of the channel).
fn read_rows(
    file: &mut CsvFile,
    parser: &Parser,
    sender: SyncSender<Result<Batch, CsvError>>,
    spent: Receiver<Vec<Item>>,
) {
    let mut items = Vec::with_capacity(BATCH_ROWS);
    loop {
        let next = file.next_row();
        let end = next.is_none();
        match next {
            None => {}
            Some(Ok(row)) => items.push(parser.item(row)),
            Some(Err(CsvError::Line { line, message })) => items.push(Item::Unreadable(Problem {
                line,
                username: String::new(),
                message,
            })),
            Some(Err(other)) => {
                let _ = sender.send(Err(other));
                return;
            }
        }
        if end || items.len() == BATCH_ROWS {
            // A batch handed back is emptied (its rows freed) and filled again.
            let next = match spent.try_recv() {
                Ok(mut done) => {
                    done.clear();
                    done
                }
                Err(_) => Vec::with_capacity(BATCH_ROWS),
            };
            let batch = Batch {
                items: std::mem::replace(&mut items, next),
                offset: file.offset(),
            };
            if sender.send(Ok(batch)).is_err() || end {
                return;
            }
        }
    }
}

/// Whether an import of a file of `size` bytes into an academy of `members`
/// is a bulk load: a large file, mostly of new members (rows of an export
/// are about 100 bytes).
pub fn is_bulk(size: u64, members: i64) -> bool {
    size > 4 << 20 && (size / 100) as i64 > 2 * members
}

/// Imports `file` into the members. Runs inside the caller's transaction.
pub fn members(
    conn: &Connection,
    file: &mut CsvFile,
    stamp: &Stamp,
    options: &Options,
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
    // Most rows of a file much larger than the academy are new members: each
    // is inserted straight away, and looked up only when its username is taken.
    let bulk = is_bulk(file.size, members_before);
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS import_delete (id INTEGER PRIMARY KEY);
         DELETE FROM temp.import_delete;
         CREATE TEMP TABLE IF NOT EXISTS import_absent (id INTEGER PRIMARY KEY);
         DELETE FROM temp.import_absent;",
    )?;
    let parser = Parser {
        slots,
        width: file.header.len(),
        groups: groups.keys().cloned().collect(),
        create_groups: options.create_groups,
        plan_detail: options.plan_detail,
        bulk,
    };
    let mut importer = Importer {
        conn,
        sql: Statements::prepare(conn)?,
        stamp,
        group_names: groups
            .iter()
            .map(|(name, id)| (*id, name.clone()))
            .collect(),
        groups,
        free_seats: seats - used,
        seats,
        seen: Vec::new(),
    };
    let mut outcome = Outcome::default();
    let mut problem_total = 0u64;
    let mut rows = 0u64;
    // Rows are read and checked on a second thread while this one writes.
    std::thread::scope(|scope| -> Result<(), ImportError> {
        let (sender, batches) = std::sync::mpsc::sync_channel(BATCHES_AHEAD);
        let (give_back, spent) = std::sync::mpsc::channel();
        let parser = &parser;
        scope.spawn(move || read_rows(file, parser, sender, spent));
        for batch in batches {
            let batch = batch?;
            rows += batch.items.len() as u64;
            for item in &batch.items {
                let (row, username, result) = match item {
                    Item::Valid { row, incoming, new } => {
                        let result = importer.apply(
                            parser,
                            row,
                            incoming,
                            new.as_ref(),
                            &mut outcome.counts,
                        )?;
                        (row, &incoming.username, result)
                    }
                    Item::Invalid {
                        row,
                        username,
                        message,
                    } => {
                        // A rejected row still names its member: sync must not
                        // take them for absent and delete them.
                        if let Some(id) = importer.member_id(username)? {
                            importer.see(id, row.line);
                        }
                        (row, username, Err(message.clone()))
                    }
                    Item::Unreadable(problem) => {
                        reject(
                            &mut outcome,
                            &mut sinks,
                            options,
                            &mut problem_total,
                            problem.clone(),
                            &csv::StringRecord::new(),
                        )?;
                        continue;
                    }
                };
                match result {
                    Ok(done) => sinks.plan(|| PlanRow {
                        line: Some(row.line),
                        username: username.clone(),
                        action: done.action,
                        changes: done.changes,
                    })?,
                    // An existing member was marked as named, so a rejected
                    // update never makes them look absent to a sync.
                    Err(message) => reject(
                        &mut outcome,
                        &mut sinks,
                        options,
                        &mut problem_total,
                        Problem {
                            line: row.line,
                            username: username.clone(),
                            message,
                        },
                        &row.cells,
                    )?,
                }
            }
            (sinks.progress)(batch.offset);
            // The reading thread frees the rows and fills the batch again:
            // memory freed on another thread than the one that took it costs
            // the allocator locks (it was a third of the import's time).
            let _ = give_back.send(batch.items);
        }
        Ok(())
    })?;

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
            let username: String = name.get(0)?;
            sinks.plan(|| PlanRow {
                line: None,
                username,
                action: "delete",
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
        let hostile = "quote \" back \\ line\n Ibáñez \u{1} tab\t\"";
        let text = json_object(&[("a", "plain"), ("b", hostile), ("c", "")]);
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["a"], "plain");
        assert_eq!(parsed["b"], hostile);
        assert_eq!(parsed["c"], "");
    }
}
