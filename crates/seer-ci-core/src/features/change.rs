//! Change and cross features: what the run's git change is, and how it relates to each test.
//!
//! Co-failure needs counts over every earlier run, so these are computed online in run order
//! (plain counting in hash maps, clearer than a join in polars): the features of run k are read
//! before run k's outcomes are counted, so nothing leaks from a run into its own features.

use hashbrown::{HashMap, HashSet};

use crate::store::{Replay, ReplayFile};

/// Every change and cross feature, in column order: (name, meaning and why it predicts failure).
pub const CHANGE_FEATURES: &[(&str, &str)] = &[
    ("has_change", "1 if the run's git change is known; every other change feature is 0 when it is not"),
    ("files_changed", "files the change touches (log1p): big changes break more"),
    ("lines_changed", "lines added plus deleted (log1p)"),
    ("code_files", "changed files in a programming language (log1p); documentation-only changes rarely break tests"),
    ("test_files", "changed files that are tests (path has a test/spec part) (log1p): new or edited tests fail"),
    (
        "build_files",
        "1 if a build or CI file changed (Cargo.toml, lock files, package.json, CI config): it can break anything",
    ),
    ("cofail_file", "max over changed files of this test's smoothed failure rate in past runs that changed that file"),
    ("cofail_file_n", "past runs that changed the file behind cofail_file (log1p): how much that rate rests on"),
    (
        "cofail_symbol",
        "max over changed functions of this test's smoothed failure rate in past runs that changed that function",
    ),
    ("cofail_symbol_n", "past runs that changed the function behind cofail_symbol (log1p)"),
    ("token_overlap", "share of the test id's name tokens found in the changed paths and function names"),
    (
        "own_file_changed",
        "1 if the test's own file changed: the file its report names; for a Rust test, its module's file (rust_test_files); \
         else a file named like a part of its id",
    ),
];

/// Prior weight of a co-failure rate: the rate is (failures + M·base) / (changes + M), where base
/// is the test's overall failure rate, so that one co-occurrence does not read as certainty.
const PRIOR_WEIGHT: f64 = 2.0;

/// Whether `id` matches `pattern`, where `*` matches any run of characters.
pub fn matches_pattern(pattern: &str, id: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == id;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !id.starts_with(first) || !id[first.len()..].ends_with(last) || id.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &id[first.len()..id.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Build and CI configuration, as path patterns (see [`path_matches`]): a change to one can break
/// anything. The default of `seer select`'s fail-open list, and what `build_files` counts.
pub const BUILD_FILE_PATTERNS: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "package.json",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "requirements.txt",
    "go.mod",
    "go.sum",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "settings.gradle",
    "CMakeLists.txt",
    "Makefile",
    "build.rs",
    ".gitlab-ci.yml",
    "Jenkinsfile",
    ".github/*",
    ".circleci/*",
    ".config/*",
    ".cargo/*",
];

/// Whether `path` matches `pattern`: a pattern without `/` is matched against the file name, one
/// with `/` against the whole path; `*` matches any text (across `/` too).
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let target = if pattern.contains('/') { path } else { path.rsplit('/').next().unwrap_or(path) };
    matches_pattern(pattern, target)
}

const CODE_EXTENSIONS: &[&str] = &[
    "rs", "py", "js", "jsx", "ts", "tsx", "go", "java", "kt", "scala", "c", "h", "cc", "cpp", "hpp", "cs", "rb", "php",
    "swift", "m", "mm", "sh",
];

/// Whether a path is a build or CI configuration file (one of [`BUILD_FILE_PATTERNS`]).
pub fn is_build_file(path: &str) -> bool {
    BUILD_FILE_PATTERNS.iter().any(|p| path_matches(p, path))
}

fn is_code_file(path: &str) -> bool {
    path.rsplit_once('.').is_some_and(|(_, ext)| CODE_EXTENSIONS.contains(&ext))
}

fn is_test_file(path: &str) -> bool {
    path.split(['/', '.', '_', '-']).any(|part| matches!(part, "test" | "tests" | "spec" | "specs" | "__tests__"))
}

/// Words too common in paths and test ids to relate a change to a test.
const STOP_TOKENS: &[&str] =
    &["test", "tests", "src", "lib", "mod", "main", "spec", "rs", "py", "go", "js", "ts", "java"];

