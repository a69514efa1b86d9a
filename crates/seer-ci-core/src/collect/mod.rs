//! Collecting what happened: test reports, history imports, and git changes.

mod collector;
mod error;
#[cfg(test)]
mod fuzz;
pub mod git;
pub mod gotest;
pub mod import;
mod json;
pub mod junit;
pub mod lcov;
pub mod libtest;
mod report;
mod run;
mod text;
pub mod time;
mod wellformed;

pub use collector::{
    Collected, Prepared, RecordOptions, ReportsRead, chain, collect, prepare, read_changes, read_reports,
    read_worktree_changes,
};
pub use error::{InputError, Location};
pub use json::lines_json;
pub use report::{Outcome, ReportFormat, ResultSet, TAP_BATCH, TestResult, put_digest_field, read_report};
pub use run::{CollectedRun, RunInfo};
