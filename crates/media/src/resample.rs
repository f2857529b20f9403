//! Audio sample-rate and channel conversion (FFmpeg's swresample), on interleaved `f32` samples.

use ffmpeg_next::format::{sample::Type, Sample};
use ffmpeg_next::software::resampling;
use ffmpeg_next::{frame, ChannelLayout};

use crate::{ff, init, Error, Result};

fn layout(channels: u16) -> Result<ChannelLayout> {
    match channels {
        1 => Ok(ChannelLayout::MONO),
        2 => Ok(ChannelLayout::STEREO),
        n => Err(Error::Invalid(format!("{n} audio channels; doppel handles 1 or 2"))),
    }
}

/// Converts interleaved samples from `(in_rate, in_channels)` to `(out_rate, out_channels)`.
pub fn resample(input: &[f32], in_rate: u32, in_channels: u16, out_rate: u32, out_channels: u16) -> Result<Vec<f32>> {
    init();
    if in_rate == 0 || out_rate == 0 {
        return Err(Error::Invalid("sample rates must be positive".into()));
    }
    let (in_layout, out_layout) = (layout(in_channels)?, layout(out_channels)?);
    if in_rate == out_rate && in_channels == out_channels {
        return Ok(input.to_vec());
    }
    let packed = Sample::F32(Type::Packed);
    let mut ctx =
        ff("creating a resampler", resampling::Context::get(packed, in_layout, in_rate, packed, out_layout, out_rate))?;
    let ich = in_channels as usize;
    let och = out_channels as usize;
    let mut out = Vec::with_capacity(input.len() * out_rate as usize / in_rate as usize * och / ich + 64);
    const CHUNK: usize = 8192;
    let push = |f: &frame::Audio, out: &mut Vec<f32>| append_packed(f, och, out);
    for chunk in input.chunks(CHUNK * ich) {
        let n = chunk.len() / ich;
        let mut src = frame::Audio::new(packed, n, in_layout);
        src.set_rate(in_rate);
        for (dst, s) in src.data_mut(0).chunks_exact_mut(4).zip(chunk) {
            dst.copy_from_slice(&s.to_ne_bytes());
        }
        let mut dst = output_frame(n * out_rate as usize / in_rate as usize + 256, out_layout, out_rate);
        ff("resampling", ctx.run(&src, &mut dst))?;
        push(&dst, &mut out);
    }
    loop {
        let mut dst = output_frame(4096, out_layout, out_rate);
        ff("flushing the resampler", ctx.flush(&mut dst))?;
        if dst.samples() == 0 {
            break;
        }
        push(&dst, &mut out);
    }
    Ok(out)
}

/// An output frame with room for `capacity` packed `f32` samples: swresample fills up to that many and keeps the
/// rest buffered for the next call.
pub(crate) fn output_frame(capacity: usize, layout: ChannelLayout, rate: u32) -> frame::Audio {
    let mut f = frame::Audio::new(Sample::F32(Type::Packed), capacity.max(1), layout);
    f.set_rate(rate);
    f
}

/// Appends the samples of a packed `f32` frame with `channels` channels to `out`.
pub(crate) fn append_packed(f: &frame::Audio, channels: usize, out: &mut Vec<f32>) {
    let n = (f.samples() * channels * 4).min(f.data(0).len());
    out.extend(f.data(0)[..n].chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])));
}

/// 16-bit PCM to `f32` in −1..1.
pub fn i16_to_f32(samples: &[i16]) -> Vec<f32> {
    samples.iter().map(|&s| s as f32 / 32768.0).collect()
}