/// Lower-case word tokens of an identifier or path, split at non-alphanumerics and camelCase
/// humps; tokens shorter than three characters and [`STOP_TOKENS`] are dropped.
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .flat_map(|word| {
            let mut parts = Vec::new();
            let mut start = 0;
            let chars: Vec<(usize, char)> = word.char_indices().collect();
            for w in chars.windows(2) {
                if w[0].1.is_lowercase() && w[1].1.is_uppercase() {
                    parts.push(&word[start..w[1].0]);
                    start = w[1].0;
                }
            }
            parts.push(&word[start..]);
            parts
        })
        .map(str::to_lowercase)
        .filter(|t| t.len() >= 3 && !STOP_TOKENS.contains(&t.as_str()))
}

/// A file's name without directory and extension (`tests/test_version.rs` → `test_version`).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `word` (word characters only) is one of the maximal runs of word characters of
/// `name`: found where no word character touches it on either side.
fn contains_word(name: &str, word: &str) -> bool {
    name.match_indices(word).any(|(at, _)| {
        !name[..at].chars().next_back().is_some_and(is_word_char)
            && !name[at + word.len()..].chars().next().is_some_and(is_word_char)
    })
}

fn stem(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.split_once('.').map_or(name, |(s, _)| s)
}

/// Counts of the past: how often each test failed when each file or function changed.
#[derive(Debug, Default, Clone)]
pub struct CoFailure {
    /// Each key (a path, or `path::function`) seen so far, numbered; counts go by number, so that
    /// reading a rate allocates nothing.
    keys: HashMap<String, u32>,
    /// Runs (with a known change) in which each key changed, by key number.
    changed: Vec<u32>,
    /// Failures of (key number, test) in those runs.
    failed: HashMap<(u32, u32), u32>,
    /// Per test: runs and failures, for the prior.
    test_runs: HashMap<u32, (u32, u32)>,
}

fn symbol_key(file: &ReplayFile, symbol: &str) -> String {
    format!("{}::{symbol}", file.path)
}

/// The co-failure keys of a change: each changed path and each changed `path::function`, once.
pub fn change_keys(changed: &[ReplayFile]) -> Vec<String> {
    let mut keys: Vec<String> = changed.iter().map(|f| f.path.clone()).collect();
    keys.extend(changed.iter().flat_map(|f| f.symbols.iter().map(|s| symbol_key(f, s))));
    let mut seen = HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    keys
}

/// What a co-failure rate rests on, for a reason a person can check.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// The changed path or `path::function`.
    pub key: String,
    /// Past runs that changed it, and the test's failures in them.
    pub changes: u32,
    pub failures: u32,
    /// The smoothed rate the feature reads.
    pub rate: f64,
}

/// A test's smoothed failure rate over `runs` with a known change.
fn base_rate_of(runs: u32, fails: u32) -> f64 {
    (fails as f64 + 0.5) / (runs as f64 + 1.0)
}

/// A changed key the co-failure counts have seen.
struct SeenKey {
    key: u32,
    runs: u32,
    ln_runs: f64,
}

impl CoFailure {
    /// The test's overall failure rate, smoothed: the prior of every co-failure rate.
    fn base_rate(&self, test: u32) -> f64 {
        let (runs, fails) = self.test_runs.get(&test).copied().unwrap_or((0, 0));
        base_rate_of(runs, fails)
    }

