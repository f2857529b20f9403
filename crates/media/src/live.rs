//! Encoders for live streams: video frames and audio become packets (not a file) for WebRTC and RTMP.
//!
//! * [`LiveVideoEncoder`]: H.264 Constrained Baseline (libx264, `tune=zerolatency`, SPS and PPS before every
//!   IDR, Annex-B) or VP8 (libvpx, `deadline=realtime`, error resilient); no B-frames and no look-ahead, so
//!   every frame comes out as soon as it goes in. A caller asks for a keyframe on any frame (a viewer joined
//!   or lost packets).
//! * [`OpusEncoder`]: 48 kHz stereo Opus in 20 ms packets.
//!
//! Both are synchronous and CPU-bound, like the rest of this crate.

use ffmpeg_next::codec::{self, threading};
use ffmpeg_next::format::{Pixel, Sample};
use ffmpeg_next::util::color;
use ffmpeg_next::{encoder, frame, Dictionary, Packet, Rational};

use crate::encode::{audio_frame, frame_planes, pick_sample_format, Planes};
use crate::{ff, init, Error, Result};

/// The video codecs of live streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiveCodec {
    /// H.264 Constrained Baseline (what every WebRTC browser decodes, and what RTMP carries).
    H264,
    /// VP8.
    Vp8,
}

impl LiveCodec {
    /// Both codecs, in the order doppel prefers them for a browser that offers both.
    pub const ALL: [LiveCodec; 2] = [LiveCodec::Vp8, LiveCodec::H264];

    /// The codec's name as SDP writes it.
    pub fn name(self) -> &'static str {
        match self {
            LiveCodec::H264 => "H264",
            LiveCodec::Vp8 => "VP8",
        }
    }
}

/// One encoded packet: a whole access unit (H.264, Annex-B), frame (VP8) or 20 ms of Opus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePacket {
    pub data: Vec<u8>,
    /// In the encoder's time base: frames for video, samples at 48 kHz for audio.
    pub pts: i64,
    /// A keyframe (always true for audio).
    pub key: bool,
}

/// The settings of a [`LiveVideoEncoder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveVideoOptions {
    pub codec: LiveCodec,
    /// Even, non-zero.
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Target bitrate (constant, with a half-second buffer).
    pub bitrate_kbps: u32,
    /// A keyframe at least this often, in frames.
    pub gop: u32,
    /// x264 preset; `veryfast` by default, `ultrafast` for many streams on few cores.
    pub x264_preset: String,
    /// Encoder threads (slices for x264, tokens for VP8); 1 keeps one stream on one core.
    pub threads: usize,
}

impl Default for LiveVideoOptions {
    fn default() -> Self {
        LiveVideoOptions {
            codec: LiveCodec::Vp8,
            width: 720,
            height: 1280,
            fps: 25,
            bitrate_kbps: 2000,
            gop: 100,
            x264_preset: "veryfast".into(),
            threads: 1,
        }
    }
}

/// A real-time video encoder. Fill [`LiveVideoEncoder::planes`], then [`LiveVideoEncoder::encode`].
pub struct LiveVideoEncoder {
    encoder: encoder::Video,
    frame: frame::Video,
    next_pts: i64,
    codec: LiveCodec,
}

impl std::fmt::Debug for LiveVideoEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveVideoEncoder").field("codec", &self.codec).field("frames", &self.next_pts).finish()
    }
}

