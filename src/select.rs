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
    pub target: Target,
    /// Return only this shard of the selection.
    pub shard: Option<Shard>,
    /// Test id patterns (`*` matches any text) selected whatever their score.
    pub always: Vec<String>,
}

/// Whether `id` matches `pattern`, where `*` matches any run of characters.
pub fn matches_pattern(pattern: &str, id: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == id;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !id.starts_with(first) || !id[first.len()..].ends_with(last) || id.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &id[first.len()..id.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// What decides how much is selected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// The model's calibrated threshold.
    Model,
    /// The threshold that reached this recall of failing tests on the model's validation window.
    Recall(f64),
    /// The highest-scoring tests that fit in this many seconds of estimated test time.
    TimeBudget(f64),
    /// The highest-scoring tests that fit in this share of the candidates' estimated test time.
    Fraction(f64),
}

/// One of `count` parallel CI jobs (1-based `index`), each running a duration-balanced part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
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
    /// Mean past duration in seconds (the mean over all tests when it never recorded one).
    pub estimated_s: f64,
    /// The suite prefix of the id (nextest binary id, JUnit classname), when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
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
    /// Set when the answer is one shard: `selected` holds this shard's tests only.
    pub shard: Option<Shard>,
    /// Estimated seconds of the selected tests (of this shard).
    pub estimated_s: f64,
}

impl Selection {
    /// A `cargo nextest run -E` filterset selecting exactly these tests: `all()` when every test
    /// runs, `none()` for an empty subset, else `(binary_id(=B) & test(=T)) | …` (or `test(=ID)`
    /// for a test without a recorded binary).
    pub fn nextest_filter(&self) -> String {
        if self.mode == Mode::All && self.shard.is_none() {
            return "all()".into();
        }
        if self.selected.is_empty() {
            return "none()".into();
        }
        let terms: Vec<String> = self
            .selected
            .iter()
            .map(|t| match t.suite.as_deref().and_then(|s| Some((s, t.id.strip_prefix(s)?.strip_prefix("::")?))) {
                Some((binary, test)) => format!("(binary_id(={binary}) & test(={test}))"),
                None => format!("test(={})", t.id),
            })
            .collect();
        terms.join(" | ")
    }

    /// Every test, with the reason.
    pub fn all(reason: String, tests: Vec<Selected>) -> Selection {
        Selection {
            mode: Mode::All,
            reason: Some(reason),
            model: None,
            threshold: None,
            estimated_s: tests.iter().map(|t| t.estimated_s).sum(),
            selected: tests,
            skipped: vec![],
            shard: None,
        }
    }

    /// Keeps this shard's part of the selection: tests go, longest first, to the shard with the
    /// least estimated time so far (ties to the lower shard), so shards finish close together.
    pub fn keep_shard(mut self, shard: Shard) -> Selection {
        let mut order: Vec<usize> = (0..self.selected.len()).collect();
        order.sort_by(|&a, &b| self.selected[b].estimated_s.total_cmp(&self.selected[a].estimated_s).then(a.cmp(&b)));
        let mut load = vec![0.0f64; shard.count];
        let mut owner = vec![0; self.selected.len()];
        for i in order {
            let k = (0..shard.count).min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b))).expect("shards");
            load[k] += self.selected[i].estimated_s;
            owner[i] = k;
        }
        let mut kept = Vec::new();
        for (s, k) in std::mem::take(&mut self.selected).into_iter().zip(owner) {
            if k + 1 == shard.index {
                kept.push(s);
            }
        }
        self.estimated_s = kept.iter().map(|s| s.estimated_s).sum();
        self.selected = kept;
        self.shard = Some(shard);
        self
    }
}

