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

/// The text fields of a member row, in `MEMBER_COLUMNS` order (id, roles,
/// anonymous and license are numbers and kept apart).
const TEXT_COLUMNS: [usize; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 11, 13, 14];

/// One member. Its text fields share one buffer: a closure filter over a
/// million members reads a million rows, and one allocation per row instead
/// of eleven is most of the speed.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberRow {
    pub id: i64,
    pub roles: i64,
    pub anonymous: bool,
    pub license: bool,
    /// The text fields' bytes, checked as UTF-8 only when a field is read:
    /// a closure filter reads one or two of eleven.
    text: Vec<u8>,
    ends: [u32; 11],
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
        let mut text = Vec::with_capacity(160);
        let mut ends = [0u32; 11];
        for (slot, column) in TEXT_COLUMNS.iter().enumerate() {
            if let Some(value) = row.get_ref(*column)?.as_bytes_or_null()? {
                text.extend_from_slice(value);
            }
            ends[slot] = text.len() as u32;
        }
        Ok(MemberRow {
            id: row.get(0)?,
            roles: row.get(9)?,
            anonymous: row.get(10)?,
            license: row.get(12)?,
            text,
            ends,
            participation,
        })
    }

    fn text(&self, slot: usize) -> &str {
        let start = if slot == 0 {
            0
        } else {
            self.ends[slot - 1] as usize
        };
        // Text written by another tool may not be UTF-8; show it as unreadable.
        std::str::from_utf8(&self.text[start..self.ends[slot] as usize]).unwrap_or("\u{FFFD}")
    }

    pub fn username(&self) -> &str {
        self.text(0)
    }
    pub fn email(&self) -> &str {
        self.text(1)
    }
    pub fn first_name(&self) -> &str {
        self.text(2)
    }
    pub fn last_name(&self) -> &str {
        self.text(3)
    }
    pub fn country(&self) -> &str {
        self.text(4)
    }
    pub fn language(&self) -> &str {
        self.text(5)
    }
    pub fn visibility(&self) -> &str {
        self.text(6)
    }
    pub fn team(&self) -> &str {
        self.text(7)
    }
    /// The account status: active or suspended.
    pub fn status(&self) -> &str {
        self.text(8)
    }
    pub fn created_at(&self) -> &str {
        self.text(9)
    }
    pub fn updated_at(&self) -> &str {
        self.text(10)
    }

    /// "First Last", or the username when the member has no name (anonymous accounts).
    pub fn full_name(&self) -> String {
        let name = format!("{} {}", self.first_name(), self.last_name());
        let name = name.trim();
        if name.is_empty() {
            self.username().to_string()
        } else {
            name.to_string()
        }
    }

    pub fn role_names(&self) -> Vec<&'static str> {
        codes::role_names(self.roles)
    }
}
