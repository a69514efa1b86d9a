//! What a commit changed, read from git through libgit2: files, lines added and deleted, renames,
//! binary files, and the commit's metadata.
//!
//! CI checkouts are often shallow, partial or odd, and a test run must be recorded whatever git
//! says: anything that cannot be read becomes a warning on an incomplete [`ChangeSet`], never a
//! failure of the run being recorded.

use std::collections::HashMap;
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
    /// The lines of the base version the change touches, as inclusive ranges in file order: each
    /// deleted or replaced line, and for an insertion the lines either side of it. Empty for an
    /// added or binary file, and for changes read from the store (only git has the hunks).
    pub base_lines: Vec<(u32, u32)>,
    /// Hunks that change only blank lines and plain comments (see [`comment_marker`]): they are
    /// not in `base_lines`, since they cannot change what the code does.
    pub comment_hunks: u32,
    /// Where a hunk replaces lines one for one, each replaced base line's changed columns:
    /// (line, first column, the column after the last), 1-based, what the old and new line do not
    /// share at either end. ASCII lines only (coverage tools count columns differently beyond).
    /// Region coverage tells by them whether a test that ran the line ran the changed part.
    pub base_columns: Vec<(u32, u32, u32)>,
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

/// `rev` as a full commit sha, when the repository holding `dir` knows it.
pub fn resolve_in(dir: &Path, rev: &str) -> Option<String> {
    let repo = Repository::discover(dir).ok()?;
    resolve_commit(&repo, rev).ok().map(|oid| oid.to_string())
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
    let (mut files, complete) = diff_files(repo, diff, &mut warnings);
    files.retain(|f| !is_seer_output(&f.path));
    Ok(ChangeSet { base: Some(info.sha.clone()), commit: info, files, complete, warnings })
}

/// What seer itself writes into a checkout (the default store's directory, the runner arguments
/// the README's recipes save): never a change of the project's.
fn is_seer_output(path: &str) -> bool {
    path.starts_with(".seer/") || path.rsplit('/').next() == Some("seer-args.txt")
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
        let (mut base_lines, mut comment_hunks, mut base_columns) = (Vec::new(), 0, Vec::new());
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
                        (base_lines, comment_hunks) = touched_base_lines(&patch, comment_marker(&path));
                        base_columns = changed_columns(&patch);
                    }
                }
                Ok(None) => binary = true,
                Err(_) => unreadable += 1,
            }
        }
        files.push(FileChange {
            path,
            old_path,
            kind,
            added,
            deleted,
            binary,
            symbols,
            base_lines,
            comment_hunks,
            base_columns,
        });
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

/// The line-comment marker of a file's language, by extension: `//` for the C family, Rust, Go,
/// Java and JavaScript, `#` for Python, Ruby and shell; `None` for the others.
pub fn comment_marker(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1;
    match ext {
        "rs" | "c" | "h" | "cc" | "cpp" | "hpp" | "java" | "kt" | "scala" | "go" | "js" | "jsx" | "ts" | "tsx"
        | "cs" | "swift" | "php" => Some("//"),
        "py" | "rb" | "sh" => Some("#"),
        _ => None,
    }
}

/// Whether a changed line is blank or a plain comment: not a doc comment (Rust's `///` and `//!`
/// hold doctests), a Go directive (`//go:`, `// +build`), a shebang or an encoding line.
fn is_plain_comment(line: &str, marker: &str) -> bool {
    let t = line.trim();
    if t.is_empty() {
        return true;
    }
    let Some(rest) = t.strip_prefix(marker) else { return false };
    if marker == "//" {
        !(rest.starts_with('/') || rest.starts_with('!') || rest.starts_with("go:") || rest.starts_with(" +build"))
    } else {
        !(rest.starts_with('!') || rest.contains("coding"))
    }
}

