//! The versioned API: `/v1/projects/{project}/…`, one handler per operation, each checking the
//! token's scope, then running the library's blocking work on tokio's blocking pool.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use seer_ci_api::server::{
    AncestorJson, CoverageUploadJson, HealthJson, ProfileUploadJson, RecordRequestJson, SelectRequestJson,
    TokenCreatedJson, TokenJson, TokenListJson, TrainRequestJson, TrainedJson,
};
use seer_ci_api::{FORMAT_VERSION, FlakyListJson, HistoryJson, RunsJson, exit_codes};
use seer_ci_core::backend;
use seer_ci_core::collect::git::Ancestor;
use seer_ci_core::collect::import::{changes_from_json, with_lines};
use seer_ci_core::collect::time::now;
use seer_ci_core::ops;
use seer_ci_core::select::{ChangeSource, GivenChange, SelectConfig, SelectRequest, Shard, Target};
use seer_ci_core::store::{Scope, Token, new_secret, token_hash};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::ServeConfig;
use crate::auth::{Limiter, RateLimit, authorize};
use crate::error::{ApiError, chain};
use crate::metrics::Metrics;
use crate::projects::{Project, Projects};

pub struct AppState {
    pub projects: Projects,
    pub metrics: Metrics,
    limiter: Limiter,
    rate: RateLimit,
    timeout: Duration,
    max_body: usize,
    target_recall: f64,
    /// Training one project at a time: it reads the whole history.
    training: Mutex<()>,
}

impl AppState {
    pub fn new(projects: Projects, config: &ServeConfig) -> AppState {
        AppState {
            projects,
            metrics: Metrics::default(),
            limiter: Limiter::default(),
            rate: config.rate,
            timeout: config.request_timeout,
            max_body: config.max_body,
            target_recall: config.target_recall,
            training: Mutex::new(()),
        }
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let project = |rest: &str| format!("{}/projects/{{project}}/{rest}", seer_ci_api::server::API_PREFIX);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(&project("runs"), post(record).get(runs))
        .route(&project("select"), post(select))
        .route(&project("predict"), post(predict))
        .route(&project("coverage"), post(coverage))
        .route(&project("profiles"), post(profiles))
        .route(&project("train"), post(train))
        .route(&project("history"), get(history))
        .route(&project("stats"), get(stats))
        .route(&project("flaky"), get(flaky))
        .route(&project("quarantine"), post(quarantine).delete(quarantine))
        .route(&project("report"), get(report))
        .route(&project("tokens"), get(tokens).post(create_token))
        .route(&project("tokens/{which}"), delete(revoke_token))
        .layer(DefaultBodyLimit::max(state.max_body))
        .layer(middleware::from_fn_with_state(state.clone(), refuse_oversized))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Every request: the time bound, and its count and latency in the metrics.
async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let started = Instant::now();
    let response = match tokio::time::timeout(state.timeout, next.run(request)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            exit_codes::FAILURE,
            format!("the request took longer than {} s (any write it made is whole)", state.timeout.as_secs()),
        )
        .into_response(),
    };
    let took = started.elapsed();
    state.metrics.request(&route, response.status().as_u16(), took);
    let mut response = response;
    // The server's own time, for clients and benchmarks (W3C Server-Timing).
    if let Ok(value) = header::HeaderValue::from_str(&format!("app;dur={:.3}", took.as_secs_f64() * 1000.0)) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

/// At most this much of a body larger than the limit is read (and thrown away) before the 413.
const DRAIN_MAX: u64 = 1 << 30;

/// A body declared larger than the limit is refused with 413, after reading what the client
/// sends (up to `DRAIN_MAX`): answering while the client still writes closes the connection
/// under it, and the client sees a reset connection instead of the answer (found by a test on a
/// busy machine).
async fn refuse_oversized(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_none_or(|n| n <= state.max_body as u64) {
        return next.run(request).await;
    }
    let mut body = request.into_body();
    let mut read = 0u64;
    while read <= DRAIN_MAX {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len() as u64),
            _ => break,
        }
    }
    too_large().into_response()
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        exit_codes::INVALID_INPUT,
        "the request body is larger than the server accepts (--max-body)",
    )
}

