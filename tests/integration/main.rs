//! Integration tests: the built `seer` binary against report fixtures and tiny git repositories.

mod adopt;
mod backup;
mod bad_input;
mod concurrency;
mod coverage;
mod crash;
mod eval;
mod exit_codes;
mod faults;
mod git_changes;
mod golden;
mod hostile;
mod import;
mod memory;
mod model;
mod profile;
mod queries;
mod readme;
mod recipes;
mod record;
mod replicas;
mod report;
mod runners;
mod select;
mod serve;
mod util;
