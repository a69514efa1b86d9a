//! A test run's results in seer's own terms, whatever tool wrote the report, and the format
//! detection that routes a file to its parser.

use std::fmt;
use std::hash::BuildHasher;
use std::path::Path;

use super::error::{InputError, UnknownFormat};
use super::text;

/// The verdict of one test in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Pass,
    Fail,
    Error,
    Skip,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [Outcome::Pass, Outcome::Fail, Outcome::Error, Outcome::Skip];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
            Outcome::Skip => "skip",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// The integer kept in the store; part of the store's schema.
    pub fn code(self) -> i64 {
        match self {
            Outcome::Pass => 0,
            Outcome::Fail => 1,
            Outcome::Error => 2,
            Outcome::Skip => 3,
        }
    }

    pub fn from_code(code: i64) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.code() == code)
    }

    /// A failing verdict: what the predictor learns to foresee.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Fail | Outcome::Error)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One test's result in one run, after retries are folded in.
#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    /// Stable id of the test across runs (the rule per format is in the README).
    pub id: String,
    /// The group the tool reported the test in (JUnit classname, nextest binary id, Go package):
    /// always the leading part of `id`.
    pub suite: Option<String>,
    /// The test's source file, when the tool says.
    pub file: Option<String>,
    pub outcome: Outcome,
    /// Duration of the final attempt, in seconds.
    pub duration_s: Option<f64>,
    /// How many times the test was executed in this run; > 1 means it was retried.
    pub attempts: u32,
    /// A short failure message, when there is one.
    pub message: Option<String>,
}

impl TestResult {
    /// The suite's length when it is the leading part of the id (as every parser makes it),
    /// which is how the store keeps it without repeating it.
    pub fn suite_len(&self) -> Option<usize> {
        self.suite.as_deref().filter(|s| self.id.starts_with(s)).map(str::len)
    }

    /// A 128-bit digest of everything stored of this result; a run's content hash sums them.
    pub fn digest(&self) -> u128 {
        self.digest_with(&mut Vec::new())
    }

    /// [`TestResult::digest`], reusing `buf` for the bytes it hashes.
    pub fn digest_with(&self, buf: &mut Vec<u8>) -> u128 {
        let put = put_digest_field;
        buf.clear();
        buf.extend_from_slice(self.id.as_bytes());
        buf.push(0);
        put(buf, self.suite.as_deref());
        put(buf, self.file.as_deref());
        buf.push(self.outcome.code() as u8);
        buf.extend_from_slice(&self.duration_s.map_or(u64::MAX, f64::to_bits).to_le_bytes());
        buf.extend_from_slice(&self.attempts.to_le_bytes());
        put(buf, self.message.as_deref());
        xxhash_rust::xxh3::xxh3_128(buf)
    }

    /// A pass that needed a retry: the test failed and then passed within one run.
    pub fn is_flaky(&self) -> bool {
        self.outcome == Outcome::Pass && self.attempts > 1
    }
}

/// Appends an optional text to bytes being digested, so that no two sequences of fields (a value
/// moving from one optional field to the next included) give the same bytes.
pub fn put_digest_field(buf: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(v) => {
            buf.push(1);
            buf.extend_from_slice(v.as_bytes());
            buf.push(0);
        }
        None => buf.push(0),
    }
}

/// The results of one run, gathered from one or more reports.
///
/// A test id seen again (pytest-rerunfailures and Gradle's retry plugin write one `<testcase>`
/// per attempt; a rerun report may follow the first) is the same test retried: the last
/// occurrence gives the outcome and its attempts are added to the earlier ones.
#[derive(Default)]
pub struct ResultSet {
    results: Vec<TestResult>,
    /// (hash of the test id, position in `results`): ids are not copied, and a rehash does not
    /// read them again (a report can hold hundreds of thousands).
    index: hashbrown::HashTable<(u64, usize)>,
    hasher: hashbrown::DefaultHashBuilder,
    repeated: usize,
    /// Positions of results that were met again after they were first added.
    repeated_at: Vec<usize>,
    /// Each result's digest, and their wrapping sum.
    digests: Vec<u128>,
    digest_sum: u128,
    scratch: Vec<u8>,
    /// Where every added result is also sent, in batches, while reports are still being read.
    tap: Option<Tap>,
}

