//! The native live-stream API under `/api/v1/streams`, WHEP, the WebSocket PCM drive, and the viewer page at
//! `/streams/{task_id}/view`.
//!
//! Who may call: the project's API key (`Authorization: Bearer <api_key>`) for everything; a stream's viewer
//! token (the same header, or `?token=`) for that stream's watching, drives, interrupts, actions and status,
//! not for stopping it. The WebSocket takes the token `DriveByWsStream` (or a PCM drive here) handed out.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use doppel_live::{LiveCodec, PcmFeed, Session, SessionError};
use doppel_speech::VoiceSettings;
use doppel_store::StreamRow;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{CreateError, StreamSpec};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Routes under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/streams", post(create_stream).get(list_streams))
        .route("/streams/{id}", get(show_stream).delete(stop_stream))
        .route("/streams/{id}/stop", post(stop_stream))
        .route("/streams/{id}/drives", post(drive).get(list_drives))
        .route("/streams/{id}/drives/{drive_id}", get(show_drive))
        .route("/streams/{id}/interrupt", post(interrupt))
        .route("/streams/{id}/actions", post(action))
        .route("/streams/{id}/ws", get(pcm_socket))
        .route("/streams/{id}/whep", post(whep_offer).options(whep_options))
        .route("/streams/{id}/whep/{viewer}", axum::routing::delete(whep_delete).options(whep_options))
}

/// Routes outside `/api/v1`: the viewer page.
pub fn page_routes() -> Router<AppState> {
    Router::new().route("/streams/{id}/view", get(viewer_page))
}

async fn viewer_page() -> Html<&'static str> {
    Html(include_str!("viewer.html"))
}

/// A native create request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    digital_human_id: String,
    voice_id: Option<String>,
    background_color: Option<String>,
    background_image: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    bitrate: Option<u32>,
    room_id: Option<String>,
    stream_id: Option<String>,
    ttl: Option<u64>,
    max_idle_time: Option<u64>,
    callback_url: Option<String>,
    rtmp_url: Option<String>,
}

/// The native answer to a [`CreateError`].
pub fn create_error(e: CreateError) -> ApiError {
    match e {
        CreateError::Invalid { field, message } => {
            ApiError::bad_request("invalid_stream", format!("{field}: {message}"))
        }
        CreateError::HumanNotFound(id) => ApiError::bad_request(
            "invalid_stream",
            format!("digital_human_id: digital human {id:?} does not exist (see GET /api/v1/digital-humans)"),
        ),
        CreateError::VoiceNotFound(id) => ApiError::bad_request(
            "invalid_stream",
            format!("voice_id: voice {id:?} does not exist (see GET /api/v1/voices)"),
        ),
        CreateError::Limit(n) => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "stream_limit",
            format!("the project already runs {n} streams, its limit (live.max_streams_per_project); stop one first"),
        ),
        CreateError::StreamIdTaken(id) => ApiError::new(
            StatusCode::CONFLICT,
            "stream_id_taken",
            format!("stream_id: {id:?} is in use by a running stream"),
        ),
        CreateError::Internal(m) => ApiError::internal(m),
    }
}

/// The native answer to a [`SessionError`].
pub fn session_error(e: SessionError) -> ApiError {
    match e {
        SessionError::NotStarted => ApiError::new(StatusCode::CONFLICT, "stream_not_started", e.to_string()),
        SessionError::Stopped => ApiError::new(StatusCode::CONFLICT, "stream_stopped", e.to_string()),
        SessionError::Invalid { .. } => ApiError::bad_request("invalid_drive", e.to_string()),
    }
}

fn short_id() -> String {
    doppel_store::new_id()[..12].to_string()
}

