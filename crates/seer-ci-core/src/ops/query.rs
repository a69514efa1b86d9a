//! Reading the store back: what it holds.

use std::path::Path;

use seer_ci_api::{FORMAT_VERSION, StatsJson};

use crate::model::models_dir;
use crate::select::{GateConfig, judge_gate_with_models};

use super::{Error, refresh_after_write};
use crate::collect::time::format_time;
use crate::store::{Store, selection_stats_json};

/// How many of the newest misses `seer stats` lists.
const RECENT_MISSES: usize = 10;

/// `seer stats`: what the store holds, and what the kept selections came to (the selection
/// state brought up to date first, when it is in use); with the refresh's warning, if any.
pub fn stats(db: &Path, gate: GateConfig) -> Result<(StatsJson, Option<String>), Error> {
    let mut store = Store::open_existing(db)?;
    let warning = refresh_after_write(&mut store);
    let s = store.stats()?;
    let gate = judge_gate_with_models(&store, &models_dir(db), gate, s.results.fail + s.results.error)?;
    let doc = StatsJson {
        format_version: FORMAT_VERSION,
        store: store.path().display().to_string(),
        schema_version: store.schema_version()?,
        runs: s.runs,
        tests: s.tests,
        commits_with_changes: s.commits_with_changes,
        first_run: s.first_run.map(format_time),
        last_run: s.last_run.map(format_time),
        results: s.results.into(),
        failing_runs: s.failing_runs,
        tests_ever_failed: s.tests_ever_failed,
        tests_ever_flaky: s.tests_ever_flaky,
        gate: (&gate).into(),
        selection: selection_stats_json(&store.selection_stats(None, None)?, &store.misses(None, None, RECENT_MISSES)?),
    };
    Ok((doc, warning))
}

/// `seer store backup`: a consistent, checked copy of the store at `db`, safe while others write
/// to it (see `store::backup`).
pub fn backup_store(db: &Path, to: &Path) -> Result<crate::store::BackupSummary, Error> {
    let store = Store::open_existing(db)?;
    Ok(store.backup_to(to)?)
}
