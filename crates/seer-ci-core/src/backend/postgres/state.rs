//! The selection state's refresh in a Postgres write transaction: `select::take_in_new_runs`
//! over these reads and writes, as SQLite's `StateTx` serves it.

use hashbrown::HashMap;
use postgres::Transaction;

use crate::features::TestState;
use crate::select::StateWrite;
use crate::store::{Judged, ReplayFile, RunKey, SelectionRow, StateCodec, StateMeta, StateRun, StoreError};

use super::history::{outcome, symbol_list};

pub(super) struct PgStateTx<'a> {
    pub tx: Transaction<'a>,
    /// Co-failure keys by text, read once per refresh; and the counts to add, written at the
    /// end in two statements: one round trip per count made refreshing a run of a change of 200
    /// files with 100 failing tests take seconds.
    keys: Option<HashMap<String, i64>>,
    changed: HashMap<i64, i64>,
    failed: HashMap<(i64, i64), i64>,
}

impl<'a> PgStateTx<'a> {
    pub fn new(tx: Transaction<'a>) -> Self {
        PgStateTx { tx, keys: None, changed: HashMap::new(), failed: HashMap::new() }
    }

    /// Writes the co-failure counts gathered so far.
    fn flush_counts(&mut self) -> Result<(), StoreError> {
        if !self.changed.is_empty() {
            let (ids, n): (Vec<i64>, Vec<i64>) = self.changed.drain().unzip();
            self.tx.execute(
                "UPDATE cofail_keys k SET changed = k.changed + d.n FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS d(id, n)
                 WHERE k.id = d.id",
                &[&ids, &n],
            )?;
        }
        if !self.failed.is_empty() {
            let (mut keys, mut tests, mut n) = (Vec::new(), Vec::new(), Vec::new());
            for ((k, t), c) in self.failed.drain() {
                keys.push(k);
                tests.push(t);
                n.push(c);
            }
            self.tx.execute(
                "INSERT INTO cofail (key, test, failed) SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[])
                 ON CONFLICT (key, test) DO UPDATE SET failed = cofail.failed + excluded.failed",
                &[&keys, &tests, &n],
            )?;
        }
        Ok(())
    }
}

fn decode(test: i64, bytes: &[u8]) -> Result<TestState, StoreError> {
    TestState::decode(bytes).ok_or_else(|| StoreError::BadLocation {
        location: "the selection state".into(),
        reason: format!("test_state.state of test {test} cannot be read"),
    })
}

/// Where the state stands: one row, or none (no state).
pub(super) const META: &str =
    "SELECT runs, last_time, last_run, (SELECT n FROM state_generation WHERE id = 1) FROM state_meta WHERE id = 1";

/// A row of [`META`].
pub(super) fn meta_row(r: &postgres::Row) -> StateMeta {
    StateMeta {
        runs: r.get::<_, i64>(0).max(0) as u64,
        last: RunKey { time: r.get(1), id: r.get(2) },
        generation: r.get::<_, Option<i64>>(3).unwrap_or(0).max(0) as u64,
    }
}

pub(super) fn runs_through(tx: &mut impl postgres::GenericClient, key: RunKey) -> Result<u64, StoreError> {
    let n: i64 = tx.query_one("SELECT COUNT(*) FROM runs WHERE (time, id) <= ($1, $2)", &[&key.time, &key.id])?.get(0);
    Ok(n.max(0) as u64)
}

fn after_key(after: Option<RunKey>) -> RunKey {
    after.unwrap_or(RunKey { time: i64::MIN, id: i64::MIN })
}

