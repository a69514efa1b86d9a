//! A bench's profiles in history order: the git order when the repository knows every commit,
//! else the order of `--time` when every profile was given one, else the order they were recorded.

use std::path::Path;

use hashbrown::HashMap;

use crate::backend::History;
use crate::regress::Stacks;
use crate::store::{ProfileRun, StoreError};

/// One run's samples, by frame: what the detector and the trend read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFrames {
    pub samples: u64,
    /// Frame id → (self samples, inclusive samples).
    pub frames: HashMap<i64, (u64, u64)>,
}

impl RunFrames {
    /// One run's per-frame samples from its stacks (frame ids, root first), counted as the store
    /// counts them: self at the top of each stack, inclusive once per stack however deep a
    /// frame recurses.
    pub fn from_stacks(stacks: &[(Vec<i64>, u64)]) -> RunFrames {
        let mut frames: HashMap<i64, (u64, u64)> = HashMap::new();
        for (stack, n) in stacks {
            if let Some(top) = stack.last() {
                frames.entry(*top).or_default().0 += n;
            }
            let mut seen: Vec<i64> = Vec::with_capacity(stack.len());
            for &f in stack {
                if !seen.contains(&f) {
                    seen.push(f);
                    frames.entry(f).or_default().1 += n;
                }
            }
        }
        RunFrames { samples: stacks.iter().map(|s| s.1).sum(), frames }
    }
}

/// Each run's per-frame samples, in the order of `runs`.
pub fn run_frames(store: &dyn History, runs: &[ProfileRun]) -> Result<Vec<RunFrames>, StoreError> {
    let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    let at: HashMap<i64, usize> = ids.iter().enumerate().map(|(k, &id)| (id, k)).collect();
    let mut out: Vec<RunFrames> =
        runs.iter().map(|r| RunFrames { samples: r.samples, frames: HashMap::new() }).collect();
    for f in store.frame_samples(&ids)? {
        if let Some(&k) = at.get(&f.profile) {
            out[k].frames.insert(f.frame, (f.self_samples, f.total_samples));
        }
    }
    Ok(out)
}

/// The merged stacks of two sets of runs, and the names of their frames: what the detector
/// attributes changes with. For a trend, `head` is empty and `base` is the whole history.
pub fn stacks(store: &dyn History, base: &[ProfileRun], head: &[ProfileRun]) -> Result<Stacks, StoreError> {
    let ids = |runs: &[ProfileRun]| runs.iter().map(|r| r.id).collect::<Vec<_>>();
    let base = store.merged_stack_ids(&ids(base))?;
    let head = if head.is_empty() { Vec::new() } else { store.merged_stack_ids(&ids(head))? };
    let mut frames: Vec<i64> = base.iter().chain(&head).flat_map(|(s, _)| s.iter().copied()).collect();
    frames.sort_unstable();
    frames.dedup();
    let names = store.frame_names(&frames)?;
    Ok(Stacks { base, head, names })
}

/// How the commits were put in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryOrder {
    Git,
    Time,
    Recorded,
}

impl HistoryOrder {
    pub fn as_str(self) -> &'static str {
        match self {
            HistoryOrder::Git => "git",
            HistoryOrder::Time => "time",
            HistoryOrder::Recorded => "recorded",
        }
    }
}

/// A bench's commits in order, each with its runs.
#[derive(Debug, Clone)]
pub struct ProfileHistory {
    pub order: HistoryOrder,
    pub commits: Vec<(String, Vec<ProfileRun>)>,
}

/// The profiles of `bench` grouped by commit, in history order (see the module docs).
pub fn history(store: &dyn History, bench: &str, repo: Option<&Path>) -> Result<ProfileHistory, StoreError> {
    let runs = store.profile_runs(bench)?;
    // Commits in the order first recorded.
    let mut commits: Vec<(String, Vec<ProfileRun>)> = Vec::new();
    for run in runs {
        match commits.iter_mut().find(|(c, _)| *c == run.commit) {
            Some((_, list)) => list.push(run),
            None => commits.push((run.commit.clone(), vec![run])),
        }
    }
    let shas: Vec<String> = commits.iter().map(|(c, _)| c.clone()).collect();
    if let Some(order) = repo.and_then(|dir| crate::collect::git::history_order(dir, &shas)) {
        commits.sort_by_key(|(c, _)| order.iter().position(|o| o == c));
        return Ok(ProfileHistory { order: HistoryOrder::Git, commits });
    }
    if commits.iter().all(|(_, runs)| runs.iter().all(|r| r.time_given)) {
        commits.sort_by_key(|(_, runs)| runs.iter().map(|r| r.time).min());
        return Ok(ProfileHistory { order: HistoryOrder::Time, commits });
    }
    Ok(ProfileHistory { order: HistoryOrder::Recorded, commits })
}