/// [`FileChange::base_lines`] of a patch, and how many hunks change only blank lines and plain
/// comments (left out of the lines) when `marker` is the file's comment marker.
fn touched_base_lines(patch: &Patch<'_>, marker: Option<&str>) -> (Vec<(u32, u32)>, u32) {
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    let mut comment_hunks = 0;
    for h in 0..patch.num_hunks() {
        let Ok((hunk, _)) = patch.hunk(h) else { continue };
        let mut touched: Vec<(u32, u32)> = Vec::new();
        let mut only_comments = marker.is_some();
        // The base line before the next one read: where an insertion goes. Added lines right
        // after deleted ones replace them; only a pure insertion touches the lines either side.
        let mut before = hunk.old_start().saturating_sub(1);
        let mut replacing = false;
        for l in 0..patch.num_lines_in_hunk(h).unwrap_or(0) {
            let Ok(line) = patch.line_in_hunk(h, l) else { continue };
            let changed = match (line.origin(), line.old_lineno()) {
                ('-', Some(old)) => {
                    touched.push((old, old));
                    (before, replacing) = (old, true);
                    true
                }
                ('+', _) => {
                    if !replacing {
                        touched.push((before.max(1), before + 1));
                    }
                    true
                }
                (_, Some(old)) => {
                    (before, replacing) = (old, false);
                    false
                }
                _ => false,
            };
            if changed && only_comments {
                let text = String::from_utf8_lossy(line.content());
                only_comments = marker.is_some_and(|m| is_plain_comment(&text, m));
            }
        }
        if only_comments && !touched.is_empty() {
            comment_hunks += 1;
            continue;
        }
        for (from, to) in touched {
            match ranges.last_mut() {
                Some(last) if from <= last.1 + 1 => last.1 = last.1.max(to),
                _ => ranges.push((from, to)),
            }
        }
    }
    (ranges, comment_hunks)
}

/// [`FileChange::base_columns`] of a patch.
fn changed_columns(patch: &Patch<'_>) -> Vec<(u32, u32, u32)> {
    let mut columns = Vec::new();
    // A run of deleted lines (number, text) and the added lines right after it.
    let mut deleted: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut added: Vec<Vec<u8>> = Vec::new();
    let mut flush = |deleted: &mut Vec<(u32, Vec<u8>)>, added: &mut Vec<Vec<u8>>| {
        if deleted.len() == added.len() {
            for ((line, old), new) in deleted.iter().zip(added.iter()) {
                columns.extend(column_span(old, new).map(|(from, to)| (*line, from, to)));
            }
        }
        deleted.clear();
        added.clear();
    };
    for h in 0..patch.num_hunks() {
        for l in 0..patch.num_lines_in_hunk(h).unwrap_or(0) {
            let Ok(line) = patch.line_in_hunk(h, l) else { continue };
            let text = line.content().strip_suffix(b"\n").unwrap_or(line.content()).to_vec();
            match (line.origin(), line.old_lineno()) {
                ('-', Some(old)) => {
                    if !added.is_empty() {
                        flush(&mut deleted, &mut added);
                    }
                    deleted.push((old, text));
                }
                ('+', _) if !deleted.is_empty() => added.push(text),
                _ => flush(&mut deleted, &mut added),
            }
        }
        flush(&mut deleted, &mut added);
    }
    columns
}

