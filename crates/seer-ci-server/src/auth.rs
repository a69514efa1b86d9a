//! Bearer tokens: `Authorization: Bearer SECRET`, looked up by the secret's SHA-256 in the
//! project's store, with the scope each route needs; and a per-token rate limit. No secret is
//! ever logged or echoed: messages name the token by its stored name.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::{HeaderMap, StatusCode, header};
use seer_ci_api::exit_codes;
use seer_ci_core::backend;
use seer_ci_core::store::{Scope, Token, token_hash};

use crate::error::ApiError;
use crate::projects::Project;

/// Requests per second per token, and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for RateLimit {
    /// Generous for CI (a select and a record per job), tight enough to stop a runaway loop.
    fn default() -> Self {
        RateLimit { per_second: 50.0, burst: 200.0 }
    }
}

/// Token buckets by (project, token id).
#[derive(Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<(String, i64), (f64, Instant)>>,
}

impl Limiter {
    /// Takes one request from the token's bucket; false when it is empty.
    pub fn allow(&self, project: &str, token: i64, rate: RateLimit) -> bool {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("limiter lock");
        let (level, at) = buckets.entry((project.to_string(), token)).or_insert((rate.burst, now));
        *level = (*level + now.duration_since(*at).as_secs_f64() * rate.per_second).min(rate.burst);
        *at = now;
        if *level >= 1.0 {
            *level -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The bearer secret of a request.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("no Authorization header: send `Authorization: Bearer TOKEN`"))?;
    let text = value.to_str().map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
    text.strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::unauthorized("the Authorization header is not `Bearer TOKEN`"))
}

/// The token of a request to `project`, if it has `scope`. Unknown and revoked tokens are 401;
/// a token without the scope is 403, naming the scope it lacks.
pub fn authorize(headers: &HeaderMap, project: &Project, scope: Scope) -> Result<Token, ApiError> {
    let secret = bearer(headers)?;
    let found = {
        let mut held = project.auth.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let store = match held.take() {
            Some(store) => store,
            None => backend::open_existing(&project.db)?,
        };
        let found = store.token_by_hash(&token_hash(secret));
        // A connection that failed is not kept: the next lookup opens the store again.
        if found.is_ok() {
            *held = Some(store);
        }
        found?
    };
    let token = found.ok_or_else(|| ApiError::unauthorized("unknown or revoked token for this project"))?;
    if !token.scopes.contains(&scope) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            exit_codes::USAGE,
            format!("token {:?} lacks the {} scope", token.name, scope.as_str()),
        ));
    }
    Ok(token)
}
