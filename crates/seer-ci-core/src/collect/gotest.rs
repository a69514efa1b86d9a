//! `go test -json` output (test2json events), as written by `go test -json` and `gotestsum --jsonfile`.
//!
//! A test's id is `package::TestName` (subtests keep their `/sub` path), the same id that
//! go-junit-report and gotestsum give in JUnit, so a project may switch formats without losing
//! its history.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use super::error::InputError;
use super::report::{Outcome, ResultSet, TestResult, is_duration, name_too_long, not_a_duration, short_message};

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "Action")]
    action: String,
    #[serde(rename = "Package")]
    package: Option<String>,
    #[serde(rename = "Test")]
    test: Option<String>,
    #[serde(rename = "Elapsed")]
    elapsed: Option<f64>,
    #[serde(rename = "Output")]
    output: Option<String>,
}

/// Parses `go test -json` `text` read from `path` into `into`.
pub fn parse(path: &Path, text: &str, into: &mut ResultSet) -> Result<(), InputError> {
    // Started tests not yet finished: id -> (line, first failure line seen in its output).
    let mut running: HashMap<String, (usize, Option<String>)> = HashMap::new();
    let mut packages_open: HashMap<String, usize> = HashMap::new();
    let mut packages_with_failed_tests: HashSet<String> = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let event: Event = serde_json::from_str(line)
            .map_err(|e| InputError::invalid(path, Some(lineno), format!("not a go test -json event: {e}")))?;
        if let Some(t) = event.elapsed.filter(|t| !is_duration(*t)) {
            return Err(InputError::invalid(path, Some(lineno), not_a_duration("Elapsed", t)));
        }
        // Build events (go 1.24+) carry ImportPath, not Package.
        let Some(package) = event.package else { continue };
        let Some(test) = event.test else {
            match event.action.as_str() {
                "start" => {
                    packages_open.insert(package, lineno);
                }
                "pass" | "skip" => {
                    packages_open.remove(&package);
                }
                "fail" => {
                    packages_open.remove(&package);
                    if !packages_with_failed_tests.contains(&package) {
                        // A package that fails outside any test (build error, TestMain, a panic
                        // in init): recorded as one error so the failure is not lost.
                        into.add(TestResult {
                            id: format!("{package}::(package)"),
                            suite: Some(package),
                            file: None,
                            outcome: Outcome::Error,
                            duration_s: event.elapsed,
                            attempts: 1,
                            message: Some("package failed outside any test".into()),
                        });
                    }
                }
                _ => {}
            }
            continue;
        };
        let id = format!("{package}::{test}");
        if let Some(why) = name_too_long(&id) {
            return Err(InputError::invalid(path, Some(lineno), why));
        }
        let outcome = match event.action.as_str() {
            "run" => {
                running.insert(id, (lineno, None));
                continue;
            }
            "output" => {
                if let (Some((_, first)), Some(out)) = (running.get_mut(&id), event.output.as_deref()) {
                    if first.is_none() && out.contains("_test.go:") {
                        *first = short_message(out);
                    }
                }
                continue;
            }
            "pass" => Outcome::Pass,
            "fail" => Outcome::Fail,
            "skip" => Outcome::Skip,
            _ => continue,
        };
        let message = running.remove(&id).and_then(|(_, m)| m).filter(|_| outcome == Outcome::Fail);
        if outcome == Outcome::Fail {
            packages_with_failed_tests.insert(package.clone());
        }
        into.add(TestResult {
            id,
            suite: Some(package),
            file: None,
            outcome,
            duration_s: event.elapsed,
            attempts: 1,
            message,
        });
    }
    let unfinished = running.values().map(|(l, _)| *l).chain(packages_open.values().copied()).min();
    if let Some(started) = unfinished {
        return Err(InputError::invalid(
            path,
            Some(text.lines().count()),
            format!("truncated: the stream ends before the test or package started at line {started} finished"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Vec<TestResult>, String> {
        let mut set = ResultSet::default();
        parse(Path::new("go.json"), text, &mut set).map_err(|e| e.to_string())?;
        Ok(set.into_results())
    }

    #[test]
    fn build_failure_becomes_a_package_error() {
        let text = r#"{"Action":"start","Package":"ex/p"}
{"Action":"output","Package":"ex/p","Output":"FAIL\tex/p [build failed]\n"}
{"Action":"fail","Package":"ex/p","Elapsed":0}
"#;
        let r = parse_str(text).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].id.as_str(), r[0].outcome), ("ex/p::(package)", Outcome::Error));
    }

    #[test]
    fn failing_test_keeps_its_first_location_line() {
        let text = r#"{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"    a_test.go:9: want 1, got 2\n"}
{"Action":"fail","Package":"p","Test":"TestA","Elapsed":0.01}
{"Action":"fail","Package":"p","Elapsed":0.02}
"#;
        let r = parse_str(text).unwrap();
        assert_eq!(r.len(), 1, "a package with a failing test gets no extra package error");
        assert_eq!(r[0].message.as_deref(), Some("a_test.go:9: want 1, got 2"));
    }

    #[test]
    fn a_test_that_never_ends_is_truncation() {
        let text = "{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"TestA\"}\n";
        assert!(parse_str(text).unwrap_err().starts_with("go.json:1: truncated"));
    }
}