struct Tap {
    batch: Vec<TestResult>,
    send: std::sync::mpsc::SyncSender<Vec<TestResult>>,
}

/// Results per batch handed on by a tapped [`ResultSet`].
pub const TAP_BATCH: usize = 8192;

impl fmt::Debug for ResultSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResultSet")
            .field("results", &self.results)
            .field("repeated", &self.repeated)
            .field("tapped", &self.tap.is_some())
            .finish()
    }
}

impl ResultSet {
    /// A result set that sends each test's first result on to `send`, in batches of
    /// [`TAP_BATCH`], so that they can be stored while reading goes on; the tests met again
    /// are then [`ResultSet::repeated_results`]. It keeps of the results it passed on only
    /// their id, outcome, duration and attempts.
    pub fn with_tap(send: std::sync::mpsc::SyncSender<Vec<TestResult>>) -> ResultSet {
        ResultSet { tap: Some(Tap { batch: Vec::with_capacity(TAP_BATCH), send }), ..ResultSet::default() }
    }

    /// Sends what the tap still holds and closes it; the receiver then sees the end.
    pub fn close_tap(&mut self) {
        if let Some(tap) = self.tap.take() {
            if !tap.batch.is_empty() {
                // A receiver that has gone away has failed on its own; it reports that.
                let _ = tap.send.send(tap.batch);
            }
        }
    }

    pub fn add(&mut self, result: TestResult) {
        let hash = self.hasher.hash_one(result.id.as_str());
        let results = &self.results;
        match self.index.find(hash, |&(h, at)| h == hash && results[at].id == result.id) {
            Some(&(_, at)) => {
                let earlier = self.results[at].attempts;
                let merged = TestResult { attempts: earlier + result.attempts, ..result };
                let digest = merged.digest_with(&mut self.scratch);
                self.digest_sum = self.digest_sum.wrapping_sub(self.digests[at]).wrapping_add(digest);
                self.digests[at] = digest;
                self.results[at] = merged;
                self.repeated += 1;
                self.repeated_at.push(at);
            }
            None => {
                let digest = result.digest_with(&mut self.scratch);
                self.digest_sum = self.digest_sum.wrapping_add(digest);
                self.digests.push(digest);
                self.index.insert_unique(hash, (hash, self.results.len()), |&(h, _)| h);
                let kept = match self.tap.as_mut() {
                    // The full result goes on to the store; a light copy (what counts need) stays.
                    Some(tap) => {
                        let light = TestResult {
                            id: result.id.clone(),
                            suite: None,
                            file: None,
                            outcome: result.outcome,
                            duration_s: result.duration_s,
                            attempts: result.attempts,
                            message: None,
                        };
                        tap.batch.push(result);
                        if tap.batch.len() >= TAP_BATCH {
                            let full = std::mem::replace(&mut tap.batch, Vec::with_capacity(TAP_BATCH));
                            let _ = tap.send.send(full);
                        }
                        light
                    }
                    None => result,
                };
                self.results.push(kept);
            }
        }
    }

    /// Makes room for `additional` more results.
    pub fn reserve(&mut self, additional: usize) {
        self.results.reserve(additional);
        self.digests.reserve(additional);
        self.index.reserve(additional, |&(h, _)| h);
    }

    /// The wrapping sum of the results' [`TestResult::digest`]s (of their full form, also for a
    /// tapped set).
    pub fn digest(&self) -> u128 {
        self.digest_sum
    }

    pub fn len(&self) -> usize {
        self.results.len()
    }

    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }

    /// The position and final form of every result that changed after it was first added
    /// (and tapped).
    pub fn repeated_results(&self) -> impl Iterator<Item = (usize, &TestResult)> {
        let mut at = self.repeated_at.clone();
        at.sort_unstable();
        at.dedup();
        at.into_iter().map(|i| (i, &self.results[i]))
    }

    /// How many entries repeated an id already seen (folded in as retries).
    pub fn repeated(&self) -> usize {
        self.repeated
    }

    pub fn results(&self) -> &[TestResult] {
        &self.results
    }

    pub fn into_results(self) -> Vec<TestResult> {
        self.results
    }
}

