//! VIDEO layers: frames over time with the loop rule, scaling, the layer's sound, bad files.

use std::path::Path;

use doppel_media::{EncodeOptions, Encoder, VideoCodec};
use doppel_render::video_layer::VideoLayer;
use doppel_render::Error;
use tiny_skia::Pixmap;

const FIELD: &str = "shoot_scripts[0].layer_config[1].video_config.video_url";

/// The luma of frame `k` in the timing videos: a distinct grey per frame (limited range, 8 steps apart).
fn luma(k: u32) -> u8 {
    16 + 8 * (k % 25) as u8
}

/// Encodes `frames` frames; `pixel(k, col, width)` gives the luma of column `col` in frame `k` (chroma neutral,
/// the left half transparent when the options ask for alpha). With audio, a 440 Hz tone at half scale.
fn make_video(path: &Path, opts: &EncodeOptions, frames: u32, pixel: impl Fn(u32, usize, usize) -> u8) {
    let mut enc = Encoder::create(path, opts).expect("create");
    let (w, h) = (opts.width as usize, opts.height as usize);
    for k in 0..frames {
        let p = enc.planes();
        let (y, ys) = p.y;
        for row in 0..h {
            for col in 0..w {
                y[row * ys + col] = pixel(k, col, w);
            }
        }
        for (plane, stride) in [p.u, p.v] {
            for row in 0..h / 2 {
                plane[row * stride..row * stride + w / 2].fill(128);
            }
        }
        if let Some((a, s)) = p.a {
            for row in 0..h {
                for col in 0..w {
                    a[row * s + col] = if col < w / 2 { 0 } else { 255 };
                }
            }
        }
        enc.push_frame().expect("frame");
        if let Some(rate) = opts.audio_rate {
            let per_frame = (rate / opts.fps) as usize;
            let ch = opts.audio_channels as usize;
            let mut samples = Vec::with_capacity(per_frame * ch);
            for i in 0..per_frame {
                let t = (k as usize * per_frame + i) as f32 / rate as f32;
                samples.extend(std::iter::repeat_n((t * 440.0 * std::f32::consts::TAU).sin() * 0.5, ch));
            }
            enc.push_audio(&samples).expect("audio");
        }
    }
    enc.finish().expect("finish");
}

/// One second at `fps` where frame k is grey `luma(k)`, with the tone.
fn timing_video(path: &Path, fps: u32, audio: bool) {
    let opts =
        EncodeOptions { width: 160, height: 90, fps, audio_rate: audio.then_some(48_000), ..EncodeOptions::default() };
    make_video(path, &opts, fps, |k, _, _| luma(k));
}

/// Which timing-video frame a pixmap shows, from its centre's grey level.
fn index_of(p: &Pixmap) -> u32 {
    let c = p.pixel(p.width() / 2, p.height() / 2).expect("pixel");
    assert!(c.red().abs_diff(c.green()) <= 6 && c.green().abs_diff(c.blue()) <= 6, "not grey: {c:?}");
    // Full-range grey back to limited-range luma above black, 8 steps per frame.
    (c.red() as f32 * 219.0 / 255.0 / 8.0).round() as u32
}

fn shown(layer: &VideoLayer, t: u32) -> u32 {
    index_of(layer.frame_at(t).expect("a frame"))
}

fn rms(s: &[f32]) -> f32 {
    (s.iter().map(|v| v * v).sum::<f32>() / s.len().max(1) as f32).sqrt()
}

/// Interleaved stereo samples of `[from_ms, to_ms)`.
fn span(s: &[f32], from_ms: usize, to_ms: usize) -> &[f32] {
    &s[from_ms * 96..to_ms * 96]
}

/// The frames a one-second timing video at `fps` decodes to: all of them, or one fewer (doppel-media's MP4s
/// currently end a frame early in every player: their edit list stops before the last frame).
fn decoded_frames(layer: &VideoLayer, fps: u32) -> u32 {
    let n = layer.frame_count() as u32;
    assert!(n == fps || n + 1 == fps, "{n} frames decoded of {fps}");
    n
}

#[test]
fn frames_follow_the_timestamps_and_loop_forever() {
    let dir = crate::tmp_dir("video-layer-forever");
    let path = dir.join("count.mp4");
    timing_video(&path, 25, false);
    let layer = VideoLayer::open(&path, 96, 54, -1, FIELD).expect("open");
    assert_eq!((layer.width(), layer.height()), (96, 54));
    assert_eq!(layer.duration_ms(), 1000);
    assert_eq!(layer.play_ms(), None);
    let f = layer.frame_at(0).expect("frame");
    assert_eq!((f.width(), f.height()), (96, 54));
    let last = decoded_frames(&layer, 25) - 1;
    for (t, k) in [(0, 0), (39, 0), (40, 1), (500, 12), (999, last), (1000, 0), (1040, 1), (5020, 0), (12_345, 8)] {
        assert_eq!(shown(&layer, t), k, "at {t} ms");
    }
    // Every 25 fps output frame shows its own source frame, play after play.
    for n in 0..100 {
        assert_eq!(shown(&layer, n * 40), (n % 25).min(last), "output frame {n}");
    }
}

