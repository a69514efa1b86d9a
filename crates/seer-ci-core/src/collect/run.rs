//! A run as collected: its identity and metadata, its results, and what its commit changed.

use super::git::ChangeSet;
use super::report::TestResult;

/// Identity and metadata of one CI run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// The caller's id for the run (e.g. the CI job id); unique in the store.
    pub run_id: String,
    pub commit: String,
    /// The revision the change is measured against, as the caller gave it.
    pub base: Option<String>,
    pub branch: Option<String>,
    pub job: Option<String>,
    /// When the run happened, Unix seconds (UTC).
    pub time: i64,
    /// Where the results came from: the report formats or the import format.
    pub source: String,
}

/// Everything collected for one run, ready for the store.
#[derive(Debug, Clone)]
pub struct CollectedRun {
    pub info: RunInfo,
    pub results: Vec<TestResult>,
    pub changes: Option<ChangeSet>,
}
