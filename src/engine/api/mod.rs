//! The script API, one `#[export_module]` per domain.

pub mod academy;
pub mod actions;
pub mod catalog;
pub mod courses;
pub mod filters;
pub mod member;
pub mod terminals;
pub mod transfer;

use rhai::{Engine, Map, NativeCallContext, exported_module};

use super::error::RhaiResult;
use super::types::{Member, MemberSet};
use crate::query::{CmpOp, Cond, Op};

/// Registers every type and function of the script API on `engine`.
pub fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<MemberSet>("MemberSet")
        .register_type_with_name::<Member>("Member")
        .register_type_with_name::<academy::Entity>("Entity");
    engine.register_global_module(exported_module!(academy::api).into());
    engine.register_global_module(exported_module!(filters::api).into());
    engine.register_global_module(exported_module!(terminals::api).into());
    engine.register_global_module(exported_module!(member::api).into());
    engine.register_global_module(exported_module!(actions::api).into());
    engine.register_global_module(exported_module!(courses::api).into());
    engine.register_global_module(exported_module!(catalog::api).into());
    engine.register_global_module(exported_module!(transfer::api).into());
    register_member_actions(engine);
}

/// Member-set actions without an argument besides the options.
const PLAIN_ACTIONS: &[&str] = &[
    "suspend",
    "deactivate",
    "reactivate",
    "delete",
    "reset_access_code",
    "assign_license",
    "release_license",
];

/// Member-set actions taking one text argument.
const TEXT_ACTIONS: &[&str] = &[
    "assign_group",
    "remove_from_group",
    "assign_course",
    "assign_series",
    "set_country",
    "set_visibility",
    "set_language",
    "set_team",
    "add_role",
    "remove_role",
];

/// The one-member set of a member value.
fn one(ncx: &NativeCallContext, m: &Member) -> MemberSet {
    MemberSet::members(super::Ctx::of(ncx)).with(Op::Cond(Cond::Where(
        crate::query::lookup_field(&crate::query::Kind::Members, "id")
            .expect("id is a member field"),
        CmpOp::Eq,
        rusqlite::types::Value::Integer(m.row.id),
    )))
}

/// The actions of member sets also work on one member: `member("jdoe").suspend()`
/// runs the set action on the set of that member.
fn register_member_actions(engine: &mut Engine) {
    for name in PLAIN_ACTIONS {
        engine.register_fn(
            *name,
            move |ncx: NativeCallContext, m: &mut Member| -> RhaiResult<Map> {
                ncx.call_native_fn(name, (one(&ncx, m),))
            },
        );
        engine.register_fn(
            *name,
            move |ncx: NativeCallContext, m: &mut Member, opts: Map| -> RhaiResult<Map> {
                ncx.call_native_fn(name, (one(&ncx, m), opts))
            },
        );
    }
    for name in TEXT_ACTIONS {
        engine.register_fn(
            *name,
            move |ncx: NativeCallContext, m: &mut Member, arg: &str| -> RhaiResult<Map> {
                ncx.call_native_fn(name, (one(&ncx, m), arg.to_string()))
            },
        );
        engine.register_fn(
            *name,
            move |ncx: NativeCallContext,
                  m: &mut Member,
                  arg: &str,
                  opts: Map|
                  -> RhaiResult<Map> {
                ncx.call_native_fn(name, (one(&ncx, m), arg.to_string(), opts))
            },
        );
    }
}
