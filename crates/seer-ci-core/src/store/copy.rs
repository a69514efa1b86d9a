//! What `seer store copy` reads and writes beyond runs, coverage reads and profiles: each
//! commit's coverage as recorded, the kept selections, and the tokens with their hashes.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::selections::insert_selection;
use super::{NewSelection, RunKey, Scope, Store, StoreError, unpack, unpack_spans};
use crate::collect::lcov::{FileLines, Span, TestCoverage};

/// A kept selection, with the run (by id) it came after.
#[derive(Debug, Clone)]
pub struct KeptSelection {
    pub selection: NewSelection,
    pub after_run: Option<String>,
}

/// A token as stored: its hash, never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub hash: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// Each test's coverage of `commit`, from the tests' hit lines and the commit's executable lines
/// (stored once per file, so each file's executable lines go with the first test): recorded
/// again, they store the same rows.
pub(crate) fn coverage_as_recorded(
    tests: Vec<String>,
    executable: Vec<(String, Vec<u32>)>,
    hits: Vec<(String, String, Vec<u32>, Vec<Span>)>,
) -> Vec<TestCoverage> {
    let mut out: BTreeMap<String, TestCoverage> =
        tests.into_iter().map(|t| (t.clone(), TestCoverage { test: t, files: BTreeMap::new() })).collect();
    let lines: BTreeMap<String, Vec<u32>> = executable.into_iter().collect();
    for (test, path, hit, unrun) in hits {
        let exe = lines.get(&path).cloned().unwrap_or_default();
        if let Some(t) = out.get_mut(&test) {
            t.files.insert(path, FileLines { executable: exe, hit, unrun });
        }
    }
    let mut out: Vec<TestCoverage> = out.into_values().collect();
    if let Some(first) = out.first_mut() {
        for (path, exe) in lines {
            first.files.entry(path).or_insert(FileLines { executable: exe, hit: vec![], unrun: vec![] });
        }
    }
    out
}

pub(crate) fn scopes_of(text: &str) -> Vec<Scope> {
    text.split(',').filter_map(Scope::parse).collect()
}

impl Store {
    pub fn coverage_tests(&self, commit: &str) -> Result<Vec<TestCoverage>, StoreError> {
        let tests = self
            .conn
            .prepare("SELECT test FROM coverage_runs WHERE commit_sha = ?1 ORDER BY test")?
            .query_map([commit], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let executable = self
            .conn
            .prepare(
                "SELECT f.path, l.lines FROM coverage_lines l JOIN coverage_files f ON f.id = l.file
                 WHERE l.commit_sha = ?1",
            )?
            .query_map([commit], |r| Ok((r.get(0)?, unpack(&r.get::<_, Vec<u8>>(1)?))))?
            .collect::<Result<_, _>>()?;
        let hits = self
            .conn
            .prepare(
                "SELECT r.test, f.path, h.lines, h.unrun FROM coverage_runs r JOIN coverage_hits h ON h.coverage = r.id
                 JOIN coverage_files f ON f.id = h.file WHERE r.commit_sha = ?1",
            )?
            .query_map([commit], |r| {
                let unrun = r.get::<_, Option<Vec<u8>>>(3)?.map(|b| unpack_spans(&b)).unwrap_or_default();
                Ok((r.get(0)?, r.get(1)?, unpack(&r.get::<_, Vec<u8>>(2)?), unrun))
            })?
            .collect::<Result<_, _>>()?;
        Ok(coverage_as_recorded(tests, executable, hits))
    }

    pub fn kept_selections(&self) -> Result<Vec<KeptSelection>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT s.commit_sha, s.base, s.created_at, s.mode, s.observe, s.reason, s.model, s.threshold,
                    s.shard_index, s.shard_count, s.estimated_s, s.total_s, s.selected, s.skipped, r.run_id
             FROM selections s LEFT JOIN runs r ON r.id = s.after_run ORDER BY s.id",
        )?;
        let rows = stmt.query_map([], |r| {
            let ids = |blob: Vec<u8>| unpack(&blob).into_iter().map(i64::from).collect();
            let shard = match (r.get::<_, Option<i64>>(8)?, r.get::<_, Option<i64>>(9)?) {
                (Some(i), Some(n)) => Some((i as usize, n as usize)),
                _ => None,
            };
            Ok(KeptSelection {
                selection: NewSelection {
                    commit: r.get(0)?,
                    base: r.get(1)?,
                    created_at: r.get(2)?,
                    subset: r.get::<_, String>(3)? == "subset",
                    observe: r.get(4)?,
                    reason: r.get(5)?,
                    model: r.get(6)?,
                    threshold: r.get(7)?,
                    shard,
                    estimated_s: r.get(10)?,
                    total_s: r.get(11)?,
                    selected: ids(r.get(12)?),
                    skipped: ids(r.get(13)?),
                },
                after_run: r.get(14)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn put_selection(&mut self, s: &NewSelection, after_run: Option<&str>) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let after = match after_run {
            Some(id) => tx
                .query_row("SELECT time, id FROM runs WHERE run_id = ?1", [id], |r| {
                    Ok(RunKey { time: r.get(0)?, id: r.get(1)? })
                })
                .optional()?,
            None => None,
        };
        insert_selection(&tx, s, after, None)?;
        tx.commit()?;
        Ok(())
    }

    pub fn token_records(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let mut stmt =
            self.conn.prepare("SELECT name, scopes, hash, created_at, revoked_at FROM tokens ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok(TokenRecord {
                name: r.get(0)?,
                scopes: scopes_of(&r.get::<_, String>(1)?),
                hash: r.get(2)?,
                created_at: r.get(3)?,
                revoked_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn put_token(&mut self, t: &TokenRecord) -> Result<(), StoreError> {
        let scopes = t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
        self.conn.execute(
            "INSERT INTO tokens (name, hash, scopes, created_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![t.name, t.hash, scopes, t.created_at, t.revoked_at],
        )?;
        Ok(())
    }
}
