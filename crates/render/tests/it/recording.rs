//! AUDIO scenes: a recording drives the avatar; bad recordings fail before anything is written.

use std::path::Path;

use doppel_media::{probe, StreamKind};
use doppel_render::{prepare, render, RenderOptions, RenderReport};
use doppel_speech::{EspeakTts, Tts, VoiceSettings};
use serde_json::{json, Value};

use crate::tmp_dir;

/// Speaks `text` and writes it as a 16-bit WAV with `silence_ms` of silence after it; returns its length in ms.
fn spoken_wav(path: &Path, text: &str, silence_ms: u32) -> u32 {
    let tts = EspeakTts::new();
    let plan = doppel_script::parse_text(text).expect("text");
    let speech = tts.synthesize(doppel_speech::DEFAULT_VOICE, &plan, VoiceSettings::default()).expect("speak");
    let mut samples = speech.samples;
    samples.resize(samples.len() + (speech.sample_rate * silence_ms / 1000) as usize, 0);
    let file = std::fs::File::create(path).expect("create wav");
    doppel_speech::wav::write(std::io::BufWriter::new(file), speech.sample_rate, &samples).expect("write wav");
    (samples.len() as u64 * 1000 / speech.sample_rate as u64) as u32
}

fn audio_script(shoot: Value) -> doppel_script::Script {
    let mut shoot_script = json!({ "script_type": "AUDIO" });
    if let (Value::Object(a), Value::Object(b)) = (&mut shoot_script, shoot) {
        a.extend(b);
    }
    doppel_script::parse_script_value(json!({
        "model_asset_id": "anna",
        "video_config": { "width": 720, "height": 1280, "codec": "H264" },
        "shoot_scripts": [{ "sequence_no": 0, "shoot_script": shoot_script }]
    }))
    .expect("valid script")
}

fn run(s: &doppel_script::Script, out: &Path) -> doppel_render::Result<RenderReport> {
    let tts = EspeakTts::new();
    let mut opts = RenderOptions::new(&tts);
    opts.base_dir = out.parent().expect("parent").to_path_buf();
    render(s, out, &mut opts)
}

#[test]
fn an_audio_scene_lasts_as_long_as_its_recording_with_subtitles_from_its_text() {
    let dir = tmp_dir("audio-scene");
    let audio_ms = spoken_wav(&dir.join("voice.wav"), "Hello there. This recording drives the avatar.", 1000);
    let script = audio_script(json!({
        "audio_drive_file_external_url": "voice.wav",
        "text_config": { "text": "Hello there. This recording drives the avatar." },
        "audio_drive_action_config": [{ "action_name": "wave", "action_start_time": 0.5 }]
    }));
    let out = dir.join("audio.mp4");
    let report = run(&script, &out).expect("render");
    let info = probe(&out).expect("probe");
    let v = info.stream(StreamKind::Video).expect("video");
    let a = info.stream(StreamKind::Audio).expect("audio");
    assert!(v.duration_ms.abs_diff(audio_ms as u64) <= 80, "video {} ms, recording {audio_ms} ms", v.duration_ms);
    assert!(a.duration_ms.abs_diff(v.duration_ms) <= 40, "audio {} vs video {}", a.duration_ms, v.duration_ms);
    let timeline = &report.scenes[0].1;
    timeline.check().expect("a valid timeline");
    assert!(timeline.duration_ms.abs_diff(audio_ms) <= 2, "{} vs {audio_ms}", timeline.duration_ms);
    assert!(timeline.marks.is_empty() && timeline.phonemes.is_empty());
    assert_eq!(timeline.frames.len() as u32, timeline.duration_ms.div_ceil(40));
    // Two sentences, both over the speech (not the trailing second of silence), in order.
    let texts: Vec<&str> = timeline.sentences.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(texts, ["Hello there.", "This recording drives the avatar."]);
    assert!(timeline.sentences[1].end_ms + 700 <= audio_ms, "{:?}", timeline.sentences);
    // The mouth rests in the trailing second of silence.
    let rest = &timeline.frames[((audio_ms - 700) / 40) as usize..];
    assert!(rest.chars().all(|c| c == 'X'), "{}", timeline.frames);
    assert_eq!(report.subtitles.len(), 2, "{:?}", report.subtitles);

    // Without a text: no sentences, so no subtitles.
    let bare = audio_script(json!({ "audio_drive_file_external_url": "voice.wav" }));
    let report = run(&bare, &dir.join("bare.mp4")).expect("render");
    assert!(report.scenes[0].1.sentences.is_empty() && report.subtitles.is_empty());
}

