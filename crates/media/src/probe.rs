//! Inspecting a media file: container, streams, codecs, sizes, rates and measured durations (what `ffprobe`
//! tells, computed by reading every packet).

use std::path::Path;

use ffmpeg_next::{codec, format, media};

use crate::{ff, init, Result};

/// The kind of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Video,
    Audio,
    Other,
}

/// One stream of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    pub kind: StreamKind,
    /// FFmpeg's codec name (`h264`, `vp8`, `aac`, `opus` …).
    pub codec: String,
    /// Codec profile number (H.264 High is 100), or -99 when unknown.
    pub profile: i32,
    pub width: u32,
    pub height: u32,
    /// Pixel format name (`yuv420p`, `yuva420p` …) for video.
    pub pixel_format: String,
    /// Average frame rate for video.
    pub fps: f64,
    pub sample_rate: u32,
    pub channels: u16,
    /// Number of packets (for video: frames).
    pub packets: u64,
    /// From the first packet's start to the last packet's end, in milliseconds.
    pub duration_ms: u64,
    /// Whether the stream carries alpha (WebM `alpha_mode` tag or an alpha pixel format).
    pub alpha: bool,
}

/// A probed file.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaInfo {
    /// Container format names as FFmpeg lists them (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`).
    pub format: String,
    pub streams: Vec<StreamInfo>,
}

impl MediaInfo {
    /// The first stream of a kind.
    pub fn stream(&self, kind: StreamKind) -> Option<&StreamInfo> {
        self.streams.iter().find(|s| s.kind == kind)
    }
}

/// Reads a file's streams and measures their durations.
pub fn probe(path: &Path) -> Result<MediaInfo> {
    init();
    let mut input = ff(format!("opening {}", path.display()), format::input(path))?;
    let mut streams = Vec::new();
    for stream in input.streams() {
        let params = stream.parameters();
        let kind = match params.medium() {
            media::Type::Video => StreamKind::Video,
            media::Type::Audio => StreamKind::Audio,
            _ => StreamKind::Other,
        };
        let ctx = ff("reading stream parameters", codec::context::Context::from_parameters(params.clone()))?;
        let mut info = StreamInfo {
            kind,
            codec: params.id().name().to_string(),
            profile: -99,
            width: 0,
            height: 0,
            pixel_format: String::new(),
            fps: 0.0,
            sample_rate: 0,
            channels: 0,
            packets: 0,
            duration_ms: 0,
            alpha: stream.metadata().get("alpha_mode").is_some_and(|v| v == "1"),
        };
        // SAFETY: codecpar is valid for the life of the stream; we only read plain fields.
        info.profile = unsafe { (*params.as_ptr()).profile };
        match kind {
            StreamKind::Video => {
                if let Ok(v) = ctx.decoder().video() {
                    info.width = v.width();
                    info.height = v.height();
                    info.pixel_format = v.format().descriptor().map(|d| d.name().to_string()).unwrap_or_default();
                    info.alpha |= info.pixel_format.starts_with("yuva");
                }
                // The nominal rate (ffprobe's r_frame_rate); the average can be skewed by edit lists.
                let r = stream.rate();
                if r.denominator() != 0 {
                    info.fps = r.numerator() as f64 / r.denominator() as f64;
                }
            }
            StreamKind::Audio => {
                if let Ok(a) = ctx.decoder().audio() {
                    info.sample_rate = a.rate();
                    info.channels = a.channels();
                }
            }
            StreamKind::Other => {}
        }
        streams.push(info);
    }
    // Measure each stream from its packets.
    let bases: Vec<(i32, i32)> =
        input.streams().map(|s| (s.time_base().numerator(), s.time_base().denominator())).collect();
    let mut spans: Vec<Option<(i64, i64)>> = vec![None; streams.len()];
    for (stream, packet) in input.packets() {
        let i = stream.index();
        let Some(pts) = packet.pts().or(packet.dts()) else { continue };
        let end = pts + packet.duration().max(0);
        if let Some(info) = streams.get_mut(i) {
            info.packets += 1;
        }
        if let Some(span) = spans.get_mut(i) {
            *span = Some(match *span {
                None => (pts, end),
                Some((a, b)) => (a.min(pts), b.max(end)),
            });
        }
    }
    for (i, info) in streams.iter_mut().enumerate() {
        if let (Some(Some((a, b))), Some(&(num, den))) = (spans.get(i), bases.get(i)) {
            if den != 0 {
                info.duration_ms = ((b - a).max(0) as i128 * num as i128 * 1000 / den as i128) as u64;
            }
        }
    }
    let format = input.format().name().to_string();
    Ok(MediaInfo { format, streams })
}
