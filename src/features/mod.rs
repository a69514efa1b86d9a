//! Features for each (run, test) pair, built with polars from the runs before it only.

mod history;

pub use history::{FEATURES, FeatureTable, history_features};
