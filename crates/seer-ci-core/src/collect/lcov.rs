//! Per-test line coverage from LCOV tracefiles (`llvm-cov export -format=lcov`, `coverage.py lcov`,
//! `go tool covdata`/`gcov` converters, Istanbul …).
//!
//! The records seer reads: `TN:` names the test of the records after it, `SF:` opens a source
//! file's record, `DA:line,count` is one executable line and how often it ran, `end_of_record`
//! closes it. Everything else (functions, branches, summaries) is skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::InputError;

/// One test's coverage: for each source file, its executable lines and the ones the test ran.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TestCoverage {
    pub test: String,
    /// Path (relative to the repository root when it lies under it) → lines.
    pub files: BTreeMap<String, FileLines>,
}

impl TestCoverage {
    /// Adds `other`'s records (of the same test, from another tracefile) to this one.
    pub fn merge(&mut self, other: TestCoverage) {
        for (path, lines) in other.files {
            add_file(&mut self.files, path, lines);
        }
    }
}

/// Adds `lines` of the file at `path` to `files`: the union of lines with what is there already,
/// and then no unrun columns (which record's spans hold is not known: lines only).
pub(super) fn add_file(files: &mut BTreeMap<String, FileLines>, path: String, lines: FileLines) {
    match files.get_mut(&path) {
        None => {
            files.insert(path, lines);
        }
        Some(into) => {
            let counts: BTreeMap<u32, u64> =
                lines.executable.iter().map(|&l| (l, u64::from(lines.hit.binary_search(&l).is_ok()))).collect();
            merge(into, &counts);
            into.unrun.clear();
        }
    }
}

/// Columns of one line: (line, first column, the column after the last), 1-based.
pub type Span = (u32, u32, u32);

/// A source file's executable lines, and of them the ones that ran (both ascending, 1-based).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileLines {
    pub executable: Vec<u32>,
    pub hit: Vec<u32>,
    /// On lines that ran, the column spans that did not: (line, first column, the column after
    /// the last), ascending. Only region coverage knows them (`llvmcov.rs`); empty otherwise.
    pub unrun: Vec<Span>,
}

/// What a tracefile holds, per test, in the order the tests first appear.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tracefile {
    pub tests: Vec<TestCoverage>,
    /// `SF:` paths outside `root` (kept as written; they match no changed file).
    pub outside_root: usize,
}

/// Reads the LCOV tracefile at `path`. `test` names the test of records without a `TN:` (and
/// overrides every `TN:` when given); absolute `SF:` paths under `root` are made relative to it.
pub fn read(path: &Path, test: Option<&str>, root: &Path) -> Result<Tracefile, InputError> {
    let text = std::fs::read(path).map_err(|source| InputError::Read { path: path.to_path_buf(), source })?;
    let text = std::str::from_utf8(&text).map_err(|e| {
        let line = text[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        InputError::invalid(path, Some(line), "not UTF-8 text")
    })?;
    parse(text, path, test, root)
}

/// [`read`] of text already in memory; `path` is only for messages.
pub fn parse(text: &str, path: &Path, test: Option<&str>, root: &Path) -> Result<Tracefile, InputError> {
    let mut out = Tracefile::default();
    let mut by_test: BTreeMap<String, usize> = BTreeMap::new();
    let mut name: Option<String> = test.map(str::to_string);
    let mut open: Option<(String, BTreeMap<u32, u64>, usize)> = None;
    let mut records = 0;
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.trim();
        let bad = |reason: String| InputError::invalid(path, Some(line_no), reason);
        let (key, value) = line.split_once(':').unwrap_or((line, ""));
        match key {
            "" => {}
            "TN" if test.is_none() => {
                if let Some(why) = super::report::name_too_long(value.trim()) {
                    return Err(bad(why));
                }
                name = Some(value.trim().to_string()).filter(|v| !v.is_empty());
            }
            "SF" => {
                if open.is_some() {
                    return Err(bad("SF: before the previous record's end_of_record".into()));
                }
                if value.trim().is_empty() {
                    return Err(bad("SF: without a path".into()));
                }
                let (file, outside) = relative(value.trim(), root);
                out.outside_root += usize::from(outside);
                open = Some((file, BTreeMap::new(), line_no));
            }
            "DA" => {
                let Some((_, lines, _)) = open.as_mut() else {
                    return Err(bad("DA: outside a record (no SF:)".into()));
                };
                let mut parts = value.split(',');
                let number = parts.next().and_then(|v| v.trim().parse::<u32>().ok()).filter(|&l| l > 0);
                let count = parts.next().and_then(|v| v.trim().parse::<f64>().ok()).filter(|c| *c >= 0.0);
                let (Some(number), Some(count)) = (number, count) else {
                    return Err(bad(format!("DA:{value}: expected a line number and an execution count")));
                };
                let seen = lines.entry(number).or_insert(0);
                *seen = seen.saturating_add(count as u64);
            }
            "end_of_record" => {
                let Some((file, lines, at)) = open.take() else {
                    return Err(bad("end_of_record without a record (no SF:)".into()));
                };
                let Some(test) = name.clone() else {
                    return Err(InputError::invalid(
                        path,
                        Some(at),
                        "a record without a test name: the file has no TN: line before it (give --test)",
                    ));
                };
                records += 1;
                let index = *by_test.entry(test.clone()).or_insert_with(|| {
                    out.tests.push(TestCoverage { test, files: BTreeMap::new() });
                    out.tests.len() - 1
                });
                let entry = out.tests[index].files.entry(file).or_default();
                merge(entry, &lines);
            }
            _ => {}
        }
    }
    if let Some((file, _, at)) = open {
        return Err(InputError::invalid(path, Some(at), format!("the record of {file} has no end_of_record")));
    }
    if records == 0 {
        return Err(InputError::invalid(path, None, "no coverage records (SF: … end_of_record): is this LCOV?"));
    }
    Ok(out)
}

