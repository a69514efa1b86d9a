//! Cargo workspaces: which member crates a test's crate depends on, from `cargo metadata`.
//!
//! A change confined to crates that a test's crate cannot reach through its dependencies
//! (normal, build, or its own dev-dependencies) cannot affect that test through Rust code, so
//! `seer select` skips it (see the README for why this is a filter and not a feature, and when
//! it is wrong). The graph is cached beside the store, keyed by the manifests and lock file it
//! was read from, because `cargo metadata` costs more than the rest of a selection.

use std::path::{Path, PathBuf};

use hashbrown::HashSet;
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

/// A workspace member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    /// Its directory relative to the workspace root, with a trailing `/` (empty for the root).
    pub dir: String,
    /// Members it depends on: normal and build dependencies.
    pub deps: Vec<usize>,
    /// Members it depends on for its tests only.
    pub dev_deps: Vec<usize>,
}

/// The members of a Cargo workspace and their dependencies on each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    pub members: Vec<Member>,
}

/// The cache file: the graph and what it was read from.
#[derive(Debug, Serialize, Deserialize)]
struct Cached {
    /// Digest of the manifests and the lock file the graph was read from.
    key: String,
    manifests: Vec<String>,
    workspace: Workspace,
}

/// Why the workspace graph is unknown (then no test is skipped by it).
#[derive(Debug, thiserror::Error)]
#[error("cannot read the Cargo workspace at {root}")]
pub struct WorkspaceError {
    pub root: PathBuf,
    #[source]
    pub source: cargo_metadata::Error,
}

impl Workspace {
    /// The graph of `cargo metadata`'s packages, and the manifests it was read from; `None` for
    /// a single crate.
    pub fn from_metadata(meta: &cargo_metadata::Metadata) -> (Option<Workspace>, Vec<String>) {
        let root = meta.workspace_root.as_std_path();
        let dir_of = |manifest: &Path| -> String {
            let dir = manifest.parent().unwrap_or(Path::new(""));
            let rel = dir.strip_prefix(root).unwrap_or(dir).to_string_lossy().replace('\\', "/");
            if rel.is_empty() { String::new() } else { format!("{rel}/") }
        };
        let packages = meta.workspace_packages();
        let dirs: Vec<&Path> =
            packages.iter().map(|p| p.manifest_path.parent().map_or(Path::new(""), |d| d.as_std_path())).collect();
        let manifests = packages.iter().map(|p| p.manifest_path.to_string()).collect();
        if packages.len() < 2 {
            return (None, manifests);
        }
        let members = packages
            .iter()
            .map(|p| {
                let mut deps = Vec::new();
                let mut dev_deps = Vec::new();
                for d in &p.dependencies {
                    let Some(at) =
                        d.path.as_ref().and_then(|path| dirs.iter().position(|dir| *dir == path.as_std_path()))
                    else {
                        continue;
                    };
                    match d.kind {
                        cargo_metadata::DependencyKind::Development => dev_deps.push(at),
                        _ => deps.push(at),
                    }
                }
                Member { name: p.name.to_string(), dir: dir_of(p.manifest_path.as_std_path()), deps, dev_deps }
            })
            .collect();
        (Some(Workspace { members }), manifests)
    }

    /// The member whose directory holds `path` (relative to the root), the deepest one.
    pub fn member_of_path(&self, path: &str) -> Option<usize> {
        self.members
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.dir.is_empty() && path.starts_with(&m.dir))
            .max_by_key(|(_, m)| m.dir.len())
            .map(|(i, _)| i)
            .or_else(|| self.members.iter().position(|m| m.dir.is_empty()))
    }

    /// The member a test belongs to, from its nextest binary id (`crate`, `crate::bin/x`,
    /// `crate::test_file`); `None` when the suite names no member.
    pub fn member_of_suite(&self, suite: &str) -> Option<usize> {
        let name = suite.split("::").next().unwrap_or(suite);
        self.members.iter().position(|m| m.name == name)
    }

    /// The members whose code a test of `member` runs: the member, its dependencies of every
    /// kind, and theirs (normal and build) transitively.
    pub fn reach(&self, member: usize) -> HashSet<usize> {
        let mut seen: HashSet<usize> = HashSet::new();
        let mut stack: Vec<usize> = vec![member];
        stack.extend(&self.members[member].dev_deps);
        while let Some(m) = stack.pop() {
            if seen.insert(m) {
                stack.extend(&self.members[m].deps);
            }
        }
        seen
    }
}

