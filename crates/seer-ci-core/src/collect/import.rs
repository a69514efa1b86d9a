//! Bulk history for bootstrapping a store: the RETECS CSV format of public CI datasets, and
//! seer's own JSON lines (the run document of `seer show run --json`, one per line).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::error::{InputError, UnknownFormat};
use super::git::{ChangeKind, ChangeSet, CommitInfo, FileChange};
use super::report::{MAX_DURATION_S, Outcome, ResultSet, TestResult, is_duration, name_too_long, short_message};
use super::run::{CollectedRun, RunInfo};
use super::text;
use super::time::{now, parse_time};
use seer_ci_api::server::FileLinesJson;
use seer_ci_api::{ChangesJson, RunJson, TimeJson};

/// The history formats `seer import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// `;`-separated CSV with `Name`, `Verdict` and `Cycle` columns (RETECS, COLEMAN datasets).
    Retecs,
    /// One run document per line.
    Jsonl,
}

impl std::str::FromStr for ImportFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "retecs" => Ok(ImportFormat::Retecs),
            "jsonl" => Ok(ImportFormat::Jsonl),
            _ => Err(UnknownFormat { kind: "import", given: s.to_string(), expected: "retecs or jsonl" }),
        }
    }
}

/// Runs read from one history file.
#[derive(Debug)]
pub struct HistoryFile {
    pub runs: Vec<CollectedRun>,
    /// Input rows folded into an earlier row of the same test and run.
    pub folded_rows: usize,
}

/// Reads a history file; `run_prefix` names the runs of formats that have no run ids of their own.
pub fn read_history(path: &Path, format: Option<ImportFormat>, run_prefix: &str) -> Result<HistoryFile, InputError> {
    let bytes = text::read_file(path)?;
    let text = text::decode(path, &bytes)?;
    let format = match format {
        Some(f) => f,
        None if text.trim_start().starts_with('{') => ImportFormat::Jsonl,
        None => ImportFormat::Retecs,
    };
    match format {
        ImportFormat::Retecs => read_retecs(path, &text, run_prefix),
        ImportFormat::Jsonl => read_jsonl(path, &text),
    }
}

/// One test's executions within one cycle, folded.
struct Folded {
    failed: bool,
    duration_s: Option<f64>,
}

struct Cycle {
    time: Option<i64>,
    build: Option<String>,
    tests: Vec<(String, Folded)>,
    index: HashMap<String, usize>,
}

impl Cycle {
    /// Adds one execution; returns whether it folded into an earlier row of the same test.
    fn add(&mut self, name: &str, failed: bool, duration_s: Option<f64>) -> bool {
        match self.index.get(name) {
            Some(&at) => {
                let folded = &mut self.tests[at].1;
                folded.failed |= failed;
                folded.duration_s = match (folded.duration_s, duration_s) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                };
                true
            }
            None => {
                self.index.insert(name.to_string(), self.tests.len());
                self.tests.push((name.to_string(), Folded { failed, duration_s }));
                false
            }
        }
    }
}

/// The columns of a RETECS history: the three it needs, and the three it reads when present.
struct RetecsColumns {
    name: usize,
    verdict: usize,
    cycle: usize,
    duration: Option<usize>,
    last_run: Option<usize>,
    build: Option<usize>,
}

impl RetecsColumns {
    fn of(headers: &csv::StringRecord, path: &Path) -> Result<RetecsColumns, InputError> {
        let column = |name: &str| headers.iter().position(|h| h.trim() == name);
        let require = |name: &str| {
            column(name).ok_or_else(|| {
                InputError::invalid(
                    path,
                    Some(1),
                    format!("no {name} column: not a RETECS history (need Name, Verdict, Cycle)"),
                )
            })
        };
        Ok(RetecsColumns {
            name: require("Name")?,
            verdict: require("Verdict")?,
            cycle: require("Cycle")?,
            duration: column("Duration"),
            last_run: column("LastRun"),
            build: column("BuildId"),
        })
    }
}

/// One row of a RETECS history.
struct RetecsRow<'r> {
    name: &'r str,
    failed: bool,
    cycle: u64,
    duration_s: Option<f64>,
    time: Option<i64>,
    build: Option<&'r str>,
}

