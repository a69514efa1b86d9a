//! Per-test coverage from coverage.py's data with dynamic contexts: the `.coverage` SQLite file
//! that `pytest --cov=PKG --cov-context=test` (pytest-cov) or `pytest --seer-coverage` writes,
//! and `coverage json --show-contexts`.
//!
//! coverage.py 7.x's data file (schema version 7): `file(id, path)`, `context(id, context)`, and
//! per (file, context) either `line_bits(numbits)` (line coverage: bit `n % 8` of byte `n / 8` is
//! line `n`) or `arc(fromno, tono)` rows (branch coverage; negative numbers are entries and exits).
//!
//! A context names a pytest node id and a phase: `tests/test_a.py::TestX::test_y[1-2]|run`
//! (`|setup`, `|teardown` too). The phases of one node id are one test, named as seer names it
//! from pytest's JUnit report: pytest's own `classname::name` ([`junit_id_of_node`]).
//!
//! The empty context holds what ran outside any test: imports, module-level statements, `def`
//! lines. Any test may depend on them (a changed constant changes every test that reads it, and
//! no test's own context shows the read), so they are counted as run by every test of the file.
//!
//! The data file does not say which lines are executable: coverage.py finds them by parsing the
//! source at report time. Read from the data file, a file's executable lines are the lines any
//! context ran; a change to a line that never ran is then not accounted for, and the coverage
//! rule leaves the decision to the model (never skips because of it). The JSON report has the
//! real statements (`executed_lines` and `missing_lines`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use hashbrown::HashMap;

use super::InputError;
use super::lcov::{FileLines, TestCoverage, Tracefile, relative};

/// The schema version of coverage.py 7.x's data file.
const SCHEMA_VERSION: i64 = 7;

/// Whether `head` (a file's first bytes) starts an SQLite database.
pub fn is_sqlite(head: &[u8]) -> bool {
    head.starts_with(b"SQLite format 3\0")
}

/// Whether `head` starts a JSON object (after any whitespace).
pub fn is_json(head: &[u8]) -> bool {
    head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// The test of a context, as seer names it from pytest's JUnit report; `None` for the empty
/// context (outside any test). A context that is not a pytest node id is an error.
fn test_of_context(context: &str) -> Result<Option<String>, String> {
    if context.is_empty() {
        return Ok(None);
    }
    let node = match context.rsplit_once('|') {
        Some((node, "run" | "setup" | "teardown")) => node,
        _ => context,
    };
    junit_id_of_node(node).map(Some).ok_or_else(|| {
        format!(
            "context {context:?} is not a pytest node id (record with `pytest --cov-context=test` or `pytest --seer-coverage`)"
        )
    })
}

/// The id seer gives a test recorded from pytest's JUnit report, from its node id: pytest's
/// JUnit writer turns `tests/test_a.py::TestX::test_y[p]` into classname `tests.test_a.TestX`
/// and name `test_y[p]` (the path's `/` become dots and `.py` is dropped; parameters are kept as
/// written, `::` in them included), and seer names it `classname::name`.
pub fn junit_id_of_node(node: &str) -> Option<String> {
    let (path, bracket, params) = match node.find('[') {
        Some(at) => (&node[..at], "[", &node[at + 1..]),
        None => (node, "", ""),
    };
    let mut names: Vec<&str> = path.split("::").collect();
    if names.len() < 2 || names.iter().any(|n| n.is_empty()) {
        return None;
    }
    let name = format!("{}{bracket}{params}", names.pop()?);
    let file = names[0].replace('/', ".");
    let mut classname = file.strip_suffix(".py").unwrap_or(&file).to_string();
    for class in &names[1..] {
        classname.push('.');
        classname.push_str(class);
    }
    Some(format!("{classname}::{name}"))
}

/// Reads a coverage.py data file (`.coverage`, SQLite). Source paths under `root` are made
/// relative to it.
pub fn read_data_file(path: &Path, root: &Path) -> Result<Tracefile, InputError> {
    let bad = |reason: String| InputError::invalid(path, None, reason);
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let db = rusqlite::Connection::open_with_flags(path, flags).map_err(|e| bad(format!("cannot open: {e}")))?;
    let sql = |e: rusqlite::Error| bad(format!("not coverage.py data: {e}"));
    let has_schema: bool = db
        .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'coverage_schema'", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(sql)?
        > 0;
    if !has_schema {
        return Err(bad("not coverage.py data (an SQLite file without a coverage_schema table)".into()));
    }
    let version: i64 = db.query_row("SELECT version FROM coverage_schema", [], |r| r.get(0)).map_err(sql)?;
    if version != SCHEMA_VERSION {
        return Err(bad(format!(
            "coverage.py data of schema version {version}; seer reads version {SCHEMA_VERSION} (coverage.py 6 and 7)"
        )));
    }
    let has_arcs: bool = db
        .query_row("SELECT value FROM meta WHERE key = 'has_arcs'", [], |r| r.get::<_, String>(0))
        .map(|v| v == "1" || v.eq_ignore_ascii_case("true"))
        .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(false) } else { Err(e) })
        .map_err(sql)?;

    // (file, context) → lines run.
    let mut runs: Vec<(String, String, Vec<u32>)> = Vec::new();
    if has_arcs {
        let mut stmt = db
            .prepare(
                "SELECT f.path, c.context, a.fromno, a.tono FROM arc a JOIN file f ON f.id = a.file_id \
                 JOIN context c ON c.id = a.context_id ORDER BY a.file_id, a.context_id",
            )
            .map_err(sql)?;
        let mut rows = stmt.query([]).map_err(sql)?;
        while let Some(row) = rows.next().map_err(sql)? {
            let (file, context): (String, String) = (row.get(0).map_err(sql)?, row.get(1).map_err(sql)?);
            let ends = [row.get::<_, i64>(2).map_err(sql)?, row.get::<_, i64>(3).map_err(sql)?];
            if runs.last().is_none_or(|(f, c, _)| *f != file || *c != context) {
                runs.push((file, context, Vec::new()));
            }
            let lines = &mut runs.last_mut().expect("pushed").2;
            lines.extend(ends.into_iter().filter(|&n| n > 0).filter_map(|n| u32::try_from(n).ok()));
        }
    } else {
        let mut stmt = db
            .prepare(
                "SELECT f.path, c.context, l.numbits FROM line_bits l JOIN file f ON f.id = l.file_id \
                 JOIN context c ON c.id = l.context_id",
            )
            .map_err(sql)?;
        let mut rows = stmt.query([]).map_err(sql)?;
        while let Some(row) = rows.next().map_err(sql)? {
            let bits: Vec<u8> = row.get(2).map_err(sql)?;
            runs.push((row.get(0).map_err(sql)?, row.get(1).map_err(sql)?, lines_of_numbits(&bits)));
        }
    }
    let mut contexts = Contexts::default();
    for (file, context, lines) in runs {
        let test = test_of_context(&context).map_err(bad)?;
        let (file, outside) = relative(&file, root);
        contexts.add(test, file, outside, lines);
    }
    contexts.finish(path, BTreeMap::new())
}

