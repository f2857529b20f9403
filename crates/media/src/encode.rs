//! Encoding and muxing a video file from YUV frames and PCM audio: H.264 (High) + AAC in MP4 with faststart, or
//! VP8 + Opus in WebM, optionally with an alpha channel (VP8 only).

use std::path::{Path, PathBuf};

use ffmpeg_next::codec::{self, threading};
use ffmpeg_next::format::{self, Pixel, Sample};
use ffmpeg_next::util::color;
use ffmpeg_next::{encoder, frame, ChannelLayout, Dictionary, Packet, Rational};

use crate::{ff, init, Error, Result};

/// The video codec, which also decides the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    /// H.264 High profile in MP4 with AAC audio.
    H264,
    /// VP8 in WebM with Opus audio; the only one that carries alpha.
    Vp8,
}

impl VideoCodec {
    /// The container format name FFmpeg knows.
    pub fn container(self) -> &'static str {
        match self {
            VideoCodec::H264 => "mp4",
            VideoCodec::Vp8 => "webm",
        }
    }
}

/// What to encode.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeOptions {
    /// Frame size; both must be even (YUV 4:2:0).
    pub width: u32,
    pub height: u32,
    /// Frames per second (doppel always uses 25).
    pub fps: u32,
    pub codec: VideoCodec,
    /// Target average bitrate in kbit/s; `None` lets the encoder pick by quality.
    pub bitrate_kbps: Option<u32>,
    /// Encode an alpha channel (VP8 only): frames carry a fourth plane.
    pub alpha: bool,
    /// x264 preset (`ultrafast` … `veryslow`); doppel uses `veryfast`.
    pub x264_preset: String,
    /// Audio sample rate of the samples passed to [`Encoder::push_audio`]; `None` for no audio track.
    pub audio_rate: Option<u32>,
    /// Audio channels (1 or 2), interleaved in [`Encoder::push_audio`].
    pub audio_channels: u16,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            width: 1080,
            height: 1920,
            fps: 25,
            codec: VideoCodec::H264,
            bitrate_kbps: None,
            alpha: false,
            x264_preset: "veryfast".into(),
            audio_rate: Some(48_000),
            audio_channels: 2,
        }
    }
}

