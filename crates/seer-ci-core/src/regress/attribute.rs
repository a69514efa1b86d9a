//! Which function explains a change, read from the stacks: callers and callees of the functions
//! that changed, the library frames that carry the samples, and functions that moved into (or
//! out of) their caller when inlining changed.

use hashbrown::{HashMap, HashSet};

/// The merged stacks of each side (frame ids, root first, samples added up over the side's
/// runs) and the names of the frames in them: what attribution reads.
#[derive(Debug, Clone, Default)]
pub struct Stacks {
    pub base: Vec<(Vec<i64>, u64)>,
    pub head: Vec<(Vec<i64>, u64)>,
    pub names: HashMap<i64, String>,
}

/// Whether a frame is the language's or the system's rather than the project's: Rust's std,
/// core and alloc (also as `<core::… as …>` impls), the C library's and the allocator's
/// symbols, the kernel's frames, and frames perf could not name.
pub fn is_library(name: &str) -> bool {
    let name = name.trim_start_matches('<');
    const PREFIXES: &[&str] = &["std::", "core::", "alloc::", "__", "_int_", "[unknown]", "[k]", "[kernel", "libc"];
    const LIBC: &[&str] = &["memcpy", "memmove", "memset", "memcmp", "malloc", "free", "realloc", "calloc", "strlen"];
    PREFIXES.iter().any(|p| name.starts_with(p))
        || name.ends_with("_[k]")
        || name.contains(".so")
        || LIBC.iter().any(|f| name == *f || name.starts_with(&format!("{f}@")))
}

impl Stacks {
    /// The frames of `changed` (all moving the same way) worth naming: the project's frames
    /// whose change is not explained by a changed project frame beneath them (one whose
    /// `delta`, the size of its change, is at least half theirs), then the library frames not
    /// beneath one of those (they are listed under it as its carriers instead).
    pub fn headlines(&self, changed: &HashSet<i64>, delta: impl Fn(i64) -> f64) -> Vec<i64> {
        let below = self.descendants(changed);
        let under = |f: i64| below.get(&f).into_iter().flatten().copied();
        let project: Vec<i64> = changed
            .iter()
            .copied()
            .filter(|&f| self.is_project(f))
            .filter(|&f| !under(f).any(|d| self.is_project(d) && delta(d).abs() >= 0.5 * delta(f).abs()))
            .collect();
        let library = changed
            .iter()
            .copied()
            .filter(|&f| !self.is_project(f) && !project.iter().any(|&p| under(p).any(|d| d == f)));
        project.iter().copied().chain(library).collect()
    }

    /// For each frame of `set`, the other frames of `set` that are called beneath it (appear
    /// above it on some stack).
    pub fn descendants(&self, set: &HashSet<i64>) -> HashMap<i64, HashSet<i64>> {
        let mut out: HashMap<i64, HashSet<i64>> = HashMap::new();
        for (stack, _) in self.base.iter().chain(&self.head) {
            let at: Vec<i64> = stack.iter().copied().filter(|f| set.contains(f)).collect();
            for (i, a) in at.iter().enumerate() {
                for d in &at[i + 1..] {
                    if d != a {
                        out.entry(*a).or_default().insert(*d);
                    }
                }
            }
        }
        out
    }

    /// The heaviest direct caller of `frame` on one side.
    pub fn main_caller(&self, frame: i64, head: bool) -> Option<i64> {
        let mut callers: HashMap<i64, u64> = HashMap::new();
        for (stack, n) in if head { &self.head } else { &self.base } {
            if let Some(i) = stack.iter().position(|&f| f == frame)
                && i > 0
            {
                *callers.entry(stack[i - 1]).or_default() += n;
            }
        }
        callers.into_iter().max_by_key(|&(f, n)| (n, -f)).map(|(f, _)| f)
    }

    /// Each frame's self samples within `frame`'s calls (stacks through `frame`, counted once
    /// however deep it recurses), on each side: `frame` → (base, head).
    pub fn within(&self, frame: i64) -> HashMap<i64, (u64, u64)> {
        let mut out: HashMap<i64, (u64, u64)> = HashMap::new();
        for (side, stacks) in [(0, &self.base), (1, &self.head)] {
            for (stack, n) in stacks {
                if let Some(&leaf) = stack.last()
                    && stack.contains(&frame)
                {
                    let e = out.entry(leaf).or_default();
                    if side == 0 { e.0 += n } else { e.1 += n }
                }
            }
        }
        out
    }

    /// One side's merged stacks with frame names, as `Store::merged_stacks` gives them (for
    /// flame graphs of the same runs, without reading them again).
    pub fn named(&self, head: bool) -> Vec<(Vec<String>, u64)> {
        let side = if head { &self.head } else { &self.base };
        let name = |f: &i64| self.names.get(f).cloned().unwrap_or_default();
        side.iter().map(|(stack, n)| (stack.iter().map(name).collect(), *n)).collect()
    }

    /// The names of `frames` (those the stacks hold), already read with the stacks.
    pub fn names_of(&self, frames: impl IntoIterator<Item = i64>) -> HashMap<i64, String> {
        frames.into_iter().filter_map(|f| self.names.get(&f).map(|n| (f, n.clone()))).collect()
    }

    /// Whether `frame` is the project's: a frame whose name is unknown counts as the project's.
    pub fn is_project(&self, frame: i64) -> bool {
        !self.names.get(&frame).is_some_and(|n| is_library(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_libc_and_kernel_frames_are_library_and_the_projects_are_not() {
        for name in [
            "core::slice::sort::stable::quicksort::quicksort",
            "<alloc::vec::Vec<T> as core::ops::Drop>::drop",
            "std::io::Write::write_fmt",
            "__memmove_avx512_unaligned_erms",
            "_int_malloc",
            "malloc",
            "[unknown]",
            "asm_exc_page_fault_[k]",
            "__sin_fma",
        ] {
            assert!(is_library(name), "{name}");
        }
        for name in ["workloads::rank_records", "main", "semver::parse::version", "sort_names", "app::free_list"] {
            assert!(!is_library(name), "{name}");
        }
    }
}
