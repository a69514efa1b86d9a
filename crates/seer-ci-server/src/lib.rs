//! `seer serve`: one history for every CI job. An HTTP/JSON service (axum on tokio) over one
//! store per project, reached through the same `ops` functions and sending the same
//! `seer-ci-api` documents as the command line.
//!
//! - `projects.rs`: the data directory's projects (`DATA/KEY/seer.db`), each with its models.
//! - `auth.rs`: bearer tokens with scopes, looked up by hash in the project's store; rate limits.
//! - `routes.rs`: the versioned API (`/v1/...`), one handler per operation.
//! - `metrics.rs`: Prometheus text at `/metrics`.
//! - `error.rs`: the library's errors as HTTP statuses with `ErrorJson` bodies.
//!
//! Every handler runs the library's blocking work on tokio's blocking pool, so a long upload never
//! holds up a selection. Shutdown (SIGTERM, SIGINT) stops accepting and lets requests in flight
//! finish: a run is stored whole by its own transaction, or not at all.

mod auth;
mod error;
mod metrics;
mod projects;
mod routes;
mod schedule;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use auth::RateLimit;
pub use projects::{PROJECT_STORE, Projects, project_store};

/// How `seer serve` runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    /// Each project is a directory here holding its `seer.db` (with `postgres`, its local files).
    pub data: PathBuf,
    /// A Postgres database holding every project's store, one schema each, instead of the data
    /// directory's files: replicas over one database serve one history.
    pub postgres: Option<String>,
    /// The largest request body accepted, in bytes.
    pub max_body: usize,
    /// Requests taking longer are answered 503 (the work itself finishes: a write is whole).
    pub request_timeout: Duration,
    /// Requests per second per token, with a burst.
    pub rate: RateLimit,
    /// Train every project with new runs this often (`None`: only when asked).
    pub train_every: Option<Duration>,
    /// The target recall training calibrates to.
    pub target_recall: f64,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8480)),
            data: PathBuf::from("/var/lib/seer"),
            postgres: None,
            max_body: 256 << 20,
            request_timeout: Duration::from_secs(300),
            rate: RateLimit::default(),
            train_every: None,
            target_recall: seer_ci_core::model::TrainOptions::default().target_recall,
        }
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the projects")]
    Data(#[source] seer_ci_core::store::StoreError),
    #[error("the server failed")]
    Serve(#[source] std::io::Error),
}

/// Serves until SIGTERM or SIGINT, then drains the requests in flight. `ready` hears the
/// address actually bound (port 0 picks a free one).
pub fn serve(config: ServeConfig, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(ServeError::Serve)?;
    // Outside the runtime: Postgres's client blocks on a runtime of its own, when it connects and
    // when it is closed, so the projects (and their open stores) are made and dropped out here.
    let projects = Projects::open(&config.data, config.postgres.as_deref()).map_err(ServeError::Data)?;
    let state = Arc::new(routes::AppState::new(projects, &config));
    let served = runtime.block_on({
        let state = state.clone();
        async move {
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServeError::Listen { addr: config.listen, source })?;
            let addr = listener.local_addr().map_err(ServeError::Serve)?;
            if let Some(every) = config.train_every {
                tokio::spawn(schedule::train_periodically(state.clone(), every));
            }
            ready(addr);
            axum::serve(listener, routes::router(state))
                .with_graceful_shutdown(shutdown_signal())
                .await
                .map_err(ServeError::Serve)
        }
    });
    drop(runtime);
    drop(state);
    served
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    eprintln!("seer serve: shutting down: finishing the requests in flight");
}
