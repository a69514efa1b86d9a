//! Errors as HTTP answers: a status and an `ErrorJson` body carrying the exit code the command
//! line gives the same error.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use seer_ci_api::server::ErrorJson;
use seer_ci_api::{FORMAT_VERSION, exit_codes};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub exit_code: i32,
}

impl ApiError {
    pub fn new(status: StatusCode, exit_code: i32, message: impl Into<String>) -> ApiError {
        ApiError { status, message: message.into(), exit_code }
    }

    pub fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, exit_codes::USAGE, message)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, exit_codes::INVALID_INPUT, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, exit_codes::NOT_FOUND, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, exit_codes::FAILURE, message)
    }
}

/// The whole chain of an error, as the command line prints it.
pub fn chain(e: &dyn std::error::Error) -> String {
    seer_ci_core::collect::chain(e)
}

impl From<seer_ci_core::ops::Error> for ApiError {
    fn from(e: seer_ci_core::ops::Error) -> ApiError {
        let code = e.exit_code();
        let status = match code {
            // Too little history to train on is the request's problem, not the server's.
            _ if matches!(e, seer_ci_core::ops::Error::Train { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
            exit_codes::INVALID_INPUT | exit_codes::USAGE => StatusCode::UNPROCESSABLE_ENTITY,
            exit_codes::RUN_CONFLICT => StatusCode::CONFLICT,
            exit_codes::NOT_FOUND => StatusCode::NOT_FOUND,
            exit_codes::DISK_FULL => StatusCode::INSUFFICIENT_STORAGE,
            exit_codes::STORE_UNUSABLE => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError { status, message: chain(&e), exit_code: code }
    }
}

impl From<seer_ci_core::store::StoreError> for ApiError {
    fn from(e: seer_ci_core::store::StoreError) -> ApiError {
        seer_ci_core::ops::Error::Store(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorJson { format_version: FORMAT_VERSION, error: self.message, exit_code: self.exit_code };
        (self.status, Json(body)).into_response()
    }
}