/// The 1-based columns `from..to` of `old` that `new` does not share at either end (at least one
/// column: an insertion between two columns spans both); `None` unless both are ASCII.
fn column_span(old: &[u8], new: &[u8]) -> Option<(u32, u32)> {
    if !old.is_ascii() || !new.is_ascii() || old == new {
        return None;
    }
    let head = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let rest = old.len().min(new.len()) - head;
    let tail = old.iter().rev().zip(new.iter().rev()).take(rest).take_while(|(a, b)| a == b).count();
    let (from, to) = (head + 1, old.len() - tail + 1);
    // A pure insertion (nothing of `old` replaced) touches the columns either side of it.
    let (from, to) = if to <= from { (from.saturating_sub(1).max(1), from + 1) } else { (from, to) };
    Some((u32::try_from(from).ok()?, u32::try_from(to).ok()?))
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

/// Per file changed between two commits, the lines of the earlier one the changes touched, or
/// `None` for the whole file (see [`NearCommit::drifted`]).
pub type Drift = HashMap<String, Option<Vec<(u32, u32)>>>;

/// A commit near a base, found by [`nearest_of`].
#[derive(Debug, Clone, PartialEq)]
pub struct NearCommit {
    pub sha: String,
    /// First-parent steps from the base (0: the base itself).
    pub distance: usize,
    /// For each path asked about: whether the file is the same blob there as at the base (so that
    /// line numbers at one are line numbers at the other). A file missing at either is not.
    pub same: Vec<bool>,
    /// For each path asked about that is not the same: how the base's lines map back to lines
    /// there, when the file is at both (`None` where not known).
    pub moved: Vec<Option<LineMap>>,
    /// The files changed between it and the base, each with the lines there that the changes
    /// touched (as [`FileChange::base_lines`] are the base's; plain comments left out), or `None`
    /// for the whole file (added, deleted, renamed, binary, or only the file's name is known).
    /// `None` when not known at all.
    pub drifted: Option<Drift>,
}

/// How the lines of a file at a later commit map back to the lines of the same file at an
/// earlier one: the hunks of a diff without context between the two.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineMap {
    /// Per hunk, in order: the earlier lines `[o0, o1)` the later lines `[n0, n1)` replaced.
    hunks: Vec<(u32, u32, u32, u32)>,
}

impl LineMap {
    /// From git's hunk headers `(old_start, old_lines, new_start, new_lines)` (an empty side's start
    /// is the line before it, as in a unified diff).
    pub fn from_hunks(hunks: impl IntoIterator<Item = (u32, u32, u32, u32)>) -> LineMap {
        let hunks = hunks
            .into_iter()
            .map(|(os, ol, ns, nl)| {
                let o0 = if ol == 0 { os + 1 } else { os };
                let n0 = if nl == 0 { ns + 1 } else { ns };
                (o0, o0 + ol, n0, n0 + nl)
            })
            .collect();
        LineMap { hunks }
    }

    /// The earlier line that later line `line` is, or `None` when the line is new or changed.
    pub fn earlier(&self, line: u32) -> Option<u32> {
        let mut offset: i64 = 0;
        for &(_, o1, n0, n1) in &self.hunks {
            if line < n0 {
                break;
            }
            if line < n1 {
                return None;
            }
            offset = i64::from(o1) - i64::from(n1);
        }
        u32::try_from(i64::from(line) + offset).ok()
    }
}

/// What changed from the tree `earlier` to `later`: per changed file the lines of `earlier` the
/// changes touched (see [`NearCommit::drifted`]), and per modified file its line map.
fn drift(
    repo: &Repository,
    earlier: &git2::Tree<'_>,
    later: &git2::Tree<'_>,
) -> Option<(Drift, HashMap<String, LineMap>)> {
    let mut opts = DiffOptions::new();
    opts.context_lines(0);
    let diff = repo.diff_tree_to_tree(Some(earlier), Some(later), Some(&mut opts)).ok()?;
    let (mut drifted, mut maps) = (HashMap::new(), HashMap::new());
    for (i, d) in diff.deltas().enumerate() {
        let path = |f: git2::DiffFile<'_>| f.path().and_then(Path::to_str).map(str::to_string);
        let (old, new) = (path(d.old_file()), path(d.new_file()));
        let patch = (d.status() == Delta::Modified).then(|| Patch::from_diff(&diff, i).ok().flatten()).flatten();
        match (old, patch) {
            (Some(old), Some(patch)) if !d.flags().is_binary() => {
                let hunks: Option<Vec<_>> = (0..patch.num_hunks())
                    .map(|h| {
                        patch.hunk(h).ok().map(|(h, _)| (h.old_start(), h.old_lines(), h.new_start(), h.new_lines()))
                    })
                    .collect();
                maps.insert(old.clone(), LineMap::from_hunks(hunks?));
                drifted.insert(old.clone(), Some(touched_base_lines(&patch, comment_marker(&old)).0));
            }
            (old, _) => {
                for p in [old, new].into_iter().flatten() {
                    drifted.insert(p, None);
                }
            }
        }
    }
    Some((drifted, maps))
}

