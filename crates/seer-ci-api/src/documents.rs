//! The documents: every top-level one carries `format_version`.
//!
//! Fields are only ever added within a version; a change that could break a reader bumps it. The
//! run document that `seer show run --json` prints is also the line format of `seer import` (JSON
//! lines), so a store can be moved or rebuilt run by run.

use serde::{Deserialize, Serialize};

/// The version of every JSON document seer writes.
pub const FORMAT_VERSION: u32 = 1;

fn format_version() -> u32 {
    FORMAT_VERSION
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// A time as RFC 3339 text (what seer writes) or Unix seconds (also accepted on input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TimeJson {
    Seconds(i64),
    Text(String),
}

/// One run with its results: `seer show run --json`, and one line of `seer import` JSON lines.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunJson {
    #[serde(default = "format_version")]
    pub format_version: u32,
    pub run_id: String,
    pub commit: String,
    #[serde(default)]
    pub base: Option<String>,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub job: Option<String>,
    /// When the run happened; on input, missing means the time of the import.
    #[serde(default)]
    pub time: Option<TimeJson>,
    #[serde(default)]
    pub source: Option<String>,
    pub tests: Vec<TestJson>,
    #[serde(default)]
    pub changes: Option<ChangesJson>,
}

/// One test's result in a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestJson {
    pub id: String,
    /// `pass`, `fail`, `error` or `skip`.
    pub outcome: String,
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// Executions in this run; > 1 means retried (a pass with attempts > 1 is flaky).
    #[serde(default = "one")]
    pub attempts: u32,
    /// The group the test belongs to (JUnit classname, nextest binary id, Go package): the
    /// leading part of `id`. On input, a suite that is not a prefix of `id` is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What the run's commit changed against its base.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangesJson {
    /// The base commit; null for a root commit.
    #[serde(default)]
    pub base: Option<String>,
    #[serde(default = "yes")]
    pub complete: bool,
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub commit: Option<CommitJson>,
    pub files: Vec<FileJson>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommitJson {
    #[serde(default)]
    pub parents: Vec<String>,
    #[serde(default)]
    pub author: String,
    /// Author time, RFC 3339.
    #[serde(default)]
    pub time: Option<TimeJson>,
    #[serde(default)]
    pub summary: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileJson {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    /// `A`dded, `M`odified, `D`eleted, `R`enamed, `C`opied or `T`ype changed.
    pub status: String,
    #[serde(default)]
    pub added: Option<u32>,
    #[serde(default)]
    pub deleted: Option<u32>,
    #[serde(default)]
    pub binary: bool,
    /// Functions the change touches (see ARCHITECTURE.md, "change features").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbols: Vec<String>,
}

/// Outcome counts of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CountsJson {
    pub tests: u64,
    pub pass: u64,
    pub fail: u64,
    pub error: u64,
    pub skip: u64,
    /// Passed after a retry.
    pub flaky: u64,
}

/// `seer show run --json`: the run document plus its counts.
#[derive(Debug, Serialize)]
pub struct ShowRunJson {
    #[serde(flatten)]
    pub run: RunJson,
    pub counts: CountsJson,
    /// When seer stored it, RFC 3339.
    pub recorded_at: String,
}

/// `seer record --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct RecordJson {
    pub format_version: u32,
    pub run_id: String,
    pub commit: String,
    /// `inserted`, `unchanged` (the same run was recorded before) or `replaced`.
    pub status: String,
    pub counts: CountsJson,
    /// Report entries that repeated a test already seen, folded in as retries.
    pub repeated: u64,
    pub changes: Option<ChangeSummaryJson>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ChangeSummaryJson {
    pub base: Option<String>,
    pub files: u64,
    pub added: u64,
    pub deleted: u64,
    pub complete: bool,
}

/// `seer import --json`.
#[derive(Debug, Serialize)]
pub struct ImportJson {
    pub format_version: u32,
    pub files: Vec<String>,
    pub runs: u64,
    pub inserted: u64,
    pub unchanged: u64,
    pub replaced: u64,
    pub results: u64,
    /// Input rows folded into another row of the same test and run.
    pub folded_rows: u64,
}

/// One line of `seer runs --json`.
#[derive(Debug, Serialize)]
pub struct RunSummaryJson {
    pub run_id: String,
    pub commit: String,
    pub branch: Option<String>,
    pub job: Option<String>,
    pub time: String,
    pub counts: CountsJson,
}

