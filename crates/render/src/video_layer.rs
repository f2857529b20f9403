//! VIDEO layers (`layer_config[].video_config`): a video file played inside a scene, its pictures scaled to the
//! layer's size in output pixels and its own sound laid out over the scene.
//!
//! # Timing and the loop rule
//!
//! A layer starts with its scene. Its pictures follow the video's own timestamps (made relative to the first
//! frame), whatever its frame rate: at scene time `t` the layer shows the last source frame whose timestamp is at
//! most `t`. One play lasts [`VideoLayer::duration_ms`] (the last frame's timestamp plus that frame's duration).
//!
//! MetaStudio documents `loop_count` only as "number of times that a video is played cyclically; 0: no, -1: yes"
//! with a range of -1–100. doppel reads it as follows:
//!
//! * `-1` (the default): the video loops for the whole scene.
//! * `0`: the video plays once; afterwards the layer holds its last frame and its sound is silent.
//! * `N` (1–100): the video plays `N + 1` times (N repetitions after the first play), then holds its last frame
//!   and falls silent.
//!
//! Any other negative value also loops forever (the script validator rejects values outside -1–100 before
//! rendering). [`VideoLayer::play_ms`] gives the time the plays take, for `is_play_the_entire_video`.
//!
//! The sound ([`VideoLayer::audio`]) follows the same rule with the same period as the pictures (the video
//! stream's duration), so picture and sound stay together across loops; `video_sound` is its volume in percent
//! (0, the default, mutes it).
//!
//! # Memory
//!
//! All frames of a layer are decoded once and kept, already scaled, as premultiplied [`Pixmap`]s: a 10 s video at
//! 25 fps shown at 480x270 takes about 130 MB. A layer is limited to [`MAX_DURATION_MS`] (60 s),
//! [`MAX_FRAMES`] frames and [`MAX_BYTES`] of scaled frames; a longer or larger one is an error that says so.

use std::path::Path;

use doppel_media::decode::{decode_audio, RgbaFrame, VideoReader};
use doppel_media::{StreamInfo, StreamKind};
use tiny_skia::{BlendMode, FilterQuality, Pixmap, PixmapPaint, Transform};

use crate::{Error, Result};

/// The longest video a layer may hold, in milliseconds of its own timeline.
pub const MAX_DURATION_MS: u32 = 60_000;
/// The most frames a layer may hold (60 s at 25 fps).
pub const MAX_FRAMES: usize = 1500;
/// The most memory the scaled frames of one layer may take, in bytes (2 GiB).
pub const MAX_BYTES: u64 = 2 << 30;
/// Sample rate of [`VideoLayer::audio`].
pub const AUDIO_RATE: u32 = 48_000;
/// Channels of [`VideoLayer::audio`] (interleaved stereo).
pub const AUDIO_CHANNELS: u16 = 2;

/// The duration of a single frame when nothing better is known (25 fps).
const DEFAULT_FRAME_MS: u32 = 40;

/// A decoded video layer: every frame scaled to the layer's size, with its time in the video.
pub struct VideoLayer {
    /// (timestamp in ms from the first frame, frame), sorted by timestamp; the first is at 0.
    frames: Vec<(u32, Pixmap)>,
    duration_ms: u32,
    loop_count: i64,
    width: u32,
    height: u32,
}

impl std::fmt::Debug for VideoLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoLayer")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("frames", &self.frames.len())
            .field("duration_ms", &self.duration_ms)
            .field("loop_count", &self.loop_count)
            .finish()
    }
}

/// Where time `t` falls within one play of length `period` under the loop rule: `Some(offset)` while the video
/// plays, `None` once its plays are over.
fn position(t: u64, period: u64, loop_count: i64) -> Option<u64> {
    let period = period.max(1);
    if loop_count >= 0 && t / period > loop_count as u64 {
        return None;
    }
    Some(t % period)
}

/// The video stream of `path` as probed from its packets, or `None` when the file cannot tell.
fn probe_video(path: &Path) -> Option<StreamInfo> {
    doppel_media::probe(path).ok()?.stream(StreamKind::Video).cloned()
}

