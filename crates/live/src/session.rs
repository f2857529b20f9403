//! A live stream: its real-time renderer, its drive queue and its status.
//!
//! Threads of one stream (plain OS threads; nothing here blocks an async runtime):
//! * the **renderer** ([`Session::start`]): resolves the [`LiveScene`] (status 1 → 3, or 2 with the reason),
//!   then ticks every 40 ms on a clock (frame `n` is due at `start + n × 40 ms`; a late frame does not move the
//!   clock). Each tick it applies commands, picks the frame (the playing drive's, or idle), and, only while
//!   someone watches, draws it, converts it to YUV once, encodes it for each codec with subscribers (a
//!   keyframe when asked), encodes its 40 ms of sound as two Opus packets, and hands all to the [`Hub`].
//! * the **preparer**: turns drives into segments in order (text → speech → motion; recordings and PCM
//!   chunks → mouth shapes from the sound → motion), so a long synthesis never stalls the clock.
//!
//! Drives: queued (1) when accepted; driving (2) from their first frame; finished (4) after their last;
//! failed (3) when they cannot be prepared (the stream keeps idling); interrupted (5) by an interrupt, by a
//! drive with InterruptMode 1, by a WebSocket drive, or by the end of the stream. An interrupt takes effect on
//! the next frame. A stream stops (4 → 5) when asked, when its TTL passes, or after `max_idle` without a drive.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doppel_media::live::{LiveCodec, LivePacket, LiveVideoEncoder, LiveVideoOptions, OpusEncoder};
use doppel_render::live::{LiveScene, LiveSpec, Segment, Yuv420};
use doppel_render::recording::Recording;
use doppel_speech::{Tts, VoiceSettings};

use crate::hub::{Hub, MediaPacket};

/// Frames per second of every stream.
pub const FPS: u32 = 25;
/// One frame.
pub const FRAME: Duration = Duration::from_millis(40);
/// Length of an idle take (a new one, with other blinks and gestures, follows).
const IDLE_TAKE_MS: u32 = 20_000;
/// PCM is lip-synced in chunks of this length as it arrives.
pub const PCM_CHUNK_MS: u32 = 200;
/// Audio samples (per channel, 48 kHz) in one frame.
const SAMPLES_PER_TICK: i64 = 1920;
/// Drives kept per stream for status queries (the oldest finished ones are forgotten first).
const DRIVE_HISTORY: usize = 1000;

/// Status of a stream (ZEGO's numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamStatus {
    Initializing = 1,
    InitFailed = 2,
    Streaming = 3,
    Stopping = 4,
    Stopped = 5,
}

impl StreamStatus {
    pub fn code(self) -> i64 {
        self as i64
    }

    /// Whether the stream has ended (init failed or stopped).
    pub fn is_final(self) -> bool {
        matches!(self, StreamStatus::InitFailed | StreamStatus::Stopped)
    }

    pub fn from_code(code: i64) -> Option<StreamStatus> {
        Some(match code {
            1 => StreamStatus::Initializing,
            2 => StreamStatus::InitFailed,
            3 => StreamStatus::Streaming,
            4 => StreamStatus::Stopping,
            5 => StreamStatus::Stopped,
            _ => return None,
        })
    }
}

/// Status of a drive (ZEGO's numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriveStatus {
    Queued = 1,
    Driving = 2,
    Failed = 3,
    Finished = 4,
    Interrupted = 5,
}

impl DriveStatus {
    pub fn code(self) -> i64 {
        self as i64
    }

    pub fn is_final(self) -> bool {
        matches!(self, DriveStatus::Failed | DriveStatus::Finished | DriveStatus::Interrupted)
    }
}

/// What drives the avatar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriveKind {
    Text,
    Audio,
    Pcm,
}

/// A drive as queries show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DriveInfo {
    pub drive_id: String,
    pub kind: DriveKind,
    pub status: DriveStatus,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<i64>,
}

/// A change worth telling the outside (the server stores it and sends callbacks).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Stream { status: StreamStatus, reason: Option<String> },
    Drive { drive_id: String, status: DriveStatus, error: Option<String> },
}

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The stream is not streaming yet (status 1).
    #[error("the stream is not streaming yet (status 1, initializing)")]
    NotStarted,
    /// The stream has ended.
    #[error("the stream has stopped")]
    Stopped,
    /// A bad argument; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

