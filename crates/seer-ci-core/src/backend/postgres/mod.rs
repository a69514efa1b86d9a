//! The Postgres store behind the storage interface: one history shared by several `seer serve`
//! replicas (and the command line), each project in its own Postgres schema.
//!
//! Concurrency, across replicas:
//! - **Writers take the store's advisory lock** (`pg_advisory_xact_lock`, keyed by the schema)
//!   in every write transaction: a run, a refresh of the selection state, coverage, profiles,
//!   tokens, quarantine. Writes to one store are serial, as SQLite's are, which is what keeps a
//!   run whole (one transaction), a retry a no-op (the run id is read and written under the
//!   lock, whichever replica receives it), test ids in order of first appearance, and the
//!   selection state a prefix of the history (runs are numbered in commit order). Serializable
//!   isolation would give the same with retries on every conflicting upload; the lock costs one
//!   round trip and never asks a client to retry. Ingest is one writer at a time either way.
//! - **Readers never wait**: each read is one statement, or one read-only repeatable-read
//!   transaction when it reads several tables that must agree (`replay`, `run`).
//! - A replica's warm selection state follows the other replicas' writes by the state's key
//!   (runs taken in, last run, generation), read at every selection (`select::warm`).
//!
//! A location is a URL, `postgres://user@host:port/db`, with seer's own parameter
//! `schema=NAME` (default `seer`) naming the project's schema.

mod history;
mod schema;
mod state;
mod write;

#[cfg(any(test, feature = "conformance"))]
pub mod testing;

use std::cell::RefCell;
use std::time::Duration;

use hashbrown::HashMap;
use postgres::{Client, NoTls, Statement};

use crate::store::StoreError;

/// The schema a URL without `schema=` names.
pub const DEFAULT_SCHEMA: &str = "seer";

/// The first key of seer's advisory locks ("seer"); the second is the schema's.
const LOCK_CLASS: i32 = 0x7365_6572;
/// The lock migrations are applied under (with the schema's key).
const MIGRATION_CLASS: i32 = 0x7365_6573;

/// Whether `location` names a Postgres store rather than a file.
pub fn is_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// A Postgres location split into the driver's connection string and seer's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub url: String,
    pub schema: String,
}

impl Location {
    /// Splits seer's `schema=` out of the URL's query.
    pub fn parse(location: &str) -> Result<Location, StoreError> {
        let bad = |reason: String| StoreError::BadLocation { location: redact(location), reason };
        let (base, query) = location.split_once('?').unwrap_or((location, ""));
        let mut schema = DEFAULT_SCHEMA.to_string();
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("schema", name)) => schema = name.to_string(),
                _ => rest.push(pair),
            }
        }
        if !valid_schema(&schema) {
            return Err(bad(format!(
                "schema {schema:?} is not a project name (letters, digits, '-', '_', '.'; at most 63 bytes)"
            )));
        }
        let url = if rest.is_empty() { base.to_string() } else { format!("{base}?{}", rest.join("&")) };
        Ok(Location { url, schema })
    }

    /// The location with another schema: another project on the same server.
    pub fn with_schema(&self, schema: &str) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}schema={schema}", self.url)
    }
}

/// Whether `name` may name a schema (and so a project): what a project key may be.
pub fn valid_schema(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !name.starts_with('.')
        && !name.starts_with("pg_")
}

/// `location` without its password, for messages.
pub fn redact(location: &str) -> String {
    let Some((scheme, rest)) = location.split_once("://") else { return location.to_string() };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@').and_then(|(user, host)| Some((user.split_once(':')?.0, host))) {
        Some((user, host)) => format!("{scheme}://{user}:***@{host}{path}"),
        None => location.to_string(),
    }
}

/// The schemas of `url`'s database that hold a seer store: the projects a server finds.
pub fn stores_in(url: &str) -> Result<Vec<String>, StoreError> {
    let location = Location::parse(url)?;
    let mut client = connect(&location.url, url)?;
    let rows = client
        .query("SELECT table_schema FROM information_schema.tables WHERE table_name = 'seer_schema' ORDER BY 1", &[])?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).filter(|s| valid_schema(s)).collect())
}

