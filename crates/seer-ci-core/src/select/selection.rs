//! What `seer select` answers: the tests to run and the tests to skip, each with why, and the
//! split of the selection into duration-balanced shards.

use std::sync::Arc;

/// What decides how much is selected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// The model's calibrated threshold.
    Model,
    /// The threshold that reached this recall of failing tests on the model's validation window.
    Recall(f64),
    /// The highest-scoring tests that fit in this many seconds of estimated test time.
    TimeBudget(f64),
    /// The highest-scoring tests that fit in this share of the candidates' estimated test time.
    Fraction(f64),
}

impl Target {
    /// What the flags (or a server's request) ask for: a recall, else a time budget in seconds,
    /// else a share of the time; none of them is the model's calibrated threshold.
    pub fn of(recall: Option<f64>, time_budget_s: Option<f64>, fraction: Option<f64>) -> Target {
        match (recall, time_budget_s, fraction) {
            (Some(r), _, _) => Target::Recall(r),
            (_, Some(s), _) => Target::TimeBudget(s),
            (_, _, Some(f)) => Target::Fraction(f),
            _ => Target::Model,
        }
    }
}

/// One of `count` parallel CI jobs (1-based `index`), each running a duration-balanced part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Shard `index` of `count`, when it is one of them (1-based).
    pub fn checked(index: usize, count: usize) -> Option<Shard> {
        (count >= 1 && (1..=count).contains(&index)).then_some(Shard { index, count })
    }
}

/// Whether the selection is a subset or everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Subset,
    All,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Subset => "subset",
            Mode::All => "all",
        }
    }
}

/// A test as the store knows it, with what a test runner needs to name it. The names are
/// shared: a warm server hands the same 10,000 tests to every selection.
#[derive(Debug, Clone, PartialEq)]
pub struct TestRef {
    /// `tests.id` in the store.
    pub store_id: i64,
    pub id: Arc<str>,
    /// The suite prefix of the id (nextest binary id, JUnit classname, Go package), when recorded.
    pub suite: Option<Arc<str>>,
    /// The test's source file, when its report named one.
    pub file: Option<Arc<str>>,
}

impl TestRef {
    /// The id without its suite prefix and the `::` after it (the name within the suite).
    pub fn name_in_suite(&self) -> Option<&str> {
        self.id.strip_prefix(self.suite.as_deref()?)?.strip_prefix("::")
    }
}

/// One selected test.
#[derive(Debug, Clone)]
pub struct Selected {
    pub test: TestRef,
    pub score: f64,
    pub reasons: Vec<String>,
    /// Mean past duration in seconds (the mean over all tests when it never recorded one).
    pub estimated_s: f64,
}

/// The answer.
#[derive(Debug, Clone)]
pub struct Selection {
    pub mode: Mode,
    /// Why every test runs (mode all).
    pub reason: Option<String>,
    /// The model used, if any.
    pub model: Option<String>,
    pub threshold: Option<f64>,
    pub selected: Vec<Selected>,
    /// Known tests left out (with their scores and estimates; no reasons).
    pub skipped: Vec<Selected>,
    /// Quarantined tests: neither selected nor skipped, for a separate non-blocking step.
    pub quarantined: Vec<TestRef>,
    /// Set when the answer is one shard: `selected` holds this shard's tests only.
    pub shard: Option<Shard>,
    /// Estimated seconds of the selected tests (of this shard).
    pub estimated_s: f64,
    /// Estimated seconds of every candidate.
    pub total_s: f64,
    /// In observe mode (`seer select --observe`), the tests the subset would have skipped; the
    /// answer itself runs every test.
    pub would_skip: Option<Vec<TestRef>>,
    /// The trust gate, when a model was consulted: whether the model's word may skip tests.
    pub gate: Option<super::Gate>,
    /// What else the caller should know (the selection state was behind, the workspace graph
    /// could not be read, …).
    pub notes: Vec<String>,
}

/// The sum of some tests' seconds: 0.0 for none (an empty float sum is -0.0, printed "-0.0").
pub fn seconds(each: impl Iterator<Item = f64>) -> f64 {
    each.sum::<f64>() + 0.0
}

impl Selection {
    /// Whether no test needs running: the subset holds one test only so that a runner has one to
    /// run (a caller that can run nothing, as the pytest plugin, runs none).
    pub fn nothing_needs_running(&self) -> bool {
        self.mode == Mode::Subset
            && matches!(self.selected.as_slice(), [one] if one.reasons.iter().any(|r| r == super::pipeline::NOTHING_ELSE))
    }

    /// Every test, with the reason.
    pub fn all(reason: String, tests: Vec<Selected>) -> Selection {
        Selection {
            mode: Mode::All,
            reason: Some(reason),
            model: None,
            threshold: None,
            estimated_s: seconds(tests.iter().map(|t| t.estimated_s)),
            total_s: seconds(tests.iter().map(|t| t.estimated_s)),
            selected: tests,
            skipped: vec![],
            quarantined: vec![],
            shard: None,
            would_skip: None,
            gate: None,
            notes: vec![],
        }
    }

    /// Whether the tests to run are every test (fail-open, or observe mode).
    pub fn runs_everything(&self) -> bool {
        self.mode == Mode::All
    }

    /// Keeps this shard's part of the selection: tests go, longest first, to the shard with the
    /// least estimated time so far (ties to the lower shard), so shards finish close together.
    pub fn keep_shard(mut self, shard: Shard) -> Selection {
        let mut order: Vec<usize> = (0..self.selected.len()).collect();
        order.sort_by(|&a, &b| self.selected[b].estimated_s.total_cmp(&self.selected[a].estimated_s).then(a.cmp(&b)));
        let mut load = vec![0.0f64; shard.count];
        let mut owner = vec![0; self.selected.len()];
        for i in order {
            let k = (0..shard.count).min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b))).expect("shards");
            load[k] += self.selected[i].estimated_s;
            owner[i] = k;
        }
        let mut kept = Vec::new();
        for (s, k) in std::mem::take(&mut self.selected).into_iter().zip(owner) {
            if k + 1 == shard.index {
                kept.push(s);
            }
        }
        self.estimated_s = seconds(kept.iter().map(|s| s.estimated_s));
        self.selected = kept;
        self.shard = Some(shard);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn test_ref(id: &str) -> TestRef {
        TestRef { store_id: 0, id: id.into(), suite: None, file: None }
    }

    #[test]
    fn shards_balance_estimated_time_longest_first() {
        let tests = [("a", 5.0), ("b", 4.0), ("c", 3.0), ("d", 3.0), ("e", 1.0)];
        let tests = tests
            .iter()
            .map(|(id, d)| Selected { test: test_ref(id), score: 1.0, reasons: vec![], estimated_s: *d })
            .collect();
        let all = Selection::all("x".into(), tests);
        let shard = |index| all.clone().keep_shard(Shard { index, count: 2 });
        let (one, two) = (shard(1), shard(2));
        let ids = |s: &Selection| s.selected.iter().map(|t| t.test.id.to_string()).collect::<Vec<_>>();
        // Longest first to the lighter shard: a→1, b→2, c→2, d→1, e→2 (8 s and 8 s).
        assert_eq!(
            (ids(&one), ids(&two)),
            (vec!["a".to_string(), "d".into()], vec!["b".into(), "c".into(), "e".into()])
        );
        assert_eq!((one.estimated_s, two.estimated_s), (8.0, 8.0));
    }
}
