//! libtest JSON lines: `cargo test -- -Z unstable-options --format json --report-time` and
//! `cargo nextest run --message-format libtest-json`.
//!
//! nextest names a test `binary-id$test::path`, with `#N` appended when attempt N was the final
//! one; `cargo test` names it by its path alone, since its stream carries no binary name.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::error::InputError;
use super::report::{Outcome, ResultSet, TestResult, is_duration, name_too_long, not_a_duration, short_message};

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    event: String,
    name: Option<String>,
    exec_time: Option<f64>,
    message: Option<String>,
    stdout: Option<String>,
}

/// Parses libtest JSON `text` read from `path` into `into`.
pub fn parse(path: &Path, text: &str, into: &mut ResultSet) -> Result<(), InputError> {
    let mut open_suites: Vec<usize> = Vec::new();
    // Tests started and not yet finished, by id, with the line that started them.
    let mut running: HashMap<String, usize> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let event: Event = serde_json::from_str(line)
            .map_err(|e| InputError::invalid(path, Some(lineno), format!("not a libtest JSON event: {e}")))?;
        if let Some(t) = event.exec_time.filter(|t| !is_duration(*t)) {
            return Err(InputError::invalid(path, Some(lineno), not_a_duration("exec_time", t)));
        }
        match event.kind.as_str() {
            "suite" => match event.event.as_str() {
                "started" => open_suites.push(lineno),
                "ok" | "failed" if open_suites.pop().is_none() => {
                    return Err(InputError::invalid(path, Some(lineno), "a suite ends that never started"));
                }
                _ => {}
            },
            "test" => {
                let name = event
                    .name
                    .as_deref()
                    .ok_or_else(|| InputError::invalid(path, Some(lineno), "a test event without a name"))?;
                let test = TestName::parse(name);
                if let Some(why) = name_too_long(&test.id) {
                    return Err(InputError::invalid(path, Some(lineno), why));
                }
                let outcome = match event.event.as_str() {
                    "started" => {
                        running.insert(test.id, lineno);
                        continue;
                    }
                    "ok" => Outcome::Pass,
                    "failed" => Outcome::Fail,
                    "ignored" => Outcome::Skip,
                    // "timeout" only warns that a test runs long; "bench" results are not tests.
                    _ => continue,
                };
                running.remove(&test.id);
                let message = match outcome {
                    Outcome::Fail => failure_message(event.message.as_deref(), event.stdout.as_deref()),
                    _ => None,
                };
                into.add(TestResult {
                    id: test.id,
                    suite: test.suite,
                    file: None,
                    outcome,
                    duration_s: event.exec_time,
                    attempts: test.attempt,
                    message,
                });
            }
            _ => {}
        }
    }
    let unfinished = running.values().min().copied().or(open_suites.first().copied());
    if let Some(started) = unfinished {
        return Err(InputError::invalid(
            path,
            Some(text.lines().count()),
            format!("truncated: the stream ends before the test or suite started at line {started} finished"),
        ));
    }
    Ok(())
}

struct TestName {
    id: String,
    suite: Option<String>,
    attempt: u32,
}

