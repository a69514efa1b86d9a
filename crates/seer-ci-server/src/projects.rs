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
    pub db: PathBuf,
    pub models: PathBuf,
    /// The selection state and live model kept warm between selections (one selection at a
    /// time per project reads and updates it).
    pub warm: Mutex<Warm>,
    /// A connection kept open for token lookups (opening the store is most of a lookup's time).
    pub auth: Mutex<Option<Box<dyn seer_ci_core::backend::History>>>,
}

/// Every project, found in the data directory at start and when a request names a new one.
pub struct Projects {
    data: PathBuf,
    known: RwLock<HashMap<String, Arc<Project>>>,
}

impl Projects {
    pub fn open(data: &Path) -> std::io::Result<Projects> {
        let projects = Projects { data: data.to_path_buf(), known: RwLock::default() };
        for entry in std::fs::read_dir(data)? {
            let entry = entry?;
            if let Some(key) = entry.file_name().to_str() {
                projects.get(key);
            }
        }
        Ok(projects)
    }

    /// The project `key`, if the data directory has its store.
    pub fn get(&self, key: &str) -> Option<Arc<Project>> {
        if let Some(p) = self.known.read().expect("projects lock").get(key) {
            return Some(p.clone());
        }
        if !valid_key(key) {
            return None;
        }
        let db = project_store(&self.data, key);
        if !db.is_file() {
            return None;
        }
        let project = Arc::new(Project {
            key: key.to_string(),
            models: seer_ci_core::model::models_dir(&db),
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
