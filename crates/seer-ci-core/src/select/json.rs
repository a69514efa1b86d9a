//! Selections, predictions and flaky tests as the API's documents.

use std::sync::Arc;

use seer_ci_api::{
    FORMAT_VERSION, FlakyJson, GateJson, PredictJson, PredictionJson, SelectedJson, SelectionJson, ShardJson,
};

use seer_ci_api::server::{ChosenJson, SelectAnswerJson, TestListJson, TestRefJson};

use super::{FlakyTest, Gate, GateEvidence, Mode, Observed, Predicted, Selected, Selection, Shard, TestRef};
use crate::collect::time::format_time;

impl From<&Selection> for SelectionJson {
    fn from(s: &Selection) -> SelectionJson {
        let ids = |tests: &[TestRef]| tests.iter().map(|t| t.id.to_string()).collect::<Vec<_>>();
        SelectionJson {
            format_version: FORMAT_VERSION,
            mode: s.mode.as_str().into(),
            reason: s.reason.clone(),
            model: s.model.clone(),
            threshold: s.threshold,
            selected: s
                .selected
                .iter()
                .map(|t| SelectedJson {
                    id: t.test.id.to_string(),
                    score: t.score,
                    reasons: t.reasons.clone(),
                    estimated_s: t.estimated_s,
                })
                .collect(),
            skipped: s.skipped.iter().map(|t| t.test.id.to_string()).collect(),
            quarantined: ids(&s.quarantined),
            shard: s.shard.map(|sh| ShardJson { index: sh.index, count: sh.count }),
            estimated_s: s.estimated_s,
            total_s: s.total_s,
            would_skip: s.would_skip.as_deref().map(ids),
            nothing_to_run: s.nothing_needs_running(),
            gate: s.gate.as_ref().map(Into::into),
            notes: s.notes.clone(),
        }
    }
}

impl From<&Gate> for GateJson {
    fn from(g: &Gate) -> GateJson {
        let e = &g.evidence;
        GateJson {
            open: g.open,
            why: g.why.clone(),
            runs: e.runs,
            failing_results: e.failing_results,
            validation_failing: e.validation.map(|(n, _, _)| n as u64),
            validated_recall: e.validation.map(|(_, r, _)| r),
            target_recall: e.validation.map(|(_, _, t)| t),
            min_validation_failing: e.min_validation_failing as u64,
            observed_caught: e.observed.caught,
            observed_missed: e.observed.missed,
            observed_recall: e.observed.recall(),
            drift_window_runs: e.drift_window_runs as u64,
        }
    }
}

impl Predicted {
    /// The document of the `limit` most likely failures.
    pub fn to_json(&self, limit: usize) -> PredictJson {
        let shown = &self.predictions[..self.predictions.len().min(limit)];
        PredictJson {
            format_version: FORMAT_VERSION,
            commit: self.commit.clone(),
            model: self.model.clone(),
            files_changed: self.files,
            tests_scored: self.predictions.len() as u64,
            predictions: shown
                .iter()
                .map(|x| PredictionJson {
                    id: x.test.id.to_string(),
                    probability: x.probability,
                    score: x.score,
                    reasons: x.reasons.clone(),
                })
                .collect(),
            notes: self.notes.clone(),
        }
    }
}

impl FlakyTest {
    /// The document of a flaky test, and whether it is quarantined.
    pub fn to_json(&self, quarantined: bool) -> FlakyJson {
        FlakyJson {
            id: self.id.clone(),
            executions: self.executions,
            failures: self.failures,
            retried_passes: self.retried_passes,
            mixed_commits: self.mixed_commits,
            flips: self.flips,
            flip_rate: self.flip_rate,
            first_evidence: format_time(self.first_evidence),
            last_evidence: format_time(self.last_evidence),
            reasons: self.reasons.clone(),
            quarantined,
        }
    }
}

/// The length of `t`'s suite, when it is the leading part of its id (as the store keeps it).
fn suite_len(t: &TestRef) -> Option<usize> {
    t.suite.as_deref().filter(|s| t.id.starts_with(s)).map(str::len)
}

impl From<&TestRef> for TestRefJson {
    fn from(t: &TestRef) -> TestRefJson {
        TestRefJson {
            store_id: t.store_id,
            id: t.id.to_string(),
            suite_len: suite_len(t),
            file: t.file.as_deref().map(str::to_string),
        }
    }
}

impl From<TestRefJson> for TestRef {
    fn from(t: TestRefJson) -> TestRef {
        let suite = t.suite_len.and_then(|n| t.id.get(..n)).map(Arc::from);
        TestRef { store_id: t.store_id, id: t.id.into(), suite, file: t.file.map(Arc::from) }
    }
}

impl From<&Selected> for ChosenJson {
    fn from(t: &Selected) -> ChosenJson {
        ChosenJson { test: (&t.test).into(), score: t.score, reasons: t.reasons.clone(), estimated_s: t.estimated_s }
    }
}

impl From<ChosenJson> for Selected {
    fn from(t: ChosenJson) -> Selected {
        Selected { test: t.test.into(), score: t.score, reasons: t.reasons, estimated_s: t.estimated_s }
    }
}