/// The project named in the URL, after the token's scope and the rate limit are checked; then
/// `work` on the blocking pool.
async fn guarded<T: Send + 'static>(
    state: &Arc<AppState>,
    key: &str,
    headers: &HeaderMap,
    scope: Scope,
    work: impl FnOnce(Arc<Project>, Token) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let headers = headers.clone();
    let (state2, key) = (state.clone(), key.to_string());
    blocking(move || {
        // On the blocking pool: finding a new project may ask the database.
        let p2 = state2
            .projects
            .get(&key)
            .ok_or_else(|| ApiError::not_found(format!("no project {key:?} on this server")))?;
        let token = authorize(&headers, &p2, scope)?;
        if !state2.limiter.allow(&p2.key, token.id, state2.rate) {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                exit_codes::FAILURE,
                format!("token {:?} is over its rate limit: retry later", token.name),
            ));
        }
        work(p2, token)
    })
    .await
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| ApiError::internal(format!("the work failed: {e}")))?
}

/// A JSON body, or an error that says where it is malformed.
fn body<T: DeserializeOwned>(bytes: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = bytes.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return too_large();
        }
        ApiError::new(status, exit_codes::INVALID_INPUT, format!("cannot read the request body: {e}"))
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(format!("request body:{}:{}: not the expected document: {e}", e.line(), e.column()))
    })
}

fn check_version(v: u32) -> Result<(), ApiError> {
    if v != FORMAT_VERSION {
        return Err(ApiError::bad_request(format!(
            "request body: format_version {v} is not {FORMAT_VERSION}, the one this server reads"
        )));
    }
    Ok(())
}

async fn healthz(State(state): State<Arc<AppState>>) -> Json<HealthJson> {
    Json(HealthJson { status: "ok".into(), version: env!("CARGO_PKG_VERSION").into(), projects: state.projects.keys() })
}

/// Ready when every project's store opens.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let projects = state.projects.all();
    let check = blocking(move || {
        for p in &projects {
            backend::open_existing(&p.db).map_err(|e| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    exit_codes::STORE_UNUSABLE,
                    format!("project {}: {}", p.key, chain(&e)),
                )
            })?;
        }
        Ok(())
    })
    .await;
    match check {
        Ok(()) => Json(HealthJson {
            status: "ready".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            projects: state.projects.keys(),
        })
        .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let projects = state.projects.all();
    let misses = blocking(move || {
        Ok(projects
            .iter()
            .filter_map(|p| {
                let store = backend::open_existing(&p.db).ok()?;
                Some((p.key.clone(), store.selection_stats(None, None).ok()?.misses))
            })
            .collect::<Vec<_>>())
    })
    .await
    .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render(&misses)).into_response()
}

