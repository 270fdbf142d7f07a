//! CSV from scripts: `export_csv(path)` of the academy or of a set, and
//! `import_csv(path, #{...})` inside the run's transaction.

use rhai::Map;
use rhai::plugin::*;

use super::actions::{Level, select, write_pending};
use crate::csvio::RejectsFile;
use crate::csvio::export::{self, Format, Which};
use crate::csvio::import::{self, ImportError, Mode, Options, Sinks};
use crate::csvio::read::CsvFile;
use crate::engine::Ctx;
use crate::engine::error::{RhaiResult, fail, refuse};
use crate::engine::types::MemberSet;

fn report(ctx: &Ctx, action: &str, matched: i64, written: u64) -> Map {
    let mut map = Map::new();
    map.insert("action".into(), action.into());
    map.insert("matched".into(), matched.into());
    map.insert("changed".into(), (written as i64).into());
    map.insert("skipped".into(), 0_i64.into());
    map.insert("dry_run".into(), ctx.dry_run().into());
    ctx.log(&format!("{action}: {written} members written"));
    map
}

fn export_impl(
    ncx: &NativeCallContext,
    ctx: &Ctx,
    set: Option<&MemberSet>,
    path: &str,
) -> RhaiResult<Map> {
    let (which, matched) = match set {
        Some(set) => (Which::Selection, select(ncx, set, Level::Members)?),
        None => (Which::All, -1),
    };
    let written = write_pending(ncx, ctx, path, |tmp| {
        export::members(&ctx.conn, tmp, Format::default(), which, &mut |_| {})
            .or_else(|e| fail(ncx, e.to_string()))
    })?;
    let matched = if matched < 0 { written as i64 } else { matched };
    Ok(report(ctx, "export_csv", matched, written))
}

fn flag(ncx: &NativeCallContext, opts: &Map, name: &str) -> RhaiResult<bool> {
    match opts.get(name) {
        None => Ok(false),
        Some(v) => v.as_bool().or_else(|_| {
            fail(
                ncx,
                format!("import_csv option '{name}' must be true or false, got {v}"),
            )
        }),
    }
}

fn import_impl(ncx: &NativeCallContext, path: &str, opts: &Map) -> RhaiResult<Map> {
    const ALLOWED: [&str; 6] = [
        "mode",
        "max_deletions",
        "skip_invalid",
        "rejects",
        "create_groups",
        "confirm",
    ];
    if let Some(key) = opts.keys().find(|k| !ALLOWED.contains(&k.as_str())) {
        return fail(
            ncx,
            format!(
                "import_csv() has no option '{key}'; its options are: {}",
                ALLOWED.join(", ")
            ),
        );
    }
    let ctx = Ctx::of(ncx);
    let mode = match opts.get("mode").map(|m| m.to_string()) {
        None => Mode::Upsert,
        Some(m) if m == "upsert" => Mode::Upsert,
        Some(m) if m == "sync" => Mode::Sync,
        Some(other) => {
            return fail(
                ncx,
                format!("import_csv mode is \"upsert\" or \"sync\", not \"{other}\""),
            );
        }
    };
    let max_deletions = match opts.get("max_deletions") {
        None => None,
        Some(v) => Some(
            v.as_int()
                .or_else(|_| fail(ncx, format!("max_deletions must be a number, got {v}")))?,
        ),
    };
    let confirmed = flag(ncx, opts, "confirm")?
        || ctx.yes()
        || ctx.dry_run()
        || (mode == Mode::Sync
            && ctx.ask(
                "import_csv() in sync mode deletes every member absent from the file. Go ahead?",
            ) == Some(true));
    if mode == Mode::Sync && !confirmed {
        return refuse(
            ncx,
            "import_csv() in sync mode deletes every member absent from the file; confirm with --yes \
             or #{confirm: true}, after checking the plan with a dry run (--dry-run)",
        );
    }
    let options = Options {
        plan_detail: false,
        mode,
        max_deletions,
        skip_invalid: flag(ncx, opts, "skip_invalid")?,
        create_groups: flag(ncx, opts, "create_groups")?,
    };
    let source = std::path::PathBuf::from(path.trim());
    let mut file = CsvFile::open(&source).or_else(|e| fail(ncx, e.to_string()))?;
    let rejects_path = match opts.get("rejects") {
        Some(p) => p.to_string(),
        None => source.with_extension("rejects.csv").display().to_string(),
    };
    let mut rejects = if options.skip_invalid {
        let dest = std::path::PathBuf::from(&rejects_path);
        let tmp = crate::files::temporary_beside(&dest).or_else(|e| fail(ncx, e))?;
        ctx.state.borrow_mut().files.push((tmp.clone(), dest));
        Some(RejectsFile::new(tmp, rejects_path.clone(), &file.header))
    } else {
        None
    };
    let stamp = super::actions::stamp(&ctx);
    let result = {
        let mut reject_row = |cells: &csv::StringRecord, reason: &str| match &mut rejects {
            Some(rejects) => rejects.write(cells, reason),
            None => Ok(()),
        };
        let sinks = Sinks {
            plan: None,
            rejects: &mut reject_row,
            progress: &mut |_| {},
        };
        import::members(&ctx.conn, &mut file, &stamp, &options, sinks)
    };
    if let Some(rejects) = rejects {
        rejects.finish().or_else(|e| fail(ncx, e.to_string()))?;
    }
    let outcome = match result {
        Ok(outcome) => outcome,
        Err(ImportError::Refused(message)) => return refuse(ncx, message),
        Err(other) => return fail(ncx, other.to_string()),
    };
    let c = &outcome.counts;
    {
        let mut state = ctx.state.borrow_mut();
        state.actions += 1;
        state.changes += c.changes() as i64;
    }
    let summary: Vec<String> = c
        .named()
        .iter()
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    ctx.log(&format!(
        "import_csv: {}{}",
        summary.join(", "),
        if ctx.dry_run() { " [dry run]" } else { "" }
    ));
    let mut map = Map::new();
    map.insert("action".into(), "import_csv".into());
    for (name, n) in c.named() {
        map.insert(name.into(), (n as i64).into());
    }
    let problems: rhai::Array = outcome
        .problems
        .iter()
        .map(|p| Dynamic::from(format!("line {}: {}", p.line, p.message)))
        .collect();
    map.insert("problems".into(), problems.into());
    map.insert("dry_run".into(), ctx.dry_run().into());
    Ok(map)
}

