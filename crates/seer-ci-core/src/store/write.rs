//! Writing runs: one immediate transaction per `record` or `import`, so a run is stored whole or
//! not at all, and concurrent writers queue instead of failing.

use hashbrown::HashMap;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use xxhash_rust::xxh3::Xxh3;

use super::{Counts, Store, StoreError};
use crate::collect::git::ChangeSet;
use crate::collect::time::now;
use crate::collect::{CollectedRun, InputError, ResultSet, RunInfo, TestResult, put_digest_field};

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
    /// The status `as_str` names.
    pub fn parse(s: &str) -> Option<RecordStatus> {
        [RecordStatus::Inserted, RecordStatus::Unchanged, RecordStatus::Replaced].into_iter().find(|r| r.as_str() == s)
    }

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
    let sum = results.iter().fold(0u128, |sum, r| sum.wrapping_add(r.digest()));
    content_hash_of(info, sum, results.len())
}

/// [`content_hash`] from the wrapping sum of the results' [`TestResult::digest`]s.
fn content_hash_of(info: &RunInfo, digest_sum: u128, count: usize) -> String {
    let mut meta = Vec::new();
    for value in [Some(info.commit.as_str()), info.base.as_deref(), info.branch.as_deref(), info.job.as_deref()] {
        put_digest_field(&mut meta, value);
    }
    let mut head = Xxh3::new();
    head.update(&meta);
    head.update(&digest_sum.to_le_bytes());
    head.update(&(count as u64).to_le_bytes());
    format!("{:032x}", head.digest128())
}

/// Rows per multi-row INSERT: fewer statement executions, far below SQLite's variable limit.
const BATCH_ROWS: usize = 128;

/// Inserts one row per item with multi-row `INSERT … VALUES (…), (…)` statements; `bind`
/// binds an item's `width` values starting at the given parameter index.
fn insert_batched<T>(
    tx: &Transaction<'_>,
    head: &str,
    width: usize,
    items: &[T],
    bind: impl Fn(&mut rusqlite::Statement<'_>, usize, &T) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let row = format!("({})", vec!["?"; width].join(", "));
    for chunk in items.chunks(BATCH_ROWS) {
        let sql = format!("{head} VALUES {}", vec![row.as_str(); chunk.len()].join(", "));
        let mut stmt = tx.prepare_cached(&sql)?;
        for (k, item) in chunk.iter().enumerate() {
            bind(&mut stmt, k * width + 1, item)?;
        }
        stmt.raw_execute()?;
    }
    Ok(())
}

/// Why a streamed record failed: a report was rejected, or the store failed. Either way
/// nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for RecordError {
    fn from(e: rusqlite::Error) -> Self {
        RecordError::Store(e.into())
    }
}

