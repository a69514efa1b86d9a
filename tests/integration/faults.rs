//! A store that cannot be used as usual: unreadable, on a read-only mount, on a full disk. A
//! pipeline can always tell "run everything" from "run nothing", a read-only store is read, and a
//! full disk has its own exit code and leaves the store as it was.
//!
//! The mount tests need root (to mount a tmpfs); without it they say so and check nothing else.

use std::path::{Path, PathBuf};
use std::process::Command;

use seer_ci_api::exit_codes;

use crate::util::{Env, commit_edit, record_file_driven_history};

/// Whether this process runs as root (the effective uid in /proc/self/status).
fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|l| l.split_whitespace().nth(1)) == Some("0")
}

/// A mount that is undone when dropped.
struct Mount(PathBuf);

impl Mount {
    fn new(args: &[&str], at: &Path) -> Mount {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount").args(args).arg(at).output().expect("run mount");
        assert!(out.status.success(), "mount {args:?} failed (as root): {}", String::from_utf8_lossy(&out.stderr));
        Mount(at.to_path_buf())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn list_format_exits_run_all_when_no_subset_can_be_chosen() {
    let env = Env::new();
    let select = ["select", "--no-git", "--commit", "c1", "--dry-run"];
    // No store, a garbage store, a directory in the store's place.
    let stderr = env.fails(&select, exit_codes::RUN_ALL);
    assert!(stderr.contains("run every test"), "{stderr}");
    std::fs::create_dir_all(env.db.parent().unwrap()).unwrap();
    std::fs::write(&env.db, b"not a database, but long enough to look like one's header").unwrap();
    env.fails(&select, exit_codes::RUN_ALL);
    std::fs::remove_file(&env.db).unwrap();
    std::fs::create_dir_all(&env.db).unwrap();
    let out = env.run(&select);
    assert_eq!(out.status.code(), Some(exit_codes::RUN_ALL));
    assert!(out.stdout.is_empty(), "nothing listed, and the exit code says it is not the answer");
    // Runner formats say "everything" themselves: exit 0 with run-everything arguments.
    let out = env.run(&["select", "--no-git", "--commit", "c1", "--dry-run", "--format", "nextest"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "-E\nall()\n--no-tests=pass\n");
}

#[test]
fn list_format_exits_zero_for_a_subset_and_run_all_in_observe_mode() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 24);
    env.ok(&["train"]);
    let r = repo.to_str().unwrap();
    let sha = commit_edit(&repo, "src/a.rs", "// change\n");
    let listed = env.ok(&["select", "--commit", &sha, "--repo", r, "--dry-run"]);
    assert!(listed.lines().any(|l| l == "suite::a_works"), "{listed}");
    assert!(listed.lines().count() < 8, "a subset: {listed}");
    env.fails(&["select", "--commit", &sha, "--repo", r, "--dry-run", "--observe"], exit_codes::RUN_ALL);
}

#[test]
fn a_store_on_a_read_only_mount_is_read_and_not_refused() {
    if !is_root() {
        eprintln!("skipped: mounting a read-only view of the store needs root");
        return;
    }
    let env = Env::new();
    let repo = record_file_driven_history(&env, 24);
    env.ok(&["train"]);
    let r = repo.to_str().unwrap();
    let sha = commit_edit(&repo, "src/a.rs", "// change\n");
    let store_dir = env.db.parent().unwrap();
    let view = env.path().join("read-only");
    let _mount = Mount::new(&["--bind", "-o", "ro", store_dir.to_str().unwrap()], &view);
    let db = view.join("seer.db");
    let run = |args: &[&str]| env.seer().env("SEER_DB", &db).args(args).output().unwrap();
    let out = run(&["select", "--commit", &sha, "--repo", r, "--json"]);
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["mode"], "subset", "a valid read-only store selects as usual: {doc}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not kept"), "the bookkeeping that could not be written is reported: {stderr}");
    let out = run(&["runs", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs["runs"][0]["run_id"], "ci-23", "the newest run is read: {runs}");
    // Writing is refused, and says where.
    let report = env.write("one.xml", crate::util::suite_junit(&[("a_works", false)]));
    let out = run(&["record", "--no-git", "--commit", "c", "--run-id", "new", &report]);
    assert_eq!(out.status.code(), Some(exit_codes::STORE_UNUSABLE), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_full_disk_has_its_own_exit_code_and_the_store_is_as_it_was() {
    if !is_root() {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    let env = Env::new();
    let dir = env.path().join("small");
    let _mount = Mount::new(&["-t", "tmpfs", "-o", "size=512k", "tmpfs"], &dir);
    let db = dir.join("seer.db");
    let run = |args: &[&str]| env.seer().env("SEER_DB", &db).args(args).output().unwrap();
    let small = env.write("small.xml", crate::util::suite_junit(&[("a_works", false), ("b_works", true)]));
    assert!(run(&["record", "--no-git", "--commit", "c1", "--run-id", "r1", &small]).status.success());
    let big = crate::util::big_junit(20_000, 10);
    let big = env.write("big.xml", big);
    let out = run(&["record", "--no-git", "--commit", "c2", "--run-id", "r2", &big]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(exit_codes::DISK_FULL), "{stderr}");
    assert!(stderr.contains("full"), "{stderr}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let runs: Vec<String> = conn
        .prepare("SELECT run_id FROM runs")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(runs, ["r1"], "the first run is kept whole and nothing of the second");
    let results: i64 = conn.query_row("SELECT count(*) FROM results", [], |r| r.get(0)).unwrap();
    assert_eq!(results, 2);
}
