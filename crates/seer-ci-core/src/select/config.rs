//! `seer select`'s settings: defaults compiled in, `.config/seer.toml` in the repository
//! overrides them, flags win. Unknown keys are warned about, never fatal.

use std::path::Path;

use serde::Deserialize;

use crate::features::BUILD_FILE_PATTERNS;

/// The repository file that overrides the defaults.
pub const CONFIG_PATH: &str = ".config/seer.toml";

/// How `seer select` decides.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectConfig {
    /// Candidates are the tests that ran in this many of the latest runs.
    pub candidate_runs: usize,
    /// A project model older than this many days is stale: every test runs.
    pub max_model_age_days: f64,
    /// Tests matching these patterns are always selected.
    pub always: Vec<String>,
    /// A change to a file matching one of these makes every test run (a pattern without `/`
    /// matches a file name anywhere, one with `/` the whole path; `*` matches any text).
    pub fail_open_files: Vec<String>,
    /// In a Cargo workspace, skip tests of crates that no changed crate can reach.
    pub workspace_filter: bool,
    /// Use recorded per-test coverage (`seer coverage record`): a test that ran a changed line
    /// runs; one that ran none of them is skipped when coverage accounts for every changed line.
    pub coverage: bool,
    /// A test counts as running a changed line when it ran a line at most this many lines from it
    /// (a changed operator's effect starts where its expression does, which can be a line above).
    pub coverage_margin: u32,
    /// Coverage is looked for at the base and at most this many first-parent commits before it.
    pub coverage_max_distance: usize,
    /// Of the tests that ran the change, the model (once trusted) keeps the likeliest until their
    /// predicted failures reach this share of all of theirs, and the likeliest of each changed
    /// place; the rest go to its threshold like any test. 1 runs them all: on the mutation
    /// replays a lower share lost failing tests and saved next to no time (docs/benchmarks.md).
    pub coverage_recall: f64,
    /// The trust gate (`gate.rs`): the least failing tests a project model's validation must hold
    /// before its selections skip tests.
    pub min_validation_failing: usize,
    /// The trust gate: the newest runs over which the kept selections' observed recall is judged.
    pub drift_window_runs: usize,
}

