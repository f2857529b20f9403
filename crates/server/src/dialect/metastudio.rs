//! The Huawei Cloud MetaStudio dialect: the REST API of `huaweicloudsdkmetastudio` under `/v1/{project_id}/…`, over
//! the same jobs, digital humans, voices and assets as the native API, so the official SDK works against doppel
//! by changing only its endpoint.
//!
//! | Method & path (under `/v1/{project_id}`)        | SDK method                      | Answer |
//! |-------------------------------------------------|---------------------------------|--------|
//! | `POST /2d-digital-human-videos`                 | `create2_d_digital_human_video` | `{job_id}` |
//! | `GET /2d-digital-human-videos/{job_id}`         | `show2_d_digital_human_video`   | seed 003's fields (1) |
//! | `POST /2d-digital-human-videos/{job_id}/cancel` | `cancel2_d_digital_human_video` | `{}` |
//! | `POST /photo-digital-human-videos`              | `create_photo_digital_human_video` | `{job_id}` (2) |
//! | `GET /photo-digital-human-videos/{job_id}`      | `show_photo_digital_human_video` | as the 2D show |
//! | `POST /photo-digital-human-videos/{job_id}/cancel` | `cancel_photo_digital_human_video` | `{}` |
//! | `POST /photo-detection`                         | `create_photo_detection`        | `{job_id}` |
//! | `GET /photo-detection/{job_id}`                 | `show_photo_detection`          | `{job_id, state, error_info, create_time}` |
//! | `GET /digital-human-videos`                     | `list_digital_human_video`      | `{count, jobs}` (seed 004) |
//! | `GET /digital-assets`                           | `list_assets`                   | `{count, assets}` |
//! | `GET /digital-assets/{asset_id}`                | `show_asset`                    | `DigitalAssetInfo` |
//!
//! (1) `?show_script=true` adds the script's fields as the SDK's show response has them. Assets: [`assets`].
//! (2) `human_image` is checked (see `doppel_face::Problem`) and becomes a photo digital human of the project; the
//! job is a 2D video job of that avatar with job_type `PHOTO_DIGITAL_HUMAN_VIDEO`, at 720x1280 or 1080x1920
//! (1280x720 or 1920x1080 for a landscape photo).
//!
//! Authentication: `Authorization: SDK-HMAC-SHA256 …` with `X-Sdk-Date` (an access key pair of the project; see
//! [`sign`]), or `X-Auth-Token: <doppel API key>` in place of an IAM token. The path's `{project_id}` (and an
//! `X-Project-Id` header, when sent) must be the caller's project.
//!
//! Errors: `{"error_code", "error_msg", "request_id"}` with `MSS.00000003` (400, the message names the field),
//! `MSS.00000001` (401), `MSS.00010009` (403, the project in the path is not the caller's), `MSS.00000002` (404),
//! `MSS.00000004` (500, details only in the server log); an unknown path answers 404 `MSS.00010003` and a wrong
//! method 405 `MSS.00010004`. Every answer carries `X-Request-Id`.

pub mod assets;
pub mod sign;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, OriginalUri, Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use doppel_store::CancelOutcome;
use serde_json::{json, Map, Value};

use crate::api::{self, JOB_TYPE_2D};
use crate::error::{current_request_id, ApiError};
use crate::AppState;

