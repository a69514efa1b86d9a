//! Helpers shared by the integration tests: a scratch directory with its own store, and the
//! `seer` binary run inside it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

pub const SEER: &str = env!("CARGO_BIN_EXE_seer");

/// The variables by which seer recognises a CI system (src/ci.rs).
pub const CI_MARKERS: &[&str] = &["GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI", "JENKINS_URL", "TF_BUILD"];

/// A scratch directory and a store in it.
pub struct Env {
    pub dir: TempDir,
    pub db: PathBuf,
    /// More environment variables for every `seer` run (e.g. `SEER_URL` for a server).
    pub vars: Vec<(String, String)>,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("store").join("seer.db");
        Env { dir, db, vars: vec![] }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `seer` run in the scratch directory against this store.
    pub fn seer(&self) -> Command {
        let mut cmd = Command::new(SEER);
        cmd.current_dir(self.dir.path()).env("SEER_DB", &self.db).env_remove("RUST_BACKTRACE");
        // Outside any CI system, whatever runs the tests (src/ci.rs reads these).
        for marker in CI_MARKERS {
            cmd.env_remove(marker);
        }
        for var in ["SEER_URL", "SEER_TOKEN", "SEER_PROJECT"] {
            cmd.env_remove(var);
        }
        cmd.envs(self.vars.iter().map(|(k, v)| (k, v)));
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.seer().args(args).output().expect("run seer")
    }

    /// Runs seer, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "seer {args:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs seer with `--json` appended and parses its output.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.ok(&args)).expect("valid JSON")
    }

    /// Runs seer expecting failure with `code`; returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "seer {args:?}: unexpected exit; stderr:\n{stderr}");
        stderr
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write file");
        path.to_string_lossy().into_owned()
    }

    /// A direct connection to the store, for checks the CLI does not expose.
    pub fn conn(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.db).expect("open store")
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.conn().query_row(sql, [], |r| r.get(0)).expect("count query")
    }
}

pub fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name).to_string_lossy().into_owned()
}

pub fn report(name: &str) -> String {
    fixture(&format!("reports/{name}"))
}