async fn create_stream(State(state): State<AppState>, caller: Caller, req: Request) -> ApiResult<Response> {
    let body = crate::api::json_body(req).await?;
    let req: CreateRequest =
        serde_json::from_value(body).map_err(|e| ApiError::bad_request("invalid_stream", e.to_string()))?;
    let spec = StreamSpec {
        digital_human_id: req.digital_human_id,
        voice_id: req.voice_id.filter(|v| !v.is_empty()),
        background_color: req.background_color.filter(|v| !v.is_empty()),
        background_image: req.background_image.filter(|v| !v.is_empty()),
        background_file: None,
        width: req.width.unwrap_or(720),
        height: req.height.unwrap_or(1280),
        bitrate: req.bitrate.unwrap_or(2_000_000),
        room_id: req.room_id.unwrap_or_else(|| format!("room-{}", short_id())),
        stream_id: req.stream_id.unwrap_or_else(|| format!("stream-{}", short_id())),
        ttl: req.ttl.unwrap_or(86_400),
        max_idle_time: req.max_idle_time.unwrap_or(900),
        callback_url: req.callback_url.filter(|v| !v.is_empty()),
        rtmp_url: req.rtmp_url.filter(|v| !v.is_empty()),
    };
    super::check_spec(&spec, str::to_string).map_err(create_error)?;
    let (row, token) = super::create(&state, &caller.project_id, spec).await.map_err(create_error)?;
    let session = state.live.session(&row.id);
    let mut v = super::stream_json(&row, session.as_deref());
    merge(&mut v, super::watch_urls(&state, &row.id, Some(&token)));
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

async fn list_streams(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let live_only = q.get("live").is_some_and(|v| v == "true" || v == "1");
    let rows = state.db.streams(&caller.project_id, live_only, 100).await?;
    let items: Vec<Value> = rows.iter().map(|r| super::stream_json(r, state.live.session(&r.id).as_deref())).collect();
    Ok(Json(json!({"streams": items})))
}

/// A stream the caller may use (with the project's API key or the stream's viewer token).
struct Access {
    row: StreamRow,
}

impl axum::extract::FromRequestParts<AppState> for Access {
    type Rejection = ApiError;

    /// The stream of the path's `{id}`, checked against the caller's key or token.
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> ApiResult<Access> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request("invalid_path", e.to_string()))?;
        let Query(q) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request("invalid_parameter", e.to_string()))?;
        let id = params.get("id").map(String::as_str).unwrap_or_default();
        access(state, &parts.headers, q.get("token"), id).await
    }
}

/// Checks the caller's key or token against stream `id`.
async fn access(state: &AppState, headers: &HeaderMap, query_token: Option<&String>, id: &str) -> ApiResult<Access> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let Some(key) = bearer.or(query_token.map(String::as_str)) else {
        return Err(ApiError::unauthorized("missing Authorization: Bearer <api_key or viewer_token>"));
    };
    if let Some(creds) = state.db.credentials_by_api_key(key).await? {
        let row = state.db.stream(&creds.project_id, id).await?.ok_or_else(|| ApiError::not_found("stream", id))?;
        return Ok(Access { row });
    }
    match state.db.stream_any_project(id).await? {
        Some(row) if super::token_matches(&row, key) => Ok(Access { row }),
        _ => Err(ApiError::unauthorized("unknown API key, or not this stream's viewer token")),
    }
}

/// The running session of a stream, or why there is none.
fn running(state: &AppState, row: &StreamRow) -> ApiResult<Arc<Session>> {
    match state.live.session(&row.id) {
        Some(s) => Ok(s),
        None if row.status == 2 || row.status == 5 => Err(session_error(SessionError::Stopped)),
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "stream_elsewhere",
            "this stream runs in another doppel process; send stream calls to that server",
        )),
    }
}

async fn show_stream(State(state): State<AppState>, a: Access) -> ApiResult<Json<Value>> {
    let id = &a.row.id;
    let mut v = super::stream_json(&a.row, state.live.session(id).as_deref());
    merge(&mut v, super::watch_urls(&state, id, None));
    Ok(Json(v))
}

