//! Live streams in the server: the sessions this process runs ([`Live`]), creating and resuming them, their
//! rows and callbacks, and audio drives from URLs and assets. Both APIs build on this: the native one in
//! [`api`] (with WHEP, the WebSocket PCM drive and the viewer page) and ZEGO's stream Actions in
//! [`crate::dialect::zego`].
//!
//! Invariants:
//! * a stream's row says what was asked (`config`, a [`StreamSpec`]) and its status; its session (renderer,
//!   viewers) lives in the process named by the row's `owner`, which renews its hold every
//!   [`HEARTBEAT`]. A hold not renewed for [`TAKEOVER_AFTER`] is taken over by any server process, which runs
//!   the stream again with what the row says (its TTL still counted from creation). So a crash loses no
//!   stream; viewers reconnect.
//! * every status change of a stream reaches its row in order (one task per stream applies them), and the
//!   callback URL, when given, hears each one (ZEGO's `EventType` 3 and 4, signed as ZEGO signs callbacks).
//! * a viewer token (returned once, at creation; only its hash is stored) opens one stream to watch and drive.

pub mod api;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doppel_live::{Event, Session, SessionConfig, StreamStatus};
use doppel_render::live::{LiveBackground, LiveSpec};
use doppel_store::{CreateRefusal, NewStream, StreamRow};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

use crate::AppState;

/// How often a process renews its hold on its streams.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// A stream whose owner has not renewed its hold for this long is run again by another process.
pub const TAKEOVER_AFTER: Duration = Duration::from_secs(20);
/// How long a stopped stream's drives stay queryable in this process.
const KEEP_ENDED: Duration = Duration::from_secs(3600);

/// Sizes a stream may have.
pub const SIZES: [(u32, u32); 4] = [(720, 1280), (1280, 720), (1080, 1920), (1920, 1080)];
/// Bitrate range (bits per second), as ZEGO documents.
pub const BITRATE_RANGE: (u32, u32) = (100_000, 3_000_000);
/// TTL range (seconds).
pub const TTL_RANGE: (u64, u64) = (10, 86_400);
/// MaxIdleTime range (seconds).
pub const MAX_IDLE_RANGE: (u64, u64) = (30, 86_400);
/// Longest RoomId or StreamId, bytes.
pub const MAX_ID_BYTES: usize = 128;
/// Longest text of a text drive, characters (ZEGO's limit).
pub const MAX_DRIVE_TEXT: usize = 1800;

/// What a stream was asked to be (stored as the row's `config`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreamSpec {
    pub digital_human_id: String,
    pub voice_id: Option<String>,
    /// `#RRGGBB`.
    pub background_color: Option<String>,
    /// An IMAGE asset id or an http(s) URL, as given.
    pub background_image: Option<String>,
    /// Where the background image was put (set when the stream is created).
    #[serde(default)]
    pub background_file: Option<PathBuf>,
    pub width: u32,
    pub height: u32,
    /// Bits per second.
    pub bitrate: u32,
    pub room_id: String,
    pub stream_id: String,
    /// Seconds.
    pub ttl: u64,
    /// Seconds.
    pub max_idle_time: u64,
    pub callback_url: Option<String>,
    /// Also push the stream here (`rtmp://` or `rtmps://`).
    #[serde(default)]
    pub rtmp_url: Option<String>,
}

/// Why a stream was not created; each API answers it in its own dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateError {
    Invalid { field: String, message: String },
    HumanNotFound(String),
    VoiceNotFound(String),
    Limit(i64),
    StreamIdTaken(String),
    Internal(String),
}

impl From<crate::error::ApiError> for CreateError {
    fn from(e: crate::error::ApiError) -> CreateError {
        CreateError::Internal(e.message)
    }
}

impl From<doppel_store::Error> for CreateError {
    fn from(e: doppel_store::Error) -> CreateError {
        CreateError::Internal(e.to_string())
    }
}

