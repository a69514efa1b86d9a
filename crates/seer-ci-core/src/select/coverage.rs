//! The coverage rule: a test fails because of a change only by running changed code, so per-test
//! line coverage recorded at (or shortly before) the base says which tests a change can reach.
//!
//! - A test that ran a line the change touches (within [`SelectConfig::coverage_margin`] lines)
//!   is always selected.
//! - When coverage accounts for every touched line (each changed file is known to the coverage,
//!   is the same file at the coverage's commit as at the base, and each hunk touches at least one
//!   executable line), a test with coverage that ran none of them is skipped.
//! - A file whose change is only blank lines and plain comments (not doc comments, which hold
//!   doctests) takes no part: it runs no differently (as Ekstazi's checksums ignore comments).
//! - Otherwise (a declaration or a multi-line comment changed, a new file, a file that moved on since the
//!   coverage was taken) the coverage says nothing about the other tests and the model decides.
//!
//! What it cannot see: behaviour that does not pass through executed lines of the changed files
//! (data files read at run time, build scripts: those fail open anyway), tests whose path through
//! the code depends on timing or randomness, and code that started calling the changed lines after
//! the coverage was taken (the lookback is bounded for that reason).

use hashbrown::{HashMap, HashSet};

use super::SelectConfig;
use crate::collect::git::{ChangeKind, FileChange, NearCommit};
use crate::store::CoverageAt;

/// What coverage says about one change.
#[derive(Debug, Clone, Default)]
pub struct CoverageRule {
    /// The commit the coverage was recorded at.
    pub commit: String,
    /// Tests that ran a touched line, with the first such line (`path:line`).
    pub ran: HashMap<String, String>,
    /// Tests with coverage at the commit.
    pub known: HashSet<String>,
    /// Why the coverage does not account for every touched line; `None` when it does.
    pub incomplete: Option<String>,
}

impl CoverageRule {
    /// Whether the rule skips `test`: it has coverage, ran no touched line, and every touched
    /// line is accounted for.
    pub fn skips(&self, test: &str) -> bool {
        self.incomplete.is_none() && self.known.contains(test) && !self.ran.contains_key(test)
    }
}

/// The base-side path of a changed file: where its coverage is.
pub fn base_path(f: &FileChange) -> &str {
    f.old_path.as_deref().unwrap_or(&f.path)
}

/// Judges the change `files` against the coverage `at`, recorded at `near` (whose `same` is in
/// the order of `files`).
pub fn judge(files: &[FileChange], near: &NearCommit, mut at: CoverageAt, config: &SelectConfig) -> CoverageRule {
    let known = std::mem::take(&mut at.tests);
    let mut rule = CoverageRule { commit: near.sha.clone(), known, ..Default::default() };
    let mut incomplete = |why: String| {
        if rule.incomplete.is_none() {
            rule.incomplete = Some(why);
        }
    };
    for (f, &same) in files.iter().zip(&near.same) {
        if f.kind == ChangeKind::Modified && f.base_lines.is_empty() && f.comment_hunks > 0 {
            continue; // comments and blank lines only: nothing runs differently
        }
        let path = base_path(f);
        let Some(executable) = at.executable.get(path) else {
            incomplete(format!("no test's coverage includes {path}"));
            continue;
        };
        if !same {
            incomplete(format!("{path} changed between the coverage's commit and the base"));
            continue;
        }
        if f.base_lines.is_empty() {
            incomplete(format!("{} changed without line changes (a rename or a binary change)", f.path));
            continue;
        }
        let hits = at.hits.get(path).map(Vec::as_slice).unwrap_or_default();
        for &(from, to) in &f.base_lines {
            if first_in(executable, from, to).is_none() {
                incomplete(format!("{path}:{from}-{to} holds no executable line (a comment or a declaration?)"));
            }
            let (lo, hi) = (from.saturating_sub(config.coverage_margin), to.saturating_add(config.coverage_margin));
            for (test, lines) in hits {
                if rule.ran.contains_key(test.as_str()) {
                    continue; // the first line found is the one named
                }
                let place = match (first_in(lines, from, to), first_in(lines, lo, hi)) {
                    (Some(line), _) => format!("{path}:{line}"),
                    (None, Some(line)) if from == to => format!("{path}:{line}, next to the change at {from}"),
                    (None, Some(line)) => format!("{path}:{line}, next to the change at {from}-{to}"),
                    (None, None) => continue,
                };
                rule.ran.insert(test.clone(), place);
            }
        }
    }
    rule
}

