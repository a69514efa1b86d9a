//! The `seer` binary: clap arguments resolved into the library's options, one library call per
//! command, printing, and the mapping of errors to exit codes.

mod args;
mod ci;
mod commands;
mod escape;
mod print;
mod remote;
mod values;

use std::io::Write;

use clap::Parser;

use seer_ci_api::exit_codes;
use seer_ci_core::collect::InputError;
use seer_ci_core::ops::Error;
use seer_ci_core::store::StoreError;

use args::Cli;

// Recording a large report allocates a few strings per test on two threads at once; mimalloc
// keeps that from dominating the time (see the ingest benchmark in the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(run());
}

/// A usage mistake found after clap's own checks (exit 2, as clap's are).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// `seer profile diff --fail-on-regression` found regressions (after printing them).
#[derive(Debug, thiserror::Error)]
#[error("{0} significant regression(s) (--fail-on-regression)")]
pub struct RegressionFound(pub usize);

/// `seer select --format list` has no subset to list: every test must run (exit 8). Not a
/// failure of seer's, but a script that runs only the listed tests must not go on.
#[derive(Debug, thiserror::Error)]
#[error("seer select: the list is not what to run: run every test (exit code {})", exit_codes::RUN_ALL)]
pub struct RunEverything;

/// Runs seer with the process's arguments and returns the exit code.
fn run() -> i32 {
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
            if let Some(e) = err.downcast_ref::<RunEverything>() {
                eprintln!("{e}");
                return exit_codes::RUN_ALL;
            }
            let mut stderr = escape::Escaped::new(std::io::stderr().lock());
            let _ = writeln!(stderr, "error: {err:#}");
            exit_code(&err)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// The exit code of a failed command: the first cause in the chain that has one.
fn exit_code(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return e.exit_code();
        }
        if let Some(e) = cause.downcast_ref::<StoreError>() {
            return e.exit_code();
        }
        if cause.downcast_ref::<InputError>().is_some() {
            return exit_codes::INVALID_INPUT;
        }
        if let Some(e) = cause.downcast_ref::<remote::RemoteError>() {
            return e.exit_code();
        }
        if cause.downcast_ref::<UsageError>().is_some() {
            return exit_codes::USAGE;
        }
        if cause.downcast_ref::<RegressionFound>().is_some() {
            return exit_codes::REGRESSION;
        }
    }
    exit_codes::FAILURE
}
