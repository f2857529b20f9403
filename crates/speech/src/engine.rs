//! The espeak-ng engine: walks a speech plan, speaks it chunk by chunk (one chunk per language and prosody,
//! breaks as exact silence), and assembles the timeline from espeak-ng's word and phoneme events.

use std::collections::HashMap;

use doppel_lipsync::{Options as LipsyncOptions, Phone};
use doppel_script::{Mark, MarkKind as PlanMarkKind, Plan, PlanItem, Prosody, Spoken};

use crate::espeak::{self, Params, RawEvent};
use crate::lang::{self, Lang};
use crate::timeline::{MarkItem, MarkKind, PhonemeItem, TextItem, Timeline};
use crate::voices::{self, EspeakVoice};
use crate::{Error, Result, Speech, Tts, VoiceInfo, VoiceSettings};

/// espeak-ng's rate in words per minute for speed 100 (about 150 spoken words a minute, as MetaStudio says).
const BASE_RATE_WPM: f32 = 175.0;
/// The same for Mandarin, in syllables per minute: MetaStudio's normal speed is about 250 characters a minute.
const BASE_RATE_ZH: f32 = 235.0;
/// espeak-ng's normal base pitch (0–100) for pitch 100.
const BASE_PITCH: f32 = 50.0;
/// espeak-ng's normal amplitude (0–200) for MetaStudio volume 140.
const BASE_VOLUME: f32 = 100.0;

/// The espeak-ng text-to-speech engine with doppel's built-in voices.
///
/// All instances share one worker thread that owns libespeak-ng (its state is global); requests from many
/// threads queue there.
#[derive(Debug, Clone, Default)]
pub struct EspeakTts {
    _private: (),
}

impl EspeakTts {
    /// A handle to the engine; the worker starts on first use.
    pub fn new() -> EspeakTts {
        EspeakTts { _private: () }
    }

    /// The sample rate of the audio this engine returns.
    pub fn sample_rate(&self) -> Result<u32> {
        espeak::sample_rate()
    }

    /// Speaks `text` (plain, no tags) in one espeak-ng call with the voice's main-language voice at normal
    /// settings, with no plan, no chunking and no timeline: the baseline the benchmarks compare against.
    /// Chinese text is converted to pinyin first, as espeak-ng cannot read it otherwise.
    pub fn speak_raw(&self, voice_id: &str, text: &str) -> Result<Vec<i16>> {
        let voice = voices::find(voice_id).ok_or_else(|| Error::UnknownVoice { id: voice_id.to_string() })?;
        let (gen, rate) = match voice.primary() {
            Lang::Zh => (zh_to_pinyin(text), BASE_RATE_ZH),
            Lang::Latin => (text.to_string(), BASE_RATE_WPM),
        };
        let params = Params { rate: rate as i32, pitch: BASE_PITCH as i32, volume: BASE_VOLUME as i32 };
        Ok(espeak::synthesize(voice.espeak_name(voice.primary()), params, &gen)?.samples)
    }

    /// The version of the loaded libespeak-ng.
    pub fn library_version(&self) -> Result<String> {
        espeak::version()
    }
}

impl Tts for EspeakTts {
    fn voices(&self) -> Vec<VoiceInfo> {
        voices::ESPEAK_VOICES.iter().map(EspeakVoice::info).collect()
    }

    fn synthesize(&self, voice_id: &str, plan: &Plan, settings: VoiceSettings) -> Result<Speech> {
        settings.validate()?;
        let voice = voices::find(voice_id).ok_or_else(|| Error::UnknownVoice { id: voice_id.to_string() })?;
        let sample_rate = espeak::sample_rate()?;
        let mut b = Builder::new(voice, settings, sample_rate);
        for item in &plan.items {
            match item {
                PlanItem::Text(span) => b.text(span)?,
                PlanItem::Break { ms } => {
                    b.flush()?;
                    let at = b.samples.len() as u64;
                    b.resolve_pending(at);
                    let n = u64::from(*ms) * u64::from(sample_rate) / 1000;
                    b.samples.resize(b.samples.len() + n as usize, 0);
                }
                PlanItem::Mark(m) => b.pending.push((b.display.len(), m.clone())),
            }
        }
        b.flush()?;
        let end = b.samples.len() as u64;
        b.resolve_pending(end);
        Ok(b.finish())
    }
}

