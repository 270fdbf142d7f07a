//! The filter chain of a member or participant set, compiled to one SQL statement.
//!
//! A chain reads left to right like a pipeline: `limit(50).anonymous()` is the
//! anonymous members among the first 50. Conditions that follow a `limit` are
//! therefore applied to the result of the previous *stage* (a nested SELECT).
//! Script text never becomes SQL: fields come from a fixed list and every value
//! is a bound parameter. Closure filters (`filter(|m| ...)`) are the one part
//! that runs outside SQL; the plan streams SQL rows through them.

use rusqlite::types::Value;

use crate::store::rows::{MEMBER_COLUMNS, PARTICIPATION_COLUMNS};

/// Which rows a set holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// Members of the academy.
    Members,
    /// Participations of one course, each joined with its member.
    Participants { course_id: i64 },
}

/// One SQL-expressible filter. Ids (group, course, series) are resolved by the caller.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    /// Folded text (see `store::fold`) found in username, email or names.
    Search(String),
    InGroup(i64),
    NotInGroup(i64),
    /// The bit of a role in `members.roles`.
    WithRole(i64),
    Country(String),
    Language(String),
    Team(String),
    Anonymous,
    Active,
    Suspended,
    Licensed,
    Unlicensed,
    /// Created before this ISO date or timestamp.
    CreatedBefore(String),
    /// Created at or after this ISO date or timestamp.
    CreatedFrom(String),
    /// Members with a participation in any course of this series.
    InSeries(i64),
    EnrolledIn(i64),
    NotEnrolledIn(i64),
    /// With (`true`) or without a participation enrolled in or completed on or after this date.
    ParticipatedSince(String, bool),
    /// Suspended before this date (by the time of the last status change).
    SuspendedBefore(String),
    Where(Field, CmpOp, Value),
    WhereIn(Field, Vec<Value>),
    /// The field is empty (`true`) or set (`false`).
    IsNull(Field, bool),
    // Participant sets only.
    Passed,
    Failed,
    Undecided,
    DeadlineBefore(String),
    /// Deadline before this date (the run's today) and still undecided.
    Overdue(String),
    Invited,
    NotInvited,
    /// Course-level deactivated participation.
    Inactive,
    /// Participation not deactivated at course level.
    CourseActive,
}

impl Cond {
    /// Whether this condition reads the participation, so needs a participant set.
    pub fn needs_participation(&self) -> bool {
        match self {
            Cond::Passed
            | Cond::Failed
            | Cond::Undecided
            | Cond::DeadlineBefore(_)
            | Cond::Overdue(_)
            | Cond::Invited
            | Cond::NotInvited
            | Cond::Inactive
            | Cond::CourseActive => true,
            Cond::Where(field, ..) | Cond::WhereIn(field, _) | Cond::IsNull(field, _) => {
                field.participation
            }
            _ => false,
        }
    }

