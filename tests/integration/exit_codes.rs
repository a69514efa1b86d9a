//! Every exit code the README documents: the table matches `seer_ci_api::exit_codes`, and each
//! code is what seer exits with in a situation that calls for it.

use seer_ci_api::exit_codes;

use crate::util::{Env, fixture, report};

/// The README's exit-code table: (code, meaning).
fn readme_table() -> Vec<(i32, String)> {
    let readme = include_str!("../../README.md");
    let section = readme.split("## Exit codes").nth(1).expect("an exit-code section");
    section
        .lines()
        .skip_while(|l| !l.starts_with("| code"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            (cells[0].parse().expect("a numeric code"), cells[1].to_string())
        })
        .collect()
}

#[test]
fn the_readme_documents_exactly_the_codes_seer_defines() {
    let documented: Vec<i32> = readme_table().iter().map(|(c, _)| *c).collect();
    let defined = [
        exit_codes::OK,
        exit_codes::FAILURE,
        exit_codes::USAGE,
        exit_codes::INVALID_INPUT,
        exit_codes::RUN_CONFLICT,
        exit_codes::NOT_FOUND,
        exit_codes::STORE_UNUSABLE,
        exit_codes::REGRESSION,
        exit_codes::RUN_ALL,
        exit_codes::DISK_FULL,
    ];
    assert_eq!(documented, defined);
}

#[test]
fn each_documented_code_is_what_seer_exits_with() {
    let env = Env::new();
    let junit = report("jest-junit.xml");
    let record = |run_id: &str, file: &str| {
        vec!["record", "--no-git", "--commit", "abc", "--run-id", run_id, "--time", "2024-01-01"]
            .into_iter()
            .map(String::from)
            .chain([file.to_string()])
            .collect::<Vec<String>>()
    };
    fn args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    // 5: no store yet.
    env.fails(&["runs"], exit_codes::NOT_FOUND);
    // 0, and 0 again for the same content.
    env.ok(&args(&record("ci-1", &junit)));
    env.ok(&args(&record("ci-1", &junit)));
    // 4: the same run id, other content.
    env.fails(&args(&record("ci-1", &report("pytest-junit.xml"))), exit_codes::RUN_CONFLICT);
    // 3: a rejected report.
    let bad = env.write("bad.xml", "<testsuite><testcase name=\"x\">");
    env.fails(&args(&record("ci-2", &bad)), exit_codes::INVALID_INPUT);
    // 2: usage, by clap and after it.
    env.fails(&["runs", "--limit", "many"], exit_codes::USAGE);
    env.fails(&["report", "--since", "7d"], exit_codes::USAGE);
    // 5: a run that is not there.
    env.fails(&["show", "run", "nope"], exit_codes::NOT_FOUND);
    // 1: an unexpected failure (a model file that does not parse).
    let model = env.write("model.json", "{");
    env.fails(&["model", "show", "--file", &model], exit_codes::FAILURE);
    // 6: a store written by a newer seer.
    let conn = env.conn();
    conn.pragma_update(None, "user_version", 999).unwrap();
    drop(conn);
    let stderr = env.fails(&["runs"], exit_codes::STORE_UNUSABLE);
    assert!(stderr.contains("newer than this seer"), "{stderr}");

    // 7: a regression, with --fail-on-regression only.
    let profiles = Env::new();
    let files = |kind: &str| (1..=5).map(|k| fixture(&format!("profiles/{kind}-{k:02}.folded.gz"))).collect::<Vec<_>>();
    for (commit, kind) in [("base", "base"), ("head", "slow")] {
        let mut a = vec!["profile", "record", "--name", "w", "--commit", commit];
        let f = files(kind);
        a.extend(f.iter().map(String::as_str));
        profiles.ok(&a);
    }
    let diff = ["profile", "diff", "--name", "w", "--base", "base", "--head", "head"];
    profiles.ok(&diff);
    profiles.fails(&[&diff[..], &["--fail-on-regression"]].concat(), exit_codes::REGRESSION);
}

#[test]
fn help_ends_with_the_configuration_file_and_every_exit_code() {
    let env = Env::new();
    let help = env.ok(&["--help"]);
    let tail = help.split("Configuration:").nth(1).expect("help names the configuration file");
    assert!(tail.contains(".config/seer.toml"), "{help}");
    let codes = tail.split("Exit codes:").nth(1).expect("help lists the exit codes");
    let listed: Vec<i32> =
        codes.split(',').filter_map(|item| item.split_whitespace().next().and_then(|n| n.parse().ok())).collect();
    let documented: Vec<i32> = readme_table().iter().map(|(c, _)| *c).collect();
    assert_eq!(listed, documented, "--help lists the README's codes:\n{codes}");
}

#[test]
fn completions_and_man_pages_are_generated_for_every_command() {
    let env = Env::new();
    let bash = env.ok(&["completions", "bash"]);
    let script = env.write("seer.bash", &bash);
    let check = std::process::Command::new("bash").args(["-n", &script]).output().unwrap();
    assert!(check.status.success(), "bash -n: {}", String::from_utf8_lossy(&check.stderr));
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let text = env.ok(&["completions", shell]);
        for word in ["select", "record", "time-budget", "profile"] {
            assert!(text.contains(word), "{shell} completions lack {word}");
        }
    }
    let man = env.ok(&["man"]);
    assert!(man.contains(".TH seer 1") && man.contains("select"), "{man}");
    let dir = env.path().join("man");
    std::fs::create_dir_all(&dir).unwrap();
    env.ok(&["man", "--out-dir", dir.to_str().unwrap()]);
    let select = std::fs::read_to_string(dir.join("seer-select.1")).expect("a page per command");
    assert!(select.contains("time\\-budget"), "{select}");
}