/// The line numbers set in coverage.py's numbits.
fn lines_of_numbits(bits: &[u8]) -> Vec<u32> {
    let mut lines = Vec::new();
    for (byte_at, &byte) in bits.iter().enumerate() {
        for bit in 0..8 {
            let line = byte_at as u32 * 8 + bit;
            // Line 0 is an empty module's entry, no line of it.
            if byte & (1 << bit) != 0 && line > 0 {
                lines.push(line);
            }
        }
    }
    lines
}

/// The part of `coverage json --show-contexts` seer reads.
#[derive(serde::Deserialize)]
struct JsonReport {
    meta: JsonMeta,
    files: BTreeMap<String, JsonFile>,
}

#[derive(serde::Deserialize)]
struct JsonMeta {
    #[serde(default)]
    show_contexts: bool,
}

#[derive(serde::Deserialize)]
struct JsonFile {
    executed_lines: Vec<u32>,
    #[serde(default)]
    missing_lines: Vec<u32>,
    #[serde(default)]
    contexts: BTreeMap<String, Vec<String>>,
}

/// Reads `coverage json --show-contexts` output. Relative paths are kept (coverage.py writes
/// them relative to where it ran: run it at the repository's root); absolute ones under `root`
/// are made relative to it.
pub fn read_json(path: &Path, text: &str, root: &Path) -> Result<Tracefile, InputError> {
    let report: JsonReport = serde_json::from_str(text)
        .map_err(|e| InputError::invalid(path, Some(e.line()), format!("not a coverage.py JSON report: {e}")))?;
    let bad = |reason: String| InputError::invalid(path, None, reason);
    if !report.meta.show_contexts {
        return Err(bad(
            "a coverage.py JSON report without contexts (write it with `coverage json --show-contexts`)".into()
        ));
    }
    let mut contexts = Contexts::default();
    let mut executable = BTreeMap::new();
    for (file, data) in report.files {
        let (file, outside) = relative(&file, root);
        let mut by_context: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        for (line, names) in &data.contexts {
            let line: u32 =
                line.parse().map_err(|_| bad(format!("{file}: contexts of line {line:?}, not a line number")))?;
            if line == 0 {
                continue; // an empty module's entry (coverage.py counts it as line 0)
            }
            for name in names {
                by_context.entry(name).or_default().push(line);
            }
        }
        for (context, lines) in by_context {
            contexts.add(test_of_context(context).map_err(bad)?, file.clone(), outside, lines);
        }
        let mut lines: Vec<u32> =
            data.executed_lines.iter().chain(&data.missing_lines).copied().filter(|&l| l > 0).collect();
        lines.sort_unstable();
        lines.dedup();
        executable.insert(file, lines);
    }
    contexts.finish(path, executable)
}

