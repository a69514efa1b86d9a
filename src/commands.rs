//! Each command: its arguments resolved into the library's options, one library call, printing.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use seer_ci_core::backend::{self, History};
use seer_ci_core::collect::RecordOptions;
use seer_ci_core::collect::time::format_time;
use seer_ci_core::model::ModelFile;
use seer_ci_core::ops::{self, Error, ModelDestination};
use seer_ci_core::select::{ChangeSource, Mode, SelectConfig, SelectRequest, Selection, Shard, Target};
use seer_ci_core::store;

use crate::args::{
    Cli, Command, CoverageCommand, CoverageRecordArgs, DoctorArgs, EvalArgs, FlakyCommand, HistoryArgs, ImportArgs,
    ModelCommand, ModelShowArgs, ModelsArg, PredictArgs, ProfileCommand, ProfileDiffArgs, ProfileRecordArgs,
    ProfileRunArgs, ProfileTrendArgs, RecordArgs, ReportArgs, RunsArgs, SelectArgs, SelectFormat, ServeArgs,
    ShowCommand, ShowRunArgs, StoreCommand, TokenCommand, TrainArgs,
};
use crate::ci::{self, CiRun};
use crate::escape::{Escaped, shown};
use crate::print;
use crate::remote;
use crate::{RegressionFound, RunEverything, UsageError};

pub fn run(cli: Cli) -> Result<()> {
    let db = match cli.db {
        Some(db) => db,
        None => store::default_path(&current_dir()?),
    };
    warn_of_a_broken_configuration(&cli.command);
    // Buffered: a selection of a million tests is a million lines.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // JSON and runner arguments are written exactly; what a person reads is escaped.
    let remote = cli.server.as_deref().map(|url| remote::Client::new(url, &cli.project, cli.token.clone()));
    let result = match remote {
        Some(client) if cli.command.has_remote_form() => {
            if cli.command.exact_output() {
                dispatch_remote(&client, cli.command, &mut out)
            } else {
                dispatch_remote(&client, cli.command, &mut Escaped::new(&mut out))
            }
        }
        _ if cli.command.exact_output() => dispatch(&db, cli.command, &mut out),
        _ => dispatch(&db, cli.command, &mut Escaped::new(&mut out)),
    };
    // What was written before an error is still shown.
    let flushed = out.flush();
    result?;
    Ok(flushed?)
}

/// The commands that work against `seer serve` (`--server`, `SEER_URL`).
fn dispatch_remote(client: &remote::Client, command: Command, out: &mut impl Write) -> Result<()> {
    match command {
        Command::Record(args) => remote::record(client, args, out),
        Command::Select(args) => remote::select(client, args, out),
        Command::Predict(args) => remote::predict(client, args, out),
        Command::Train(args) => remote::train(client, args, out),
        Command::Stats(args) => {
            let doc: seer_ci_api::StatsJson = client.get("stats").context("no stats")?;
            print::stats(out, &doc, args.json)
        }
        Command::Flaky(FlakyCommand::List(args)) => {
            let doc: seer_ci_api::FlakyListJson =
                client.get(&format!("flaky?window={}", args.window.max(2))).context("no flaky tests listed")?;
            print::flaky(out, &doc, args.json)
        }
        Command::Report(args) => remote::report(client, args, out),
        Command::Coverage(CoverageCommand::Record(args)) => remote::coverage_record(client, args, out),
        Command::Profile(ProfileCommand::Record(args)) => remote::profile_record(client, args, out),
        _ => unreachable!("has_remote_form lists the commands above"),
    }
}

