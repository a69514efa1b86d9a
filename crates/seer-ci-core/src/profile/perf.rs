//! Profiling a command with Linux `perf`, for `seer profile run`: `perf record -g` of the
//! command, then `perf script` of what it recorded, once per run, into a directory of
//! `perf script` files that `seer profile record` reads.
//!
//! perf is asked first whether it may sample at all (`perf record` of `true`), so that a missing
//! perf or a `perf_event_paranoid` that forbids sampling is one clear error before the workload
//! runs, rather than N failed runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What to profile, and how.
#[derive(Debug, Clone)]
pub struct PerfRequest {
    /// The program and its arguments.
    pub command: Vec<String>,
    pub runs: usize,
    /// Samples per second (`perf record -F`).
    pub frequency: u32,
    /// Where the `perf script` files go (`run-1.perf`, …).
    pub dir: PathBuf,
    /// The `perf` program (`perf`, found on `PATH`, unless given).
    pub perf: PathBuf,
}

/// Why perf could not profile the command.
#[derive(Debug, thiserror::Error)]
pub enum PerfError {
    #[error(
        "{perf} cannot be run ({source}): install perf (Debian: apt-get install linux-perf; Ubuntu: linux-tools-$(uname -r))"
    )]
    Missing { perf: String, source: std::io::Error },
    #[error(
        "perf may not sample here (kernel.perf_event_paranoid is {paranoid}): allow it with \
         `sysctl -w kernel.perf_event_paranoid=1` (or run as root, or with CAP_PERFMON); perf said: {said}"
    )]
    Forbidden { paranoid: String, said: String },
    #[error("perf cannot sample here: {said}")]
    Unusable { said: String },
    #[error("the profiled command is empty")]
    NoCommand,
    #[error("run {run}: `{command}` failed ({status}); nothing was recorded")]
    CommandFailed { run: usize, command: String, status: String },
    #[error("run {run}: `perf script` failed ({status}): {said}")]
    Script { run: usize, status: String, said: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// The last lines of a tool's stderr, for an error message.
fn said(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join(" ").chars().take(300).collect()
}

/// Whether perf can sample here: `perf record` of `true`, its data thrown away.
pub fn check_perf(perf: &Path, scratch: &Path) -> Result<(), PerfError> {
    let data = scratch.join("probe.data");
    let out = Command::new(perf)
        .args(["record", "-q", "-g", "-o"])
        .arg(&data)
        .args(["--", "true"])
        .stdin(Stdio::null())
        .output()
        .map_err(|source| PerfError::Missing { perf: perf.display().to_string(), source })?;
    let _ = std::fs::remove_file(&data);
    if out.status.success() {
        return Ok(());
    }
    let said = said(&out.stderr);
    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid").map(|s| s.trim().to_string());
    let forbidden = said.contains("perf_event_paranoid")
        || said.contains("Permission")
        || said.contains("Access to performance monitoring");
    match paranoid {
        Ok(paranoid) if forbidden => Err(PerfError::Forbidden { paranoid, said }),
        _ => Err(PerfError::Unusable { said }),
    }
}

/// Profiles `request.command` `request.runs` times; returns the `perf script` files, in order.
/// The command's own output goes to stderr, so that seer's stays readable.
pub fn perf_runs(request: &PerfRequest) -> Result<Vec<PathBuf>, PerfError> {
    let (program, args) = request.command.split_first().ok_or(PerfError::NoCommand)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PerfError::Io { path, source }
    };
    std::fs::create_dir_all(&request.dir).map_err(io(&request.dir))?;
    check_perf(&request.perf, &request.dir)?;
    let mut scripts = Vec::with_capacity(request.runs);
    for run in 1..=request.runs {
        let data = request.dir.join(format!("run-{run}.data"));
        let status = Command::new(&request.perf)
            // cpu-clock: a sample's period is then nanoseconds of CPU time, on every machine
            // (a cycles event counts cycles, which vary with the clock speed, and is missing in VMs).
            .args(["record", "-q", "-e", "cpu-clock", "-g", "-F", &request.frequency.to_string(), "-o"])
            .arg(&data)
            .arg("--")
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::io::stderr())
            .status()
            .map_err(|source| PerfError::Missing { perf: request.perf.display().to_string(), source })?;
        if !status.success() {
            return Err(PerfError::CommandFailed {
                run,
                command: request.command.join(" "),
                status: status.to_string(),
            });
        }
        let script = request.dir.join(format!("run-{run}.perf"));
        let file = std::fs::File::create(&script).map_err(io(&script))?;
        let out = Command::new(&request.perf)
            .args(["script", "-i"])
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(Stdio::piped())
            .output()
            .map_err(|source| PerfError::Missing { perf: request.perf.display().to_string(), source })?;
        if !out.status.success() {
            return Err(PerfError::Script { run, status: out.status.to_string(), said: said(&out.stderr) });
        }
        let _ = std::fs::remove_file(&data);
        scripts.push(script);
    }
    Ok(scripts)
}
