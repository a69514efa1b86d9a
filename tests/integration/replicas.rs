//! Two `seer serve` replicas over one Postgres database: one history whichever replica a
//! client reaches, nothing lost or duplicated under concurrent uploads (the same run to both
//! at once included), a warm replica answering as a cold one after the other replica's writes,
//! a replica killed during uploads while the clients' retries land on the other, and Postgres
//! itself restarted under load and stopped (a cluster of the test's own): selections fail open,
//! uploads retry and land once it is back. These need Postgres (`SEER_TEST_POSTGRES`); without
//! it they say so and check nothing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use seer_ci_core::backend;

use crate::serve::{Backend, Project, Server, client, project_on, runs_of, send};
use crate::util::{Env, big_junit, commit_edit, ids, record_file_driven_history};

/// Project `demo` in a scratch database, and two replicas serving it, each with its own files.
fn two_replicas(test: &str, dir: &std::path::Path) -> Option<(Project, Server, Server)> {
    let backend = Backend::postgres(test)?;
    let p = project_on(dir, backend);
    let a = p.serve("127.0.0.1:0", &[]);
    let Backend::Postgres(db) = &p.backend else { unreachable!() };
    let b = Server::start(&dir.join("data-b"), "127.0.0.1:0", &["--db", &db.url]);
    Some((p, a, b))
}

fn run_json(id: &str, tests: usize, failing: usize) -> Vec<u8> {
    let tests: Vec<serde_json::Value> = (0..tests)
        .map(|k| {
            let outcome = if k == failing { "fail" } else { "pass" };
            serde_json::json!({"id": format!("suite::t{k}"), "outcome": outcome, "duration_s": 0.1})
        })
        .collect();
    serde_json::to_vec(
        &serde_json::json!({"format_version": 1, "run": {"run_id": id, "commit": format!("c-{id}"), "tests": tests}}),
    )
    .unwrap()
}

#[test]
fn two_replicas_store_each_run_once_whichever_receives_it() {
    let dir = tempfile::tempdir().unwrap();
    let Some((p, a, b)) = two_replicas("replicas::two_replicas_store_each_run_once_whichever_receives_it", dir.path())
    else {
        return;
    };
    // 8 clients; each sends 6 runs, every run to both replicas at the same moment.
    let statuses: Vec<(String, String, String)> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..8)
            .map(|c| {
                let (a, b, token) = (&a.url, &b.url, &p.ci);
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for k in 0..6 {
                        let id = format!("r{c}-{k}");
                        let body = run_json(&id, 200 + 10 * c, (c + k) % 7);
                        let (x, y) = std::thread::scope(|s| {
                            let x = s.spawn(|| send(a, "POST", "/v1/projects/demo/runs", Some(token), Some(&body)));
                            let y = s.spawn(|| send(b, "POST", "/v1/projects/demo/runs", Some(token), Some(&body)));
                            (x.join().unwrap(), y.join().unwrap())
                        });
                        assert_eq!((x.0, y.0), (200, 200), "{id}: {} / {}", x.1, y.1);
                        let status =
                            |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap()["status"].to_string();
                        out.push((id, status(&x.1), status(&y.1)));
                    }
                    out
                })
            })
            .collect();
        clients.into_iter().flat_map(|c| c.join().unwrap()).collect()
    });
    for (id, x, y) in &statuses {
        let mut both = [x.as_str(), y.as_str()];
        both.sort();
        assert_eq!(both, ["\"inserted\"", "\"unchanged\""], "{id}: one replica stored it, the other found it stored");
    }
    let runs = runs_of(&p.db);
    assert_eq!(runs.len(), 48, "every run once");
    for run in &runs {
        let c: usize = run["run_id"].as_str().unwrap()[1..].split('-').next().unwrap().parse().unwrap();
        assert_eq!(run["counts"]["tests"], 200 + 10 * c, "each run whole: {run}");
        assert_eq!(run["counts"]["fail"], 1);
    }
    // The selection state both replicas brought up to date is the one a rebuild over the same
    // runs, in the same order, makes.
    let mut store = backend::open_existing(&p.db).unwrap();
    store.refresh_state().unwrap();
    let state = store.selection_state().unwrap().expect("a state");
    assert_eq!(state.runs, 48);
    let reference_dir = tempfile::tempdir().unwrap();
    let mut reference = backend::open(&reference_dir.path().join("ref.db")).unwrap();
    let in_order: Vec<_> = store
        .run_ids()
        .unwrap()
        .iter()
        .map(|id| {
            let run = store.run(id).unwrap().unwrap();
            seer_ci_core::collect::CollectedRun { info: run.info, results: run.results, changes: run.changes }
        })
        .collect();
    reference.record_runs(&in_order, false).unwrap();
    reference.refresh_state().unwrap();
    assert_eq!(reference.selection_state().unwrap().unwrap(), state, "the state is the history's, in its order");
}