#[test]
fn loop_count_zero_plays_once_and_holds_the_last_frame() {
    let dir = crate::tmp_dir("video-layer-once");
    let path = dir.join("count.mp4");
    timing_video(&path, 25, false);
    let layer = VideoLayer::open(&path, 160, 90, 0, FIELD).expect("open");
    assert_eq!(layer.play_ms(), Some(1000));
    let last = decoded_frames(&layer, 25) - 1;
    for (t, k) in
        [(0, 0), (500, 12), (920, 23), (999, last), (1000, last), (1040, last), (5000, last), (u32::MAX, last)]
    {
        assert_eq!(shown(&layer, t), k, "at {t} ms");
    }
}

#[test]
fn loop_count_n_plays_n_plus_one_times_then_holds() {
    let dir = crate::tmp_dir("video-layer-n");
    let path = dir.join("count.mp4");
    timing_video(&path, 25, false);
    let layer = VideoLayer::open(&path, 80, 44, 2, FIELD).expect("open");
    assert_eq!(layer.play_ms(), Some(3000));
    let last = decoded_frames(&layer, 25) - 1;
    for (t, k) in [(0, 0), (1040, 1), (2040, 1), (2500, 12), (2999, last), (3000, last), (3500, last), (10_000, last)] {
        assert_eq!(shown(&layer, t), k, "at {t} ms");
    }
}

#[test]
fn a_slower_source_is_shown_by_its_own_timestamps() {
    let dir = crate::tmp_dir("video-layer-10fps");
    let path = dir.join("ten.mp4");
    timing_video(&path, 10, false);
    let layer = VideoLayer::open(&path, 160, 90, -1, FIELD).expect("open");
    assert_eq!(layer.duration_ms(), 1000);
    let last = decoded_frames(&layer, 10) - 1;
    // At 25 fps each 100 ms source frame is shown for two or three output frames.
    for n in 0..75 {
        let t = n * 40;
        assert_eq!(shown(&layer, t), ((t % 1000) / 100).min(last), "at {t} ms");
    }
}

#[test]
fn frames_are_scaled_to_the_target_size() {
    let dir = crate::tmp_dir("video-layer-scale");
    let path = dir.join("halves.mp4");
    let opts = EncodeOptions { width: 320, height: 180, audio_rate: None, ..EncodeOptions::default() };
    // Left half black, right half white.
    make_video(&path, &opts, 5, |_, col, w| if col < w / 2 { 16 } else { 235 });
    // 5× smaller (area average), 1.6× smaller (bilinear), 1.5× larger.
    for (w, h) in [(64, 36), (200, 112), (480, 270)] {
        let layer = VideoLayer::open(&path, w, h, -1, FIELD).expect("open");
        let f = layer.frame_at(0).expect("frame");
        assert_eq!((f.width(), f.height()), (w, h));
        let at = |x: u32| f.pixel(x, h / 2).expect("pixel");
        let (left, right) = (at(w / 4), at(w * 3 / 4));
        assert!(left.red() < 10 && left.alpha() == 255, "{w}x{h}: left {left:?}");
        assert!(right.red() > 245 && right.alpha() == 255, "{w}x{h}: right {right:?}");
        // The edge stays at the middle.
        assert!(at(w / 2 - 2).red() < 60 && at(w / 2 + 1).red() > 195, "{w}x{h}: edge moved");
    }
}

#[test]
fn transparent_webm_layers_are_premultiplied() {
    let dir = crate::tmp_dir("video-layer-alpha");
    let path = dir.join("alpha.webm");
    let opts = EncodeOptions {
        width: 320,
        height: 240,
        codec: VideoCodec::Vp8,
        alpha: true,
        audio_rate: None,
        ..EncodeOptions::default()
    };
    make_video(&path, &opts, 25, |_, _, _| 200);
    let layer = VideoLayer::open(&path, 80, 60, -1, FIELD).expect("open");
    assert_eq!((layer.frame_count(), layer.duration_ms()), (25, 1000));
    let f = layer.frame_at(520).expect("frame");
    let (left, right) = (f.pixel(20, 30).expect("pixel"), f.pixel(60, 30).expect("pixel"));
    assert!(left.alpha() < 16 && left.red() <= left.alpha(), "left should be transparent: {left:?}");
    assert!(right.alpha() > 240 && right.red() > 180, "right should be opaque grey: {right:?}");
}