    fn write(&self, out: &mut Builder) {
        match self {
            // The key holds the folded names, and the username and e-mail
            // where folding changes them (see store::search_key).
            Cond::Search(text) => out
                .sql("(instr(m.search_key, ?) > 0 OR instr(m.username, ?) > 0 OR instr(m.email, ?) > 0)")
                .bind(text.clone())
                .bind(text.clone())
                .bind(text.clone()),
            Cond::InGroup(id) => out
                .sql("m.id IN (SELECT member_id FROM group_members WHERE group_id = ?)")
                .bind(*id),
            Cond::NotInGroup(id) => out
                .sql("m.id NOT IN (SELECT member_id FROM group_members WHERE group_id = ?)")
                .bind(*id),
            Cond::WithRole(bit) => out.sql("(m.roles & ?) != 0").bind(*bit),
            Cond::Country(code) => out.sql("m.country = ?").bind(code.clone()),
            Cond::Language(code) => out.sql("m.language = ?").bind(code.clone()),
            Cond::Team(name) => out.sql("m.team = ?").bind(name.clone()),
            Cond::Anonymous => out.sql("m.anonymous = 1"),
            Cond::Active => out.sql("m.status = 'active'"),
            Cond::Suspended => out.sql("m.status = 'suspended'"),
            Cond::Licensed => out.sql("m.license = 1"),
            Cond::Unlicensed => out.sql("m.license = 0"),
            Cond::CreatedBefore(at) => out.sql("m.created_at < ?").bind(at.clone()),
            Cond::CreatedFrom(at) => out.sql("m.created_at >= ?").bind(at.clone()),
            Cond::InSeries(id) => out
                .sql(
                    "m.id IN (SELECT sp.member_id FROM participations sp \
                     JOIN series_courses sc ON sc.course_id = sp.course_id WHERE sc.series_id = ?)",
                )
                .bind(*id),
            Cond::EnrolledIn(id) => out
                .sql("m.id IN (SELECT member_id FROM participations WHERE course_id = ?)")
                .bind(*id),
            Cond::NotEnrolledIn(id) => out
                .sql("m.id NOT IN (SELECT member_id FROM participations WHERE course_id = ?)")
                .bind(*id),
            Cond::ParticipatedSince(date, with) => out
                .sql(if *with { "m.id IN" } else { "m.id NOT IN" })
                .sql(" (SELECT member_id FROM participations WHERE enrolled_at >= ? OR completed_at >= ?)")
                .bind(date.clone())
                .bind(date.clone()),
            Cond::SuspendedBefore(date) => out
                .sql("m.status = 'suspended' AND coalesce(m.status_changed_at, m.updated_at) < ?")
                .bind(date.clone()),
            Cond::Where(field, op, value) => {
                out.sql(field.column).sql(op.sql()).sql("?");
                if *op == CmpOp::Like {
                    out.sql(" ESCAPE '\\'");
                }
                out.bind(value.clone())
            }
            Cond::WhereIn(_, values) if values.is_empty() => out.sql("0"),
            Cond::WhereIn(field, values) => {
                out.sql(field.column).sql(" IN (");
                for (i, value) in values.iter().enumerate() {
                    out.sql(if i == 0 { "?" } else { ", ?" })
                        .bind(value.clone());
                }
                out.sql(")")
            }
            // Text columns hold '' for "no value", dates and numbers NULL.
            Cond::IsNull(field, empty) => match field.kind {
                FieldType::Int | FieldType::Real | FieldType::Bool => out
                    .sql(field.column)
                    .sql(if *empty { " IS NULL" } else { " IS NOT NULL" }),
                _ => out.sql("coalesce(").sql(field.column).sql(if *empty {
                    ", '') = ''"
                } else {
                    ", '') != ''"
                }),
            },
            Cond::Passed => out.sql("p.status = 'passed'"),
            Cond::Failed => out.sql("p.status = 'failed'"),
            Cond::Undecided => out.sql("p.status = 'undecided'"),
            Cond::DeadlineBefore(date) => out.sql("p.deadline < ?").bind(date.clone()),
            Cond::Overdue(today) => out
                .sql("p.deadline < ? AND p.status = 'undecided'")
                .bind(today.clone()),
            Cond::Invited => out.sql("p.invitations > 0"),
            Cond::NotInvited => out.sql("p.invitations = 0"),
            Cond::Inactive => out.sql("p.active = 0"),
            Cond::CourseActive => out.sql("p.active = 1"),
        };
    }
}

/// How a field's values are typed and checked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldType {
    Text,
    Int,
    Real,
    Bool,
    /// An ISO date or timestamp, compared as text.
    Time,
    Country,
    Language,
    Visibility,
    MemberStatus,
    ParticipationStatus,
}

/// A field a script may name in `where` and `order_by`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Field {
    pub name: &'static str,
    pub column: &'static str,
    pub kind: FieldType,
    pub participation: bool,
}

const fn field(name: &'static str, column: &'static str, kind: FieldType) -> Field {
    Field {
        name,
        column,
        kind,
        participation: false,
    }
}

const fn pfield(name: &'static str, column: &'static str, kind: FieldType) -> Field {
    Field {
        name,
        column,
        kind,
        participation: true,
    }
}

/// Member fields, valid in both kinds of set.
pub const MEMBER_FIELDS: &[Field] = &[
    field("id", "m.id", FieldType::Int),
    field("username", "m.username", FieldType::Text),
    field("email", "m.email", FieldType::Text),
    field("first_name", "m.first_name", FieldType::Text),
    field("last_name", "m.last_name", FieldType::Text),
    field("country", "m.country", FieldType::Country),
    field("language", "m.language", FieldType::Language),
    field("visibility", "m.visibility", FieldType::Visibility),
    field("team", "m.team", FieldType::Text),
    field("anonymous", "m.anonymous", FieldType::Bool),
    field("member_status", "m.status", FieldType::MemberStatus),
    field("license", "m.license", FieldType::Bool),
    field("created_at", "m.created_at", FieldType::Time),
    field("updated_at", "m.updated_at", FieldType::Time),
];

