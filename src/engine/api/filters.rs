//! Filters on member and participant sets. Each returns a new, still lazy set;
//! all but `filter` compile to SQL.

use rhai::plugin::*;

use crate::engine::error::{RhaiResult, fail};
use crate::engine::types::MemberSet;
use crate::query::{CmpOp, Cond, Field, FieldType, Kind, OPERATORS, Op, field_names, lookup_field};
use crate::store::{codes, fold, lookup};

fn cond(ncx: &NativeCallContext, set: &MemberSet, cond: Cond) -> RhaiResult<MemberSet> {
    if cond.needs_participation() && !set.is_participants() {
        return fail(
            ncx,
            format!(
                "{}() works on participant sets, not on members: start from course(\"CODE\").participants()",
                ncx.fn_name()
            ),
        );
    }
    Ok(set.with(Op::Cond(cond)))
}

/// A date argument as `YYYY-MM-DD`, or an error naming the function and the value.
pub fn date_arg(ncx: &NativeCallContext, value: &str) -> RhaiResult<jiff::civil::Date> {
    value.trim().parse::<jiff::civil::Date>().or_else(|_| {
        fail(
            ncx,
            format!(
                "{}() expects a date written as YYYY-MM-DD, such as \"2026-03-31\"; got \"{value}\"",
                ncx.fn_name()
            ),
        )
    })
}

fn resolve(
    ncx: &NativeCallContext,
    set: &MemberSet,
    table: lookup::Table,
    key: &str,
) -> RhaiResult<i64> {
    let conn = &set.ctx.conn;
    let key = key.trim();
    match lookup::find(conn, table, key) {
        Ok(Some(found)) => Ok(found.id),
        Ok(None) => fail(ncx, lookup::unknown(conn, table, key)),
        Err(e) => fail(ncx, e.to_string()),
    }
}

