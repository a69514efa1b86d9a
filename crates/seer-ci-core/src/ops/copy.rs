//! `seer store copy`: a whole store, from one location to another (SQLite file or Postgres URL,
//! either way): moving a team from one machine's file to a shared database, or back.
//!
//! Everything goes through the storage interface: the runs in history order (so each test and
//! run is numbered as it first appeared), then coverage, profiles, selections (their tests by
//! name), quarantine, tokens (by hash) and models; the destination then builds its selection
//! state, which is derived from the rest. The destination must be empty: nothing in it is
//! overwritten. Runs go in batches of [`RUNS_PER_TRANSACTION`], each whole; a copy stopped half
//! way leaves a partial destination, which its message says to drop.

use std::path::Path;

use hashbrown::HashMap;

use super::Error;
use crate::backend::{self, History};
use crate::collect::CollectedRun;
use crate::store::NewProfile;

/// Runs stored per transaction of the destination: bounded memory on a large history.
pub const RUNS_PER_TRANSACTION: usize = 500;

/// What a copy carried.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Copied {
    pub runs: usize,
    pub coverage_commits: usize,
    pub profiles: usize,
    pub selections: usize,
    pub quarantined: usize,
    pub tokens: usize,
    pub models: usize,
}

/// Copies the store at `from` into a new store at `to`.
pub fn copy_store(from: &Path, to: &Path) -> Result<Copied, Error> {
    let mut src = backend::open_existing(from)?;
    // Selections an SQLite store queued while its lock was busy are folded in first.
    let _ = src.refresh_state_at_most(std::time::Duration::from_secs(10), u64::MAX);
    let mut dst = backend::open(to)?;
    let held = [
        (dst.run_count()? > 0, "runs"),
        (!dst.token_records()?.is_empty(), "tokens"),
        (dst.has_selections()?, "selections"),
        (!dst.coverage_commit_set()?.is_empty(), "coverage"),
        (!dst.benches()?.is_empty(), "profiles"),
        (!models_of(dst.as_ref(), to)?.is_empty(), "models"),
    ];
    if let Some((_, what)) = held.iter().find(|(h, _)| *h) {
        return Err(Error::CopyOver { to: dst.location(), what: what.to_string() });
    }
    let mut copied = Copied::default();
    let ids = src.run_ids()?;
    for chunk in ids.chunks(RUNS_PER_TRANSACTION) {
        let mut runs = Vec::with_capacity(chunk.len());
        for id in chunk {
            let Some(run) = src.run(id)? else { continue };
            runs.push(CollectedRun { info: run.info, results: run.results, changes: run.changes });
        }
        dst.record_runs(&runs, false)?;
        copied.runs += runs.len();
    }
    for c in src.coverage_commits()? {
        dst.record_coverage(&c.commit, &src.coverage_tests(&c.commit)?)?;
        copied.coverage_commits += 1;
    }
    for (bench, _, _) in src.benches()? {
        let mut profiles = Vec::new();
        for p in src.profile_runs(&bench)? {
            let mut stacks = src.merged_stacks(&[p.id])?;
            stacks.sort();
            profiles.push(NewProfile {
                bench: p.bench,
                run_id: p.run_id,
                commit: p.commit,
                time: Some(p.time),
                source: p.source,
                stacks,
                sample_count: p.sample_count.unwrap_or(p.samples),
            });
        }
        copied.profiles += profiles.len();
        dst.record_profiles(&profiles, false)?;
    }
    // Tests are numbered by each store: selections and quarantine name them.
    let names: HashMap<i64, String> = src.test_rows()?.into_iter().map(|t| (t.id, t.name)).collect();
    let ids_there: HashMap<String, i64> = dst.test_rows()?.into_iter().map(|t| (t.name, t.id)).collect();
    let map = |ids: &[i64]| -> Vec<i64> {
        ids.iter().filter_map(|id| names.get(id).and_then(|n| ids_there.get(n)).copied()).collect()
    };
    for kept in src.kept_selections()? {
        let mut s = kept.selection;
        s.selected = map(&s.selected);
        s.skipped = map(&s.skipped);
        dst.put_selection(&s, kept.after_run.as_deref())?;
        copied.selections += 1;
    }
    for (test, since, reason) in src.quarantined()? {
        if let Some(&id) = names.get(&test).and_then(|n| ids_there.get(n)) {
            dst.quarantine(id, since, reason.as_deref())?;
            copied.quarantined += 1;
        }
    }
    for t in src.token_records()? {
        dst.put_token(&t)?;
        copied.tokens += 1;
    }
    for (name, body) in models_of(src.as_ref(), from)? {
        put_model(dst.as_mut(), to, &name, &body)?;
        copied.models += 1;
    }
    dst.refresh_state()?;
    Ok(copied)
}

