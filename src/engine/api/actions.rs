//! Bulk actions on member sets (and on the members of participant sets): the
//! glue every action shares. Every action selects its ids in SQL (or from the
//! closure filter), asks for confirmation when destructive, runs set-based SQL
//! and returns a report map `#{action, matched, changed, skipped, reasons, dry_run}`.

use rhai::plugin::*;
use rhai::{Array, Map};

use crate::actions::{self, ActionError, Report, Stamp};
use crate::engine::error::{RhaiResult, fail, refuse, to_rhai};
use crate::engine::stream;
use crate::engine::types::MemberSet;
use crate::engine::{Ctx, render};
use crate::store::{self, codes, lookup};

/// What an action works on: members, or their participations in the set's course.
#[derive(Clone, Copy, PartialEq)]
pub enum Level {
    Members,
    Participations,
}

/// The options an action accepts as its last argument.
pub(super) struct Options {
    confirm: bool,
    pub(super) partial: bool,
}

fn options(ncx: &NativeCallContext, opts: &Map, allowed: &[&str]) -> RhaiResult<Options> {
    for key in opts.keys() {
        if !allowed.contains(&key.as_str()) {
            return fail(
                ncx,
                format!(
                    "{}() has no option '{key}'; its options are: {}",
                    ncx.fn_name(),
                    allowed.join(", ")
                ),
            );
        }
    }
    let flag = |name: &str| -> RhaiResult<bool> {
        match opts.get(name) {
            None => Ok(false),
            Some(v) => v.as_bool().or_else(|_| {
                fail(
                    ncx,
                    format!("option '{name}' must be true or false, got {v}"),
                )
            }),
        }
    };
    Ok(Options {
        confirm: flag("confirm")?,
        partial: flag("partial")?,
    })
}

/// Fills the selection with the set's member ids or participation ids; returns the count.
pub(super) fn select(ncx: &NativeCallContext, set: &MemberSet, level: Level) -> RhaiResult<i64> {
    let conn = &set.ctx.conn;
    let column = match level {
        Level::Members => "m.id",
        Level::Participations => "p.id",
    };
    if !set.query.has_closures() {
        let plan = set.query.plan().map_err(to_rhai(ncx))?;
        let sql = plan.select(column);
        return actions::select_sql(conn, &sql.text, &sql.params).map_err(to_rhai(ncx));
    }
    let mut ids = Vec::new();
    stream::for_each(ncx, set, |m| {
        ids.push(match (level, &m.row.participation) {
            (Level::Participations, Some(p)) => p.id,
            _ => m.row.id,
        });
        Ok(true)
    })?;
    actions::select_ids(conn, &ids).map_err(to_rhai(ncx))
}

/// Runs one action over a set: select, confirm, act, count, report.
pub(super) fn act(
    ncx: &NativeCallContext,
    set: &MemberSet,
    level: Level,
    opts: &Map,
    always_destructive: bool,
    apply: impl FnOnce(&rusqlite::Connection, &Stamp, &Options) -> actions::Result<Report>,
) -> RhaiResult<Map> {
    let allowed: &[&str] = if ncx.fn_name() == "assign_license" {
        &["confirm", "partial"]
    } else {
        &["confirm"]
    };
    let options = options(ncx, opts, allowed)?;
    let ctx = &set.ctx;
    let matched = select(ncx, set, level)?;
    let name = ncx.fn_name();
    let over_limit = matched > ctx.options.confirm_above;
    let needs_confirmation = matched > 0 && (always_destructive || over_limit);
    let mut confirmed = options.confirm || ctx.yes();
    if needs_confirmation && !confirmed && !ctx.dry_run() {
        let question = format!(
            "{name}() will act on {matched} {}. Go ahead?",
            set.describe()
        );
        confirmed = ctx.ask(&question) == Some(true);
    }
    if needs_confirmation && !confirmed && !ctx.dry_run() {
        let why = if always_destructive {
            "it cannot be undone".to_string()
        } else {
            format!(
                "that is more than the confirmation limit of {} (--confirm-above)",
                ctx.options.confirm_above
            )
        };
        return refuse(
            ncx,
            format!(
                "{name}() would act on {matched} {} and {why}; nothing was changed. \
                 Check the set with a dry run (--dry-run), then confirm with --yes \
                 or pass #{{confirm: true}} as the last argument",
                set.describe()
            ),
        );
    }
    let stamp = stamp(ctx);
    let report = apply(&ctx.conn, &stamp, &options).or_else(|e| action_error(ncx, e))?;
    finish(ctx, report, needs_confirmation && !confirmed)
}