    /// The numbers of the `keys` seen so far, in their order, with the runs that changed each
    /// and its feature value `ln(1 + runs)`.
    fn resolve<'k>(&self, keys: impl Iterator<Item = &'k str>) -> Vec<SeenKey> {
        keys.filter_map(|k| self.keys.get(k))
            .map(|&key| {
                let runs = self.changed[key as usize];
                SeenKey { key, runs, ln_runs: f64::from(runs).ln_1p() }
            })
            .collect()
    }

    /// The highest rate over `keys` and the key it comes from; `None` (the base rate) when no
    /// key was seen.
    fn max_rate<'k>(&self, keys: &'k [SeenKey], test: u32, base: f64) -> (f64, Option<&'k SeenKey>) {
        keys.iter()
            .map(|seen| {
                let f = self.failed.get(&(seen.key, test)).copied().unwrap_or(0);
                ((f as f64 + PRIOR_WEIGHT * base) / (seen.runs as f64 + PRIOR_WEIGHT), Some(seen))
            })
            .fold((base, None), |best, r| if r.0 > best.0 { r } else { best })
    }

    /// Counts kept elsewhere (the store's selection state), for some keys: `keys` are (key, runs
    /// that changed it), `failed` (index into `keys`, test, failures), `test_runs` (test, (runs,
    /// failures)) over runs with a known change.
    pub fn from_counts(
        keys: Vec<(String, u32)>,
        failed: impl IntoIterator<Item = (usize, u32, u32)>,
        test_runs: impl IntoIterator<Item = (u32, (u32, u32))>,
    ) -> Self {
        let mut past = CoFailure::default();
        for (i, (key, changed)) in keys.into_iter().enumerate() {
            past.keys.insert(key, i as u32);
            past.changed.push(changed);
        }
        past.failed = failed.into_iter().map(|(k, t, f)| ((k as u32, t), f)).collect();
        past.test_runs = test_runs.into_iter().collect();
        past
    }

    /// The evidence behind the highest co-failure rate over `keys` for `test`, if any key was seen.
    pub fn evidence<'k>(&self, keys: impl Iterator<Item = &'k str>, test: u32) -> Option<Evidence> {
        let base = self.base_rate(test);
        keys.filter_map(|k| self.keys.get(k).map(|&id| (k, id)))
            .map(|(k, id)| {
                let changes = self.changed[id as usize];
                let failures = self.failed.get(&(id, test)).copied().unwrap_or(0);
                let rate = (failures as f64 + PRIOR_WEIGHT * base) / (changes as f64 + PRIOR_WEIGHT);
                Evidence { key: k.to_string(), changes, failures, rate }
            })
            .max_by(|a, b| a.rate.total_cmp(&b.rate))
    }

    /// Counts one run: the tests that ran, which of them failed, and what changed.
    pub fn observe(&mut self, changed: &[ReplayFile], ran: impl Iterator<Item = (u32, bool)>) {
        let names = change_keys(changed);
        let mut keys = Vec::with_capacity(names.len());
        for name in names {
            let next = self.keys.len() as u32;
            let key = *self.keys.entry(name).or_insert(next);
            if key == next {
                self.changed.push(0);
            }
            self.changed[key as usize] += 1;
            keys.push(key);
        }
        for (test, failed) in ran {
            let e = self.test_runs.entry(test).or_default();
            e.0 += 1;
            if failed {
                e.1 += 1;
                for &key in &keys {
                    *self.failed.entry((key, test)).or_default() += 1;
                }
            }
        }
    }
}

/// What the change features read of a test's name, worked out once per test (and kept by a warm
/// selection state between selections).
#[derive(Debug, Clone, Default)]
pub struct NameParts {
    /// The [`tokens`] of its name.
    pub tokens: HashSet<String>,
    /// For a Rust test (a nextest binary id for its suite), the files its code lives in.
    pub rust_files: Option<Vec<String>>,
}

impl NameParts {
    /// `suite` is the prefix of `name` its report gave as its group (JUnit classname, nextest
    /// binary id), if any.
    pub fn new(name: &str, suite: Option<&str>) -> NameParts {
        NameParts { tokens: tokens(name).collect(), rust_files: suite.and_then(|s| rust_test_files(s, name)) }
    }
}

/// What the change features read of a test.
pub struct TestName<'a> {
    pub index: u32,
    pub name: &'a str,
    pub file: Option<&'a str>,
    pub parts: std::borrow::Cow<'a, NameParts>,
}

impl<'a> TestName<'a> {
    /// `suite` is the prefix of `name` its report gave as its group (JUnit classname, nextest
    /// binary id), if any.
    pub fn new(index: u32, name: &'a str, suite: Option<&str>, file: Option<&'a str>) -> Self {
        TestName { index, name, file, parts: std::borrow::Cow::Owned(NameParts::new(name, suite)) }
    }

    /// With its parts worked out before.
    pub fn with_parts(index: u32, name: &'a str, file: Option<&'a str>, parts: &'a NameParts) -> Self {
        TestName { index, name, file, parts: std::borrow::Cow::Borrowed(parts) }
    }
}