/// How a stream runs.
#[derive(Clone)]
pub struct SessionConfig {
    /// The stream's id (for logs).
    pub id: String,
    /// The stream stops this long after it started.
    pub ttl: Duration,
    /// The stream stops after this long without a drive (counted from the end of the last one).
    pub max_idle: Duration,
    /// Video bitrate of every codec.
    pub bitrate_kbps: u32,
    pub x264_preset: String,
    /// Encoder threads per codec.
    pub encoder_threads: usize,
    /// Where status changes go; called from the stream's threads, so it must return quickly.
    pub events: Arc<dyn Fn(Event) + Send + Sync>,
    /// Time base for `*_at_ms` (milliseconds since the Unix epoch).
    pub now_ms: fn() -> i64,
    /// Also push the stream to this RTMP URL ([`crate::rtmp`]).
    pub rtmp_url: Option<String>,
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig").field("id", &self.id).field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

/// Renderer statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Stats {
    /// Frames ticked since the stream started.
    pub frames: u64,
    /// Frames that were drawn and encoded (someone watched).
    pub encoded: u64,
    /// Ticks that started more than one frame late.
    pub late: u64,
    /// Average time to draw, convert and encode a watched frame, in milliseconds.
    pub work_ms: f64,
    /// Frames sent to the RTMP server, and frames the pusher dropped (behind or not connected).
    pub rtmp_sent: u64,
    pub rtmp_dropped: u64,
}

enum Cmd {
    Enqueue { id: String, interrupt: bool },
    Part { id: String, segment: Box<Segment> },
    Done { id: String },
    Fail { id: String, error: String },
    Interrupt,
    Action { name: String },
    Stop,
}

enum Prep {
    Text { id: String, text: String, voice: Option<String>, settings: VoiceSettings },
    Recording { id: String, recording: Recording },
    Pcm { id: String, samples: Vec<f32> },
    End { id: String },
}

struct State {
    status: StreamStatus,
    reason: Option<String>,
    drives: VecDeque<DriveInfo>,
    actions: Vec<String>,
    voice: String,
    size: (u32, u32),
    mouth: Option<(u32, u32, u32, u32)>,
    /// When the stream ended (ms since the epoch).
    ended_at_ms: Option<i64>,
    stats: Stats,
}

/// A running (or ended) stream. Cheap to share.
pub struct Session {
    config: SessionConfig,
    hub: Arc<Hub>,
    cmd: Mutex<Sender<Cmd>>,
    prep: Mutex<Option<Sender<Prep>>>,
    state: Mutex<State>,
    started: Instant,
    seq: AtomicU64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("id", &self.config.id).field("status", &self.status()).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Session {
    /// Starts a stream: returns at once (status 1); a thread resolves the scene and starts the clock.
    pub fn start(config: SessionConfig, spec: LiveSpec, tts: Arc<dyn Tts>) -> Arc<Session> {
        let (cmd_tx, cmd_rx) = mpsc::channel();
        let session = Arc::new(Session {
            config,
            hub: Hub::new(),
            cmd: Mutex::new(cmd_tx),
            prep: Mutex::new(None),
            state: Mutex::new(State {
                status: StreamStatus::Initializing,
                reason: None,
                drives: VecDeque::new(),
                actions: Vec::new(),
                voice: String::new(),
                size: (spec.width, spec.height),
                mouth: None,
                ended_at_ms: None,
                stats: Stats::default(),
            }),
            started: Instant::now(),
            seq: AtomicU64::new(0),
        });
        let s = session.clone();
        let name = format!("live-{}", short(&session.config.id));
        let spawned = std::thread::Builder::new().name(name).spawn(move || s.run(spec, tts, cmd_rx));
        if let Err(e) = spawned {
            session.set_status(StreamStatus::InitFailed, Some(format!("cannot start the renderer thread: {e}")));
        }
        session
    }

    /// The stream's id.
    pub fn id(&self) -> &str {
        &self.config.id
    }

    /// The stream's outputs.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    pub fn status(&self) -> StreamStatus {
        lock(&self.state).status
    }

    /// Why the stream failed or stopped.
    pub fn reason(&self) -> Option<String> {
        lock(&self.state).reason.clone()
    }

