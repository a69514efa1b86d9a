//! `seer select` and `seer predict` from end to end: the selection state brought up to date, the
//! change read from git, the live model checked, the candidates scored, and the tests chosen.
//!
//! `select` never fails closed: anything wrong (no history, no usable or stale model, git
//! trouble, a build file changed, a panic) selects every known test and says why. `predict`
//! is for a person at a terminal and says what is wrong instead.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hashbrown::{HashMap, HashSet};

use super::config::SelectConfig;
use super::coverage::{self, CoverageRule};
use super::fail_open::Unusable;
use super::gate::{Gate, judge as judge_gate};
use super::refresh::Refreshed;
use super::score::{Candidate, Prepared, Scored, evidence, fallback_duration, score};
use super::selection::{Mode, Selected, Selection, Shard, Target, TestRef, seconds};
use super::warm::{CandidatesKey, Warm, WarmCandidates, WarmModel};
use super::workspace;
use crate::backend::{self, History};
use crate::collect::git::{Ancestor, ChangeSet, short};
use crate::collect::{chain, read_changes, read_worktree_changes};
use crate::features::{ChangeContext, CoFailure, change_keys, matches_pattern};
use crate::model::{ModelFile, ModelSource, latest, live};
use crate::store::{NewSelection, ReplayFile, StoreError};

/// How long `seer select` waits for another writer's lock, each time it writes (the refresh, the
/// bookkeeping), before going on without it: it answers from the state as it is, and queues its
/// selection in a side file (see `store/pending.rs`). Two waits and the work stay well under 1 s.
const WRITE_WAIT: Duration = Duration::from_millis(150);

/// The most results of new runs that `select` takes into the state itself (about 0.3 s of work);
/// beyond, the writer that stored them does (`record` refreshes after each run).
const SELECT_REFRESH_MAX_RESULTS: u64 = 100_000;

/// Where the change to select for comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeSource {
    /// A commit, against its first parent or the merge-base with `base`.
    Commit { commit: String, base: Option<String> },
    /// The working tree's uncommitted changes against `HEAD`.
    WorkingTree,
    /// No git: the commit is only a name (history-only models).
    NoGit { commit: String },
    /// A change the caller read from git itself (`seer serve`: the client's checkout).
    Given(GivenChange),
}

/// A change read elsewhere, with what the coverage rule needs of the history.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenChange {
    pub commit: String,
    /// `Err` is why git could not tell the change (every test runs); `Ok(None)` is no git.
    pub changes: Result<Option<ChangeSet>, String>,
    /// The base and its first-parent ancestors, nearest first, each with whether every file of
    /// the change is the same blob there as at the base (`git::ancestors`).
    pub ancestors: Vec<Ancestor>,
}

/// What to select for.
#[derive(Debug, Clone)]
pub struct SelectRequest {
    pub change: ChangeSource,
    /// The git repository (any directory inside it).
    pub repo: PathBuf,
    pub models: PathBuf,
    /// The cached Cargo workspace graph.
    pub workspace_cache: PathBuf,
    pub config: SelectConfig,
    /// What is wrong with the repository's configuration file: every test runs.
    pub config_problem: Option<String>,
    pub target: Target,
    /// Return only this shard of the selection.
    pub shard: Option<Shard>,
    /// Keep the selection but return every test.
    pub observe: bool,
    /// Keep the selection in the store for the bookkeeping of misses.
    pub keep: bool,
    /// How many of the selected (or, for `predict`, the highest-ranked) tests get their reasons
    /// and the evidence behind their scores in words (`usize::MAX` for all; runner arguments
    /// need none, and the others then carry none).
    pub reasons_for: usize,
    /// Unix seconds.
    pub now: i64,
}

/// Why no subset can be chosen, with every known test when they are known.
struct FailOpen {
    reason: Box<Unusable>,
    every: Vec<Selected>,
}

/// Every candidate, to run (when no subset can be chosen).
fn every(candidates: &[Candidate], fallback_s: f64) -> Vec<Selected> {
    candidates
        .iter()
        .map(|c| Selected {
            test: c.test.clone(),
            score: 1.0,
            reasons: vec![],
            estimated_s: crate::features::mean_duration(&c.state).unwrap_or(fallback_s),
        })
        .collect()
}

/// Everything known before choosing: the scored candidates and what the rules need.
struct Scoring {
    scored: Vec<Scored>,
    quarantined: Vec<TestRef>,
    commit: String,
    base: Option<String>,
    model: Arc<ModelFile>,
    model_name: String,
    /// Whether this project's evidence lets the model skip tests (see `gate.rs`).
    gate: Gate,
    failed_on_base: HashSet<i64>,
    /// Tests that failed in runs the selection state has not taken in (another process held the
    /// write lock): they run, since the state cannot speak for those runs yet.
    failed_unseen: HashSet<i64>,
    /// Candidates the workspace graph says the change cannot reach.
    unreachable: HashSet<i64>,
    /// What recorded coverage says of the change, when there is coverage near its base.
    coverage: Option<CoverageRule>,
    /// The changed files (`None` without git) and their co-failure counts, for reasons.
    changed: Option<Vec<ReplayFile>>,
    past: CoFailure,
    notes: Vec<String>,
}

impl Scoring {
    /// Whether the trust gate holds the model back from deciding what `target` skips: until this
    /// project's evidence opens it, the model may rank tests, never skip them (an explicit budget
    /// is the team's own decision, which the ranking serves).
    fn gate_holds(&self, target: Target) -> bool {
        !self.gate.open && matches!(target, Target::Model | Target::Recall(_))
    }

