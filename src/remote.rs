//! The command line as a client of `seer serve` (`--server URL` or `SEER_URL`, with `--token`
//! / `SEER_TOKEN` and `--project` / `SEER_PROJECT`): the same flags and output as against a
//! local store. The client reads git and the reports itself and sends what it read; the server
//! never needs the repository.
//!
//! `select` fails open on any trouble with the server (unreachable, an error answer, a bad
//! token, no answer within `SELECT_TIMEOUT`): every test runs, and it says why. Uploads
//! (`record`, coverage, profiles) are retried on transport errors and 429/5xx answers: the
//! server stores a run id once, so a retry of a run that did land is `unchanged`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

use seer_ci_api::server::{
    AncestorJson, CoverageUploadJson, ErrorJson, NamedTextJson, ProfileUploadJson, RecordRequestJson, SelectAnswerJson,
    SelectRequestJson, TrainRequestJson, TrainedJson,
};
use seer_ci_api::{ChangesJson, FORMAT_VERSION, ShardJson, exit_codes};
use seer_ci_core::collect::git::ChangeSet;
use seer_ci_core::collect::{chain, collect, lines_json, read_changes, read_worktree_changes};
use seer_ci_core::ops::Recorded;
use seer_ci_core::select::{CONFIG_PATH, Selection, base_path};
use seer_ci_core::store::RecordStatus;

use crate::args::{CoverageRecordArgs, PredictArgs, ProfileRecordArgs, RecordArgs, ReportArgs, SelectArgs, TrainArgs};
use crate::ci;
use crate::print;

/// The longest `select` waits for the server before running every test (`SEER_SELECT_TIMEOUT`,
/// e.g. `3s`, sets another bound).
pub const SELECT_TIMEOUT: Duration = Duration::from_secs(10);

fn select_timeout() -> Duration {
    std::env::var("SEER_SELECT_TIMEOUT").ok().and_then(|v| crate::values::duration(&v).ok()).unwrap_or(SELECT_TIMEOUT)
}
/// The longest any other request waits.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);
/// Attempts of an upload (transport errors, 429 and 5xx are retried).
const UPLOAD_ATTEMPTS: u32 = 6;

/// An answer the server gave as an error, or no answer at all.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("cannot reach the seer server at {url}: {why}")]
    Transport { url: String, why: String },
    #[error("the seer server answered {status}: {}", .error.error)]
    Server { status: u16, error: ErrorJson },
    #[error("the seer server's answer is not what this seer reads: {0}")]
    BadAnswer(String),
}

impl RemoteError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RemoteError::Server { error, .. } => error.exit_code,
            _ => exit_codes::FAILURE,
        }
    }

    /// Whether sending again may succeed.
    fn retryable(&self) -> bool {
        match self {
            RemoteError::Transport { .. } => true,
            RemoteError::Server { status, .. } => *status == 429 || *status >= 500,
            RemoteError::BadAnswer(_) => false,
        }
    }
}

/// A connection to one project of a server, or of replicas over one store.
pub struct Client {
    /// The server's URL, or each replica's (`SEER_URL=http://a,http://b`); requests go to one,
    /// and an upload retried after a failure goes to the next.
    bases: Vec<String>,
    current: std::cell::Cell<usize>,
    project: String,
    token: Option<String>,
}

impl Client {
    pub fn new(server: &str, project: &str, token: Option<String>) -> Client {
        let bases: Vec<String> =
            server.split(',').map(|s| s.trim().trim_end_matches('/').to_string()).filter(|s| !s.is_empty()).collect();
        Client { bases, current: Default::default(), project: project.to_string(), token }
    }

    fn url(&self, rest: &str) -> String {
        let base = self.bases.get(self.current.get()).map_or("", String::as_str);
        format!("{base}{}/projects/{}/{rest}", seer_ci_api::server::API_PREFIX, self.project)
    }

    /// Sends the next requests to the next replica (when there are several).
    fn fail_over(&self) {
        if !self.bases.is_empty() {
            self.current.set((self.current.get() + 1) % self.bases.len());
        }
    }

    fn agent(timeout: Duration) -> ureq::Agent {
        ureq::Agent::config_builder().timeout_global(Some(timeout)).http_status_as_error(false).build().into()
    }

