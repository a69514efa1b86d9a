//! Writing and reading profiles: frames and stacks interned, one row per (profile, stack) and
//! per (profile, frame); a profile is stored whole or not at all.

use hashbrown::HashMap;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use xxhash_rust::xxh3::Xxh3;

use super::{RecordStatus, Store, StoreError, pack, unpack};
use crate::collect::put_digest_field;
use crate::collect::time::now;

/// One profile to store.
#[derive(Debug, Clone)]
pub struct NewProfile {
    pub bench: String,
    pub run_id: String,
    pub commit: String,
    /// Unix seconds; `None`: when it is recorded.
    pub time: Option<i64>,
    pub source: String,
    /// Distinct stacks (root first) and their counts (perf's weighted by period).
    pub stacks: Vec<(Vec<String>, u64)>,
    /// How many samples were taken (perf's sample records).
    pub sample_count: u64,
}

/// A stored profile, without its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRun {
    pub id: i64,
    pub bench: String,
    pub run_id: String,
    pub commit: String,
    pub time: i64,
    pub time_given: bool,
    /// The stacks' counts added up: for perf, weighted by period (time, in ns for cpu-clock).
    pub samples: u64,
    pub source: String,
    /// How many samples were taken; `None` for a profile recorded before seer counted them.
    pub sample_count: Option<u64>,
}

/// One frame's samples in one profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameSamples {
    pub profile: i64,
    pub frame: i64,
    pub self_samples: u64,
    pub total_samples: u64,
}

pub(crate) fn content_hash(p: &NewProfile) -> String {
    let mut h = Xxh3::new();
    let mut head = Vec::new();
    put_digest_field(&mut head, Some(&p.commit));
    h.update(&head);
    for (stack, n) in &p.stacks {
        for f in stack {
            h.update(f.as_bytes());
            h.update(&[0]);
        }
        h.update(&n.to_le_bytes());
    }
    format!("{:032x}", h.digest128())
}

const PROFILE_COLUMNS: &str = "id, bench, run_id, commit_sha, time, time_given, samples, source, sample_count";

fn profile_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProfileRun> {
    Ok(ProfileRun {
        id: r.get(0)?,
        bench: r.get(1)?,
        run_id: r.get(2)?,
        commit: r.get(3)?,
        time: r.get(4)?,
        time_given: r.get(5)?,
        samples: r.get::<_, i64>(6)?.max(0) as u64,
        source: r.get(7)?,
        sample_count: r.get::<_, Option<i64>>(8)?.map(|n| n.max(0) as u64),
    })
}

