//! The conformance suite of the storage interface: each guarantee of `backend` as a check that
//! panics, with what broke, on an implementation that does not keep it. `check_all` runs them
//! all, each on a fresh, empty history from `open`.

use super::History;
use crate::collect::git::{ChangeKind, ChangeSet, CommitInfo, FileChange};
use crate::collect::{CollectedRun, Outcome, RunInfo, TestResult};
use crate::store::{RecordStatus, Scope, StoreError, token_hash};

/// Runs every check, each on a fresh history.
pub fn check_all(open: &mut dyn FnMut() -> Box<dyn History>) {
    a_batch_is_stored_whole_or_not_at_all(open());
    the_same_run_again_changes_nothing(open());
    other_content_needs_replace(open());
    the_state_is_a_prefix_of_the_history(open(), open());
    tokens_are_found_by_hash_until_revoked(open());
}

fn result(id: &str, outcome: Outcome, duration_s: f64) -> TestResult {
    TestResult {
        id: id.into(),
        suite: None,
        file: None,
        outcome,
        duration_s: Some(duration_s),
        attempts: 1,
        message: None,
    }
}

/// A run of three tests at `time`; `failing` fails, and its commit changed `src/{failing}.rs`.
pub fn run(id: &str, time: i64, failing: Option<&str>) -> CollectedRun {
    let results = ["a", "b", "c"]
        .iter()
        .map(|t| result(t, if Some(*t) == failing { Outcome::Fail } else { Outcome::Pass }, 0.5))
        .collect();
    let file = failing.unwrap_or("other");
    let changes = ChangeSet {
        commit: CommitInfo { sha: format!("c{id}"), parents: vec![], author: "a".into(), time, summary: String::new() },
        base: None,
        files: vec![FileChange {
            path: format!("src/{file}.rs"),
            old_path: None,
            kind: ChangeKind::Modified,
            added: Some(1),
            deleted: Some(1),
            binary: false,
            symbols: vec![],
            base_lines: vec![],
            comment_hunks: 0,
        }],
        complete: true,
        warnings: vec![],
    };
    let info = RunInfo {
        run_id: id.into(),
        commit: format!("c{id}"),
        base: None,
        branch: Some("main".into()),
        job: None,
        time,
        source: "junit".into(),
    };
    CollectedRun { info, results, changes: Some(changes) }
}

fn outcomes(h: &dyn History, id: &str) -> Vec<(String, Outcome)> {
    let results = h.run_results(id).unwrap().unwrap_or_else(|| panic!("run {id} is not stored"));
    results.into_iter().map(|r| (r.id, r.outcome)).collect()
}

/// A batch whose last run conflicts with a stored one stores none of the batch.
pub fn a_batch_is_stored_whole_or_not_at_all(mut h: Box<dyn History>) {
    h.record_runs(&[run("r1", 100, None)], false).unwrap();
    let conflicting = run("r1", 100, Some("a"));
    let batch = [run("r2", 200, None), run("r3", 300, Some("b")), conflicting];
    let err = h.record_runs(&batch, false).expect_err("a conflicting run in the batch");
    assert!(matches!(err, StoreError::RunConflict { .. }), "refused as a conflict: {err}");
    assert_eq!(h.run_ids().unwrap(), ["r1"], "nothing of the refused batch is stored");
    assert_eq!(h.run_results("r2").unwrap(), None);
    assert_eq!(outcomes(h.as_ref(), "r1")[0].1, Outcome::Pass, "the stored run is as it was");
}

/// Recording the same content again is a no-op.
pub fn the_same_run_again_changes_nothing(mut h: Box<dyn History>) {
    assert_eq!(h.record_runs(&[run("r1", 100, Some("a"))], false).unwrap(), [RecordStatus::Inserted]);
    let before = outcomes(h.as_ref(), "r1");
    for _ in 0..2 {
        assert_eq!(h.record_runs(&[run("r1", 100, Some("a"))], false).unwrap(), [RecordStatus::Unchanged]);
    }
    assert_eq!(h.run_ids().unwrap(), ["r1"]);
    assert_eq!(outcomes(h.as_ref(), "r1"), before);
}