pub(super) fn stamp(ctx: &Ctx) -> Stamp {
    Stamp {
        run_id: ctx.state.borrow().run_id,
        at: store::now(),
        today: ctx.today(),
        dry_run: ctx.dry_run(),
    }
}

pub(super) fn action_error<T>(ncx: &NativeCallContext, err: ActionError) -> RhaiResult<T> {
    match err {
        ActionError::Invalid(message) => fail(ncx, message),
        ActionError::Sql(e) => fail(
            ncx,
            format!("{}() failed in the database: {e}", ncx.fn_name()),
        ),
    }
}

/// Counts the report into the run, shows it, and turns it into a script value.
fn finish(ctx: &Ctx, report: Report, unconfirmed: bool) -> RhaiResult<Map> {
    {
        let mut state = ctx.state.borrow_mut();
        state.actions += 1;
        state.changes += report.changed;
    }
    let mut map = Map::new();
    map.insert("action".into(), report.action.clone().into());
    map.insert("matched".into(), report.matched.into());
    map.insert("changed".into(), report.changed.into());
    map.insert("skipped".into(), report.skipped_total().into());
    let reasons: Map = report
        .skipped
        .iter()
        .map(|(reason, n)| (reason.as_str().into(), Dynamic::from(*n)))
        .collect();
    map.insert("reasons".into(), reasons.into());
    map.insert("dry_run".into(), report.dry_run.into());
    if unconfirmed {
        map.insert("needs_confirmation".into(), true.into());
    }
    if report.action == "reset_access_code" {
        // A dry run's codes were never stored: handing them out would lock
        // people out, so the report lists none.
        let handed_out: &[(String, String)] = if report.dry_run { &[] } else { &report.codes };
        let codes: Array = handed_out
            .iter()
            .map(|(username, code)| {
                let mut entry = Map::new();
                entry.insert("username".into(), username.clone().into());
                entry.insert("code".into(), code.clone().into());
                Dynamic::from(entry)
            })
            .collect();
        map.insert("codes".into(), codes.into());
    }
    if ctx.options.json {
        // Codes are handed out in the report the script gets, never in a log.
        let mut shown = map.clone();
        shown.remove("codes");
        ctx.print(&render::to_json(&Dynamic::from(shown)).to_string());
    } else {
        ctx.log(&report.summary());
    }
    Ok(map)
}

fn resolve(
    ncx: &NativeCallContext,
    ctx: &Ctx,
    table: lookup::Table,
    key: &str,
) -> RhaiResult<lookup::Named> {
    match lookup::find(&ctx.conn, table, key.trim()) {
        Ok(Some(found)) => Ok(found),
        Ok(None) => fail(ncx, lookup::unknown(&ctx.conn, table, key)),
        Err(e) => fail(ncx, e.to_string()),
    }
}

fn set_field(
    ncx: &NativeCallContext,
    set: &MemberSet,
    opts: &Map,
    column: actions::members::Column,
    value: String,
) -> RhaiResult<Map> {
    act(ncx, set, Level::Members, opts, false, |conn, stamp, _| {
        actions::members::set_field(conn, stamp, ncx.fn_name(), column, &value)
    })
}

fn suspend_or_reactivate(
    ncx: &NativeCallContext,
    set: &MemberSet,
    opts: &Map,
    suspend: bool,
) -> RhaiResult<Map> {
    if let Some(course) = &set.course {
        return act(
            ncx,
            set,
            Level::Participations,
            opts,
            false,
            |conn, stamp, _| actions::participations::set_active(conn, stamp, course, !suspend),
        );
    }
    let (action, status) = if suspend {
        ("suspend", "suspended")
    } else {
        ("reactivate", "active")
    };
    act(ncx, set, Level::Members, opts, false, |conn, stamp, _| {
        actions::members::set_field(
            conn,
            stamp,
            action,
            actions::members::Column::Status,
            status,
        )
    })
}