impl Default for SelectConfig {
    fn default() -> Self {
        SelectConfig {
            candidate_runs: 5,
            max_model_age_days: 30.0,
            always: vec![],
            fail_open_files: BUILD_FILE_PATTERNS.iter().map(|p| p.to_string()).collect(),
            workspace_filter: true,
            coverage: true,
            coverage_margin: 1,
            coverage_max_distance: 100,
            coverage_recall: 1.0,
            min_validation_failing: crate::model::MIN_VALIDATION_FAILING,
            drift_window_runs: 50,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct FileConfig {
    #[serde(default)]
    select: FileSelect,
}

#[derive(Debug, Default, Deserialize)]
struct FileSelect {
    candidate_runs: Option<usize>,
    max_model_age_days: Option<f64>,
    always: Option<Vec<String>>,
    fail_open_files: Option<Vec<String>>,
    extra_fail_open_files: Option<Vec<String>>,
    workspace_filter: Option<bool>,
    coverage: Option<bool>,
    coverage_margin: Option<u32>,
    coverage_max_distance: Option<usize>,
    coverage_recall: Option<f64>,
    min_validation_failing: Option<usize>,
    drift_window_runs: Option<usize>,
}

/// Why the configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl SelectConfig {
    /// The trust gate's settings.
    pub fn gate(&self) -> super::gate::GateConfig {
        super::gate::GateConfig {
            min_validation_failing: self.min_validation_failing,
            drift_window_runs: self.drift_window_runs,
        }
    }

    /// The defaults overridden by `text` (the contents of `path`); warnings name unknown keys.
    pub fn parse(text: &str, path: &str) -> Result<(SelectConfig, Vec<String>), ConfigError> {
        let err = |message: String| ConfigError { path: path.to_string(), message };
        let de = toml::Deserializer::parse(text).map_err(|e| err(e.to_string()))?;
        let mut warnings = Vec::new();
        let file: FileConfig =
            serde_ignored::deserialize(de, |key| warnings.push(format!("{path}: unknown key {key} (ignored)")))
                .map_err(|e| err(e.to_string()))?;
        warnings.sort();
        let s = file.select;
        let mut config = SelectConfig::default();
        if let Some(n) = s.candidate_runs {
            if n == 0 {
                return Err(err("select.candidate_runs must be at least 1".into()));
            }
            config.candidate_runs = n;
        }
        if let Some(days) = s.max_model_age_days {
            if days.is_nan() || days <= 0.0 {
                return Err(err("select.max_model_age_days must be positive".into()));
            }
            config.max_model_age_days = days;
        }
        config.always = s.always.unwrap_or_default();
        if let Some(files) = s.fail_open_files {
            config.fail_open_files = files;
        }
        config.fail_open_files.extend(s.extra_fail_open_files.unwrap_or_default());
        if let Some(w) = s.workspace_filter {
            config.workspace_filter = w;
        }
        if let Some(c) = s.coverage {
            config.coverage = c;
        }
        if let Some(m) = s.coverage_margin {
            config.coverage_margin = m;
        }
        if let Some(d) = s.coverage_max_distance {
            config.coverage_max_distance = d;
        }
        if let Some(r) = s.coverage_recall {
            if !(r > 0.0 && r <= 1.0) {
                return Err(err("select.coverage_recall must be in (0, 1]".into()));
            }
            config.coverage_recall = r;
        }
        if let Some(n) = s.min_validation_failing {
            config.min_validation_failing = n;
        }
        if let Some(n) = s.drift_window_runs {
            if n == 0 {
                return Err(err("select.drift_window_runs must be at least 1".into()));
            }
            config.drift_window_runs = n;
        }
        Ok((config, warnings))
    }

    /// The configuration of the repository at `root`: its `.config/seer.toml`, else the defaults.
    pub fn load(root: &Path) -> Result<(SelectConfig, Vec<String>), ConfigError> {
        let path = root.join(CONFIG_PATH);
        match std::fs::read_to_string(&path) {
            Ok(text) => SelectConfig::parse(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((SelectConfig::default(), vec![])),
            Err(e) => Err(ConfigError { path: path.display().to_string(), message: e.to_string() }),
        }
    }

    /// The first of `paths` whose change makes every test run.
    pub fn fail_open_file<'p>(&self, mut paths: impl Iterator<Item = &'p str>) -> Option<&'p str> {
        paths.find(|p| self.fail_open_files.iter().any(|pattern| crate::features::path_matches(pattern, p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_overrides_defaults_and_warns_of_unknown_keys() {
        let text = "[select]\ncandidate_runs = 3\nalways = [\"smoke::*\"]\nextra_fail_open_files = [\"schema/*.sql\"]\ncolour = \"red\"\n[other]\n";
        let (c, warnings) = SelectConfig::parse(text, ".config/seer.toml").unwrap();
        assert_eq!(c.candidate_runs, 3);
        assert_eq!(c.always, ["smoke::*"]);
        assert!(
            c.fail_open_files.contains(&"Cargo.toml".to_string()) && c.fail_open_files.contains(&"schema/*.sql".into())
        );
        assert_eq!(
            warnings,
            [
                ".config/seer.toml: unknown key other (ignored)",
                ".config/seer.toml: unknown key select.colour (ignored)"
            ]
        );
        assert_eq!(c.fail_open_file(["src/a.rs", "schema/v2.sql"].into_iter()), Some("schema/v2.sql"));
        assert_eq!(c.fail_open_file(["crates/x/Cargo.toml"].into_iter()), Some("crates/x/Cargo.toml"));
        assert_eq!(c.fail_open_file(["src/cargo.rs", "docs/schema/v2.sql"].into_iter()), None);

        let (c, _) = SelectConfig::parse("[select]\nfail_open_files = [\"build.rs\"]\n", "f").unwrap();
        assert_eq!(c.fail_open_file(["Cargo.toml"].into_iter()), None, "the list replaces the defaults");
        let e = SelectConfig::parse("[select]\ncandidate_runs = \"five\"\n", "f").unwrap_err();
        assert!(e.to_string().starts_with("f: "), "{e}");
        let (c, _) = SelectConfig::parse("[select]\ncoverage_recall = 0.9\n", "f").unwrap();
        assert_eq!((c.coverage_recall, SelectConfig::default().coverage_recall), (0.9, 1.0));
        for bad in ["0", "1.5", "nan"] {
            let e = SelectConfig::parse(&format!("[select]\ncoverage_recall = {bad}\n"), "f").unwrap_err();
            assert!(e.to_string().contains("coverage_recall must be in (0, 1]"), "{bad}: {e}");
        }
        let e = SelectConfig::parse("[select\n", "f").unwrap_err();
        assert!(e.to_string().contains("f: "), "{e}");
    }
}
