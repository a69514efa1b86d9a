//! Printing results: human tables by default, the JSON types of [`seer_ci_api`] with `--json`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use comfy_table::{Table, presets};

use seer_ci_api::{
    BenchHistoryJson, BenchJson, ChangeSummaryJson, CommitRunsJson, ContenderJson, CountsJson, CoverageListJson,
    CoverageRecordJson, DiffSideJson, EvalJson, FORMAT_VERSION, FlakyListJson, HistoryJson, ImportJson,
    ProfileDiffJson, ProfileListJson, ProfileRecordJson, ProfileTrendJson, QuarantineChangeJson, RunsJson,
    SelectionJson, ShowRunJson, StatsJson,
};
use seer_ci_core::collect::git::short;
use seer_ci_core::collect::time::format_time;
use seer_ci_core::collect::{CollectedRun, Outcome, TestResult};
use seer_ci_core::eval::Evaluation;
use seer_ci_core::ops::Recorded;
use seer_ci_core::regress::{change_point_json, frame_name};
use seer_ci_core::report::pct;
use seer_ci_core::select::{Predicted, Selection, quarantined_args, runner_args};

use crate::args::SelectFormat;
use crate::escape::shown;
use seer_ci_core::store::{Counts, HistoryEntry, RecordStatus, RunSummary, StoredRun};

