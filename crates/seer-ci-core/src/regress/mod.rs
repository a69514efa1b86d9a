//! Performance regressions from profiles: which functions' cost (self and inclusive, normalised
//! between runs by a median-of-ratios size factor) changed between two sets of runs, with a
//! moderated t-test and a false discovery rate over everything tested, attributed through the
//! stacks; and where a function's history shifted (E-divisive change points with a t-test, as in
//! Hunter/Otava). Pure: profiles come in as counts, answers go out as numbers.

mod attribute;
mod compare;
mod estimate;
mod json;
mod stats;
mod trend;

pub use attribute::{Stacks, is_library};
pub use compare::{Carrier, CompareError, CompareOptions, Comparison, FrameChange, Moved, TotalChange, compare};
pub use estimate::{Measure, Series, estimate};
pub use json::{change_point_json, frame_name};
pub use stats::{benjamini_hochberg, mean, moderated_t, welch};
pub use trend::{ChangePoint, FramePoint, Trend, TrendFramesOptions, TrendOptions, change_points, trend_by_frame};