/// The report formats seer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// JUnit XML, in the dialects of pytest, Surefire, Gradle, jest-junit, go-junit-report,
    /// gotestsum and cargo-nextest.
    Junit,
    /// libtest JSON lines (`cargo test -- --format json`, `cargo nextest --message-format libtest-json`).
    LibtestJson,
    /// `go test -json` (test2json) lines.
    GoJson,
}

impl std::str::FromStr for ReportFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReportFormat::ALL.into_iter().find(|f| f.as_str() == s).ok_or_else(|| UnknownFormat {
            kind: "report",
            given: s.to_string(),
            expected: "junit, libtest-json or go-json",
        })
    }
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 3] = [ReportFormat::Junit, ReportFormat::LibtestJson, ReportFormat::GoJson];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Junit => "junit",
            ReportFormat::LibtestJson => "libtest-json",
            ReportFormat::GoJson => "go-json",
        }
    }

    /// Recognises a format from the start of the text.
    pub fn detect(path: &Path, text: &str) -> Result<ReportFormat, InputError> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('<') {
            return Ok(ReportFormat::Junit);
        }
        if trimmed.starts_with('{') {
            let first = trimmed.lines().next().unwrap_or_default();
            let value: serde_json::Value = serde_json::from_str(first).map_err(|e| {
                let line = text::line_of(text, text.len() - trimmed.len());
                InputError::invalid(path, Some(line), format!("not a JSON line: {e}"))
            })?;
            if value.get("Action").is_some() {
                return Ok(ReportFormat::GoJson);
            }
            if value.get("type").is_some() {
                return Ok(ReportFormat::LibtestJson);
            }
        }
        Err(InputError::invalid(
            path,
            Some(text::line_of(text, text.len() - trimmed.len())),
            "unrecognised report: expected JUnit XML, libtest JSON or go test -json (see --format)",
        ))
    }
}

/// Reads one report file into `into`, detecting its format unless one is given.
pub fn read_report(
    path: &Path,
    format: Option<ReportFormat>,
    into: &mut ResultSet,
) -> Result<ReportFormat, InputError> {
    let bytes = text::read_file(path)?;
    let text = text::decode(path, &bytes)?;
    let format = match format {
        Some(format) => format,
        None => ReportFormat::detect(path, &text)?,
    };
    match format {
        ReportFormat::Junit => super::junit::parse(path, &text, into)?,
        ReportFormat::LibtestJson => super::libtest::parse(path, &text, into)?,
        ReportFormat::GoJson => super::gotest::parse(path, &text, into)?,
    }
    Ok(format)
}

/// The longest test name seer stores. Real names stay far below (pytest's parametrised ids run
/// to a few hundred bytes); a longer one is refused with its file and line, and nothing of the
/// file is stored, rather than cut (a cut name would stand for another test).
pub const MAX_TEST_NAME_BYTES: usize = 8192;

/// Why test name `id` is refused (too long), if it is.
pub fn name_too_long(id: &str) -> Option<String> {
    (id.len() > MAX_TEST_NAME_BYTES)
        .then(|| format!("a test name of {} bytes, over the limit of {MAX_TEST_NAME_BYTES}", id.len()))
}

/// Keeps failure messages short: the store is for prediction, not for logs.
pub fn short_message(message: &str) -> Option<String> {
    const MAX: usize = 500;
    let message = message.trim();
    if message.is_empty() {
        return None;
    }
    if message.len() <= MAX {
        return Some(message.to_string());
    }
    let mut end = MAX;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    Some(format!("{}…", &message[..end]))
}

/// Parses a duration in seconds as reporters write it (Surefire may write `1,234.5`).
pub fn parse_seconds(raw: &str) -> Option<f64> {
    let raw = raw.trim();
    let value: f64 = if raw.contains(',') { raw.replace(',', "").parse().ok()? } else { raw.parse().ok()? };
    is_duration(value).then_some(value)
}

