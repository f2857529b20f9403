//! The HTTP engine against a test server speaking OpenAI's speech API: timing of a plan spoken in pieces, the
//! request it sends, replies in other shapes, the one catalog over all engines, and clear errors.

use std::time::Duration;

use doppel_speech::{Engines, Error, EspeakTts, Gender, HttpConfig, HttpTts, MarkKind, Speech, Tts, VoiceSettings};
use serde_json::json;

use crate::openai_server::{Reply, SpeechServer, KEY};
use crate::rms;

/// The engine `mock` on `server` with two voices, as a config file would give it.
fn config(server: &SpeechServer) -> HttpConfig {
    serde_json::from_value(json!({
        "name": "mock",
        "base_url": server.base_url(),
        "api_key": KEY,
        "voices": [
            {"name": "Alloy", "voice": "alloy", "language": "en-US", "gender": "female"},
            {"name": "Xiaobei", "voice": "xiaobei", "language": "zh-CN", "gender": "female", "description": "Mandarin"},
        ],
    }))
    .expect("config")
}

fn speak(tts: &dyn Tts, voice: &str, text: &str, settings: VoiceSettings) -> Speech {
    let plan = doppel_script::parse_text(text).expect("plan");
    let speech = tts.synthesize(voice, &plan, settings).expect("synthesis");
    speech.timeline.check().unwrap_or_else(|e| panic!("timeline of {text:?} breaks an invariant: {e}"));
    speech
}

fn ms(samples: usize, rate: u32) -> u32 {
    (samples as u64 * 1000 / u64::from(rate)) as u32
}

#[test]
fn a_plan_is_spoken_sentence_by_sentence_with_exact_breaks_and_marks() {
    let server = SpeechServer::start();
    let tts = HttpTts::new(config(&server)).expect("engine");
    let first = "Hello there, my friend.";
    let second = "This is the second sentence.";
    let text =
        format!("<speak>{first} <break time=\"500ms\"/><insert-action name=\"wave\" tag=\"wave\"/>{second}</speak>");
    let s = speak(&tts, "mock-en-us-alloy", &text, VoiceSettings::default());
    let t = &s.timeline;

    // One request per sentence, as the API wants it.
    let requests = server.requests();
    let inputs: Vec<&str> = requests.iter().map(|r| r.body["input"].as_str().unwrap()).collect();
    assert_eq!(inputs, [first, second]);
    for r in &requests {
        assert_eq!(r.path, "/v1/audio/speech");
        assert_eq!(r.authorization.as_deref(), Some(format!("Bearer {KEY}").as_str()));
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
        assert_eq!(r.body["model"], "tts-1");
        assert_eq!(r.body["voice"], "alloy");
        assert_eq!(r.body["response_format"], "wav");
        assert_eq!(r.body["speed"], 1.0);
    }

    // The audio is the two replies with exactly 500 ms between them.
    assert_eq!(s.sample_rate, 22050);
    let sent = server.sent();
    assert_eq!(sent.len(), 2);
    let (a, b) = (sent[0].1, sent[1].1);
    assert_eq!(s.samples.len(), a + 11025 + b);
    assert!(t.duration_ms.abs_diff(ms(s.samples.len(), 22050)) <= 1);
    let break_start = a;
    assert!(s.samples[break_start..break_start + 11025].iter().all(|&x| x == 0), "the break is not silence");

    // Two sentences, in order, each inside its own reply; words spread over them.
    let texts: Vec<&str> = t.sentences.iter().map(|x| x.text.as_str()).collect();
    assert_eq!(texts, [first, second]);
    let (s1, s2) = (&t.sentences[0], &t.sentences[1]);
    assert!(s1.start_ms < 200 && s1.end_ms > 800, "{s1:?}");
    assert!(s1.end_ms <= ms(break_start, 22050) + 1, "{s1:?}");
    assert!(s2.start_ms >= ms(break_start + 11025, 22050), "{s2:?}");
    assert!(s2.end_ms <= t.duration_ms && s2.end_ms + 300 > t.duration_ms, "{s2:?} of {}", t.duration_ms);
    let words: Vec<&str> = t.words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(words, ["Hello", "there", "my", "friend", "This", "is", "the", "second", "sentence"]);
    assert!(t.words.iter().all(|w| w.end_ms > w.start_ms), "{:?}", t.words);
    assert!(t.words[8].end_ms - t.words[8].start_ms > t.words[6].end_ms - t.words[6].start_ms);
    assert!(t.phonemes.is_empty());

    // The action starts with the first word after it.
    assert_eq!(t.marks.len(), 1);
    let m = &t.marks[0];
    assert_eq!((m.kind, m.name.as_str(), m.tag.as_deref()), (MarkKind::Action, "wave", Some("wave")));
    assert_eq!(m.at_ms, t.words[4].start_ms);
    assert_eq!(m.at_ms, s2.start_ms);

    // Mouth shapes cover the audio, one per frame at 25 fps.
    assert_eq!(t.fps, 25);
    assert_eq!(t.frames.len() as u32, t.duration_ms.div_ceil(40));
    assert_eq!(t.visemes.last().map(|v| v.end_ms), Some(t.duration_ms));
}

