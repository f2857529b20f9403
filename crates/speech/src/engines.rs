//! One catalog over every engine: the built-in espeak-ng voices and the voices of each configured HTTP engine,
//! behind one [`Tts`] that sends each request to the engine whose voice it names.

use doppel_script::Plan;

use crate::http::{HttpConfig, HttpTts};
use crate::{voices, Error, EspeakTts, Result, Speech, Tts, VoiceInfo, VoiceSettings};

/// Every engine doppel speaks with. [`Tts::voices`] lists the espeak-ng voices first, then each HTTP engine's in
/// configuration order; a voice id (compared ignoring case) names exactly one voice of one engine.
#[derive(Debug, Clone, Default)]
pub struct Engines {
    espeak: EspeakTts,
    http: Vec<HttpTts>,
}

impl Engines {
    /// The espeak-ng engine alone (what doppel speaks with when nothing is configured).
    pub fn new() -> Engines {
        Engines::default()
    }

    /// The espeak-ng engine and one HTTP engine per entry. A configuration error (a bad entry, or a voice id that
    /// two voices would share) is [`Error::Config`].
    pub fn with_http(configs: Vec<HttpConfig>) -> Result<Engines> {
        let mut engines = Engines::new();
        let mut ids: Vec<(String, String)> = engines.espeak.voices().into_iter().map(|v| (v.id, v.engine)).collect();
        for config in configs {
            let engine = HttpTts::new(config)?;
            for v in engine.voices() {
                if let Some((_, other)) = ids.iter().find(|(id, _)| id.eq_ignore_ascii_case(&v.id)) {
                    return Err(Error::Config(format!(
                        "tts.http {:?}: voice {:?} has the id {:?}, which engine {other:?} already uses; rename the \
                         engine or the voice",
                        engine.name(),
                        v.name,
                        v.id
                    )));
                }
                ids.push((v.id, v.engine));
            }
            engines.http.push(engine);
        }
        Ok(engines)
    }

    /// The espeak-ng engine.
    pub fn espeak(&self) -> &EspeakTts {
        &self.espeak
    }

    /// The HTTP engines, in configuration order.
    pub fn http(&self) -> &[HttpTts] {
        &self.http
    }

    /// The engine that speaks `voice_id`.
    fn engine_for(&self, voice_id: &str) -> Option<&dyn Tts> {
        if voices::find(voice_id).is_some() {
            return Some(&self.espeak);
        }
        self.http.iter().find(|e| e.has_voice(voice_id)).map(|e| e as &dyn Tts)
    }
}

impl Tts for Engines {
    fn voices(&self) -> Vec<VoiceInfo> {
        let mut all = self.espeak.voices();
        for e in &self.http {
            all.extend(e.voices());
        }
        all
    }

    fn synthesize(&self, voice_id: &str, plan: &Plan, settings: VoiceSettings) -> Result<Speech> {
        self.engine_for(voice_id)
            .ok_or_else(|| Error::UnknownVoice { id: voice_id.to_string() })?
            .synthesize(voice_id, plan, settings)
    }
}
