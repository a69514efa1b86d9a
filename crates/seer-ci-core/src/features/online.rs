//! The history features kept up to date one execution at a time, for `seer select`: a few
//! counters per test instead of a pass over the whole history.
//!
//! Training builds the same features in bulk with polars ([`super::history_features`]); the
//! two must agree exactly, or the model would be served other numbers than it was fitted on.
//! A property test below holds them to it on random histories.

use super::history::FEATURES;
use crate::store::{RunKey, StateCodec};

/// Counters of one test's past executions: the selection state of one test. [`observe`] updates
/// them one execution at a time; the store keeps them packed ([`StateCodec`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TestState {
    /// Executions (skips are not executions).
    pub execs: u32,
    pub failures: u32,
    /// Outcomes of the latest executions, the newest in bit 0 (1 = failed).
    pub recent: u128,
    /// Flips pass↔fail between consecutive executions.
    pub flips: u32,
    /// Index (0-based) of the execution that last failed.
    pub last_failure: Option<u32>,
    /// Sum of durations, an unknown duration counted as 0.
    pub duration_sum: f64,
    /// Sum and count of the known durations.
    pub known_duration_sum: f64,
    pub known_durations: u32,
    /// Executions and failures in runs with a known git change.
    pub change_runs: u32,
    pub change_failures: u32,
    /// The run of the latest execution.
    pub last_run: RunKey,
}

/// Version byte of a packed [`TestState`].
const STATE_VERSION: u8 = 1;
/// Bytes of a packed [`TestState`].
const STATE_BYTES: usize = 81;

