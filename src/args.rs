//! Command-line arguments (clap), and nothing else.

use std::path::PathBuf;

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use seer_ci_core::collect::ReportFormat;
use seer_ci_core::collect::import::ImportFormat;
use seer_ci_core::model::FeatureSet;
use seer_ci_core::profile::ProfileFormat;
use seer_ci_core::regress::{CompareOptions, TrendFramesOptions};
use seer_ci_core::select::Runner;

use crate::values;

/// What `seer --help` ends with: where the configuration lives, and the exit codes (the README's
/// table, which a test keeps in step with `seer_ci_api::exit_codes`).
pub const AFTER_HELP: &str = "\
Configuration: .config/seer.toml at the repository root overrides the defaults; flags win.
Exit codes: 0 success, 1 unexpected failure, 2 usage, 3 input rejected (nothing stored),
  4 run id stored with other content, 5 not found, 6 store unusable, 7 profile regression
  (--fail-on-regression), 8 select --format list: run every test, 9 disk full.";

#[derive(Debug, Parser)]
#[command(
    name = "seer",
    version,
    about = "Predictive test selection and flamegraph regression detection for CI",
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// The store [default: .seer/seer.db at the repository root, or in the current directory]
    #[arg(long, global = true, env = "SEER_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// A `seer serve` to work against instead of a local store (record, select, predict,
    /// train, stats, flaky list, report, coverage record, profile record)
    #[arg(long, global = true, env = "SEER_URL", value_name = "URL")]
    pub server: Option<String>,

    /// The bearer token for --server (keep it in the CI's secrets)
    #[arg(long, global = true, env = "SEER_TOKEN", hide_env_values = true, value_name = "TOKEN")]
    pub token: Option<String>,

    /// The project on --server
    #[arg(long, global = true, env = "SEER_PROJECT", value_name = "KEY", default_value = "default")]
    pub project: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store the outcome of one CI run from its test reports (JUnit XML, libtest JSON, go test -json)
    Record(RecordArgs),
    /// Bulk-import history: RETECS CSV (public CI datasets) or seer's JSON lines
    Import(ImportArgs),
    /// List recorded runs, newest first
    Runs(RunsArgs),
    /// One test's results across runs, newest first
    History(HistoryArgs),
    /// Show one stored object
    #[command(subcommand)]
    Show(ShowCommand),
    /// What the store holds
    Stats(JsonArg),
    /// Replay the stored history in time order and measure test selection against baselines
    Eval(EvalArgs),
    /// Fit the failure predictor on the stored history and save it as the live model
    Train(TrainArgs),
    /// Pick the tests to run for a commit (every known test, with the reason, when in doubt)
    Select(SelectArgs),
    /// The tests a change will probably break, with probabilities and reasons
    Predict(PredictArgs),
    /// Flaky tests and their quarantine
    #[command(subcommand)]
    Flaky(FlakyCommand),
    /// Profiles: record stack samples per bench and commit, draw flame graphs, find regressions
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Per-test line coverage (LCOV) at a commit: `select` runs the tests that ran a changed line
    #[command(subcommand)]
    Coverage(CoverageCommand),
    /// The weekly report: what the selections saved and missed, tests, the model, what got slower
    Report(ReportArgs),
    /// Check a setup as a CI step will use it (store, git history, reports, model, coverage,
    /// configuration) and say what to fix; exits 1 when something will not work
    Doctor(DoctorArgs),
    /// Shell completions on stdout: `seer completions bash > /etc/bash_completion.d/seer`
    Completions(CompletionsArgs),
    /// The man page (roff) on stdout, `seer man > seer.1`; or one page per command in a directory
    Man(ManArgs),
    /// Inspect models
    #[command(subcommand)]
    Model(ModelCommand),
    /// The store itself: a consistent backup while others write to it
    #[command(subcommand)]
    Store(StoreCommand),
    /// Serve every project under a data directory over HTTP/JSON, for every CI job and developer
    Serve(ServeArgs),
    /// The server's bearer tokens, kept (hashed) in a project's store (--db)
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free one, printed at start)
    #[arg(long, default_value = "127.0.0.1:8480", value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    /// The data directory: each project is a directory here holding its seer.db (`seer token
    /// create --db DATA/KEY/seer.db` makes one)
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// The largest request body accepted, in MiB
    #[arg(long, default_value_t = 256, value_name = "MIB")]
    pub max_body_mib: usize,
    /// Requests taking longer are answered 503 (a write under way still finishes whole)
    #[arg(long, default_value = "5m", value_parser = values::duration, value_name = "DURATION")]
    pub timeout: Duration,
    /// Requests per second per token (with --burst above it)
    #[arg(long, default_value_t = 50.0, value_name = "N")]
    pub rate: f64,
    /// Requests a token may make at once above --rate
    #[arg(long, default_value_t = 200.0, value_name = "N")]
    pub burst: f64,
    /// Train every project with new runs this often (e.g. 24h) [default: only when asked]
    #[arg(long, value_parser = values::duration, value_name = "DURATION")]
    pub train_every: Option<Duration>,
    /// The recall training calibrates to
    #[arg(long, default_value_t = 0.95, value_name = "R", value_parser = values::recall)]
    pub target_recall: f64,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token; its secret is printed once and only its hash is kept
    Create(TokenCreateArgs),
    /// The tokens, revoked ones too (never their secrets)
    List(JsonArg),
    /// Revoke a token by id or name
    Revoke(TokenRevokeArgs),
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// A name that says who holds it (e.g. ci-main, alice)
    #[arg(long, value_parser = values::non_empty)]
    pub name: String,
    /// Scopes, comma-separated: ci (record, select, upload), read (queries, report, predict),
    /// admin (train, quarantine, tokens)
    #[arg(long, value_delimiter = ',', required = true, value_parser = ["ci", "read", "admin"])]
    pub scope: Vec<String>,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TokenRevokeArgs {
    /// The token's id or name
    pub token: String,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SelectArgs {
    /// The commit about to be tested (with --no-git, only a name) [default: the CI's commit (see
    /// the README), else HEAD]
    #[arg(long, value_parser = values::non_empty)]
    pub commit: Option<String>,
    /// Measure the change against the merge-base with this revision instead of the first parent
    #[arg(long, value_name = "REV", conflicts_with = "no_git")]
    pub base: Option<String>,
    /// The git repository [default: the one holding the current directory]
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Do not read git: select from the tests' history alone (history-only models)
    #[arg(long)]
    pub no_git: bool,
    /// Select for the working tree's uncommitted change against HEAD (staged or not, untracked
    /// files included), as a developer before committing; never kept (implies --dry-run)
    #[arg(long, conflicts_with_all = ["commit", "base", "no_git"])]
    pub worktree: bool,
    #[command(flatten)]
    pub models: ModelsArg,
    /// Output: `list` (selected ids, one per line), `json`, or the arguments of a test runner,
    /// one per line (nextest, cargo, pytest, gotest, jest, maven, gradle)
    #[arg(long, value_enum, default_value_t = SelectFormat::List)]
    pub format: SelectFormat,
    /// Write the selection here instead of stdout
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The same as --format json
    #[arg(long)]
    pub json: bool,
    /// Select at the threshold that reached this recall of failing tests on the model's
    /// validation window [default: the model's calibrated threshold]
    #[arg(long, value_name = "R", group = "target", value_parser = values::recall)]
    pub recall: Option<f64>,
    /// Select the highest-scoring tests that fit in this much estimated test time (e.g. 90s, 10m, 1h30m)
    #[arg(long, value_name = "DURATION", group = "target", value_parser = values::duration)]
    pub time_budget: Option<Duration>,
    /// Select the highest-scoring tests that fit in this share of the estimated test time
    #[arg(long, value_name = "F", group = "target", value_parser = values::fraction)]
    pub fraction: Option<f64>,
    /// Split the selection into this many duration-balanced shards (with --shard)
    #[arg(long, value_name = "N", requires = "shard")]
    pub shards: Option<usize>,
    /// Which shard to print, 1-based (with --shards)
    #[arg(long, value_name = "K", requires = "shards")]
    pub shard: Option<usize>,
    /// Print each selected test's reasons to stderr
    #[arg(long)]
    pub explain: bool,
    /// The team's own nextest filterset, combined with seer's by AND (two `-E` would OR)
    #[arg(long, value_name = "EXPR", value_parser = values::non_empty)]
    pub filter: Option<String>,
    /// Always select tests whose id matches this pattern (`*` matches any text); repeatable
    #[arg(long, value_name = "PATTERN")]
    pub always: Vec<String>,
    /// Compute and keep the selection, but run every test (to see what seer would do)
    #[arg(long)]
    pub observe: bool,
    /// Do not keep this selection in the store (no bookkeeping of misses)
    #[arg(long)]
    pub dry_run: bool,
    /// Print the arguments that run only the quarantined tests (nothing when there are none),
    /// for a separate non-blocking step; implies --dry-run
    #[arg(long)]
    pub quarantined: bool,
    /// When the selection is made (for replays of history): RFC 3339, "YYYY-MM-DD HH:MM[:SS]"
    /// (UTC) or Unix seconds [default: now]
    #[arg(long, value_name = "T", value_parser = values::time)]
    pub time: Option<i64>,
}

impl Command {
    /// Whether what the command prints must be written exactly: JSON, and `select`'s ids and
    /// runner arguments. Everything else is for a person and is shown with control characters
    /// escaped.
    /// Whether the command works against `seer serve` (`--server`, `SEER_URL`).
    pub fn has_remote_form(&self) -> bool {
        matches!(
            self,
            Command::Record(_)
                | Command::Select(_)
                | Command::Predict(_)
                | Command::Train(_)
                | Command::Stats(_)
                | Command::Flaky(FlakyCommand::List(_))
                | Command::Report(_)
                | Command::Coverage(CoverageCommand::Record(_))
                | Command::Profile(ProfileCommand::Record(_))
        )
    }

    pub fn exact_output(&self) -> bool {
        match self {
            Command::Select(_) => true,
            Command::Record(a) => a.json,
            Command::Import(a) => a.json,
            Command::Runs(a) => a.json,
            Command::History(a) => a.json,
            Command::Show(ShowCommand::Run(a)) => a.json,
            Command::Stats(a) | Command::Coverage(CoverageCommand::List(a)) => a.json,
            Command::Eval(a) => a.json,
            Command::Train(a) => a.json,
            Command::Predict(a) => a.json,
            Command::Flaky(FlakyCommand::List(a)) => a.json,
            Command::Flaky(FlakyCommand::Quarantine(a)) => a.json,
            Command::Flaky(FlakyCommand::Release(a)) => a.json,
            Command::Profile(ProfileCommand::Record(a)) => a.json,
            Command::Profile(ProfileCommand::Run(a)) => a.json,
            Command::Profile(ProfileCommand::List(a)) => a.json,
            Command::Profile(ProfileCommand::Flamegraph(_)) => false,
            Command::Profile(ProfileCommand::Diff(a)) => a.json,
            Command::Profile(ProfileCommand::Trend(a)) => a.json,
            Command::Coverage(CoverageCommand::Record(a)) => a.json,
            Command::Report(a) => a.json,
            Command::Model(ModelCommand::Show(a)) => a.json,
            Command::Store(StoreCommand::Backup(a)) => a.json,
            Command::Store(StoreCommand::Copy(a)) => a.json,
            Command::Completions(_) | Command::Man(_) => true,
            Command::Doctor(_) => false,
            Command::Serve(_) => false,
            Command::Token(TokenCommand::Create(a)) => a.json,
            Command::Token(TokenCommand::List(a)) => a.json,
            Command::Token(TokenCommand::Revoke(a)) => a.json,
        }
    }
}

/// `--models`: where model files are.
#[derive(Debug, Clone, Args)]
pub struct ModelsArg {
    /// Where model files are [default: models/ beside the store]
    #[arg(id = "models", long = "models", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

impl ModelsArg {
    /// The directory: `--models`, else `models/` beside the store at `db`.
    pub fn resolve(self, db: &std::path::Path) -> PathBuf {
        self.dir.unwrap_or_else(|| seer_ci_core::model::models_dir(db))
    }
}

/// The values of `seer select --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SelectFormat {
    /// Selected test ids, one per line
    List,
    /// The selection document (`seer_ci_api::SelectionJson`)
    Json,
    /// `cargo nextest run`: `-E FILTERSET`
    Nextest,
    /// `cargo test --`: libtest's `--exact` and `--skip`
    Cargo,
    /// `pytest`: `--deselect NODEID` (node ids to run, for a shard)
    Pytest,
    /// `go test`: `-skip REGEX` (Go 1.20+; `-run REGEX PACKAGES` for a shard)
    Gotest,
    /// `jest`: `--testNamePattern REGEX`
    Jest,
    /// `mvn test`: Surefire's `-Dtest=…`
    Maven,
    /// `gradle test`: `--tests PATTERN` per test
    Gradle,
}

impl SelectFormat {
    /// The runner whose arguments this format prints, if it is one.
    pub fn runner(self) -> Option<Runner> {
        Some(match self {
            SelectFormat::List | SelectFormat::Json => return None,
            SelectFormat::Nextest => Runner::Nextest,
            SelectFormat::Cargo => Runner::Cargo,
            SelectFormat::Pytest => Runner::Pytest,
            SelectFormat::Gotest => Runner::Gotest,
            SelectFormat::Jest => Runner::Jest,
            SelectFormat::Maven => Runner::Maven,
            SelectFormat::Gradle => Runner::Gradle,
        })
    }
}

/// The values of `seer train --features`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FeatureSetArg {
    /// The test's own history only (works without git changes, e.g. for the cold-start model)
    History,
    /// History, change and cross features
    All,
}