/// A JUnit report of `n` test cases, every `fail_every`-th failing, shaped like Surefire's.
pub fn big_junit(n: usize, fail_every: usize) -> String {
    let mut xml = String::with_capacity(n * 110);
    xml.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for suite in 0..n.div_ceil(1000) {
        xml.push_str(&format!("<testsuite name=\"pkg{suite}.SuiteTest\">\n"));
        for i in suite * 1000..((suite + 1) * 1000).min(n) {
            xml.push_str(&format!(
                "  <testcase classname=\"pkg{suite}.SuiteTest\" name=\"test_{i}\" time=\"0.{:03}\"",
                i % 1000
            ));
            if fail_every > 0 && i % fail_every == 0 {
                xml.push_str("><failure message=\"expected true\"/></testcase>\n");
            } else {
                xml.push_str("/>\n");
            }
        }
        xml.push_str("</testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// Outcome and attempts of each test in a `show run --json` document.
pub fn outcomes(doc: &serde_json::Value) -> Vec<(String, String, u64)> {
    let mut v: Vec<_> = doc["tests"]
        .as_array()
        .expect("tests array")
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["outcome"].as_str().unwrap().to_string(),
                t["attempts"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Runs git in `dir`, asserting success; returns trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_dated(dir, args, None)
}

/// Runs git with a fixed author and, when given, a fixed date (so that commit ids are the same
/// on every run), asserting success; returns trimmed stdout.
pub fn git_dated(dir: &Path, args: &[&str], date: Option<&str>) -> String {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    if let Some(date) = date {
        cmd.env("GIT_AUTHOR_DATE", date).env("GIT_COMMITTER_DATE", date);
    }
    let out = cmd.output().expect("run git");
    assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Lets models trained on the small histories of these tests skip tests: the trust gate's minimum
/// of failing tests in a validation is set to 0 in the repository's configuration (untracked and
/// ignored by git, so that it is never part of a change). The gate itself is tested apart.
pub fn trust_small_models(repo: &Path) {
    std::fs::create_dir_all(repo.join(".config")).unwrap();
    std::fs::write(repo.join(".config/seer.toml"), "[select]\nmin_validation_failing = 0\n").unwrap();
    if repo.join(".git").is_dir() {
        std::fs::create_dir_all(repo.join(".git/info")).unwrap();
        std::fs::write(repo.join(".git/info/exclude"), ".config/seer.toml\n").unwrap();
    }
}

/// A repository where the test `suite::a_works` fails exactly when `src/a.rs` changes, and
/// `suite::b_works` when `src/b.rs` changes; commits touch one of a, b, c in a fixed pattern.
pub fn record_file_driven_history(env: &Env, commits: usize) -> PathBuf {
    let repo = env.path().join("repo");
    let repo = repo.as_path();
    std::fs::create_dir_all(repo.join("src")).unwrap();
    git(repo, &["init", "-q", "-b", "main"]);
    for f in ["a", "b", "c"] {
        std::fs::write(repo.join(format!("src/{f}.rs")), format!("fn {f}() {{}}\n")).unwrap();
    }
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "root"]);
    trust_small_models(repo);
    // A fixed, irregular pattern, so that "it failed last time" does not predict the next run.
    let pattern = b"acbccabcacbbcacabccbacbcaacbcbacccabcb";
    for i in 0..commits {
        let f = pattern[i % pattern.len()] as char;
        let path = repo.join(format!("src/{f}.rs"));
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&format!("// edit {i}\n"));
        std::fs::write(&path, text).unwrap();
        git(repo, &["commit", "-q", "-am", &format!("edit {f} {i}")]);
        let sha = git(repo, &["rev-parse", "HEAD"]);
        let case = |name: &str, fails: bool| {
            let failure = if fails { "<failure message=\"assertion failed\"/>" } else { "" };
            format!("<testcase classname=\"suite\" name=\"{name}\" time=\"1.0\">{failure}</testcase>")
        };
        let mut cases: Vec<String> = vec![case("a_works", f == 'a'), case("b_works", f == 'b')];
        cases.extend((0..6).map(|k| case(&format!("other_{k}"), false)));
        let xml = format!("<testsuites><testsuite name=\"suite\">{}</testsuite></testsuites>", cases.concat());
        let report = env.write(&format!("r{i}.xml"), xml);
        let time = (1_700_000_000 + i * 60).to_string();
        let repo = repo.to_str().unwrap();
        env.ok(&["record", "--repo", repo, "--commit", &sha, "--run-id", &format!("ci-{i}"), "--time", &time, &report]);
    }
    repo.to_path_buf()
}

/// The ids of a `seer select --json` document's selected tests, in its order.
pub fn ids(doc: &serde_json::Value) -> Vec<String> {
    doc["selected"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect()
}

/// Commits an edit of `file` (relative to the repo) and returns the new commit's sha.
pub fn commit_edit(repo: &Path, file: &str, text: &str) -> String {
    let path = repo.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut old = std::fs::read_to_string(&path).unwrap_or_default();
    old.push_str(text);
    std::fs::write(&path, old).unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", &format!("edit {file}")]);
    git(repo, &["rev-parse", "HEAD"])
}

/// Commits `file` (relative to the repo) with its first `from` replaced by `to`, and returns the
/// new commit's sha.
pub fn commit_replace(repo: &Path, file: &str, from: &str, to: &str) -> String {
    let path = repo.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} holds no {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    git(repo, &["commit", "-q", "-am", &format!("edit {file}")]);
    git(repo, &["rev-parse", "HEAD"])
}

/// A JUnit report of the file-driven history's shape: suite `suite`, one case per (name, fails).
pub fn suite_junit(cases: &[(&str, bool)]) -> String {
    let cases: Vec<String> = cases
        .iter()
        .map(|(name, fails)| {
            let failure = if *fails { "<failure message=\"assertion failed\"/>" } else { "" };
            format!("<testcase classname=\"suite\" name=\"{name}\" time=\"1.0\">{failure}</testcase>")
        })
        .collect();
    format!("<testsuites><testsuite name=\"suite\">{}</testsuite></testsuites>", cases.concat())
}

/// The 8 tests of the file-driven history, with the failing ones named.
pub fn all_eight(failing: &[&str]) -> Vec<(String, bool)> {
    let mut names = vec!["a_works".to_string(), "b_works".to_string()];
    names.extend((0..6).map(|k| format!("other_{k}")));
    names.into_iter().map(|n| (n.clone(), failing.contains(&n.as_str()))).collect()
}

/// Records a run of `commit` in `repo` (at the time of recording) with the given (test, fails)
/// results of the file-driven history's suite.
pub fn record_cases(env: &Env, repo: &Path, commit: &str, run_id: &str, cases: &[(String, bool)]) {
    let cases: Vec<(&str, bool)> = cases.iter().map(|(n, f)| (n.as_str(), *f)).collect();
    let report = env.write(&format!("{run_id}.xml"), suite_junit(&cases));
    env.ok(&["record", "--repo", repo.to_str().unwrap(), "--commit", commit, "--run-id", run_id, &report]);
}