    /// The evidence behind a test's score, in words.
    fn reasons(&self, t: &Scored, context: Option<&ChangeContext<'_>>) -> Vec<String> {
        evidence(t, context, &self.past)
    }

    fn context(&self) -> Option<ChangeContext<'_>> {
        self.changed.as_deref().map(ChangeContext::new)
    }
}

/// Selects the tests for `request` from the store at `db`; never an error (see the module docs).
pub fn select(db: &Path, request: &SelectRequest) -> Selection {
    select_warm(db, request, &mut Warm::default())
}

/// [`select`], using and refreshing what `warm` kept from earlier selections of the same store
/// (see `warm.rs`); the answer is the one a cold selection gives.
pub fn select_warm(db: &Path, request: &SelectRequest, warm: &mut Warm) -> Selection {
    let answer = std::panic::catch_unwind(AssertUnwindSafe(|| select_unguarded(db, request, warm)));
    if answer.is_err() {
        // After a panic, the next selection reads everything again.
        warm.clear();
    }
    match answer {
        Ok(selection) => selection,
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Selection::all(format!("internal error: {what}"), vec![])
        }
    }
}

fn select_unguarded(db: &Path, request: &SelectRequest, warm: &mut Warm) -> Selection {
    let mut store = match warm.store.take().filter(|(at, _)| at == db) {
        Some((_, store)) => store,
        None => match backend::open_existing(db) {
            Ok(store) => store,
            Err(e) => return Selection::all(Unusable::NoStore(e).to_string(), vec![]),
        },
    };
    let selection = select_in(store.as_mut(), request, warm);
    // A lost connection is not kept: the next selection opens the store again.
    if !store.connection_lost() {
        warm.store = Some((db.to_path_buf(), store));
    }
    selection
}

fn select_in(store: &mut dyn History, request: &SelectRequest, warm: &mut Warm) -> Selection {
    let (selection, kept, gated) = match prepare(store, request, Some(warm)) {
        Ok(s) => {
            // Coverage that accounts for the whole change is this project's own evidence: it may
            // skip from the first day. Otherwise, while the trust gate is closed, the model's
            // selection is only observed.
            let coverage_decides = s.coverage.as_ref().is_some_and(|c| c.incomplete.is_none());
            let gated = (s.gate_holds(request.target) && !coverage_decides).then(|| s.gate.why.clone());
            let mut selection = choose(&s, request.target, &request.config, request.reasons_for);
            selection.notes.splice(0..0, s.notes.iter().cloned());
            selection.gate = Some(s.gate.clone());
            let kept = NewSelection {
                commit: s.commit.clone(),
                base: s.base.clone(),
                created_at: request.now,
                subset: true,
                observe: request.observe || gated.is_some(),
                reason: None,
                model: selection.model.clone(),
                threshold: selection.threshold,
                shard: request.shard.map(|s| (s.index, s.count)),
                estimated_s: selection.estimated_s,
                total_s: selection.total_s,
                selected: selection.selected.iter().map(|t| t.test.store_id).collect(),
                skipped: selection.skipped.iter().map(|t| t.test.store_id).collect(),
            };
            (selection, Some(kept), gated)
        }
        Err(f) => {
            let commit = match &request.change {
                ChangeSource::Commit { commit, .. } | ChangeSource::NoGit { commit } => commit.clone(),
                ChangeSource::Given(g) => g.commit.clone(),
                ChangeSource::WorkingTree => String::new(),
            };
            let reason = f.reason.to_string();
            let selection = Selection::all(reason.clone(), f.every);
            let kept = NewSelection {
                commit,
                base: None,
                created_at: request.now,
                subset: false,
                observe: request.observe,
                reason: Some(reason),
                model: None,
                threshold: None,
                shard: request.shard.map(|s| (s.index, s.count)),
                estimated_s: selection.estimated_s,
                total_s: selection.total_s,
                selected: selection.selected.iter().map(|t| t.test.store_id).collect(),
                skipped: vec![],
            };
            (selection, Some(kept), None)
        }
    };
    let mut selection = selection;
    if let (true, Some(kept)) = (request.keep, kept) {
        if let Err(why) = store.keep_selection(&kept, warm.write_wait.unwrap_or(WRITE_WAIT)) {
            selection.notes.push(why);
        }
    }
    if (request.observe || gated.is_some()) && selection.mode == Mode::Subset {
        let would_run = selection.selected.len();
        let total = would_run + selection.skipped.len();
        let skipped = std::mem::take(&mut selection.skipped);
        let would_skip: Vec<TestRef> = skipped.iter().map(|t| t.test.clone()).collect();
        let mut every: Vec<Selected> = std::mem::take(&mut selection.selected);
        every.extend(skipped.into_iter().map(|t| {
            let reasons = if request.reasons_for > 0 { vec!["observe mode: every test runs".into()] } else { vec![] };
            Selected { reasons, ..t }
        }));
        let reason = match &gated {
            Some(why) if !request.observe => {
                format!("{why}; seer would have run {would_run} of {total} tests; every test runs")
            }
            _ => format!("observe mode: seer would have run {would_run} of {total} tests; every test runs"),
        };
        let mut answer = Selection::all(reason, every);
        answer.model = selection.model.clone();
        answer.threshold = selection.threshold;
        answer.quarantined = std::mem::take(&mut selection.quarantined);
        answer.notes = std::mem::take(&mut selection.notes);
        answer.would_skip = Some(would_skip);
        answer.gate = std::mem::take(&mut selection.gate);
        selection = answer;
    }
    match request.shard {
        Some(shard) => selection.keep_shard(shard),
        None => selection,
    }
}

