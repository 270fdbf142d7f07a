//! The integration tests: they run the built `rollcall` binary on temporary databases.
