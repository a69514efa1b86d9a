//! The store's schema as an ordered list of migrations; `PRAGMA user_version` is how many have run.
//!
//! A migration is appended, never edited: stores in the field have run the old ones.

/// Migration N (1-based) brings a store from user_version N-1 to N.
pub const MIGRATIONS: &[&str] = &[
    // 1: runs, tests, results, commits and their changes.
    r#"
    CREATE TABLE runs (
        id           INTEGER PRIMARY KEY,
        run_id       TEXT    NOT NULL UNIQUE,   -- the caller's id (CI job id)
        commit_sha   TEXT    NOT NULL,
        base         TEXT,                      -- base revision as given
        branch       TEXT,
        job          TEXT,
        time         INTEGER NOT NULL,          -- Unix seconds, when the run happened
        recorded_at  INTEGER NOT NULL,          -- Unix seconds, when seer stored it
        source       TEXT    NOT NULL,          -- report formats or import format
        content_hash TEXT    NOT NULL,          -- what makes a re-record a no-op
        changeset    INTEGER REFERENCES changesets(id),
        -- Outcome counts of the run's results, kept with the run so that listing runs reads no results.
        n_tests      INTEGER NOT NULL DEFAULT 0,
        n_pass       INTEGER NOT NULL DEFAULT 0,
        n_fail       INTEGER NOT NULL DEFAULT 0,
        n_error      INTEGER NOT NULL DEFAULT 0,
        n_skip       INTEGER NOT NULL DEFAULT 0,
        n_flaky      INTEGER NOT NULL DEFAULT 0     -- passed after a retry
    );
    CREATE INDEX runs_by_time ON runs(time, id);
    CREATE INDEX runs_by_commit ON runs(commit_sha);

    CREATE TABLE tests (
        id        INTEGER PRIMARY KEY,          -- in order of first appearance
        name      TEXT NOT NULL,                -- the stable test id; unique, kept so by the writer
        suite_len INTEGER,                      -- the suite is the first suite_len bytes of name
        file      TEXT,
        first_run INTEGER NOT NULL              -- runs.id of the run that first had it
    );

    -- One row per test per run, in report order; seer's writer keeps a test to one row per run.
    CREATE TABLE results (
        run        INTEGER NOT NULL REFERENCES runs(id),
        seq        INTEGER NOT NULL,            -- position in the run's reports
        test       INTEGER NOT NULL REFERENCES tests(id),
        outcome    INTEGER NOT NULL CHECK (outcome BETWEEN 0 AND 3), -- pass, fail, error, skip
        duration_s REAL,
        attempts   INTEGER NOT NULL CHECK (attempts >= 1),
        message    TEXT,
        PRIMARY KEY (run, seq)
    ) WITHOUT ROWID;
    -- No index by test: recording stays cheap (a run's rows are appended), and what reads by
    -- test (history, features) scans.

    CREATE TABLE commits (
        sha     TEXT PRIMARY KEY,
        parents TEXT NOT NULL,                  -- space-separated shas
        author  TEXT NOT NULL,
        time    INTEGER NOT NULL,               -- author time, Unix seconds
        summary TEXT NOT NULL
    );

    CREATE TABLE changesets (
        id         INTEGER PRIMARY KEY,
        commit_sha TEXT    NOT NULL,
        base_sha   TEXT    NOT NULL,            -- '' for a root commit
        complete   INTEGER NOT NULL,
        warnings   TEXT    NOT NULL,            -- newline-separated
        UNIQUE (commit_sha, base_sha)
    );

    CREATE TABLE changes (
        changeset INTEGER NOT NULL REFERENCES changesets(id),
        path      TEXT    NOT NULL,
        old_path  TEXT,
        status    TEXT    NOT NULL,             -- A M D R C T
        added     INTEGER,
        deleted   INTEGER,
        binary    INTEGER NOT NULL,
        PRIMARY KEY (changeset, path)
    ) WITHOUT ROWID;
    "#,
    // 2: the functions each change touches, space-separated (a feature of the predictor).
    r#"
    ALTER TABLE changes ADD COLUMN symbols TEXT;
    "#,
];

/// The schema version this seer writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}