/// A test's counters as the `test_state.state` column holds them: a version byte, then the fields
/// little-endian in declaration order (`last_failure` as -1 for none).
fn encode_state(s: &TestState) -> [u8; STATE_BYTES] {
    let mut out = [0u8; STATE_BYTES];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        out[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    put(&[STATE_VERSION]);
    put(&s.execs.to_le_bytes());
    put(&s.failures.to_le_bytes());
    put(&s.recent.to_le_bytes());
    put(&s.flips.to_le_bytes());
    put(&s.last_failure.map_or(-1, i64::from).to_le_bytes());
    put(&s.duration_sum.to_le_bytes());
    put(&s.known_duration_sum.to_le_bytes());
    put(&s.known_durations.to_le_bytes());
    put(&s.change_runs.to_le_bytes());
    put(&s.change_failures.to_le_bytes());
    put(&s.last_run.time.to_le_bytes());
    put(&s.last_run.id.to_le_bytes());
    out
}

/// The counters of a packed state; `None` for bytes this seer did not write.
fn decode_state(b: &[u8]) -> Option<TestState> {
    if b.len() != STATE_BYTES || b[0] != STATE_VERSION {
        return None;
    }
    let mut at = 1;
    let mut take = |n: usize| {
        let part = &b[at..at + n];
        at += n;
        part
    };
    let u32_ = |p: &[u8]| u32::from_le_bytes(p.try_into().expect("4 bytes"));
    let i64_ = |p: &[u8]| i64::from_le_bytes(p.try_into().expect("8 bytes"));
    let f64_ = |p: &[u8]| f64::from_le_bytes(p.try_into().expect("8 bytes"));
    let execs = u32_(take(4));
    let failures = u32_(take(4));
    let recent = u128::from_le_bytes(take(16).try_into().expect("16 bytes"));
    let flips = u32_(take(4));
    let last_failure = u32::try_from(i64_(take(8))).ok();
    Some(TestState {
        execs,
        failures,
        recent,
        flips,
        last_failure,
        duration_sum: f64_(take(8)),
        known_duration_sum: f64_(take(8)),
        known_durations: u32_(take(4)),
        change_runs: u32_(take(4)),
        change_failures: u32_(take(4)),
        last_run: RunKey { time: i64_(take(8)), id: i64_(take(8)) },
    })
}

impl StateCodec for TestState {
    fn last_run(&self) -> i64 {
        self.last_run.id
    }

    fn encode(&self) -> Vec<u8> {
        encode_state(self).to_vec()
    }

    fn decode(bytes: &[u8]) -> Option<TestState> {
        decode_state(bytes)
    }
}

/// The largest rolling window of [`FEATURES`]; [`TestState::recent`] holds more than this.
const MAX_WINDOW: u32 = 100;

/// Failures among the latest `window` executions (all of them when fewer).
pub fn recent_failures(s: &TestState, window: u32) -> u32 {
    let n = s.execs.min(window).min(128);
    let mask = if n >= 128 { u128::MAX } else { (1u128 << n) - 1 };
    (s.recent & mask).count_ones()
}

/// Failure rate over the latest `window` executions (all of them when fewer), 0 with none.
fn rate(s: &TestState, window: u32) -> f64 {
    let n = s.execs.min(window).min(MAX_WINDOW);
    if n == 0 { 0.0 } else { f64::from(recent_failures(s, n)) / f64::from(n) }
}

/// The history features of the test's next execution, in [`FEATURES`] order.
pub fn history_row(s: &TestState) -> [f64; FEATURES.len()] {
    let n = f64::from(s.execs);
    let since = match s.last_failure {
        Some(at) => f64::from(s.execs - at),
        None => n,
    };
    [
        n.ln_1p(),
        if s.execs == 0 { 1.0 } else { 0.0 },
        f64::from(s.failures).ln_1p(),
        rate(s, 5),
        rate(s, 20),
        rate(s, 100),
        if s.execs > 0 && s.recent & 1 == 1 { 1.0 } else { 0.0 },
        since.ln_1p(),
        if s.execs > 1 { f64::from(s.flips) / (n - 1.0) } else { 0.0 },
        (if s.execs > 0 { s.duration_sum / n } else { 0.0 }).ln_1p(),
    ]
}

/// Takes in one execution of the test in `run`; `with_change` says whether the run's git
/// change is known.
pub fn observe(s: &mut TestState, failed: bool, duration_s: Option<f64>, with_change: bool, run: RunKey) {
    if s.execs > 0 && (s.recent & 1 == 1) != failed {
        s.flips += 1;
    }
    s.recent = (s.recent << 1) | u128::from(failed);
    if failed {
        s.failures += 1;
        s.last_failure = Some(s.execs);
    }
    s.duration_sum += duration_s.unwrap_or(0.0);
    if let Some(d) = duration_s {
        s.known_duration_sum += d;
        s.known_durations += 1;
    }
    if with_change {
        s.change_runs += 1;
        s.change_failures += u32::from(failed);
    }
    s.execs += 1;
    s.last_run = run;
}

/// Mean known duration in seconds.
pub fn mean_duration(s: &TestState) -> Option<f64> {
    (s.known_durations > 0).then(|| s.known_duration_sum / f64::from(s.known_durations))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::collect::Outcome;
    use crate::features::history_features;
    use crate::store::{Replay, ReplayResult, ReplayRun};

    /// Replays `runs` (each a list of (test, outcome, duration)) online and in bulk, and checks
    /// that every row's features agree.
    fn agree(tests: usize, runs: &[Vec<(u32, Outcome, Option<f64>)>]) {
        let replay = Replay {
            runs: runs
                .iter()
                .map(|r| ReplayRun {
                    results: r
                        .iter()
                        .map(|&(test, outcome, duration_s)| ReplayResult { test, outcome, duration_s, attempts: 1 })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            tests: (0..tests).map(|t| t.to_string()).collect(),
            test_files: vec![None; tests],
            test_suite_lens: vec![None; tests],
        };
        let table = history_features(&replay).unwrap();
        let mut state = vec![TestState::default(); tests];
        for (k, run) in replay.runs.iter().enumerate() {
            let ran: Vec<&ReplayResult> = run.results.iter().filter(|r| r.outcome != Outcome::Skip).collect();
            for (row, r) in table.run_rows[k].clone().zip(&ran) {
                assert_eq!(table.test[row], r.test);
                let online = history_row(&state[r.test as usize]);
                for (j, (name, _)) in FEATURES.iter().enumerate() {
                    let bulk = table.x[[row, j]];
                    assert!(
                        (online[j] - bulk).abs() < 1e-9,
                        "run {k}, test {}, {name}: online {} bulk {bulk}",
                        r.test,
                        online[j]
                    );
                }
            }
            for r in ran {
                observe(&mut state[r.test as usize], r.outcome.is_failure(), r.duration_s, false, RunKey::default());
            }
        }
    }

    #[test]
    fn a_long_history_uses_only_the_windows() {
        // 150 executions: the 100-window has to drop the oldest failures.
        let runs: Vec<_> = (0..150)
            .map(|k| vec![(0, if k < 60 || k % 7 == 0 { Outcome::Fail } else { Outcome::Pass }, Some(0.5))])
            .collect();
        agree(1, &runs);
    }

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![4 => Just(Outcome::Pass), 2 => Just(Outcome::Fail), 1 => Just(Outcome::Error), 1 => Just(Outcome::Skip)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn online_features_equal_the_polars_features(
            runs in prop::collection::vec(
                prop::collection::btree_map(0u32..4, (outcome(), prop::option::of(0.0f64..10.0)), 0..4),
                1..60,
            )
        ) {
            let runs: Vec<Vec<(u32, Outcome, Option<f64>)>> =
                runs.into_iter().map(|r| r.into_iter().map(|(t, (o, d))| (t, o, d)).collect()).collect();
            agree(4, &runs);
        }
    }

    #[test]
    fn a_packed_state_decodes_to_itself_and_foreign_bytes_do_not() {
        let s = TestState {
            execs: 7,
            failures: 3,
            recent: (1u128 << 100) | 0b101,
            flips: 4,
            last_failure: Some(6),
            duration_sum: 2.5,
            known_duration_sum: 2.25,
            known_durations: 6,
            change_runs: 5,
            change_failures: 2,
            last_run: RunKey { time: -3, id: 99 },
        };
        assert_eq!(decode_state(&encode_state(&s)), Some(s));
        let none = TestState { last_failure: None, ..s };
        assert_eq!(decode_state(&encode_state(&none)), Some(none));
        assert_eq!(decode_state(&encode_state(&s)[..80]), None);
        let mut other = encode_state(&s);
        other[0] = 2;
        assert_eq!(decode_state(&other), None);
    }
}
