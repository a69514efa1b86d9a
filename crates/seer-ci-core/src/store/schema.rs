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
    // 3: what seer select needs to answer in milliseconds (the selection state: counters per test
    // and co-failure counts, derived from the runs and rebuilt from them whenever it cannot be
    // extended), the selections it made and what became of them, and quarantined tests.
    r#"
    -- The runs the state has taken in: a prefix of the runs in (time, id) order. No row: no state.
    CREATE TABLE state_meta (
        id        INTEGER PRIMARY KEY CHECK (id = 1),
        runs      INTEGER NOT NULL,
        last_time INTEGER NOT NULL,             -- (time, id) of the last run taken in
        last_run  INTEGER NOT NULL
    );

    -- Counters of each test's past executions (see features/online.rs), packed: seer select
    -- reads every candidate's row, and one column reads far faster than thirteen.
    CREATE TABLE test_state (
        test     INTEGER PRIMARY KEY REFERENCES tests(id),
        last_run INTEGER NOT NULL,              -- runs.id of its latest execution
        state    BLOB    NOT NULL               -- store/state.rs: encode_state
    );

    -- Co-failure: runs that changed each file or function (key), and failures of each test in them.
    CREATE TABLE cofail_keys (
        id      INTEGER PRIMARY KEY,
        key     TEXT    NOT NULL UNIQUE,        -- a path, or path::function
        changed INTEGER NOT NULL
    );
    CREATE TABLE cofail (
        key    INTEGER NOT NULL REFERENCES cofail_keys(id),
        test   INTEGER NOT NULL REFERENCES tests(id),
        failed INTEGER NOT NULL,
        PRIMARY KEY (key, test)
    ) WITHOUT ROWID;

    -- Every answer of seer select (one row per call; a shard's row holds the whole selection).
    CREATE TABLE selections (
        id          INTEGER PRIMARY KEY,
        commit_sha  TEXT    NOT NULL,
        base        TEXT,
        created_at  INTEGER NOT NULL,           -- Unix seconds
        after_time  INTEGER,                    -- (time, id) of the newest run stored at the time:
        after_run   INTEGER,                    -- the selection comes between that run and the next
        mode        TEXT    NOT NULL,           -- subset | all
        observe     INTEGER NOT NULL,           -- 1: computed and kept, but every test ran
        reason      TEXT,
        model       TEXT,
        threshold   REAL,
        shard_index INTEGER,
        shard_count INTEGER,
        n_selected  INTEGER NOT NULL,
        n_skipped   INTEGER NOT NULL,
        estimated_s REAL    NOT NULL,           -- estimated seconds of the selected tests
        total_s     REAL    NOT NULL,           -- estimated seconds of every candidate
        selected    BLOB    NOT NULL,           -- tests.id of each, u32 little-endian, ascending
        skipped     BLOB    NOT NULL
    );
    CREATE INDEX selections_by_commit ON selections(commit_sha);

    -- Derived with the state: each run against the latest selection made for its commit before it.
    CREATE TABLE selection_runs (
        run       INTEGER PRIMARY KEY REFERENCES runs(id),
        selection INTEGER NOT NULL REFERENCES selections(id),
        failing   INTEGER NOT NULL,             -- failing tests in the run
        caught    INTEGER NOT NULL,             -- of them, selected
        missed    INTEGER NOT NULL,             -- of them, skipped (seen because the run ran them)
        unknown   INTEGER NOT NULL              -- of them, neither: not a candidate of the selection
    );
    -- Derived with the state: a failing result of a test that a selection skipped since the
    -- test's previous execution.
    CREATE TABLE misses (
        run         INTEGER NOT NULL REFERENCES runs(id),
        test        INTEGER NOT NULL REFERENCES tests(id),
        selection   INTEGER NOT NULL REFERENCES selections(id),
        same_commit INTEGER NOT NULL,           -- 1: the selection was for the run's own commit
        PRIMARY KEY (run, test)
    ) WITHOUT ROWID;

    CREATE TABLE quarantine (
        test   INTEGER PRIMARY KEY REFERENCES tests(id),
        since  INTEGER NOT NULL,                -- Unix seconds
        reason TEXT
    );
    "#,
    // 4: profiles: stack samples per bench and commit, frames and stacks interned.
    r#"
    CREATE TABLE frames (
        id   INTEGER PRIMARY KEY,
        name TEXT    NOT NULL UNIQUE            -- normalised (profile/normalize.rs)
    );
    CREATE TABLE stacks (
        id     INTEGER PRIMARY KEY,
        frames BLOB    NOT NULL UNIQUE          -- frames.id of each frame, u32 little-endian, root first
    );
    CREATE TABLE profiles (
        id           INTEGER PRIMARY KEY,       -- in recording order
        bench        TEXT    NOT NULL,
        run_id       TEXT    NOT NULL,
        commit_sha   TEXT    NOT NULL,
        time         INTEGER NOT NULL,          -- Unix seconds: --time, else when recorded
        time_given   INTEGER NOT NULL,          -- 1: --time was given
        recorded_at  INTEGER NOT NULL,
        source       TEXT    NOT NULL,          -- perf, dtrace or folded (+gz)
        samples      INTEGER NOT NULL,
        content_hash TEXT    NOT NULL,          -- what makes recording the same profile again a no-op
        UNIQUE (bench, run_id)
    );
    CREATE INDEX profiles_by_commit ON profiles(bench, commit_sha);
    CREATE TABLE profile_stacks (
        profile INTEGER NOT NULL REFERENCES profiles(id),
        stack   INTEGER NOT NULL REFERENCES stacks(id),
        samples INTEGER NOT NULL,
        PRIMARY KEY (profile, stack)
    ) WITHOUT ROWID;
    -- Each frame's samples per profile, counted once per stack: what a diff or a trend reads.
    CREATE TABLE profile_frames (
        profile       INTEGER NOT NULL REFERENCES profiles(id),
        frame         INTEGER NOT NULL REFERENCES frames(id),
        self_samples  INTEGER NOT NULL,         -- samples with the frame on top
        total_samples INTEGER NOT NULL,         -- samples with the frame anywhere in the stack
        PRIMARY KEY (profile, frame)
    ) WITHOUT ROWID;
    "#,
    // 5: per-test line coverage at a commit (select's coverage rule).
    r#"
    CREATE TABLE coverage_files (
        id   INTEGER PRIMARY KEY,
        path TEXT    NOT NULL UNIQUE            -- relative to the repository root
    );
    CREATE TABLE coverage_commits (
        commit_sha  TEXT    PRIMARY KEY,
        recorded_at INTEGER NOT NULL            -- Unix seconds, the latest recording
    ) WITHOUT ROWID;
    -- One row per test whose coverage was recorded at a commit; tests are named as in their
    -- reports (tests.name), and need not have run yet.
    CREATE TABLE coverage_runs (
        id          INTEGER PRIMARY KEY,
        commit_sha  TEXT    NOT NULL,
        test        TEXT    NOT NULL,
        recorded_at INTEGER NOT NULL,
        UNIQUE (commit_sha, test)
    );
    -- The lines of a file that a test ran (u32 little-endian, ascending); files it ran no line of
    -- have no row.
    CREATE TABLE coverage_hits (
        coverage INTEGER NOT NULL REFERENCES coverage_runs(id),
        file     INTEGER NOT NULL REFERENCES coverage_files(id),
        lines    BLOB    NOT NULL,
        PRIMARY KEY (coverage, file)
    ) WITHOUT ROWID;
    CREATE INDEX coverage_hits_by_file ON coverage_hits(file);
    -- A file's executable lines at a commit, over every test's record (u32 little-endian, ascending).
    CREATE TABLE coverage_lines (
        commit_sha TEXT    NOT NULL,
        file       INTEGER NOT NULL REFERENCES coverage_files(id),
        lines      BLOB    NOT NULL,
        PRIMARY KEY (commit_sha, file)
    ) WITHOUT ROWID;
    "#,
    // 6: selections queued in a side file while another process held the write lock (see
    // store/pending.rs): the file's name keeps a fold-in idempotent; side files that could not
    // be read back are counted, with why.
    r#"
    ALTER TABLE selections ADD COLUMN pending_key TEXT;
    CREATE UNIQUE INDEX selections_by_pending_key ON selections(pending_key) WHERE pending_key IS NOT NULL;
    CREATE TABLE dropped_selections (
        file       TEXT    PRIMARY KEY,
        reason     TEXT    NOT NULL,
        dropped_at INTEGER NOT NULL             -- Unix seconds
    ) WITHOUT ROWID;
    "#,
    // 7: how many samples a profile took (perf weighs its counts by period, so `samples` is
    // time); NULL for profiles recorded before.
    r#"
    ALTER TABLE profiles ADD COLUMN sample_count INTEGER;
    "#,
    // 8: `seer serve`'s bearer tokens: only a hash of each secret is kept.
    r#"
    CREATE TABLE tokens (
        id         INTEGER PRIMARY KEY,
        name       TEXT    NOT NULL,
        hash       TEXT    NOT NULL UNIQUE,     -- SHA-256 of the secret, hex
        scopes     TEXT    NOT NULL,            -- comma-separated: ci, read, admin
        created_at INTEGER NOT NULL,            -- Unix seconds
        revoked_at INTEGER
    );
    "#,
    // 9: the selection state's generation: counts the times the state was dropped (a run stored
    // behind it, a replaced run, a rebuild), so that a reader holding counters of an older state
    // can tell them apart from the new one even where its runs and last run are the same.
    r#"
    CREATE TABLE state_generation (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
    INSERT INTO state_generation (id, n) VALUES (1, 0);
    CREATE TRIGGER state_dropped AFTER DELETE ON state_meta
    BEGIN
        UPDATE state_generation SET n = n + 1 WHERE id = 1;
    END;
    "#,
    // 10: region coverage: on the lines a test ran, the column spans it did not (line, first
    // column, the column after the last: u32 little-endian each); NULL for line coverage.
    r#"
    ALTER TABLE coverage_hits ADD COLUMN unrun BLOB;
    "#,
];

/// The schema version this seer writes.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}