/// The reason of the one test a subset runs when no test needs running (see [`keep_one`]).
pub const NOTHING_ELSE: &str = "nothing else needs to run: the cheapest test runs, so that the runner has one to run";

/// A subset that runs nothing fails the job under most runners (pytest exits 5, nextest 4, Gradle
/// finds no tests): the cheapest skipped test runs instead, so that the runner has one to run.
fn keep_one(selected: &mut Vec<Selected>, skipped: &mut Vec<Selected>) {
    if !selected.is_empty() {
        return;
    }
    let cheapest = skipped
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| a.estimated_s.total_cmp(&b.estimated_s).then_with(|| a.test.id.cmp(&b.test.id)));
    if let Some((at, _)) = cheapest {
        let mut t = skipped.remove(at);
        t.reasons.push(NOTHING_ELSE.into());
        selected.push(t);
    }
}

/// One test ranked by `seer predict`.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub test: TestRef,
    pub score: f64,
    /// Calibrated on the model's validation window; `None` for a model without a calibration.
    pub probability: Option<f64>,
    pub reasons: Vec<String>,
}

/// What `seer predict` found.
#[derive(Debug, Clone)]
pub struct Predicted {
    pub commit: String,
    pub model: String,
    /// Files in the change.
    pub files: usize,
    /// Every candidate, most likely to fail first.
    pub predictions: Vec<Prediction>,
    pub notes: Vec<String>,
}

/// Ranks the known tests by how likely the change of `request` is to break them.
pub fn predict(db: &Path, request: &SelectRequest) -> Result<Predicted, Unusable> {
    let mut store = backend::open_existing(db).map_err(Unusable::NoStore)?;
    let s = prepare(store.as_mut(), request, None).map_err(|f| *f.reason)?;
    let mut order: Vec<&Scored> = s.scored.iter().collect();
    order.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.test.id.cmp(&b.test.id)));
    let context = s.context();
    let predictions: Vec<Prediction> = order
        .into_iter()
        .enumerate()
        .map(|(rank, c)| {
            // Reasons for the ones a person will read.
            let mut reasons = if rank < request.reasons_for { s.reasons(c, context.as_ref()) } else { vec![] };
            let rules = s.rules(c, &[], &HashSet::new());
            let (first, last): (Vec<Rule<'_>>, Vec<Rule<'_>>) =
                rules.into_iter().partition(|r| !matches!(r, Rule::FailedOnBase));
            reasons.splice(0..0, first.iter().rev().map(Rule::to_string));
            reasons.extend(last.iter().map(Rule::to_string));
            Prediction { test: c.test.clone(), score: c.score, probability: c.probability, reasons }
        })
        .collect();
    let files = s.changed.as_ref().map_or(0, Vec::len);
    Ok(Predicted { commit: s.commit.clone(), model: s.model_name.clone(), files, predictions, notes: s.notes.clone() })
}

/// How often a warm selection asks a store that holds its models for a newer one.
const MODELS_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The live model, checked: loadable, reading this seer's features, fresh, and (for a project
/// model) trained on this store's runs.
fn live_model(
    store: &dyn History,
    request: &SelectRequest,
    mut warm: Option<&mut Warm>,
) -> Result<(Arc<ModelFile>, String, bool), Unusable> {
    // A store that holds its models (Postgres) brings its newest into the models directory; when
    // it cannot, the directory's newest model serves. Kept warm, at most once a second: a model
    // trained through another replica serves here within a second.
    let due = warm.as_deref().is_none_or(|w| w.models_checked.is_none_or(|at| at.elapsed() >= MODELS_CHECK_EVERY));
    if due {
        let _ = crate::backend::sync_models(store, &request.models);
        if let Some(w) = warm.as_deref_mut() {
            w.models_checked = Some(std::time::Instant::now());
        }
    }
    // Whether the warm model's training run was found in this store already (runs stay).
    let trained_run_known = warm.as_deref().and_then(|w| w.model.as_ref()).is_some_and(|m| m.trained_run_stored);
    let loaded = match warm.as_deref_mut() {
        None => live(&request.models).map(|(m, n, s)| (Arc::new(m), n, s)),
        Some(warm) => {
            let file = latest(&request.models);
            match &warm.model {
                Some(m) if m.file == file => Ok((m.model.clone(), m.name.clone(), m.source)),
                _ => live(&request.models).map(|(m, n, s)| (Arc::new(m), n, s)).inspect(|(model, name, source)| {
                    warm.model = Some(WarmModel {
                        file,
                        model: model.clone(),
                        name: name.clone(),
                        source: *source,
                        trained_run_stored: false,
                    });
                }),
            }
        }
    };
    let (model, name, source) = loaded.map_err(|e| match latest(&request.models) {
        Some(_) => Unusable::Model(e),
        None => Unusable::BundledModel(e),
    })?;
    let project = source == ModelSource::Project;
    if !model.matches_features() {
        return Err(Unusable::OtherFeatures { model: name });
    }
    if project {
        let age_days = (request.now - model.created_at) as f64 / 86_400.0;
        let max_days = request.config.max_model_age_days;
        if age_days > max_days {
            return Err(Unusable::StaleModel { model: name, age_days, max_days });
        }
        if !trained_run_known {
            if !store.has_run(&model.training.last_run).map_err(Unusable::Store)? {
                return Err(Unusable::ForeignModel { model: name, last_run: model.training.last_run.clone() });
            }
            if let Some(m) = warm.and_then(|w| w.model.as_mut()) {
                m.trained_run_stored = Arc::ptr_eq(&m.model, &model);
            }
        }
    }
    Ok((model, name, !project))
}

