//! Per-test region coverage from llvm-cov's JSON export (`llvm-cov export -format=text`, what
//! `scripts/rust-test-coverage.py --format json` writes, one test per document).
//!
//! What seer reads of it: each file's `segments`, `[line, column, count, has_count,
//! is_region_entry, is_gap_region]` in order, each the start of a stretch of the file that runs
//! `count` times until the next segment. Lines are worked out from them as llvm-cov's own line
//! view does (and its LCOV export, so that both give a test the same lines); beyond lines, a
//! line the test ran keeps the column spans it did not run (a branch or a short-circuit's right
//! side on the same line), so that a change there does not count as run by it.
//!
//! The document names no test: `--test` does, or a top-level `"test"` key (which the script
//! adds; llvm-cov's readers ignore it).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::InputError;
use super::lcov::{FileLines, Span, TestCoverage, Tracefile, add_file, relative};

/// The `type` of llvm-cov's JSON export.
const EXPORT_TYPE: &str = "llvm.coverage.json.export";

#[derive(Deserialize)]
struct Export {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Vec<Data>,
    test: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default)]
    files: Vec<File>,
}

#[derive(Deserialize)]
struct File {
    filename: String,
    #[serde(default)]
    segments: Vec<Vec<serde_json::Value>>,
}

/// One segment: from here on, until the next one, the code runs `count` times (when it has one).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Segment {
    line: u32,
    col: u32,
    count: u64,
    has_count: bool,
    region_entry: bool,
    gap: bool,
}

/// Whether `text` is llvm-cov's JSON export (its `type`), and not another JSON document.
pub fn is_export(text: &str) -> bool {
    #[derive(Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    serde_json::from_str::<Kind>(text).is_ok_and(|k| k.kind.as_deref() == Some(EXPORT_TYPE))
}

/// Reads the export `text` (of the file `path`, for messages). `test` names its test, else its
/// `"test"` key must; absolute paths under `root` are made relative to it.
pub fn read(path: &Path, text: &str, test: Option<&str>, root: &Path) -> Result<Tracefile, InputError> {
    let export: Export = serde_json::from_str(text)
        .map_err(|e| InputError::invalid(path, Some(e.line()), format!("not llvm-cov's JSON export: {e}")))?;
    let bad = |reason: String| InputError::invalid(path, None, reason);
    if export.kind != EXPORT_TYPE {
        return Err(bad(format!("type {:?}, not {EXPORT_TYPE:?}", export.kind)));
    }
    let Some(name) = test.map(str::to_string).or(export.test).filter(|t| !t.trim().is_empty()) else {
        return Err(bad("names no test: pass --test, or add a top-level \"test\" key".into()));
    };
    if let Some(why) = super::report::name_too_long(&name) {
        return Err(bad(why));
    }
    let mut out = Tracefile::default();
    let mut coverage = TestCoverage { test: name, files: BTreeMap::new() };
    for file in export.data.iter().flat_map(|d| &d.files) {
        let (file_path, outside) = relative(&file.filename, root);
        out.outside_root += usize::from(outside);
        let segments: Vec<Segment> = file
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| segment(s).ok_or_else(|| bad(format!("{file_path}: segment {i} is not [line, column, count, has_count, is_region_entry(, is_gap_region)]"))))
            .collect::<Result<_, _>>()?;
        if segments.windows(2).any(|w| (w[1].line, w[1].col) < (w[0].line, w[0].col)) {
            return Err(bad(format!("{file_path}: segments out of order")));
        }
        // The same file twice (two binaries' mappings of it): the union of lines, no columns.
        add_file(&mut coverage.files, file_path, lines_of(&segments));
    }
    out.tests.push(coverage);
    Ok(out)
}

fn segment(s: &[serde_json::Value]) -> Option<Segment> {
    let number = |i: usize| s.get(i).and_then(serde_json::Value::as_u64);
    let flag = |i: usize| s.get(i).and_then(serde_json::Value::as_bool);
    if !(5..=6).contains(&s.len()) {
        return None;
    }
    Some(Segment {
        line: u32::try_from(number(0)?).ok()?,
        col: u32::try_from(number(1)?).ok()?,
        count: number(2)?,
        has_count: flag(3)?,
        region_entry: flag(4)?,
        gap: if s.len() == 6 { flag(5)? } else { false },
    })
}

/// A file's executable lines, the ones that ran, and on those the column spans that did not,
/// from its segments (in order). A line is executable and its count is as llvm-cov's line view
/// has it: the segment carried over from the lines above ("wrapped"), and the regions starting
/// on the line that are not gaps; a line that opens a skipped region is not executable.
fn lines_of(segments: &[Segment]) -> FileLines {
    let mut out = FileLines::default();
    let (Some(first), Some(last)) = (segments.first(), segments.last()) else {
        return out;
    };
    let mut wrapped: Option<&Segment> = None;
    let mut at = 0;
    for line in first.line..=last.line {
        let start = at;
        while at < segments.len() && segments[at].line == line {
            at += 1;
        }
        let on_line = &segments[start..at];
        let starts_region = |s: &&Segment| !s.gap && s.has_count && s.region_entry;
        let starts = on_line.iter().filter(starts_region).count();
        let skipped = on_line.first().is_some_and(|s| !s.has_count && s.region_entry);
        let mapped = !skipped && (wrapped.is_some_and(|w| w.has_count) || starts > 0);
        if mapped {
            let mut count = wrapped.map_or(0, |w| w.count);
            for s in on_line.iter().filter(starts_region) {
                count = count.max(s.count);
            }
            out.executable.push(line);
            if count > 0 {
                out.hit.push(line);
                out.unrun.extend(unrun_spans(line, wrapped, on_line));
            }
        }
        if let Some(s) = on_line.last() {
            wrapped = Some(s);
        }
    }
    out
}

