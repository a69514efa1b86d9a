//! A selection in the words of each test runner: the arguments that make the runner run exactly
//! the selected tests, one argument per line.
//!
//! Where the runner can exclude tests (nextest, cargo test, pytest, go test, jest, Maven), the
//! arguments name the tests to *skip*, so that a test seer has never seen (new, renamed, or from
//! a job that never reported to seer) runs: seer only ever leaves out tests it decided to leave
//! out. Gradle's command line can only include tests, so its arguments name the tests to run, as
//! do shards (a split of the selected tests). Quarantined tests are always left out of the
//! arguments: they run in a separate step, from the JSON.
//!
//! A name is only excluded when the runner can tell it from every test that runs: where a runner
//! matches names without their suite (cargo test across binaries, go test across packages, jest
//! across files), a skipped name that a running test shares is run rather than skipped.

use std::path::Path;
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};

use super::selection::{Selection, TestRef};

/// A runner's argument syntax: how it is told which tests to leave out (or, for a shard and
/// where it cannot exclude, which to run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// A filterset, `not (…)`, of binary ids and exact names.
    Nextest,
    /// libtest's exact matching and one skip per name.
    Cargo,
    /// Deselection by node id.
    Pytest,
    /// A skip pattern of anchored top-level names (a run pattern and packages for a shard).
    Gotest,
    /// A name pattern that matches every test but the skipped ones.
    Jest,
    /// Surefire's test list with `!` exclusions.
    Maven,
    /// One include pattern per test to run: Gradle cannot exclude.
    Gradle,
}

/// The longest single argument Linux passes to a program (`MAX_ARG_STRLEN` is 128 KiB), with room.
pub const MAX_ARG_BYTES: usize = 120_000;

/// The arguments for `runner`, and a warning when they are not the usual form: a test whose
/// name cannot be passed as one argument runs (see [`speakable`]); the tests to skip do not fit
/// in one argument, so the tests to run are named instead (tests seer has never seen then do not
/// run); or neither works and every test runs.
pub fn runner_args(selection: &Selection, runner: Runner) -> (Vec<String>, Option<String>) {
    let (mut args, warning) = filter_args(selection, runner);
    // Tests seer never saw may all be gone, and a shard may hold none: no tests is not a failure.
    if runner == Runner::Nextest {
        args.push("--no-tests=pass".to_string());
    }
    (args, warning)
}

/// `args` (nextest's, from [`runner_args`]) with a team's own filterset combined by AND: nextest
/// ORs two `-E` expressions, so a team's `-E 'not test(slow)'` beside seer's would undo one of them.
pub fn and_nextest_filter(mut args: Vec<String>, filter: &str) -> Vec<String> {
    match args.iter().position(|a| a == "-E") {
        Some(at) if at + 1 < args.len() => {
            let seer = &args[at + 1];
            args[at + 1] = if seer == "all()" { format!("({filter})") } else { format!("({filter}) & ({seer})") };
        }
        _ => args.splice(0..0, ["-E".to_string(), format!("({filter})")]).for_each(drop),
    }
    args
}

