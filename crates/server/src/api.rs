//! The native API under `/api/v1`: videos (jobs), digital humans, voices, assets. Every route but
//! `openapi.json` needs `Authorization: Bearer <api_key>`; every row is looked up within the caller's project.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use doppel_store::{Asset, AssetFilter, CancelOutcome, Job, JobFilter, JobState, NewAsset, SortDir};
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::catalog::{self, Human};
use crate::error::{ApiError, ApiResult};
use crate::resolve::{self, Target};
use crate::{iso_time, parse_iso_time, AppState};

/// The job type of scripted avatar videos.
pub const JOB_TYPE_2D: &str = "2D_DIGITAL_HUMAN_VIDEO";
/// Job types seed 004 lists.
pub const JOB_TYPES: &[&str] = &[JOB_TYPE_2D, "PHOTO_DIGITAL_HUMAN_VIDEO"];
/// Asset types an upload may have.
pub const ASSET_TYPES: &[&str] = &["IMAGE", "VIDEO", "AUDIO", "MUSIC", "FONT", "HUMAN_MODEL_2D"];
/// Largest image side accepted (pixels) and largest image area (pixels).
pub const MAX_IMAGE_SIDE: u32 = 8192;
pub const MAX_IMAGE_PIXELS: u64 = 40_000_000;
/// Default and largest page size of listings.
pub const DEFAULT_LIMIT: i64 = 10;
pub const MAX_LIMIT: i64 = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/videos", post(create_video).get(list_videos))
        .route("/videos/{job_id}", get(show_video))
        .route("/videos/{job_id}/cancel", post(cancel_video))
        .route("/digital-humans", get(list_humans).post(import_human))
        .route("/digital-humans/{id}", get(show_human).delete(delete_human))
        .route("/voices", get(list_voices))
        .route("/voices/{id}", get(show_voice))
        .route("/assets", post(upload_asset).get(list_assets))
        .route("/assets/{id}", get(show_asset).delete(delete_asset))
        .route("/assets/{id}/content", get(asset_content))
}

fn now_secs() -> i64 {
    doppel_store::now_ms() / 1000
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

// ---------------------------------------------------------------------------------------------------------------
// Videos

/// Checks a submitted script fully (syntax, every documented limit, avatar, voice, every file reference) and
/// returns it parsed. Errors name the JSON path.
pub async fn check_script(state: &AppState, project_id: &str, body: Value) -> ApiResult<doppel_script::Script> {
    let script =
        doppel_script::parse_script_value(body).map_err(|e| ApiError::bad_request("invalid_script", e.to_string()))?;
    let bad = |path: &str, msg: String| ApiError::bad_request("invalid_script", format!("{path}: {msg}"));
    if script.shoot_scripts.is_empty() {
        return Err(bad("shoot_scripts", "stored scripts (script_id) are not supported; send shoot_scripts".into()));
    }
    if let Some(id) = script.model_asset_id.as_deref().filter(|s| !s.is_empty()) {
        if catalog::human(state, project_id, id).await?.is_none() {
            return Err(bad(
                "model_asset_id",
                format!("digital human {id:?} does not exist (see GET /api/v1/digital-humans)"),
            ));
        }
    }
    if let Some(v) = script.voice_config.as_ref().and_then(|v| v.voice_asset_id.as_deref()).filter(|s| !s.is_empty()) {
        use doppel_speech::Tts;
        if !state.tts.voices().iter().any(|x| x.id.eq_ignore_ascii_case(v)) {
            return Err(bad(
                "voice_config.voice_asset_id",
                format!("voice {v:?} does not exist (see GET /api/v1/voices)"),
            ));
        }
    }
    // An AUDIO scene names its recording in `audio_drive_file_external_url`: doppel's asset ids are strings, so
    // the vendor's numeric `audio_config.audio_id` names nothing here.
    for (i, item) in script.shoot_scripts.iter().enumerate() {
        let Some(ss) = &item.shoot_script else { continue };
        let named = ss.audio_drive_file_external_url.as_deref().is_some_and(|u| !u.trim().is_empty());
        if ss.script_type_or_default() == doppel_script::ScriptType::Audio && !named {
            return Err(bad(
                &format!("shoot_scripts[{i}].shoot_script.audio_config.audio_id"),
                "doppel has no numeric audio ids: give the AUDIO asset's id (or an http(s) URL) in \
                 audio_drive_file_external_url"
                    .into(),
            ));
        }
    }
    for r in resolve::refs(&script) {
        match &r.target {
            Target::Url(u) => {
                let ok = url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some());
                if !ok {
                    return Err(bad(&r.path, format!("{u:?} is not an http(s) URL or an asset id")));
                }
            }
            Target::Asset(id) => {
                let Some(asset) = state.db.asset(project_id, id).await? else {
                    return Err(bad(&r.path, format!("asset {id:?} does not exist")));
                };
                if r.kind == "AUDIO" && !matches!(asset.asset_type.as_str(), "AUDIO" | "MUSIC") {
                    return Err(bad(
                        &r.path,
                        format!("asset {id:?} is {}, not audio (an AUDIO or MUSIC asset)", asset.asset_type),
                    ));
                }
            }
        }
    }
    Ok(script)
}