/// The column spans of `line` (its segments `on_line`, the one carried over `wrapped`) whose code
/// did not run: where the segment in force has a count of 0 and is no gap. Adjacent spans merge;
/// the last may run to the end of the line (`u32::MAX`).
fn unrun_spans(line: u32, wrapped: Option<&Segment>, on_line: &[Segment]) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    let mut in_force = wrapped.copied();
    let mut from = 1;
    for next in on_line.iter().map(Some).chain([None]) {
        let to = next.map_or(u32::MAX, |s| s.col);
        if let Some(s) = in_force
            && s.has_count
            && s.count == 0
            && !s.gap
            && to > from
        {
            match spans.last_mut() {
                Some(last) if last.2 == from => last.2 = to,
                _ => spans.push((line, from, to)),
            }
        }
        if let Some(s) = next {
            (in_force, from) = (Some(*s), s.col);
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(line: u32, col: u32, count: u64, has_count: bool, region_entry: bool, gap: bool) -> Segment {
        Segment { line, col, count, has_count, region_entry, gap }
    }

    #[test]
    fn lines_and_the_columns_that_did_not_run() {
        // fn f(a: bool, b: bool) -> bool {     line 1, the body's region ran once
        //     if a && b { 1 } else { 2 }       line 2: `b` (col 13) never evaluated, the
        //                                      then-branch (col 17) never taken, else (col 26) ran
        // }                                    line 3
        // const X: u32 = 1;                    line 5: a skipped region
        let segments = [
            seg(1, 33, 1, true, true, false),
            seg(2, 13, 0, true, true, false),
            seg(2, 14, 1, true, false, false),
            seg(2, 16, 0, true, true, true),
            seg(2, 17, 0, true, true, false),
            seg(2, 22, 1, true, false, true),
            seg(2, 26, 1, true, true, false),
            seg(2, 31, 1, true, false, false),
            seg(3, 2, 0, false, false, false),
            seg(5, 1, 0, false, true, false),
            seg(5, 18, 0, false, false, false),
        ];
        let lines = lines_of(&segments);
        assert_eq!(lines.executable, [1, 2, 3]);
        assert_eq!(lines.hit, [1, 2, 3]);
        // col 16 is a gap (neither run nor unrun): the then-branch spans 17..22.
        assert_eq!(lines.unrun, [(2, 13, 14), (2, 17, 22)]);
    }

    #[test]
    fn a_line_counts_as_its_start_and_the_regions_it_opens() {
        // Line 2 starts in a region that ran and opens one that did not (kept as unrun columns);
        // line 3 lies inside the one that did not; on line 4 a stretch that is no region entry
        // runs again, which llvm-cov's line view does not count for the line.
        let segments =
            [seg(1, 10, 1, true, true, false), seg(2, 5, 0, true, true, false), seg(4, 6, 1, true, false, false)];
        let lines = lines_of(&segments);
        assert_eq!((lines.executable, lines.hit), (vec![1, 2, 3, 4], vec![1, 2]));
        assert_eq!(lines.unrun, [(2, 5, u32::MAX)]);
    }

    #[test]
    fn documents_are_read_with_their_test_and_bad_ones_name_the_file() {
        let root = Path::new("/repo");
        let doc = r#"{"type": "llvm.coverage.json.export", "version": "2.0.1", "test": "semver::t::a",
            "data": [{"files": [{"filename": "/repo/src/lib.rs", "segments": [[1, 5, 2, true, true, false], [2, 2, 0, false, false, false]]}]}]}"#;
        assert!(is_export(doc) && !is_export(r#"{"meta": {}, "files": {}}"#));
        let read = read(Path::new("a.json"), doc, None, root).unwrap();
        assert_eq!(read.tests.len(), 1);
        assert_eq!(read.tests[0].test, "semver::t::a");
        assert_eq!(read.tests[0].files["src/lib.rs"].hit, [1, 2]);
        let named = super::read(Path::new("a.json"), doc, Some("other"), root).unwrap();
        assert_eq!(named.tests[0].test, "other", "--test wins");

        let cases = [
            (doc.replace(r#""test": "semver::t::a","#, ""), "names no test"),
            (doc.replace("[1, 5, 2, true, true, false]", "[1, 5, true]"), "src/lib.rs: segment 0 is not"),
            (doc.replace("[2, 2, 0,", "[0, 2, 0,"), "segments out of order"),
            (doc.replace("llvm.coverage.json.export", "other"), "not \"llvm.coverage.json.export\""),
            ("{\"type\": ".to_string(), "not llvm-cov's JSON export"),
        ];
        for (text, why) in cases {
            let e = super::read(Path::new("a.json"), &text, None, root).unwrap_err().to_string();
            assert!(e.starts_with("a.json") && e.contains(why), "{e:?} should say {why:?}");
        }
    }
}