fn connect(url: &str, location: &str) -> Result<Client, StoreError> {
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e: postgres::Error| StoreError::BadLocation { location: redact(location), reason: e.to_string() })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    if config.get_application_name().is_none() {
        config.application_name("seer");
    }
    config.connect(NoTls).map_err(|source| StoreError::Connect { location: redact(location), source })
}

/// A store in one schema of a Postgres database, over one connection.
pub struct PgStore {
    client: RefCell<Client>,
    /// Statements prepared on this connection, by their text.
    prepared: RefCell<HashMap<&'static str, Statement>>,
    location: String,
    schema: String,
    /// The second key of the store's advisory locks.
    lock_key: i32,
}

impl PgStore {
    /// Connects, creating the schema and its tables when there are none.
    pub fn open(location: &str) -> Result<PgStore, StoreError> {
        PgStore::connect(location, true)
    }

    /// Connects; an error when the schema holds no store (nothing is created).
    pub fn open_existing(location: &str) -> Result<PgStore, StoreError> {
        PgStore::connect(location, false)
    }

    fn connect(location: &str, create: bool) -> Result<PgStore, StoreError> {
        let parsed = Location::parse(location)?;
        let mut client = connect(&parsed.url, location)?;
        let schema = parsed.schema;
        let quoted = quote(&schema);
        client.batch_execute(&format!("SET search_path TO {quoted}"))?;
        let lock_key = xxhash_rust::xxh3::xxh3_64(schema.as_bytes()) as i32;
        let store = PgStore {
            client: RefCell::new(client),
            prepared: RefCell::default(),
            location: redact(location),
            schema,
            lock_key,
        };
        store.migrate(create)?;
        Ok(store)
    }

