//! Writing to the Postgres store: runs, coverage, profiles, selections, tokens, quarantine. Each
//! write is one transaction holding the store's advisory lock (see `mod.rs`).

use hashbrown::HashMap;
use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;

use crate::collect::git::ChangeSet;
use crate::collect::lcov::TestCoverage;
use crate::collect::time::now;
use crate::collect::{CollectedRun, RunInfo, TestResult};
use crate::store::{
    Counts, CoverageRecorded, NewProfile, NewSelection, RecordStatus, RunKey, StoreError, content_hash,
    profile_content_hash, selection_ids_packed, union_lines,
};

use super::PgStore;

impl PgStore {
    pub(super) fn record_runs_pg(
        &mut self,
        runs: &[CollectedRun],
        replace: bool,
    ) -> Result<Vec<RecordStatus>, StoreError> {
        let mut tx = self.write()?;
        let mut writer = Writer::default();
        let mut statuses = Vec::with_capacity(runs.len());
        for run in runs {
            statuses.push(writer.run(&mut tx, &run.info, &run.results, run.changes.as_ref(), replace)?);
        }
        tx.commit()?;
        Ok(statuses)
    }

    pub(super) fn record_at_end_pg(&mut self, run: &CollectedRun, replace: bool) -> Result<RecordStatus, StoreError> {
        let mut tx = self.write()?;
        let newest = newest_run(&mut tx)?.map(|k| k.time);
        let info = RunInfo { time: run.info.time.max(newest.unwrap_or(i64::MIN)), ..run.info.clone() };
        let status = Writer::default().run(&mut tx, &info, &run.results, run.changes.as_ref(), replace)?;
        tx.commit()?;
        Ok(status)
    }

    pub(super) fn keep_selection_pg(&mut self, s: &NewSelection, wait: std::time::Duration) -> Result<(), StoreError> {
        // Under the lock, the newest run is the one this selection comes after for every refresh.
        // A selection that cannot have it within `wait` is kept without it: its bookkeeping may
        // then miss a run stored at the same moment, and the answer is not held up.
        let (mut tx, _locked) = self.write_within(wait)?;
        let after = newest_run(&mut tx)?;
        insert_selection(&mut tx, s, after)?;
        tx.commit()?;
        Ok(())
    }

    pub(super) fn put_selection_pg(&mut self, s: &NewSelection, after_run: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.write()?;
        let after = match after_run {
            Some(id) => tx
                .query_opt("SELECT time, id FROM runs WHERE run_id = $1", &[&id])?
                .map(|r| RunKey { time: r.get(0), id: r.get(1) }),
            None => None,
        };
        insert_selection(&mut tx, s, after)?;
        tx.commit()?;
        Ok(())
    }