/// Takes new runs into the selection state, unless that would make `select` wait: another
/// process holds the write lock, or the new runs hold more results than `select` takes in itself
/// (the writer that stored them does it). Then it goes on with the state as it is, and returns
/// the tests that failed in the runs not taken in: they run. An error when there is no state.
fn bring_state_up_to_date(
    store: &mut dyn History,
    wait: Duration,
    notes: &mut Vec<String>,
) -> Result<HashSet<i64>, StoreError> {
    let Ok(Some(meta)) = store.state_meta() else {
        store.refresh_state_at_most(WRITE_WAIT, u64::MAX)?;
        return Ok(HashSet::new());
    };
    let why = match store.refresh_state_at_most(wait, SELECT_REFRESH_MAX_RESULTS) {
        Ok(Refreshed { deferred: None, .. }) => return Ok(HashSet::new()),
        Ok(Refreshed { deferred: Some(results), .. }) => {
            format!("{results} results are not taken in yet, more than select takes in itself")
        }
        Err(e) => chain(&e),
    };
    // The state is as it was: `meta.last` is still its last run.
    let failed: HashSet<i64> = store.failed_after(meta.last)?.into_iter().collect();
    notes.push(format!(
        "the selection state could not take in the newest runs ({why}); the {} tests that failed in them run",
        failed.len()
    ));
    Ok(failed)
}

/// The change of the request, read from git: its commit, base and files (`None` without git).
fn read_change(request: &SelectRequest) -> Result<(String, Option<ChangeSet>), Unusable> {
    match &request.change {
        ChangeSource::Commit { commit, base } => match read_changes(&request.repo, commit, base.as_deref()) {
            Ok((sha, cs)) => Ok((sha, Some(cs))),
            Err(source) => Err(Unusable::Change { commit: commit.clone(), source }),
        },
        ChangeSource::WorkingTree => match read_worktree_changes(&request.repo) {
            Ok(cs) => Ok((cs.commit.sha.clone(), Some(cs))),
            Err(source) => Err(Unusable::WorkingTree(source)),
        },
        ChangeSource::NoGit { commit } => Ok((commit.clone(), None)),
        ChangeSource::Given(g) => match &g.changes {
            Ok(cs) => Ok((g.commit.clone(), cs.clone())),
            Err(why) => Err(Unusable::GivenChange { commit: g.commit.clone(), why: why.clone() }),
        },
    }
}

fn prepare(store: &mut dyn History, request: &SelectRequest, mut warm: Option<&mut Warm>) -> Result<Scoring, FailOpen> {
    let mut notes = Vec::new();
    let bare = |reason| FailOpen { reason: Box::new(reason), every: vec![] };
    let wait = warm.as_ref().and_then(|w| w.write_wait).unwrap_or(WRITE_WAIT);
    let failed_unseen = bring_state_up_to_date(store, wait, &mut notes).map_err(|e| bare(Unusable::State(e)))?;
    let (candidates, quarantined, prepared) =
        read_candidates(store, request, warm.as_deref_mut()).map_err(|e| bare(Unusable::Store(e)))?;
    let fallback_s = fallback_duration(candidates.iter().map(|c| &c.state));
    let fail = |reason| FailOpen { reason: Box::new(reason), every: every(&candidates, fallback_s) };
    if let Some(problem) = &request.config_problem {
        return Err(fail(Unusable::Config { problem: problem.clone() }));
    }
    if candidates.is_empty() && quarantined.is_empty() {
        return Err(fail(Unusable::NoHistory));
    }
    let (commit, change) = read_change(request).and_then(|c| check_change(request, c)).map_err(fail)?;
    let (model, model_name, bundled) = live_model(store, request, warm).map_err(fail)?;
    let failing_results = candidates.iter().map(|c| u64::from(c.state.failures)).sum();
    let gate = judge_gate(store, (!bundled).then_some(&model), request.config.gate(), failing_results)
        .map_err(|e| fail(Unusable::Store(e)))?;
    if change.is_none() && model.feature_set == crate::model::FeatureSet::All {
        return Err(fail(Unusable::NoChange { model: model_name }));
    }
    let base = change.as_ref().and_then(|c| c.base.clone());
    let failed_on_base: HashSet<i64> = match &base {
        Some(b) => store.failed_in_latest_run_of(b).map_err(|e| fail(Unusable::Store(e)))?,
        None => vec![],
    }
    .into_iter()
    .collect();
    let changed: Option<Vec<ReplayFile>> = change.as_ref().map(|cs| cs.files.iter().map(ReplayFile::from).collect());
    let past = match &changed {
        Some(files) => past_failures(store, files, &candidates).map_err(|e| fail(Unusable::Store(e)))?,
        None => CoFailure::default(),
    };
    let unreachable = match (&changed, request.config.workspace_filter) {
        (Some(files), true) => unreachable_tests(request, files, &candidates, &mut notes),
        _ => HashSet::new(),
    };
    let coverage = match (&change, request.config.coverage) {
        (Some(cs), true) => coverage_rule(store, request, cs, &mut notes),
        _ => None,
    };
    let scored = score(candidates, prepared.as_deref(), &model, changed.as_deref(), &past, fallback_s);
    Ok(Scoring {
        scored,
        quarantined,
        commit,
        base,
        model,
        model_name,
        gate,
        failed_on_base,
        failed_unseen,
        unreachable,
        coverage,
        changed,
        past,
        notes,
    })
}

