//! seer: learns from a project's CI history which tests a change is likely to break, and
//! watches performance through flamegraphs.
//!
//! The pipeline flows one way: [`collect`] (reports, git changes, imports) → [`store`] (SQLite).
//! [`cli`] is the command-line front end; nothing else depends on it.

pub mod cli;
pub mod collect;
pub mod eval;
pub mod exit_codes;
pub mod features;
pub mod json;
pub mod model;
pub mod profile;
pub mod regress;
pub mod report;
pub mod select;
pub mod store;
