//! Rendering scripts to files and checking what comes out.

use std::path::Path;

use doppel_media::decode::VideoReader;
use doppel_media::{probe, StreamKind};
use doppel_render::{render, RenderOptions, RenderReport};
use doppel_speech::EspeakTts;
use serde_json::json;

use crate::tmp_dir;

fn script(text: &str, extra: serde_json::Value) -> doppel_script::Script {
    let mut s = json!({
        "model_asset_id": "anna",
        "video_config": { "width": 720, "height": 1280, "codec": "H264" },
        "shoot_scripts": [{ "sequence_no": 0, "shoot_script": {
            "script_type": "TEXT",
            "text_config": { "text": text },
            "background_config": [{ "background_type": "COLOR", "background_color_config": "#DDE6F0" }]
        }}]
    });
    merge(&mut s, extra);
    doppel_script::parse_script_value(s).expect("valid script")
}

fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
    match (a, b) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

fn run(s: &doppel_script::Script, out: &Path) -> doppel_render::Result<RenderReport> {
    let tts = EspeakTts::new();
    let mut opts = RenderOptions::new(&tts);
    opts.base_dir = out.parent().expect("parent").to_path_buf();
    render(s, out, &mut opts)
}

fn frames(path: &Path) -> Vec<Vec<u8>> {
    let mut r = VideoReader::open(path).expect("open");
    let mut out = Vec::new();
    while let Some(f) = r.next_frame().expect("decode") {
        out.push(f.data);
    }
    out
}

#[test]
fn mp4_has_the_asked_size_codec_rate_and_the_speech_length() {
    let dir = tmp_dir("mp4");
    let out = dir.join("hello.mp4");
    let report = run(&script("Hello there! Welcome to doppel.", json!({})), &out).expect("render");
    let info = probe(&out).expect("probe");
    let v = info.stream(StreamKind::Video).expect("video");
    assert_eq!((v.codec.as_str(), v.profile, v.width, v.height), ("h264", 100, 720, 1280));
    assert!((v.fps - 25.0).abs() < 1e-6);
    assert_eq!(v.packets, report.frames);
    let speech_ms = report.scenes[0].1.duration_ms as u64;
    assert!(v.duration_ms.abs_diff(speech_ms) <= 40, "video {} ms, speech {speech_ms} ms", v.duration_ms);
    let a = info.stream(StreamKind::Audio).expect("audio");
    assert_eq!((a.codec.as_str(), a.sample_rate, a.channels), ("aac", 48000, 2));
    assert!(a.duration_ms.abs_diff(v.duration_ms) <= 40, "audio {} vs video {}", a.duration_ms, v.duration_ms);
    assert!(!doppel_media::encode::partial_path(&out).exists());
}

#[test]
fn breaks_and_scenes_add_up_in_the_video_length() {
    let dir = tmp_dir("length");
    let plain = run(&script("One. Two.", json!({})), &dir.join("a.mp4")).expect("render");
    let long = run(&script("One. <break time=\"1500ms\"/> Two.", json!({})), &dir.join("b.mp4")).expect("render");
    // The break replaces the voice's own pause between the sentences (about 300 ms).
    assert!(long.duration_ms >= plain.duration_ms + 1100, "{} vs {}", long.duration_ms, plain.duration_ms);
    let two = json!({ "shoot_scripts": [
        { "sequence_no": 2, "shoot_script": { "text_config": { "text": "Second." } } },
        { "sequence_no": 1, "shoot_script": { "text_config": { "text": "First." } } }
    ]});
    let r = run(&script("", two), &dir.join("two.mp4")).expect("render");
    let texts: Vec<&str> = r.scenes.iter().map(|(_, t)| t.sentences[0].text.as_str()).collect();
    assert_eq!(texts, ["First.", "Second."]);
    let sum: u64 = r.scenes.iter().map(|(_, t)| (t.duration_ms as u64).div_ceil(40) * 40).sum();
    assert_eq!(r.duration_ms, sum);
    assert!(r.scenes[1].0 > 0);
}