/// The tests that ran in the latest runs, with their counters: the candidates, apart from them
/// the quarantined ones, and (from a warm state) what the candidates' features read of them that
/// does not depend on the change.
type Candidates = (Vec<Candidate>, Vec<TestRef>, Option<Arc<Prepared>>);

fn read_candidates(
    store: &dyn History,
    request: &SelectRequest,
    warm: Option<&mut Warm>,
) -> Result<Candidates, StoreError> {
    let latest_runs: Vec<i64> =
        store.latest_runs_with_results(request.config.candidate_runs)?.iter().map(|k| k.id).collect();
    let mut quarantine_ids: Vec<i64> = store.quarantined()?.into_iter().map(|(t, _, _)| t).collect();
    let Some(warm) = warm else {
        let (candidates, quarantined) = read_candidates_of(store, &latest_runs, &quarantine_ids)?;
        return Ok((candidates, quarantined, None));
    };
    quarantine_ids.sort_unstable();
    let key = CandidatesKey { state: store.state_meta()?, latest_runs, quarantined: quarantine_ids };
    if let Some(w) = warm.candidates.as_ref().filter(|w| w.key == key) {
        return Ok((w.candidates.clone(), w.quarantined.clone(), Some(w.prepared.clone())));
    }
    let (candidates, quarantined) = read_candidates_of(store, &key.latest_runs, &key.quarantined)?;
    // New counters, mostly of the same tests: their name parts are kept.
    let prepared = Arc::new(match &warm.candidates {
        Some(old) => {
            let known = old.prepared.parts_by_test(&old.candidates);
            Prepared::of(&candidates, |t| {
                known
                    .get(&t.store_id)
                    .filter(|(was, _)| was.id == t.id && was.suite == t.suite)
                    .map(|(_, p)| Arc::clone(p))
            })
        }
        None => Prepared::of(&candidates, |_| None),
    });
    warm.candidates = Some(WarmCandidates {
        key,
        candidates: candidates.clone(),
        quarantined: quarantined.clone(),
        prepared: prepared.clone(),
    });
    Ok((candidates, quarantined, Some(prepared)))
}

fn read_candidates_of(
    store: &dyn History,
    latest_runs: &[i64],
    quarantine: &[i64],
) -> Result<(Vec<Candidate>, Vec<TestRef>), StoreError> {
    let quarantine: HashSet<i64> = quarantine.iter().copied().collect();
    let (mut candidates, mut quarantined) = (Vec::new(), Vec::new());
    for (row, state) in store.tests_last_run_in(latest_runs)? {
        if state.execs == 0 {
            continue;
        }
        let test = TestRef {
            store_id: row.id,
            suite: row.suite().map(Arc::from),
            file: row.file.map(Arc::from),
            id: row.name.into(),
        };
        if quarantine.contains(&row.id) {
            quarantined.push(test);
        } else {
            candidates.push(Candidate { test, state });
        }
    }
    Ok((candidates, quarantined))
}

/// The change, unless it is one no subset can be trusted for: a build or CI file changed, or
/// git could not tell the whole change.
fn check_change(
    request: &SelectRequest,
    (commit, change): (String, Option<ChangeSet>),
) -> Result<(String, Option<ChangeSet>), Unusable> {
    if let Some(cs) = &change {
        if let Some(path) = request.config.fail_open_file(cs.files.iter().map(|f| f.path.as_str())) {
            return Err(Unusable::BuildFile { path: path.to_string() });
        }
        if !cs.complete {
            return Err(Unusable::Incomplete { commit, warnings: cs.warnings.join("; ") });
        }
    }
    Ok((commit, change))
}

/// Co-failure counts of the changed files and functions, from the store's counts of those keys.
fn past_failures(store: &dyn History, files: &[ReplayFile], candidates: &[Candidate]) -> Result<CoFailure, StoreError> {
    let rows = store.cofail_rows(&change_keys(files))?;
    let test_runs = candidates.iter().map(|c| (c.test.store_id as u32, (c.state.change_runs, c.state.change_failures)));
    Ok(CoFailure::from_counts(rows.keys, rows.failed.into_iter().map(|(k, t, f)| (k, t as u32, f)), test_runs))
}