impl LiveVideoEncoder {
    /// Opens the encoder.
    pub fn new(opts: &LiveVideoOptions) -> Result<LiveVideoEncoder> {
        init();
        if opts.width == 0 || opts.height == 0 || !opts.width.is_multiple_of(2) || !opts.height.is_multiple_of(2) {
            return Err(Error::Invalid(format!("video size {}x{} must be non-zero and even", opts.width, opts.height)));
        }
        if opts.fps == 0 {
            return Err(Error::Invalid("frame rate must be positive".into()));
        }
        let (found, name) = match opts.codec {
            LiveCodec::H264 => (encoder::find_by_name("libx264"), "libx264 (H.264)"),
            LiveCodec::Vp8 => (encoder::find_by_name("libvpx"), "libvpx (VP8)"),
        };
        let vcodec = found.ok_or(Error::MissingCodec(name))?;
        let mut ctx = codec::context::Context::new_with_codec(vcodec);
        let kind = if opts.codec == LiveCodec::H264 { threading::Type::Slice } else { threading::Type::Frame };
        ctx.set_threading(threading::Config { kind, count: opts.threads.max(1), ..Default::default() });
        let mut video = ff("configuring the video encoder", ctx.encoder().video())?;
        video.set_width(opts.width);
        video.set_height(opts.height);
        video.set_format(Pixel::YUV420P);
        video.set_time_base(Rational::new(1, opts.fps as i32));
        video.set_frame_rate(Some(Rational::new(opts.fps as i32, 1)));
        video.set_gop(opts.gop.max(1));
        video.set_max_b_frames(0);
        video.set_colorspace(color::Space::BT709);
        video.set_color_range(color::Range::MPEG);
        video.set_color_primaries(color::Primaries::BT709);
        video.set_color_transfer_characteristic(color::TransferCharacteristic::BT709);
        let bps = opts.bitrate_kbps.max(50) as usize * 1000;
        video.set_bit_rate(bps);
        video.set_max_bit_rate(bps);
        let mut o = Dictionary::new();
        match opts.codec {
            LiveCodec::H264 => {
                o.set("preset", &opts.x264_preset);
                o.set("tune", "zerolatency");
                o.set("profile", "baseline");
                o.set("forced-idr", "1");
                o.set("bufsize", &format!("{}k", opts.bitrate_kbps.max(50) / 2));
                // A new GOP only where asked or every `gop` frames: scene cuts are not a live avatar's business.
                o.set("x264-params", "scenecut=0");
            }
            LiveCodec::Vp8 => {
                o.set("deadline", "realtime");
                o.set("cpu-used", "8");
                o.set("lag-in-frames", "0");
                o.set("auto-alt-ref", "0");
                o.set("error-resilient", "1");
                o.set("max-intra-rate", "300");
                o.set("minrate", &format!("{}k", opts.bitrate_kbps.max(50)));
                o.set("bufsize", &format!("{}k", opts.bitrate_kbps.max(50) / 2));
            }
        }
        let encoder = ff(format!("opening {name}"), video.open_with(o))?;
        let frame = frame::Video::new(Pixel::YUV420P, opts.width, opts.height);
        Ok(LiveVideoEncoder { encoder, frame, next_pts: 0, codec: opts.codec })
    }

    /// The codec.
    pub fn codec(&self) -> LiveCodec {
        self.codec
    }

    /// The planes of the next frame (BT.709, limited range); they keep the previous frame's content.
    pub fn planes(&mut self) -> Planes<'_> {
        frame_planes(&mut self.frame)
    }

    /// Encodes the frame filled through [`LiveVideoEncoder::planes`]; `keyframe` forces an IDR (H.264) or a
    /// key frame (VP8). The packets that came out are appended to `out` (with these settings, the frame's own).
    pub fn encode(&mut self, keyframe: bool, out: &mut Vec<LivePacket>) -> Result<()> {
        self.frame.set_pts(Some(self.next_pts));
        self.frame.set_kind(if keyframe { ffmpeg_next::picture::Type::I } else { ffmpeg_next::picture::Type::None });
        self.next_pts += 1;
        ff("encoding a video frame", self.encoder.send_frame(&self.frame))?;
        let mut packet = Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            if let Some(data) = packet.data() {
                out.push(LivePacket { data: data.to_vec(), pts: packet.pts().unwrap_or(0), key: packet.is_key() });
            }
        }
        Ok(())
    }
}

/// Opus at 48 kHz, stereo, in 20 ms packets.
pub struct OpusEncoder {
    encoder: encoder::Audio,
    format: Sample,
    pending: Vec<f32>,
    pts: i64,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder").field("pts", &self.pts).finish_non_exhaustive()
    }
}

impl OpusEncoder {
    /// Samples per channel in one packet.
    pub const FRAME: usize = 960;
    /// The sample rate.
    pub const RATE: u32 = 48_000;