/// Routes under `/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/{project_id}/2d-digital-human-videos", post(create_video))
        .route("/{project_id}/2d-digital-human-videos/{job_id}", get(show_video))
        .route("/{project_id}/2d-digital-human-videos/{job_id}/cancel", post(cancel_video))
        .route("/{project_id}/photo-digital-human-videos", post(create_photo_video))
        .route("/{project_id}/photo-digital-human-videos/{job_id}", get(show_video))
        .route("/{project_id}/photo-digital-human-videos/{job_id}/cancel", post(cancel_video))
        .route("/{project_id}/photo-detection", post(create_photo_detection))
        .route("/{project_id}/photo-detection/{job_id}", get(show_photo_detection))
        .route("/{project_id}/digital-human-videos", get(list_videos))
        .route("/{project_id}/digital-assets", get(list_assets))
        .route("/{project_id}/digital-assets/{asset_id}", get(show_asset))
        .fallback(unknown_api)
        .method_not_allowed_fallback(wrong_method)
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/// An error answer in MetaStudio's envelope.
#[derive(Debug)]
pub struct MsError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl MsError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> MsError {
        MsError { status, code, message: message.into() }
    }

    /// 400 `MSS.00000003`: a parameter is wrong (the message names it).
    pub fn bad_param(message: impl Into<String>) -> MsError {
        MsError::new(StatusCode::BAD_REQUEST, "MSS.00000003", message)
    }

    /// 401 `MSS.00000001`.
    pub fn unauthorized(message: impl std::fmt::Display) -> MsError {
        MsError::new(StatusCode::UNAUTHORIZED, "MSS.00000001", format!("Unauthorized: {message}"))
    }

    /// 404 `MSS.00000002`.
    pub fn not_found(message: impl Into<String>) -> MsError {
        MsError::new(StatusCode::NOT_FOUND, "MSS.00000002", message)
    }

    /// 403 `MSS.00010009`: the project id in the URL is not the caller's.
    fn wrong_project(what: &str, got: &str) -> MsError {
        MsError::new(
            StatusCode::FORBIDDEN,
            "MSS.00010009",
            format!("urlTenantId is not equal tokenTenantId: {what} {got:?} is not the project of these credentials"),
        )
    }

    /// 500 `MSS.00000004`: logged with its cause; the caller gets the request id to quote.
    pub fn internal(cause: impl std::fmt::Display) -> MsError {
        eprintln!("doppel metastudio: request {}: internal error: {cause}", current_request_id());
        MsError::new(StatusCode::INTERNAL_SERVER_ERROR, "MSS.00000004", "Internal Error")
    }
}

impl From<ApiError> for MsError {
    fn from(e: ApiError) -> MsError {
        match e.status.as_u16() {
            401 => MsError::new(e.status, "MSS.00000001", e.message),
            404 => MsError::not_found(e.message),
            // A state conflict (409) is a bad request in MetaStudio's vocabulary.
            409 => MsError::bad_param(e.message),
            s if s >= 500 => MsError::internal(e.message),
            _ => MsError::new(e.status, "MSS.00000003", e.message),
        }
    }
}

impl From<doppel_store::Error> for MsError {
    fn from(e: doppel_store::Error) -> MsError {
        MsError::internal(e)
    }
}

impl IntoResponse for MsError {
    fn into_response(self) -> Response {
        let body = json!({"error_code": self.code, "error_msg": self.message, "request_id": current_request_id()});
        (self.status, Json(body)).into_response()
    }
}

type MsResult<T> = Result<T, MsError>;

async fn unknown_api(method: Method, OriginalUri(uri): OriginalUri) -> MsError {
    MsError::new(
        StatusCode::NOT_FOUND,
        "MSS.00010003",
        format!("SR.api not found: doppel has no MetaStudio API at {method} {}", uri.path()),
    )
}

async fn wrong_method(method: Method, OriginalUri(uri): OriginalUri) -> MsError {
    MsError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MSS.00010004",
        format!("SR.method not allowed: {method} is not a method of {}", uri.path()),
    )
}

// ---------------------------------------------------------------------------------------------------------------
// Requests and authentication

