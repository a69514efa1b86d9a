//! The coverage rule: a test fails because of a change only by running changed code, so per-test
//! line coverage recorded at (or shortly before) the base says which tests a change can reach.
//!
//! - A test that ran a line the change touches, or one within [`SelectConfig::coverage_margin`]
//!   lines of them (in a Python file only where the touched lines hold no executable line), is
//!   always selected.
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
use crate::collect::git::{ChangeKind, FileChange, LineMap, NearCommit};
use crate::collect::lcov::Span;
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
    /// Tests with coverage at the commit that is stale (they ran code changed since it was
    /// taken): not in `known`, so the rule skips none of them.
    pub stale: usize,
    /// The touched base lines that hold no executable line (a constant, a static, a macro, a
    /// declaration), per file: coverage cannot see them run, but it can see their uses run
    /// ([`CoverageRule::add_uses`]).
    pub declarations: Vec<(String, u32, u32)>,
    /// The same of what changed between the coverage's commit and the base, in that commit's
    /// lines: the tests that ran their uses are stale too ([`CoverageRule::add_stale_uses`]).
    pub drift_declarations: Vec<(String, u32, u32)>,
    /// For each touched range (and the uses of the change's declarations), the tests that ran
    /// it: [`CoverageRule::let_go`] keeps the likeliest of each. `judge` collects the ranges' only
    /// when `coverage_recall` is below 1, since nothing else reads them.
    pub groups: Vec<Vec<String>>,
    /// Tests that ran touched lines but, by region coverage, none of their changed columns.
    pub not_the_columns: HashSet<String>,
}

impl CoverageRule {
    /// Makes stale the tests that ran a line using a name the drift's declarations declare
    /// (`uses` at the coverage's commit; `hits` of those paths).
    pub fn add_stale_uses(&mut self, uses: &[(String, u32, String)], at: &CoverageAt) {
        for (test, _) in ran_uses(uses, at) {
            if self.known.remove(test) {
                self.stale += 1;
            }
        }
    }

    /// Selects the tests that ran a line using one of the names the change's declarations
    /// declare (`uses`: path, line and name, at the coverage's commit; `hits` of those paths):
    /// a changed constant or macro runs where it is used.
    pub fn add_uses(&mut self, uses: &[(String, u32, String)], at: &CoverageAt) {
        let mut group = Vec::new();
        for (test, (path, line, name)) in ran_uses(uses, at) {
            if !self.ran.contains_key(test) {
                self.ran.insert(test.clone(), format!("{path}:{line}, a use of {name}"));
            }
            group.push(test.clone());
        }
        if !group.is_empty() {
            self.groups.push(group);
        }
    }

