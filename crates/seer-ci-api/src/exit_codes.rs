//! seer's exit codes: one place, documented in the README.

/// Success.
pub const OK: i32 = 0;
/// An unexpected failure (I/O, a store error other than those below).
pub const FAILURE: i32 = 1;
/// Bad command-line usage (clap's own code).
pub const USAGE: i32 = 2;
/// A report or history file was rejected; nothing was stored.
pub const INVALID_INPUT: i32 = 3;
/// The run id is already stored with different content; nothing was changed.
pub const RUN_CONFLICT: i32 = 4;
/// The run, test or store asked for does not exist.
pub const NOT_FOUND: i32 = 5;
/// The store is newer than this seer, or cannot be opened.
pub const STORE_UNUSABLE: i32 = 6;
/// `seer profile diff --fail-on-regression` found a significant regression.
pub const REGRESSION: i32 = 7;
/// `seer select --format list` could not choose a subset: run every test. What it printed (the
/// tests it knows, or nothing) is not the whole suite, so a script must not run only that.
pub const RUN_ALL: i32 = 8;
/// The disk holding the store is full (or the store reached its size limit); nothing of the
/// call was stored, and the store is as it was.
pub const DISK_FULL: i32 = 9;
