//! Test selection for the CI pre-test step (`seer select`), predictions for developers (`seer
//! predict`), the selection state that makes them fast, and flaky-test detection.

mod config;
mod coverage;
mod fail_open;
mod flaky;
mod format;
mod gate;
mod json;
mod pipeline;
mod refresh;
mod score;
mod selection;
mod warm;
mod workspace;

pub use config::{CONFIG_PATH, ConfigError, SelectConfig};
pub use coverage::base_path;
pub use fail_open::Unusable;
pub use flaky::{FlakyOptions, FlakyTest, detect_flaky};
pub use format::{Runner, and_nextest_filter, locate_pytest_files, pytest_node_id, quarantined_args, runner_args};
pub use gate::{
    Gate, GateConfig, GateEvidence, Observed, decide as decide_gate, judge as judge_gate,
    judge_with_models as judge_gate_with_models,
};
pub use pipeline::{ChangeSource, GivenChange, Predicted, Prediction, SelectRequest, predict, select, select_warm};
pub use refresh::{Refreshed, StateWrite, refresh, refresh_at_most, take_in_new_runs};
pub use selection::{Mode, Selected, Selection, Shard, Target, TestRef};
pub use warm::Warm;
pub use workspace::{Member, Workspace};