/// The first of ascending `lines` in `from..=to`.
fn first_in(lines: &[u32], from: u32, to: u32) -> Option<u32> {
    let at = lines.partition_point(|&l| l < from);
    lines.get(at).copied().filter(|&l| l <= to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &str, base_lines: &[(u32, u32)]) -> FileChange {
        FileChange {
            path: path.into(),
            old_path: None,
            kind: ChangeKind::Modified,
            added: Some(1),
            deleted: Some(1),
            binary: false,
            symbols: vec![],
            base_lines: base_lines.to_vec(),
            comment_hunks: 0,
        }
    }

    fn coverage() -> CoverageAt {
        let mut at = CoverageAt {
            tests: ["parse", "display", "other"].into_iter().map(String::from).collect(),
            ..Default::default()
        };
        at.executable.insert("src/lib.rs".into(), vec![10, 11, 12, 20, 21, 30]);
        at.hits.insert(
            "src/lib.rs".into(),
            vec![("parse".into(), vec![10, 11, 12]), ("display".into(), vec![20, 21]), ("other".into(), vec![30])],
        );
        at
    }

    fn near(same: &[bool]) -> NearCommit {
        NearCommit { sha: "c0".into(), distance: 2, same: same.to_vec() }
    }

    fn judged(files: &[FileChange], same: &[bool], margin: u32) -> CoverageRule {
        judge(files, &near(same), coverage(), &SelectConfig { coverage_margin: margin, ..Default::default() })
    }

    #[test]
    fn tests_that_ran_a_changed_line_run_and_the_others_are_skipped() {
        let rule = judged(&[change("src/lib.rs", &[(11, 11)])], &[true], 0);
        assert_eq!(rule.ran.get("parse").map(String::as_str), Some("src/lib.rs:11"));
        assert_eq!(rule.ran.len(), 1);
        assert_eq!(rule.incomplete, None);
        assert!(rule.skips("display") && rule.skips("other") && !rule.skips("parse"));
        assert!(!rule.skips("a_test_without_coverage"), "a test coverage never saw is left to the model");
    }

    #[test]
    fn the_margin_reaches_the_line_an_expression_starts_on() {
        let rule = judged(&[change("src/lib.rs", &[(22, 22)])], &[true], 1);
        assert_eq!(rule.ran["display"], "src/lib.rs:21, next to the change at 22", "line 21 ran, the change is on 22");
        assert_eq!(judged(&[change("src/lib.rs", &[(22, 22)])], &[true], 0).ran.len(), 0);
    }

    #[test]
    fn coverage_that_cannot_account_for_the_change_skips_nothing() {
        let cases: [(Vec<FileChange>, Vec<bool>, &str); 4] = [
            (vec![change("src/lib.rs", &[(14, 15)])], vec![true], "src/lib.rs:14-15 holds no executable line"),
            (vec![change("src/lib.rs", &[(11, 11)]), change("README.md", &[(1, 1)])], vec![true, true], "README.md"),
            (vec![change("src/lib.rs", &[(11, 11)])], vec![false], "changed between"),
            (vec![change("src/lib.rs", &[])], vec![true], "without line changes"),
        ];
        for (files, same, why) in cases {
            let rule = judged(&files, &same, 0);
            let said = rule.incomplete.clone().unwrap_or_default();
            assert!(said.contains(why), "{said:?} should say {why:?}");
            assert!(!rule.skips("display") && !rule.skips("other"));
        }
        let rule = judged(&[change("src/lib.rs", &[(11, 11)]), change("README.md", &[(1, 1)])], &[true, true], 0);
        assert!(rule.ran.contains_key("parse"), "tests that ran a changed line still run");
    }

    #[test]
    fn a_change_of_comments_only_takes_no_part() {
        let mut comments = change("src/lib.rs", &[]);
        comments.comment_hunks = 2;
        let rule = judged(&[comments.clone()], &[true], 0);
        assert_eq!((rule.incomplete.as_deref(), rule.ran.len()), (None, 0));
        assert!(rule.skips("parse") && rule.skips("display"));
        let rule = judged(&[comments, change("src/lib.rs", &[(20, 20)])], &[true, true], 0);
        assert_eq!(rule.ran.keys().collect::<Vec<_>>(), ["display"]);
        let mut renamed = change("src/moved.rs", &[]);
        (renamed.kind, renamed.old_path, renamed.comment_hunks) = (ChangeKind::Renamed, Some("src/lib.rs".into()), 1);
        assert!(judged(&[renamed], &[true], 0).incomplete.is_some(), "a rename is more than its comments");
    }

    #[test]
    fn a_renamed_file_is_looked_up_by_its_old_path() {
        let mut f = change("src/renamed.rs", &[(20, 20)]);
        f.old_path = Some("src/lib.rs".into());
        f.kind = ChangeKind::Renamed;
        let rule = judged(&[f], &[true], 0);
        assert!(rule.ran.contains_key("display"));
    }
}