/// The longest duration of one test that seer takes as real: 30 days (the longest in the bundled
/// IOF/ROL history is 10). One rule for every format: a duration that is negative, not a number,
/// infinite or longer than this is refused, and the report with it (`file:line: reason`), so
/// that no sum of durations can overflow or become unknown.
pub const MAX_DURATION_S: f64 = 30.0 * 86_400.0;

/// Whether `seconds` is a duration seer takes (see [`MAX_DURATION_S`]).
pub fn is_duration(seconds: f64) -> bool {
    seconds.is_finite() && (0.0..=MAX_DURATION_S).contains(&seconds)
}

/// Why a stated duration is refused, for messages.
pub fn not_a_duration(what: &str, seconds: f64) -> String {
    format!("{what} {seconds:?} is not a duration in seconds (0 to {MAX_DURATION_S})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, outcome: Outcome, attempts: u32) -> TestResult {
        TestResult { id: id.into(), suite: None, file: None, outcome, duration_s: Some(1.0), attempts, message: None }
    }

    #[test]
    fn repeated_ids_fold_into_attempts_and_last_outcome_wins() {
        let mut set = ResultSet::default();
        set.add(result("a", Outcome::Fail, 1));
        set.add(result("b", Outcome::Pass, 1));
        set.add(result("a", Outcome::Pass, 1));
        assert_eq!(set.len(), 2);
        assert_eq!(set.repeated(), 1);
        let a = &set.results()[0];
        assert_eq!((a.outcome, a.attempts), (Outcome::Pass, 2));
        assert!(a.is_flaky());
    }

    #[test]
    fn a_tap_sees_each_test_once_and_repeats_are_listed() {
        let (send, recv) = std::sync::mpsc::sync_channel(1000);
        let mut set = ResultSet::with_tap(send);
        for i in 0..(TAP_BATCH + 5) {
            set.add(result(&format!("t{i}"), Outcome::Pass, 1));
        }
        set.add(result("t0", Outcome::Fail, 1));
        set.close_tap();
        let batches: Vec<Vec<TestResult>> = recv.iter().collect();
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [TAP_BATCH, 5]);
        assert_eq!(batches[0][0].outcome, Outcome::Pass, "the tap saw t0's first result");
        let repeated: Vec<_> = set.repeated_results().collect();
        assert_eq!(repeated.len(), 1);
        let (at, t0) = repeated[0];
        assert_eq!((at, t0.id.as_str(), t0.outcome, t0.attempts), (0, "t0", Outcome::Fail, 2));
        assert_eq!(set.len(), TAP_BATCH + 5);
    }

    #[test]
    fn outcome_codes_round_trip() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::from_code(o.code()), Some(o));
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
    }

    #[test]
    fn seconds_accept_thousands_separators_and_reject_garbage() {
        assert_eq!(parse_seconds("1,234.5"), Some(1234.5));
        assert_eq!(parse_seconds(" 0.25 "), Some(0.25));
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("NaN"), None);
        // One rule for numbers: beyond 30 days is refused, as negative and infinite values are.
        assert_eq!(parse_seconds("1e308"), None);
        assert_eq!(parse_seconds("99999999999999999999999"), None);
        assert_eq!(parse_seconds("2592000"), Some(2_592_000.0));
        assert_eq!(parse_seconds("fast"), None);
    }

    #[test]
    fn detection_by_first_bytes() {
        let p = Path::new("r");
        assert_eq!(ReportFormat::detect(p, "\n <?xml?><a/>").unwrap(), ReportFormat::Junit);
        assert_eq!(ReportFormat::detect(p, "{\"Action\":\"run\",\"Package\":\"x\"}\n").unwrap(), ReportFormat::GoJson);
        assert_eq!(
            ReportFormat::detect(p, "{ \"type\": \"suite\", \"event\": \"started\" }").unwrap(),
            ReportFormat::LibtestJson
        );
        let e = ReportFormat::detect(p, "\n\nhello").unwrap_err().to_string();
        assert!(e.starts_with("r:3: unrecognised report"), "{e}");
    }
}
