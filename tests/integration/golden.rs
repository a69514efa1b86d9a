//! Golden files: every human table and JSON document seer prints, the Markdown summary, the
//! report page and a flame graph, compared byte for byte with `tests/golden/` after the parts
//! that change from run to run (the scratch directory, the current time) are normalised.
//!
//! `SEER_BLESS=1 cargo nextest run golden` rewrites the golden files from what seer prints now;
//! review the diff before committing it.

use std::path::{Path, PathBuf};

use crate::util::{Env, fixture, git_dated, report, suite_junit};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("golden")
}

/// Compares `actual` (normalised) with the golden file `name`, or writes it when blessing.
fn check(env: &Env, name: &str, actual: &str) {
    let actual = normalise(env, actual);
    let path = golden_dir().join(name);
    if std::env::var_os("SEER_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (SEER_BLESS=1 writes it)", path.display()));
    if expected != actual {
        let at = expected.lines().zip(actual.lines()).position(|(e, a)| e != a).unwrap_or(0);
        panic!(
            "{name} differs from its golden file at line {} (SEER_BLESS=1 rewrites it):\n  golden: {:?}\n  actual: {:?}",
            at + 1,
            expected.lines().nth(at).unwrap_or(""),
            actual.lines().nth(at).unwrap_or("")
        );
    }
}