/// `seer runs --json`.
#[derive(Debug, Serialize)]
pub struct RunsJson {
    pub format_version: u32,
    pub runs: Vec<RunSummaryJson>,
}

/// One run of one test, in `seer history --json`.
#[derive(Debug, Serialize)]
pub struct HistoryEntryJson {
    pub run_id: String,
    pub commit: String,
    pub time: String,
    pub outcome: String,
    pub duration_s: Option<f64>,
    pub attempts: u32,
    pub message: Option<String>,
}

/// `seer history TEST_ID --json`, newest first.
#[derive(Debug, Serialize)]
pub struct HistoryJson {
    pub format_version: u32,
    pub test_id: String,
    pub results: Vec<HistoryEntryJson>,
}

/// `seer stats --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct StatsJson {
    pub format_version: u32,
    pub store: String,
    pub schema_version: i64,
    pub runs: u64,
    pub tests: u64,
    pub commits_with_changes: u64,
    pub first_run: Option<String>,
    pub last_run: Option<String>,
    pub results: CountsJson,
    /// Runs with at least one failing (fail or error) test.
    pub failing_runs: u64,
    /// Tests that failed at least once.
    pub tests_ever_failed: u64,
    /// Tests that passed on retry at least once.
    pub tests_ever_flaky: u64,
    /// The trust gate as `seer select` would judge it now (with the store's newest project model).
    pub gate: GateJson,
    /// The bookkeeping of `seer select`.
    pub selection: SelectionStatsJson,
}

/// One contender in `seer eval --json`.
#[derive(Debug, Serialize)]
pub struct ContenderJson {
    pub name: String,
    /// Share of failing tests selected.
    pub test_recall: f64,
    /// Share of runs with a failing test in which at least one failing test was selected.
    pub run_recall: f64,
    /// Share of the test time selected.
    pub time_fraction: f64,
    /// Mean APFD of the ordering over runs with a failing test.
    pub apfd: f64,
    /// Mean NAPFD of the selection over runs with a failing test.
    pub napfd: f64,
    pub precision: f64,
    pub f1: f64,
    pub failing_tests: u64,
    pub failing_tests_selected: u64,
    pub faulty_runs: u64,
    pub faulty_runs_caught: u64,
    /// For a learned contender: how often each model kind was chosen at its retrainings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub models_chosen: Vec<(String, u64)>,
}

/// `seer eval --json`.
#[derive(Debug, Serialize)]
pub struct EvalJson {
    pub format_version: u32,
    pub runs: u64,
    /// Runs scored, after the warm-up.
    pub evaluated_runs: u64,
    pub warmup: u64,
    /// The budget of every contender: share of each run's estimated test time; null when the
    /// model selected at its threshold and the others got, run by run, the time it chose.
    pub budget_fraction: Option<f64>,
    /// The recall seer's model calibrated its threshold to (threshold mode).
    pub target_recall: Option<f64>,
    pub contenders: Vec<ContenderJson>,
}

/// One test in `seer select --json`.
#[derive(Debug, Serialize)]
pub struct SelectedJson {
    pub id: String,
    pub score: f64,
    pub reasons: Vec<String>,
    pub estimated_s: f64,
}

/// A shard of a selection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardJson {
    pub index: usize,
    pub count: usize,
}

/// `seer select --json`.
#[derive(Debug, Serialize)]
pub struct SelectionJson {
    pub format_version: u32,
    /// `subset`, or `all` when every test runs (fail-open, or observe mode).
    pub mode: String,
    /// Why every test runs (mode `all`).
    pub reason: Option<String>,
    pub model: Option<String>,
    pub threshold: Option<f64>,
    /// The tests to run (of this shard, with `--shard`).
    pub selected: Vec<SelectedJson>,
    /// Known tests left out.
    pub skipped: Vec<String>,
    /// Quarantined tests: not in `selected` or `skipped`; run them in a non-blocking step.
    pub quarantined: Vec<String>,
    pub shard: Option<ShardJson>,
    /// Estimated seconds of the selected tests, and of every candidate.
    pub estimated_s: f64,
    pub total_s: f64,
    /// Observe mode: the tests the subset would have skipped (every test runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_skip: Option<Vec<String>>,
    /// No test needs running: `selected` holds one test only so that a runner has one to run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nothing_to_run: bool,
    /// The trust gate, when a model was consulted (absent when every test runs for another reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateJson>,
    pub notes: Vec<String>,
}

