//! Test selection for a commit about to be tested: the live model's scores at its calibrated
//! threshold, plus the tests that must always run. It never fails closed: anything wrong (no
//! history, no usable model, git trouble, a build file changed, an internal error) selects every
//! known test and says why.

use std::path::{Path, PathBuf};

use crate::collect::Outcome;
use crate::collect::read_changes;
use crate::features::{CHANGE_FEATURES, FEATURES, all_features, is_build_file};
use crate::model::{ModelFile, cold_start, latest};
use crate::store::{Replay, ReplayFile, ReplayResult, ReplayRun, Store};

/// What to select for.
#[derive(Debug, Clone)]
pub struct SelectRequest {
    pub commit: String,
    /// Measure the change against the merge-base with this revision instead of the first parent.
    pub base: Option<String>,
    pub repo: PathBuf,
    pub models: PathBuf,
    /// Candidates are the tests that ran in this many of the latest runs.
    pub recent_runs: usize,
}

/// Whether the selection is a subset or everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Subset,
    All,
}

/// One selected test.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Selected {
    pub id: String,
    pub score: f64,
    pub reasons: Vec<String>,
}

/// The answer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Selection {
    pub mode: Mode,
    /// Why every test runs (mode all).
    pub reason: Option<String>,
    /// The model used, if any.
    pub model: Option<String>,
    pub threshold: Option<f64>,
    pub selected: Vec<Selected>,
    pub skipped: Vec<String>,
}

fn all(reason: String, tests: Vec<String>) -> Selection {
    Selection {
        mode: Mode::All,
        reason: Some(reason),
        model: None,
        threshold: None,
        selected: tests.into_iter().map(|id| Selected { id, score: 1.0, reasons: vec![] }).collect(),
        skipped: vec![],
    }
}

/// Tests (indexes) that ran in the latest `n` runs with results, each once, in first-seen order.
fn candidates(replay: &Replay, n: usize) -> Vec<u32> {
    let mut seen = vec![false; replay.tests.len()];
    let mut out = Vec::new();
    for run in replay.runs.iter().rev().filter(|r| !r.results.is_empty()).take(n.max(1)) {
        for r in run.results.iter().filter(|r| r.outcome != Outcome::Skip) {
            if !std::mem::replace(&mut seen[r.test as usize], true) {
                out.push(r.test);
            }
        }
    }
    out
}

/// Selects the tests for `request.commit`; never an error (see the module docs).
pub fn select(store: &Store, request: &SelectRequest) -> Selection {
    let replay = match store.replay() {
        Ok(r) => r,
        Err(e) => return all(format!("cannot read the store: {e}"), vec![]),
    };
    let known = candidates(&replay, request.recent_runs);
    let names = |tests: &[u32]| tests.iter().map(|&t| replay.tests[t as usize].clone()).collect::<Vec<_>>();
    if known.is_empty() {
        return all("no recorded runs yet: nothing to learn from".into(), vec![]);
    }
    let (_, change) = match read_changes(&request.repo, &request.commit, request.base.as_deref()) {
        Ok(c) => c,
        Err(why) => return all(format!("cannot read the change of {}: {why}", request.commit), names(&known)),
    };
    if let Some(f) = change.files.iter().find(|f| is_build_file(&f.path)) {
        return all(format!("a build or CI file changed ({}): anything may break", f.path), names(&known));
    }
    if !change.complete {
        return all(
            format!("the change of {} is incomplete: {}", request.commit, change.warnings.join("; ")),
            names(&known),
        );
    }
    let (model, model_name) = match latest(&request.models) {
        Some(path) => match ModelFile::load(&path) {
            Ok(m) => (m, path.display().to_string()),
            Err(e) => return all(format!("the model is unusable: {e}"), names(&known)),
        },
        None => match cold_start() {
            Ok(m) => (m, crate::model::COLD_START_NAME.to_string()),
            Err(e) => return all(format!("the bundled model is unusable: {e}"), names(&known)),
        },
    };
    if !model.matches_features() {
        return all(
            format!("the model {model_name} reads other features than this seer computes: retrain it"),
            names(&known),
        );
    }
    let base = change.base.clone().unwrap_or_default();
    let every = names(&known);
    match score(replay, &known, &change.files, &base, &model) {
        Ok(scored) => subset(scored, &model, model_name),
        Err(e) => all(format!("internal error while scoring: {e}"), every),
    }
}

