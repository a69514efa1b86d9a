//! Each command: arguments resolved into options first, then one library call, then printing.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

use super::args::{
    Cli, Command, CoverageCommand, CoverageRecordArgs, EvalArgs, FlakyCommand, HistoryArgs, ImportArgs, ModelCommand,
    ModelShowArgs, PredictArgs, ProfileCommand, ProfileDiffArgs, ProfileRecordArgs, ProfileTrendArgs, RecordArgs,
    ReportArgs, RunsArgs, SelectArgs, ShowCommand, ShowRunArgs, TrainArgs,
};
use super::print;
use super::{NotFound, RegressionFound};
use crate::collect::import::read_history;
use crate::collect::time::parse_time;
use crate::collect::{Collected, CollectedRun, Prepared, RecordOptions, RunInfo, prepare, read_reports};
use crate::eval::{EvalOptions, Learned, RandomOrder, Ranker, RecentlyFailedFirst, RunAll, evaluate};
use crate::features::all_features;
use crate::model::{FeatureSet, ModelFile, TrainOptions, TrainingWindow};
use crate::select::{ChangeSource, FlakyOptions, SelectConfig, SelectRequest, Shard, Target};
use crate::store::{self, RecordError, Store};

pub fn run(cli: Cli) -> Result<()> {
    let db = resolve_db(cli.db)?;
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Record(args) => record(&db, args, &mut out),
        Command::Import(args) => import(&db, args, &mut out),
        Command::Runs(args) => runs(&db, args, &mut out),
        Command::History(args) => history(&db, args, &mut out),
        Command::Show(ShowCommand::Run(args)) => show_run(&db, args, &mut out),
        Command::Eval(args) => eval(&db, args, &mut out),
        Command::Train(args) => train_model(&db, args, &mut out),
        Command::Select(args) => select_tests(&db, args, &mut out),
        Command::Predict(args) => predict(&db, args, &mut out),
        Command::Flaky(command) => flaky(&db, command, &mut out),
        Command::Profile(command) => profile(&db, command, &mut out),
        Command::Coverage(CoverageCommand::Record(args)) => coverage_record(&db, args, &mut out),
        Command::Coverage(CoverageCommand::List(args)) => {
            let store = Store::open_existing(&db)?;
            print::coverage_commits(&mut out, &store.coverage_commits()?, args.json)
        }
        Command::Report(args) => report(&db, args, &mut out),
        Command::Model(ModelCommand::Show(args)) => model_show(&db, args, &mut out),
        Command::Stats(args) => {
            let mut store = Store::open_existing(&db)?;
            refresh_after_write(&mut store);
            print::stats(&mut out, &store, args.json)
        }
    }
}

/// `--time`, when given.
fn optional_time(raw: Option<&str>) -> Result<Option<i64>> {
    raw.map(|raw| time_flag("--time", raw)).transpose()
}

/// Refuses flags given as empty text.
fn non_empty(flags: &[(&str, &str)]) -> Result<()> {
    match flags.iter().find(|(_, value)| value.trim().is_empty()) {
        Some((flag, _)) => bail!("{flag} must not be empty"),
        None => Ok(()),
    }
}

fn record_options(args: RecordArgs) -> Result<RecordOptions> {
    let time = optional_time(args.time.as_deref())?;
    non_empty(&[("--run-id", &args.run_id), ("--commit", &args.commit)])?;
    let repo = if args.no_git {
        None
    } else {
        Some(match args.repo {
            Some(dir) => dir,
            None => std::env::current_dir().context("cannot read the current directory")?,
        })
    };
    Ok(RecordOptions {
        run_id: args.run_id,
        commit: args.commit,
        base: args.base,
        branch: args.branch,
        job: args.job,
        time,
        reports: args.reports,
        format: args.format,
        repo,
    })
}

