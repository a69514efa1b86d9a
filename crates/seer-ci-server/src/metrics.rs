//! Prometheus metrics, as text at `/metrics`: requests and their latencies by route, runs stored
//! by status, selections by mode, and each project's misses as the bookkeeping counts them.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency bucket bounds, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    runs: BTreeMap<(String, String), u64>,
    selections: BTreeMap<(String, String), u64>,
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16, took: Duration) {
        let mut m = self.inner.lock().expect("metrics lock");
        *m.requests.entry((route.to_string(), status)).or_default() += 1;
        let h = m.latency.entry(route.to_string()).or_default();
        let s = took.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if s <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += s;
    }

    pub fn run_stored(&self, project: &str, status: &str) {
        *self.inner.lock().expect("metrics lock").runs.entry((project.into(), status.into())).or_default() += 1;
    }

    pub fn selection(&self, project: &str, mode: &str) {
        *self.inner.lock().expect("metrics lock").selections.entry((project.into(), mode.into())).or_default() += 1;
    }

    /// The text exposition; `misses` is each project's total of misses.
    pub fn render(&self, misses: &[(String, u64)]) -> String {
        let m = self.inner.lock().expect("metrics lock");
        let mut out = String::new();
        let _ = writeln!(out, "# HELP seer_requests_total HTTP requests by route and status.");
        let _ = writeln!(out, "# TYPE seer_requests_total counter");
        for ((route, status), n) in &m.requests {
            let _ = writeln!(out, "seer_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP seer_request_duration_seconds Time to answer, by route.");
        let _ = writeln!(out, "# TYPE seer_request_duration_seconds histogram");
        for (route, h) in &m.latency {
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(out, "seer_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "seer_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "seer_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
            let _ = writeln!(out, "seer_request_duration_seconds_count{{route=\"{route}\"}} {}", h.count);
        }
        let _ = writeln!(
            out,
            "# HELP seer_runs_stored_total Runs uploaded, by project and status (inserted, unchanged, replaced)."
        );
        let _ = writeln!(out, "# TYPE seer_runs_stored_total counter");
        for ((project, status), n) in &m.runs {
            let _ = writeln!(out, "seer_runs_stored_total{{project=\"{project}\",status=\"{status}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP seer_selections_total Selections answered, by project and mode (subset, all).");
        let _ = writeln!(out, "# TYPE seer_selections_total counter");
        for ((project, mode), n) in &m.selections {
            let _ = writeln!(out, "seer_selections_total{{project=\"{project}\",mode=\"{mode}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP seer_misses Failing tests that kept selections skipped, by project.");
        let _ = writeln!(out, "# TYPE seer_misses gauge");
        for (project, n) in misses {
            let _ = writeln!(out, "seer_misses{{project=\"{project}\"}} {n}");
        }
        out
    }
}