    /// The output size.
    pub fn size(&self) -> (u32, u32) {
        lock(&self.state).size
    }

    /// Where the mouth moves in the picture, `(x, y, w, h)` (known once streaming).
    pub fn mouth_box(&self) -> Option<(u32, u32, u32, u32)> {
        lock(&self.state).mouth
    }

    /// The stream's voice (known once streaming).
    pub fn voice(&self) -> String {
        lock(&self.state).voice.clone()
    }

    /// The avatar's actions (known once streaming).
    pub fn actions(&self) -> Vec<String> {
        lock(&self.state).actions.clone()
    }

    pub fn stats(&self) -> Stats {
        lock(&self.state).stats
    }

    /// When the stream stopped or failed (milliseconds since the epoch).
    pub fn ended_at_ms(&self) -> Option<i64> {
        lock(&self.state).ended_at_ms
    }

    /// How long the stream has run.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Every drive still remembered, oldest first.
    pub fn drives(&self) -> Vec<DriveInfo> {
        lock(&self.state).drives.iter().cloned().collect()
    }

    /// One drive.
    pub fn drive(&self, id: &str) -> Option<DriveInfo> {
        lock(&self.state).drives.iter().find(|d| d.drive_id == id).cloned()
    }

    fn set_status(&self, status: StreamStatus, reason: Option<String>) {
        {
            let mut st = lock(&self.state);
            if st.status == status || st.status.is_final() {
                return;
            }
            st.status = status;
            if reason.is_some() {
                st.reason = reason.clone();
            }
            if status.is_final() {
                st.ended_at_ms = Some((self.config.now_ms)());
            }
        }
        (self.config.events)(Event::Stream { status, reason });
    }

    fn set_drive(&self, id: &str, status: DriveStatus, error: Option<String>) {
        let now = (self.config.now_ms)();
        {
            let mut st = lock(&self.state);
            let Some(d) = st.drives.iter_mut().find(|d| d.drive_id == id) else { return };
            if d.status == status || d.status.is_final() {
                return;
            }
            d.status = status;
            if status == DriveStatus::Driving {
                d.started_at_ms = Some(now);
            }
            if status.is_final() {
                d.ended_at_ms = Some(now);
                d.error = error.clone();
            }
        }
        (self.config.events)(Event::Drive { drive_id: id.to_string(), status, error });
    }

    fn new_drive_id(&self) -> String {
        let n = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        format!("{}-d{n}", short(&self.config.id))
    }

    fn check_live(&self) -> Result<(), SessionError> {
        match self.status() {
            StreamStatus::Streaming => Ok(()),
            StreamStatus::Initializing => Err(SessionError::NotStarted),
            _ => Err(SessionError::Stopped),
        }
    }

    /// Registers a drive (status 1) and queues it (`interrupt`: drop what plays and what waits first).
    fn enqueue(&self, kind: DriveKind, interrupt: bool) -> Result<String, SessionError> {
        self.enqueue_as(self.new_drive_id(), kind, interrupt)
    }

    fn enqueue_as(&self, id: String, kind: DriveKind, interrupt: bool) -> Result<String, SessionError> {
        self.check_live()?;
        if self.drive(&id).is_some() {
            return Err(SessionError::Invalid {
                field: "DriveId".into(),
                message: format!("drive {id:?} was already used"),
            });
        }
        {
            let mut st = lock(&self.state);
            while st.drives.len() >= DRIVE_HISTORY {
                match st.drives.iter().position(|d| d.status.is_final()) {
                    Some(i) => {
                        st.drives.remove(i);
                    }
                    None => break,
                }
            }
            st.drives.push_back(DriveInfo {
                drive_id: id.clone(),
                kind,
                status: DriveStatus::Queued,
                error: None,
                created_at_ms: (self.config.now_ms)(),
                started_at_ms: None,
                ended_at_ms: None,
            });
        }
        (self.config.events)(Event::Drive { drive_id: id.clone(), status: DriveStatus::Queued, error: None });
        self.send(Cmd::Enqueue { id: id.clone(), interrupt });
        Ok(id)
    }

    fn send(&self, cmd: Cmd) {
        let _ = lock(&self.cmd).send(cmd);
    }

