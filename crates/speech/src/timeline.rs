//! The timeline of a synthesized text: sentences, words, phonemes, marks and mouth shapes, in milliseconds.

use doppel_lipsync::{Shape, Viseme};
use serde::{Deserialize, Serialize};

/// A timed piece of text (a sentence or a word).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextItem {
    pub start_ms: u32,
    pub end_ms: u32,
    pub text: String,
    /// For Mandarin words: the tone-numbered pinyin that was spoken (`hao3`), syllables separated by spaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinyin: Option<String>,
}

/// A timed phoneme, in IPA as espeak-ng names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhonemeItem {
    pub start_ms: u32,
    pub end_ms: u32,
    pub phoneme: String,
}

/// What a mark stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarkKind {
    /// A plain SSML `<mark>`.
    Mark,
    /// `<insert-action>`: an action starts.
    Action,
    /// `<emotion>`: the expression changes.
    Emotion,
}

/// A timed event: an action start, an emotion change or a plain mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkItem {
    pub at_ms: u32,
    /// The mark name; the action name for actions; `HAPPY`, `SAD`, `CALM`, `ANGER` or `NEUTRAL` for emotions.
    pub name: String,
    pub kind: MarkKind,
    /// The action tag of an `<insert-action tag=…>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// Everything that happens in a piece of speech, and when. Every list is sorted by start time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    pub duration_ms: u32,
    pub sentences: Vec<TextItem>,
    pub words: Vec<TextItem>,
    pub phonemes: Vec<PhonemeItem>,
    pub marks: Vec<MarkItem>,
    /// Mouth shapes covering `0..duration_ms` without gaps.
    pub visemes: Vec<Viseme>,
    /// The frame rate of `frames`.
    pub fps: u32,
    /// One mouth shape letter per video frame at `fps` (the per-frame view of `visemes`).
    pub frames: String,
}

impl Timeline {
    /// The mouth shape of each frame at `fps`.
    pub fn frame_shapes(&self) -> Vec<Shape> {
        doppel_lipsync::frames(&self.visemes, self.fps, self.duration_ms)
    }

    /// Checks the invariants every timeline keeps, returning the first that does not hold: lists ordered and
    /// non-overlapping where they should be, every item inside the audio, every word inside a sentence.
    pub fn check(&self) -> Result<(), String> {
        let d = self.duration_ms;
        let spans = |name: &str, items: &mut dyn Iterator<Item = (u32, u32)>, overlap_ok: bool| -> Result<(), String> {
            let mut prev_end = 0;
            let mut prev_start = 0;
            for (i, (s, e)) in items.enumerate() {
                if s > e || e > d {
                    return Err(format!("{name}[{i}] {s}..{e} is not inside 0..{d}"));
                }
                if s < prev_start || (!overlap_ok && s < prev_end) {
                    return Err(format!("{name}[{i}] starts at {s}, before the previous one ends ({prev_end})"));
                }
                prev_start = s;
                prev_end = e;
            }
            Ok(())
        };
        spans("sentences", &mut self.sentences.iter().map(|t| (t.start_ms, t.end_ms)), false)?;
        spans("words", &mut self.words.iter().map(|t| (t.start_ms, t.end_ms)), false)?;
        spans("phonemes", &mut self.phonemes.iter().map(|t| (t.start_ms, t.end_ms)), false)?;
        spans("visemes", &mut self.visemes.iter().map(|t| (t.start_ms, t.end_ms)), false)?;
        spans("marks", &mut self.marks.iter().map(|m| (m.at_ms, m.at_ms)), true)?;
        if let (Some(first), Some(last)) = (self.visemes.first(), self.visemes.last()) {
            if first.start_ms != 0 || last.end_ms != d {
                return Err(format!("visemes cover {}..{}, not 0..{d}", first.start_ms, last.end_ms));
            }
            if self.visemes.windows(2).any(|w| w[0].end_ms != w[1].start_ms) {
                return Err("visemes have a gap".into());
            }
        }
        for (i, w) in self.words.iter().enumerate() {
            if !self.sentences.iter().any(|s| s.start_ms <= w.start_ms && w.end_ms <= s.end_ms) {
                return Err(format!("word {i} {:?} ({}..{}) is inside no sentence", w.text, w.start_ms, w.end_ms));
            }
        }
        Ok(())
    }
}
