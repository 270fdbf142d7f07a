//! The integration tests: they run the built `rollcall` binary on temporary databases.
mod actions;
mod cli;
mod courses;
mod csv;
mod history;
mod limits;
mod reference;
mod repl;
mod schedule;
mod scripts;
mod support;