fn record(db: &Path, args: RecordArgs, out: &mut impl Write) -> Result<()> {
    let json = args.json;
    let replace = args.replace;
    let opts = record_options(args)?;
    let Prepared { info, changes, mut warnings } = prepare(&opts);
    let mut store = Store::open(db)?;
    // Reports are parsed while their results are written; a rejected report rolls the whole
    // run back, so nothing of it is stored.
    let (status, set, read) = match store.record_streaming(
        &info,
        changes.as_ref(),
        replace,
        |set| read_reports(&opts, set),
        |read| read.source.clone(),
    ) {
        Ok(done) => done,
        Err(RecordError::Input(e)) => return Err(anyhow::Error::new(e).context("run not recorded")),
        Err(RecordError::Store(e)) => return Err(anyhow::Error::new(e).context("run not recorded")),
    };
    warnings.extend(read.warnings);
    refresh_after_write(&mut store);
    let mut stderr = std::io::stderr().lock();
    for w in &warnings {
        writeln!(stderr, "warning: {w}")?;
    }
    let collected = Collected {
        run: CollectedRun { info: RunInfo { source: read.source, ..info }, results: set.into_results(), changes },
        repeated: read.repeated,
        warnings,
    };
    print::recorded(out, &collected, status, json)
}

fn import(db: &Path, args: ImportArgs, out: &mut impl Write) -> Result<()> {
    let mut histories = Vec::new();
    for path in &args.files {
        let prefix = match &args.run_prefix {
            Some(p) => p.clone(),
            None => file_stem(path),
        };
        histories.push(read_history(path, args.format, &prefix).context("nothing imported")?);
    }
    let runs: Vec<_> = histories.iter().flat_map(|h| h.runs.iter().cloned()).collect();
    let folded: usize = histories.iter().map(|h| h.folded_rows).sum();
    let mut store = Store::open(db)?;
    let bar = ProgressBar::new(runs.len() as u64).with_style(
        ProgressStyle::with_template("importing {bar:40} {pos}/{len} runs {elapsed}").expect("valid progress template"),
    );
    let statuses =
        store.record_many(&runs, args.replace, |done| bar.set_position(done as u64)).context("nothing imported")?;
    bar.finish_and_clear();
    refresh_after_write(&mut store);
    print::imported(out, &args.files, &runs, &statuses, folded, args.json)
}

fn file_stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "import".into())
}

fn runs(db: &Path, args: RunsArgs, out: &mut impl Write) -> Result<()> {
    let store = Store::open_existing(db)?;
    print::runs(out, &store.runs(args.limit)?, args.json)
}

fn history(db: &Path, args: HistoryArgs, out: &mut impl Write) -> Result<()> {
    let store = Store::open_existing(db)?;
    let entries = store
        .history(&args.test_id, args.limit)?
        .ok_or_else(|| NotFound(format!("no test {:?} in the store {}", args.test_id, db.display())))?;
    print::history(out, &args.test_id, &entries, args.json)
}

fn show_run(db: &Path, args: ShowRunArgs, out: &mut impl Write) -> Result<()> {
    let store = Store::open_existing(db)?;
    let run = store
        .run(&args.run_id)?
        .ok_or_else(|| NotFound(format!("no run {:?} in the store {}", args.run_id, db.display())))?;
    print::run(out, &run, args.all, args.json)
}

fn eval(db: &Path, args: EvalArgs, out: &mut impl Write) -> Result<()> {
    args.fraction.map(check_fraction).transpose()?;
    check_recall(args.target_recall)?;
    let store = Store::open_existing(db)?;
    let replay = store.replay()?;
    let features = all_features(&replay).context("cannot build features")?;
    let options = TrainOptions { target_recall: args.target_recall, ..Default::default() };
    let history = TrainOptions { features: FeatureSet::History, ..options };
    let mut rankers: Vec<Box<dyn Ranker + '_>> = Vec::new();
    // seer's model first: in threshold mode it sets the others' budget.
    if replay.has_changes() {
        rankers.push(Box::new(Learned::new("seer model (history + change)", &features, options, args.retrain_every)));
    }
    rankers.push(Box::new(Learned::new("history-only model", &features, history, args.retrain_every)));
    rankers.push(Box::new(RunAll));
    rankers.push(Box::new(RandomOrder::new(args.seed)));
    rankers.push(Box::new(RecentlyFailedFirst));
    let eval_options = EvalOptions { warmup: args.warmup, time_fraction: args.fraction };
    let evaluation = evaluate(&replay, &mut rankers, eval_options);
    let target = args.fraction.is_none().then_some(args.target_recall);
    print::evaluation(out, &evaluation, target, args.json)
}