/// The length of one play of a probed video stream, in ms. When the container leaves packet durations out
/// (WebM), the span of the timestamps misses the last frame; the nominal length (packets / frame rate) makes up
/// for it.
fn period_ms(v: &StreamInfo) -> Option<u32> {
    let mut ms = v.duration_ms as f64;
    if v.fps > 0.0 && v.packets > 0 {
        ms = ms.max(v.packets as f64 * 1000.0 / v.fps);
    }
    (ms >= 1.0).then(|| ms.round().min(u32::MAX as f64) as u32)
}

impl VideoLayer {
    /// Decodes the video at `path` and scales every frame to `target_w`×`target_h` output pixels, premultiplied
    /// (bilinear; shrinking by 2× or more halves first, averaging 2×2 blocks). `loop_count` follows the
    /// [loop rule](self). `field` is the JSON path of the layer's `video_url`; errors name it and the file: a
    /// missing, empty, undecodable or too long video, or an empty target size.
    pub fn open(path: &Path, target_w: u32, target_h: u32, loop_count: i64, field: &str) -> Result<VideoLayer> {
        let err = |message: String| Error::asset(field, path, message);
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(err("not a file".into())),
            Err(e) => return Err(err(format!("cannot read the video: {e}"))),
        }
        if target_w == 0 || target_h == 0 {
            return Err(err(format!("the video layer's size {target_w}x{target_h} is empty")));
        }
        let frame_bytes = target_w as u64 * target_h as u64 * 4;
        let mut reader = VideoReader::open(path).map_err(|e| err(format!("not a playable video: {e}")))?;
        let mut scaler = Scaler::new(target_w, target_h);
        let mut frames: Vec<(u32, Pixmap)> = Vec::new();
        let mut first_pts: Option<i64> = None;
        loop {
            let frame = match reader.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(err(format!("decoding failed after {} frames: {e}", frames.len()))),
            };
            if frame.width == 0 || frame.height == 0 {
                continue;
            }
            let first = *first_pts.get_or_insert(frame.pts_ms);
            let pts = (frame.pts_ms - first).max(0);
            if pts >= MAX_DURATION_MS as i64 {
                return Err(err(format!("video layer longer than {} s", MAX_DURATION_MS / 1000)));
            }
            if frames.len() >= MAX_FRAMES {
                return Err(err(format!("video layer has more than {MAX_FRAMES} frames (60 s at 25 fps)")));
            }
            if (frames.len() as u64 + 1) * frame_bytes > MAX_BYTES {
                return Err(err(format!(
                    "video layer too large to hold: {} frames at {target_w}x{target_h} need more than {} MiB",
                    frames.len() + 1,
                    MAX_BYTES >> 20
                )));
            }
            let pixmap = scaler.scale(&frame, reader.alpha).ok_or_else(|| err("cannot scale a frame".into()))?;
            frames.push((pts as u32, pixmap));
        }
        if frames.is_empty() {
            return Err(err("the video has no frames".into()));
        }
        // Decoders return frames in presentation order; keep them sorted even if a file disagrees.
        frames.sort_by_key(|(pts, _)| *pts);
        let probed = probe_video(path);
        let mut last = frames.last().map_or(0, |(pts, _)| *pts);
        if frames.len() > 1 && last == 0 {
            // No timestamps (a raw stream): space the frames by the nominal frame rate.
            let fps = probed.as_ref().map_or(0.0, |v| v.fps);
            let step = if fps > 0.0 { 1000.0 / fps } else { DEFAULT_FRAME_MS as f64 };
            for (i, (pts, _)) in frames.iter_mut().enumerate() {
                *pts = (i as f64 * step).round() as u32;
            }
            last = frames.last().map_or(0, |(pts, _)| *pts);
        }
        let estimate = if frames.len() > 1 {
            let step = (last as f64 / (frames.len() - 1) as f64).round().max(1.0) as u32;
            last + step
        } else {
            DEFAULT_FRAME_MS
        };
        // The sound loops with the probed length (see `audio`), so prefer it whenever it covers every frame.
        let duration_ms = match probed.as_ref().and_then(period_ms) {
            Some(p) if p > last => p,
            _ => estimate,
        };
        Ok(VideoLayer { frames, duration_ms, loop_count, width: target_w, height: target_h })
    }

    /// The frame to show at scene time `t_ms`: the last frame whose timestamp is at most the time within the
    /// current play, or the last frame once the plays are over. `None` only for a layer without frames, which
    /// [`VideoLayer::open`] never returns.
    pub fn frame_at(&self, t_ms: u32) -> Option<&Pixmap> {
        let (_, last) = self.frames.last()?;
        let Some(local) = position(t_ms as u64, self.duration_ms as u64, self.loop_count) else {
            return Some(last);
        };
        let i = self.frames.partition_point(|(pts, _)| *pts as u64 <= local);
        self.frames.get(i.saturating_sub(1)).map(|(_, p)| p)
    }

    /// The length of one play, in ms.
    pub fn duration_ms(&self) -> u32 {
        self.duration_ms
    }

    /// How long the plays take in all (`duration_ms × (loop_count + 1)`), or `None` when the layer loops forever.
    /// A scene with `is_play_the_entire_video` lasts at least this long.
    pub fn play_ms(&self) -> Option<u32> {
        let plays = u32::try_from(self.loop_count).ok()?.saturating_add(1);
        Some(self.duration_ms.saturating_mul(plays))
    }

    /// The `loop_count` the layer was opened with.
    pub fn loop_count(&self) -> i64 {
        self.loop_count
    }

    /// The frames' width in output pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// The frames' height in output pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The number of decoded frames in one play.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// The layer's own sound over a scene of `scene_ms` ms: interleaved stereo `f32` at 48 kHz, exactly
    /// `scene_ms * 48` frames, scaled by `volume` percent (0–100; 0 is silence and reads nothing) and laid out
    /// with the [loop rule](self), one play lasting as long as the video stream. A video without sound gives
    /// silence. Errors (naming `field` and the file) when the sound cannot be decoded.
    pub fn audio(path: &Path, volume: u32, scene_ms: u32, loop_count: i64, field: &str) -> Result<Vec<f32>> {
        let ch = AUDIO_CHANNELS as usize;
        let frames = scene_ms as usize * (AUDIO_RATE / 1000) as usize;
        let mut out = vec![0.0f32; frames * ch];
        let gain = volume.min(100) as f32 / 100.0;
        if gain == 0.0 || frames == 0 {
            return Ok(out);
        }
        let pcm = match decode_audio(path, AUDIO_RATE, AUDIO_CHANNELS) {
            Ok(pcm) => pcm,
            Err(doppel_media::Error::NoStream { .. }) => return Ok(out),
            Err(e) => return Err(Error::asset(field, path, format!("cannot decode the video's sound: {e}"))),
        };
        let available = pcm.len() / ch;
        if available == 0 {
            return Ok(out);
        }
        // One play lasts as long as the video stream, so sound and pictures loop together.
        let period = match probe_video(path).as_ref().and_then(period_ms) {
            Some(ms) => ms as usize * (AUDIO_RATE / 1000) as usize,
            None => available,
        };
        let plays = usize::try_from(loop_count).map_or(usize::MAX, |n| n.saturating_add(1));
        let mut start = 0;
        for _ in 0..plays {
            if start >= frames {
                break;
            }
            let n = available.min(period).min(frames - start);
            for (d, s) in out[start * ch..(start + n) * ch].iter_mut().zip(&pcm) {
                *d = s * gain;
            }
            start += period;
        }
        Ok(out)
    }
}