/// Lines run per test and file, gathered from a data file's contexts.
#[derive(Default)]
struct Contexts {
    /// Tests in the order first met.
    tests: Vec<String>,
    index: HashMap<String, usize>,
    /// (test index, file) → lines.
    hits: BTreeMap<(usize, String), BTreeSet<u32>>,
    /// Per file: lines run outside any test, and every line run.
    global: BTreeMap<String, BTreeSet<u32>>,
    ran: BTreeMap<String, BTreeSet<u32>>,
    outside_root: BTreeSet<String>,
}

impl Contexts {
    fn add(&mut self, test: Option<String>, file: String, outside: bool, lines: Vec<u32>) {
        if outside {
            self.outside_root.insert(file.clone());
        }
        self.ran.entry(file.clone()).or_default().extend(&lines);
        let Some(test) = test else {
            self.global.entry(file).or_default().extend(lines);
            return;
        };
        let at = *self.index.entry(test.clone()).or_insert_with(|| {
            self.tests.push(test);
            self.tests.len() - 1
        });
        self.hits.entry((at, file)).or_default().extend(lines);
    }

    /// The tracefile: each test's lines, and every test also ran each file's lines run outside
    /// any test. `executable` gives a file's statements when known (else the lines that ran).
    fn finish(self, path: &Path, mut executable: BTreeMap<String, Vec<u32>>) -> Result<Tracefile, InputError> {
        if self.tests.is_empty() {
            return Err(InputError::invalid(
                path,
                None,
                "coverage.py data without per-test contexts (record with `pytest --cov-context=test` or `pytest --seer-coverage`)",
            ));
        }
        for (file, ran) in &self.ran {
            executable.entry(file.clone()).or_insert_with(|| ran.iter().copied().collect());
        }
        let mut tests: Vec<TestCoverage> =
            self.tests.into_iter().map(|test| TestCoverage { test, files: BTreeMap::new() }).collect();
        for ((at, file), lines) in self.hits {
            tests[at]
                .files
                .insert(file, FileLines { executable: Vec::new(), hit: lines.into_iter().collect(), unrun: vec![] });
        }
        for t in &mut tests {
            for (file, lines) in &self.global {
                let hit = &mut t.files.entry(file.clone()).or_default().hit;
                let all: BTreeSet<u32> = hit.iter().chain(lines).copied().collect();
                *hit = all.into_iter().collect();
            }
            for (file, lines) in &mut t.files {
                lines.executable = executable.get(file).cloned().unwrap_or_default();
                // A line can run that the report does not list as a statement (a `def`'s
                // decorators, a docstring): it is executable for seer.
                if lines.hit.iter().any(|l| lines.executable.binary_search(l).is_err()) {
                    let all: BTreeSet<u32> = lines.executable.iter().chain(&lines.hit).copied().collect();
                    lines.executable = all.into_iter().collect();
                }
            }
        }
        Ok(Tracefile { tests, outside_root: self.outside_root.len() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_become_the_ids_pytest_junit_reports_give() {
        let cases = [
            ("tests/test_a.py::test_x", "tests.test_a::test_x"),
            ("tests/test_a.py::TestX::test_y", "tests.test_a.TestX::test_y"),
            ("tests/test_a.py::TestX::Inner::test_y", "tests.test_a.TestX.Inner::test_y"),
            ("test_a.py::test_x[1-2]", "test_a::test_x[1-2]"),
            ("tests/v1.2/test_a.py::test_x[a/b::c[d]]", "tests.v1.2.test_a::test_x[a/b::c[d]]"),
        ];
        for (node, id) in cases {
            assert_eq!(junit_id_of_node(node).as_deref(), Some(id), "{node}");
        }
        assert_eq!(junit_id_of_node("tests.test_a.TestX.test_y"), None, "coverage's test_function contexts");
        assert_eq!(test_of_context("tests/t.py::test_x|setup"), Ok(Some("tests.t::test_x".into())));
        assert_eq!(test_of_context(""), Ok(None));
        assert!(test_of_context("tests.t.test_x").unwrap_err().contains("not a pytest node id"));
    }

    #[test]
    fn numbits_are_read_as_coverage_py_writes_them() {
        // coverage.numbits.nums_to_numbits([1, 2, 9, 17]) == b'\x06\x02\x02'
        assert_eq!(lines_of_numbits(&[0x06, 0x02, 0x02]), vec![1, 2, 9, 17]);
        assert_eq!(lines_of_numbits(&[0x01]), Vec::<u32>::new(), "line 0: an empty module's entry");
        assert_eq!(lines_of_numbits(&[]), Vec::<u32>::new());
    }

    #[test]
    fn lines_run_outside_any_test_count_for_every_test() {
        let mut c = Contexts::default();
        c.add(None, "pkg/a.py".into(), false, vec![1, 3]);
        c.add(Some("t::x".into()), "pkg/a.py".into(), false, vec![4]);
        c.add(Some("t::y".into()), "pkg/b.py".into(), false, vec![2]);
        c.add(Some("t::x".into()), "pkg/a.py".into(), false, vec![5]);
        let t = c.finish(Path::new(".coverage"), BTreeMap::new()).unwrap();
        assert_eq!(t.tests.len(), 2);
        assert_eq!(
            t.tests[0].files["pkg/a.py"],
            FileLines { executable: vec![1, 3, 4, 5], hit: vec![1, 3, 4, 5], unrun: vec![] }
        );
        assert_eq!(t.tests[1].files["pkg/a.py"].hit, vec![1, 3], "y imported a.py's module-level code");
        assert_eq!(t.tests[1].files["pkg/b.py"], FileLines { executable: vec![2], hit: vec![2], unrun: vec![] });
    }

    #[test]
    fn a_json_report_gives_the_statements_that_never_ran() {
        let text = r#"{"meta": {"format": 3, "show_contexts": true}, "files": {"pkg/a.py": {
            "executed_lines": [1, 2, 4], "missing_lines": [6],
            "contexts": {"0": [""], "1": [""], "2": ["tests/test_a.py::T::test_x|run"], "4": ["tests/test_a.py::test_y[1]|run", "tests/test_a.py::T::test_x|teardown"]}}}}"#;
        let t = read_json(Path::new("cov.json"), text, Path::new("/repo")).unwrap();
        let ids: Vec<&str> = t.tests.iter().map(|t| t.test.as_str()).collect();
        assert_eq!(ids, ["tests.test_a.T::test_x", "tests.test_a::test_y[1]"]);
        assert_eq!(
            t.tests[0].files["pkg/a.py"],
            FileLines { executable: vec![1, 2, 4, 6], hit: vec![1, 2, 4], unrun: vec![] }
        );
        assert_eq!(t.tests[1].files["pkg/a.py"].hit, vec![1, 4]);
    }

