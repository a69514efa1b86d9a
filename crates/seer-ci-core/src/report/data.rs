//! Everything the weekly report says, gathered once from the store, the live model and the
//! profiles, so that the HTML page, the Markdown summary and the JSON carry the same numbers.

use std::path::PathBuf;

use crate::backend::History;
use crate::profile::{FlamegraphOptions, HistoryOrder, differential_svg, flamegraph_svg, history};
use crate::profile::{ProfileHistory, RunFrames, run_frames, stacks};
use crate::regress::{CompareOptions, Comparison, Measure, Stacks, TrendFramesOptions, compare, trend_by_frame};
use crate::select::{FlakyOptions, FlakyTest, detect_flaky};
use crate::store::{Day, Judgements, Miss, ProfileRun, SelectionStats, SlowTest, StoreError, TestCount};

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Unix seconds: the window is `[from, to)`.
    pub from: i64,
    pub to: i64,
    /// Where the model files are.
    pub models: PathBuf,
    /// The git repository that orders the profiles' commits, if any.
    pub repo: Option<PathBuf>,
    /// Rows in each "most …" table.
    pub top: usize,
    /// Unix seconds, now.
    pub generated_at: i64,
}

/// Test selection in the window.
#[derive(Debug, Clone, Default)]
pub struct SelectionSection {
    /// CI runs recorded in the window, and how many had a failing test.
    pub runs: u64,
    pub failing_runs: u64,
    /// The selections made in the window.
    pub stats: SelectionStats,
    /// The window's runs measured against their commit's selection.
    pub judged: Judgements,
    /// caught / (caught + misses), of the window's judged runs; `None` without a failing test.
    pub observed_recall: Option<f64>,
    /// Estimated seconds the subsets (observe mode excluded) left out.
    pub saved_s: f64,
    pub total_s: f64,
    pub misses: Vec<Miss>,
    pub days: Vec<Day>,
}

/// The live model.
#[derive(Debug, Clone)]
pub struct ModelSection {
    pub name: String,
    /// `project` or `bundled`.
    pub source: &'static str,
    pub kind: String,
    pub created_at: i64,
    pub trained_runs: usize,
    pub first_run: String,
    pub last_run: String,
    pub threshold: f64,
    pub target_recall: f64,
    /// Recall and share of the time on its validation window (its calibration).
    pub validation_recall: f64,
    pub validation_time_share: f64,
}

/// A shift in a bench's history: at `commit`, `frame`'s `measure` (self, inclusive, or the
/// runs' total) went from `before` to `after`.
#[derive(Debug, Clone)]
pub struct ChangePointRow {
    pub commit: String,
    pub frame: String,
    pub measure: &'static str,
    pub before: f64,
    pub after: f64,
    pub p_value: f64,
}

