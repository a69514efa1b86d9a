//! `seer doctor`: checks a setup the way a CI step will use it, and says what to fix.

use std::path::{Path, PathBuf};

use crate::collect::{ResultSet, chain, read_changes, read_report};
use crate::model::{ModelSource, live};
use crate::select::{ConfigError, SelectConfig, judge_gate_with_models};
use crate::store::Store;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works, but not as well as it could (selection is weaker, or will soon fail open).
    Warn,
    /// Will not work: a command fails, or select always runs everything.
    Fail,
}

/// One check: what was checked, how it came out, and what was found or what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub what: &'static str,
    pub status: Status,
    pub detail: String,
}

/// What to check.
#[derive(Debug, Clone)]
pub struct DoctorRequest {
    pub db: PathBuf,
    pub models: PathBuf,
    /// The repository (`None`: no git is used).
    pub repo: Option<PathBuf>,
    /// The revision `--base` will be given, if any.
    pub base: Option<String>,
    /// Test reports the CI step will record.
    pub reports: Vec<PathBuf>,
    /// Unix seconds.
    pub now: i64,
}

/// Coverage older than this many days is reported as old: the coverage rule reads only files
/// unchanged since it was recorded, and fewer of them stay unchanged as it ages.
const COVERAGE_OLD_DAYS: f64 = 7.0;

/// Runs every check of `request`.
pub fn doctor(request: &DoctorRequest) -> Vec<Check> {
    let mut checks = vec![store_check(&request.db)];
    // The repository's configuration, read once: checked itself, and the gate judged under it.
    let config = request.repo.as_deref().map(|repo| {
        let root = crate::collect::git::repository_root(repo).unwrap_or_else(|| repo.to_path_buf());
        SelectConfig::load(&root)
    });
    if let (Some(repo), Some(config)) = (&request.repo, &config) {
        checks.push(config_check(config));
        checks.push(history_check(repo, request.base.as_deref()));
    }
    checks.extend(request.reports.iter().map(|r| report_check(r)));
    checks.push(model_check(&request.models, request.now));
    if let Ok(store) = Store::open_existing(&request.db) {
        let config = config.and_then(Result::ok).map(|(c, _)| c).unwrap_or_default();
        checks.push(gate_check(&store, &request.models, &config));
        checks.push(coverage_check(&store, request.now));
    }
    checks
}

fn check(what: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check { what, status, detail: detail.into() }
}

fn store_check(db: &Path) -> Check {
    let what = "store";
    if !db.exists() {
        // The nearest directory that exists must take a new file (nothing is created for good).
        let dir = db.ancestors().skip(1).find(|d| d.as_os_str().is_empty() || d.is_dir()).unwrap_or(Path::new("."));
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        let creatable = tempfile_in(dir);
        return match creatable {
            true => check(
                what,
                Status::Warn,
                format!("{} does not exist yet: the first `seer record` creates it", db.display()),
            ),
            false => check(
                what,
                Status::Fail,
                format!("{} cannot be created: {} is not writable", db.display(), dir.display()),
            ),
        };
    }
    match Store::open_existing(db) {
        Ok(store) if store.is_read_only() => {
            check(what, Status::Fail, format!("{} can be read but not written: record will fail", db.display()))
        }
        Ok(store) => match store.stats() {
            Ok(s) => check(what, Status::Ok, format!("{}: {} runs, {} tests, writable", db.display(), s.runs, s.tests)),
            Err(e) => check(what, Status::Fail, format!("{}: {}", db.display(), chain(&e))),
        },
        Err(e) => check(what, Status::Fail, format!("{} (select will run every test)", chain(&e))),
    }
}

/// Whether a file can be created in `dir`.
fn tempfile_in(dir: &Path) -> bool {
    let probe = dir.join(format!(".seer-doctor-{}", std::process::id()));
    let ok = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

fn config_check(loaded: &Result<(SelectConfig, Vec<String>), ConfigError>) -> Check {
    match loaded {
        Ok((_, warnings)) if warnings.is_empty() => check("configuration", Status::Ok, "no unknown keys"),
        Ok((_, warnings)) => check("configuration", Status::Warn, warnings.join("; ")),
        Err(e) => check("configuration", Status::Fail, format!("{e} (select will run every test)")),
    }
}

fn history_check(repo: &Path, base: Option<&str>) -> Check {
    let what = "git history";
    match read_changes(repo, "HEAD", base) {
        Ok((sha, cs)) if cs.complete => {
            let against = base.map_or("its first parent".to_string(), |b| format!("the merge-base with {b}"));
            check(what, Status::Ok, format!("HEAD {} is measured against {against}", crate::collect::git::short(&sha)))
        }
        Ok((_, cs)) => check(
            what,
            Status::Fail,
            format!(
                "the change of HEAD cannot be read whole ({}): fetch more history (fetch-depth: 2, or 0 with --base); select will run every test",
                cs.warnings.join("; ")
            ),
        ),
        Err(e) => check(what, Status::Fail, chain(&e)),
    }
}

fn report_check(path: &Path) -> Check {
    let mut set = ResultSet::default();
    match read_report(path, None, &mut set) {
        Ok(format) => check(
            "report",
            Status::Ok,
            format!("{}: {} tests ({})", path.display(), set.into_results().len(), format.as_str()),
        ),
        Err(e) => check("report", Status::Fail, chain(&e)),
    }
}

fn model_check(models: &Path, now: i64) -> Check {
    let what = "model";
    match live(models) {
        Ok((_, name, ModelSource::Bundled)) => {
            check(what, Status::Warn, format!("no project model yet ({name}): record runs, then `seer train`"))
        }
        Ok((model, name, _)) => {
            let age_days = (now - model.created_at) as f64 / 86_400.0;
            let v = &model.validation;
            let interval = v.recall_interval_note();
            let summary = format!(
                "{name}: {age_days:.0} days old, validated on {} failing tests, recall {:.0}%{interval}",
                v.failing,
                100.0 * v.recall
            );
            match v.thin_evidence() {
                Some(thin) => check(what, Status::Warn, format!("{summary}; {thin}")),
                None => check(what, Status::Ok, summary),
            }
        }
        Err(e) => check(what, Status::Fail, format!("{} (select will run every test)", chain(&e))),
    }
}

/// The trust gate as `select` will judge it: closed is a warning (every test runs until it opens).
fn gate_check(store: &Store, models: &Path, config: &SelectConfig) -> Check {
    let what = "trust gate";
    let failing = match store.stats() {
        Ok(s) => s.results.fail + s.results.error,
        Err(e) => return check(what, Status::Fail, chain(&e)),
    };
    match judge_gate_with_models(store, models, config.gate(), failing) {
        Ok(gate) if gate.open => check(what, Status::Ok, format!("open: {}", gate.why)),
        Ok(gate) => check(what, Status::Warn, gate.why),
        Err(e) => check(what, Status::Fail, chain(&e)),
    }
}

fn coverage_check(store: &Store, now: i64) -> Check {
    let what = "coverage";
    match store.coverage_commits() {
        Ok(commits) => match commits.first() {
            None => check(what, Status::Warn, "none recorded: `seer coverage record` makes selection safer"),
            Some(newest) => {
                let days = (now - newest.recorded_at) as f64 / 86_400.0;
                let status = if days > COVERAGE_OLD_DAYS { Status::Warn } else { Status::Ok };
                let detail = format!(
                    "newest at {} ({} tests), recorded {days:.0} days ago",
                    crate::collect::git::short(&newest.commit),
                    newest.tests
                );
                check(what, status, detail)
            }
        },
        Err(e) => check(what, Status::Fail, chain(&e)),
    }
}