/// The arguments that pick `selection`'s tests (see [`runner_args`]).
fn filter_args(selection: &Selection, runner: Runner) -> (Vec<String>, Option<String>) {
    let quarantined = &selection.quarantined;
    let running: Vec<&TestRef> = selection.selected.iter().map(|s| &s.test).collect();
    let fits = |args: &[String]| args.iter().all(|a| a.len() <= MAX_ARG_BYTES);
    let everything = |why: String| {
        let args = if runner == Runner::Nextest { vec!["-E".to_string(), "all()".to_string()] } else { vec![] };
        (args, Some(format!("{why}: every test runs")))
    };
    let too_long =
        || format!("the {runner:?} arguments for this selection would be longer than one command-line argument may be");
    let unnamed = |t: &TestRef| format!("the {runner:?} arguments cannot name the test {:?} safely", t.id);
    if selection.shard.is_some() || runner == Runner::Gradle {
        if runner == Runner::Gradle && selection.runs_everything() && selection.shard.is_none() {
            // Gradle runs everything without filters (quarantined tests included: it cannot exclude).
            return (vec![], None);
        }
        if let Some(t) = running.iter().find(|t| !speakable(runner, t)) {
            return everything(unnamed(t));
        }
        let args = include(runner, &running);
        return if fits(&args) { (args, None) } else { everything(too_long()) };
    }
    let mut excluded: Vec<&TestRef> = quarantined.iter().collect();
    if !selection.runs_everything() {
        excluded.extend(selection.skipped.iter().map(|s| &s.test));
    }
    // A test whose name the runner cannot be given is not skipped: it runs, and the warning says so.
    let (excluded, unsaid): (Vec<&TestRef>, Vec<&TestRef>) = excluded.into_iter().partition(|t| speakable(runner, t));
    let unsaid_warning = (!unsaid.is_empty()).then(|| {
        let names: Vec<String> = unsaid.iter().take(5).map(|t| format!("{:?}", t.id)).collect();
        format!(
            "{} tests run although seer would skip them: their names cannot be passed to {runner:?} safely ({}{})",
            unsaid.len(),
            names.join(", "),
            if unsaid.len() > 5 { ", …" } else { "" }
        )
    });
    // A nextest expression names every excluded test: when their names alone are too long for
    // one argument, it is not written (10,000 terms were a fifth of `select --server`'s time).
    let surely_too_long = runner == Runner::Nextest
        && excluded.iter().map(|t| t.id.len().saturating_sub(2)).sum::<usize>() > MAX_ARG_BYTES;
    let args = if surely_too_long { vec![] } else { exclude(runner, &excluded, &running) };
    if !surely_too_long && fits(&args) {
        return (args, unsaid_warning);
    }
    if selection.runs_everything() || !unsaid.is_empty() {
        return everything(too_long());
    }
    if let Some(t) = running.iter().find(|t| !speakable(runner, t)) {
        return everything(unnamed(t));
    }
    let args = include(runner, &running);
    if !fits(&args) {
        return everything(too_long());
    }
    let warning = format!(
        "the {} tests to skip do not fit in one command-line argument: the {} selected tests are named instead, \
         so tests seer has never seen do not run",
        excluded.len(),
        running.len()
    );
    (args, Some(warning))
}

/// Whether `runner` can be given `t`'s name as one argument that means only that name. seer
/// prints one argument per line, so a line break cannot be in one (and no argument can hold a
/// NUL); a name that would stand alone as an argument must not start with `-`, or the runner
/// would read an option; Surefire's patterns give `,`, `#`, `!` and `*` meanings of their own,
/// so a Java class must be a plain dotted name.
fn speakable(runner: Runner, t: &TestRef) -> bool {
    let breaks = |s: &str| s.contains(['\n', '\r', '\0']);
    if breaks(&t.id) || t.suite.as_deref().is_some_and(breaks) || t.file.as_deref().is_some_and(breaks) {
        return false;
    }
    let class = || {
        t.suite.as_deref().map(str::to_string).unwrap_or_else(|| t.id.split("::").next().unwrap_or(&t.id).to_string())
    };
    match runner {
        Runner::Nextest | Runner::Jest => true,
        Runner::Cargo => !short_name(t).starts_with('-'),
        Runner::Pytest => !pytest_node_id(t).starts_with('-'),
        Runner::Gotest => !t.suite.as_deref().is_some_and(|p| p.starts_with('-')),
        Runner::Maven | Runner::Gradle => {
            let class = class();
            !class.is_empty()
                && !class.starts_with('-')
                && class.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '_' || c == '$')
        }
    }
}

/// The arguments that run exactly the quarantined tests of `selection` (for a separate,
/// non-blocking step); `None` when there are none.
pub fn quarantined_args(selection: &Selection, runner: Runner) -> Option<Vec<String>> {
    let tests: Vec<&TestRef> = selection.quarantined.iter().collect();
    (!tests.is_empty()).then(|| include(runner, &tests))
}