    pub(super) fn record_coverage_pg(
        &mut self,
        commit: &str,
        tests: &[TestCoverage],
    ) -> Result<CoverageRecorded, StoreError> {
        let mut tx = self.write()?;
        let mut recorded = CoverageRecorded { tests: tests.len(), ..Default::default() };
        let mut file_ids: HashMap<String, i64> = HashMap::new();
        let mut executable: HashMap<i64, Vec<u32>> = HashMap::new();
        let recorded_at = now();
        for t in tests {
            let old =
                tx.query_opt("SELECT id FROM coverage_runs WHERE commit_sha = $1 AND test = $2", &[&commit, &t.test])?;
            if let Some(old) = old {
                let id: i64 = old.get(0);
                tx.execute("DELETE FROM coverage_hits WHERE coverage = $1", &[&id])?;
                tx.execute("DELETE FROM coverage_runs WHERE id = $1", &[&id])?;
                recorded.replaced += 1;
            }
            let run: i64 = tx
                .query_one(
                    "INSERT INTO coverage_runs (commit_sha, test, recorded_at) VALUES ($1, $2, $3) RETURNING id",
                    &[&commit, &t.test, &recorded_at],
                )?
                .get(0);
            for (path, lines) in &t.files {
                let file = match file_ids.get(path) {
                    Some(&id) => id,
                    None => {
                        tx.execute("INSERT INTO coverage_files (path) VALUES ($1) ON CONFLICT DO NOTHING", &[path])?;
                        let id: i64 = tx.query_one("SELECT id FROM coverage_files WHERE path = $1", &[path])?.get(0);
                        file_ids.insert(path.clone(), id);
                        id
                    }
                };
                let seen = executable.entry(file).or_default();
                *seen = union_lines(seen, &lines.executable);
                if !lines.hit.is_empty() {
                    let unrun = (!lines.unrun.is_empty()).then(|| crate::store::pack_spans(&lines.unrun));
                    tx.execute(
                        "INSERT INTO coverage_hits (coverage, file, lines, unrun) VALUES ($1, $2, $3, $4)",
                        &[&run, &file, &crate::store::pack_lines(&lines.hit), &unrun],
                    )?;
                }
            }
        }
        recorded.files = executable.len();
        tx.execute(
            "INSERT INTO coverage_commits (commit_sha, recorded_at) VALUES ($1, $2)
             ON CONFLICT (commit_sha) DO UPDATE SET recorded_at = excluded.recorded_at",
            &[&commit, &recorded_at],
        )?;
        for (file, lines) in executable {
            let stored = tx
                .query_opt("SELECT lines FROM coverage_lines WHERE commit_sha = $1 AND file = $2", &[&commit, &file])?;
            let stored = stored.map(|r| crate::store::unpack_lines(r.get::<_, &[u8]>(0))).unwrap_or_default();
            let all = union_lines(&stored, &lines);
            tx.execute(
                "INSERT INTO coverage_lines (commit_sha, file, lines) VALUES ($1, $2, $3)
                 ON CONFLICT (commit_sha, file) DO UPDATE SET lines = excluded.lines",
                &[&commit, &file, &crate::store::pack_lines(&all)],
            )?;
        }
        tx.commit()?;
        Ok(recorded)
    }

    pub(super) fn record_profiles_pg(
        &mut self,
        profiles: &[NewProfile],
        replace: bool,
    ) -> Result<Vec<RecordStatus>, StoreError> {
        let mut tx = self.write()?;
        let mut frames: HashMap<String, i64> = HashMap::new();
        for r in tx.query("SELECT name, id FROM frames", &[])? {
            frames.insert(r.get(0), r.get(1));
        }
        let mut statuses = Vec::with_capacity(profiles.len());
        for p in profiles {
            let hash = profile_content_hash(p);
            let existing = tx.query_opt(
                "SELECT id, content_hash, commit_sha FROM profiles WHERE bench = $1 AND run_id = $2",
                &[&p.bench, &p.run_id],
            )?;
            let status = match existing {
                Some(r) if r.get::<_, String>(1) == hash => {
                    statuses.push(RecordStatus::Unchanged);
                    continue;
                }
                Some(r) if !replace => {
                    return Err(StoreError::RunConflict {
                        run_id: format!("{}/{}", p.bench, p.run_id),
                        stored_commit: r.get(2),
                    });
                }
                Some(r) => {
                    let id: i64 = r.get(0);
                    tx.execute("DELETE FROM profile_stacks WHERE profile = $1", &[&id])?;
                    tx.execute("DELETE FROM profile_frames WHERE profile = $1", &[&id])?;
                    tx.execute("DELETE FROM profiles WHERE id = $1", &[&id])?;
                    RecordStatus::Replaced
                }
                None => RecordStatus::Inserted,
            };
            let samples: u64 = p.stacks.iter().map(|(_, n)| n).sum();
            let recorded = now();
            let profile: i64 = tx
                .query_one(
                    "INSERT INTO profiles (bench, run_id, commit_sha, time, time_given, recorded_at, source, samples,
                         content_hash, sample_count)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                    &[
                        &p.bench,
                        &p.run_id,
                        &p.commit,
                        &p.time.unwrap_or(recorded),
                        &p.time.is_some(),
                        &recorded,
                        &p.source,
                        &(samples as i64),
                        &hash,
                        &(p.sample_count as i64),
                    ],
                )?
                .get(0);
            insert_stacks(&mut tx, profile, &p.stacks, &mut frames)?;
            statuses.push(status);
        }
        tx.commit()?;
        Ok(statuses)
    }

    pub(super) fn quarantine_pg(&mut self, test: i64, since: i64, reason: Option<&str>) -> Result<bool, StoreError> {
        let mut tx = self.write()?;
        let existed: bool = tx.query_one("SELECT EXISTS (SELECT 1 FROM quarantine WHERE test = $1)", &[&test])?.get(0);
        tx.execute(
            "INSERT INTO quarantine (test, since, reason) VALUES ($1, $2, $3)
             ON CONFLICT (test) DO UPDATE SET reason = COALESCE(excluded.reason, quarantine.reason)",
            &[&test, &since, &reason],
        )?;
        tx.commit()?;
        Ok(!existed)
    }

    pub(super) fn release_pg(&mut self, test: i64) -> Result<bool, StoreError> {
        let mut tx = self.write()?;
        let n = tx.execute("DELETE FROM quarantine WHERE test = $1", &[&test])?;
        tx.commit()?;
        Ok(n > 0)
    }

    pub(super) fn create_token_pg(
        &mut self,
        name: &str,
        scopes: &str,
        hash: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write()?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO tokens (name, hash, scopes, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                &[&name, &hash, &scopes, &now],
            )?
            .get(0);
        tx.commit()?;
        Ok(id)
    }

    pub(super) fn revoke_token_pg(&mut self, which: &str, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.write()?;
        let n = match which.parse::<i64>() {
            Ok(id) => {
                tx.execute("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", &[&now, &id])?
            }
            Err(_) => {
                tx.execute("UPDATE tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL", &[&now, &which])?
            }
        };
        tx.commit()?;
        Ok(n > 0)
    }
}

