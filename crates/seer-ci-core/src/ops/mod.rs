//! What each seer command does, as one public function over an options struct.
//!
//! The binary (and, later, the server) resolves its input into these options, calls one
//! function, and prints or sends what it returns. Nothing here prints or knows a flag.

mod copy;
mod doctor;
mod error;
mod profiles;
mod query;
mod record;
mod train;

pub use copy::{Copied, RUNS_PER_TRANSACTION, copy_store, models_of};
pub use doctor::{Check, DoctorRequest, Status, doctor};
pub use error::Error;
pub use profiles::{
    Compared, FlamegraphRequest, ProfileRecordRequest, Trended, compare_profiles, flamegraph, profile_run,
    profile_run_id, profile_runs_at, profiles_json, record_profiles, trend,
};
pub use query::{backup_store, change_quarantine, flaky_list, report, stats};
pub use record::{
    CoverageRecordRequest, CoverageRecorded, ImportRequest, Imported, Recorded, import, record, record_coverage,
    record_document, refresh_after_write,
};
pub use train::{EvalRequest, ModelDestination, TrainRequest, TrainedModel, evaluate, train};