#[export_module]
pub mod api {
    /// Members whose username, email or name contains `text`, ignoring case and
    /// accents ("muller" finds "Müller"). The text is matched literally: `%` and
    /// quotes have no special meaning.
    ///
    /// ```rhai
    /// members().search("garcia").count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn search(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        text: &str,
    ) -> RhaiResult<MemberSet> {
        // An empty search would match everyone: a typo'd --arg must not select the academy.
        if text.trim().is_empty() {
            return fail(
                &ncx,
                "search() needs some text to look for; use members() for everyone",
            );
        }
        cond(&ncx, set, Cond::Search(fold(text.trim())))
    }

    /// Members of the group `name`.
    ///
    /// ```rhai
    /// members().in_group("sales").count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn in_group(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        name: &str,
    ) -> RhaiResult<MemberSet> {
        let id = resolve(&ncx, set, lookup::Table::Group, name)?;
        cond(&ncx, set, Cond::InGroup(id))
    }

    /// Members who are not in the group `name`.
    ///
    /// ```rhai
    /// members().not_in_group("sales").count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn not_in_group(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        name: &str,
    ) -> RhaiResult<MemberSet> {
        let id = resolve(&ncx, set, lookup::Table::Group, name)?;
        cond(&ncx, set, Cond::NotInGroup(id))
    }

    /// Members holding `role`: learner, author, manager or admin.
    ///
    /// ```rhai
    /// members().with_role("manager").count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn with_role(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        role: &str,
    ) -> RhaiResult<MemberSet> {
        let bit = codes::role_bit(role).or_else(|e| fail(&ncx, e))?;
        cond(&ncx, set, Cond::WithRole(bit))
    }

    /// Members in the country `code` (ISO 3166-1 alpha-2, any case).
    ///
    /// ```rhai
    /// members().country("NL").count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn country(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        code: &str,
    ) -> RhaiResult<MemberSet> {
        let code = codes::country(code).or_else(|e| fail(&ncx, e))?;
        cond(&ncx, set, Cond::Country(code))
    }

    /// Members whose language is `code` (ISO 639-1).
    ///
    /// ```rhai
    /// members().language("fr").count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn language(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        code: &str,
    ) -> RhaiResult<MemberSet> {
        let code = codes::language(code).or_else(|e| fail(&ncx, e))?;
        cond(&ncx, set, Cond::Language(code))
    }

    /// Members of the gamification team `name` (exact match).
    ///
    /// ```rhai
    /// members().team("Otters").count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn team(ncx: NativeCallContext, set: &mut MemberSet, name: &str) -> RhaiResult<MemberSet> {
        cond(&ncx, set, Cond::Team(name.trim().to_string()))
    }

    /// Anonymous accounts (they sign in with an access code).
    ///
    /// ```rhai
    /// members().anonymous().count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn anonymous(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<MemberSet> {
        cond(&ncx, set, Cond::Anonymous)
    }

    /// Members whose account is active (not suspended).
    ///
    /// ```rhai
    /// members().active().count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn active(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<MemberSet> {
        cond(&ncx, set, Cond::Active)
    }

    /// Members whose account is suspended. Alias: `deactivated()`.
    ///
    /// ```rhai
    /// members().suspended().count()
    /// ```
    #[rhai_fn(pure, return_raw, name = "suspended", name = "deactivated")]
    pub fn suspended(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<MemberSet> {
        cond(&ncx, set, Cond::Suspended)
    }

    /// Members holding a license seat.
    ///
    /// ```rhai
    /// members().licensed().count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn licensed(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<MemberSet> {
        cond(&ncx, set, Cond::Licensed)
    }

    /// Members without a license seat.
    ///
    /// ```rhai
    /// members().unlicensed().count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn unlicensed(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<MemberSet> {
        cond(&ncx, set, Cond::Unlicensed)
    }

    /// Members created before the day `date` (YYYY-MM-DD) began.
    ///
    /// ```rhai
    /// members().created_before("2024-01-01").count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn created_before(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        date: &str,
    ) -> RhaiResult<MemberSet> {
        let day = date_arg(&ncx, date)?;
        cond(&ncx, set, Cond::CreatedBefore(day.to_string()))
    }

    /// Members created after the day `date` (YYYY-MM-DD) ended.
    ///
    /// ```rhai
    /// members().created_after("2026-06-30").count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn created_after(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        date: &str,
    ) -> RhaiResult<MemberSet> {
        let day = date_arg(&ncx, date)?;
        let next = day.tomorrow().or_else(|e| fail(&ncx, e.to_string()))?;
        cond(&ncx, set, Cond::CreatedFrom(next.to_string()))
    }

    /// Members with a participation in the course `code`.
    ///
    /// ```rhai
    /// members().enrolled_in("GDPR-201").count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn enrolled_in(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        code: &str,
    ) -> RhaiResult<MemberSet> {
        let id = resolve(&ncx, set, lookup::Table::Course, code)?;
        cond(&ncx, set, Cond::EnrolledIn(id))
    }

    /// Members without a participation in the course `code`.
    ///
    /// ```rhai
    /// members().in_group("sales").not_enrolled_in("GDPR-201").count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn not_enrolled_in(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        code: &str,
    ) -> RhaiResult<MemberSet> {
        let id = resolve(&ncx, set, lookup::Table::Course, code)?;
        cond(&ncx, set, Cond::NotEnrolledIn(id))
    }

    /// Members with a participation enrolled in or completed on or after `date`
    /// (YYYY-MM-DD): the ones learning lately.
    ///
    /// ```rhai
    /// members().participated_since(days_ago(90)).count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn participated_since(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        date: &str,
    ) -> RhaiResult<MemberSet> {
        let day = date_arg(&ncx, date)?;
        cond(&ncx, set, Cond::ParticipatedSince(day.to_string(), true))
    }

    /// Members with no participation enrolled in or completed since `date`.
    ///
    /// ```rhai
    /// members().active().created_before(days_ago(365)).not_participated_since(days_ago(365)).count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn not_participated_since(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        date: &str,
    ) -> RhaiResult<MemberSet> {
        let day = date_arg(&ncx, date)?;
        cond(&ncx, set, Cond::ParticipatedSince(day.to_string(), false))
    }

    /// Members suspended before the day `date` (by their last status change).
    ///
    /// ```rhai
    /// members().suspended_before(days_ago(180)).licensed().count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn suspended_before(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        date: &str,
    ) -> RhaiResult<MemberSet> {
        let day = date_arg(&ncx, date)?;
        cond(&ncx, set, Cond::SuspendedBefore(day.to_string()))
    }

    /// Rows where `field` compares to `value` with `op`: one of `=`, `!=`, `<`,
    /// `<=`, `>`, `>=`, `like` (SQL pattern, `%` any text) or `in` (an array).
    /// `()` as the value with `=` / `!=` tests for an empty field.
    ///
    /// ```rhai
    /// members().where("created_at", ">=", "2026-01-01").where("country", "in", ["NL", "BE"]).count()
    /// ```
    #[rhai_fn(pure, return_raw, name = "where")]
    pub fn where_(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        field: &str,
        op: &str,
        value: Dynamic,
    ) -> RhaiResult<MemberSet> {
        let built = super::where_cond(&ncx, &set.query.kind, field, op, value)?;
        cond(&ncx, set, built)
    }

    /// Keeps the rows for which the closure returns true. It runs in the script,
    /// row by row after the SQL filters, so prefer a named filter where one exists.
    ///
    /// ```rhai
    /// members().filter(|m| m.email.ends_with(".nl")).count()
    /// ```
    #[rhai_fn(pure)]
    pub fn filter(set: &mut MemberSet, f: rhai::FnPtr) -> MemberSet {
        set.with_closure(f)
    }

    /// The first `n` rows (of the chain so far, in its order).
    ///
    /// ```rhai
    /// members().order_by("-created_at").limit(5).usernames()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn limit(ncx: NativeCallContext, set: &mut MemberSet, n: i64) -> RhaiResult<MemberSet> {
        if n < 0 {
            return fail(&ncx, format!("limit() needs a count of 0 or more, got {n}"));
        }
        Ok(set.with(Op::Limit(n)))
    }

    /// Orders by one or more fields, comma-separated; `-field` or `field desc`
    /// sorts descending.
    ///
    /// ```rhai
    /// members().order_by("country, -created_at").limit(3).usernames()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn order_by(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        fields: &str,
    ) -> RhaiResult<MemberSet> {
        let mut keys = Vec::new();
        for part in fields.split(',') {
            let part = part.trim();
            let (name, desc) = if let Some(rest) = part.strip_prefix('-') {
                (rest.trim(), true)
            } else if let Some(rest) = part.strip_suffix(" desc").or(part.strip_suffix(" DESC")) {
                (rest.trim(), true)
            } else {
                (
                    part.strip_suffix(" asc")
                        .or(part.strip_suffix(" ASC"))
                        .unwrap_or(part)
                        .trim(),
                    false,
                )
            };
            keys.push((super::field(&ncx, &set.query.kind, name)?, desc));
        }
        Ok(set.with(Op::Order(keys)))
    }

    // Participant sets only.

    /// Participants who passed the course.
    ///
    /// ```rhai
    /// course("GDPR-201").participants().passed().count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn passed(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<MemberSet> {
        cond(&ncx, set, Cond::Passed)
    }

    /// Participants who failed the course.
    ///
    /// ```rhai
    /// course("GDPR-201").participants().failed().count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn failed(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<MemberSet> {
        cond(&ncx, set, Cond::Failed)
    }

    /// Participants with no result yet.
    ///
    /// ```rhai
    /// course("GDPR-201").participants().undecided().count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn undecided(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<MemberSet> {
        cond(&ncx, set, Cond::Undecided)
    }

    /// Participants whose deadline is before `date` (YYYY-MM-DD).
    ///
    /// ```rhai
    /// course("GDPR-201").participants().deadline_before("2027-01-01").count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn deadline_before(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        date: &str,
    ) -> RhaiResult<MemberSet> {
        let day = date_arg(&ncx, date)?;
        cond(&ncx, set, Cond::DeadlineBefore(day.to_string()))
    }

    /// Participants past their deadline (before the run's `today()`) and still undecided.
    ///
    /// ```rhai
    /// course("GDPR-201").participants().overdue().count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn overdue(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<MemberSet> {
        let today = set.ctx.today();
        cond(&ncx, set, Cond::Overdue(today))
    }

    /// Participants who were invited at least once.
    ///
    /// ```rhai
    /// course("GDPR-201").participants().invited().count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn invited(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<MemberSet> {
        cond(&ncx, set, Cond::Invited)
    }

    /// Participants never invited.
    ///
    /// ```rhai
    /// course("GDPR-201").participants().not_invited().count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn not_invited(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<MemberSet> {
        cond(&ncx, set, Cond::NotInvited)
    }

    /// Participations deactivated at course level.
    ///
    /// ```rhai
    /// course("GDPR-201").participants().inactive().count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn inactive(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<MemberSet> {
        cond(&ncx, set, Cond::Inactive)
    }

    /// Participations not deactivated at course level (the opposite of `inactive()`).
    ///
    /// ```rhai
    /// course("GDPR-201").participants().course_active().count()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn course_active(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<MemberSet> {
        cond(&ncx, set, Cond::CourseActive)
    }
}

