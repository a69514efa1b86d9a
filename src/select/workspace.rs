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

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<MetaPackage>,
    workspace_root: PathBuf,
}

#[derive(Deserialize)]
struct MetaPackage {
    name: String,
    manifest_path: PathBuf,
    dependencies: Vec<MetaDependency>,
}

#[derive(Deserialize)]
struct MetaDependency {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    path: Option<PathBuf>,
}

impl Workspace {
    /// Reads the graph from `cargo metadata --format-version 1` output; `None` for a single crate.
    pub fn from_metadata(json: &[u8]) -> Result<(Option<Workspace>, Vec<String>), String> {
        let meta: Metadata = serde_json::from_slice(json).map_err(|e| format!("cargo metadata output: {e}"))?;
        let root = meta.workspace_root;
        let dir_of = |manifest: &Path| -> String {
            let dir = manifest.parent().unwrap_or(Path::new(""));
            let rel = dir.strip_prefix(&root).unwrap_or(dir).to_string_lossy().replace('\\', "/");
            if rel.is_empty() { String::new() } else { format!("{rel}/") }
        };
        let dirs: Vec<PathBuf> =
            meta.packages.iter().map(|p| p.manifest_path.parent().unwrap_or(Path::new("")).to_path_buf()).collect();
        let manifests = meta.packages.iter().map(|p| p.manifest_path.to_string_lossy().into_owned()).collect();
        if meta.packages.len() < 2 {
            return Ok((None, manifests));
        }
        let members = meta
            .packages
            .iter()
            .map(|p| {
                let mut deps = Vec::new();
                let mut dev_deps = Vec::new();
                for d in &p.dependencies {
                    let Some(at) = d.path.as_ref().and_then(|path| dirs.iter().position(|dir| dir == path)) else {
                        continue;
                    };
                    match d.kind.as_deref() {
                        Some("dev") => dev_deps.push(at),
                        _ => deps.push(at),
                    }
                }
                Member { name: p.name.clone(), dir: dir_of(&p.manifest_path), deps, dev_deps }
            })
            .collect();
        Ok((Some(Workspace { members }), manifests))
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
pub fn load(root: &Path, cache: &Path) -> Result<Option<Workspace>, String> {
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
    let out = std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!("cargo metadata failed: {}", stderr.lines().last().unwrap_or("").trim()));
    }
    let (workspace, manifests) = Workspace::from_metadata(&out.stdout)?;
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

    /// `cargo metadata` of a workspace: app depends on core, cli on app, tool stands alone;
    /// app's tests use testkit.
    const METADATA: &str = r#"{
      "workspace_root": "/w",
      "packages": [
        {"name": "core", "manifest_path": "/w/crates/core/Cargo.toml", "dependencies": [
          {"name": "serde", "kind": null}]},
        {"name": "app", "manifest_path": "/w/crates/app/Cargo.toml", "dependencies": [
          {"name": "core", "kind": null, "path": "/w/crates/core"},
          {"name": "testkit", "kind": "dev", "path": "/w/crates/testkit"}]},
        {"name": "cli", "manifest_path": "/w/crates/cli/Cargo.toml", "dependencies": [
          {"name": "app", "kind": null, "path": "/w/crates/app"}]},
        {"name": "testkit", "manifest_path": "/w/crates/testkit/Cargo.toml", "dependencies": []},
        {"name": "tool", "manifest_path": "/w/tool/Cargo.toml", "dependencies": []}
      ]
    }"#;

    #[test]
    fn reach_follows_dependencies_and_own_dev_dependencies() {
        let (w, manifests) = Workspace::from_metadata(METADATA.as_bytes()).unwrap();
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
        let one = r#"{"workspace_root": "/w", "packages": [{"name": "a", "manifest_path": "/w/Cargo.toml", "dependencies": []}]}"#;
        assert_eq!(Workspace::from_metadata(one.as_bytes()).unwrap().0, None);
    }
}