/// Mean past duration of every test; for tests without one, the mean over all tests (or 1 s).
fn estimates(replay: &Replay) -> Vec<f64> {
    let mut sums = vec![(0.0, 0u32); replay.tests.len()];
    for r in replay.runs.iter().flat_map(|r| &r.results) {
        if let Some(d) = r.duration_s {
            sums[r.test as usize].0 += d;
            sums[r.test as usize].1 += 1;
        }
    }
    let (total, n) = sums.iter().fold((0.0, 0u32), |(t, n), (s, c)| (t + s, n + c));
    let fallback = if n > 0 { total / f64::from(n) } else { 1.0 };
    sums.iter().map(|&(s, c)| if c > 0 { s / f64::from(c) } else { fallback }).collect()
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

/// Selects the tests for `request.commit` from the store at `db`; never an error (see the module
/// docs).
pub fn select(db: &Path, request: &SelectRequest) -> Selection {
    let selection = match Store::open_existing(db) {
        Ok(store) => select_from(&store, request),
        Err(e) => Selection::all(format!("no usable store: {e}"), vec![]),
    };
    match request.shard {
        Some(shard) => selection.keep_shard(shard),
        None => selection,
    }
}

/// A test's id and suite prefix (nextest binary id, JUnit classname; for runner filters).
fn test_of(replay: &Replay, t: u32) -> (String, Option<String>) {
    let id = &replay.tests[t as usize];
    let suite = replay.test_suite_lens[t as usize].and_then(|n| id.get(..n)).map(str::to_string);
    (id.clone(), suite)
}

fn select_from(store: &Store, request: &SelectRequest) -> Selection {
    let mut replay = match store.replay() {
        Ok(r) => r,
        Err(e) => return Selection::all(format!("cannot read the store: {e}"), vec![]),
    };
    let known = candidates(&replay, request.recent_runs);
    let estimate = estimates(&replay);
    let every = |replay: &Replay| -> Vec<Selected> {
        known
            .iter()
            .map(|&t| {
                let (id, suite) = test_of(replay, t);
                Selected { id, score: 1.0, reasons: vec![], estimated_s: estimate[t as usize], suite }
            })
            .collect()
    };
    let all = |reason: String, replay: &Replay| Selection::all(reason, every(replay));
    if known.is_empty() {
        return Selection::all("no recorded runs yet: nothing to learn from".into(), vec![]);
    }
    let (_, change) = match read_changes(&request.repo, &request.commit, request.base.as_deref()) {
        Ok(c) => c,
        Err(why) => return all(format!("cannot read the change of {}: {why}", request.commit), &replay),
    };
    if let Some(f) = change.files.iter().find(|f| is_build_file(&f.path)) {
        return all(format!("a build or CI file changed ({}): anything may break", f.path), &replay);
    }
    if !change.complete {
        return all(format!("the change of {} is incomplete: {}", request.commit, change.warnings.join("; ")), &replay);
    }
    let (model, model_name) = match latest(&request.models) {
        Some(path) => match ModelFile::load(&path) {
            Ok(m) => (m, path.display().to_string()),
            Err(e) => return all(format!("the model is unusable: {e}"), &replay),
        },
        None => match cold_start() {
            Ok(m) => (m, crate::model::COLD_START_NAME.to_string()),
            Err(e) => return all(format!("the bundled model is unusable: {e}"), &replay),
        },
    };
    if !model.matches_features() {
        return all(
            format!("the model {model_name} reads other features than this seer computes: retrain it"),
            &replay,
        );
    }
    let base = change.base.clone().unwrap_or_default();
    match score(&mut replay, &known, &change.files, &base, &model, &estimate) {
        Ok(mut scored) => {
            for s in &mut scored {
                s.always = request.always.iter().any(|p| matches_pattern(p, &s.id));
            }
            subset(scored, &model, model_name, request.target)
        }
        Err(e) => all(format!("internal error while scoring: {e}"), &replay),
    }
}

struct Scored {
    id: String,
    suite: Option<String>,
    score: f64,
    own_file_changed: bool,
    failed_last: bool,
    cofail_file: f64,
    token_overlap: f64,
    estimated_s: f64,
    /// Matches an `--always` pattern.
    always: bool,
}

/// Scores the candidates as the tests of one more run, after every recorded run (appended to
/// `replay` for the features, and taken off again).
fn score(
    replay: &mut Replay,
    known: &[u32],
    files: &[crate::collect::git::FileChange],
    base: &str,
    model: &ModelFile,
    estimate: &[f64],
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
    let table = all_features(replay);
    replay.runs.pop();
    let table = table?;
    let rows = table.run_rows[replay.runs.len()].clone();
    let width = model.feature_set.width();
    let x = table.x.slice(ndarray::s![rows.clone(), ..width]);
    let scores = model.predictor.failure_probability(x);
    let column = |name: &str| FEATURES.iter().chain(CHANGE_FEATURES).position(|(n, _)| *n == name).expect("a feature");
    let (own, cofail, tokens) = (column("own_file_changed"), column("cofail_file"), column("token_overlap"));
    Ok(rows
        .zip(scores)
        .map(|(row, score)| {
            let t = table.test[row];
            let (id, suite) = test_of(replay, t);
            Scored {
                id,
                suite,
                score,
                own_file_changed: table.x[[row, own]] > 0.5,
                failed_last: failed_on_base[t as usize],
                cofail_file: table.x[[row, cofail]],
                token_overlap: table.x[[row, tokens]],
                estimated_s: estimate[t as usize],
                always: false,
            }
        })
        .collect())
}

fn subset(mut scored: Vec<Scored>, model: &ModelFile, model_name: String, target: Target) -> Selection {
    scored.sort_by(|a, b| b.score.total_cmp(&a.score));
    let threshold = match target {
        Target::Model => Some(model.threshold),
        Target::Recall(r) => Some(model.threshold_for(r)),
        Target::TimeBudget(_) | Target::Fraction(_) => None,
    };
    // Tests that run whatever the target, charged to a time budget first.
    let must = |s: &Scored| s.own_file_changed || s.failed_last || s.always;
    let mut budget = match target {
        Target::TimeBudget(seconds) => seconds,
        Target::Fraction(f) => f * scored.iter().map(|s| s.estimated_s).sum::<f64>(),
        Target::Model | Target::Recall(_) => f64::INFINITY,
    };
    budget -= scored.iter().filter(|s| must(s)).map(|s| s.estimated_s).sum::<f64>();
    let (mut selected, mut skipped) = (Vec::new(), Vec::new());
    for (rank, s) in scored.into_iter().enumerate() {
        let mut reasons = Vec::new();
        match threshold {
            Some(t) if s.score >= t => {
                reasons.push(format!("predicted failure score {:.3} ≥ threshold {t:.3}", s.score));
            }
            None if !must(&s) && s.estimated_s <= budget => {
                budget -= s.estimated_s;
                reasons.push(format!(
                    "rank {} by predicted failure score {:.3}, within the time budget",
                    rank + 1,
                    s.score
                ));
            }
            _ => {}
        }
        if s.own_file_changed {
            reasons.push("its own file changed".into());
        }
        if s.failed_last {
            reasons.push("it failed in the latest run of the base commit".into());
        }
        if s.always {
            reasons.push("it matches --always".into());
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
        selected.push(Selected { id: s.id, score: s.score, reasons, estimated_s: s.estimated_s, suite: s.suite });
    }
    Selection {
        mode: Mode::Subset,
        reason: None,
        model: Some(model_name),
        threshold,
        estimated_s: selected.iter().map(|s| s.estimated_s).sum(),
        selected,
        skipped,
        shard: None,
    }
}

/// The models directory beside a store.
pub fn default_models_dir(db: &Path) -> PathBuf {
    db.parent().unwrap_or(Path::new(".")).join("models")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_with_stars_anywhere() {
        assert!(matches_pattern("suite::a_works", "suite::a_works"));
        assert!(!matches_pattern("suite::a", "suite::a_works"));
        assert!(matches_pattern("suite::*", "suite::a_works"));
        assert!(matches_pattern("*works", "suite::a_works"));
        assert!(matches_pattern("*::a_*s", "suite::a_works"));
        assert!(matches_pattern("*", ""));
        assert!(!matches_pattern("a*a", "a"), "the two ends may not overlap");
        assert!(!matches_pattern("*b*", "suite::a_works"));
    }

    #[test]
    fn shards_balance_estimated_time_longest_first() {
        let tests = [("a", 5.0), ("b", 4.0), ("c", 3.0), ("d", 3.0), ("e", 1.0)];
        let tests = tests
            .iter()
            .map(|(id, d)| Selected { id: id.to_string(), score: 1.0, reasons: vec![], estimated_s: *d, suite: None })
            .collect();
        let all = Selection::all("x".into(), tests);
        let shard = |index| all.clone().keep_shard(Shard { index, count: 2 });
        let (one, two) = (shard(1), shard(2));
        let ids = |s: &Selection| s.selected.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
        // Longest first to the lighter shard: a→1, b→2, c→2, d→1, e→2 (8 s and 8 s).
        assert_eq!(
            (ids(&one), ids(&two)),
            (vec!["a".to_string(), "d".into()], vec!["b".into(), "c".into(), "e".into()])
        );
        assert_eq!((one.estimated_s, two.estimated_s), (8.0, 8.0));
    }
}
