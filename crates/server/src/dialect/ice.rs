//! Alibaba Cloud ICE (Intelligent Media Services) RPC dialect, API version `2020-11-09` (see
//! `shared/reference/vendor-apis.md` §2), so the official Python SDK (`alibabacloud-ice20201109`) works against
//! doppel by changing only `Config.endpoint` (and `protocol='http'`).
//!
//! Request: `POST /` (GET works too) with the Action in the `x-acs-action` header (ACS3) or the `Action`
//! parameter (RPC), the version `2020-11-09` in `x-acs-version` or `Version`, and the business parameters in the
//! query, or in an `application/x-www-form-urlencoded` body (the body wins where both name one). Signatures:
//! ACS3-HMAC-SHA256 and the legacy RPC HMAC-SHA1, checked by [`auth`] with the project's access key pair.
//!
//! Order of checks: method (GET or POST; 405) → body readable (400) → signature, time, key, nonce ([`auth`];
//! 400/401/403) → `Version` (400 `InvalidVersion`) → `Action` known (404 `InvalidAction.NotFound`) → the
//! Action's parameters (400 `Missing{Name}` / `InvalidParameter`, naming the field and the limit) → the avatar
//! or job exists in the caller's project (404 `InvalidAvatarId.NotFound` / `InvalidJobId.NotFound`).
//!
//! Answer: the Action's body as the SDK models map it (GetAvatar and ListAvatars wrap theirs in
//! `{"RequestId", "Data", "Success": true}`; the others are flat); an error is `{"Code", "Message",
//! "RequestId"}` with a 4xx/5xx status, which the SDK raises as `ClientException`/`ServerException` with that
//! `Code`. `RequestId` is the request id of the `X-Request-Id` header. Answers are JSON whatever `Format` asks.
//!
//! Actions: [`ACTIONS`]. A video job submitted here is an ordinary doppel job: the native API shows it, and
//! `GetSmartHandleJob` shows native jobs too.

mod auth;
mod avatars;
mod jobs;
pub mod sign;

use std::collections::BTreeMap;

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

pub use auth::{authenticate, Authenticated, Incoming, Scheme};

use crate::error::ApiError;
use crate::AppState;

/// The API version served.
pub const VERSION: &str = "2020-11-09";

/// The Actions this server answers.
pub const ACTIONS: &[&str] =
    &["GetAvatar", "ListAvatars", "ListSmartVoiceGroups", "SubmitAvatarVideoJob", "GetSmartHandleJob"];

/// Largest request body read (the SDK sends its parameters in the query; a form body holds a script at most).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// An error answer: HTTP status, Alibaba Cloud error code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl IceError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> IceError {
        IceError { status, code: code.to_string(), message: message.into() }
    }

    /// 400 `InvalidParameter`: `message` names the parameter and what it accepts.
    pub fn param(message: impl Into<String>) -> IceError {
        IceError::param_code("InvalidParameter", message)
    }

    /// 400 with a specific code.
    pub fn param_code(code: &str, message: impl Into<String>) -> IceError {
        IceError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 `Missing{name}`, as Alibaba Cloud names a missing required parameter.
    pub fn missing(name: &str) -> IceError {
        IceError::new(
            StatusCode::BAD_REQUEST,
            &format!("Missing{name}"),
            format!("{name} is mandatory for this action"),
        )
    }

    /// 404 `{code}`.
    pub fn not_found(code: &str, message: impl Into<String>) -> IceError {
        IceError::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 500 `InternalError`; the cause is logged, the answer carries only the request id.
    pub fn internal(e: impl std::fmt::Display) -> IceError {
        eprintln!("doppel ice: request {}: internal error: {e}", crate::error::current_request_id());
        IceError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "the request processing has failed due to some unknown error; quote the RequestId when reporting it",
        )
    }
}

impl From<doppel_store::Error> for IceError {
    fn from(e: doppel_store::Error) -> IceError {
        IceError::internal(e)
    }
}

impl From<ApiError> for IceError {
    fn from(e: ApiError) -> IceError {
        if e.status.is_server_error() {
            IceError::internal(e.message)
        } else if e.status == StatusCode::NOT_FOUND {
            IceError::not_found("NotFound", e.message)
        } else {
            IceError::new(e.status, "InvalidParameter", e.message)
        }
    }
}

impl IntoResponse for IceError {
    fn into_response(self) -> Response {
        let body = json!({"Code": self.code, "Message": self.message, "RequestId": request_id()});
        let mut resp = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        }
        resp
    }
}

/// This dialect's result type.
pub type IceResult<T> = Result<T, IceError>;

/// The id answered as `RequestId`.
fn request_id() -> String {
    let id = crate::error::current_request_id();
    if id.is_empty() {
        doppel_store::new_id()
    } else {
        id
    }
}

