//! Writing to the store: a CI run from its reports, a history import, per-test coverage; and
//! the selection state brought up to date after each write.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Error;
use seer_ci_api::server::RecordRequestJson;

use crate::collect::import::{ImportFormat, read_history, run_from_json};
use crate::collect::lcov::TestCoverage;
use crate::collect::{Collected, CollectedRun, Prepared, RecordOptions, RunInfo, chain, prepare, read_reports};
use crate::store::{CoverageRecorded as StoredCoverage, RecordStatus, Store};

/// How long a refresh after a write waits for other writers.
pub(super) const REFRESH_WAIT: Duration = Duration::from_secs(10);

/// A recorded run: what was collected, and whether it was new.
#[derive(Debug)]
pub struct Recorded {
    pub status: RecordStatus,
    /// The run as stored, with the warnings of git, the reports and the refresh.
    pub collected: Collected,
}

/// `seer record`: reads the commit's change and the reports, and stores the run in one
/// transaction (reports are parsed while their results are written; a rejected report rolls
/// the whole run back, so nothing of it is stored).
pub fn record(db: &Path, opts: &RecordOptions, replace: bool) -> Result<Recorded, Error> {
    let Prepared { info, changes, mut warnings } = prepare(opts);
    if crate::backend::is_url(db) {
        // A database server's store records the run read whole, in one transaction.
        let mut set = crate::collect::ResultSet::default();
        let read = read_reports(opts, &mut set)?;
        warnings.extend(read.warnings);
        let run = CollectedRun { info: RunInfo { source: read.source, ..info }, results: set.into_results(), changes };
        let mut store = crate::backend::open(db)?;
        let status = store.record_runs(std::slice::from_ref(&run), replace)?[0];
        warnings.extend(refresh_after_write(store.as_mut()));
        return Ok(Recorded { status, collected: Collected { run, repeated: read.repeated, warnings } });
    }
    let mut store = Store::open(db)?;
    let (status, set, read) = store.record_streaming(
        &info,
        changes.as_ref(),
        replace,
        |set| read_reports(opts, set),
        |read| read.source.clone(),
    )?;
    warnings.extend(read.warnings);
    warnings.extend(refresh_after_write(&mut store));
    let run = CollectedRun { info: RunInfo { source: read.source, ..info }, results: set.into_results(), changes };
    Ok(Recorded { status, collected: Collected { run, repeated: read.repeated, warnings } })
}

impl Recorded {
    /// `seer record --json`'s document.
    pub fn to_json(&self) -> seer_ci_api::RecordJson {
        let run = &self.collected.run;
        seer_ci_api::RecordJson {
            format_version: seer_ci_api::FORMAT_VERSION,
            run_id: run.info.run_id.clone(),
            commit: run.info.commit.clone(),
            status: self.status.as_str().into(),
            counts: crate::store::Counts::of(&run.results).into(),
            repeated: self.collected.repeated as u64,
            changes: run.changes.as_ref().map(Into::into),
            warnings: self.collected.warnings.clone(),
        }
    }
}

/// Records a run a client collected and sent (`seer serve`): the same checks as `seer import`'s
/// run documents, then one transaction, then the selection state brought up to date. A run sent
/// without a time is stamped now, and never earlier than the newest stored run (see
/// `Store::record_at_end`). `source` names the upload in messages.
pub fn record_document(db: &Path, request: RecordRequestJson, source: &Path) -> Result<Recorded, Error> {
    let bad = |why: String| Error::Input(crate::collect::InputError::invalid(source, None, why));
    if request.run.run_id.trim().is_empty() || request.run.commit.trim().is_empty() {
        return Err(bad("run_id and commit must not be empty".into()));
    }
    let timed = request.run.time.is_some();
    let (run, folded) = run_from_json(request.run).map_err(|e| bad(e.to_string()))?;
    let mut store = crate::backend::open(db)?;
    let status = if timed {
        store.record_runs(std::slice::from_ref(&run), request.replace)?[0]
    } else {
        store.record_at_end(&run, request.replace)?
    };
    let mut warnings = request.warnings;
    warnings.extend(refresh_after_write(store.as_mut()));
    let repeated = request.repeated as usize + folded;
    Ok(Recorded { status, collected: Collected { run, repeated, warnings } })
}

/// What `seer import` reads.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub files: Vec<PathBuf>,
    /// `None` detects each file's format.
    pub format: Option<ImportFormat>,
    /// Run ids for formats without them are PREFIX-CYCLE; `None` uses each file's name.
    pub run_prefix: Option<String>,
    pub replace: bool,
}