fn dispatch(db: &Path, command: Command, out: &mut impl Write) -> Result<()> {
    match command {
        // A store path is for the other commands; serve finds SQLite projects in --data.
        Command::Serve(args) => serve(args, Some(db).filter(|d| backend::is_url(d))),
        Command::Token(command) => token(db, command, out),
        Command::Record(args) => record(db, args, out),
        Command::Import(args) => import(db, args, out),
        Command::Runs(args) => runs(db, args, out),
        Command::History(args) => history(db, args, out),
        Command::Show(ShowCommand::Run(args)) => show_run(db, args, out),
        Command::Eval(args) => eval(db, args, out),
        Command::Train(args) => train(db, args, out),
        Command::Select(args) => select(db, args, out),
        Command::Predict(args) => predict(db, args, out),
        Command::Flaky(command) => flaky(db, command, out),
        Command::Profile(command) => profile(db, command, out),
        Command::Coverage(CoverageCommand::Record(args)) => coverage_record(db, args, out),
        Command::Coverage(CoverageCommand::List(args)) => {
            let store = open_existing(db)?;
            print::coverage_commits(out, &store.coverage_commits().map_err(Error::from)?, args.json)
        }
        Command::Report(args) => report(db, args, out),
        Command::Model(ModelCommand::Show(args)) => model_show(db, args, out),
        Command::Store(StoreCommand::Backup(args)) => {
            let summary = ops::backup_store(db, &args.to)?;
            print::backup(out, db, &summary, args.json)
        }
        Command::Store(StoreCommand::Copy(args)) => {
            let copied = ops::copy_store(&args.from, &args.to)?;
            let (from, to) = (location(&args.from), location(&args.to));
            if args.json {
                let mut doc = serde_json::to_value(&copied)?;
                doc["format_version"] = seer_ci_api::FORMAT_VERSION.into();
                doc["from"] = from.into();
                doc["to"] = to.into();
                return print::write_json(out, &doc);
            }
            let c = &copied;
            writeln!(
                out,
                "copied {from} to {to}: {} runs, {} coverage commits, {} profiles, {} selections, {} quarantined, \
                 {} tokens, {} models",
                c.runs, c.coverage_commits, c.profiles, c.selections, c.quarantined, c.tokens, c.models
            )?;
            Ok(())
        }
        Command::Doctor(args) => doctor(db, args, out),
        Command::Completions(args) => {
            let mut cli = <Cli as clap::CommandFactory>::command();
            cli.set_bin_name("seer");
            cli.build();
            // `try_generate`: a closed pipe is an error to report, not a panic.
            Ok(clap_complete::Generator::try_generate(&args.shell, &cli, out)?)
        }
        Command::Man(args) => {
            let cli = <Cli as clap::CommandFactory>::command();
            match args.out_dir {
                Some(dir) => clap_mangen::generate_to(cli, &dir)
                    .with_context(|| format!("cannot write the man pages into {}", dir.display())),
                None => Ok(clap_mangen::Man::new(cli).render(out)?),
            }
        }
        Command::Stats(args) => {
            let (stats, warning) = ops::stats(db, repo_settings(None)?.config.gate())?;
            warn(warning);
            print::stats(out, &stats, args.json)
        }
    }
}

pub(crate) fn current_dir() -> Result<PathBuf> {
    std::env::current_dir().context("cannot read the current directory")
}

/// `dir`, else the current directory.
pub(crate) fn dir_or_cwd(dir: Option<PathBuf>) -> Result<PathBuf> {
    match dir {
        Some(dir) => Ok(dir),
        None => current_dir(),
    }
}

fn open_existing(db: &Path) -> Result<Box<dyn History>> {
    Ok(backend::open_existing(db).map_err(Error::from)?)
}

/// Prints warnings on stderr.
pub(crate) fn warn(warnings: impl IntoIterator<Item = String>) {
    for w in warnings {
        eprintln!("warning: {}", shown(&w));
    }
}

/// The commit to use: the flag's, the CI's, or HEAD of the repository at `repo`.
pub(crate) fn commit_or_default(given: Option<String>, ci: Option<&CiRun>, repo: Option<&Path>) -> Result<String> {
    match (given.or_else(|| ci.and_then(|c| c.commit.clone())), repo) {
        (Some(commit), _) => Ok(commit),
        (None, Some(repo)) if seer_ci_core::collect::git::repository_root(repo).is_some() => Ok("HEAD".into()),
        (None, _) => {
            Err(UsageError("--commit is needed outside CI and a git repository (or with --no-git)".into()).into())
        }
    }
}