pub fn write_json(out: &mut (impl Write + ?Sized), value: &impl serde::Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A table row with every cell shown safely (control characters escaped).
fn row(cells: Vec<String>) -> Vec<String> {
    cells.into_iter().map(|c| shown(&c).into_owned()).collect()
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    t.set_header(header.to_vec());
    t
}

fn seconds(d: Option<f64>) -> String {
    d.map_or_else(|| "-".into(), |d| format!("{d:.3}s"))
}

fn counts_line(c: &CountsJson) -> String {
    format!(
        "{} tests: {} pass, {} fail, {} error, {} skip; {} flaky (passed on retry)",
        c.tests, c.pass, c.fail, c.error, c.skip, c.flaky
    )
}

pub fn recorded(out: &mut impl Write, recorded: &Recorded, json: bool) -> Result<()> {
    let (run, status) = (&recorded.collected.run, recorded.status);
    let counts = Counts::of(&run.results);
    if json {
        return write_json(out, &recorded.to_json());
    }
    let verb = match status {
        RecordStatus::Inserted => "recorded",
        RecordStatus::Unchanged => "already recorded (unchanged)",
        RecordStatus::Replaced => "replaced",
    };
    writeln!(
        out,
        "{verb} run {} at commit {}: {}",
        run.info.run_id,
        short(&run.info.commit),
        counts_line(&counts.into())
    )?;
    if let Some(cs) = &run.changes {
        let s: ChangeSummaryJson = cs.into();
        let base = cs.base.as_deref().map_or("the empty tree".to_string(), |b| short(b).to_string());
        writeln!(
            out,
            "changes against {base}: {} files, +{} -{}{}",
            s.files,
            s.added,
            s.deleted,
            if cs.complete { "" } else { " (incomplete)" }
        )?;
    }
    Ok(())
}

pub fn imported(
    out: &mut impl Write,
    files: &[PathBuf],
    runs: &[CollectedRun],
    statuses: &[RecordStatus],
    folded_rows: usize,
    json: bool,
) -> Result<()> {
    let count = |s: RecordStatus| statuses.iter().filter(|&&x| x == s).count() as u64;
    let report = ImportJson {
        format_version: FORMAT_VERSION,
        files: files.iter().map(|f| f.display().to_string()).collect(),
        runs: runs.len() as u64,
        inserted: count(RecordStatus::Inserted),
        unchanged: count(RecordStatus::Unchanged),
        replaced: count(RecordStatus::Replaced),
        results: runs.iter().map(|r| r.results.len() as u64).sum(),
        folded_rows: folded_rows as u64,
    };
    if json {
        return write_json(out, &report);
    }
    writeln!(
        out,
        "imported {} runs with {} results from {}: {} new, {} already stored, {} replaced",
        report.runs,
        report.results,
        report.files.join(", "),
        report.inserted,
        report.unchanged,
        report.replaced
    )?;
    if folded_rows > 0 {
        writeln!(out, "{folded_rows} rows repeated a test within its run and were folded into one result")?;
    }
    Ok(())
}

pub fn runs(out: &mut impl Write, runs: &[RunSummary], json: bool) -> Result<()> {
    if json {
        let runs = runs.iter().map(Into::into).collect();
        return write_json(out, &RunsJson { format_version: FORMAT_VERSION, runs });
    }
    let mut t = table(&["RUN", "COMMIT", "BRANCH", "JOB", "TIME", "TESTS", "PASS", "FAIL", "ERROR", "SKIP", "FLAKY"]);
    for r in runs {
        let c = r.counts;
        t.add_row(row(vec![
            r.run_id.clone(),
            short(&r.commit).to_string(),
            r.branch.clone().unwrap_or_default(),
            r.job.clone().unwrap_or_default(),
            format_time(r.time),
            c.tests.to_string(),
            c.pass.to_string(),
            c.fail.to_string(),
            c.error.to_string(),
            c.skip.to_string(),
            c.flaky.to_string(),
        ]));
    }
    if runs.is_empty() {
        writeln!(out, "no runs recorded")?;
    } else {
        writeln!(out, "{t}")?;
    }
    Ok(())
}

pub fn history(out: &mut impl Write, test_id: &str, entries: &[HistoryEntry], json: bool) -> Result<()> {
    if json {
        let results = entries.iter().map(Into::into).collect();
        return write_json(out, &HistoryJson { format_version: FORMAT_VERSION, test_id: test_id.into(), results });
    }
    writeln!(out, "{}", shown(test_id))?;
    let mut t = table(&["TIME", "RUN", "COMMIT", "OUTCOME", "DURATION", "ATTEMPTS", "MESSAGE"]);
    for e in entries {
        t.add_row(row(vec![
            format_time(e.time),
            e.run_id.clone(),
            short(&e.commit).to_string(),
            e.outcome.to_string(),
            seconds(e.duration_s),
            e.attempts.to_string(),
            e.message.as_deref().and_then(|m| m.lines().next()).unwrap_or("").to_string(),
        ]));
    }
    writeln!(out, "{t}")?;
    Ok(())
}

pub fn run(out: &mut impl Write, run: &StoredRun, all: bool, json: bool) -> Result<()> {
    let counts = Counts::of(&run.results);
    let info = &run.info;
    if json {
        return write_json(out, &ShowRunJson::from(run));
    }
    writeln!(out, "run      {}", shown(&info.run_id))?;
    writeln!(out, "commit   {}", shown(&info.commit))?;
    for (label, value) in [("base", &info.base), ("branch", &info.branch), ("job", &info.job)] {
        if let Some(v) = value {
            writeln!(out, "{label:<8} {}", shown(v))?;
        }
    }
    writeln!(out, "time     {} (recorded {})", format_time(info.time), format_time(run.recorded_at))?;
    writeln!(out, "source   {}", shown(&info.source))?;
    writeln!(out, "results  {}", counts_line(&counts.into()))?;
    if let Some(cs) = &run.changes {
        let s: ChangeSummaryJson = cs.into();
        writeln!(
            out,
            "changes  {} files, +{} -{} against {}{}",
            s.files,
            s.added,
            s.deleted,
            cs.base.as_deref().map_or("the empty tree", short),
            if cs.complete { "" } else { " (incomplete)" }
        )?;
        if !cs.commit.summary.is_empty() {
            writeln!(out, "         {} ({})", shown(&cs.commit.summary), shown(&cs.commit.author))?;
        }
        for w in &cs.warnings {
            writeln!(out, "         warning: {}", shown(w))?;
        }
        let mut t = table(&["STATUS", "ADDED", "DELETED", "PATH"]);
        for f in &cs.files {
            let lines = |n: Option<u32>| if f.binary { "bin".into() } else { n.map_or("?".into(), |n| n.to_string()) };
            let path = match &f.old_path {
                Some(old) => format!("{old} -> {}", f.path),
                None => f.path.clone(),
            };
            t.add_row(row(vec![f.kind.as_str().to_string(), lines(f.added), lines(f.deleted), path]));
        }
        if !cs.files.is_empty() {
            writeln!(out, "\n{t}")?;
        }
    } else {
        writeln!(out, "changes  not recorded")?;
    }
    let shown: Vec<&TestResult> =
        run.results.iter().filter(|r| all || r.outcome.is_failure() || r.attempts > 1).collect();
    if shown.is_empty() {
        if !all {
            writeln!(out, "\nno failing or retried tests (--all lists every test)")?;
        }
        return Ok(());
    }
    let mut t = table(&["OUTCOME", "DURATION", "ATTEMPTS", "TEST", "MESSAGE"]);
    let mut shown = shown;
    shown.sort_by_key(|r| (r.outcome != Outcome::Error, r.outcome != Outcome::Fail, r.id.as_str()));
    for r in shown {
        t.add_row(row(vec![
            r.outcome.to_string(),
            seconds(r.duration_s),
            r.attempts.to_string(),
            r.id.clone(),
            r.message.as_deref().and_then(|m| m.lines().next()).unwrap_or("").to_string(),
        ]));
    }
    writeln!(out, "\n{t}")?;
    Ok(())
}

pub fn stats(out: &mut impl Write, doc: &StatsJson, json: bool) -> Result<()> {
    if json {
        return write_json(out, doc);
    }
    writeln!(out, "store          {} (schema {})", doc.store, doc.schema_version)?;
    writeln!(
        out,
        "runs           {} ({} with a failing test), {} to {}",
        doc.runs,
        doc.failing_runs,
        doc.first_run.as_deref().unwrap_or("-"),
        doc.last_run.as_deref().unwrap_or("-")
    )?;
    writeln!(
        out,
        "tests          {} ({} failed at least once, {} flaky at least once)",
        doc.tests, doc.tests_ever_failed, doc.tests_ever_flaky
    )?;
    writeln!(out, "results        {}", counts_line(&doc.results))?;
    writeln!(out, "changes        {} commits with recorded changes", doc.commits_with_changes)?;
    let gate = &doc.gate;
    // A closed gate's reason starts with "observing: …".
    writeln!(out, "trust gate     {}{}", if gate.open { "open: " } else { "" }, gate.why)?;
    let sel = &doc.selection;
    if sel.selections == 0 {
        writeln!(out, "selections     none kept yet (seer select keeps each one)")?;
        return Ok(());
    }
    writeln!(
        out,
        "selections     {} ({} subsets, {} observed, {} ran everything); subsets ran {} of {} tests, {:.0} of {:.0} estimated s",
        sel.selections,
        sel.subsets,
        sel.observed,
        sel.fell_open,
        sel.tests_selected,
        sel.tests_selected + sel.tests_skipped,
        sel.estimated_selected_s,
        sel.estimated_total_s
    )?;
    let recall = sel.observed_recall.map_or("-".to_string(), pct);
    writeln!(
        out,
        "outcomes       {} runs measured: {} failing tests, {} selected, {} not known to the selection (new or not run lately: runner arguments run them); {} misses ({} on the same commit, {} in observe mode); observed recall {recall}",
        sel.runs_measured,
        sel.failing,
        sel.caught,
        sel.unknown,
        sel.misses,
        sel.misses_same_commit,
        sel.misses_observed
    )?;
    if sel.queued > 0 || sel.dropped > 0 {
        writeln!(
            out,
            "bookkeeping    {} selections queued for the next writer (the store was busy); {} dropped (unreadable side files)",
            sel.queued, sel.dropped
        )?;
    }
    if !sel.recent_misses.is_empty() {
        let mut t = table(&["MISSED TEST", "FAILED IN RUN", "COMMIT", "SKIPPED FOR", ""]);
        for m in &sel.recent_misses {
            t.add_row(row(vec![
                m.test.clone(),
                m.run_id.clone(),
                short(&m.commit).to_string(),
                short(&m.selection_commit).to_string(),
                if m.observed { "observe mode".into() } else { String::new() },
            ]));
        }
        writeln!(out, "{t}")?;
    }
    Ok(())
}

pub fn evaluation(out: &mut impl Write, e: &Evaluation, target_recall: Option<f64>, json: bool) -> Result<()> {
    let contenders: Vec<ContenderJson> = e
        .results
        .iter()
        .map(|r| {
            let s = &r.summary;
            ContenderJson {
                name: r.name.clone(),
                test_recall: s.test_recall(),
                run_recall: s.run_recall(),
                time_fraction: s.time_fraction(),
                apfd: s.apfd(),
                napfd: s.napfd(),
                precision: s.precision(),
                f1: s.f1(),
                failing_tests: s.failing as u64,
                failing_tests_selected: s.failing_selected as u64,
                faulty_runs: s.faulty_runs as u64,
                faulty_runs_caught: s.faulty_runs_caught as u64,
                models_chosen: r.models_chosen.clone(),
            }
        })
        .collect();
    if json {
        return write_json(
            out,
            &EvalJson {
                format_version: FORMAT_VERSION,
                runs: e.runs as u64,
                evaluated_runs: e.evaluated as u64,
                warmup: e.options.warmup as u64,
                budget_fraction: e.options.time_fraction,
                target_recall,
                contenders,
            },
        );
    }
    let faulty = e.results.first().map_or(0, |r| r.summary.faulty_runs);
    let budget = match (e.options.time_fraction, target_recall) {
        (Some(f), _) => format!("every contender gets {:.0}% of the test time", 100.0 * f),
        (None, Some(r)) => format!(
            "seer's model selects at the threshold calibrated to {:.0}% recall; the others get the time it chose, run by run",
            100.0 * r
        ),
        (None, None) => "budget set by the learned contender".to_string(),
    };
    writeln!(
        out,
        "{} runs replayed in time order; {} scored after a warm-up of {} ({} with a failing test)\n{budget}",
        e.runs, e.evaluated, e.options.warmup, faulty,
    )?;
    let mut t = table(&["CONTENDER", "TEST RECALL", "RUN RECALL", "TIME", "APFD", "NAPFD", "PRECISION", "F1"]);
    for c in &contenders {
        t.add_row(row(vec![
            c.name.clone(),
            pct(c.test_recall),
            pct(c.run_recall),
            pct(c.time_fraction),
            format!("{:.3}", c.apfd),
            format!("{:.3}", c.napfd),
            pct(c.precision),
            format!("{:.3}", c.f1),
        ]));
    }
    writeln!(out, "{t}")?;
    for c in contenders.iter().filter(|c| !c.models_chosen.is_empty()) {
        let kinds: Vec<String> = c.models_chosen.iter().map(|(k, n)| format!("{k} {n}x")).collect();
        writeln!(out, "{}: model chosen at its retrainings: {}", c.name, kinds.join(", "))?;
    }
    Ok(())
}

/// A model: where it is, what it reads, what it was trained on, how it validated.
pub fn model(
    out: &mut impl Write,
    m: &seer_ci_core::model::ModelFile,
    place: &str,
    source: &str,
    json: bool,
) -> Result<()> {
    if json {
        return write_json(out, &m.to_json(place, source));
    }
    let v = &m.validation;
    let t = &m.training;
    writeln!(out, "model       {place} ({source})")?;
    writeln!(out, "kind        {} on {} features ({:?})", m.predictor.kind(), m.features.len(), m.feature_set)?;
    writeln!(out, "created     {} by seer {}", format_time(m.created_at), m.seer_version)?;
    writeln!(
        out,
        "trained on  {} runs, {} .. {} ({} .. {}); fitted on the first {} ({} rows, {} failing)",
        t.runs,
        t.first_run,
        t.last_run,
        format_time(t.first_time),
        format_time(t.last_time),
        t.fit_runs,
        t.fit_rows,
        t.fit_failing
    )?;
    writeln!(
        out,
        "threshold   {:.4}: selects a test whose score is at or above it (calibrated to {:.0}% recall)",
        m.threshold,
        100.0 * m.target_recall
    )?;
    writeln!(
        out,
        "validated   on the latest {} runs ({} tests run, {} failing): recall {:.1}%{} selecting {:.1}% of the tests, {:.1}% of the time; AUC {:.3}",
        v.runs,
        v.rows,
        v.failing,
        100.0 * v.recall,
        v.recall_interval_note(),
        100.0 * v.selected_share,
        100.0 * v.time_share,
        v.auc
    )?;
    if let Some(thin) = v.thin_evidence() {
        writeln!(out, "warning     {thin}")?;
    }
    let mut table = table(&["CANDIDATE", "RECALL", "TESTS", "TIME", "AUC", ""]);
    for c in &m.candidates {
        let chosen = if c.kind == m.predictor.kind() { "chosen" } else { "" };
        table.add_row(row(vec![
            c.kind.clone(),
            pct(c.recall),
            pct(c.selected_share),
            pct(c.time_share),
            format!("{:.3}", c.auc),
            chosen.to_string(),
        ]));
    }
    writeln!(out, "{table}")?;
    Ok(())
}

/// `seer doctor`'s checks, one a line: `ok`, `warn` or `FAIL`, what, and what was found.
pub fn doctor(out: &mut dyn Write, checks: &[seer_ci_core::ops::Check]) -> Result<()> {
    use seer_ci_core::ops::Status;
    for c in checks {
        let status = match c.status {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        writeln!(out, "{status}  {:<13} {}", c.what, c.detail)?;
    }
    Ok(())
}

/// A selection: JSON, a list of the selected ids, or a test runner's arguments (one per line).
pub fn selection(out: &mut dyn Write, s: &Selection, format: SelectFormat, filter: Option<&str>) -> Result<()> {
    if format == SelectFormat::Json {
        return write_json(out, &SelectionJson::from(s));
    }
    let Some(runner) = format.runner() else {
        // One name a line: a line break inside one is shown escaped (and the exit code says
        // the list is not to be run, see `commands::select`).
        for t in &s.selected {
            writeln!(out, "{}", shown(&t.test.id))?;
        }
        return Ok(());
    };
    let (mut args, warning) = runner_args(s, runner);
    if let Some(filter) = filter {
        args = seer_ci_core::select::and_nextest_filter(args, filter);
    }
    if let Some(w) = warning {
        eprintln!("seer select: warning: {}", shown(&w));
    }
    for arg in args {
        writeln!(out, "{arg}")?;
    }
    Ok(())
}

/// The quarantined tests of a selection, as a runner's arguments (or ids, for `list` and `json`).
pub fn quarantined(out: &mut dyn Write, s: &Selection, format: SelectFormat) -> Result<()> {
    let Some(runner) = format.runner() else {
        for t in &s.quarantined {
            writeln!(out, "{}", t.id)?;
        }
        return Ok(());
    };
    for arg in quarantined_args(s, runner).unwrap_or_default() {
        writeln!(out, "{arg}")?;
    }
    Ok(())
}

/// Each selected test with its score and reasons (for `seer select --explain`, on stderr).
pub fn explain(out: &mut impl Write, s: &Selection) -> Result<()> {
    let what = match s.shard {
        Some(shard) => format!(" (shard {} of {})", shard.index, shard.count),
        None => String::new(),
    };
    writeln!(
        out,
        "seer select: {} tests selected{what}, {} skipped, {} quarantined; about {:.1} s of {:.1} s",
        s.selected.len(),
        s.skipped.len(),
        s.quarantined.len(),
        s.estimated_s,
        s.total_s
    )?;
    for t in &s.selected {
        let reasons = if t.reasons.is_empty() { "every test runs".to_string() } else { t.reasons.join("; ") };
        writeln!(out, "  {:.3}  {}  ({})", t.score, shown(&t.test.id), shown(&reasons))?;
    }
    Ok(())
}

/// `seer predict`: the most likely failures first.
pub fn predicted(out: &mut impl Write, p: &Predicted, limit: usize, json: bool) -> Result<()> {
    predicted_doc(out, &p.to_json(limit), json)
}

/// `seer predict`'s document, printed (also what a server sent).
pub fn predicted_doc(out: &mut impl Write, p: &seer_ci_api::PredictJson, json: bool) -> Result<()> {
    if json {
        return write_json(out, p);
    }
    let listed = &p.predictions;
    writeln!(
        out,
        "{} files changed against {}; {} known tests scored by {}",
        p.files_changed,
        short(&p.commit),
        p.tests_scored,
        p.model
    )?;
    let calibrated = listed.iter().all(|x| x.probability.is_some());
    let mut t = table(&[if calibrated { "P(FAIL)" } else { "SCORE" }, "TEST", "WHY"]);
    for x in listed {
        let value = match x.probability {
            Some(p) => pct(p),
            None => format!("{:.3}", x.score),
        };
        t.add_row(row(vec![value, x.id.clone(), x.reasons.first().cloned().unwrap_or_default()]));
    }
    writeln!(out, "{t}")?;
    if !calibrated {
        writeln!(out, "(the model has no calibration: scores rank the tests but are not probabilities; retrain it)")?;
    }
    for note in &p.notes {
        writeln!(out, "note: {}", shown(note))?;
    }
    Ok(())
}

/// `seer flaky list`'s document, printed (also what a server sent).
pub fn flaky(out: &mut impl Write, doc: &FlakyListJson, json: bool) -> Result<()> {
    if json {
        return write_json(out, doc);
    }
    let window = doc.window;
    if doc.flaky.is_empty() {
        writeln!(out, "no flaky tests in the latest {window} executions of each test")?;
    } else {
        writeln!(out, "{} tests with evidence of flakiness (latest {window} executions of each):", doc.flaky.len())?;
        let mut t = table(&["TEST", "RUNS", "FAILS", "RETRIED", "MIXED", "FLIPS", "LAST SEEN", "", "WHY"]);
        for f in &doc.flaky {
            t.add_row(row(vec![
                f.id.clone(),
                f.executions.to_string(),
                f.failures.to_string(),
                f.retried_passes.to_string(),
                f.mixed_commits.to_string(),
                f.flips.to_string(),
                f.last_evidence.clone(),
                if f.quarantined { "quarantined".into() } else { String::new() },
                f.reasons.join("; "),
            ]));
        }
        writeln!(out, "{t}")?;
    }
    if doc.quarantined.is_empty() {
        writeln!(out, "no tests are quarantined")?;
    } else {
        let mut t = table(&["QUARANTINED", "SINCE", "REASON"]);
        for q in &doc.quarantined {
            t.add_row(row(vec![q.id.clone(), q.since.clone(), q.reason.clone().unwrap_or_default()]));
        }
        writeln!(out, "{t}")?;
    }
    Ok(())
}

/// `seer token create`: the secret, once.
pub fn token_created(out: &mut impl Write, t: &seer_ci_core::store::Token, secret: &str, json: bool) -> Result<()> {
    if json {
        let doc = seer_ci_api::server::TokenCreatedJson {
            format_version: FORMAT_VERSION,
            token: seer_ci_api::server::TokenJson::from(t),
            secret: secret.into(),
        };
        return write_json(out, &doc);
    }
    writeln!(out, "token {} ({}), scopes {}:", t.id, t.name, seer_ci_api::server::TokenJson::from(t).scopes.join(","))?;
    writeln!(out, "{secret}")?;
    writeln!(out, "(shown once: only its hash is kept; store it in the CI's secrets as SEER_TOKEN)")?;
    Ok(())
}

/// `seer token list`.
pub fn tokens(out: &mut impl Write, tokens: &[seer_ci_core::store::Token], json: bool) -> Result<()> {
    if json {
        let doc = seer_ci_api::server::TokenListJson {
            format_version: FORMAT_VERSION,
            tokens: tokens.iter().map(Into::into).collect(),
        };
        return write_json(out, &doc);
    }
    if tokens.is_empty() {
        writeln!(out, "no tokens (seer token create)")?;
        return Ok(());
    }
    let mut t = table(&["ID", "NAME", "SCOPES", "CREATED", "REVOKED"]);
    for k in tokens {
        let j = seer_ci_api::server::TokenJson::from(k);
        t.add_row(row(vec![
            j.id.to_string(),
            j.name,
            j.scopes.join(","),
            j.created_at,
            j.revoked_at.unwrap_or_default(),
        ]));
    }
    writeln!(out, "{t}")?;
    Ok(())
}

/// `seer flaky quarantine|release`.
pub fn quarantine_change(out: &mut impl Write, id: &str, status: &str, json: bool) -> Result<()> {
    if json {
        return write_json(
            out,
            &QuarantineChangeJson { format_version: FORMAT_VERSION, id: id.into(), status: status.into() },
        );
    }
    writeln!(out, "{}: {status}", shown(id))?;
    Ok(())
}

/// `seer profile record` (the document the store's or the server's recording gave).
pub fn profiles_recorded(out: &mut impl Write, doc: &ProfileRecordJson, json: bool) -> Result<()> {
    if json {
        return write_json(out, doc);
    }
    for r in &doc.profiles {
        let verb = match r.status.as_str() {
            "inserted" => "recorded",
            "unchanged" => "already recorded (unchanged)",
            _ => "replaced",
        };
        writeln!(
            out,
            "{verb} profile {} of {} at {}: {} in {} stacks ({})",
            r.run_id,
            doc.bench,
            short(&doc.commit),
            profile_size(&r.source, r.samples as f64, Some(r.sample_count as f64)),
            r.stacks,
            r.source
        )?;
    }
    Ok(())
}

/// A profile's size for people: the samples taken and, for perf (whose counts are weighted by
/// each sample's period, nanoseconds for cpu-clock), the time they stand for; never the weighted
/// count called samples.
fn profile_size(source: &str, weighted: f64, taken: Option<f64>) -> String {
    if !source.starts_with("perf") {
        return format!("{weighted:.0} samples");
    }
    let time = format!("about {:.2} s of cpu-clock", weighted / 1e9);
    match taken {
        Some(n) => format!("{n:.0} samples, {time}"),
        None => time,
    }
}

/// `seer profile list`.
/// `seer coverage record` (the document the store's or the server's recording gave).
pub fn coverage_recorded(
    out: &mut impl Write,
    doc: &CoverageRecordJson,
    root: &std::path::Path,
    json: bool,
) -> Result<()> {
    if json {
        return write_json(out, doc);
    }
    let replaced = match doc.replaced {
        0 => String::new(),
        n => format!(" ({n} replacing their earlier coverage there)"),
    };
    writeln!(
        out,
        "recorded the coverage of {} tests at {}{replaced}: {} source files",
        doc.tests,
        short(&doc.commit),
        doc.files
    )?;
    let outside_root = doc.outside_root;
    if outside_root > 0 {
        eprintln!(
            "warning: {outside_root} source paths lie outside {}: stored as written, they match no changed file (see --root)",
            root.display()
        );
    }
    Ok(())
}

/// `seer coverage list`.
pub fn coverage_commits(
    out: &mut impl Write,
    commits: &[seer_ci_core::store::CoverageCommit],
    json: bool,
) -> Result<()> {
    if json {
        let commits = commits.iter().map(Into::into).collect();
        return write_json(out, &CoverageListJson { format_version: FORMAT_VERSION, commits });
    }
    if commits.is_empty() {
        writeln!(out, "no coverage recorded (seer coverage record)")?;
        return Ok(());
    }
    let mut t = table(&["COMMIT", "TESTS", "FILES", "RECORDED"]);
    for c in commits {
        t.add_row(row(vec![
            short(&c.commit).to_string(),
            c.tests.to_string(),
            c.files.to_string(),
            format_time(c.recorded_at),
        ]));
    }
    writeln!(out, "{t}")?;
    Ok(())
}

pub fn benches(
    out: &mut impl Write,
    benches: &[(String, u64, u64)],
    histories: &[(String, seer_ci_core::profile::ProfileHistory)],
    json: bool,
) -> Result<()> {
    let history_json = |h: &seer_ci_core::profile::ProfileHistory| BenchHistoryJson {
        order: h.order.as_str().into(),
        commits: h
            .commits
            .iter()
            .map(|(c, runs)| CommitRunsJson {
                commit: c.clone(),
                runs: runs.iter().map(|r| r.run_id.clone()).collect(),
                samples: runs.iter().map(|r| r.samples).sum(),
                sample_count: runs.iter().map(|r| r.sample_count).sum(),
            })
            .collect(),
    };
    if json {
        let doc = ProfileListJson {
            format_version: FORMAT_VERSION,
            benches: benches
                .iter()
                .filter(|(b, _, _)| histories.is_empty() || histories.iter().any(|(h, _)| h == b))
                .map(|(b, profiles, commits)| BenchJson {
                    bench: b.clone(),
                    profiles: *profiles,
                    commits: *commits,
                    history: histories.iter().find(|(h, _)| h == b).map(|(_, h)| history_json(h)),
                })
                .collect(),
        };
        return write_json(out, &doc);
    }
    if histories.is_empty() {
        if benches.is_empty() {
            writeln!(out, "no profiles recorded")?;
            return Ok(());
        }
        let mut t = table(&["BENCH", "PROFILES", "COMMITS"]);
        for (b, p, c) in benches {
            t.add_row(row(vec![b.clone(), p.to_string(), c.to_string()]));
        }
        writeln!(out, "{t}")?;
        return Ok(());
    }
    for (bench, h) in histories {
        writeln!(out, "{bench}: {} commits in {} order", h.commits.len(), h.order.as_str())?;
        let mut t = table(&["COMMIT", "RUNS", "SAMPLES"]);
        for (c, runs) in &h.commits {
            t.add_row(row(vec![
                short(c).to_string(),
                runs.len().to_string(),
                runs.iter()
                    .map(|r| r.sample_count.or((!r.source.starts_with("perf")).then_some(r.samples)))
                    .sum::<Option<u64>>()
                    .map_or_else(|| "?".into(), |n| n.to_string()),
            ]));
        }
        writeln!(out, "{t}")?;
    }
    Ok(())
}

/// What a diff compared.
pub struct DiffView<'a> {
    pub bench: &'a str,
    pub base: &'a [seer_ci_core::store::ProfileRun],
    pub head: &'a [seer_ci_core::store::ProfileRun],
    pub options: seer_ci_core::regress::CompareOptions,
}

fn signed_pct(x: Option<f64>) -> String {
    x.map_or("new".to_string(), |x| format!("{:+.1}%", 100.0 * x))
}

/// `seer profile diff`.
pub fn diff(
    out: &mut impl Write,
    v: &DiffView<'_>,
    c: &seer_ci_core::regress::Comparison,
    names: &hashbrown::HashMap<i64, String>,
    json: bool,
) -> Result<()> {
    let side = |runs: &[seer_ci_core::store::ProfileRun]| DiffSideJson {
        commit: runs.first().map(|r| r.commit.clone()).unwrap_or_default(),
        runs: runs.len() as u64,
        samples: runs.iter().map(|r| r.samples as f64).sum::<f64>() / runs.len().max(1) as f64,
        sample_count: runs
            .iter()
            .map(|r| r.sample_count.map(|n| n as f64))
            .sum::<Option<f64>>()
            .map(|n| n / runs.len().max(1) as f64),
    };
    let source = v.head.first().map_or("", |r| r.source.as_str());
    let doc = ProfileDiffJson {
        format_version: FORMAT_VERSION,
        bench: v.bench.into(),
        base: side(v.base),
        head: side(v.head),
        min_share: v.options.min_share,
        min_change: v.options.min_change,
        fdr: v.options.fdr,
        tested: c.tested as u64,
        regressions: c.regressions.iter().map(|x| x.to_json(names)).collect(),
        improvements: c.improvements.iter().map(|x| x.to_json(names)).collect(),
        moved: c.moved.iter().map(|m| m.to_json(names)).collect(),
        total: (&c.total).into(),
    };
    if json {
        return write_json(out, &doc);
    }
    writeln!(
        out,
        "{}: {} ({} runs) against {} ({} runs); {} costs tested (self and inclusive, share >= {}), false discovery rate {:.0}%",
        doc.bench,
        short(&doc.head.commit),
        doc.head.runs,
        short(&doc.base.commit),
        doc.base.runs,
        doc.tested,
        pct(doc.min_share),
        100.0 * doc.fdr
    )?;
    writeln!(
        out,
        "per run: {} -> {} ({:+.1}%, p = {:.3})",
        profile_size(source, doc.base.samples, doc.base.sample_count),
        profile_size(source, doc.head.samples, doc.head.sample_count),
        100.0 * doc.total.change,
        doc.total.p_value
    )?;
    for (title, list) in [("regressions", &doc.regressions), ("improvements", &doc.improvements)] {
        if list.is_empty() {
            writeln!(out, "no significant {title} (at least {} change)", pct(doc.min_change))?;
            continue;
        }
        writeln!(out, "{title} (CHANGE: of the work, runs normalised; shares: of each run's samples):")?;
        let mut t = table(&["FUNCTION", "COST", "CHANGE", "SELF BASE", "SELF HEAD", "INCL BASE", "INCL HEAD", "Q"]);
        let shares = |b: f64, h: f64, i: f64, j: f64| [b, h, i, j].map(|v| format!("{:.2}%", 100.0 * v));
        for x in list {
            let [sb, sh, ib, ih] = shares(x.base_share, x.head_share, x.base_inclusive, x.head_inclusive);
            t.add_row(row(vec![
                x.frame.clone(),
                x.measure.clone(),
                signed_pct(x.change),
                sb,
                sh,
                ib,
                ih,
                format!("{:.2e}", x.q_value),
            ]));
            for c in &x.carried_by {
                let [sb, sh, ib, ih] = shares(c.base_share, c.head_share, c.base_inclusive, c.head_inclusive);
                let within = if c.base_within > 0.0 {
                    signed_pct(Some(c.head_within / c.base_within - 1.0))
                } else {
                    "new".into()
                };
                t.add_row(row(vec![
                    format!("  beneath it: {}", c.frame),
                    "self".into(),
                    within,
                    sb,
                    sh,
                    ib,
                    ih,
                    String::new(),
                ]));
            }
        }
        writeln!(out, "{t}")?;
    }
    for m in &doc.moved {
        writeln!(
            out,
            "moved: {} ({}) {} {}: inlining changed, not the work",
            m.frame,
            pct(m.share),
            m.direction,
            m.caller
        )?;
    }
    Ok(())
}

/// `seer profile trend`.
pub fn trend(
    out: &mut impl Write,
    bench: &str,
    h: &seer_ci_core::profile::ProfileHistory,
    t: &seer_ci_core::regress::Trend,
    names: &hashbrown::HashMap<i64, String>,
    json: bool,
) -> Result<()> {
    let points: Vec<seer_ci_api::ChangePointJson> = t
        .points
        .iter()
        .map(|p| {
            let (frame, measure) = match p.frame {
                Some(f) => (frame_name(names, f), p.measure.as_str()),
                None => ("(samples per run)".into(), "total"),
            };
            change_point_json(&h.commits[p.point.at].0, frame, measure, p.point.before, p.point.after, p.point.p_value)
        })
        .collect();
    if json {
        return write_json(
            out,
            &ProfileTrendJson {
                format_version: FORMAT_VERSION,
                bench: bench.into(),
                order: h.order.as_str().into(),
                commits: h.commits.iter().map(|(c, _)| c.clone()).collect(),
                tested: t.tested as u64,
                change_points: points,
            },
        );
    }
    writeln!(out, "{bench}: {} commits in {} order, {} series tested", h.commits.len(), h.order.as_str(), t.tested)?;
    if points.is_empty() {
        writeln!(out, "no change points")?;
        return Ok(());
    }
    writeln!(out, "(BEFORE and AFTER: cost per run in the profile's unit, ns for perf; normalised between runs)")?;
    let mut table = table(&["FIRST COMMIT", "FUNCTION", "COST", "BEFORE", "AFTER", "CHANGE", "P"]);
    for p in &points {
        table.add_row(row(vec![
            short(&p.commit).to_string(),
            p.frame.clone(),
            p.measure.clone(),
            format!("{:.0}", p.before),
            format!("{:.0}", p.after),
            format!("{:+.1}%", 100.0 * p.change),
            format!("{:.2e}", p.p_value),
        ]));
    }
    writeln!(out, "{table}")?;
    Ok(())
}

/// `seer store backup`.
pub fn backup(
    out: &mut impl Write,
    db: &std::path::Path,
    b: &seer_ci_core::store::BackupSummary,
    json: bool,
) -> Result<()> {
    let doc = seer_ci_api::StoreBackupJson {
        format_version: FORMAT_VERSION,
        store: db.display().to_string(),
        to: b.to.display().to_string(),
        bytes: b.bytes,
        schema_version: b.schema_version,
        runs: b.runs,
        integrity: "ok".into(),
    };
    if json {
        return write_json(out, &doc);
    }
    writeln!(
        out,
        "backed up {} to {}: {} runs, {:.1} MB, schema {}; integrity check of the copy: ok",
        doc.store,
        doc.to,
        doc.runs,
        doc.bytes as f64 / 1e6,
        doc.schema_version
    )?;
    Ok(())
}
