//! Failure predictors fitted with linfa.

mod logistic;

pub use logistic::{LogisticModel, ModelError, train_logistic};