/// Whether `s` is a Rust identifier (ASCII), as module and function names are.
fn is_rust_ident(s: &str) -> bool {
    let s = s.strip_prefix("r#").unwrap_or(s);
    s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The files (as path suffixes, relative to the crate's directory) that hold the code of a Rust
/// test named `id` in the nextest binary `suite`, by Cargo's default target paths; `None` when
/// `suite` is not a binary id or `id` not a Rust path under it.
///
/// - A library's unit test `a::b::tests::x` (binary `crate`) lives in module `a::b`'s file,
///   `src/a/b.rs` or `src/a/b/mod.rs` (a trailing `tests`/`test` module is the inline test
///   module of its parent); `tests::x` at the root, in `src/lib.rs`.
/// - A binary's (`crate::bin/name`): the same below `src/`, its root `src/main.rs`,
///   `src/bin/name.rs` or `src/bin/name/main.rs`.
/// - An integration test of `tests/name.rs` (binary `crate::name`): that file, or
///   `tests/name/main.rs`, only; never the library's files, whose changes reach it through
///   co-failure and coverage instead. Examples and benches likewise (`crate::example/name`).
pub fn rust_test_files(suite: &str, id: &str) -> Option<Vec<String>> {
    let path = id.strip_prefix(suite)?.strip_prefix("::")?;
    let segments: Vec<&str> = path.split("::").collect();
    if !segments.iter().all(|s| is_rust_ident(s)) {
        return None;
    }
    let crate_like = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let mut module = &segments[..segments.len() - 1];
    if let [parent @ .., "tests" | "test"] = module {
        module = parent;
    }
    let module = module.join("/");
    let in_src = |roots: &[String]| -> Vec<String> {
        if module.is_empty() {
            roots.to_vec()
        } else {
            vec![format!("src/{module}.rs"), format!("src/{module}/mod.rs")]
        }
    };
    let (krate, target) = match suite.split_once("::") {
        Some((k, t)) => (k, Some(t)),
        None => (suite, None),
    };
    if !crate_like(krate) {
        return None;
    }
    let files = match target.map(|t| t.split_once('/').map_or(("test", t), |(kind, name)| (kind, name))) {
        None => in_src(&["src/lib.rs".to_string()]),
        Some((_, name)) if !crate_like(name) => return None,
        Some(("bin", name)) => {
            in_src(&["src/main.rs".into(), format!("src/bin/{name}.rs"), format!("src/bin/{name}/main.rs")])
        }
        Some((kind @ ("test" | "example" | "bench"), name)) => {
            let dir = match kind {
                "test" => "tests",
                "example" => "examples",
                _ => "benches",
            };
            vec![format!("{dir}/{name}.rs"), format!("{dir}/{name}/main.rs")]
        }
        Some(_) => return None,
    };
    Some(files)
}

/// Whether `path` (from the repository root) is `suffix` or ends with `/suffix`.
fn is_path_suffix(path: &str, suffix: &str) -> bool {
    path.strip_suffix(suffix).is_some_and(|head| head.is_empty() || head.ends_with('/'))
}

/// What is known of a run's change, prepared once for all its tests.
pub struct ChangeContext<'a> {
    files: &'a [ReplayFile],
    paths: HashSet<&'a str>,
    /// The changed files' names without extensions (made of word characters, 3 or more).
    stems: HashSet<&'a str>,
    tokens: HashSet<String>,
    symbol_keys: Vec<String>,
    run_row: [f64; 6],
}

impl<'a> ChangeContext<'a> {
    pub fn new(files: &'a [ReplayFile]) -> Self {
        let lines: u64 = files.iter().map(|f| u64::from(f.added) + u64::from(f.deleted)).sum();
        let count = |pred: fn(&str) -> bool| files.iter().filter(|f| pred(&f.path)).count() as f64;
        let run_row = [
            1.0,
            (files.len() as f64).ln_1p(),
            (lines as f64).ln_1p(),
            count(is_code_file).ln_1p(),
            count(is_test_file).ln_1p(),
            if files.iter().any(|f| is_build_file(&f.path)) { 1.0 } else { 0.0 },
        ];
        let mut tokens: HashSet<String> = files.iter().flat_map(|f| tokens(&f.path)).collect();
        tokens.extend(files.iter().flat_map(|f| f.symbols.iter().flat_map(|s| self::tokens(s))));
        ChangeContext {
            files,
            paths: files.iter().map(|f| f.path.as_str()).collect(),
            stems: files
                .iter()
                .map(|f| stem(&f.path))
                .filter(|s| s.len() >= 3 && s.chars().all(is_word_char))
                .collect(),
            tokens,
            symbol_keys: files.iter().flat_map(|f| f.symbols.iter().map(move |s| symbol_key(f, s))).collect(),
            run_row,
        }
    }

    /// The changed file behind the test's `cofail_file` feature, and what its rate rests on.
    pub fn file_evidence(&self, past: &CoFailure, test: u32) -> Option<Evidence> {
        past.evidence(self.files.iter().map(|f| f.path.as_str()), test)
    }

    /// The changed function behind the test's `cofail_symbol` feature.
    pub fn symbol_evidence(&self, past: &CoFailure, test: u32) -> Option<Evidence> {
        past.evidence(self.symbol_keys.iter().map(String::as_str), test)
    }

    /// The change features of one test in this run, into `out`.
    pub fn features(&self, past: &CoFailure, test: &TestName<'_>, out: &mut [f64]) {
        self.with_past(past).features(test, out);
    }

    /// This change with its keys looked up in `past` once, for the features of many tests.
    pub fn with_past<'p>(&'p self, past: &'p CoFailure) -> ResolvedChange<'p> {
        ResolvedChange {
            context: self,
            past,
            files: past.resolve(self.files.iter().map(|f| f.path.as_str())),
            symbols: past.resolve(self.symbol_keys.iter().map(String::as_str)),
        }
    }
}

/// A change whose keys are looked up in one history's co-failure counts: what is left per test
/// is its own counts.
pub struct ResolvedChange<'p> {
    context: &'p ChangeContext<'p>,
    past: &'p CoFailure,
    files: Vec<SeenKey>,
    symbols: Vec<SeenKey>,
}