fn assign_group_impl(
    ncx: &NativeCallContext,
    set: &MemberSet,
    name: &str,
    opts: &Map,
    remove: bool,
) -> RhaiResult<Map> {
    let group = resolve(ncx, &set.ctx, lookup::Table::Group, name)?;
    act(ncx, set, Level::Members, opts, false, |conn, stamp, _| {
        if remove {
            actions::groups::remove(conn, stamp, group.id, &group.key)
        } else {
            actions::groups::assign(conn, stamp, group.id, &group.key)
        }
    })
}

fn assign_course_impl(
    ncx: &NativeCallContext,
    set: &MemberSet,
    code: &str,
    opts: &Map,
) -> RhaiResult<Map> {
    let course = resolve(ncx, &set.ctx, lookup::Table::Course, code)?;
    act(ncx, set, Level::Members, opts, false, |conn, stamp, _| {
        actions::courses::assign_course(conn, stamp, course.id, &course.key)
    })
}

fn assign_series_impl(
    ncx: &NativeCallContext,
    set: &MemberSet,
    code: &str,
    opts: &Map,
) -> RhaiResult<Map> {
    let series = resolve(ncx, &set.ctx, lookup::Table::Series, code)?;
    act(ncx, set, Level::Members, opts, false, |conn, stamp, _| {
        actions::courses::assign_series(conn, stamp, series.id)
    })
}

fn role_impl(
    ncx: &NativeCallContext,
    set: &MemberSet,
    role: &str,
    opts: &Map,
    add: bool,
) -> RhaiResult<Map> {
    let bit = codes::role_bit(role).or_else(|e| fail(ncx, e))?;
    let role = codes::role_names(bit)[0];
    act(ncx, set, Level::Members, opts, false, |conn, stamp, _| {
        actions::members::change_role(conn, stamp, role, bit, add)
    })
}

fn country_impl(
    ncx: &NativeCallContext,
    set: &MemberSet,
    code: &str,
    opts: &Map,
) -> RhaiResult<Map> {
    let code = codes::country(code).or_else(|e| fail(ncx, e))?;
    set_field(ncx, set, opts, actions::members::Column::Country, code)
}

fn language_impl(
    ncx: &NativeCallContext,
    set: &MemberSet,
    code: &str,
    opts: &Map,
) -> RhaiResult<Map> {
    let code = codes::language(code).or_else(|e| fail(ncx, e))?;
    set_field(ncx, set, opts, actions::members::Column::Language, code)
}

fn visibility_impl(
    ncx: &NativeCallContext,
    set: &MemberSet,
    value: &str,
    opts: &Map,
) -> RhaiResult<Map> {
    let value = codes::visibility(value).or_else(|e| fail(ncx, e))?;
    set_field(
        ncx,
        set,
        opts,
        actions::members::Column::Visibility,
        value.to_string(),
    )
}

fn team_impl(ncx: &NativeCallContext, set: &MemberSet, name: &str, opts: &Map) -> RhaiResult<Map> {
    let name = name.trim();
    if name.chars().any(char::is_control) || name.chars().count() > 100 {
        return fail(
            ncx,
            format!("the team name {name:?} is too long or contains control characters"),
        );
    }
    set_field(
        ncx,
        set,
        opts,
        actions::members::Column::Team,
        name.to_string(),
    )
}

fn delete_impl(ncx: &NativeCallContext, set: &MemberSet, opts: &Map) -> RhaiResult<Map> {
    act(ncx, set, Level::Members, opts, true, |conn, stamp, _| {
        actions::members::delete(conn, stamp)
    })
}

fn reset_impl(ncx: &NativeCallContext, set: &MemberSet, opts: &Map) -> RhaiResult<Map> {
    act(ncx, set, Level::Members, opts, false, |conn, stamp, _| {
        actions::access::reset(conn, stamp)
    })
}

fn license_impl(
    ncx: &NativeCallContext,
    set: &MemberSet,
    opts: &Map,
    assign: bool,
) -> RhaiResult<Map> {
    act(ncx, set, Level::Members, opts, false, |conn, stamp, o| {
        if assign {
            actions::licenses::assign(conn, stamp, o.partial)
        } else {
            actions::licenses::release(conn, stamp)
        }
    })
}