impl<'r> RetecsRow<'r> {
    /// The row at `line` of `path`, or why it is refused (naming the column).
    fn read(record: &'r csv::StringRecord, c: &RetecsColumns, path: &Path, line: usize) -> Result<Self, InputError> {
        let bad = |col: &str, why: String| InputError::invalid(path, Some(line), format!("column {col}: {why}"));
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let name = field(c.name);
        if name.is_empty() {
            return Err(bad("Name", "empty test name".into()));
        }
        if let Some(why) = name_too_long(name) {
            return Err(bad("Name", why));
        }
        let failed = match field(c.verdict) {
            "1" => true,
            "0" => false,
            other => return Err(bad("Verdict", format!("{other:?} is not 0 or 1"))),
        };
        let cycle: u64 =
            field(c.cycle).parse().map_err(|_| bad("Cycle", format!("{:?} is not a cycle number", field(c.cycle))))?;
        let duration_s = match c.duration.map(field) {
            None | Some("") => None,
            Some(raw) => Some(
                raw.parse::<f64>()
                    .ok()
                    .filter(|d| is_duration(*d))
                    .ok_or_else(|| bad("Duration", format!("{raw:?} is not a duration")))?,
            ),
        };
        let time = match c.last_run.map(field) {
            None | Some("") => None,
            Some(raw) => Some(parse_time(raw).ok_or_else(|| bad("LastRun", format!("{raw:?} is not a time")))?),
        };
        let build = c.build.map(field).filter(|b| !b.is_empty());
        Ok(RetecsRow { name, failed, cycle, duration_s, time, build })
    }
}

/// RETECS CSV: each `Cycle` is one run; each row one execution of test `Name` with `Verdict`
/// 1 (failed) or 0 (passed). A test listed several times in one cycle is one result: failed if
/// any execution failed, with the durations added up. The run's time is its latest `LastRun`.
fn read_retecs(path: &Path, text: &str, run_prefix: &str) -> Result<HistoryFile, InputError> {
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(text.as_bytes());
    let headers =
        reader.headers().map_err(|e| InputError::invalid(path, Some(1), format!("bad CSV header: {e}")))?.clone();
    let columns = RetecsColumns::of(&headers, path)?;
    let mut cycles: BTreeMap<u64, Cycle> = BTreeMap::new();
    let mut folded_rows = 0;
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line() as usize;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(InputError::invalid(path, Some(line), format!("bad CSV row: {e}"))),
        }
        let line = record.position().map_or(line, |p| p.line() as usize);
        let row = RetecsRow::read(&record, &columns, path, line)?;
        let entry = cycles.entry(row.cycle).or_insert_with(|| Cycle {
            time: None,
            build: row.build.map(str::to_string),
            tests: Vec::new(),
            index: HashMap::new(),
        });
        entry.time = entry.time.max(row.time);
        folded_rows += usize::from(entry.add(row.name, row.failed, row.duration_s));
    }
    if cycles.is_empty() {
        return Err(InputError::invalid(path, None, "no rows: the history is empty"));
    }
    Ok(HistoryFile { runs: retecs_runs(cycles, run_prefix), folded_rows })
}

/// The cycles as runs, ordered by number; a cycle without times sorts just after the one before.
fn retecs_runs(cycles: BTreeMap<u64, Cycle>, run_prefix: &str) -> Vec<CollectedRun> {
    let mut last_time = 0;
    cycles
        .into_iter()
        .map(|(number, cycle)| {
            let time = cycle.time.unwrap_or(last_time + 1).max(last_time);
            last_time = time;
            let results = cycle
                .tests
                .into_iter()
                .map(|(id, f)| TestResult {
                    id,
                    suite: None,
                    file: None,
                    outcome: if f.failed { Outcome::Fail } else { Outcome::Pass },
                    duration_s: f.duration_s,
                    attempts: 1,
                    message: None,
                })
                .collect();
            let commit = match &cycle.build {
                Some(build) => format!("{run_prefix}-build-{build}"),
                None => format!("{run_prefix}-cycle-{number}"),
            };
            let info = RunInfo {
                run_id: format!("{run_prefix}-{number}"),
                commit,
                base: None,
                branch: None,
                job: None,
                time,
                source: "retecs".into(),
            };
            CollectedRun { info, results, changes: None }
        })
        .collect()
}

fn read_jsonl(path: &Path, text: &str) -> Result<HistoryFile, InputError> {
    let mut runs = Vec::new();
    let mut folded_rows = 0;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let doc: RunJson = serde_json::from_str(line)
            .map_err(|e| InputError::invalid(path, Some(lineno), format!("not a seer run document: {e}")))?;
        let bad = |why: String| InputError::invalid(path, Some(lineno), why);
        if doc.run_id.trim().is_empty() || doc.commit.trim().is_empty() {
            return Err(bad("run_id and commit must not be empty".into()));
        }
        if let Some(first) = seen.insert(doc.run_id.clone(), lineno) {
            return Err(bad(format!("run {:?} appears again (first at line {first})", doc.run_id)));
        }
        let (run, folded) = run_from_json(doc).map_err(|e| bad(e.to_string()))?;
        folded_rows += folded;
        runs.push(run);
    }
    if runs.is_empty() {
        return Err(InputError::invalid(path, None, "no runs in the file"));
    }
    Ok(HistoryFile { runs, folded_rows })
}

