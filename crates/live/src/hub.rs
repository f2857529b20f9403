//! The fan-out of one stream: encoded video per codec and Opus audio, shared by every viewer.
//!
//! A stream encodes each codec once, and only while that codec has subscribers ([`Hub::subscribe`]); every
//! viewer reads the same `Arc`ed packets from a broadcast channel. A new subscriber (or one that lost packets)
//! asks for a keyframe, which the renderer's next frame honours (at most one every [`KEYFRAME_DEBOUNCE`]).
//!
//! The hub also keeps the stream's viewers ([`Hub::add_viewer`]), so that a WHEP DELETE or the end of the
//! stream can close them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doppel_media::live::LiveCodec;
use tokio::sync::{broadcast, Notify};

/// Keyframe requests closer together than this are merged.
pub const KEYFRAME_DEBOUNCE: Duration = Duration::from_millis(300);

/// Video frames a slow viewer may fall behind before it skips to the next keyframe.
const VIDEO_BACKLOG: usize = 50;
/// Audio packets (20 ms each) a slow viewer may fall behind.
const AUDIO_BACKLOG: usize = 250;

/// An encoded packet of the stream.
#[derive(Debug, Clone)]
pub struct MediaPacket {
    pub data: Arc<[u8]>,
    /// Video: frame number (25 per second); audio: samples at 48 kHz.
    pub pts: i64,
    pub key: bool,
    /// When the packet's media is due, on the stream's clock (audio and video share it, for lip-sync).
    pub wallclock: Instant,
}

#[derive(Debug)]
struct Tap {
    tx: broadcast::Sender<Arc<MediaPacket>>,
    subscribers: AtomicUsize,
    want_key: AtomicBool,
    last_key: Mutex<Option<Instant>>,
}

impl Tap {
    fn new() -> Tap {
        Tap {
            tx: broadcast::channel(VIDEO_BACKLOG).0,
            subscribers: AtomicUsize::new(0),
            want_key: AtomicBool::new(false),
            last_key: Mutex::new(None),
        }
    }
}

/// A viewer of the stream, as the hub knows it.
#[derive(Debug, Clone)]
pub struct ViewerInfo {
    pub id: String,
    /// The codec it receives, once connected.
    pub codec: Option<LiveCodec>,
    pub since: Instant,
    close: Arc<Notify>,
}

/// The outputs of one stream.
#[derive(Debug)]
pub struct Hub {
    video: [Tap; 2],
    audio: broadcast::Sender<Arc<MediaPacket>>,
    viewers: Mutex<HashMap<String, ViewerInfo>>,
    closed: AtomicBool,
    closing: Notify,
}

fn slot(codec: LiveCodec) -> usize {
    match codec {
        LiveCodec::Vp8 => 0,
        LiveCodec::H264 => 1,
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            video: [Tap::new(), Tap::new()],
            audio: broadcast::channel(AUDIO_BACKLOG).0,
            viewers: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
            closing: Notify::new(),
        }
    }
}

/// A subscription to one codec and the audio; unsubscribes when dropped.
#[derive(Debug)]
pub struct Subscription {
    pub codec: LiveCodec,
    pub video: broadcast::Receiver<Arc<MediaPacket>>,
    pub audio: broadcast::Receiver<Arc<MediaPacket>>,
    hub: Arc<Hub>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.hub.video[slot(self.codec)].subscribers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Hub {
    /// A new hub, shared by the renderer and the viewers.
    pub fn new() -> Arc<Hub> {
        Arc::new(Hub::default())
    }

    /// Subscribes to `codec` (which starts its encoder) and asks for a keyframe.
    pub fn subscribe(self: &Arc<Hub>, codec: LiveCodec) -> Subscription {
        let tap = &self.video[slot(codec)];
        tap.subscribers.fetch_add(1, Ordering::SeqCst);
        let sub = Subscription { codec, video: tap.tx.subscribe(), audio: self.audio.subscribe(), hub: self.clone() };
        // A joining viewer always gets a keyframe of its own (not merged with a request just served).
        *tap.last_key.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        tap.want_key.store(true, Ordering::SeqCst);
        sub
    }

    /// Whether `codec` has subscribers (and so must be encoded).
    pub fn wants(&self, codec: LiveCodec) -> bool {
        self.video[slot(codec)].subscribers.load(Ordering::SeqCst) > 0
    }

    /// Asks the renderer for a keyframe of `codec` soon (loss reports: merged with requests in the last 300 ms).
    pub fn request_keyframe(&self, codec: LiveCodec) {
        let tap = &self.video[slot(codec)];
        let mut last = tap.last_key.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if last.is_none_or(|t| now.duration_since(t) >= KEYFRAME_DEBOUNCE) {
            *last = Some(now);
            tap.want_key.store(true, Ordering::SeqCst);
        }
    }

    /// Takes a pending keyframe request of `codec` (the renderer's side).
    pub fn take_keyframe_request(&self, codec: LiveCodec) -> bool {
        self.video[slot(codec)].want_key.swap(false, Ordering::SeqCst)
    }

    /// Sends an encoded video packet to `codec`'s subscribers.
    pub fn send_video(&self, codec: LiveCodec, packet: MediaPacket) {
        let _ = self.video[slot(codec)].tx.send(Arc::new(packet));
    }

    /// Sends an Opus packet to every subscriber.
    pub fn send_audio(&self, packet: MediaPacket) {
        let _ = self.audio.send(Arc::new(packet));
    }

    /// Registers a viewer; returns what closes it (notified by [`Hub::close_viewer`] and [`Hub::close`]).
    pub fn add_viewer(&self, id: &str) -> Arc<Notify> {
        let close = Arc::new(Notify::new());
        let info = ViewerInfo { id: id.to_string(), codec: None, since: Instant::now(), close: close.clone() };
        self.viewers.lock().unwrap_or_else(|e| e.into_inner()).insert(id.to_string(), info);
        if self.closed.load(Ordering::SeqCst) {
            close.notify_one();
        }
        close
    }

    /// Records the codec a viewer receives.
    pub fn set_viewer_codec(&self, id: &str, codec: LiveCodec) {
        if let Some(v) = self.viewers.lock().unwrap_or_else(|e| e.into_inner()).get_mut(id) {
            v.codec = Some(codec);
        }
    }

    /// Forgets a viewer (its task ended).
    pub fn remove_viewer(&self, id: &str) {
        self.viewers.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }

    /// Asks a viewer to close (WHEP DELETE); false if there is no such viewer.
    pub fn close_viewer(&self, id: &str) -> bool {
        match self.viewers.lock().unwrap_or_else(|e| e.into_inner()).get(id) {
            Some(v) => {
                v.close.notify_one();
                true
            }
            None => false,
        }
    }

    /// The viewers now.
    pub fn viewers(&self) -> Vec<ViewerInfo> {
        self.viewers.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    /// Ends the stream's outputs: every viewer is asked to close, and new ones are closed at once.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        for v in self.viewers.lock().unwrap_or_else(|e| e.into_inner()).values() {
            v.close.notify_one();
        }
        self.closing.notify_waiters();
    }

    /// Whether [`Hub::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}