/// The files one commit changed against its first parent (both paths of a rename); every file
/// of a root commit.
fn files_of_step(repo: &Repository, commit: &git2::Commit<'_>) -> Option<Vec<String>> {
    let tree = commit.tree().ok()?;
    let parent = commit.parent(0).ok().and_then(|p| p.tree().ok());
    let diff = repo.diff_tree_to_tree(parent.as_ref(), Some(&tree), None).ok()?;
    let mut out = Vec::new();
    for d in diff.deltas() {
        for f in [d.old_file(), d.new_file()] {
            if let Some(p) = f.path().and_then(Path::to_str) {
                out.push(p.to_string());
            }
        }
    }
    Some(out)
}

/// The nearest commit that is `wanted` among `base` and its first-parent ancestors, at most
/// `limit` steps back, in the repository holding `dir`; `None` when there is none or git cannot tell.
/// It comes with what changed since (its line maps and drift).
pub fn nearest_of(
    dir: &Path,
    base: &str,
    wanted: impl Fn(&str) -> bool,
    limit: usize,
    paths: &[&str],
) -> Option<NearCommit> {
    let repo = Repository::discover(dir).ok()?;
    let base_commit = repo.revparse_single(base).and_then(|o| o.peel_to_commit()).ok()?;
    let mut commit = base_commit.clone();
    for distance in 0..=limit {
        let sha = commit.id().to_string();
        if wanted(&sha) {
            let (at, here) = (base_commit.tree().ok()?, commit.tree().ok()?);
            let blob = |tree: &git2::Tree<'_>, p: &str| tree.get_path(Path::new(p)).ok().map(|e| e.id());
            let same: Vec<bool> =
                paths.iter().map(|p| blob(&at, p).is_some_and(|b| blob(&here, p) == Some(b))).collect();
            let (drifted, mut maps) = match distance {
                0 => (Some(HashMap::new()), HashMap::new()),
                _ => drift(&repo, &here, &at).map_or((None, HashMap::new()), |(d, m)| (Some(d), m)),
            };
            let moved = paths.iter().zip(&same).map(|(p, &same)| if same { None } else { maps.remove(*p) }).collect();
            return Some(NearCommit { sha, distance, same, moved, drifted });
        }
        commit = commit.parent(0).ok()?;
    }
    None
}

/// `base` and up to `limit` of its first-parent ancestors, nearest first, each with whether
/// each of `paths` is the same blob there as at `base`, and the files the step from it to the
/// one before it changed (`Ancestor::step`): what a client sends `seer serve` so that the server
/// can find the nearest coverage as [`nearest_of`] would. `None` when git cannot tell.
pub fn ancestors(dir: &Path, base: &str, limit: usize, paths: &[&str]) -> Option<Vec<Ancestor>> {
    let repo = Repository::discover(dir).ok()?;
    let base_commit = repo.revparse_single(base).and_then(|o| o.peel_to_commit()).ok()?;
    let at = base_commit.tree().ok()?;
    let blob = |tree: &git2::Tree<'_>, p: &str| tree.get_path(Path::new(p)).ok().map(|e| e.id());
    let at_blobs: Vec<Option<Oid>> = paths.iter().map(|p| blob(&at, p)).collect();
    let mut out: Vec<Ancestor> = Vec::new();
    let mut commit = base_commit;
    // The files the step from this commit to the one after it (nearer the base) changed.
    let mut step = Some(Vec::new());
    for _ in 0..=limit {
        let here = commit.tree().ok()?;
        let same = paths.iter().zip(&at_blobs).map(|(p, b)| b.is_some() && blob(&here, p) == *b).collect();
        out.push(Ancestor { sha: commit.id().to_string(), same, step: step.take() });
        step = files_of_step(&repo, &commit);
        match commit.parent(0) {
            Ok(parent) => commit = parent,
            Err(_) => break,
        }
    }
    Some(out)
}