/// `status` of a member set: the account status.
const MEMBER_STATUS: Field = field("status", "m.status", FieldType::MemberStatus);

/// Participation fields, valid in participant sets; there `status` is the
/// participation's status and the account's is `member_status`.
pub const PARTICIPATION_FIELDS: &[Field] = &[
    pfield("status", "p.status", FieldType::ParticipationStatus),
    pfield("deadline", "p.deadline", FieldType::Time),
    pfield("active", "p.active", FieldType::Bool),
    pfield("invitations", "p.invitations", FieldType::Int),
    pfield("last_invited_at", "p.last_invited_at", FieldType::Time),
    pfield("attempt", "p.attempt", FieldType::Int),
    pfield("score", "p.score", FieldType::Real),
    pfield("completed_at", "p.completed_at", FieldType::Time),
    pfield("enrolled_at", "p.enrolled_at", FieldType::Time),
];

/// The field called `name` in a set of `kind`, if there is one.
pub fn lookup_field(kind: &Kind, name: &str) -> Option<Field> {
    let name = name.trim();
    match kind {
        Kind::Members if name == "status" => Some(MEMBER_STATUS),
        Kind::Members => MEMBER_FIELDS.iter().find(|f| f.name == name).copied(),
        Kind::Participants { .. } => PARTICIPATION_FIELDS
            .iter()
            .chain(MEMBER_FIELDS)
            .find(|f| f.name == name)
            .copied(),
    }
}

/// The field names valid in a set of `kind`, for error messages and completion.
pub fn field_names(kind: &Kind) -> Vec<&'static str> {
    match kind {
        Kind::Members => MEMBER_FIELDS
            .iter()
            .map(|f| f.name)
            .chain(["status"])
            .collect(),
        Kind::Participants { .. } => PARTICIPATION_FIELDS
            .iter()
            .chain(MEMBER_FIELDS)
            .map(|f| f.name)
            .collect(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
}

/// The operators `where` accepts, `in` included.
pub const OPERATORS: &[&str] = &["=", "!=", "<", "<=", ">", ">=", "like", "in"];

impl CmpOp {
    /// Parses an operator other than `in` (which takes an array and is its own condition).
    pub fn parse(op: &str) -> Option<CmpOp> {
        Some(match op.trim().to_ascii_lowercase().as_str() {
            "=" | "==" => CmpOp::Eq,
            "!=" | "<>" => CmpOp::Ne,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            "like" => CmpOp::Like,
            _ => return None,
        })
    }

    fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => " = ",
            CmpOp::Ne => " != ",
            CmpOp::Lt => " < ",
            CmpOp::Le => " <= ",
            CmpOp::Gt => " > ",
            CmpOp::Ge => " >= ",
            CmpOp::Like => " LIKE ",
        }
    }
}

/// One step of a chain. Closures are numbered; their owner keeps the functions.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Cond(Cond),
    /// Fields with `true` for descending.
    Order(Vec<(Field, bool)>),
    Limit(i64),
    Closure(usize),
}

/// Steps that run in Rust after the SQL, in chain order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TailOp {
    Closure(usize),
    Limit(i64),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum QueryError {
    #[error(
        "a filter or order_by cannot follow filter(...) and then limit(...): move it before the limit"
    )]
    AfterClosureLimit,
}

/// A member or participant set: its kind and its chain of steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub kind: Kind,
    pub ops: Vec<Op>,
}

/// A statement with its parameters in placeholder order.
#[derive(Debug, PartialEq)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Value>,
}

#[derive(Default)]
struct Builder {
    text: String,
    params: Vec<Value>,
}

impl Builder {
    fn sql(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }
    fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.params.push(value.into());
        self
    }
    fn finish(self) -> Sql {
        Sql {
            text: self.text,
            params: self.params,
        }
    }
}

/// A run of conditions between limits: one nested SELECT.
#[derive(Default, Debug)]
struct Stage<'a> {
    conds: Vec<&'a Cond>,
    order: Option<&'a [(Field, bool)]>,
    limit: Option<i64>,
}

/// A query split into SQL stages and the Rust tail.
#[derive(Debug)]
pub struct Plan<'a> {
    kind: &'a Kind,
    stages: Vec<Stage<'a>>,
    pub tail: Vec<TailOp>,
}

impl Query {
    pub fn new(kind: Kind) -> Query {
        Query {
            kind,
            ops: Vec::new(),
        }
    }

    pub fn with(&self, op: Op) -> Query {
        let mut next = self.clone();
        next.ops.push(op);
        next
    }