/// Why a run document cannot be stored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunDocError {
    #[error("{0:?} is not a time")]
    Time(String),
    #[error("test {id:?}: outcome {outcome:?} is not pass, fail, error or skip")]
    Outcome { id: String, outcome: String },
    #[error("a test with an empty id")]
    EmptyId,
    #[error("{0}")]
    NameTooLong(String),
    #[error("test {id:?}: suite {suite:?} is not the leading part of its id")]
    Suite { id: String, suite: String },
    #[error("test {id:?}: attempts must be at least 1")]
    Attempts { id: String },
    #[error("test {id:?}: duration_s {duration:?} is not a duration in seconds (0 to {MAX_DURATION_S})")]
    Duration { id: String, duration: f64 },
    #[error("changed lines: {0}")]
    Lines(String),
    #[error("file {path:?}: status {status:?} is not one of A M D R C T")]
    Status { path: String, status: String },
}

fn time_value(t: &TimeJson) -> Result<i64, RunDocError> {
    match t {
        TimeJson::Seconds(s) => Ok(*s),
        TimeJson::Text(s) => parse_time(s).ok_or_else(|| RunDocError::Time(s.clone())),
    }
}

/// Converts one run document to a collected run; returns how many test entries were folded.
pub fn run_from_json(doc: RunJson) -> Result<(CollectedRun, usize), RunDocError> {
    let time = doc.time.as_ref().map(time_value).transpose()?.unwrap_or_else(now);
    let mut set = ResultSet::default();
    for t in doc.tests {
        let outcome = Outcome::parse(&t.outcome)
            .ok_or_else(|| RunDocError::Outcome { id: t.id.clone(), outcome: t.outcome.clone() })?;
        if t.id.trim().is_empty() {
            return Err(RunDocError::EmptyId);
        }
        if let Some(why) = name_too_long(&t.id) {
            return Err(RunDocError::NameTooLong(why));
        }
        if let Some(suite) = t.suite.as_deref().filter(|s| !t.id.starts_with(s)) {
            return Err(RunDocError::Suite { id: t.id.clone(), suite: suite.to_string() });
        }
        if t.attempts == 0 {
            return Err(RunDocError::Attempts { id: t.id.clone() });
        }
        if let Some(d) = t.duration_s.filter(|d| !is_duration(*d)) {
            return Err(RunDocError::Duration { id: t.id.clone(), duration: d });
        }
        set.add(TestResult {
            id: t.id,
            suite: t.suite,
            file: t.file,
            outcome,
            duration_s: t.duration_s,
            attempts: t.attempts,
            message: t.message.as_deref().and_then(short_message),
        });
    }
    let folded = set.repeated();
    let changes = doc.changes.map(|c| changes_from_json(c, &doc.commit, time)).transpose()?;
    let info = RunInfo {
        run_id: doc.run_id,
        commit: doc.commit,
        base: doc.base,
        branch: doc.branch,
        job: doc.job,
        time,
        source: doc.source.unwrap_or_else(|| "jsonl".into()),
    };
    Ok((CollectedRun { info, results: set.into_results(), changes }, folded))
}

/// A change document as a change set of `commit` (run at `time`, the commit's time when the
/// document has none). Its files carry no base lines: only git has the hunks (see
/// [`with_lines`]).
pub fn changes_from_json(c: ChangesJson, commit: &str, time: i64) -> Result<ChangeSet, RunDocError> {
    let files = c
        .files
        .into_iter()
        .map(|f| {
            let kind = ChangeKind::parse(&f.status)
                .ok_or_else(|| RunDocError::Status { path: f.path.clone(), status: f.status.clone() })?;
            Ok(FileChange {
                path: f.path,
                old_path: f.old_path,
                kind,
                added: f.added,
                deleted: f.deleted,
                binary: f.binary,
                symbols: f.symbols,
                base_lines: vec![],
                comment_hunks: 0,
                base_columns: vec![],
            })
        })
        .collect::<Result<Vec<_>, RunDocError>>()?;
    let commit = match c.commit {
        Some(ci) => CommitInfo {
            sha: commit.to_string(),
            parents: ci.parents,
            author: ci.author,
            time: ci.time.as_ref().map(time_value).transpose()?.unwrap_or(time),
            summary: ci.summary,
        },
        None => {
            CommitInfo { sha: commit.to_string(), parents: vec![], author: String::new(), time, summary: String::new() }
        }
    };
    Ok(ChangeSet { commit, base: c.base, files, complete: c.complete, warnings: c.warnings })
}