#[test]
fn marks_at_breaks_and_at_the_end_and_chinese_words() {
    let server = SpeechServer::start();
    let tts = HttpTts::new(config(&server)).expect("engine");
    let text =
        "<speak>大家好。<mark name=\"a\"/><break time=\"300ms\"/>今天<emotion type=\"HAPPY\">天气很好</emotion>！\
                <mark name=\"z\"/></speak>";
    let s = speak(&tts, "MOCK-ZH-CN-XIAOBEI", text, VoiceSettings::default());
    let t = &s.timeline;
    let words: Vec<&str> = t.words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(words, ["大", "家", "好", "今", "天", "天", "气", "很", "好"]);
    let texts: Vec<&str> = t.sentences.iter().map(|x| x.text.as_str()).collect();
    assert_eq!(texts, ["大家好。", "今天天气很好！"]);
    let marks: Vec<(&str, u32)> = t.marks.iter().map(|m| (m.name.as_str(), m.at_ms)).collect();
    let break_start = t.sentences[0].end_ms;
    assert!(marks[0].0 == "a" && marks[0].1 >= break_start && marks[0].1 < t.sentences[1].start_ms, "{marks:?}");
    assert_eq!(marks[1], ("HAPPY", t.words[5].start_ms));
    assert_eq!(marks[2], ("NEUTRAL", t.duration_ms));
    assert_eq!(marks[3], ("z", t.duration_ms));
    // An emotion does not split a request: one per sentence.
    let inputs: Vec<String> = server.requests().iter().map(|r| r.body["input"].as_str().unwrap().to_string()).collect();
    assert_eq!(inputs, ["大家好。", "今天天气很好！"]);
}

#[test]
fn speed_is_sent_as_a_fraction_and_volume_is_a_gain() {
    let server = SpeechServer::start();
    let tts = HttpTts::new(config(&server)).expect("engine");
    let text = "Speed and volume.";
    let normal = speak(&tts, "mock-en-us-alloy", text, VoiceSettings::default());
    let fast = speak(&tts, "mock-en-us-alloy", text, VoiceSettings { speed: 150, ..VoiceSettings::default() });
    let quiet = speak(&tts, "mock-en-us-alloy", text, VoiceSettings { volume: 90, ..Default::default() });
    let prosody = "<speak><prosody rate=\"50%\">Slowly.</prosody></speak>";
    speak(&tts, "mock-en-us-alloy", prosody, VoiceSettings { speed: 200, pitch: 50, volume: 140 });
    let speeds: Vec<f64> = server.requests().iter().map(|r| r.body["speed"].as_f64().unwrap()).collect();
    assert_eq!(speeds, [1.0, 1.5, 1.0, 1.0]);
    // The test server ignores speed, so the audio differs only by the gain (90/140).
    assert!(fast.samples.len().abs_diff(normal.samples.len()) < 220);
    let ratio = rms(&quiet.samples) / rms(&normal.samples);
    assert!((ratio - 90.0 / 140.0).abs() < 0.05, "gain {ratio}");
    let err = tts
        .synthesize(
            "mock-en-us-alloy",
            &doppel_script::Plan::from_plain_text("x"),
            VoiceSettings { speed: 20, ..Default::default() },
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "speed: 20 is out of range 50–200");
}

#[test]
fn stereo_other_rates_and_streamed_replies_join_at_the_first_rate() {
    let server = SpeechServer::start();
    let tts = HttpTts::new(config(&server)).expect("engine");
    server.then([Reply::Wav, Reply::Stereo44k, Reply::Streamed]);
    let sentences = ["One sentence here.", "Another one there.", "And a third."];
    let s = speak(&tts, "mock-en-us-alloy", &sentences.join(" "), VoiceSettings::default());
    assert_eq!(s.sample_rate, 22050);
    let sent = server.sent();
    assert_eq!(sent.iter().map(|r| r.0).collect::<Vec<_>>(), [22050, 44100, 22050]);
    assert_eq!(s.samples.len(), sent[0].1 + sent[1].1 / 2 + sent[2].1);
    assert_eq!(s.timeline.sentences.len(), 3);
    for (i, sentence) in s.timeline.sentences.iter().enumerate() {
        assert!(sentence.end_ms - sentence.start_ms > 500, "sentence {i}: {sentence:?}");
    }
}

