//! Text-to-speech for doppel: the [`Tts`] trait, the espeak-ng engine, the HTTP engine for OpenAI-compatible
//! speech servers ([`HttpTts`]), one catalog over all of them ([`Engines`]), and the timeline of sentences,
//! words, phonemes, marks and mouth shapes that every engine returns with its audio.
//!
//! ```no_run
//! use doppel_speech::{EspeakTts, Tts, VoiceSettings};
//! let plan = doppel_script::parse_text("Hello <break time=\"300ms\"/> world").unwrap();
//! let speech = EspeakTts::new().synthesize("espeak-en-us-ava", &plan, VoiceSettings::default()).unwrap();
//! println!("{} ms, {} words", speech.timeline.duration_ms, speech.timeline.words.len());
//! ```

mod engine;
mod engines;
mod espeak;
mod ffi;
mod http;
pub mod lang;
mod timeline;
mod voices;
pub mod wav;

pub use engine::{sentence_ranges, EspeakTts};
pub use engines::Engines;
pub use http::{http_voice_id, HttpConfig, HttpTts, HttpVoice, HAN_WEIGHT};
pub use timeline::{MarkItem, MarkKind, PhonemeItem, TextItem, Timeline};
pub use voices::{Gender, VoiceInfo, DEFAULT_VOICE, DEFAULT_ZH_VOICE};

use doppel_script::Plan;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No voice has this id.
    #[error("unknown voice {id:?}; `doppel voices` lists the available ones")]
    UnknownVoice { id: String },
    /// A voice setting is outside its range.
    #[error("{field}: {value} is out of range {min}–{max}")]
    OutOfRange { field: &'static str, value: u32, min: u32, max: u32 },
    /// The synthesis engine failed; the message names the engine and what happened.
    #[error("speech engine: {0}")]
    Engine(String),
    /// The engines' configuration is wrong (an HTTP engine entry, or two voices with one id).
    #[error("speech configuration: {0}")]
    Config(String),
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Voice settings in MetaStudio's units (`voice_config`): 100 is normal speed and pitch; volume 140 is normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceSettings {
    /// 50–200; 100 = normal, 200 = twice as fast.
    pub speed: u32,
    /// 50–200; 100 = the voice's normal pitch.
    pub pitch: u32,
    /// 90–240; 140 = normal loudness.
    pub volume: u32,
}

impl Default for VoiceSettings {
    fn default() -> Self {
        VoiceSettings { speed: 100, pitch: 100, volume: 140 }
    }
}

impl VoiceSettings {
    /// Checks the ranges MetaStudio documents.
    pub fn validate(&self) -> Result<()> {
        for (field, value, min, max) in
            [("speed", self.speed, 50, 200), ("pitch", self.pitch, 50, 200), ("volume", self.volume, 90, 240)]
        {
            if !(min..=max).contains(&value) {
                return Err(Error::OutOfRange { field, value, min, max });
            }
        }
        Ok(())
    }
}

/// Synthesized speech: mono 16-bit PCM and its timeline.
#[derive(Debug, Clone)]
pub struct Speech {
    pub sample_rate: u32,
    pub samples: Vec<i16>,
    pub timeline: Timeline,
}

/// A text-to-speech engine. Implementations are cheap to share between threads; CPU-heavy work runs on the
/// caller's thread or the engine's own, never on an async runtime.
pub trait Tts: Send + Sync + std::fmt::Debug {
    /// The voices this engine speaks.
    fn voices(&self) -> Vec<VoiceInfo>;

    /// Speaks a plan with a voice of [`Tts::voices`].
    fn synthesize(&self, voice_id: &str, plan: &Plan, settings: VoiceSettings) -> Result<Speech>;

    /// A short sample of a voice, in its own language.
    fn preview(&self, voice_id: &str) -> Result<Speech> {
        let voice = self
            .voices()
            .into_iter()
            .find(|v| v.id.eq_ignore_ascii_case(voice_id))
            .ok_or_else(|| Error::UnknownVoice { id: voice_id.to_string() })?;
        let plan = Plan::from_plain_text(voices::preview_text(&voice.language));
        self.synthesize(&voice.id, &plan, VoiceSettings::default())
    }
}

/// The default voice for a text: Chinese if most of its letters are Han characters, English otherwise.
pub fn default_voice_for(plan: &Plan) -> &'static str {
    let text = plan.display_text();
    let han = text.chars().filter(|&c| lang::is_han(c)).count();
    let latin = text.chars().filter(|c| c.is_ascii_alphabetic()).count();
    // A Han character carries about as much as a short word: weigh it against letters accordingly.
    if han * 4 > latin {
        DEFAULT_ZH_VOICE
    } else {
        DEFAULT_VOICE
    }
}
