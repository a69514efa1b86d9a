//! Peak memory of `seer` on hostile inputs, measured by the kernel (`wait4`'s `ru_maxrss`): each
//! stays within the bound the README documents, and is refused (or read) as it should be.
//!
//! The bounds are generous (the debug binary, a busy machine); what they rule out is memory that
//! grows with what a file expands to, as it did (8.4 GB for an 18 MB `.gz`).

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};

use seer_ci_api::exit_codes;

use crate::util::Env;

const MB: u64 = 1 << 20;

/// Runs `cmd` and returns its exit status, peak resident memory in bytes, and stderr. The child
/// is reaped by `wait4` itself (std's `wait` cannot return the usage).
#[allow(clippy::zombie_processes)]
fn peak_rss(mut cmd: Command) -> (ExitStatus, u64, String) {
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn seer");
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr.expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
        text
    });
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for; both pointers are valid for the call.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    (ExitStatus::from_raw(status), usage.ru_maxrss as u64 * 1024, reader.join().unwrap())
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
    let name = "x".repeat(100 << 20);
    let size = 100 << 20;
    let long_name =
        env.write("name.xml", format!("<testsuite><testcase classname=\"c\" name=\"{name}\"/></testsuite>"));
    let long_root = env.write("root.xml", format!("<{}/>", &name[..10 << 20]));
    let long_line = env.write("name.jsonl", format!("{{\"type\":\"test\",\"event\":\"ok\",\"name\":\"{name}\"}}\n"));
    for (file, why) in
        [(&long_name, "over the limit of 8192"), (&long_root, "not a JUnit report"), (&long_line, "over the limit")]
    {
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
    let report = crate::util::big_junit(100_000, 50);
    let size = report.len() as u64;
    let file = env.write("big.xml", report);
    let mut cmd = env.seer();
    cmd.args(["record", "--no-git", "--commit", "c", "--run-id", "r", &file]);
    let (status, peak, stderr) = peak_rss(cmd);
    assert!(status.success(), "{stderr}");
    assert!(peak < 64 * MB + 4 * size, "peak RSS {} MB for a {} MB report", peak / MB, size / MB);
}
