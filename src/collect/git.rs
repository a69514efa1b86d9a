//! What a commit changed, read from git through libgit2: files, lines added and deleted, renames,
//! binary files, and the commit's metadata.
//!
//! CI checkouts are often shallow, partial or odd, and a test run must be recorded whatever git
//! says: anything that cannot be read becomes a warning on an incomplete [`ChangeSet`], never a
//! failure of the run being recorded.

use std::path::{Path, PathBuf};

use git2::{Delta, DiffFindOptions, DiffOptions, Oid, Patch, Repository};

/// Beyond this many changed files only the first are kept, and the change set says it is incomplete.
pub const MAX_FILES: usize = 50_000;

/// Function names kept per changed file.
pub const MAX_SYMBOLS: usize = 32;
/// Blobs larger than this are not diffed line by line (libgit2 treats them as binary).
const MAX_DIFF_BLOB: i64 = 32 * 1024 * 1024;

/// A commit's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitInfo {
    pub sha: String,
    pub parents: Vec<String>,
    pub author: String,
    /// Author time, Unix seconds.
    pub time: i64,
    pub summary: String,
}

/// How one file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
    Renamed,
    Copied,
    TypeChanged,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "A",
            ChangeKind::Modified => "M",
            ChangeKind::Deleted => "D",
            ChangeKind::Renamed => "R",
            ChangeKind::Copied => "C",
            ChangeKind::TypeChanged => "T",
        }
    }

    pub fn parse(s: &str) -> Option<ChangeKind> {
        [
            ChangeKind::Added,
            ChangeKind::Modified,
            ChangeKind::Deleted,
            ChangeKind::Renamed,
            ChangeKind::Copied,
            ChangeKind::TypeChanged,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One changed file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileChange {
    /// Path after the change (before it, for a deletion). Non-UTF-8 bytes become U+FFFD.
    pub path: String,
    /// Path before a rename or copy.
    pub old_path: Option<String>,
    pub kind: ChangeKind,
    /// Lines added and deleted; `None` for binary files or when the content could not be read.
    pub added: Option<u32>,
    pub deleted: Option<u32>,
    pub binary: bool,
    /// Names of the functions the changed hunks fall in (from the new text; the old for a
    /// deletion), in file order, without repeats, at most [`MAX_SYMBOLS`].
    pub symbols: Vec<String>,
}

/// Everything a commit changed against its base.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeSet {
    pub commit: CommitInfo,
    /// The base commit the diff is against; `None` for a root commit (diffed against nothing).
    pub base: Option<String>,
    pub files: Vec<FileChange>,
    /// False when something could not be read; `warnings` say what.
    pub complete: bool,
    pub warnings: Vec<String>,
}

/// Why no change set could be made at all.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("no git repository at or above {path}")]
    NoRepository {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("commit {rev} is not in the repository{hint}")]
    UnknownCommit {
        rev: String,
        hint: &'static str,
        #[source]
        source: git2::Error,
    },
    #[error("base {rev} of commit {commit} is not available{hint}")]
    UnknownBase {
        rev: String,
        commit: String,
        hint: &'static str,
        #[source]
        source: git2::Error,
    },
    #[error("cannot diff {commit} against {base}")]
    Diff {
        commit: String,
        base: String,
        #[source]
        source: git2::Error,
    },
}

/// Which commit a change is measured against.
#[derive(Debug, Clone, Default)]
pub enum Base {
    /// The commit's first parent: what the commit itself changed.
    #[default]
    FirstParent,
    /// The merge-base of the commit and this revision (e.g. `origin/main`): what a pull request changed.
    MergeBaseWith(String),
}

/// The repository that holds `start`, or the one above it.
pub fn discover(start: &Path) -> Result<Repository, GitError> {
    Repository::discover(start).map_err(|source| GitError::NoRepository { path: start.to_path_buf(), source })
}

/// The working directory of the repository that holds `start`, if any.
pub fn repository_root(start: &Path) -> Option<PathBuf> {
    Repository::discover(start).ok().and_then(|r| r.workdir().map(Path::to_path_buf))
}