/// The trust gate: whether this project's evidence lets the model skip tests.
#[derive(Debug, Serialize, Deserialize)]
pub struct GateJson {
    pub open: bool,
    /// Why it is closed (and what opens it), or what opened it.
    pub why: String,
    pub runs: u64,
    pub failing_results: u64,
    /// The project model's validation (absent while the bundled model is live).
    pub validation_failing: Option<u64>,
    pub validated_recall: Option<f64>,
    pub target_recall: Option<f64>,
    pub min_validation_failing: u64,
    /// Failing tests of the newest `drift_window_runs` runs that the kept selections of this
    /// project's models selected and skipped.
    pub observed_caught: u64,
    pub observed_missed: u64,
    pub observed_recall: Option<f64>,
    pub drift_window_runs: u64,
}

/// One test in `seer predict --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PredictionJson {
    pub id: String,
    /// Probability of failing, calibrated on the model's validation window; null when the model
    /// has no calibration (then `score` is the model's raw score).
    pub probability: Option<f64>,
    pub score: f64,
    pub reasons: Vec<String>,
}

/// `seer predict --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PredictJson {
    pub format_version: u32,
    /// The commit predicted for (for the working tree: `HEAD`).
    pub commit: String,
    pub model: String,
    pub files_changed: usize,
    /// Every known test scored (`predictions` holds the most likely of them).
    #[serde(default)]
    pub tests_scored: u64,
    pub predictions: Vec<PredictionJson>,
    pub notes: Vec<String>,
}

/// One test in `seer flaky list --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct FlakyJson {
    pub id: String,
    pub executions: u32,
    pub failures: u32,
    pub retried_passes: u32,
    pub mixed_commits: u32,
    pub flips: u32,
    pub flip_rate: f64,
    pub first_evidence: String,
    pub last_evidence: String,
    pub reasons: Vec<String>,
    pub quarantined: bool,
}

/// A quarantined test.
#[derive(Debug, Serialize, Deserialize)]
pub struct QuarantinedJson {
    pub id: String,
    pub since: String,
    pub reason: Option<String>,
}

/// `seer flaky list --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct FlakyListJson {
    pub format_version: u32,
    /// Executions of each test looked at.
    pub window: usize,
    pub flaky: Vec<FlakyJson>,
    pub quarantined: Vec<QuarantinedJson>,
}

/// `seer flaky quarantine|release --json`.
#[derive(Debug, Serialize)]
pub struct QuarantineChangeJson {
    pub format_version: u32,
    pub id: String,
    /// `quarantined`, `already quarantined`, `released` or `not quarantined`.
    pub status: String,
}

/// What the selections seer made came to, in `seer stats --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct SelectionStatsJson {
    pub selections: u64,
    /// Subsets chosen (observe mode included), and answers that ran every test.
    pub subsets: u64,
    pub fell_open: u64,
    pub observed: u64,
    /// Tests selected and skipped by the subsets, and their estimated seconds.
    pub tests_selected: u64,
    pub tests_skipped: u64,
    pub estimated_selected_s: f64,
    pub estimated_total_s: f64,
    /// Runs measured against the selection made for their commit.
    pub runs_measured: u64,
    /// Failing tests in those runs, and of them the ones the selection had selected, and the ones
    /// it did not know (new, or not run lately: not candidates; a runner format runs them, a
    /// `list` of the selected ids does not).
    pub failing: u64,
    pub caught: u64,
    pub unknown: u64,
    /// Failing results of tests a selection had skipped (see the README).
    pub misses: u64,
    pub misses_same_commit: u64,
    pub misses_observed: u64,
    /// Selections kept in a side file while another process held the store's write lock, not yet
    /// folded in by the next writer; and side files that could not be read back (lost).
    pub queued: u64,
    pub dropped: u64,
    /// caught / (caught + misses); null before any failing test was measured.
    pub observed_recall: Option<f64>,
    /// The newest misses.
    pub recent_misses: Vec<MissJson>,
}

/// A skipped test that failed.
#[derive(Debug, Serialize, Deserialize)]
pub struct MissJson {
    pub test: String,
    pub run_id: String,
    pub commit: String,
    pub time: String,
    /// The commit of the selection that skipped it.
    pub selection_commit: String,
    pub same_commit: bool,
    /// The selection was in observe mode (the test ran anyway).
    pub observed: bool,
}