/// The scratch directory becomes `[TMP]`, the checkout `[REPO]`; a time from this year on (what "now" prints: fixture
/// times are older) becomes `[NOW]`, in RFC 3339, in a model file's name and as Unix seconds.
fn normalise(env: &Env, text: &str) -> String {
    let dir = env.path().to_string_lossy().into_owned();
    let text = text.replace(&dir, "[TMP]").replace(env!("CARGO_MANIFEST_DIR"), "[REPO]");
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // A stamp starts a number: not the digits inside one (a float's fraction).
        let inside_number = i > 0 && (bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b'.');
        if let Some(n) = now_at(&bytes[i..]).filter(|_| !inside_number) {
            out.push_str("[NOW]");
            i += n;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The length of a "now" stamp at the start of `b`: `YYYY-MM-DDTHH:MM:SSZ`, `YYYY-MM-DD HH:MM`
/// or `YYYYMMDDTHHMMSSZ` with a year from 2025, or ten digits of Unix seconds from 2025 on.
fn now_at(b: &[u8]) -> Option<usize> {
    let digits = |r: std::ops::Range<usize>| b.len() >= r.end && b[r].iter().all(u8::is_ascii_digit);
    let year_now =
        |s: &[u8]| std::str::from_utf8(s).ok().and_then(|y| y.parse::<u32>().ok()).is_some_and(|y| y >= 2025);
    if digits(0..4) && year_now(&b[..4]) {
        let shape = |pattern: &[u8]| {
            b.len() >= pattern.len()
                && pattern.iter().zip(b).all(|(p, c)| if *p == b'9' { c.is_ascii_digit() } else { p == c })
        };
        for pattern in [&b"9999-99-99T99:99:99Z"[..], b"9999-99-99 99:99", b"99999999T999999Z"] {
            if shape(pattern) {
                return Some(pattern.len());
            }
        }
    }
    let before_digit = b.len() > 10 && b[10].is_ascii_digit();
    if digits(0..10) && !before_digit {
        let secs: u64 = std::str::from_utf8(&b[..10]).ok()?.parse().ok()?;
        if (1_735_689_600..4_102_444_800).contains(&secs) {
            return Some(10);
        }
    }
    None
}

/// Runs seer and returns stdout (and stderr), asserting success.
fn both(env: &Env, args: &[&str]) -> (String, String) {
    let out = env.run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "seer {args:?} failed:\n{stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// A store with a fixed history: six IOF/ROL cycles and two recorded runs, all at fixed times.
fn queries_env() -> Env {
    let env = Env::new();
    env.ok(&["import", &fixture("iofrol-cycles-1-6.csv")]);
    env
}

#[test]
fn query_tables_and_documents_match_their_golden_files() {
    let env = queries_env();
    let imported = env.ok(&["import", &fixture("iofrol-cycles-1-6.csv"), "--run-prefix", "again", "--json"]);
    check(&env, "import.json", &imported);
    let nextest = report("nextest-junit.xml");
    let args = ["record", "--no-git", "--commit", "c1", "--run-id", "n1", "--time", "2024-03-01 12:00"];
    check(&env, "record.json", &env.ok(&[&args[..], &[&nextest, "--json"]].concat()));
    check(
        &env,
        "record.txt",
        &env.ok(&[
            "record",
            "--no-git",
            "--commit",
            "c2",
            "--run-id",
            "p1",
            "--time",
            "2024-03-02 12:00",
            &report("pytest-junit.xml"),
        ]),
    );
    check(&env, "runs.txt", &env.ok(&["runs"]));
    check(&env, "runs.json", &env.ok(&["runs", "--json"]));
    check(&env, "show-run.txt", &env.ok(&["show", "run", "n1", "--all"]));
    check(&env, "show-run.json", &env.ok(&["show", "run", "n1", "--json"]));
    let test = "78082";
    check(&env, "history.txt", &env.ok(&["history", test]));
    check(&env, "history.json", &env.ok(&["history", test, "--json"]));
    check(&env, "stats.txt", &env.ok(&["stats"]));
    check(&env, "stats.json", &env.ok(&["stats", "--json"]));
    check(&env, "flaky-list.json", &env.ok(&["flaky", "list", "--json"]));
    check(&env, "flaky-quarantine.json", &env.ok(&["flaky", "quarantine", test, "--reason", "golden", "--json"]));
    check(&env, "flaky-list.txt", &env.ok(&["flaky", "list"]));
    check(&env, "flaky-release.json", &env.ok(&["flaky", "release", test, "--json"]));
    check(&env, "eval.json", &env.ok(&["eval", "--warmup", "2", "--json"]));
    check(&env, "eval.txt", &env.ok(&["eval", "--warmup", "2"]));
}

/// Runs git with fixed dates, so that commit ids are the same on every run.
fn git(dir: &Path, args: &[&str]) -> String {
    git_dated(dir, args, Some("2024-01-01T00:00:00Z"))
}

/// The file-driven history (see `util::record_file_driven_history`) with fixed commit ids.
fn select_env() -> (Env, PathBuf) {
    let env = Env::new();
    let repo = env.path().join("repo");
    std::fs::create_dir_all(repo.join("src")).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    for f in ["a", "b", "c"] {
        std::fs::write(repo.join(format!("src/{f}.rs")), format!("fn {f}() {{}}\n")).unwrap();
    }
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "root"]);
    crate::util::trust_small_models(&repo);
    let pattern = b"acbccabcacbbcacabccbacbcaacbcbacccabcb";
    let names: Vec<String> = (0..6).map(|k| format!("other_{k}")).collect();
    for i in 0..30 {
        let f = pattern[i % pattern.len()] as char;
        let path = repo.join(format!("src/{f}.rs"));
        let text = std::fs::read_to_string(&path).unwrap() + &format!("// edit {i}\n");
        std::fs::write(&path, text).unwrap();
        git(&repo, &["commit", "-q", "-am", &format!("edit {f} {i}")]);
        let sha = git(&repo, &["rev-parse", "HEAD"]);
        let mut cases = vec![("a_works", f == 'a'), ("b_works", f == 'b')];
        cases.extend(names.iter().map(|n| (n.as_str(), false)));
        let file = env.write(&format!("r{i}.xml"), suite_junit(&cases));
        let time = (1_700_000_000 + i * 60).to_string();
        let r = repo.to_str().unwrap();
        env.ok(&["record", "--repo", r, "--commit", &sha, "--run-id", &format!("ci-{i}"), "--time", &time, &file]);
    }
    (env, repo)
}

#[test]
fn selection_outputs_match_their_golden_files() {
    let (env, repo) = select_env();
    let r = repo.to_str().unwrap();
    check(&env, "train.json", &env.ok(&["train", "--json"]));
    check(&env, "model-show.txt", &env.ok(&["model", "show"]));
    std::fs::write(repo.join("src/b.rs"), "fn b() { let _ = 2; }\n").unwrap();
    git(&repo, &["commit", "-q", "-am", "change b"]);
    let sha = git(&repo, &["rev-parse", "HEAD"]);
    let select = ["select", "--commit", &sha, "--repo", r, "--dry-run", "--time", "2024-01-02"];
    let (list, explained) = both(&env, &[&select[..], &["--explain"]].concat());
    check(&env, "select-explain.txt", &explained);
    check(&env, "select-list.txt", &list);
    check(&env, "select.json", &env.ok(&[&select[..], &["--json"]].concat()));
    for runner in ["nextest", "cargo", "pytest", "gotest", "jest", "maven", "gradle"] {
        check(&env, &format!("select-{runner}.txt"), &env.ok(&[&select[..], &["--format", runner]].concat()));
    }
    check(&env, "predict.json", &env.ok(&["predict", "--commit", &sha, "--repo", r, "--json"]));
    check(&env, "predict.txt", &env.ok(&["predict", "--commit", &sha, "--repo", r]));
}

fn profile_files(kind: &str, range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|k| fixture(&format!("profiles/{kind}-{k:02}.folded.gz"))).collect()
}

/// Profiles of the workload at three commits (the third 10% slower in one function) and two
/// runs of coverage, at fixed times.
fn profile_env() -> Env {
    let env = queries_env();
    for (commit, kind, day) in
        [("c1", "base", "2024-03-01"), ("c2", "base", "2024-03-02"), ("c3", "slow", "2024-03-03")]
    {
        let files = profile_files(kind, if commit == "c2" { 6..=10 } else { 1..=5 });
        let mut args = vec!["profile", "record", "--name", "workload", "--commit", commit, "--time", day];
        args.extend(files.iter().map(String::as_str));
        env.ok(&args);
    }
    env
}