async fn stop_stream(State(state): State<AppState>, Path(id): Path<String>, caller: Caller) -> ApiResult<Json<Value>> {
    let row = state.db.stream(&caller.project_id, &id).await?.ok_or_else(|| ApiError::not_found("stream", &id))?;
    if row.status != 2 && row.status != 5 {
        super::stop(&state, &row, "stopped by the API").await?;
    }
    let row = state.db.stream(&caller.project_id, &id).await?.unwrap_or(row);
    Ok(Json(super::stream_json(&row, state.live.session(&id).as_deref())))
}

/// A native drive request: exactly one of `text`, `audio_url`, `audio_asset_id`, `pcm`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DriveRequest {
    text: Option<String>,
    audio_url: Option<String>,
    audio_asset_id: Option<String>,
    /// A WebSocket PCM drive: the answer has the socket's URL.
    #[serde(default)]
    pcm: bool,
    voice_id: Option<String>,
    speed: Option<u32>,
    pitch: Option<u32>,
    volume: Option<u32>,
    /// Interrupt what plays and drop the queue (ZEGO's InterruptMode 1).
    #[serde(default)]
    interrupt: bool,
}

/// A drive as the native API shows it: `status` is ZEGO's number (1 queued, 2 driving, 3 failed, 4 finished,
/// 5 interrupted), `status_name` its name.
pub fn drive_json(d: &doppel_live::DriveInfo) -> Value {
    let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
    v["status_name"] = v["status"].clone();
    v["status"] = json!(d.status.code());
    v
}

/// Checks a drive's text: not empty, at most [`super::MAX_DRIVE_TEXT`] characters.
pub fn check_text(text: &str) -> Result<(), String> {
    let n = text.chars().count();
    if text.trim().is_empty() {
        return Err("is empty".into());
    }
    if n > super::MAX_DRIVE_TEXT {
        return Err(format!("is {n} characters; the limit is {}", super::MAX_DRIVE_TEXT));
    }
    Ok(())
}

async fn drive(State(state): State<AppState>, a: Access, req: Request) -> ApiResult<Response> {
    let body = crate::api::json_body(req).await?;
    let id = a.row.id.clone();
    let req: DriveRequest =
        serde_json::from_value(body).map_err(|e| ApiError::bad_request("invalid_drive", e.to_string()))?;
    let session = running(&state, &a.row)?;
    let given = [req.text.is_some(), req.audio_url.is_some(), req.audio_asset_id.is_some(), req.pcm];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ApiError::bad_request(
            "invalid_drive",
            "give exactly one of text, audio_url, audio_asset_id or pcm: true",
        ));
    }
    if req.pcm {
        let (drive_id, token) = state.live.reserve_ws(&session).map_err(session_error)?;
        let ws = state.signer.base().replacen("http", "ws", 1);
        return Ok((
            StatusCode::CREATED,
            Json(json!({"drive_id": drive_id, "ws_url": format!("{ws}/api/v1/streams/{id}/ws?Token={token}")})),
        )
            .into_response());
    }
    let drive_id = if let Some(text) = req.text {
        check_text(&text).map_err(|m| ApiError::bad_request("invalid_drive", format!("text: {m}")))?;
        if let Some(v) = &req.voice_id {
            use doppel_speech::Tts;
            if !state.tts.voices().iter().any(|x| x.id.eq_ignore_ascii_case(v)) {
                return Err(ApiError::bad_request("invalid_drive", format!("voice_id: voice {v:?} does not exist")));
            }
        }
        let d = VoiceSettings::default();
        let settings = VoiceSettings {
            speed: req.speed.unwrap_or(d.speed),
            pitch: req.pitch.unwrap_or(d.pitch),
            volume: req.volume.unwrap_or(d.volume),
        };
        session.drive_text(&text, req.voice_id, settings, req.interrupt).map_err(session_error)?
    } else {
        let src = req.audio_url.or(req.audio_asset_id).unwrap_or_default();
        if src.starts_with("http://") || src.starts_with("https://") {
            url::Url::parse(&src)
                .map_err(|e| ApiError::bad_request("invalid_drive", format!("audio_url: {src:?}: {e}")))?;
        } else if state.db.asset(&a.row.project_id, &src).await?.is_none() {
            return Err(ApiError::bad_request(
                "invalid_drive",
                format!("audio_asset_id: {src:?} is neither an http(s) URL nor an asset of this project"),
            ));
        }
        super::drive_audio(&state, session.clone(), &a.row.project_id, src, req.interrupt).map_err(session_error)?
    };
    let info = session.drive(&drive_id).map(|d| drive_json(&d));
    Ok((StatusCode::ACCEPTED, Json(info.unwrap_or_else(|| json!({"drive_id": drive_id})))).into_response())
}