#[test]
fn transparent_webm_keeps_the_background_see_through() {
    let dir = tmp_dir("alpha");
    let out = dir.join("alpha.webm");
    let s = script(
        "Hi!",
        json!({ "video_config": { "codec": "VP8" }, "shoot_scripts": [{ "sequence_no": 0, "shoot_script": {
            "text_config": { "text": "Hi!" },
            "background_config": [{ "background_type": "COLOR", "background_color_config": "#00000000" }] } }] }),
    );
    let report = run(&s, &out).expect("render");
    assert!(report.alpha);
    let info = probe(&out).expect("probe");
    let v = info.stream(StreamKind::Video).expect("video");
    assert_eq!(v.codec, "vp8");
    assert!(v.alpha);
    assert_eq!(info.stream(StreamKind::Audio).map(|a| a.codec.as_str()), Some("opus"));
    let mut r = VideoReader::open(&out).expect("open");
    let f = r.next_frame().expect("decode").expect("frame");
    let alpha = |x: u32, y: u32| f.data[((y * f.width + x) * 4 + 3) as usize];
    assert!(alpha(10, 10) < 10, "corner alpha {}", alpha(10, 10));
    assert!(alpha(360, 900) > 245, "body alpha {}", alpha(360, 900));
    // H.264 cannot carry alpha: asking for it is a clear error.
    let err = run(
        &script(
            "Hi",
            json!({ "shoot_scripts": [{ "sequence_no": 0, "shoot_script": {
        "text_config": { "text": "Hi" },
        "background_config": [{ "background_type": "COLOR", "background_color_config": "#00000080" }] } }] }),
        ),
        &dir.join("x.mp4"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("background_color_config") && err.to_string().contains("VP8"), "{err}");
}

/// Mean absolute difference of two RGBA frames inside a rectangle.
fn diff(a: &[u8], b: &[u8], width: u32, rect: (u32, u32, u32, u32)) -> f64 {
    let (x0, y0, x1, y1) = rect;
    let mut sum = 0u64;
    let mut n = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            let i = ((y * width + x) * 4) as usize;
            for c in 0..3 {
                sum += a[i + c].abs_diff(b[i + c]) as u64;
            }
            n += 3;
        }
    }
    sum as f64 / n as f64
}

#[test]
fn an_action_moves_the_body_within_two_frames_of_its_time() {
    let dir = tmp_dir("action");
    let text_with = "<speak>Good morning everyone, <insert-action name=\"wave\"/>and welcome to the show.</speak>";
    let text_without = "<speak>Good morning everyone, and welcome to the show.</speak>";
    let no_idle = json!({ "action_config": { "action_interval": 255 } });
    let with = run(&script(text_with, no_idle.clone()), &dir.join("with.mp4")).expect("render");
    run(&script(text_without, no_idle), &dir.join("without.mp4")).expect("render");
    let at_ms = with.scenes[0].1.marks.iter().find(|m| m.name == "wave").expect("wave mark").at_ms;
    let frame = (at_ms / 40) as usize;
    let (a, b) = (frames(&dir.join("with.mp4")), frames(&dir.join("without.mp4")));
    // The waving arm is the avatar's right (the viewer's left), from the shoulder up to beside the head.
    let arm = (0, 250, 300, 900);
    let before = diff(&a[frame.saturating_sub(3)], &b[frame.saturating_sub(3)], 720, arm);
    let after = diff(&a[frame + 2], &b[frame + 2], 720, arm);
    assert!(before < 1.0, "frames differ before the action: {before}");
    assert!(after > 2.0, "no motion two frames after the action: {after}");
}