    fn send_prep(&self, p: Prep) {
        if let Some(tx) = lock(&self.prep).as_ref() {
            let _ = tx.send(p);
        }
    }

    /// Says `text` (plain or SSML with action and emotion tags). Returns the drive id.
    pub fn drive_text(
        &self,
        text: &str,
        voice: Option<String>,
        settings: VoiceSettings,
        interrupt: bool,
    ) -> Result<String, SessionError> {
        doppel_script::parse_text(text)
            .map_err(|e| SessionError::Invalid { field: "text".into(), message: e.to_string() })?;
        if text.trim().is_empty() {
            return Err(SessionError::Invalid { field: "text".into(), message: "is empty".into() });
        }
        settings.validate().map_err(|e| SessionError::Invalid { field: "tts".into(), message: e.to_string() })?;
        let id = self.enqueue(DriveKind::Text, interrupt)?;
        self.send_prep(Prep::Text { id: id.clone(), text: text.to_string(), voice, settings });
        Ok(id)
    }

    /// Queues an audio drive whose recording is still being fetched: give it with [`Session::supply_audio`]
    /// or fail it with [`Session::fail_drive`].
    pub fn drive_audio(&self, interrupt: bool) -> Result<String, SessionError> {
        self.enqueue(DriveKind::Audio, interrupt)
    }

    /// The recording of an audio drive.
    pub fn supply_audio(&self, id: &str, recording: Recording) {
        self.send_prep(Prep::Recording { id: id.to_string(), recording });
    }

    /// Fails a drive (status 3) that could not get its input; the stream goes on.
    pub fn fail_drive(&self, id: &str, error: &str) {
        self.send(Cmd::Fail { id: id.to_string(), error: error.to_string() });
    }

    /// A drive id for a later PCM drive (ZEGO's `DriveByWsStream` hands it out before the socket opens).
    pub fn reserve_drive_id(&self) -> Result<String, SessionError> {
        self.check_live()?;
        Ok(self.new_drive_id())
    }

    /// More PCM of a PCM drive: mono 16-bit little-endian at `rate`, resampled and lip-synced in
    /// [`PCM_CHUNK_MS`] chunks by the caller's [`PcmFeed`].
    fn pcm_chunk(&self, id: &str, samples: Vec<f32>) {
        self.send_prep(Prep::Pcm { id: id.to_string(), samples });
    }

    /// Ends a PCM drive: it finishes when what arrived has played.
    fn pcm_end(&self, id: &str) {
        self.send_prep(Prep::End { id: id.to_string() });
    }

    /// Interrupts the playing drive (within one frame) and drops the queued ones.
    pub fn interrupt(&self) -> Result<(), SessionError> {
        self.check_live()?;
        self.send(Cmd::Interrupt);
        Ok(())
    }

    /// Plays one of the avatar's actions now.
    pub fn do_action(&self, name: &str) -> Result<(), SessionError> {
        self.check_live()?;
        let actions = self.actions();
        let Some(found) = actions.iter().find(|a| a.eq_ignore_ascii_case(name)) else {
            return Err(SessionError::Invalid {
                field: "action".into(),
                message: format!("the avatar has no action {name:?} (it has: {})", actions.join(", ")),
            });
        };
        self.send(Cmd::Action { name: found.clone() });
        Ok(())
    }

    /// Stops the stream (4 now, 5 once everything is released). Stopping a stopped stream does nothing.
    pub fn stop(&self, reason: &str) {
        if self.status().is_final() {
            return;
        }
        self.set_status(StreamStatus::Stopping, Some(reason.to_string()));
        self.send(Cmd::Stop);
    }

