//! The report's numbers as the API's document (`seer report --json`): the same `ReportData` the
//! page and the summary are rendered from.

use seer_ci_api::{
    DayJson, FORMAT_VERSION, QuarantinedJson, ReportBenchJson, ReportFlakyJson, ReportJson, ReportModelJson,
    ReportSelectionJson, ReportTestsJson, SlowTestJson, TestCountJson,
};

use super::{BenchSection, ReportData};
use crate::collect::time::format_time;
use crate::regress::change_point_json;
use crate::select::FlakyTest;
use crate::store::TestCount;

impl ReportData {
    pub fn to_json(&self) -> ReportJson {
        ReportJson {
            format_version: FORMAT_VERSION,
            from: format_time(self.from),
            to: format_time(self.to),
            generated_at: format_time(self.generated_at),
            store: self.store.clone(),
            selection: selection_json(self),
            tests: tests_json(self),
            model: model_json(self),
            profiling: self.benches.iter().map(bench_json).collect(),
        }
    }
}

fn selection_json(r: &ReportData) -> ReportSelectionJson {
    let s = &r.selection;
    ReportSelectionJson {
        runs: s.runs,
        failing_runs: s.failing_runs,
        selections: s.stats.selections,
        subsets: s.stats.subsets,
        observed: s.stats.observed,
        fell_open: s.stats.fell_open,
        tests_selected: s.stats.tests_selected,
        tests_skipped: s.stats.tests_skipped,
        estimated_selected_s: s.stats.estimated_selected_s,
        estimated_total_s: s.stats.estimated_total_s,
        saved_s: s.saved_s,
        runs_measured: s.judged.runs,
        faulty_runs: s.judged.faulty,
        faulty_runs_caught: s.judged.faulty_caught,
        failing: s.judged.failing,
        caught: s.judged.caught,
        unknown: s.judged.unknown,
        misses: s.stats.misses,
        observed_recall: s.observed_recall,
        target_recall: r.model.as_ref().map(|m| m.target_recall),
        recent_misses: s.misses.iter().map(Into::into).collect(),
        days: s
            .days
            .iter()
            .map(|d| DayJson {
                day: format_time(d.start)[..10].to_string(),
                runs: d.runs,
                failing_runs: d.failing_runs,
                tests_selected: d.selected,
                tests_skipped: d.skipped,
                misses: d.misses,
            })
            .collect(),
    }
}

fn flaky_json(list: &[FlakyTest]) -> Vec<ReportFlakyJson> {
    list.iter()
        .map(|f| ReportFlakyJson {
            test: f.id.clone(),
            reasons: f.reasons.clone(),
            first_evidence: format_time(f.first_evidence),
            last_evidence: format_time(f.last_evidence),
        })
        .collect()
}

fn counts_json(list: &[TestCount]) -> Vec<TestCountJson> {
    list.iter().map(|t| TestCountJson { test: t.test.clone(), count: t.count, runs: t.runs }).collect()
}

fn tests_json(r: &ReportData) -> ReportTestsJson {
    ReportTestsJson {
        most_failing: counts_json(&r.most_failing),
        retried: counts_json(&r.most_retried),
        slowest: r
            .slowest
            .iter()
            .map(|t| SlowTestJson {
                test: t.test.clone(),
                mean_s: t.mean_s,
                runs: t.runs,
                previous_mean_s: t.previous_mean_s,
            })
            .collect(),
        new_flaky: flaky_json(&r.new_flaky),
        known_flaky: flaky_json(&r.known_flaky),
        quarantined: r
            .quarantined
            .iter()
            .map(|(t, since, reason)| QuarantinedJson {
                id: t.clone(),
                since: format_time(*since),
                reason: reason.clone(),
            })
            .collect(),
    }
}

fn model_json(r: &ReportData) -> Option<ReportModelJson> {
    r.model.as_ref().map(|m| ReportModelJson {
        path: m.name.clone(),
        source: m.source.into(),
        kind: m.kind.clone(),
        created_at: format_time(m.created_at),
        trained_runs: m.trained_runs as u64,
        threshold: m.threshold,
        target_recall: m.target_recall,
        validation_recall: m.validation_recall,
        validation_time_share: m.validation_time_share,
        observed_recall: r.selection.observed_recall,
        drift: r.drift,
    })
}

fn bench_json(b: &BenchSection) -> ReportBenchJson {
    let changes = |pick: fn(&crate::regress::Comparison) -> &Vec<crate::regress::FrameChange>| {
        b.comparison.iter().flat_map(|c| pick(c).iter().map(|x| x.to_json(&b.names))).collect()
    };
    ReportBenchJson {
        bench: b.bench.clone(),
        order: b.order.as_str().into(),
        commits: b.commits.len() as u64,
        commits_in_window: b.in_window.iter().filter(|w| **w).count() as u64,
        latest: b.latest.clone(),
        baseline: b.baseline.clone(),
        regressions: changes(|c| &c.regressions),
        improvements: changes(|c| &c.improvements),
        total: b.comparison.as_ref().map(|c| (&c.total).into()),
        change_points: b
            .change_points
            .iter()
            .map(|c| change_point_json(&c.commit, c.frame.clone(), c.measure, c.before, c.after, c.p_value))
            .collect(),
        notes: b.notes.clone(),
    }
}
