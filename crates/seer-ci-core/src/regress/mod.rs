//! Performance regressions from profiles: which functions' share of samples changed between two
//! sets of runs (with a false discovery rate over the functions tested), and where a function's
//! history shifted (E-divisive change points with a t-test, as in Hunter/Otava). Pure: profiles
//! come in as counts, answers go out as numbers.

mod compare;
mod json;
mod stats;
mod trend;

pub use compare::{CompareError, CompareOptions, Comparison, FrameChange, TotalChange, compare};
pub use json::{change_point_json, frame_name};
pub use stats::{ancova, benjamini_hochberg, mean, welch};
pub use trend::{ChangePoint, FramePoint, Trend, TrendFramesOptions, TrendOptions, change_points, trend_by_frame};