pub(super) fn newest_run(tx: &mut Transaction<'_>) -> Result<Option<RunKey>, StoreError> {
    Ok(tx
        .query_opt("SELECT time, id FROM runs ORDER BY time DESC, id DESC LIMIT 1", &[])?
        .map(|r| RunKey { time: r.get(0), id: r.get(1) }))
}

fn insert_selection(tx: &mut Transaction<'_>, s: &NewSelection, after: Option<RunKey>) -> Result<i64, StoreError> {
    let row = tx.query_one(
        "INSERT INTO selections (commit_sha, base, created_at, after_time, after_run, mode, observe, reason,
             model, threshold, shard_index, shard_count, n_selected, n_skipped, estimated_s, total_s, selected, skipped)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
        &[
            &s.commit,
            &s.base,
            &s.created_at,
            &after.map(|k| k.time),
            &after.map(|k| k.id),
            &if s.subset { "subset" } else { "all" },
            &s.observe,
            &s.reason,
            &s.model,
            &s.threshold,
            &s.shard.map(|(i, _)| i as i64),
            &s.shard.map(|(_, n)| n as i64),
            &(s.selected.len() as i64),
            &(s.skipped.len() as i64),
            &s.estimated_s,
            &s.total_s,
            &selection_ids_packed(&s.selected),
            &selection_ids_packed(&s.skipped),
        ],
    )?;
    Ok(row.get(0))
}

fn insert_stacks(
    tx: &mut Transaction<'_>,
    profile: i64,
    stacks: &[(Vec<String>, u64)],
    frames: &mut HashMap<String, i64>,
) -> Result<(), StoreError> {
    let mut per_frame: HashMap<i64, (u64, u64)> = HashMap::new();
    let mut samples: HashMap<i64, u64> = HashMap::new();
    for (stack, n) in stacks {
        let mut ids = Vec::with_capacity(stack.len());
        for name in stack {
            let id = match frames.get(name.as_str()) {
                Some(&id) => id,
                None => {
                    let id: i64 = tx.query_one("INSERT INTO frames (name) VALUES ($1) RETURNING id", &[name])?.get(0);
                    frames.insert(name.clone(), id);
                    id
                }
            };
            ids.push(id);
        }
        let blob = crate::store::pack_lines(&ids.iter().map(|&id| id as u32).collect::<Vec<_>>());
        let stack_id: i64 = match tx.query_opt("SELECT id FROM stacks WHERE frames = $1", &[&blob])? {
            Some(r) => r.get(0),
            None => tx.query_one("INSERT INTO stacks (frames) VALUES ($1) RETURNING id", &[&blob])?.get(0),
        };
        // Two stacks the same after normalisation are one row, as in SQLite's (which refuses
        // the second): their samples add up.
        *samples.entry(stack_id).or_default() += n;
        crate::store::count_frames(&mut per_frame, &ids, *n);
    }
    for (stack, n) in samples {
        tx.execute(
            "INSERT INTO profile_stacks (profile, stack, samples) VALUES ($1, $2, $3)",
            &[&profile, &stack, &(n as i64)],
        )?;
    }
    for (frame, (own, total)) in per_frame {
        tx.execute(
            "INSERT INTO profile_frames (profile, frame, self_samples, total_samples) VALUES ($1, $2, $3, $4)",
            &[&profile, &frame, &(own as i64), &(total as i64)],
        )?;
    }
    Ok(())
}

