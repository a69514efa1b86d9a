//! A bench's profiles in history order: the git order when the repository knows every commit,
//! else the order of `--time` when every profile was given one, else the order they were recorded.

use std::path::Path;

use crate::store::{ProfileRun, Store, StoreError};

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
pub struct History {
    pub order: HistoryOrder,
    pub commits: Vec<(String, Vec<ProfileRun>)>,
}

/// The profiles of `bench` grouped by commit, in history order (see the module docs).
pub fn history(store: &Store, bench: &str, repo: Option<&Path>) -> Result<History, StoreError> {
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
        return Ok(History { order: HistoryOrder::Git, commits });
    }
    if commits.iter().all(|(_, runs)| runs.iter().all(|r| r.time_given)) {
        commits.sort_by_key(|(_, runs)| runs.iter().map(|r| r.time).min());
        return Ok(History { order: HistoryOrder::Time, commits });
    }
    Ok(History { order: HistoryOrder::Recorded, commits })
}
