//! Reading the store back: what it holds.

use std::collections::HashMap;
use std::path::Path;

use seer_ci_api::{FORMAT_VERSION, FlakyListJson, QuarantinedJson, StatsJson};

use crate::model::models_dir;
use crate::select::{FlakyOptions, GateConfig, detect_flaky, judge_gate_with_models};

use super::{Error, refresh_after_write};
use crate::collect::time::format_time;
use crate::store::{Store, selection_stats_json};

/// How many of the newest misses `seer stats` lists.
const RECENT_MISSES: usize = 10;

/// `seer stats`: what the store holds, and what the kept selections came to (the selection
/// state brought up to date first, when it is in use); with the refresh's warning, if any.
pub fn stats(db: &Path, gate: GateConfig) -> Result<(StatsJson, Option<String>), Error> {
    let mut store = crate::backend::open_existing(db)?;
    let warning = refresh_after_write(store.as_mut());
    let s = store.stats()?;
    let _ = crate::backend::sync_models(store.as_ref(), &models_dir(db));
    let gate = judge_gate_with_models(store.as_ref(), &models_dir(db), gate, s.results.fail + s.results.error)?;
    let doc = StatsJson {
        format_version: FORMAT_VERSION,
        store: store.location(),
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

/// `seer report`'s data for `options`' window, after the selection state takes in the newest
/// runs (a warning when it could not; the report is then as of the state).
pub fn report(
    db: &Path,
    options: &crate::report::ReportOptions,
) -> Result<(crate::report::ReportData, Option<String>), Error> {
    let mut store = crate::backend::open_existing(db)?;
    let warning = refresh_after_write(store.as_mut());
    Ok((crate::report::ReportData::collect(store.as_ref(), options)?, warning))
}

/// `seer flaky list`: the flaky tests of the latest `window` executions of each test, and the
/// quarantine.
pub fn flaky_list(db: &Path, window: usize) -> Result<FlakyListJson, Error> {
    let store = crate::backend::open_existing(db)?;
    let replay = store.replay()?;
    let options = FlakyOptions { window: window.max(2), ..FlakyOptions::default() };
    let found = detect_flaky(&replay, options);
    let names: HashMap<i64, String> = store.test_rows()?.into_iter().map(|t| (t.id, t.name)).collect();
    let quarantined: Vec<QuarantinedJson> = store
        .quarantined()?
        .into_iter()
        .map(|(t, since, reason)| QuarantinedJson {
            id: names.get(&t).cloned().unwrap_or_default(),
            since: format_time(since),
            reason,
        })
        .collect();
    let flaky = found.iter().map(|f| f.to_json(quarantined.iter().any(|q| q.id == f.id))).collect();
    Ok(FlakyListJson { format_version: FORMAT_VERSION, window: options.window, flaky, quarantined })
}

/// `seer flaky quarantine` (`reason` given) or `release` (`None`) of the test named `test`: what
/// changed, as `QuarantineChangeJson`'s status says it.
pub fn change_quarantine(
    db: &Path,
    test: &str,
    quarantine: Option<Option<&str>>,
    now: i64,
) -> Result<&'static str, Error> {
    let mut store = crate::backend::open_existing(db)?;
    let id = store
        .test_id(test)?
        .ok_or_else(|| Error::NotFound { what: format!("test {test:?}"), store: db.to_path_buf() })?;
    Ok(match quarantine {
        Some(reason) if store.quarantine(id, now, reason)? => "quarantined",
        Some(_) => "already quarantined",
        None if store.release(id)? => "released",
        None => "not quarantined",
    })
}

/// `seer store backup`: a consistent, checked copy of the store at `db`, safe while others write
/// to it (see `store::backup`).
pub fn backup_store(db: &Path, to: &Path) -> Result<crate::store::BackupSummary, Error> {
    let store = Store::open_existing(db)?;
    Ok(store.backup_to(to)?)
}