/// Writes runs within one transaction (SQLite's writer, in Postgres's terms).
#[derive(Default)]
struct Writer {
    /// Every stored test's name -> id, read once per transaction.
    tests: Option<HashMap<String, i64>>,
    next_test: i64,
}

impl Writer {
    fn run(
        &mut self,
        tx: &mut Transaction<'_>,
        info: &RunInfo,
        results: &[TestResult],
        changes: Option<&ChangeSet>,
        replace: bool,
    ) -> Result<RecordStatus, StoreError> {
        let hash = content_hash(info, results);
        let existing = tx
            .query_opt("SELECT id, content_hash, commit_sha FROM runs WHERE run_id = $1", &[&info.run_id])?
            .map(|r| (r.get::<_, i64>(0), r.get::<_, String>(1), r.get::<_, String>(2)));
        let changeset = changes.map(|c| changeset(tx, c)).transpose()?;
        let (run_pk, status) = match existing {
            Some((pk, stored_hash, _)) if stored_hash == hash => {
                if let Some(cs) = changeset {
                    let filled =
                        tx.execute("UPDATE runs SET changeset = $1 WHERE id = $2 AND changeset IS NULL", &[&cs, &pk])?;
                    if filled > 0 {
                        tx.execute("DELETE FROM state_meta", &[])?;
                    }
                }
                return Ok(RecordStatus::Unchanged);
            }
            Some((_, _, stored_commit)) if !replace => {
                return Err(StoreError::RunConflict { run_id: info.run_id.clone(), stored_commit });
            }
            Some((pk, _, _)) => {
                tx.execute("DELETE FROM state_meta", &[])?;
                tx.execute("DELETE FROM results WHERE run = $1", &[&pk])?;
                tx.execute(
                    "UPDATE runs SET commit_sha = $1, base = $2, branch = $3, job = $4, time = $5, recorded_at = $6,
                     source = $7, content_hash = $8, changeset = $9 WHERE id = $10",
                    &[
                        &info.commit,
                        &info.base,
                        &info.branch,
                        &info.job,
                        &info.time,
                        &now(),
                        &info.source,
                        &hash,
                        &changeset,
                        &pk,
                    ],
                )?;
                (pk, RecordStatus::Replaced)
            }
            None => {
                let pk: i64 = tx
                    .query_one(
                        "INSERT INTO runs (run_id, commit_sha, base, branch, job, time, recorded_at, source, content_hash, changeset)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                        &[
                            &info.run_id,
                            &info.commit,
                            &info.base,
                            &info.branch,
                            &info.job,
                            &info.time,
                            &now(),
                            &info.source,
                            &hash,
                            &changeset,
                        ],
                    )?
                    .get(0);
                // A run stored behind the selection state's last run is not an extension of it.
                tx.execute("DELETE FROM state_meta WHERE last_time > $1", &[&info.time])?;
                (pk, RecordStatus::Inserted)
            }
        };
        self.results(tx, run_pk, results)?;
        let c = Counts::of(results);
        tx.execute(
            "UPDATE runs SET n_tests = $1, n_pass = $2, n_fail = $3, n_error = $4, n_skip = $5, n_flaky = $6 WHERE id = $7",
            &[
                &(c.tests as i64),
                &(c.pass as i64),
                &(c.fail as i64),
                &(c.error as i64),
                &(c.skip as i64),
                &(c.flaky as i64),
                &run_pk,
            ],
        )?;
        Ok(status)
    }

    /// The run's results, by binary COPY; tests the store lacks first, with the next ids.
    fn results(&mut self, tx: &mut Transaction<'_>, run_pk: i64, results: &[TestResult]) -> Result<(), StoreError> {
        if self.tests.is_none() {
            let mut all = HashMap::new();
            self.next_test = 1;
            for row in tx.query("SELECT name, id FROM tests", &[])? {
                let id: i64 = row.get(1);
                self.next_test = self.next_test.max(id + 1);
                all.insert(row.get::<_, String>(0), id);
            }
            self.tests = Some(all);
        }
        let tests = self.tests.as_mut().expect("read above");
        let mut ids = Vec::with_capacity(results.len());
        let mut new = Vec::new();
        for (i, r) in results.iter().enumerate() {
            match tests.get(r.id.as_str()) {
                Some(&id) => ids.push(id),
                None => {
                    ids.push(self.next_test);
                    tests.insert(r.id.clone(), self.next_test);
                    self.next_test += 1;
                    new.push(i);
                }
            }
        }
        if !new.is_empty() {
            let sink = tx.copy_in("COPY tests (id, name, suite_len, file, first_run) FROM STDIN BINARY")?;
            let mut w = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::TEXT, Type::INT8, Type::TEXT, Type::INT8]);
            for &i in &new {
                let r = &results[i];
                let suite_len = r.suite_len().map(|n| n as i64);
                w.write(&[&ids[i], &r.id, &suite_len, &r.file, &run_pk])?;
            }
            w.finish()?;
        }
        if !results.is_empty() {
            let sink =
                tx.copy_in("COPY results (run, seq, test, outcome, duration_s, attempts, message) FROM STDIN BINARY")?;
            let types = [Type::INT8, Type::INT8, Type::INT8, Type::INT2, Type::FLOAT8, Type::INT8, Type::TEXT];
            let mut w = BinaryCopyInWriter::new(sink, &types);
            for (i, r) in results.iter().enumerate() {
                let outcome = r.outcome.code() as i16;
                let attempts = i64::from(r.attempts);
                w.write(&[&run_pk, &(i as i64), &ids[i], &outcome, &r.duration_s, &attempts, &r.message])?;
            }
            w.finish()?;
        }
        Ok(())
    }
}

