//! ZEGO's stream-task Actions (vendor-apis.md §1.4–1.7, seed 002) over doppel's live streams
//! ([`crate::live`]): `CreateDigitalHumanStreamTask`, `GetDigitalHumanStreamTaskStatus`,
//! `QueryDigitalHumanStreamTasks`, `StopDigitalHumanStreamTask`, `DriveByText`, `DriveByAudio`,
//! `DriveByWsStream`, `InterruptDriveTask`, `DoAction`, `GetDriveStatus`.
//!
//! ZEGO publishes into its RTC rooms; doppel serves the stream itself, so `CreateDigitalHumanStreamTask`'s
//! `Data` has, beside `TaskId`, how to watch: `WhepUrl`, `ViewerToken` and `ViewerUrl`. Also accepted beside
//! ZEGO's fields: `TimbreId` (the stream's default voice), `CallbackUrl` (where EventType 3 and 4 go; ZEGO
//! configures it out of band) and `RtmpUrl` (push the stream there too). `VideoConfig` defaults to 720x1280, which a CPU sustains; sizes are
//! 720x1280, 1280x720, 1080x1920 and 1920x1080.
//!
//! TTS settings map onto doppel's: `SpeechRate` [-500, 500] → speed 100 + rate / 5 (clamped to 50–200),
//! `PitchRate` [-500, 500] → pitch 100 + rate / 10, `Volume` [1, 100] → volume 90 + Volume (50 → 140, normal).

use std::sync::Arc;

use doppel_live::{Session, SessionError, StreamStatus};
use doppel_speech::{Tts, VoiceSettings};
use doppel_store::StreamRow;
use serde_json::{json, Value};

use super::{code, Params, ZegoError, ZegoResult};
use crate::live::{self, CreateError, StreamSpec};
use crate::AppState;

fn create_error(e: CreateError) -> ZegoError {
    match e {
        CreateError::Invalid { field, message } => ZegoError::param(format!("{field}: {message}")),
        CreateError::HumanNotFound(id) => ZegoError::new(
            code::DIGITAL_HUMAN_NOT_FOUND,
            format!("digital human not found: DigitalHumanConfig.DigitalHumanId {id:?} does not exist"),
        ),
        CreateError::VoiceNotFound(id) => {
            ZegoError::new(code::TIMBRE_NOT_FOUND, format!("timbre not found: TimbreId {id:?} does not exist"))
        }
        CreateError::Limit(n) => ZegoError::new(
            code::STREAM_LIMIT,
            format!("stream concurrency limit exceeded: this AppId already runs {n} stream tasks"),
        ),
        CreateError::StreamIdTaken(id) => ZegoError::new(
            code::STREAM_ID_EXISTS,
            format!("stream ID already exists: RTCConfig.StreamId {id:?} is used by a running task"),
        ),
        CreateError::Internal(m) => ZegoError::system(m),
    }
}

fn session_error(e: SessionError) -> ZegoError {
    match e {
        SessionError::NotStarted => {
            ZegoError::new(code::STREAM_NOT_STARTED, "video stream not started yet (the task is initializing)")
        }
        SessionError::Stopped => ZegoError::new(code::STREAM_STOPPED, "video stream already stopped"),
        SessionError::Invalid { field, message } => ZegoError::param(format!("{field}: {message}")),
    }
}