#[test]
fn a_warm_replica_answers_as_a_cold_one_after_the_other_replica_writes() {
    let dir = tempfile::tempdir().unwrap();
    let Some((p, a, b)) =
        two_replicas("replicas::a_warm_replica_answers_as_a_cold_one_after_the_other_replica_writes", dir.path())
    else {
        return;
    };
    let through_a = client(&a, &p.all);
    let repo = record_file_driven_history(&through_a, 30);
    let through_b = client(&b, &p.all);
    through_b.ok(&["train"]);
    let sha = commit_edit(&repo, "src/c.rs", "// a change\n");
    let repo_s = repo.to_str().unwrap();
    let select = |env: &Env| env.json(&["select", "--repo", repo_s, "--commit", &sha, "--dry-run"]);
    let before = select(&through_b);
    assert!(!ids(&before).contains(&"suite::other_3".to_string()), "{before}");
    // A run of the change's base, through A, where other_3 fails: B's next answer, warm, must
    // run it, as a replica reading the store cold does.
    let base = crate::util::git(&repo, &["rev-parse", &format!("{sha}~1")]);
    let report = through_a.write("x.xml", crate::util::suite_junit(&[("a_works", false), ("other_3", true)]));
    through_a.ok(&["record", "--repo", repo_s, "--commit", &base, "--run-id", "on-a", &report]);
    let warm = select(&through_b);
    let mut cold_env = Env::new();
    cold_env.db = p.db.clone();
    let cold = select(&cold_env);
    assert!(ids(&warm).contains(&"suite::other_3".to_string()), "B follows A's write: {warm}");
    assert_eq!(ids(&warm), ids(&cold), "warm B answers as a cold read of the store");
    assert_eq!(warm["skipped"], cold["skipped"]);
}

#[test]
fn a_replica_killed_during_uploads_loses_nothing_and_the_retries_land_on_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let Some((p, mut a, b)) = two_replicas(
        "replicas::a_replica_killed_during_uploads_loses_nothing_and_the_retries_land_on_the_other",
        dir.path(),
    ) else {
        return;
    };
    // The clients know both replicas and start on A.
    let mut env = client(&a, &p.ci);
    env.vars.retain(|(k, _)| k != "SEER_URL");
    env.vars.push(("SEER_URL".into(), format!("{},{}", a.url, b.url)));
    let report = env.write("big.xml", big_junit(50_000, 40));
    let record = |k: usize| {
        env.run(&["record", "--no-git", "--commit", &format!("c{k}"), "--run-id", &format!("r{k}"), &report])
    };
    let outputs = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..6).map(|k| scope.spawn(move || record(k))).collect();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !p.writing() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        // kill -9, and A stays down: every retry that lands, lands on B.
        a.kill();
        clients.into_iter().map(|c| c.join().unwrap()).collect::<Vec<_>>()
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
    drop(b);
}

#[test]
fn postgres_restarted_or_stopped_loses_nothing_select_fails_open_and_uploads_retry() {
    let test = "replicas::postgres_restarted_or_stopped_loses_nothing_select_fails_open_and_uploads_retry";
    let Some(pg) = seer_ci_core::backend::postgres::testing::own_cluster(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = PathBuf::from(format!("{}?schema=demo", pg.url));
    let ci = crate::serve::token(&db, "ci", "ci");
    let a = Server::start(&dir.path().join("a"), "127.0.0.1:0", &["--db", &pg.url]);
    let b = Server::start(&dir.path().join("b"), "127.0.0.1:0", &["--db", &pg.url]);
    let mut env = Env::new();
    env.vars = vec![
        ("SEER_URL".into(), format!("{},{}", a.url, b.url)),
        ("SEER_TOKEN".into(), ci),
        ("SEER_PROJECT".into(), "demo".into()),
    ];
    let report = env.write("r.xml", big_junit(5_000, 10));
    let record = |id: &str| env.run(&["record", "--no-git", "--commit", &format!("c-{id}"), "--run-id", id, &report]);

    // Postgres restarted while 4 clients upload 5 runs each.
    let outputs = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..4)
            .map(|j| scope.spawn(move || (0..5).map(|k| record(&format!("r{j}-{k}"))).collect::<Vec<_>>()))
            .collect();
        std::thread::sleep(Duration::from_millis(800));
        pg.stop();
        std::thread::sleep(Duration::from_millis(1500));
        pg.start();
        clients.into_iter().flat_map(|c| c.join().unwrap()).collect::<Vec<_>>()
    });
    for out in &outputs {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert!(
        outputs.iter().any(|o| String::from_utf8_lossy(&o.stderr).contains("retrying")),
        "no upload met the restart: the test did not test one"
    );

    // Postgres stopped: a selection fails open within its bound; an upload retries, and lands
    // once Postgres is back.
    let repo = env.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    crate::util::git(&repo, &["init", "-q"]);
    std::fs::write(repo.join("a.rs"), "fn a() {}\n").unwrap();
    crate::util::git(&repo, &["add", "-A"]);
    crate::util::git(&repo, &["commit", "-q", "-m", "one"]);
    pg.stop();
    let mut selecting = Env::new();
    selecting.vars = env.vars.clone();
    selecting.vars.push(("SEER_SELECT_TIMEOUT".into(), "5s".into()));
    let started = Instant::now();
    let out = selecting.run(&["select", "--repo", repo.to_str().unwrap(), "--format", "nextest"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(started.elapsed() < Duration::from_secs(20), "select waited {:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("all()"), "every test runs: {stderr}");
    assert!(stderr.contains("running every test"), "{stderr}");
    let late = std::thread::scope(|scope| {
        let upload = scope.spawn(|| record("late"));
        std::thread::sleep(Duration::from_millis(2500));
        pg.start();
        upload.join().unwrap()
    });
    let stderr = String::from_utf8_lossy(&late.stderr);
    assert!(late.status.success(), "{stderr}");
    assert!(stderr.contains("retrying"), "the upload met the stopped store and retried: {stderr}");

    // After recovery: every run once, whole.
    let runs = runs_of(&db);
    assert_eq!(runs.len(), 21, "every run landed once");
    for run in &runs {
        assert_eq!(run["counts"]["tests"], 5_000, "each run whole: {run}");
    }
}
