//! A seeded mutation harness for every input parser: real reports, histories, coverage and
//! profiles, mutated the way a hostile or broken CI step would (bytes flipped, cut, repeated,
//! spliced with other formats, control characters and huge numbers dropped in), read through
//! the same entry points `seer` uses. Each input must be read whole or refused with an error
//! that names its file; nothing may panic.
//!
//! CI runs a few hundred inputs per parser; `SEER_FUZZ_ITERATIONS=N SEER_FUZZ_SEED=S` runs more
//! (`scripts/fuzz.sh`).

use std::path::Path;

use super::import::read_history;
use super::{ResultSet, read_report};
use crate::profile::{ReadOptions, read_profile};

/// xorshift64*: small, seeded, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Fragments that break parsers in practice.
const SPLICES: &[&[u8]] = &[
    b"\0",
    b"\x1b]0;pwned\x07",
    b"\r\n",
    b"&#10;",
    b"&#xD800;",
    b"&undefined;",
    b"<![CDATA[",
    b"]]>",
    b"<testcase name=\"x\">",
    b"</testsuite>",
    b"<?xml version=\"1.0\"?>",
    b"time=\"1e308\"",
    b"time=\"-1\"",
    b"\"exec_time\":-1",
    b"\"Elapsed\":1e309",
    b"99999999999999999999999",
    b"NaN",
    b"\xff\xfe",
    b"\xc3\x28",
    b"TN:\nSF:/etc/passwd\nDA:0,-1\n",
    b";;;;",
    b" 18446744073709551616\n",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len() + 1);
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => data.truncate(at),
            2 => {
                let end = (at + rng.below(64)).min(data.len());
                data.drain(at..end);
            }
            3 => {
                let piece = SPLICES[rng.below(SPLICES.len())];
                data.splice(at..at, piece.iter().copied());
            }
            4 => {
                let end = (at + rng.below(256)).min(data.len());
                let copy = data[at..end].to_vec();
                data.splice(at..at, copy);
            }
            _ => data.insert(at.min(data.len()), (rng.next() & 0xff) as u8),
        }
    }
    data
}

/// The seed inputs: every report fixture, a history in each import format, LCOV, and profiles.
fn corpus() -> Vec<(&'static str, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root.join("reports")).expect("report fixtures") {
        let path = entry.expect("a fixture").path();
        if path.extension().is_some_and(|e| e == "xml" || e == "jsonl" || e == "json") {
            out.push(("report", std::fs::read(&path).expect("read fixture")));
        }
    }
    let csv = std::fs::read(root.join("iofrol-cycles-1-6.csv")).expect("history fixture");
    out.push(("history", csv[..csv.len().min(4000)].to_vec()));
    out.push((
        "history",
        br#"{"format_version":1,"run_id":"r1","commit":"c","tests":[{"id":"t::a","outcome":"fail","duration_s":0.5}]}"#
            .to_vec(),
    ));
    out.push((
        "lcov",
        b"TN:t::a\nSF:src/a.rs\nDA:1,1\nDA:2,0\nend_of_record\nTN:t::b\nSF:src/b.rs\nDA:3,4\nend_of_record\n".to_vec(),
    ));
    out.push(("profile", b"main;parse;lex 12\nmain;parse 3\nmain;eval;add 7\n".to_vec()));
    out.push((
        "profile",
        b"seer 123 [000] 1.0: 1 cpu-clock:\n\t55d1 main+0x10 (/bin/seer)\n\t55d2 start+0x5 (/bin/seer)\n\n".to_vec(),
    ));
    out
}

/// Reads `bytes` as `kind` from a file at `path`: whether it was accepted; an error must name
/// the file.
fn read(kind: &str, path: &Path, bytes: &[u8]) -> Result<bool, String> {
    std::fs::write(path, bytes).expect("write input");
    let error = match kind {
        "report" => read_report(path, None, &mut ResultSet::default()).err().map(|e| e.to_string()),
        "history" => read_history(path, None, "h").err().map(|e| e.to_string()),
        "lcov" => super::lcov::read(path, None, Path::new("/")).err().map(|e| e.to_string()),
        _ => read_profile(path, &ReadOptions { max_bytes: 1 << 20, ..ReadOptions::default() })
            .err()
            .map(|e| e.to_string()),
    };
    match error {
        Some(e) if !e.starts_with(&path.display().to_string()) => Err(format!("an error that names no file: {e}")),
        Some(_) => Ok(false),
        None if kind == "report" && looks_like_xml(bytes) => match well_formed(bytes) {
            Ok(()) => Ok(true),
            Err(why) => Err(format!("accepted XML that is not well-formed: {why}")),
        },
        None => Ok(true),
    }
}

/// Whether seer's format detection would read `bytes` as XML: its first character is `<`.
fn looks_like_xml(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

/// The oracle: roxmltree, a strict XML 1.0 parser (UTF-8 only, as seer's reports are).
fn well_formed(bytes: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    // seer reads local names, as XML 1.0 without namespaces does: an undeclared prefix is not
    // malformed XML, only a namespace error.
    match roxmltree::Document::parse(text) {
        Ok(_) | Err(roxmltree::Error::UnknownNamespace(..)) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn mutated_inputs_are_read_whole_or_refused_with_their_file_and_never_panic() {
    let iterations: usize = std::env::var("SEER_FUZZ_ITERATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(200);
    let seed: u64 = std::env::var("SEER_FUZZ_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or(0x5EE2);
    let dir = tempfile::tempdir().expect("temp dir");
    let corpus = corpus();
    let mut rng = Rng(seed | 1);
    let (mut accepted, mut refused) = (0, 0);
    let mut malformed: Vec<String> = Vec::new();
    for i in 0..iterations {
        for (k, (kind, seed_input)) in corpus.iter().enumerate() {
            let input = mutate(&mut rng, seed_input);
            let path = dir.path().join(format!("input-{k}"));
            let outcome = std::panic::catch_unwind(|| read(kind, &path, &input));
            match outcome {
                Ok(Ok(true)) => accepted += 1,
                Ok(Ok(false)) => refused += 1,
                Ok(Err(why)) if why.starts_with("accepted XML") => {
                    malformed.push(format!("{why}\n  input: {:?}", String::from_utf8_lossy(&input)));
                }
                Ok(Err(why)) => {
                    panic!("iteration {i}, {kind} seed {k}: {why}\ninput: {:?}", String::from_utf8_lossy(&input))
                }
                Err(_) => {
                    panic!("iteration {i}, {kind} seed {k} panicked\ninput: {:?}", String::from_utf8_lossy(&input))
                }
            }
        }
    }
    eprintln!(
        "{} inputs (seed {seed}): {accepted} read whole, {refused} refused naming their file, {} malformed XML accepted",
        accepted + refused + malformed.len(),
        malformed.len()
    );
    let shown: Vec<&str> = malformed.iter().take(12).map(String::as_str).collect();
    assert!(malformed.is_empty(), "{} malformed XML inputs accepted, e.g.:\n{}", malformed.len(), shown.join("\n"));
}
