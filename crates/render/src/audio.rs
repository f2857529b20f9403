//! The soundtrack: each scene's voice at 48 kHz stereo, padded to whole frames, with background music looped
//! underneath.

use doppel_media::resample::{i16_to_f32, resample};

use crate::Result;

/// Output sample rate.
pub const RATE: u32 = 48_000;
/// Output channels.
pub const CHANNELS: u16 = 2;
/// Music at `volume` 100 plays this much quieter than full scale, so that it sits under the voice (about −12 dB).
pub const MUSIC_GAIN: f32 = 0.25;

/// Samples (per channel) in one video frame at `fps`.
pub fn samples_per_frame(fps: u32) -> usize {
    (RATE / fps.max(1)) as usize
}

/// A scene's voice as interleaved 48 kHz stereo, exactly `frames` video frames long.
pub fn scene_voice(pcm: &[i16], rate: u32, frames: usize, fps: u32) -> Result<Vec<f32>> {
    let mut out = resample(&i16_to_f32(pcm), rate, 1, RATE, CHANNELS)?;
    out.resize(frames * samples_per_frame(fps) * CHANNELS as usize, 0.0);
    Ok(out)
}

/// Mixes `music` (interleaved stereo at [`RATE`]) into `track`, looping it, at `volume` percent.
pub fn mix_music(track: &mut [f32], music: &[f32], volume: u32) {
    if music.is_empty() || volume == 0 {
        return;
    }
    let gain = MUSIC_GAIN * volume.min(100) as f32 / 100.0;
    for (i, s) in track.iter_mut().enumerate() {
        *s = (*s + music[i % music.len()] * gain).clamp(-1.0, 1.0);
    }
}