impl Store {
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
            let mut writer = Writer::new(&tx, runs.len() > 1);
            for (i, run) in runs.iter().enumerate() {
                statuses.push(writer.run(&run.info, &run.results, run.changes.as_ref(), replace)?);
                progress(i + 1);
            }
        }
        tx.commit()?;
        Ok(statuses)
    }

    /// Records one run at the end of the history: its time is raised, inside the transaction, to
    /// the newest stored run's if that is later. `seer serve` records so the runs whose time the
    /// client did not give: concurrent uploads queue for the write lock in another order than
    /// they were stamped, and a run stored behind the selection state would make the next
    /// refresh rebuild it from the whole history. The time is not part of a run's content, so a
    /// retry is still recognised.
    pub fn record_at_end(&mut self, run: &CollectedRun, replace: bool) -> Result<RecordStatus, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let newest = super::test_state::newest_run(&tx)?.map(|k| k.time);
        let info = RunInfo { time: run.info.time.max(newest.unwrap_or(i64::MIN)), ..run.info.clone() };
        let status = Writer::new(&tx, false).run(&info, &run.results, run.changes.as_ref(), replace)?;
        tx.commit()?;
        Ok(status)
    }

    /// Records one run while its reports are still being read, using both of a CI machine's
    /// cores: `read` parses them on another thread into the result set it is given, which hands
    /// every result on as it comes, and this thread writes them, all in the one transaction that
    /// stores the run. A run id already in the store is read whole first, to compare it with
    /// what is stored. `info.source` is replaced by what `source_of` says of `read`'s output.
    pub fn record_streaming<T: Send>(
        &mut self,
        info: &RunInfo,
        changes: Option<&ChangeSet>,
        replace: bool,
        read: impl FnOnce(&mut ResultSet) -> Result<T, InputError> + Send,
        source_of: impl Fn(&T) -> String,
    ) -> Result<(RecordStatus, ResultSet, T), RecordError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists = tx.query_row("SELECT EXISTS (SELECT 1 FROM runs WHERE run_id = ?1)", [&info.run_id], |r| {
            r.get::<_, bool>(0)
        })?;
        let mut writer = Writer::new(&tx, false);
        if exists {
            let mut set = ResultSet::default();
            let read_out = read(&mut set)?;
            let info = RunInfo { source: source_of(&read_out), ..info.clone() };
            let status = writer.run(&info, set.results(), changes, replace)?;
            drop(writer);
            tx.commit()?;
            return Ok((status, set, read_out));
        }

        let changeset = changes.map(|c| writer.changeset(c)).transpose()?;
        let run_pk = writer.insert_run(info, "", changeset)?;
        let (send, batches) = std::sync::mpsc::sync_channel::<Vec<TestResult>>(4);
        let (parsed, written) = std::thread::scope(|scope| {
            let parser = scope.spawn(move || {
                let mut set = ResultSet::with_tap(send);
                let out = read(&mut set);
                set.close_tap();
                out.map(|out| (set, out))
            });
            let mut written = Ok(());
            let mut seq = 0;
            // Each test arrives once (its first occurrence), in report order. Keep receiving
            // after a write error, so that the parser never waits on a full channel.
            for batch in batches {
                if written.is_ok() {
                    written = writer.results(run_pk, seq, &batch);
                }
                seq += batch.len();
            }
            (parser.join().expect("the report parser panicked"), written)
        });
        let (set, read_out) = parsed?;
        written?;
        // The stream carried each test's first occurrence; tests met again get their final form.
        let repeated: Vec<(usize, &TestResult)> = set.repeated_results().collect();
        writer.update_results(run_pk, &repeated)?;
        let source = source_of(&read_out);
        let hash = content_hash_of(info, set.digest(), set.len());
        tx.execute("UPDATE runs SET content_hash = ?1, source = ?2 WHERE id = ?3", params![hash, source, run_pk])?;
        writer.set_counts(run_pk, Counts::of(set.results()))?;
        drop(writer);
        tx.commit()?;
        Ok((RecordStatus::Inserted, set, read_out))
    }
}

struct Writer<'a> {
    tx: &'a Transaction<'a>,
    /// Every stored test's name -> id, loaded once per transaction; kept current when more
    /// runs follow (a run's own tests are distinct, so within one run it need not be).
    tests: Option<HashMap<String, i64>>,
    more_runs: bool,
    /// The id the next new test gets: tests are numbered in order of first appearance, so a
    /// run's new tests (and its results) are appended to their tables.
    next_test: i64,
}

impl<'a> Writer<'a> {
    fn new(tx: &'a Transaction<'a>, more_runs: bool) -> Self {
        Writer { tx, tests: None, more_runs, next_test: 1 }
    }