/// The parameters of a request: query, then form body (a later value of a name wins).
#[derive(Debug, Clone, Default)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    pub fn new<'a>(pairs: impl IntoIterator<Item = &'a (String, String)>) -> Params {
        Params(pairs.into_iter().cloned().collect())
    }

    /// Parameters from literal pairs (tests).
    #[cfg(test)]
    pub(crate) fn from_pairs(p: &[(&str, &str)]) -> Params {
        Params(p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    /// A parameter; absent and empty are both `None`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|s| !s.trim().is_empty())
    }

    /// A required parameter.
    pub fn required(&self, name: &str) -> IceResult<&str> {
        self.get(name).ok_or_else(|| IceError::missing(name))
    }

    /// An integer parameter within `[min, max]`, `default` when absent.
    pub fn int(&self, name: &str, min: i64, max: i64, default: i64) -> IceResult<i64> {
        let Some(v) = self.get(name) else { return Ok(default) };
        match v.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            Ok(n) => Err(IceError::param(format!("{name} is {n}, out of range [{min}, {max}]"))),
            Err(_) => Err(IceError::param(format!("{name} {v:?} is not an integer"))),
        }
    }

    /// A parameter that holds a JSON object (the SDK passes `InputConfig` and friends as JSON strings).
    pub fn json_object(&self, name: &str) -> IceResult<Option<serde_json::Map<String, Value>>> {
        let Some(v) = self.get(name) else { return Ok(None) };
        match serde_json::from_str::<Value>(v) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            Ok(_) => Err(IceError::param(format!("{name} must be a JSON object, such as {{\"Text\": \"...\"}}"))),
            Err(e) => Err(IceError::param(format!("{name} is not valid JSON (column {}): {e}", e.column()))),
        }
    }
}

/// Handles one request of this dialect.
pub async fn handle(state: AppState, req: Request) -> Response {
    match run(&state, req).await {
        Ok(body) => (StatusCode::OK, axum::Json(body)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Decodes a form-encoded string into its pairs, in order.
fn form_pairs(s: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(s).into_owned().collect()
}

async fn run(state: &AppState, req: Request) -> IceResult<Value> {
    if req.method() != Method::GET && req.method() != Method::POST {
        let m = req.method().clone();
        return Err(IceError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "UnsupportedHTTPMethod",
            format!("method {m} is not supported; use POST"),
        ));
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        IceError::param_code(
            "InvalidParameter.Body",
            format!("the request body is unreadable or larger than {MAX_BODY_BYTES} bytes"),
        )
    })?;
    let query = form_pairs(parts.uri.query().unwrap_or("").as_bytes());
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    let form = if is_form { form_pairs(&body) } else { Vec::new() };
    let incoming = Incoming {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        headers: &parts.headers,
        query: &query,
        form: &form,
        body: &body,
    };
    let authed = authenticate(&state.db, &incoming, doppel_store::now_ms()).await?;
    let params = Params::new(query.iter().chain(form.iter()));

    // Version and Action: from the signed parameters, or (ACS3, where the headers are signed) the headers.
    let from_header = |name: &str| {
        (authed.scheme == Scheme::Acs3)
            .then(|| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty()))
            .flatten()
    };
    let version =
        params.get("Version").or_else(|| from_header("x-acs-version")).ok_or_else(|| IceError::missing("Version"))?;
    if version != VERSION {
        return Err(IceError::param_code(
            "InvalidVersion",
            format!("Version {version:?} is not served; this endpoint speaks ICE {VERSION}"),
        ));
    }
    let action =
        params.get("Action").or_else(|| from_header("x-acs-action")).ok_or_else(|| IceError::missing("Action"))?;
    let project = authed.credentials.project_id.as_str();
    let now = doppel_store::now_ms() / 1000;
    match action {
        "GetAvatar" => avatars::get(state, project, &params, now).await,
        "ListAvatars" => avatars::list(state, project, &params, now).await,
        "ListSmartVoiceGroups" => Ok(avatars::voice_groups(state, &params, now)),
        "SubmitAvatarVideoJob" => jobs::submit(state, project, &params).await,
        "GetSmartHandleJob" => jobs::get(state, project, &params, now).await,
        other => Err(IceError::not_found(
            "InvalidAction.NotFound",
            format!("Action {other:?} is not served (served: {})", ACTIONS.join(", ")),
        )),
    }
    .map(|mut body| {
        body["RequestId"] = json!(request_id());
        body
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_read_and_named_in_errors() {
        let p =
            Params::from_pairs(&[("PageNo", "2"), ("PageNo", "3"), ("PageSize", "x"), ("Empty", " "), ("Cfg", "[1]")]);
        assert_eq!(p.int("PageNo", 1, 100, 1).unwrap(), 3, "the last value wins");
        assert_eq!(p.int("Absent", 1, 100, 10).unwrap(), 10);
        assert_eq!(p.int("Empty", 1, 100, 10).unwrap(), 10);
        let e = p.int("PageSize", 1, 100, 10).unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (StatusCode::BAD_REQUEST, "InvalidParameter"));
        assert!(e.message.contains("PageSize"), "{e:?}");
        assert!(p.int("PageNo", 1, 2, 1).unwrap_err().message.contains("out of range [1, 2]"));
        let e = p.required("AvatarId").unwrap_err();
        assert_eq!((e.code.as_str(), e.message.as_str()), ("MissingAvatarId", "AvatarId is mandatory for this action"));
        assert!(p.json_object("Cfg").unwrap_err().message.contains("JSON object"));
        assert_eq!(p.json_object("Absent").unwrap(), None);
    }

    #[test]
    fn errors_have_the_alibaba_cloud_shape() {
        let resp = IceError::not_found("InvalidAvatarId.NotFound", "avatar \"x\" does not exist").into_response();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let resp = IceError::new(StatusCode::METHOD_NOT_ALLOWED, "UnsupportedHTTPMethod", "m").into_response();
        assert_eq!(resp.headers().get(header::ALLOW).unwrap(), "GET, POST");
        let api: IceError = ApiError::bad_request("invalid_script", "model_asset_id: nope").into();
        assert_eq!((api.status, api.code.as_str()), (StatusCode::BAD_REQUEST, "InvalidParameter"));
        let api: IceError = ApiError::internal("disk on fire").into();
        assert_eq!((api.status, api.code.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"));
        assert!(!api.message.contains("disk"), "internal causes are not answered");
    }
}
