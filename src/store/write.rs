//! Writing runs: one immediate transaction per `record` or `import`, so a run is stored whole or
//! not at all, and concurrent writers queue instead of failing.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use xxhash_rust::xxh3::{Xxh3, xxh3_128};

use super::{Store, StoreError};
use crate::collect::git::ChangeSet;
use crate::collect::time::now;
use crate::collect::{CollectedRun, RunInfo, TestResult};

/// What recording a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordStatus {
    /// A new run.
    Inserted,
    /// The same run id with the same content was stored already: nothing changed.
    Unchanged,
    /// The run id existed with other content and `replace` was asked for.
    Replaced,
}

impl RecordStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Inserted => "inserted",
            RecordStatus::Unchanged => "unchanged",
            RecordStatus::Replaced => "replaced",
        }
    }
}

/// A digest of what identifies a run's content: commit, base, branch, job and every result.
/// The run's time and its git changes are left out, so that recording the same reports again
/// later is recognised as the same run. Independent of the order of results.
pub fn content_hash(info: &RunInfo, results: &[TestResult]) -> String {
    let mut sum: u128 = 0;
    let mut buf = Vec::with_capacity(256);
    for r in results {
        buf.clear();
        buf.extend_from_slice(r.id.as_bytes());
        buf.push(0);
        put_opt(&mut buf, r.suite.as_deref());
        put_opt(&mut buf, r.file.as_deref());
        buf.push(r.outcome.code() as u8);
        buf.extend_from_slice(&r.duration_s.map_or(u64::MAX, f64::to_bits).to_le_bytes());
        buf.extend_from_slice(&r.attempts.to_le_bytes());
        put_opt(&mut buf, r.message.as_deref());
        sum = sum.wrapping_add(xxh3_128(&buf));
    }
    let mut head = Xxh3::new();
    let mut meta = Vec::new();
    put_opt(&mut meta, Some(&info.commit));
    put_opt(&mut meta, info.base.as_deref());
    put_opt(&mut meta, info.branch.as_deref());
    put_opt(&mut meta, info.job.as_deref());
    head.update(&meta);
    head.update(&sum.to_le_bytes());
    head.update(&(results.len() as u64).to_le_bytes());
    format!("{:032x}", head.digest128())
}

fn put_opt(buf: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(v) => {
            buf.push(1);
            buf.extend_from_slice(v.as_bytes());
            buf.push(0);
        }
        None => buf.push(0),
    }
}

impl Store {
    /// Records one run.
    pub fn record(&mut self, run: &CollectedRun, replace: bool) -> Result<RecordStatus, StoreError> {
        Ok(self.record_many(std::slice::from_ref(run), replace, |_| {})?[0])
    }

    /// Records runs in one transaction: all of them, or none if any fails (a conflict included).
    /// `progress` is called after each run.
    pub fn record_many(
        &mut self,
        runs: &[CollectedRun],
        replace: bool,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<RecordStatus>, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut statuses = Vec::with_capacity(runs.len());
        {
            let mut writer = Writer { tx: &tx, test_ids: (runs.len() > 1).then(HashMap::new) };
            for (i, run) in runs.iter().enumerate() {
                statuses.push(writer.run(run, replace)?);
                progress(i + 1);
            }
        }
        tx.commit()?;
        Ok(statuses)
    }
}

struct Writer<'a> {
    tx: &'a Transaction<'a>,
    /// Test name -> id, kept across the runs of one import.
    test_ids: Option<HashMap<String, i64>>,
}