/// Clears the way for profile `p`: `None` when it is stored with the same content (nothing to
/// do), else whether it is new or replaces a stored one (removed here); a conflict is refused.
fn make_room(
    tx: &Transaction<'_>,
    p: &NewProfile,
    hash: &str,
    replace: bool,
) -> Result<Option<RecordStatus>, StoreError> {
    let existing: Option<(i64, String, String)> = tx
        .query_row(
            "SELECT id, content_hash, commit_sha FROM profiles WHERE bench = ?1 AND run_id = ?2",
            params![p.bench, p.run_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match existing {
        Some((_, stored, _)) if stored == hash => Ok(None),
        Some((_, _, stored_commit)) if !replace => {
            Err(StoreError::RunConflict { run_id: format!("{}/{}", p.bench, p.run_id), stored_commit })
        }
        Some((id, _, _)) => {
            tx.execute("DELETE FROM profile_stacks WHERE profile = ?1", [id])?;
            tx.execute("DELETE FROM profile_frames WHERE profile = ?1", [id])?;
            tx.execute("DELETE FROM profiles WHERE id = ?1", [id])?;
            Ok(Some(RecordStatus::Replaced))
        }
        None => Ok(Some(RecordStatus::Inserted)),
    }
}

/// Counts a stack of `n` samples (frame ids, root first) into each frame's (self, total)
/// samples: the top frame's self, and each frame's total once per stack (recursion would count
/// it twice). Every backend's per-frame rows come from here.
pub(crate) fn count_frames<T: Copy + Eq + std::hash::Hash>(per_frame: &mut HashMap<T, (u64, u64)>, ids: &[T], n: u64) {
    let mut seen: Vec<T> = Vec::with_capacity(ids.len());
    for &id in ids {
        if !seen.contains(&id) {
            seen.push(id);
            per_frame.entry(id).or_default().1 += n;
        }
    }
    if let Some(&top) = ids.last() {
        per_frame.entry(top).or_default().0 += n;
    }
}

/// A profile's stacks (frames and stacks interned, new ones added to `frames` and the tables)
/// and its per-frame self and inclusive samples.
fn insert_stacks(
    tx: &Transaction<'_>,
    profile: i64,
    stacks: &[(Vec<String>, u64)],
    frames: &mut HashMap<String, u32>,
) -> Result<(), StoreError> {
    let mut add_frame = tx.prepare_cached("INSERT INTO frames (name) VALUES (?1)")?;
    let mut find_stack = tx.prepare_cached("SELECT id FROM stacks WHERE frames = ?1")?;
    let mut add_stack = tx.prepare_cached("INSERT INTO stacks (frames) VALUES (?1)")?;
    let mut add_sample =
        tx.prepare_cached("INSERT INTO profile_stacks (profile, stack, samples) VALUES (?1, ?2, ?3)")?;
    let mut per_frame: HashMap<u32, (u64, u64)> = HashMap::new();
    for (stack, n) in stacks {
        let mut ids = Vec::with_capacity(stack.len());
        for name in stack {
            let id = match frames.get(name.as_str()) {
                Some(&id) => id,
                None => {
                    add_frame.execute([name])?;
                    let id = tx.last_insert_rowid() as u32;
                    frames.insert(name.clone(), id);
                    id
                }
            };
            ids.push(id);
        }
        let blob = pack(&ids);
        let stack_id: i64 = match find_stack.query_row([&blob], |r| r.get(0)).optional()? {
            Some(id) => id,
            None => {
                add_stack.execute([&blob])?;
                tx.last_insert_rowid()
            }
        };
        add_sample.execute(params![profile, stack_id, *n as i64])?;
        count_frames(&mut per_frame, &ids, *n);
    }
    let mut add_frame_samples = tx.prepare_cached(
        "INSERT INTO profile_frames (profile, frame, self_samples, total_samples) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (frame, (own, total)) in per_frame {
        add_frame_samples.execute(params![profile, frame, own as i64, total as i64])?;
    }
    Ok(())
}

impl Store {
    /// Stores profiles in one transaction: all, or none if any conflicts. A (bench, run id) held
    /// with the same content is left alone; with other content it is refused unless `replace`.
    pub fn record_profiles(&mut self, profiles: &[NewProfile], replace: bool) -> Result<Vec<RecordStatus>, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut frames: HashMap<String, u32> = HashMap::new();
        {
            let mut stmt = tx.prepare("SELECT name, id FROM frames")?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                frames.insert(r.get(0)?, r.get(1)?);
            }
        }
        let mut statuses = Vec::with_capacity(profiles.len());
        for p in profiles {
            let hash = content_hash(p);
            let status = match make_room(&tx, p, &hash, replace)? {
                Some(status) => status,
                None => {
                    statuses.push(RecordStatus::Unchanged);
                    continue;
                }
            };
            let samples: u64 = p.stacks.iter().map(|(_, n)| n).sum();
            let recorded = now();
            tx.execute(
                "INSERT INTO profiles (bench, run_id, commit_sha, time, time_given, recorded_at, source, samples, content_hash, sample_count)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    p.bench,
                    p.run_id,
                    p.commit,
                    p.time.unwrap_or(recorded),
                    p.time.is_some(),
                    recorded,
                    p.source,
                    samples as i64,
                    hash,
                    p.sample_count as i64
                ],
            )?;
            insert_stacks(&tx, tx.last_insert_rowid(), &p.stacks, &mut frames)?;
            statuses.push(status);
        }
        tx.commit()?;
        Ok(statuses)
    }

    /// The benches that have profiles, with their number of profiles, in name order.
    pub fn benches(&self) -> Result<Vec<(String, u64, u64)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT bench, COUNT(*), COUNT(DISTINCT commit_sha) FROM profiles GROUP BY bench ORDER BY bench",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every profile of `bench`, in recording order.
    pub fn profile_runs(&self, bench: &str) -> Result<Vec<ProfileRun>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE bench = ?1 ORDER BY id"))?;
        let rows = stmt.query_map([bench], profile_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Per-frame samples of these profiles.
    pub fn frame_samples(&self, profiles: &[i64]) -> Result<Vec<FrameSamples>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT profile, frame, self_samples, total_samples FROM profile_frames WHERE profile = ?1",
        )?;
        let mut out = Vec::new();
        for &p in profiles {
            let rows = stmt.query_map([p], |r| {
                Ok(FrameSamples {
                    profile: r.get(0)?,
                    frame: r.get(1)?,
                    self_samples: r.get::<_, i64>(2)?.max(0) as u64,
                    total_samples: r.get::<_, i64>(3)?.max(0) as u64,
                })
            })?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }

    /// The names of frames by id.
    pub fn frame_names(&self, ids: &[i64]) -> Result<HashMap<i64, String>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT name FROM frames WHERE id = ?1")?;
        let mut out = HashMap::with_capacity(ids.len());
        for &id in ids {
            if let Some(name) = stmt.query_row([id], |r| r.get::<_, String>(0)).optional()? {
                out.insert(id, name);
            }
        }
        Ok(out)
    }

    /// The stacks of these profiles, their samples added up, with frame names (root first), in
    /// no particular order (inferno sorts what it draws).
    pub fn merged_stacks(&self, profiles: &[i64]) -> Result<Vec<(Vec<String>, u64)>, StoreError> {
        let stacks = self.merged_stack_ids(profiles)?;
        // Every frame name once.
        let mut names: HashMap<i64, String> = HashMap::new();
        {
            let mut stmt = self.conn.prepare_cached("SELECT id, name FROM frames")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                names.insert(row.get(0)?, row.get(1)?);
            }
        }
        Ok(stacks
            .into_iter()
            .map(|(ids, n)| (ids.iter().map(|id| names.get(id).cloned().unwrap_or_default()).collect(), n))
            .collect())
    }

    /// The stacks of these profiles, their samples added up, as frame ids (root first), in no
    /// particular order: what the detector reads callers and callees from.
    pub fn merged_stack_ids(&self, profiles: &[i64]) -> Result<Vec<(Vec<i64>, u64)>, StoreError> {
        let mut counts: HashMap<Vec<u8>, u64> = HashMap::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.frames, p.samples FROM profile_stacks p JOIN stacks s ON s.id = p.stack WHERE p.profile = ?1",
        )?;
        for &p in profiles {
            let mut rows = stmt.query([p])?;
            while let Some(row) = rows.next()? {
                let frames = row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
                let n = row.get::<_, i64>(1)?.max(0) as u64;
                match counts.get_mut(frames) {
                    Some(c) => *c += n,
                    None => {
                        counts.insert(frames.to_vec(), n);
                    }
                }
            }
        }
        Ok(counts.into_iter().map(|(blob, n)| (unpack(&blob).iter().map(|&id| i64::from(id)).collect(), n)).collect())
    }
}
