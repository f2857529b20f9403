//! Recorded audio drives the avatar: AUDIO scripts rendered by `doppel render` and mouth tracks from
//! `doppel lipsync`, from every audio format doppel reads. The recordings are `doppel speak` output, converted by
//! the `ffmpeg` command-line tool (`make test` installs it), with a second of silence after the speech.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::{doppel, tmp_dir};

/// What is said in the recordings.
const SPEECH: &str = "Hello there. This recording drives the avatar, and its mouth moves with the words.";

/// Silence after the speech in every recording, in milliseconds.
const SILENCE_MS: u64 = 1000;

/// The formats, as `(file name, ffmpeg's audio codec arguments)`.
const FORMATS: [(&str, &[&str]); 5] = [
    ("speech.wav", &[]),
    ("speech.mp3", &["-c:a", "libmp3lame", "-b:a", "64k"]),
    ("speech.m4a", &["-c:a", "aac", "-b:a", "64k"]),
    ("speech.ogg", &["-c:a", "libopus", "-b:a", "32k"]),
    ("speech.flac", &["-c:a", "flac"]),
];

/// Runs the `ffmpeg` tool quietly; it must succeed.
fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("the ffmpeg tool is not installed: `make test` installs it (apt package ffmpeg)");
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Speaks [`SPEECH`] into `dir` and makes a copy in each of [`FORMATS`], a second of silence padded at the end.
/// Returns the files and the length of the speech alone, in ms.
fn recordings(dir: &Path) -> (Vec<PathBuf>, u64) {
    let spoken = dir.join("spoken.wav");
    let out = doppel(&["speak", "--text", SPEECH, "-o", spoken.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let speech_ms = audio_ms(&spoken);
    let pad = format!("apad=pad_dur={}ms", SILENCE_MS);
    let files = FORMATS
        .iter()
        .map(|(name, codec)| {
            let file = dir.join(name);
            let mut args = vec!["-i", spoken.to_str().unwrap(), "-af", pad.as_str()];
            args.extend_from_slice(codec);
            args.push(file.to_str().unwrap());
            ffmpeg(&args);
            file
        })
        .collect();
    (files, speech_ms)
}

/// The length of a file's audio stream, in ms.
fn audio_ms(file: &Path) -> u64 {
    let info = doppel_media::probe(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    info.stream(doppel_media::StreamKind::Audio).expect("an audio stream").duration_ms
}

/// An AUDIO script driven by `audio` (a path relative to the script), with an action and a subtitle text.
fn audio_script(audio: &str) -> Value {
    json!({
        "model_asset_id": "anna",
        "video_config": {"codec": "H264", "width": 720, "height": 1280, "is_subtitle_enable": true},
        "shoot_scripts": [{"sequence_no": 0, "shoot_script": {
            "script_type": "AUDIO",
            "audio_drive_file_external_url": audio,
            "audio_drive_action_config": [{"action_name": "wave", "action_start_time": 0.8}],
            "text_config": {"text": SPEECH}
        }}]
    })
}

#[test]
fn an_audio_script_renders_from_every_audio_format() {
    let dir = tmp_dir("audio-formats");
    let (files, _) = recordings(&dir);
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let script = dir.join(format!("{name}.json"));
        std::fs::write(&script, audio_script(name).to_string()).expect("write script");
        let video = dir.join(format!("{name}.mp4"));
        let srt = dir.join(format!("{name}.srt"));
        let run = doppel(&[
            "render",
            script.to_str().unwrap(),
            "-o",
            video.to_str().unwrap(),
            "--subtitles",
            srt.to_str().unwrap(),
        ]);
        assert!(run.status.success(), "{name}: {}", String::from_utf8_lossy(&run.stderr));
        let info = doppel_media::probe(&video).expect("probe");
        let v = info.stream(doppel_media::StreamKind::Video).expect("video stream");
        let a = info.stream(doppel_media::StreamKind::Audio).expect("audio stream");
        let recording = audio_ms(file);
        // The video follows the recording: within 40 ms, plus the one frame the last bit of sound may open.
        assert!(v.duration_ms.abs_diff(recording) <= 80, "{name}: video {} ms, audio {recording} ms", v.duration_ms);
        assert!(
            a.duration_ms.abs_diff(v.duration_ms) <= 40,
            "{name}: audio {} vs video {}",
            a.duration_ms,
            v.duration_ms
        );
        assert_eq!((v.width, v.height), (720, 1280), "{name}");
        let srt_text = std::fs::read_to_string(&srt).expect("srt");
        assert!(srt_text.starts_with("1\n00:00:") && srt_text.contains("Hello there."), "{name}: {srt_text}");
    }
}

#[test]
fn lipsync_opens_the_mouth_in_speech_and_rests_in_silence() {
    let dir = tmp_dir("audio-lipsync");
    let (files, speech_ms) = recordings(&dir);
    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let json_path = dir.join(format!("{name}.track.json"));
        let run = doppel(&["lipsync", file.to_str().unwrap(), "-o", json_path.to_str().unwrap()]);
        assert!(run.status.success(), "{name}: {}", String::from_utf8_lossy(&run.stderr));
        let track: Value = serde_json::from_slice(&std::fs::read(&json_path).expect("track")).expect("JSON");
        let duration = track["duration_ms"].as_u64().expect("duration_ms");
        assert!(duration.abs_diff(speech_ms + SILENCE_MS) <= 60, "{name}: {duration} ms");
        assert_eq!(track["fps"], 25);
        let frames = track["frames"].as_str().expect("frames");
        assert_eq!(frames.len() as u64, duration.div_ceil(40), "{name}");
        let visemes = track["visemes"].as_array().expect("visemes");
        assert_eq!(visemes.first().and_then(|v| v["start_ms"].as_u64()), Some(0), "{name}");
        assert_eq!(visemes.last().and_then(|v| v["end_ms"].as_u64()), Some(duration), "{name}");
        // While speaking, the mouth is open most of the time; in the trailing silence (after a 200 ms margin for
        // decoder delay and the estimator's context) it rests.
        let speaking = &frames[..(speech_ms / 40) as usize];
        let open = speaking.chars().filter(|c| !matches!(c, 'A' | 'X')).count();
        assert!(open * 2 >= speaking.len(), "{name}: the mouth hardly opens while speaking: {frames}");
        let silent = &frames[((speech_ms + 200) / 40) as usize..];
        assert!(!silent.is_empty() && silent.chars().all(|c| c == 'X'), "{name}: the mouth moves in silence: {frames}");
    }
    // Without -o the track goes to standard output.
    let run = doppel(&["lipsync", files[0].to_str().unwrap(), "--fps", "50"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let track: Value = serde_json::from_slice(&run.stdout).expect("JSON on stdout");
    assert_eq!(track["fps"], 50);
    assert_eq!(track["frames"].as_str().unwrap().len() as u64, track["duration_ms"].as_u64().unwrap().div_ceil(20));
}

#[test]
fn corrupt_and_truncated_recordings_are_clear_errors() {
    let dir = tmp_dir("audio-bad");
    let (files, _) = recordings(&dir);
    let cut = |from: &Path, to: &str| {
        let bytes = std::fs::read(from).expect("read");
        std::fs::write(dir.join(to), &bytes[..bytes.len() / 2]).expect("write");
    };
    cut(&files[0], "half.wav");
    cut(&files[1], "half.mp3");
    let noise: Vec<u8> = (0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8).collect();
    std::fs::write(dir.join("noise.mp3"), noise).expect("write");
    for (name, needle) in [("half.wav", "truncated"), ("half.mp3", "truncated"), ("noise.mp3", "damaged")] {
        let file = dir.join(name);
        let track = dir.join(format!("{name}.json"));
        let run = doppel(&["lipsync", file.to_str().unwrap(), "-o", track.to_str().unwrap()]);
        assert_eq!(run.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains(name) && err.contains(needle), "{name}: {err}");
        assert!(!track.exists(), "{name}: a track was written");

        let script = dir.join(format!("{name}.script.json"));
        std::fs::write(&script, audio_script(name).to_string()).expect("write script");
        let video = dir.join(format!("{name}.mp4"));
        let run = doppel(&["render", script.to_str().unwrap(), "-o", video.to_str().unwrap()]);
        assert_eq!(run.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(
            err.contains("shoot_scripts[0].shoot_script.audio_drive_file_external_url")
                && err.contains(name)
                && err.contains(needle),
            "{name}: {err}"
        );
        assert!(!video.exists() && !doppel_media::encode::partial_path(&video).exists(), "{name}: a video was left");
    }
    let run = doppel(&["lipsync", dir.join("nowhere.wav").to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("nowhere.wav: no such file"));
}
