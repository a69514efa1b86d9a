//! What the CI system already knows about the run: its commit, base, branch, job and a run id,
//! read from each system's own variables, so that `seer record`/`select` need no flags in CI.
//! Flags always win; the README's table lists which variable feeds which field.

/// The run as a CI system describes it. Fields it does not know are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiRun {
    /// The CI system's name, for messages.
    pub system: &'static str,
    pub commit: Option<String>,
    /// A commit the change is measured against (a pull or merge request's base), when the
    /// system gives it as a sha.
    pub base: Option<String>,
    pub branch: Option<String>,
    pub job: Option<String>,
    /// Unique per job and attempt.
    pub run_id: Option<String>,
}

/// The CI run described by the variables `var` reads, if any system's marker is set.
pub fn detect(var: impl Fn(&str) -> Option<String>) -> Option<CiRun> {
    let get = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let join = |parts: &[Option<String>]| -> Option<String> {
        let parts: Option<Vec<String>> = parts.iter().cloned().collect();
        parts.map(|p| p.join("."))
    };
    if get("GITHUB_ACTIONS").is_some() {
        // A pull request's event file holds its base sha; its head is what GITHUB_SHA merges.
        let event = get("GITHUB_EVENT_PATH").and_then(|p| std::fs::read_to_string(p).ok());
        let event: Option<serde_json::Value> = event.and_then(|e| serde_json::from_str(&e).ok());
        let base = event.as_ref().and_then(|e| e["pull_request"]["base"]["sha"].as_str().map(str::to_string));
        return Some(CiRun {
            system: "GitHub Actions",
            commit: get("GITHUB_SHA"),
            base,
            branch: get("GITHUB_HEAD_REF").or_else(|| get("GITHUB_REF_NAME")),
            job: get("GITHUB_JOB"),
            run_id: join(&[get("GITHUB_RUN_ID"), get("GITHUB_RUN_ATTEMPT"), get("GITHUB_JOB")]),
        });
    }
    if get("GITLAB_CI").is_some() {
        return Some(CiRun {
            system: "GitLab CI",
            commit: get("CI_COMMIT_SHA"),
            base: get("CI_MERGE_REQUEST_DIFF_BASE_SHA"),
            branch: get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME").or_else(|| get("CI_COMMIT_REF_NAME")),
            job: get("CI_JOB_NAME"),
            run_id: get("CI_JOB_ID"),
        });
    }
    if get("BUILDKITE").is_some() {
        return Some(CiRun {
            system: "Buildkite",
            commit: get("BUILDKITE_COMMIT"),
            base: None,
            branch: get("BUILDKITE_BRANCH"),
            job: get("BUILDKITE_LABEL"),
            run_id: get("BUILDKITE_JOB_ID"),
        });
    }
    if get("CIRCLECI").is_some() {
        return Some(CiRun {
            system: "CircleCI",
            commit: get("CIRCLE_SHA1"),
            base: None,
            branch: get("CIRCLE_BRANCH"),
            job: get("CIRCLE_JOB"),
            run_id: get("CIRCLE_WORKFLOW_JOB_ID").or_else(|| join(&[get("CIRCLE_BUILD_NUM"), get("CIRCLE_JOB")])),
        });
    }
    if get("JENKINS_URL").is_some() {
        return Some(CiRun {
            system: "Jenkins",
            commit: get("GIT_COMMIT"),
            base: None,
            branch: get("BRANCH_NAME").or_else(|| get("GIT_BRANCH")),
            job: get("JOB_NAME"),
            run_id: get("BUILD_TAG"),
        });
    }
    if get("TF_BUILD").is_some() {
        return Some(CiRun {
            system: "Azure Pipelines",
            commit: get("BUILD_SOURCEVERSION"),
            base: None,
            branch: get("SYSTEM_PULLREQUEST_SOURCEBRANCH").or_else(|| get("BUILD_SOURCEBRANCHNAME")),
            job: get("SYSTEM_JOBDISPLAYNAME").or_else(|| get("AGENT_JOBNAME")),
            run_id: join(&[get("BUILD_BUILDID"), get("SYSTEM_JOBID")]),
        });
    }
    None
}

/// The process's CI run, if any.
pub fn current() -> Option<CiRun> {
    detect(|name| std::env::var(name).ok())
}

/// A run id for a run recorded outside CI: the time and the process, unique on one machine.
pub fn local_run_id() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    format!("local-{}-{}", now.as_millis(), std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Option<CiRun> {
        detect(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn each_system_feeds_the_fields_it_knows() {
        assert_eq!(from(&[("CI", "true")]), None, "CI alone names no system");
        let gh = from(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SHA", "abc"),
            ("GITHUB_RUN_ID", "77"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            ("GITHUB_JOB", "test"),
            ("GITHUB_REF_NAME", "main"),
        ])
        .unwrap();
        assert_eq!(
            (gh.commit.as_deref(), gh.run_id.as_deref(), gh.branch.as_deref(), gh.job.as_deref()),
            (Some("abc"), Some("77.2.test"), Some("main"), Some("test"))
        );
        let gl = from(&[
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_SHA", "def"),
            ("CI_MERGE_REQUEST_DIFF_BASE_SHA", "bbb"),
            ("CI_JOB_ID", "9"),
            ("CI_COMMIT_REF_NAME", "feature"),
        ])
        .unwrap();
        assert_eq!(
            (gl.commit.as_deref(), gl.base.as_deref(), gl.run_id.as_deref()),
            (Some("def"), Some("bbb"), Some("9"))
        );
        let jenkins =
            from(&[("JENKINS_URL", "http://ci"), ("GIT_COMMIT", "123"), ("BUILD_TAG", "jenkins-x-5")]).unwrap();
        assert_eq!((jenkins.commit.as_deref(), jenkins.run_id.as_deref()), (Some("123"), Some("jenkins-x-5")));
        let azure = from(&[("TF_BUILD", "True"), ("BUILD_BUILDID", "4"), ("SYSTEM_JOBID", "j")]).unwrap();
        assert_eq!(azure.run_id.as_deref(), Some("4.j"));
        let partial = from(&[("GITHUB_ACTIONS", "true"), ("GITHUB_RUN_ID", "77")]).unwrap();
        assert_eq!(partial.run_id, None, "a run id needs every part");
    }
}