/// How characters of the synthesized text map back to the display text.
#[derive(Debug, Clone, Copy)]
struct Seg {
    gen_start: usize,
    gen_end: usize,
    disp_start: usize,
    disp_end: usize,
    /// `Some`: the whole segment is one unit (a Han character, an alias, a `<word>` group): any word inside it
    /// maps to the whole display range, and words of one unit merge. `None`: character for character.
    unit: Option<u32>,
}

#[derive(Debug)]
struct Chunk {
    lang: Lang,
    prosody: Prosody,
    gen: String,
    gen_chars: usize,
    segs: Vec<Seg>,
}

#[derive(Debug, Clone)]
struct Word {
    /// The pinyin spoken for a Mandarin word.
    pinyin: Option<String>,
    start: u64,
    end: u64,
    disp_start: usize,
    disp_end: usize,
    unit: Option<u32>,
}

struct Builder {
    voice: &'static EspeakVoice,
    settings: VoiceSettings,
    sample_rate: u32,
    samples: Vec<i16>,
    display: Vec<char>,
    words: Vec<Word>,
    phonemes: Vec<(u64, u64, String)>,
    marks: Vec<(u64, Mark)>,
    /// Marks waiting for the next word: (display position, mark).
    pending: Vec<(usize, Mark)>,
    chunk: Option<Chunk>,
    next_unit: u32,
    group_units: HashMap<u32, u32>,
}

impl Builder {
    fn new(voice: &'static EspeakVoice, settings: VoiceSettings, sample_rate: u32) -> Builder {
        Builder {
            voice,
            settings,
            sample_rate,
            samples: Vec::new(),
            display: Vec::new(),
            words: Vec::new(),
            phonemes: Vec::new(),
            marks: Vec::new(),
            pending: Vec::new(),
            chunk: None,
            next_unit: 0,
            group_units: HashMap::new(),
        }
    }

    fn new_unit(&mut self) -> u32 {
        self.next_unit += 1;
        self.next_unit
    }

    /// The unit for a span: its `<word>` group's, or a fresh one when `atomic`.
    fn unit_for(&mut self, group: Option<u32>, atomic: bool) -> Option<u32> {
        match group {
            Some(g) => {
                if let Some(&u) = self.group_units.get(&g) {
                    return Some(u);
                }
                let u = self.new_unit();
                self.group_units.insert(g, u);
                Some(u)
            }
            None if atomic => Some(self.new_unit()),
            None => None,
        }
    }

    fn text(&mut self, span: &doppel_script::TextSpan) -> Result<()> {
        let disp_start = self.display.len();
        let chars: Vec<char> = span.display.chars().collect();
        self.display.extend_from_slice(&chars);
        let disp_end = self.display.len();
        match &span.spoken {
            Spoken::AsWritten => {
                for (lang, a, b) in lang::split_runs(&span.display, self.voice.primary()) {
                    self.add_text(lang, span.prosody, disp_start + a, &chars[a..b], span.word_group)?;
                }
            }
            Spoken::Text(alias) => {
                let lang = lang::split_runs(alias, self.voice.primary()).first().map_or(self.voice.primary(), |r| r.0);
                let unit = self.unit_for(span.word_group, true);
                let gen = match lang {
                    Lang::Latin => alias.clone(),
                    Lang::Zh => zh_to_pinyin(alias),
                };
                self.add_atomic(lang, span.prosody, &gen, disp_start, disp_end, unit)?;
            }
            Spoken::Pinyin(p) => {
                let unit = self.unit_for(span.word_group, true);
                self.add_atomic(Lang::Zh, span.prosody, p, disp_start, disp_end, unit)?;
            }
        }
        Ok(())
    }

    /// Makes sure the open chunk speaks `lang` with `prosody`, flushing the previous one if not.
    fn chunk_for(&mut self, lang: Lang, prosody: Prosody) -> Result<&mut Chunk> {
        let same = self.chunk.as_ref().is_some_and(|c| c.lang == lang && c.prosody == prosody);
        if !same {
            self.flush()?;
            self.chunk = Some(Chunk { lang, prosody, gen: String::new(), gen_chars: 0, segs: Vec::new() });
        }
        self.chunk.as_mut().ok_or_else(|| Error::Engine("no open chunk".into()))
    }

