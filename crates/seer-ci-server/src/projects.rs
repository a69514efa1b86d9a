//! The projects a server holds: each a directory of the data directory with its own store,
//! models and warm selection state.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use seer_ci_core::select::Warm;

/// A project's store file within its directory.
pub const PROJECT_STORE: &str = "seer.db";

/// Where the store of project `key` is under `data`.
pub fn project_store(data: &Path, key: &str) -> PathBuf {
    data.join(key).join(PROJECT_STORE)
}

/// Whether `key` may name a project: a directory name, nothing a path could escape with.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 100
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !key.starts_with('.')
}

/// One project.
pub struct Project {
    pub key: String,
    /// Where its store is: a file, or a Postgres URL naming the project's schema.
    pub db: PathBuf,
    /// Its directory in the data directory: workspace cache, and models (a Postgres store holds
    /// its models; this server keeps a copy of the newest here).
    pub dir: PathBuf,
    pub models: PathBuf,
    /// The selection state and live model kept warm between selections (one selection at a
    /// time per project reads and updates it).
    pub warm: Mutex<Warm>,
    /// A connection kept open for token lookups (opening the store is most of a lookup's time).
    pub auth: Mutex<Option<Box<dyn seer_ci_core::backend::History>>>,
}

/// Every project, found at start and when a request names a new one: each a directory of the
/// data directory with its `seer.db`, or, over Postgres, each schema of the database holding a
/// seer store.
pub struct Projects {
    data: PathBuf,
    /// The Postgres database holding every project's store, if not the data directory.
    postgres: Option<String>,
    known: RwLock<HashMap<String, Arc<Project>>>,
}

impl Projects {
    pub fn open(data: &Path, postgres: Option<&str>) -> Result<Projects, seer_ci_core::store::StoreError> {
        let projects =
            Projects { data: data.to_path_buf(), postgres: postgres.map(str::to_string), known: RwLock::default() };
        let keys: Vec<String> = match postgres {
            Some(url) => postgres_stores(url)?,
            None => {
                let entries = std::fs::read_dir(data).map_err(|source| seer_ci_core::store::StoreError::CreateDir {
                    path: data.to_path_buf(),
                    source,
                })?;
                entries.filter_map(|e| e.ok()?.file_name().to_str().map(str::to_string)).collect()
            }
        };
        for key in keys {
            projects.get(&key);
        }
        Ok(projects)
    }

    /// The project `key`, if its store exists.
    pub fn get(&self, key: &str) -> Option<Arc<Project>> {
        if let Some(p) = self.known.read().expect("projects lock").get(key) {
            return Some(p.clone());
        }
        if !valid_key(key) {
            return None;
        }
        let dir = self.data.join(key);
        let db = match &self.postgres {
            Some(url) => {
                let location = postgres_location(url, key)?;
                if !postgres_stores(url).ok()?.iter().any(|k| k == key) {
                    return None;
                }
                PathBuf::from(location)
            }
            None => {
                let db = project_store(&self.data, key);
                if !db.is_file() {
                    return None;
                }
                db
            }
        };
        let project = Arc::new(Project {
            key: key.to_string(),
            models: dir.join("models"),
            dir,
            db,
            // Uploads bring the state up to date after each run: a selection never waits for one.
            warm: Mutex::new(Warm::waiting(std::time::Duration::ZERO)),
            auth: Mutex::new(None),
        });
        Some(self.known.write().expect("projects lock").entry(key.to_string()).or_insert(project).clone())
    }

    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.known.read().expect("projects lock").keys().cloned().collect();
        keys.sort();
        keys
    }

    pub fn all(&self) -> Vec<Arc<Project>> {
        self.known.read().expect("projects lock").values().cloned().collect()
    }
}

fn postgres_stores(url: &str) -> Result<Vec<String>, seer_ci_core::store::StoreError> {
    seer_ci_core::backend::postgres::stores_in(url)
}

fn postgres_location(url: &str, key: &str) -> Option<String> {
    Some(seer_ci_core::backend::postgres::Location::parse(url).ok()?.with_schema(key))
}