impl ResolvedChange<'_> {
    /// The change features of one test in this run, into `out`.
    pub fn features(&self, test: &TestName<'_>, out: &mut [f64]) {
        self.features_with_base(test, self.past.base_rate(test.index), out);
    }

    /// [`Self::features`] for a test whose runs and failures with a known change are at hand
    /// (a selection's candidates carry them): the same values, without looking them up.
    pub fn features_given(&self, test: &TestName<'_>, (runs, failures): (u32, u32), out: &mut [f64]) {
        self.features_with_base(test, base_rate_of(runs, failures), out);
    }

    fn features_with_base(&self, test: &TestName<'_>, base: f64, out: &mut [f64]) {
        let TestName { index, name, file, parts } = test;
        let context = self.context;
        let (name_tokens, rust_files) = (&parts.tokens, &parts.rust_files);
        out[..6].copy_from_slice(&context.run_row);
        let (file_rate, file_key) = self.past.max_rate(&self.files, *index, base);
        let (sym_rate, sym_key) = self.past.max_rate(&self.symbols, *index, base);
        let shared = name_tokens.iter().filter(|t| context.tokens.contains(*t)).count();
        let own = match (file, rust_files) {
            (Some(f), _) => context.paths.contains(f),
            (None, Some(files)) => context.paths.iter().any(|p| files.iter().any(|f| is_path_suffix(p, f))),
            (None, None) => context.stems.iter().any(|stem| contains_word(name, stem)),
        };
        out[6] = file_rate;
        out[7] = file_key.map_or(0.0, |k| k.ln_runs);
        out[8] = sym_rate;
        out[9] = sym_key.map_or(0.0, |k| k.ln_runs);
        out[10] = if name_tokens.is_empty() { 0.0 } else { shared as f64 / name_tokens.len() as f64 };
        out[11] = if own { 1.0 } else { 0.0 };
    }
}