/// Other content under a stored run id is refused, and stored only with `replace`.
pub fn other_content_needs_replace(mut h: Box<dyn History>) {
    h.record_runs(&[run("r1", 100, Some("a"))], false).unwrap();
    let other = run("r1", 100, Some("b"));
    assert!(matches!(h.record_runs(std::slice::from_ref(&other), false), Err(StoreError::RunConflict { .. })));
    assert_eq!(outcomes(h.as_ref(), "r1")[0], ("a".into(), Outcome::Fail), "the refused content is not stored");
    assert_eq!(h.record_runs(&[other], true).unwrap(), [RecordStatus::Replaced]);
    let now = outcomes(h.as_ref(), "r1");
    assert_eq!((now[0].1, now[1].1), (Outcome::Pass, Outcome::Fail), "replaced");
    assert_eq!(h.run_ids().unwrap(), ["r1"]);
}

/// Runs stored out of time order, and refreshes between them, leave the state equal to a state
/// built over the same history stored in order (`fresh` is an empty history to build it in).
pub fn the_state_is_a_prefix_of_the_history(mut h: Box<dyn History>, mut fresh: Box<dyn History>) {
    let runs = [
        run("r1", 100, Some("a")),
        run("r2", 200, None),
        run("r3", 300, Some("b")),
        run("r4", 400, Some("a")),
        run("r5", 500, None),
    ];
    // r4 first, then refresh; then r1–r3 behind the state; then r5.
    h.record_runs(&runs[3..4], false).unwrap();
    h.refresh_state().unwrap();
    h.record_runs(&runs[0..3], false).unwrap();
    if let Some(state) = h.selection_state().unwrap() {
        let ids = h.run_ids().unwrap();
        assert!(state.runs as usize <= ids.len());
        let mut prefix = fresh_state(&runs_by_ids(&runs, &ids[..state.runs as usize]));
        assert_eq!(Some(state), prefix.take(), "a state kept after runs were stored behind it is a prefix's");
    }
    h.refresh_state().unwrap();
    h.record_runs(&runs[4..5], false).unwrap();
    h.refresh_state().unwrap();
    assert_eq!(h.run_ids().unwrap(), ["r1", "r2", "r3", "r4", "r5"], "history order is time order");
    fresh.record_runs(&runs, false).unwrap();
    fresh.refresh_state().unwrap();
    let (got, want) = (h.selection_state().unwrap(), fresh.selection_state().unwrap());
    assert_eq!(got.as_ref().map(|s| s.runs), Some(5));
    assert_eq!(got, want, "the state equals one built over the history in order");
}

fn runs_by_ids(runs: &[CollectedRun], ids: &[String]) -> Vec<CollectedRun> {
    ids.iter().map(|id| runs.iter().find(|r| &r.info.run_id == id).expect("known run").clone()).collect()
}

/// The state of a history of `runs` alone, built in a temporary SQLite store (the reference).
fn fresh_state(runs: &[CollectedRun]) -> Option<super::StateSnapshot> {
    let dir = tempfile::tempdir().ok()?;
    let mut reference = crate::store::Store::open(&dir.path().join("reference.db")).ok()?;
    History::record_runs(&mut reference, runs, false).ok()?;
    History::refresh_state(&mut reference).ok()?;
    History::selection_state(&reference).ok()?
}

/// Tokens: found by the hash of their secret, never by anything else, and not once revoked.
pub fn tokens_are_found_by_hash_until_revoked(mut h: Box<dyn History>) {
    let id = h.create_token("ci", &[Scope::Ci], &token_hash("seer_secret"), 10).unwrap();
    assert_eq!(h.token_by_hash(&token_hash("seer_secret")).unwrap().map(|t| t.id), Some(id));
    assert_eq!(h.token_by_hash("seer_secret").unwrap(), None, "the secret itself is not a key");
    assert!(h.revoke_token(&id.to_string(), 20).unwrap());
    assert_eq!(h.token_by_hash(&token_hash("seer_secret")).unwrap(), None);
    assert_eq!(h.tokens().unwrap().len(), 1, "a revoked token is still listed");
}