/// Mutable access to the planes of the next video frame: Y, U, V (and A with alpha), each with its stride.
#[derive(Debug)]
pub struct Planes<'a> {
    pub y: (&'a mut [u8], usize),
    pub u: (&'a mut [u8], usize),
    pub v: (&'a mut [u8], usize),
    pub a: Option<(&'a mut [u8], usize)>,
}

struct AudioOut {
    encoder: encoder::Audio,
    index: usize,
    channels: u16,
    frame_size: usize,
    format: Sample,
    /// Interleaved f32 samples waiting for a full frame.
    pending: Vec<f32>,
    pts: i64,
}

/// An open output file. Call [`Encoder::finish`] to complete it; dropping it without finishing removes the
/// partial file.
pub struct Encoder {
    path: PathBuf,
    tmp: PathBuf,
    octx: format::context::Output,
    video: encoder::Video,
    video_index: usize,
    video_tb: Rational,
    frame: frame::Video,
    frames: i64,
    audio: Option<AudioOut>,
    finished: bool,
    /// Writing to a URL ([`Encoder::stream_to`]): nothing to move into place or remove.
    streaming: bool,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("path", &self.path).field("frames", &self.frames).finish_non_exhaustive()
    }
}

impl Encoder {
    /// Opens `path` for writing (through `path.partial`).
    pub fn create(path: &Path, opts: &EncodeOptions) -> Result<Encoder> {
        Encoder::open(path, None, opts)
    }

    /// Streams to `url` in `format` (`flv` for `rtmp://…`): the same encoders, written as they come, with no
    /// file to move into place. H.264 with AAC only.
    pub fn stream_to(url: &str, format: &str, opts: &EncodeOptions) -> Result<Encoder> {
        if opts.codec != VideoCodec::H264 || opts.alpha {
            return Err(Error::Invalid("streaming is H.264 with AAC, without alpha".into()));
        }
        Encoder::open(Path::new(url), Some(format), opts)
    }

    fn open(path: &Path, stream_format: Option<&str>, opts: &EncodeOptions) -> Result<Encoder> {
        init();
        if opts.width == 0 || opts.height == 0 || !opts.width.is_multiple_of(2) || !opts.height.is_multiple_of(2) {
            return Err(Error::Invalid(format!("video size {}x{} must be non-zero and even", opts.width, opts.height)));
        }
        if opts.fps == 0 {
            return Err(Error::Invalid("frame rate must be positive".into()));
        }
        if opts.alpha && opts.codec != VideoCodec::Vp8 {
            return Err(Error::Invalid("an alpha channel needs the VP8 codec (WebM)".into()));
        }
        let tmp = if stream_format.is_some() { path.to_path_buf() } else { partial_path(path) };
        let container = stream_format.unwrap_or(opts.codec.container());
        let mut octx = ff(format!("opening {}", tmp.display()), format::output_as(&tmp, container))?;
        let global_header = octx.format().flags().contains(format::Flags::GLOBAL_HEADER);

        // Video.
        let (vcodec, vname) = match opts.codec {
            VideoCodec::H264 => (encoder::find_by_name("libx264"), "libx264 (H.264)"),
            VideoCodec::Vp8 => (encoder::find_by_name("libvpx"), "libvpx (VP8)"),
        };
        let vcodec = vcodec.ok_or(Error::MissingCodec(vname))?;
        let pixel = if opts.alpha { Pixel::YUVA420P } else { Pixel::YUV420P };
        let video_tb = Rational::new(1, opts.fps as i32);
        let mut ctx = codec::context::Context::new_with_codec(vcodec);
        ctx.set_threading(threading::Config { kind: threading::Type::Frame, count: 0, ..Default::default() });
        let mut video = ff("configuring the video encoder", ctx.encoder().video())?;
        video.set_width(opts.width);
        video.set_height(opts.height);
        video.set_format(pixel);
        video.set_time_base(video_tb);
        video.set_frame_rate(Some(Rational::new(opts.fps as i32, 1)));
        video.set_gop(opts.fps * 2);
        video.set_colorspace(color::Space::BT709);
        video.set_color_range(color::Range::MPEG);
        video.set_color_primaries(color::Primaries::BT709);
        video.set_color_transfer_characteristic(color::TransferCharacteristic::BT709);
        if global_header {
            video.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut vopts = Dictionary::new();
        match opts.codec {
            VideoCodec::H264 => {
                vopts.set("preset", &opts.x264_preset);
                vopts.set("profile", "high");
                match opts.bitrate_kbps {
                    // Quality first (as MetaStudio does), capped near the asked bitrate.
                    Some(kbps) => {
                        vopts.set("crf", "20");
                        vopts.set("maxrate", &format!("{}k", kbps));
                        vopts.set("bufsize", &format!("{}k", kbps * 2));
                    }
                    None => vopts.set("crf", "20"),
                }
            }
            VideoCodec::Vp8 => {
                vopts.set("deadline", "realtime");
                vopts.set("cpu-used", "8");
                vopts.set("lag-in-frames", "0");
                if opts.alpha {
                    vopts.set("auto-alt-ref", "0");
                }
                let kbps = opts.bitrate_kbps.unwrap_or_else(|| default_vp8_kbps(opts.width, opts.height));
                video.set_bit_rate(kbps as usize * 1000);
                vopts.set("crf", "10");
            }
        }
        let video = ff(format!("opening {vname}"), video.open_with(vopts))?;
        let video_index = {
            let mut stream = ff("adding the video stream", octx.add_stream(vcodec))?;
            stream.set_parameters(&video);
            stream.set_time_base(video_tb);
            stream.index()
        };

        // Audio.
        let audio = match opts.audio_rate {
            None => None,
            Some(rate) => Some(open_audio(&mut octx, opts, rate, global_header)?),
        };

        let mut mux_opts = Dictionary::new();
        if opts.codec == VideoCodec::H264 && stream_format.is_none() {
            mux_opts.set("movflags", "+faststart");
        }
        ff(format!("writing the header of {}", tmp.display()), octx.write_header_with(mux_opts).map(|_| ()))?;
        let frame = frame::Video::new(pixel, opts.width, opts.height);
        Ok(Encoder {
            path: path.to_path_buf(),
            tmp,
            streaming: stream_format.is_some(),
            octx,
            video,
            video_index,
            video_tb,
            frame,
            frames: 0,
            audio,
            finished: false,
        })
    }

    /// The planes of the next frame, to fill in place (BT.709, limited range). They keep the previous frame's
    /// content, so a caller may redraw only what changed.
    pub fn planes(&mut self) -> Planes<'_> {
        frame_planes(&mut self.frame)
    }

    /// Encodes the frame filled through [`Encoder::planes`] as the next frame.
    pub fn push_frame(&mut self) -> Result<()> {
        self.frame.set_pts(Some(self.frames));
        self.frames += 1;
        ff("encoding a video frame", self.video.send_frame(&self.frame))?;
        self.drain_video()
    }

    /// The number of video frames pushed so far.
    pub fn frames(&self) -> i64 {
        self.frames
    }

    /// Queues interleaved audio samples (at the rate and channel count of the options) for encoding.
    pub fn push_audio(&mut self, samples: &[f32]) -> Result<()> {
        let Some(audio) = self.audio.as_mut() else {
            return Err(Error::Invalid("this encoder has no audio track".into()));
        };
        audio.pending.extend_from_slice(samples);
        let chunk = audio.frame_size * audio.channels as usize;
        while self.audio.as_ref().is_some_and(|a| a.pending.len() >= chunk) {
            self.encode_audio_frame(false)?;
        }
        Ok(())
    }

    /// Flushes the encoders, writes the trailer and moves the file into place.
    pub fn finish(mut self) -> Result<()> {
        if self.audio.as_ref().is_some_and(|a| !a.pending.is_empty()) {
            self.encode_audio_frame(true)?;
        }
        ff("flushing the video encoder", self.video.send_eof())?;
        self.drain_video()?;
        if let Some(audio) = self.audio.as_mut() {
            ff("flushing the audio encoder", audio.encoder.send_eof())?;
        }
        self.drain_audio()?;
        ff(format!("finishing {}", self.tmp.display()), self.octx.write_trailer())?;
        if !self.streaming {
            std::fs::rename(&self.tmp, &self.path).map_err(|source| Error::Io { path: self.path.clone(), source })?;
        }
        self.finished = true;
        Ok(())
    }

    fn drain_video(&mut self) -> Result<()> {
        let stream_tb = self.octx.stream(self.video_index).map(|s| s.time_base()).unwrap_or(self.video_tb);
        let mut packet = Packet::empty();
        while self.video.receive_packet(&mut packet).is_ok() {
            packet.set_stream(self.video_index);
            // Every frame lasts one tick of the frame rate; without it MP4's edit list ends a frame early.
            packet.set_duration(1);
            packet.rescale_ts(self.video_tb, stream_tb);
            ff("writing a video packet", packet.write_interleaved(&mut self.octx))?;
        }
        Ok(())
    }

    fn encode_audio_frame(&mut self, last: bool) -> Result<()> {
        let Some(audio) = self.audio.as_mut() else { return Ok(()) };
        let ch = audio.channels as usize;
        let n = audio.frame_size;
        let take = (n * ch).min(audio.pending.len());
        let mut samples: Vec<f32> = audio.pending.drain(..take).collect();
        if last {
            samples.resize(n * ch, 0.0);
        }
        let mut frame = audio_frame(audio.format, ch, n, audio.encoder.rate(), &samples)?;
        frame.set_pts(Some(audio.pts));
        audio.pts += n as i64;
        ff("encoding audio", audio.encoder.send_frame(&frame))?;
        self.drain_audio()
    }

    fn drain_audio(&mut self) -> Result<()> {
        let Some(audio) = self.audio.as_mut() else { return Ok(()) };
        let tb = Rational::new(1, audio.encoder.rate() as i32);
        let stream_tb = self.octx.stream(audio.index).map(|s| s.time_base()).unwrap_or(tb);
        let mut packet = Packet::empty();
        while audio.encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(audio.index);
            packet.rescale_ts(tb, stream_tb);
            ff("writing an audio packet", packet.write_interleaved(&mut self.octx))?;
        }
        Ok(())
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        if !self.finished && !self.streaming {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Mutable access to the planes of `frame` (YUV 4:2:0, optionally with alpha), made writable first.
pub(crate) fn frame_planes(frame: &mut frame::Video) -> Planes<'_> {
    let h = frame.height() as usize;
    let ch = h.div_ceil(2);
    let alpha = frame.format() == Pixel::YUVA420P;
    // SAFETY: the frame was allocated with its buffers by av_frame_get_buffer. make_writable copies the data
    // first if an encoder still holds a reference to it, so writing never races with encoding. The planes are
    // distinct allocations of `rows * linesize` bytes, handed out once each, borrowed from `frame`.
    unsafe {
        let f = frame.as_mut_ptr();
        ffmpeg_next::ffi::av_frame_make_writable(f);
        let plane = |i: usize, rows: usize| -> (&mut [u8], usize) {
            let stride = (*f).linesize[i].max(0) as usize;
            (std::slice::from_raw_parts_mut((*f).data[i], rows * stride), stride)
        };
        Planes { y: plane(0, h), u: plane(1, ch), v: plane(2, ch), a: alpha.then(|| plane(3, h)) }
    }
}

/// An audio frame of `n` samples per channel in `format` from interleaved `samples` (`n * channels` of them).
pub(crate) fn audio_frame(
    format: Sample,
    channels: usize,
    n: usize,
    rate: u32,
    samples: &[f32],
) -> Result<frame::Audio> {
    let layout = if channels == 1 { ChannelLayout::MONO } else { ChannelLayout::STEREO };
    let mut frame = frame::Audio::new(format, n, layout);
    frame.set_rate(rate);
    match format {
        Sample::F32(format::sample::Type::Planar) => {
            for c in 0..channels {
                let plane: &mut [f32] = frame.plane_mut(c);
                for (i, s) in plane.iter_mut().take(n).enumerate() {
                    *s = samples[i * channels + c];
                }
            }
        }
        Sample::F32(format::sample::Type::Packed) => {
            let data = frame.data_mut(0);
            for (i, s) in samples.iter().enumerate() {
                data[i * 4..i * 4 + 4].copy_from_slice(&s.to_ne_bytes());
            }
        }
        Sample::I16(format::sample::Type::Packed) => {
            let data = frame.data_mut(0);
            for (i, s) in samples.iter().enumerate() {
                let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
                data[i * 2..i * 2 + 2].copy_from_slice(&v.to_ne_bytes());
            }
        }
        other => return Err(Error::Invalid(format!("unsupported audio sample format {other:?}"))),
    }
    Ok(frame)
}

/// The first of doppel's sample formats (planar f32, packed f32, packed s16) that `codec` takes.
pub(crate) fn pick_sample_format(codec: &ffmpeg_next::Codec, name: &str) -> Result<Sample> {
    let supported: Vec<Sample> = codec.audio().ok().and_then(|a| a.formats()).map(|f| f.collect()).unwrap_or_default();
    let preferred = [
        Sample::F32(format::sample::Type::Planar),
        Sample::F32(format::sample::Type::Packed),
        Sample::I16(format::sample::Type::Packed),
    ];
    preferred
        .into_iter()
        .find(|f| supported.contains(f))
        .ok_or_else(|| Error::Invalid(format!("{name} supports none of doppel's sample formats")))
}

/// `out.mp4` → `out.mp4.partial`.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}

fn default_vp8_kbps(width: u32, height: u32) -> u32 {
    // About 2.5 Mbit/s for 1080p-sized frames, scaled by area.
    ((width as u64 * height as u64 * 2500) / (1920 * 1080)).max(300) as u32
}

fn open_audio(
    octx: &mut format::context::Output,
    opts: &EncodeOptions,
    rate: u32,
    global_header: bool,
) -> Result<AudioOut> {
    let (acodec, name) = match opts.codec {
        VideoCodec::H264 => (encoder::find_by_name("aac"), "aac"),
        VideoCodec::Vp8 => (encoder::find_by_name("libopus"), "libopus (Opus)"),
    };
    let acodec = acodec.ok_or(Error::MissingCodec(name))?;
    let channels = opts.audio_channels.clamp(1, 2);
    let layout = if channels == 1 { ChannelLayout::MONO } else { ChannelLayout::STEREO };
    let sample_format = pick_sample_format(&acodec, name)?;
    let mut ctx = codec::context::Context::new_with_codec(acodec);
    ctx.set_threading(threading::Config::default());
    let mut enc = ff("configuring the audio encoder", ctx.encoder().audio())?;
    enc.set_rate(rate as i32);
    enc.set_channel_layout(layout);
    enc.set_format(sample_format);
    enc.set_bit_rate(if channels == 1 { 96_000 } else { 128_000 });
    enc.set_time_base(Rational::new(1, rate as i32));
    if global_header {
        enc.set_flags(codec::Flags::GLOBAL_HEADER);
    }
    let enc = ff(format!("opening {name}"), enc.open_with(Dictionary::new()))?;
    let frame_size = match enc.frame_size() {
        0 => 1024,
        n => n as usize,
    };
    let index = {
        let mut stream = ff("adding the audio stream", octx.add_stream(acodec))?;
        stream.set_parameters(&enc);
        stream.set_time_base(Rational::new(1, rate as i32));
        stream.index()
    };
    Ok(AudioOut { encoder: enc, index, channels, frame_size, format: sample_format, pending: Vec::new(), pts: 0 })
}