/// Adds one record's line counts to what a test already has for the file (a file can appear in
/// several records, e.g. once per test binary).
fn merge(into: &mut FileLines, lines: &BTreeMap<u32, u64>) {
    let mut all: BTreeMap<u32, bool> = into.executable.iter().map(|&l| (l, false)).collect();
    for &l in &into.hit {
        all.insert(l, true);
    }
    for (&l, &count) in lines {
        let ran = all.entry(l).or_insert(false);
        *ran |= count > 0;
    }
    into.executable = all.keys().copied().collect();
    into.hit = all.iter().filter(|(_, ran)| **ran).map(|(&l, _)| l).collect();
}

/// `path` relative to `root` when it is an absolute path under it, with `/` separators; whether it
/// was an absolute path outside it.
pub(super) fn relative(path: &str, root: &Path) -> (String, bool) {
    let p = PathBuf::from(path);
    if !p.is_absolute() {
        return (path.trim_start_matches("./").replace('\\', "/"), false);
    }
    match p.strip_prefix(root) {
        Ok(rest) => (rest.to_string_lossy().replace('\\', "/"), false),
        Err(_) => (path.to_string(), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "/repo";

    fn parse_ok(text: &str, test: Option<&str>) -> Tracefile {
        parse(text, Path::new("t.lcov"), test, Path::new(ROOT)).unwrap()
    }

    #[test]
    fn records_are_read_per_test_with_paths_made_relative() {
        let text = "TN:suite::a\nSF:/repo/src/lib.rs\nFN:3,f\nDA:3,1\nDA:4,0\nDA:7,2,abc\nLF:3\nLH:2\nend_of_record\n\
                    TN:suite::b\nSF:/repo/src/lib.rs\nDA:3,0\nDA:4,5\nend_of_record\nSF:/elsewhere/x.rs\nDA:1,1\nend_of_record\n";
        let t = parse_ok(text, None);
        assert_eq!(t.tests.len(), 2);
        assert_eq!(t.tests[0].test, "suite::a");
        assert_eq!(
            t.tests[0].files["src/lib.rs"],
            FileLines { executable: vec![3, 4, 7], hit: vec![3, 7], unrun: vec![] }
        );
        assert_eq!(t.tests[1].files["src/lib.rs"], FileLines { executable: vec![3, 4], hit: vec![4], unrun: vec![] });
        assert_eq!(t.tests[1].files["/elsewhere/x.rs"].hit, vec![1]);
        assert_eq!(t.outside_root, 1);
    }

    #[test]
    fn the_same_file_twice_for_one_test_is_merged() {
        let text = "TN:a\nSF:src/lib.rs\nDA:1,0\nDA:2,1\nend_of_record\nTN:a\nSF:./src/lib.rs\nDA:1,3\nDA:5,0\nend_of_record\n";
        let t = parse_ok(text, None);
        assert_eq!(t.tests.len(), 1);
        assert_eq!(
            t.tests[0].files["src/lib.rs"],
            FileLines { executable: vec![1, 2, 5], hit: vec![1, 2], unrun: vec![] }
        );
    }

    #[test]
    fn a_given_test_name_overrides_tn_and_is_needed_without_it() {
        let text = "TN:ignored\nSF:a.py\nDA:1,1\nend_of_record\n";
        assert_eq!(parse_ok(text, Some("tests/test_a.py::test_x")).tests[0].test, "tests/test_a.py::test_x");
        let e = parse("SF:a.py\nDA:1,1\nend_of_record\n", Path::new("t.lcov"), None, Path::new(ROOT)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.lcov:1: a record without a test name: the file has no TN: line before it (give --test)"
        );
    }

    #[test]
    fn malformed_input_names_the_file_and_line() {
        let cases = [
            (
                "TN:a\nSF:x.rs\nDA:one,1\nend_of_record\n",
                "t.lcov:3: DA:one,1: expected a line number and an execution count",
            ),
            ("TN:a\nDA:1,1\n", "t.lcov:2: DA: outside a record (no SF:)"),
            ("TN:a\nSF:x.rs\nDA:1,1\n", "t.lcov:2: the record of x.rs has no end_of_record"),
            ("TN:a\nSF:x.rs\nSF:y.rs\n", "t.lcov:3: SF: before the previous record's end_of_record"),
            ("<testsuites/>\n", "t.lcov: no coverage records (SF: … end_of_record): is this LCOV?"),
        ];
        for (text, message) in cases {
            let e = parse(text, Path::new("t.lcov"), None, Path::new(ROOT)).unwrap_err();
            assert_eq!(e.to_string(), message, "{text:?}");
        }
    }
}
