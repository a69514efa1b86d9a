//! Features for each (run, test) pair, built from the runs before it only: history features with
//! polars window functions, change and cross features by counting in run order.

mod change;
mod history;
mod online;

pub use change::{
    BUILD_FILE_PATTERNS, CHANGE_FEATURES, ChangeContext, CoFailure, Evidence, NameParts, TestName, change_features,
    change_keys, is_build_file, matches_pattern, path_matches, tokens,
};
pub use history::{FEATURES, FeatureTable, history_features};
pub use online::{TestState, history_row, mean_duration, observe, recent_failures};

use ndarray::{Array2, Axis, concatenate};
use polars::prelude::PolarsResult;

use crate::store::Replay;

/// Names of every column of [`all_features`]: the history features, then the change features.
pub fn all_feature_names() -> Vec<&'static str> {
    FEATURES.iter().chain(CHANGE_FEATURES).map(|(n, _)| *n).collect()
}

/// History and change features of every pair where the test ran.
pub fn all_features(replay: &Replay) -> PolarsResult<FeatureTable> {
    let mut table = history_features(replay)?;
    let change = change_features(replay, &table.run_rows, &table.test);
    let change = Array2::from_shape_vec((table.test.len(), CHANGE_FEATURES.len()), change).expect("one row per pair");
    table.x = concatenate(Axis(1), &[table.x.view(), change.view()]).expect("same rows");
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_documents_every_feature_in_column_order() {
        let readme = include_str!("../../../../README.md");
        let mut at = 0;
        for name in all_feature_names() {
            let row = format!("| `{name}` |");
            let found = readme[at..].find(&row).unwrap_or_else(|| panic!("README's feature table lacks {name}"));
            at += found + row.len();
        }
    }
}