/// The field `name` of a set of `kind`, or an error listing the valid ones.
fn field(ncx: &NativeCallContext, kind: &Kind, name: &str) -> RhaiResult<Field> {
    lookup_field(kind, name).map_or_else(
        || {
            fail(
                ncx,
                format!(
                    "unknown field '{name}'; fields here are: {}",
                    field_names(kind).join(", ")
                ),
            )
        },
        Ok,
    )
}

fn where_cond(
    ncx: &NativeCallContext,
    kind: &Kind,
    name: &str,
    op: &str,
    value: Dynamic,
) -> RhaiResult<Cond> {
    let field = field(ncx, kind, name)?;
    if op.trim().eq_ignore_ascii_case("in") {
        let Some(items) = value.clone().try_cast::<rhai::Array>() else {
            return fail(
                ncx,
                format!(
                    "where(\"{name}\", \"in\", ...) needs an array, such as [\"NL\", \"BE\"]; got a {}",
                    value.type_name()
                ),
            );
        };
        let values = items
            .into_iter()
            .map(|v| sql_value(ncx, &field, v, true))
            .collect::<RhaiResult<Vec<_>>>()?;
        return Ok(Cond::WhereIn(field, values));
    }
    let Some(cmp) = CmpOp::parse(op) else {
        return fail(
            ncx,
            format!(
                "unknown operator '{op}'; use one of {}",
                OPERATORS.join(" ")
            ),
        );
    };
    if value.is_unit() {
        return match cmp {
            CmpOp::Eq => Ok(Cond::IsNull(field, true)),
            CmpOp::Ne => Ok(Cond::IsNull(field, false)),
            _ => fail(
                ncx,
                format!("'{op}' cannot compare with () (no value); use \"=\" or \"!=\""),
            ),
        };
    }
    let check = cmp != CmpOp::Like && matches!(cmp, CmpOp::Eq | CmpOp::Ne);
    Ok(Cond::Where(
        field,
        cmp,
        sql_value(ncx, &field, value, check)?,
    ))
}