/// A request read whole: what the signature covers.
#[derive(Debug)]
struct Incoming {
    method: Method,
    /// The URI as the client sent it (before `/v1` was stripped by nesting).
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Incoming {
    async fn read(req: Request) -> MsResult<Incoming> {
        let method = req.method().clone();
        let uri = req.extensions().get::<OriginalUri>().map(|o| o.0.clone()).unwrap_or_else(|| req.uri().clone());
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, &()).await.map_err(|e| {
            MsError::new(
                e.status(),
                "MSS.00000003",
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    "the request body is larger than the server's limit".to_string()
                } else {
                    e.body_text()
                },
            )
        })?;
        Ok(Incoming { method, uri, headers, body })
    }

    /// The body as JSON.
    fn json(&self) -> MsResult<Value> {
        serde_json::from_slice(&self.body).map_err(|e| {
            MsError::bad_param(format!("body: invalid JSON at line {}, column {}: {e}", e.line(), e.column()))
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
    }

    /// The query as a map; a repeated key (the SDK's list parameters) joins its values with commas.
    fn query(&self) -> HashMap<String, String> {
        let mut out: HashMap<String, String> = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(self.uri.query().unwrap_or("").as_bytes()) {
            out.entry(k.into_owned())
                .and_modify(|e| {
                    e.push(',');
                    e.push_str(&v);
                })
                .or_insert_with(|| v.into_owned());
        }
        out
    }
}

/// Checks the caller's credentials and that `path_project` is its project; returns the project id.
async fn authenticate(state: &AppState, req: &Incoming, path_project: &str) -> MsResult<String> {
    let creds = if let Some(authz) = req.header("authorization") {
        if !sign::is_sdk_hmac(authz) {
            return Err(MsError::unauthorized(
                "the Authorization scheme is not SDK-HMAC-SHA256; sign with an access key pair or send X-Auth-Token",
            ));
        }
        let auth = sign::parse_authorization(authz).map_err(MsError::unauthorized)?;
        let creds = state
            .db
            .credentials_by_access_key(&auth.access)
            .await?
            .ok_or_else(|| MsError::unauthorized(format!("the access key {:?} does not exist", auth.access)))?;
        let signed = sign::SignedRequest {
            method: req.method.as_str(),
            path: req.uri.path(),
            query: req.uri.query().unwrap_or(""),
            headers: &req.headers,
            body: &req.body,
        };
        let now = doppel_store::now_ms() / 1000;
        sign::verify(&signed, &auth, &creds.access_key_secret, now).map_err(MsError::unauthorized)?;
        creds
    } else if let Some(token) = req.header("x-auth-token").filter(|t| !t.is_empty()) {
        state
            .db
            .credentials_by_api_key(token)
            .await?
            .ok_or_else(|| MsError::unauthorized("the X-Auth-Token is not a valid API key"))?
    } else {
        return Err(MsError::unauthorized(
            "no credentials: sign the request (Authorization: SDK-HMAC-SHA256 with X-Sdk-Date) or send X-Auth-Token",
        ));
    };
    if path_project != creds.project_id {
        return Err(MsError::wrong_project("the project id in the URL", path_project));
    }
    if let Some(p) = req.header("x-project-id").filter(|p| *p != creds.project_id) {
        return Err(MsError::wrong_project("X-Project-Id", p));
    }
    Ok(creds.project_id)
}

// ---------------------------------------------------------------------------------------------------------------
// Video jobs

/// The fields of a job in a listing (seed 004's `DigitalHumanVideo`).
const LIST_FIELDS: &[&str] = &[
    "job_id",
    "state",
    "job_type",
    "start_time",
    "end_time",
    "duration",
    "output_asset_config",
    "error_info",
    "create_time",
    "lastupdate_time",
];
/// What `show` adds to [`LIST_FIELDS`] always, and with `show_script=true` (the SDK's show response; a
/// callback's key and the like stay private).
const SHOW_FIELDS: &[&str] = &["script_id"];
const SCRIPT_FIELDS: &[&str] = &[
    "video_making_type",
    "human_image",
    "model_asset_id",
    "voice_config",
    "video_config",
    "shoot_scripts",
    "background_music_config",
];

/// Keeps `fields` of a native job view (null when absent) and those of `optional` that it has.
fn pick(view: &Value, fields: &[&str], optional: &[&str]) -> Value {
    let mut out = Map::new();
    for &k in fields {
        out.insert(k.to_string(), view.get(k).cloned().unwrap_or(Value::Null));
    }
    for &k in optional {
        if let Some(v) = view.get(k) {
            out.insert(k.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

fn show_script(q: &HashMap<String, String>) -> MsResult<bool> {
    match q.get("show_script").map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(MsError::bad_param(format!("show_script: {other:?} is not true or false"))),
    }
}

async fn create_video(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    req: Request,
) -> MsResult<Response> {
    let req = Incoming::read(req).await?;
    let project = authenticate(&state, &req, &project_id).await?;
    let body = req.json()?;
    let script = api::check_script(&state, &project, body.clone()).await?;
    let job = api::submit_job(&state, &project, JOB_TYPE_2D, &body, &script).await?;
    Ok(Json(json!({"job_id": job.id})).into_response())
}

async fn show_video(
    State(state): State<AppState>,
    Path((project_id, job_id)): Path<(String, String)>,
    req: Request,
) -> MsResult<Response> {
    let req = Incoming::read(req).await?;
    let project = authenticate(&state, &req, &project_id).await?;
    let with_script = show_script(&req.query())?;
    let job = state
        .db
        .job(&project, &job_id)
        .await?
        .ok_or_else(|| MsError::not_found(format!("job {job_id:?} does not exist")))?;
    let view = api::job_json(&state, &job, with_script).await;
    let fields = [LIST_FIELDS, SHOW_FIELDS].concat();
    Ok(Json(pick(&view, &fields, if with_script { SCRIPT_FIELDS } else { &[] })).into_response())
}

async fn cancel_video(
    State(state): State<AppState>,
    Path((project_id, job_id)): Path<(String, String)>,
    req: Request,
) -> MsResult<Response> {
    let req = Incoming::read(req).await?;
    let project = authenticate(&state, &req, &project_id).await?;
    match state.db.cancel_job(&project, &job_id).await? {
        CancelOutcome::Canceled => Ok(Json(json!({})).into_response()),
        CancelOutcome::NotFound => Err(MsError::not_found(format!("job {job_id:?} does not exist"))),
        CancelOutcome::AlreadyFinal(s) => Err(MsError::bad_param(format!(
            "job {job_id:?} is already {}; only WAITING or PROCESSING jobs can be canceled",
            s.as_str()
        ))),
    }
}

async fn list_videos(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    req: Request,
) -> MsResult<Response> {
    let req = Incoming::read(req).await?;
    let project = authenticate(&state, &req, &project_id).await?;
    let filter = api::job_filter(&req.query()).map_err(|(k, m)| MsError::bad_param(format!("{k}: {m}")))?;
    let (count, jobs) = state.db.list_jobs(&project, &filter).await?;
    let mut list = Vec::with_capacity(jobs.len());
    for j in &jobs {
        list.push(pick(&api::job_json(&state, j, false).await, LIST_FIELDS, &[]));
    }
    Ok(Json(json!({"count": count, "jobs": list})).into_response())
}

// ---------------------------------------------------------------------------------------------------------------
// Assets

async fn list_assets(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    req: Request,
) -> MsResult<Response> {
    let req = Incoming::read(req).await?;
    let project = authenticate(&state, &req, &project_id).await?;
    Ok(Json(assets::list(&state, &project, &req.query()).await?).into_response())
}

async fn show_asset(
    State(state): State<AppState>,
    Path((project_id, asset_id)): Path<(String, String)>,
    req: Request,
) -> MsResult<Response> {
    let req = Incoming::read(req).await?;
    let project = authenticate(&state, &req, &project_id).await?;
    Ok(Json(assets::show(&state, &project, &asset_id).await?).into_response())
}

// ---------------------------------------------------------------------------------------------------------------
// Photo digital humans

/// Job type of photo digital human videos.
const JOB_TYPE_PHOTO: &str = "PHOTO_DIGITAL_HUMAN_VIDEO";

/// Decodes `human_image` (base64, optionally as a `data:` URL).
fn human_image(body: &Value) -> MsResult<Bytes> {
    use base64::Engine;
    let raw = body
        .get("human_image")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| MsError::bad_param("human_image: required (the photo, Base64-encoded)"))?;
    let b64 = match raw.split_once(";base64,") {
        Some((head, rest)) if head.starts_with("data:") => rest,
        _ => raw,
    };
    let clean: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean.as_bytes())
        .map(Bytes::from)
        .map_err(|e| MsError::bad_param(format!("human_image: not valid Base64 ({e})")))
}

/// The output size of a photo video: the portrait or landscape size of MetaStudio's list nearest the photo.
fn photo_video_size(w: u64, h: u64) -> (u32, u32) {
    let large = w.max(h) >= 1080;
    match (h >= w, large) {
        (true, true) => (1080, 1920),
        (true, false) => (720, 1280),
        (false, true) => (1920, 1080),
        (false, false) => (1280, 720),
    }
}

/// The 2D video script a photo video request becomes, for the photo digital human `human_id`.
fn photo_script(body: &Value, human_id: &str, size: (u32, u32)) -> MsResult<Value> {
    let scripts = body.get("shoot_scripts").and_then(Value::as_array).cloned().unwrap_or_default();
    if scripts.len() != 1 {
        return Err(MsError::bad_param(format!(
            "shoot_scripts: a photo digital human video takes exactly one shoot script (got {})",
            scripts.len()
        )));
    }
    let shoot = scripts[0].get("shoot_script").cloned().unwrap_or(Value::Null);
    if let Some(t) = shoot.get("script_type").and_then(Value::as_str) {
        if !t.eq_ignore_ascii_case("TEXT") {
            return Err(MsError::bad_param(format!(
                "shoot_scripts[0].shoot_script.script_type: {t:?}; photo digital human videos are driven by TEXT only"
            )));
        }
    }
    let vc = body.get("video_config").cloned().unwrap_or(json!({}));
    if let Some(c) = vc.get("codec").and_then(Value::as_str) {
        if !c.eq_ignore_ascii_case("H264") {
            return Err(MsError::bad_param(format!(
                "video_config.codec: {c:?}; photo digital human videos are H264 only"
            )));
        }
    }
    let mut video = json!({"codec": "H264", "width": size.0, "height": size.1});
    if let Some(b) = vc.get("bitrate") {
        video["bitrate"] = b.clone();
    }
    let mut script = json!({
        "model_asset_id": human_id,
        "video_config": video,
        "shoot_scripts": [{
            "sequence_no": 0,
            "shoot_script": {"script_type": "TEXT", "text_config": shoot.get("text_config").cloned().unwrap_or(Value::Null)}
        }],
    });
    for k in ["voice_config", "output_asset_config", "background_music_config", "callback_config", "review_config"] {
        if let Some(v) = body.get(k).filter(|v| !v.is_null()) {
            script[k] = v.clone();
        }
    }
    Ok(script)
}

async fn create_photo_video(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    req: Request,
) -> MsResult<Response> {
    let req = Incoming::read(req).await?;
    let project = authenticate(&state, &req, &project_id).await?;
    let body = req.json()?;
    let image = human_image(&body)?;
    // The script is checked (with a built-in avatar standing in) before the photo is read, so a bad script
    // leaves nothing behind.
    photo_script(&body, "anna", (720, 1280))?;
    let name = body
        .pointer("/output_asset_config/asset_name")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or("photo digital human");
    let human = crate::photo::create_human(
        &state,
        &project,
        "human_image",
        name,
        image,
        json!({"source": "photo-digital-human-videos"}),
    )
    .await?;
    let size = photo_video_size(human.info["width"].as_u64().unwrap_or(0), human.info["height"].as_u64().unwrap_or(0));
    let submitted = async {
        let script = photo_script(&body, &human.id, size)?;
        let checked = api::check_script(&state, &project, script.clone()).await?;
        Ok::<_, MsError>(api::submit_job(&state, &project, JOB_TYPE_PHOTO, &script, &checked).await?)
    }
    .await;
    match submitted {
        Ok(job) => Ok(Json(json!({"job_id": job.id})).into_response()),
        Err(e) => {
            // The photo digital human made for this request goes with it.
            if let Ok(Some(h)) = state.db.delete_human(&project, &human.id).await {
                if let Ok(Some(a)) = state.db.delete_asset(&project, &h.package_asset_id).await {
                    let _ = state.blobs.delete(&a.blob_key).await;
                }
            }
            Err(e)
        }
    }
}

fn detection_key(project: &str, job_id: &str) -> String {
    format!("projects/{project}/photo-detection/{job_id}.json")
}

/// `POST /photo-detection`: checks `human_image` at once; the result is kept and read back by job id.
async fn create_photo_detection(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    req: Request,
) -> MsResult<Response> {
    let req = Incoming::read(req).await?;
    let project = authenticate(&state, &req, &project_id).await?;
    let body = req.json()?;
    let image = human_image(&body)?;
    let (state_name, error_info) = match crate::photo::check(&state, "human_image", image).await {
        Ok(_) => ("SUCCEED", Value::Null),
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            ("FAILED", json!({"error_code": "MSS.00000003", "error_msg": e.message}))
        }
        Err(e) => return Err(e.into()),
    };
    let job_id = doppel_store::new_id();
    let record = json!({
        "job_id": job_id,
        "state": state_name,
        "error_info": error_info,
        "create_time": crate::iso_time(doppel_store::now_ms()),
    });
    state
        .blobs
        .put(&detection_key(&project, &job_id), Bytes::from(record.to_string()))
        .await
        .map_err(MsError::internal)?;
    Ok(Json(json!({"job_id": job_id})).into_response())
}

async fn show_photo_detection(
    State(state): State<AppState>,
    Path((project_id, job_id)): Path<(String, String)>,
    req: Request,
) -> MsResult<Response> {
    let req = Incoming::read(req).await?;
    let project = authenticate(&state, &req, &project_id).await?;
    let missing = || MsError::not_found(format!("photo detection job {job_id:?} does not exist"));
    if job_id.is_empty() || !job_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(missing());
    }
    let bytes = state.blobs.get(&detection_key(&project, &job_id)).await.map_err(|_| missing())?;
    let record: Value = serde_json::from_slice(&bytes).map_err(MsError::internal)?;
    Ok(Json(record).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_errors_map_to_metastudio_codes() {
        let cases = [
            (
                ApiError::bad_request("invalid_script", "voice_config.speed: 300 is out of range 50–200"),
                400,
                "MSS.00000003",
            ),
            (ApiError::unauthorized("nope"), 401, "MSS.00000001"),
            (ApiError::not_found("job", "x"), 404, "MSS.00000002"),
            (ApiError::new(StatusCode::CONFLICT, "job_finished", "done"), 400, "MSS.00000003"),
            (ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "big"), 413, "MSS.00000003"),
            (ApiError::internal("disk on fire"), 500, "MSS.00000004"),
        ];
        for (e, status, code) in cases {
            let msg = e.message.clone();
            let m = MsError::from(e);
            assert_eq!((m.status.as_u16(), m.code), (status, code), "{msg}");
            if status < 500 {
                assert_eq!(m.message, msg);
            } else {
                assert_eq!(m.message, "Internal Error", "internal details stay in the log");
            }
        }
    }

    #[test]
    fn job_views_keep_the_vendor_fields() {
        let view = json!({"job_id": "j", "state": "WAITING", "progress": 3, "script_id": null,
                          "model_asset_id": "anna", "callback_config": {"key": "secret"}});
        let list = pick(&view, LIST_FIELDS, &[]);
        assert_eq!(list.as_object().unwrap().len(), LIST_FIELDS.len());
        assert!(list.get("progress").is_none() && list["duration"].is_null());
        let show = pick(&view, &[LIST_FIELDS, SHOW_FIELDS].concat(), SCRIPT_FIELDS);
        assert_eq!(show["model_asset_id"], "anna");
        assert!(show.get("callback_config").is_none() && show.get("voice_config").is_none());
        assert!(show.as_object().unwrap().contains_key("script_id"));
    }
}
