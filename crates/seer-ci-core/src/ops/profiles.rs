//! Profiles: recording a bench's runs at a commit, finding them again, and what the detector
//! and the trend make of them.

use std::collections::BTreeSet;

use hashbrown::HashMap;
use std::path::{Path, PathBuf};

use super::Error;
use crate::backend::History;
use crate::collect::git::short;
use crate::profile::{
    FlamegraphOptions, ProfileHistory, ReadOptions, differential_svg, flamegraph_svg, history, read_profile,
    run_frames, stacks,
};
use seer_ci_api::{ProfileRecordJson, ProfileRecordedJson};

use crate::regress::{CompareOptions, Comparison, Trend, TrendFramesOptions, compare, trend_by_frame};
use crate::store::{NewProfile, ProfileRun, RecordStatus};

/// What `seer profile record` reads.
#[derive(Debug, Clone)]
pub struct ProfileRecordRequest {
    pub bench: String,
    pub commit: String,
    /// Unix seconds; `None`: when it is recorded.
    pub time: Option<i64>,
    /// The run id of one file (RID.1, RID.2, … for several); `None`: COMMIT/FILE-NAME.
    pub run_id: Option<String>,
    /// Each file's run id, when given (an upload to `seer serve`); overrides `run_id`.
    pub run_ids: Vec<String>,
    /// Format, normalisation and size limit of every file.
    pub read: ReadOptions,
    pub replace: bool,
    pub files: Vec<PathBuf>,
}

/// `seer profile record --json`'s document.
pub fn profiles_json(bench: &str, commit: &str, recorded: &[(NewProfile, RecordStatus)]) -> ProfileRecordJson {
    let profiles = recorded
        .iter()
        .map(|(p, s)| ProfileRecordedJson {
            run_id: p.run_id.clone(),
            status: s.as_str().into(),
            samples: p.stacks.iter().map(|(_, n)| n).sum(),
            sample_count: p.sample_count,
            stacks: p.stacks.len() as u64,
            source: p.source.clone(),
        })
        .collect();
    ProfileRecordJson {
        format_version: seer_ci_api::FORMAT_VERSION,
        bench: bench.into(),
        commit: commit.into(),
        profiles,
    }
}

/// The run id of the `k`-th of `n` profile files named `file`: `run_id` itself for one file,
/// `run_id.K` for several, else `commit/file` (`seer profile record`, locally and through a
/// server).
pub fn profile_run_id(run_id: Option<&str>, commit: &str, (k, n): (usize, usize), file: &str) -> String {
    match (run_id, n) {
        (Some(rid), 1) => rid.to_string(),
        (Some(rid), _) => format!("{rid}.{}", k + 1),
        (None, _) => format!("{commit}/{file}"),
    }
}

/// `seer profile record`: every file read, then every profile stored in one transaction.
pub fn record_profiles(db: &Path, request: &ProfileRecordRequest) -> Result<Vec<(NewProfile, RecordStatus)>, Error> {
    let mut profiles = Vec::with_capacity(request.files.len());
    for (k, path) in request.files.iter().enumerate() {
        let folded = read_profile(path, &request.read)?;
        let run_id = match request.run_ids.get(k) {
            Some(given) if request.run_ids.len() == request.files.len() => given.clone(),
            _ => {
                let name =
                    path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
                profile_run_id(request.run_id.as_deref(), &request.commit, (k, request.files.len()), &name)
            }
        };
        profiles.push(NewProfile {
            bench: request.bench.clone(),
            run_id,
            commit: request.commit.clone(),
            time: request.time,
            source: folded.source,
            stacks: folded.stacks,
            sample_count: folded.sample_count,
        });
    }
    let statuses = crate::backend::open(db)?.record_profiles(&profiles, request.replace)?;
    Ok(profiles.into_iter().zip(statuses).collect())
}

/// `seer profile run`: `perf` profiles the command `perf.runs` times, and the runs are recorded
/// as `record` says (its files are the runs' `perf script` output). Nothing is stored unless every
/// run was profiled.
pub fn profile_run(
    db: &Path,
    perf: &crate::profile::PerfRequest,
    record: ProfileRecordRequest,
) -> Result<Vec<(NewProfile, RecordStatus)>, Error> {
    let files = crate::profile::perf_runs(perf)?;
    record_profiles(db, &ProfileRecordRequest { files, ..record })
}