/// `cs` with each file's base lines as `lines` gives them (in the order of its files); a
/// range that is not in order is refused.
pub fn with_lines(mut cs: ChangeSet, lines: &[FileLinesJson]) -> Result<ChangeSet, RunDocError> {
    if lines.is_empty() {
        return Ok(cs);
    }
    if lines.len() != cs.files.len() {
        return Err(RunDocError::Lines(format!("{} line lists for {} files", lines.len(), cs.files.len())));
    }
    for (f, l) in cs.files.iter_mut().zip(lines) {
        if let Some([a, b]) = l.base_lines.iter().find(|[a, b]| a > b || *a == 0) {
            return Err(RunDocError::Lines(format!("{}: lines {a}-{b} are not a range of lines", f.path)));
        }
        if let Some([l, a, b]) = l.base_columns.iter().find(|[l, a, b]| *l == 0 || *a == 0 || a >= b) {
            return Err(RunDocError::Lines(format!("{}: line {l}, columns {a}-{b} are not a span of columns", f.path)));
        }
        f.base_lines = l.base_lines.iter().map(|[a, b]| (*a, *b)).collect();
        f.comment_hunks = l.comment_hunks;
        f.base_columns = l.base_columns.iter().map(|[l, a, b]| (*l, *a, *b)).collect();
    }
    Ok(cs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retecs(text: &str) -> Result<HistoryFile, InputError> {
        read_retecs(Path::new("h.csv"), text, "h")
    }

    #[test]
    fn cycles_become_runs_and_repeats_fold() {
        let h = retecs(
            "Id;Name;Duration;CalcPrio;LastRun;LastResults;Verdict;Cycle\n\
             1;7;10;0;2015-02-13 16:13:00;[];1;1\n\
             2;7;5;0;2015-02-13 16:20:00;[1];0;1\n\
             3;8;1;0;2015-02-13 16:13:00;[];0;1\n\
             4;7;2;0;2015-02-19 10:00:00;[0];0;2\n",
        )
        .unwrap();
        assert_eq!(h.runs.len(), 2);
        assert_eq!(h.folded_rows, 1);
        let first = &h.runs[0];
        assert_eq!(first.info.run_id, "h-1");
        assert_eq!(first.info.time, parse_time("2015-02-13 16:20").unwrap());
        let seven = &first.results[0];
        assert_eq!((seven.id.as_str(), seven.outcome, seven.duration_s), ("7", Outcome::Fail, Some(15.0)));
        assert_eq!(seven.attempts, 1, "repeated executions in a cycle are not retries");
        assert_eq!(h.runs[1].results.len(), 1);
    }

    #[test]
    fn columns_are_read_by_name() {
        let h = retecs("Id;Name;BuildId;Duration;CalcPrio;LastRun;Verdict;Cycle;LastResults\n1;94;17;0.01;0;2020-07-24 04:45:01.571;0;1;[]\n").unwrap();
        assert_eq!(h.runs[0].info.commit, "h-build-17");
        assert_eq!(h.runs[0].results[0].duration_s, Some(0.01));
    }

    #[test]
    fn bad_rows_name_line_and_column() {
        let e = retecs("Name;Verdict;Cycle\n1;0;1\n2;maybe;1\n").unwrap_err().to_string();
        assert_eq!(e, "h.csv:3: column Verdict: \"maybe\" is not 0 or 1");
        let e = retecs("Name;Verdict;Cycle\n1;0;x\n").unwrap_err().to_string();
        assert_eq!(e, "h.csv:2: column Cycle: \"x\" is not a cycle number");
        let e = retecs("Name;Verdict\n1;0\n").unwrap_err().to_string();
        assert!(e.starts_with("h.csv:1: no Cycle column"), "{e}");
        let e = retecs("Name;Verdict;Cycle\n1;0\n").unwrap_err().to_string();
        assert!(e.starts_with("h.csv:2: bad CSV row"), "{e}");
    }

    #[test]
    fn jsonl_rejects_bad_outcomes_and_repeated_runs() {
        let path = Path::new("r.jsonl");
        let ok = r#"{"run_id":"a","commit":"c","time":"2024-01-01T00:00:00Z","tests":[{"id":"t","outcome":"pass"}]}"#;
        assert_eq!(read_jsonl(path, ok).unwrap().runs[0].results[0].attempts, 1);
        let bad = r#"{"run_id":"b","commit":"c","tests":[{"id":"t","outcome":"passed"}]}"#;
        let e = read_jsonl(path, &format!("{ok}\n{bad}")).unwrap_err().to_string();
        assert!(e.starts_with("r.jsonl:2: test \"t\": outcome \"passed\""), "{e}");
        let e = read_jsonl(path, &format!("{ok}\n\n{ok}")).unwrap_err().to_string();
        assert_eq!(e, "r.jsonl:3: run \"a\" appears again (first at line 1)");
    }
}