    /// Opens libopus at `bitrate_kbps`.
    pub fn new(bitrate_kbps: u32) -> Result<OpusEncoder> {
        init();
        let acodec = encoder::find_by_name("libopus").ok_or(Error::MissingCodec("libopus (Opus)"))?;
        let format = pick_sample_format(&acodec, "libopus")?;
        let mut ctx = codec::context::Context::new_with_codec(acodec);
        ctx.set_threading(threading::Config::default());
        let mut enc = ff("configuring the audio encoder", ctx.encoder().audio())?;
        enc.set_rate(Self::RATE as i32);
        enc.set_channel_layout(ffmpeg_next::ChannelLayout::STEREO);
        enc.set_format(format);
        enc.set_bit_rate(bitrate_kbps.clamp(16, 256) as usize * 1000);
        enc.set_time_base(Rational::new(1, Self::RATE as i32));
        let mut o = Dictionary::new();
        o.set("application", "lowdelay");
        o.set("frame_duration", "20");
        let encoder = ff("opening libopus", enc.open_with(o))?;
        Ok(OpusEncoder { encoder, format, pending: Vec::new(), pts: 0 })
    }

    /// Queues interleaved stereo samples at 48 kHz; every full 20 ms becomes a packet appended to `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<LivePacket>) -> Result<()> {
        self.pending.extend_from_slice(samples);
        let chunk = Self::FRAME * 2;
        while self.pending.len() >= chunk {
            let frame_samples: Vec<f32> = self.pending.drain(..chunk).collect();
            let mut frame = audio_frame(self.format, 2, Self::FRAME, Self::RATE, &frame_samples)?;
            frame.set_pts(Some(self.pts));
            self.pts += Self::FRAME as i64;
            ff("encoding audio", self.encoder.send_frame(&frame))?;
            let mut packet = Packet::empty();
            while self.encoder.receive_packet(&mut packet).is_ok() {
                if let Some(data) = packet.data() {
                    out.push(LivePacket { data: data.to_vec(), pts: packet.pts().unwrap_or(0), key: true });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(enc: &mut LiveVideoEncoder, shade: u8) {
        let p = enc.planes();
        p.y.0.fill(shade);
        p.u.0.fill(128);
        p.v.0.fill(128);
    }

    #[test]
    fn video_packets_come_out_at_once_and_keyframes_on_demand() {
        for codec in LiveCodec::ALL {
            let opts = LiveVideoOptions { codec, width: 320, height: 240, gop: 1000, ..Default::default() };
            let mut enc = LiveVideoEncoder::new(&opts).unwrap();
            let mut keys = Vec::new();
            for i in 0..30u8 {
                fill(&mut enc, 16 + i * 4);
                let mut out = Vec::new();
                enc.encode(i == 20, &mut out).unwrap();
                assert_eq!(out.len(), 1, "{codec:?}: frame {i} must come out at once (no delay)");
                assert_eq!(out[0].pts, i as i64);
                if out[0].key {
                    keys.push(i);
                }
            }
            assert_eq!(keys, vec![0, 20], "{codec:?}: keyframes only first and where asked");
        }
    }

    #[test]
    fn h264_is_annex_b_constrained_baseline_with_headers_on_every_idr() {
        let opts = LiveVideoOptions { codec: LiveCodec::H264, width: 320, height: 240, ..Default::default() };
        let mut enc = LiveVideoEncoder::new(&opts).unwrap();
        let mut out = Vec::new();
        for i in 0..3 {
            fill(&mut enc, 100);
            enc.encode(i == 2, &mut out).unwrap();
        }
        for k in [0, 2] {
            let d = &out[k].data;
            assert!(d.starts_with(&[0, 0, 0, 1]) || d.starts_with(&[0, 0, 1]), "Annex-B start code");
            // The SPS (NAL type 7): profile_idc 66 (baseline) with constraint_set1 (constrained).
            let sps = d.windows(4).position(|w| w[..3] == [0, 0, 1] && w[3] & 0x1f == 7).expect("an SPS");
            assert_eq!(d[sps + 4], 66, "profile_idc");
            assert!(d[sps + 5] & 0x40 != 0, "constraint_set1_flag");
        }
    }

    #[test]
    fn opus_makes_20_ms_packets() {
        let mut enc = OpusEncoder::new(64).unwrap();
        let mut out = Vec::new();
        let tone: Vec<f32> =
            (0..48_000).flat_map(|i| [((i as f32) * 0.0575).sin() * 0.3, ((i as f32) * 0.0575).sin() * 0.3]).collect();
        enc.push(&tone, &mut out).unwrap();
        assert!(out.len() >= 48, "{} packets for 1 s", out.len());
        assert!(out.windows(2).all(|w| w[1].pts - w[0].pts == 960));
    }
}