/// A filterset leaf matching one test exactly.
fn nextest_term(t: &TestRef) -> String {
    let plain = |s: &str| s.chars().all(|c| c.is_alphanumeric() || "_:-.$/".contains(c));
    let exact =
        |s: &str| if plain(s) { format!("={s}") } else { format!("/^{}$/", regex_escape(s).replace('/', "\\/")) };
    match (t.suite.as_deref(), t.name_in_suite()) {
        (Some(binary), Some(name)) => format!("(binary_id({}) & test({}))", exact(binary), exact(name)),
        _ => format!("test({})", exact(&t.id)),
    }
}

/// `s` with every regex metacharacter escaped (the syntax shared by Rust's regex, Go's RE2 and
/// JavaScript).
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The name a runner knows a test by within its suite: the id without the suite prefix.
fn short_name(t: &TestRef) -> &str {
    t.name_in_suite().unwrap_or(&t.id)
}

/// A Go test's top-level name (`pkg::TestA/sub` → `TestA`).
fn go_top(t: &TestRef) -> &str {
    let name = short_name(t);
    name.split('/').next().unwrap_or(name)
}

/// The method part of a Java test name: `parses()`, `parses(int)[1]` → `parses`; display names
/// of parameterised cases (`[2] input=…`) have none.
fn java_method(name: &str) -> Option<&str> {
    let method = name.split(['(', '[']).next().unwrap_or("");
    (!method.is_empty() && method.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$')).then_some(method)
}

/// Gives each test of `selection` without a source file the `.py` file its JUnit classname names
/// under `root`, when one exists: a classname's dots stand for both directories and dots in
/// directory names (`tests.v1.2.test_ver` is `tests/v1.2/test_ver.py`), which only the checkout
/// can tell apart. pytest's node ids are then right (see [`pytest_node_id`]).
pub fn locate_pytest_files(selection: &mut Selection, root: &Path) {
    let mut found: HashMap<String, Option<String>> = HashMap::new();
    let tests = selection.selected.iter_mut().chain(selection.skipped.iter_mut()).map(|s| &mut s.test);
    for t in tests.filter(|t| t.file.is_none()) {
        let Some(classname) =
            t.suite.as_deref().map(str::to_string).or_else(|| t.id.split_once("::").map(|(c, _)| c.to_string()))
        else {
            continue;
        };
        t.file = found.entry(classname).or_insert_with_key(|c| python_file_of(c, root)).as_deref().map(Arc::from);
    }
}

/// The `.py` file under `root` that the longest leading part of `classname` names, its dots read
/// as `/` or as `.` (every way, all-`/` first; at most 10 parts are tried).
fn python_file_of(classname: &str, root: &Path) -> Option<String> {
    let parts: Vec<&str> = classname.split('.').collect();
    (1..=parts.len().min(10)).rev().find_map(|len| {
        let joints = len - 1;
        (0..1u32 << joints).find_map(|dots| {
            let mut path = parts[0].to_string();
            for (k, part) in parts[1..len].iter().enumerate() {
                path.push(if dots & (1 << k) == 0 { '/' } else { '.' });
                path.push_str(part);
            }
            path.push_str(".py");
            root.join(&path).is_file().then_some(path)
        })
    })
}

/// pytest's node id of a test recorded from its JUnit report (`classname::name`, the classname a
/// dotted module path with any classes after it), using the report's `file` when it gave one.
pub fn pytest_node_id(t: &TestRef) -> String {
    let (classname, name) = match (t.suite.as_deref(), t.name_in_suite()) {
        (Some(suite), Some(name)) => (suite, name),
        _ => match t.id.split_once("::") {
            Some((c, n)) => (c, n),
            None => return t.id.to_string(),
        },
    };
    let parts: Vec<&str> = classname.split('.').collect();
    let (module, classes): (Vec<&str>, Vec<&str>) = match t.file.as_deref().filter(|f| f.ends_with(".py")) {
        Some(file) => {
            // `tests/v1.2/test_ver.py` is three classname parts deep: `tests.v1.2.test_ver`.
            let depth = file.trim_end_matches(".py").split(['/', '.']).count().min(parts.len());
            (parts[..depth].to_vec(), parts[depth..].to_vec())
        }
        None => {
            // Classes are the trailing CamelCase parts (PEP 8); the rest is the module path.
            let first_class =
                parts.iter().rposition(|p| !p.starts_with(|c: char| c.is_ascii_uppercase())).map_or(0, |i| i + 1);
            (parts[..first_class].to_vec(), parts[first_class..].to_vec())
        }
    };
    let path = match t.file.as_deref().filter(|f| f.ends_with(".py")) {
        Some(file) => file.to_string(),
        None => format!("{}.py", module.join("/")),
    };
    let mut id = path;
    for c in classes {
        id.push_str("::");
        id.push_str(c);
    }
    id.push_str("::");
    id.push_str(name);
    id
}

/// The excluded tests whose name no running test shares, each name once (`key` is the name the
/// runner matches on).
fn distinct<'a>(excluded: &[&'a TestRef], running: &[&TestRef], key: impl Fn(&TestRef) -> String) -> Vec<&'a TestRef> {
    let kept: HashSet<String> = running.iter().map(|t| key(t)).collect();
    let mut seen = HashSet::new();
    excluded.iter().copied().filter(|t| !kept.contains(&key(t)) && seen.insert(key(t))).collect()
}