/// One profile in `seer profile record --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProfileRecordedJson {
    pub run_id: String,
    /// `inserted`, `unchanged` or `replaced`.
    pub status: String,
    /// The stacks' counts added up: for perf, each sample weighted by its period (for
    /// cpu-clock, nanoseconds: the time it stands for); else samples.
    pub samples: u64,
    /// How many samples were taken.
    pub sample_count: u64,
    pub stacks: u64,
    pub source: String,
}

/// `seer profile record --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProfileRecordJson {
    pub format_version: u32,
    pub bench: String,
    pub commit: String,
    pub profiles: Vec<ProfileRecordedJson>,
}

/// `seer coverage record --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct CoverageRecordJson {
    pub format_version: u32,
    pub commit: String,
    pub tests: u64,
    /// Of them, tests whose coverage at the commit was stored before and is now replaced.
    pub replaced: u64,
    pub files: u64,
    /// Source paths outside the root (stored as written: they match no changed file).
    pub outside_root: u64,
}

/// `seer coverage list --json`.
#[derive(Debug, Serialize)]
pub struct CoverageListJson {
    pub format_version: u32,
    pub commits: Vec<CoverageCommitJson>,
}

/// A commit in `seer coverage list --json`.
#[derive(Debug, Serialize)]
pub struct CoverageCommitJson {
    pub commit: String,
    pub tests: u64,
    pub files: u64,
    pub recorded_at: String,
}

/// A bench in `seer profile list --json`.
#[derive(Debug, Serialize)]
pub struct BenchJson {
    pub bench: String,
    pub profiles: u64,
    pub commits: u64,
    /// With `--name`: the commits in history order, with their runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<BenchHistoryJson>,
}

#[derive(Debug, Serialize)]
pub struct BenchHistoryJson {
    /// `git`, `time` or `recorded`.
    pub order: String,
    pub commits: Vec<CommitRunsJson>,
}

#[derive(Debug, Serialize)]
pub struct CommitRunsJson {
    pub commit: String,
    pub runs: Vec<String>,
    /// The runs' counts added up (for perf, period-weighted: ns of cpu-clock).
    pub samples: u64,
    /// How many samples the runs took; null when one was recorded before seer counted them.
    pub sample_count: Option<u64>,
}

/// `seer store backup --json`.
#[derive(Debug, Serialize)]
pub struct StoreBackupJson {
    pub format_version: u32,
    /// The store copied, and the copy.
    pub store: String,
    pub to: String,
    pub bytes: u64,
    pub schema_version: i64,
    pub runs: u64,
    /// `PRAGMA integrity_check` of the copy: always `ok` (a copy that fails it is not kept).
    pub integrity: String,
}

/// `seer profile list --json`.
#[derive(Debug, Serialize)]
pub struct ProfileListJson {
    pub format_version: u32,
    pub benches: Vec<BenchJson>,
}

/// One side of a comparison.
#[derive(Debug, Serialize)]
pub struct DiffSideJson {
    pub commit: String,
    pub runs: u64,
    /// Mean per run of the stacks' counts (for perf, period-weighted: ns of cpu-clock).
    pub samples: f64,
    /// Mean samples taken per run; null when a run was recorded before seer counted them.
    pub sample_count: Option<f64>,
}

/// A function that changed, in `seer profile diff --json`.
#[derive(Debug, Serialize)]
pub struct FrameChangeJson {
    pub frame: String,
    /// The cost whose change is reported: `inclusive` (samples with the function anywhere on the
    /// stack) when that changed significantly, else `self` (samples with it on top).
    pub measure: String,
    /// Mean over runs of the function's self share (samples with it on top), base and head.
    pub base_share: f64,
    pub head_share: f64,
    /// Mean over runs of its inclusive share (samples with it anywhere on the stack).
    pub base_inclusive: f64,
    pub head_inclusive: f64,
    /// Mean cost of the measure per run, normalised between runs, in the profile's unit
    /// (nanoseconds for perf's cpu-clock), base and head.
    pub base_cost: f64,
    pub head_cost: f64,
    /// The estimated relative change of that cost; null for a function new in head.
    pub change: Option<f64>,
    /// The moderated t-test's p-value, and the Benjamini–Hochberg q-value over everything tested.
    pub p_value: f64,
    pub q_value: f64,
    /// Library frames beneath it that carry the change, largest first.
    pub carried_by: Vec<CarrierJson>,
}