/// A script value as a bound SQL value of the field's type. Enumerated fields
/// are checked when compared for (in)equality, so a typo is an error rather
/// than an empty result.
fn sql_value(
    ncx: &NativeCallContext,
    field: &Field,
    value: Dynamic,
    check: bool,
) -> RhaiResult<rusqlite::types::Value> {
    use rusqlite::types::Value;
    let wrong = |expected: &str| {
        fail(
            ncx,
            format!(
                "field '{}' compares with {expected}, not a {} ({value})",
                field.name,
                value.type_name()
            ),
        )
    };
    match field.kind {
        FieldType::Int => match value.as_int() {
            Ok(n) => Ok(Value::Integer(n)),
            Err(_) => wrong("a number"),
        },
        FieldType::Real => match (value.as_int(), value.as_float()) {
            (Ok(n), _) => Ok(Value::Real(n as f64)),
            (_, Ok(x)) => Ok(Value::Real(x)),
            _ => wrong("a number"),
        },
        FieldType::Bool => match (value.as_bool(), value.as_int()) {
            (Ok(b), _) => Ok(Value::Integer(b as i64)),
            (_, Ok(n @ (0 | 1))) => Ok(Value::Integer(n)),
            _ => wrong("true or false"),
        },
        _ => {
            let Ok(text) = value.clone().into_string() else {
                return wrong("a string");
            };
            if !check {
                return Ok(Value::Text(text));
            }
            let checked = match field.kind {
                FieldType::Country => codes::country(&text),
                FieldType::Language => codes::language(&text),
                FieldType::Visibility => codes::visibility(&text).map(str::to_string),
                FieldType::ParticipationStatus => {
                    codes::participation_status(&text).map(str::to_string)
                }
                FieldType::MemberStatus => match text.trim().to_ascii_lowercase().as_str() {
                    s @ ("active" | "suspended") => Ok(s.to_string()),
                    _ => Err(format!(
                        "unknown account status '{text}': use active or suspended"
                    )),
                },
                _ => Ok(text),
            };
            checked.map(Value::Text).or_else(|e| fail(ncx, e))
        }
    }
}
