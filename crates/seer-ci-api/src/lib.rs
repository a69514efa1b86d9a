//! seer's public API: every JSON document that seer prints or reads, and its exit codes.
//!
//! This crate is serde types and constants only, so that a tool that reads seer's output
//! compiles nothing else (as nextest-metadata is to cargo-nextest). The engine
//! (`seer-ci-core`) converts its own types into these beside those types; the binary prints them.

mod documents;
pub mod exit_codes;
pub mod server;

pub use documents::*;
