//! The report as one self-contained HTML page: inline CSS and SVG (inferno flame graphs, plotters
//! charts), no script and nothing fetched, readable on a phone and printable.

use std::fmt::Write;

use super::data::{BenchSection, ReportData};
use super::numbers::pct;
use super::plot::{daily_chart, trend_chart};
use crate::collect::git::short;
use crate::collect::time::format_time;

const STYLE: &str = r#"
:root { --ink: #1d2330; --muted: #5b6475; --line: #d9dde5; --bad: #b3261e; --good: #1b6e3a; --accent: #0b5fa5; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f7f9; }
main { max-width: 980px; margin: 0 auto; padding: 16px; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.25rem; margin: 32px 0 8px; padding-top: 8px; border-top: 2px solid var(--line); }
h3 { font-size: 1.05rem; margin: 20px 0 6px; }
p { margin: 6px 0; }
.muted, .window { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .n { font-size: 1.45rem; font-weight: 600; }
.card .l { color: var(--muted); font-size: 0.85rem; }
.bad { color: var(--bad); } .good { color: var(--good); }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 0.9rem; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { word-break: break-all; }
code, .cmd { font: 0.82rem/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.cmd { display: block; color: var(--muted); background: #f3f4f7; border-radius: 6px; padding: 4px 8px; margin: 4px 0 10px; overflow-x: auto; white-space: pre; }
.empty { color: var(--muted); font-style: italic; }
figure { margin: 10px 0; }
figure svg { width: 100%; height: auto; display: block; border: 1px solid var(--line); border-radius: 6px; }
figure.flame { margin-left: calc(50% - 50vw + 12px); margin-right: calc(50% - 50vw + 12px); }
.headline { font-size: 1.05em; padding: 8px 12px; border-left: 4px solid var(--bad, #c0392b); background: rgba(192, 57, 43, 0.06); }
figcaption { color: var(--muted); font-size: 0.85rem; }
@media (max-width: 600px) { main { padding: 10px; } body { font-size: 14px; } th, td { padding: 4px 5px; } }
@media print { body { background: #fff; } main { max-width: none; } h2 { break-before: auto; } figure, table, .cards { break-inside: avoid; } .cmd { white-space: pre-wrap; } }
"#;

/// One sentence above a bench's details: the function that got slower the most, by how much, in
/// which cost, and at which commit; else the first shift of its history in the window.
fn headline(o: &mut String, b: &BenchSection) {
    let (Some(latest), Some(base)) = (&b.latest, &b.baseline) else { return };
    if let Some(x) = b.comparison.as_ref().and_then(|c| c.regressions.first()) {
        let (before, after) = match x.measure {
            crate::regress::Measure::Own => (x.base_self, x.head_self),
            crate::regress::Measure::Inclusive => (x.base_inclusive, x.head_inclusive),
        };
        let change = if x.change.is_finite() { format!("{:+.1}%", 100.0 * x.change) } else { "new".into() };
        let _ = write!(
            o,
            "<p class=\"headline\"><strong><code>{}</code></strong> did {change} work ({} cost; {:.2}% → {:.2}% of the samples) at <code>{}</code>, against <code>{}</code>.</p>",
            esc(&name_of(&b.names, x.frame)),
            x.measure.as_str(),
            100.0 * before,
            100.0 * after,
            esc(short(latest)),
            esc(short(base))
        );
    } else if let Some(c) = b.change_points.iter().find(|c| c.frame != "(samples per run)") {
        let _ = write!(
            o,
            "<p class=\"headline\"><strong><code>{}</code></strong>: {} cost {:+.1}% from <code>{}</code> on.</p>",
            esc(&c.frame),
            c.measure,
            100.0 * (c.after / c.before - 1.0),
            esc(short(&c.commit))
        );
    }
}

/// A frame's name from the section's names (empty when unknown).
fn name_of(names: &hashbrown::HashMap<i64, String>, frame: i64) -> String {
    names.get(&frame).cloned().unwrap_or_default()
}

/// Text escaped for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn seconds(s: f64) -> String {
    if s >= 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else if s >= 60.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{s:.1} s")
    }
}

/// An SVG to inline: without its XML declaration (invalid inside HTML) and able to shrink.
fn inline_svg(svg: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    svg[start..].to_string()
}

fn card(out: &mut String, value: &str, label: &str, class: &str) {
    let _ = write!(
        out,
        "<div class=\"card\"><div class=\"n {class}\">{}</div><div class=\"l\">{}</div></div>",
        esc(value),
        esc(label)
    );
}

fn table(out: &mut String, head: &[&str], rows: &[Vec<String>], numeric: &[bool]) {
    out.push_str("<div class=\"scroll\"><table><thead><tr>");
    for (i, h) in head.iter().enumerate() {
        let class = if numeric.get(i) == Some(&true) { " class=\"num\"" } else { "" };
        let _ = write!(out, "<th{class}>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if numeric.get(i) == Some(&true) { "num" } else { "name" };
            let _ = write!(out, "<td class=\"{class}\">{}</td>", esc(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
}

fn empty(out: &mut String, text: &str) {
    let _ = write!(out, "<p class=\"empty\">{}</p>", esc(text));
}

fn cmd(out: &mut String, text: &str) {
    let _ = write!(out, "<code class=\"cmd\">{}</code>", esc(text));
}

/// The page.
pub fn render_html(r: &ReportData, report_cmd: &str) -> String {
    render_html_linked(r, report_cmd, None)
}

/// The flame graphs written beside a report page whose file stem is `stem`: for each bench, its
/// (latest, differential) files, named as the page links them.
pub fn flamegraph_files(r: &ReportData, stem: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for b in &r.benches {
        if let Some(svg) = &b.latest_svg {
            out.push((svg_file(stem, &b.bench, "latest"), svg.clone()));
        }
        if let Some(svg) = &b.diff_svg {
            out.push((svg_file(stem, &b.bench, "diff"), svg.clone()));
        }
    }
    out
}

/// The file name of a bench's flame graph beside the page: the bench's name kept to letters,
/// digits, `.`, `-` and `_`.
fn svg_file(stem: &str, bench: &str, kind: &str) -> String {
    let bench: String =
        bench.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    format!("{stem}.{bench}.{kind}.svg")
}

/// The page, linking each flame graph to its file beside it (`flamegraph_files`) when `stem`
/// names them.
pub fn render_html_linked(r: &ReportData, report_cmd: &str, stem: Option<&str>) -> String {
    let mut o = String::with_capacity(256 * 1024);
    let window = format!("{} to {}", format_time(r.from), format_time(r.to));
    let _ = write!(
        o,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>seer report: {}</title><style>{STYLE}</style></head><body><main>",
        esc(&window)
    );
    let _ = write!(
        o,
        "<header><h1>seer report</h1><p class=\"window\">{} (UTC) · generated {} · store <code>{}</code></p></header>",
        esc(&window),
        esc(&format_time(r.generated_at)),
        esc(&r.store)
    );
    summary(&mut o, r);
    cmd(&mut o, &format!("{report_cmd} --json   # every number of this page"));
    selection(&mut o, r, report_cmd);
    tests(&mut o, r);
    model(&mut o, r);
    profiling(&mut o, r, stem);
    o.push_str("<footer><p class=\"muted\">Made by seer from its store; nothing on this page was fetched.</p></footer></main></body></html>\n");
    o
}

fn summary(o: &mut String, r: &ReportData) {
    let s = &r.selection;
    o.push_str("<section id=\"summary\"><div class=\"cards\">");
    card(o, &s.runs.to_string(), "CI runs", "");
    let shown_tests = s.stats.tests_selected + s.stats.tests_skipped;
    if shown_tests > 0 {
        card(o, &pct(s.stats.tests_selected as f64 / shown_tests as f64), "of tests run by the selections", "");
        card(o, &seconds(s.saved_s), "test time not spent (estimated)", "good");
    } else {
        card(o, "–", "no selections in the window", "");
    }
    let miss_class = if s.stats.misses > 0 { "bad" } else { "good" };
    card(o, &s.stats.misses.to_string(), "misses (skipped tests that failed)", miss_class);
    match (s.observed_recall, &r.model) {
        (Some(recall), Some(m)) => {
            let class = if recall + 1e-9 >= m.target_recall { "good" } else { "bad" };
            card(o, &pct(recall), &format!("observed recall (target {})", pct(m.target_recall)), class);
        }
        (Some(recall), None) => card(o, &pct(recall), "observed recall", ""),
        (None, _) => card(o, "–", "observed recall: no failing test measured", ""),
    }
    let regressions: usize = r.benches.iter().filter_map(|b| b.comparison.as_ref()).map(|c| c.regressions.len()).sum();
    card(o, &regressions.to_string(), "functions that got slower", if regressions > 0 { "bad" } else { "good" });
    o.push_str("</div></section>");
}

fn selection(o: &mut String, r: &ReportData, report_cmd: &str) {
    let s = &r.selection;
    o.push_str("<section id=\"selection\"><h2>Test selection</h2>");
    let _ = write!(
        o,
        "<p>{} CI runs in the window, {} with a failing test. {} selections kept: {} subsets ({} in observe mode), {} ran every test.</p>",
        s.runs, s.failing_runs, s.stats.selections, s.stats.subsets, s.stats.observed, s.stats.fell_open
    );
    if s.stats.subsets > 0 {
        let _ = write!(
            o,
            "<p>The subsets ran {} of {} tests ({}), {} of {} estimated test time; {} estimated not spent (from recorded durations).</p>",
            s.stats.tests_selected,
            s.stats.tests_selected + s.stats.tests_skipped,
            pct(s.stats.tests_selected as f64 / (s.stats.tests_selected + s.stats.tests_skipped).max(1) as f64),
            seconds(s.stats.estimated_selected_s),
            seconds(s.stats.estimated_total_s),
            seconds(s.saved_s)
        );
    }
    let j = &s.judged;
    if j.runs > 0 {
        let _ = write!(
            o,
            "<p>{} runs were measured against their commit's selection: {} failing tests, {} selected, {} not known to the selection (run by the runner arguments). Faulty changes caught: {} of {}.</p>",
            j.runs, j.failing, j.caught, j.unknown, j.faulty_caught, j.faulty
        );
    } else {
        empty(
            o,
            "No run in the window was measured against a selection (no selection was made for their commits, or none was kept).",
        );
    }
    if s.days.iter().any(|d| d.runs > 0 || d.selected + d.skipped > 0) {
        match daily_chart(&s.days) {
            Ok(svg) => {
                let _ = write!(
                    o,
                    "<figure>{}<figcaption>Per day: CI runs (the failing ones in pink) and the share of tests the day's selections ran (dots).</figcaption></figure>",
                    inline_svg(&svg)
                );
            }
            Err(e) => empty(o, &format!("The daily plot could not be drawn: {}", crate::collect::chain(&e))),
        }
    }
    o.push_str("<h3>Misses</h3>");
    if s.misses.is_empty() {
        empty(
            o,
            if j.runs > 0 {
                "No skipped test failed later in this window."
            } else {
                "No misses: nothing was measured yet."
            },
        );
    } else {
        let rows: Vec<Vec<String>> = s
            .misses
            .iter()
            .map(|m| {
                vec![
                    m.test.clone(),
                    m.run_id.clone(),
                    short(&m.selection_commit).to_string(),
                    if m.same_commit { "same commit".into() } else { "later".into() },
                    if m.observed { "observe mode".into() } else { String::new() },
                ]
            })
            .collect();
        table(o, &["test", "failed in run", "skipped for", "seen", ""], &rows, &[]);
    }
    cmd(o, &format!("{report_cmd} --json   # .selection; all time: seer stats"));
    o.push_str("</section>");
}

fn tests(o: &mut String, r: &ReportData) {
    o.push_str("<section id=\"tests\"><h2>Tests</h2><h3>Failing most</h3>");
    if r.most_failing.is_empty() {
        empty(o, "No test failed in this window.");
    } else {
        let rows: Vec<Vec<String>> =
            r.most_failing.iter().map(|t| vec![t.test.clone(), t.count.to_string(), t.runs.to_string()]).collect();
        table(o, &["test", "failures", "runs"], &rows, &[false, true, true]);
        cmd(o, &format!("seer history {}", r.most_failing[0].test));
    }
    o.push_str("<h3>Retries that hid a failure</h3>");
    if r.most_retried.is_empty() {
        empty(o, "No test passed only after a retry in this window.");
    } else {
        let rows: Vec<Vec<String>> =
            r.most_retried.iter().map(|t| vec![t.test.clone(), t.count.to_string(), t.runs.to_string()]).collect();
        table(o, &["test", "passed on retry", "runs"], &rows, &[false, true, true]);
    }
    o.push_str("<h3>Flaky tests</h3>");
    let flaky_rows = |list: &[crate::select::FlakyTest]| -> Vec<Vec<String>> {
        list.iter().map(|f| vec![f.id.clone(), f.reasons.join("; "), format_time(f.last_evidence)]).collect()
    };
    if r.new_flaky.is_empty() && r.known_flaky.is_empty() {
        empty(o, "No test showed evidence of flakiness in this window.");
    } else {
        if !r.new_flaky.is_empty() {
            let _ = write!(o, "<p>New this window ({}):</p>", r.new_flaky.len());
            table(o, &["test", "evidence", "last seen"], &flaky_rows(&r.new_flaky[..r.new_flaky.len().min(15)]), &[]);
        }
        if !r.known_flaky.is_empty() {
            let _ = write!(o, "<p>Known before, still flaky ({}):</p>", r.known_flaky.len());
            table(
                o,
                &["test", "evidence", "last seen"],
                &flaky_rows(&r.known_flaky[..r.known_flaky.len().min(15)]),
                &[],
            );
        }
        cmd(o, "seer flaky list");
    }
    o.push_str("<h3>Quarantined</h3>");
    if r.quarantined.is_empty() {
        empty(o, "No test is quarantined.");
    } else {
        let rows: Vec<Vec<String>> = r
            .quarantined
            .iter()
            .map(|(t, since, reason)| vec![t.clone(), format_time(*since), reason.clone().unwrap_or_default()])
            .collect();
        table(o, &["test", "since", "reason"], &rows, &[]);
    }
    o.push_str("<h3>Slowest</h3>");
    if r.slowest.is_empty() {
        empty(o, "No test recorded a duration in this window.");
    } else {
        let rows: Vec<Vec<String>> = r
            .slowest
            .iter()
            .map(|t| {
                let trend = match t.previous_mean_s {
                    Some(p) if p > 0.0 => format!("{:+.0}%", 100.0 * (t.mean_s / p - 1.0)),
                    _ => "new".into(),
                };
                vec![t.test.clone(), format!("{:.3} s", t.mean_s), t.runs.to_string(), trend]
            })
            .collect();
        table(o, &["test", "mean duration", "runs", "vs. the window before"], &rows, &[false, true, true, true]);
    }
    o.push_str("</section>");
}

fn model(o: &mut String, r: &ReportData) {
    o.push_str("<section id=\"model\"><h2>Model</h2>");
    match &r.model {
        None => empty(o, "No model is usable (neither a project model nor the bundled one)."),
        Some(m) => {
            let _ = write!(
                o,
                "<p>Live: <code>{}</code> ({}, {}), trained {} on {} runs ({} to {}); threshold {:.4}, calibrated to {} recall: on its validation window it reached {} recall at {} of the test time.</p>",
                esc(&m.name),
                m.source,
                esc(&m.kind),
                esc(&format_time(m.created_at)),
                m.trained_runs,
                esc(&m.first_run),
                esc(&m.last_run),
                m.threshold,
                pct(m.target_recall),
                pct(m.validation_recall),
                pct(m.validation_time_share)
            );
            match (r.selection.observed_recall, r.drift) {
                (Some(recall), Some(drift)) => {
                    let class = if drift < -0.02 { "bad" } else { "good" };
                    let _ = write!(
                        o,
                        "<p>On this window's real runs its selections reached <span class=\"{class}\">{} recall</span> ({:+.1} points from its calibration).</p>",
                        pct(recall),
                        100.0 * drift
                    );
                }
                _ => empty(
                    o,
                    "No failing test was measured against a selection in this window: its recall on real runs is unknown.",
                ),
            }
            cmd(o, "seer model show");
        }
    }
    o.push_str("</section>");
}

fn bench(o: &mut String, b: &BenchSection, stem: Option<&str>) {
    let _ = write!(o, "<h3>{}</h3>", esc(&b.bench));
    headline(o, b);
    let in_window = b.in_window.iter().filter(|w| **w).count();
    let _ = write!(
        o,
        "<p>{} commits profiled ({} in the window), in {} order.</p>",
        b.commits.len(),
        in_window,
        b.order.as_str()
    );
    for note in &b.notes {
        empty(o, note);
    }
    if let (Some(latest), Some(base), Some(c)) = (&b.latest, &b.baseline, &b.comparison) {
        let _ = write!(
            o,
            "<p><code>{}</code> against <code>{}</code>: {} costs tested (self and inclusive); whole runs {:+.1}% (p = {:.3}).</p>",
            esc(short(latest)),
            esc(short(base)),
            c.tested,
            100.0 * c.total.change,
            c.total.p_value
        );
        for (title, list) in [("Slower", &c.regressions), ("Faster", &c.improvements)] {
            if list.is_empty() {
                empty(o, &format!("{title}: none significant."));
                continue;
            }
            let name = |f: i64| b.names.get(&f).cloned().unwrap_or_default();
            let rows: Vec<Vec<String>> = list
                .iter()
                .flat_map(|x| {
                    let (before, after) = match x.measure {
                        crate::regress::Measure::Own => (x.base_self, x.head_self),
                        crate::regress::Measure::Inclusive => (x.base_inclusive, x.head_inclusive),
                    };
                    let row = vec![
                        name(x.frame),
                        x.measure.as_str().to_string(),
                        format!("{:.2}%", 100.0 * before),
                        format!("{:.2}%", 100.0 * after),
                        if x.change.is_finite() { format!("{:+.1}%", 100.0 * x.change) } else { "new".into() },
                        format!("{:.1e}", x.q_value),
                    ];
                    let carriers = x.carriers.iter().map(|c| {
                        vec![
                            format!("\u{2003}beneath it: {}", name(c.frame)),
                            "self".to_string(),
                            format!("{:.2}%", 100.0 * c.base_self),
                            format!("{:.2}%", 100.0 * c.head_self),
                            String::new(),
                            String::new(),
                        ]
                    });
                    std::iter::once(row).chain(carriers)
                })
                .collect();
            let _ = write!(o, "<p>{title}:</p>");
            table(
                o,
                &["function", "cost", "share before", "after", "change of the work", "q"],
                &rows,
                &[false, false, true, true, true, true],
            );
        }
        for m in &c.moved {
            let how = if m.inlined { "moved into its caller" } else { "moved out of its caller" };
            empty(
                o,
                &format!(
                    "{} ({:.2}%) {how} {}: not a change of the work.",
                    name_of(&b.names, m.frame),
                    100.0 * m.share,
                    name_of(&b.names, m.caller)
                ),
            );
        }
        if !(c.regressions.is_empty() && c.improvements.is_empty()) {
            let _ = write!(o, "<p>{}</p>", esc(super::Q_MEANS));
        }
        cmd(o, &format!("seer profile diff --name {} --base {} --head {}", b.bench, base, latest));
    }
    if b.change_points.is_empty() {
        empty(o, "No change point in this window.");
    } else {
        let rows: Vec<Vec<String>> = b
            .change_points
            .iter()
            .map(|c| {
                vec![
                    short(&c.commit).to_string(),
                    c.frame.clone(),
                    c.measure.to_string(),
                    format!("{:+.1}%", 100.0 * (c.after / c.before - 1.0)),
                    format!("{:.1e}", c.p_value),
                ]
            })
            .collect();
        o.push_str("<p>Change points in the window:</p>");
        table(o, &["first commit", "function", "cost", "change", "p"], &rows, &[false, false, false, true, true]);
        cmd(o, &format!("seer profile trend --name {}", b.bench));
    }
    if !b.series.is_empty() {
        if let Ok(svg) = trend_chart(&b.commits, &b.series) {
            let _ = write!(
                o,
                "<figure>{}<figcaption>Share of the samples per commit of the functions with a change point, by the cost that shifted (self, or inclusive where named so); else the three largest self shares.</figcaption></figure>",
                inline_svg(&svg)
            );
        }
    }
    let link = |kind: &str| {
        stem.map(|s| format!(" <a href=\"{}\">Open it full size.</a>", esc(&svg_file(s, &b.bench, kind))))
            .unwrap_or_default()
    };
    if let Some(svg) = &b.diff_svg {
        let _ = write!(
            o,
            "<figure class=\"flame\">{}<figcaption>Differential flame graph: red frames hold a larger share than at the start of the window, blue a smaller.{}</figcaption></figure>",
            inline_svg(svg),
            link("diff")
        );
    }
    if let Some(svg) = &b.latest_svg {
        let _ = write!(
            o,
            "<figure class=\"flame\">{}<figcaption>The latest flame graph.{}</figcaption></figure>",
            inline_svg(svg),
            link("latest")
        );
        if let Some(latest) = &b.latest {
            cmd(o, &format!("seer profile flamegraph --name {} --commit {latest} --svg FILE", b.bench));
        }
    }
}

fn profiling(o: &mut String, r: &ReportData, stem: Option<&str>) {
    o.push_str("<section id=\"profiling\"><h2>Profiling</h2>");
    if r.benches.is_empty() {
        empty(o, "No profiles recorded: seer profile record stores them.");
    }
    for b in &r.benches {
        bench(o, b, stem);
    }
    o.push_str("</section>");
}