/// The text of `path` at `rev` in the repository holding `dir` (`None` when missing, binary or
/// not UTF-8).
pub fn file_at(dir: &Path, rev: &str, path: &str) -> Option<String> {
    let repo = Repository::discover(dir).ok()?;
    let tree = repo.revparse_single(rev).ok()?.peel_to_tree().ok()?;
    let blob = repo.find_blob(tree.get_path(Path::new(path)).ok()?.id()).ok()?;
    (!blob.is_binary()).then(|| String::from_utf8(blob.content().to_vec()).ok()).flatten()
}

/// Where `names` are used at `rev`: each line (1-based) of a file ending in `.EXT` (one of
/// `exts`) that holds one of them as a whole word, with the name. `None` when git cannot tell or
/// the tree holds more than `max_files` such files (too many to read for a selection).
pub fn uses_of(
    dir: &Path,
    rev: &str,
    names: &[String],
    exts: &[&str],
    max_files: usize,
) -> Option<Vec<(String, u32, String)>> {
    let repo = Repository::discover(dir).ok()?;
    let tree = repo.revparse_single(rev).ok()?.peel_to_tree().ok()?;
    let mut files = Vec::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |root, entry| {
        let name = entry.name().unwrap_or_default();
        if entry.kind() == Some(git2::ObjectType::Blob) && exts.iter().any(|e| name.ends_with(&format!(".{e}"))) {
            files.push((format!("{root}{name}"), entry.id()));
        }
        git2::TreeWalkResult::Ok
    })
    .ok()?;
    if files.len() > max_files {
        return None;
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    for (path, id) in files {
        let Ok(blob) = repo.find_blob(id) else { continue };
        let Ok(text) = std::str::from_utf8(blob.content()) else { continue };
        for (n, line) in text.lines().enumerate() {
            for name in names {
                let whole = line
                    .match_indices(name.as_str())
                    .any(|(at, _)| !line[..at].ends_with(word) && !line[at + name.len()..].starts_with(word));
                if whole {
                    out.push((path.clone(), n as u32 + 1, name.clone()));
                }
            }
        }
    }
    Some(out)
}

/// One of [`ancestors`].
#[derive(Debug, Clone, PartialEq)]
pub struct Ancestor {
    pub sha: String,
    /// For each path asked about: whether it is the same blob here as at the base.
    pub same: Vec<bool>,
    /// The files the step from here to the ancestor before it in the list (nearer the base)
    /// changed; empty for the base; `None` when git could not tell.
    pub step: Option<Vec<String>>,
}