/// Resolves `rev` (a sha, a short sha or a ref) to a full commit sha.
pub fn resolve_commit(repo: &Repository, rev: &str) -> Result<Oid, GitError> {
    let hint = shallow_hint(repo);
    repo.revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map(|c| c.id())
        .map_err(|source| GitError::UnknownCommit { rev: rev.to_string(), hint, source })
}

/// What `commit` changed against `base`.
pub fn changes(repo: &Repository, commit: Oid, base: &Base) -> Result<ChangeSet, GitError> {
    let shallow_hint = shallow_hint(repo);
    let unknown = |source| GitError::UnknownCommit { rev: commit.to_string(), hint: shallow_hint, source };
    let head = repo.find_commit(commit).map_err(unknown)?;
    let info = commit_info(&head);
    let mut warnings = Vec::new();

    let base_oid = match base {
        Base::FirstParent => match head.parent_ids().next() {
            // libgit2 shows a shallow clone's boundary commit without parents: not a root commit.
            None if is_shallow_boundary(repo, commit) => {
                return Err(GitError::UnknownBase {
                    rev: "its parent".into(),
                    commit: info.sha.clone(),
                    hint: shallow_hint,
                    source: git2::Error::from_str("the commit is at the boundary of a shallow clone"),
                });
            }
            None => None,
            Some(parent) => {
                if head.parent_count() > 1 {
                    warnings.push(format!(
                        "{} is a merge commit: changes are measured against its first parent",
                        short(&info.sha)
                    ));
                }
                Some(parent)
            }
        },
        Base::MergeBaseWith(rev) => {
            let other = repo.revparse_single(rev).and_then(|o| o.peel_to_commit()).map_err(|source| {
                GitError::UnknownBase { rev: rev.clone(), commit: info.sha.clone(), hint: shallow_hint, source }
            })?;
            Some(repo.merge_base(commit, other.id()).map_err(|source| GitError::UnknownBase {
                rev: format!("merge-base with {rev}"),
                commit: info.sha.clone(),
                hint: shallow_hint,
                source,
            })?)
        }
    };
    let base_tree = match base_oid {
        None => None,
        Some(oid) => {
            let base_commit = repo.find_commit(oid).map_err(|source| GitError::UnknownBase {
                rev: oid.to_string(),
                commit: info.sha.clone(),
                hint: shallow_hint,
                source,
            })?;
            let tree = base_commit.tree().map_err(|source| GitError::UnknownBase {
                rev: oid.to_string(),
                commit: info.sha.clone(),
                hint: shallow_hint,
                source,
            })?;
            Some(tree)
        }
    };
    let diff_error = |source| GitError::Diff {
        commit: info.sha.clone(),
        base: base_oid.map(|o| o.to_string()).unwrap_or_else(|| "the empty tree".into()),
        source,
    };
    let tree = head.tree().map_err(diff_error)?;
    let mut opts = DiffOptions::new();
    opts.max_size(MAX_DIFF_BLOB);
    let diff = repo.diff_tree_to_tree(base_tree.as_ref(), Some(&tree), Some(&mut opts)).map_err(diff_error)?;
    let (files, complete) = diff_files(repo, diff, &mut warnings);
    Ok(ChangeSet { commit: info, base: base_oid.map(|o| o.to_string()), files, complete, warnings })
}

/// What the working tree (staged or not, untracked files included) changes against `HEAD`: the
/// change a developer is about to commit. Its commit is `HEAD`'s, with the summary "(working tree)".
pub fn worktree_changes(repo: &Repository) -> Result<ChangeSet, GitError> {
    let hint = shallow_hint(repo);
    let head = repo.head().and_then(|h| h.peel_to_commit()).map_err(|source| GitError::UnknownCommit {
        rev: "HEAD".into(),
        hint,
        source,
    })?;
    let mut info = commit_info(&head);
    info.summary = "(working tree)".into();
    let diff_error = |source| GitError::Diff { commit: "the working tree".into(), base: info.sha.clone(), source };
    let tree = head.tree().map_err(diff_error)?;
    let mut opts = DiffOptions::new();
    opts.max_size(MAX_DIFF_BLOB).include_untracked(true).recurse_untracked_dirs(true).show_untracked_content(true);
    let diff = repo.diff_tree_to_workdir_with_index(Some(&tree), Some(&mut opts)).map_err(diff_error)?;
    let mut warnings = Vec::new();
    let (files, complete) = diff_files(repo, diff, &mut warnings);
    Ok(ChangeSet { base: Some(info.sha.clone()), commit: info, files, complete, warnings })
}

