//! What `seer record` collects for one run: its commit's changes, then its reports, merged.

use std::path::{Path, PathBuf};

use super::error::InputError;
use super::git::{self, Base, ChangeSet};
use super::report::{ReportFormat, ResultSet, read_report};
use super::run::{CollectedRun, RunInfo};
use super::time::now;

/// What to collect for one run.
#[derive(Debug, Clone, Default)]
pub struct RecordOptions {
    pub run_id: String,
    pub commit: String,
    /// The base to measure the change against; `None` is the commit's first parent, a revision
    /// means the merge-base of the commit and that revision.
    pub base: Option<String>,
    pub branch: Option<String>,
    pub job: Option<String>,
    /// Unix seconds; `None` is now.
    pub time: Option<i64>,
    pub reports: Vec<PathBuf>,
    /// Every report is read in this format instead of detecting it.
    pub format: Option<ReportFormat>,
    /// Where to look for the git repository; `None` skips git entirely.
    pub repo: Option<PathBuf>,
}

/// A run's identity and its commit's changes, known before any report is read.
#[derive(Debug)]
pub struct Prepared {
    /// The run's metadata; `source` is filled in once the reports are read.
    pub info: RunInfo,
    pub changes: Option<ChangeSet>,
    /// What git could not tell; none of it stops the run from being recorded.
    pub warnings: Vec<String>,
}

/// What reading a run's reports found besides the results themselves.
#[derive(Debug)]
pub struct ReportsRead {
    /// The formats read, joined with `+` (the run's `source`).
    pub source: String,
    /// Report entries that repeated a test already seen (folded in as retries).
    pub repeated: usize,
    pub warnings: Vec<String>,
}

/// A collected run and what the collector noticed on the way.
#[derive(Debug)]
pub struct Collected {
    pub run: CollectedRun,
    pub repeated: usize,
    pub warnings: Vec<String>,
}

/// Collects a run without storing it (what a client of `seer serve` sends): its change, then
/// its reports read whole.
pub fn collect(opts: &RecordOptions) -> Result<Collected, InputError> {
    let Prepared { info, changes, mut warnings } = prepare(opts);
    let mut set = ResultSet::default();
    let read = read_reports(opts, &mut set)?;
    warnings.extend(read.warnings);
    let run = CollectedRun { info: RunInfo { source: read.source, ..info }, results: set.into_results(), changes };
    Ok(Collected { run, repeated: read.repeated, warnings })
}

/// Resolves the run's commit and reads what it changed. Never fails: what git cannot tell
/// becomes a warning, and the commit is kept as given.
pub fn prepare(opts: &RecordOptions) -> Prepared {
    let mut warnings = Vec::new();
    let mut commit = opts.commit.clone();
    let changes = match &opts.repo {
        None => None,
        Some(dir) => match read_changes(dir, &opts.commit, opts.base.as_deref()) {
            Ok((full_sha, cs)) => {
                commit = full_sha;
                warnings.extend(cs.warnings.iter().cloned());
                Some(cs)
            }
            Err(why) => {
                warnings.push(format!("changes not recorded: {why}"));
                None
            }
        },
    };
    let info = RunInfo {
        run_id: opts.run_id.clone(),
        commit,
        base: opts.base.clone(),
        branch: opts.branch.clone(),
        job: opts.job.clone(),
        time: opts.time.unwrap_or_else(now),
        source: String::new(),
    };
    Prepared { info, changes, warnings }
}

/// Reads every report into `set`; any rejected report rejects the run.
pub fn read_reports(opts: &RecordOptions, set: &mut ResultSet) -> Result<ReportsRead, InputError> {
    let mut formats: Vec<&'static str> = Vec::new();
    let mut warnings = Vec::new();
    for path in &opts.reports {
        let before = set.len() + set.repeated();
        let format = read_report(path, opts.format, set)?;
        if set.len() + set.repeated() == before {
            warnings.push(format!("{}: no test results in this report", path.display()));
        }
        if !formats.contains(&format.as_str()) {
            formats.push(format.as_str());
        }
    }
    let repeated = set.repeated();
    if repeated > 0 {
        warnings.push(format!(
            "{repeated} report entries repeated a test already seen: counted as retries (the last one is the outcome)"
        ));
    }
    Ok(ReportsRead { source: formats.join("+"), repeated, warnings })
}

/// An error with its chain of causes, as one line (for reasons and warnings that must stand
/// alone, such as `seer select`'s).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// The commit's full sha and its change set, or why they cannot be had.
pub fn read_changes(dir: &Path, commit: &str, base: Option<&str>) -> Result<(String, git::ChangeSet), git::GitError> {
    let repo = git::discover(dir)?;
    let oid = git::resolve_commit(&repo, commit)?;
    let base = base.map_or(Base::FirstParent, |b| Base::MergeBaseWith(b.to_string()));
    let cs = git::changes(&repo, oid, &base)?;
    Ok((oid.to_string(), cs))
}

/// What the working tree of the repository holding `dir` changes against `HEAD`.
pub fn read_worktree_changes(dir: &Path) -> Result<git::ChangeSet, git::GitError> {
    let repo = git::discover(dir)?;
    git::worktree_changes(&repo)
}