/// What the coverage recorded nearest before the change's base says of it (see `coverage`);
/// `None`, with a note when it matters, when there is none to use.
fn coverage_rule(
    store: &dyn History,
    request: &SelectRequest,
    cs: &ChangeSet,
    notes: &mut Vec<String>,
) -> Option<CoverageRule> {
    let base = cs.base.as_deref()?;
    let unreadable = |e: crate::store::StoreError| format!("coverage is not used: cannot read it ({})", chain(&e));
    let commits = match store.coverage_commit_set() {
        Ok(c) if c.is_empty() => return None,
        Ok(c) => c,
        Err(e) => {
            notes.push(unreadable(e));
            return None;
        }
    };
    let paths: Vec<&str> = cs.files.iter().map(coverage::base_path).collect();
    let limit = request.config.coverage_max_distance;
    let near = match &request.change {
        ChangeSource::Given(g) => crate::collect::git::nearest_in(&g.ancestors, |c| commits.contains(c), limit),
        _ => crate::collect::git::nearest_of(&request.repo, base, |c| commits.contains(c), limit, &paths),
    };
    let Some(near) = near else {
        notes.push(format!(
            "coverage is not used: none recorded at the base {} or the {limit} commits before it",
            short(base)
        ));
        return None;
    };
    // The files changed since the coverage was taken too: which tests ran them.
    let mut asked = paths.clone();
    asked.extend(near.drifted.iter().flat_map(|d| d.keys()).map(String::as_str).filter(|p| !paths.contains(p)));
    let at = match store.coverage_at(&near.sha, &asked) {
        Ok(at) => at,
        Err(e) => {
            notes.push(unreadable(e));
            return None;
        }
    };
    let mut rule = coverage::judge(&cs.files, &near, at, &request.config);
    // A server has no checkout to look uses up in.
    let declared = !rule.declarations.is_empty() || !rule.drift_declarations.is_empty();
    if declared && !matches!(request.change, ChangeSource::Given(_)) {
        through_uses(store, request, base, &near.sha, &mut rule, notes);
    }
    let place = match near.distance {
        0 => format!("the coverage of the base {}", short(&near.sha)),
        n => format!("the coverage of {} ({n} commits before the base)", short(&near.sha)),
    };
    if rule.stale > 0 {
        notes.push(format!(
            "{place}: {} tests ran code changed since it was taken; their coverage is stale and skips none of them",
            rule.stale
        ));
    }
    notes.push(match &rule.incomplete {
        None => format!(
            "{place}: {} of its {} tests ran a changed line and run; the others ran none and are skipped",
            rule.ran.len(),
            rule.known.len() + rule.stale
        ),
        Some(why) => format!(
            "{place}: {} tests ran a changed line and run; it does not account for the whole change ({why}), so the model decides the rest",
            rule.ran.len()
        ),
    });
    let by_columns = rule.not_the_columns.iter().filter(|t| !rule.ran.contains_key(*t)).count();
    if by_columns > 0 {
        notes.push(format!(
            "{place}: {by_columns} tests ran the changed lines but not their changed columns (region coverage): they count as not running the change"
        ));
    }
    Some(rule)
}

/// The most source files the fallback for declarations reads (it reads them whole).
const MAX_FILES_FOR_USES: usize = 5_000;

/// Coverage cannot see a changed constant, static or macro run, but it sees its uses run: the
/// tests that ran a line naming what the change's declarations declare (in files of the changed
/// files' languages, at the coverage's commit) run; the model still decides the rest. Likewise,
/// the tests that ran a use of what the declarations changed since the coverage was taken
/// declare are stale.
fn through_uses(
    store: &dyn History,
    request: &SelectRequest,
    base: &str,
    sha: &str,
    rule: &mut CoverageRule,
    notes: &mut Vec<String>,
) {
    if let Some((names, uses, at)) = uses(store, request, base, sha, &rule.declarations) {
        let before = rule.ran.len();
        rule.add_uses(&uses, &at);
        notes.push(format!(
            "{} declared in changed lines that coverage cannot see run: {} more tests ran a use of it, and run",
            names.join(", "),
            rule.ran.len() - before
        ));
    }
    if let Some((_, uses, at)) = uses(store, request, sha, sha, &rule.drift_declarations) {
        rule.add_stale_uses(&uses, &at);
    }
}

/// The names `declarations` (lines of `text_rev`) declare, their uses at `sha`, and the coverage
/// there of the files using them; `None` when there are none or git cannot tell.
#[allow(clippy::type_complexity)]
fn uses(
    store: &dyn History,
    request: &SelectRequest,
    text_rev: &str,
    sha: &str,
    declarations: &[(String, u32, u32)],
) -> Option<(Vec<String>, Vec<(String, u32, String)>, crate::store::CoverageAt)> {
    let mut names = Vec::new();
    let mut exts = Vec::new();
    for (path, from, to) in declarations {
        let Some(text) = crate::collect::git::file_at(&request.repo, text_rev, path) else { continue };
        let lines: Vec<&str> = text.lines().skip(*from as usize - 1).take((to - from + 1) as usize).collect();
        for name in coverage::declared_names(&lines) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        if let Some(ext) = path.rsplit_once('.').map(|(_, e)| e).filter(|e| !exts.contains(e)) {
            exts.push(ext);
        }
    }
    if names.is_empty() {
        return None;
    }
    let uses = crate::collect::git::uses_of(&request.repo, sha, &names, &exts, MAX_FILES_FOR_USES)?;
    let mut paths: Vec<&str> = uses.iter().map(|(p, _, _)| p.as_str()).collect();
    paths.dedup();
    let at = store.coverage_at(sha, &paths).ok()?;
    Some((names, uses, at))
}

