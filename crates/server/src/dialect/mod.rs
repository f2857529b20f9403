//! The vendor dialects: thin adapters that speak Huawei MetaStudio's REST API ([`metastudio`], under
//! `/v1/{project_id}/…`), Alibaba Cloud ICE's RPC API ([`ice`], `POST /?Action=…&Version=2020-11-09`) and ZEGO's
//! Digital Human Action API ([`zego`], `/?Action=…&AppId=…&SignatureVersion=2.0`) over the same jobs, avatars,
//! voices and assets as the native API. Each checks its own signature scheme (comparing in constant time),
//! answers in its own error envelope, and maps to [`crate::api`]'s shared functions.
//!
//! Routing: MetaStudio owns `/v1/…`; ICE and ZEGO share `/`, told apart by their query (`AppId` with
//! `SignatureVersion` is ZEGO, anything else is ICE; a plain `GET /` with no query is a browser and is sent to the
//! web console). None of them can shadow `/api/v1` or `/files`.

pub mod ice;
pub mod metastudio;
pub mod zego;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

use crate::AppState;

/// The dialect routes, merged into the application's router.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", any(root)).nest("/v1", metastudio::routes())
}

/// `/`: ZEGO when the query carries `AppId` and `SignatureVersion`, otherwise Alibaba ICE.
async fn root(State(state): State<AppState>, req: Request) -> Response {
    let query = req.uri().query().unwrap_or("");
    let browser = req
        .headers()
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let signed =
        req.headers().contains_key("x-acs-action") || req.headers().contains_key(axum::http::header::AUTHORIZATION);
    if query.is_empty() && req.method() == axum::http::Method::GET && browser && !signed {
        // A browser opening the server's address: show the web console.
        return axum::response::Redirect::to("/console").into_response();
    }
    let mut app_id = false;
    let mut sig_version = false;
    for (k, _) in url::form_urlencoded::parse(query.as_bytes()) {
        app_id |= k == "AppId";
        sig_version |= k == "SignatureVersion";
    }
    if app_id && sig_version {
        zego::handle(state, req).await
    } else {
        ice::handle(state, req).await
    }
}

/// Compares two byte strings in constant time (for signatures).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