    /// The text of an answer, or the error it carries (the server's `ErrorJson`, else its first
    /// 300 characters).
    fn answer_text(
        url: &str,
        sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<String, RemoteError> {
        let transport = |e: ureq::Error| RemoteError::Transport { url: url.to_string(), why: e.to_string() };
        let mut response = sent.map_err(transport)?;
        let status = response.status().as_u16();
        let text = response.body_mut().with_config().limit(1 << 30).read_to_string().map_err(transport)?;
        if status >= 400 {
            let error = serde_json::from_str::<ErrorJson>(&text).unwrap_or(ErrorJson {
                format_version: FORMAT_VERSION,
                error: text.chars().take(300).collect(),
                exit_code: exit_codes::FAILURE,
            });
            return Err(RemoteError::Server { status, error });
        }
        Ok(text)
    }

    fn parsed<R: DeserializeOwned>(text: &str) -> Result<R, RemoteError> {
        serde_json::from_str(text).map_err(|e| RemoteError::BadAnswer(e.to_string()))
    }

    fn auth<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.token {
            Some(t) => request.header("Authorization", format!("Bearer {t}")),
            None => request,
        }
    }

    pub fn post<T: Serialize, R: DeserializeOwned>(
        &self,
        rest: &str,
        body: &T,
        timeout: Duration,
    ) -> Result<R, RemoteError> {
        let url = self.url(rest);
        let body = serde_json::to_vec(body).map_err(|e| RemoteError::BadAnswer(e.to_string()))?;
        let request = self.auth(Self::agent(timeout).post(&url)).header("Content-Type", "application/json");
        Self::parsed(&Self::answer_text(&url, request.send(&body[..]))?)
    }

    /// [`Client::post`], retried with backoff while the failure may pass.
    pub fn post_retrying<T: Serialize, R: DeserializeOwned>(&self, rest: &str, body: &T) -> Result<R, RemoteError> {
        let mut wait = Duration::from_millis(500);
        let mut attempt = 1;
        loop {
            match self.post(rest, body, REQUEST_TIMEOUT) {
                Err(e) if e.retryable() && attempt < UPLOAD_ATTEMPTS => {
                    eprintln!(
                        "seer: {} (attempt {attempt} of {UPLOAD_ATTEMPTS}); retrying in {:.1} s",
                        e,
                        wait.as_secs_f64()
                    );
                    std::thread::sleep(wait);
                    wait *= 2;
                    attempt += 1;
                    // The same run again, to another replica when there is one: a retry is
                    // recognised by run id whichever replica stores it.
                    self.fail_over();
                }
                other => return other,
            }
        }
    }

    pub fn get_text(&self, rest: &str) -> Result<String, RemoteError> {
        let url = self.url(rest);
        Self::answer_text(&url, self.auth(Self::agent(REQUEST_TIMEOUT).get(&url)).call())
    }

    pub fn get<R: DeserializeOwned>(&self, rest: &str) -> Result<R, RemoteError> {
        Self::parsed(&self.get_text(rest)?)
    }
}

/// `seer record --server`: the run collected here, sent, retried until it lands.
pub fn record(client: &Client, args: RecordArgs, out: &mut impl Write) -> Result<()> {
    let (time, replace, json) = (args.time, args.replace, args.json);
    let opts = crate::commands::record_options(args)?;
    let mut collected = collect(&opts).context("run not recorded")?;
    let mut run: seer_ci_api::RunJson = (&collected.run).into();
    if time.is_none() {
        // The server stamps it as it stores it, never behind the runs stored before.
        run.time = None;
    }
    let request = RecordRequestJson {
        format_version: FORMAT_VERSION,
        run,
        replace,
        warnings: collected.warnings.clone(),
        repeated: collected.repeated as u64,
    };
    let answer: seer_ci_api::RecordJson = client.post_retrying("runs", &request).context("run not recorded")?;
    let status = RecordStatus::parse(&answer.status)
        .ok_or_else(|| RemoteError::BadAnswer(format!("status {:?}", answer.status)))?;
    collected.warnings = answer.warnings;
    collected.run.info.commit = answer.commit;
    crate::commands::warn(collected.warnings.iter().cloned());
    print::recorded(out, &Recorded { status, collected }, json)
}

