//! The report's short Markdown summary, for a CI job summary or a pull-request comment.

use std::fmt::Write;

use super::data::ReportData;
use super::numbers::pct;
use crate::collect::git::short;
use crate::collect::time::format_time;

/// Pipes and line ends would break a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The summary: headline figures, the top regressions and the misses.
pub fn render_markdown(r: &ReportData, report_cmd: &str) -> String {
    let mut o = String::new();
    let s = &r.selection;
    let _ = writeln!(o, "## seer report, {} to {}\n", format_time(r.from), format_time(r.to));
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(o, "| CI runs | {} ({} with a failing test) |", s.runs, s.failing_runs);
    let shown = s.stats.tests_selected + s.stats.tests_skipped;
    if shown > 0 {
        let _ = writeln!(
            o,
            "| tests run by the selections | {} of {} ({}) |",
            s.stats.tests_selected,
            shown,
            pct(s.stats.tests_selected as f64 / shown as f64)
        );
        let _ = writeln!(o, "| test time not spent (estimated) | {:.0} s of {:.0} s |", s.saved_s, s.total_s);
    } else {
        let _ = writeln!(o, "| selections | none in the window |");
    }
    let _ = writeln!(o, "| misses | {} |", s.stats.misses);
    match (s.observed_recall, &r.model) {
        (Some(recall), Some(m)) => {
            let _ = writeln!(o, "| observed recall | {} (target {}) |", pct(recall), pct(m.target_recall));
        }
        _ => {
            let _ = writeln!(o, "| observed recall | no failing test measured |");
        }
    }
    if let Some(m) = &r.model {
        let _ = writeln!(o, "| model | {} ({}), trained {} |", cell(&m.kind), m.source, format_time(m.created_at));
    }
    let _ = writeln!(
        o,
        "| flaky tests | {} new, {} known; {} quarantined |",
        r.new_flaky.len(),
        r.known_flaky.len(),
        r.quarantined.len()
    );
    let regressions: Vec<(String, String, f64, f64)> = r
        .benches
        .iter()
        .filter_map(|b| b.comparison.as_ref().map(|c| (b, c)))
        .flat_map(|(b, c)| {
            c.regressions.iter().map(move |x| {
                (b.bench.clone(), b.names.get(&x.frame).cloned().unwrap_or_default(), x.change, x.q_value)
            })
        })
        .collect();
    o.push('\n');
    if regressions.is_empty() {
        let _ = writeln!(o, "No function got significantly slower.");
    } else {
        let _ = writeln!(o, "### Slower\n\n| bench | function | change | q |\n|---|---|---|---|");
        for (bench, frame, change, q) in regressions.iter().take(10) {
            let change = if change.is_finite() { format!("{:+.1}%", 100.0 * change) } else { "new".into() };
            let _ = writeln!(o, "| {} | `{}` | {change} | {q:.1e} |", cell(bench), cell(frame));
        }
        let _ = writeln!(o, "\n{}", super::Q_MEANS);
    }
    for b in &r.benches {
        for c in &b.change_points {
            if c.frame != "(samples per run)" {
                let _ = writeln!(
                    o,
                    "- {}: `{}` ({}) {:+.1}% from {}",
                    cell(&b.bench),
                    cell(&c.frame),
                    c.measure,
                    100.0 * (c.after / c.before - 1.0),
                    short(&c.commit)
                );
            }
        }
    }
    o.push('\n');
    if s.misses.is_empty() {
        let _ = writeln!(o, "No misses.");
    } else {
        let _ = writeln!(o, "### Misses\n\n| test | failed in run | skipped for |\n|---|---|---|");
        for m in &s.misses {
            let _ = writeln!(o, "| `{}` | {} | {} |", cell(&m.test), cell(&m.run_id), short(&m.selection_commit));
        }
    }
    let _ = writeln!(o, "\nEvery figure: `{report_cmd} --json`.");
    o
}
