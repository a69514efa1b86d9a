//! The documents of `seer serve`'s HTTP API, version 1 (paths under `/v1/`).
//!
//! What the server answers is, wherever one exists, the document the command prints with `--json`
//! (`RecordJson`, `StatsJson`, `PredictJson` …); these are the requests, and the few answers that
//! must carry more than a printed document (a selection with every test's suite and file, so
//! that the client writes the runner's arguments itself).

use serde::{Deserialize, Serialize};

use crate::{ChangesJson, GateJson, RunJson, ShardJson};

/// The path prefix of this version of the API.
pub const API_PREFIX: &str = "/v1";

/// The header that carries a request's idempotency key where the body has no id of its own.
pub const RUN_ID_HEADER: &str = "seer-run-id";

/// An error from the server: what failed, and the exit code the command line gives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorJson {
    pub format_version: u32,
    pub error: String,
    /// One of [`crate::exit_codes`].
    pub exit_code: i32,
}

/// `POST /v1/projects/{project}/runs`: a run as `seer record` collected it (the reports parsed
/// and the change read from git by the client). A run without a `time` is stamped by the server
/// as it stores it, never earlier than the newest run stored before it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordRequestJson {
    pub format_version: u32,
    pub run: RunJson,
    /// Overwrite a run stored under the same id with other content.
    #[serde(default)]
    pub replace: bool,
    /// What the client noticed while collecting (git, the reports), returned with the answer.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Report entries that repeated a test, as the client folded them.
    #[serde(default)]
    pub repeated: u64,
}

/// A first-parent ancestor of the change's base, for the coverage rule: the server knows which
/// commits have coverage, the client knows the history.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AncestorJson {
    pub sha: String,
    /// For each file of the change (by its path at the base), whether it is the same blob here as
    /// at the base.
    pub same: Vec<bool>,
    /// The files the first-parent step from this commit to the one listed before it changed
    /// (empty for the base); absent when the client could not tell (or is older): then coverage
    /// taken here skips no test unless it is the base's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Vec<String>>,
}

/// A changed file's lines at the base, which the coverage rule reads (git's hunks).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FileLinesJson {
    /// Inclusive ranges of the base's lines the change touches.
    #[serde(default)]
    pub base_lines: Vec<[u32; 2]>,
    /// Hunks that change only blank lines and comments.
    #[serde(default)]
    pub comment_hunks: u32,
    /// Replaced base lines' changed columns: line, first column, the column after the last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub base_columns: Vec<[u32; 3]>,
}

/// `POST /v1/projects/{project}/select` and `/predict`: what to select for.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SelectRequestJson {
    pub format_version: u32,
    /// The commit (for the working tree, `HEAD`'s).
    pub commit: String,
    /// The change as the client read it from git; `None` without git (history-only models), or
    /// when git could not tell (then `change_error` says why, and every test runs).
    #[serde(default)]
    pub changes: Option<ChangesJson>,
    /// Per file of `changes`, in the same order.
    #[serde(default)]
    pub lines: Vec<FileLinesJson>,
    #[serde(default)]
    pub change_error: Option<String>,
    /// The base and its first-parent ancestors, nearest first.
    #[serde(default)]
    pub ancestors: Vec<AncestorJson>,
    /// The repository's `.config/seer.toml`, as text.
    #[serde(default)]
    pub config: Option<String>,
    /// More tests that always run (`--always`).
    #[serde(default)]
    pub always: Vec<String>,
    /// At most one of these; none is the model's calibrated threshold.
    #[serde(default)]
    pub recall: Option<f64>,
    #[serde(default)]
    pub time_budget_s: Option<f64>,
    #[serde(default)]
    pub fraction: Option<f64>,
    #[serde(default)]
    pub shard: Option<ShardJson>,
    #[serde(default)]
    pub observe: bool,
    /// Keep the selection for the bookkeeping of misses.
    #[serde(default)]
    pub keep: bool,
    /// How many tests get their reasons in words (all when absent).
    #[serde(default)]
    pub reasons_for: Option<u64>,
    /// Unix seconds; absent is the server's now.
    #[serde(default)]
    pub now: Option<i64>,
}

