//! What `seer record` collects for one run: its reports, merged, and its commit's changes.

use std::path::{Path, PathBuf};

use super::error::InputError;
use super::git::{self, Base};
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

/// A collected run and what the collector noticed on the way.
#[derive(Debug)]
pub struct Collected {
    pub run: CollectedRun,
    /// Report entries that repeated a test already seen (folded in as retries).
    pub repeated: usize,
    /// Things the caller should hear about; none of them stopped the run from being collected.
    pub warnings: Vec<String>,
}

/// Reads every report (any rejected report rejects the run) and the commit's changes (which
/// never do: what git cannot tell becomes a warning).
pub fn collect(opts: &RecordOptions) -> Result<Collected, InputError> {
    let mut set = ResultSet::default();
    let mut formats: Vec<&'static str> = Vec::new();
    let mut warnings = Vec::new();
    for path in &opts.reports {
        let before = set.len() + set.repeated();
        let format = read_report(path, opts.format, &mut set)?;
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

    let mut commit = opts.commit.clone();
    let changes = match &opts.repo {
        None => None,
        Some(dir) => match changes(dir, &opts.commit, opts.base.as_deref()) {
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
        source: formats.join("+"),
    };
    Ok(Collected { run: CollectedRun { info, results: set.into_results(), changes }, repeated, warnings })
}

/// The commit's full sha and its change set, or why they cannot be had (with the error chain).
fn changes(dir: &Path, commit: &str, base: Option<&str>) -> Result<(String, git::ChangeSet), String> {
    let chain = |e: &dyn std::error::Error| {
        let mut text = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    };
    let repo = git::discover(dir).map_err(|e| chain(&e))?;
    let oid = git::resolve_commit(&repo, commit).map_err(|e| chain(&e))?;
    let base = base.map_or(Base::FirstParent, |b| Base::MergeBaseWith(b.to_string()));
    let cs = git::changes(&repo, oid, &base).map_err(|e| chain(&e))?;
    Ok((oid.to_string(), cs))
}