/// One bench's profiles.
#[derive(Debug, Clone)]
pub struct BenchSection {
    pub bench: String,
    pub order: HistoryOrder,
    /// Every commit in history order, and which of them fall in the window.
    pub commits: Vec<String>,
    pub in_window: Vec<bool>,
    /// The newest commit in the window, and the one it is compared with (the last before the
    /// window, else the first in it).
    pub latest: Option<String>,
    pub baseline: Option<String>,
    pub comparison: Option<Comparison>,
    /// Frame names of the comparison's changes.
    pub names: hashbrown::HashMap<i64, String>,
    /// Change points whose commit is in the window.
    pub change_points: Vec<ChangePointRow>,
    /// Per commit, the share of each plotted function (its name, "(inclusive)" when that cost shifted), for the trend plot.
    pub series: Vec<(String, Vec<f64>)>,
    pub latest_svg: Option<String>,
    pub diff_svg: Option<String>,
    /// What could not be shown, and why.
    pub notes: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct ReportData {
    pub from: i64,
    pub to: i64,
    pub generated_at: i64,
    pub store: String,
    pub selection: SelectionSection,
    pub most_failing: Vec<TestCount>,
    pub most_retried: Vec<TestCount>,
    pub slowest: Vec<SlowTest>,
    /// Flaky tests whose first evidence falls in the window, and those known before it.
    pub new_flaky: Vec<FlakyTest>,
    pub known_flaky: Vec<FlakyTest>,
    pub quarantined: Vec<(String, i64, Option<String>)>,
    pub model: Option<ModelSection>,
    /// The model's recall on the window's real runs, minus its validation recall.
    pub drift: Option<f64>,
    pub benches: Vec<BenchSection>,
}

/// How many commits a trend plot shows at most (the newest).
const PLOTTED_COMMITS: usize = 40;

fn bench_section(store: &dyn History, bench: &str, o: &ReportOptions) -> Result<BenchSection, StoreError> {
    let h = history(store, bench, o.repo.as_deref())?;
    let in_window: Vec<bool> =
        h.commits.iter().map(|(_, runs)| runs.iter().any(|r| (o.from..o.to).contains(&r.time))).collect();
    let commits: Vec<String> = h.commits.iter().map(|(c, _)| c.clone()).collect();
    let mut section = BenchSection {
        bench: bench.to_string(),
        order: h.order,
        commits: commits.clone(),
        in_window: in_window.clone(),
        latest: None,
        baseline: None,
        comparison: None,
        names: Default::default(),
        change_points: vec![],
        series: vec![],
        latest_svg: None,
        diff_svg: None,
        notes: vec![],
    };
    let Some(last) = in_window.iter().rposition(|w| *w) else {
        section.notes.push("no profiles of this bench in the window".into());
        return Ok(section);
    };
    let first = in_window.iter().position(|w| *w).expect("one in the window");
    compare_in_window(store, &h, if first > 0 { first - 1 } else { first }, last, &mut section)?;
    // Change points over the whole history, kept when they fall in the window.
    let mut groups = Vec::with_capacity(h.commits.len());
    for (_, runs) in &h.commits {
        groups.push(run_frames(store, runs)?);
    }
    let all: Vec<ProfileRun> = h.commits.iter().flat_map(|(_, runs)| runs.iter().cloned()).collect();
    let history_stacks = stacks(store, &all, &[])?;
    let trend = trend_by_frame(&groups, Some(&history_stacks), TrendFramesOptions::default());
    let names = history_stacks.names_of(trend.points.iter().filter_map(|p| p.frame));
    for p in trend.points.iter().filter(|p| in_window[p.point.at]) {
        let frame = match p.frame {
            Some(f) => names.get(&f).cloned().unwrap_or_default(),
            None => "(samples per run)".into(),
        };
        let measure = if p.frame.is_some() { p.measure.as_str() } else { "total" };
        section.change_points.push(ChangePointRow {
            commit: commits[p.point.at].clone(),
            frame,
            measure,
            before: p.point.before,
            after: p.point.after,
            p_value: p.point.p_value,
        });
    }
    let plotted: Vec<(i64, Measure)> = trend.points.iter().filter_map(|p| p.frame.map(|f| (f, p.measure))).collect();
    section.series = trend_series(&history_stacks, &groups, plotted, last);
    Ok(section)
}

/// The latest commit in the window against the one before the window (or its first): the
/// detector's answer, the latest flame graph and the differential one.
fn compare_in_window(
    store: &dyn History,
    h: &ProfileHistory,
    base: usize,
    last: usize,
    section: &mut BenchSection,
) -> Result<(), StoreError> {
    let (bench, short) = (&section.bench, |k: usize| crate::collect::git::short(&h.commits[k].0).to_string());
    section.latest = Some(h.commits[last].0.clone());
    // Both sides' stacks, read once: for the detector's attribution and both flame graphs.
    let base_runs: &[ProfileRun] = if base == last { &[] } else { &h.commits[base].1 };
    let attributed = stacks(store, base_runs, &h.commits[last].1)?;
    let latest_stacks = attributed.named(true);
    let title = |what: &str| FlamegraphOptions { title: format!("{bench}: {what}"), subtitle: None, static_svg: true };
    let svg_text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    section.latest_svg = flamegraph_svg(&latest_stacks, &title(&format!("at {}", short(last)))).ok().map(svg_text);
    if base == last {
        section.notes.push("one commit only: nothing to compare it with".into());
        return Ok(());
    }
    section.baseline = Some(h.commits[base].0.clone());
    let (b, l) = (run_frames(store, base_runs)?, run_frames(store, &h.commits[last].1)?);
    match compare(&b, &l, Some(&attributed), CompareOptions::default()) {
        Ok(c) => {
            section.names = attributed.names_of(c.frames());
            section.comparison = Some(c);
        }
        Err(e) => section.notes.push(format!("no comparison: {e}")),
    }
    let before = attributed.named(false);
    let what = format!("{} against {}", short(last), short(base));
    section.diff_svg = differential_svg(&before, &latest_stacks, &title(&what)).ok().map(svg_text);
    Ok(())
}

/// The trend plot's series: each function's mean share per commit (the newest
/// [`PLOTTED_COMMITS`]), for the functions with a change point by the cost that shifted (the
/// inclusive one when both did), else the three largest self shares at the latest commit; five
/// at most.
fn trend_series(
    stacks: &Stacks,
    groups: &[Vec<RunFrames>],
    points: Vec<(i64, Measure)>,
    last: usize,
) -> Vec<(String, Vec<f64>)> {
    let mut plotted: Vec<(i64, Measure)> = points;
    plotted.sort_unstable_by_key(|&(f, m)| (f, m == Measure::Own));
    plotted.dedup_by_key(|p| p.0);
    if plotted.is_empty() {
        let mut by_share: hashbrown::HashMap<i64, u64> = hashbrown::HashMap::new();
        for (f, (own, _)) in groups[last].iter().flat_map(|r| r.frames.iter()) {
            *by_share.entry(*f).or_default() += own;
        }
        let mut by_share: Vec<(i64, u64)> = by_share.into_iter().collect();
        by_share.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        plotted = by_share.into_iter().take(3).map(|(f, _)| (f, Measure::Own)).collect();
    }
    let names = stacks.names_of(plotted.iter().map(|p| p.0));
    let start = groups.len().saturating_sub(PLOTTED_COMMITS);
    let share = |r: &RunFrames, f: i64, m: Measure| {
        r.frames.get(&f).map_or(0.0, |x| (if m == Measure::Own { x.0 } else { x.1 }) as f64 / r.samples.max(1) as f64)
    };
    plotted
        .into_iter()
        .take(5)
        .map(|(f, m)| {
            let values = groups[start..]
                .iter()
                .map(|g| crate::regress::mean(&g.iter().map(|r| share(r, f, m)).collect::<Vec<_>>()))
                .collect();
            let name = names.get(&f).cloned().unwrap_or_default();
            (if m == Measure::Own { name } else { format!("{name} (inclusive)") }, values)
        })
        .collect()
}

impl ReportData {
    /// Gathers the report of `o`'s window from `store`.
    pub fn collect(store: &dyn History, o: &ReportOptions) -> Result<ReportData, StoreError> {
        let (runs, failing_runs) = store.runs_between(o.from, o.to)?;
        let stats = store.selection_stats(Some(o.from), Some(o.to))?;
        let judged = store.judgements(o.from, o.to)?;
        let observed = judged.caught + judged.missed;
        let selection = SelectionSection {
            runs,
            failing_runs,
            saved_s: (stats.estimated_total_s - stats.estimated_selected_s).max(0.0),
            total_s: stats.estimated_total_s,
            stats,
            judged,
            observed_recall: (observed > 0).then(|| judged.caught as f64 / observed as f64),
            misses: store.misses(Some(o.from), Some(o.to), o.top)?,
            days: store.days(o.from, o.to)?,
        };
        let replay = store.replay()?;
        let flaky = detect_flaky(&replay, FlakyOptions::default());
        let (new_flaky, known_flaky): (Vec<FlakyTest>, Vec<FlakyTest>) =
            flaky.into_iter().filter(|f| f.last_evidence >= o.from).partition(|f| f.first_evidence >= o.from);
        let names: hashbrown::HashMap<i64, String> = store.test_rows()?.into_iter().map(|t| (t.id, t.name)).collect();
        let quarantined = store
            .quarantined()?
            .into_iter()
            .map(|(t, since, reason)| (names.get(&t).cloned().unwrap_or_default(), since, reason))
            .collect();
        let model = crate::model::live(&o.models).ok().map(|(m, name, source)| ModelSection {
            name,
            source: source.as_str(),
            kind: m.predictor.kind().to_string(),
            created_at: m.created_at,
            trained_runs: m.training.runs,
            first_run: m.training.first_run.clone(),
            last_run: m.training.last_run.clone(),
            threshold: m.threshold,
            target_recall: m.target_recall,
            validation_recall: m.validation.recall,
            validation_time_share: m.validation.time_share,
        });
        let drift = match (&model, selection.observed_recall) {
            (Some(m), Some(r)) => Some(r - m.validation_recall),
            _ => None,
        };
        let mut benches = Vec::new();
        for (bench, _, _) in store.benches()? {
            benches.push(bench_section(store, &bench, o)?);
        }
        Ok(ReportData {
            from: o.from,
            to: o.to,
            generated_at: o.generated_at,
            store: store.location(),
            selection,
            most_failing: store.most_failing(o.from, o.to, o.top)?,
            most_retried: store.most_retried(o.from, o.to, o.top)?,
            slowest: store.slowest(o.from, o.to, o.top)?,
            new_flaky,
            known_flaky,
            quarantined,
            model,
            drift,
            benches,
        })
    }
}
