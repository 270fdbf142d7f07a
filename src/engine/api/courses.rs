//! Course-level actions on participant sets: invitations, retakes, results
//! and certificates, deadlines, removal, and the certificates as one ZIP.

use rhai::Map;
use rhai::plugin::*;

use super::actions::{Level, act, write_pending};
use crate::actions::{self, Report, Stamp};
use crate::engine::error::{RhaiResult, fail};
use crate::engine::types::MemberSet;
use crate::store::codes;

/// The course of a participant set, or an error saying the action needs one.
fn course_of<'a>(ncx: &NativeCallContext, set: &'a MemberSet) -> RhaiResult<&'a str> {
    match &set.course {
        Some(code) => Ok(code.as_str()),
        None => fail(
            ncx,
            format!(
                "{}() works on participant sets: start from course(\"CODE\").participants()",
                ncx.fn_name()
            ),
        ),
    }
}

fn course_action(
    ncx: &NativeCallContext,
    set: &MemberSet,
    opts: &Map,
    destructive: bool,
    apply: impl FnOnce(&rusqlite::Connection, &Stamp, &str) -> actions::Result<Report>,
) -> RhaiResult<Map> {
    let course = course_of(ncx, set)?;
    act(
        ncx,
        set,
        Level::Participations,
        opts,
        destructive,
        |conn, stamp, _| apply(conn, stamp, course),
    )
}

fn invite_impl(ncx: &NativeCallContext, set: &MemberSet, opts: &Map) -> RhaiResult<Map> {
    let action = ncx.fn_name().to_string();
    course_action(ncx, set, opts, false, |conn, stamp, course| {
        actions::participations::invite(conn, stamp, course, &action)
    })
}

fn status_impl(
    ncx: &NativeCallContext,
    set: &MemberSet,
    status: &str,
    opts: &Map,
) -> RhaiResult<Map> {
    let status = codes::participation_status(status).or_else(|e| fail(ncx, e))?;
    course_action(ncx, set, opts, false, |conn, stamp, course| {
        actions::participations::set_status(conn, stamp, course, status)
    })
}

fn deadline_impl(
    ncx: &NativeCallContext,
    set: &MemberSet,
    date: Option<&str>,
    opts: &Map,
) -> RhaiResult<Map> {
    let date = match date {
        Some(text) => Some(super::filters::date_arg(ncx, text)?.to_string()),
        None => None,
    };
    course_action(ncx, set, opts, false, |conn, stamp, course| {
        actions::participations::set_deadline(conn, stamp, course, date.as_deref())
    })
}

fn export_impl(
    ncx: &NativeCallContext,
    set: &MemberSet,
    path: &str,
    opts: &Map,
) -> RhaiResult<Map> {
    course_of(ncx, set)?;
    write_pending(ncx, &set.ctx, path, |tmp| {
        course_action(ncx, set, opts, false, |conn, stamp, _| {
            crate::certs::export(conn, stamp, tmp)
        })
    })
}

#[export_module]
pub mod api {
    /// Queues an invitation e-mail per participant (naming the course and the
    /// deadline) and counts it on the participation. Alias `resend_invitation()`.
    /// Skips suspended members, inactive participations and members without an e-mail.
    ///
    /// ```rhai
    /// course("GDPR-201").participants().not_invited().limit(10).invite()
    /// ```
    #[rhai_fn(pure, return_raw, name = "invite", name = "resend_invitation")]
    pub fn invite(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<Map> {
        super::invite_impl(&ncx, set, &Map::new())
    }
    #[rhai_fn(pure, return_raw, name = "invite", name = "resend_invitation")]
    pub fn invite_opts(ncx: NativeCallContext, set: &mut MemberSet, opts: Map) -> RhaiResult<Map> {
        super::invite_impl(&ncx, set, &opts)
    }

    /// Starts a new attempt for participants with a result: the result moves to
    /// the attempt history, the status becomes undecided, the attempt number grows.
    ///
    /// ```rhai
    /// course("SEC-201").participants().failed().limit(5).retake()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn retake(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<Map> {
        super::course_action(
            &ncx,
            set,
            &Map::new(),
            false,
            actions::participations::retake,
        )
    }
    #[rhai_fn(pure, return_raw, name = "retake")]
    pub fn retake_opts(ncx: NativeCallContext, set: &mut MemberSet, opts: Map) -> RhaiResult<Map> {
        super::course_action(&ncx, set, &opts, false, actions::participations::retake)
    }

    /// Sets the result: "passed", "failed" or "undecided". Passing issues a
    /// certificate; leaving "passed" withdraws the current one.
    ///
    /// ```rhai
    /// course("SAFE-101").participants().undecided().limit(3).set_status("passed")
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn set_status(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        status: &str,
    ) -> RhaiResult<Map> {
        super::status_impl(&ncx, set, status, &Map::new())
    }
    #[rhai_fn(pure, return_raw, name = "set_status")]
    pub fn set_status_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        status: &str,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::status_impl(&ncx, set, status, &opts)
    }

    /// Sets the deadline (YYYY-MM-DD).
    ///
    /// ```rhai
    /// course("GDPR-201").participants().undecided().limit(10).set_deadline("2027-03-31")
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn set_deadline(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        date: &str,
    ) -> RhaiResult<Map> {
        super::deadline_impl(&ncx, set, Some(date), &Map::new())
    }
    #[rhai_fn(pure, return_raw, name = "set_deadline")]
    pub fn set_deadline_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        date: &str,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::deadline_impl(&ncx, set, Some(date), &opts)
    }

    /// Removes the deadline.
    ///
    /// ```rhai
    /// course("GDPR-201").participants().passed().limit(10).clear_deadline()
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn clear_deadline(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<Map> {
        super::deadline_impl(&ncx, set, None, &Map::new())
    }
    #[rhai_fn(pure, return_raw, name = "clear_deadline")]
    pub fn clear_deadline_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::deadline_impl(&ncx, set, None, &opts)
    }

    /// Takes the participants out of the course, with their attempt history and
    /// certificates. Irreversible, so it needs confirmation.
    ///
    /// ```rhai
    /// course("LANG-FR-101").participants().inactive().limit(2).remove(#{confirm: true})
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn remove(ncx: NativeCallContext, set: &mut MemberSet) -> RhaiResult<Map> {
        super::course_action(
            &ncx,
            set,
            &Map::new(),
            true,
            actions::participations::remove,
        )
    }
    #[rhai_fn(pure, return_raw, name = "remove")]
    pub fn remove_opts(ncx: NativeCallContext, set: &mut MemberSet, opts: Map) -> RhaiResult<Map> {
        super::course_action(&ncx, set, &opts, true, actions::participations::remove)
    }

    /// Writes one PDF per participant with a current certificate, and a
    /// `manifest.csv`, to a ZIP file. It appears only when the run succeeds;
    /// a dry run writes nothing.
    ///
    /// ```rhai
    /// course("GDPR-201").participants().passed().export_certificates("gdpr-certificates.zip")
    /// ```
    #[rhai_fn(pure, return_raw)]
    pub fn export_certificates(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        path: &str,
    ) -> RhaiResult<Map> {
        super::export_impl(&ncx, set, path, &Map::new())
    }
    #[rhai_fn(pure, return_raw, name = "export_certificates")]
    pub fn export_certificates_opts(
        ncx: NativeCallContext,
        set: &mut MemberSet,
        path: &str,
        opts: Map,
    ) -> RhaiResult<Map> {
        super::export_impl(&ncx, set, path, &opts)
    }
}