impl Writer<'_> {
    fn run(&mut self, run: &CollectedRun, replace: bool) -> Result<RecordStatus, StoreError> {
        let info = &run.info;
        let hash = content_hash(info, &run.results);
        let existing: Option<(i64, String, String)> = self
            .tx
            .query_row("SELECT id, content_hash, commit_sha FROM runs WHERE run_id = ?1", [&info.run_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let changeset = match &run.changes {
            Some(changes) => Some(self.changeset(changes)?),
            None => None,
        };
        let (run_pk, status) = match existing {
            Some((pk, stored_hash, _)) if stored_hash == hash => {
                // The same run again: fill in changes that an earlier record could not read.
                if let Some(cs) = changeset {
                    self.tx.execute(
                        "UPDATE runs SET changeset = ?1 WHERE id = ?2 AND changeset IS NULL",
                        params![cs, pk],
                    )?;
                }
                return Ok(RecordStatus::Unchanged);
            }
            Some((_, _, stored_commit)) if !replace => {
                return Err(StoreError::RunConflict { run_id: info.run_id.clone(), stored_commit });
            }
            Some((pk, _, _)) => {
                self.tx.execute("DELETE FROM results WHERE run = ?1", [pk])?;
                self.tx.execute(
                    "UPDATE runs SET commit_sha = ?1, base = ?2, branch = ?3, job = ?4, time = ?5, recorded_at = ?6,
                     source = ?7, content_hash = ?8, changeset = ?9 WHERE id = ?10",
                    params![
                        info.commit,
                        info.base,
                        info.branch,
                        info.job,
                        info.time,
                        now(),
                        info.source,
                        hash,
                        changeset,
                        pk
                    ],
                )?;
                (pk, RecordStatus::Replaced)
            }
            None => {
                self.tx.execute(
                    "INSERT INTO runs (run_id, commit_sha, base, branch, job, time, recorded_at, source, content_hash, changeset)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![info.run_id, info.commit, info.base, info.branch, info.job, info.time, now(), info.source, hash, changeset],
                )?;
                (self.tx.last_insert_rowid(), RecordStatus::Inserted)
            }
        };
        self.results(run_pk, &run.results)?;
        Ok(status)
    }

    fn results(&mut self, run_pk: i64, results: &[TestResult]) -> Result<(), StoreError> {
        let mut find = self.tx.prepare_cached("SELECT id FROM tests WHERE name = ?1")?;
        let mut add_test =
            self.tx.prepare_cached("INSERT INTO tests (name, suite, file, first_run) VALUES (?1, ?2, ?3, ?4)")?;
        let mut add_result = self.tx.prepare_cached(
            "INSERT INTO results (run, test, outcome, duration_s, attempts, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for r in results {
            let cached = self.test_ids.as_ref().and_then(|ids| ids.get(&r.id).copied());
            let test = match cached {
                Some(id) => id,
                None => {
                    let id = match find.query_row([&r.id], |row| row.get::<_, i64>(0)).optional()? {
                        Some(id) => id,
                        None => {
                            add_test.execute(params![r.id, r.suite, r.file, run_pk])?;
                            self.tx.last_insert_rowid()
                        }
                    };
                    if let Some(ids) = self.test_ids.as_mut() {
                        ids.insert(r.id.clone(), id);
                    }
                    id
                }
            };
            add_result.execute(params![run_pk, test, r.outcome.code(), r.duration_s, r.attempts, r.message])?;
        }
        Ok(())
    }

    /// Stores a commit's change set once per (commit, base); returns its id.
    fn changeset(&mut self, cs: &ChangeSet) -> Result<i64, StoreError> {
        let c = &cs.commit;
        self.tx.execute(
            "INSERT INTO commits (sha, parents, author, time, summary) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (sha) DO UPDATE SET parents = excluded.parents, author = excluded.author,
                 time = excluded.time, summary = excluded.summary
             WHERE excluded.author != ''",
            params![c.sha, c.parents.join(" "), c.author, c.time, c.summary],
        )?;
        let base = cs.base.clone().unwrap_or_default();
        let existing: Option<(i64, bool)> = self
            .tx
            .query_row(
                "SELECT id, complete FROM changesets WHERE commit_sha = ?1 AND base_sha = ?2",
                params![c.sha, base],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let id = match existing {
            Some((id, complete)) if complete || !cs.complete => return Ok(id),
            Some((id, _)) => {
                // A complete reading replaces an incomplete one.
                self.tx.execute("DELETE FROM changes WHERE changeset = ?1", [id])?;
                self.tx.execute(
                    "UPDATE changesets SET complete = ?1, warnings = ?2 WHERE id = ?3",
                    params![cs.complete, cs.warnings.join("\n"), id],
                )?;
                id
            }
            None => {
                self.tx.execute(
                    "INSERT INTO changesets (commit_sha, base_sha, complete, warnings) VALUES (?1, ?2, ?3, ?4)",
                    params![c.sha, base, cs.complete, cs.warnings.join("\n")],
                )?;
                self.tx.last_insert_rowid()
            }
        };
        let mut add = self.tx.prepare_cached(
            "INSERT INTO changes (changeset, path, old_path, status, added, deleted, binary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT DO NOTHING",
        )?;
        for f in &cs.files {
            add.execute(params![id, f.path, f.old_path, f.kind.as_str(), f.added, f.deleted, f.binary])?;
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::Outcome;

    fn result(id: &str, outcome: Outcome) -> TestResult {
        TestResult {
            id: id.into(),
            suite: None,
            file: None,
            outcome,
            duration_s: Some(0.5),
            attempts: 1,
            message: None,
        }
    }

    fn info() -> RunInfo {
        RunInfo {
            run_id: "r".into(),
            commit: "c".into(),
            base: None,
            branch: None,
            job: None,
            time: 1,
            source: "junit".into(),
        }
    }

    #[test]
    fn hash_ignores_order_and_time_but_not_content() {
        let a = [result("x", Outcome::Pass), result("y", Outcome::Fail)];
        let b = [result("y", Outcome::Fail), result("x", Outcome::Pass)];
        let later = RunInfo { time: 99, ..info() };
        assert_eq!(content_hash(&info(), &a), content_hash(&later, &b));
        let c = [result("x", Outcome::Pass), result("y", Outcome::Pass)];
        assert_ne!(content_hash(&info(), &a), content_hash(&info(), &c));
        let other_commit = RunInfo { commit: "d".into(), ..info() };
        assert_ne!(content_hash(&info(), &a), content_hash(&other_commit, &a));
        // A field moving between optional slots must change the digest.
        let branch = RunInfo { branch: Some("x".into()), ..info() };
        let job = RunInfo { job: Some("x".into()), ..info() };
        assert_ne!(content_hash(&branch, &a), content_hash(&job, &a));
    }
}