/// Checks the parts of a spec every API shares; `name` turns a spec field into the caller's field name.
pub fn check_spec(spec: &StreamSpec, name: impl Fn(&str) -> String) -> Result<(), CreateError> {
    let invalid = |f: &str, message: String| Err(CreateError::Invalid { field: name(f), message });
    if !SIZES.contains(&(spec.width, spec.height)) {
        let sizes: Vec<String> = SIZES.iter().map(|(w, h)| format!("{w}x{h}")).collect();
        return invalid(
            "width",
            format!("{}x{} is not a stream size (one of {})", spec.width, spec.height, sizes.join(", ")),
        );
    }
    if !(BITRATE_RANGE.0..=BITRATE_RANGE.1).contains(&spec.bitrate) {
        return invalid(
            "bitrate",
            format!("{} is out of range [{}, {}] bits per second", spec.bitrate, BITRATE_RANGE.0, BITRATE_RANGE.1),
        );
    }
    if !(TTL_RANGE.0..=TTL_RANGE.1).contains(&spec.ttl) {
        return invalid("ttl", format!("{} is out of range [{}, {}] seconds", spec.ttl, TTL_RANGE.0, TTL_RANGE.1));
    }
    if !(MAX_IDLE_RANGE.0..=MAX_IDLE_RANGE.1).contains(&spec.max_idle_time) {
        return invalid(
            "max_idle_time",
            format!("{} is out of range [{}, {}] seconds", spec.max_idle_time, MAX_IDLE_RANGE.0, MAX_IDLE_RANGE.1),
        );
    }
    for (f, v) in [("room_id", &spec.room_id), ("stream_id", &spec.stream_id)] {
        if v.is_empty() || v.len() > MAX_ID_BYTES {
            return invalid(f, format!("must be 1 to {MAX_ID_BYTES} bytes (it is {})", v.len()));
        }
    }
    if !spec.stream_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return invalid("stream_id", format!("{:?} may hold only 0-9, A-Z, a-z, _ and -", spec.stream_id));
    }
    if let Some(c) = &spec.background_color {
        if doppel_render::subtitles::parse_hex_color(c).is_none() {
            return invalid("background_color", format!("{c:?} is not a colour (#RRGGBB)"));
        }
    }
    if let Some(u) = &spec.rtmp_url {
        let ok = url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "rtmp" | "rtmps") && p.host().is_some());
        if !ok {
            return invalid("rtmp_url", format!("{u:?} is not an rtmp:// or rtmps:// URL"));
        }
    }
    if let Some(u) = &spec.callback_url {
        let ok = url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some());
        if !ok {
            return invalid("callback_url", format!("{u:?} is not an http(s) URL"));
        }
    }
    Ok(())
}

/// A stream this process runs (or ran).
#[derive(Debug, Clone)]
struct Running {
    session: Arc<Session>,
    ended: Option<Instant>,
}