    /// Applies the migrations this schema lacks, in one transaction under the migration lock:
    /// replicas starting together wait for each other, and the second finds nothing to do.
    fn migrate(&self, create: bool) -> Result<(), StoreError> {
        let mut client = self.client.borrow_mut();
        let exists: bool = client
            .query_one("SELECT to_regclass(format('%I.seer_schema', $1::TEXT)) IS NOT NULL", &[&self.schema])?
            .get(0);
        if !exists && !create {
            return Err(StoreError::MissingAt { location: self.location.clone() });
        }
        if exists {
            // The common case, without the lock: the schema is current.
            let version: i64 = client.query_one("SELECT COALESCE(MAX(version), 0) FROM seer_schema", &[])?.get(0);
            if version == schema::latest() {
                return Ok(());
            }
        }
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&MIGRATION_CLASS, &self.lock_key])?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {0};
             CREATE TABLE IF NOT EXISTS {0}.seer_schema (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);",
            quote(&self.schema)
        ))?;
        let version: i64 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM seer_schema", &[])?.get(0);
        if version > schema::latest() {
            return Err(StoreError::TooNewAt {
                location: self.location.clone(),
                found: version,
                supported: schema::latest(),
            });
        }
        for (i, migration) in schema::MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.batch_execute(migration)?;
            tx.execute(
                "INSERT INTO seer_schema (version, applied_at) VALUES ($1, $2)",
                &[&(i as i64 + 1), &crate::collect::time::now()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The statement for `sql`, prepared once per connection.
    fn statement(&self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(s) = self.prepared.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.borrow_mut().prepare(sql)?;
        self.prepared.borrow_mut().insert(sql, s.clone());
        Ok(s)
    }

    fn query(
        &self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, StoreError> {
        let s = self.statement(sql)?;
        Ok(self.client.borrow_mut().query(&s, params)?)
    }

    fn query_opt(
        &self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Option<postgres::Row>, StoreError> {
        let s = self.statement(sql)?;
        Ok(self.client.borrow_mut().query_opt(&s, params)?)
    }

    fn query_one(
        &self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<postgres::Row, StoreError> {
        let s = self.statement(sql)?;
        Ok(self.client.borrow_mut().query_one(&s, params)?)
    }

    /// A write transaction holding the store's lock.
    fn write(&mut self) -> Result<postgres::Transaction<'_>, StoreError> {
        let key = self.lock_key;
        let mut tx = self.client.get_mut().transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&LOCK_CLASS, &key])?;
        Ok(tx)
    }

    /// A transaction, and whether it holds the store's write lock: it does if the lock could
    /// be had within `wait` (Postgres waits, with `lock_timeout`; no polling).
    fn write_within(&mut self, wait: Duration) -> Result<(postgres::Transaction<'_>, bool), StoreError> {
        let key = self.lock_key;
        let client = self.client.get_mut();
        if wait.is_zero() {
            let mut tx = client.transaction()?;
            let got: bool = tx.query_one("SELECT pg_try_advisory_xact_lock($1, $2)", &[&LOCK_CLASS, &key])?.get(0);
            return Ok((tx, got));
        }
        // Waiting in a savepoint: when the wait ends without the lock, the transaction goes on.
        let mut tx = client.transaction()?;
        tx.batch_execute(&format!("SET LOCAL lock_timeout = {}", wait.as_millis().max(1)))?;
        let got = {
            let mut attempt = tx.savepoint("seer_lock")?;
            match attempt.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&LOCK_CLASS, &key]) {
                Ok(_) => {
                    attempt.commit()?;
                    true
                }
                Err(e) if e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => false,
                Err(e) => return Err(e.into()),
            }
        };
        tx.batch_execute("SET LOCAL lock_timeout = 0")?;
        Ok((tx, got))
    }

    /// Runs `read` in a read-only transaction whose statements all see one snapshot.
    fn snapshot<T>(
        &self,
        read: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.client.borrow_mut();
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let out = read(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// `name` as a quoted identifier.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn count(v: i64) -> u64 {
    v.max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_that_cannot_have_the_lock_says_so_and_never_claims_the_state_current() {
        let Some(scratch) = testing::scratch("a_refresh_that_cannot_have_the_lock_says_so") else { return };
        let mut a = PgStore::open(&scratch.url).unwrap();
        let mut b = PgStore::open(&scratch.url).unwrap();
        use crate::backend::History;
        a.record_runs(&[crate::backend::conformance::run("r1", 100, Some("a"))], false).unwrap();
        a.refresh_state().unwrap();
        a.record_runs(&[crate::backend::conformance::run("r2", 200, Some("b"))], false).unwrap();
        let held = b.write().unwrap();
        let answer = a.refresh_state_at_most(Duration::ZERO, u64::MAX);
        assert!(matches!(answer, Err(StoreError::Busy { .. })), "{answer:?}");
        // Waiting (Postgres's lock_timeout), then the same answer; the connection stays usable.
        let answer = a.refresh_state_at_most(Duration::from_millis(200), u64::MAX);
        assert!(matches!(answer, Err(StoreError::Busy { .. })), "{answer:?}");
        assert_eq!(a.state_meta().unwrap().unwrap().runs, 1, "the state is as it was");
        drop(held);
        a.refresh_state_at_most(Duration::ZERO, u64::MAX).unwrap();
        assert_eq!(a.state_meta().unwrap().unwrap().runs, 2);
    }

    #[test]
    fn postgres_passes_the_conformance_suite() {
        let Some(scratch) = testing::scratch("postgres_passes_the_conformance_suite") else { return };
        let mut n = 0;
        crate::backend::conformance::check_all(&mut || {
            n += 1;
            Box::new(PgStore::open(&scratch.sibling(&format!("s{n}"))).unwrap())
        });
    }

    #[test]
    fn a_location_names_its_schema_apart_from_the_drivers_parameters() {
        let l = Location::parse("postgres://u:pw@h:5/db?schema=team-a&connect_timeout=3").unwrap();
        assert_eq!(l, Location { url: "postgres://u:pw@h:5/db?connect_timeout=3".into(), schema: "team-a".into() });
        assert_eq!(Location::parse("postgres://h/db").unwrap().schema, DEFAULT_SCHEMA);
        assert!(Location::parse("postgres://h/db?schema=a;drop").is_err());
        assert!(Location::parse("postgres://h/db?schema=pg_catalog").is_err());
        assert_eq!(redact("postgres://u:secret@h:5/db?schema=x"), "postgres://u:***@h:5/db?schema=x");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert!(is_url("postgresql://h/db") && !is_url("/var/lib/seer/seer.db"));
    }
}