/// Candidates of a Cargo workspace that the changed crates cannot reach (see `workspace`).
fn unreachable_tests(
    request: &SelectRequest,
    files: &[ReplayFile],
    candidates: &[Candidate],
    notes: &mut Vec<String>,
) -> HashSet<i64> {
    // A server has no checkout to read the graph from: it skips nothing by it.
    if matches!(request.change, ChangeSource::Given(_)) {
        return HashSet::new();
    }
    let Some(root) = crate::collect::git::repository_root(&request.repo) else { return HashSet::new() };
    let ws = match workspace::load(&root, &request.workspace_cache) {
        Ok(Some(ws)) => ws,
        Ok(None) => return HashSet::new(),
        Err(e) => {
            notes.push(format!("the Cargo workspace graph is unknown, so no test is skipped by it: {}", chain(&e)));
            return HashSet::new();
        }
    };
    let mut changed = HashSet::new();
    for f in files {
        match ws.member_of_path(&f.path) {
            Some(m) => {
                changed.insert(m);
            }
            // A file outside every crate may matter to any of them.
            None => return HashSet::new(),
        }
    }
    let mut reach: HashMap<usize, bool> = HashMap::new();
    candidates
        .iter()
        .filter(|c| {
            let Some(member) = c.test.suite.as_deref().and_then(|s| ws.member_of_suite(s)) else { return false };
            let reached = *reach.entry(member).or_insert_with(|| !ws.reach(member).is_disjoint(&changed));
            !reached
        })
        .map(|c| c.test.store_id)
        .collect()
}

/// The tests' indices, highest score first (ties in their given order). The tests stay where
/// they are: moving 10,000 whole `Scored` while sorting was a sixth of a server's selection time.
fn by_score(scored: &[Scored]) -> Vec<usize> {
    // Sorted as compact (score, index) pairs: comparing through the index read two of the
    // large `Scored` per comparison.
    let mut order: Vec<(f64, usize)> = scored.iter().map(|t| t.score).zip(0..).collect();
    order.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    order.into_iter().map(|(_, i)| i).collect()
}

/// The subset for `target`: the model's choice plus the tests that always run.
fn choose(s: &Scoring, target: Target, config: &SelectConfig, reasons_for: usize) -> Selection {
    let order: Vec<&Scored> = by_score(&s.scored).into_iter().map(|i| &s.scored[i]).collect();
    let context = s.context();
    let threshold = match target {
        Target::Model => Some(s.model.threshold),
        Target::Recall(r) => Some(s.model.threshold_for(r)),
        Target::TimeBudget(_) | Target::Fraction(_) => None,
    };
    // Of the tests that ran the change, the ones the model's order lets go (once it is trusted,
    // and for a recall, not for a budget, which charges them first).
    let let_go = match (&s.coverage, target) {
        (Some(cov), Target::Model | Target::Recall(_)) if !s.gate_holds(target) && config.coverage_recall < 1.0 => {
            let p: HashMap<&str, f64> = s.scored.iter().map(|t| (&*t.test.id, t.score)).collect();
            cov.let_go(|t| p.get(t).copied().unwrap_or(1.0), config.coverage_recall)
        }
        _ => HashSet::new(),
    };
    // Each test's rules and what skips it, worked out once. Tests that run whatever the target
    // are charged to a time budget first.
    let judged: Vec<(Vec<Rule<'_>>, Option<SkipCause>)> = order
        .iter()
        .map(|t| {
            let rules = s.rules(t, &config.always, &let_go);
            let cause = s.skip_cause(t, &rules);
            (rules, cause)
        })
        .collect();
    let must = |rules: &[Rule<'_>]| rules.iter().any(Rule::runs);
    let total_s = seconds(order.iter().map(|t| t.estimated_s));
    let mut budget = match target {
        Target::TimeBudget(seconds) => seconds,
        Target::Fraction(f) => f * total_s,
        Target::Model | Target::Recall(_) => f64::INFINITY,
    };
    budget -= order
        .iter()
        .zip(&judged)
        .filter(|(_, (rules, cause))| must(rules) && cause.is_none())
        .map(|(t, _)| t.estimated_s)
        .sum::<f64>();
    let (mut selected, mut skipped) = (Vec::new(), Vec::new());
    let skip =
        |t: &Scored| Selected { score: t.score, estimated_s: t.estimated_s, reasons: vec![], test: t.test.clone() };
    let mut skips = SkipCounts::default();
    for (rank, (t, (rules, cause))) in order.into_iter().zip(judged).enumerate() {
        if let Some(cause) = cause {
            skips.count(cause);
            skipped.push(skip(t));
            continue;
        }
        let let_go = let_go.contains(&*t.test.id);
        let by_model = match threshold {
            Some(th) if t.score >= th => Some(format!("predicted failure score {:.3} ≥ threshold {th:.3}", t.score)),
            None if !must(&rules) && t.estimated_s <= budget => {
                budget -= t.estimated_s;
                Some(format!("rank {} by predicted failure score {:.3}, within the time budget", rank + 1, t.score))
            }
            _ => None,
        };
        let by_rule = rules.iter().any(|r| r.runs());
        let gated = by_model.is_none() && !by_rule && s.gate_holds(target);
        if by_model.is_none() && !by_rule && !gated {
            skips.let_go += usize::from(let_go);
            skipped.push(skip(t));
            continue;
        }
        // The words, only for the tests whose reasons are asked for (writing them for 10,000
        // tests was a good part of a server's answer).
        let mut reasons = Vec::new();
        if selected.len() < reasons_for {
            reasons.extend(by_model);
            reasons.extend(rules.iter().filter(|r| r.runs()).map(Rule::to_string));
            if gated {
                reasons.push("the trust gate is closed: the model orders tests but does not skip them yet".into());
            }
            reasons.extend(s.reasons(t, context.as_ref()));
        }
        selected.push(Selected { score: t.score, reasons, estimated_s: t.estimated_s, test: t.test.clone() });
    }
    keep_one(&mut selected, &mut skipped);
    Selection {
        mode: Mode::Subset,
        reason: None,
        model: Some(s.model_name.clone()),
        threshold,
        estimated_s: seconds(selected.iter().map(|t| t.estimated_s)),
        total_s,
        selected,
        skipped,
        quarantined: s.quarantined.clone(),
        shard: None,
        would_skip: None,
        gate: None,
        notes: skips.notes(threshold),
    }
}

/// Why a test is skipped before its score is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SkipCause {
    /// Its crate does not depend on any changed crate.
    Unreachable,
    /// Coverage accounts for the whole change, and the test ran none of it.
    NotRunByChange,
}

/// How many tests each cause skipped, for the selection's notes.
#[derive(Debug, Default)]
struct SkipCounts {
    unreachable: usize,
    not_run: usize,
    /// Tests that ran the change, let go by the model's order ([`CoverageRule::let_go`]) and
    /// under its threshold.
    let_go: usize,
}

impl SkipCounts {
    fn count(&mut self, cause: SkipCause) {
        match cause {
            SkipCause::Unreachable => self.unreachable += 1,
            SkipCause::NotRunByChange => self.not_run += 1,
        }
    }

    fn notes(&self, threshold: Option<f64>) -> Vec<String> {
        let mut notes = Vec::new();
        match self.unreachable {
            0 => {}
            1 => notes.push("1 test skipped: its crate does not depend on any changed crate".to_string()),
            n => notes.push(format!("{n} tests skipped: their crates do not depend on any changed crate")),
        }
        match self.not_run {
            0 => {}
            1 => notes.push("1 test skipped: its coverage ran none of the changed lines".to_string()),
            n => notes.push(format!("{n} tests skipped: their coverage ran none of the changed lines")),
        }
        let threshold = threshold.map(|th| format!(" ({th:.3})")).unwrap_or_default();
        match self.let_go {
            0 => {}
            1 => notes.push(format!(
                "1 test skipped that ran a changed line: the model ranks it below the likelier tests that ran the change, and under its threshold{threshold}"
            )),
            n => notes.push(format!(
                "{n} tests skipped that ran a changed line: the model ranks them below the likelier tests that ran the change, and under its threshold{threshold}"
            )),
        }
        notes
    }
}

/// A rule that decides about a test whatever its score, in the words its reason gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Rule<'a> {
    OwnFile,
    FailedOnBase,
    FailedUnseen,
    Always,
    /// Coverage says it ran a changed line (`path:line`).
    RanChangedLine {
        line: &'a str,
        commit: &'a str,
    },
    /// Coverage accounts for the change, and the test ran none of it.
    RanNoChangedLine {
        commit: &'a str,
    },
}

