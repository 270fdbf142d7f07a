//! `rollcall demo`: the first command of the README. Creates `demo.db` (unless
//! `--db` names another file) when absent, then runs the guided tour on it.

use crate::ExitStatus;
use crate::cli::Config;
use crate::runner::Script;
use crate::store;

/// The tour, built into the binary so `demo` works from any folder.
const TOUR: &str = include_str!("../../scripts/tour.rhai");

pub fn run(config: &Config, members: i64) -> anyhow::Result<ExitStatus> {
    let db = if config.db_given {
        config.db.clone()
    } else {
        "demo.db".into()
    };
    let fresh = !db.exists();
    let conn = store::open(&db)?;
    let existing: i64 = conn.query_row("SELECT count(*) FROM members", [], |r| r.get(0))?;
    if fresh || existing == 0 {
        let demo_config = Config {
            db: db.clone(),
            db_given: true,
            json: config.json,
            options: config.options.clone(),
            limits: config.limits.clone(),
            stdlib: config.stdlib.clone(),
            command: crate::cli::Command::Demo { members },
        };
        super::init::create_demo(&conn, &demo_config, members, 42)?;
    } else if !config.options.quiet {
        eprintln!(
            "using the existing {} (delete it for a fresh academy)",
            db.display()
        );
    }
    let script = Script {
        name: "scripts/tour.rhai".into(),
        source: TOUR.into(),
        args: Vec::new(),
        dir: None,
        schedule_id: None,
    };
    super::script::execute(config, &db, &script, false)
}