/// The live streams of this process.
#[derive(Debug)]
pub struct Live {
    /// This process's name in the rows it owns.
    pub owner: String,
    running: Mutex<HashMap<String, Running>>,
    /// Drive ids handed out by `DriveByWsStream`, not yet started.
    reserved: Mutex<HashSet<String>>,
    /// WebSocket tokens: token → stream.
    tickets: Mutex<HashMap<String, String>>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            owner: doppel_store::new_id(),
            running: Mutex::new(HashMap::new()),
            reserved: Mutex::new(HashSet::new()),
            tickets: Mutex::new(HashMap::new()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Live {
    /// The session of stream `id` when this process runs (or recently ran) it.
    pub fn session(&self, id: &str) -> Option<Arc<Session>> {
        lock(&self.running).get(id).map(|r| r.session.clone())
    }

    /// Streams this process runs now.
    pub fn running_count(&self) -> usize {
        lock(&self.running).values().filter(|r| !r.session.status().is_final()).count()
    }

    /// Hands out a drive id for a WebSocket drive and a token for the socket.
    pub fn reserve_ws(&self, session: &Session) -> Result<(String, String), doppel_live::SessionError> {
        let drive_id = session.reserve_drive_id()?;
        lock(&self.reserved).insert(drive_id.clone());
        let token = {
            let mut tickets = lock(&self.tickets);
            let existing = tickets.iter().find(|(_, s)| *s == session.id()).map(|(t, _)| t.clone());
            existing.unwrap_or_else(|| {
                let t = hex::encode(rand::random::<[u8; 16]>());
                tickets.insert(t.clone(), session.id().to_string());
                t
            })
        };
        Ok((drive_id, token))
    }

    /// The stream a WebSocket token opens.
    pub fn ticket(&self, token: &str) -> Option<String> {
        lock(&self.tickets).get(token).cloned()
    }

    /// Takes a reserved drive id (each starts one drive).
    pub fn take_reserved(&self, drive_id: &str) -> bool {
        lock(&self.reserved).remove(drive_id)
    }

    fn forget_ended(&self) {
        let mut running = lock(&self.running);
        let now = Instant::now();
        for r in running.values_mut() {
            if r.ended.is_none() && r.session.status().is_final() {
                r.ended = Some(now);
            }
        }
        let gone: Vec<String> = running
            .iter()
            .filter(|(_, r)| r.ended.is_some_and(|t| now.duration_since(t) > KEEP_ENDED))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &gone {
            running.remove(k);
        }
        drop(running);
        lock(&self.tickets).retain(|_, s| !gone.contains(s));
    }
}

/// What a viewer needs: the WHEP URL, the token, the viewer page.
pub fn watch_urls(state: &AppState, task_id: &str, token: Option<&str>) -> Value {
    let base = state.signer.base();
    let mut v = json!({
        "whep_url": format!("{base}/api/v1/streams/{task_id}/whep"),
        "viewer_url": match token {
            Some(t) => format!("{base}/streams/{task_id}/view?token={t}"),
            None => format!("{base}/streams/{task_id}/view"),
        },
    });
    if let Some(t) = token {
        v["viewer_token"] = json!(t);
    }
    v
}

/// The hash a viewer token is stored as.
pub fn token_hash(token: &str) -> String {
    doppel_store::sha256_hex(&format!("doppel-viewer:{token}"))
}

/// Whether `token` is stream `row`'s viewer token.
pub fn token_matches(row: &StreamRow, token: &str) -> bool {
    let h = token_hash(token);
    crate::dialect::constant_time_eq(h.as_bytes(), row.viewer_token_hash.as_bytes())
}

/// The address WebRTC media binds to and advertises.
pub fn webrtc_ip(state: &AppState) -> IpAddr {
    if let Some(ip) = state.config.live.webrtc_ip {
        return ip;
    }
    let listen = state.config.listen.ip();
    if !listen.is_unspecified() {
        return listen;
    }
    // The address of the default route (connecting a UDP socket sends nothing).
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|_| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

/// Creates a stream: checks the digital human, voice and background, stores the row (within the project's
/// limit and StreamId uniqueness) and starts the session. Returns the row and the viewer token.
pub async fn create(
    state: &AppState,
    project_id: &str,
    mut spec: StreamSpec,
) -> Result<(StreamRow, String), CreateError> {
    if crate::catalog::human(state, project_id, &spec.digital_human_id).await?.is_none() {
        return Err(CreateError::HumanNotFound(spec.digital_human_id.clone()));
    }
    if let Some(v) = &spec.voice_id {
        use doppel_speech::Tts;
        if !state.tts.voices().iter().any(|x| x.id.eq_ignore_ascii_case(v)) {
            return Err(CreateError::VoiceNotFound(v.clone()));
        }
    }
    if let Some(u) = &spec.rtmp_url {
        check_push_target(state, u)
            .await
            .map_err(|message| CreateError::Invalid { field: "rtmp_url".into(), message })?;
    }
    let id = doppel_store::new_id();
    if let Some(src) = spec.background_image.clone() {
        let file = fetch_to_file(state, project_id, &src, &format!("live-{id}-background"), "IMAGE")
            .await
            .map_err(|message| CreateError::Invalid { field: "background_image".into(), message })?;
        spec.background_file = Some(file);
    }
    let token = hex::encode(rand::random::<[u8; 24]>());
    let config = serde_json::to_value(&spec).map_err(|e| CreateError::Internal(e.to_string()))?;
    let new = NewStream {
        id: &id,
        project_id,
        room_id: &spec.room_id,
        stream_id: &spec.stream_id,
        config: &config,
        viewer_token_hash: &token_hash(&token),
        owner: &state.live.owner,
    };
    let row = match state.db.create_stream(&new, state.config.live.max_streams_per_project).await? {
        Ok(row) => row,
        Err(CreateRefusal::Limit(n)) => return Err(CreateError::Limit(n)),
        Err(CreateRefusal::StreamIdTaken) => return Err(CreateError::StreamIdTaken(spec.stream_id.clone())),
    };
    run(state, &row, spec).await;
    Ok((row, token))
}

/// An RTMP target obeys the URL fetch policy: its host must resolve to public addresses unless private ones are
/// allowed (`[fetch] allow_private`).
async fn check_push_target(state: &AppState, u: &str) -> Result<(), String> {
    if state.config.fetch.allow_private {
        return Ok(());
    }
    let parsed = url::Url::parse(u).map_err(|e| e.to_string())?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    let port = parsed.port().unwrap_or(1935);
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("{host}: cannot be resolved: {e}"))?
        .collect();
    if addrs.is_empty() || addrs.iter().any(|a| !crate::fetch::is_public(a.ip())) {
        return Err(format!("{host} is not a public address (the URL fetch policy allows only those)"));
    }
    Ok(())
}

/// Starts the session of `row` in this process.
async fn run(state: &AppState, row: &StreamRow, spec: StreamSpec) {
    let avatars = crate::catalog::avatars_for(state, &row.project_id, Some(&spec.digital_human_id)).await;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let elapsed = Duration::from_millis((doppel_store::now_ms() - row.created_at).max(0) as u64);
    let config = SessionConfig {
        id: row.id.clone(),
        ttl: Duration::from_secs(spec.ttl).saturating_sub(elapsed),
        max_idle: Duration::from_secs(spec.max_idle_time),
        bitrate_kbps: spec.bitrate / 1000,
        x264_preset: state.config.live.x264_preset.clone(),
        encoder_threads: state.config.live.encoder_threads.max(1),
        events: Arc::new(move |e| {
            let _ = tx.send(e);
        }),
        now_ms: doppel_store::now_ms,
        rtmp_url: spec.rtmp_url.clone(),
    };
    let background = match &spec.background_file {
        Some(f) => LiveBackground::Image(f.clone()),
        None => LiveBackground::Color(spec.background_color.clone().unwrap_or_else(|| "#000000".into())),
    };
    let live_spec = LiveSpec {
        avatar: spec.digital_human_id.clone(),
        voice: spec.voice_id.clone(),
        width: spec.width,
        height: spec.height,
        background,
        avatars: avatars.unwrap_or_default(),
        seed: 1,
    };
    let tts: Arc<dyn doppel_speech::Tts> = state.tts.clone();
    let session = Session::start(config, live_spec, tts);
    lock(&state.live.running).insert(row.id.clone(), Running { session: session.clone(), ended: None });
    tokio::spawn(apply_events(state.clone(), row.clone(), spec.callback_url.clone(), rx));
}

/// Applies a stream's events to its row, in order, and sends its callbacks.
async fn apply_events(
    state: AppState,
    row: StreamRow,
    callback: Option<String>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Event>,
) {
    let creds = state.db.credentials(&row.project_id).await.ok().and_then(|c| c.into_iter().next());
    while let Some(event) = rx.recv().await {
        let (event_type, detail) = match &event {
            Event::Stream { status, reason } => {
                if let Err(e) = state.db.set_stream_status(&row.id, status.code(), reason.as_deref()).await {
                    eprintln!("doppel: stream {}: recording status {}: {e}", row.id, status.code());
                }
                let mut d = json!({"Status": status.code(), "RoomId": row.room_id, "StreamId": row.stream_id});
                if let (StreamStatus::InitFailed, Some(r)) = (status, reason) {
                    d["FailReason"] = json!(r);
                }
                (3, d)
            }
            Event::Drive { drive_id, status, .. } => (4, json!({"DriveId": drive_id, "Status": status.code()})),
        };
        let (Some(url), Some(creds)) = (callback.clone(), creds.clone()) else { continue };
        let body = callback_body(&creds, event_type, &row.id, detail, doppel_store::now_ms());
        let policy = state.config.fetch.clone();
        tokio::spawn(async move {
            let backoff = crate::callback::Backoff {
                attempts: 6,
                first: Duration::from_secs(2),
                factor: 2,
                max: Duration::from_secs(32),
            };
            if let Err(e) = crate::callback::deliver(&policy, &url, &body, &backoff, |_| url.clone()).await {
                eprintln!("doppel: stream callback: {e}");
            }
        });
    }
}

/// ZEGO's callback signature: sha1 hex of the callback secret, timestamp and nonce sorted and joined.
pub fn callback_signature(secret: &str, timestamp: &str, nonce: &str) -> String {
    let mut parts = [secret, timestamp, nonce];
    parts.sort_unstable();
    hex::encode(Sha1::digest(parts.concat().as_bytes()))
}

/// A stream callback as ZEGO sends it (`EventType` 3 stream status, 4 drive status), signed with the
/// project's ZEGO server secret.
pub fn callback_body(
    creds: &doppel_store::Credentials,
    event_type: i64,
    task_id: &str,
    detail: Value,
    now_ms: i64,
) -> Value {
    let nonce = format!("{}", rand::random::<u32>());
    let timestamp = (now_ms / 1000).to_string();
    json!({
        "AppId": creds.zego_app_id,
        "EventType": event_type,
        "Nonce": nonce,
        "Timestamp": timestamp,
        "Signature": callback_signature(&creds.zego_server_secret, &timestamp, &nonce),
        "EventTime": now_ms,
        "TaskId": task_id,
        "Detail": detail,
    })
}

/// Renews this process's hold on its streams every [`HEARTBEAT`], takes over streams whose owner went
/// silent (including this data directory's previous run), and forgets long-ended sessions.
pub fn spawn_supervisor(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = state.db.stream_heartbeat(&state.live.owner).await {
                eprintln!("doppel: live streams: heartbeat: {e}");
            }
            let stale = doppel_store::now_ms() - TAKEOVER_AFTER.as_millis() as i64;
            match state.db.take_over_streams(&state.live.owner, stale).await {
                Ok(rows) => {
                    for row in rows {
                        resume(&state, row).await;
                    }
                }
                Err(e) => eprintln!("doppel: live streams: taking over: {e}"),
            }
            state.live.forget_ended();
            tokio::time::sleep(HEARTBEAT).await;
        }
    })
}