/// Arguments that run every test but `excluded`.
fn exclude(runner: Runner, excluded: &[&TestRef], running: &[&TestRef]) -> Vec<String> {
    match runner {
        Runner::Nextest => {
            let terms: Vec<String> = excluded.iter().map(|t| nextest_term(t)).collect();
            let expr = if terms.is_empty() { "all()".to_string() } else { format!("not ({})", terms.join(" | ")) };
            vec!["-E".into(), expr]
        }
        Runner::Cargo => {
            let names = distinct(excluded, running, |t| short_name(t).to_string());
            let mut args = Vec::new();
            if !names.is_empty() {
                args.push("--exact".to_string());
                args.extend(names.into_iter().map(|t| format!("--skip={}", short_name(t))));
            }
            args
        }
        Runner::Pytest => excluded.iter().map(|t| format!("--deselect={}", pytest_node_id(t))).collect(),
        Runner::Gotest => {
            // A parent is skipped with its subtests, so skip top-level tests that nothing running shares.
            let parents: Vec<&TestRef> = excluded.iter().copied().filter(|t| !short_name(t).contains('/')).collect();
            let tops = distinct(&parents, running, |t| go_top(t).to_string());
            if tops.is_empty() {
                return vec![];
            }
            let names: Vec<String> = tops.iter().map(|t| regex_escape(go_top(t))).collect();
            vec![format!("-skip=^(?:{})$", names.join("|"))]
        }
        Runner::Jest => {
            // jest matches the pattern case-insensitively against each test's full name.
            let names = distinct(excluded, running, |t| short_name(t).to_lowercase());
            if names.is_empty() {
                return vec![];
            }
            let names: Vec<String> = names.iter().map(|t| regex_escape(short_name(t))).collect();
            vec![format!("--testNamePattern=^(?!(?:{})$)", names.join("|"))]
        }
        Runner::Maven => {
            let mut by_class: Vec<(String, Vec<String>)> = Vec::new();
            let mut whole = Vec::new();
            for t in excluded {
                let class = t
                    .suite
                    .as_deref()
                    .map(str::to_string)
                    .unwrap_or_else(|| t.id.split("::").next().unwrap_or(&t.id).to_string());
                match java_method(short_name(t)) {
                    Some(m) => match by_class.iter_mut().find(|(c, _)| *c == class) {
                        Some((_, ms)) if !ms.iter().any(|x| x == m) => ms.push(m.to_string()),
                        Some(_) => {}
                        None => by_class.push((class, vec![m.to_string()])),
                    },
                    None => whole.push(class),
                }
            }
            // A class with a test that runs is never excluded whole.
            let running_classes: HashSet<String> =
                running.iter().filter_map(|t| t.suite.as_deref().map(str::to_string)).collect();
            let mut patterns: Vec<String> =
                by_class.into_iter().map(|(c, ms)| format!("!{c}#{}", ms.join("+"))).collect();
            whole.sort();
            whole.dedup();
            patterns.extend(whole.into_iter().filter(|c| !running_classes.contains(c)).map(|c| format!("!{c}")));
            if patterns.is_empty() {
                return vec![];
            }
            vec![format!("-Dtest={}", patterns.join(",")), "-Dsurefire.failIfNoSpecifiedTests=false".into()]
        }
        Runner::Gradle => unreachable!("gradle only includes"),
    }
}

