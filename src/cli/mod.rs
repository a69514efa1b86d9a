//! The command line: clap arguments, their conversion into library calls, and printing.

mod args;
mod commands;
mod print;

use std::io::Write;

use clap::Parser;

use crate::collect::InputError;
use crate::exit_codes;
use crate::store::StoreError;

pub use args::Cli;

/// Something asked for by name that the store does not have.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotFound(pub String);

/// `seer profile diff --fail-on-regression` found regressions (after printing them).
#[derive(Debug, thiserror::Error)]
#[error("{0} significant regression(s) (--fail-on-regression)")]
pub struct RegressionFound(pub usize);

/// Runs seer with the process's arguments and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit_codes::USAGE } else { exit_codes::OK };
        }
    };
    match commands::run(cli) {
        Ok(()) => exit_codes::OK,
        Err(err) => {
            if is_broken_pipe(&err) {
                return exit_codes::OK;
            }
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "error: {err:#}");
            exit_code(&err)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

fn exit_code(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if cause.downcast_ref::<InputError>().is_some() {
            return exit_codes::INVALID_INPUT;
        }
        if cause.downcast_ref::<NotFound>().is_some() {
            return exit_codes::NOT_FOUND;
        }
        if cause.downcast_ref::<RegressionFound>().is_some() {
            return exit_codes::REGRESSION;
        }
        if let Some(store) = cause.downcast_ref::<StoreError>() {
            return match store {
                StoreError::RunConflict { .. } => exit_codes::RUN_CONFLICT,
                StoreError::Missing { .. } => exit_codes::NOT_FOUND,
                StoreError::TooNew { .. } | StoreError::Open { .. } | StoreError::CreateDir { .. } => {
                    exit_codes::STORE_UNUSABLE
                }
                StoreError::Sql(_) => exit_codes::FAILURE,
            };
        }
    }
    exit_codes::FAILURE
}