    fn run(
        &mut self,
        info: &RunInfo,
        results: &[TestResult],
        changes: Option<&ChangeSet>,
        replace: bool,
    ) -> Result<RecordStatus, StoreError> {
        let hash = content_hash(info, results);
        let existing: Option<(i64, String, String)> = self
            .tx
            .query_row("SELECT id, content_hash, commit_sha FROM runs WHERE run_id = ?1", [&info.run_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let changeset = changes.map(|c| self.changeset(c)).transpose()?;
        let (run_pk, status) = match existing {
            Some((pk, stored_hash, _)) if stored_hash == hash => {
                // The same run again: fill in changes that an earlier record could not read.
                if let Some(cs) = changeset {
                    let filled = self.tx.execute(
                        "UPDATE runs SET changeset = ?1 WHERE id = ?2 AND changeset IS NULL",
                        params![cs, pk],
                    )?;
                    if filled > 0 {
                        self.drop_state()?;
                    }
                }
                return Ok(RecordStatus::Unchanged);
            }
            Some((_, _, stored_commit)) if !replace => {
                return Err(StoreError::RunConflict { run_id: info.run_id.clone(), stored_commit });
            }
            Some((pk, _, _)) => {
                self.drop_state()?;
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
            None => (self.insert_run(info, &hash, changeset)?, RecordStatus::Inserted),
        };
        self.results(run_pk, 0, results)?;
        self.set_counts(run_pk, Counts::of(results))?;
        Ok(status)
    }

    fn set_counts(&mut self, run_pk: i64, c: Counts) -> Result<(), StoreError> {
        self.tx.execute(
            "UPDATE runs SET n_tests = ?1, n_pass = ?2, n_fail = ?3, n_error = ?4, n_skip = ?5, n_flaky = ?6 WHERE id = ?7",
            params![c.tests as i64, c.pass as i64, c.fail as i64, c.error as i64, c.skip as i64, c.flaky as i64, run_pk],
        )?;
        Ok(())
    }

    fn insert_run(&mut self, info: &RunInfo, hash: &str, changeset: Option<i64>) -> Result<i64, StoreError> {
        self.tx.execute(
            "INSERT INTO runs (run_id, commit_sha, base, branch, job, time, recorded_at, source, content_hash, changeset)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![info.run_id, info.commit, info.base, info.branch, info.job, info.time, now(), info.source, hash, changeset],
        )?;
        let id = self.tx.last_insert_rowid();
        // A run stored behind the selection state's last run is not an extension of it.
        self.tx.execute("DELETE FROM state_meta WHERE last_time > ?1", [info.time])?;
        Ok(id)
    }

    /// Drops the selection state: the runs it was derived from changed, so the next refresh
    /// rebuilds it.
    fn drop_state(&mut self) -> Result<(), StoreError> {
        self.tx.execute("DELETE FROM state_meta", [])?;
        Ok(())
    }

    /// Appends the results of distinct tests not yet in this run, the first at position
    /// `first_seq`, adding the tests the store does not have yet.
    fn results(&mut self, run_pk: i64, first_seq: usize, results: &[TestResult]) -> Result<(), StoreError> {
        let ids = self.test_ids(run_pk, results)?;
        let rows: Vec<usize> = (0..results.len()).collect();
        insert_batched(
            self.tx,
            "INSERT OR ROLLBACK INTO results (run, seq, test, outcome, duration_s, attempts, message)",
            7,
            &rows,
            |stmt, at, &i| {
                let r = &results[i];
                stmt.raw_bind_parameter(at, run_pk)?;
                stmt.raw_bind_parameter(at + 1, (first_seq + i) as i64)?;
                stmt.raw_bind_parameter(at + 2, ids[i])?;
                stmt.raw_bind_parameter(at + 3, r.outcome.code())?;
                stmt.raw_bind_parameter(at + 4, r.duration_s)?;
                stmt.raw_bind_parameter(at + 5, r.attempts)?;
                stmt.raw_bind_parameter(at + 6, r.message.as_deref())
            },
        )?;
        Ok(())
    }

    /// The id of each result's test; tests the store does not have are added with the next ids.
    fn test_ids(&mut self, run_pk: i64, results: &[TestResult]) -> Result<Vec<i64>, StoreError> {
        if self.tests.is_none() {
            // One scan per transaction: cheaper than an index on names, which every new test
            // would have to be inserted into.
            let mut all = HashMap::new();
            let mut stmt = self.tx.prepare("SELECT name, id FROM tests")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(1)?;
                self.next_test = self.next_test.max(id + 1);
                all.insert(row.get::<_, String>(0)?, id);
            }
            self.tests = Some(all);
        }
        let tests = self.tests.as_mut().expect("loaded above");
        let mut ids = Vec::with_capacity(results.len());
        let mut new = Vec::new();
        for (i, r) in results.iter().enumerate() {
            match tests.get(r.id.as_str()) {
                Some(&id) => ids.push(id),
                None => {
                    ids.push(self.next_test);
                    if self.more_runs {
                        tests.insert(r.id.clone(), self.next_test);
                    }
                    self.next_test += 1;
                    new.push(i);
                }
            }
        }
        let sql = "INSERT OR ROLLBACK INTO tests (id, name, suite_len, file, first_run)";
        insert_batched(self.tx, sql, 5, &new, |stmt, at, &i| {
            let r = &results[i];
            stmt.raw_bind_parameter(at, ids[i])?;
            stmt.raw_bind_parameter(at + 1, r.id.as_str())?;
            stmt.raw_bind_parameter(at + 2, r.suite_len().map(|n| n as i64))?;
            stmt.raw_bind_parameter(at + 3, r.file.as_deref())?;
            stmt.raw_bind_parameter(at + 4, run_pk)
        })?;
        Ok(ids)
    }

    /// Overwrites results at the given positions with their final form (tests met again later).
    fn update_results(&mut self, run_pk: i64, results: &[(usize, &TestResult)]) -> Result<(), StoreError> {
        let mut update = self.tx.prepare_cached(
            "UPDATE results SET outcome = ?1, duration_s = ?2, attempts = ?3, message = ?4 WHERE run = ?5 AND seq = ?6",
        )?;
        for (seq, r) in results {
            update.execute(params![r.outcome.code(), r.duration_s, r.attempts, r.message, run_pk, *seq as i64])?;
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
            "INSERT INTO changes (changeset, path, old_path, status, added, deleted, binary, symbols)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT DO NOTHING",
        )?;
        for f in &cs.files {
            let symbols = (!f.symbols.is_empty()).then(|| f.symbols.join(" "));
            add.execute(params![id, f.path, f.old_path, f.kind.as_str(), f.added, f.deleted, f.binary, symbols])?;
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

    fn counts(store: &Store) -> (i64, i64, i64) {
        let count =
            |table: &str| store.conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap();
        (count("runs"), count("results"), count("tests"))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// A run is stored whole or not at all, and recording the same content under the same
        /// run id again changes nothing.
        #[test]
        fn a_run_is_stored_whole_or_not_at_all_and_once(
            outcomes in proptest::collection::vec(0u8..4, 1..60),
            fail_at in proptest::option::of(0usize..60),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut store = Store::open(&dir.path().join("s.db")).unwrap();
            let results: Vec<TestResult> = outcomes
                .iter()
                .enumerate()
                .map(|(i, o)| result(&format!("t{i}"), [Outcome::Pass, Outcome::Fail, Outcome::Error, Outcome::Skip][*o as usize]))
                .collect();
            // A reader that hands results on and may fail part of the way through.
            let read = |set: &mut ResultSet| -> Result<(), InputError> {
                for (i, r) in results.iter().enumerate() {
                    if fail_at == Some(i) {
                        return Err(InputError::invalid(std::path::Path::new("r.xml"), Some(i + 1), "broken"));
                    }
                    set.add(r.clone());
                }
                Ok(())
            };
            let first = store.record_streaming(&info(), None, false, read, |_| "junit".into());
            let failed = fail_at.is_some_and(|at| at < results.len());
            if failed {
                proptest::prop_assert!(matches!(first, Err(RecordError::Input(_))));
                proptest::prop_assert_eq!(counts(&store), (0, 0, 0), "nothing of a refused run is stored");
                return Ok(());
            }
            proptest::prop_assert_eq!(first.unwrap().0, RecordStatus::Inserted);
            let stored = counts(&store);
            proptest::prop_assert_eq!(stored, (1, results.len() as i64, results.len() as i64));
            let again = store.record_streaming(&info(), None, false, read, |_| "junit".into()).unwrap();
            proptest::prop_assert_eq!(again.0, RecordStatus::Unchanged);
            proptest::prop_assert_eq!(counts(&store), stored, "the same content again changes nothing");
        }
    }
}
