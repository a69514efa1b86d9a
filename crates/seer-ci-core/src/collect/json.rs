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
