//! A CPU workload of seer's own code, for real profiles of it (`scripts/profile-fixtures.py`):
//! parsing a JUnit report, tokenising test names, hashing results, sorting names, and a
//! checksum that holds a few percent of the time. `--slow FUNCTION=FACTOR` makes one of them do
//! FACTOR times its work (an injected slowdown of a known size in a known function).
//!
//! Usage: profile-workload [--rounds N] [--slow parse_reports|tokenize_names|hash_results|sort_names|checksum=F]

use std::hint::black_box;
use std::path::Path;

use seer_ci_core::collect::{ResultSet, RunInfo};

/// A JUnit report of `n` test cases, every 50th failing.
fn report(n: usize) -> String {
    let mut xml = String::from("<testsuites>\n");
    for suite in 0..n.div_ceil(100) {
        xml.push_str(&format!("<testsuite name=\"pkg{suite}.ParserTest\">\n"));
        for i in suite * 100..((suite + 1) * 100).min(n) {
            let failure = if i % 50 == 0 { "<failure message=\"expected true\"/>" } else { "" };
            xml.push_str(&format!(
                "<testcase classname=\"pkg{suite}.ParserTest\" name=\"parsesVersionNumber_{i}\" time=\"0.{:03}\">{failure}</testcase>\n",
                i % 1000
            ));
        }
        xml.push_str("</testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

/// How many times its normal work each function does (1 = normal).
#[derive(Clone, Copy)]
struct Work {
    parse: f64,
    tokenize: f64,
    hash: f64,
    sort: f64,
    checksum: f64,
}

/// `base * factor` repetitions: the whole part every time, the fraction as a share of one more.
fn repeat(factor: f64, mut once: impl FnMut(f64)) {
    let whole = factor.floor() as usize;
    for _ in 0..whole {
        once(1.0);
    }
    let part = factor - whole as f64;
    if part > 0.0 {
        once(part);
    }
}

#[inline(never)]
fn parse_reports(xml: &str, share: f64) -> usize {
    let end = ((xml.len() as f64 * share) as usize).min(xml.len());
    // Cut at a line end so that the part is still a well-formed prefix of test cases.
    let cut = xml[..end].rfind("</testsuite>\n").map_or(0, |i| i + "</testsuite>\n".len());
    let text = format!("{}</testsuites>\n", if cut == 0 { "<testsuites>\n" } else { &xml[..cut] });
    let mut set = ResultSet::default();
    seer_ci_core::collect::junit::parse(Path::new("workload.xml"), &text, &mut set).expect("a well-formed report");
    set.len()
}

#[inline(never)]
fn tokenize_names(names: &[String], share: f64) -> usize {
    let n = (names.len() as f64 * share) as usize;
    names[..n].iter().map(|name| seer_ci_core::features::tokens(name).count()).sum()
}

#[inline(never)]
fn hash_results(set: &ResultSet, share: f64) -> usize {
    let info = RunInfo {
        run_id: "workload".into(),
        commit: "c".into(),
        base: None,
        branch: None,
        job: None,
        time: 0,
        source: "junit".into(),
    };
    let results = set.results();
    let n = (results.len() as f64 * share) as usize;
    seer_ci_core::store::content_hash(&info, &results[..n]).len()
}

#[inline(never)]
fn sort_names(names: &[String], share: f64) -> usize {
    let n = (names.len() as f64 * share) as usize;
    let mut sorted: Vec<&String> = names[..n].iter().collect();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.len()
}

#[inline(never)]
fn checksum(data: &[u8], share: f64) -> u64 {
    let n = (data.len() as f64 * share) as usize;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in &data[..n] {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn main() {
    let mut rounds = 700usize;
    let mut work = Work { parse: 1.0, tokenize: 1.0, hash: 1.0, sort: 1.0, checksum: 1.0 };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().and_then(|n| n.parse().ok()).expect("--rounds N"),
            "--slow" => {
                let spec = args.next().expect("--slow FUNCTION=FACTOR");
                let (name, factor) = spec.split_once('=').expect("--slow FUNCTION=FACTOR");
                let factor: f64 = factor.parse().expect("a factor");
                match name {
                    "parse_reports" => work.parse = factor,
                    "tokenize_names" => work.tokenize = factor,
                    "hash_results" => work.hash = factor,
                    "sort_names" => work.sort = factor,
                    "checksum" => work.checksum = factor,
                    other => panic!("no function {other}"),
                }
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let xml = report(4_000);
    let mut set = ResultSet::default();
    seer_ci_core::collect::junit::parse(Path::new("workload.xml"), &xml, &mut set).expect("a well-formed report");
    let names: Vec<String> = set.results().iter().map(|r| r.id.clone()).collect();
    let mut total = 0u64;
    for _ in 0..rounds {
        repeat(work.parse, |s| total += parse_reports(black_box(&xml), s) as u64);
        repeat(work.tokenize, |s| total += tokenize_names(black_box(&names), s) as u64);
        repeat(work.hash, |s| total += hash_results(black_box(&set), s) as u64);
        repeat(work.sort, |s| total += sort_names(black_box(&names), s) as u64);
        let bytes = &xml.as_bytes()[..xml.len() / 3];
        repeat(work.checksum, |s| total = total.wrapping_add(checksum(black_box(bytes), s)));
    }
    println!("{total}");
}