/// Queues a video job for `body` (already checked) and wakes a worker.
pub async fn submit_job(
    state: &AppState,
    project_id: &str,
    job_type: &str,
    body: &Value,
    script: &doppel_script::Script,
) -> ApiResult<Job> {
    let id = doppel_store::new_id();
    let asset_name = script.output_asset_config.as_ref().and_then(|o| o.asset_name.clone());
    let job = state
        .db
        .create_job(&id, project_id, job_type, body, script.script_id.as_deref(), asset_name.as_deref())
        .await?;
    state.queue_notify.notify_one();
    Ok(job)
}

async fn create_video(State(state): State<AppState>, caller: Caller, req: Request) -> ApiResult<Response> {
    let body = json_body(req).await?;
    let script = check_script(&state, &caller.project_id, body.clone()).await?;
    let job = submit_job(&state, &caller.project_id, JOB_TYPE_2D, &body, &script).await?;
    Ok((StatusCode::OK, Json(json!({"job_id": job.id}))).into_response())
}

/// Reads a JSON body, answering in the native error shape.
pub(crate) async fn json_body(req: Request) -> ApiResult<Value> {
    let bytes = Bytes::from_request(req, &()).await.map_err(|e| {
        ApiError::new(
            e.status(),
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE { "too_large" } else { "bad_body" },
            e.body_text(),
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request("invalid_json", format!("invalid JSON at line {}, column {}: {e}", e.line(), e.column()))
    })
}

/// The seed-003 view of a job (plus `progress`), with the script's fields when `show_script`.
pub async fn job_json(state: &AppState, job: &Job, show_script: bool) -> Value {
    let now = now_secs();
    let mut out = json!({
        "job_id": job.id,
        "state": job.state.as_str(),
        "job_type": job.job_type,
        "progress": job.progress,
        "start_time": job.start_time.map(iso_time),
        "end_time": job.end_time.map(iso_time),
        "duration": job.duration_ms.map(|d| d as f64 / 1000.0),
        "output_asset_config": Value::Null,
        "error_info": Value::Null,
        "create_time": iso_time(job.create_time),
        "lastupdate_time": iso_time(job.lastupdate_time),
        "script_id": job.script_id,
    });
    if let Some(vid) = &job.output_asset_id {
        let name = match state.db.asset(&job.project_id, vid).await {
            Ok(Some(a)) => a.name,
            _ => job.asset_name.clone().unwrap_or_default(),
        };
        out["output_asset_config"] = json!({
            "asset_id": vid,
            "asset_name": job.asset_name.clone().unwrap_or(name),
            "cover_url": job.cover_asset_id.as_ref().map(|c| state.signer.url(&format!("assets/{c}"), now)),
            "preview_video_url": state.signer.url(&format!("assets/{vid}"), now),
        });
    } else if let Some(name) = &job.asset_name {
        out["output_asset_config"] = json!({"asset_name": name});
    }
    if let (Some(code), msg) = (&job.error_code, &job.error_msg) {
        out["error_info"] = json!({"error_code": code, "error_msg": msg});
    }
    if show_script {
        if let Value::Object(script) = &job.script {
            let mut script = script.clone();
            // The callback's HMAC key is a secret: never echo it.
            if let Some(Value::Object(cb)) = script.get_mut("callback_config") {
                cb.remove("key");
            }
            for (k, v) in &script {
                if !out.as_object().is_some_and(|o| o.contains_key(k)) || out[k].is_null() {
                    out[k] = v.clone();
                }
            }
        }
    }
    out
}

fn truthy(v: Option<&String>) -> bool {
    v.is_some_and(|s| s == "true" || s == "1")
}

async fn show_video(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let job = state.db.job(&caller.project_id, &job_id).await?.ok_or_else(|| ApiError::not_found("job", &job_id))?;
    Ok(Json(job_json(&state, &job, truthy(q.get("show_script"))).await))
}

/// Parses seed 004's listing parameters. Errors name the parameter and what it accepts.
pub fn job_filter(q: &HashMap<String, String>) -> Result<JobFilter, (String, String)> {
    let bad = |k: &str, m: String| (k.to_string(), m);
    let (offset, limit) = page_params(q)?;
    let mut f = JobFilter { offset, limit, ..JobFilter::default() };
    if let Some(s) = q.get("state").filter(|s| !s.is_empty()) {
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let st = JobState::parse(part).ok_or_else(|| {
                let all: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
                bad("state", format!("{part:?} is not a job state (allowed: {})", all.join(", ")))
            })?;
            f.states.push(st);
        }
    }
    if let Some(k) = q.get("sort_key").filter(|s| !s.is_empty()) {
        if k != "create_time" {
            return Err(bad("sort_key", format!("{k:?} is not a sort key (allowed: create_time)")));
        }
    }
    f.sort_dir = match q.get("sort_dir").map(|s| s.to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("asc") => SortDir::Asc,
        Some("desc") => SortDir::Desc,
        Some(other) => return Err(bad("sort_dir", format!("{other:?} is not asc or desc"))),
    };
    for (k, slot) in [("create_since", &mut f.create_since), ("create_until", &mut f.create_until)] {
        if let Some(v) = q.get(k).filter(|s| !s.is_empty()) {
            *slot =
                Some(parse_iso_time(v).ok_or_else(|| {
                    bad(k, format!("{v:?} is not an ISO 8601 UTC time such as 2022-11-30T06:59:56Z"))
                })?);
        }
    }
    f.script_id = q.get("script_id").filter(|s| !s.is_empty()).cloned();
    f.asset_name = q.get("asset_name").filter(|s| !s.is_empty()).cloned();
    if let Some(t) = q.get("job_type").filter(|s| !s.is_empty()) {
        if !JOB_TYPES.contains(&t.as_str()) {
            return Err(bad("job_type", format!("{t:?} is not a job type (allowed: {})", JOB_TYPES.join(", "))));
        }
        f.job_type = Some(t.clone());
    }
    for k in ["job_id", "job_ids"] {
        if let Some(v) = q.get(k).filter(|s| !s.is_empty()) {
            f.job_ids.extend(v.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string));
        }
    }
    if f.job_ids.len() > MAX_LIMIT as usize {
        return Err(bad("job_ids", format!("has {} ids, the maximum is {MAX_LIMIT}", f.job_ids.len())));
    }
    Ok(f)
}

