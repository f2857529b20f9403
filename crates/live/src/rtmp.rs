//! RTMP push: the stream's frames and sound, encoded once more as H.264 (High) and AAC in FLV, sent to an RTMP
//! URL given at creation, so an existing media server or CDN can fan it out.
//!
//! The pusher runs on its own thread (`live-rtmp-…`): the renderer hands it each frame and its sound without
//! waiting (a frame is dropped, and counted, when the pusher is behind), so a slow or unreachable server never
//! stalls the stream's clock. A connection that fails is tried again every [`RETRY`]; the pusher ends when the
//! stream does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use doppel_media::{EncodeOptions, Encoder, VideoCodec};
use doppel_render::live::Yuv420;

/// Pause between connection attempts.
pub const RETRY: Duration = Duration::from_secs(5);

/// Frames the pusher may fall behind before frames are dropped.
const BACKLOG: usize = 50;

struct Chunk {
    yuv: Yuv420,
    audio: Vec<f32>,
}

/// Counters of a pusher.
#[derive(Debug, Default)]
pub struct RtmpStats {
    /// Frames sent to the server.
    pub sent: AtomicU64,
    /// Frames dropped because the pusher was behind (or not connected).
    pub dropped: AtomicU64,
    /// Connection attempts that failed.
    pub failed_connects: AtomicU64,
}

/// A running pusher; dropping it ends the push (the connection is finished cleanly).
#[derive(Debug)]
pub struct RtmpPush {
    tx: SyncSender<Chunk>,
    pub stats: Arc<RtmpStats>,
}

impl RtmpPush {
    /// Starts pushing to `url` (`rtmp://…`) at `width`×`height`, `bitrate_kbps`.
    pub fn start(url: &str, stream: &str, width: u32, height: u32, bitrate_kbps: u32, preset: &str) -> RtmpPush {
        let (tx, rx) = mpsc::sync_channel(BACKLOG);
        let stats = Arc::new(RtmpStats::default());
        let opts = EncodeOptions {
            width,
            height,
            fps: crate::session::FPS,
            codec: VideoCodec::H264,
            bitrate_kbps: Some(bitrate_kbps),
            alpha: false,
            x264_preset: preset.to_string(),
            audio_rate: Some(48_000),
            audio_channels: 2,
        };
        let (target, s) = (url.to_string(), stats.clone());
        let name = format!("live-rtmp-{}", &stream[..stream.len().min(6)]);
        let spawned = std::thread::Builder::new().name(name).spawn(move || run(&target, &opts, &rx, &s));
        if let Err(e) = spawned {
            eprintln!("doppel: RTMP push to {}: cannot start its thread: {e}", redact(url));
        }
        RtmpPush { tx, stats }
    }

    /// Hands over a frame and its sound (interleaved stereo at 48 kHz); never waits.
    pub fn push(&self, yuv: &Yuv420, audio: &[f32]) {
        match self.tx.try_send(Chunk { yuv: yuv.clone(), audio: audio.to_vec() }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The URL without its query and user info (stream keys often hide there), for logs.
fn redact(url: &str) -> String {
    let no_query = url.split('?').next().unwrap_or(url);
    match no_query.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.rsplit('@').next().unwrap_or(rest)),
        None => no_query.to_string(),
    }
}

fn run(url: &str, opts: &EncodeOptions, rx: &Receiver<Chunk>, stats: &RtmpStats) {
    loop {
        let mut encoder = match Encoder::stream_to(url, "flv", opts) {
            Ok(e) => e,
            Err(e) => {
                stats.failed_connects.fetch_add(1, Ordering::Relaxed);
                eprintln!("doppel: RTMP push to {}: {e}; trying again in {} s", redact(url), RETRY.as_secs());
                // Frames that come meanwhile are dropped; the push ends when the stream does.
                let until = std::time::Instant::now() + RETRY;
                loop {
                    match rx.recv_timeout(until.saturating_duration_since(std::time::Instant::now())) {
                        Ok(_) => {
                            stats.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                continue;
            }
        };
        loop {
            let Ok(chunk) = rx.recv() else {
                if let Err(e) = encoder.finish() {
                    eprintln!("doppel: RTMP push to {}: finishing: {e}", redact(url));
                }
                return;
            };
            chunk.yuv.copy_to(encoder.planes());
            let pushed = encoder.push_frame().and_then(|_| encoder.push_audio(&chunk.audio));
            if let Err(e) = pushed {
                eprintln!("doppel: RTMP push to {}: {e}; reconnecting", redact(url));
                break;
            }
            stats.sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_keys_stay_out_of_logs() {
        assert_eq!(redact("rtmp://user:pw@cdn.example.com/live/key?secret=1"), "rtmp://cdn.example.com/live/key");
        assert_eq!(redact("rtmp://127.0.0.1:1935/live/x"), "rtmp://127.0.0.1:1935/live/x");
    }
}
