//! Postgres for tests: the server named by `SEER_TEST_POSTGRES` (`.ci/run` starts one with
//! `scripts/pg-test-cluster.sh`), and a scratch schema per test, dropped when the test ends.
//! Without the variable a test of the Postgres half says that it needs Postgres and checks
//! nothing; with `SEER_REQUIRE_POSTGRES=1` (as in CI) that is a failure.

use std::sync::atomic::{AtomicU32, Ordering};

/// A schema of its own on the test server; dropped with everything in it.
pub struct ScratchSchema {
    /// The store location: the server's URL with `schema=` this schema.
    pub url: String,
    base: String,
    pub schema: String,
}

/// The test server's URL, or `None` (said on stderr) when there is none.
pub fn server(test: &str) -> Option<String> {
    match std::env::var("SEER_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("SEER_REQUIRE_POSTGRES").is_some_and(|v| v == "1") => {
            panic!("{test} needs Postgres: SEER_REQUIRE_POSTGRES=1 but SEER_TEST_POSTGRES is not set")
        }
        _ => {
            eprintln!(
                "{test}: NOT RUN: it needs Postgres. Start one with scripts/pg-test-cluster.sh and set \
                 SEER_TEST_POSTGRES to the URL it prints (.ci/run does)."
            );
            None
        }
    }
}

/// The store `schema` on the server at `url`.
fn with_schema(url: &str, schema: &str) -> String {
    super::Location::parse(url).expect("the test server's URL").with_schema(schema)
}

/// A fresh schema on the test server, or `None` when there is no server (see [`server`]).
pub fn scratch(test: &str) -> Option<ScratchSchema> {
    static N: AtomicU32 = AtomicU32::new(0);
    let base = server(test)?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let schema = format!("t{}_{}_{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    Some(ScratchSchema { url: with_schema(&base, &schema), base, schema })
}

impl ScratchSchema {
    /// Another scratch schema on the same server (a second project).
    pub fn sibling(&self, name: &str) -> String {
        with_schema(&self.base, &format!("{}_{name}", self.schema))
    }
}

impl Drop for ScratchSchema {
    fn drop(&mut self) {
        let Ok(mut client) = postgres::Client::connect(&self.base, postgres::NoTls) else { return };
        let like = format!("{}%", self.schema);
        if let Ok(rows) = client.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE $1", &[&like]) {
            for r in rows {
                let name: String = r.get(0);
                let _ = client.batch_execute(&format!("DROP SCHEMA \"{name}\" CASCADE"));
            }
        }
    }
}

/// A database of its own on the test server (for servers, whose projects are the schemas of
/// one database); dropped, connections and all, when the test ends.
pub struct ScratchDatabase {
    /// The database's URL.
    pub url: String,
    admin: String,
    name: String,
}

/// A fresh database on the test server, or `None` when there is no server (see [`server`]).
pub fn scratch_database(test: &str) -> Option<ScratchDatabase> {
    static N: AtomicU32 = AtomicU32::new(0);
    let admin = server(test)?;
    let name = format!("seer_t{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("connect to the test server");
    client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
    client.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let (base, query) = admin.split_once('?').unwrap_or((&admin, ""));
    let base = &base[..base.rfind('/').expect("a URL with a database")];
    let url = if query.is_empty() { format!("{base}/{name}") } else { format!("{base}/{name}?{query}") };
    Some(ScratchDatabase { url, admin, name })
}

impl ScratchDatabase {
    /// The store of project `key` in this database.
    pub fn project(&self, key: &str) -> String {
        with_schema(&self.url, key)
    }

    /// Whether a connection is writing a run's results now (a COPY into `results` under way).
    pub fn copying_results(&self) -> bool {
        let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) else { return false };
        client
            .query_one(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = $1 AND state = 'active'
                 AND query LIKE 'COPY results%'",
                &[&self.name],
            )
            .is_ok_and(|r| r.get::<_, i64>(0) > 0)
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// A PostgreSQL cluster of a test's own (`scripts/pg-test-cluster.sh` in a directory and on a
/// port of its own), for tests that stop and restart the server; removed when the test ends.
pub struct OwnCluster {
    /// Its `seer_test` database.
    pub url: String,
    dir: std::path::PathBuf,
    port: u16,
}

const CLUSTER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/pg-test-cluster.sh");

/// A new cluster, or `None` where Postgres is not available (see [`server`]).
pub fn own_cluster(test: &str) -> Option<OwnCluster> {
    static N: AtomicU32 = AtomicU32::new(0);
    server(test)?;
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let dir =
        std::env::temp_dir().join(format!("seer-pg-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    let mut cluster = OwnCluster { url: String::new(), dir, port };
    let out = cluster.script(&[]);
    cluster.url = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(out.status.success() && !cluster.url.is_empty(), "{test}: {}", String::from_utf8_lossy(&out.stderr));
    Some(cluster)
}

impl OwnCluster {
    fn script(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("bash")
            .arg(CLUSTER_SCRIPT)
            .args(args)
            .env("SEER_PG_DIR", &self.dir)
            .env("SEER_PG_PORT", self.port.to_string())
            .output()
            .expect("run scripts/pg-test-cluster.sh")
    }

    /// Stops the server (fast shutdown: connections are cut).
    pub fn stop(&self) {
        let out = self.script(&["stop"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    /// Starts the server again.
    pub fn start(&self) {
        let out = self.script(&[]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = self.script(&["stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