async fn list_videos(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let f = job_filter(&q).map_err(|(k, m)| ApiError::bad_request("invalid_parameter", format!("{k}: {m}")))?;
    let (count, jobs) = state.db.list_jobs(&caller.project_id, &f).await?;
    let mut list = Vec::with_capacity(jobs.len());
    for j in &jobs {
        list.push(job_json(&state, j, false).await);
    }
    Ok(Json(json!({"count": count, "jobs": list})))
}

async fn cancel_video(
    State(state): State<AppState>,
    caller: Caller,
    Path(job_id): Path<String>,
) -> ApiResult<Json<Value>> {
    match state.db.cancel_job(&caller.project_id, &job_id).await? {
        CancelOutcome::Canceled => {
            let job =
                state.db.job(&caller.project_id, &job_id).await?.ok_or_else(|| ApiError::not_found("job", &job_id))?;
            Ok(Json(job_json(&state, &job, false).await))
        }
        CancelOutcome::NotFound => Err(ApiError::not_found("job", &job_id)),
        CancelOutcome::AlreadyFinal(s) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "job_finished",
            format!("job {job_id:?} is already {} and cannot be canceled", s.as_str()),
        )),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Digital humans and voices

async fn list_humans(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let (offset, limit) = paging(&q)?;
    let public = match q.get("public").map(String::as_str) {
        None | Some("") => None,
        Some("true") | Some("1") => Some(true),
        Some("false") | Some("0") => Some(false),
        Some(v) => {
            return Err(ApiError::bad_request("invalid_parameter", format!("public: {v:?} is not true or false")))
        }
    };
    let all: Vec<Human> = catalog::humans(&state, &caller.project_id)
        .await?
        .into_iter()
        .filter(|h| public.is_none_or(|p| p == matches!(h, Human::Builtin(_))))
        .collect();
    let now = now_secs();
    let page: Vec<Value> =
        all.iter().skip(offset as usize).take(limit as usize).map(|h| h.to_json(&state, now)).collect();
    Ok(Json(json!({"count": all.len(), "digital_humans": page})))
}