/// The nearest of `ancestors` (as [`ancestors`] lists them) that is `wanted`, within `limit`
/// steps, with the files changed between it and the base: what a server makes of a client's list.
pub fn nearest_in(ancestors: &[Ancestor], wanted: impl Fn(&str) -> bool, limit: usize) -> Option<NearCommit> {
    let mut drifted = Some(HashMap::new());
    for (distance, a) in ancestors.iter().take(limit + 1).enumerate() {
        match (drifted.as_mut(), &a.step) {
            (Some(d), Some(step)) => d.extend(step.iter().map(|p| (p.clone(), None))),
            _ => drifted = None,
        }
        if wanted(&a.sha) {
            return Some(NearCommit { sha: a.sha.clone(), distance, same: a.same.clone(), moved: Vec::new(), drifted });
        }
    }
    None
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

    fn touched(old: &str, new: &str, path: &str) -> (Vec<(u32, u32)>, u32) {
        let patch =
            Patch::from_buffers(old.as_bytes(), Some(Path::new(path)), new.as_bytes(), Some(Path::new(path)), None)
                .unwrap();
        touched_base_lines(&patch, comment_marker(path))
    }

    #[test]
    fn changed_columns_are_what_a_replaced_line_does_not_share_at_either_end() {
        assert_eq!(column_span(b"if a < b {", b"if a <= b {"), Some((6, 8)), "an insertion spans its neighbours");
        assert_eq!(column_span(b"x = a && b;", b"x = a || b;"), Some((7, 9)));
        assert_eq!(column_span(b"return !ok;", b"return ok;"), Some((8, 9)));
        assert_eq!(column_span(b"f(1)", b"f(1) + 1"), Some((4, 6)), "appended after the last column");
        assert_eq!(column_span("let é = 1;".as_bytes(), "let é = 2;".as_bytes()), None);
        let old: String = (1..=9).map(|i| format!("let v{i} = a < b;\n")).collect();
        let new = old.replace("let v3 = a < b;", "let v3 = a > b;").replace("let v7 = a < b;\n", "");
        let patch = Patch::from_buffers(old.as_bytes(), None, new.as_bytes(), None, None).unwrap();
        assert_eq!(changed_columns(&patch), [(3, 12, 13)], "a deletion has no columns");
        let two = old.replace("let v5 = a < b;\n", "let v5 = a > b;\nlet w = 0;\n");
        let patch = Patch::from_buffers(old.as_bytes(), None, two.as_bytes(), None, None).unwrap();
        assert_eq!(changed_columns(&patch), [], "one line replaced by two: no columns");
    }

    #[test]
    fn the_base_lines_a_change_touches_are_its_deleted_lines_and_the_sides_of_its_insertions() {
        let old: String = (1..=20).map(|i| format!("line{i}\n")).collect();
        let replaced = old.replace("line5\n", "five\n").replace("line6\n", "six\n");
        assert_eq!(touched(&old, &replaced, "a.rs"), (vec![(5, 6)], 0));
        let inserted = old.replace("line12\n", "line12\nnew\n");
        assert_eq!(touched(&old, &inserted, "a.rs"), (vec![(12, 13)], 0));
        let both = inserted.replace("line2\n", "");
        assert_eq!(touched(&old, &both, "a.rs"), (vec![(2, 2), (12, 13)], 0));
        let at_start = format!("first\n{old}");
        assert_eq!(touched(&old, &at_start, "a.rs"), (vec![(1, 1)], 0));
    }

    #[test]
    fn hunks_of_plain_comments_and_blank_lines_are_counted_apart() {
        let old: String = (1..=30).map(|i| format!("let x{i} = {i};\n")).collect();
        let commented = old.replace("let x3 = 3;\n", "let x3 = 3;\n    // why x3\n\n");
        assert_eq!(touched(&old, &commented, "a.rs"), (vec![], 1));
        let mixed = commented.replace("let x20 = 20;", "let x20 = 21;");
        assert_eq!(touched(&old, &mixed, "a.rs"), (vec![(20, 20)], 1));
        for line in ["/// # Examples", "//! crate docs", "//go:embed x", "let y = 1; // trailing"] {
            let edited = old.replace("let x3 = 3;\n", &format!("let x3 = 3;\n{line}\n"));
            assert_eq!(touched(&old, &edited, "a.go").1 + touched(&old, &edited, "a.rs").1, 0, "{line}");
        }
        let python = old.replace("let x3 = 3;\n", "let x3 = 3;\n# a note\n");
        assert_eq!(touched(&old, &python, "a.py"), (vec![], 1));
        assert_eq!(touched(&old, &python, "a.txt"), (vec![(3, 4)], 0), "unknown languages have no comments");
    }
}