    fn run(self: Arc<Session>, spec: LiveSpec, tts: Arc<dyn Tts>, rx: Receiver<Cmd>) {
        let scene = match LiveScene::new(&spec, tts.as_ref()) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                self.set_status(StreamStatus::InitFailed, Some(e.to_string()));
                self.hub.close();
                return;
            }
        };
        let (prep_tx, prep_rx) = mpsc::channel();
        *lock(&self.prep) = Some(prep_tx);
        {
            let mut st = lock(&self.state);
            st.actions = scene.actions().to_vec();
            st.voice = scene.voice().to_string();
            st.size = scene.size();
            st.mouth = scene.mouth_box();
        }
        let preparer = {
            let (s, scene, tts) = (self.clone(), scene.clone(), tts.clone());
            std::thread::Builder::new()
                .name(format!("live-prep-{}", short(&self.config.id)))
                .spawn(move || s.prepare_loop(scene, tts, prep_rx))
        };
        if let Err(e) = preparer {
            self.set_status(StreamStatus::InitFailed, Some(format!("cannot start the preparer thread: {e}")));
            self.hub.close();
            return;
        }
        // A stop that arrived while initializing wins.
        if self.status() == StreamStatus::Initializing {
            self.set_status(StreamStatus::Streaming, None);
        }
        let reason = Renderer::new(&self, &scene).run(&rx);
        // Everything is released: encoders dropped with the renderer, viewers closed, the preparer ends when its
        // channel closes.
        *lock(&self.prep) = None;
        self.hub.close();
        let pending: Vec<String> =
            lock(&self.state).drives.iter().filter(|d| !d.status.is_final()).map(|d| d.drive_id.clone()).collect();
        for id in pending {
            self.set_drive(&id, DriveStatus::Interrupted, Some("the stream stopped".into()));
        }
        let reason = reason.or_else(|| self.reason());
        let mut st = lock(&self.state);
        let was = st.status;
        st.status = StreamStatus::Stopped;
        st.reason = reason.clone();
        st.ended_at_ms = st.ended_at_ms.or(Some((self.config.now_ms)()));
        drop(st);
        if was != StreamStatus::Stopped {
            (self.config.events)(Event::Stream { status: StreamStatus::Stopped, reason });
        }
    }

    fn prepare_loop(&self, scene: Arc<LiveScene>, tts: Arc<dyn Tts>, rx: Receiver<Prep>) {
        let mut seed = 7u64;
        while let Ok(p) = rx.recv() {
            seed = seed.wrapping_add(1);
            let id = match &p {
                Prep::Text { id, .. } | Prep::Recording { id, .. } | Prep::Pcm { id, .. } | Prep::End { id } => {
                    id.clone()
                }
            };
            if self.drive(&id).is_none_or(|d| d.status.is_final()) {
                continue;
            }
            let made = match p {
                Prep::Text { text, voice, settings, .. } => {
                    scene.say(tts.as_ref(), voice.as_deref(), &text, settings, seed).map(Some)
                }
                Prep::Recording { recording, .. } => scene.recorded(&recording, seed).map(Some),
                Prep::Pcm { samples, .. } => {
                    let duration_ms = (samples.len() as u64 * 1000 / doppel_render::recording::RATE as u64) as u32;
                    if duration_ms == 0 {
                        continue;
                    }
                    let rec = Recording { samples, duration_ms };
                    match scene.recorded(&rec, seed) {
                        Ok(seg) => {
                            self.send(Cmd::Part { id, segment: Box::new(seg) });
                            continue;
                        }
                        Err(e) => Err(e),
                    }
                }
                Prep::End { .. } => Ok(None),
            };
            match made {
                Ok(Some(seg)) => {
                    self.send(Cmd::Part { id: id.clone(), segment: Box::new(seg) });
                    self.send(Cmd::Done { id });
                }
                Ok(None) => self.send(Cmd::Done { id }),
                Err(e) => self.send(Cmd::Fail { id, error: e.to_string() }),
            }
        }
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

/// A drive the renderer knows: its prepared parts, and whether more may come.
struct Queued {
    id: String,
    parts: VecDeque<Segment>,
    done: bool,
    /// The part playing and its next frame.
    current: Option<(Segment, usize)>,
}

/// The renderer's state (on the stream's thread).
struct Renderer<'a> {
    session: &'a Session,
    scene: &'a LiveScene,
    playing: Option<Queued>,
    queue: VecDeque<Queued>,
    idle: (Segment, usize),
    idle_seed: u64,
    canvas: tiny_skia::Pixmap,
    yuv: Yuv420,
    encoders: [Option<LiveVideoEncoder>; 2],
    opus: Option<OpusEncoder>,
    opus_base: i64,
    packets: Vec<LivePacket>,
    rtmp: Option<crate::rtmp::RtmpPush>,
    last_activity: Instant,
    work: Duration,
}