/// The changed files of a diff (with rename detection), and whether all of them could be read.
fn diff_files(repo: &Repository, mut diff: git2::Diff<'_>, warnings: &mut Vec<String>) -> (Vec<FileChange>, bool) {
    if let Err(e) = diff.find_similar(Some(DiffFindOptions::new().renames(true))) {
        warnings.push(format!("rename detection failed: {}", e.message()));
    }
    let total = diff.deltas().len();
    if total > MAX_FILES {
        warnings.push(format!("{total} files changed: only the first {MAX_FILES} are recorded"));
    }
    let mut files = Vec::with_capacity(total.min(MAX_FILES));
    let mut lossy_paths = 0;
    let mut unreadable = 0;
    for (idx, delta) in diff.deltas().enumerate().take(MAX_FILES) {
        let kind = match delta.status() {
            Delta::Added | Delta::Untracked => ChangeKind::Added,
            Delta::Deleted => ChangeKind::Deleted,
            Delta::Renamed => ChangeKind::Renamed,
            Delta::Copied => ChangeKind::Copied,
            Delta::Typechange => ChangeKind::TypeChanged,
            _ => ChangeKind::Modified,
        };
        let new_path = delta.new_file().path_bytes().or(delta.old_file().path_bytes()).unwrap_or_default();
        let old_path = delta.old_file().path_bytes().unwrap_or_default();
        let (path, lossy) = path_text(new_path);
        lossy_paths += usize::from(lossy);
        let old_path = matches!(kind, ChangeKind::Renamed | ChangeKind::Copied).then(|| path_text(old_path).0);
        let mut binary = delta.flags().is_binary();
        let (mut added, mut deleted) = (None, None);
        let mut symbols = Vec::new();
        if !binary {
            match Patch::from_diff(&diff, idx) {
                Ok(Some(patch)) => {
                    binary = patch.delta().flags().is_binary();
                    if !binary {
                        if let Ok((_, a, d)) = patch.line_stats() {
                            added = Some(a as u32);
                            deleted = Some(d as u32);
                        }
                        symbols = hunk_functions(repo, &patch);
                    }
                }
                Ok(None) => binary = true,
                Err(_) => unreadable += 1,
            }
        }
        files.push(FileChange { path, old_path, kind, added, deleted, binary, symbols });
    }
    if lossy_paths > 0 {
        warnings.push(format!("{lossy_paths} paths are not UTF-8: stored with U+FFFD in place of bad bytes"));
    }
    if unreadable > 0 {
        warnings
            .push(format!("{unreadable} files could not be read (missing objects?): their line counts are unknown"));
    }
    (files, total <= MAX_FILES && unreadable == 0)
}

/// The functions that a patch's hunks change: for each hunk, the nearest definition line
/// (`fn`, `def`, `func`, `function`) at or above its first changed line.
fn hunk_functions(repo: &Repository, patch: &Patch<'_>) -> Vec<String> {
    let delta = patch.delta();
    let deleted = delta.status() == Delta::Deleted;
    let side = if deleted { delta.old_file() } else { delta.new_file() };
    // A file of the working tree is not in the object database: read it from disk.
    let content = match repo.find_blob(side.id()) {
        Ok(blob) => blob.content().to_vec(),
        Err(_) => match (repo.workdir(), side.path()) {
            (Some(dir), Some(path)) => std::fs::read(dir.join(path)).unwrap_or_default(),
            _ => return Vec::new(),
        },
    };
    let Ok(text) = std::str::from_utf8(&content) else { return Vec::new() };
    let lines: Vec<&str> = text.lines().collect();
    let mut names: Vec<String> = Vec::new();
    for h in 0..patch.num_hunks() {
        let first_change = (0..patch.num_lines_in_hunk(h).unwrap_or(0))
            .filter_map(|l| patch.line_in_hunk(h, l).ok())
            .find(|l| matches!(l.origin(), '+' | '-'))
            .and_then(|l| if deleted { l.old_lineno() } else { l.new_lineno().or(l.old_lineno()) });
        let Some(line) = first_change else { continue };
        if let Some(name) = enclosing_function(&lines, line as usize) {
            if !names.contains(&name) && names.len() < MAX_SYMBOLS {
                names.push(name);
            }
        }
    }
    names
}