#[export_module]
pub mod api {
    /// Writes every member to a CSV file in the import format. The file
    /// appears when the run succeeds; a dry run writes nothing.
    ///
    /// ```rhai
    /// export_csv("members.csv")
    /// ```
    #[rhai_fn(return_raw, name = "export_csv")]
    pub fn export_all(ncx: NativeCallContext, path: &str) -> RhaiResult<Map> {
        let ctx = Ctx::of(&ncx);
        super::export_impl(&ncx, &ctx, None, path)
    }

    /// Writes the members of the set to a CSV file in the import format.
    ///
    /// ```rhai
    /// members().country("NL").export_csv("dutch-members.csv")
    /// ```
    #[rhai_fn(pure, return_raw, name = "export_csv")]
    pub fn export_set(ncx: NativeCallContext, set: &mut MemberSet, path: &str) -> RhaiResult<Map> {
        let ctx = set.ctx.clone();
        super::export_impl(&ncx, &ctx, Some(set), path)
    }

    /// Imports members from a CSV file (the export format), in upsert mode.
    /// A file written by `export_csv` in the same run is not there yet: it
    /// appears when the run commits.
    ///
    /// ```rhai
    /// import_csv("members.csv")
    /// ```
    #[rhai_fn(return_raw, name = "import_csv")]
    pub fn import_csv(ncx: NativeCallContext, path: &str) -> RhaiResult<Map> {
        super::import_impl(&ncx, path, &Map::new())
    }

    /// Imports members with options: `mode` ("upsert" or "sync"),
    /// `max_deletions`, `skip_invalid`, `rejects` (a path), `create_groups`,
    /// `confirm`. Sync mode deletes members absent from the file and needs
    /// confirmation.
    ///
    /// ```rhai
    /// import_csv("members.csv", #{mode: "sync", max_deletions: 10, confirm: true})
    /// ```
    #[rhai_fn(return_raw, name = "import_csv")]
    pub fn import_csv_opts(ncx: NativeCallContext, path: &str, opts: Map) -> RhaiResult<Map> {
        super::import_impl(&ncx, path, &opts)
    }
}