/// An integer query parameter within `min..=max`, or `default` when absent.
fn int_param(q: &HashMap<String, String>, k: &str, min: i64, max: i64, default: i64) -> Result<i64, (String, String)> {
    match q.get(k) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            Ok(n) => Err((k.to_string(), format!("{n} is out of range {min}–{max}"))),
            Err(_) => Err((k.to_string(), format!("{v:?} is not an integer"))),
        },
    }
}

/// `offset` (≥ 0) and `limit` (1–100, default 10) of a listing.
fn page_params(q: &HashMap<String, String>) -> Result<(i64, i64), (String, String)> {
    Ok((int_param(q, "offset", 0, i32::MAX as i64, 0)?, int_param(q, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT)?))
}

fn paging(q: &HashMap<String, String>) -> ApiResult<(i64, i64)> {
    page_params(q).map_err(|(k, m)| ApiError::bad_request("invalid_parameter", format!("{k}: {m}")))
}

async fn show_human(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let h = catalog::human(&state, &caller.project_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("digital human", &id))?;
    Ok(Json(h.to_json(&state, now_secs())))
}

/// `POST /digital-humans`: an avatar package (zip), a photo (uploaded picture), or JSON
/// `{"image_asset_id": "…", "name": "…"}` naming an IMAGE asset. A photo is checked and becomes a photo avatar.
async fn import_human(State(state): State<AppState>, caller: Caller, req: Request) -> ApiResult<Response> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if is_json {
        let body = json_body(req).await?;
        let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
        let asset_id = field("image_asset_id").ok_or_else(|| {
            ApiError::bad_request("invalid_parameter", "image_asset_id: required (an IMAGE asset's id)")
        })?;
        let asset = state.db.asset(&caller.project_id, asset_id).await?.ok_or_else(|| {
            ApiError::bad_request("invalid_parameter", format!("image_asset_id: asset {asset_id:?} does not exist"))
        })?;
        if asset.asset_type != "IMAGE" {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!("image_asset_id: asset {asset_id:?} is {}, not IMAGE", asset.asset_type),
            ));
        }
        let name = field("name").map(str::to_string).unwrap_or_else(|| stem(&asset.name));
        check_len("name", &name, 256)?;
        let bytes = state.blobs.get(&asset.blob_key).await?;
        let human = crate::photo::create_human(
            &state,
            &caller.project_id,
            "image_asset_id",
            &name,
            bytes,
            json!({"source_asset_id": asset.id}),
        )
        .await?;
        return Ok((StatusCode::CREATED, Json(Human::Private(human).to_json(&state, now_secs()))).into_response());
    }
    let upload = read_upload(req, state.config.max_upload_bytes).await?;
    if crate::photo::looks_like_image(&upload.bytes) {
        let name = upload.name.as_deref().map(stem).unwrap_or_else(|| "photo".to_string());
        check_len("name", &name, 256)?;
        let human =
            crate::photo::create_human(&state, &caller.project_id, "file", &name, upload.bytes, json!({})).await?;
        return Ok((StatusCode::CREATED, Json(Human::Private(human).to_json(&state, now_secs()))).into_response());
    }
    let bytes = upload.bytes.clone();
    let avatar = tokio::task::spawn_blocking(move || doppel_avatar::Avatar::from_zip("package", &bytes))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::bad_request("invalid_avatar", e.to_string()))?;
    let id = doppel_store::new_id();
    let asset = store_asset(
        &state,
        &caller.project_id,
        "HUMAN_MODEL_2D",
        upload.name.as_deref().unwrap_or("avatar.zip"),
        "application/zip",
        upload.bytes,
        json!({"digital_human_id": id}),
    )
    .await?;
    let mut info = catalog::info_of(&avatar);
    info["package_id"] = json!(avatar.manifest.id);
    let human = state.db.create_human(&id, &caller.project_id, &asset.id, &info).await?;
    Ok((StatusCode::CREATED, Json(Human::Private(human).to_json(&state, now_secs()))).into_response())
}