impl From<FeatureSetArg> for FeatureSet {
    fn from(arg: FeatureSetArg) -> FeatureSet {
        match arg {
            FeatureSetArg::History => FeatureSet::History,
            FeatureSetArg::All => FeatureSet::All,
        }
    }
}

/// The values of `seer profile record --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileFormatArg {
    /// `perf script` output (of `perf record -g`)
    Perf,
    /// DTrace `ustack()`/`stack()` aggregations
    Dtrace,
    /// Folded stacks: `frame;frame;frame COUNT` per line (inferno's and flamegraph.pl's format)
    Folded,
}

impl From<ProfileFormatArg> for ProfileFormat {
    fn from(arg: ProfileFormatArg) -> ProfileFormat {
        match arg {
            ProfileFormatArg::Perf => ProfileFormat::Perf,
            ProfileFormatArg::Dtrace => ProfileFormat::Dtrace,
            ProfileFormatArg::Folded => ProfileFormat::Folded,
        }
    }
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The commit to predict for [default: the working tree's uncommitted change against HEAD]
    #[arg(long)]
    pub commit: Option<String>,
    /// Measure the commit's change against the merge-base with this revision
    #[arg(long, value_name = "REV", requires = "commit")]
    pub base: Option<String>,
    /// The git repository [default: the one holding the current directory]
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    #[command(flatten)]
    pub models: ModelsArg,
    /// How many tests to list, most likely to fail first
    #[arg(long, default_value_t = 15)]
    pub limit: usize,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum FlakyCommand {
    /// Tests with evidence of flakiness (retries, both outcomes on one commit, flipping), and the quarantine
    List(FlakyListArgs),
    /// Quarantine a test: seer select leaves it out of the runner arguments and lists it apart
    Quarantine(QuarantineArgs),
    /// Release a test from quarantine
    Release(ReleaseArgs),
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The window: this long before now (e.g. 7d, 24h, 2w)
    #[arg(long, value_name = "DURATION", value_parser = values::duration, conflicts_with_all = ["from", "to"])]
    pub since: Option<Duration>,
    /// The window's start: RFC 3339, "YYYY-MM-DD[ HH:MM[:SS]]" (UTC) or Unix seconds
    #[arg(long, value_name = "T", value_parser = values::time)]
    pub from: Option<i64>,
    /// The window's end (exclusive) [default: now]
    #[arg(long, value_name = "T", value_parser = values::time)]
    pub to: Option<i64>,
    /// Write the HTML page here
    #[arg(long, value_name = "FILE.html")]
    pub out: Option<PathBuf>,
    /// Write the Markdown summary here
    #[arg(long, value_name = "FILE.md")]
    pub markdown: Option<PathBuf>,
    /// Print the report's numbers as JSON
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub models: ModelsArg,
    /// The git repository that orders the profiles' commits [default: the one holding the current directory]
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Rows in each "most" table
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Store profiles (one per file) of a bench at a commit: perf script, DTrace or folded stacks, .gz too
    Record(ProfileRecordArgs),
    /// Profile a command with perf N times and store the runs: `seer profile run --name B -- CMD ARGS…`
    Run(ProfileRunArgs),
    /// The benches with profiles, and their commits in history order
    List(ProfileListArgs),
    /// A flame graph of a bench at a commit, its runs merged
    Flamegraph(ProfileFlamegraphArgs),
    /// Functions that got slower or faster between two commits, with a differential flame graph
    Diff(ProfileDiffArgs),
    /// Change points in a bench's history, per function, with the commit that shifted it
    Trend(ProfileTrendArgs),
}

#[derive(Debug, Subcommand)]
pub enum CoverageCommand {
    /// Store per-test coverage at a commit: LCOV, llvm-cov's JSON export (regions), coverage.py
    Record(CoverageRecordArgs),
    /// The commits with coverage, most recently recorded first
    List(JsonArg),
}

#[derive(Debug, Args)]
pub struct CoverageRecordArgs {
    /// The commit the covered build came from (a revision the repository resolves, or a full sha)
    #[arg(long, value_parser = values::non_empty)]
    pub commit: String,
    /// The test of every record, for LCOV without `TN:` lines and llvm-cov exports without a
    /// `"test"` key (one test's coverage per call)
    #[arg(long, value_name = "ID", value_parser = values::non_empty)]
    pub test: Option<String>,
    /// Absolute source paths under this directory are stored relative to it [default: the root of
    /// the repository holding the current directory]
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Print JSON instead of a summary
    #[arg(long)]
    pub json: bool,
    /// Per-test coverage: LCOV tracefiles (`TN:` names the test), llvm-cov's JSON export (`llvm-cov
    /// export -format=text`, one test each: regions, so the columns a test did not run on a line it
    /// ran), coverage.py data files (`.coverage` from `pytest --cov-context=test` or `pytest
    /// --seer-coverage`), or `coverage json --show-contexts` reports; told apart by their content
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProfileRecordArgs {
    /// The bench (workload) profiled
    #[arg(long = "name", value_name = "BENCH", value_parser = values::non_empty)]
    pub bench: String,
    /// The commit the profiled build came from (need not be in a local repository)
    #[arg(long, value_parser = values::non_empty)]
    pub commit: String,
    /// Run id for one file (RID.1, RID.2, … for several) [default: COMMIT/FILE-NAME]
    #[arg(long, value_name = "RID")]
    pub run_id: Option<String>,
    /// When the profile was taken: RFC 3339, "YYYY-MM-DD HH:MM[:SS]" (UTC) or Unix seconds [default: now]
    #[arg(long, value_name = "T", value_parser = values::time)]
    pub time: Option<i64>,
    /// Read every file in this format instead of detecting it
    #[arg(long, value_enum)]
    pub format: Option<ProfileFormatArg>,
    #[command(flatten)]
    pub normalize: NormalizeArgs,
    /// Refuse a profile larger than this many bytes of text (expanded, for a `.gz`): a small
    /// file that expands without end is refused at the limit
    #[arg(long = "max-profile-bytes", value_name = "BYTES", env = "SEER_MAX_PROFILE_BYTES",
          default_value_t = seer_ci_core::profile::DEFAULT_MAX_PROFILE_BYTES)]
    pub max_bytes: u64,
    /// Overwrite a stored profile with the same bench and run id but different content
    #[arg(long)]
    pub replace: bool,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
    /// Profiles: `perf script` output, DTrace aggregations or folded stacks, one run each (.gz too)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProfileListArgs {
    /// Only this bench, with its commits
    #[arg(long = "name", value_name = "BENCH")]
    pub bench: Option<String>,
    /// The git repository that orders the commits [default: the one holding the current directory]
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ProfileFlamegraphArgs {
    /// The bench (workload) profiled
    #[arg(long = "name", value_name = "BENCH", value_parser = values::non_empty)]
    pub bench: String,
    /// The commit whose profiles are drawn
    #[arg(long, value_parser = values::non_empty)]
    pub commit: String,
    /// Write the SVG here
    #[arg(long, value_name = "FILE")]
    pub svg: PathBuf,
}

/// How frame names are normalised when a profile is read.
#[derive(Debug, Args, Clone, Copy)]
pub struct NormalizeArgs {
    /// Fold generic arguments into their function (`Vec<T>::push` → `Vec::push`)
    #[arg(long)]
    pub strip_generics: bool,
    /// Fold closures into their function (`parse::{{closure}}` → `parse`)
    #[arg(long)]
    pub strip_closures: bool,
}

impl From<NormalizeArgs> for seer_ci_core::profile::NormalizeOptions {
    fn from(a: NormalizeArgs) -> Self {
        seer_ci_core::profile::NormalizeOptions { strip_generics: a.strip_generics, strip_closures: a.strip_closures }
    }
}

/// When a difference in a profile is an alert.
#[derive(Debug, Args, Clone, Copy)]
pub struct DetectorArgs {
    /// Functions holding less than this share of the samples (pooled over both sides) are not tested
    #[arg(long, default_value_t = CompareOptions::default().min_share, value_name = "SHARE", value_parser = values::share)]
    pub min_share: f64,
    /// Relative change of a function's share below which a significant change is not reported
    #[arg(long, default_value_t = CompareOptions::default().min_change, value_name = "CHANGE", value_parser = values::share)]
    pub min_change: f64,
}

#[derive(Debug, Args)]
pub struct ProfileRunArgs {
    /// The bench (workload) profiled
    #[arg(long = "name", value_name = "BENCH", value_parser = values::non_empty)]
    pub bench: String,
    /// How many times to profile the command (the detector wants 3–5 runs a side)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub runs: u16,
    /// Samples per second (`perf record -F`)
    #[arg(long, value_name = "HZ", default_value_t = 1999, value_parser = clap::value_parser!(u32).range(1..))]
    pub frequency: u32,
    /// The commit the profiled build came from [default: the CI's commit, else HEAD of the repository]
    #[arg(long, value_parser = values::non_empty)]
    pub commit: Option<String>,
    /// The git repository whose HEAD is the default commit [default: the one holding the current directory]
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Run id of the runs: RID.1, RID.2, … [default: the CI's run id, else local-TIME-PID]
    #[arg(long, value_name = "RID")]
    pub run_id: Option<String>,
    /// Keep each run's `perf script` output in this directory [default: a temporary one, removed]
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Print the diff against this commit's runs of the bench right after
    #[arg(long, value_name = "BASE")]
    pub compare: Option<String>,
    #[command(flatten)]
    pub normalize: NormalizeArgs,
    /// The perf program
    #[arg(long, value_name = "PROGRAM", env = "SEER_PERF", default_value = "perf")]
    pub perf: PathBuf,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
    /// The command to profile, after `--`
    #[arg(required = true, last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ProfileDiffArgs {
    /// The bench (workload) profiled
    #[arg(long = "name", value_name = "BENCH", value_parser = values::non_empty)]
    pub bench: String,
    /// The commit compared against
    #[arg(long, value_name = "COMMIT")]
    pub base: String,
    /// The commit compared
    #[arg(long, value_name = "COMMIT")]
    pub head: String,
    /// Write a differential flame graph here
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    #[command(flatten)]
    pub detector: DetectorArgs,
    /// False discovery rate over the functions tested (in an A/A comparison, the chance of any alarm)
    #[arg(long, default_value_t = CompareOptions::default().fdr, value_name = "Q", value_parser = values::share)]
    pub fdr: f64,
    /// Exit with code 7 when a significant regression is found (a CI gate)
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ProfileTrendArgs {
    /// The bench (workload) profiled
    #[arg(long = "name", value_name = "BENCH", value_parser = values::non_empty)]
    pub bench: String,
    /// The git repository that orders the commits [default: the one holding the current directory]
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    #[command(flatten)]
    pub detector: DetectorArgs,
    /// Family-wise error rate over the functions tested (each split's t-test is held to it divided
    /// by the number of functions)
    #[arg(long, default_value_t = TrendFramesOptions::default().alpha, value_name = "ALPHA", value_parser = values::share)]
    pub alpha: f64,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FlakyListArgs {
    /// Latest executions of each test to look at
    #[arg(long, default_value_t = 50)]
    pub window: usize,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct QuarantineArgs {
    /// The test's id
    pub test_id: String,
    /// Why (kept with it)
    #[arg(long)]
    pub reason: Option<String>,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The test's id
    pub test_id: String,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Recall of failing tests the score threshold is calibrated to reach on the most recent runs
    #[arg(long, default_value_t = 0.95, value_name = "R", value_parser = values::recall)]
    pub target_recall: f64,
    /// The features the model reads [default: all when any run has git changes, else history]
    #[arg(long, value_enum)]
    pub features: Option<FeatureSetArg>,
    #[command(flatten)]
    pub models: ModelsArg,
    /// Write the model to exactly this file instead (e.g. the bundled cold-start model)
    #[arg(long, value_name = "FILE", conflicts_with = "models")]
    pub output: Option<PathBuf>,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy the store to FILE, consistent and checked, while CI jobs or a server write to it
    Backup(StoreBackupArgs),
    /// Copy a whole store into a new one, either way between an SQLite file and Postgres (runs,
    /// coverage, profiles, selections, quarantine, tokens, models)
    Copy(StoreCopyArgs),
}

#[derive(Debug, Args)]
pub struct StoreCopyArgs {
    /// The store to copy: a file, or a postgres:// URL (`?schema=KEY` names the project)
    #[arg(long, value_name = "PATH_OR_URL")]
    pub from: PathBuf,
    /// The new store: a file, or a postgres:// URL; it must hold nothing yet
    #[arg(long, value_name = "PATH_OR_URL")]
    pub to: PathBuf,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StoreBackupArgs {
    /// Where the copy goes (replaced only once the new copy is whole and checked)
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// The live model (the newest in the models directory, else the bundled cold-start model)
    Show(ModelShowArgs),
}

#[derive(Debug, Args)]
pub struct ModelShowArgs {
    #[command(flatten)]
    pub models: ModelsArg,
    /// Show this model file instead
    #[arg(long, value_name = "FILE", conflicts_with = "models")]
    pub file: Option<PathBuf>,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Runs seen before scoring starts
    #[arg(long, default_value_t = 20)]
    pub warmup: usize,
    /// Give every contender this share of each run's estimated test time, instead of letting
    /// seer's model select at its calibrated threshold and giving the others the time it chose
    #[arg(long, value_name = "F", conflicts_with = "target_recall", value_parser = values::fraction)]
    pub fraction: Option<f64>,
    /// Recall of failing tests seer's model calibrates its threshold to, on its validation window
    #[arg(long, default_value_t = 0.95, value_name = "R", value_parser = values::recall)]
    pub target_recall: f64,
    /// Seed of the random baseline
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Retrain the learned contender every this many runs
    #[arg(long, default_value_t = 10)]
    pub retrain_every: usize,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The git repository [default: the one holding the current directory]
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Do not check git (for `--no-git` use)
    #[arg(long, conflicts_with = "repo")]
    pub no_git: bool,
    /// The revision CI will give `--base` (checks the history reaches the merge-base)
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    #[command(flatten)]
    pub models: ModelsArg,
    /// Test reports the CI step will record: each must exist and read
    #[arg(value_name = "REPORT")]
    pub reports: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write seer.1 and a page per command (seer-record.1, …) into this directory instead
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print JSON (a stable, versioned format) instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The commit the run tested (a sha; a ref works when the repository is at hand) [default: the
    /// CI's commit (see the README), else HEAD]
    #[arg(long, value_parser = values::non_empty)]
    pub commit: Option<String>,
    /// The CI's id for this run; recording the same id again with the same reports is a no-op
    /// [default: from the CI's variables, else local-TIME-PID]
    #[arg(long, value_parser = values::non_empty)]
    pub run_id: Option<String>,
    /// Measure the change against the merge-base with this revision (e.g. origin/main)
    /// instead of the commit's first parent
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// The branch the run was on (kept with the run; shown by `seer runs`)
    #[arg(long)]
    pub branch: Option<String>,
    /// The CI job's name (e.g. test-linux)
    #[arg(long)]
    pub job: Option<String>,
    /// When the run happened: RFC 3339, "YYYY-MM-DD HH:MM[:SS]" (UTC) or Unix seconds [default: now]
    #[arg(long, value_name = "T", value_parser = values::time)]
    pub time: Option<i64>,
    /// Read every report in this format instead of detecting it
    #[arg(long, value_parser = clap::value_parser!(ReportFormat))]
    pub format: Option<ReportFormat>,
    /// The git repository to read the change from [default: the one holding the current directory]
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Do not read git at all (no change information is stored)
    #[arg(long, conflicts_with = "repo")]
    pub no_git: bool,
    /// Overwrite a stored run with the same id but different content
    #[arg(long)]
    pub replace: bool,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
    /// Test report files
    #[arg(required = true, value_name = "REPORT")]
    pub reports: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The files' format [default: detected: JSON lines if it starts with '{', else RETECS CSV]
    #[arg(long, value_parser = clap::value_parser!(ImportFormat))]
    pub format: Option<ImportFormat>,
    /// Run ids for formats without them are PREFIX-CYCLE [default: the file's name without extension]
    #[arg(long, value_name = "PREFIX")]
    pub run_prefix: Option<String>,
    /// Overwrite stored runs with the same id but different content
    #[arg(long)]
    pub replace: bool,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
    /// History files: seer's JSON lines (one run a line) or RETECS CSV
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// How many runs to list
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The test's id, as `seer show run` prints it
    pub test_id: String,
    /// How many runs to list
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ShowCommand {
    /// One run: its metadata, results and changed files
    Run(ShowRunArgs),
}

#[derive(Debug, Args)]
pub struct ShowRunArgs {
    /// The run's id, as `seer runs` lists it
    pub run_id: String,
    /// List every test, not only those that failed, errored or were retried
    #[arg(long)]
    pub all: bool,
    /// Print JSON (a stable, versioned format) instead of text
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;

    /// Every `seer …` command of a CI recipe, joined across `\` line ends, with shell variables
    /// and `${{ … }}` expressions replaced by a word and array expansions dropped.
    fn seer_commands(recipe: &str) -> Vec<Vec<String>> {
        let mut joined = recipe.replace("\\\n", " ");
        while let Some(start) = joined.find("${{") {
            let end = joined[start..].find("}}").map_or(joined.len(), |e| start + e + 2);
            joined.replace_range(start..end, "$X");
        }
        let mut commands = Vec::new();
        for line in joined.lines() {
            // Environment assignments may come before the command (`SEER_TOKEN=… seer train`).
            let assignments = |before: &str| {
                let words: Vec<&str> = before.split_whitespace().collect();
                !words.is_empty()
                    && words.iter().all(|w| {
                        w.split_once('=').is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
                    })
            };
            let Some(at) = line.find("seer ").filter(|&at| {
                let before = &line[..at];
                before.trim_start().is_empty()
                    || before.ends_with("&& ")
                    || before.ends_with("then ")
                    || assignments(before)
            }) else {
                continue;
            };
            let text = line[at..].split(" && ").next().unwrap_or("").split(" || ").next().unwrap_or("");
            let text = text.split(';').next().unwrap_or("");
            let mut words = Vec::new();
            for word in text.split_whitespace() {
                if word.starts_with("\"${") && word.contains("[@]") {
                    continue;
                }
                let word = word.trim_matches('"');
                words.push(if word.contains('$') { "X".to_string() } else { word.to_string() });
            }
            commands.push(words);
        }
        commands
    }

    #[test]
    fn the_ci_recipes_use_only_real_flags() {
        for (name, recipe, expected) in [
            (
                "github-actions.yml",
                include_str!("../scripts/ci/github-actions.yml"),
                &["select", "record", "train", "coverage"][..],
            ),
            (
                "github-actions-serverless.yml",
                include_str!("../scripts/ci/github-actions-serverless.yml"),
                &["select", "record", "train", "coverage"][..],
            ),
            (
                "gitlab-ci.yml",
                include_str!("../scripts/ci/gitlab-ci.yml"),
                &["select", "record", "train", "coverage"][..],
            ),
            ("buildkite.yml", include_str!("../scripts/ci/buildkite.yml"), &["select", "record", "train"][..]),
            ("weekly-report.yml", include_str!("../scripts/ci/weekly-report.yml"), &["profile", "report"][..]),
        ] {
            let commands = seer_commands(recipe);
            let verbs: Vec<&str> = commands.iter().map(|c| c[1].as_str()).collect();
            for &verb in expected {
                assert!(verbs.contains(&verb), "{name} runs seer {verb}: {verbs:?}");
            }
            for command in &commands {
                if let Err(e) = Cli::try_parse_from(command) {
                    panic!("{name}: {command:?} does not parse:\n{e}");
                }
            }
        }
    }

    /// clap's own consistency checks: every `conflicts_with` and `requires` names an argument
    /// that exists, no two flags share a name.
    #[test]
    fn the_command_line_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }
}

#[cfg(test)]
mod help_tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every argument and subcommand of `cmd` (and below) without help, as `path: name`.
    fn without_help(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        let path = format!("{path} {}", cmd.get_name()).trim().to_string();
        for arg in cmd.get_arguments() {
            let auto = matches!(arg.get_id().as_str(), "help" | "version");
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            if !auto && help.trim().is_empty() {
                out.push(format!("{path}: {}", arg.get_id()));
            }
        }
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            if sub.get_about().is_none_or(|a| a.to_string().trim().is_empty()) {
                out.push(format!("{path}: subcommand {}", sub.get_name()));
            }
            without_help(sub, &path, out);
        }
    }

    #[test]
    fn every_flag_argument_and_subcommand_has_help() {
        let mut missing = Vec::new();
        without_help(&Cli::command(), "", &mut missing);
        assert!(missing.is_empty(), "{} without help:\n{}", missing.len(), missing.join("\n"));
    }
}
