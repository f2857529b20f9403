//! Decoding media files: whole audio tracks to interleaved `f32` PCM at a chosen rate, and video to RGBA frames
//! (with alpha from VP8/VP9 WebM when present).

use std::path::{Path, PathBuf};

use ffmpeg_next::format::{sample::Type, Pixel, Sample};
use ffmpeg_next::software::{resampling, scaling};
use ffmpeg_next::{codec, decoder, format, frame, media, ChannelLayout, Packet};

use crate::{ff, init, Error, Result};

/// Decodes the first audio stream of `path` to interleaved `f32` at `rate` Hz with `channels` (1 or 2).
pub fn decode_audio(path: &Path, rate: u32, channels: u16) -> Result<Vec<f32>> {
    init();
    let mut input = ff(format!("opening {}", path.display()), format::input(path))?;
    let stream = input
        .streams()
        .best(media::Type::Audio)
        .ok_or_else(|| Error::NoStream { path: path.to_path_buf(), kind: "audio" })?;
    let index = stream.index();
    let ctx = ff("reading audio parameters", codec::context::Context::from_parameters(stream.parameters()))?;
    let mut dec = ff(format!("opening the audio decoder of {}", path.display()), ctx.decoder().audio())?;
    let out_layout = if channels == 1 { ChannelLayout::MONO } else { ChannelLayout::STEREO };
    let packed = Sample::F32(Type::Packed);
    let mut resampler: Option<resampling::Context> = None;
    let mut out = Vec::new();
    let och = channels.clamp(1, 2) as usize;
    let take =
        |dec: &mut decoder::Audio, resampler: &mut Option<resampling::Context>, out: &mut Vec<f32>| -> Result<()> {
            let mut decoded = frame::Audio::empty();
            while dec.receive_frame(&mut decoded).is_ok() {
                if decoded.channel_layout().is_empty() {
                    decoded.set_channel_layout(ChannelLayout::default(decoded.channels() as i32));
                }
                if resampler.is_none() {
                    *resampler = Some(ff(
                        "creating a resampler",
                        resampling::Context::get(
                            decoded.format(),
                            decoded.channel_layout(),
                            decoded.rate(),
                            packed,
                            out_layout,
                            rate,
                        ),
                    )?);
                }
                let Some(r) = resampler.as_mut() else { continue };
                let capacity = decoded.samples() * rate as usize / decoded.rate().max(1) as usize + 256;
                let mut converted = crate::resample::output_frame(capacity, out_layout, rate);
                ff("resampling", r.run(&decoded, &mut converted))?;
                crate::resample::append_packed(&converted, och, out);
            }
            Ok(())
        };
    for (s, packet) in input.packets() {
        if s.index() != index {
            continue;
        }
        if dec.send_packet(&packet).is_err() {
            continue; // a damaged packet: skip it, as players do
        }
        take(&mut dec, &mut resampler, &mut out)?;
    }
    let _ = dec.send_eof();
    take(&mut dec, &mut resampler, &mut out)?;
    if let Some(r) = resampler.as_mut() {
        loop {
            let mut converted = crate::resample::output_frame(4096, out_layout, rate);
            match r.flush(&mut converted) {
                Ok(_) if converted.samples() > 0 => crate::resample::append_packed(&converted, och, &mut out),
                _ => break,
            }
        }
    }
    Ok(out)
}

/// An RGBA video frame (straight alpha, rows of `width * 4` bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct RgbaFrame {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
    /// Presentation time in milliseconds.
    pub pts_ms: i64,
}

/// Reads the frames of a video file as RGBA.
pub struct VideoReader {
    path: PathBuf,
    input: format::context::Input,
    index: usize,
    decoder: decoder::Video,
    scaler: Option<scaling::Context>,
    time_base: (i32, i32),
    eof: bool,
    /// Whether the decoder produces an alpha channel.
    pub alpha: bool,
}

impl std::fmt::Debug for VideoReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoReader").field("path", &self.path).field("alpha", &self.alpha).finish_non_exhaustive()
    }
}

impl VideoReader {
    /// Opens the best video stream of `path`. VP8/VP9 use libvpx, which decodes WebM alpha.
    pub fn open(path: &Path) -> Result<VideoReader> {
        init();
        let input = ff(format!("opening {}", path.display()), format::input(path))?;
        let stream = input
            .streams()
            .best(media::Type::Video)
            .ok_or_else(|| Error::NoStream { path: path.to_path_buf(), kind: "video" })?;
        let index = stream.index();
        let params = stream.parameters();
        let tb = stream.time_base();
        let alpha_tag = stream.metadata().get("alpha_mode").is_some_and(|v| v == "1");
        let libvpx = match params.id() {
            codec::Id::VP8 => ffmpeg_next::decoder::find_by_name("libvpx"),
            codec::Id::VP9 => ffmpeg_next::decoder::find_by_name("libvpx-vp9"),
            _ => None,
        };
        let ctx = ff("reading video parameters", codec::context::Context::from_parameters(params))?;
        let decoder = match libvpx {
            Some(c) if alpha_tag => ff("opening libvpx", ctx.decoder().open_as(c).and_then(|o| o.video()))?,
            _ => ff(format!("opening the video decoder of {}", path.display()), ctx.decoder().video())?,
        };
        Ok(VideoReader {
            path: path.to_path_buf(),
            input,
            index,
            decoder,
            scaler: None,
            time_base: (tb.numerator(), tb.denominator()),
            eof: false,
            alpha: alpha_tag,
        })
    }

    /// The next frame, or `None` at the end.
    pub fn next_frame(&mut self) -> Result<Option<RgbaFrame>> {
        loop {
            let mut decoded = frame::Video::empty();
            if self.decoder.receive_frame(&mut decoded).is_ok() {
                return self.convert(&decoded).map(Some);
            }
            if self.eof {
                return Ok(None);
            }
            let mut got = false;
            let mut packet = Packet::empty();
            while packet.read(&mut self.input).is_ok() {
                if packet.stream() == self.index {
                    got = true;
                    break;
                }
            }
            if got {
                let _ = self.decoder.send_packet(&packet);
            } else {
                self.eof = true;
                let _ = self.decoder.send_eof();
            }
        }
    }

    fn convert(&mut self, decoded: &frame::Video) -> Result<RgbaFrame> {
        let (w, h) = (decoded.width(), decoded.height());
        if decoded.format() == Pixel::YUVA420P {
            self.alpha = true;
        }
        if self.scaler.is_none() {
            self.scaler = Some(ff(
                "creating a scaler",
                scaling::Context::get(decoded.format(), w, h, Pixel::RGBA, w, h, scaling::Flags::BILINEAR),
            )?);
        }
        let mut rgba = frame::Video::empty();
        if let Some(s) = self.scaler.as_mut() {
            ff("converting to RGBA", s.run(decoded, &mut rgba))?;
        }
        let stride = rgba.stride(0);
        let row = w as usize * 4;
        let mut data = Vec::with_capacity(row * h as usize);
        for y in 0..h as usize {
            data.extend_from_slice(&rgba.data(0)[y * stride..y * stride + row]);
        }
        let pts = decoded.timestamp().or(decoded.pts()).unwrap_or(0);
        let (num, den) = self.time_base;
        let pts_ms = if den == 0 { 0 } else { (pts as i128 * num as i128 * 1000 / den as i128) as i64 };
        Ok(RgbaFrame { width: w, height: h, data, pts_ms })
    }
}