/// Scales decoded frames to one size, reusing its buffers. The drawing is tiny-skia's, which is optimized even in
/// debug builds.
struct Scaler {
    target_w: u32,
    target_h: u32,
    /// The decoded frame, premultiplied.
    source: Option<Pixmap>,
    /// Successive halvings of the frame while it is 2× the target or more.
    levels: Vec<Pixmap>,
}

/// Draws all of `src` over all of `dst` (replacing its pixels), sampling bilinearly.
fn draw_scaled(src: &Pixmap, dst: &mut Pixmap) {
    let paint = PixmapPaint { quality: FilterQuality::Bilinear, blend_mode: BlendMode::Source, ..Default::default() };
    let sx = dst.width() as f32 / src.width() as f32;
    let sy = dst.height() as f32 / src.height() as f32;
    dst.draw_pixmap(0, 0, src.as_ref(), &paint, Transform::from_scale(sx, sy), None);
}

impl Scaler {
    fn new(target_w: u32, target_h: u32) -> Scaler {
        Scaler { target_w, target_h, source: None, levels: Vec::new() }
    }

    /// `frame` at the target size, premultiplied; `alpha` says whether the frame may be other than opaque.
    fn scale(&mut self, frame: &RgbaFrame, alpha: bool) -> Option<Pixmap> {
        let (sw, sh) = (frame.width, frame.height);
        let (tw, th) = (self.target_w, self.target_h);
        let bytes = sw as usize * sh as usize * 4;
        if frame.data.len() < bytes {
            return None;
        }
        if self.source.as_ref().is_none_or(|p| p.width() != sw || p.height() != sh) {
            self.source = Some(Pixmap::new(sw, sh)?);
        }
        let source = self.source.as_mut()?;
        if alpha {
            premultiply_into(&frame.data[..bytes], source.data_mut());
        } else {
            source.data_mut().copy_from_slice(&frame.data[..bytes]);
        }
        // Bilinear sampling skips pixels when shrinking by 2× or more, so halve first: sampling halfway between
        // pixels at exactly half the size averages each 2×2 block. The last step (under 2×) is bilinear.
        let mut level = 0;
        loop {
            let (done, rest) = self.levels.split_at_mut(level);
            let current = match done.last() {
                Some(p) => p,
                None => self.source.as_ref()?,
            };
            let (w, h) = (current.width(), current.height());
            let nw = if w >= 2 * tw { w / 2 } else { w };
            let nh = if h >= 2 * th { h / 2 } else { h };
            if (nw, nh) == (w, h) {
                break;
            }
            let fresh = match rest.first_mut() {
                Some(next) if (next.width(), next.height()) == (nw, nh) => {
                    draw_scaled(current, next);
                    None
                }
                _ => {
                    let mut next = Pixmap::new(nw, nh)?;
                    draw_scaled(current, &mut next);
                    Some(next)
                }
            };
            if let Some(next) = fresh {
                self.levels.truncate(level);
                self.levels.push(next);
            }
            level += 1;
        }
        let current = match level {
            0 => self.source.as_ref()?,
            n => self.levels.get(n - 1)?,
        };
        if (current.width(), current.height()) == (tw, th) {
            return Some(current.clone());
        }
        let mut out = Pixmap::new(tw, th)?;
        draw_scaled(current, &mut out);
        Some(out)
    }
}

