//! Rows as read from the store: one member, optionally with one participation.

use rusqlite::Row;

use super::codes;

/// The columns every member row is read with, in `MemberRow` order.
pub const MEMBER_COLUMNS: &str = "m.id, m.username, m.email, m.first_name, m.last_name, m.country, \
     m.language, m.visibility, m.team, m.roles, m.anonymous, m.status, m.license, m.created_at, \
     m.updated_at";

/// The participation columns that follow the member columns in a participant row.
pub const PARTICIPATION_COLUMNS: &str = "p.id, p.status, p.deadline, p.active, p.invitations, \
     p.last_invited_at, p.attempt, p.score, p.completed_at, p.enrolled_at";

#[derive(Clone, Debug, PartialEq)]
pub struct MemberRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub country: String,
    pub language: String,
    pub visibility: String,
    pub team: String,
    pub roles: i64,
    pub anonymous: bool,
    pub status: String,
    pub license: bool,
    pub created_at: String,
    pub updated_at: String,
    pub participation: Option<ParticipationRow>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParticipationRow {
    pub id: i64,
    pub status: String,
    pub deadline: Option<String>,
    pub active: bool,
    pub invitations: i64,
    pub last_invited_at: Option<String>,
    pub attempt: i64,
    pub score: Option<f64>,
    pub completed_at: Option<String>,
    pub enrolled_at: String,
}

impl MemberRow {
    /// Reads a row selected with `MEMBER_COLUMNS` and, when `with_participation`,
    /// `PARTICIPATION_COLUMNS` after them.
    pub fn read(row: &Row, with_participation: bool) -> rusqlite::Result<MemberRow> {
        let participation = if with_participation {
            Some(ParticipationRow {
                id: row.get(15)?,
                status: row.get(16)?,
                deadline: row.get(17)?,
                active: row.get(18)?,
                invitations: row.get(19)?,
                last_invited_at: row.get(20)?,
                attempt: row.get(21)?,
                score: row.get(22)?,
                completed_at: row.get(23)?,
                enrolled_at: row.get(24)?,
            })
        } else {
            None
        };
        Ok(MemberRow {
            id: row.get(0)?,
            username: row.get(1)?,
            email: row.get(2)?,
            first_name: row.get(3)?,
            last_name: row.get(4)?,
            country: row.get(5)?,
            language: row.get(6)?,
            visibility: row.get(7)?,
            team: row.get(8)?,
            roles: row.get(9)?,
            anonymous: row.get(10)?,
            status: row.get(11)?,
            license: row.get(12)?,
            created_at: row.get(13)?,
            updated_at: row.get(14)?,
            participation,
        })
    }

    /// "First Last", or the username when the member has no name (anonymous accounts).
    pub fn full_name(&self) -> String {
        let name = format!("{} {}", self.first_name, self.last_name);
        let name = name.trim();
        if name.is_empty() {
            self.username.clone()
        } else {
            name.to_string()
        }
    }

    pub fn role_names(&self) -> Vec<&'static str> {
        codes::role_names(self.roles)
    }
}