/// The change features of the rows `(run, test)` (in any order), computed in one pass over the
/// runs in time order.
pub fn change_features(replay: &Replay, rows_of_run: &[std::ops::Range<usize>], test_of_row: &[u32]) -> Vec<f64> {
    let width = CHANGE_FEATURES.len();
    let mut out = vec![0.0; test_of_row.len() * width];
    let mut past = CoFailure::default();
    let mut names: Vec<Option<TestName<'_>>> = (0..replay.tests.len()).map(|_| None).collect();
    for (k, run) in replay.runs.iter().enumerate() {
        let Some(changed) = &run.changed else { continue };
        let context = ChangeContext::new(changed);
        let resolved = context.with_past(&past);
        for row in rows_of_run[k].clone() {
            let t = test_of_row[row];
            let test = names[t as usize].get_or_insert_with(|| {
                let file = replay.test_files.get(t as usize).and_then(|f| f.as_deref());
                let name = &replay.tests[t as usize];
                let suite = replay.test_suite_lens.get(t as usize).copied().flatten().and_then(|n| name.get(..n));
                TestName::new(t, name, suite, file)
            });
            resolved.features(test, &mut out[row * width..(row + 1) * width]);
        }
        past.observe(
            changed,
            run.results
                .iter()
                .filter(|r| r.outcome != crate::collect::Outcome::Skip)
                .map(|r| (r.test, r.outcome.is_failure())),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, symbols: &[&str]) -> ReplayFile {
        ReplayFile { path: path.into(), added: 3, deleted: 1, symbols: symbols.iter().map(|s| s.to_string()).collect() }
    }

    fn value(out: &[f64], name: &str) -> f64 {
        out[CHANGE_FEATURES.iter().position(|(n, _)| *n == name).unwrap()]
    }

    #[test]
    fn patterns_match_with_stars_anywhere() {
        assert!(matches_pattern("suite::a_works", "suite::a_works"));
        assert!(!matches_pattern("suite::a", "suite::a_works"));
        assert!(matches_pattern("suite::*", "suite::a_works"));
        assert!(matches_pattern("*works", "suite::a_works"));
        assert!(matches_pattern("*::a_*s", "suite::a_works"));
        assert!(matches_pattern("*", ""));
        assert!(!matches_pattern("a*a", "a"), "the two ends may not overlap");
        assert!(!matches_pattern("*b*", "suite::a_works"));
    }

    #[test]
    fn a_word_is_found_only_whole() {
        // The rule it stands for: one of the parts of the name split at non-word characters.
        let split = |name: &str, word: &str| name.split(|c: char| !is_word_char(c)).any(|p| p == word);
        for (name, word) in [
            ("parser::tests::parse_ok", "parser"),
            ("tests::parser_ok", "parser"),
            ("a::parser", "parser"),
            ("parser", "parser"),
            ("xparser::parser", "parser"),
            ("xparser::parserx", "parser"),
            ("été::parser-é", "parser"),
            ("éparser", "parser"),
            ("", "parser"),
        ] {
            assert_eq!(contains_word(name, word), split(name, word), "{name} / {word}");
        }
        assert!(contains_word("xparser::parser", "parser"), "the second occurrence counts");
        assert!(!contains_word("éparser", "parser"), "letters beyond ASCII are word characters");
    }

    #[test]
    fn tokens_split_paths_snake_and_camel_case() {
        let t: Vec<String> = tokens("src/parseVersion.rs::test_version_req$cmp").collect();
        assert_eq!(t, ["parse", "version", "version", "req", "cmp"]);
    }

    #[test]
    fn build_and_test_files_are_recognised() {
        assert!(is_build_file("Cargo.toml") && is_build_file("crates/x/Cargo.lock") && is_build_file(".github/ci.yml"));
        assert!(!is_build_file("src/cargo.rs"));
        assert!(
            is_test_file("tests/test_version.rs") && is_test_file("src/foo_test.go") && !is_test_file("src/latest.rs")
        );
    }

    #[test]
    fn co_failure_grows_with_evidence_and_is_smoothed() {
        let mut past = CoFailure::default();
        let parse = [file("src/parse.rs", &["parse"])];
        let other = [file("src/display.rs", &["fmt"])];
        // Test 1 fails whenever parse.rs changes, test 2 never does.
        for _ in 0..3 {
            past.observe(&parse, [(1, true), (2, false)].into_iter());
            past.observe(&other, [(1, false), (2, false)].into_iter());
        }
        let context = ChangeContext::new(&parse);
        let mut out = vec![0.0; CHANGE_FEATURES.len()];
        context.features(&past, &TestName::new(1, "tests::test_parse", None, None), &mut out);
        let (rate, n) = (value(&out, "cofail_file"), value(&out, "cofail_file_n"));
        assert!(rate > 0.7 && rate < 1.0, "three of three, smoothed: {rate}");
        assert_eq!(n, 3f64.ln_1p());
        assert!(value(&out, "cofail_symbol") > 0.7);
        assert_eq!(value(&out, "token_overlap"), 1.0, "`parse` is the one token of the name");
        context.features(&past, &TestName::new(2, "tests::test_display", None, None), &mut out);
        assert!(value(&out, "cofail_file") < 0.2, "{}", value(&out, "cofail_file"));
        assert_eq!(value(&out, "token_overlap"), 0.0);
    }

    #[test]
    fn rust_tests_are_tied_to_their_module_file_by_cargo_target_paths() {
        let files = |suite, id| rust_test_files(suite, id);
        let v = |list: &[&str]| Some(list.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(files("semver", "semver::tests::parse"), v(&["src/lib.rs"]));
        assert_eq!(files("semver", "semver::parse::tests::x"), v(&["src/parse.rs", "src/parse/mod.rs"]));
        assert_eq!(files("semver", "semver::a::b::x"), v(&["src/a/b.rs", "src/a/b/mod.rs"]));
        assert_eq!(files("strsim::lib", "strsim::lib::jaro"), v(&["tests/lib.rs", "tests/lib/main.rs"]));
        assert_eq!(
            files("my-tool::bin/my-tool", "my-tool::bin/my-tool::tests::cli"),
            v(&["src/main.rs", "src/bin/my-tool.rs", "src/bin/my-tool/main.rs"])
        );
        assert_eq!(files("c::example/demo", "c::example/demo::x"), v(&["examples/demo.rs", "examples/demo/main.rs"]));
        // Not a nextest binary id, or not a Rust path: the other rules apply.
        assert_eq!(files("tests.test_version", "tests.test_version::test_parse"), None);
        assert_eq!(files("semver", "semver::test[case-1]"), None);
        assert_eq!(files("github.com/x/y", "github.com/x/y::TestA"), None);
        assert_eq!(files("a", "b::x"), None);
    }

    #[test]
    fn own_file_reads_the_module_file_for_rust_and_never_a_namesake() {
        let own = |changed: &str, suite: &str, id: &str| {
            let changed = [file(changed, &[])];
            let context = ChangeContext::new(&changed);
            let mut out = vec![0.0; CHANGE_FEATURES.len()];
            context.features(&CoFailure::default(), &TestName::new(0, id, Some(suite), None), &mut out);
            value(&out, "own_file_changed") == 1.0
        };
        // The issue's two cases: unit tests in src/lib.rs's `mod tests` are src/lib.rs's; tests
        // in tests/lib.rs are not.
        assert!(own("src/lib.rs", "strsim", "strsim::tests::levenshtein_empty"));
        assert!(!own("src/lib.rs", "strsim::lib", "strsim::lib::levenshtein_empty"));
        assert!(own("tests/lib.rs", "strsim::lib", "strsim::lib::levenshtein_empty"));
        // In a workspace the crate's directory comes first; a namesake elsewhere is not it.
        assert!(own("crates/core/src/parse/mod.rs", "core", "core::parse::tests::x"));
        assert!(!own("src/reparse.rs", "core", "core::parse::tests::x"));
        assert!(!own("src/parse.rs", "core", "core::display::tests::parse"));
        // Without a binary id, a file named like a part of the id still counts.
        assert!(own("src/parse.rs", "pkg.mod", "pkg.mod::parse"));
    }

    #[test]
    fn a_run_never_sees_its_own_outcome() {
        // The first run with a change has no past: co-failure is the prior, whatever happens.
        let replay = Replay {
            runs: vec![crate::store::ReplayRun {
                changed: Some(vec![file("src/a.rs", &[])]),
                results: vec![crate::store::ReplayResult {
                    test: 0,
                    outcome: crate::collect::Outcome::Fail,
                    duration_s: None,
                    attempts: 1,
                }],
                ..Default::default()
            }],
            tests: vec!["a::works".into()],
            test_files: vec![Some("src/a.rs".into())],
            test_suite_lens: vec![None],
        };
        let rows = [std::ops::Range { start: 0, end: 1 }];
        let out = change_features(&replay, &rows, &[0]);
        assert_eq!(value(&out, "cofail_file"), 0.5, "base rate of a test never seen: 0.5/1");
        assert_eq!(value(&out, "cofail_file_n"), 0.0);
        assert_eq!(value(&out, "own_file_changed"), 1.0);
        assert_eq!(value(&out, "has_change"), 1.0);
    }
}
