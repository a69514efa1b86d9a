//! `seer report`: the weekly page, its Markdown summary and JSON, on a week of selections, runs
//! and profiles, and on a store with nothing to say yet.

use crate::util::{Env, all_eight, commit_edit, fixture, ids, record_cases, record_file_driven_history};

#[test]
fn a_store_with_nothing_to_say_yet_gives_a_report_that_says_so() {
    let env = Env::new();
    env.ok(&["import", &fixture("iofrol-cycles-1-6.csv")]);
    let html = env.path().join("r.html");
    let md = env.path().join("r.md");
    let doc =
        env.json(&["report", "--since", "1d", "--out", html.to_str().unwrap(), "--markdown", md.to_str().unwrap()]);
    assert_eq!(doc["selection"]["runs"], 0, "the imported cycles are from 2015");
    assert_eq!(doc["selection"]["selections"], 0);
    assert!(doc["selection"]["observed_recall"].is_null());
    assert_eq!(doc["profiling"], serde_json::json!([]));
    assert_eq!(doc["model"]["source"], "bundled");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!doctype html>") && page.trim_end().ends_with("</html>"));
    for said in ["no selections in the window", "No test failed in this window.", "No profiles recorded", "No misses"] {
        assert!(page.contains(said), "the page says plainly: {said}");
    }
    assert!(
        !page.contains("<script") && !page.contains("http://") && !page.contains("https://"),
        "nothing fetched, no script"
    );
    let summary = std::fs::read_to_string(&md).unwrap();
    assert!(summary.contains("| CI runs | 0") && summary.contains("No misses."), "{summary}");
    let stderr = env.fails(&["report", "--since", "7d"], 2);
    assert!(stderr.contains("--out FILE.html"), "{stderr}");
    let stderr = env.fails(&["report", "--from", "2024-02-01", "--to", "2024-01-01", "--json"], 2);
    assert!(stderr.contains("the window is empty"), "{stderr}");
}

#[test]
fn a_week_of_selections_runs_and_profiles_is_reported_with_the_same_numbers_everywhere() {
    let env = Env::new();
    let repo = record_file_driven_history(&env, 40);
    env.ok(&["train"]);
    let r = repo.to_str().unwrap();
    // This week: a selection skips b_works, and a later full run shows it failing (a miss).
    let quiet = commit_edit(&repo, "src/c.rs", "// quiet\n");
    record_cases(&env, &repo, &quiet, "quiet", &all_eight(&[]));
    let sha = commit_edit(&repo, "src/a.rs", "// this week\n");
    let doc = env.json(&["select", "--commit", &sha, "--repo", r]);
    let ran: Vec<(String, bool)> = ids(&doc)
        .into_iter()
        .map(|id| (id.strip_prefix("suite::").unwrap().to_string(), id.ends_with("a_works")))
        .collect();
    record_cases(&env, &repo, &sha, "subset", &ran);
    let later = commit_edit(&repo, "src/c.rs", "// later\n");
    record_cases(&env, &repo, &later, "nightly", &all_eight(&["b_works"]));
    // Profiles: the workload, then a commit that made one function 10% slower.
    let now = chrono_now();
    for (commit, kind, at) in [("p1", "base", now - 7200), ("p2", "slow", now - 60)] {
        let files: Vec<String> = (1..=5).map(|k| fixture(&format!("profiles/{kind}-{k:02}.folded.gz"))).collect();
        let mut args = vec!["profile", "record", "--name", "workload", "--commit", commit];
        let time = at.to_string();
        args.extend(["--time", time.as_str()]);
        args.extend(files.iter().map(String::as_str));
        env.ok(&args);
    }
    let html = env.path().join("week.html");
    let md = env.path().join("week.md");
    let doc = env.json(&[
        "report",
        "--since",
        "7d",
        "--out",
        html.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
        "--repo",
        r,
    ]);
    let s = &doc["selection"];
    assert_eq!(s["runs"], 3, "{s}");
    assert_eq!(s["selections"], 1);
    assert_eq!(s["misses"], 1, "b_works was skipped and failed later: {s}");
    assert_eq!(s["recent_misses"][0]["test"], "suite::b_works");
    assert!((7..=8).contains(&s["days"].as_array().unwrap().len()), "the calendar days the window touches");
    let bench = &doc["profiling"][0];
    assert_eq!((bench["latest"].as_str(), bench["baseline"].as_str()), (Some("p2"), Some("p1")));
    assert_eq!(bench["regressions"][0]["frame"], "profile_workload::checksum", "{bench}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.matches("<svg").count() >= 4, "the daily plot, a trend plot and two flame graphs are inline");
    assert!(!page.contains("<?xml"), "SVG declarations stripped for inlining");
    assert!(page.contains("profile_workload::checksum") && page.contains("suite::b_works"));
    assert!(page.contains("seer profile diff --name workload --base p1 --head p2"));
    // The headline names the function, the size of its change and the commit.
    let headline = page.split("<p class=\"headline\">").nth(1).expect("a headline").split("</p>").next().unwrap();
    assert!(
        headline.contains("profile_workload::checksum")
            && headline.contains("<code>p2</code>")
            && headline.contains("% work"),
        "{headline}"
    );
    // Each flame graph is written beside the page, and the page links it.
    for kind in ["latest", "diff"] {
        let name = format!("week.workload.{kind}.svg");
        let svg = std::fs::read_to_string(env.path().join(&name)).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("checksum"), "{name}");
        assert!(page.contains(&format!("href=\"{name}\"")), "the page links {name}");
    }
    let summary = std::fs::read_to_string(&md).unwrap();
    assert!(summary.contains("| misses | 1 |") && summary.contains("`profile_workload::checksum`"), "{summary}");
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}