/// Stores a commit's change set once per (commit, base); its id.
fn changeset(tx: &mut Transaction<'_>, cs: &ChangeSet) -> Result<i64, StoreError> {
    let c = &cs.commit;
    tx.execute(
        "INSERT INTO commits (sha, parents, author, time, summary) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (sha) DO UPDATE SET parents = excluded.parents, author = excluded.author,
             time = excluded.time, summary = excluded.summary
         WHERE excluded.author <> ''",
        &[&c.sha, &c.parents.join(" "), &c.author, &c.time, &c.summary],
    )?;
    let base = cs.base.clone().unwrap_or_default();
    let warnings = cs.warnings.join("\n");
    let existing = tx
        .query_opt("SELECT id, complete FROM changesets WHERE commit_sha = $1 AND base_sha = $2", &[&c.sha, &base])?
        .map(|r| (r.get::<_, i64>(0), r.get::<_, bool>(1)));
    let id = match existing {
        Some((id, complete)) if complete || !cs.complete => return Ok(id),
        Some((id, _)) => {
            tx.execute("DELETE FROM changes WHERE changeset = $1", &[&id])?;
            tx.execute("UPDATE changesets SET complete = $1, warnings = $2 WHERE id = $3", &[&cs.complete, &warnings, &id])?;
            id
        }
        None => tx
            .query_one(
                "INSERT INTO changesets (commit_sha, base_sha, complete, warnings) VALUES ($1, $2, $3, $4) RETURNING id",
                &[&c.sha, &base, &cs.complete, &warnings],
            )?
            .get(0),
    };
    // One statement for every file of the change (a change of 200 files was 200 round trips).
    let (mut paths, mut olds, mut statuses, mut added, mut deleted, mut binary, mut symbols) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    for f in &cs.files {
        paths.push(f.path.as_str());
        olds.push(f.old_path.as_deref());
        statuses.push(f.kind.as_str());
        added.push(f.added.map(i64::from));
        deleted.push(f.deleted.map(i64::from));
        binary.push(f.binary);
        symbols.push((!f.symbols.is_empty()).then(|| f.symbols.join(" ")));
    }
    tx.execute(
        "INSERT INTO changes (changeset, path, old_path, status, added, deleted, is_binary, symbols)
         SELECT $1, * FROM UNNEST($2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::BIGINT[], $7::BOOLEAN[], $8::TEXT[])
         ON CONFLICT DO NOTHING",
        &[&id, &paths, &olds, &statuses, &added, &deleted, &binary, &symbols],
    )?;
    Ok(id)
}