/// Digest of the files a graph depends on: the root manifest, the lock file and each member's
/// manifest (missing files count as empty).
fn key_of(root: &Path, manifests: &[String]) -> String {
    let mut h = Xxh3::new();
    for path in
        [root.join("Cargo.toml"), root.join("Cargo.lock")].into_iter().chain(manifests.iter().map(PathBuf::from))
    {
        h.update(path.to_string_lossy().as_bytes());
        h.update(&[0]);
        h.update(&std::fs::read(&path).unwrap_or_default());
        h.update(&[0]);
    }
    format!("{:032x}", h.digest128())
}

/// The workspace at `root` (`None` when it is not one), from the cache file `cache` when the
/// manifests and lock file have not changed, else from `cargo metadata` (and cached).
pub fn load(root: &Path, cache: &Path) -> Result<Option<Workspace>, WorkspaceError> {
    if !root.join("Cargo.toml").is_file() {
        return Ok(None);
    }
    if let Ok(text) = std::fs::read(cache) {
        if let Ok(cached) = serde_json::from_slice::<Cached>(&text) {
            if key_of(root, &cached.manifests) == cached.key {
                return Ok(Some(cached.workspace).filter(|w| w.members.len() > 1));
            }
        }
    }
    let meta = cargo_metadata::MetadataCommand::new()
        .current_dir(root)
        .no_deps()
        .other_options(vec!["--offline".to_string()])
        .exec()
        .map_err(|source| WorkspaceError { root: root.to_path_buf(), source })?;
    let (workspace, manifests) = Workspace::from_metadata(&meta);
    let cached = Cached {
        key: key_of(root, &manifests),
        manifests,
        workspace: workspace.clone().unwrap_or(Workspace { members: vec![] }),
    };
    // The cache only saves time: failing to write it is not an error.
    if let Some(dir) = cache.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let tmp = cache.with_extension(format!("{}.tmp", std::process::id()));
    if std::fs::write(&tmp, serde_json::to_vec(&cached).unwrap_or_default()).is_ok() {
        let _ = std::fs::rename(&tmp, cache);
    }
    Ok(workspace)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a crate's manifest and an empty lib.rs under `root/dir`.
    fn krate(root: &Path, dir: &str, name: &str, deps: &str, dev_deps: &str) {
        let at = root.join(dir);
        std::fs::create_dir_all(at.join("src")).unwrap();
        std::fs::write(at.join("src/lib.rs"), "").unwrap();
        let manifest = format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}\n[dev-dependencies]\n{dev_deps}\n"
        );
        std::fs::write(at.join("Cargo.toml"), manifest).unwrap();
    }

    /// A real workspace read by the real `cargo metadata`: app depends on core, cli on app, tool
    /// stands alone; app's tests use testkit.
    fn workspace() -> (tempfile::TempDir, Option<Workspace>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = [\"crates/*\", \"tool\"]\nresolver = \"2\"\n")
            .unwrap();
        krate(root, "crates/core", "core", "", "");
        krate(root, "crates/app", "app", "core = { path = \"../core\" }", "testkit = { path = \"../testkit\" }");
        krate(root, "crates/cli", "cli", "app = { path = \"../app\" }", "");
        krate(root, "crates/testkit", "testkit", "", "");
        krate(root, "tool", "tool", "", "");
        let meta = cargo_metadata::MetadataCommand::new().current_dir(root).no_deps().exec().unwrap();
        let (w, manifests) = Workspace::from_metadata(&meta);
        (dir, w, manifests)
    }

    #[test]
    fn reach_follows_dependencies_and_own_dev_dependencies() {
        let (_dir, w, manifests) = workspace();
        let w = w.unwrap();
        assert_eq!(manifests.len(), 5);
        let id = |name: &str| w.members.iter().position(|m| m.name == name).unwrap();
        let names = |set: HashSet<usize>| {
            let mut v: Vec<String> = set.into_iter().map(|i| w.members[i].name.clone()).collect();
            v.sort();
            v
        };
        assert_eq!(names(w.reach(id("cli"))), ["app", "cli", "core"], "app's dev-dependency is not cli's");
        assert_eq!(names(w.reach(id("app"))), ["app", "core", "testkit"]);
        assert_eq!(names(w.reach(id("tool"))), ["tool"]);
        assert_eq!(w.member_of_path("crates/core/src/lib.rs"), Some(id("core")));
        assert_eq!(w.member_of_path("README.md"), None, "outside every member");
        assert_eq!(w.member_of_suite("cli::bin/cli"), Some(id("cli")));
        assert_eq!(w.member_of_suite("app::integration"), Some(id("app")));
        assert_eq!(w.member_of_suite("elsewhere"), None);
    }

    #[test]
    fn a_single_crate_is_not_a_workspace() {
        let dir = tempfile::tempdir().unwrap();
        krate(dir.path(), "", "a", "", "");
        let meta = cargo_metadata::MetadataCommand::new().current_dir(dir.path()).no_deps().exec().unwrap();
        assert_eq!(Workspace::from_metadata(&meta).0, None);
    }
}