/// What an import stored.
#[derive(Debug)]
pub struct Imported {
    pub runs: Vec<CollectedRun>,
    pub statuses: Vec<RecordStatus>,
    /// Input rows folded into an earlier row of the same test and run.
    pub folded_rows: usize,
    pub warnings: Vec<String>,
}

/// `seer import`: every file is read first, then every run is stored in one transaction.
/// `progress` hears how many runs are stored, of how many.
pub fn import(db: &Path, request: &ImportRequest, mut progress: impl FnMut(usize, usize)) -> Result<Imported, Error> {
    let mut histories = Vec::new();
    for path in &request.files {
        let prefix = match &request.run_prefix {
            Some(p) => p.clone(),
            None => path.file_stem().map_or_else(|| "import".into(), |s| s.to_string_lossy().into_owned()),
        };
        histories.push(read_history(path, request.format, &prefix)?);
    }
    let folded_rows = histories.iter().map(|h| h.folded_rows).sum();
    let runs: Vec<CollectedRun> = histories.into_iter().flat_map(|h| h.runs).collect();
    let total = runs.len();
    let (statuses, warnings) = if crate::backend::is_url(db) {
        let mut store = crate::backend::open(db)?;
        let statuses = store.record_runs(&runs, request.replace)?;
        progress(total, total);
        (statuses, refresh_after_write(store.as_mut()).into_iter().collect())
    } else {
        let mut store = Store::open(db)?;
        let statuses = store.record_many(&runs, request.replace, |done| progress(done, total))?;
        (statuses, refresh_after_write(&mut store).into_iter().collect())
    };
    Ok(Imported { runs, statuses, folded_rows, warnings })
}

/// Brings the selection state up to date after a write, when `select` uses it (a store that
/// never had a selection state keeps none). A failure costs nothing stored: it is returned as
/// a warning, and `select` refreshes it later.
pub fn refresh_after_write(store: &mut dyn crate::backend::History) -> Option<String> {
    match store.state_meta() {
        Ok(Some(_)) => {}
        Ok(None) if store.has_selections().unwrap_or(false) => {}
        _ => return None,
    }
    let e = store.refresh_state_at_most(REFRESH_WAIT, u64::MAX).err()?;
    Some(format!("the selection state was not brought up to date (seer select will): {}", chain(&e)))
}

/// What `seer coverage record` reads.
#[derive(Debug, Clone)]
pub struct CoverageRecordRequest {
    /// A revision the repository at `root` resolves, or a full sha.
    pub commit: String,
    /// The test of every record, for files without `TN:` lines.
    pub test: Option<String>,
    /// Absolute source paths under this directory are stored relative to it; the repository
    /// there resolves `commit`.
    pub root: PathBuf,
    pub files: Vec<PathBuf>,
}

/// What a coverage record stored.
#[derive(Debug)]
pub struct CoverageRecorded {
    /// The commit as stored: the full sha when the repository knows the revision.
    pub commit: String,
    pub stored: StoredCoverage,
    /// `SF:` paths outside the root.
    pub outside_root: usize,
}

impl CoverageRecorded {
    /// `seer coverage record --json`'s document.
    pub fn to_json(&self) -> seer_ci_api::CoverageRecordJson {
        seer_ci_api::CoverageRecordJson {
            format_version: seer_ci_api::FORMAT_VERSION,
            commit: self.commit.clone(),
            tests: self.stored.tests as u64,
            replaced: self.stored.replaced as u64,
            files: self.stored.files as u64,
            outside_root: self.outside_root as u64,
        }
    }
}

/// `seer coverage record`: every tracefile read (a test may appear in several), then stored in
/// one transaction.
pub fn record_coverage(db: &Path, request: &CoverageRecordRequest) -> Result<CoverageRecorded, Error> {
    // A revision the repository knows is stored as its full sha, so that `select` finds it.
    let commit =
        crate::collect::git::resolve_in(&request.root, &request.commit).unwrap_or_else(|| request.commit.clone());
    // One entry per test, in the order tests first appear.
    let mut tests: Vec<TestCoverage> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut outside_root = 0;
    for path in &request.files {
        let file = crate::collect::read_coverage(path, request.test.as_deref(), &request.root)?;
        outside_root += file.outside_root;
        for t in file.tests {
            match index.get(&t.test) {
                Some(&at) => tests[at].merge(t),
                None => {
                    index.insert(t.test.clone(), tests.len());
                    tests.push(t);
                }
            }
        }
    }
    let stored = crate::backend::open(db)?.record_coverage(&commit, &tests)?;
    Ok(CoverageRecorded { commit, stored, outside_root })
}
