//! A member value's read-only properties. In a participant set, `status` is the
//! participation's status and `member_status` the account's.

use rhai::ImmutableString;
use rhai::plugin::*;

use crate::engine::error::{RhaiResult, to_rhai};
use crate::engine::types::Member;

fn opt(value: &Option<String>) -> Dynamic {
    value.clone().map_or(Dynamic::UNIT, Dynamic::from)
}

#[export_module]
pub mod api {
    /// The member's database id.
    #[rhai_fn(get = "id", pure)]
    pub fn id(m: &mut Member) -> i64 {
        m.row.id
    }
    /// The username: unique and never changed.
    ///
    /// ```rhai
    /// member(members().first().username).username
    /// ```
    #[rhai_fn(get = "username", pure)]
    pub fn username(m: &mut Member) -> ImmutableString {
        m.row.username().into()
    }
    /// The e-mail address ("" when none).
    #[rhai_fn(get = "email", pure)]
    pub fn email(m: &mut Member) -> ImmutableString {
        m.row.email().into()
    }
    #[rhai_fn(get = "first_name", pure)]
    pub fn first_name(m: &mut Member) -> ImmutableString {
        m.row.first_name().into()
    }
    #[rhai_fn(get = "last_name", pure)]
    pub fn last_name(m: &mut Member) -> ImmutableString {
        m.row.last_name().into()
    }
    /// "First Last", or the username when the member has no name.
    #[rhai_fn(get = "name", pure)]
    pub fn name(m: &mut Member) -> String {
        m.row.full_name()
    }
    /// ISO 3166-1 alpha-2 country code.
    #[rhai_fn(get = "country", pure)]
    pub fn country(m: &mut Member) -> ImmutableString {
        m.row.country().into()
    }
    /// ISO 639-1 language code.
    #[rhai_fn(get = "language", pure)]
    pub fn language(m: &mut Member) -> ImmutableString {
        m.row.language().into()
    }
    /// public, members or hidden.
    #[rhai_fn(get = "visibility", pure)]
    pub fn visibility(m: &mut Member) -> ImmutableString {
        m.row.visibility().into()
    }
    /// The gamification team ("" when none).
    #[rhai_fn(get = "team", pure)]
    pub fn team(m: &mut Member) -> ImmutableString {
        m.row.team().into()
    }
    /// The roles, an array of learner/author/manager/admin.
    #[rhai_fn(get = "roles", pure)]
    pub fn roles(m: &mut Member) -> rhai::Array {
        m.row.role_names().into_iter().map(Dynamic::from).collect()
    }
    #[rhai_fn(get = "anonymous", pure)]
    pub fn anonymous(m: &mut Member) -> bool {
        m.row.anonymous
    }
    /// Whether the member holds a license seat.
    #[rhai_fn(get = "license", pure)]
    pub fn license(m: &mut Member) -> bool {
        m.row.license
    }
    /// The account status (active or suspended); in a participant set, the participation's status.
    #[rhai_fn(get = "status", pure)]
    pub fn status(m: &mut Member) -> String {
        match &m.row.participation {
            Some(p) => p.status.clone(),
            None => m.row.status().to_string(),
        }
    }
    /// The account status, active or suspended, in any set.
    #[rhai_fn(get = "member_status", pure)]
    pub fn member_status(m: &mut Member) -> ImmutableString {
        m.row.status().into()
    }
    /// Whether the account is suspended.
    #[rhai_fn(get = "suspended", pure)]
    pub fn suspended(m: &mut Member) -> bool {
        m.row.status() == "suspended"
    }
    #[rhai_fn(get = "created_at", pure)]
    pub fn created_at(m: &mut Member) -> ImmutableString {
        m.row.created_at().into()
    }
    #[rhai_fn(get = "updated_at", pure)]
    pub fn updated_at(m: &mut Member) -> ImmutableString {
        m.row.updated_at().into()
    }
    /// The names of the member's groups (read from the database when asked).
    #[rhai_fn(get = "groups", pure, return_raw)]
    pub fn groups(ncx: NativeCallContext, m: &mut Member) -> RhaiResult<rhai::Array> {
        let ctx = crate::engine::Ctx::of(&ncx);
        let mut stmt = ctx
            .conn
            .prepare_cached(
                "SELECT g.name FROM group_members gm JOIN groups g ON g.id = gm.group_id
                 WHERE gm.member_id = ?1 ORDER BY g.name",
            )
            .map_err(to_rhai(&ncx))?;
        let names = stmt
            .query_map([m.row.id], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(to_rhai(&ncx))?;
        Ok(names.into_iter().map(Dynamic::from).collect())
    }

    // Participation fields: () outside a participant set.

    /// The course code of a participant.
    #[rhai_fn(get = "course", pure)]
    pub fn course(m: &mut Member) -> Dynamic {
        m.course.clone().map_or(Dynamic::UNIT, Dynamic::from)
    }
    /// The participation's deadline (YYYY-MM-DD), or ().
    #[rhai_fn(get = "deadline", pure)]
    pub fn deadline(m: &mut Member) -> Dynamic {
        m.row
            .participation
            .as_ref()
            .map_or(Dynamic::UNIT, |p| opt(&p.deadline))
    }
    /// Whether the participation is active at course level.
    #[rhai_fn(get = "active", pure)]
    pub fn active(m: &mut Member) -> Dynamic {
        m.row
            .participation
            .as_ref()
            .map_or(Dynamic::UNIT, |p| p.active.into())
    }
    /// How many times the participant was invited.
    #[rhai_fn(get = "invitations", pure)]
    pub fn invitations(m: &mut Member) -> Dynamic {
        m.row
            .participation
            .as_ref()
            .map_or(Dynamic::UNIT, |p| p.invitations.into())
    }
    #[rhai_fn(get = "last_invited_at", pure)]
    pub fn last_invited_at(m: &mut Member) -> Dynamic {
        m.row
            .participation
            .as_ref()
            .map_or(Dynamic::UNIT, |p| opt(&p.last_invited_at))
    }
    /// The attempt number, 1 for the first.
    #[rhai_fn(get = "attempt", pure)]
    pub fn attempt(m: &mut Member) -> Dynamic {
        m.row
            .participation
            .as_ref()
            .map_or(Dynamic::UNIT, |p| p.attempt.into())
    }
    #[rhai_fn(get = "score", pure)]
    pub fn score(m: &mut Member) -> Dynamic {
        m.row
            .participation
            .as_ref()
            .and_then(|p| p.score)
            .map_or(Dynamic::UNIT, Dynamic::from)
    }
    #[rhai_fn(get = "completed_at", pure)]
    pub fn completed_at(m: &mut Member) -> Dynamic {
        m.row
            .participation
            .as_ref()
            .map_or(Dynamic::UNIT, |p| opt(&p.completed_at))
    }
    #[rhai_fn(get = "enrolled_at", pure)]
    pub fn enrolled_at(m: &mut Member) -> Dynamic {
        m.row
            .participation
            .as_ref()
            .map_or(Dynamic::UNIT, |p| p.enrolled_at.clone().into())
    }

    /// All fields as a map.
    #[rhai_fn(pure)]
    pub fn to_map(m: &mut Member) -> rhai::Map {
        crate::engine::render::member_map(m)
    }

    #[rhai_fn(pure, name = "to_string", name = "to_debug")]
    pub fn describe(m: &mut Member) -> String {
        let name = m.row.full_name();
        if name == m.row.username() {
            name
        } else {
            format!("{} ({name})", m.row.username())
        }
    }
}