/// Runs a stream taken over from a process that stopped renewing it.
async fn resume(state: &AppState, row: StreamRow) {
    let spec: StreamSpec = match serde_json::from_value(row.config.clone()) {
        Ok(s) => s,
        Err(e) => {
            let _ = state.db.set_stream_status(&row.id, 5, Some(&format!("cannot resume: {e}"))).await;
            return;
        }
    };
    let age = Duration::from_millis((doppel_store::now_ms() - row.created_at).max(0) as u64);
    if age >= Duration::from_secs(spec.ttl) {
        let _ = state.db.set_stream_status(&row.id, 5, Some("the TTL passed while no server ran the stream")).await;
        return;
    }
    eprintln!("doppel: resuming live stream {} (its server stopped)", row.id);
    run(state, &row, spec).await;
}

/// Stops a stream: its session when this process runs it, else its row (a stream no process runs).
pub async fn stop(state: &AppState, row: &StreamRow, reason: &str) -> Result<(), doppel_store::Error> {
    match state.live.session(&row.id) {
        Some(s) => s.stop(reason),
        None => state.db.set_stream_status(&row.id, 5, Some(reason)).await?,
    }
    Ok(())
}

/// Fetches an asset (by id, of `kind`) or an http(s) URL to a temporary file under the data directory.
pub async fn fetch_to_file(
    state: &AppState,
    project_id: &str,
    src: &str,
    name: &str,
    kind: &str,
) -> Result<PathBuf, String> {
    let dir = state.config.data_dir.join("live");
    tokio::fs::create_dir_all(&dir).await.map_err(|e| format!("{}: {e}", dir.display()))?;
    let file = dir.join(name);
    if src.starts_with("http://") || src.starts_with("https://") {
        let got = crate::fetch::fetch(&state.config.fetch, src).await.map_err(|e| e.to_string())?;
        tokio::fs::write(&file, &got.bytes).await.map_err(|e| format!("{}: {e}", file.display()))?;
        return Ok(file);
    }
    let asset = state
        .db
        .asset(project_id, src)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{src:?} is neither an http(s) URL nor an asset of this project"))?;
    let ok = match kind {
        "AUDIO" => matches!(asset.asset_type.as_str(), "AUDIO" | "MUSIC"),
        other => asset.asset_type == other,
    };
    if !ok {
        return Err(format!("asset {src:?} is {}, not {kind}", asset.asset_type));
    }
    state.blobs.get_to_file(&asset.blob_key, &file).await.map_err(|e| e.to_string())?;
    Ok(file)
}

