//! Ingest throughput on the generated 200,000-testcase JUnit report the README quotes
//! (`scripts/gen_junit.py`, written to `target/bench-data/`): parsing alone, and parsing while
//! storing into a fresh store, as `seer record` does.

use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use seer_ci_core::collect::{RecordOptions, ResultSet, prepare, read_report, read_reports};
use seer_ci_core::store::Store;

const TESTS: u64 = 200_000;

fn report() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join(format!("target/bench-data/junit-{TESTS}.xml"));
    if !path.exists() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let status = Command::new("python3")
            .arg(root.join("scripts/gen_junit.py"))
            .arg(TESTS.to_string())
            .arg(&path)
            .status()
            .expect("python3 runs scripts/gen_junit.py");
        assert!(status.success());
    }
    path
}

fn bench_record(c: &mut Criterion) {
    let path = report();
    let mut group = c.benchmark_group("record");
    group.throughput(Throughput::Elements(TESTS));
    group.sample_size(10);
    group.bench_function("parse_junit_200k", |b| {
        b.iter(|| {
            let mut set = ResultSet::default();
            read_report(&path, None, &mut set).unwrap();
            assert_eq!(set.len() as u64, TESTS);
        })
    });
    group.bench_function("parse_and_store_200k", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let opts = RecordOptions {
                    run_id: "bench".into(),
                    commit: "c0ffee".into(),
                    reports: vec![path.clone()],
                    ..RecordOptions::default()
                };
                let prepared = prepare(&opts);
                let mut store = Store::open(&dir.path().join("seer.db")).unwrap();
                store
                    .record_streaming(&prepared.info, None, false, |set| read_reports(&opts, set), |r| r.source.clone())
                    .unwrap();
                dir
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench_record);
criterion_main!(benches);
