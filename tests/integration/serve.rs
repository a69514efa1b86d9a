//! `seer serve` on 127.0.0.1 with a temporary data directory, and the `seer` command line as its
//! client: the round trip against the same history recorded locally, the auth matrix, bad
//! uploads, kill -9 during uploads, and `select` failing open.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use seer_ci_api::exit_codes;

use crate::util::{
    Env, SEER, big_junit, commit_edit, commit_replace, git, ids, record_file_driven_history, trust_small_models,
};

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    addr: String,
}

impl Server {
    pub fn start(data: &Path, listen: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(SEER)
            .args(["serve", "--data", data.to_str().unwrap(), "--listen", listen])
            .args(extra)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start seer serve");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let first = lines.next().expect("the server says where it listens").unwrap();
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_string();
        // Keep reading its stderr, so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, url: format!("http://{addr}"), addr }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Where a server's projects are stored: files of the data directory, or the schemas of a
/// Postgres database (the same tests run on both).
pub enum Backend {
    Sqlite,
    Postgres(seer_ci_core::backend::postgres::testing::ScratchDatabase),
}

impl Backend {
    /// A scratch database on the test server, or `None` (said on stderr) without one.
    pub fn postgres(test: &str) -> Option<Backend> {
        seer_ci_core::backend::postgres::testing::scratch_database(test).map(Backend::Postgres)
    }
}

/// Defines `NAME::sqlite` and `NAME::postgres` tests running `fn NAME(Backend)` on each.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(super::Backend::Sqlite)
            }
            #[test]
            fn postgres() {
                if let Some(backend) = super::Backend::postgres(concat!("serve::", stringify!($name), "::postgres")) {
                    super::$name(backend)
                }
            }
        }
    )*};
}

on_both_backends!(
    recording_and_selecting_through_the_server_equal_doing_it_locally,
    every_endpoint_checks_the_token_and_its_scope,
    oversized_truncated_and_malformed_uploads_are_refused_and_store_nothing,
    a_server_killed_during_uploads_loses_nothing_and_the_clients_retries_land,
    sigterm_lets_the_uploads_in_flight_finish_then_the_server_exits,
    projects_keep_their_own_history_and_tokens,
    the_server_trains_a_project_on_its_schedule_once_it_has_new_runs,
);

/// A data directory with project `demo` and a token of each scope set (and one revoked).
pub struct Project {
    pub data: PathBuf,
    /// The store of `demo`: a file, or a URL.
    pub db: PathBuf,
    pub ci: String,
    pub read: String,
    pub admin: String,
    pub all: String,
    pub revoked: String,
    pub backend: Backend,
}

impl Project {
    /// The store of project `key`.
    pub fn store(&self, key: &str) -> PathBuf {
        match &self.backend {
            Backend::Sqlite => self.data.join(key).join("seer.db"),
            Backend::Postgres(db) => PathBuf::from(db.project(key)),
        }
    }

    /// A server of these projects.
    pub fn serve(&self, listen: &str, extra: &[&str]) -> Server {
        let mut args: Vec<&str> = extra.to_vec();
        if let Backend::Postgres(db) = &self.backend {
            args.extend(["--db", db.url.as_str()]);
        }
        Server::start(&self.data, listen, &args)
    }

    /// Whether a run is being written to `demo`'s store now.
    pub fn writing(&self) -> bool {
        match &self.backend {
            Backend::Sqlite => {
                std::fs::metadata(self.db.with_file_name("seer.db-wal")).map_or(0, |m| m.len()) >= 512 << 10
            }
            Backend::Postgres(db) => db.copying_results(),
        }
    }
}

