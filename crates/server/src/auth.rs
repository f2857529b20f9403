//! Native API authentication: `Authorization: Bearer <api_key>` names the caller's project.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::AppState;

/// The authenticated caller of a native API request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub project_id: String,
    pub credentials_id: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <api_key> header"))?;
        let value = header.to_str().map_err(|_| ApiError::unauthorized("the Authorization header is not text"))?;
        let key = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer <api_key>`"))?;
        let creds = state
            .db
            .credentials_by_api_key(key)
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown or revoked API key"))?;
        Ok(Caller { project_id: creds.project_id, credentials_id: creds.id })
    }
}
