//! `rollcall init [--demo N] [--seed S]`: the schema, and optionally a demo academy.

use std::time::Instant;

use anyhow::{Context as _, bail};

use crate::ExitStatus;
use crate::cli::Config;
use crate::store;

pub fn run(config: &Config, demo: Option<i64>, seed: u64) -> anyhow::Result<ExitStatus> {
    let conn = store::open(&config.db)?;
    let Some(n) = demo else {
        if !config.options.quiet {
            eprintln!(
                "{}: schema version {} ready",
                config.db.display(),
                store::schema::latest_version()
            );
        }
        return Ok(ExitStatus::Success);
    };
    create_demo(&conn, config, n, seed)?;
    Ok(ExitStatus::Success)
}

/// Fills the (empty) database with `n` demo members; refuses a database that has members.
pub fn create_demo(
    conn: &rusqlite::Connection,
    config: &Config,
    n: i64,
    seed: u64,
) -> anyhow::Result<()> {
    if n < 1 {
        bail!("--demo needs a number of members of at least 1, got {n}");
    }
    let existing: i64 = conn.query_row("SELECT count(*) FROM members", [], |r| r.get(0))?;
    if existing > 0 {
        bail!(
            "{} already holds {existing} members; give a new file with --db to create a demo academy",
            config.db.display()
        );
    }
    let started = Instant::now();
    let summary = store::demo::generate(conn, n, seed).context("cannot create the demo academy")?;
    if !config.options.quiet {
        eprintln!(
            "{}: demo academy (seed {seed}) with {} members, {} groups, {} courses, {} series, \
             {} participations, {} certificates, {} license seats, in {:.1} s",
            config.db.display(),
            summary.members,
            summary.groups,
            summary.courses,
            summary.series,
            summary.participations,
            summary.certificates,
            summary.seats,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