/// `CreateDigitalHumanStreamTask` → `{TaskId, WhepUrl, ViewerToken, ViewerUrl}`.
pub async fn create(state: &AppState, project_id: &str, p: &Params) -> ZegoResult<Value> {
    let dh = p.object("DigitalHumanConfig")?;
    let rtc = p.object("RTCConfig")?;
    let video = p.object("VideoConfig")?;
    let mut background_image = None;
    for a in p.objects("Assets")? {
        let kind = a.int("AssetType", 1, 1, 1)?;
        let url = a.required_string("AssetUrl")?;
        if url.len() > 1024 {
            return Err(ZegoError::param(format!("{} is {} bytes; the limit is 1024", a.name("AssetUrl"), url.len())));
        }
        if kind == 1 && background_image.is_none() {
            background_image = Some(url);
        }
    }
    let spec = StreamSpec {
        digital_human_id: dh.required_string("DigitalHumanId")?,
        voice_id: p.string("TimbreId")?,
        background_color: dh.string("BackgroundColor")?,
        background_image,
        background_file: None,
        width: video.int("Width", 1, 1920, 720)? as u32,
        height: video.int("Height", 1, 2560, 1280)? as u32,
        bitrate: video.int("Bitrate", 100_000, 3_000_000, 3_000_000)? as u32,
        room_id: rtc.required_string("RoomId")?,
        stream_id: rtc.required_string("StreamId")?,
        ttl: p.int("TTL", 10, 86_400, 86_400)? as u64,
        max_idle_time: p.int("MaxIdleTime", 30, 86_400, 900)? as u64,
        callback_url: p.string("CallbackUrl")?,
        rtmp_url: p.string("RtmpUrl")?,
    };
    live::check_spec(&spec, |f| match f {
        "width" | "height" => "VideoConfig.Width/Height".into(),
        "bitrate" => "VideoConfig.Bitrate".into(),
        "ttl" => "TTL".into(),
        "max_idle_time" => "MaxIdleTime".into(),
        "room_id" => "RTCConfig.RoomId".into(),
        "stream_id" => "RTCConfig.StreamId".into(),
        "background_color" => "DigitalHumanConfig.BackgroundColor".into(),
        "callback_url" => "CallbackUrl".into(),
        "rtmp_url" => "RtmpUrl".into(),
        other => other.into(),
    })
    .map_err(create_error)?;
    let (row, token) = live::create(state, project_id, spec).await.map_err(|e| match e {
        CreateError::Invalid { field, message } if field == "background_image" => {
            ZegoError::param(format!("Assets[0].AssetUrl: {message}"))
        }
        other => create_error(other),
    })?;
    let w = live::watch_urls(state, &row.id, Some(&token));
    Ok(json!({
        "TaskId": row.id,
        "WhepUrl": w["whep_url"],
        "ViewerToken": w["viewer_token"],
        "ViewerUrl": w["viewer_url"],
    }))
}

async fn task(state: &AppState, project_id: &str, p: &Params) -> ZegoResult<StreamRow> {
    let id = p.required_string("TaskId")?;
    state
        .db
        .stream(project_id, &id)
        .await?
        .ok_or_else(|| ZegoError::new(code::TASK_NOT_FOUND, format!("task not found: TaskId {id:?} does not exist")))
}

/// The status of a stream now: its session's when this process runs it, else its row's.
fn status_of(state: &AppState, row: &StreamRow) -> i64 {
    live::current_status(row, state.live.session(&row.id).as_deref())
}

/// The running session of a task.
async fn running(state: &AppState, project_id: &str, p: &Params) -> ZegoResult<Arc<Session>> {
    let row = task(state, project_id, p).await?;
    match state.live.session(&row.id) {
        Some(s) => Ok(s),
        None if row.status == 2 || row.status == 5 => Err(session_error(SessionError::Stopped)),
        None => Err(ZegoError::system("the task runs in another doppel process; call that server")),
    }
}

/// `GetDigitalHumanStreamTaskStatus` → `{Status, RoomId, StreamId, FailReason (status 2), CreateTime}`.
pub async fn status(state: &AppState, project_id: &str, p: &Params) -> ZegoResult<Value> {
    let row = task(state, project_id, p).await?;
    let status = status_of(state, &row);
    let mut v = json!({
        "Status": status,
        "RoomId": row.room_id,
        "StreamId": row.stream_id,
        "CreateTime": row.created_at / 1000,
    });
    if status == StreamStatus::InitFailed.code() {
        let reason = state.live.session(&row.id).and_then(|s| s.reason()).or(row.fail_reason.clone());
        v["FailReason"] = json!(reason.unwrap_or_default());
    }
    Ok(v)
}

/// `QueryDigitalHumanStreamTasks` → `{TaskList[]{TaskId, RoomId, StreamId, Status, CreateTime}}` of the tasks
/// initializing or streaming.
pub async fn query(state: &AppState, project_id: &str) -> ZegoResult<Value> {
    let rows = state.db.streams(project_id, true, 1000).await?;
    let list: Vec<Value> = rows
        .iter()
        .map(|r| (r, status_of(state, r)))
        .filter(|(_, s)| *s == 1 || *s == 3)
        .map(|(r, s)| {
            json!({"TaskId": r.id, "RoomId": r.room_id, "StreamId": r.stream_id, "Status": s,
                   "CreateTime": r.created_at / 1000})
        })
        .collect();
    Ok(json!({"TaskList": list}))
}

/// `StopDigitalHumanStreamTask`.
pub async fn stop(state: &AppState, project_id: &str, p: &Params) -> ZegoResult<Value> {
    let row = task(state, project_id, p).await?;
    let status = status_of(state, &row);
    if status == 2 || status == 5 {
        return Err(session_error(SessionError::Stopped));
    }
    live::stop(state, &row, "stopped by StopDigitalHumanStreamTask").await?;
    Ok(json!({}))
}