/// Writes a file for the run: `write` fills a temporary file beside `path`,
/// which the runner moves into place when the run commits. When `write`
/// fails, the temporary file goes and the run is not bound to it.
pub(super) fn write_pending<T>(
    ncx: &NativeCallContext,
    ctx: &Ctx,
    path: &str,
    write: impl FnOnce(&std::path::Path) -> RhaiResult<T>,
) -> RhaiResult<T> {
    let dest = std::path::PathBuf::from(path.trim());
    let tmp = crate::files::temporary_beside(&dest).or_else(|e| fail(ncx, e))?;
    match write(&tmp) {
        Ok(value) => {
            ctx.state.borrow_mut().files.push((tmp, dest));
            Ok(value)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

#[export_module]
pub mod api {
    /// Puts the members into the group `name`; those already in it are skipped.
    ///
    /// ```rhai
    /// members().country("NL").limit(10).assign_group("support")
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn assign_group(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        name: &str,
    ) -> RhaiResult<Map> {
        super::assign_group_impl(&ncx, set, name, &Map::new(), false)
    }
    #[rhai_fn(pure, return_raw, name = "assign_group")]
    pub fn assign_group_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        name: &str,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::assign_group_impl(&ncx, set, name, &opts, false)
    }

    /// Takes the members out of the group `name`; those not in it are skipped.
    ///
    /// ```rhai
    /// members().in_group("new-hires").created_before("2025-01-01").remove_from_group("new-hires")
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn remove_from_group(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        name: &str,
    ) -> RhaiResult<Map> {
        super::assign_group_impl(&ncx, set, name, &Map::new(), true)
    }
    #[rhai_fn(pure, return_raw, name = "remove_from_group")]
    pub fn remove_from_group_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        name: &str,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::assign_group_impl(&ncx, set, name, &opts, true)
    }

    /// Enrols the members in the course `code`; existing participations are kept.
    ///
    /// ```rhai
    /// members().in_group("sales").limit(20).assign_course("SALES-201")
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn assign_course(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        code: &str,
    ) -> RhaiResult<Map> {
        super::assign_course_impl(&ncx, set, code, &Map::new())
    }
    #[rhai_fn(pure, return_raw, name = "assign_course")]
    pub fn assign_course_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        code: &str,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::assign_course_impl(&ncx, set, code, &opts)
    }

    /// Enrols the members in every course of the series `code`, skipping
    /// participations that already exist. `changed` counts new participations.
    ///
    /// ```rhai
    /// members().in_group("new-hires").limit(20).assign_series("onboarding")
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn assign_series(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        code: &str,
    ) -> RhaiResult<Map> {
        super::assign_series_impl(&ncx, set, code, &Map::new())
    }
    #[rhai_fn(pure, return_raw, name = "assign_series")]
    pub fn assign_series_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        code: &str,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::assign_series_impl(&ncx, set, code, &opts)
    }

    /// Suspends the accounts (alias `deactivate()`): they keep their data and
    /// seat but get no messages. On a participant set, deactivates the
    /// participation in that course only.
    ///
    /// ```rhai
    /// members().team("Otters").limit(5).suspend()
    /// ```
    #[rhai_fn(pure, return_raw, name = "suspend", name = "deactivate")]
    pub fn suspend(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<Map> {
        super::suspend_or_reactivate(&ncx, set, &Map::new(), true)
    }
    #[rhai_fn(pure, return_raw, name = "suspend", name = "deactivate")]
    pub fn suspend_opts(ncx: NativeCallContext, set: &mut MemberSet, opts: Map) -> RhaiResult<Map> {
        super::suspend_or_reactivate(&ncx, set, &opts, true)
    }

    /// Reactivates suspended accounts (on a participant set: the participations).
    ///
    /// ```rhai
    /// members().suspended().limit(5).reactivate()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn reactivate(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<Map> {
        super::suspend_or_reactivate(&ncx, set, &Map::new(), false)
    }
    #[rhai_fn(pure, return_raw, name = "reactivate")]
    pub fn reactivate_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::suspend_or_reactivate(&ncx, set, &opts, false)
    }

    /// Permanently erases the members' accounts and everything about them;
    /// frees their seats. Always needs confirmation (`--yes` or `#{confirm: true}`).
    ///
    /// ```rhai
    /// members().suspended().created_before("2023-02-01").delete(#{confirm: true})
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn delete(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<Map> {
        super::delete_impl(&ncx, set, &Map::new())
    }
    #[rhai_fn(pure, return_raw, name = "delete")]
    pub fn delete_opts(ncx: NativeCallContext, set: &mut MemberSet, opts: Map) -> RhaiResult<Map> {
        super::delete_impl(&ncx, set, &opts)
    }

    /// Sets the country (ISO 3166-1 alpha-2).
    ///
    /// ```rhai
    /// members().search("example.be").limit(3).set_country("BE")
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn set_country(ncx: NativeCallContext, set: &mut MemberSet, code: &str) -> RhaiResult<Map> {
        super::country_impl(&ncx, set, code, &Map::new())
    }
    #[rhai_fn(pure, return_raw, name = "set_country")]
    pub fn set_country_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        code: &str,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::country_impl(&ncx, set, code, &opts)
    }

    /// Sets the profile visibility: public, members or hidden.
    ///
    /// ```rhai
    /// members().anonymous().limit(10).set_visibility("hidden")
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn set_visibility(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        value: &str,
    ) -> RhaiResult<Map> {
        super::visibility_impl(&ncx, set, value, &Map::new())
    }
    #[rhai_fn(pure, return_raw, name = "set_visibility")]
    pub fn set_visibility_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        value: &str,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::visibility_impl(&ncx, set, value, &opts)
    }

    /// Sets the language (ISO 639-1).
    ///
    /// ```rhai
    /// members().country("BE").limit(10).set_language("nl")
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn set_language(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        code: &str,
    ) -> RhaiResult<Map> {
        super::language_impl(&ncx, set, code, &Map::new())
    }
    #[rhai_fn(pure, return_raw, name = "set_language")]
    pub fn set_language_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        code: &str,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::language_impl(&ncx, set, code, &opts)
    }

    /// Sets the gamification team; `""` clears it.
    ///
    /// ```rhai
    /// members().in_group("support").limit(10).set_team("Herons")
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn set_team(ncx: NativeCallContext, set: &mut MemberSet, name: &str) -> RhaiResult<Map> {
        super::team_impl(&ncx, set, name, &Map::new())
    }
    #[rhai_fn(pure, return_raw, name = "set_team")]
    pub fn set_team_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        name: &str,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::team_impl(&ncx, set, name, &opts)
    }

    /// Adds a role: learner, author, manager or admin.
    ///
    /// ```rhai
    /// members().in_group("people-managers").limit(10).add_role("manager")
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn add_role(ncx: NativeCallContext, set: &mut MemberSet, role: &str) -> RhaiResult<Map> {
        super::role_impl(&ncx, set, role, &Map::new(), true)
    }
    #[rhai_fn(pure, return_raw, name = "add_role")]
    pub fn add_role_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        role: &str,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::role_impl(&ncx, set, role, &opts, true)
    }

    /// Removes a role.
    ///
    /// ```rhai
    /// members().with_role("author").suspended().remove_role("author")
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn remove_role(ncx: NativeCallContext, set: &mut MemberSet, role: &str) -> RhaiResult<Map> {
        super::role_impl(&ncx, set, role, &Map::new(), false)
    }
    #[rhai_fn(pure, return_raw, name = "remove_role")]
    pub fn remove_role_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        role: &str,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::role_impl(&ncx, set, role, &opts, false)
    }

    /// Gives each anonymous member a new random access code; others are skipped
    /// ("not anonymous"). The codes are in the report's `codes` (`#{username, code}`),
    /// once; members with an e-mail also get theirs in the outbox.
    ///
    /// ```rhai
    /// let r = members().anonymous().limit(3).reset_access_code(); r.codes.len()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn reset_access_code(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<Map> {
        super::reset_impl(&ncx, set, &Map::new())
    }
    #[rhai_fn(pure, return_raw, name = "reset_access_code")]
    pub fn reset_access_code_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::reset_impl(&ncx, set, &opts)
    }

    /// Gives a license seat to each member without one. Fails, naming the free
    /// seats, when there are too few, unless `#{partial: true}`.
    ///
    /// ```rhai
    /// members().unlicensed().active().limit(5).assign_license()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn assign_license(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<Map> {
        super::license_impl(&ncx, set, &Map::new(), true)
    }
    #[rhai_fn(pure, return_raw, name = "assign_license")]
    pub fn assign_license_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::license_impl(&ncx, set, &opts, true)
    }

    /// Frees the seats of the members holding one.
    ///
    /// ```rhai
    /// members().suspended().licensed().limit(5).release_license()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn release_license(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<Map> {
        super::license_impl(&ncx, set, &Map::new(), false)
    }
    #[rhai_fn(pure, return_raw, name = "release_license")]
    pub fn release_license_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::license_impl(&ncx, set, &opts, false)
    }
}