#[test]
fn bad_input_names_what_is_wrong_and_leaves_no_file() {
    let dir = tmp_dir("bad");
    let out = dir.join("bad.mp4");
    let missing_image = json!({ "shoot_scripts": [{ "sequence_no": 0, "shoot_script": {
        "text_config": { "text": "Hi" },
        "background_config": [{ "background_type": "IMAGE", "background_config": "nowhere.png" }] } }] });
    let err = run(&script("Hi", missing_image), &out).unwrap_err().to_string();
    assert!(err.contains("background_config[0].background_config") && err.contains("nowhere.png"), "{err}");

    std::fs::write(dir.join("broken.png"), b"not an image").expect("write");
    let broken = json!({ "shoot_scripts": [{ "sequence_no": 0, "shoot_script": {
        "text_config": { "text": "Hi" },
        "layer_config": [{ "layer_type": "IMAGE", "image_config": { "image_url": "broken.png" },
                           "position": { "dx": 0, "dy": 0, "layer_index": 2 }, "size": { "width": 100, "height": 100 } }] } }] });
    let err = run(&script("Hi", broken), &out).unwrap_err().to_string();
    assert!(err.contains("layer_config[0].image_config.image_url") && err.contains("broken.png"), "{err}");

    let err = run(&script("Hi", json!({ "model_asset_id": "nobody" })), &out).unwrap_err().to_string();
    assert!(err.contains("model_asset_id") && err.contains("nobody") && err.contains("anna"), "{err}");

    let err =
        run(&script("Hi", json!({ "voice_config": { "voice_asset_id": "mute" } })), &out).unwrap_err().to_string();
    assert!(err.contains("voice_asset_id") && err.contains("mute"), "{err}");

    let err = run(&script("<speak>Hi <insert-action name=\"moonwalk\"/>there</speak>", json!({})), &out)
        .unwrap_err()
        .to_string();
    assert!(err.contains("moonwalk") && err.contains("wave"), "{err}");

    let err = run(&script("Hi", json!({ "video_config": { "codec": "VP8" } })), &out).unwrap_err().to_string();
    assert!(err.contains("video_config.codec"), "{err}");

    assert!(!out.exists() && !doppel_media::encode::partial_path(&out).exists());
}

/// A one-second 64x64 clip: red for the first half, blue for the second.
fn red_then_blue(path: &Path) {
    let opts = doppel_media::EncodeOptions { width: 64, height: 64, audio_rate: None, ..Default::default() };
    let mut enc = doppel_media::Encoder::create(path, &opts).expect("encoder");
    for i in 0..25 {
        let p = enc.planes();
        // BT.709 limited range: red (Y 63, U 102, V 240), blue (Y 32, U 240, V 118).
        let (yv, uv, vv) = if i < 12 { (63, 102, 240) } else { (32, 240, 118) };
        for (plane, value, rows) in [(p.y, yv, 64), (p.u, uv, 32), (p.v, vv, 32)] {
            let (data, stride) = plane;
            for r in 0..rows {
                data[r * stride..r * stride + rows].fill(value);
            }
        }
        enc.push_frame().expect("frame");
    }
    enc.finish().expect("finish");
}

#[test]
fn a_video_layer_plays_and_loops_in_its_place() {
    let dir = tmp_dir("video-layer");
    red_then_blue(&dir.join("clip.mp4"));
    let s = script(
        "Watch the corner of the picture for a while now.",
        json!({ "shoot_scripts": [{ "sequence_no": 0, "shoot_script": {
            "text_config": { "text": "Watch the corner of the picture for a while now." },
            "background_config": [{ "background_type": "COLOR", "background_color_config": "#FFFFFF" }],
            "layer_config": [{ "layer_type": "VIDEO", "video_config": { "video_url": "clip.mp4", "loop_count": -1 },
                               "position": { "dx": 0, "dy": 0, "layer_index": 5 }, "size": { "width": 240, "height": 240 } }] } }] }),
    );
    let out = dir.join("v.mp4");
    run(&s, &out).expect("render");
    let f = frames(&out);
    assert!(f.len() > 40);
    let px = |frame: &[u8]| {
        let i = ((60 * 720 + 60) * 4) as usize;
        (frame[i], frame[i + 1], frame[i + 2])
    };
    let (r0, _, b0) = px(&f[3]);
    let (r1, _, b1) = px(&f[18]);
    let (r2, _, b2) = px(&f[28]);
    assert!(r0 > 180 && b0 < 80, "frame 3 should be red: {:?}", px(&f[3]));
    assert!(b1 > 180 && r1 < 80, "frame 18 should be blue: {:?}", px(&f[18]));
    assert!(r2 > 180 && b2 < 80, "frame 28 (looped) should be red again: {:?}", px(&f[28]));
    // Outside the layer, the background stays white.
    let i = ((60 * 720 + 600) * 4) as usize;
    assert!(f[3][i] > 240 && f[3][i + 2] > 240);
}