#[test]
fn profile_outputs_match_their_golden_files() {
    let env = profile_env();
    let files = profile_files("slow", 6..=7);
    let mut args = vec!["profile", "record", "--name", "other", "--commit", "c9", "--time", "2024-03-04", "--json"];
    args.extend(files.iter().map(String::as_str));
    check(&env, "profile-record.json", &env.ok(&args));
    check(&env, "profile-list.txt", &env.ok(&["profile", "list"]));
    check(&env, "profile-list.json", &env.ok(&["profile", "list", "--name", "workload", "--json"]));
    let diff = ["profile", "diff", "--name", "workload", "--base", "c2", "--head", "c3"];
    check(&env, "profile-diff.txt", &env.ok(&diff));
    check(&env, "profile-diff.json", &env.ok(&[&diff[..], &["--json"]].concat()));
    check(&env, "profile-trend.txt", &env.ok(&["profile", "trend", "--name", "workload"]));
    check(&env, "profile-trend.json", &env.ok(&["profile", "trend", "--name", "workload", "--json"]));
    let svg = env.path().join("c3.svg");
    env.ok(&["profile", "flamegraph", "--name", "workload", "--commit", "c3", "--svg", svg.to_str().unwrap()]);
    check(&env, "flamegraph.svg", &std::fs::read_to_string(&svg).unwrap());

    let lcov =
        "TN:t::a\nSF:src/a.rs\nDA:1,1\nDA:2,0\nend_of_record\nTN:t::b\nSF:src/a.rs\nDA:1,0\nDA:2,1\nend_of_record\n";
    let file = env.write("cov.lcov", lcov);
    let root = env.path().to_str().unwrap();
    check(
        &env,
        "coverage-record.json",
        &env.ok(&["coverage", "record", "--commit", "c3", "--root", root, &file, "--json"]),
    );
    check(&env, "coverage-list.txt", &env.ok(&["coverage", "list"]));
    check(&env, "coverage-list.json", &env.ok(&["coverage", "list", "--json"]));

    let (html, md) = (env.path().join("r.html"), env.path().join("r.md"));
    let window = ["report", "--from", "2024-02-25", "--to", "2024-03-05"];
    let out = [&window[..], &["--out", html.to_str().unwrap(), "--markdown", md.to_str().unwrap()]].concat();
    env.ok(&out);
    check(&env, "report.html", &std::fs::read_to_string(&html).unwrap());
    check(&env, "report.md", &std::fs::read_to_string(&md).unwrap());
    check(&env, "report.json", &env.ok(&[&window[..], &["--json"]].concat()));
}

/// A nextest-shaped history of a crate with unit tests in `src/lib.rs` and `src/parse.rs` and an
/// integration test file `tests/lib.rs`: which tests a change's own-file rule names.
#[test]
fn rust_tests_are_tied_to_their_module_files() {
    let env = Env::new();
    let repo = env.path().join("repo");
    for dir in ["src", "tests"] {
        std::fs::create_dir_all(repo.join(dir)).unwrap();
    }
    for (file, text) in [("src/lib.rs", "mod parse;\n"), ("src/parse.rs", "fn p() {}\n"), ("tests/lib.rs", "\n")] {
        std::fs::write(repo.join(file), text).unwrap();
    }
    git_dated(&repo, &["init", "-q", "-b", "main"], None);
    git_dated(&repo, &["add", "-A"], None);
    git_dated(&repo, &["commit", "-q", "-m", "root"], Some("2024-01-01T00:00:00Z"));
    let junit = "<testsuites><testsuite name=\"krate\">\
        <testcase classname=\"krate\" name=\"tests::root_works\" time=\"0.1\"/>\
        <testcase classname=\"krate\" name=\"parse::tests::parses\" time=\"0.1\"/>\
        </testsuite><testsuite name=\"krate::lib\">\
        <testcase classname=\"krate::lib\" name=\"api_works\" time=\"0.1\"/>\
        </testsuite></testsuites>";
    let report = env.write("junit.xml", junit);
    let r = repo.to_str().unwrap();
    env.ok(&["record", "--repo", r, "--commit", "HEAD", "--run-id", "green", "--time", "2024-01-01", &report]);
    for (file, name) in [("src/lib.rs", "lib"), ("src/parse.rs", "parse"), ("tests/lib.rs", "tests-lib")] {
        let text = std::fs::read_to_string(repo.join(file)).unwrap() + "// changed\n";
        std::fs::write(repo.join(file), text).unwrap();
        git_dated(&repo, &["commit", "-q", "-am", &format!("change {file}")], Some("2024-01-02T00:00:00Z"));
        check(&env, &format!("own-file-{name}.txt"), &env.ok(&["predict", "--commit", "HEAD", "--repo", r]));
    }
}
