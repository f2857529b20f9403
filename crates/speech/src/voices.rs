//! The voice catalog: every voice doppel can speak with, under a stable id.

use serde::{Deserialize, Serialize};

use crate::lang::Lang;

/// A voice's gender as shown in catalogs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Female,
    Male,
}

/// A catalog entry, the same shape for every engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VoiceInfo {
    /// Stable id, used as `voice_config.voice_asset_id`: `<engine>-<language>-<name>`, lower case (for HTTP
    /// engines see [`crate::http_voice_id`]).
    pub id: String,
    /// Display name.
    pub name: String,
    /// BCP 47 language tag of the voice's main language (`en-US`, `zh-CN`).
    pub language: String,
    pub gender: Gender,
    /// Which engine speaks it: `espeak-ng`, or an HTTP engine's configured name.
    pub engine: String,
    /// One line for catalogs.
    pub description: String,
}

/// An espeak-ng voice: the espeak voice names used for each language run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EspeakVoice {
    pub id: &'static str,
    pub name: &'static str,
    pub language: &'static str,
    pub gender: Gender,
    /// espeak-ng voice (with variant) for latin-script runs.
    pub latin: &'static str,
    /// espeak-ng voice (with variant) for Mandarin runs, spoken from pinyin.
    pub zh: &'static str,
    pub description: &'static str,
}

impl EspeakVoice {
    pub fn primary(&self) -> Lang {
        if self.language.starts_with("zh") {
            Lang::Zh
        } else {
            Lang::Latin
        }
    }

    pub fn espeak_name(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.zh,
            Lang::Latin => self.latin,
        }
    }

    pub fn info(&self) -> VoiceInfo {
        VoiceInfo {
            id: self.id.to_string(),
            name: self.name.to_string(),
            language: self.language.to_string(),
            gender: self.gender,
            engine: "espeak-ng".to_string(),
            description: self.description.to_string(),
        }
    }
}

/// The built-in voices. Ids never change once released; add new ones at the end.
pub(crate) const ESPEAK_VOICES: &[EspeakVoice] = &[
    EspeakVoice {
        id: "espeak-en-us-ava",
        name: "Ava",
        language: "en-US",
        gender: Gender::Female,
        latin: "en-us+f3",
        zh: "cmn-latn-pinyin+f3",
        description: "American English, female, clear presenter voice",
    },
    EspeakVoice {
        id: "espeak-en-us-adam",
        name: "Adam",
        language: "en-US",
        gender: Gender::Male,
        latin: "en-us+m3",
        zh: "cmn-latn-pinyin+m3",
        description: "American English, male, calm presenter voice",
    },
    EspeakVoice {
        id: "espeak-en-gb-bella",
        name: "Bella",
        language: "en-GB",
        gender: Gender::Female,
        latin: "en+f4",
        zh: "cmn-latn-pinyin+f4",
        description: "British English, female",
    },
    EspeakVoice {
        id: "espeak-en-gb-brian",
        name: "Brian",
        language: "en-GB",
        gender: Gender::Male,
        latin: "en+m1",
        zh: "cmn-latn-pinyin+m1",
        description: "British English, male",
    },
    EspeakVoice {
        id: "espeak-zh-cn-xiaoyun",
        name: "Xiaoyun",
        language: "zh-CN",
        gender: Gender::Female,
        latin: "en-us+f2",
        zh: "cmn-latn-pinyin+f2",
        description: "Mandarin Chinese, female; reads English words in English",
    },
    EspeakVoice {
        id: "espeak-zh-cn-xiaoming",
        name: "Xiaoming",
        language: "zh-CN",
        gender: Gender::Male,
        latin: "en-us+m1",
        zh: "cmn-latn-pinyin+m1",
        description: "Mandarin Chinese, male; reads English words in English",
    },
];

/// The default voice for English text.
pub const DEFAULT_VOICE: &str = "espeak-en-us-ava";
/// The default voice for text that is mostly Chinese.
pub const DEFAULT_ZH_VOICE: &str = "espeak-zh-cn-xiaoyun";

pub(crate) fn find(id: &str) -> Option<&'static EspeakVoice> {
    ESPEAK_VOICES.iter().find(|v| v.id.eq_ignore_ascii_case(id))
}

/// A sentence each language's voices say for a preview.
pub(crate) fn preview_text(language: &str) -> &'static str {
    if language.starts_with("zh") {
        "大家好，我是你的数字人助手。今天我们一起来看看doppel。"
    } else {
        "Hello! I am your digital presenter. Let me show you what doppel can do."
    }
}