/// YUV 4:2:0 planes of a whole frame.
struct Planes420 {
    w: usize,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

impl Planes420 {
    fn new(w: u32, h: u32) -> Planes420 {
        let (w, h) = (w as usize, h as usize);
        let c = w.div_ceil(2) * h.div_ceil(2);
        Planes420 { w, y: vec![0; w * h], u: vec![0; c], v: vec![0; c] }
    }

    fn planes(&mut self) -> doppel_media::encode::Planes<'_> {
        let cw = self.w.div_ceil(2);
        doppel_media::encode::Planes { y: (&mut self.y, self.w), u: (&mut self.u, cw), v: (&mut self.v, cw), a: None }
    }

    /// The largest difference of any sample, and how many samples differ by more than one level.
    fn compare(&self, other: &Planes420) -> (u8, usize) {
        let pairs = self.y.iter().zip(&other.y).chain(self.u.iter().zip(&other.u)).chain(self.v.iter().zip(&other.v));
        pairs.fold((0, 0), |(max, n), (a, b)| {
            let d = a.abs_diff(*b);
            (max.max(d), n + usize::from(d > 1))
        })
    }
}

#[test]
fn patches_of_what_changed_rebuild_every_frame() {
    // Two scenes; actions that turn limbs and the body; an emotion; subtitles; a video layer over the avatar.
    let dir = tmp_dir("patches");
    red_then_blue(&dir.join("clip.mp4"));
    let text = "<speak>Hello there. <insert-action name=\"wave\"/>Welcome to doppel. <emotion type=\"HAPPY\">We are \
                glad.</emotion> <insert-action name=\"bow\"/>Thank you.</speak>";
    let s = script(
        text,
        json!({
            "video_config": { "is_subtitle_enable": true },
            "shoot_scripts": [
                { "sequence_no": 0, "shoot_script": {
                    "text_config": { "text": text },
                    "background_config": [{ "background_type": "COLOR", "background_color_config": "#DDE6F0" }],
                    "layer_config": [{ "layer_type": "VIDEO", "video_config": { "video_url": "clip.mp4", "loop_count": -1 },
                        "position": { "dx": 700, "dy": 300, "layer_index": 5 }, "size": { "width": 200, "height": 200 } }] } },
                { "sequence_no": 1, "shoot_script": {
                    "text_config": { "text": "<speak><insert-action name=\"nod\"/>And goodbye.</speak>" },
                    "background_config": [{ "background_type": "COLOR", "background_color_config": "#203040" }] } }
            ]
        }),
    );
    let tts = EspeakTts::new();
    let mut opts = RenderOptions::new(&tts);
    opts.base_dir = dir.clone();
    let prepared = doppel_render::prepare(&s, &dir.join("p.mp4"), &opts).expect("prepare");
    let (w, h) = prepared.size();
    let mut painter = prepared.painter();
    let mut patch = doppel_render::Patch::new();
    let (mut incremental, mut whole) = (Planes420::new(w, h), Planes420::new(w, h));
    let mut painted = 0u64;
    for i in 0..prepared.frames() {
        painter.paint(i, &mut patch).expect("paint");
        patch.apply(incremental.planes());
        painted += patch.area();
        // A fresh painter paints the whole frame.
        let mut full = doppel_render::Patch::new();
        prepared.painter().paint(i, &mut full).expect("paint whole");
        assert_eq!(full.area(), w as u64 * h as u64, "frame {i}: a fresh painter paints everything");
        full.apply(whole.planes());
        let (max, n) = incremental.compare(&whole);
        // Drawn in a window, a turned part's anti-aliased edge may round differently in a pixel or two.
        assert!(n < 50, "frame {i}: the patched frame differs from the whole one (max {max}, {n} samples)");
    }
    // The avatar rests and the background stays: most of the pixels are painted once per scene, not every frame.
    let share = painted as f64 / (prepared.frames() as f64 * w as f64 * h as f64);
    assert!(share < 0.5, "patches covered {:.0}% of all frames' pixels", share * 100.0);
}