/// Queues an audio drive: the recording (URL or AUDIO asset) is fetched and decoded in the background; a
/// recording that cannot be fetched or decoded fails this drive alone (status 3).
pub fn drive_audio(
    state: &AppState,
    session: Arc<Session>,
    project_id: &str,
    src: String,
    interrupt: bool,
) -> Result<String, doppel_live::SessionError> {
    let drive_id = session.drive_audio(interrupt)?;
    let (state, project_id, id) = (state.clone(), project_id.to_string(), drive_id.clone());
    tokio::spawn(async move {
        let name = format!("live-{}-{id}", session.id());
        let file = match fetch_to_file(&state, &project_id, &src, &name, "AUDIO").await {
            Ok(f) => f,
            Err(e) => {
                session.fail_drive(&id, &format!("the audio cannot be fetched: {e}"));
                return;
            }
        };
        let f = file.clone();
        let read = tokio::task::spawn_blocking(move || {
            doppel_render::recording::read(&f, Some(doppel_script::limits::AUDIO_SCENE_MAX_MS))
        })
        .await;
        let _ = tokio::fs::remove_file(&file).await;
        match read {
            Ok(Ok(rec)) => session.supply_audio(&id, rec),
            Ok(Err(e)) => session.fail_drive(&id, &format!("the audio {e}")),
            Err(e) => session.fail_drive(&id, &format!("the audio cannot be decoded: {e}")),
        }
    });
    Ok(drive_id)
}

