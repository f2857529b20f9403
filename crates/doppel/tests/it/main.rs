//! End-to-end tests of the `doppel` binary: the real executable, real espeak-ng, files in a temporary directory.

use std::path::PathBuf;
use std::process::{Command, Output};

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
