//! Academy-level changes: the license pool, new groups, courses and series.

use rhai::plugin::*;
use rhai::{Array, Map};

use super::actions::{action_error, stamp};
use crate::actions;
use crate::engine::Ctx;
use crate::engine::error::{RhaiResult, fail, to_rhai};

/// A one-off change to the academy itself: counted and logged like an action.
fn academy_change(ncx: &NativeCallContext, action: &str, target: &str) {
    let ctx = Ctx::of(ncx);
    ctx.state.borrow_mut().actions += 1;
    ctx.state.borrow_mut().changes += 1;
    let dry = if ctx.dry_run() { " [dry run]" } else { "" };
    ctx.log(&format!("{action}: {target}{dry}"));
}

#[export_module]
pub mod api {
    /// The license pool: `#{seats, used, free}`.
    ///
    /// ```rhai
    /// license_seats().free
    /// ```
    #[rhai_fn(return_raw)]
    pub fn license_seats(ncx: NativeCallContext) -> RhaiResult<Map> {
        let ctx = Ctx::of(&ncx);
        let (seats, used) = actions::licenses::seats(&ctx.conn).map_err(to_rhai(&ncx))?;
        let mut map = Map::new();
        map.insert("seats".into(), seats.into());
        map.insert("used".into(), used.into());
        map.insert("free".into(), (seats - used).into());
        Ok(map)
    }

    /// Sets the number of seats bought; never below the seats held.
    ///
    /// ```rhai
    /// set_license_seats(license_seats().seats + 100)
    /// ```
    #[rhai_fn(return_raw)]
    pub fn set_license_seats(ncx: NativeCallContext, n: i64) -> RhaiResult<Map> {
        let ctx = Ctx::of(&ncx);
        let (seats, used, changed) =
            actions::licenses::set_seats(&ctx.conn, &super::stamp(&ctx), n)
                .or_else(|e| super::action_error(&ncx, e))?;
        if changed {
            super::academy_change(&ncx, "set_license_seats", &seats.to_string());
        }
        let mut map = Map::new();
        map.insert("seats".into(), seats.into());
        map.insert("used".into(), used.into());
        map.insert("free".into(), (seats - used).into());
        Ok(map)
    }

    /// Creates a group; an error if it exists.
    ///
    /// ```rhai
    /// create_group("graduates-2026")
    /// ```
    #[rhai_fn(return_raw)]
    pub fn create_group(ncx: NativeCallContext, name: &str) -> RhaiResult<String> {
        let ctx = Ctx::of(&ncx);
        let name = actions::catalog::create_group(&ctx.conn, &super::stamp(&ctx), name)
            .or_else(|e| super::action_error(&ncx, e))?;
        super::academy_change(&ncx, "create_group", &name);
        Ok(name)
    }

    /// Creates a course with a unique code and a title.
    ///
    /// ```rhai
    /// create_course("AI-101", "Working with AI Assistants")
    /// ```
    #[rhai_fn(return_raw)]
    pub fn create_course(ncx: NativeCallContext, code: &str, title: &str) -> RhaiResult<String> {
        let ctx = Ctx::of(&ncx);
        let code = actions::catalog::create_course(&ctx.conn, &super::stamp(&ctx), code, title)
            .or_else(|e| super::action_error(&ncx, e))?;
        super::academy_change(&ncx, "create_course", &code);
        Ok(code)
    }

    /// Creates a series of existing courses, in the order given.
    ///
    /// ```rhai
    /// create_series("security", "Security Basics", ["SEC-201", "GDPR-201"])
    /// ```
    #[rhai_fn(return_raw)]
    pub fn create_series(
        ncx: NativeCallContext,
        code: &str,
        title: &str,
        courses: Array,
    ) -> RhaiResult<String> {
        let codes = courses
            .into_iter()
            .map(|c| {
                c.into_string().or_else(|t| {
                    fail(
                        &ncx,
                        format!("create_series() takes course codes as strings, got a {t}"),
                    )
                })
            })
            .collect::<RhaiResult<Vec<String>>>()?;
        let ctx = Ctx::of(&ncx);
        let code =
            actions::catalog::create_series(&ctx.conn, &super::stamp(&ctx), code, title, &codes)
                .or_else(|e| super::action_error(&ncx, e))?;
        super::academy_change(&ncx, "create_series", &code);
        Ok(code)
    }
}