async fn record(
    State(state): State<Arc<AppState>>,
    UrlPath(key): UrlPath<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<seer_ci_api::RecordJson>, ApiError> {
    let request: RecordRequestJson = body(bytes)?;
    check_version(request.format_version)?;
    let s = state.clone();
    let recorded = guarded(&state, &key, &headers, Scope::Ci, move |p, _| {
        let recorded = ops::record_document(&p.db, request, Path::new("request body"))?;
        s.metrics.run_stored(&p.key, recorded.status.as_str());
        Ok(recorded)
    })
    .await?;
    Ok(Json(recorded.to_json()))
}

/// The core's request for a selection or prediction sent by a client.
fn select_request(p: &Project, r: SelectRequestJson) -> Result<SelectRequest, ApiError> {
    let (mut config, config_problem) = match &r.config {
        None => (SelectConfig::default(), None),
        Some(text) => match SelectConfig::parse(text, seer_ci_core::select::CONFIG_PATH) {
            Ok((c, _)) => (c, None),
            Err(e) => (SelectConfig::default(), Some(e.to_string())),
        },
    };
    config.always.extend(r.always);
    let time = r.now.unwrap_or_else(now);
    let changes = match (r.change_error, r.changes) {
        (Some(why), _) => Err(why),
        (None, None) => Ok(None),
        (None, Some(c)) => {
            let cs = changes_from_json(c, &r.commit, time).and_then(|cs| with_lines(cs, &r.lines));
            Ok(Some(cs.map_err(|e| ApiError::bad_request(format!("request body: changes: {e}")))?))
        }
    };
    let ancestors =
        r.ancestors.into_iter().map(|AncestorJson { sha, same, step }| Ancestor { sha, same, step }).collect();
    let target = Target::of(r.recall, r.time_budget_s, r.fraction);
    let shard = match r.shard {
        Some(s) => Some(
            Shard::checked(s.index, s.count)
                .ok_or_else(|| ApiError::bad_request(format!("shard {} is not one of 1..={}", s.index, s.count)))?,
        ),
        None => None,
    };
    Ok(SelectRequest {
        change: ChangeSource::Given(GivenChange { commit: r.commit, changes, ancestors }),
        repo: p.dir.clone(),
        models: p.models.clone(),
        workspace_cache: p.dir.join("workspace.json"),
        config,
        config_problem,
        target,
        shard,
        observe: r.observe,
        keep: r.keep,
        reasons_for: r.reasons_for.map_or(usize::MAX, |n| n as usize),
        now: time,
    })
}

async fn select(
    State(state): State<Arc<AppState>>,
    UrlPath(key): UrlPath<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: SelectRequestJson = body(bytes)?;
    check_version(request.format_version)?;
    let s = state.clone();
    guarded(&state, &key, &headers, Scope::Ci, move |p, _| {
        let request = select_request(&p, request)?;
        let selection = {
            let mut warm = p.warm.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            seer_ci_core::select::select_warm(&p.db, &request, &mut warm)
        };
        s.metrics.selection(&p.key, selection.mode.as_str());
        // Written here, on the blocking pool, from the selection itself (`SelectAnswerJson`'s shape).
        let body = serde_json::to_vec(&selection.answer())
            .map_err(|e| ApiError::internal(format!("cannot write the answer: {e}")))?;
        Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
    })
    .await
}

async fn predict(
    State(state): State<Arc<AppState>>,
    UrlPath(key): UrlPath<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<seer_ci_api::PredictJson>, ApiError> {
    let request: SelectRequestJson = body(bytes)?;
    check_version(request.format_version)?;
    guarded(&state, &key, &headers, Scope::Read, move |p, _| {
        let limit = request.reasons_for.map_or(usize::MAX, |n| n as usize);
        let request = select_request(&p, request)?;
        let predicted =
            seer_ci_core::select::predict(&p.db, &request).map_err(|e| ApiError::from(ops::Error::Predict(e)))?;
        Ok(Json(predicted.to_json(limit)))
    })
    .await
}

async fn coverage(
    State(state): State<Arc<AppState>>,
    UrlPath(key): UrlPath<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<seer_ci_api::CoverageRecordJson>, ApiError> {
    let upload: CoverageUploadJson = body(bytes)?;
    check_version(upload.format_version)?;
    guarded(&state, &key, &headers, Scope::Ci, move |p, _| {
        let (dir, files) = write_named(&upload.files)?;
        let request = ops::CoverageRecordRequest {
            commit: upload.commit,
            test: None,
            root: upload.strip_prefix.map_or_else(|| dir.path().to_path_buf(), Into::into),
            files,
        };
        let recorded = ops::record_coverage(&p.db, &request)?;
        Ok(Json(recorded.to_json()))
    })
    .await
}

/// Writes each uploaded file into a new temporary directory (gone when it is dropped) under a
/// safe name (its index and the last part of its name, so that messages still name it).
fn write_named(
    files: &[seer_ci_api::server::NamedTextJson],
) -> Result<(tempfile::TempDir, Vec<std::path::PathBuf>), ApiError> {
    let dir = tempfile::tempdir().map_err(|e| ApiError::internal(format!("cannot make a temporary directory: {e}")))?;
    let mut paths = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let tail: String = f
            .name
            .rsplit('/')
            .next()
            .unwrap_or("")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' { c } else { '_' })
            .take(100)
            .collect();
        let path = dir.path().join(format!("{i}-{tail}"));
        std::fs::write(&path, &f.text).map_err(|e| ApiError::internal(format!("cannot write an upload: {e}")))?;
        paths.push(path);
    }
    Ok((dir, paths))
}

async fn profiles(
    State(state): State<Arc<AppState>>,
    UrlPath(key): UrlPath<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<seer_ci_api::ProfileRecordJson>, ApiError> {
    let upload: ProfileUploadJson = body(bytes)?;
    check_version(upload.format_version)?;
    guarded(&state, &key, &headers, Scope::Ci, move |p, _| {
        let (_dir, files) = write_named(&upload.runs)?;
        let request = ops::ProfileRecordRequest {
            bench: upload.bench.clone(),
            commit: upload.commit.clone(),
            time: upload.time,
            run_id: None,
            run_ids: upload.runs.iter().map(|r| r.name.clone()).collect(),
            read: Default::default(),
            replace: upload.replace,
            files,
        };
        let recorded = ops::record_profiles(&p.db, &request)?;
        Ok(Json(ops::profiles_json(&upload.bench, &upload.commit, &recorded)))
    })
    .await
}

/// Trains `p` when its store has runs the live model was not trained on (or always, unless
/// `only_if_new`); `None` when there was nothing new.
pub fn train_project(
    state: &AppState,
    p: &Project,
    target_recall: Option<f64>,
    only_if_new: bool,
) -> Result<Option<TrainedJson>, ApiError> {
    let _one = state.training.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if only_if_new {
        let newest = backend::open_existing(&p.db)?.runs(1)?.into_iter().next().map(|r| r.run_id);
        let trained_on = seer_ci_core::model::latest(&p.models)
            .and_then(|f| seer_ci_core::model::ModelFile::load(&f).ok())
            .map(|m| m.training.last_run);
        if newest.is_none() || newest == trained_on {
            return Ok(None);
        }
    }
    let request = ops::TrainRequest {
        target_recall: target_recall.unwrap_or(state.target_recall),
        features: None,
        destination: ops::ModelDestination::Directory(p.models.clone()),
        now: now(),
    };
    let trained = ops::train(&p.db, &request)?;
    let f = &trained.file;
    Ok(Some(TrainedJson {
        format_version: FORMAT_VERSION,
        model: trained.path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        kind: f.validation.kind.clone(),
        runs: f.training.runs as u64,
        validation_failing: f.validation.failing as u64,
        recall: f.validation.recall,
        selected_time_share: f.validation.time_share,
        warnings: trained.warnings,
    }))
}

async fn train(
    State(state): State<Arc<AppState>>,
    UrlPath(key): UrlPath<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<TrainedJson>, ApiError> {
    let request: TrainRequestJson = body(bytes)?;
    check_version(request.format_version)?;
    let s = state.clone();
    guarded(&state, &key, &headers, Scope::Admin, move |p, _| {
        let trained = train_project(&s, &p, request.target_recall, false)?;
        Ok(Json(trained.expect("training was asked for")))
    })
    .await
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<usize>,
}

async fn runs(
    State(state): State<Arc<AppState>>,
    UrlPath(key): UrlPath<String>,
    Query(q): Query<Limit>,
    headers: HeaderMap,
) -> Result<Json<RunsJson>, ApiError> {
    guarded(&state, &key, &headers, Scope::Read, move |p, _| {
        let store = backend::open_existing(&p.db)?;
        let runs = store.runs(q.limit.unwrap_or(20))?.iter().map(Into::into).collect();
        Ok(Json(RunsJson { format_version: FORMAT_VERSION, runs }))
    })
    .await
}

#[derive(Deserialize)]
struct TestQuery {
    test: String,
    limit: Option<usize>,
}

async fn history(
    State(state): State<Arc<AppState>>,
    UrlPath(key): UrlPath<String>,
    Query(q): Query<TestQuery>,
    headers: HeaderMap,
) -> Result<Json<HistoryJson>, ApiError> {
    guarded(&state, &key, &headers, Scope::Read, move |p, _| {
        let store = backend::open_existing(&p.db)?;
        let entries = store
            .history(&q.test, q.limit.unwrap_or(20))?
            .ok_or_else(|| ApiError::not_found(format!("no test {:?} in project {}", q.test, p.key)))?;
        let results = entries.iter().map(Into::into).collect();
        Ok(Json(HistoryJson { format_version: FORMAT_VERSION, test_id: q.test, results }))
    })
    .await
}

async fn stats(
    State(state): State<Arc<AppState>>,
    UrlPath(key): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Json<seer_ci_api::StatsJson>, ApiError> {
    guarded(&state, &key, &headers, Scope::Read, move |p, _| {
        let (mut doc, _) = ops::stats(&p.db, SelectConfig::default().gate())?;
        doc.store = p.key.clone();
        Ok(Json(doc))
    })
    .await
}

#[derive(Deserialize)]
struct Window {
    window: Option<usize>,
}

async fn flaky(
    State(state): State<Arc<AppState>>,
    UrlPath(key): UrlPath<String>,
    Query(q): Query<Window>,
    headers: HeaderMap,
) -> Result<Json<FlakyListJson>, ApiError> {
    guarded(&state, &key, &headers, Scope::Read, move |p, _| {
        let window = q.window.unwrap_or(seer_ci_core::select::FlakyOptions::default().window);
        Ok(Json(ops::flaky_list(&p.db, window)?))
    })
    .await
}

#[derive(Deserialize)]
struct QuarantineRequest {
    test: String,
    #[serde(default)]
    reason: Option<String>,
}

/// Quarantines (`POST`) or releases (`DELETE`) a test.
async fn quarantine(
    State(state): State<Arc<AppState>>,
    method: axum::http::Method,
    UrlPath(key): UrlPath<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<seer_ci_api::QuarantineChangeJson>, ApiError> {
    let request: QuarantineRequest = body(bytes)?;
    guarded(&state, &key, &headers, Scope::Admin, move |p, _| {
        let change = (method == axum::http::Method::POST).then_some(request.reason.as_deref());
        let status = ops::change_quarantine(&p.db, &request.test, change, now())?;
        Ok(Json(seer_ci_api::QuarantineChangeJson {
            format_version: FORMAT_VERSION,
            id: request.test,
            status: status.into(),
        }))
    })
    .await
}

#[derive(Deserialize)]
struct ReportQuery {
    /// Days back from now.
    days: Option<u32>,
    top: Option<usize>,
    /// `html` (the default), `md` or `json`.
    format: Option<String>,
}

async fn report(
    State(state): State<Arc<AppState>>,
    UrlPath(key): UrlPath<String>,
    Query(q): Query<ReportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    guarded(&state, &key, &headers, Scope::Read, move |p, _| {
        let format = q.format.unwrap_or_else(|| "html".into());
        if !["html", "md", "json"].contains(&format.as_str()) {
            return Err(ApiError::bad_request(format!("format {format:?} is not html, md or json")));
        }
        let now = now();
        let (to, days) = (now + 1, q.days.unwrap_or(7).max(1));
        let from = to - i64::from(days) * 86_400;
        let options = seer_ci_core::report::ReportOptions {
            from,
            to,
            models: p.models.clone(),
            repo: None,
            top: q.top.unwrap_or(10).max(1),
            generated_at: now,
        };
        let (data, _) = ops::report(&p.db, &options)?;
        let command = format!("GET /v1/projects/{}/report?days={days}", p.key);
        Ok(match format.as_str() {
            "md" => (
                [(header::CONTENT_TYPE, "text/markdown; charset=utf-8")],
                seer_ci_core::report::render_markdown(&data, &command),
            )
                .into_response(),
            "json" => Json(data.to_json()).into_response(),
            _ => Html(seer_ci_core::report::render_html(&data, &command)).into_response(),
        })
    })
    .await
}

async fn tokens(
    State(state): State<Arc<AppState>>,
    UrlPath(key): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Json<TokenListJson>, ApiError> {
    guarded(&state, &key, &headers, Scope::Admin, move |p, _| {
        let tokens = backend::open_existing(&p.db)?.tokens()?.iter().map(TokenJson::from).collect();
        Ok(Json(TokenListJson { format_version: FORMAT_VERSION, tokens }))
    })
    .await
}

#[derive(Deserialize)]
struct NewToken {
    name: String,
    scopes: Vec<String>,
}

async fn create_token(
    State(state): State<Arc<AppState>>,
    UrlPath(key): UrlPath<String>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<TokenCreatedJson>, ApiError> {
    let request: NewToken = body(bytes)?;
    let scopes = request
        .scopes
        .iter()
        .map(|s| {
            Scope::parse(s)
                .ok_or_else(|| ApiError::bad_request(format!("request body: scope {s:?} is not ci, read or admin")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    guarded(&state, &key, &headers, Scope::Admin, move |p, _| {
        let secret = new_secret().map_err(|e| ApiError::internal(format!("cannot make a secret: {e}")))?;
        let mut store = backend::open_existing(&p.db)?;
        let now = now();
        let id = store.create_token(&request.name, &scopes, &token_hash(&secret), now)?;
        let token = Token { id, name: request.name, scopes, created_at: now, revoked_at: None };
        Ok(Json(TokenCreatedJson { format_version: FORMAT_VERSION, token: TokenJson::from(&token), secret }))
    })
    .await
}

async fn revoke_token(
    State(state): State<Arc<AppState>>,
    UrlPath((key, which)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    guarded(&state, &key, &headers, Scope::Admin, move |p, _| {
        let mut store = backend::open_existing(&p.db)?;
        if store.revoke_token(&which, now())? {
            Ok(StatusCode::NO_CONTENT)
        } else {
            Err(ApiError::not_found(format!("no live token {which:?}")))
        }
    })
    .await
}