async fn list_drives(State(state): State<AppState>, a: Access) -> ApiResult<Json<Value>> {
    let drives = state.live.session(&a.row.id).map(|s| s.drives()).unwrap_or_default();
    Ok(Json(json!({"drives": drives.iter().map(drive_json).collect::<Vec<_>>()})))
}

async fn show_drive(
    State(state): State<AppState>,
    a: Access,
    Path((_, drive_id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let d = state
        .live
        .session(&a.row.id)
        .and_then(|s| s.drive(&drive_id))
        .ok_or_else(|| ApiError::not_found("drive", &drive_id))?;
    Ok(Json(drive_json(&d)))
}

async fn interrupt(State(state): State<AppState>, a: Access) -> ApiResult<Json<Value>> {
    running(&state, &a.row)?.interrupt().map_err(session_error)?;
    Ok(Json(json!({"interrupted": true})))
}

async fn action(State(state): State<AppState>, a: Access, req: Request) -> ApiResult<Json<Value>> {
    let body = crate::api::json_body(req).await?;
    let name = body.get("action").and_then(Value::as_str).filter(|s| !s.is_empty());
    let name = name.ok_or_else(|| ApiError::bad_request("invalid_action", "action: required (an action name)"))?;
    running(&state, &a.row)?.do_action(name).map_err(|e| match e {
        SessionError::Invalid { .. } => ApiError::bad_request("invalid_action", e.to_string()),
        other => session_error(other),
    })?;
    Ok(Json(json!({"action": name})))
}

// ---------------------------------------------------------------------------------------------------------------
// The WebSocket PCM drive (ZEGO's protocol: Start, binary PCM, Stop).

async fn pcm_socket(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let token = q.get("Token").or_else(|| q.get("token")).map(String::as_str).unwrap_or("");
    if state.live.ticket(token).as_deref() != Some(id.as_str()) {
        return ApiError::unauthorized("Token: not a WebSocket token of this stream (DriveByWsStream hands one out)")
            .into_response();
    }
    let Some(session) = state.live.session(&id) else {
        return session_error(SessionError::Stopped).into_response();
    };
    ws.on_upgrade(move |socket| run_pcm(state, session, socket))
}

fn ws_reply(code: i64, message: &str, action: &str, drive_id: Option<&str>) -> Message {
    let mut v = json!({"Action": action, "Code": code, "Message": message});
    if let Some(d) = drive_id {
        v["DriveId"] = json!(d);
    }
    Message::Text(v.to_string().into())
}

async fn run_pcm(state: AppState, session: Arc<Session>, mut socket: WebSocket) {
    const BAD: i64 = crate::dialect::zego::code::INVALID_PARAMETER;
    let mut feed: Option<PcmFeed> = None;
    while let Some(Ok(msg)) = socket.recv().await {
        let reply = match msg {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                let action = v["Action"].as_str().unwrap_or("");
                let drive_id = v["Payload"]["DriveId"].as_str().unwrap_or("").to_string();
                match action {
                    "Start" => {
                        let rate = v["Payload"]["SampleRate"].as_u64().unwrap_or(16_000) as u32;
                        if let Some(f) = feed.take() {
                            f.finish();
                        }
                        if !state.live.take_reserved(&drive_id) {
                            ws_reply(
                                BAD,
                                "Payload.DriveId: not a drive id DriveByWsStream handed out, or already used",
                                "Start",
                                None,
                            )
                        } else {
                            match PcmFeed::start(session.clone(), rate, Some(drive_id.clone())) {
                                Ok(f) => {
                                    feed = Some(f);
                                    ws_reply(0, "success", "Start", Some(&drive_id))
                                }
                                Err(e) => ws_reply(BAD, &format!("Payload.{e}"), "Start", Some(&drive_id)),
                            }
                        }
                    }
                    "Stop" => match feed.take() {
                        Some(f) if f.drive_id() == drive_id || drive_id.is_empty() => {
                            let id = f.drive_id().to_string();
                            f.finish();
                            ws_reply(0, "success", "Stop", Some(&id))
                        }
                        Some(f) => {
                            let msg =
                                format!("Payload.DriveId: {drive_id:?} is not the drive started ({})", f.drive_id());
                            feed = Some(f);
                            ws_reply(BAD, &msg, "Stop", None)
                        }
                        None => ws_reply(BAD, "no drive was started (send Start first)", "Stop", None),
                    },
                    other => ws_reply(BAD, &format!("Action {other:?} is not Start or Stop"), other, None),
                }
            }
            Message::Binary(b) => match feed.as_mut() {
                Some(f) => {
                    f.push(&b);
                    continue;
                }
                None => ws_reply(BAD, "PCM arrived before Start", "Pcm", None),
            },
            Message::Close(_) => break,
            _ => continue,
        };
        if socket.send(reply).await.is_err() {
            break;
        }
    }
    // A socket that closes without Stop ends its drive with what arrived.
    drop(feed);
}

// ---------------------------------------------------------------------------------------------------------------
// WHEP

fn cors(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, DELETE, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Authorization, Content-Type"));
    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("Location"));
}