/// A test as the store names it, with what a runner needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestRefJson {
    pub store_id: i64,
    pub id: String,
    /// The suite (nextest binary id, JUnit classname, Go package) is the first `suite_len` bytes
    /// of `id` (sent as a length: an answer names up to every known test).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite_len: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// Many tests by name, as columns (an answer names up to every known test): test `i` is
/// `ids[i]`, its suite the first `suite_lens[i]` bytes of its id when not null, its file
/// `files[file_of[i] - 1]` when `file_of[i]` is not 0. Each file is named once.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TestListJson {
    pub ids: Vec<String>,
    pub suite_lens: Vec<Option<usize>>,
    pub file_of: Vec<u32>,
    pub files: Vec<String>,
}

/// One test of a selection answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChosenJson {
    pub test: TestRefJson,
    pub score: f64,
    #[serde(default)]
    pub reasons: Vec<String>,
    pub estimated_s: f64,
}

/// The answer to `select`: the whole selection, from which the client writes the runner's
/// arguments (or `seer select --json`'s document) as it would locally.
#[derive(Debug, Serialize, Deserialize)]
pub struct SelectAnswerJson {
    pub format_version: u32,
    pub mode: String,
    pub reason: Option<String>,
    pub model: Option<String>,
    pub threshold: Option<f64>,
    pub selected: Vec<ChosenJson>,
    /// Known tests left out (their names only: the client needs nothing else of them).
    pub skipped: TestListJson,
    pub quarantined: Vec<TestRefJson>,
    pub shard: Option<ShardJson>,
    pub estimated_s: f64,
    pub total_s: f64,
    pub would_skip: Option<TestListJson>,
    pub gate: Option<GateJson>,
    pub notes: Vec<String>,
}

/// `POST /v1/projects/{project}/train`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainRequestJson {
    pub format_version: u32,
    /// The recall the threshold is calibrated to (the server's default when absent).
    #[serde(default)]
    pub target_recall: Option<f64>,
}

/// What `train` did, over HTTP.
#[derive(Debug, Serialize, Deserialize)]
pub struct TrainedJson {
    pub format_version: u32,
    /// The model file's name on the server.
    pub model: String,
    pub kind: String,
    pub runs: u64,
    pub validation_failing: u64,
    pub recall: f64,
    pub selected_time_share: f64,
    pub warnings: Vec<String>,
}

/// `POST /v1/projects/{project}/coverage`: per-test coverage as LCOV text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoverageUploadJson {
    pub format_version: u32,
    /// The commit the coverage was taken at (full sha).
    pub commit: String,
    /// Each tracefile's name (for messages) and text.
    pub files: Vec<NamedTextJson>,
    /// Source paths under this prefix are stored relative to it.
    #[serde(default)]
    pub strip_prefix: Option<String>,
    #[serde(default)]
    pub replace: bool,
}

/// A file sent by its name and text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NamedTextJson {
    pub name: String,
    pub text: String,
}

/// `POST /v1/projects/{project}/profiles`: profiles of one bench at one commit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileUploadJson {
    pub format_version: u32,
    pub bench: String,
    pub commit: String,
    /// Each run's id and its profile (perf script, DTrace or folded text).
    pub runs: Vec<NamedTextJson>,
    #[serde(default)]
    pub time: Option<i64>,
    #[serde(default)]
    pub replace: bool,
}

/// A token, as `seer token list` shows it (never the secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenJson {
    pub id: i64,
    pub name: String,
    /// `ci`, `read`, `admin`.
    pub scopes: Vec<String>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// `seer token list --json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenListJson {
    pub format_version: u32,
    pub tokens: Vec<TokenJson>,
}

/// `seer token create --json`: the secret, shown once.
#[derive(Debug, Serialize, Deserialize)]
pub struct TokenCreatedJson {
    pub format_version: u32,
    pub token: TokenJson,
    pub secret: String,
}

/// `GET /healthz` and `/readyz`.
#[derive(Debug, Serialize, Deserialize)]
pub struct HealthJson {
    pub status: String,
    pub version: String,
    pub projects: Vec<String>,
}