/// Arguments that run exactly `running` (a shard, or Gradle's selection).
fn include(runner: Runner, running: &[&TestRef]) -> Vec<String> {
    const NONE: &str = "seer_selected_no_tests";
    match runner {
        Runner::Nextest => {
            let terms: Vec<String> = running.iter().map(|t| nextest_term(t)).collect();
            vec!["-E".into(), if terms.is_empty() { "none()".into() } else { terms.join(" | ") }]
        }
        Runner::Cargo => {
            let mut args = vec!["--exact".to_string()];
            let mut seen = HashSet::new();
            args.extend(running.iter().map(|t| short_name(t).to_string()).filter(|n| seen.insert(n.clone())));
            if args.len() == 1 {
                args.push(NONE.into());
            }
            args
        }
        Runner::Pytest => {
            if running.is_empty() {
                return vec!["-k".into(), NONE.into()];
            }
            running.iter().map(|t| pytest_node_id(t)).collect()
        }
        Runner::Gotest => {
            let mut seen = HashSet::new();
            let names: Vec<String> =
                running.iter().map(|t| regex_escape(go_top(t))).filter(|n| seen.insert(n.clone())).collect();
            let mut packages: Vec<String> =
                running.iter().filter_map(|t| t.suite.as_deref().map(str::to_string)).collect();
            packages.sort();
            packages.dedup();
            if names.is_empty() {
                return vec!["-run=^$".into()];
            }
            let mut args = vec![format!("-run=^(?:{})$", names.join("|"))];
            args.extend(packages);
            args
        }
        Runner::Jest => {
            let names: Vec<String> = running.iter().map(|t| regex_escape(short_name(t))).collect();
            let pattern = if names.is_empty() { format!("^{NONE}$") } else { format!("^(?:{})$", names.join("|")) };
            vec![format!("--testNamePattern={pattern}")]
        }
        Runner::Maven => {
            let mut by_class: Vec<(String, Vec<String>)> = Vec::new();
            for t in running {
                let class = t
                    .suite
                    .as_deref()
                    .map(str::to_string)
                    .unwrap_or_else(|| t.id.split("::").next().unwrap_or(&t.id).to_string());
                let method = java_method(short_name(t)).map(str::to_string);
                match (by_class.iter_mut().find(|(c, _)| *c == class), method) {
                    (Some((_, ms)), Some(m)) if !ms.is_empty() => {
                        if !ms.contains(&m) {
                            ms.push(m)
                        }
                    }
                    (Some((_, ms)), None) => ms.clear(), // the whole class
                    (Some(_), Some(_)) => {}
                    (None, m) => by_class.push((class, m.into_iter().collect())),
                }
            }
            let patterns: Vec<String> = by_class
                .into_iter()
                .map(|(c, ms)| if ms.is_empty() { c } else { format!("{c}#{}", ms.join("+")) })
                .collect();
            let test = if patterns.is_empty() { NONE.to_string() } else { patterns.join(",") };
            vec![format!("-Dtest={test}"), "-Dsurefire.failIfNoSpecifiedTests=false".into()]
        }
        Runner::Gradle => {
            let mut seen = HashSet::new();
            let mut args = Vec::new();
            for t in running {
                let class = t
                    .suite
                    .as_deref()
                    .map(str::to_string)
                    .unwrap_or_else(|| t.id.split("::").next().unwrap_or(&t.id).to_string());
                let pattern = match java_method(short_name(t)) {
                    Some(m) => format!("{class}.{m}"),
                    None => class,
                };
                if seen.insert(pattern.clone()) {
                    args.push("--tests".into());
                    args.push(pattern);
                }
            }
            if args.is_empty() {
                args = vec!["--tests".into(), NONE.into()];
            }
            args
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::selection::{Mode, Selected, Shard};

    fn t(id: &str, suite: Option<&str>) -> TestRef {
        TestRef { store_id: 0, id: id.into(), suite: suite.map(Arc::from), file: None }
    }

    fn selection(run: Vec<TestRef>, skip: Vec<TestRef>) -> Selection {
        let mut s = Selection::all(String::new(), vec![]);
        s.mode = Mode::Subset;
        s.reason = None;
        let tests = |list: Vec<TestRef>| {
            list.into_iter().map(|test| Selected { test, score: 1.0, reasons: vec![], estimated_s: 1.0 }).collect()
        };
        s.selected = tests(run);
        s.skipped = tests(skip);
        s
    }

    #[test]
    fn nextest_excludes_the_skipped_tests_by_binary_and_name() {
        let s = selection(
            vec![t("semver::test_version::test_parse", Some("semver::test_version"))],
            vec![t("semver::test_version::test_eq", Some("semver::test_version")), t("odd::a(b)", None)],
        );
        assert_eq!(
            runner_args(&s, Runner::Nextest).0,
            [
                "-E",
                r"not ((binary_id(=semver::test_version) & test(=test_eq)) | test(/^odd::a\(b\)$/))",
                "--no-tests=pass"
            ]
        );
        let all = Selection::all("why".into(), vec![]);
        assert_eq!(runner_args(&all, Runner::Nextest).0, ["-E", "all()", "--no-tests=pass"]);
        let shard = selection(vec![t("b::x", Some("b"))], vec![]).keep_shard(Shard { index: 1, count: 1 });
        assert_eq!(runner_args(&shard, Runner::Nextest).0, ["-E", "(binary_id(=b) & test(=x))", "--no-tests=pass"]);
    }

    #[test]
    fn dotted_directories_are_found_in_the_checkout() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("tests/v1.2")).unwrap();
        std::fs::write(root.path().join("tests/v1.2/test_ver.py"), "").unwrap();
        std::fs::create_dir_all(root.path().join("pkg")).unwrap();
        std::fs::write(root.path().join("pkg/test_mod.py"), "").unwrap();
        let mut s = selection(
            vec![t("tests.v1.2.test_ver::test_x[a.b]", Some("tests.v1.2.test_ver"))],
            vec![
                t("pkg.test_mod.TestCase::test_y", Some("pkg.test_mod.TestCase")),
                t("gone.test_z::t", Some("gone.test_z")),
            ],
        );
        locate_pytest_files(&mut s, root.path());
        assert_eq!(pytest_node_id(&s.selected[0].test), "tests/v1.2/test_ver.py::test_x[a.b]");
        assert_eq!(pytest_node_id(&s.skipped[0].test), "pkg/test_mod.py::TestCase::test_y");
        assert_eq!(s.skipped[1].test.file, None, "no such file: the classname rule stands");
        assert_eq!(pytest_node_id(&s.skipped[1].test), "gone/test_z.py::t");
    }

    #[test]
    fn a_teams_nextest_filter_is_combined_by_and() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            and_nextest_filter(args(&["-E", "not (test(=a))", "--no-tests=pass"]), "not test(slow)"),
            args(&["-E", "(not test(slow)) & (not (test(=a)))", "--no-tests=pass"])
        );
        assert_eq!(and_nextest_filter(args(&["-E", "all()"]), "test(x)"), args(&["-E", "(test(x))"]));
        assert_eq!(
            and_nextest_filter(args(&["--no-tests=pass"]), "test(x)"),
            args(&["-E", "(test(x))", "--no-tests=pass"])
        );
    }

    #[test]
    fn a_skip_list_too_long_for_one_argument_names_the_tests_to_run_instead() {
        let skip: Vec<TestRef> =
            (0..3000).map(|i| t(&format!("crate::module::test_number_{i}"), Some("crate"))).collect();
        let s = selection(vec![t("crate::module::kept", Some("crate"))], skip);
        let (args, warning) = runner_args(&s, Runner::Nextest);
        assert_eq!(args, ["-E", "(binary_id(=crate) & test(=module::kept))", "--no-tests=pass"]);
        assert!(warning.unwrap().contains("tests seer has never seen do not run"));
        let (args, warning) = runner_args(&s, Runner::Pytest);
        assert_eq!(args.len(), 3000, "pytest takes one argument per test: no limit applies");
        assert!(warning.is_none());
    }

    #[test]
    fn cargo_never_skips_a_name_that_a_running_test_shares() {
        let s = selection(
            vec![t("a::tests::works", Some("a"))],
            vec![t("b::tests::works", Some("b")), t("b::tests::other", Some("b"))],
        );
        assert_eq!(runner_args(&s, Runner::Cargo).0, ["--exact", "--skip=tests::other"]);
        let shard = selection(vec![], vec![]).keep_shard(Shard { index: 1, count: 2 });
        assert_eq!(runner_args(&shard, Runner::Cargo).0, ["--exact", "seer_selected_no_tests"]);
    }

    #[test]
    fn pytest_node_ids_come_from_the_junit_classname() {
        assert_eq!(
            pytest_node_id(&t("tests.test_calc::test_adds[1-2]", Some("tests.test_calc"))),
            "tests/test_calc.py::test_adds[1-2]"
        );
        assert_eq!(
            pytest_node_id(&t("tests.test_calc.TestDiv::test_zero", Some("tests.test_calc.TestDiv"))),
            "tests/test_calc.py::TestDiv::test_zero"
        );
        let mut with_file = t("pkg.mod.Case::test_x", Some("pkg.mod.Case"));
        with_file.file = Some("pkg/mod.py".into());
        assert_eq!(pytest_node_id(&with_file), "pkg/mod.py::Case::test_x");
        let s = selection(vec![], vec![t("t.test_a::test_one", Some("t.test_a"))]);
        assert_eq!(runner_args(&s, Runner::Pytest).0, ["--deselect=t/test_a.py::test_one"]);
    }

    #[test]
    fn go_skips_top_level_tests_and_keeps_parents_of_running_subtests() {
        let s = selection(
            vec![t("example.com/m::TestA/case_1", Some("example.com/m"))],
            vec![
                t("example.com/m::TestA", Some("example.com/m")),
                t("example.com/m::TestA/case_2", Some("example.com/m")),
                // A skipped subtest listed before its skipped parent (found by check-runner-formats.py).
                t("example.com/m::TestB/x", Some("example.com/m")),
                t("example.com/m::TestB", Some("example.com/m")),
            ],
        );
        assert_eq!(runner_args(&s, Runner::Gotest).0, ["-skip=^(?:TestB)$"]);
        let shard = s.clone().keep_shard(Shard { index: 1, count: 1 });
        assert_eq!(runner_args(&shard, Runner::Gotest).0, ["-run=^(?:TestA)$", "example.com/m"]);
    }

    #[test]
    fn jest_skips_full_names_case_insensitively_distinct() {
        let s = selection(
            vec![t("calculator::calculator adds numbers", Some("calculator"))],
            vec![
                t("calculator::calculator divides (rounded)", Some("calculator")),
                t("x::Calculator Adds Numbers", Some("x")),
            ],
        );
        assert_eq!(runner_args(&s, Runner::Jest).0, [r"--testNamePattern=^(?!(?:calculator divides \(rounded\))$)"]);
    }

    #[test]
    fn maven_and_gradle_name_classes_and_methods() {
        let s = selection(
            vec![t("org.acme.ParserTest::parsesUnicode()", Some("org.acme.ParserTest"))],
            vec![
                t("org.acme.ParserTest::parsesEmptyInput()", Some("org.acme.ParserTest")),
                t("org.acme.ParserTest::[2] input=\"a,b\"", Some("org.acme.ParserTest")),
                t("org.acme.LexerTest::lexes", Some("org.acme.LexerTest")),
            ],
        );
        assert_eq!(
            runner_args(&s, Runner::Maven).0,
            [
                "-Dtest=!org.acme.ParserTest#parsesEmptyInput,!org.acme.LexerTest#lexes",
                "-Dsurefire.failIfNoSpecifiedTests=false"
            ]
        );
        assert_eq!(runner_args(&s, Runner::Gradle).0, ["--tests", "org.acme.ParserTest.parsesUnicode"]);
    }

    /// The tests a runner given `args` runs, of `universe`: libtest's `--exact --skip=NAME` and
    /// pytest's `--deselect=NODEID` both drop exactly the names they are given. `args` is read
    /// back as a script reads seer's output, a line per argument.
    fn runs<'a>(runner: Runner, args: &[String], universe: &'a [TestRef]) -> Vec<&'a TestRef> {
        let (flag, name): (&str, fn(&TestRef) -> String) = match runner {
            Runner::Cargo => ("--skip=", |t| short_name(t).to_string()),
            Runner::Pytest => ("--deselect=", pytest_node_id),
            _ => unreachable!("only the runners modelled here"),
        };
        let printed = args.join("\n");
        let mut dropped: HashSet<&str> = HashSet::new();
        for arg in printed.lines() {
            assert!(arg.starts_with(flag) || arg == "--exact", "{arg:?} would be read as another argument");
            dropped.extend(arg.strip_prefix(flag));
        }
        universe.iter().filter(|t| !dropped.contains(name(t).as_str())).collect()
    }

    proptest::proptest! {
        /// A selection runs a subset of the candidates plus every test it never saw: the runner
        /// given its arguments runs every selected and every unseen test, and no skipped one
        /// that it can be told about; whatever the names (line breaks, NUL, a leading `-`,
        /// quotes and metacharacters), no argument is read as another, and a test whose name
        /// cannot be passed runs, with a warning that names it.
        #[test]
        fn the_runner_runs_the_selected_and_the_unseen_tests_and_skips_only_the_skipped(
            tests in proptest::collection::vec((0u8..3, "[a-z_]{1,8}|\\PC{0,6}|-[a-z-]{0,5}|[a-z]{1,3}[\n\r\0][a-z=-]{0,6}"), 1..30),
        ) {
            let test = |k: usize, name: &str| t(&format!("pkg.test_mod::t{k}_{name}"), Some("pkg.test_mod"));
            let pick = |want: u8| -> Vec<TestRef> {
                tests.iter().enumerate().filter(|(_, (kind, _))| *kind == want).map(|(i, (_, n))| test(i, n)).collect()
            };
            let (selected, skipped, unseen) = (pick(0), pick(1), pick(2));
            let universe: Vec<TestRef> = selected.iter().chain(&skipped).chain(&unseen).cloned().collect();
            let s = selection(selected.clone(), skipped.clone());
            for runner in [Runner::Cargo, Runner::Pytest] {
                let (args, warning) = runner_args(&s, runner);
                let ran: Vec<&str> = runs(runner, &args, &universe).iter().map(|t| &*t.id).collect();
                for t in selected.iter().chain(&unseen) {
                    proptest::prop_assert!(ran.contains(&&*t.id), "{runner:?} {args:?} left out {:?}", t.id);
                }
                for t in &skipped {
                    let said = speakable(runner, t);
                    proptest::prop_assert_eq!(ran.contains(&&*t.id), !said, "{:?} {:?}: {:?}", runner, args, t.id);
                    if !said {
                        let w = warning.clone().unwrap_or_default();
                        proptest::prop_assert!(w.contains(&format!("{:?}", t.id)) || w.contains('…'), "{w}");
                    }
                }
            }
        }
    }
}