/// Straight RGBA to premultiplied RGBA (same layout).
fn premultiply_into(src: &[u8], dst: &mut [u8]) {
    for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
        let a = s[3];
        match a {
            255 => d.copy_from_slice(s),
            0 => d.fill(0),
            _ => {
                let m = |c: u8| ((c as u32 * a as u32 + 127) / 255) as u8;
                d.copy_from_slice(&[m(s[0]), m(s[1]), m(s[2]), a]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_rule() {
        // Forever.
        assert_eq!(position(0, 1000, -1), Some(0));
        assert_eq!(position(2500, 1000, -1), Some(500));
        // Once, then hold.
        assert_eq!(position(999, 1000, 0), Some(999));
        assert_eq!(position(1000, 1000, 0), None);
        // N + 1 plays.
        assert_eq!(position(2999, 1000, 2), Some(999));
        assert_eq!(position(3000, 1000, 2), None);
    }

    #[test]
    fn shrinking_averages_instead_of_skipping_pixels() {
        // One-pixel columns, alternately opaque white and transparent: pure bilinear sampling at a third of the
        // size would land on whole pixels and keep only one kind.
        let (w, h) = (12u32, 2u32);
        let data: Vec<u8> = (0..w * h).flat_map(|i| if (i % w) % 2 == 0 { [255u8; 4] } else { [0u8; 4] }).collect();
        let frame = RgbaFrame { width: w, height: h, data, pts_ms: 0 };
        let out = Scaler::new(4, 1).scale(&frame, true).expect("scaled");
        assert_eq!((out.width(), out.height()), (4, 1));
        for px in out.pixels() {
            assert!(px.alpha().abs_diff(128) <= 2 && px.red() == px.alpha(), "{px:?}");
        }
    }

    #[test]
    fn premultiplies_straight_alpha() {
        let mut out = [0u8; 12];
        premultiply_into(&[200, 100, 50, 255, 200, 100, 50, 0, 200, 100, 50, 128], &mut out);
        assert_eq!(out, [200, 100, 50, 255, 0, 0, 0, 0, 100, 50, 25, 128]);
    }
}