async fn whep_options() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    cors(&mut r);
    r.headers_mut().insert("accept-post", HeaderValue::from_static("application/sdp"));
    r
}

async fn whep_offer(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let mut r = match whep_accept(&state, &id, &headers, &q, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    cors(&mut r);
    r
}

async fn whep_accept(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    body: String,
) -> ApiResult<Response> {
    let a = access(state, headers, q.get("token"), id).await?;
    let session = running(state, &a.row)?;
    if session.status() != doppel_live::StreamStatus::Streaming {
        return Err(session_error(if session.status().is_final() {
            SessionError::Stopped
        } else {
            SessionError::NotStarted
        }));
    }
    let prefer = match q.get("codec").map(|c| c.to_ascii_lowercase()) {
        None => None,
        Some(c) if c == "vp8" => Some(LiveCodec::Vp8),
        Some(c) if c == "h264" => Some(LiveCodec::H264),
        Some(c) => return Err(ApiError::bad_request("invalid_offer", format!("codec: {c:?} is not vp8 or h264"))),
    };
    if !body.trim_start().starts_with("v=") {
        return Err(ApiError::bad_request(
            "invalid_offer",
            "the body must be an SDP offer (Content-Type: application/sdp)",
        ));
    }
    let viewer_id = doppel_store::new_id();
    let ip = super::webrtc_ip(state);
    let accepted =
        doppel_live::whep::accept(session.hub().clone(), &body, ip, prefer, viewer_id).await.map_err(|e| match e {
            doppel_live::whep::WhepError::Ended => session_error(SessionError::Stopped),
            doppel_live::whep::WhepError::Socket(..) => ApiError::internal(e),
            other => ApiError::bad_request("invalid_offer", other.to_string()),
        })?;
    let location = format!("/api/v1/streams/{id}/whep/{}", accepted.viewer_id);
    let mut r = (StatusCode::CREATED, accepted.answer).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/sdp"));
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    Ok(r)
}

async fn whep_delete(
    State(state): State<AppState>,
    Path((id, viewer)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let result = async {
        let a = access(&state, &headers, q.get("token"), &id).await?;
        let closed = state.live.session(&a.row.id).is_some_and(|s| s.hub().close_viewer(&viewer));
        if !closed {
            return Err(ApiError::not_found("viewer", &viewer));
        }
        Ok(StatusCode::OK.into_response())
    }
    .await;
    let mut r = result.unwrap_or_else(|e| e.into_response());
    cors(&mut r);
    r
}