    /// The tests that ran the change which the model's order lets go at `recall`, given each
    /// test's predicted probability of failing `p`. Coverage says which tests can fail; the model
    /// says which of them likely do. Ordered by `p`, the fewest likeliest whose summed
    /// probability reaches `recall` of all of theirs are kept, and the likeliest of each touched
    /// range (a change of several places is caught in each); the rest are let go, to be decided
    /// by the model's threshold like any test. `recall` 1 keeps them all.
    pub fn let_go(&self, p: impl Fn(&str) -> f64, recall: f64) -> HashSet<String> {
        if recall >= 1.0 {
            return HashSet::new();
        }
        // A floor, so that tests the model gives nothing still count, and ties keep an order.
        let p = |t: &str| p(t).max(1e-6);
        let mut order: Vec<(&str, f64)> = self.ran.keys().map(|t| (t.as_str(), p(t))).collect();
        order.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        let total: f64 = order.iter().map(|(_, p)| p).sum();
        let mut kept: HashSet<&str> = HashSet::new();
        let mut sum = 0.0;
        for &(t, pt) in &order {
            if sum >= recall * total {
                break;
            }
            sum += pt;
            kept.insert(t);
        }
        for group in &self.groups {
            let likeliest = group.iter().max_by(|a, b| p(a).total_cmp(&p(b)).then(b.cmp(a)));
            kept.extend(likeliest.map(String::as_str));
        }
        self.ran.keys().filter(|t| !kept.contains(t.as_str())).cloned().collect()
    }

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

/// Judges the change `files` against the coverage `at`, recorded at `near` (whose `same` and
/// `moved` are in the order of `files`).
pub fn judge(files: &[FileChange], near: &NearCommit, mut at: CoverageAt, config: &SelectConfig) -> CoverageRule {
    let mut known = std::mem::take(&mut at.tests);
    let mut incomplete_first = None;
    // A change of comments alone breaks no test, whatever the coverage's age.
    let stale = match files.iter().all(comments_only) {
        true => Ok(Default::default()),
        false => stale_tests(near, &at, config.coverage_margin),
    };
    let (stale, drift_declarations) = match stale {
        Ok((stale, declarations)) => {
            known.retain(|t| !stale.contains(t));
            (stale.len(), declarations)
        }
        Err(why) => {
            incomplete_first = Some(why);
            (0, Vec::new())
        }
    };
    let mut rule = CoverageRule {
        commit: near.sha.clone(),
        known,
        incomplete: incomplete_first,
        stale,
        drift_declarations,
        ..Default::default()
    };
    let mut incomplete = |why: String| {
        if rule.incomplete.is_none() {
            rule.incomplete = Some(why);
        }
    };
    // The tests of each range, for the model's order (see `CoverageRule::groups`).
    let ordered = config.coverage_recall < 1.0;
    for (i, (f, &same)) in files.iter().zip(&near.same).enumerate() {
        if comments_only(f) {
            continue; // comments and blank lines only: nothing runs differently
        }
        let path = base_path(f);
        let Some(executable) = at.executable.get(path) else {
            incomplete(format!("no test's coverage includes {path}"));
            continue;
        };
        if f.base_lines.is_empty() {
            incomplete(format!("{} changed without line changes (a rename or a binary change)", f.path));
            continue;
        }
        // The touched lines as lines at the coverage's commit.
        let ranges = match (same, near.moved.get(i).and_then(Option::as_ref)) {
            (true, _) => f.base_lines.clone(),
            (false, Some(map)) => match earlier_ranges(&f.base_lines, map) {
                Ok(ranges) => ranges,
                Err(line) => {
                    incomplete(format!("{path}:{line} changed between the coverage's commit and the base"));
                    continue;
                }
            },
            (false, None) => {
                incomplete(format!("{path} changed between the coverage's commit and the base"));
                continue;
            }
        };
        let hits = at.hits.get(path).map(Vec::as_slice).unwrap_or_default();
        let unrun = at.unrun.get(path);
        // The changed columns of the base's lines, as lines at the coverage's commit.
        let columns: HashMap<u32, (u32, u32)> = f.base_columns.iter().map(|&(l, a, b)| (l, (a, b))).collect();
        for (&(from, to), &(base_from, base_to)) in ranges.iter().zip(&f.base_lines) {
            let executable_touched = first_in(executable, from, to).is_some();
            if !executable_touched {
                incomplete(format!(
                    "{path}:{base_from}-{base_to} holds no executable line (a comment or a declaration?)"
                ));
                rule.declarations.push((path.to_string(), base_from, base_to));
            }
            let (lo, hi) = reach(path, executable_touched, (from, to), config.coverage_margin);
            // Named by the base's line (the same line, when the file has not moved on).
            let at_base = |l: u32| i64::from(l) - i64::from(from) + i64::from(base_from);
            let columns_at = |l: u32| columns.get(&(l - from + base_from)).copied();
            let mut group = Vec::new();
            for (test, lines) in hits {
                let unrun = unrun.and_then(|u| u.get(test)).map(Vec::as_slice).unwrap_or_default();
                let place = match ran_touched(lines, unrun, (from, to), columns_at) {
                    Ran::Line(line) => format!("{path}:{}", at_base(line)),
                    // Region coverage: it ran the touched lines, not their changed columns.
                    Ran::NotTheColumns => {
                        rule.not_the_columns.insert(test.clone());
                        continue;
                    }
                    Ran::Nothing => match first_in(lines, lo, hi) {
                        Some(line) if base_from == base_to => {
                            format!("{path}:{}, next to the change at {base_from}", at_base(line))
                        }
                        Some(line) => format!("{path}:{}, next to the change at {base_from}-{base_to}", at_base(line)),
                        None => continue,
                    },
                };
                if ordered {
                    group.push(test.clone());
                }
                // The first line found is the one named.
                rule.ran.entry(test.clone()).or_insert(place);
            }
            if !group.is_empty() {
                rule.groups.push(group);
            }
        }
    }
    rule
}

/// The names `lines` declare: the identifier after a declaring keyword (`const`, `static [mut]`,
/// `macro_rules!`, `type`, `struct`, `enum`, `union`, `trait`, `fn`, `var`, `#define`).
pub fn declared_names(lines: &[&str]) -> Vec<String> {
    const KEYWORDS: [&str; 11] =
        ["const", "static", "macro_rules!", "type", "struct", "enum", "union", "trait", "fn", "var", "#define"];
    let mut names = Vec::new();
    for line in lines {
        let words: Vec<&str> = line
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '!' || c == '#'))
            .filter(|w| !w.is_empty())
            .collect();
        for (k, w) in words.iter().enumerate() {
            if !KEYWORDS.contains(w) {
                continue;
            }
            let next = words[k + 1..].iter().find(|n| **n != "mut");
            if let Some(name) = next.map(|n| n.trim_end_matches('!'))
                && name.starts_with(|c: char| c.is_alphabetic() || c == '_')
                && !KEYWORDS.contains(&name)
                && !names.iter().any(|n| n == name)
            {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// Each test that ran one of `uses` (path, line, name), with the use, by the coverage `at`.
fn ran_uses<'a>(
    uses: &'a [(String, u32, String)],
    at: &'a CoverageAt,
) -> impl Iterator<Item = (&'a String, &'a (String, u32, String))> {
    uses.iter().flat_map(move |u| {
        let hits = at.hits.get(&u.0).map(Vec::as_slice).unwrap_or_default();
        hits.iter().filter(move |(_, lines)| lines.binary_search(&u.1).is_ok()).map(move |(test, _)| (test, u))
    })
}

/// Whether `f` changes only blank lines and plain comments.
fn comments_only(f: &FileChange) -> bool {
    f.kind == ChangeKind::Modified && f.base_lines.is_empty() && f.comment_hunks > 0
}

/// `ranges` of the base's lines as ranges of the coverage's commit's lines, through `map`; the
/// first base line with no counterpart (new or changed since) is the error. A range keeps its
/// place in the list (its lines stay contiguous: nothing between them changed).
fn earlier_ranges(ranges: &[(u32, u32)], map: &LineMap) -> Result<Vec<(u32, u32)>, u32> {
    ranges
        .iter()
        .map(|&(from, to)| {
            let first = map.earlier(from).ok_or(from)?;
            for line in from..=to {
                if map.earlier(line) != Some(first + (line - from)) {
                    return Err(line);
                }
            }
            Ok((first, first + (to - from)))
        })
        .collect()
}

/// The tests whose coverage may no longer say what they run: those that ran, at the coverage's
/// commit, a line that changed between it and the base, as the rule itself would run them for
/// that change ([`reach`]: within `margin` lines, except where a Python file's changed lines
/// hold an executable line; a file deleted, renamed or binary since makes every test that ran it stale); and the drift's
/// lines without an executable line (a constant, a macro: their uses are looked up by the
/// caller, [`CoverageRule::add_stale_uses`]). `Err` when what changed since is not known.
#[allow(clippy::type_complexity)]
fn stale_tests(
    near: &NearCommit,
    at: &CoverageAt,
    margin: u32,
) -> Result<(HashSet<String>, Vec<(String, u32, u32)>), String> {
    let Some(drifted) = &near.drifted else {
        return match near.distance {
            0 => Ok(Default::default()),
            n => Err(format!("what changed in the {n} commits since the coverage was taken is not known")),
        };
    };
    let mut stale = HashSet::new();
    let mut declarations = Vec::new();
    for (path, touched) in drifted {
        let Some(hits) = at.hits.get(path) else { continue };
        let executable = at.executable.get(path).map(Vec::as_slice).unwrap_or_default();
        let Some(ranges) = touched else {
            stale.extend(hits.iter().map(|(t, _)| t.clone()));
            continue;
        };
        let mut reached = Vec::new();
        for &(from, to) in ranges {
            let executable_touched = first_in(executable, from, to).is_some();
            if !executable_touched {
                declarations.push((path.clone(), from, to));
            }
            reached.push(reach(path, executable_touched, (from, to), margin));
        }
        for (test, lines) in hits {
            if reached.iter().any(|&(from, to)| first_in(lines, from, to).is_some()) {
                stale.insert(test.clone());
            }
        }
    }
    Ok((stale, declarations))
}

/// The lines a test must have run for the touched lines `from..=to` of `path` to count as run by
/// it. The margin is for a change on a line without a counter of its own (the continuation of an
/// expression that starts above). coverage.py counts a statement on its first line, and Python's
/// `def` lines run at import: in a Python file, where the change holds an executable line, the
/// tests that ran it are the ones.
fn reach(path: &str, executable_touched: bool, (from, to): (u32, u32), margin: u32) -> (u32, u32) {
    match executable_touched && path.ends_with(".py") {
        true => (from, to),
        false => (from.saturating_sub(margin), to.saturating_add(margin)),
    }
}

/// What a test ran of a touched range.
enum Ran {
    /// This touched line (the first it ran whose changed columns it ran, or that has none).
    Line(u32),
    /// Touched lines, but on each, none of the changed columns (region coverage).
    NotTheColumns,
    /// No touched line.
    Nothing,
}

/// What a test that ran `lines` (and, on them, not the column spans `unrun`) ran of the touched
/// lines `from..=to`, whose changed columns `columns` gives where known.
fn ran_touched(
    lines: &[u32],
    unrun: &[Span],
    (from, to): (u32, u32),
    columns: impl Fn(u32) -> Option<(u32, u32)>,
) -> Ran {
    let at = lines.partition_point(|&l| l < from);
    let mut ran_any = false;
    for &line in lines[at..].iter().take_while(|&&l| l <= to) {
        ran_any = true;
        let skipped = columns(line).is_some_and(|(a, b)| {
            let on_line = &unrun[unrun.partition_point(|u| u.0 < line)..];
            on_line.iter().take_while(|u| u.0 == line).any(|&(_, ua, ub)| ua <= a && b <= ub)
        });
        if !skipped {
            return Ran::Line(line);
        }
    }
    if ran_any { Ran::NotTheColumns } else { Ran::Nothing }
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
            base_columns: vec![],
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
        NearCommit {
            sha: "c0".into(),
            distance: 2,
            same: same.to_vec(),
            moved: vec![],
            drifted: Some(Default::default()),
        }
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

    #[test]
    fn line_maps_follow_insertions_deletions_and_replacements() {
        // Old lines 1..=9; later: two lines inserted after old 2, old 5 deleted, old 7-8 replaced by one.
        let map = LineMap::from_hunks([(2, 0, 3, 2), (5, 1, 6, 0), (7, 2, 8, 1)]);
        let later: Vec<Option<u32>> = (1..=10).map(|l| map.earlier(l)).collect();
        assert_eq!(
            later,
            [Some(1), Some(2), None, None, Some(3), Some(4), Some(6), None, Some(9), Some(10)],
            "later line k is earlier line later[k-1]"
        );
        assert_eq!(earlier_ranges(&[(1, 2), (5, 6)], &map), Ok(vec![(1, 2), (3, 4)]));
        assert_eq!(earlier_ranges(&[(6, 7)], &map), Err(7), "4 and 6 are not neighbours any more");
        assert_eq!(earlier_ranges(&[(3, 3)], &map), Err(3), "a line inserted since");
    }

    #[test]
    fn tests_that_ran_code_changed_since_the_coverage_are_left_to_the_model() {
        let mut near = near(&[false]);
        // Since the coverage: line 20 (display's) changed; the change is on line 12, moved to 13 by
        // a line inserted at the top.
        near.moved = vec![Some(LineMap::from_hunks([(0, 0, 1, 1), (20, 1, 21, 1)]))];
        near.drifted = Some([("src/lib.rs".to_string(), Some(vec![(20, 20)]))].into_iter().collect());
        let rule = judge(&[change("src/lib.rs", &[(13, 13)])], &near, coverage(), &SelectConfig::default());
        assert_eq!(rule.incomplete, None);
        assert_eq!(rule.ran.get("parse").map(String::as_str), Some("src/lib.rs:13"), "named by the base's line");
        assert_eq!(rule.stale, 1);
        assert!(!rule.skips("display"), "display ran line 20, changed since: its coverage is stale");
        assert!(rule.skips("other"));

        // A declaration changed since (no executable line): the tests that ran a use of it are
        // stale (the caller finds the uses), and those within the margin.
        near.drifted = Some([("src/lib.rs".to_string(), Some(vec![(14, 15)]))].into_iter().collect());
        let mut rule = judge(&[change("src/lib.rs", &[(13, 13)])], &near, coverage(), &SelectConfig::default());
        assert_eq!(rule.drift_declarations, [("src/lib.rs".to_string(), 14, 15)]);
        assert!(rule.skips("display") && rule.skips("other"));
        rule.add_stale_uses(&[("src/lib.rs".into(), 30, "LIMIT".into())], &coverage());
        assert!(rule.skips("display") && !rule.skips("other"), "other ran a use of what changed");
        assert_eq!(rule.stale, 1);
        // A file deleted or renamed since: every test that ran it is stale.
        near.drifted = Some([("src/lib.rs".to_string(), None)].into_iter().collect());
        let rule = judge(&[change("src/lib.rs", &[(13, 13)])], &near, coverage(), &SelectConfig::default());
        assert!(!rule.skips("display") && !rule.skips("other"));
        // What changed since unknown: it skips nothing.
        near.drifted = None;
        let rule = judge(&[change("src/lib.rs", &[(13, 13)])], &near, coverage(), &SelectConfig::default());
        assert!(rule.incomplete.unwrap().contains("is not known"));
    }

    #[test]
    fn staleness_reaches_as_far_as_the_rule_does() {
        // Since the coverage, line 13 changed: executable, run by no test. The rule would run a
        // test that ran line 12 for a change on 13 (the margin), so that test is stale too.
        let mut at = coverage();
        at.executable.insert("src/lib.rs".into(), vec![10, 11, 12, 13, 20, 21, 30]);
        let mut near = near(&[false]);
        near.moved = vec![Some(LineMap::from_hunks([(13, 1, 13, 1)]))];
        near.drifted = Some([("src/lib.rs".to_string(), Some(vec![(13, 13)]))].into_iter().collect());
        let config = SelectConfig { coverage_margin: 1, ..Default::default() };
        let rule = judge(&[change("src/lib.rs", &[(30, 30)])], &near, at.clone(), &config);
        assert_eq!((rule.stale, rule.skips("parse")), (1, false), "parse ran line 12, next to the drift");
        assert!(rule.skips("display"));
        // In a Python file, an executable line changed since makes stale only the tests that ran it.
        let executable = at.executable.remove("src/lib.rs").unwrap();
        at.executable.insert("lib.py".into(), executable);
        let hits = at.hits.remove("src/lib.rs").unwrap();
        at.hits.insert("lib.py".into(), hits);
        near.drifted = Some([("lib.py".to_string(), Some(vec![(13, 13)]))].into_iter().collect());
        let rule = judge(&[change("lib.py", &[(30, 30)])], &near, at, &config);
        assert_eq!((rule.stale, rule.skips("parse")), (0, true));
    }

    #[test]
    fn region_coverage_lets_go_a_test_that_ran_the_line_but_not_the_changed_columns() {
        // display ran lines 20 and 21, but on 21 not columns 9..14; other ran 20 and 21 whole.
        let mut at = coverage();
        let hits = at.hits.get_mut("src/lib.rs").unwrap();
        hits.iter_mut().find(|(t, _)| t == "other").unwrap().1 = vec![20, 21, 30];
        at.unrun.insert("src/lib.rs".into(), [("display".to_string(), vec![(21, 9, 14)])].into_iter().collect());
        let mut change = change("src/lib.rs", &[(21, 21)]);
        let judged = |change: &FileChange| {
            judge(std::slice::from_ref(change), &near(&[true]), at.clone(), &SelectConfig::default())
        };
        change.base_columns = vec![(21, 10, 12)];
        let rule = judged(&change);
        assert!(rule.skips("display") && !rule.skips("other"), "{:?}", rule.ran);
        assert_eq!(rule.not_the_columns.iter().collect::<Vec<_>>(), ["display"]);
        assert!(!rule.ran.contains_key("display"), "the margin does not bring it back: line 20 ran");
        // Columns partly outside what it did not run, or unknown (no same-length replacement): it ran the change.
        for columns in [vec![(21, 8, 12)], vec![]] {
            change.base_columns = columns;
            let rule = judged(&change);
            assert_eq!(rule.ran.get("display").map(String::as_str), Some("src/lib.rs:21"));
        }
    }

    #[test]
    fn the_model_orders_the_tests_that_ran_the_change() {
        let mut rule = CoverageRule::default();
        for t in ["a", "b", "c", "d"] {
            rule.ran.insert(t.into(), "src/lib.rs:1".into());
        }
        rule.groups = vec![vec!["a".into(), "b".into(), "c".into()], vec!["d".into()]];
        let p = |t: &str| match t {
            "a" => 0.6,
            "b" => 0.3,
            "c" => 0.05,
            _ => 0.0,
        };
        let sorted = |set: HashSet<String>| {
            let mut v: Vec<String> = set.into_iter().collect();
            v.sort();
            v
        };
        assert!(rule.let_go(p, 1.0).is_empty(), "recall 1 keeps every test that ran the change");
        // a and b hold 0.9 of 0.95: enough for 0.9, not for 0.95; d is the only one of its place.
        assert_eq!(sorted(rule.let_go(p, 0.9)), ["c"]);
        assert!(rule.let_go(p, 0.95).is_empty());
        assert_eq!(sorted(rule.let_go(p, 0.5)), ["b", "c"], "a alone reaches half; d stays for its place");
    }

    #[test]
    fn declarations_name_what_they_declare() {
        let lines = [
            "pub const MAX_LEN: usize = 3;",
            "    static mut COUNTER: u32 = 0;",
            "macro_rules! bail {",
            "#define LIMIT 4",
            "let x = 1; // no declaration",
        ];
        assert_eq!(declared_names(&lines), ["MAX_LEN", "COUNTER", "bail", "LIMIT"]);
    }

    #[test]
    fn a_changed_declaration_runs_the_tests_that_ran_its_uses() {
        let mut rule = judged(&[change("src/lib.rs", &[(14, 15)])], &[true], 0);
        assert_eq!(rule.declarations, [("src/lib.rs".to_string(), 14, 15)]);
        assert!(rule.incomplete.is_some(), "the model still decides the rest");
        rule.add_uses(&[("src/lib.rs".into(), 21, "LIMIT".into())], &coverage());
        assert_eq!(rule.ran.get("display").map(String::as_str), Some("src/lib.rs:21, a use of LIMIT"));
        assert_eq!(rule.ran.len(), 1);
    }
}
