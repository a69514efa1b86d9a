//! Collecting what happened: test reports, history imports, and git changes.

mod collector;
pub mod coveragepy;
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
pub mod llvmcov;
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

/// Reads one per-test coverage file of any format seer knows, told apart by its first bytes and
/// for JSON its `type`: coverage.py's data file (SQLite), llvm-cov's JSON export (regions),
/// `coverage json --show-contexts` (JSON), else LCOV. `test` names the test of LCOV records
/// without `TN:` and of an llvm-cov export; coverage.py's contexts name their own tests.
pub fn read_coverage(
    path: &std::path::Path,
    test: Option<&str>,
    root: &std::path::Path,
) -> Result<lcov::Tracefile, InputError> {
    use std::io::Read;
    let mut head = Vec::with_capacity(16);
    std::fs::File::open(path)
        .and_then(|f| f.take(16).read_to_end(&mut head))
        .map_err(|source| InputError::Read { path: path.to_path_buf(), source })?;
    let by_context = || {
        InputError::invalid(
            path,
            None,
            "--test names the test of LCOV records; coverage.py data names its tests by context",
        )
    };
    if coveragepy::is_sqlite(&head) {
        return match test {
            Some(_) => Err(by_context()),
            None => coveragepy::read_data_file(path, root),
        };
    }
    if coveragepy::is_json(&head) {
        let text =
            std::fs::read_to_string(path).map_err(|source| InputError::Read { path: path.to_path_buf(), source })?;
        return match (llvmcov::is_export(&text), test) {
            (true, _) => llvmcov::read(path, &text, test, root),
            (false, Some(_)) => Err(by_context()),
            (false, None) => coveragepy::read_json(path, &text, root),
        };
    }
    lcov::read(path, test, root)
}