#[test]
fn one_catalog_lists_every_engine_with_stable_ids() {
    let server = SpeechServer::start();
    let engines = Engines::with_http(vec![config(&server)]).expect("engines");
    let voices = engines.voices();
    let ids: Vec<&str> = voices.iter().map(|v| v.id.as_str()).collect();
    let espeak_ids: Vec<String> = EspeakTts::new().voices().into_iter().map(|v| v.id).collect();
    assert_eq!(ids[..espeak_ids.len()], espeak_ids);
    assert_eq!(ids[espeak_ids.len()..], ["mock-en-us-alloy", "mock-zh-cn-xiaobei"]);
    let alloy = &voices[espeak_ids.len()];
    assert_eq!((alloy.name.as_str(), alloy.language.as_str(), alloy.gender), ("Alloy", "en-US", Gender::Female));
    assert_eq!(alloy.engine, "mock");
    assert_eq!(alloy.description, "alloy from the mock server");
    assert_eq!(voices[espeak_ids.len() + 1].description, "Mandarin");

    // Each voice goes to its own engine; an unknown one to none.
    let plan = doppel_script::Plan::from_plain_text("Which engine?");
    engines.synthesize("Mock-En-Us-Alloy", &plan, VoiceSettings::default()).expect("http voice");
    assert_eq!(server.requests().len(), 1);
    let espeak = engines.synthesize("espeak-en-us-adam", &plan, VoiceSettings::default()).expect("espeak voice");
    assert!(!espeak.timeline.phonemes.is_empty());
    assert_eq!(server.requests().len(), 1);
    let err = engines.synthesize("mock-en-us-nobody", &plan, VoiceSettings::default()).unwrap_err();
    assert!(matches!(err, Error::UnknownVoice { .. }), "{err}");

    // A preview speaks the voice's language.
    let preview = engines.preview("mock-zh-cn-xiaobei").expect("preview");
    assert!(preview.timeline.duration_ms > 1000);
    assert!(server.requests()[1].body["input"].as_str().unwrap().contains("大家好"));

    // Without configuration: the espeak-ng voices alone.
    assert_eq!(Engines::new().voices().len(), espeak_ids.len());
}

#[test]
fn configuration_errors_are_named() {
    let server = SpeechServer::start();
    let err = Engines::with_http(vec![config(&server), config(&server)]).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
    assert!(err.to_string().contains("\"mock-en-us-alloy\""), "{err}");

    let mut clash = config(&server);
    clash.name = "espeak".into();
    clash.voices[0].voice = "ava".into();
    let err = Engines::with_http(vec![clash]).unwrap_err().to_string();
    assert!(err.contains("espeak-en-us-ava") && err.contains("espeak-ng"), "{err}");

    let mut bad = config(&server);
    bad.base_url = "127.0.0.1:8880/v1".into();
    let err = HttpTts::new(bad).unwrap_err().to_string();
    assert!(err.contains("mock") && err.contains("http://"), "{err}");
    let mut none = config(&server);
    none.voices.clear();
    assert!(HttpTts::new(none).unwrap_err().to_string().contains("no voices"));

    let defaults: HttpConfig =
        serde_json::from_value(json!({"name": "k", "base_url": "http://h/v1/", "voices": []})).expect("minimal config");
    assert_eq!((defaults.model.as_str(), defaults.timeout_secs, defaults.api_key.as_deref()), ("tts-1", 60, None));
    let mut one = defaults.clone();
    one.voices = config(&server).voices;
    assert_eq!(HttpTts::new(one).expect("engine").url(), "http://h/v1/audio/speech");
    assert!(!format!("{:?}", config(&server)).contains(KEY), "the API key is printed");
}

#[test]
fn server_failures_are_clear_errors_naming_the_engine() {
    let server = SpeechServer::start();
    let tts = HttpTts::new(config(&server)).expect("engine");
    let plan = doppel_script::Plan::from_plain_text("Will this work?");
    let fail = |reply: Reply| {
        server.then([reply]);
        tts.synthesize("mock-en-us-alloy", &plan, VoiceSettings::default()).unwrap_err().to_string()
    };

    let err = fail(Reply::Status500);
    assert!(err.starts_with("speech engine: mock: "), "{err}");
    assert!(err.contains("answered HTTP 500") && err.contains("ran out of memory"), "{err}");
    assert!(err.len() < 400, "the body is not cut: {err}");

    let err = fail(Reply::Garbage);
    assert!(err.contains("mock") && err.contains("bad audio") && err.contains("not a RIFF/WAVE file"), "{err}");
    let err = fail(Reply::Float);
    assert!(err.contains("mock") && err.contains("IEEE float with 32-bit samples"), "{err}");

    let mut wrong_key = config(&server);
    wrong_key.api_key = Some("sk-wrong".into());
    let err = HttpTts::new(wrong_key).expect("engine").synthesize("mock-en-us-alloy", &plan, Default::default());
    let err = err.unwrap_err().to_string();
    assert!(err.contains("HTTP 401") && err.contains("Incorrect API key"), "{err}");

    let mut slow = config(&server);
    slow.timeout_secs = 1;
    server.then([Reply::Slow(Duration::from_secs(3))]);
    let err = HttpTts::new(slow).expect("engine").synthesize("mock-en-us-alloy", &plan, Default::default());
    let err = err.unwrap_err().to_string();
    assert!(err.contains("mock") && err.contains("within 1 s"), "{err}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let mut gone = config(&server);
    gone.base_url = format!("http://127.0.0.1:{port}/v1");
    let err = HttpTts::new(gone).expect("engine").synthesize("mock-en-us-alloy", &plan, Default::default());
    let err = err.unwrap_err().to_string();
    assert!(err.contains("mock: connection refused at http://127.0.0.1:"), "{err}");
}
