//! Quarantined tests: `select` leaves them out of the runner arguments and lists them apart.

use rusqlite::{TransactionBehavior, params};

use super::{Store, StoreError};

impl Store {
    /// Quarantined tests: `tests.id`, since (Unix seconds), reason.
    pub fn quarantined(&self) -> Result<Vec<(i64, i64, Option<String>)>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT test, since, reason FROM quarantine ORDER BY test")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Quarantines a test (again: its reason and time are updated). Returns whether it was new.
    pub fn quarantine(&mut self, test: i64, since: i64, reason: Option<&str>) -> Result<bool, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existed: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM quarantine WHERE test = ?1)", [test], |r| r.get(0))?;
        tx.execute(
            "INSERT INTO quarantine (test, since, reason) VALUES (?1, ?2, ?3)
             ON CONFLICT (test) DO UPDATE SET reason = COALESCE(excluded.reason, reason)",
            params![test, since, reason],
        )?;
        tx.commit()?;
        Ok(!existed)
    }

    /// Releases a test from quarantine. Returns whether it was quarantined.
    pub fn release(&mut self, test: i64) -> Result<bool, StoreError> {
        Ok(self.conn.execute("DELETE FROM quarantine WHERE test = ?1", [test])? > 0)
    }
}
