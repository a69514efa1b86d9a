//! Bad reports are rejected whole, with `file:line: reason` and exit code 3, and leave the store
//! exactly as it was.

use crate::util::{Env, big_junit, report};

/// A store holding one good run, to check that bad input leaves it alone.
fn env_with_one_run() -> Env {
    let env = Env::new();
    env.ok(&["record", "--commit", "c1", "--run-id", "good", "--no-git", &report("pytest-junit.xml")]);
    env
}

/// Records `path` as run "bad" and asserts it is rejected with a message starting `prefix`.
fn assert_rejected(env: &Env, paths: &[&str], prefix: &str, reason: &str) {
    let mut args = vec!["record", "--commit", "c2", "--run-id", "bad", "--no-git"];
    args.extend_from_slice(paths);
    let stderr = env.fails(&args, 3);
    assert!(stderr.contains(prefix), "expected {prefix:?} in:\n{stderr}");
    assert!(stderr.contains(reason), "expected {reason:?} in:\n{stderr}");
    assert_eq!(env.count("SELECT COUNT(*) FROM runs"), 1, "only the good run is stored");
    assert_eq!(env.count("SELECT COUNT(*) FROM results"), 7, "the good run's results are intact");
    assert_eq!(env.count("SELECT COUNT(*) FROM runs WHERE run_id = 'bad'"), 0);
}

#[test]
fn truncated_xml_names_the_line() {
    let env = env_with_one_run();
    let full = std::fs::read_to_string(report("nextest-junit.xml")).unwrap();
    // Cut after the first testcase's line: every element above it stays open.
    let cut = full.find("tests::counts").unwrap();
    let path = env.write("cut.xml", &full[..cut]);
    let line = full[..cut].lines().count();
    assert_rejected(&env, &[&path], &format!("cut.xml:{line}:"), "");
}

#[test]
fn truncated_between_elements_names_the_open_element() {
    let env = env_with_one_run();
    let full = std::fs::read_to_string(report("go-junit-report.xml")).unwrap();
    let cut = full.find("\t<testsuite name=\"example.com/shop/price\"").unwrap();
    let path = env.write("cut.xml", &full[..cut]);
    assert_rejected(&env, &[&path], "cut.xml:", "truncated: the file ends inside <testsuites> opened at line 2");
}

#[test]
fn empty_file_is_rejected() {
    let env = env_with_one_run();
    let path = env.write("empty.xml", "");
    assert_rejected(&env, &[&path], "empty.xml: empty file", "no test results");
}

#[test]
fn binary_garbage_is_rejected() {
    let env = env_with_one_run();
    // The start of a gzip stream: what an uploaded artifact that was never unpacked looks like.
    let path = env.write("report.xml.gz", [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xab, 0x56]);
    assert_rejected(&env, &[&path], "report.xml.gz:1:", "binary data");
}

#[test]
fn wrong_encoding_is_rejected_with_its_line() {
    let env = env_with_one_run();
    // ISO-8859-1 bytes in a file that declares no encoding (so UTF-8).
    let path = env.write("latin1.xml", b"<testsuite>\n<testcase classname=\"a\" name=\"caf\xe9\"/>\n</testsuite>\n");
    assert_rejected(&env, &[&path], "latin1.xml:2:", "invalid UTF-8");
    let path = env.write("sjis.xml", "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\n<testsuite/>\n");
    assert_rejected(&env, &[&path], "sjis.xml:1:", "unsupported encoding \"Shift_JIS\"");
}

#[test]
fn declared_latin1_and_utf16_are_decoded() {
    let env = Env::new();
    let latin1 = env.write(
        "latin1.xml",
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<testsuite><testcase classname=\"a\" name=\"caf\xe9\"/></testsuite>\n",
    );
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in "<testsuite><testcase classname=\"b\" name=\"naïve\"/></testsuite>".encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    let utf16 = env.write("utf16.xml", utf16);
    env.ok(&["record", "--commit", "c", "--run-id", "enc", "--no-git", &latin1, &utf16]);
    let doc = env.json(&["show", "run", "enc"]);
    let ids: Vec<_> = doc["tests"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, ["a::café", "b::naïve"]);
}

#[test]
fn one_bad_report_rejects_the_whole_run() {
    let env = env_with_one_run();
    let bad = env.write(
        "bad.json",
        "{\"type\":\"suite\",\"event\":\"started\"}\n{\"type\":\"test\",\"event\":\"ok\",\"name\":\"a\"\n",
    );
    assert_rejected(&env, &[&report("jest-junit.xml"), &bad], "bad.json:2:", "not a libtest JSON event");
}

#[test]
fn unknown_format_and_missing_file_are_rejected() {
    let env = env_with_one_run();
    let text = env.write("notes.txt", "all tests passed\n");
    assert_rejected(&env, &[&text], "notes.txt:1:", "unrecognised report");
    let missing = env.path().join("nope.xml").to_string_lossy().into_owned();
    assert_rejected(&env, &[&missing], "nope.xml: cannot read", "");
}

#[test]
fn not_junit_xml_is_rejected() {
    let env = env_with_one_run();
    let html = env.write("index.html", "<html><body>502 Bad Gateway</body></html>");
    assert_rejected(&env, &[&html], "index.html:1:", "root element is <html>");
}

#[test]
fn duplicate_test_names_fold_into_one_result() {
    let env = Env::new();
    let dup = env.write(
        "dup.xml",
        r#"<testsuite name="s">
  <testcase classname="k" name="same"><failure message="first"/></testcase>
  <testcase classname="k" name="same"><failure message="second"/></testcase>
  <testcase classname="k" name="same"><failure message="third"/></testcase>
</testsuite>"#,
    );
    env.ok(&["record", "--commit", "c", "--run-id", "dup", "--no-git", &dup]);
    let doc = env.json(&["show", "run", "dup"]);
    let tests = doc["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 1);
    assert_eq!(tests[0]["outcome"], "fail");
    assert_eq!(tests[0]["attempts"], 3);
    assert_eq!(tests[0]["message"], "third");
}

#[test]
fn a_very_large_report_is_stored_whole() {
    let env = Env::new();
    let n = 60_000;
    let path = env.write("big.xml", big_junit(n, 97));
    let doc = env.json(&["record", "--commit", "c", "--run-id", "big", "--no-git", &path]);
    let failing = (0..n).filter(|i| i % 97 == 0).count() as u64;
    assert_eq!(doc["counts"]["tests"], n as u64);
    assert_eq!(doc["counts"]["fail"], failing);
    assert_eq!(env.count("SELECT COUNT(*) FROM results"), n as i64);

    // The same report cut off near its end is refused, naming a line near the end.
    let text = big_junit(n, 97);
    let cut = text.len() - 200;
    let path = env.write("big-cut.xml", &text[..cut]);
    let stderr = env.fails(&["record", "--commit", "c", "--run-id", "big-cut", "--no-git", &path], 3);
    let line = text[..cut].lines().count();
    assert!(stderr.contains(&format!("big-cut.xml:{line}:")), "{stderr}");
    assert_eq!(env.count("SELECT COUNT(*) FROM runs"), 1);
}