impl From<GateJson> for Gate {
    fn from(g: GateJson) -> Gate {
        let validation = match (g.validation_failing, g.validated_recall, g.target_recall) {
            (Some(n), Some(r), Some(t)) => Some((n as usize, r, t)),
            _ => None,
        };
        Gate {
            open: g.open,
            why: g.why,
            evidence: GateEvidence {
                runs: g.runs,
                failing_results: g.failing_results,
                validation,
                min_validation_failing: g.min_validation_failing as usize,
                observed: Observed { caught: g.observed_caught, missed: g.observed_missed },
                drift_window_runs: g.drift_window_runs as usize,
            },
        }
    }
}

/// A selection as `seer serve` sends it: every test with its suite and file.
impl From<&Selection> for SelectAnswerJson {
    fn from(s: &Selection) -> SelectAnswerJson {
        SelectAnswerJson {
            format_version: FORMAT_VERSION,
            mode: s.mode.as_str().into(),
            reason: s.reason.clone(),
            model: s.model.clone(),
            threshold: s.threshold,
            selected: s.selected.iter().map(ChosenJson::from).collect(),
            skipped: TestListRef::of(s.skipped.iter().map(|t| &t.test)).owned(),
            quarantined: s.quarantined.iter().map(TestRefJson::from).collect(),
            shard: s.shard.map(|sh| ShardJson { index: sh.index, count: sh.count }),
            estimated_s: s.estimated_s,
            total_s: s.total_s,
            would_skip: s.would_skip.as_ref().map(|w| TestListRef::of(w.iter()).owned()),
            gate: s.gate.as_ref().map(GateJson::from),
            notes: s.notes.clone(),
        }
    }
}

/// [`SelectAnswerJson`]'s shape, written from the selection without copying it: a server's
/// answer of 10,000 tests spent more time copying names than selecting.
#[derive(serde::Serialize)]
pub struct AnswerRef<'a> {
    format_version: u32,
    mode: &'static str,
    reason: Option<&'a str>,
    model: Option<&'a str>,
    threshold: Option<f64>,
    selected: Vec<ChosenRef<'a>>,
    skipped: TestListRef<'a>,
    quarantined: Vec<TestRefRef<'a>>,
    shard: Option<ShardJson>,
    estimated_s: f64,
    total_s: f64,
    would_skip: Option<TestListRef<'a>>,
    gate: Option<GateJson>,
    notes: &'a [String],
}

#[derive(serde::Serialize)]
struct TestRefRef<'a> {
    store_id: i64,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    suite_len: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
}

/// [`TestListJson`]'s shape, borrowed.
#[derive(serde::Serialize)]
struct TestListRef<'a> {
    ids: Vec<&'a str>,
    suite_lens: Vec<Option<usize>>,
    file_of: Vec<u32>,
    files: Vec<&'a str>,
}

impl<'a> TestListRef<'a> {
    fn of(tests: impl Iterator<Item = &'a TestRef>) -> TestListRef<'a> {
        let mut list = TestListRef { ids: vec![], suite_lens: vec![], file_of: vec![], files: vec![] };
        let mut numbers: hashbrown::HashMap<&'a str, u32> = hashbrown::HashMap::new();
        for t in tests {
            list.ids.push(&t.id);
            list.suite_lens.push(suite_len(t));
            list.file_of.push(match t.file.as_deref() {
                None => 0,
                Some(f) => *numbers.entry(f).or_insert_with(|| {
                    list.files.push(f);
                    list.files.len() as u32
                }),
            });
        }
        list
    }

    fn owned(self) -> TestListJson {
        TestListJson {
            ids: self.ids.into_iter().map(str::to_string).collect(),
            suite_lens: self.suite_lens,
            file_of: self.file_of,
            files: self.files.into_iter().map(str::to_string).collect(),
        }
    }
}

/// The tests of a [`TestListJson`]; `None` when its columns do not agree.
fn test_list(list: TestListJson) -> Option<Vec<TestRef>> {
    let TestListJson { ids, suite_lens, file_of, files } = list;
    if suite_lens.len() != ids.len() || file_of.len() != ids.len() {
        return None;
    }
    let files: Vec<Arc<str>> = files.into_iter().map(Arc::from).collect();
    ids.into_iter()
        .zip(suite_lens)
        .zip(file_of)
        .map(|((id, suite_len), file)| {
            let suite = match suite_len {
                Some(n) => Some(Arc::from(id.get(..n)?)),
                None => None,
            };
            let file = match file {
                0 => None,
                k => Some(files.get(k as usize - 1)?.clone()),
            };
            Some(TestRef { store_id: 0, id: id.into(), suite, file })
        })
        .collect()
}

#[derive(serde::Serialize)]
struct ChosenRef<'a> {
    test: TestRefRef<'a>,
    score: f64,
    reasons: &'a [String],
    estimated_s: f64,
}

