//! The conformance suite of the storage interface: each guarantee of `backend` as a check that
//! panics, with what broke, on an implementation that does not keep it. `check_all` runs them
//! all, each on a fresh, empty history from `open`.

use super::History;
use crate::collect::git::{ChangeKind, ChangeSet, CommitInfo, FileChange};
use crate::collect::{CollectedRun, Outcome, RunInfo, TestResult};
use crate::store::{NewSelection, RecordStatus, Scope, StoreError, token_hash};

/// Runs every check, each on a fresh history.
pub fn check_all(open: &mut dyn FnMut() -> Box<dyn History>) {
    a_batch_is_stored_whole_or_not_at_all(open());
    the_same_run_again_changes_nothing(open());
    other_content_needs_replace(open());
    the_state_is_a_prefix_of_the_history(open(), open());
    tokens_are_found_by_hash_until_revoked(open());
    a_run_recorded_at_the_end_is_never_behind_the_newest(open());
    reads_agree_with_the_history_order(open());
    quarantine_and_release_say_what_changed(open());
    a_kept_selection_is_measured_against_its_commits_run(open());
    coverage_is_read_back_as_recorded(open());
    profiles_are_stored_once_and_merged(open());
    window_counts_cover_the_runs_in_it(open());
    the_state_generation_changes_only_when_the_state_is_redone(open());
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
            base_columns: vec![],
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
    // And the co-failure counts: r1 and r4 changed src/a.rs and failed a, r3 src/b.rs and b.
    let keys: Vec<String> = ["src/a.rs", "src/b.rs", "src/other.rs", "src/none.rs"].map(String::from).to_vec();
    let named = |h: &dyn History| {
        let names: std::collections::HashMap<i64, String> =
            h.test_rows().unwrap().into_iter().map(|t| (t.id, t.name)).collect();
        let rows = h.cofail_rows(&keys).unwrap();
        let mut failed: Vec<(String, String, u32)> =
            rows.failed.iter().map(|&(k, t, n)| (rows.keys[k].0.clone(), names[&t].clone(), n)).collect();
        failed.sort();
        (rows.keys, failed)
    };
    let (got, want) = (named(h.as_ref()), named(fresh.as_ref()));
    assert_eq!(got, want, "co-failure counts equal those built over the history in order");
    assert_eq!(got.1, [("src/a.rs".into(), "a".into(), 2), ("src/b.rs".into(), "b".into(), 1)], "{got:?}");
    assert_eq!(got.0, [("src/a.rs".into(), 2), ("src/b.rs".into(), 1), ("src/other.rs".into(), 2)]);
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

/// A run stored at the end takes the newest stored run's time when its own is earlier, and a
/// retry of it is still the same content.
pub fn a_run_recorded_at_the_end_is_never_behind_the_newest(mut h: Box<dyn History>) {
    h.record_runs(&[run("r1", 500, None)], false).unwrap();
    let late = run("r0", 100, Some("a"));
    assert_eq!(h.record_at_end(&late, false).unwrap(), RecordStatus::Inserted);
    assert_eq!(h.record_at_end(&late, false).unwrap(), RecordStatus::Unchanged, "a retry is a no-op");
    assert_eq!(h.run_ids().unwrap(), ["r1", "r0"], "stored after the newest run");
    let newest = h.runs(1).unwrap();
    assert_eq!((newest[0].run_id.as_str(), newest[0].time), ("r0", 500));
    let other = run("r0", 100, Some("b"));
    assert!(matches!(h.record_at_end(&other, false), Err(StoreError::RunConflict { .. })));
}

/// Run lists, replays and a test's history read the same history order; unknown names are `None`.
pub fn reads_agree_with_the_history_order(mut h: Box<dyn History>) {
    h.record_runs(&[run("r2", 200, Some("a")), run("r1", 100, None), run("r3", 300, None)], false).unwrap();
    assert_eq!(h.run_count().unwrap(), 3);
    assert!(h.has_run("r2").unwrap() && !h.has_run("r9").unwrap());
    let newest_first: Vec<String> = h.runs(10).unwrap().into_iter().map(|r| r.run_id).collect();
    assert_eq!(newest_first, ["r3", "r2", "r1"]);
    let replay = h.replay().unwrap();
    let order: Vec<&str> = replay.runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(order, ["r1", "r2", "r3"], "a replay is oldest first");
    assert_eq!(replay.runs[1].results.len(), 3);
    let a = h.test_id("a").unwrap().expect("test a is known");
    assert_eq!(h.test_id("zz").unwrap(), None);
    let rows = h.test_rows().unwrap();
    assert_eq!(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["a", "b", "c"]);
    assert!(rows.iter().any(|r| r.id == a));
    let history = h.history("a", 2).unwrap().expect("a has a history");
    let seen: Vec<(&str, Outcome)> = history.iter().map(|e| (e.run_id.as_str(), e.outcome)).collect();
    assert_eq!(seen, [("r3", Outcome::Pass), ("r2", Outcome::Fail)], "newest first, at most the limit");
    assert!(h.history("zz", 2).unwrap().is_none());
    let latest: Vec<i64> = h.latest_runs_with_results(2).unwrap().iter().map(|k| k.time).collect();
    assert_eq!(latest, [300, 200]);
    assert_eq!(h.failed_in_latest_run_of("cr2").unwrap(), [a]);
}

/// Quarantining and releasing report whether anything changed.
pub fn quarantine_and_release_say_what_changed(mut h: Box<dyn History>) {
    h.record_runs(&[run("r1", 100, Some("a"))], false).unwrap();
    let a = h.test_id("a").unwrap().unwrap();
    assert!(h.quarantine(a, 150, Some("flaky")).unwrap());
    assert!(!h.quarantine(a, 160, None).unwrap(), "already quarantined");
    assert_eq!(h.quarantined().unwrap(), [(a, 150, Some("flaky".to_string()))]);
    assert!(h.release(a).unwrap());
    assert!(!h.release(a).unwrap(), "not quarantined any more");
    assert!(h.quarantined().unwrap().is_empty());
}

/// A kept selection is measured against the next run of its commit: a failing test it skipped
/// is a miss.
pub fn a_kept_selection_is_measured_against_its_commits_run(mut h: Box<dyn History>) {
    h.record_runs(&[run("r1", 100, None)], false).unwrap();
    h.refresh_state().unwrap();
    assert!(!h.has_selections().unwrap());
    let id = |h: &dyn History, t: &str| h.test_id(t).unwrap().unwrap();
    let kept = NewSelection {
        commit: "cr2".into(),
        base: None,
        created_at: 150,
        subset: true,
        observe: false,
        reason: None,
        model: Some("m".into()),
        threshold: Some(0.5),
        shard: None,
        estimated_s: 0.5,
        total_s: 1.5,
        selected: vec![id(h.as_ref(), "a")],
        skipped: vec![id(h.as_ref(), "b"), id(h.as_ref(), "c")],
    };
    h.keep_selection(&kept, std::time::Duration::from_secs(5)).unwrap();
    assert!(h.has_selections().unwrap());
    h.record_runs(&[run("r2", 200, Some("b"))], false).unwrap();
    h.refresh_state().unwrap();
    let stats = h.selection_stats(None, None).unwrap();
    assert_eq!((stats.selections, stats.subsets, stats.failing, stats.caught), (1, 1, 1, 0));
    assert_eq!(stats.misses, 1, "the skipped failing test is a miss: {stats:?}");
    assert_eq!(h.recent_judgements(10, "other").unwrap(), (0, 1));
}

/// Per-test coverage of a commit is read back file by file, and commits without any are absent.
pub fn coverage_is_read_back_as_recorded(mut h: Box<dyn History>) {
    use crate::collect::lcov::{FileLines, TestCoverage};
    let cov = |test: &str, hit: &[u32], unrun: &[(u32, u32, u32)]| TestCoverage {
        test: test.into(),
        files: [(
            "src/a.rs".to_string(),
            FileLines { executable: vec![1, 2, 3, 4], hit: hit.to_vec(), unrun: unrun.to_vec() },
        )]
        .into(),
    };
    let spans = [(1, 5, 9), (2, 3, u32::MAX)];
    let recorded = h.record_coverage("c1", &[cov("t::x", &[1, 2], &spans), cov("t::y", &[4], &[])]).unwrap();
    assert_eq!(recorded.tests, 2);
    let commits = h.coverage_commits().unwrap();
    assert_eq!(commits.iter().map(|c| (c.commit.as_str(), c.tests)).collect::<Vec<_>>(), [("c1", 2)]);
    assert!(h.coverage_commit_set().unwrap().contains("c1"));
    let at = h.coverage_at("c1", &["src/a.rs"]).unwrap();
    assert_eq!(at.tests.len(), 2);
    assert_eq!(at.executable["src/a.rs"], [1, 2, 3, 4]);
    let mut hits = at.hits["src/a.rs"].clone();
    hits.sort();
    assert_eq!(hits, [("t::x".to_string(), vec![1, 2]), ("t::y".to_string(), vec![4])]);
    // Region coverage's unrun columns, for the tests that have them.
    assert_eq!(at.unrun["src/a.rs"].len(), 1);
    assert_eq!(at.unrun["src/a.rs"]["t::x"], spans);
    let copied = h.coverage_tests("c1").unwrap();
    let x = copied.iter().find(|t| t.test == "t::x").unwrap();
    assert_eq!(x.files["src/a.rs"].unrun, spans, "a copy of the store keeps them");
    assert!(h.coverage_at("c2", &["src/a.rs"]).unwrap().tests.is_empty(), "no coverage at another commit");
}

/// A profile is stored once per (bench, run); the same again is a no-op; merged stacks add up.
pub fn profiles_are_stored_once_and_merged(mut h: Box<dyn History>) {
    use crate::store::NewProfile;
    let profile = |run: &str, n: u64| NewProfile {
        bench: "b".into(),
        run_id: run.into(),
        commit: "c1".into(),
        time: Some(100),
        source: "perf".into(),
        stacks: vec![(vec!["main".into(), "work".into()], n), (vec!["main".into()], 1)],
        sample_count: n + 1,
    };
    assert_eq!(h.record_profiles(&[profile("p1", 3), profile("p2", 5)], false).unwrap(), [RecordStatus::Inserted; 2]);
    assert_eq!(h.record_profiles(&[profile("p1", 3)], false).unwrap(), [RecordStatus::Unchanged]);
    assert_eq!(h.benches().unwrap(), [("b".to_string(), 2, 1)]);
    let runs = h.profile_runs("b").unwrap();
    assert_eq!(runs.iter().map(|r| (r.run_id.as_str(), r.samples)).collect::<Vec<_>>(), [("p1", 4), ("p2", 6)]);
    let mut merged = h.merged_stacks(&runs.iter().map(|r| r.id).collect::<Vec<_>>()).unwrap();
    merged.sort();
    assert_eq!(merged, [(vec!["main".to_string()], 2), (vec!["main".to_string(), "work".to_string()], 8)]);
    let frames = h.frame_samples(&[runs[0].id]).unwrap();
    assert_eq!(frames.iter().map(|f| f.total_samples).max(), Some(4), "main holds every sample of p1");
}

/// Counts over a time window take the runs in `[from, to)` only.
pub fn window_counts_cover_the_runs_in_it(mut h: Box<dyn History>) {
    h.record_runs(&[run("r1", 100, Some("a")), run("r2", 200, None), run("r3", 300, Some("a"))], false).unwrap();
    assert_eq!(h.runs_between(100, 300).unwrap(), (2, 1), "r1 and r2; r1 failed");
    assert_eq!(h.runs_between(0, 1000).unwrap(), (3, 2));
    let failing = h.most_failing(0, 1000, 5).unwrap();
    assert_eq!(failing.len(), 1, "only a failed: {failing:?}");
    let stats = h.stats().unwrap();
    assert_eq!((stats.runs, stats.tests, stats.first_run, stats.last_run), (3, 3, Some(100), Some(300)));
    assert!(!h.location().is_empty());
}

/// The state's generation stays while the state only grows, and changes when it is redone (a
/// replaced run, a run stored behind it): what a reader keeping counters relies on.
pub fn the_state_generation_changes_only_when_the_state_is_redone(mut h: Box<dyn History>) {
    let meta = |h: &dyn History| h.state_meta().unwrap().expect("a state");
    h.record_runs(&[run("r1", 100, Some("a")), run("r2", 200, None)], false).unwrap();
    h.refresh_state().unwrap();
    let first = meta(h.as_ref());
    h.record_runs(&[run("r3", 300, None)], false).unwrap();
    h.refresh_state().unwrap();
    let grown = meta(h.as_ref());
    assert_eq!((grown.runs, grown.generation), (3, first.generation), "taking in runs keeps the generation");
    h.record_runs(&[run("r1", 100, Some("b"))], true).unwrap();
    h.refresh_state().unwrap();
    let replaced = meta(h.as_ref());
    assert_eq!((replaced.runs, replaced.last), (grown.runs, grown.last), "the same runs and last run");
    assert_ne!(replaced.generation, grown.generation, "a replaced run redoes the state");
    h.record_runs(&[run("r0", 50, None)], false).unwrap();
    h.refresh_state().unwrap();
    let behind = meta(h.as_ref());
    assert_eq!(behind.runs, 4);
    assert_ne!(behind.generation, replaced.generation, "a run stored behind the state redoes it");
}