/// The model documents of the store at `location`, oldest first: held in the store, or files
/// beside it.
pub fn models_of(store: &dyn History, location: &Path) -> Result<Vec<(String, Vec<u8>)>, Error> {
    if store.holds_models() {
        let mut out = Vec::new();
        for name in store.model_names()? {
            if let Some(body) = store.model(&name)? {
                out.push((name, body));
            }
        }
        return Ok(out);
    }
    let dir = crate::model::models_dir(location);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(vec![]) };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().to_str().map(str::to_string))
        .filter(|n| crate::model::is_model_file(n))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let path = dir.join(&n);
            let body = std::fs::read(&path).map_err(|source| Error::Write { path, source })?;
            Ok((n, body))
        })
        .collect()
}

fn put_model(store: &mut dyn History, location: &Path, name: &str, body: &[u8]) -> Result<(), Error> {
    if store.holds_models() {
        store.put_model(name, body, crate::collect::time::now())?;
        return Ok(());
    }
    let dir = crate::model::models_dir(location);
    let path = dir.join(name);
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(&path, body))
        .map_err(|source| Error::Write { path, source })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::backend::conformance::run;
    use crate::collect::lcov::{FileLines, TestCoverage};
    use crate::store::{NewSelection, Scope};

    /// A store with some of everything: runs with changes, coverage, profiles, selections made
    /// between runs, quarantine, tokens (one revoked) and a model.
    fn fill(store: &mut dyn History, location: &Path) {
        store.record_runs(&[run("r1", 100, Some("a")), run("r2", 200, None)], false).unwrap();
        let ids: HashMap<String, i64> = store.test_rows().unwrap().into_iter().map(|t| (t.name, t.id)).collect();
        let selection = NewSelection {
            commit: "cr3".into(),
            base: Some("cr2".into()),
            created_at: 250,
            subset: true,
            observe: false,
            reason: None,
            model: Some("m".into()),
            threshold: Some(0.5),
            shard: Some((1, 2)),
            estimated_s: 1.0,
            total_s: 3.0,
            selected: vec![ids["a"]],
            skipped: vec![ids["b"], ids["c"]],
        };
        store.keep_selection(&selection, std::time::Duration::from_secs(5)).unwrap();
        store.record_runs(&[run("r3", 300, Some("b")), run("r4", 400, Some("c"))], false).unwrap();
        let lines = |exe: &[u32], hit: &[u32]| FileLines { executable: exe.to_vec(), hit: hit.to_vec(), unrun: vec![] };
        let cov = |test: &str, files: Vec<(&str, FileLines)>| TestCoverage {
            test: test.into(),
            files: files.into_iter().map(|(p, l)| (p.to_string(), l)).collect::<BTreeMap<_, _>>(),
        };
        store
            .record_coverage(
                "cr2",
                &[
                    cov("a", vec![("src/a.rs", lines(&[1, 2, 3], &[1, 2])), ("src/c.rs", lines(&[5], &[]))]),
                    cov("b", vec![("src/b.rs", lines(&[7, 8], &[8]))]),
                    cov("c", vec![]),
                ],
            )
            .unwrap();
        let profile = |run_id: &str, commit: &str, n: u64| NewProfile {
            bench: "parse".into(),
            run_id: run_id.into(),
            commit: commit.into(),
            time: Some(1000),
            source: "folded".into(),
            stacks: vec![(vec!["main".into(), "parse".into()], n), (vec!["main".into(), "lex".into()], 3)],
            sample_count: n + 3,
        };
        store.record_profiles(&[profile("p1", "cr1", 10), profile("p2", "cr2", 20)], false).unwrap();
        store.quarantine(ids["b"], 123, Some("flaky")).unwrap();
        store.create_token("ci", &[Scope::Ci], "hash-ci", 10).unwrap();
        store.create_token("old", &[Scope::Read, Scope::Admin], "hash-old", 11).unwrap();
        store.revoke_token("old", 12).unwrap();
        put_model(store, location, "model-20260101T000000Z-000.json", b"{\"a model\": 1}").unwrap();
        store.refresh_state().unwrap();
    }

    /// Everything a store holds, in a form two stores' can be compared in (tests by name, the
    /// time each run was stored left out).
    fn contents(store: &dyn History, location: &Path) -> String {
        let names: HashMap<i64, String> = store.test_rows().unwrap().into_iter().map(|t| (t.id, t.name)).collect();
        let named = |ids: &[i64]| {
            let mut n: Vec<&String> = ids.iter().map(|id| &names[id]).collect();
            n.sort();
            format!("{n:?}")
        };
        let mut out = String::new();
        for id in store.run_ids().unwrap() {
            let mut r = store.run(&id).unwrap().unwrap();
            r.recorded_at = 0;
            out += &format!("{r:?}\n");
        }
        for c in store.coverage_commits().unwrap() {
            out += &format!(
                "coverage {} {} {}: {:?}\n",
                c.commit,
                c.tests,
                c.files,
                store.coverage_tests(&c.commit).unwrap()
            );
        }
        for (bench, n, commits) in store.benches().unwrap() {
            out += &format!("bench {bench} {n} {commits}\n");
            for p in store.profile_runs(&bench).unwrap() {
                let mut stacks = store.merged_stacks(&[p.id]).unwrap();
                stacks.sort();
                out += &format!(
                    "{} {} {} {} {} {:?} {stacks:?}\n",
                    p.run_id, p.commit, p.time, p.samples, p.source, p.sample_count
                );
            }
        }
        for k in store.kept_selections().unwrap() {
            let s = &k.selection;
            out += &format!(
                "selection {} {:?} {} {} {:?} {:?} {:?} {} {} {} {} after {:?}\n",
                s.commit,
                s.base,
                s.created_at,
                s.subset,
                s.model,
                s.threshold,
                s.shard,
                s.estimated_s,
                s.total_s,
                named(&s.selected),
                named(&s.skipped),
                k.after_run
            );
        }
        for (test, since, reason) in store.quarantined().unwrap() {
            out += &format!("quarantined {} {since} {reason:?}\n", names[&test]);
        }
        out += &format!("{:?}\n", store.token_records().unwrap());
        out += &format!("{:?}\n", models_of(store, location).unwrap());
        out += &format!("{:?}\n{:?}\n", store.selection_state().unwrap(), store.selection_stats(None, None).unwrap());
        out
    }

    #[test]
    fn a_store_copied_to_another_and_back_holds_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("a").join("seer.db");
        let mut src = backend::open(&from).unwrap();
        fill(src.as_mut(), &from);
        let expected = contents(src.as_ref(), &from);
        assert!(expected.contains("quarantined b") && expected.contains("hash-old") && expected.contains("model-2026"));
        drop(src);

        let mut hops: Vec<PathBuf> = vec![dir.path().join("b").join("seer.db")];
        let scratch = crate::backend::postgres::testing::scratch("a_store_copied_to_another_and_back_holds_the_same");
        if let Some(s) = &scratch {
            // SQLite -> Postgres -> SQLite.
            hops = vec![PathBuf::from(&s.url), dir.path().join("c").join("seer.db")];
        }
        let mut at = from.clone();
        for to in hops {
            let copied = copy_store(&at, &to).unwrap();
            assert_eq!(
                copied,
                Copied {
                    runs: 4,
                    coverage_commits: 1,
                    profiles: 2,
                    selections: 1,
                    quarantined: 1,
                    tokens: 2,
                    models: 1
                }
            );
            let store = backend::open_existing(&to).unwrap();
            assert_eq!(contents(store.as_ref(), &to), expected, "{} holds what {} held", to.display(), from.display());
            // A second copy into it is refused, and changes nothing.
            assert!(matches!(copy_store(&at, &to), Err(Error::CopyOver { .. })));
            assert_eq!(contents(store.as_ref(), &to), expected);
            at = to;
        }
    }
}
