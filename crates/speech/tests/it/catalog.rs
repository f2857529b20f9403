//! The voice catalog: stable ids, previews, and errors for unknown voices and bad settings.

use doppel_speech::{Error, EspeakTts, Gender, Tts, VoiceSettings};

use crate::rms;

#[test]
fn catalog_has_english_and_chinese_voices_with_unique_ids() {
    let voices = EspeakTts::new().voices();
    let mut ids: Vec<&str> = voices.iter().map(|v| v.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), voices.len());
    assert!(voices.iter().any(|v| v.language == "en-US" && v.gender == Gender::Female));
    assert!(voices.iter().any(|v| v.language == "zh-CN" && v.gender == Gender::Male));
    assert!(voices.iter().any(|v| v.id == doppel_speech::DEFAULT_VOICE));
    assert!(voices.iter().any(|v| v.id == doppel_speech::DEFAULT_ZH_VOICE));
}

#[test]
fn every_voice_speaks_a_preview() {
    let tts = EspeakTts::new();
    for v in tts.voices() {
        let s = tts.preview(&v.id).expect("preview");
        assert!(s.timeline.duration_ms > 1500, "{}: {} ms", v.id, s.timeline.duration_ms);
        assert!(rms(&s.samples) > 0.02, "{} is silent", v.id);
        s.timeline.check().expect("invariants");
    }
}

#[test]
fn unknown_voices_and_bad_settings_are_errors() {
    let tts = EspeakTts::new();
    let plan = doppel_script::Plan::from_plain_text("hi");
    let err = tts.synthesize("nobody", &plan, VoiceSettings::default()).unwrap_err();
    assert!(matches!(err, Error::UnknownVoice { .. }), "{err}");
    assert!(err.to_string().contains("nobody"));
    let err = tts
        .synthesize("espeak-en-us-ava", &plan, VoiceSettings { speed: 201, ..VoiceSettings::default() })
        .unwrap_err();
    assert_eq!(err.to_string(), "speed: 201 is out of range 50–200");
}
