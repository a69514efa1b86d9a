//! Failure predictors fitted with linfa (logistic regression and a balanced random forest),
//! their training with time-ordered validation and threshold calibration, and model files.

mod evidence;
mod file;
mod forest;
mod json;
mod logistic;
mod train;

pub use evidence::{MIN_VALIDATION_FAILING, wilson_interval};
pub use file::{
    COLD_START_NAME, MODEL_FORMAT_VERSION, ModelFile, ModelFileError, ModelSource, TrainingWindow, cold_start,
    is_model_file, latest, live, models_dir,
};
pub use forest::{Forest, ForestParams, train_forest};
pub use logistic::{LogisticModel, ModelError, train_logistic};
pub use train::{
    FeatureSet, Predictor, TrainOptions, Trained, Validation, auc, calibrate, calibrated, isotonic, train,
};