impl StateWrite for PgStateTx<'_> {
    fn meta(&mut self) -> Result<Option<StateMeta>, StoreError> {
        Ok(self.tx.query_opt(META, &[])?.as_ref().map(meta_row))
    }

    fn runs_through(&mut self, key: RunKey) -> Result<u64, StoreError> {
        runs_through(&mut self.tx, key)
    }

    fn clear(&mut self) -> Result<(), StoreError> {
        (self.keys, self.changed, self.failed) = (None, HashMap::new(), HashMap::new());
        self.tx.batch_execute(
            "DELETE FROM state_meta; DELETE FROM test_state; DELETE FROM cofail; DELETE FROM cofail_keys;
             DELETE FROM selection_runs; DELETE FROM misses;",
        )?;
        Ok(())
    }

    fn set_meta(&mut self, runs: u64, last: RunKey) -> Result<(), StoreError> {
        // Updated in place: deleting the row is what counts as dropping the state.
        self.tx.execute(
            "INSERT INTO state_meta (id, runs, last_time, last_run) VALUES (1, $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET runs = excluded.runs, last_time = excluded.last_time,
             last_run = excluded.last_run",
            &[&(runs as i64), &last.time, &last.id],
        )?;
        Ok(())
    }

    fn results_after(&mut self, after: Option<RunKey>) -> Result<u64, StoreError> {
        let a = after_key(after);
        let n: i64 = self
            .tx
            .query_one(
                "SELECT COALESCE(SUM(n_tests), 0)::BIGINT FROM runs WHERE (time, id) > ($1, $2)",
                &[&a.time, &a.id],
            )?
            .get(0);
        Ok(n.max(0) as u64)
    }

    fn runs_after(&mut self, after: Option<RunKey>) -> Result<Vec<(RunKey, String, Option<i64>)>, StoreError> {
        let a = after_key(after);
        let rows = self.tx.query(
            "SELECT time, id, commit_sha, changeset FROM runs WHERE (time, id) > ($1, $2) ORDER BY time, id",
            &[&a.time, &a.id],
        )?;
        Ok(rows.iter().map(|r| (RunKey { time: r.get(0), id: r.get(1) }, r.get(2), r.get(3))).collect())
    }

    fn state_run(&mut self, key: RunKey, commit: String, changeset: Option<i64>) -> Result<StateRun, StoreError> {
        let rows =
            self.tx.query("SELECT test, outcome, duration_s FROM results WHERE run = $1 ORDER BY seq", &[&key.id])?;
        let results = rows
            .iter()
            .map(|r| Ok((r.get::<_, i64>(0), outcome(r.get::<_, i16>(1))?, r.get::<_, Option<f64>>(2))))
            .collect::<Result<_, StoreError>>()?;
        let changed = match changeset {
            None => None,
            Some(cs) => {
                let rows = self.tx.query(
                    "SELECT path, added, deleted, symbols FROM changes WHERE changeset = $1 ORDER BY path",
                    &[&cs],
                )?;
                Some(
                    rows.iter()
                        .map(|r| ReplayFile {
                            path: r.get(0),
                            added: r.get::<_, Option<i64>>(1).unwrap_or(0) as u32,
                            deleted: r.get::<_, Option<i64>>(2).unwrap_or(0) as u32,
                            symbols: symbol_list(r.get(3)),
                        })
                        .collect(),
                )
            }
        };
        Ok(StateRun { key, commit, results, changed })
    }

    fn test_states(&mut self) -> Result<HashMap<i64, TestState>, StoreError> {
        let rows = self.tx.query("SELECT test, state FROM test_state", &[])?;
        rows.iter().map(|r| Ok((r.get(0), decode(r.get(0), r.get(1))?))).collect()
    }

    fn put_test_states(&mut self, states: &mut dyn Iterator<Item = (i64, &TestState)>) -> Result<(), StoreError> {
        // The end of a refresh: the co-failure counts go with the counters.
        self.flush_counts()?;
        let (mut tests, mut runs, mut blobs) = (Vec::new(), Vec::new(), Vec::new());
        for (test, s) in states {
            tests.push(test);
            runs.push(s.last_run());
            blobs.push(s.encode());
        }
        if tests.is_empty() {
            return Ok(());
        }
        self.tx.execute(
            "INSERT INTO test_state (test, last_run, state) SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BYTEA[])
             ON CONFLICT (test) DO UPDATE SET last_run = excluded.last_run, state = excluded.state",
            &[&tests, &runs, &blobs],
        )?;
        Ok(())
    }

    fn count_change(&mut self, key: &str) -> Result<i64, StoreError> {
        if self.keys.is_none() {
            let rows = self.tx.query("SELECT key, id FROM cofail_keys", &[])?;
            self.keys = Some(rows.iter().map(|r| (r.get(0), r.get(1))).collect());
        }
        let keys = self.keys.as_mut().expect("read above");
        let id = match keys.get(key) {
            Some(&id) => id,
            None => {
                let id: i64 = self
                    .tx
                    .query_one("INSERT INTO cofail_keys (key, changed) VALUES ($1, 0) RETURNING id", &[&key])?
                    .get(0);
                keys.insert(key.to_string(), id);
                id
            }
        };
        *self.changed.entry(id).or_default() += 1;
        Ok(id)
    }

    fn count_failure(&mut self, key: i64, test: i64) -> Result<(), StoreError> {
        *self.failed.entry((key, test)).or_default() += 1;
        Ok(())
    }

    fn selections(&mut self) -> Result<Vec<SelectionRow>, StoreError> {
        let rows = self
            .tx
            .query("SELECT id, commit_sha, after_time, after_run, mode, observe FROM selections ORDER BY id", &[])?;
        Ok(rows
            .iter()
            .map(|r| SelectionRow {
                id: r.get(0),
                commit: r.get(1),
                after: match (r.get::<_, Option<i64>>(2), r.get::<_, Option<i64>>(3)) {
                    (Some(time), Some(id)) => Some(RunKey { time, id }),
                    _ => None,
                },
                subset: r.get::<_, &str>(4) == "subset",
                observe: r.get(5),
            })
            .collect())
    }

    fn selection_tests(&mut self, id: i64) -> Result<(Vec<u32>, Vec<u32>), StoreError> {
        let r = self.tx.query_one("SELECT selected, skipped FROM selections WHERE id = $1", &[&id])?;
        Ok((crate::store::unpack_lines(r.get(0)), crate::store::unpack_lines(r.get(1))))
    }

    fn put_selection_run(&mut self, run: i64, selection: i64, judged: Judged) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO selection_runs (run, selection, failing, caught, missed, unknown) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (run) DO UPDATE SET selection = excluded.selection, failing = excluded.failing,
                 caught = excluded.caught, missed = excluded.missed, unknown = excluded.unknown",
            &[
                &run,
                &selection,
                &(judged.failing as i64),
                &(judged.caught as i64),
                &(judged.missed as i64),
                &(judged.unknown as i64),
            ],
        )?;
        Ok(())
    }

    fn put_miss(&mut self, run: i64, test: i64, selection: i64, same_commit: bool) -> Result<(), StoreError> {
        self.tx.execute(
            "INSERT INTO misses (run, test, selection, same_commit) VALUES ($1, $2, $3, $4)
             ON CONFLICT (run, test) DO UPDATE SET selection = excluded.selection, same_commit = excluded.same_commit",
            &[&run, &test, &selection, &same_commit],
        )?;
        Ok(())
    }
}