/// A library frame beneath a changed function, in `seer profile diff --json`.
#[derive(Debug, Serialize)]
pub struct CarrierJson {
    pub frame: String,
    /// Its own mean self and inclusive shares over whole runs, base and head.
    pub base_share: f64,
    pub head_share: f64,
    pub base_inclusive: f64,
    pub head_inclusive: f64,
    /// Its self cost within the changed function's calls, per run, base and head.
    pub base_within: f64,
    pub head_within: f64,
}

/// A function that moved into its caller (inlined) or out of it, in `seer profile diff --json`.
#[derive(Debug, Serialize)]
pub struct MovedJson {
    pub frame: String,
    pub caller: String,
    /// `into` the caller (gone in head) or `out of` it (new in head).
    pub direction: String,
    /// Its mean self share on the side where it was seen.
    pub share: f64,
}

/// The runs' sample totals in `seer profile diff --json`.
#[derive(Debug, Serialize)]
pub struct TotalChangeJson {
    pub base_samples: f64,
    pub head_samples: f64,
    pub change: f64,
    pub p_value: f64,
}

/// `seer profile diff --json`.
#[derive(Debug, Serialize)]
pub struct ProfileDiffJson {
    pub format_version: u32,
    pub bench: String,
    pub base: DiffSideJson,
    pub head: DiffSideJson,
    pub min_share: f64,
    pub min_change: f64,
    pub fdr: f64,
    /// Functions tested.
    pub tested: u64,
    /// Most costly first (the largest cost added).
    pub regressions: Vec<FrameChangeJson>,
    /// The largest cost saved first.
    pub improvements: Vec<FrameChangeJson>,
    /// Functions inlined into their caller or split out of it, the caller's inclusive cost unchanged.
    pub moved: Vec<MovedJson>,
    pub total: TotalChangeJson,
}

/// A change point in `seer profile trend --json`.
#[derive(Debug, Serialize)]
pub struct ChangePointJson {
    /// The first commit after the shift.
    pub commit: String,
    /// The function; `(samples per run)` for the runs' sample totals.
    pub frame: String,
    /// `self` or `inclusive` (the function's cost that shifted); `total` for the runs' totals.
    pub measure: String,
    /// The function's cost per run (geometric mean, normalised between runs, in the profile's
    /// unit), or the runs' mean total, before and after the shift.
    pub before: f64,
    pub after: f64,
    pub change: f64,
    pub p_value: f64,
}

/// `seer profile trend --json`.
#[derive(Debug, Serialize)]
pub struct ProfileTrendJson {
    pub format_version: u32,
    pub bench: String,
    /// How the commits were ordered: `git`, `time` or `recorded`.
    pub order: String,
    pub commits: Vec<String>,
    /// Series tested (functions above the minimum share, and the sample totals).
    pub tested: u64,
    pub change_points: Vec<ChangePointJson>,
}

/// One day in `seer report --json`.
#[derive(Debug, Serialize)]
pub struct DayJson {
    /// The day (UTC), `YYYY-MM-DD`.
    pub day: String,
    pub runs: u64,
    pub failing_runs: u64,
    pub tests_selected: u64,
    pub tests_skipped: u64,
    pub misses: u64,
}

/// The test-selection part of `seer report --json`.
#[derive(Debug, Serialize)]
pub struct ReportSelectionJson {
    pub runs: u64,
    pub failing_runs: u64,
    pub selections: u64,
    pub subsets: u64,
    pub observed: u64,
    pub fell_open: u64,
    pub tests_selected: u64,
    pub tests_skipped: u64,
    pub estimated_selected_s: f64,
    pub estimated_total_s: f64,
    /// Estimated seconds the subsets left out.
    pub saved_s: f64,
    /// The window's runs measured against their commit's selection.
    pub runs_measured: u64,
    pub faulty_runs: u64,
    pub faulty_runs_caught: u64,
    pub failing: u64,
    pub caught: u64,
    pub unknown: u64,
    pub misses: u64,
    pub observed_recall: Option<f64>,
    pub target_recall: Option<f64>,
    pub recent_misses: Vec<MissJson>,
    pub days: Vec<DayJson>,
}

/// A test and a count, in `seer report --json`.
#[derive(Debug, Serialize)]
pub struct TestCountJson {
    pub test: String,
    pub count: u64,
    pub runs: u64,
}

