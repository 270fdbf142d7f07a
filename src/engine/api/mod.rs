//! The script API, one `#[export_module]` per domain.

pub mod academy;
pub mod actions;
pub mod filters;
pub mod member;
pub mod terminals;
pub mod transfer;

use rhai::{Engine, exported_module};

use super::types::{Member, MemberSet};

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
    engine.register_global_module(exported_module!(transfer::api).into());
}