    fn add_atomic(
        &mut self,
        lang: Lang,
        prosody: Prosody,
        gen: &str,
        disp_start: usize,
        disp_end: usize,
        unit: Option<u32>,
    ) -> Result<()> {
        let chunk = self.chunk_for(lang, prosody)?;
        push_gen(chunk, " ", None, disp_start, disp_start);
        push_gen(chunk, gen, unit, disp_start, disp_end);
        push_gen(chunk, " ", None, disp_end, disp_end);
        Ok(())
    }

    fn add_text(
        &mut self,
        lang: Lang,
        prosody: Prosody,
        disp_start: usize,
        chars: &[char],
        group: Option<u32>,
    ) -> Result<()> {
        match lang {
            Lang::Latin => {
                let unit = self.unit_for(group, false);
                let text: String = chars.iter().collect();
                let chunk = self.chunk_for(lang, prosody)?;
                push_gen(chunk, &text, unit, disp_start, disp_start + chars.len());
            }
            Lang::Zh => {
                let mut i = 0;
                while i < chars.len() {
                    let c = chars[i];
                    let pos = disp_start + i;
                    if c.is_ascii_digit() {
                        let mut j = i;
                        while j < chars.len() && chars[j].is_ascii_digit() {
                            j += 1;
                        }
                        let digits: String = chars[i..j].iter().collect();
                        let unit = self.unit_for(group, true);
                        let gen = zh_to_pinyin(&lang::chinese_number(&digits));
                        let chunk = self.chunk_for(lang, prosody)?;
                        push_gen(chunk, &gen, unit, pos, disp_start + j);
                        i = j;
                        continue;
                    }
                    if lang::is_han(c) {
                        let unit = self.unit_for(group, true);
                        let gen = lang::han_pinyin(c).map(|p| format!("{p} ")).unwrap_or_else(|| " ".into());
                        let chunk = self.chunk_for(lang, prosody)?;
                        push_gen(chunk, &gen, unit, pos, pos + 1);
                    } else if lang::is_cjk_punct(c) {
                        let chunk = self.chunk_for(lang, prosody)?;
                        push_gen(chunk, lang::cjk_punct_ascii(c), Some(0), pos, pos + 1);
                    } else {
                        let chunk = self.chunk_for(lang, prosody)?;
                        push_gen(chunk, &c.to_string(), None, pos, pos + 1);
                    }
                    i += 1;
                }
            }
        }
        Ok(())
    }

