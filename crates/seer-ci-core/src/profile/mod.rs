//! Profiles: stack samples read from `perf script`, DTrace or folded files (collapsed with
//! inferno), frame names normalised, and flame graphs drawn with inferno.

mod flamegraph;
mod history;
mod input;
mod normalize;
mod perf;

pub use flamegraph::{FlamegraphOptions, differential_svg, flamegraph_svg};
pub use history::{HistoryOrder, ProfileHistory, RunFrames, history, run_frames, stacks};
pub use input::{DEFAULT_MAX_PROFILE_BYTES, Folded, ProfileFormat, ReadOptions, read_profile};
pub use normalize::{NormalizeOptions, normalize_frame};
pub use perf::{PerfError, PerfRequest, check_perf, perf_runs};