/// The profiles of `bench` at `commit` (a full sha or a unique prefix of one).
pub fn profile_runs_at(store: &dyn History, bench: &str, commit: &str) -> Result<Vec<ProfileRun>, Error> {
    let runs = store.profile_runs(bench)?;
    let mut matching: Vec<ProfileRun> = runs.iter().filter(|r| r.commit == commit).cloned().collect();
    if matching.is_empty() {
        let prefixed: Vec<&ProfileRun> = runs.iter().filter(|r| r.commit.starts_with(commit)).collect();
        let commits: BTreeSet<&str> = prefixed.iter().map(|r| r.commit.as_str()).collect();
        if commits.len() > 1 {
            return Err(Error::Ambiguous { given: commit.to_string(), count: commits.len(), what: "profiled commits" });
        }
        matching = prefixed.into_iter().cloned().collect();
    }
    if matching.is_empty() {
        let what = format!("profiles of bench {bench:?} at commit {commit:?}");
        return Err(Error::NotFound { what, store: store.location().into() });
    }
    Ok(matching)
}

/// What `seer profile flamegraph` draws.
#[derive(Debug, Clone)]
pub struct FlamegraphRequest {
    pub bench: String,
    pub commit: String,
}

/// `seer profile flamegraph`: the SVG of a bench's runs at a commit, merged; with the runs.
pub fn flamegraph(db: &Path, request: &FlamegraphRequest) -> Result<(Vec<u8>, Vec<ProfileRun>), Error> {
    let store = crate::backend::open_existing(db)?;
    let runs = profile_runs_at(store.as_ref(), &request.bench, &request.commit)?;
    let stacks = store.merged_stacks(&runs.iter().map(|r| r.id).collect::<Vec<_>>())?;
    let samples: u64 = runs.iter().map(|r| r.samples).sum();
    let options = FlamegraphOptions {
        title: format!("{} at {}", request.bench, short(&request.commit)),
        subtitle: Some(format!("{} runs merged, {samples} samples", runs.len())),
        static_svg: false,
    };
    let svg = flamegraph_svg(&stacks, &options).map_err(Error::Flamegraph)?;
    Ok((svg, runs))
}

/// A comparison of two commits' profiles, with what it needs to be shown.
#[derive(Debug)]
pub struct Compared {
    pub base_runs: Vec<ProfileRun>,
    pub head_runs: Vec<ProfileRun>,
    pub comparison: Comparison,
    /// Names of the frames the comparison reports.
    pub names: HashMap<i64, String>,
    /// The differential flame graph, when asked for.
    pub svg: Option<Vec<u8>>,
}

/// `seer profile diff`: which functions got slower or faster from `base` to `head`.
pub fn compare_profiles(
    db: &Path,
    bench: &str,
    (base, head): (&str, &str),
    options: CompareOptions,
    with_svg: bool,
) -> Result<Compared, Error> {
    let store = crate::backend::open_existing(db)?;
    let base_runs = profile_runs_at(store.as_ref(), bench, base)?;
    let head_runs = profile_runs_at(store.as_ref(), bench, head)?;
    let attributed = stacks(store.as_ref(), &base_runs, &head_runs)?;
    let comparison = compare(
        &run_frames(store.as_ref(), &base_runs)?,
        &run_frames(store.as_ref(), &head_runs)?,
        Some(&attributed),
        options,
    )
    .map_err(|source| Error::Compare { head: head.to_string(), base: base.to_string(), source })?;
    let names = attributed.names_of(comparison.frames());
    let svg = if with_svg {
        let (before, after) = (attributed.named(false), attributed.named(true));
        let o = FlamegraphOptions {
            title: format!("{bench}: {} against {}", short(head), short(base)),
            subtitle: Some("red: a larger share of the samples than before; blue: smaller".into()),
            static_svg: false,
        };
        Some(differential_svg(&before, &after, &o).map_err(Error::Flamegraph)?)
    } else {
        None
    };
    Ok(Compared { base_runs, head_runs, comparison, names, svg })
}

/// A bench's change points, with its history and the names of the frames they name.
#[derive(Debug)]
pub struct Trended {
    pub history: ProfileHistory,
    pub trend: Trend,
    pub names: HashMap<i64, String>,
}

/// `seer profile trend`: change points in each function's share over the bench's history
/// (ordered by the repository at `repo` when it knows the commits).
pub fn trend(db: &Path, bench: &str, repo: Option<&Path>, options: TrendFramesOptions) -> Result<Trended, Error> {
    let store = crate::backend::open_existing(db)?;
    let history = history(store.as_ref(), bench, repo)?;
    if history.commits.is_empty() {
        return Err(Error::NotFound { what: format!("profiles of bench {bench:?}"), store: db.to_path_buf() });
    }
    let mut groups = Vec::with_capacity(history.commits.len());
    for (_, runs) in &history.commits {
        groups.push(run_frames(store.as_ref(), runs)?);
    }
    let all: Vec<ProfileRun> = history.commits.iter().flat_map(|(_, runs)| runs.iter().cloned()).collect();
    let attributed = stacks(store.as_ref(), &all, &[])?;
    let trend = trend_by_frame(&groups, Some(&attributed), options);
    let names = attributed.names_of(trend.points.iter().filter_map(|p| p.frame));
    Ok(Trended { history, trend, names })
}
