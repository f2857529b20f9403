//! The speech plan: what a text (plain or SSML) asks the voice to do, in order, after parsing and validation.
//!
//! A plan is a flat list of [`PlanItem`]s. The speech engine walks it front to back: text spans are spoken,
//! breaks become silence, marks become timed events at the position where they stand (the start of the next
//! spoken word, or the end of the audio when nothing follows).

use serde::Serialize;

/// One of the four emotions MetaStudio's `<emotion type=…>` accepts, plus the neutral face an `</emotion>`
/// returns to when no outer emotion is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Emotion {
    Neutral,
    Happy,
    Sad,
    Calm,
    Anger,
}

impl Emotion {
    /// The wire name (`HAPPY`, …, `NEUTRAL`).
    pub fn as_str(self) -> &'static str {
        match self {
            Emotion::Neutral => "NEUTRAL",
            Emotion::Happy => "HAPPY",
            Emotion::Sad => "SAD",
            Emotion::Calm => "CALM",
            Emotion::Anger => "ANGER",
        }
    }
}

/// Prosody in force for a text span, as multipliers of the voice's base setting (1.0 = unchanged).
/// Nested `<prosody>` elements multiply.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prosody {
    /// Speaking rate multiplier, 0.5–2.0.
    pub rate: f32,
    /// Pitch multiplier, 0.5–2.0.
    pub pitch: f32,
    /// Volume multiplier, 0.0–2.0.
    pub volume: f32,
}

impl Default for Prosody {
    fn default() -> Self {
        Prosody { rate: 1.0, pitch: 1.0, volume: 1.0 }
    }
}

/// How a text span is to be pronounced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Spoken {
    /// Read the display text as written.
    AsWritten,
    /// Read this text instead (`<sub alias>`, `<say-as>` expansions such as spelled-out characters).
    Text(String),
    /// Read this tone-numbered pinyin (`<phoneme ph="liao3">`), syllables separated by spaces.
    Pinyin(String),
}

/// A run of text to speak.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextSpan {
    /// What a viewer reads (subtitles, word timings): the text as the author wrote it, entities decoded.
    pub display: String,
    /// How to pronounce it.
    pub spoken: Spoken,
    /// Prosody in force.
    pub prosody: Prosody,
    /// Set for text inside `<word>…</word>`: all spans with the same id form one word in the timeline.
    pub word_group: Option<u32>,
}

/// What a mark stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MarkKind {
    /// A plain SSML `<mark name=…/>`.
    Mark,
    /// `<insert-action name=… tag=…/>`: start an action. `name` of the mark is the action name (or the tag when
    /// no name was given).
    Action { tag: Option<String> },
    /// The expression changes to this emotion (`<emotion>` start, or the return to the outer one at its end).
    Emotion { emotion: Emotion },
}

/// A timed event placed in the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mark {
    pub name: String,
    #[serde(flatten)]
    pub kind: MarkKind,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlanItem {
    Text(TextSpan),
    /// Silence of this many milliseconds (`<break>`), 0–10,000.
    Break {
        ms: u32,
    },
    Mark(Mark),
}

/// A parsed, validated text: what the speech engine consumes.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Plan {
    pub items: Vec<PlanItem>,
}

impl Plan {
    /// A plan that speaks `text` as written, with no tags.
    pub fn from_plain_text(text: &str) -> Plan {
        Plan {
            items: vec![PlanItem::Text(TextSpan {
                display: text.to_string(),
                spoken: Spoken::AsWritten,
                prosody: Prosody::default(),
                word_group: None,
            })],
        }
    }

    /// The display text of the whole plan, spans concatenated (what subtitles show).
    pub fn display_text(&self) -> String {
        self.items
            .iter()
            .filter_map(|i| match i {
                PlanItem::Text(t) => Some(t.display.as_str()),
                _ => None,
            })
            .collect()
    }
}