/// A file name without its extension.
fn stem(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match base.rfind('.') {
        Some(i) if i > 0 => base[..i].to_string(),
        _ => base.to_string(),
    }
}

fn check_len(field: &str, v: &str, max: usize) -> ApiResult<()> {
    if v.chars().count() > max {
        return Err(ApiError::bad_request("invalid_parameter", format!("{field}: longer than {max} characters")));
    }
    Ok(())
}

async fn delete_human(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    if doppel_avatar::builtin_by_id(&id).is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "builtin",
            format!("{id:?} is built in and cannot be deleted"),
        ));
    }
    let h = state
        .db
        .delete_human(&caller.project_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("digital human", &id))?;
    let human = Human::Private(h.clone());
    for a in human.actions() {
        let _ = state.blobs.delete(&format!("cache/humans/{id}/actions/{a}.mp4")).await;
    }
    let _ = state.blobs.delete(&format!("cache/humans/{id}/thumbnail.jpg")).await;
    if let Some(a) = state.db.delete_asset(&caller.project_id, &h.package_asset_id).await? {
        let _ = state.blobs.delete(&a.blob_key).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn list_voices(State(state): State<AppState>, _caller: Caller) -> ApiResult<Json<Value>> {
    let voices = catalog::voices_json(&state, now_secs());
    Ok(Json(json!({"count": voices.len(), "voices": voices})))
}

async fn show_voice(State(state): State<AppState>, _caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    catalog::voices_json(&state, now_secs())
        .into_iter()
        .find(|v| v["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&id)))
        .map(Json)
        .ok_or_else(|| ApiError::not_found("voice", &id))
}

// ---------------------------------------------------------------------------------------------------------------
// Assets

/// An upload: raw body (`?type=&name=` in the query, Content-Type header) or multipart (`type`, `name`, `file`).
#[derive(Debug)]
pub struct Upload {
    pub asset_type: Option<String>,
    pub name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the upload is larger than the limit of {limit} bytes"),
    )
}

/// Reads an upload of at most `limit` bytes.
pub async fn read_upload(req: Request, limit: u64) -> ApiResult<Upload> {
    let q: HashMap<String, String> =
        req.uri().query().map(|s| url::form_urlencoded::parse(s.as_bytes()).into_owned().collect()).unwrap_or_default();
    let headers: HeaderMap = req.headers().clone();
    if let Some(len) =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok())
    {
        if len > limit {
            return Err(too_large(limit));
        }
    }
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let mut up = Upload {
        asset_type: q.get("type").or_else(|| q.get("asset_type")).cloned(),
        name: q.get("name").cloned(),
        content_type: None,
        bytes: Bytes::new(),
    };
    if ct.starts_with("multipart/form-data") {
        let mut mp =
            Multipart::from_request(req, &()).await.map_err(|e| ApiError::bad_request("bad_body", e.body_text()))?;
        let mut got_file = false;
        while let Some(field) = mp.next_field().await.map_err(|e| multipart_error(e, limit))? {
            let name = field.name().unwrap_or("").to_string();
            match name.as_str() {
                "type" | "asset_type" => {
                    up.asset_type = Some(field.text().await.map_err(|e| multipart_error(e, limit))?)
                }
                "name" => up.name = Some(field.text().await.map_err(|e| multipart_error(e, limit))?),
                "file" => {
                    if up.name.is_none() {
                        up.name = field.file_name().map(str::to_string);
                    }
                    up.content_type = field.content_type().map(str::to_string);
                    up.bytes = field.bytes().await.map_err(|e| multipart_error(e, limit))?;
                    got_file = true;
                }
                _ => {}
            }
        }
        if !got_file {
            return Err(ApiError::bad_request("missing_file", "file: the multipart body has no `file` part"));
        }
    } else {
        up.content_type = Some(ct).filter(|c| !c.is_empty());
        up.bytes = Bytes::from_request(req, &()).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large(limit)
            } else {
                ApiError::bad_request("bad_body", e.body_text())
            }
        })?;
    }
    if up.bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    if up.bytes.is_empty() {
        return Err(ApiError::bad_request("empty_upload", "file: the upload is empty"));
    }
    Ok(up)
}