/// The repository and settings `select` and `predict` work in.
struct Workspace {
    repo: PathBuf,
    config: SelectConfig,
    /// What is wrong with the configuration file, if anything.
    config_problem: Option<String>,
}

fn workspace(repo: Option<PathBuf>) -> Result<Workspace> {
    let repo = match repo {
        Some(r) => r,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let root = crate::collect::git::repository_root(&repo).unwrap_or_else(|| repo.clone());
    let (config, problem) = match SelectConfig::load(&root) {
        Ok((config, warnings)) => {
            for w in warnings {
                eprintln!("warning: {w}");
            }
            (config, None)
        }
        Err(e) => (SelectConfig::default(), Some(e.to_string())),
    };
    Ok(Workspace { repo, config, config_problem: problem })
}

fn select_request(db: &Path, ws: Workspace, change: ChangeSource, models: Option<PathBuf>) -> SelectRequest {
    SelectRequest {
        change,
        repo: ws.repo,
        models: models_dir(db, models),
        workspace_cache: db.parent().unwrap_or(Path::new(".")).join("workspace.json"),
        config: ws.config,
        config_problem: ws.config_problem,
        target: Target::Model,
        shard: None,
        observe: false,
        keep: false,
        reasons_for: usize::MAX,
        now: chrono::Utc::now().timestamp(),
    }
}

/// `seer select`: exits 0 whatever happens inside (it fails open), unless its answer cannot be
/// written at all.
fn select_tests(db: &Path, args: SelectArgs, out: &mut impl Write) -> Result<()> {
    // Usage mistakes are refused (exit 2 is not a silent skip: the CI step fails loudly).
    let target = match (args.recall, &args.time_budget, args.fraction) {
        (Some(r), _, _) => {
            check_recall(r)?;
            Target::Recall(r)
        }
        (_, Some(d), _) => Target::TimeBudget(parse_duration(d)?),
        (_, _, Some(f)) => Target::Fraction(check_fraction(f)?),
        _ => Target::Model,
    };
    let shard = match (args.shards, args.shard) {
        (Some(count), Some(index)) if count >= 1 && (1..=count).contains(&index) => Some(Shard { index, count }),
        (Some(count), Some(index)) => bail!("--shard {index} is not one of 1..={count}"),
        _ => None,
    };
    let mut ws = workspace(args.repo)?;
    ws.config.always.extend(args.always);
    let change = if args.no_git {
        ChangeSource::NoGit { commit: args.commit }
    } else {
        ChangeSource::Commit { commit: args.commit, base: args.base }
    };
    let mut request = select_request(db, ws, change, args.models);
    request.target = target;
    request.shard = shard;
    request.observe = args.observe;
    request.keep = !args.dry_run && !args.quarantined;
    if let Some(raw) = &args.time {
        request.now = time_flag("--time", raw)?;
    }
    let format = if args.json { "json" } else { args.format.as_str() };
    // Only JSON and --explain show reasons; runner arguments need none.
    request.reasons_for = if format == "json" || args.explain { usize::MAX } else { 0 };
    let selection = crate::select::select(db, &request);
    if let Some(reason) = &selection.reason {
        eprintln!("seer select: running every test: {reason}");
    }
    for note in &selection.notes {
        eprintln!("seer select: {note}");
    }
    if args.explain {
        let mut err = std::io::stderr().lock();
        print::explain(&mut err, &selection)?;
    }
    let mut file = match &args.output {
        Some(path) => Some(std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?),
        None => None,
    };
    let out: &mut dyn Write = match &mut file {
        Some(f) => f,
        None => out,
    };
    if args.quarantined {
        return print::quarantined(out, &selection, format);
    }
    print::selection(out, &selection, format)
}

/// `seer predict`: the working tree's change (or a commit's), ranked.
fn predict(db: &Path, args: PredictArgs, out: &mut impl Write) -> Result<()> {
    let ws = workspace(args.repo)?;
    if let Some(problem) = &ws.config_problem {
        bail!("{problem}");
    }
    let change = match args.commit {
        Some(commit) => ChangeSource::Commit { commit, base: args.base },
        None => ChangeSource::WorkingTree,
    };
    let mut request = select_request(db, ws, change, args.models);
    request.reasons_for = args.limit;
    let predicted = crate::select::predict(db, &request).map_err(|why| anyhow::anyhow!("cannot predict: {why}"))?;
    print::predicted(out, &predicted, args.limit, args.json)
}

fn flaky(db: &Path, command: FlakyCommand, out: &mut impl Write) -> Result<()> {
    match command {
        FlakyCommand::List(args) => {
            let store = Store::open_existing(db)?;
            let replay = store.replay()?;
            let options = FlakyOptions { window: args.window.max(2), ..FlakyOptions::default() };
            let found = crate::select::detect_flaky(&replay, options);
            let quarantined = store.quarantined()?;
            let names: std::collections::HashMap<i64, String> =
                store.test_rows()?.into_iter().map(|t| (t.id, t.name)).collect();
            let quarantined: Vec<(String, i64, Option<String>)> = quarantined
                .into_iter()
                .map(|(t, since, reason)| (names.get(&t).cloned().unwrap_or_default(), since, reason))
                .collect();
            print::flaky(out, &found, &quarantined, options.window, args.json)
        }
        FlakyCommand::Quarantine(args) => {
            let mut store = Store::open_existing(db)?;
            let test = known_test(&store, db, &args.test_id)?;
            let new = store.quarantine(test, chrono::Utc::now().timestamp(), args.reason.as_deref())?;
            let status = if new { "quarantined" } else { "already quarantined" };
            print::quarantine_change(out, &args.test_id, status, args.json)
        }
        FlakyCommand::Release(args) => {
            let mut store = Store::open_existing(db)?;
            let test = known_test(&store, db, &args.test_id)?;
            let status = if store.release(test)? { "released" } else { "not quarantined" };
            print::quarantine_change(out, &args.test_id, status, args.json)
        }
    }
}

fn profile(db: &Path, command: ProfileCommand, out: &mut impl Write) -> Result<()> {
    match command {
        ProfileCommand::Record(args) => profile_record(db, args, out),
        ProfileCommand::List(args) => {
            let store = Store::open_existing(db)?;
            let repo = repo_or_cwd(args.repo)?;
            let benches = store.benches()?;
            let histories = match &args.bench {
                Some(bench) => {
                    if !benches.iter().any(|(b, _, _)| b == bench) {
                        return Err(
                            NotFound(format!("no profiles of bench {bench:?} in the store {}", db.display())).into()
                        );
                    }
                    vec![(bench.clone(), crate::profile::history(&store, bench, Some(&repo))?)]
                }
                None => vec![],
            };
            print::benches(out, &benches, &histories, args.json)
        }
        ProfileCommand::Flamegraph(args) => {
            let store = Store::open_existing(db)?;
            let runs = runs_of(&store, db, &args.bench, &args.commit)?;
            let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
            let stacks = store.merged_stacks(&ids)?;
            let samples: u64 = runs.iter().map(|r| r.samples).sum();
            let options = crate::profile::FlamegraphOptions {
                title: format!("{} at {}", args.bench, crate::collect::git::short(&args.commit)),
                subtitle: Some(format!("{} runs merged, {samples} samples", runs.len())),
                static_svg: false,
            };
            let svg = crate::profile::flamegraph_svg(&stacks, &options).context("cannot draw the flame graph")?;
            std::fs::write(&args.svg, svg).with_context(|| format!("cannot write {}", args.svg.display()))?;
            writeln!(out, "wrote {} ({} runs, {samples} samples)", args.svg.display(), runs.len())?;
            Ok(())
        }
        ProfileCommand::Diff(args) => profile_diff(db, args, out),
        ProfileCommand::Trend(args) => profile_trend(db, args, out),
    }
}

fn repo_or_cwd(repo: Option<PathBuf>) -> Result<PathBuf> {
    match repo {
        Some(r) => Ok(r),
        None => std::env::current_dir().context("cannot read the current directory"),
    }
}

/// The profiles of `bench` at `commit` (a full sha or a unique prefix of one).
fn runs_of(store: &Store, db: &Path, bench: &str, commit: &str) -> Result<Vec<crate::store::ProfileRun>> {
    let runs = store.profile_runs(bench)?;
    let mut matching: Vec<_> = runs.iter().filter(|r| r.commit == commit).cloned().collect();
    if matching.is_empty() {
        let prefixed: Vec<_> = runs.iter().filter(|r| r.commit.starts_with(commit)).collect();
        let commits: std::collections::BTreeSet<&str> = prefixed.iter().map(|r| r.commit.as_str()).collect();
        if commits.len() > 1 {
            bail!("{commit:?} names {} commits of bench {bench:?}: give more of the sha", commits.len());
        }
        matching = prefixed.into_iter().cloned().collect();
    }
    if matching.is_empty() {
        return Err(NotFound(format!(
            "no profiles of bench {bench:?} at commit {commit:?} in the store {}",
            db.display()
        ))
        .into());
    }
    Ok(matching)
}

fn coverage_record(db: &Path, args: CoverageRecordArgs, out: &mut impl Write) -> Result<()> {
    non_empty(&[("--commit", &args.commit)])?;
    if let Some(test) = &args.test {
        non_empty(&[("--test", test)])?;
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let root = match args.root {
        Some(root) => root,
        None => crate::collect::git::repository_root(&cwd).unwrap_or(cwd.clone()),
    };
    // A revision the repository knows is stored as its full sha, so that `select` finds it.
    let commit = git2::Repository::discover(&root)
        .ok()
        .and_then(|repo| crate::collect::git::resolve_commit(&repo, &args.commit).ok())
        .map_or_else(|| args.commit.clone(), |oid| oid.to_string());
    // One entry per test, in the order tests first appear (a test can be in several files).
    let mut tests: Vec<crate::collect::lcov::TestCoverage> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut outside_root = 0;
    for path in &args.files {
        let file = crate::collect::lcov::read(path, args.test.as_deref(), &root).context("nothing recorded")?;
        outside_root += file.outside_root;
        for t in file.tests {
            match index.get(&t.test) {
                Some(&at) => tests[at].merge(t),
                None => {
                    index.insert(t.test.clone(), tests.len());
                    tests.push(t);
                }
            }
        }
    }
    let mut store = Store::open(db)?;
    let recorded = store.record_coverage(&commit, &tests).context("nothing recorded")?;
    print::coverage_recorded(out, &commit, &recorded, outside_root, &root, args.json)
}

fn profile_record(db: &Path, args: ProfileRecordArgs, out: &mut impl Write) -> Result<()> {
    let time = optional_time(args.time.as_deref())?;
    non_empty(&[("--name", &args.bench), ("--commit", &args.commit)])?;
    let normalize =
        crate::profile::NormalizeOptions { strip_generics: args.strip_generics, strip_closures: args.strip_closures };
    let mut profiles = Vec::with_capacity(args.files.len());
    for (k, path) in args.files.iter().enumerate() {
        let folded = crate::profile::read_profile(path, args.format, normalize).context("nothing recorded")?;
        let run_id = match (&args.run_id, args.files.len()) {
            (Some(rid), 1) => rid.clone(),
            (Some(rid), _) => format!("{rid}.{}", k + 1),
            (None, _) => format!(
                "{}/{}",
                args.commit,
                path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
            ),
        };
        profiles.push(crate::store::NewProfile {
            bench: args.bench.clone(),
            run_id,
            commit: args.commit.clone(),
            time,
            source: folded.source,
            stacks: folded.stacks,
        });
    }
    let mut store = Store::open(db)?;
    let statuses = store.record_profiles(&profiles, args.replace).context("nothing recorded")?;
    print::profiles_recorded(out, &profiles, &statuses, args.json)
}

/// Each run's per-frame samples.
fn run_frames(store: &Store, runs: &[crate::store::ProfileRun]) -> Result<Vec<crate::regress::RunFrames>> {
    let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let mut by_run: std::collections::HashMap<i64, crate::regress::RunFrames> = runs
        .iter()
        .map(|r| (r.id, crate::regress::RunFrames { samples: r.samples, frames: Default::default() }))
        .collect();
    for f in store.frame_samples(&ids)? {
        if let Some(run) = by_run.get_mut(&f.profile) {
            run.frames.insert(f.frame, (f.self_samples, f.total_samples));
        }
    }
    Ok(ids.iter().filter_map(|id| by_run.remove(id)).collect())
}

fn check_share(flag: &str, v: f64) -> Result<f64> {
    if !(0.0..1.0).contains(&v) {
        bail!("{flag} {v} is not a share (0 <= S < 1)");
    }
    Ok(v)
}

fn profile_diff(db: &Path, args: ProfileDiffArgs, out: &mut impl Write) -> Result<()> {
    let options = crate::regress::CompareOptions {
        min_share: check_share("--min-share", args.detector.min_share)?,
        min_change: check_share("--min-change", args.detector.min_change)?,
        fdr: check_share("--fdr", args.fdr)?,
    };
    let store = Store::open_existing(db)?;
    let base_runs = runs_of(&store, db, &args.bench, &args.base)?;
    let head_runs = runs_of(&store, db, &args.bench, &args.head)?;
    let comparison =
        crate::regress::compare(&run_frames(&store, &base_runs)?, &run_frames(&store, &head_runs)?, options)
            .with_context(|| format!("cannot compare {} with {}", args.head, args.base))?;
    let shown: Vec<i64> = comparison.regressions.iter().chain(&comparison.improvements).map(|c| c.frame).collect();
    let names = store.frame_names(&shown)?;
    if let Some(path) = &args.svg {
        let before = store.merged_stacks(&base_runs.iter().map(|r| r.id).collect::<Vec<_>>())?;
        let after = store.merged_stacks(&head_runs.iter().map(|r| r.id).collect::<Vec<_>>())?;
        let o = crate::profile::FlamegraphOptions {
            title: format!(
                "{}: {} against {}",
                args.bench,
                crate::collect::git::short(&args.head),
                crate::collect::git::short(&args.base)
            ),
            subtitle: Some("red: a larger share of the samples than before; blue: smaller".into()),
            static_svg: false,
        };
        let svg = crate::profile::differential_svg(&before, &after, &o).context("cannot draw the flame graph")?;
        std::fs::write(path, svg).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let view = print::DiffView { bench: &args.bench, base: &base_runs, head: &head_runs, options };
    print::diff(out, &view, &comparison, &names, args.json)?;
    if args.fail_on_regression && !comparison.regressions.is_empty() {
        return Err(RegressionFound(comparison.regressions.len()).into());
    }
    Ok(())
}

fn profile_trend(db: &Path, args: ProfileTrendArgs, out: &mut impl Write) -> Result<()> {
    let min_share = check_share("--min-share", args.detector.min_share)?;
    let min_change = check_share("--min-change", args.detector.min_change)?;
    let alpha = check_share("--alpha", args.alpha)?;
    let store = Store::open_existing(db)?;
    let repo = repo_or_cwd(args.repo)?;
    let history = crate::profile::history(&store, &args.bench, Some(&repo))?;
    if history.commits.is_empty() {
        return Err(NotFound(format!("no profiles of bench {:?} in the store {}", args.bench, db.display())).into());
    }
    let mut groups: Vec<Vec<crate::regress::RunFrames>> = Vec::with_capacity(history.commits.len());
    for (_, runs) in &history.commits {
        groups.push(run_frames(&store, runs)?);
    }
    let trend =
        crate::regress::trend_by_frame(&groups, crate::regress::TrendFramesOptions { min_share, min_change, alpha });
    let frames: Vec<i64> = trend.points.iter().filter_map(|p| p.frame).collect();
    let names = store.frame_names(&frames)?;
    print::trend(out, &args.bench, &history, &trend, &names, args.json)
}

/// A time flag's value, or a clear refusal naming the flag.
fn time_flag(flag: &str, raw: &str) -> Result<i64> {
    let day = raw.len() == 10 && raw.as_bytes()[4] == b'-' && raw.as_bytes()[7] == b'-';
    let raw = if day { format!("{raw} 00:00") } else { raw.to_string() };
    parse_time(&raw).with_context(|| {
        format!("{flag} {raw:?} is not a time (RFC 3339, \"YYYY-MM-DD[ HH:MM[:SS]]\" or Unix seconds)")
    })
}

/// A window length: `7d`, `24h`, `2w`, `90m`, or seconds.
fn parse_window(text: &str) -> Result<i64> {
    let bad = || anyhow::anyhow!("--since {text:?} is not a duration (e.g. 7d, 24h, 2w)");
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: i64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    if n <= 0 {
        return Err(bad());
    }
    Ok(n * seconds)
}

fn report(db: &Path, args: ReportArgs, out: &mut impl Write) -> Result<()> {
    let now = chrono::Utc::now().timestamp();
    let to = match &args.to {
        Some(raw) => time_flag("--to", raw)?,
        // The window ends after this second, so that what was recorded just now is in it.
        None => now + 1,
    };
    let from = match (&args.from, &args.since) {
        (Some(raw), _) => time_flag("--from", raw)?,
        (None, Some(since)) => to - parse_window(since)?,
        (None, None) => to - 7 * 86_400,
    };
    if from >= to {
        bail!("the window is empty: --from must be before --to");
    }
    if args.out.is_none() && args.markdown.is_none() && !args.json {
        bail!("say where the report goes: --out FILE.html, --markdown FILE.md, or --json");
    }
    let mut store = Store::open_existing(db)?;
    refresh_after_write(&mut store);
    let options = crate::report::ReportOptions {
        from,
        to,
        models: models_dir(db, args.models),
        repo: Some(repo_or_cwd(args.repo)?),
        top: args.top.max(1),
        generated_at: now,
    };
    let data = crate::report::ReportData::collect(&store, &options)?;
    let command = format!(
        "seer report --from {} --to {}",
        crate::collect::time::format_time(from),
        crate::collect::time::format_time(to)
    );
    if let Some(path) = &args.out {
        std::fs::write(path, crate::report::render_html(&data, &command))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.markdown {
        std::fs::write(path, crate::report::render_markdown(&data, &command))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &print::report_json(&data))?;
        writeln!(out)?;
    } else {
        let written: Vec<String> =
            [&args.out, &args.markdown].iter().filter_map(|p| p.as_ref()).map(|p| p.display().to_string()).collect();
        writeln!(
            out,
            "wrote {} ({} to {})",
            written.join(" and "),
            crate::collect::time::format_time(from),
            crate::collect::time::format_time(to)
        )?;
    }
    Ok(())
}

fn known_test(store: &Store, db: &Path, name: &str) -> Result<i64> {
    Ok(store.test_id(name)?.ok_or_else(|| NotFound(format!("no test {name:?} in the store {}", db.display())))?)
}

/// Brings the selection state up to date after a write, when seer select uses it (a store
/// that never had a selection state keeps none). A failure costs nothing stored: warn.
fn refresh_after_write(store: &mut Store) {
    match store.state_meta() {
        Ok(Some(_)) => {}
        Ok(None) if store.has_selections().unwrap_or(false) => {}
        _ => return,
    }
    if let Err(e) = crate::select::refresh(store, std::time::Duration::from_secs(10)) {
        eprintln!("warning: the selection state was not brought up to date (seer select will): {e:#}");
    }
}

/// The models directory: `--models`, else `models/` beside the store.
fn models_dir(db: &Path, models: Option<PathBuf>) -> PathBuf {
    models.unwrap_or_else(|| db.parent().unwrap_or(Path::new(".")).join("models"))
}

fn train_model(db: &Path, args: TrainArgs, out: &mut impl Write) -> Result<()> {
    check_recall(args.target_recall)?;
    let store = Store::open_existing(db)?;
    let replay = store.replay()?;
    let set = args.features.unwrap_or(if replay.has_changes() { FeatureSet::All } else { FeatureSet::History });
    let table = all_features(&replay).context("cannot build features")?;
    let options = TrainOptions { target_recall: args.target_recall, features: set, ..Default::default() };
    let trained = crate::model::train(&table, replay.runs.len(), &options)
        .with_context(|| format!("cannot train a model on the {} runs in {}", replay.runs.len(), db.display()))?;
    let ran: Vec<&store::ReplayRun> = replay.runs.iter().filter(|r| !r.results.is_empty()).collect();
    let (first, last) = (ran.first(), ran.last());
    let window = TrainingWindow {
        runs: ran.len(),
        first_run: first.map(|r| r.run_id.clone()).unwrap_or_default(),
        last_run: last.map(|r| r.run_id.clone()).unwrap_or_default(),
        first_time: first.map_or(0, |r| r.time),
        last_time: last.map_or(0, |r| r.time),
        fit_runs: trained.fit_runs.clone().filter(|&k| !replay.runs[k].results.is_empty()).count(),
        fit_rows: trained.fit_rows,
        fit_failing: trained.fit_failing,
    };
    let file = ModelFile::new(trained, args.target_recall, window, chrono::Utc::now().timestamp());
    // The state that seer select scores from: built now, while the history is read anyway.
    let mut store = store;
    if let Err(e) = crate::select::refresh(&mut store, std::time::Duration::from_secs(10)) {
        eprintln!("warning: the selection state was not built (seer select will): {e:#}");
    }
    let path = match args.output {
        Some(path) => {
            file.save_as(&path)?;
            path
        }
        None => file.save(&models_dir(db, args.models))?,
    };
    print::model(out, &file, &path.display().to_string(), "trained", args.json)
}

fn model_show(db: &Path, args: ModelShowArgs, out: &mut impl Write) -> Result<()> {
    let (file, place, source) = match args.file {
        Some(path) => (ModelFile::load(&path)?, path.display().to_string(), "file"),
        None => {
            let dir = models_dir(db, args.models);
            match crate::model::latest(&dir) {
                Some(path) => (ModelFile::load(&path)?, path.display().to_string(), "project"),
                None => (crate::model::cold_start()?, crate::model::COLD_START_NAME.to_string(), "bundled"),
            }
        }
    };
    print::model(out, &file, &place, source, args.json)
}

/// A duration: seconds (`90`, `90s`), milliseconds (`500ms`), minutes (`10m`), hours (`1h`), or
/// a sum (`1h30m`).
fn parse_duration(text: &str) -> Result<f64> {
    let bad = || anyhow::anyhow!("--time-budget {text:?} is not a duration (e.g. 90s, 10m, 1h30m, 500ms)");
    if let Ok(seconds) = text.parse::<f64>() {
        return if seconds > 0.0 { Ok(seconds) } else { Err(bad()) };
    }
    let (mut total, mut rest) = (0.0, text);
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        let n: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = ["ms", "h", "m", "s"].into_iter().find(|u| rest.starts_with(u)).ok_or_else(bad)?;
        total += n * match unit {
            "ms" => 0.001,
            "h" => 3600.0,
            "m" => 60.0,
            _ => 1.0,
        };
        rest = &rest[unit.len()..];
    }
    if total <= 0.0 {
        return Err(bad());
    }
    Ok(total)
}

fn check_fraction(f: f64) -> Result<f64> {
    if !(f > 0.0 && f <= 1.0) {
        bail!("--fraction {f} is not a share of the test time (0 < F <= 1)");
    }
    Ok(f)
}

fn check_recall(r: f64) -> Result<()> {
    if !(r > 0.0 && r <= 1.0) {
        bail!("--target-recall {r} is not a share of the failing tests (0 < R <= 1)");
    }
    Ok(())
}

/// `--db` (or `SEER_DB`), else the default place for the current directory.
fn resolve_db(db: Option<PathBuf>) -> Result<PathBuf> {
    match db {
        Some(db) => Ok(db),
        None => Ok(store::default_path(&std::env::current_dir().context("cannot read the current directory")?)),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_read_units_and_sums() {
        assert_eq!(parse_duration("90").unwrap(), 90.0);
        assert_eq!(parse_duration("1h30m").unwrap(), 5400.0);
        assert_eq!(parse_duration("500ms").unwrap(), 0.5);
        assert_eq!(parse_duration("2m1s").unwrap(), 121.0);
        for bad in ["", "soon", "10x", "m", "0s", "-1", "1.2.3s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