    /// The key of a row: member id, or participation id.
    pub fn key(&self) -> &'static str {
        match self.kind {
            Kind::Members => "m.id",
            Kind::Participants { .. } => "p.id",
        }
    }

    /// The columns of a full row of this kind.
    pub fn columns(&self) -> String {
        match self.kind {
            Kind::Members => MEMBER_COLUMNS.to_string(),
            Kind::Participants { .. } => format!("{MEMBER_COLUMNS}, {PARTICIPATION_COLUMNS}"),
        }
    }

    pub fn has_closures(&self) -> bool {
        self.ops.iter().any(|op| matches!(op, Op::Closure(_)))
    }

    /// Splits the chain into SQL stages and a Rust tail. Conditions and orders
    /// after a closure move into SQL (filters commute) unless a limit came
    /// after the closure, which would change what they apply to.
    pub fn plan(&self) -> Result<Plan<'_>, QueryError> {
        let mut stages = vec![Stage::default()];
        let mut tail = Vec::new();
        let mut order: Option<&[(Field, bool)]> = None;
        for op in &self.ops {
            let tail_has_limit = tail.iter().any(|t| matches!(t, TailOp::Limit(_)));
            match op {
                Op::Closure(i) => tail.push(TailOp::Closure(*i)),
                Op::Limit(n) if !tail.is_empty() => tail.push(TailOp::Limit(*n)),
                Op::Cond(_) | Op::Order(_) if tail_has_limit => {
                    return Err(QueryError::AfterClosureLimit);
                }
                Op::Cond(cond) => {
                    if stage_closed(&stages) {
                        stages.push(Stage {
                            order,
                            ..Stage::default()
                        });
                    }
                    last(&mut stages).conds.push(cond);
                }
                Op::Order(keys) => {
                    if stage_closed(&stages) {
                        stages.push(Stage::default());
                    }
                    order = Some(keys);
                    last(&mut stages).order = order;
                }
                Op::Limit(n) => {
                    if stage_closed(&stages) {
                        stages.push(Stage {
                            order,
                            ..Stage::default()
                        });
                    }
                    last(&mut stages).limit = Some(*n);
                }
            }
        }
        Ok(Plan {
            kind: &self.kind,
            stages,
            tail,
        })
    }
}

fn stage_closed(stages: &[Stage]) -> bool {
    stages.last().is_some_and(|s| s.limit.is_some())
}

fn last<'s, 'a>(stages: &'s mut [Stage<'a>]) -> &'s mut Stage<'a> {
    let n = stages.len() - 1;
    &mut stages[n]
}

impl Plan<'_> {
    fn key(&self) -> &'static str {
        match self.kind {
            Kind::Members => "m.id",
            Kind::Participants { .. } => "p.id",
        }
    }

    fn write_stage(&self, index: usize, select: &str, ordered: bool, out: &mut Builder) {
        let stage = &self.stages[index];
        out.sql("SELECT ").sql(select);
        match self.kind {
            Kind::Members => {
                out.sql(" FROM members m WHERE 1");
            }
            Kind::Participants { course_id } => {
                out.sql(" FROM participations p JOIN members m ON m.id = p.member_id WHERE p.course_id = ?")
                    .bind(*course_id);
            }
        }
        if index > 0 {
            out.sql(" AND ").sql(self.key()).sql(" IN (");
            self.write_stage(index - 1, self.key(), true, out);
            out.sql(")");
        }
        for cond in &stage.conds {
            out.sql(" AND (");
            cond.write(out);
            out.sql(")");
        }
        if ordered || stage.limit.is_some() {
            out.sql(" ORDER BY ");
            for (field, desc) in stage.order.unwrap_or_default() {
                out.sql(field.column)
                    .sql(if *desc { " DESC, " } else { " ASC, " });
            }
            out.sql(self.key());
        }
        if let Some(n) = stage.limit {
            out.sql(" LIMIT ?").bind(n.max(0));
        }
    }

    /// All rows, in chain order, with `select` as the column list.
    pub fn select(&self, select: &str) -> Sql {
        let mut out = Builder::default();
        self.write_stage(self.stages.len() - 1, select, true, &mut out);
        out.finish()
    }

    /// The number of rows the SQL part selects (the whole set when the tail is empty).
    pub fn count(&self) -> Sql {
        let mut out = Builder::default();
        out.sql("SELECT count(*) FROM (");
        self.write_stage(self.stages.len() - 1, "1", false, &mut out);
        out.sql(")");
        out.finish()
    }
}

#[cfg(test)]
mod tests;
