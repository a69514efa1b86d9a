//! Per-test line (and region) coverage at a commit: written whole per call, read per changed file.

use hashbrown::{HashMap, HashSet};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{Store, StoreError, pack, pack_spans, unpack, unpack_spans};
use crate::collect::lcov::{Span, TestCoverage};
use crate::collect::time::now;

/// What one `record_coverage` stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CoverageRecorded {
    pub tests: usize,
    /// Of them, tests whose coverage at this commit was already stored (and is now replaced).
    pub replaced: usize,
    pub files: usize,
}

/// The coverage stored at one commit for some files.
#[derive(Debug, Clone, Default)]
pub struct CoverageAt {
    /// Every test with coverage at the commit (also those that ran none of the files asked for).
    pub tests: HashSet<String>,
    /// File → its executable lines (ascending).
    pub executable: HashMap<String, Vec<u32>>,
    /// File → (test, the lines of the file it ran, ascending).
    pub hits: HashMap<String, Vec<(String, Vec<u32>)>>,
    /// File → test → on the lines it ran, the column spans it did not (line, first column, the
    /// column after the last); only from region coverage.
    pub unrun: HashMap<String, HashMap<String, Vec<Span>>>,
}

/// A commit with stored coverage.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageCommit {
    pub commit: String,
    pub tests: usize,
    pub files: usize,
    pub recorded_at: i64,
}

/// The union of two ascending lists.
pub(crate) fn union(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut all: Vec<u32> = a.iter().chain(b).copied().collect();
    all.sort_unstable();
    all.dedup();
    all
}