/// What to select or predict for, read from the local checkout.
fn change_request(repo: &Path, commit: Option<String>, base: Option<String>, working_tree: bool) -> SelectRequestJson {
    let root = seer_ci_core::collect::git::repository_root(repo).unwrap_or_else(|| repo.to_path_buf());
    let config = std::fs::read_to_string(root.join(CONFIG_PATH)).ok();
    let limit = config
        .as_deref()
        .and_then(|text| seer_ci_core::select::SelectConfig::parse(text, CONFIG_PATH).ok())
        .map_or_else(
            || seer_ci_core::select::SelectConfig::default().coverage_max_distance,
            |(c, _)| c.coverage_max_distance,
        );
    let read: Result<(String, ChangeSet), String> = if working_tree {
        read_worktree_changes(repo).map(|cs| (cs.commit.sha.clone(), cs)).map_err(|e| chain(&e))
    } else {
        let commit = commit.unwrap_or_else(|| "HEAD".into());
        read_changes(repo, &commit, base.as_deref())
            .map_err(|e| format!("cannot read the change of {commit}: {}", chain(&e)))
    };
    let mut request = SelectRequestJson { format_version: FORMAT_VERSION, config, ..Default::default() };
    match read {
        Ok((sha, cs)) => {
            request.commit = sha;
            if let Some(b) = &cs.base {
                let paths: Vec<&str> = cs.files.iter().map(base_path).collect();
                request.ancestors = seer_ci_core::collect::git::ancestors(repo, b, limit, &paths)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| AncestorJson { sha: a.sha, same: a.same, step: a.step })
                    .collect();
            }
            request.lines = lines_json(&cs);
            request.changes = Some(ChangesJson::from(&cs));
        }
        Err(why) => {
            request.commit = "HEAD".into();
            request.change_error = Some(why);
        }
    }
    request
}

/// `seer select --server`: never fails closed (see the module's docs).
pub fn select(client: &Client, args: SelectArgs, out: &mut impl Write) -> Result<()> {
    let repo = crate::commands::dir_or_cwd(args.repo.clone())?;
    let ci = ci::current();
    let mut request = if args.no_git {
        let commit = crate::commands::commit_or_default(args.commit.clone(), ci.as_ref(), None)?;
        SelectRequestJson { format_version: FORMAT_VERSION, commit, ..Default::default() }
    } else {
        let commit = crate::commands::commit_or_default(args.commit.clone(), ci.as_ref(), Some(&repo))?;
        let base = args.base.clone().or_else(|| ci.as_ref().and_then(|c| c.base.clone()));
        change_request(&repo, Some(commit), base, args.worktree)
    };
    request.always = args.always.clone();
    request.recall = args.recall;
    request.time_budget_s = args.time_budget.map(|d| d.as_secs_f64());
    request.fraction = args.fraction;
    request.shard = crate::commands::shard_of(&args)?.map(|s| ShardJson { index: s.index, count: s.count });
    request.observe = args.observe;
    request.keep = !args.dry_run && !args.quarantined && !args.worktree;
    request.now = args.time;
    let json = args.json || args.format == crate::args::SelectFormat::Json;
    request.reasons_for = (!(json || args.explain)).then_some(0);
    let selection = match client.post::<_, SelectAnswerJson>("select", &request, select_timeout()) {
        Ok(answer) => Selection::from_answer(answer)
            .unwrap_or_else(|| Selection::all("the seer server's answer has an unknown mode".into(), vec![])),
        Err(e) => Selection::all(format!("the seer server gave no selection: {e}"), vec![]),
    };
    crate::commands::print_selection(selection, &repo, args, out)
}

/// `seer predict --server`.
pub fn predict(client: &Client, args: PredictArgs, out: &mut impl Write) -> Result<()> {
    let repo = crate::commands::dir_or_cwd(args.repo)?;
    let mut request = change_request(&repo, args.commit.clone(), args.base, args.commit.is_none());
    if let Some(why) = request.change_error.take() {
        anyhow::bail!("{why}");
    }
    request.reasons_for = Some(args.limit as u64);
    let answer: seer_ci_api::PredictJson =
        client.post("predict", &request, REQUEST_TIMEOUT).context("cannot predict")?;
    print::predicted_doc(out, &answer, args.json)
}