/// A slow test, in `seer report --json`.
#[derive(Debug, Serialize)]
pub struct SlowTestJson {
    pub test: String,
    pub mean_s: f64,
    pub runs: u64,
    /// Its mean in the window of the same length before.
    pub previous_mean_s: Option<f64>,
}

/// A flaky test, in `seer report --json`.
#[derive(Debug, Serialize)]
pub struct ReportFlakyJson {
    pub test: String,
    pub reasons: Vec<String>,
    pub first_evidence: String,
    pub last_evidence: String,
}

/// The tests part of `seer report --json`.
#[derive(Debug, Serialize)]
pub struct ReportTestsJson {
    pub most_failing: Vec<TestCountJson>,
    /// Passes after a retry: failures a retry hid.
    pub retried: Vec<TestCountJson>,
    pub slowest: Vec<SlowTestJson>,
    pub new_flaky: Vec<ReportFlakyJson>,
    pub known_flaky: Vec<ReportFlakyJson>,
    pub quarantined: Vec<QuarantinedJson>,
}

/// The model part of `seer report --json`.
#[derive(Debug, Serialize)]
pub struct ReportModelJson {
    pub path: String,
    /// `project` or `bundled`.
    pub source: String,
    pub kind: String,
    pub created_at: String,
    pub trained_runs: u64,
    pub threshold: f64,
    pub target_recall: f64,
    pub validation_recall: f64,
    pub validation_time_share: f64,
    /// Its selections' recall on the window's real runs, and that minus the validation recall.
    pub observed_recall: Option<f64>,
    pub drift: Option<f64>,
}

/// One bench in `seer report --json`.
#[derive(Debug, Serialize)]
pub struct ReportBenchJson {
    pub bench: String,
    pub order: String,
    pub commits: u64,
    pub commits_in_window: u64,
    /// The newest commit in the window, and the one it was compared with.
    pub latest: Option<String>,
    pub baseline: Option<String>,
    pub regressions: Vec<FrameChangeJson>,
    pub improvements: Vec<FrameChangeJson>,
    pub total: Option<TotalChangeJson>,
    pub change_points: Vec<ChangePointJson>,
    pub notes: Vec<String>,
}

/// `seer report --json`.
#[derive(Debug, Serialize)]
pub struct ReportJson {
    pub format_version: u32,
    pub from: String,
    pub to: String,
    pub generated_at: String,
    pub store: String,
    pub selection: ReportSelectionJson,
    pub tests: ReportTestsJson,
    pub model: Option<ReportModelJson>,
    pub profiling: Vec<ReportBenchJson>,
}

/// The runs a model was trained on, in `seer model show --json` and `seer train --json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingWindowJson {
    pub runs: usize,
    pub first_run: String,
    pub last_run: String,
    /// Unix seconds of the first and last run.
    pub first_time: i64,
    pub last_time: i64,
    pub fit_runs: usize,
    pub fit_rows: usize,
    pub fit_failing: usize,
}

/// One candidate model's validation on the most recent runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidationJson {
    pub kind: String,
    pub runs: usize,
    pub rows: usize,
    pub failing: usize,
    pub threshold: f64,
    pub recall: f64,
    pub selected_share: f64,
    pub time_share: f64,
    pub auc: f64,
    /// The 95% interval (Wilson) of `recall` over the `failing` tests; absent without any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recall_interval: Option<[f64; 2]>,
    /// Why the validation says little (too few failing tests), when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thin_evidence: Option<String>,
    /// `[recall, threshold]` pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recall_curve: Vec<[f64; 2]>,
    /// `[score, probability]` points of the isotonic calibration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calibration: Vec<[f64; 2]>,
}

/// `seer model show --json` and `seer train --json`: a model without its fitted parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelJson {
    /// The model file's own format version.
    pub format_version: u32,
    pub seer_version: String,
    /// Unix seconds.
    pub created_at: i64,
    /// `history` or `all`.
    pub feature_set: String,
    pub features: Vec<String>,
    pub target_recall: f64,
    pub threshold: f64,
    pub training: TrainingWindowJson,
    pub validation: ValidationJson,
    pub candidates: Vec<ValidationJson>,
    /// The chosen kind (`logistic`, `forest`, `recency`).
    pub kind: String,
    /// The file, or the bundled model's name.
    pub path: String,
    /// `project`, `bundled`, `file` or `trained`.
    pub source: String,
}
