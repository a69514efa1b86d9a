//! Model files: one JSON document per training, written atomically (temporary file, fsync,
//! rename) under the models directory; the live model is the newest file there.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::train::{FeatureSet, Predictor, Trained, Validation};

/// Version of the model file format; a reader refuses any other.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// The runs a model was trained on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingWindow {
    /// Runs in the store when training ran (fit + validation).
    pub runs: usize,
    pub first_run: String,
    pub last_run: String,
    /// Unix seconds of the first and last run.
    pub first_time: i64,
    pub last_time: i64,
    /// Runs, rows and failing rows the model was fitted on (the older part).
    pub fit_runs: usize,
    pub fit_rows: usize,
    pub fit_failing: usize,
}

/// A saved model: what it reads, what it was trained on, how it validated, and its threshold.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelFile {
    pub format_version: u32,
    pub seer_version: String,
    /// Unix seconds.
    pub created_at: i64,
    pub feature_set: FeatureSet,
    /// Column names, in order: a model whose names differ from this seer's is stale.
    pub features: Vec<String>,
    pub target_recall: f64,
    /// Select a test when its score is at or above this.
    pub threshold: f64,
    pub training: TrainingWindow,
    /// The chosen model's validation on the most recent window.
    pub validation: Validation,
    /// Every kind tried.
    pub candidates: Vec<Validation>,
    pub predictor: Predictor,
}

/// The models directory of the store at `db`: `models/` beside it.
///
/// A database server's store (`postgres://…`) holds its models itself; this is then a local
/// cache of them, under `$XDG_CACHE_HOME` (else `~/.cache`), by location.
pub fn models_dir(db: &Path) -> PathBuf {
    if crate::backend::is_url(db) {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        let key = xxhash_rust::xxh3::xxh3_64(db.as_os_str().as_encoded_bytes());
        return cache.join("seer").join(format!("models-{key:016x}"));
    }
    db.parent().unwrap_or(Path::new(".")).join("models")
}

/// Why a model file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a seer model file: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("{path}: model format version {found}, this seer reads {MODEL_FORMAT_VERSION}")]
    Version { path: PathBuf, found: u32 },
}

/// The error of an I/O operation on `path`.
fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ModelFileError {
    let path = path.to_path_buf();
    move |source| ModelFileError::Io { path, source }
}

impl ModelFile {
    pub fn new(trained: Trained, target_recall: f64, training: TrainingWindow, created_at: i64) -> Self {
        ModelFile {
            format_version: MODEL_FORMAT_VERSION,
            seer_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at,
            feature_set: trained.features,
            features: trained.features.names().into_iter().map(str::to_string).collect(),
            target_recall,
            threshold: trained.validation.threshold,
            training,
            validation: trained.validation,
            candidates: trained.candidates,
            predictor: trained.predictor,
        }
    }

    /// The threshold that reached `recall` of the failing tests on the validation window: the
    /// curve's first point at or above it; the model's own threshold when there is no curve.
    pub fn threshold_for(&self, recall: f64) -> f64 {
        self.validation.recall_curve.iter().find(|[r, _]| *r >= recall - 1e-9).map_or(self.threshold, |[_, t]| *t)
    }

    /// The probability of failing that the model's calibration gives `score`, if it has one.
    pub fn probability(&self, score: f64) -> Option<f64> {
        super::train::calibrated(&self.validation.calibration, score)
    }

    /// Whether this model reads the features this seer computes, by name and order.
    pub fn matches_features(&self) -> bool {
        self.features.iter().map(String::as_str).eq(self.feature_set.names())
    }

    /// Writes the model as a new file in `dir` (created if missing); returns its path.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, ModelFileError> {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let stamp = chrono::DateTime::from_timestamp(self.created_at, 0).unwrap_or_default().format("%Y%m%dT%H%M%SZ");
        let mut n = 0;
        let path = loop {
            let name = format!("model-{stamp}-{n:03}.json");
            let p = dir.join(name);
            if !p.exists() {
                break p;
            }
            n += 1;
        };
        self.save_as(&path)?;
        Ok(path)
    }

    /// Writes the model to `path` atomically: readers see the old file or the new one, whole.
    pub fn save_as(&self, path: &Path) -> Result<(), ModelFileError> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("model");
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let text = serde_json::to_vec_pretty(self).expect("a model serialises");
        let mut file = std::fs::File::create(&tmp).map_err(io_error(&tmp))?;
        if let Err(e) = file.write_all(&text).and_then(|()| file.sync_all()) {
            let _ = std::fs::remove_file(&tmp);
            return Err(io_error(&tmp)(e));
        }
        std::fs::rename(&tmp, path).map_err(io_error(path))
    }

    pub fn load(path: &Path) -> Result<ModelFile, ModelFileError> {
        let text = std::fs::read(path).map_err(io_error(path))?;
        Self::parse(&text, path)
    }

    /// Parses a model file's text (`path` names it in errors).
    pub fn parse(text: &[u8], path: &Path) -> Result<ModelFile, ModelFileError> {
        #[derive(Deserialize)]
        struct Version {
            format_version: u32,
        }
        let parse = |source| ModelFileError::Parse { path: path.into(), source };
        let v: Version = serde_json::from_slice(text).map_err(parse)?;
        if v.format_version != MODEL_FORMAT_VERSION {
            return Err(ModelFileError::Version { path: path.into(), found: v.format_version });
        }
        serde_json::from_slice(text).map_err(parse)
    }
}

/// Whether a file name is a model file's (`model-TIME-N.json`).
pub fn is_model_file(name: &str) -> bool {
    name.starts_with("model-") && name.ends_with(".json")
}

/// The newest model file in `dir` (names sort by time), if any.
pub fn latest(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(is_model_file))
        .max()
}

/// Where the live model comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelSource {
    /// The newest model file of the project's models directory.
    Project,
    /// The cold-start model compiled into seer.
    Bundled,
}

impl ModelSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelSource::Project => "project",
            ModelSource::Bundled => "bundled",
        }
    }
}

/// The live model of the models directory `dir`: its newest model file, else the bundled
/// cold-start model; with its name for messages (the file's path) and where it came from.
pub fn live(dir: &Path) -> Result<(ModelFile, String, ModelSource), ModelFileError> {
    match latest(dir) {
        Some(path) => Ok((ModelFile::load(&path)?, path.display().to_string(), ModelSource::Project)),
        None => Ok((cold_start()?, COLD_START_NAME.to_string(), ModelSource::Bundled)),
    }
}

/// Where the bundled cold-start model comes from (for messages).
pub const COLD_START_NAME: &str = "bundled cold-start model (models/cold-start.json)";

/// The cold-start model compiled into seer: history features only, trained on public CI history
/// by `scripts/train-cold-start.sh`; the live model until a project trains its own.
pub fn cold_start() -> Result<ModelFile, ModelFileError> {
    ModelFile::parse(include_bytes!("../../../../models/cold-start.json"), Path::new("models/cold-start.json"))
}
