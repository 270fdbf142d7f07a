//! `rollcall export FILE.csv` and `rollcall import FILE.csv`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use comfy_table::{ContentArrangement, Table, presets};

use crate::actions::Stamp;
use crate::cli::{Command, Config, ImportMode};
use crate::csvio::export::{self, Format, Which};
use crate::csvio::import::{self, ImportError, Mode, Options, PlanRow, Sinks};
use crate::csvio::read::CsvFile;
use crate::csvio::{CsvError, RejectsFile, participations};
use crate::runner::{self, Outcome, Script};
use crate::{ExitStatus, files, progress, store};

pub fn export(
    config: &Config,
    file: &Path,
    delimiter: u8,
    bom: bool,
    participations: bool,
) -> anyhow::Result<ExitStatus> {
    let conn = store::open(&config.db)?;
    let (what, total): (&str, i64) = if participations {
        (
            "participations",
            conn.query_row("SELECT count(*) FROM participations", [], |r| r.get(0))?,
        )
    } else {
        (
            "members",
            conn.query_row("SELECT count(*) FROM members", [], |r| r.get(0))?,
        )
    };
    if config.options.dry_run {
        eprintln!("dry run: would export {total} {what} to {}", file.display());
        return Ok(ExitStatus::Success);
    }
    let tmp = files::temporary_beside(file).map_err(anyhow::Error::msg)?;
    let bar = progress::bar(total as u64, false, config.options.quiet);
    let format = Format { delimiter, bom };
    let mut tick = |n: u64| bar.set_position(n);
    let written = if participations {
        export::participations(&conn, &tmp, format, &mut tick)
    } else {
        export::members(&conn, &tmp, format, Which::All, &mut tick)
    };
    bar.finish_and_clear();
    let written = match written {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
    };
    std::fs::rename(&tmp, file)
        .with_context(|| format!("cannot move the export into place as {}", file.display()))?;
    if !config.options.quiet {
        eprintln!("exported {written} {what} to {}", file.display());
    }
    Ok(ExitStatus::Success)
}

/// Where the plan goes: a file (CSV or JSON by extension) and, on a dry run, the terminal.
struct PlanOut {
    csv: Option<csv::Writer<std::fs::File>>,
    json: Option<(std::io::BufWriter<std::fs::File>, bool)>,
    shown: Vec<PlanRow>,
    hidden: u64,
    show: bool,
}

const SHOWN_PLAN_ROWS: usize = 200;

impl PlanOut {
    fn new(path: Option<&Path>, show: bool) -> anyhow::Result<PlanOut> {
        let mut out = PlanOut {
            csv: None,
            json: None,
            shown: Vec::new(),
            hidden: 0,
            show,
        };
        if let Some(path) = path {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot write the plan {}", path.display()))?;
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            {
                let mut w = std::io::BufWriter::new(file);
                w.write_all(b"[")?;
                out.json = Some((w, true));
            } else {
                let mut w = csv::Writer::from_writer(file);
                w.write_record(["line", "username", "action", "changes"])?;
                out.csv = Some(w);
            }
        }
        Ok(out)
    }

    /// Whether the plan goes anywhere.
    fn wanted(&self) -> bool {
        self.show || self.csv.is_some() || self.json.is_some()
    }

