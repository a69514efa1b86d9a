//! What the store reads back, as the API's documents.

use seer_ci_api::{
    CountsJson, CoverageCommitJson, FORMAT_VERSION, HistoryEntryJson, MissJson, RunJson, RunSummaryJson,
    SelectionStatsJson, ShowRunJson, TimeJson,
};

use super::{Counts, CoverageCommit, HistoryEntry, Miss, RunSummary, SelectionStats, StoredRun};
use crate::collect::time::format_time;

impl From<Counts> for CountsJson {
    fn from(c: Counts) -> CountsJson {
        CountsJson { tests: c.tests, pass: c.pass, fail: c.fail, error: c.error, skip: c.skip, flaky: c.flaky }
    }
}

impl From<&RunSummary> for RunSummaryJson {
    fn from(r: &RunSummary) -> RunSummaryJson {
        RunSummaryJson {
            run_id: r.run_id.clone(),
            commit: r.commit.clone(),
            branch: r.branch.clone(),
            job: r.job.clone(),
            time: format_time(r.time),
            counts: r.counts.into(),
        }
    }
}

impl From<&HistoryEntry> for HistoryEntryJson {
    fn from(e: &HistoryEntry) -> HistoryEntryJson {
        HistoryEntryJson {
            run_id: e.run_id.clone(),
            commit: e.commit.clone(),
            time: format_time(e.time),
            outcome: e.outcome.as_str().into(),
            duration_s: e.duration_s,
            attempts: e.attempts,
            message: e.message.clone(),
        }
    }
}

impl From<&StoredRun> for ShowRunJson {
    fn from(run: &StoredRun) -> ShowRunJson {
        let info = &run.info;
        ShowRunJson {
            run: RunJson {
                format_version: FORMAT_VERSION,
                run_id: info.run_id.clone(),
                commit: info.commit.clone(),
                base: info.base.clone(),
                branch: info.branch.clone(),
                job: info.job.clone(),
                time: Some(TimeJson::Text(format_time(info.time))),
                source: Some(info.source.clone()),
                tests: run.results.iter().map(Into::into).collect(),
                changes: run.changes.as_ref().map(Into::into),
            },
            counts: Counts::of(&run.results).into(),
            recorded_at: format_time(run.recorded_at),
        }
    }
}

impl From<&Miss> for MissJson {
    fn from(m: &Miss) -> MissJson {
        MissJson {
            test: m.test.clone(),
            run_id: m.run_id.clone(),
            commit: m.commit.clone(),
            time: format_time(m.time),
            selection_commit: m.selection_commit.clone(),
            same_commit: m.same_commit,
            observed: m.observed,
        }
    }
}

/// What the kept selections came to, with the newest of their misses.
pub fn selection_stats_json(s: &SelectionStats, misses: &[Miss]) -> SelectionStatsJson {
    let judged = s.caught + s.misses;
    SelectionStatsJson {
        selections: s.selections,
        subsets: s.subsets,
        fell_open: s.fell_open,
        observed: s.observed,
        tests_selected: s.tests_selected,
        tests_skipped: s.tests_skipped,
        estimated_selected_s: s.estimated_selected_s,
        estimated_total_s: s.estimated_total_s,
        runs_measured: s.runs_measured,
        failing: s.failing,
        caught: s.caught,
        unknown: s.unknown,
        misses: s.misses,
        misses_same_commit: s.misses_same_commit,
        misses_observed: s.misses_observed,
        queued: s.queued,
        dropped: s.dropped,
        observed_recall: (judged > 0).then(|| s.caught as f64 / judged as f64),
        recent_misses: misses.iter().map(Into::into).collect(),
    }
}

impl From<&CoverageCommit> for CoverageCommitJson {
    fn from(c: &CoverageCommit) -> CoverageCommitJson {
        CoverageCommitJson {
            commit: c.commit.clone(),
            tests: c.tests as u64,
            files: c.files as u64,
            recorded_at: format_time(c.recorded_at),
        }
    }
}
