//! End-to-end tests of the `doppel` binary: the real executable, real espeak-ng, files in a temporary directory.

use std::path::PathBuf;
use std::process::{Command, Output};

mod audio;
mod cdp;
mod lipsync;
mod live;
mod server;
mod support;

// The OpenAI-speech-API test server of doppel-speech's tests; this binary uses part of it.
#[allow(dead_code)]
#[path = "../../../speech/tests/it/openai_server.rs"]
mod openai_server;

fn doppel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_doppel")).args(args).output().expect("run doppel")
}

fn tmp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("doppel-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn speak_writes_a_wav_and_a_timeline() {
    let dir = tmp_dir("speak");
    let wav = dir.join("out/hello.wav");
    let json = dir.join("out/hello.json");
    let text = "<speak><emotion type=\"HAPPY\">Hello <insert-action name=\"wave\" tag=\"wave\"/>world.</emotion> \
                <break time=\"300ms\"/>大家好。</speak>";
    let out = doppel(&["speak", "--text", text, "-o", wav.to_str().unwrap(), "--timeline", json.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (rate, samples) = doppel_speech::wav::read(std::fs::File::open(&wav).expect("wav")).expect("valid wav");
    assert_eq!(rate, 22050);
    let timeline: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).expect("json")).expect("valid json");
    let duration = timeline["duration_ms"].as_u64().expect("duration_ms");
    assert!((samples.len() as u64 * 1000 / 22050).abs_diff(duration) <= 1);
    for key in ["sentences", "words", "phonemes", "marks", "visemes"] {
        assert!(timeline[key].as_array().is_some_and(|a| !a.is_empty()), "{key} missing or empty");
    }
    let words: Vec<&str> = timeline["words"].as_array().unwrap().iter().map(|w| w["text"].as_str().unwrap()).collect();
    assert_eq!(words, ["Hello", "world", "大", "家", "好"]);
    let marks: Vec<(&str, &str)> = timeline["marks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["kind"].as_str().unwrap(), m["name"].as_str().unwrap()))
        .collect();
    assert_eq!(marks, [("emotion", "HAPPY"), ("action", "wave"), ("emotion", "NEUTRAL")]);
    let v = &timeline["visemes"][0];
    assert!(v["start_ms"].is_u64() && v["end_ms"].is_u64() && v["shape"].is_string());
    assert_eq!(timeline["frames"].as_str().unwrap().len() as u64, duration.div_ceil(40));
    assert!(!dir.join("out/hello.partial").exists());
}

#[test]
fn voices_lists_the_catalog_as_json_and_as_a_table() {
    let out = doppel(&["voices", "--json"]);
    assert!(out.status.success());
    let voices: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids: Vec<&str> = voices.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"espeak-en-us-ava") && ids.contains(&"espeak-zh-cn-xiaoyun"), "{ids:?}");
    for v in voices.as_array().unwrap() {
        for key in ["id", "name", "language", "gender", "engine", "description"] {
            assert!(v[key].is_string(), "{key} in {v}");
        }
    }
    let table = doppel(&["voices"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.lines().count() == ids.len() + 1 && text.contains("zh-CN"), "{text}");
}

/// A config file in `dir` with one HTTP engine, `mock` at `base_url`, and its voice `mock-en-us-onyx`.
fn http_tts_config(dir: &std::path::Path, base_url: &str) -> PathBuf {
    let path = dir.join("doppel.toml");
    let toml = format!(
        "[[tts.http]]\nname = \"mock\"\nbase_url = \"{base_url}\"\napi_key = \"{}\"\n\n[[tts.http.voices]]\n\
         name = \"Onyx\"\nvoice = \"onyx\"\nlanguage = \"en-US\"\ngender = \"male\"\n",
        openai_server::KEY
    );
    std::fs::write(&path, toml).expect("write the config");
    path
}