fn interrupt_mode(p: &Params) -> ZegoResult<bool> {
    Ok(p.int("InterruptMode", 0, 1, 0)? == 1)
}

/// `DriveByText` → `{DriveId}`.
pub async fn drive_text(state: &AppState, project_id: &str, p: &Params) -> ZegoResult<Value> {
    let text = p.required_string("Text")?;
    crate::live::api::check_text(&text).map_err(|m| ZegoError::param(format!("Text {m}")))?;
    let interrupt = interrupt_mode(p)?;
    let tts = p.object("TTSConfig")?;
    let timbre = tts.required_string("TimbreId")?;
    if !state.tts.voices().iter().any(|v| v.id.eq_ignore_ascii_case(&timbre)) {
        return Err(ZegoError::new(
            code::TIMBRE_NOT_FOUND,
            format!("timbre not found: TTSConfig.TimbreId {timbre:?} does not exist (see GetTimbreList)"),
        ));
    }
    let rate = tts.int("SpeechRate", -500, 500, 0)?;
    let pitch = tts.int("PitchRate", -500, 500, 0)?;
    let volume = tts.int("Volume", 1, 100, 50)?;
    let settings = VoiceSettings {
        speed: (100 + rate / 5).clamp(50, 200) as u32,
        pitch: (100 + pitch / 10).clamp(50, 200) as u32,
        volume: (90 + volume) as u32,
    };
    let session = running(state, project_id, p).await?;
    let id = session.drive_text(&text, Some(timbre), settings, interrupt).map_err(session_error)?;
    Ok(json!({"DriveId": id}))
}

/// `DriveByAudio` (`AudioUrl`: an MP3 or WAV URL, or an AUDIO asset id) → `{DriveId}`. The audio is fetched
/// after the answer; one that cannot be fetched or decoded fails the drive (status 3).
pub async fn drive_audio(state: &AppState, project_id: &str, p: &Params) -> ZegoResult<Value> {
    let url = p.required_string("AudioUrl")?;
    let is_url = url::Url::parse(&url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !is_url && state.db.asset(project_id, &url).await?.is_none() {
        return Err(ZegoError::param(format!("AudioUrl {url:?} is neither an http(s) URL nor an asset id")));
    }
    let interrupt = interrupt_mode(p)?;
    let session = running(state, project_id, p).await?;
    let id = live::drive_audio(state, session, project_id, url, interrupt).map_err(session_error)?;
    Ok(json!({"DriveId": id}))
}

/// `DriveByWsStream` → `{DriveId, WssAddress}`: the socket takes `Start` (with this DriveId), binary PCM and
/// `Stop`; starting interrupts what plays and drops the queue.
pub async fn drive_ws(state: &AppState, project_id: &str, p: &Params) -> ZegoResult<Value> {
    let session = running(state, project_id, p).await?;
    let (drive_id, token) = state.live.reserve_ws(&session).map_err(session_error)?;
    let base = state.signer.base().replacen("http", "ws", 1);
    Ok(json!({"DriveId": drive_id, "WssAddress": format!("{base}/api/v1/streams/{}/ws?Token={token}", session.id())}))
}

/// `InterruptDriveTask`: stops the playing drive and drops the queued ones.
pub async fn interrupt(state: &AppState, project_id: &str, p: &Params) -> ZegoResult<Value> {
    running(state, project_id, p).await?.interrupt().map_err(session_error)?;
    Ok(json!({}))
}

/// `DoAction` (`Action`: one of `GetDigitalHumanInfo`'s actions).
pub async fn do_action(state: &AppState, project_id: &str, p: &Params) -> ZegoResult<Value> {
    let action = p.required_string("Action")?;
    running(state, project_id, p).await?.do_action(&action).map_err(session_error)?;
    Ok(json!({}))
}

/// `GetDriveStatus` (`TaskId`, optionally `DriveId`) → `{DriveList[]{DriveId, Status}}`.
pub async fn drive_status(state: &AppState, project_id: &str, p: &Params) -> ZegoResult<Value> {
    let row = task(state, project_id, p).await?;
    let only = p.string("DriveId")?;
    let drives = state.live.session(&row.id).map(|s| s.drives()).unwrap_or_default();
    let list: Vec<Value> = drives
        .iter()
        .filter(|d| only.as_ref().is_none_or(|o| *o == d.drive_id))
        .map(|d| json!({"DriveId": d.drive_id, "Status": d.status.code()}))
        .collect();
    if let (Some(o), true) = (&only, list.is_empty()) {
        return Err(ZegoError::param(format!("DriveId {o:?} is not a drive of this task")));
    }
    Ok(json!({"DriveList": list}))
}
