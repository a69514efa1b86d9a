//! seer's engine: learns from a project's CI history which tests a change is likely to break, and
//! watches performance through flamegraphs.
//!
//! Data flows one way: [`collect`] (reports, git changes, imports) → [`store`] (SQLite) →
//! [`features`] (polars) → [`model`] (linfa) → [`select`] (selection and prediction), with
//! [`eval`] replaying the history to measure them; and [`profile`] (inferno) → [`regress`] →
//! [`report`]. This crate knows no command line: the `seer` binary (the workspace's root package)
//! resolves its flags into the option structs here, and the JSON documents are `seer_ci_api`'s.
//! [`backend`] is the storage interface `seer serve` reaches the store through.

pub mod backend;
pub mod collect;
pub mod eval;
pub mod features;
pub mod model;
pub mod ops;
pub mod profile;
pub mod regress;
pub mod report;
pub mod select;
pub mod store;
