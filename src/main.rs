use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match rollcall::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version are successes; anything else is a usage error (exit 2).
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    rollcall::run(cli).code()
}