/// The name defined by the nearest definition line at or above 1-based `line`.
fn enclosing_function(lines: &[&str], line: usize) -> Option<String> {
    let end = line.min(lines.len());
    lines[..end].iter().rev().find_map(|l| {
        let mut words = l.split(|c: char| !(c.is_alphanumeric() || c == '_'));
        while let Some(w) = words.next() {
            if matches!(w, "fn" | "def" | "func" | "function") {
                let name = words.find(|w| !w.is_empty())?;
                return Some(name.to_string());
            }
        }
        None
    })
}

/// `shas` in history order (ancestors first; unrelated commits by commit time), when the
/// repository holding `dir` knows every one of them; `None` otherwise.
pub fn history_order(dir: &Path, shas: &[String]) -> Option<Vec<String>> {
    let repo = Repository::discover(dir).ok()?;
    let mut oids = Vec::with_capacity(shas.len());
    for sha in shas {
        let oid = repo.revparse_single(sha).and_then(|o| o.peel_to_commit()).ok()?.id();
        oids.push((oid, sha.clone()));
    }
    let mut walk = repo.revwalk().ok()?;
    walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME | git2::Sort::REVERSE).ok()?;
    for (oid, _) in &oids {
        walk.push(*oid).ok()?;
    }
    let position: std::collections::HashMap<Oid, usize> =
        walk.filter_map(Result::ok).enumerate().map(|(i, oid)| (oid, i)).collect();
    let mut ordered: Vec<(usize, String)> =
        oids.into_iter().map(|(oid, sha)| (position.get(&oid).copied().unwrap_or(usize::MAX), sha)).collect();
    ordered.sort();
    Some(ordered.into_iter().map(|(_, sha)| sha).collect())
}

/// What to add to a message about a missing commit: in a shallow clone, the likely cause.
fn shallow_hint(repo: &Repository) -> &'static str {
    if repo.is_shallow() { " (the clone is shallow: fetch more history)" } else { "" }
}

/// Whether `commit` is listed in the repository's `shallow` file (its parents were not fetched).
fn is_shallow_boundary(repo: &Repository, commit: Oid) -> bool {
    if !repo.is_shallow() {
        return false;
    }
    let sha = commit.to_string();
    std::fs::read_to_string(repo.path().join("shallow")).is_ok_and(|s| s.lines().any(|l| l.trim() == sha))
}

fn commit_info(commit: &git2::Commit<'_>) -> CommitInfo {
    let author = commit.author();
    CommitInfo {
        sha: commit.id().to_string(),
        parents: commit.parent_ids().map(|p| p.to_string()).collect(),
        author: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        time: author.when().seconds(),
        summary: commit.summary_bytes().map(|s| String::from_utf8_lossy(s).into_owned()).unwrap_or_default(),
    }
}

fn path_text(bytes: &[u8]) -> (String, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), false),
        Err(_) => (String::from_utf8_lossy(bytes).into_owned(), true),
    }
}

/// A full hex sha shortened to 10 characters, for messages and tables; anything else as it is.
pub fn short(sha: &str) -> &str {
    if sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()) { &sha[..10] } else { sha }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hunk_belongs_to_the_nearest_definition_above_it() {
        let text = "use x;\n\nimpl A {\n    pub fn parse(s: &str) -> A {\n        todo!()\n    }\n}\ndef helper():\n    pass\n";
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(enclosing_function(&lines, 1), None);
        assert_eq!(enclosing_function(&lines, 4).as_deref(), Some("parse"));
        assert_eq!(enclosing_function(&lines, 5).as_deref(), Some("parse"));
        assert_eq!(enclosing_function(&lines, 9).as_deref(), Some("helper"));
        assert_eq!(enclosing_function(&lines, 99).as_deref(), Some("helper"));
    }
}