impl TestName {
    fn parse(name: &str) -> TestName {
        let Some((binary, test)) = name.split_once('$') else {
            return TestName { id: name.to_string(), suite: None, attempt: 1 };
        };
        let (test, attempt) = match test.rsplit_once('#') {
            Some((t, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => (t, n.parse().unwrap_or(1)),
            _ => (test, 1),
        };
        let binary = binary_id(binary);
        TestName { id: format!("{binary}::{test}"), suite: Some(binary.to_string()), attempt }
    }
}

/// nextest's libtest output names a library's unit tests `crate::crate_target`, where its JUnit
/// output and its filters say `crate`; the two are made to agree.
fn binary_id(raw: &str) -> &str {
    match raw.split_once("::") {
        Some((krate, target)) if krate.replace('-', "_") == target => krate,
        _ => raw,
    }
}

fn failure_message(message: Option<&str>, stdout: Option<&str>) -> Option<String> {
    if let Some(m) = message.and_then(short_message) {
        return Some(m);
    }
    let stdout = stdout?;
    let panic = stdout.lines().position(|l| l.contains("panicked at"));
    let line = match panic {
        // The panic payload is on the line after "thread '…' panicked at file:line:col:".
        Some(i) => stdout.lines().nth(i + 1).filter(|l| !l.trim().is_empty()).unwrap_or(stdout.lines().nth(i)?),
        None => stdout.lines().find(|l| !l.trim().is_empty())?,
    };
    short_message(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nextest_names_split_into_binary_test_and_attempt() {
        let t = TestName::parse("flaky::flaky$tests::fails_always#3");
        assert_eq!((t.id.as_str(), t.suite.as_deref(), t.attempt), ("flaky::tests::fails_always", Some("flaky"), 3));
        let t = TestName::parse("my-crate::my_crate$a::b");
        assert_eq!(t.id, "my-crate::a::b");
        let t = TestName::parse("seer::integration$record::works");
        assert_eq!((t.id.as_str(), t.attempt), ("seer::integration::record::works", 1));
        let t = TestName::parse("tests::plain");
        assert_eq!((t.id.as_str(), t.suite), ("tests::plain", None));
    }

    #[test]
    fn unfinished_test_is_truncation() {
        let text = "{\"type\":\"suite\",\"event\":\"started\",\"test_count\":1}\n{\"type\":\"test\",\"event\":\"started\",\"name\":\"a\"}\n";
        let e = parse(Path::new("r.json"), text, &mut ResultSet::default()).unwrap_err().to_string();
        assert!(e.starts_with("r.json:2: truncated"), "{e}");
    }

    #[test]
    fn garbage_line_is_named() {
        let text = "{\"type\":\"suite\",\"event\":\"started\"}\nnot json\n";
        let e = parse(Path::new("r.json"), text, &mut ResultSet::default()).unwrap_err().to_string();
        assert!(e.starts_with("r.json:2: not a libtest JSON event"), "{e}");
    }

    #[test]
    fn panic_payload_is_the_message() {
        let out = "\nthread 'a' panicked at src/lib.rs:1:1:\nboom here\nnote: x";
        assert_eq!(failure_message(None, Some(out)).as_deref(), Some("boom here"));
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Arbitrary lines never panic the libtest or go test -json parsers.
        #[test]
        fn arbitrary_lines_never_panic(lines in prop::collection::vec(prop::sample::select(vec![
            r#"{"type":"suite","event":"started","test_count":2}"#,
            r#"{"type":"suite","event":"ok","passed":1}"#,
            r#"{"type":"test","event":"started","name":"a"}"#,
            r#"{"type":"test","event":"ok","name":"a","exec_time":0.1}"#,
            r#"{"type":"test","event":"failed","name":"x$a#2","stdout":"panicked at"}"#,
            r#"{"type":"test","event":"ignored"}"#,
            r#"{"Action":"run","Package":"p","Test":"T"}"#,
            r#"{"Action":"fail","Package":"p"}"#,
            r#"{"Action":"pass","Package":"p","Test":"T","Elapsed":-1}"#,
            "", "{", "null", "[]", r#"{"type":3}"#,
        ]), 0..20)) {
            let text = lines.join("\n");
            let _ = parse(Path::new("p.json"), &text, &mut ResultSet::default());
            let _ = crate::collect::gotest::parse(Path::new("p.json"), &text, &mut ResultSet::default());
        }
    }

    /// A duration no test can have is refused with its line in both JSON formats, not stored
    /// as unknown.
    #[test]
    fn impossible_durations_are_refused_with_their_line() {
        let libtest = "{\"type\":\"test\",\"event\":\"started\",\"name\":\"a\"}\n{\"type\":\"test\",\"event\":\"ok\",\"name\":\"a\",\"exec_time\":-1}\n";
        let e = parse(Path::new("t.json"), libtest, &mut ResultSet::default()).unwrap_err().to_string();
        assert!(e.starts_with("t.json:2: exec_time -1.0 is not a duration"), "{e}");
        let go = "{\"Action\":\"pass\",\"Package\":\"p\",\"Test\":\"T\",\"Elapsed\":1e308}\n";
        let e =
            crate::collect::gotest::parse(Path::new("g.json"), go, &mut ResultSet::default()).unwrap_err().to_string();
        assert!(e.starts_with("g.json:1: Elapsed 1e308 is not a duration"), "{e}");
    }
}