fn test_ref(t: &TestRef) -> TestRefRef<'_> {
    TestRefRef { store_id: t.store_id, id: &t.id, suite_len: suite_len(t), file: t.file.as_deref() }
}

fn chosen(t: &Selected) -> ChosenRef<'_> {
    ChosenRef { test: test_ref(&t.test), score: t.score, reasons: &t.reasons, estimated_s: t.estimated_s }
}

impl Selection {
    /// The answer `seer serve` sends, as [`SelectAnswerJson`] reads it.
    pub fn answer(&self) -> AnswerRef<'_> {
        AnswerRef {
            format_version: FORMAT_VERSION,
            mode: self.mode.as_str(),
            reason: self.reason.as_deref(),
            model: self.model.as_deref(),
            threshold: self.threshold,
            selected: self.selected.iter().map(chosen).collect(),
            skipped: TestListRef::of(self.skipped.iter().map(|t| &t.test)),
            quarantined: self.quarantined.iter().map(test_ref).collect(),
            shard: self.shard.map(|sh| ShardJson { index: sh.index, count: sh.count }),
            estimated_s: self.estimated_s,
            total_s: self.total_s,
            would_skip: self.would_skip.as_ref().map(|w| TestListRef::of(w.iter())),
            gate: self.gate.as_ref().map(GateJson::from),
            notes: &self.notes,
        }
    }

    /// The selection a server sent; `None` when its mode is not one this seer knows, or its
    /// test lists do not hold together.
    pub fn from_answer(a: SelectAnswerJson) -> Option<Selection> {
        let mode = match a.mode.as_str() {
            "subset" => Mode::Subset,
            "all" => Mode::All,
            _ => return None,
        };
        Some(Selection {
            mode,
            reason: a.reason,
            model: a.model,
            threshold: a.threshold,
            selected: a.selected.into_iter().map(Selected::from).collect(),
            // Only their names come: a skipped test's score and estimate are the server's business.
            skipped: test_list(a.skipped)?
                .into_iter()
                .map(|test| Selected { test, score: 0.0, reasons: vec![], estimated_s: 0.0 })
                .collect(),
            quarantined: a.quarantined.into_iter().map(TestRef::from).collect(),
            shard: a.shard.map(|s| Shard { index: s.index, count: s.count }),
            estimated_s: a.estimated_s,
            total_s: a.total_s,
            would_skip: match a.would_skip {
                Some(w) => Some(test_list(w)?),
                None => None,
            },
            gate: a.gate.map(Gate::from),
            notes: a.notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_borrowed_answer_is_the_answer_document() {
        let t = |id: &str, suite: Option<&str>| TestRef {
            store_id: id.len() as i64,
            id: id.into(),
            suite: suite.map(Into::into),
            file: Some("a.rs".into()),
        };
        let chosen =
            |id: &str| Selected { test: t(id, Some("s")), score: 0.25, reasons: vec!["why".into()], estimated_s: 1.5 };
        let mut s = Selection::all("because".into(), vec![chosen("s::a")]);
        s.skipped = vec![chosen("s::bb")];
        s.quarantined = vec![t("q", None)];
        s.would_skip = Some(vec![t("s::bb", Some("s"))]);
        s.shard = Some(Shard { index: 1, count: 2 });
        s.notes = vec!["a note".into()];
        let owned = serde_json::to_value(SelectAnswerJson::from(&s)).unwrap();
        let borrowed = serde_json::to_value(s.answer()).unwrap();
        assert_eq!(owned, borrowed);
        let back: SelectAnswerJson = serde_json::from_value(borrowed).unwrap();
        let again = Selection::from_answer(back).expect("a known mode");
        assert_eq!(serde_json::to_value(again.answer()).unwrap(), owned, "it reads back as it was");
    }

    #[test]
    fn a_test_list_names_each_file_once_and_reads_back_whole() {
        let t = |id: &str, suite: Option<&str>, file: Option<&str>| TestRef {
            store_id: 0,
            id: id.into(),
            suite: suite.map(Into::into),
            file: file.map(Into::into),
        };
        let tests = vec![
            t("s::a", Some("s"), Some("a.rs")),
            t("s::b", Some("s"), Some("b.rs")),
            t("s::c", Some("s"), Some("a.rs")),
            t("d", None, None),
            t("é::e", Some("é"), Some("a.rs")),
        ];
        let list = TestListRef::of(tests.iter()).owned();
        assert_eq!(list.files, ["a.rs", "b.rs"]);
        assert_eq!(list.file_of, [1, 2, 1, 0, 1]);
        assert_eq!(list.suite_lens, [Some(1), Some(1), Some(1), None, Some(2)]);
        assert_eq!(test_list(list.clone()), Some(tests));
        let broken = [
            TestListJson { file_of: vec![1, 2, 3, 0, 1], ..list.clone() },
            TestListJson { suite_lens: vec![Some(1), Some(1), Some(1), None, Some(1)], ..list.clone() },
            TestListJson { ids: list.ids[..4].to_vec(), ..list.clone() },
        ];
        for b in broken {
            assert_eq!(test_list(b.clone()), None, "{b:?}");
        }
    }
}
