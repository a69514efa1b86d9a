//! Peak memory of `seer` on hostile inputs, measured by the kernel (`wait4`'s `ru_maxrss`, read by
//! a small Python parent, see [`peak_rss`]): each
//! stays within the bound the README documents, and is refused (or read) as it should be.
//!
//! The bounds are generous (the debug binary, a busy machine); what they rule out is memory that
//! grows with what a file expands to, as it did (8.4 GB for an 18 MB `.gz`).

use std::io::Write;
use std::process::{Command, ExitStatus};

use seer_ci_api::exit_codes;

use crate::util::Env;

const MB: u64 = 1 << 20;

/// Runs `seer` as `cmd` would and returns its exit status, peak resident memory in bytes, and
/// stderr. A small Python parent forks it and reads `wait4`'s `ru_maxrss`: a child spawned by this
/// test process itself would be charged with this process's own peak (Linux keeps the high-water
/// mark of the memory a child shared before `exec`), and this process holds the large inputs.
fn peak_rss(cmd: Command) -> (ExitStatus, u64, String) {
    const WAIT: &str = "import os, sys\npid = os.fork()\nif pid == 0:\n    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)\n    os.execv(sys.argv[1], sys.argv[1:])\n\
        _, status, usage = os.wait4(pid, 0)\nsys.stdout.write(str(usage.ru_maxrss))\nsys.exit(os.waitstatus_to_exitcode(status) % 256)\n";
    let mut wrapped = Command::new("python3");
    wrapped.arg("-c").arg(WAIT).arg(cmd.get_program()).args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => wrapped.env(key, v),
            None => wrapped.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    let out = wrapped.output().expect("run seer under python3");
    let kb: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().expect("ru_maxrss from the wrapper");
    let peak = kb * 1024;
    eprintln!("seer {:?}: peak RSS {} MB", cmd.get_args().collect::<Vec<_>>(), peak / MB);
    (out.status, peak, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A gzip file that expands `members` times over to `piece`: the members are compressed once and
/// repeated (a multi-member `.gz`, as `cat a.gz b.gz` makes).
fn gzip_repeated(piece: &[u8], members: usize) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(piece).unwrap();
    let member = gz.finish().unwrap();
    member.repeat(members)
}

fn profile_record(env: &Env, file: &str, max_bytes: Option<u64>) -> (ExitStatus, u64, String) {
    let mut cmd = env.seer();
    cmd.args(["profile", "record", "--name", "b", "--commit", "c", file]);
    if let Some(max) = max_bytes {
        cmd.env("SEER_MAX_PROFILE_BYTES", max.to_string());
    }
    peak_rss(cmd)
}

#[test]
fn decompression_bombs_are_refused_in_bounded_memory() {
    let env = Env::new();
    // 1.5 GiB of zeros (binary), and of one byte without a line break (one endless line).
    let zeros = env.write("zeros.gz", gzip_repeated(&vec![0; 64 << 20], 24));
    let line = env.write("line.gz", gzip_repeated(&vec![b'a'; 64 << 20], 24));
    // Valid folded stacks expanding to 384 MiB, over a 96 MiB limit: read up to the limit.
    let stack: String = (0..3).map(|k| format!("frame_{k}_{}", "x".repeat(1000))).collect::<Vec<_>>().join(";");
    let lines = format!("{stack} 1\n").repeat((16 << 20) / (stack.len() + 3));
    let folded = env.write("folded.gz", gzip_repeated(lines.as_bytes(), 24));
    for (file, max, why) in [
        (&zeros, None, "binary data"),
        (&line, None, "a line longer than"),
        (&folded, Some(96 * MB), "larger than the limit"),
    ] {
        let (status, peak, stderr) = profile_record(&env, file, max);
        assert_eq!(status.code(), Some(exit_codes::INVALID_INPUT), "{file}: {stderr}");
        assert!(stderr.contains(why), "{file}: {stderr}");
        assert!(peak < 256 * MB, "{file}: peak RSS {} MB, over the 256 MB bound", peak / MB);
    }
}

#[test]
fn huge_names_are_refused_in_bounded_memory_with_a_short_message() {
    let env = Env::new();
    // Written, then dropped: a child forked from a process holding them may be charged for them.
    let (long_name, long_root, long_line) = {
        let name = "x".repeat(100 << 20);
        (
            env.write("name.xml", format!("<testsuite><testcase classname=\"c\" name=\"{name}\"/></testsuite>")),
            env.write("root.xml", format!("<{}/>", &name[..10 << 20])),
            env.write("name.jsonl", format!("{{\"type\":\"test\",\"event\":\"ok\",\"name\":\"{name}\"}}\n")),
        )
    };
    for (file, why) in
        [(&long_name, "over the limit of 8192"), (&long_root, "not a JUnit report"), (&long_line, "over the limit")]
    {
        let size = std::fs::metadata(file).unwrap().len();
        let mut cmd = env.seer();
        cmd.args(["record", "--no-git", "--commit", "c", "--run-id", "r", file]);
        let (status, peak, stderr) = peak_rss(cmd);
        assert_eq!(status.code(), Some(exit_codes::INVALID_INPUT), "{file}: {}", &stderr[..stderr.len().min(500)]);
        assert!(stderr.contains(why), "{file}: {}", &stderr[..stderr.len().min(500)]);
        assert!(stderr.len() < 1000, "{file}: the message quotes {} bytes of its input", stderr.len());
        assert!(peak < 64 * MB + 4 * size, "{file}: peak RSS {} MB, over 64 MB + 4x the input", peak / MB);
    }
    assert!(!env.db.exists() || env.count("SELECT COUNT(*) FROM tests") == 0, "nothing stored");
}

#[test]
fn recording_a_large_report_stays_within_four_times_its_size() {
    let env = Env::new();
    let file = env.write("big.xml", crate::util::big_junit(100_000, 50));
    let size = std::fs::metadata(&file).unwrap().len();
    let mut cmd = env.seer();
    cmd.args(["record", "--no-git", "--commit", "c", "--run-id", "r", &file]);
    let (status, peak, stderr) = peak_rss(cmd);
    assert!(status.success(), "{stderr}");
    assert!(peak < 64 * MB + 4 * size, "peak RSS {} MB for a {} MB report", peak / MB, size / MB);
}

#[test]
fn importing_history_and_recording_coverage_stay_within_four_times_their_size() {
    let env = Env::new();
    let mut history = String::new();
    for run in 0..20 {
        let tests: Vec<serde_json::Value> = (0..5_000)
            .map(|t| serde_json::json!({"id": format!("pkg::mod_{}::test_{t}", t % 50), "outcome": "pass", "duration_s": 0.5}))
            .collect();
        let doc = serde_json::json!({"format_version": 1, "run_id": format!("r{run}"), "commit": format!("c{run}"),
            "time": 1_700_000_000 + run * 60, "tests": tests});
        history.push_str(&format!("{doc}\n"));
    }
    let mut lcov = String::new();
    for t in 0..5_000 {
        lcov.push_str(&format!("TN:pkg::test_{t}\n"));
        for f in 0..4 {
            lcov.push_str(&format!("SF:src/file_{}.rs\n", (t + f) % 300));
            for line in 1..40 {
                lcov.push_str(&format!("DA:{line},{}\n", (line + t) % 3));
            }
            lcov.push_str("end_of_record\n");
        }
    }
    let (history_len, lcov_len) = (history.len() as u64, lcov.len() as u64);
    let history = env.write("history.jsonl", history);
    let lcov = env.write("c.lcov", lcov);
    let cases = [
        (vec!["import".to_string(), history], history_len),
        (
            ["coverage", "record", "--commit", "c", "--root", "/"]
                .map(String::from)
                .into_iter()
                .chain([lcov])
                .collect(),
            lcov_len,
        ),
    ];
    for (args, size) in cases {
        let mut cmd = env.seer();
        cmd.args(&args);
        let (status, peak, stderr) = peak_rss(cmd);
        assert!(status.success(), "{args:?}: {stderr}");
        assert!(peak < 64 * MB + 4 * size, "{args:?}: peak RSS {} MB for {} MB of input", peak / MB, size / MB);
    }
}
