//! Collected results and changes as the API's documents (`seer show run --json`, `seer record
//! --json`, and the JSON lines `seer import` reads back).

use seer_ci_api::{ChangeSummaryJson, ChangesJson, CommitJson, FileJson, TestJson, TimeJson};

use super::TestResult;
use super::git::ChangeSet;
use super::time::format_time;

impl From<&TestResult> for TestJson {
    fn from(r: &TestResult) -> TestJson {
        TestJson {
            id: r.id.clone(),
            outcome: r.outcome.as_str().into(),
            duration_s: r.duration_s,
            attempts: r.attempts,
            suite: r.suite.clone(),
            file: r.file.clone(),
            message: r.message.clone(),
        }
    }
}

impl From<&ChangeSet> for ChangesJson {
    fn from(cs: &ChangeSet) -> ChangesJson {
        ChangesJson {
            base: cs.base.clone(),
            complete: cs.complete,
            warnings: cs.warnings.clone(),
            commit: Some(CommitJson {
                parents: cs.commit.parents.clone(),
                author: cs.commit.author.clone(),
                time: Some(TimeJson::Text(format_time(cs.commit.time))),
                summary: cs.commit.summary.clone(),
            }),
            files: cs
                .files
                .iter()
                .map(|f| FileJson {
                    path: f.path.clone(),
                    old_path: f.old_path.clone(),
                    status: f.kind.as_str().into(),
                    added: f.added,
                    deleted: f.deleted,
                    binary: f.binary,
                    symbols: f.symbols.clone(),
                })
                .collect(),
        }
    }
}

impl From<&ChangeSet> for ChangeSummaryJson {
    fn from(cs: &ChangeSet) -> ChangeSummaryJson {
        ChangeSummaryJson {
            base: cs.base.clone(),
            files: cs.files.len() as u64,
            added: cs.files.iter().filter_map(|f| f.added).map(u64::from).sum(),
            deleted: cs.files.iter().filter_map(|f| f.deleted).map(u64::from).sum(),
            complete: cs.complete,
        }
    }
}

/// The base lines of each file of `cs`, in its order, for a change sent to `seer serve`.
pub fn lines_json(cs: &ChangeSet) -> Vec<seer_ci_api::server::FileLinesJson> {
    cs.files
        .iter()
        .map(|f| seer_ci_api::server::FileLinesJson {
            base_lines: f.base_lines.iter().map(|&(a, b)| [a, b]).collect(),
            comment_hunks: f.comment_hunks,
            base_columns: f.base_columns.iter().map(|&(l, a, b)| [l, a, b]).collect(),
        })
        .collect()
}

/// A collected run as the run document a client sends `seer serve` (times in Unix seconds, so
/// that the server stores exactly what a local `seer record` would).
impl From<&super::CollectedRun> for seer_ci_api::RunJson {
    fn from(run: &super::CollectedRun) -> seer_ci_api::RunJson {
        let info = &run.info;
        seer_ci_api::RunJson {
            format_version: seer_ci_api::FORMAT_VERSION,
            run_id: info.run_id.clone(),
            commit: info.commit.clone(),
            base: info.base.clone(),
            branch: info.branch.clone(),
            job: info.job.clone(),
            time: Some(TimeJson::Seconds(info.time)),
            source: Some(info.source.clone()),
            tests: run.results.iter().map(Into::into).collect(),
            changes: run.changes.as_ref().map(|cs| {
                let mut doc = ChangesJson::from(cs);
                if let Some(c) = doc.commit.as_mut() {
                    c.time = Some(TimeJson::Seconds(cs.commit.time));
                }
                doc
            }),
        }
    }
}