struct Scored {
    id: String,
    score: f64,
    own_file_changed: bool,
    failed_last: bool,
    cofail_file: f64,
    token_overlap: f64,
}

/// Scores the candidates as the tests of one more run, after every recorded run.
fn score(
    mut replay: Replay,
    known: &[u32],
    files: &[crate::collect::git::FileChange],
    base: &str,
    model: &ModelFile,
) -> anyhow::Result<Vec<Scored>> {
    // Tests that failed in the latest run of the base commit: the change may not have fixed them.
    let mut failed_on_base = vec![false; replay.tests.len()];
    if let Some(run) = replay.runs.iter().rev().find(|r| !base.is_empty() && r.commit == base && !r.results.is_empty())
    {
        for r in run.results.iter().filter(|r| r.outcome.is_failure()) {
            failed_on_base[r.test as usize] = true;
        }
    }
    let changed = files
        .iter()
        .map(|f| ReplayFile {
            path: f.path.clone(),
            added: f.added.unwrap_or(0),
            deleted: f.deleted.unwrap_or(0),
            symbols: f.symbols.clone(),
        })
        .collect();
    replay.runs.push(ReplayRun {
        run_id: "(selection)".into(),
        commit: String::new(),
        time: i64::MAX,
        results: known
            .iter()
            .map(|&test| ReplayResult { test, outcome: Outcome::Pass, duration_s: None, attempts: 1 })
            .collect(),
        changed: Some(changed),
    });
    let table = all_features(&replay)?;
    let rows = table.run_rows[replay.runs.len() - 1].clone();
    let width = model.feature_set.width();
    let x = table.x.slice(ndarray::s![rows.clone(), ..width]);
    let scores = model.predictor.failure_probability(x);
    let column = |name: &str| FEATURES.iter().chain(CHANGE_FEATURES).position(|(n, _)| *n == name).expect("a feature");
    let (own, cofail, tokens) = (column("own_file_changed"), column("cofail_file"), column("token_overlap"));
    Ok(rows
        .zip(scores)
        .map(|(row, score)| {
            let t = table.test[row];
            Scored {
                id: replay.tests[t as usize].clone(),
                score,
                own_file_changed: table.x[[row, own]] > 0.5,
                failed_last: failed_on_base[t as usize],
                cofail_file: table.x[[row, cofail]],
                token_overlap: table.x[[row, tokens]],
            }
        })
        .collect())
}

fn subset(mut scored: Vec<Scored>, model: &ModelFile, model_name: String) -> Selection {
    scored.sort_by(|a, b| b.score.total_cmp(&a.score));
    let (mut selected, mut skipped) = (Vec::new(), Vec::new());
    for s in scored {
        let mut reasons = Vec::new();
        if s.score >= model.threshold {
            reasons.push(format!("predicted failure score {:.3} ≥ threshold {:.3}", s.score, model.threshold));
        }
        if s.own_file_changed {
            reasons.push("its own file changed".into());
        }
        if s.failed_last {
            reasons.push("it failed in the latest run of the base commit".into());
        }
        if reasons.is_empty() {
            skipped.push(s.id);
            continue;
        }
        if s.cofail_file >= 0.2 {
            reasons
                .push(format!("failed in {:.0}% of past changes to a changed file (smoothed)", 100.0 * s.cofail_file));
        }
        if s.token_overlap > 0.0 {
            reasons.push(format!("{:.0}% of its name's words appear in the change", 100.0 * s.token_overlap));
        }
        selected.push(Selected { id: s.id, score: s.score, reasons });
    }
    Selection {
        mode: Mode::Subset,
        reason: None,
        model: Some(model_name),
        threshold: Some(model.threshold),
        selected,
        skipped,
    }
}

/// The models directory beside a store.
pub fn default_models_dir(db: &Path) -> PathBuf {
    db.parent().unwrap_or(Path::new(".")).join("models")
}