/// What `seer record` collects, from its flags and the CI's variables (also `--server`'s).
pub(crate) fn record_options(args: RecordArgs) -> Result<RecordOptions> {
    let repo = if args.no_git { None } else { Some(dir_or_cwd(args.repo)?) };
    let ci = ci::current();
    let ci = ci.as_ref();
    Ok(RecordOptions {
        commit: commit_or_default(args.commit, ci, repo.as_deref())?,
        run_id: args.run_id.or_else(|| ci.and_then(|c| c.run_id.clone())).unwrap_or_else(ci::local_run_id),
        base: args.base.or_else(|| ci.and_then(|c| c.base.clone())),
        branch: args.branch.or_else(|| ci.and_then(|c| c.branch.clone())),
        job: args.job.or_else(|| ci.and_then(|c| c.job.clone())),
        time: args.time,
        reports: args.reports,
        format: args.format,
        repo,
    })
}

fn record(db: &Path, args: RecordArgs, out: &mut impl Write) -> Result<()> {
    let (replace, json) = (args.replace, args.json);
    let opts = record_options(args)?;
    let recorded = ops::record(db, &opts, replace).context("run not recorded")?;
    warn(recorded.collected.warnings.iter().cloned());
    print::recorded(out, &recorded, json)
}

fn import(db: &Path, args: ImportArgs, out: &mut impl Write) -> Result<()> {
    let request = ops::ImportRequest {
        files: args.files,
        format: args.format,
        run_prefix: args.run_prefix,
        replace: args.replace,
    };
    let bar = ProgressBar::no_length().with_style(
        ProgressStyle::with_template("importing {bar:40} {pos}/{len} runs {elapsed}").expect("valid progress template"),
    );
    let imported = ops::import(db, &request, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .context("nothing imported")?;
    bar.finish_and_clear();
    warn(imported.warnings.iter().cloned());
    print::imported(out, &request.files, &imported.runs, &imported.statuses, imported.folded_rows, args.json)
}

fn runs(db: &Path, args: RunsArgs, out: &mut impl Write) -> Result<()> {
    let store = open_existing(db)?;
    print::runs(out, &store.runs(args.limit).map_err(Error::from)?, args.json)
}

fn history(db: &Path, args: HistoryArgs, out: &mut impl Write) -> Result<()> {
    let store = open_existing(db)?;
    let entries = store
        .history(&args.test_id, args.limit)
        .map_err(Error::from)?
        .ok_or_else(|| not_found(db, format!("test {:?}", args.test_id)))?;
    print::history(out, &args.test_id, &entries, args.json)
}

fn not_found(db: &Path, what: String) -> Error {
    Error::NotFound { what, store: db.to_path_buf() }
}

fn show_run(db: &Path, args: ShowRunArgs, out: &mut impl Write) -> Result<()> {
    let store = open_existing(db)?;
    let run =
        store.run(&args.run_id).map_err(Error::from)?.ok_or_else(|| not_found(db, format!("run {:?}", args.run_id)))?;
    print::run(out, &run, args.all, args.json)
}

fn eval(db: &Path, args: EvalArgs, out: &mut impl Write) -> Result<()> {
    let request = ops::EvalRequest {
        warmup: args.warmup,
        fraction: args.fraction,
        target_recall: args.target_recall,
        seed: args.seed,
        retrain_every: args.retrain_every,
    };
    let evaluation = ops::evaluate(db, &request)?;
    let target = args.fraction.is_none().then_some(args.target_recall);
    print::evaluation(out, &evaluation, target, args.json)
}

fn train(db: &Path, args: TrainArgs, out: &mut impl Write) -> Result<()> {
    let destination = match args.output {
        Some(path) => ModelDestination::File(path),
        None => ModelDestination::Directory(args.models.resolve(db)),
    };
    let request = ops::TrainRequest {
        target_recall: args.target_recall,
        features: args.features.map(Into::into),
        destination,
        now: chrono::Utc::now().timestamp(),
    };
    let trained = ops::train(db, &request)?;
    warn(trained.warnings);
    print::model(out, &trained.file, &trained.path.display().to_string(), "trained", args.json)
}

fn model_show(db: &Path, args: ModelShowArgs, out: &mut impl Write) -> Result<()> {
    let (file, place, source) = match args.file {
        Some(path) => (ModelFile::load(&path).map_err(Error::from)?, path.display().to_string(), "file"),
        None => {
            let dir = args.models.resolve(db);
            let (file, name, source) = seer_ci_core::model::live(&dir).map_err(Error::from)?;
            (file, name, source.as_str())
        }
    };
    print::model(out, &file, &place, source, args.json)
}

/// `seer doctor`: one line per check, and exit 1 when one fails.
fn doctor(db: &Path, args: DoctorArgs, out: &mut impl Write) -> Result<()> {
    let request = ops::DoctorRequest {
        db: db.to_path_buf(),
        models: args.models.resolve(db),
        repo: if args.no_git { None } else { Some(dir_or_cwd(args.repo)?) },
        base: args.base,
        reports: args.reports,
        now: chrono::Utc::now().timestamp(),
    };
    let checks = ops::doctor(&request);
    print::doctor(out, &checks)?;
    let failed = checks.iter().filter(|c| c.status == ops::Status::Fail).count();
    if failed > 0 {
        anyhow::bail!("{failed} check(s) failed: see above");
    }
    Ok(())
}

/// The repository and settings `select` and `predict` work in.
struct RepoSettings {
    repo: PathBuf,
    config: SelectConfig,
    /// What is wrong with the configuration file, if anything.
    config_problem: Option<String>,
}

/// A configuration file that does not read makes every `select` run everything: every command
/// says so (select and predict say it in their own words), not only the one in the CI log.
fn warn_of_a_broken_configuration(command: &Command) {
    if matches!(command, Command::Select(_) | Command::Predict(_)) {
        return;
    }
    let Ok(cwd) = std::env::current_dir() else { return };
    let Some(root) = seer_ci_core::collect::git::repository_root(&cwd) else { return };
    if let Err(e) = SelectConfig::load(&root) {
        eprintln!("warning: {}: until it is fixed, every `seer select` runs every test", shown(&e.to_string()));
    }
}

fn repo_settings(repo: Option<PathBuf>) -> Result<RepoSettings> {
    let repo = dir_or_cwd(repo)?;
    let root = seer_ci_core::collect::git::repository_root(&repo).unwrap_or_else(|| repo.clone());
    let (config, problem) = match SelectConfig::load(&root) {
        Ok((config, warnings)) => {
            warn(warnings);
            (config, None)
        }
        Err(e) => (SelectConfig::default(), Some(e.to_string())),
    };
    Ok(RepoSettings { repo, config, config_problem: problem })
}

fn select_request(db: &Path, settings: RepoSettings, change: ChangeSource, models: ModelsArg) -> SelectRequest {
    SelectRequest {
        change,
        repo: settings.repo,
        models: models.resolve(db),
        workspace_cache: db.parent().unwrap_or(Path::new(".")).join("workspace.json"),
        config: settings.config,
        config_problem: settings.config_problem,
        target: Target::Model,
        shard: None,
        observe: false,
        keep: false,
        reasons_for: usize::MAX,
        now: chrono::Utc::now().timestamp(),
    }
}

/// `--shard K --shards N`, checked (also `--server`'s).
pub(crate) fn shard_of(args: &SelectArgs) -> Result<Option<Shard>> {
    match (args.shards, args.shard) {
        (Some(count), Some(index)) => Ok(Some(
            Shard::checked(index, count)
                .ok_or_else(|| UsageError(format!("--shard {index} is not one of 1..={count}")))?,
        )),
        _ => Ok(None),
    }
}

/// `seer select`: exits 0 whatever happens inside (it fails open), unless its answer cannot be
/// written at all.
fn select(db: &Path, args: SelectArgs, out: &mut impl Write) -> Result<()> {
    let target = Target::of(args.recall, args.time_budget.map(|d| d.as_secs_f64()), args.fraction);
    let shard = shard_of(&args)?;
    let mut settings = repo_settings(args.repo.clone())?;
    settings.config.always.extend(args.always.iter().cloned());
    let ci = ci::current();
    let repo = (!args.no_git).then_some(settings.repo.as_path());
    let commit = commit_or_default(args.commit.clone(), ci.as_ref(), repo)?;
    let change = if args.worktree {
        ChangeSource::WorkingTree
    } else if args.no_git {
        ChangeSource::NoGit { commit }
    } else {
        ChangeSource::Commit { commit, base: args.base.clone().or_else(|| ci.and_then(|c| c.base)) }
    };
    let mut request = select_request(db, settings, change, args.models.clone());
    request.target = target;
    request.shard = shard;
    request.observe = args.observe;
    request.keep = !args.dry_run && !args.quarantined && !args.worktree;
    if let Some(time) = args.time {
        request.now = time;
    }
    let format = if args.json { SelectFormat::Json } else { args.format };
    if args.filter.is_some() && format != SelectFormat::Nextest {
        return Err(UsageError(
            "--filter is for --format nextest (other runners' own options already AND with seer's)".into(),
        )
        .into());
    }
    // Only JSON and --explain show reasons; runner arguments need none.
    request.reasons_for = if format == SelectFormat::Json || args.explain { usize::MAX } else { 0 };
    let selection = seer_ci_core::select::select(db, &request);
    let repo = request.repo;
    print_selection(selection, &repo, args, out)
}

/// Prints a selection as `args` asks (shared with `seer select --server`).
pub(crate) fn print_selection(
    mut selection: Selection,
    repo: &Path,
    args: SelectArgs,
    out: &mut impl Write,
) -> Result<()> {
    let format = if args.json { SelectFormat::Json } else { args.format };
    // The checkout tells a dotted directory from a package (also with --no-git: no git is read).
    if format == SelectFormat::Pytest {
        seer_ci_core::select::locate_pytest_files(&mut selection, repo);
    }
    if let Some(reason) = &selection.reason {
        eprintln!("seer select: running every test: {}", shown(reason));
    }
    for note in &selection.notes {
        eprintln!("seer select: {}", shown(note));
    }
    if args.explain {
        print::explain(&mut Escaped::new(std::io::stderr().lock()), &selection)?;
    }
    let mut file = match &args.output {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => None,
    };
    let out: &mut dyn Write = match &mut file {
        Some(f) => f,
        None => out,
    };
    if args.quarantined {
        print::quarantined(out, &selection, format)?;
    } else {
        print::selection(out, &selection, format, args.filter.as_deref())?;
    }
    // A file's write errors show here, not lost in a drop.
    out.flush()?;
    if args.quarantined {
        return Ok(());
    }
    // Runner arguments say "everything" by naming nothing; a list cannot, nor can it hold a
    // name with a control character as it is (it is shown escaped): a script reading it is told
    // by the exit code.
    let unlistable = selection.selected.iter().any(|t| t.test.id.chars().any(char::is_control));
    if format == SelectFormat::List && (selection.mode == Mode::All || unlistable) {
        return Err(RunEverything.into());
    }
    Ok(())
}

/// `seer predict`: the working tree's change (or a commit's), ranked.
fn predict(db: &Path, args: PredictArgs, out: &mut impl Write) -> Result<()> {
    let settings = repo_settings(args.repo)?;
    if let Some(problem) = &settings.config_problem {
        anyhow::bail!("{problem}");
    }
    let change = match args.commit {
        Some(commit) => ChangeSource::Commit { commit, base: args.base },
        None => ChangeSource::WorkingTree,
    };
    let mut request = select_request(db, settings, change, args.models);
    request.reasons_for = args.limit;
    let predicted = seer_ci_core::select::predict(db, &request).map_err(Error::Predict)?;
    print::predicted(out, &predicted, args.limit, args.json)
}

fn flaky(db: &Path, command: FlakyCommand, out: &mut impl Write) -> Result<()> {
    match command {
        FlakyCommand::List(args) => print::flaky(out, &ops::flaky_list(db, args.window)?, args.json),
        FlakyCommand::Quarantine(args) => {
            let now = chrono::Utc::now().timestamp();
            let status = ops::change_quarantine(db, &args.test_id, Some(args.reason.as_deref()), now)?;
            print::quarantine_change(out, &args.test_id, status, args.json)
        }
        FlakyCommand::Release(args) => {
            let status = ops::change_quarantine(db, &args.test_id, None, 0)?;
            print::quarantine_change(out, &args.test_id, status, args.json)
        }
    }
}

fn profile(db: &Path, command: ProfileCommand, out: &mut impl Write) -> Result<()> {
    match command {
        ProfileCommand::Record(args) => profile_record(db, args, out),
        ProfileCommand::Run(args) => profile_run(db, args, out),
        ProfileCommand::List(args) => {
            let store = open_existing(db)?;
            let repo = dir_or_cwd(args.repo)?;
            let benches = store.benches().map_err(Error::from)?;
            let histories = match &args.bench {
                Some(bench) if !benches.iter().any(|(b, _, _)| b == bench) => {
                    return Err(not_found(db, format!("profiles of bench {bench:?}")).into());
                }
                Some(bench) => {
                    let history =
                        seer_ci_core::profile::history(store.as_ref(), bench, Some(&repo)).map_err(Error::from)?;
                    vec![(bench.clone(), history)]
                }
                None => vec![],
            };
            print::benches(out, &benches, &histories, args.json)
        }
        ProfileCommand::Flamegraph(args) => {
            let request = ops::FlamegraphRequest { bench: args.bench, commit: args.commit };
            let (svg, runs) = ops::flamegraph(db, &request)?;
            std::fs::write(&args.svg, svg).with_context(|| format!("cannot write {}", args.svg.display()))?;
            let samples: u64 = runs.iter().map(|r| r.samples).sum();
            writeln!(out, "wrote {} ({} runs, {samples} samples)", args.svg.display(), runs.len())?;
            Ok(())
        }
        ProfileCommand::Diff(args) => profile_diff(db, args, out),
        ProfileCommand::Trend(args) => profile_trend(db, args, out),
    }
}

/// The directory coverage paths are taken relative to: `--root`, else the repository around the
/// current directory, else the current directory.
pub(crate) fn coverage_root(root: Option<PathBuf>) -> Result<PathBuf> {
    match root {
        Some(root) => Ok(root),
        None => {
            let cwd = current_dir()?;
            Ok(seer_ci_core::collect::git::repository_root(&cwd).unwrap_or(cwd))
        }
    }
}

fn coverage_record(db: &Path, args: CoverageRecordArgs, out: &mut impl Write) -> Result<()> {
    let root = coverage_root(args.root)?;
    let request = ops::CoverageRecordRequest { commit: args.commit, test: args.test, root, files: args.files };
    let recorded = ops::record_coverage(db, &request).context("nothing recorded")?;
    print::coverage_recorded(out, &recorded.to_json(), &request.root, args.json)
}

fn profile_record(db: &Path, args: ProfileRecordArgs, out: &mut impl Write) -> Result<()> {
    let request = ops::ProfileRecordRequest {
        run_ids: vec![],
        bench: args.bench,
        commit: args.commit,
        time: args.time,
        run_id: args.run_id,
        read: seer_ci_core::profile::ReadOptions {
            format: args.format.map(Into::into),
            normalize: args.normalize.into(),
            max_bytes: args.max_bytes,
        },
        replace: args.replace,
        files: args.files,
    };
    let recorded = ops::record_profiles(db, &request).context("nothing recorded")?;
    print::profiles_recorded(out, &ops::profiles_json(&request.bench, &request.commit, &recorded), args.json)
}

/// `seer profile run`: perf profiles the command, the runs are stored under the commit, and with
/// `--compare` the diff against the base follows (then the recording's summary goes to stderr).
fn profile_run(db: &Path, args: ProfileRunArgs, out: &mut impl Write) -> Result<()> {
    let ci = ci::current();
    let commit = match args.commit.or_else(|| ci.as_ref().and_then(|c| c.commit.clone())) {
        Some(commit) => commit,
        None => {
            let repo = dir_or_cwd(args.repo)?;
            let git = seer_ci_core::collect::git::discover(&repo)
                .map_err(|_| UsageError("--commit is needed outside CI and a git repository".into()))?;
            seer_ci_core::collect::git::resolve_commit(&git, "HEAD").context("cannot read HEAD")?.to_string()
        }
    };
    let scratch = std::env::temp_dir().join(format!("seer-profile-run-{}", std::process::id()));
    let dir = args.keep.clone().unwrap_or_else(|| scratch.clone());
    let perf = seer_ci_core::profile::PerfRequest {
        command: args.command,
        runs: usize::from(args.runs),
        frequency: args.frequency,
        dir,
        perf: args.perf,
    };
    let record = ops::ProfileRecordRequest {
        run_ids: vec![],
        bench: args.bench.clone(),
        commit: commit.clone(),
        time: None,
        run_id: Some(args.run_id.or_else(|| ci.and_then(|c| c.run_id)).unwrap_or_else(ci::local_run_id)),
        read: seer_ci_core::profile::ReadOptions {
            format: Some(seer_ci_core::profile::ProfileFormat::Perf),
            normalize: args.normalize.into(),
            max_bytes: seer_ci_core::profile::DEFAULT_MAX_PROFILE_BYTES,
        },
        replace: false,
        files: vec![],
    };
    let recorded = ops::profile_run(db, &perf, record);
    if args.keep.is_none() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    let recorded = ops::profiles_json(&args.bench, &commit, &recorded.context("nothing recorded")?);
    let Some(base) = args.compare else {
        return print::profiles_recorded(out, &recorded, args.json);
    };
    print::profiles_recorded(&mut std::io::stderr(), &recorded, false)?;
    let options = seer_ci_core::regress::CompareOptions::default();
    let compared = ops::compare_profiles(db, &args.bench, (&base, &commit), options, false)?;
    let view = print::DiffView { bench: &args.bench, base: &compared.base_runs, head: &compared.head_runs, options };
    print::diff(out, &view, &compared.comparison, &compared.names, args.json)
}

fn profile_diff(db: &Path, args: ProfileDiffArgs, out: &mut impl Write) -> Result<()> {
    let options = seer_ci_core::regress::CompareOptions {
        min_share: args.detector.min_share,
        min_change: args.detector.min_change,
        fdr: args.fdr,
        ..Default::default()
    };
    let compared = ops::compare_profiles(db, &args.bench, (&args.base, &args.head), options, args.svg.is_some())?;
    if let (Some(path), Some(svg)) = (&args.svg, &compared.svg) {
        std::fs::write(path, svg).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let view = print::DiffView { bench: &args.bench, base: &compared.base_runs, head: &compared.head_runs, options };
    print::diff(out, &view, &compared.comparison, &compared.names, args.json)?;
    if args.fail_on_regression && !compared.comparison.regressions.is_empty() {
        return Err(RegressionFound(compared.comparison.regressions.len()).into());
    }
    Ok(())
}

fn profile_trend(db: &Path, args: ProfileTrendArgs, out: &mut impl Write) -> Result<()> {
    let options = seer_ci_core::regress::TrendFramesOptions {
        min_share: args.detector.min_share,
        min_change: args.detector.min_change,
        alpha: args.alpha,
        ..Default::default()
    };
    let repo = dir_or_cwd(args.repo)?;
    let trended = ops::trend(db, &args.bench, Some(&repo), options)?;
    print::trend(out, &args.bench, &trended.history, &trended.trend, &trended.names, args.json)
}

/// That `seer report` was told where the report goes.
pub(crate) fn report_destination(args: &ReportArgs) -> Result<()> {
    if args.out.is_none() && args.markdown.is_none() && !args.json {
        return Err(
            UsageError("say where the report goes: --out FILE.html, --markdown FILE.md, or --json".into()).into()
        );
    }
    Ok(())
}

fn report(db: &Path, args: ReportArgs, out: &mut impl Write) -> Result<()> {
    let now = chrono::Utc::now().timestamp();
    // The window ends after this second by default, so that what was recorded just now is in it.
    let to = args.to.unwrap_or(now + 1);
    let from = match (args.from, args.since) {
        (Some(from), _) => from,
        (None, Some(since)) => to - since.as_secs() as i64,
        (None, None) => to - 7 * 86_400,
    };
    if from >= to {
        return Err(UsageError("the window is empty: --from must be before --to".into()).into());
    }
    report_destination(&args)?;
    let options = seer_ci_core::report::ReportOptions {
        from,
        to,
        models: args.models.resolve(db),
        repo: Some(dir_or_cwd(args.repo)?),
        top: args.top.max(1),
        generated_at: now,
    };
    let (data, warning) = ops::report(db, &options)?;
    warn(warning);
    let command = format!("seer report --from {} --to {}", format_time(from), format_time(to));
    if let Some(path) = &args.out {
        // Each flame graph also goes beside the page, full size and interactive, and the page links it.
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "report".into());
        let dir = path.parent().unwrap_or(Path::new(""));
        for (name, svg) in seer_ci_core::report::flamegraph_files(&data, &stem) {
            let file = dir.join(&name);
            std::fs::write(&file, svg).with_context(|| format!("cannot write {}", file.display()))?;
        }
        std::fs::write(path, seer_ci_core::report::render_html_linked(&data, &command, Some(&stem)))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.markdown {
        std::fs::write(path, seer_ci_core::report::render_markdown(&data, &command))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        return print::write_json(out, &data.to_json());
    }
    let written: Vec<String> =
        [&args.out, &args.markdown].iter().filter_map(|p| p.as_ref()).map(|p| p.display().to_string()).collect();
    writeln!(out, "wrote {} ({} to {})", written.join(" and "), format_time(from), format_time(to))?;
    Ok(())
}

/// A store's location for messages: a path, or a URL without its password.
fn location(at: &Path) -> String {
    match at.to_str() {
        Some(url) if backend::is_url(at) => backend::postgres::redact(url),
        _ => at.display().to_string(),
    }
}

/// `seer serve`: until SIGTERM or SIGINT. `db`, a Postgres URL, holds every project's store.
fn serve(args: ServeArgs, db: Option<&Path>) -> Result<()> {
    let postgres = db.and_then(Path::to_str).map(str::to_string);
    if postgres.is_some() {
        // The data directory holds the projects' local files (models, workspace caches).
        std::fs::create_dir_all(&args.data).with_context(|| format!("cannot make {}", args.data.display()))?;
    }
    if !args.data.is_dir() {
        return Err(UsageError(format!(
            "--data {} is not a directory (make it, and a project in it with `seer token create --db DIR/KEY/seer.db`)",
            args.data.display()
        ))
        .into());
    }
    let config = seer_ci_server::ServeConfig {
        listen: args.listen,
        data: args.data.clone(),
        postgres: postgres.clone(),
        max_body: args.max_body_mib << 20,
        request_timeout: args.timeout,
        rate: seer_ci_server::RateLimit { per_second: args.rate, burst: args.burst.max(1.0) },
        train_every: args.train_every,
        target_recall: args.target_recall,
    };
    seer_ci_server::serve(config, |addr| match &postgres {
        Some(url) => eprintln!(
            "seer serve: listening on http://{addr} (stores in {}, local files in {})",
            backend::postgres::redact(url),
            args.data.display()
        ),
        None => eprintln!("seer serve: listening on http://{addr} (data {})", args.data.display()),
    })?;
    Ok(())
}

/// `seer token create|list|revoke`, on the project's store (`--db`).
fn token(db: &Path, command: TokenCommand, out: &mut impl Write) -> Result<()> {
    let now = chrono::Utc::now().timestamp();
    match command {
        TokenCommand::Create(args) => {
            let scopes: Vec<store::Scope> = args.scope.iter().filter_map(|s| store::Scope::parse(s)).collect();
            let secret = store::new_secret().context("cannot make a secret")?;
            let mut st = backend::open(db).map_err(Error::from)?;
            let id = st.create_token(&args.name, &scopes, &store::token_hash(&secret), now).map_err(Error::from)?;
            let token = store::Token { id, name: args.name, scopes, created_at: now, revoked_at: None };
            print::token_created(out, &token, &secret, args.json)
        }
        TokenCommand::List(args) => {
            let st = open_existing(db)?;
            print::tokens(out, &st.tokens().map_err(Error::from)?, args.json)
        }
        TokenCommand::Revoke(args) => {
            let mut st = open_existing(db)?;
            if !st.revoke_token(&args.token, now).map_err(Error::from)? {
                return Err(
                    Error::NotFound { what: format!("live token {:?}", args.token), store: db.to_path_buf() }.into()
                );
            }
            if args.json {
                return print::write_json(
                    out,
                    &serde_json::json!({"format_version": seer_ci_api::FORMAT_VERSION, "revoked": args.token}),
                );
            }
            writeln!(out, "revoked token {}", args.token)?;
            Ok(())
        }
    }
}