fn multipart_error(e: axum::extract::multipart::MultipartError, limit: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(limit)
    } else {
        ApiError::bad_request("bad_body", e.body_text())
    }
}

/// The asset's API view.
pub fn asset_json(state: &AppState, a: &Asset) -> Value {
    json!({
        "asset_id": a.id,
        "asset_type": a.asset_type,
        "name": a.name,
        "content_type": a.content_type,
        "size": a.size,
        "job_id": a.job_id,
        "meta": a.meta,
        "create_time": iso_time(a.created_at),
        "url": state.signer.url(&format!("assets/{}", a.id), now_secs()),
    })
}

/// Stores `bytes` as a new asset of the project.
pub async fn store_asset(
    state: &AppState,
    project_id: &str,
    asset_type: &str,
    name: &str,
    content_type: &str,
    bytes: Bytes,
    meta: Value,
) -> ApiResult<Asset> {
    let id = doppel_store::new_id();
    let key = format!("projects/{project_id}/assets/{id}");
    let size = bytes.len() as i64;
    state.blobs.put(&key, bytes).await?;
    let new = NewAsset {
        id,
        project_id: project_id.to_string(),
        asset_type: asset_type.to_string(),
        name: name.to_string(),
        content_type: content_type.to_string(),
        size,
        blob_key: key.clone(),
        job_id: None,
        meta,
    };
    match state.db.create_asset(&new).await {
        Ok(a) => Ok(a),
        Err(e) => {
            let _ = state.blobs.delete(&key).await;
            Err(e.into())
        }
    }
}

