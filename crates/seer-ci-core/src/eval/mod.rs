//! Measuring test selection honestly: history replayed in time order, every contender scored on
//! the same runs with only the runs before them, and the metrics the literature and CI teams use.

mod learned;
mod metrics;
mod rank;
mod walk;

pub use learned::Learned;
pub use metrics::{RunPick, Summary, apfd, napfd, select_by_time};
pub use rank::{RandomOrder, RankedTest, Ranker, RecentlyFailedFirst, RunAll, TestHistory};
pub use walk::{EvalOptions, Evaluation, RankerResult, evaluate};
