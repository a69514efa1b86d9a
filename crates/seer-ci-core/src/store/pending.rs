//! Selections kept while another process holds the write lock: `seer select` must answer without
//! waiting, so a selection it cannot write now goes into a side file next to the store
//! (`seer.db.pending/`), and the next writer's refresh folds it into the `selections` table in the
//! same transaction that takes in new runs. Nothing is dropped silently: a side file that cannot
//! be read back is counted in `dropped_selections`, with its reason, and `seer stats` shows both
//! the queued and the dropped.
//!
//! Folding is idempotent: the file's name is kept as the selection's `pending_key` (unique), and
//! the file is removed only after the transaction commits, so a killed refresh folds it again
//! and keeps it once.

use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::selections::{NewSelection, insert_selection};
use super::test_state::{StateTx, newest_run};
use super::{RunKey, Store, StoreError};

/// A queued selection: what `seer select` chose, and the newest run stored when it chose.
#[derive(Serialize, Deserialize)]
struct Queued {
    after: Option<(i64, i64)>,
    selection: NewSelection,
}

/// The side directory of the store at `db`.
fn pending_dir(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".pending");
    db.with_file_name(name)
}

/// What a fold did: selections kept, files that could not be read (counted as dropped), and the
/// files to remove once the transaction has committed.
#[derive(Debug, Default)]
pub struct Folded {
    pub kept: usize,
    pub dropped: usize,
    pub files: Vec<PathBuf>,
}

impl Store {
    /// Queues `s` in a side file for the next writer (see the module docs). The file is written
    /// whole under a temporary name and then renamed, so a reader never sees half of one.
    pub fn queue_selection(&self, s: &NewSelection) -> Result<PathBuf, std::io::Error> {
        let after = newest_run(&self.conn).map_err(std::io::Error::other)?;
        let queued = Queued { after: after.map(|k| (k.time, k.id)), selection: s.clone() };
        let dir = pending_dir(&self.path);
        std::fs::create_dir_all(&dir)?;
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let key = format!("{}-{}-{nanos}", s.created_at, std::process::id());
        let tmp = dir.join(format!(".{key}.tmp"));
        let path = dir.join(format!("{key}.json"));
        std::fs::write(&tmp, serde_json::to_vec(&queued).map_err(std::io::Error::other)?)?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }

    /// The queued selections' files, oldest first (by name: creation time first).
    pub fn pending_selections(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(pending_dir(&self.path)) else { return vec![] };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
    }

    /// Removes side files whose selections were folded in (after the commit).
    pub fn remove_folded(&self, folded: &Folded) {
        for file in &folded.files {
            // Already gone (another writer folded it too): the unique key kept it once.
            let _ = std::fs::remove_file(file);
        }
    }

    /// Selections queued and not yet folded in, and side files that could not be read back.
    pub fn queued_and_dropped(&self) -> Result<(u64, u64), StoreError> {
        let dropped: i64 = self.conn.query_row("SELECT COUNT(*) FROM dropped_selections", [], |r| r.get(0))?;
        Ok((self.pending_selections().len() as u64, dropped as u64))
    }
}

impl StateTx<'_> {
    /// Folds the queued selections in `files` into the selections table. A selection made before
    /// runs the state has already taken in (`state_last`) is kept as made after them: those runs
    /// were judged without it, and judging them again would mean rebuilding the state.
    pub fn fold_pending(&self, files: &[PathBuf], state_last: Option<RunKey>) -> Result<Folded, StoreError> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let mut folded = Folded::default();
        for file in files {
            let key = file.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            let queued = std::fs::read(file).map_err(|e| e.to_string()).and_then(|bytes| {
                serde_json::from_slice::<Queued>(&bytes).map_err(|e| format!("not a queued selection: {e}"))
            });
            match queued {
                Ok(q) => {
                    let seen: Option<i64> = self
                        .tx
                        .query_row("SELECT id FROM selections WHERE pending_key = ?1", [&key], |r| r.get(0))
                        .optional()?;
                    if seen.is_none() {
                        let after = q.after.map(|(time, id)| RunKey { time, id });
                        let after = match (after, state_last) {
                            (Some(a), Some(last)) if a < last => Some(last),
                            (None, Some(last)) => Some(last),
                            (a, _) => a,
                        };
                        insert_selection(&self.tx, &q.selection, after, Some(&key))?;
                        folded.kept += 1;
                    }
                }
                Err(reason) if file.exists() => {
                    self.tx.execute(
                        "INSERT OR IGNORE INTO dropped_selections (file, reason, dropped_at) VALUES (?1, ?2, ?3)",
                        params![key, reason, now],
                    )?;
                    folded.dropped += 1;
                }
                // Folded and removed by another writer meanwhile.
                Err(_) => continue,
            }
            folded.files.push(file.clone());
        }
        Ok(folded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(commit: &str) -> NewSelection {
        NewSelection {
            commit: commit.into(),
            base: None,
            created_at: 1_700_000_000,
            subset: true,
            observe: false,
            reason: None,
            model: Some("m".into()),
            threshold: Some(0.5),
            shard: None,
            estimated_s: 1.0,
            total_s: 2.0,
            selected: vec![],
            skipped: vec![],
        }
    }

    #[test]
    fn a_queued_selection_is_folded_in_once_and_a_broken_one_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("seer.db")).unwrap();
        let file = store.queue_selection(&selection("c1")).unwrap();
        std::fs::write(pending_dir(store.path()).join("broken.json"), b"{\"after\": nul").unwrap();
        assert_eq!(store.queued_and_dropped().unwrap(), (2, 0));

        let files = store.pending_selections();
        let tx = store.state_transaction(std::time::Duration::ZERO).unwrap();
        let folded = tx.fold_pending(&files, None).unwrap();
        // Folding the same file again (a killed refresh) keeps it once.
        let again = tx.fold_pending(std::slice::from_ref(&file), None).unwrap();
        tx.commit().unwrap();
        assert_eq!((folded.kept, folded.dropped, again.kept), (1, 1, 0));
        store.remove_folded(&folded);
        assert_eq!(store.queued_and_dropped().unwrap(), (0, 1));
        let commits: Vec<String> = store
            .conn
            .prepare("SELECT commit_sha FROM selections")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(commits, ["c1"]);
    }
}