    /// Speaks the open chunk and appends its audio and events.
    fn flush(&mut self) -> Result<()> {
        let Some(chunk) = self.chunk.take() else {
            return Ok(());
        };
        if chunk.gen.trim().is_empty() {
            return Ok(());
        }
        let params = self.params(chunk.lang, chunk.prosody);
        let raw = espeak::synthesize(self.voice.espeak_name(chunk.lang), params, &chunk.gen)?;
        let offset = self.samples.len() as u64;
        let chunk_end = raw.samples.len() as u64;

        // Phonemes: each lasts until the next phoneme or boundary.
        let mut phonemes: Vec<(u64, u64, String)> = Vec::new();
        let mut open: Option<(u64, String)> = None;
        for e in &raw.events {
            let at = match e {
                RawEvent::Phoneme { sample, .. } | RawEvent::Boundary { sample } => u64::from(*sample).min(chunk_end),
                RawEvent::Word { .. } => continue,
            };
            if let Some((s, ipa)) = open.take() {
                if at > s {
                    phonemes.push((s, at, ipa));
                }
            }
            if let RawEvent::Phoneme { ipa, .. } = e {
                open = Some((at, ipa.clone()));
            }
        }
        if let Some((s, ipa)) = open {
            if chunk_end > s {
                phonemes.push((s, chunk_end, ipa));
            }
        }

        // Words: map back to the display text; a word lasts from its first to its last phoneme.
        let word_events: Vec<(u64, usize, usize)> = raw
            .events
            .iter()
            .filter_map(|e| match e {
                RawEvent::Word { sample, text_start, len } if *len > 0 => {
                    Some((u64::from(*sample).min(chunk_end), *text_start, *len))
                }
                _ => None,
            })
            .collect();
        let gen_chars: Vec<char> = chunk.gen.chars().collect();
        let mut words: Vec<Word> = Vec::new();
        for (k, &(at, ts, len)) in word_events.iter().enumerate() {
            let pinyin = (chunk.lang == Lang::Zh)
                .then(|| gen_chars.get(ts..(ts + len).min(gen_chars.len())).map(|c| c.iter().collect::<String>()))
                .flatten()
                .filter(|p| !p.trim().is_empty());
            let next = word_events.get(k + 1).map_or(chunk_end, |w| w.0);
            let Some((disp_start, disp_end, unit)) = map_to_display(&chunk.segs, ts, ts + len.max(1)) else {
                continue;
            };
            let inside: Vec<&(u64, u64, String)> =
                phonemes.iter().filter(|p| p.0 >= at && p.0 < next.max(at + 1)).collect();
            let (start, end) = match (inside.first(), inside.last()) {
                (Some(f), Some(l)) => (f.0, l.1),
                _ => (at, next),
            };
            let prev_end = words.last().map_or(0, |w| w.end);
            let start = start.max(prev_end);
            let end = end.max(start);
            let mergeable = words.last().is_some_and(|w| {
                (unit.is_some() && w.unit == unit) || (w.disp_start == disp_start && w.disp_end == disp_end)
            });
            match words.last_mut() {
                Some(w) if mergeable => {
                    w.end = end;
                    w.disp_end = w.disp_end.max(disp_end);
                    if let Some(p) = pinyin {
                        w.pinyin = Some(w.pinyin.take().map_or(p.clone(), |old| format!("{old} {p}")));
                    }
                }
                _ => words.push(Word { pinyin, start, end, disp_start, disp_end, unit }),
            }
        }
        for w in &mut words {
            w.start += offset;
            w.end += offset;
        }
        for w in &words {
            let mut i = 0;
            while i < self.pending.len() {
                if self.pending[i].0 <= w.disp_start {
                    let (_, m) = self.pending.remove(i);
                    self.marks.push((w.start, m));
                } else {
                    i += 1;
                }
            }
        }
        self.words.extend(words);
        self.phonemes.extend(phonemes.into_iter().map(|(s, e, p)| (s + offset, e + offset, p)));
        self.samples.extend_from_slice(&raw.samples);
        Ok(())
    }

    fn resolve_pending(&mut self, at: u64) {
        for (_, m) in self.pending.drain(..) {
            self.marks.push((at, m));
        }
    }

    fn params(&self, lang: Lang, prosody: Prosody) -> Params {
        let s = &self.settings;
        let base_rate = match lang {
            Lang::Latin => BASE_RATE_WPM,
            Lang::Zh => BASE_RATE_ZH,
        };
        Params {
            rate: (base_rate * s.speed as f32 / 100.0 * prosody.rate).round() as i32,
            pitch: (BASE_PITCH * s.pitch as f32 / 100.0 * prosody.pitch).round() as i32,
            volume: (BASE_VOLUME * s.volume as f32 / 140.0 * prosody.volume).round() as i32,
        }
    }

    fn finish(self) -> Speech {
        let sr = u64::from(self.sample_rate);
        let total = self.samples.len() as u64;
        let ms = |s: u64| ((s.min(total) * 1000 + sr / 2) / sr) as u32;
        let duration_ms = ms(total);
        let text = |a: usize, b: usize| -> String {
            self.display.get(a..b.min(self.display.len())).map(|c| c.iter().collect::<String>()).unwrap_or_default()
        };
        let words: Vec<TextItem> = self
            .words
            .iter()
            .map(|w| TextItem {
                start_ms: ms(w.start),
                end_ms: ms(w.end),
                text: text(w.disp_start, w.disp_end).trim().to_string(),
                pinyin: w.pinyin.clone(),
            })
            .filter(|w| !w.text.is_empty())
            .collect();
        let mut sentences = Vec::new();
        for (a, b) in sentence_ranges(&self.display) {
            let inside: Vec<&Word> = self.words.iter().filter(|w| w.disp_start >= a && w.disp_start < b).collect();
            if let (Some(f), Some(l)) = (inside.first(), inside.last()) {
                let t = text(a, b).trim().to_string();
                if !t.is_empty() {
                    sentences.push(TextItem { start_ms: ms(f.start), end_ms: ms(l.end), text: t, pinyin: None });
                }
            }
        }
        let phonemes: Vec<PhonemeItem> = self
            .phonemes
            .iter()
            .map(|(s, e, p)| PhonemeItem { start_ms: ms(*s), end_ms: ms(*e), phoneme: p.clone() })
            .filter(|p| p.end_ms > p.start_ms)
            .collect();
        let mut marks: Vec<MarkItem> = self
            .marks
            .iter()
            .map(|(at, m)| {
                let (kind, tag) = match &m.kind {
                    PlanMarkKind::Mark => (MarkKind::Mark, None),
                    PlanMarkKind::Action { tag } => (MarkKind::Action, tag.clone()),
                    PlanMarkKind::Emotion { .. } => (MarkKind::Emotion, None),
                };
                MarkItem { at_ms: ms(*at), name: m.name.clone(), kind, tag }
            })
            .collect();
        marks.sort_by_key(|m| m.at_ms);
        let opts = LipsyncOptions::default();
        let phones: Vec<Phone> =
            phonemes.iter().map(|p| Phone { start_ms: p.start_ms, end_ms: p.end_ms, ipa: &p.phoneme }).collect();
        let visemes = doppel_lipsync::visemes(&phones, duration_ms, &opts);
        let frames = doppel_lipsync::frames_string(&doppel_lipsync::frames(&visemes, opts.fps, duration_ms));
        let timeline = Timeline { duration_ms, sentences, words, phonemes, marks, visemes, fps: opts.fps, frames };
        Speech { sample_rate: self.sample_rate, samples: self.samples, timeline }
    }
}