impl<'a> Renderer<'a> {
    fn new(session: &'a Session, scene: &'a LiveScene) -> Renderer<'a> {
        let (w, h) = scene.size();
        Renderer {
            session,
            scene,
            playing: None,
            queue: VecDeque::new(),
            idle: (scene.idle(IDLE_TAKE_MS, 1), 0),
            idle_seed: 1,
            canvas: scene.canvas(),
            yuv: Yuv420::new(w, h),
            encoders: [None, None],
            opus: None,
            opus_base: 0,
            packets: Vec::new(),
            rtmp: session.config.rtmp_url.as_deref().map(|url| {
                let c = &session.config;
                crate::rtmp::RtmpPush::start(url, &c.id, w, h, c.bitrate_kbps, &c.x264_preset)
            }),
            last_activity: Instant::now(),
            work: Duration::ZERO,
        }
    }

    fn find(&mut self, id: &str) -> Option<&mut Queued> {
        if self.playing.as_ref().is_some_and(|p| p.id == id) {
            return self.playing.as_mut();
        }
        self.queue.iter_mut().find(|q| q.id == id)
    }

    fn interrupt_all(&mut self) {
        let ids: Vec<String> = self.playing.take().into_iter().chain(self.queue.drain(..)).map(|q| q.id).collect();
        for id in ids {
            self.session.set_drive(&id, DriveStatus::Interrupted, None);
        }
        self.last_activity = Instant::now();
    }

    /// Applies a command; returns false on stop.
    fn apply(&mut self, cmd: Cmd) -> bool {
        match cmd {
            Cmd::Enqueue { id, interrupt } => {
                if interrupt {
                    self.interrupt_all();
                }
                self.queue.push_back(Queued { id, parts: VecDeque::new(), done: false, current: None });
                self.last_activity = Instant::now();
            }
            Cmd::Part { id, segment } => {
                if let Some(q) = self.find(&id) {
                    q.parts.push_back(*segment);
                }
            }
            Cmd::Done { id } => {
                if let Some(q) = self.find(&id) {
                    q.done = true;
                }
            }
            Cmd::Fail { id, error } => {
                if self.playing.as_ref().is_some_and(|p| p.id == id) {
                    self.playing = None;
                }
                self.queue.retain(|q| q.id != id);
                self.session.set_drive(&id, DriveStatus::Failed, Some(error));
                self.last_activity = Instant::now();
            }
            Cmd::Interrupt => self.interrupt_all(),
            Cmd::Action { name } => {
                let target = match self.playing.as_mut().and_then(|p| p.current.as_mut()) {
                    Some((seg, i)) => (seg, *i),
                    None => (&mut self.idle.0, self.idle.1),
                };
                let at = (target.1 as u64 * 1000 / FPS as u64) as u32;
                let _ = self.scene.add_action(target.0, &name, at);
            }
            Cmd::Stop => return false,
        }
        true
    }

    /// The segment and frame to show now, advancing the drive queue.
    fn next_frame(&mut self) -> (&Segment, usize) {
        if self.playing.is_none() && self.queue.front().is_some_and(|q| !q.parts.is_empty() || q.done) {
            let q = self.queue.pop_front().expect("front exists");
            self.session.set_drive(&q.id, DriveStatus::Driving, None);
            self.playing = Some(q);
        }
        let mut finished = None;
        if let Some(p) = self.playing.as_mut() {
            if p.current.as_ref().is_none_or(|(s, i)| *i >= s.frames) {
                p.current = p.parts.pop_front().map(|s| (s, 0));
            }
            if p.current.is_none() && p.done {
                finished = Some(p.id.clone());
            }
        }
        if let Some(id) = finished {
            self.playing = None;
            self.session.set_drive(&id, DriveStatus::Finished, None);
            self.last_activity = Instant::now();
            // The next drive starts on this very frame when it is ready.
            return self.next_frame();
        }
        if let Some((seg, i)) = self.playing.as_mut().and_then(|p| p.current.as_mut()) {
            *i += 1;
            self.last_activity = Instant::now();
            return (seg, *i - 1);
        }
        // Idle (also while a WebSocket drive waits for more PCM).
        if self.idle.1 >= self.idle.0.frames {
            self.idle_seed += 1;
            self.idle = (self.scene.idle(IDLE_TAKE_MS, self.idle_seed), 0);
        }
        self.idle.1 += 1;
        (&self.idle.0, self.idle.1 - 1)
    }

    /// Runs until stopped; returns why it stopped by itself (TTL, idle), `None` when asked to.
    fn run(mut self, rx: &Receiver<Cmd>) -> Option<String> {
        let start = Instant::now();
        let session = self.session;
        let ttl = session.config.ttl;
        let max_idle = session.config.max_idle;
        let mut n: u64 = 0;
        loop {
            let due = start + FRAME * n as u32;
            // Wait for the frame's time, applying commands as they come.
            loop {
                let now = Instant::now();
                let wait = due.saturating_duration_since(now);
                match rx.recv_timeout(wait) {
                    Ok(cmd) => {
                        if !self.apply(cmd) {
                            return None;
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => break,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return None,
                }
            }
            let late = Instant::now().duration_since(due) > FRAME;
            if session.started.elapsed() >= ttl {
                return Some(format!("the TTL of {} s passed", ttl.as_secs()));
            }
            let busy = self.playing.is_some() || !self.queue.is_empty();
            if !busy && self.last_activity.elapsed() >= max_idle {
                return Some(format!("no drive for MaxIdleTime ({} s)", max_idle.as_secs()));
            }
            let clock_ms = (n * 1000 / FPS as u64) as u32;
            let work_start = Instant::now();
            let encoded = self.tick(n, due, clock_ms);
            let mut st = lock(&session.state);
            st.stats.frames = n + 1;
            if late {
                st.stats.late += 1;
            }
            if let Some(r) = &self.rtmp {
                st.stats.rtmp_sent = r.stats.sent.load(std::sync::atomic::Ordering::Relaxed);
                st.stats.rtmp_dropped = r.stats.dropped.load(std::sync::atomic::Ordering::Relaxed);
            }
            if encoded {
                self.work += work_start.elapsed();
                st.stats.encoded += 1;
                st.stats.work_ms = self.work.as_secs_f64() * 1000.0 / st.stats.encoded as f64;
            }
            drop(st);
            n += 1;
        }
    }

    /// Shows frame `n`: picks it, and draws and encodes it when someone watches. Returns whether it encoded.
    fn tick(&mut self, n: u64, due: Instant, clock_ms: u32) -> bool {
        let hub = self.session.hub.clone();
        let (state, audio) = {
            let scene = self.scene;
            let (seg, i) = self.next_frame();
            (scene.state(seg, i, clock_ms), seg.frame_audio(i).to_vec())
        };
        let watched: Vec<LiveCodec> = LiveCodec::ALL.into_iter().filter(|c| hub.wants(*c)).collect();
        for (k, codec) in LiveCodec::ALL.into_iter().enumerate() {
            if !watched.contains(&codec) {
                self.encoders[k] = None;
            }
        }
        if watched.is_empty() {
            self.opus = None;
            if self.rtmp.is_none() {
                return false;
            }
        }
        self.scene.draw(&state, &mut self.canvas);
        if let Err(e) = self.yuv.convert(&self.canvas) {
            eprintln!("doppel: stream {}: converting a frame: {e}", self.session.id());
            return false;
        }
        if let Some(r) = &self.rtmp {
            r.push(&self.yuv, &audio);
        }
        if watched.is_empty() {
            return true;
        }
        let (w, h) = self.scene.size();
        for (k, codec) in LiveCodec::ALL.into_iter().enumerate() {
            if !watched.contains(&codec) {
                continue;
            }
            let mut fresh = false;
            if self.encoders[k].is_none() {
                let opts = LiveVideoOptions {
                    codec,
                    width: w,
                    height: h,
                    fps: FPS,
                    bitrate_kbps: self.session.config.bitrate_kbps,
                    gop: FPS * 4,
                    x264_preset: self.session.config.x264_preset.clone(),
                    threads: self.session.config.encoder_threads,
                };
                match LiveVideoEncoder::new(&opts) {
                    Ok(e) => {
                        self.encoders[k] = Some(e);
                        fresh = true;
                    }
                    Err(e) => {
                        eprintln!("doppel: stream {}: opening the {} encoder: {e}", self.session.id(), codec.name());
                        continue;
                    }
                }
            }
            let Some(enc) = self.encoders[k].as_mut() else { continue };
            self.yuv.copy_to(enc.planes());
            let key = hub.take_keyframe_request(codec) || fresh;
            self.packets.clear();
            if let Err(e) = enc.encode(key, &mut self.packets) {
                eprintln!("doppel: stream {}: encoding {}: {e}", self.session.id(), codec.name());
                self.encoders[k] = None;
                continue;
            }
            for p in self.packets.drain(..) {
                hub.send_video(codec, MediaPacket { data: p.data.into(), pts: n as i64, key: p.key, wallclock: due });
            }
        }
        if self.opus.is_none() {
            self.opus = OpusEncoder::new(64).ok();
            // Audio timestamps count on the stream's clock from this frame on.
            self.opus_base = n as i64 * SAMPLES_PER_TICK;
        }
        if let Some(opus) = self.opus.as_mut() {
            self.packets.clear();
            if opus.push(&audio, &mut self.packets).is_ok() {
                let start = due - FRAME * n as u32;
                for p in self.packets.drain(..) {
                    let pts = self.opus_base + p.pts;
                    let at = start + Duration::from_micros((pts.max(0) as u64) * 1_000_000 / 48_000);
                    hub.send_audio(MediaPacket { data: p.data.into(), pts, key: true, wallclock: at });
                }
            }
        }
        true
    }
}

/// Collects a WebSocket drive's PCM (mono 16-bit little-endian at 16 or 24 kHz) into lip-synced chunks.
#[derive(Debug)]
pub struct PcmFeed {
    session: Arc<Session>,
    drive_id: String,
    rate: u32,
    /// Bytes not yet making a whole sample.
    odd: Option<u8>,
    pending: Vec<f32>,
    closed: bool,
}

impl PcmFeed {
    /// The sample rates the protocol allows.
    pub const RATES: [u32; 2] = [16_000, 24_000];

    /// Starts a PCM drive on `session` (interrupting what plays), with a reserved id or a new one.
    pub fn start(session: Arc<Session>, rate: u32, drive_id: Option<String>) -> Result<PcmFeed, SessionError> {
        if !Self::RATES.contains(&rate) {
            return Err(SessionError::Invalid {
                field: "SampleRate".into(),
                message: format!("{rate} is not supported (16000 or 24000)"),
            });
        }
        let id = drive_id.unwrap_or_else(|| session.new_drive_id());
        let drive_id = session.enqueue_as(id, DriveKind::Pcm, true)?;
        Ok(PcmFeed { session, drive_id, rate, odd: None, pending: Vec::new(), closed: false })
    }

    pub fn drive_id(&self) -> &str {
        &self.drive_id
    }

    /// More PCM bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        let mut it = bytes.iter().copied();
        if let Some(lo) = self.odd.take() {
            match it.next() {
                Some(hi) => self.pending.push(i16::from_le_bytes([lo, hi]) as f32 / 32768.0),
                None => {
                    self.odd = Some(lo);
                    return;
                }
            }
        }
        let rest: Vec<u8> = it.collect();
        let mut pairs = rest.chunks_exact(2);
        for p in &mut pairs {
            self.pending.push(i16::from_le_bytes([p[0], p[1]]) as f32 / 32768.0);
        }
        self.odd = pairs.remainder().first().copied();
        let chunk = (self.rate * PCM_CHUNK_MS / 1000) as usize;
        while self.pending.len() >= chunk {
            let part: Vec<f32> = self.pending.drain(..chunk).collect();
            self.flush(part);
        }
    }

    fn flush(&self, part: Vec<f32>) {
        let rate = doppel_render::recording::RATE;
        match doppel_media::resample::resample(&part, self.rate, 1, rate, 1) {
            Ok(s) => self.session.pcm_chunk(&self.drive_id, s),
            Err(e) => self.session.fail_drive(&self.drive_id, &format!("resampling PCM: {e}")),
        }
    }

    /// The end of the PCM: what is left plays, then the drive finishes.
    pub fn finish(mut self) {
        self.close();
    }

    fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        let part = std::mem::take(&mut self.pending);
        if !part.is_empty() {
            self.flush(part);
        }
        self.session.pcm_end(&self.drive_id);
    }
}

impl Drop for PcmFeed {
    fn drop(&mut self) {
        // A socket that closes without Stop ends the drive with what arrived.
        self.close();
    }
}
