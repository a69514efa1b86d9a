//! Every configuration and shell block in the README and docs/benchmarks.md is checked: TOML is
//! read by seer's own configuration reader without a warning, JSON parses, and shell passes
//! `bash -n`. A block pasted from them must work as written.

use seer_ci_core::select::SelectConfig;

/// The documents whose blocks are checked.
const DOCUMENTS: &[(&str, &str)] =
    &[("README.md", include_str!("../../README.md")), ("docs/benchmarks.md", include_str!("../../docs/benchmarks.md"))];

/// The fenced blocks of `lang` in every document, with where each starts (`file:line`).
fn blocks(lang: &str) -> Vec<(String, String)> {
    DOCUMENTS
        .iter()
        .flat_map(|(name, text)| blocks_in(text, lang).into_iter().map(move |(l, b)| (format!("{name}:{l}"), b)))
        .collect()
}

/// The fenced blocks of `lang` in `text`, with the line each starts on.
fn blocks_in(text: &str, lang: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        if open.is_some() && line.starts_with("```") {
            out.extend(open.take());
        } else if let Some((_, text)) = &mut open {
            text.push_str(line);
            text.push('\n');
        } else if line.trim_end() == format!("```{lang}") {
            open = Some((i + 1, String::new()));
        }
    }
    out
}

#[test]
fn toml_blocks_are_configurations_seer_reads_without_a_warning() {
    let found = blocks("toml");
    assert!(!found.is_empty(), "the README shows a configuration");
    for (line, text) in found {
        let (_, warnings) = SelectConfig::parse(&text, "README.md")
            .unwrap_or_else(|e| panic!("{line}: the configuration does not read: {e}\n{text}"));
        assert!(warnings.is_empty(), "{line}: {warnings:?}");
    }
}

#[test]
fn shell_blocks_are_valid_bash() {
    let found = blocks("sh");
    assert!(found.len() > 5);
    for (line, text) in found {
        let out = std::process::Command::new("bash").args(["-n", "-c", &text]).output().unwrap();
        assert!(out.status.success(), "{line}: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn json_blocks_parse() {
    for (line, text) in blocks("json") {
        for value in serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>() {
            value.unwrap_or_else(|e| panic!("{line}: {e}\n{text}"));
        }
    }
}

#[test]
fn the_github_action_and_the_dockerfile_build_the_seer_binary() {
    let action = include_str!("../../action.yml");
    assert!(action.contains("using: composite"), "a composite action");
    let runs: Vec<&str> = action.lines().filter_map(|l| l.trim().strip_prefix("run: ")).collect();
    assert!(runs.iter().any(|r| r.starts_with("cargo install --locked")), "{runs:?}");
    for run in runs {
        let out = std::process::Command::new("bash").args(["-n", "-c", run]).output().unwrap();
        assert!(out.status.success(), "action.yml: {run}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let dockerfile = include_str!("../../Dockerfile");
    assert!(dockerfile.contains("cargo build --release --locked --bin seer"), "{dockerfile}");
    assert!(dockerfile.contains("COPY --from=build /src/target/release/seer /usr/local/bin/seer"));
}