fn push_gen(chunk: &mut Chunk, gen: &str, unit: Option<u32>, disp_start: usize, disp_end: usize) {
    let n = gen.chars().count();
    if n == 0 {
        return;
    }
    chunk.segs.push(Seg { gen_start: chunk.gen_chars, gen_end: chunk.gen_chars + n, disp_start, disp_end, unit });
    chunk.gen.push_str(gen);
    chunk.gen_chars += n;
}

/// Maps a character range of the synthesized text to the display range (and unit) it came from.
fn map_to_display(segs: &[Seg], a: usize, b: usize) -> Option<(usize, usize, Option<u32>)> {
    let mut out: Option<(usize, usize, Option<u32>)> = None;
    for s in segs.iter().filter(|s| s.gen_start < b && a < s.gen_end && s.disp_end > s.disp_start) {
        let (ds, de) = match s.unit {
            Some(_) => (s.disp_start, s.disp_end),
            None => {
                let from = a.max(s.gen_start) - s.gen_start;
                let to = b.min(s.gen_end) - s.gen_start;
                ((s.disp_start + from).min(s.disp_end), (s.disp_start + to).min(s.disp_end))
            }
        };
        let unit = s.unit.filter(|&u| u != 0);
        out = Some(match out {
            None => (ds, de, unit),
            Some((os, oe, ou)) => (os.min(ds), oe.max(de), ou.or(unit)),
        });
    }
    out
}

/// Han text (with ASCII digits read as Chinese numbers) as tone-numbered pinyin, syllables separated by spaces.
fn zh_to_pinyin(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if let Some(p) = lang::han_pinyin(c) {
            out.push_str(&p);
            out.push(' ');
        } else if lang::is_cjk_punct(c) {
            out.push_str(lang::cjk_punct_ascii(c));
        } else if let Some(d) = c.to_digit(10) {
            out.push_str(&zh_to_pinyin(&lang::chinese_number(&d.to_string())));
        } else {
            out.push(c);
        }
    }
    out
}

/// Sentence ranges of the display text: a sentence ends after `.`, `!`, `?`, `;`, `…`, their full-width forms,
/// or a line break, when what follows is not a letter or digit of the same word (so `3.14` stays whole).
pub fn sentence_ranges(text: &[char]) -> Vec<(usize, usize)> {
    let is_end = |c: char| matches!(c, '.' | '!' | '?' | ';' | '…' | '\n' | '。' | '！' | '？' | '；');
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        if is_end(text[i]) {
            let mut j = i + 1;
            while j < text.len() && (is_end(text[j]) || matches!(text[j], '"' | '\'' | '”' | '’' | ')' | '）' | '」'))
            {
                j += 1;
            }
            let next = text.get(j).copied();
            if next.is_none_or(|c| !c.is_ascii_alphanumeric()) {
                out.push((start, j));
                start = j;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    if start < text.len() {
        out.push((start, text.len()));
    }
    out
}