impl Rule<'_> {
    /// Whether the rule makes the test run.
    fn runs(&self) -> bool {
        !matches!(self, Rule::RanNoChangedLine { .. })
    }
}

impl std::fmt::Display for Rule<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::OwnFile => f.write_str("its own file changed"),
            Rule::FailedOnBase => f.write_str("it failed in the latest run of the base commit"),
            Rule::FailedUnseen => f.write_str("it failed in a run the selection state has not taken in yet"),
            Rule::Always => f.write_str("it matches --always"),
            Rule::RanChangedLine { line, commit } => {
                write!(f, "it ran a changed line ({line}) in the coverage of {}", short(commit))
            }
            Rule::RanNoChangedLine { commit } => {
                write!(f, "it ran none of the changed lines in the coverage of {}", short(commit))
            }
        }
    }
}

impl Scoring {
    /// The rules that apply to `t`, in the order its reasons list them.
    fn rules(&self, t: &Scored, always: &[String], let_go: &HashSet<String>) -> Vec<Rule<'_>> {
        let mut rules = Vec::new();
        if t.own_file_changed {
            rules.push(Rule::OwnFile);
        }
        if self.failed_on_base.contains(&t.test.store_id) {
            rules.push(Rule::FailedOnBase);
        }
        if self.failed_unseen.contains(&t.test.store_id) {
            rules.push(Rule::FailedUnseen);
        }
        if always.iter().any(|p| matches_pattern(p, &t.test.id)) {
            rules.push(Rule::Always);
        }
        if let Some(cov) = &self.coverage {
            if let Some(line) = cov.ran.get(&*t.test.id) {
                if !let_go.contains(&*t.test.id) {
                    rules.push(Rule::RanChangedLine { line, commit: &cov.commit });
                }
            } else if cov.skips(&t.test.id) {
                rules.push(Rule::RanNoChangedLine { commit: &cov.commit });
            }
        }
        rules
    }

    /// Why `t` is skipped whatever its score, unless one of its `rules` keeps tests (failed on
    /// the base or in a run not taken in yet, `--always`).
    fn skip_cause(&self, t: &Scored, rules: &[Rule<'_>]) -> Option<SkipCause> {
        if rules.iter().any(|r| matches!(r, Rule::FailedOnBase | Rule::FailedUnseen | Rule::Always)) {
            return None;
        }
        if self.unreachable.contains(&t.test.store_id) {
            return Some(SkipCause::Unreachable);
        }
        self.coverage.as_ref().filter(|c| c.skips(&t.test.id)).map(|_| SkipCause::NotRunByChange)
    }
}