#[test]
fn http_voices_of_the_config_file_are_listed_and_render() {
    let server = openai_server::SpeechServer::start();
    let dir = tmp_dir("http-tts");
    let config = http_tts_config(&dir, &server.base_url());
    let config = config.to_str().unwrap();

    let out = doppel(&["voices", "--config", config, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let voices: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let voices = voices.as_array().unwrap();
    assert_eq!(voices[0]["id"], "espeak-en-us-ava");
    let onyx = voices.last().unwrap();
    assert_eq!((onyx["id"].as_str(), onyx["engine"].as_str()), (Some("mock-en-us-onyx"), Some("mock")));
    let by_env = Command::new(env!("CARGO_BIN_EXE_doppel"))
        .args(["voices"])
        .env("DOPPEL_CONFIG", config)
        .output()
        .expect("run doppel");
    assert!(String::from_utf8_lossy(&by_env.stdout).contains("mock-en-us-onyx"));
    assert!(!String::from_utf8_lossy(&doppel(&["voices"]).stdout).contains("mock"));

    let video = dir.join("out.mp4");
    let text = "Hello from a speech server. <insert-action name=\"nod\"/>It answers over HTTP.";
    let out = doppel(&[
        "render",
        "--config",
        config,
        "--text",
        text,
        "--voice",
        "mock-en-us-onyx",
        "--avatar",
        "leo",
        "--size",
        "720x1280",
        "-o",
        video.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let inputs: Vec<String> = server.requests().iter().map(|r| r.body["input"].as_str().unwrap().to_string()).collect();
    assert_eq!(inputs, ["Hello from a speech server.", "It answers over HTTP."]);
    let info = doppel_media::probe(&video).expect("probe");
    let v = info.stream(doppel_media::StreamKind::Video).expect("video stream");
    let a = info.stream(doppel_media::StreamKind::Audio).expect("audio stream");
    assert!(a.duration_ms > 2000 && a.duration_ms.abs_diff(v.duration_ms) <= 40, "audio {a:?}, video {v:?}");

    let wav = dir.join("x.wav");
    let wav = wav.to_str().unwrap();
    let gone = doppel(&["speak", "--config", config, "--text", "Hi.", "--voice", "mock-en-us-nobody", "-o", wav]);
    assert!(String::from_utf8_lossy(&gone.stderr).contains("unknown voice \"mock-en-us-nobody\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_offers_the_http_voices_of_its_config() {
    let speech = openai_server::SpeechServer::start();
    let tmp = support::TempDir::new("http-tts-serve");
    let config = http_tts_config(tmp.path(), &speech.base_url());
    let opts = support::Opts::new().workers(0).env("DOPPEL_CONFIG", config.display());
    let server = support::Server::start(&tmp.data(), &opts);

    let voices = support::send(server.client.get(server.url("/api/v1/voices"))).await.json();
    let voices = voices["voices"].as_array().expect("voices").clone();
    assert_eq!(voices[0]["id"], "espeak-en-us-ava");
    let onyx = voices.last().expect("a voice");
    assert_eq!((onyx["id"].as_str(), onyx["engine"].as_str()), (Some("mock-en-us-onyx"), Some("mock")));

    // Its sample comes from the speech server.
    let sample = support::send(server.anon.get(onyx["preview_url"].as_str().expect("preview_url"))).await;
    assert_eq!(sample.status, 200, "{}", sample.text());
    let (rate, samples) = doppel_speech::wav::read(&sample.body[..]).expect("a WAV");
    assert!(rate == 22050 && samples.len() > 22050, "{rate} Hz, {} samples", samples.len());
    assert!(speech.requests().iter().any(|r| r.body["voice"] == "onyx"));

    // Scripts may name it; a voice of no engine is refused.
    let script = |voice: &str| {
        serde_json::json!({
            "model_asset_id": "leo",
            "voice_config": {"voice_asset_id": voice},
            "shoot_scripts": [{"sequence_no": 0, "shoot_script": {"text_config": {"text": "Hello."}}}]
        })
    };
    let ok = support::send(server.client.post(server.url("/api/v1/videos")).json(&script("MOCK-EN-US-ONYX"))).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let bad = support::send(server.client.post(server.url("/api/v1/videos")).json(&script("mock-en-us-nobody"))).await;
    assert_eq!(bad.status, 400, "{}", bad.text());
}

#[test]
fn bad_input_is_a_clear_error_and_leaves_no_file() {
    let dir = tmp_dir("bad");
    let wav = dir.join("bad.wav");
    let out = doppel(&["speak", "--text", "<speak>你好<prosody rate=\"fast\">x</speak>", "-o", wav.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--text") && err.contains("character"), "{err}");
    assert!(!wav.exists());

    let out = doppel(&["speak", "--text", "hi", "--voice", "nobody", "-o", wav.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown voice \"nobody\""));
    assert!(!wav.exists());

    let out = doppel(&["speak", "--text", "hi", "--speed", "300", "-o", wav.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("speed: 300 is out of range 50–200"));
    assert!(!wav.exists());
}

/// Decodes every frame of a video.
fn decoded_frames(path: &std::path::Path) -> Vec<Vec<u8>> {
    let mut r = doppel_media::decode::VideoReader::open(path).expect("open");
    let mut out = Vec::new();
    while let Some(f) = r.next_frame().expect("decode") {
        out.push(f.data);
    }
    out
}

#[test]
fn the_same_script_renders_the_same_frames_twice() {
    // Each render is its own process, as users run it: espeak-ng's synthesis state carries over between
    // utterances within a process, so determinism is a property of a whole run.
    let dir = tmp_dir("determinism");
    let script = dir.join("s.json");
    std::fs::write(
        &script,
        r#"{"model_asset_id": "leo", "video_config": {"width": 720, "height": 1280},
            "shoot_scripts": [{"sequence_no": 0, "shoot_script": {"text_config": {"text":
            "<speak>Same <insert-action name=\"nod\"/>every time. <emotion type=\"SAD\">Really.</emotion></speak>"}}}]}"#,
    )
    .expect("write script");
    for name in ["a.mp4", "b.mp4"] {
        let out = doppel(&["render", script.to_str().unwrap(), "-o", dir.join(name).to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (a, b) = (decoded_frames(&dir.join("a.mp4")), decoded_frames(&dir.join("b.mp4")));
    assert!(a.len() > 25);
    assert_eq!(a.len(), b.len());
    assert!(a == b, "decoded frames differ");
}

#[test]
fn every_example_renders_and_plays() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let dir = tmp_dir("examples");
    let mut count = 0;
    for entry in std::fs::read_dir(&examples).expect("examples") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let body: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        let vp8 = body["video_config"]["codec"] == "VP8";
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let out = dir.join(format!("{name}.{}", if vp8 { "webm" } else { "mp4" }));
        let cover = dir.join(format!("{name}.jpg"));
        let srt = dir.join(format!("{name}.srt"));
        let run = doppel(&[
            "render",
            path.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--cover",
            cover.to_str().unwrap(),
            "--subtitles",
            srt.to_str().unwrap(),
        ]);
        assert!(run.status.success(), "{name}: {}", String::from_utf8_lossy(&run.stderr));
        let info = doppel_media::probe(&out).expect("probe");
        let v = info.stream(doppel_media::StreamKind::Video).expect("video stream");
        let a = info.stream(doppel_media::StreamKind::Audio).expect("audio stream");
        assert_eq!(v.codec, if vp8 { "vp8" } else { "h264" }, "{name}");
        assert_eq!(
            (v.width as i64, v.height as i64),
            (body["video_config"]["width"].as_i64().unwrap(), body["video_config"]["height"].as_i64().unwrap())
        );
        assert!((v.fps - 25.0).abs() < 1e-6, "{name}: {} fps", v.fps);
        assert!(
            a.duration_ms.abs_diff(v.duration_ms) <= 40,
            "{name}: audio {} vs video {}",
            a.duration_ms,
            v.duration_ms
        );
        assert!(v.duration_ms > 1000, "{name}");
        assert!(doppel_media::image::read_image(&cover).is_ok(), "{name}: cover");
        let srt_text = std::fs::read_to_string(&srt).expect("srt");
        assert!(srt_text.starts_with("1\n00:00:"), "{name}: {srt_text}");
        count += 1;
    }
    assert_eq!(count, 6);
}

#[test]
fn chromium_shows_a_transparent_webm_as_transparent() {
    let dir = tmp_dir("chromium");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/transparent.json");
    let video = dir.join("transparent.webm");
    let out = doppel(&["render", script.to_str().unwrap(), "-o", video.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(
        dir.join("page.html"),
        r#"<!doctype html><html><body style="margin:0;background:#ff0000">
<video src="transparent.webm" muted autoplay playsinline style="display:block;width:360px;height:640px"></video>
</body></html>"#,
    )
    .expect("page");
    let profile = dir.join("profile");
    let shot = dir.join("shot.png");
    // A real browser: Debian's chromium, headless.
    let run = support::headless_chromium(&profile)
        .args([
            "--autoplay-policy=no-user-gesture-required",
            "--allow-file-access-from-files",
            "--window-size=360,640",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", dir.join("page.html").display()))
        .output()
        .expect("run chromium");
    assert!(shot.exists(), "no screenshot: {}", String::from_utf8_lossy(&run.stderr));
    let img = doppel_media::image::read_image(&shot).expect("read screenshot");
    let px = |x: u32, y: u32| {
        let i = ((y * img.width + x) * 4) as usize;
        (img.data[i], img.data[i + 1], img.data[i + 2])
    };
    // The page's red shows through the transparent background around the avatar…
    let (r, g, b) = px(20, 20);
    assert!(r > 230 && g < 30 && b < 30, "corner is {:?}, not the page's red", (r, g, b));
    // …and the avatar itself is opaque (his dark suit at the middle of the frame).
    let (r, g, b) = px(180, 400);
    assert!(!(r > 200 && g < 60 && b < 60), "the avatar is see-through: {:?}", (r, g, b));
}
mod dialect_ice;
mod dialect_metastudio;
mod dialect_zego;
mod photo;