#[test]
fn bad_recordings_name_the_field_and_the_file_and_leave_no_output() {
    let dir = tmp_dir("audio-bad");
    let out = dir.join("bad.mp4");
    let field = "shoot_scripts[0].shoot_script.audio_drive_file_external_url";
    let tts = EspeakTts::new();
    let mut opts = RenderOptions::new(&tts);
    opts.base_dir = dir.clone();
    let fails = |name: &str, needle: &str| {
        let s = audio_script(json!({ "audio_drive_file_external_url": name }));
        let err = prepare(&s, &out, &opts).expect_err(name).to_string();
        assert!(err.contains(field) && err.contains(name) && err.contains(needle), "{name}: {err}");
    };
    fails("nowhere.wav", "no such file");

    // Not audio at all: a picture.
    let png = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/assets/logo.png");
    std::fs::copy(png, dir.join("logo.png")).expect("copy");
    fails("logo.png", "no audio stream");

    // Random bytes named .mp3.
    let noise: Vec<u8> = (0..6000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    std::fs::write(dir.join("noise.mp3"), noise).expect("write");
    fails("noise.mp3", "damaged");

    // A WAV cut in half.
    spoken_wav(&dir.join("whole.wav"), "This sentence will be cut in half.", 0);
    let bytes = std::fs::read(dir.join("whole.wav")).expect("read");
    std::fs::write(dir.join("half.wav"), &bytes[..bytes.len() / 2]).expect("write");
    fails("half.wav", "truncated");

    // A WAV with a header and no samples (and saying so).
    let mut empty = bytes[..44].to_vec();
    empty[40..44].copy_from_slice(&0u32.to_le_bytes());
    empty[4..8].copy_from_slice(&36u32.to_le_bytes());
    std::fs::write(dir.join("empty.wav"), empty).expect("write");
    fails("empty.wav", "no audio");

    // A header declaring eleven minutes: over the limit, refused before decoding it.
    let mut long = bytes[..44].to_vec();
    let data = 22_050u32 * 2 * 660;
    long[40..44].copy_from_slice(&data.to_le_bytes());
    long[4..8].copy_from_slice(&(data + 36).to_le_bytes());
    long.extend_from_slice(&bytes[44..]);
    std::fs::write(dir.join("long.wav"), long).expect("write");
    fails("long.wav", "the limit is 600.00 s");

    // A numeric audio id names nothing doppel has.
    let s = audio_script(json!({ "audio_config": { "audio_id": 7 } }));
    let err = prepare(&s, &out, &opts).expect_err("audio_id").to_string();
    assert!(err.contains("audio_config.audio_id") && err.contains("audio_drive_file_external_url"), "{err}");

    // An action the avatar does not have.
    let s = audio_script(json!({ "audio_drive_file_external_url": "whole.wav",
        "audio_drive_action_config": [{ "action_name": "moonwalk", "action_start_time": 0.1 }] }));
    let err = prepare(&s, &out, &opts).expect_err("action").to_string();
    assert!(err.contains("audio_drive_action_config[0]") && err.contains("moonwalk"), "{err}");

    assert!(!out.exists() && !doppel_media::encode::partial_path(&out).exists());
}