/// Checks uploaded media before it is kept: it must decode as its type says, within the size limits.
/// Returns facts for the asset's `meta`.
pub async fn check_media(state: &AppState, asset_type: &str, bytes: &Bytes) -> ApiResult<Value> {
    let bad = |m: String| ApiError::bad_request("invalid_media", format!("file: {m}"));
    match asset_type {
        "FONT" => {
            let magic = bytes.get(..4).unwrap_or(&[]);
            if [&[0, 1, 0, 0][..], b"OTTO", b"true", b"ttcf", b"wOFF", b"wOF2"].contains(&magic) {
                Ok(json!({}))
            } else {
                Err(bad("not a TrueType/OpenType font".into()))
            }
        }
        "HUMAN_MODEL_2D" => {
            let b = bytes.clone();
            let a = tokio::task::spawn_blocking(move || doppel_avatar::Avatar::from_zip("package", &b))
                .await
                .map_err(ApiError::internal)?
                .map_err(|e| bad(e.to_string()))?;
            Ok(catalog::info_of(&a))
        }
        _ => {
            let dir = state.config.data_dir.join("tmp");
            tokio::fs::create_dir_all(&dir).await.map_err(ApiError::internal)?;
            let file = dir.join(format!("upload-{}", doppel_store::new_id()));
            tokio::fs::write(&file, bytes).await.map_err(ApiError::internal)?;
            let kind = asset_type.to_string();
            let f2 = file.clone();
            let r = tokio::task::spawn_blocking(move || probe_media(&kind, &f2)).await.map_err(ApiError::internal)?;
            let _ = tokio::fs::remove_file(&file).await;
            r.map_err(bad)
        }
    }
}

/// Refuses a picture larger than [`MAX_IMAGE_SIDE`] a side or [`MAX_IMAGE_PIXELS`] in all.
fn check_picture_size(width: u32, height: u32) -> Result<(), String> {
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || width as u64 * height as u64 > MAX_IMAGE_PIXELS {
        return Err(format!(
            "{width}x{height} pixels is too large: the limit is {MAX_IMAGE_SIDE} per side and {MAX_IMAGE_PIXELS} in all"
        ));
    }
    Ok(())
}

/// The picture size a PNG, GIF or JPEG file's header declares, read without decoding anything. (FFmpeg refuses to
/// open a picture beyond its own size limit and then reports no size at all.)
fn declared_image_size(file: &std::path::Path) -> Option<(u32, u32)> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(file).ok()?.take(256 * 1024).read_to_end(&mut head).ok()?;
    let be16 = |i: usize| head.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]) as u32);
    let be32 = |i: usize| head.get(i..i + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    if head.starts_with(b"\x89PNG\r\n\x1a\n") && head.get(12..16) == Some(b"IHDR") {
        return Some((be32(16)?, be32(20)?));
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        let le16 = |i: usize| head.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as u32);
        return Some((le16(6)?, le16(8)?));
    }
    if head.starts_with(&[0xFF, 0xD8]) {
        // Segments up to the first start-of-frame: FF Cn, length, precision, height, width.
        let mut i = 2;
        while head.get(i) == Some(&0xFF) {
            let marker = *head.get(i + 1)?;
            match marker {
                0xFF => i += 1,
                0x01 | 0xD0..=0xD7 => i += 2,
                0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => return Some((be16(i + 7)?, be16(i + 5)?)),
                _ => i += 2 + be16(i + 2)? as usize,
            }
        }
    }
    None
}

