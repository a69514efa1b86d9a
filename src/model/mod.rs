//! Failure predictors fitted with linfa: logistic regression and a balanced random forest.

mod forest;
mod logistic;

pub use forest::{Forest, ForestParams, train_forest};
pub use logistic::{LogisticModel, ModelError, train_logistic};