/// `seer train --server`.
pub fn train(client: &Client, args: TrainArgs, out: &mut impl Write) -> Result<()> {
    if args.output.is_some() || args.features.is_some() {
        return Err(crate::UsageError("--output and --features are for a local store (unset SEER_URL)".into()).into());
    }
    let request = TrainRequestJson { format_version: FORMAT_VERSION, target_recall: Some(args.target_recall) };
    let trained: TrainedJson = client.post("train", &request, REQUEST_TIMEOUT).context("no model trained")?;
    crate::commands::warn(trained.warnings.iter().cloned());
    if args.json {
        return print::write_json(out, &trained);
    }
    writeln!(
        out,
        "trained {} on {} runs on the server: {} ({} failing tests in validation, recall {:.1}% at {:.1}% of the test time)",
        trained.model,
        trained.runs,
        trained.kind,
        trained.validation_failing,
        trained.recall * 100.0,
        trained.selected_time_share * 100.0
    )?;
    Ok(())
}

/// `seer report --server`: the page, summary or document the server renders.
pub fn report(client: &Client, args: ReportArgs, out: &mut impl Write) -> Result<()> {
    crate::commands::report_destination(&args)?;
    if args.from.is_some() || args.to.is_some() {
        return Err(crate::UsageError("with --server, the window is --since (days back from now)".into()).into());
    }
    let days = args.since.map_or(7, |d| (d.as_secs() / 86_400).max(1));
    let get = |format: &str| {
        client.get_text(&format!("report?days={days}&top={}&format={format}", args.top.max(1))).context("no report")
    };
    for (path, format) in [(&args.out, "html"), (&args.markdown, "md")] {
        if let Some(path) = path {
            let text = get(format)?;
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    if args.json {
        out.write_all(get("json")?.as_bytes())?;
        writeln!(out)?;
    }
    Ok(())
}

/// Each file's name and text, refusing what is not text.
fn texts(files: &[std::path::PathBuf]) -> Result<Vec<NamedTextJson>> {
    files
        .iter()
        .map(|p| {
            let mut bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
            if bytes.starts_with(&[0x1f, 0x8b]) {
                let mut plain = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut plain)
                    .with_context(|| format!("{}: not a whole gzip file", p.display()))?;
                bytes = plain;
            }
            let text = String::from_utf8(bytes).map_err(|e| {
                anyhow::anyhow!(
                    "{}: not UTF-8 text at byte {} (send plain text to a server)",
                    p.display(),
                    e.utf8_error().valid_up_to()
                )
            })?;
            let name = p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned());
            Ok(NamedTextJson { name, text })
        })
        .collect()
}

/// `seer coverage record --server`.
pub fn coverage_record(client: &Client, args: CoverageRecordArgs, out: &mut impl Write) -> Result<()> {
    if args.test.is_some() {
        return Err(crate::UsageError("--test is for a local store: name tests with TN: lines".into()).into());
    }
    let root = crate::commands::coverage_root(args.root)?;
    // The server has no repository: the commit goes as a full sha.
    let commit = seer_ci_core::collect::git::resolve_in(&root, &args.commit).unwrap_or(args.commit);
    let upload = CoverageUploadJson {
        format_version: FORMAT_VERSION,
        commit,
        files: texts(&args.files)?,
        strip_prefix: Some(root.display().to_string()),
        replace: false,
    };
    let answer: seer_ci_api::CoverageRecordJson =
        client.post_retrying("coverage", &upload).context("coverage not recorded")?;
    print::coverage_recorded(out, &answer, &root, args.json)
}

/// `seer profile record --server`.
pub fn profile_record(client: &Client, args: ProfileRecordArgs, out: &mut impl Write) -> Result<()> {
    let mut runs = texts(&args.files)?;
    let n = runs.len();
    for (k, r) in runs.iter_mut().enumerate() {
        r.name = seer_ci_core::ops::profile_run_id(args.run_id.as_deref(), &args.commit, (k, n), &r.name);
    }
    let upload = ProfileUploadJson {
        format_version: FORMAT_VERSION,
        bench: args.bench,
        commit: args.commit,
        runs,
        time: args.time,
        replace: args.replace,
    };
    let answer: seer_ci_api::ProfileRecordJson =
        client.post_retrying("profiles", &upload).context("profiles not recorded")?;
    print::profiles_recorded(out, &answer, args.json)
}