pub fn token(db: &Path, name: &str, scopes: &str) -> String {
    let out = Command::new(SEER)
        .args(["--db", db.to_str().unwrap(), "token", "create", "--name", name, "--scope", scopes, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["secret"].as_str().unwrap().to_string()
}

pub fn project(dir: &Path) -> Project {
    project_on(dir, Backend::Sqlite)
}

pub fn project_on(dir: &Path, backend: Backend) -> Project {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let db = match &backend {
        Backend::Sqlite => data.join("demo").join("seer.db"),
        Backend::Postgres(pg) => PathBuf::from(pg.project("demo")),
    };
    let revoked = token(&db, "old", "ci,read,admin");
    let out = Command::new(SEER).args(["--db", db.to_str().unwrap(), "token", "revoke", "old"]).output().unwrap();
    assert!(out.status.success());
    Project {
        ci: token(&db, "ci", "ci"),
        read: token(&db, "read", "read"),
        admin: token(&db, "admin", "admin"),
        all: token(&db, "all", "ci,read,admin"),
        revoked,
        data,
        db,
        backend,
    }
}

/// An environment whose `seer` talks to `server` with `token`.
pub fn client(server: &Server, token: &str) -> Env {
    let mut env = Env::new();
    env.vars = vec![
        ("SEER_URL".into(), server.url.clone()),
        ("SEER_TOKEN".into(), token.into()),
        ("SEER_PROJECT".into(), "demo".into()),
    ];
    env
}

/// The store's runs as `seer runs --json` lists them (id and counts).
pub fn runs_of(db: &Path) -> Vec<serde_json::Value> {
    let out =
        Command::new(SEER).args(["--db", db.to_str().unwrap(), "runs", "--json", "--limit", "1000"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["runs"].as_array().unwrap().clone()
}

fn recording_and_selecting_through_the_server_equal_doing_it_locally(backend: Backend) {
    // The same history, once in a local store and once through a server.
    let local = Env::new();
    let repo = record_file_driven_history(&local, 30);
    let dir = tempfile::tempdir().unwrap();
    let p = project_on(dir.path(), backend);
    let server = p.serve("127.0.0.1:0", &[]);
    let mut remote = client(&server, &p.all);
    for (k, run) in runs_of(&local.db).iter().rev().enumerate() {
        let id = run["run_id"].as_str().unwrap();
        let shown = local.json(&["show", "run", id]);
        // The run's own report again, recorded through the server from the same checkout.
        let report = local.path().join(format!("r{k}.xml"));
        let time = (1_700_000_000 + k * 60).to_string();
        let commit = shown["commit"].as_str().unwrap();
        let repo = repo.to_str().unwrap();
        let args =
            ["record", "--repo", repo, "--commit", commit, "--run-id", id, "--time", &time, report.to_str().unwrap()];
        // Then again: idempotent by run id.
        for status in ["inserted", "unchanged"] {
            assert_eq!(remote.json(&args)["status"], status);
        }
    }
    assert_eq!(runs_of(&p.db), runs_of(&local.db), "the server stored the history the local store holds");
    for k in [0, 7, 29] {
        let id = format!("ci-{k}");
        let on_server =
            Command::new(SEER).args(["--db", p.db.to_str().unwrap(), "show", "run", &id, "--json"]).output().unwrap();
        let mut a: serde_json::Value = serde_json::from_slice(&on_server.stdout).unwrap();
        let mut b = local.json(&["show", "run", &id]);
        a.as_object_mut().unwrap().remove("recorded_at");
        b.as_object_mut().unwrap().remove("recorded_at");
        assert_eq!(a, b, "run {id} is stored the same way");
    }
    // Train both, then select for the same new commit both ways.
    local.ok(&["train"]);
    remote.ok(&["train"]);
    trust_small_models(&repo);
    let sha = commit_edit(&repo, "src/a.rs", "// a change\n");
    let repo_s = repo.to_str().unwrap();
    let here = local.json(&["select", "--repo", repo_s, "--commit", &sha, "--dry-run"]);
    let there = remote.json(&["select", "--repo", repo_s, "--commit", &sha, "--dry-run"]);
    assert_eq!(here["mode"], "subset", "{here}");
    assert_eq!(ids(&here), ids(&there), "the server selects what the local store selects");
    assert!(ids(&there).contains(&"suite::a_works".to_string()));
    assert_eq!(here["skipped"], there["skipped"]);
    // The round trip: the selection is kept, and the next run recorded is measured against it.
    let kept = remote.json(&["select", "--repo", repo_s, "--commit", &sha]);
    assert_eq!(kept["mode"], "subset");
    let report = remote.write("next.xml", crate::util::suite_junit(&[("a_works", true), ("b_works", false)]));
    remote.ok(&["record", "--repo", repo_s, "--commit", &sha, "--run-id", "next", &report]);
    let stats = remote.json(&["stats"]);
    assert_eq!(stats["runs"], 31);
    assert_eq!(stats["selection"]["runs_measured"], 1, "{}", stats["selection"]);
    assert_eq!(stats["selection"]["misses"], 0);
    // Region coverage, recorded both ways: the change's columns travel to the server, which lets
    // go the test that ran the line but not them, as the local store does.
    let line = crate::coverage::add_pick(&repo);
    let lcov = local.write("cov.lcov", crate::coverage::lcov(&repo));
    let exports: Vec<String> = [("other_0", false), ("other_1", true)]
        .iter()
        .map(|&(t, ran)| local.write(&format!("{t}.json"), crate::coverage::pick_export(&repo, line, t, ran)))
        .collect();
    for env in [&local, &remote] {
        env.ok(&["coverage", "record", "--commit", "HEAD", "--root", repo_s, &lcov]);
        env.ok(&["coverage", "record", "--commit", "HEAD", "--root", repo_s, &exports[0], &exports[1]]);
    }
    let sha = commit_replace(&repo, "src/c.rs", "{ a && b }", "{ a && (!b) }");
    let here = local.json(&["select", "--repo", repo_s, "--commit", &sha, "--dry-run"]);
    let there = remote.json(&["select", "--repo", repo_s, "--commit", &sha, "--dry-run"]);
    assert!(ids(&here).contains(&"suite::other_1".to_string()), "{here}");
    assert!(!ids(&here).contains(&"suite::other_0".to_string()), "{here}");
    assert_eq!(ids(&here), ids(&there), "{there}");
    remote.vars.retain(|(k, _)| k != "SEER_TOKEN");
    remote.fails(&["stats"], exit_codes::USAGE);
    drop(server);
    let _ = git(&repo, &["status"]);
}

/// Every endpoint, with a body that would be accepted, and the scope it needs.
fn endpoints() -> Vec<(&'static str, String, Option<serde_json::Value>, &'static str)> {
    use serde_json::json;
    let run = json!({"format_version": 1, "run": {"run_id": "auth-run", "commit": "c1", "time": 1_700_000_000,
        "tests": [{"id": "t::a", "outcome": "pass"}]}});
    let select = json!({"format_version": 1, "commit": "c1"});
    let p = |rest: &str| format!("/v1/projects/demo/{rest}");
    vec![
        ("POST", p("runs"), Some(run), "ci"),
        ("POST", p("select"), Some(select.clone()), "ci"),
        (
            "POST",
            p("coverage"),
            Some(
                json!({"format_version": 1, "commit": "c1", "files": [{"name": "a.info", "text": "TN:t::a\nSF:/x/a.rs\nDA:1,1\nend_of_record\n"}], "strip_prefix": "/x"}),
            ),
            "ci",
        ),
        (
            "POST",
            p("profiles"),
            Some(
                json!({"format_version": 1, "bench": "b", "commit": "c1", "runs": [{"name": "r1", "text": "main;f 10\n"}]}),
            ),
            "ci",
        ),
        ("POST", p("predict"), Some(select), "read"),
        ("GET", p("runs"), None, "read"),
        ("GET", p("history?test=t::a"), None, "read"),
        ("GET", p("stats"), None, "read"),
        ("GET", p("flaky"), None, "read"),
        ("GET", p("report?days=3"), None, "read"),
        ("POST", p("train"), Some(json!({"format_version": 1})), "admin"),
        ("POST", p("quarantine"), Some(json!({"test": "t::a"})), "admin"),
        ("DELETE", p("quarantine"), Some(json!({"test": "t::a"})), "admin"),
        ("GET", p("tokens"), None, "admin"),
        ("POST", p("tokens"), Some(json!({"name": "new", "scopes": ["read"]})), "admin"),
        ("DELETE", p("tokens/no-such-token"), None, "admin"),
    ]
}

pub fn send(url: &str, method: &str, path: &str, token: Option<&str>, body: Option<&[u8]>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let full = format!("{url}{path}");
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut response = match (method, body) {
        ("GET", _) => {
            let mut r = agent.get(&full);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call()
        }
        (m, b) => {
            let mut r = match m {
                "POST" => agent.post(&full),
                _ => agent.delete(&full).force_send_body(),
            };
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.header("Content-Type", "application/json").send(b.unwrap_or(b""))
        }
    }
    .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().unwrap_or_default())
}

fn every_endpoint_checks_the_token_and_its_scope(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let p = project_on(dir.path(), backend);
    let server = p.serve("127.0.0.1:0", &[]);
    // A run first, so that the read endpoints have something to read.
    let (status, body) = send(&server.url, "POST", "/v1/projects/demo/runs", Some(&p.ci), Some(br#"{"format_version":1,"run":{"run_id":"first","commit":"c0","time":1700000000,"tests":[{"id":"t::a","outcome":"fail"}]}}"#));
    assert_eq!(status, 200, "{body}");
    let tokens: [(&str, Option<&str>); 7] = [
        ("none", None),
        ("bogus", Some("seer_0000")),
        ("revoked", Some(&p.revoked)),
        ("ci", Some(&p.ci)),
        ("read", Some(&p.read)),
        ("admin", Some(&p.admin)),
        ("all", Some(&p.all)),
    ];
    for (method, path, body, scope) in endpoints() {
        let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
        for (name, token) in &tokens {
            let (status, text) = send(&server.url, method, &path, *token, bytes.as_deref());
            let expected = match *name {
                "none" | "bogus" | "revoked" => Some(401),
                "all" => None,
                n if n == scope => None,
                _ => Some(403),
            };
            match expected {
                Some(code) => {
                    assert_eq!(status, code, "{method} {path} with the {name} token: {text}");
                    let doc: serde_json::Value = serde_json::from_str(&text).expect("an error document");
                    assert!(doc["error"].as_str().is_some_and(|e| !e.is_empty()));
                    if let Some(secret) = token {
                        assert!(!text.contains(secret), "the answer never echoes the secret");
                    }
                }
                None => assert!(
                    status != 401 && status != 403 && status < 500,
                    "{method} {path} with the {name} token answered {status}: {text}"
                ),
            }
        }
    }
    // The unauthenticated probes.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let (status, text) = send(&server.url, "GET", path, None, None);
        assert_eq!(status, 200, "{path}: {text}");
    }
    let (_, metrics) = send(&server.url, "GET", "/metrics", None, None);
    assert!(metrics.contains("seer_requests_total{route=\"/v1/projects/{project}/runs\",status=\"401\"}"), "{metrics}");
    assert!(metrics.contains("seer_runs_stored_total{project=\"demo\",status=\"inserted\"}"), "{metrics}");
    assert!(!metrics.contains(&p.all) && !metrics.contains(&p.ci));
    // An unknown project is 404 whatever the token.
    let (status, _) = send(&server.url, "GET", "/v1/projects/nope/stats", Some(&p.all), None);
    assert_eq!(status, 404);
    let (status, _) = send(&server.url, "GET", "/v1/projects/..%2Fdemo/stats", Some(&p.all), None);
    assert_eq!(status, 404, "a project key cannot leave the data directory");
}

fn oversized_truncated_and_malformed_uploads_are_refused_and_store_nothing(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let p = project_on(dir.path(), backend);
    let server = p.serve("127.0.0.1:0", &["--max-body-mib", "1"]);
    let post = |body: &[u8]| send(&server.url, "POST", "/v1/projects/demo/runs", Some(&p.ci), Some(body));
    let good = br#"{"format_version":1,"run":{"run_id":"r1","commit":"c1","time":1700000000,"tests":[{"id":"t::a","outcome":"pass"}]}}"#;
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (good[..good.len() - 9].to_vec(), 400, "request body:1:"),
        (b"not json".to_vec(), 400, "request body:1:"),
        (br#"{"format_version":1,"run":{"run_id":"r1"}}"#.to_vec(), 400, "missing field"),
        (br#"{"format_version":9,"run":{"run_id":"r1","commit":"c1","tests":[]}}"#.to_vec(), 400, "format_version 9"),
        (br#"{"format_version":1,"run":{"run_id":"r1","commit":"c1","tests":[{"id":"t::a","outcome":"maybe"}]}}"#.to_vec(), 422, "outcome \"maybe\""),
        (br#"{"format_version":1,"run":{"run_id":"","commit":"c1","tests":[]}}"#.to_vec(), 422, "must not be empty"),
        (format!(r#"{{"format_version":1,"run":{{"run_id":"big","commit":"c1","tests":[{{"id":"{}","outcome":"pass"}}]}}}}"#, "x".repeat(2 << 20)).into_bytes(), 413, "larger than the server accepts"),
    ];
    for (body, status, says) in cases {
        let (got, text) = post(&body);
        assert_eq!(got, status, "{text}");
        let doc: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not an error document: {text}"));
        assert!(doc["error"].as_str().unwrap().contains(says), "{says:?} not in {text}");
    }
    assert!(runs_of(&p.db).is_empty(), "nothing of a refused upload is stored");
    let (got, text) = post(good);
    assert_eq!(got, 200, "{text}");
    // Other content under the same run id is a conflict, with the exit code the CLI gives it.
    let other = br#"{"format_version":1,"run":{"run_id":"r1","commit":"c1","time":1700000000,"tests":[{"id":"t::a","outcome":"fail"}]}}"#;
    let (got, text) = post(other);
    assert_eq!(got, 409, "{text}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap()["exit_code"], exit_codes::RUN_CONFLICT);
    assert_eq!(runs_of(&p.db)[0]["counts"]["pass"], 1, "the stored run is as it was");
}

fn a_server_killed_during_uploads_loses_nothing_and_the_clients_retries_land(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let p = project_on(dir.path(), backend);
    let mut server = p.serve("127.0.0.1:0", &[]);
    let addr = server.addr.clone();
    let env = client(&server, &p.ci);
    let report = env.write("big.xml", big_junit(50_000, 40));
    let record = |k: usize| {
        env.run(&["record", "--no-git", "--commit", &format!("c{k}"), "--run-id", &format!("r{k}"), &report])
    };
    let outputs = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..6).map(|k| scope.spawn(move || record(k))).collect();
        // Kill the server while a run is being written (its write-ahead log growing), then
        // start it again on its port.
        let deadline = Instant::now() + Duration::from_secs(120);
        while !p.writing() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        server.kill();
        std::thread::sleep(Duration::from_millis(300));
        let restarted = p.serve(&addr, &[]);
        let outputs: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
        drop(restarted);
        outputs
    });
    for (k, out) in outputs.iter().enumerate() {
        assert!(out.status.success(), "client {k}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let retried = outputs.iter().filter(|o| String::from_utf8_lossy(&o.stderr).contains("retrying")).count();
    assert!(retried > 0, "the kill came after every upload: the test did not test a kill");
    let runs = runs_of(&p.db);
    assert_eq!(runs.len(), 6, "every run landed once");
    for run in &runs {
        assert_eq!(run["counts"]["tests"], 50_000, "each run whole: {run}");
    }
    if let Backend::Sqlite = p.backend {
        let conn = rusqlite::Connection::open(&p.db).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
    }
}

#[test]
fn select_fails_open_when_the_server_is_down_slow_or_refuses_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let p = project(dir.path());
    let mut env = Env::new();
    let repo = env.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    std::fs::write(repo.join("a.rs"), "fn a() {}\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "one"]);
    let repo_s = repo.to_str().unwrap().to_string();
    // Down: nothing listens on the port.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    // Slow: a listener that accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let slow = silent.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming() {
            held.push(stream);
        }
    });
    let server = Server::start(&p.data, "127.0.0.1:0", &[]);
    for (url, token, says) in [
        (format!("http://{free}"), p.ci.as_str(), "cannot reach the seer server"),
        (format!("http://{slow}"), p.ci.as_str(), "cannot reach the seer server"),
        (server.url.clone(), "seer_wrong", "401"),
        (server.url.clone(), p.read.as_str(), "403"),
    ] {
        env.vars = vec![
            ("SEER_URL".into(), url.clone()),
            ("SEER_TOKEN".into(), token.into()),
            ("SEER_PROJECT".into(), "demo".into()),
            ("SEER_SELECT_TIMEOUT".into(), "2s".into()),
        ];
        let started = Instant::now();
        let out = env.run(&["select", "--repo", &repo_s, "--format", "nextest"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(started.elapsed() < Duration::from_secs(20), "{url}: select waited {:?}", started.elapsed());
        assert_eq!(out.status.code(), Some(0), "{url}: {stderr}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("all()"), "nextest's filter of every test");
        assert!(stderr.contains("running every test") && stderr.contains(says), "{url}: {stderr}");
        // A list cannot say "everything": the documented exit code does.
        env.fails(&["select", "--repo", &repo_s], exit_codes::RUN_ALL);
    }
}

fn sigterm_lets_the_uploads_in_flight_finish_then_the_server_exits(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let p = project_on(dir.path(), backend);
    let mut server = p.serve("127.0.0.1:0", &[]);
    let env = client(&server, &p.ci);
    let report = env.write("big.xml", big_junit(50_000, 40));
    let out = std::thread::scope(|scope| {
        let upload = scope.spawn(|| env.run(&["record", "--no-git", "--commit", "c1", "--run-id", "r1", &report]));
        // SIGTERM while the run is being written.
        let deadline = Instant::now() + Duration::from_secs(120);
        while !p.writing() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let pid = server.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let exited = server.child.wait().unwrap();
        assert!(exited.success(), "the server exits cleanly after draining: {exited}");
        upload.join().unwrap()
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("retrying"), "the upload in flight was answered, not cut: {stderr}");
    let runs = runs_of(&p.db);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["counts"]["tests"], 50_000);
}

fn projects_keep_their_own_history_and_tokens(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let p = project_on(dir.path(), backend);
    let other_db = p.store("other");
    let other = token(&other_db, "ci", "ci,read");
    let server = p.serve("127.0.0.1:0", &[]);
    let run = br#"{"format_version":1,"run":{"run_id":"r1","commit":"c1","time":1700000000,"tests":[{"id":"t::a","outcome":"pass"}]}}"#;
    // A token of one project is unknown to another.
    let (status, _) = send(&server.url, "POST", "/v1/projects/other/runs", Some(&p.all), Some(run));
    assert_eq!(status, 401);
    let (status, text) = send(&server.url, "POST", "/v1/projects/demo/runs", Some(&p.all), Some(run));
    assert_eq!(status, 200, "{text}");
    let (status, text) = send(&server.url, "GET", "/v1/projects/other/runs", Some(&other), None);
    assert_eq!(status, 200, "{text}");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["runs"].as_array().unwrap().len(), 0, "the other project's history is its own");
    // The same run id in the other project is another run.
    let (status, text) = send(&server.url, "POST", "/v1/projects/other/runs", Some(&other), Some(run));
    assert_eq!(
        (status, serde_json::from_str::<serde_json::Value>(&text).unwrap()["status"].clone()),
        (200, "inserted".into())
    );
    assert_eq!(runs_of(&p.db).len(), 1);
    assert_eq!(runs_of(&other_db).len(), 1);
    let (_, health) = send(&server.url, "GET", "/healthz", None, None);
    assert!(health.contains("\"demo\"") && health.contains("\"other\""), "{health}");
    // Revoked while the server runs: refused from the next request on.
    let out = Command::new(SEER).args(["--db", other_db.to_str().unwrap(), "token", "revoke", "ci"]).output().unwrap();
    assert!(out.status.success());
    let (status, _) = send(&server.url, "GET", "/v1/projects/other/runs", Some(&other), None);
    assert_eq!(status, 401, "a revoked token is refused at once");
}

fn the_server_trains_a_project_on_its_schedule_once_it_has_new_runs(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let p = project_on(dir.path(), backend);
    // A history recorded straight into the project's store.
    let mut local = Env::new();
    local.db = p.db.clone();
    record_file_driven_history(&local, 30);
    let models = p.data.join("demo").join("models");
    assert!(!models.exists());
    let _server = p.serve("127.0.0.1:0", &["--train-every", "1s"]);
    let deadline = Instant::now() + Duration::from_secs(120);
    let count = || std::fs::read_dir(&models).map_or(0, |d| d.count());
    while count() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(count(), 1, "the schedule trained the project");
    if let Backend::Postgres(_) = p.backend {
        let store = seer_ci_core::backend::open_existing(&p.db).unwrap();
        assert_eq!(store.model_names().unwrap().len(), 1, "the database holds the model for every replica");
    }
    // Nothing new: the next ticks train nothing.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(count(), 1, "no new runs, no new model");
}