/// Probes a media file for `kind` (IMAGE, VIDEO, AUDIO, MUSIC). Blocking.
pub fn probe_media(kind: &str, file: &std::path::Path) -> Result<Value, String> {
    use doppel_media::StreamKind;
    if matches!(kind, "IMAGE" | "VIDEO") {
        if let Some((w, h)) = declared_image_size(file) {
            check_picture_size(w, h)?;
        }
    }
    let info = doppel_media::probe(file).map_err(|e| format!("cannot be read as media: {e}"))?;
    match kind {
        "IMAGE" | "VIDEO" => {
            let v = info.stream(StreamKind::Video).ok_or("has no picture")?;
            check_picture_size(v.width, v.height)?;
            if v.width == 0 || v.height == 0 {
                return Err("has no picture size".into());
            }
            if kind == "IMAGE" {
                doppel_media::image::read_image(file).map_err(|e| format!("does not decode as an image: {e}"))?;
                Ok(json!({"width": v.width, "height": v.height}))
            } else {
                Ok(json!({"width": v.width, "height": v.height, "duration_ms": v.duration_ms, "fps": v.fps}))
            }
        }
        _ => {
            let a = info.stream(StreamKind::Audio).ok_or("has no audio")?;
            Ok(json!({"duration_ms": a.duration_ms, "sample_rate": a.sample_rate, "channels": a.channels}))
        }
    }
}

async fn upload_asset(State(state): State<AppState>, caller: Caller, req: Request) -> ApiResult<Response> {
    let up = read_upload(req, state.config.max_upload_bytes).await?;
    let asset_type = up.asset_type.clone().map(|t| t.to_ascii_uppercase()).ok_or_else(|| {
        ApiError::bad_request("missing_type", format!("type: required, one of {}", ASSET_TYPES.join(", ")))
    })?;
    if !ASSET_TYPES.contains(&asset_type.as_str()) {
        return Err(ApiError::bad_request(
            "invalid_type",
            format!("type: {asset_type:?} is not an asset type (allowed: {})", ASSET_TYPES.join(", ")),
        ));
    }
    let name = up.name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| asset_type.to_ascii_lowercase());
    if name.chars().count() > 256 {
        return Err(ApiError::bad_request("invalid_name", "name: is too long, the maximum is 256 characters"));
    }
    let meta = check_media(&state, &asset_type, &up.bytes).await?;
    let ct = up.content_type.clone().unwrap_or_else(|| "application/octet-stream".into());
    let asset = store_asset(&state, &caller.project_id, &asset_type, &name, &ct, up.bytes, meta).await?;
    Ok((StatusCode::CREATED, Json(asset_json(&state, &asset))).into_response())
}

async fn list_assets(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let (offset, limit) = paging(&q)?;
    let asset_type =
        q.get("type").or_else(|| q.get("asset_type")).filter(|s| !s.is_empty()).map(|s| s.to_ascii_uppercase());
    let f = AssetFilter { offset, limit, asset_type, name: q.get("name").filter(|s| !s.is_empty()).cloned() };
    let (count, assets) = state.db.list_assets(&caller.project_id, &f).await?;
    let list: Vec<Value> = assets.iter().map(|a| asset_json(&state, a)).collect();
    Ok(Json(json!({"count": count, "assets": list})))
}

async fn show_asset(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let a = state.db.asset(&caller.project_id, &id).await?.ok_or_else(|| ApiError::not_found("asset", &id))?;
    Ok(Json(asset_json(&state, &a)))
}

async fn delete_asset(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    if state.db.asset(&caller.project_id, &id).await?.is_none() {
        return Err(ApiError::not_found("asset", &id));
    }
    if state.db.asset_in_use(&id).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "asset_in_use",
            format!("asset {id:?} is the package of a digital human; delete the digital human instead"),
        ));
    }
    if let Some(a) = state.db.delete_asset(&caller.project_id, &id).await? {
        let _ = state.blobs.delete(&a.blob_key).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn asset_content(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Response> {
    let a = state.db.asset(&caller.project_id, &id).await?.ok_or_else(|| ApiError::not_found("asset", &id))?;
    crate::files::stream_blob(&state, &a.blob_key, &a.content_type, Some(&a.name)).await
}