    fn row(&mut self, row: &PlanRow) -> Result<(), CsvError> {
        let fail = |e: String| CsvError::File(format!("cannot write the plan: {e}"));
        if let Some(w) = &mut self.csv {
            let line = row.line.map(|l| l.to_string()).unwrap_or_default();
            w.write_record([
                line.as_str(),
                &crate::csvio::neutralize(&row.username),
                row.action,
                &crate::csvio::neutralize(&row.changes),
            ])
            .map_err(|e| fail(e.to_string()))?;
        }
        if let Some((w, first)) = &mut self.json {
            let sep = if *first { "\n" } else { ",\n" };
            *first = false;
            let text = serde_json::to_string(row).map_err(|e| fail(e.to_string()))?;
            w.write_all(sep.as_bytes())
                .and_then(|_| w.write_all(text.as_bytes()))
                .map_err(|e| fail(e.to_string()))?;
        }
        if self.show && row.action != "unchanged" {
            if self.shown.len() < SHOWN_PLAN_ROWS {
                self.shown.push(row.clone());
            } else {
                self.hidden += 1;
            }
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        if let Some(mut w) = self.csv {
            w.flush()?;
        }
        if let Some((mut w, _)) = self.json {
            w.write_all(b"\n]\n")?;
            w.flush()?;
        }
        if self.show && !self.shown.is_empty() {
            let mut table = Table::new();
            table
                .load_preset(presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_header(["line", "username", "action", "changes"]);
            for row in &self.shown {
                table.add_row([
                    row.line.map(|l| l.to_string()).unwrap_or_default(),
                    row.username.clone(),
                    row.action.to_string(),
                    row.changes.clone(),
                ]);
            }
            println!("{table}");
            if self.hidden > 0 {
                println!(
                    "... and {} more changes (--plan FILE writes them all)",
                    self.hidden
                );
            }
        }
        Ok(())
    }
}

pub fn import(config: &Config) -> anyhow::Result<ExitStatus> {
    let Command::Import {
        file,
        mode,
        max_deletions,
        skip_invalid,
        rejects,
        create_groups,
        plan,
        participations,
    } = &config.command
    else {
        unreachable!("dispatch sends only import commands here");
    };
    let planning = config.options.dry_run || plan.is_some();
    let conn = store::open(&config.db)?;
    let options = Options {
        plan_detail: planning || config.options.verbose,
        mode: match mode {
            ImportMode::Upsert => Mode::Upsert,
            ImportMode::Sync => Mode::Sync,
        },
        max_deletions: *max_deletions,
        skip_invalid: *skip_invalid,
        create_groups: *create_groups,
    };
    let command_line = format!(
        "rollcall import {}{} --mode {}",
        if *participations {
            "--participations "
        } else {
            ""
        },
        file.display(),
        if options.mode == Mode::Sync {
            "sync"
        } else {
            "upsert"
        }
    );
    let script = Script {
        name: format!("import {}", file.display()),
        source: command_line.clone(),
        args: Vec::new(),
        dir: None,
        schedule_id: None,
    };
    let run_id = if planning {
        None
    } else {
        Some(runner::record_start(&conn, &script)?)
    };
    let stamp = Stamp {
        run_id,
        at: store::now(),
        today: config.options.today.to_string(),
        dry_run: planning,
    };
    // A file that cannot be read is a failed import, recorded like any other.
    let mut csv_file = match CsvFile::open(file) {
        Ok(csv_file) => csv_file,
        Err(e) => {
            let message = format!("{}: {e}", file.display());
            if let Some(id) = run_id {
                runner::record_finish(&conn, id, &Outcome::Failed(message.clone()), 0, 0, "")?;
            }
            eprintln!("error: {message}");
            return Ok(ExitStatus::Error);
        }
    };

    let mut plan_out = PlanOut::new(plan.as_deref(), planning && !config.json)?;
    let rejects_path: PathBuf = rejects
        .clone()
        .unwrap_or_else(|| file.with_extension("rejects.csv"));
    // A plan writes no rejects file: it only says what would be rejected.
    let mut rejects_out = (!planning).then(|| {
        RejectsFile::new(
            rejects_path.clone(),
            rejects_path.display().to_string(),
            &csv_file.header,
        )
    });
    let bar = progress::bar(csv_file.size, true, config.options.quiet);

    // A large file into a small academy is a bulk load (see store::begin_bulk_load).
    let bulk = !planning
        && !*participations
        && import::is_bulk(
            csv_file.size,
            conn.query_row("SELECT count(*) FROM members", [], |r| r.get(0))?,
        )
        && store::begin_bulk_load(&conn)?;
    conn.execute_batch("BEGIN IMMEDIATE")
        .context("cannot start the import's transaction (is a run writing?)")?;
    let plan_wanted = plan_out.wanted();
    let result = {
        let mut plan_row = |row: &PlanRow| plan_out.row(row);
        let mut reject_row = |cells: &csv::StringRecord, reason: &str| match &mut rejects_out {
            Some(rejects) => rejects.write(cells, reason),
            None => Ok(()),
        };
        let mut tick = |offset: u64| bar.set_position(offset);
        let sinks = Sinks {
            plan: plan_wanted.then_some(&mut plan_row as _),
            rejects: &mut reject_row,
            progress: &mut tick,
        };
        if *participations {
            participations::import(&conn, &mut csv_file, &stamp, &options, sinks)
        } else {
            import::members(&conn, &mut csv_file, &stamp, &options, sinks)
        }
    };
    bar.finish_and_clear();
    let keep = result.is_ok() && !planning;
    conn.execute_batch(if keep { "COMMIT" } else { "ROLLBACK" })
        .context("cannot finish the import's transaction")?;
    // After the commit a failure here changes nothing the import did.
    if bulk && let Err(e) = store::end_bulk_load(&conn) {
        eprintln!(
            "warning: the database keeps its rollback journal until rollcall next opens it: {e}"
        );
    }
    if let Some(rejects) = rejects_out {
        rejects.finish()?;
    }
    plan_out.finish()?;

    let (status, outcome) = match result {
        Ok(outcome) => {
            print_counts(config, &outcome.counts, planning)?;
            if outcome.counts.rejected > 0 && !planning {
                eprintln!(
                    "{} rows were rejected and written to {}",
                    outcome.counts.rejected,
                    rejects_path.display()
                );
            }
            let changes = outcome.counts.changes();
            (
                ExitStatus::Success,
                (Outcome::Success(rhai::Dynamic::UNIT), changes as i64),
            )
        }
        Err(ImportError::Refused(message)) => {
            eprintln!("refused: {message}");
            (ExitStatus::Refused, (Outcome::Refused(message), 0))
        }
        Err(ImportError::Invalid(problems, total)) => {
            let message = ImportError::Invalid(problems, total).to_string();
            eprintln!("error: {message}");
            (ExitStatus::Error, (Outcome::Failed(message), 0))
        }
        Err(ImportError::Csv(e)) => {
            let message = format!("{}: {e}", file.display());
            eprintln!("error: {message}");
            (ExitStatus::Error, (Outcome::Failed(message), 0))
        }
    };
    if let Some(id) = run_id {
        runner::record_finish(&conn, id, &outcome.0, 1, outcome.1, "")?;
    }
    Ok(status)
}

fn print_counts(config: &Config, counts: &import::Counts, planning: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if config.json {
        let mut value = serde_json::to_value(counts)?;
        value["dry_run"] = planning.into();
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    for (name, n) in counts.named() {
        table.add_row([name.to_string(), n.to_string()]);
    }
    let _ = writeln!(out, "{table}");
    if planning {
        let _ = writeln!(out, "dry run: this is the plan; nothing was changed");
    }
    Ok(())
}
