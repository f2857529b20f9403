//! Decoding media files: whole audio tracks to interleaved `f32` PCM at a chosen rate, and video to RGBA frames
//! (with alpha from VP8/VP9 WebM when present).

use std::path::{Path, PathBuf};

use ffmpeg_next::format::{sample::Type, Pixel, Sample};
use ffmpeg_next::software::{resampling, scaling};
use ffmpeg_next::{codec, decoder, format, frame, media, ChannelLayout, Packet};

use crate::{ff, init, Error, Result};

/// Decodes the first audio stream of `path` to interleaved `f32` at `rate` Hz with `channels` (1 or 2).
///
/// Lenient, as players are: damaged packets are skipped and a short file plays as far as it goes. Use
/// [`decode_audio_track`] to learn about damage and truncation.
pub fn decode_audio(path: &Path, rate: u32, channels: u16) -> Result<Vec<f32>> {
    decode_audio_track(path, rate, channels, None).map(|t| t.samples)
}

/// A decoded audio track and what decoding it found.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioTrack {
    /// Interleaved `f32` at the rate and channels asked for.
    pub samples: Vec<f32>,
    /// The length the file declares in its header (WAV's data size, a FLAC or MP4 header, an MP3 Xing/Info
    /// frame count, the last Ogg page), in milliseconds; `None` when it declares none (FFmpeg would only
    /// estimate it from the bitrate).
    pub declared_ms: Option<u64>,
    /// Packets the decoder refused (damaged data), and the stream time of the first, in milliseconds.
    pub damaged_packets: u64,
    pub first_damage_ms: Option<u64>,
    /// The longest decoded frame, in milliseconds (codec frames are the unit of encoder padding).
    pub max_frame_ms: u64,
    /// Decoding stopped at the `max_ms` asked for: the file is longer.
    pub cut: bool,
}

impl AudioTrack {
    /// The decoded length in milliseconds at `rate` Hz and `channels`.
    pub fn duration_ms(&self, rate: u32, channels: u16) -> u64 {
        let frames = self.samples.len() as u64 / u64::from(channels.clamp(1, 2));
        frames * 1000 / u64::from(rate.max(1))
    }
}

