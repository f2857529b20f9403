//! Integration tests of doppel-speech: real espeak-ng synthesis, checked through the timeline and the PCM.

mod catalog;
mod http_engine;
mod openai_server;
mod timing;

use doppel_speech::{EspeakTts, Speech, Tts, VoiceSettings};

/// Speaks `text` (plain or SSML) with `voice` at default settings.
pub fn speak(voice: &str, text: &str) -> Speech {
    speak_with(voice, text, VoiceSettings::default())
}

pub fn speak_with(voice: &str, text: &str, settings: VoiceSettings) -> Speech {
    let plan = doppel_script::parse_text(text).unwrap_or_else(|e| panic!("{text:?} does not parse: {e}"));
    let speech = EspeakTts::new().synthesize(voice, &plan, settings).expect("synthesis");
    speech.timeline.check().unwrap_or_else(|e| panic!("timeline of {text:?} breaks an invariant: {e}"));
    speech
}

/// Root mean square of the samples, as a fraction of full scale.
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| (s as f64 / 32768.0).powi(2)).sum();
    (sum / samples.len() as f64).sqrt()
}