    #[test]
    fn foreign_or_contextless_json_is_refused_with_the_file_named() {
        let cases = [
            (
                r#"{"meta": {"show_contexts": false}, "files": {}}"#,
                "cov.json: a coverage.py JSON report without contexts",
            ),
            (r#"{"files": {}}"#, "cov.json:1: not a coverage.py JSON report"),
            (
                r#"{"meta": {"show_contexts": true}, "files": {"a.py": {"executed_lines": [1], "contexts": {"1": [""]}}}}"#,
                "cov.json: coverage.py data without per-test contexts",
            ),
            (
                r#"{"meta": {"show_contexts": true}, "files": {"a.py": {"executed_lines": [1], "contexts": {"1": ["a.test_x"]}}}}"#,
                "cov.json: context \"a.test_x\" is not a pytest node id",
            ),
            (
                r#"{"meta": {"show_contexts": true}, "files": {"a.py": {"executed_lines": [1], "contexts": {"x": ["a.py::t"]}}}}"#,
                "cov.json: a.py: contexts of line \"x\"",
            ),
        ];
        for (text, message) in cases {
            let e = read_json(Path::new("cov.json"), text, Path::new("/repo")).unwrap_err().to_string();
            assert!(e.starts_with(message), "{e:?} should start with {message:?}");
        }
    }

    /// A data file as coverage.py 7 writes it (its DDL, trimmed of comments).
    fn data_file(dir: &Path, arcs: bool, rows: &[(&str, &str, &[i64])]) -> std::path::PathBuf {
        let path = dir.join(if arcs { "arcs.coverage" } else { "lines.coverage" });
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch(
            "CREATE TABLE coverage_schema (version integer);
             CREATE TABLE meta (key text, value text, unique (key));
             CREATE TABLE file (id integer primary key, path text, unique (path));
             CREATE TABLE context (id integer primary key, context text, unique (context));
             CREATE TABLE line_bits (file_id integer, context_id integer, numbits blob, unique (file_id, context_id));
             CREATE TABLE arc (file_id integer, context_id integer, fromno integer, tono integer,
                               unique (file_id, context_id, fromno, tono));
             INSERT INTO coverage_schema VALUES (7);",
        )
        .unwrap();
        db.execute("INSERT INTO meta VALUES ('has_arcs', ?1)", [if arcs { "1" } else { "0" }]).unwrap();
        for (file, context, lines) in rows {
            db.execute("INSERT OR IGNORE INTO file (path) VALUES (?1)", [file]).unwrap();
            db.execute("INSERT OR IGNORE INTO context (context) VALUES (?1)", [context]).unwrap();
            let ids = "(SELECT id FROM file WHERE path = ?1), (SELECT id FROM context WHERE context = ?2)";
            if arcs {
                for pair in lines.chunks(2) {
                    db.execute(
                        &format!("INSERT INTO arc VALUES ({ids}, ?3, ?4)"),
                        rusqlite::params![file, context, pair[0], pair[1]],
                    )
                    .unwrap();
                }
            } else {
                let mut bits = vec![0u8; 8];
                for &l in *lines {
                    bits[l as usize / 8] |= 1 << (l % 8);
                }
                db.execute(
                    &format!("INSERT INTO line_bits VALUES ({ids}, ?3)"),
                    rusqlite::params![file, context, bits],
                )
                .unwrap();
            }
        }
        path
    }

    #[test]
    fn a_data_file_is_read_per_test_with_lines_or_arcs() {
        let dir = tempfile::tempdir().unwrap();
        let rows: [(&str, &str, &[i64]); 4] = [
            ("/repo/pkg/a.py", "", &[1, 3]),
            ("/repo/pkg/a.py", "tests/test_a.py::T::test_x[1]|run", &[4, 5]),
            ("/repo/pkg/a.py", "tests/test_a.py::T::test_x[1]|setup", &[9]),
            ("/repo/pkg/a.py", "tests/test_a.py::test_y|run", &[5]),
        ];
        let t = read_data_file(&data_file(dir.path(), false, &rows), Path::new("/repo")).unwrap();
        let ids: Vec<&str> = t.tests.iter().map(|t| t.test.as_str()).collect();
        assert_eq!(ids, ["tests.test_a.T::test_x[1]", "tests.test_a::test_y"]);
        assert_eq!(
            t.tests[0].files["pkg/a.py"],
            FileLines { executable: vec![1, 3, 4, 5, 9], hit: vec![1, 3, 4, 5, 9], unrun: vec![] }
        );
        assert_eq!(t.tests[1].files["pkg/a.py"].hit, vec![1, 3, 5]);
        assert_eq!(t.outside_root, 0);

        // Branch coverage: arcs, whose negative ends are a code object's entry and exit.
        let rows: [(&str, &str, &[i64]); 2] =
            [("pkg/a.py", "", &[-1, 1, 1, -1]), ("pkg/a.py", "tests/test_a.py::test_y|run", &[-4, 4, 4, 6, 6, -4])];
        let t = read_data_file(&data_file(dir.path(), true, &rows), Path::new("/repo")).unwrap();
        assert_eq!(
            t.tests[0].files["pkg/a.py"],
            FileLines { executable: vec![1, 4, 6], hit: vec![1, 4, 6], unrun: vec![] }
        );
    }

    #[test]
    fn foreign_sqlite_files_and_other_versions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("other.db");
        rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE runs (id integer)").unwrap();
        let e = read_data_file(&other, Path::new("/")).unwrap_err().to_string();
        assert!(e.ends_with("other.db: not coverage.py data (an SQLite file without a coverage_schema table)"), "{e}");

        let path = data_file(dir.path(), false, &[("a.py", "", &[1])]);
        let e = read_data_file(&path, Path::new("/")).unwrap_err().to_string();
        assert!(e.contains("lines.coverage: coverage.py data without per-test contexts"), "{e}");
        rusqlite::Connection::open(&path).unwrap().execute_batch("UPDATE coverage_schema SET version = 6").unwrap();
        let e = read_data_file(&path, Path::new("/")).unwrap_err().to_string();
        assert!(e.contains("lines.coverage: coverage.py data of schema version 6"), "{e}");
    }
}