/// Decodes the first audio stream of `path` like [`decode_audio`], but counts damaged packets instead of only
/// skipping them, reports the length the file declares, and stops once `max_ms` (if given) is decoded.
pub fn decode_audio_track(path: &Path, rate: u32, channels: u16, max_ms: Option<u64>) -> Result<AudioTrack> {
    init();
    if rate == 0 {
        return Err(Error::Invalid("sample rates must be positive".into()));
    }
    let mut input = ff(format!("opening {}", path.display()), format::input(path))?;
    let stream = input
        .streams()
        .best(media::Type::Audio)
        .ok_or_else(|| Error::NoStream { path: path.to_path_buf(), kind: "audio" })?;
    let index = stream.index();
    let tb = stream.time_base();
    let declared_ms = declared_duration_ms(path, &input, &stream);
    let ctx = ff("reading audio parameters", codec::context::Context::from_parameters(stream.parameters()))?;
    let mut dec = ff(format!("opening the audio decoder of {}", path.display()), ctx.decoder().audio())?;
    let out_layout = if channels == 1 { ChannelLayout::MONO } else { ChannelLayout::STEREO };
    let packed = Sample::F32(Type::Packed);
    let och = channels.clamp(1, 2) as usize;
    let limit = max_ms.map(|ms| (ms.saturating_mul(u64::from(rate)) / 1000 + 1) as usize * och);
    let mut st = DecodeState { resampler: None, out: Vec::new(), damaged: 0, first_damage_ms: None, max_frame_ms: 0 };
    let take = |dec: &mut decoder::Audio, st: &mut DecodeState, at_ms: Option<u64>| -> Result<()> {
        let mut decoded = frame::Audio::empty();
        loop {
            match dec.receive_frame(&mut decoded) {
                Ok(()) => {}
                Err(ffmpeg_next::Error::Eof) => break,
                Err(ffmpeg_next::Error::Other { errno }) if errno == ffmpeg_next::util::error::EAGAIN => break,
                Err(_) => {
                    st.damage(at_ms);
                    break;
                }
            }
            if decoded.channel_layout().is_empty() {
                decoded.set_channel_layout(ChannelLayout::default(decoded.channels() as i32));
            }
            let in_rate = decoded.rate().max(1);
            st.max_frame_ms = st.max_frame_ms.max(decoded.samples() as u64 * 1000 / u64::from(in_rate));
            if st.resampler.is_none() {
                st.resampler = Some(ff(
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
            let Some(r) = st.resampler.as_mut() else { continue };
            let capacity = decoded.samples() * rate as usize / in_rate as usize + 256;
            let mut converted = crate::resample::output_frame(capacity, out_layout, rate);
            ff("resampling", r.run(&decoded, &mut converted))?;
            crate::resample::append_packed(&converted, och, &mut st.out);
        }
        Ok(())
    };
    let mut cut = false;
    for (s, packet) in input.packets() {
        if s.index() != index {
            continue;
        }
        let at_ms = packet.pts().or(packet.dts()).map(|t| {
            let ms = t as i128 * tb.numerator() as i128 * 1000 / (tb.denominator() as i128).max(1);
            ms.max(0) as u64
        });
        if dec.send_packet(&packet).is_err() {
            st.damage(at_ms); // a damaged packet: skip it, as players do
            continue;
        }
        take(&mut dec, &mut st, at_ms)?;
        if limit.is_some_and(|l| st.out.len() > l) {
            cut = true;
            break;
        }
    }
    if !cut {
        let _ = dec.send_eof();
        take(&mut dec, &mut st, None)?;
        if let Some(r) = st.resampler.as_mut() {
            loop {
                let mut converted = crate::resample::output_frame(4096, out_layout, rate);
                match r.flush(&mut converted) {
                    Ok(_) if converted.samples() > 0 => crate::resample::append_packed(&converted, och, &mut st.out),
                    _ => break,
                }
            }
        }
    }
    Ok(AudioTrack {
        samples: st.out,
        declared_ms,
        damaged_packets: st.damaged,
        first_damage_ms: st.first_damage_ms,
        max_frame_ms: st.max_frame_ms,
        cut,
    })
}

struct DecodeState {
    resampler: Option<resampling::Context>,
    out: Vec<f32>,
    damaged: u64,
    first_damage_ms: Option<u64>,
    max_frame_ms: u64,
}

impl DecodeState {
    fn damage(&mut self, at_ms: Option<u64>) {
        self.damaged += 1;
        if self.first_damage_ms.is_none() {
            self.first_damage_ms = at_ms;
        }
    }
}

/// The length an audio file declares, in milliseconds: for WAV its RIFF header's data size (FFmpeg shortens a
/// cut WAV's duration to what is there), otherwise the stream's or the container's duration unless FFmpeg only
/// estimated it from the bitrate.
fn declared_duration_ms(path: &Path, input: &format::context::Input, stream: &format::stream::Stream) -> Option<u64> {
    if input.format().name() == "wav" {
        return wav_declared_ms(path);
    }
    // SAFETY: the format context is valid while `input` lives; this reads one plain field.
    let method = unsafe { (*input.as_ptr()).duration_estimation_method };
    if method == ffmpeg_next::ffi::AVDurationEstimationMethod::AVFMT_DURATION_FROM_BITRATE {
        return None;
    }
    let tb = stream.time_base();
    let d = stream.duration();
    if d > 0 && tb.denominator() > 0 {
        return Some((d as i128 * tb.numerator() as i128 * 1000 / tb.denominator() as i128) as u64);
    }
    let d = input.duration();
    (d > 0).then(|| (d as i128 * 1000 / i128::from(ffmpeg_next::ffi::AV_TIME_BASE)) as u64)
}

/// A RIFF WAVE file's declared length: the `data` chunk's size over the `fmt ` chunk's byte rate. `None` for a
/// streamed WAV (size 0 or 0xFFFFFFFF) or a header it cannot read.
fn wav_declared_ms(path: &Path) -> Option<u64> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path).ok()?.take(64 * 1024).read_to_end(&mut head).ok()?;
    if head.get(0..4)? != b"RIFF" || head.get(8..12)? != b"WAVE" {
        return None;
    }
    let le32 = |i: usize| head.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut at = 12;
    let mut byte_rate = None;
    while at + 8 <= head.len() {
        let id = head.get(at..at + 4)?;
        let size = le32(at + 4)?;
        match id {
            b"fmt " => byte_rate = le32(at + 8 + 8),
            b"data" => {
                let rate = u64::from(byte_rate.filter(|&r| r > 0)?);
                return (size != 0 && size != u32::MAX).then(|| u64::from(size) * 1000 / rate);
            }
            _ => {}
        }
        at += 8 + size as usize + (size as usize & 1);
    }
    None
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
            let mut scaler = ff(
                "creating a scaler",
                scaling::Context::get(decoded.format(), w, h, Pixel::RGBA, w, h, scaling::Flags::BILINEAR),
            )?;
            set_colorspace(&mut scaler, decoded);
            self.scaler = Some(scaler);
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

/// Makes the scaler read YUV with the matrix and range the frame declares (BT.709 when unspecified at 720 lines
/// or more, as FFmpeg's players assume; BT.601 below), instead of swscale's default of BT.601 limited range.
fn set_colorspace(scaler: &mut scaling::Context, frame: &frame::Video) {
    use ffmpeg_next::color::{Range, Space};
    use ffmpeg_next::ffi;
    let space = match frame.color_space() {
        Space::BT709 => ffi::SWS_CS_ITU709,
        Space::BT2020NCL | Space::BT2020CL => ffi::SWS_CS_BT2020,
        Space::Unspecified if frame.height() >= 720 => ffi::SWS_CS_ITU709,
        _ => ffi::SWS_CS_DEFAULT,
    };
    let full_range = i32::from(frame.color_range() == Range::JPEG || frame.format() == Pixel::YUVJ420P);
    // SAFETY: the context pointer is valid for the scaler's life; the coefficient tables are static FFmpeg data.
    unsafe {
        ffi::sws_setColorspaceDetails(
            scaler.as_mut_ptr(),
            ffi::sws_getCoefficients(space),
            full_range,
            ffi::sws_getCoefficients(ffi::SWS_CS_DEFAULT),
            1,
            0,
            1 << 16,
            1 << 16,
        );
    }
}