impl Store {
    /// Stores the coverage of `tests` at `commit` in one transaction: a test's earlier coverage
    /// at that commit is replaced whole; other tests' is kept.
    pub fn record_coverage(&mut self, commit: &str, tests: &[TestCoverage]) -> Result<CoverageRecorded, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut recorded = CoverageRecorded { tests: tests.len(), ..Default::default() };
        let mut file_ids: HashMap<String, i64> = HashMap::new();
        let mut executable: HashMap<i64, Vec<u32>> = HashMap::new();
        let recorded_at = now();
        for t in tests {
            let old: Option<i64> = tx
                .query_row(
                    "SELECT id FROM coverage_runs WHERE commit_sha = ?1 AND test = ?2",
                    params![commit, t.test],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = old {
                tx.execute("DELETE FROM coverage_hits WHERE coverage = ?1", [id])?;
                tx.execute("DELETE FROM coverage_runs WHERE id = ?1", [id])?;
                recorded.replaced += 1;
            }
            tx.execute(
                "INSERT INTO coverage_runs (commit_sha, test, recorded_at) VALUES (?1, ?2, ?3)",
                params![commit, t.test, recorded_at],
            )?;
            let run = tx.last_insert_rowid();
            for (path, lines) in &t.files {
                let file = match file_ids.get(path) {
                    Some(&id) => id,
                    None => {
                        tx.execute("INSERT OR IGNORE INTO coverage_files (path) VALUES (?1)", [path])?;
                        let id: i64 =
                            tx.query_row("SELECT id FROM coverage_files WHERE path = ?1", [path], |r| r.get(0))?;
                        file_ids.insert(path.clone(), id);
                        id
                    }
                };
                let seen = executable.entry(file).or_default();
                *seen = union(seen, &lines.executable);
                if !lines.hit.is_empty() {
                    let unrun = (!lines.unrun.is_empty()).then(|| pack_spans(&lines.unrun));
                    tx.execute(
                        "INSERT INTO coverage_hits (coverage, file, lines, unrun) VALUES (?1, ?2, ?3, ?4)",
                        params![run, file, pack(&lines.hit), unrun],
                    )?;
                }
            }
        }
        recorded.files = executable.len();
        tx.execute(
            "INSERT OR REPLACE INTO coverage_commits (commit_sha, recorded_at) VALUES (?1, ?2)",
            params![commit, recorded_at],
        )?;
        for (file, lines) in executable {
            let stored: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT lines FROM coverage_lines WHERE commit_sha = ?1 AND file = ?2",
                    params![commit, file],
                    |r| r.get(0),
                )
                .optional()?;
            let all = union(&stored.as_deref().map(unpack).unwrap_or_default(), &lines);
            tx.execute(
                "INSERT OR REPLACE INTO coverage_lines (commit_sha, file, lines) VALUES (?1, ?2, ?3)",
                params![commit, file, pack(&all)],
            )?;
        }
        tx.commit()?;
        Ok(recorded)
    }

    /// Commits with coverage, most recently recorded first.
    pub fn coverage_commits(&self) -> Result<Vec<CoverageCommit>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT c.commit_sha,
                    (SELECT COUNT(*) FROM coverage_runs r WHERE r.commit_sha = c.commit_sha),
                    c.recorded_at,
                    (SELECT COUNT(*) FROM coverage_lines l WHERE l.commit_sha = c.commit_sha)
             FROM coverage_commits c ORDER BY c.recorded_at DESC, c.commit_sha",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(CoverageCommit {
                commit: r.get(0)?,
                tests: r.get::<_, i64>(1)? as usize,
                recorded_at: r.get(2)?,
                files: r.get::<_, i64>(3)? as usize,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The commits with coverage (cheap: what `seer select` asks first).
    pub fn coverage_commit_set(&self) -> Result<HashSet<String>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT commit_sha FROM coverage_commits")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The coverage at `commit` of `paths` (files without coverage are absent from the maps).
    pub fn coverage_at(&self, commit: &str, paths: &[&str]) -> Result<CoverageAt, StoreError> {
        let mut at = CoverageAt::default();
        let mut stmt = self.conn.prepare_cached("SELECT test FROM coverage_runs WHERE commit_sha = ?1")?;
        let tests = stmt.query_map([commit], |r| r.get::<_, String>(0))?;
        for t in tests {
            at.tests.insert(t?);
        }
        let mut lines = self.conn.prepare_cached(
            "SELECT l.lines FROM coverage_lines l JOIN coverage_files f ON f.id = l.file
             WHERE l.commit_sha = ?1 AND f.path = ?2",
        )?;
        // CROSS JOIN fixes the order: the file's few hit rows first, not every test of the commit
        // (which the planner picks when it cannot see the bound values).
        let mut hits = self.conn.prepare_cached(
            "SELECT r.test, h.lines, h.unrun FROM coverage_files f
             CROSS JOIN coverage_hits h ON h.file = f.id CROSS JOIN coverage_runs r ON r.id = h.coverage
             WHERE f.path = ?2 AND r.commit_sha = ?1",
        )?;
        for &path in paths {
            let Some(blob) = lines.query_row(params![commit, path], |r| r.get::<_, Vec<u8>>(0)).optional()? else {
                continue;
            };
            at.executable.insert(path.to_string(), unpack(&blob));
            let rows = hits.query_map(params![commit, path], |r| {
                let unrun = r.get::<_, Option<Vec<u8>>>(2)?.map(|b| unpack_spans(&b));
                Ok((r.get::<_, String>(0)?, unpack(&r.get::<_, Vec<u8>>(1)?), unrun))
            })?;
            let mut file_hits = Vec::new();
            for row in rows {
                let (test, lines, unrun) = row?;
                if let Some(spans) = unrun {
                    at.unrun.entry(path.to_string()).or_default().insert(test.clone(), spans);
                }
                file_hits.push((test, lines));
            }
            at.hits.insert(path.to_string(), file_hits);
        }
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::collect::lcov::FileLines;

    fn cov(test: &str, files: &[(&str, &[u32], &[u32])]) -> TestCoverage {
        TestCoverage {
            test: test.into(),
            files: files
                .iter()
                .map(|(p, exe, hit)| {
                    (p.to_string(), FileLines { executable: exe.to_vec(), hit: hit.to_vec(), unrun: vec![] })
                })
                .collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn coverage_is_stored_per_commit_and_a_test_recorded_again_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let first = [cov("a", &[("src/x.rs", &[1, 2, 3], &[1, 2])]), cov("b", &[("src/x.rs", &[1, 2, 3], &[])])];
        assert_eq!(store.record_coverage("c1", &first).unwrap(), CoverageRecorded { tests: 2, replaced: 0, files: 1 });
        let again = [cov("a", &[("src/x.rs", &[3, 4], &[4]), ("src/y.rs", &[9], &[9])])];
        assert_eq!(store.record_coverage("c1", &again).unwrap(), CoverageRecorded { tests: 1, replaced: 1, files: 2 });
        store.record_coverage("c2", &[cov("a", &[("src/x.rs", &[7], &[7])])]).unwrap();

        let at = store.coverage_at("c1", &["src/x.rs", "src/y.rs", "src/none.rs"]).unwrap();
        assert_eq!(at.tests, ["a", "b"].into_iter().map(String::from).collect());
        assert_eq!(at.executable["src/x.rs"], vec![1, 2, 3, 4]);
        assert_eq!(at.hits["src/x.rs"], vec![("a".to_string(), vec![4])]);
        assert_eq!(at.hits["src/y.rs"], vec![("a".to_string(), vec![9])]);
        assert!(!at.executable.contains_key("src/none.rs"));
        let commits = store.coverage_commits().unwrap();
        assert_eq!(commits.iter().map(|c| (c.commit.as_str(), c.tests, c.files)).collect::<Vec<_>>().len(), 2);
        assert!(commits.iter().any(|c| c.commit == "c1" && c.tests == 2 && c.files == 2));
    }
}