#[test]
fn sound_fills_the_scene_and_follows_the_loop_rule() {
    let dir = crate::tmp_dir("video-layer-audio");
    let path = dir.join("tone.mp4");
    timing_video(&path, 25, true);

    let forever = VideoLayer::audio(&path, 100, 2500, -1, FIELD).expect("audio");
    assert_eq!(forever.len(), 2500 * 48 * 2);
    for (a, b) in [(0, 1000), (1000, 2000), (2000, 2500)] {
        let r = rms(span(&forever, a, b));
        assert!(r > 0.25 && r < 0.45, "{a}–{b} ms: rms {r}");
    }
    // The second play repeats the first sample for sample.
    assert_eq!(span(&forever, 100, 900), span(&forever, 1100, 1900));
    // Still the tone: 440 zero crossings upwards per second (left channel).
    let left: Vec<f32> = span(&forever, 200, 800).iter().step_by(2).copied().collect();
    let hz = left.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count() as f32 / 0.6;
    assert!((hz - 440.0).abs() < 10.0, "{hz} Hz");

    let once = VideoLayer::audio(&path, 100, 2500, 0, FIELD).expect("audio");
    assert_eq!(once.len(), 2500 * 96);
    assert!(rms(span(&once, 0, 1000)) > 0.25);
    assert!(span(&once, 1000, 2500).iter().all(|&s| s == 0.0), "silent after the only play");

    let twice = VideoLayer::audio(&path, 100, 2500, 1, FIELD).expect("audio");
    assert_eq!(span(&twice, 0, 2000), span(&forever, 0, 2000));
    assert!(span(&twice, 2000, 2500).iter().all(|&s| s == 0.0), "silent after two plays");

    let half = VideoLayer::audio(&path, 50, 2500, -1, FIELD).expect("audio");
    assert!(half.iter().zip(&forever).all(|(h, f)| (h - f * 0.5).abs() < 1e-6));

    let muted = VideoLayer::audio(&path, 0, 2500, -1, FIELD).expect("audio");
    assert_eq!(muted.len(), 2500 * 96);
    assert!(muted.iter().all(|&s| s == 0.0));

    // A scene shorter than the video takes its beginning.
    let short = VideoLayer::audio(&path, 100, 300, -1, FIELD).expect("audio");
    assert_eq!(short, span(&forever, 0, 300));
}

#[test]
fn a_video_without_sound_gives_silence() {
    let dir = crate::tmp_dir("video-layer-mute");
    let path = dir.join("mute.mp4");
    timing_video(&path, 25, false);
    let pcm = VideoLayer::audio(&path, 100, 1234, -1, FIELD).expect("audio");
    assert_eq!(pcm.len(), 1234 * 96);
    assert!(pcm.iter().all(|&s| s == 0.0));
}

#[test]
fn missing_and_broken_files_are_errors_naming_the_field_and_file() {
    let dir = crate::tmp_dir("video-layer-bad");
    let missing = dir.join("nowhere.mp4");
    let fake = dir.join("notes.mp4");
    std::fs::write(&fake, "this is a text file, not a video\n").expect("write");
    let empty = dir.join("empty.mp4");
    std::fs::write(&empty, b"").expect("write");
    for (file, name) in [(&missing, "nowhere.mp4"), (&fake, "notes.mp4"), (&empty, "empty.mp4")] {
        let e = VideoLayer::open(file, 64, 36, -1, FIELD).expect_err("should fail");
        assert!(matches!(e, Error::Asset { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains(FIELD) && text.contains(name), "{text}");
    }
    for (file, name) in [(&missing, "nowhere.mp4"), (&fake, "notes.mp4")] {
        let text = VideoLayer::audio(file, 100, 1000, -1, FIELD).expect_err("should fail").to_string();
        assert!(text.contains(FIELD) && text.contains(name), "{text}");
    }
    let good = dir.join("good.mp4");
    timing_video(&good, 25, false);
    let text = VideoLayer::open(&good, 0, 36, -1, FIELD).expect_err("empty size").to_string();
    assert!(text.contains(FIELD) && text.contains("0x36"), "{text}");
}

#[test]
fn a_video_over_a_minute_is_refused() {
    let dir = crate::tmp_dir("video-layer-long");
    let path = dir.join("long.mp4");
    let opts = EncodeOptions { width: 32, height: 32, audio_rate: None, ..EncodeOptions::default() };
    make_video(&path, &opts, 61 * 25, |_, _, _| 100);
    let text = VideoLayer::open(&path, 32, 32, -1, FIELD).expect_err("too long").to_string();
    assert!(text.contains("longer than 60 s") && text.contains("long.mp4") && text.contains(FIELD), "{text}");
}