/// A stream's status now: its session's while this process runs it, else (and once the row says it ended) the
/// row's.
pub fn current_status(row: &StreamRow, session: Option<&Session>) -> i64 {
    match session {
        Some(s) if row.status != 2 && row.status != 5 => s.status().code(),
        _ => row.status,
    }
}

/// A stream as the native API shows it.
pub fn stream_json(row: &StreamRow, session: Option<&Session>) -> Value {
    let status = current_status(row, session);
    let mut v = json!({
        "task_id": row.id,
        "status": status,
        "status_name": StreamStatus::from_code(status).map(|s| serde_json::to_value(s).unwrap_or(Value::Null)),
        "room_id": row.room_id,
        "stream_id": row.stream_id,
        "created_at": crate::iso_time(row.created_at),
        "config": row.config,
    });
    if let Some(r) = session.and_then(|s| s.reason()).or(row.fail_reason.clone()) {
        v["reason"] = json!(r);
    }
    if let Some(t) = row.ended_at.or(session.and_then(|s| s.ended_at_ms())) {
        v["ended_at"] = json!(crate::iso_time(t));
    }
    if let Some(s) = session {
        let (w, h) = s.size();
        v["width"] = json!(w);
        v["height"] = json!(h);
        if let Some((x, y, bw, bh)) = s.mouth_box() {
            v["mouth_box"] = json!({"x": x, "y": y, "width": bw, "height": bh});
        }
        v["viewers"] = json!(s
            .hub()
            .viewers()
            .iter()
            .map(|vw| json!({"viewer_id": vw.id, "codec": vw.codec.map(|c| c.name())}))
            .collect::<Vec<_>>());
        v["stats"] = serde_json::to_value(s.stats()).unwrap_or(Value::Null);
        v["drives_in_this_process"] = json!(s.drives().len());
    }
    v
}
