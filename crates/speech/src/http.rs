//! The HTTP engine: speech from a server that speaks OpenAI's text-to-speech API (`POST {base_url}/audio/speech`
//! with a JSON body, WAV in the reply), which most self-hosted neural TTS servers expose (Kokoro-FastAPI,
//! openedai-speech, LocalAI, …). Its voices come from the configuration, under ids derived from it.
//!
//! A plan is spoken one request per piece: a piece is the text of one sentence with one prosody, so every
//! sentence's timing is exact (measured on its own audio, from the first to the last sample above the silence
//! threshold). Breaks are exact silence between pieces. The server reports no word or phoneme timings, so words
//! are spread over the voiced part of their piece in proportion to their length (a Han character counts as
//! [`HAN_WEIGHT`] letters), `phonemes` stays empty, and the mouth shapes come from the audio itself
//! ([`doppel_lipsync::audio::visemes_from_audio`]). Marks are timed as the espeak-ng engine times them: at the
//! start of the first word after them, at the start of a break, or at the end of the audio.
//!
//! Settings: `speed` is sent as the API's `speed` (MetaStudio's 100 → 1.0), multiplied by the SSML prosody rate;
//! `volume` is applied as a gain on the reply (140 → 1.0), multiplied by the prosody volume; pitch cannot be
//! asked of these servers and is ignored (the espeak-ng voices honour it). Text inside `<phoneme>` is sent as
//! written (the servers take no pinyin), `<sub alias>` sends the alias.

use std::fmt;
use std::io::Read;
use std::time::Duration;

use doppel_script::{Mark, MarkKind as PlanMarkKind, Plan, PlanItem, Prosody, Spoken};
use serde::Deserialize;

use crate::engine::sentence_ranges;
use crate::timeline::{MarkItem, MarkKind, TextItem, Timeline};
use crate::{lang, wav, Error, Gender, Result, Speech, Tts, VoiceInfo, VoiceSettings};

/// How many letters of word length a Han character counts as when words are spread over a piece's audio (one
/// syllable, about as long as a short English word).
pub const HAN_WEIGHT: u32 = 3;
/// The frame rate of the timeline's per-frame mouth shapes.
const FPS: u32 = 25;
/// The largest reply accepted, bytes (about 45 minutes of 48 kHz mono).
const MAX_REPLY_BYTES: u64 = 256 << 20;
/// How much of an error reply is read, and how many characters of it an error message quotes.
const ERROR_BODY_BYTES: u64 = 64 << 10;
const ERROR_BODY_CHARS: usize = 200;
/// The sample rate of a plan with no speech at all (only breaks), where no reply says what the server uses.
const SILENCE_RATE: u32 = 24_000;

/// One `[[tts.http]]` entry of the configuration: a server and the voices doppel offers from it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// The engine's name: the first part of its voice ids and `VoiceInfo::engine` (`kokoro`).
    pub name: String,
    /// The API base, up to and including `/v1` (`http://127.0.0.1:8880/v1`); requests go to
    /// `{base_url}/audio/speech`.
    pub base_url: String,
    /// Sent as `Authorization: Bearer …` when set.
    #[serde(default)]
    pub api_key: Option<String>,
    /// The API's `model` (default `tts-1`).
    #[serde(default = "default_model")]
    pub model: String,
    /// Time limit of one request, seconds (default 60): connecting, the server's synthesis and the reply.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// The voices offered from this server.
    pub voices: Vec<HttpVoice>,
}

fn default_model() -> String {
    "tts-1".into()
}

fn default_timeout_secs() -> u64 {
    60
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConfig")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("timeout_secs", &self.timeout_secs)
            .field("voices", &self.voices)
            .finish()
    }
}

/// A voice of an HTTP engine.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpVoice {
    /// Display name (`Heart`).
    pub name: String,
    /// The server's `voice` parameter (`af_heart`).
    pub voice: String,
    /// BCP 47 tag of the voice's language (`en-US`, `zh-CN`): the second part of its id, and what previews and
    /// catalogs go by.
    pub language: String,
    /// `female` or `male`.
    pub gender: Gender,
    /// One line for catalogs; by default `{voice} from the {engine} server`.
    #[serde(default)]
    pub description: Option<String>,
}

/// The id of an HTTP engine's voice: `{engine}-{language}-{voice}` in lower case, with every character other
/// than `a`–`z` and `0`–`9` turned into `-` (engine `kokoro`, language `en-US`, voice `af_heart` →
/// `kokoro-en-us-af-heart`). It depends on the configuration only, so it stays the same as long as the
/// configuration entry does.
pub fn http_voice_id(engine: &str, language: &str, voice: &str) -> String {
    format!("{engine}-{language}-{voice}")
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A text-to-speech engine backed by an OpenAI-compatible speech server. Requests are blocking (call it from a
/// blocking thread, as every engine is); one plan's pieces are requested one after another.
#[derive(Debug, Clone)]
pub struct HttpTts {
    config: HttpConfig,
    /// The catalog entries, in the order of `config.voices`.
    voices: Vec<VoiceInfo>,
    url: String,
    agent: ureq::Agent,
}

impl HttpTts {
    /// Checks a configuration entry and makes its engine; nothing is sent until the first synthesis.
    pub fn new(config: HttpConfig) -> Result<HttpTts> {
        let bad = |what: String| Err(Error::Config(format!("tts.http {:?}: {what}", config.name)));
        if !config.name.chars().any(|c| c.is_ascii_alphanumeric()) {
            return bad("name must contain a letter or digit (it starts the voice ids)".into());
        }
        let base = config.base_url.trim().trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return bad(format!("base_url {:?} must start with http:// or https://", config.base_url));
        }
        if config.model.trim().is_empty() {
            return bad("model is empty".into());
        }
        if config.timeout_secs == 0 {
            return bad("timeout_secs must be at least 1".into());
        }
        if config.voices.is_empty() {
            return bad("no voices: list the server's voices as [[tts.http.voices]]".into());
        }
        let mut voices: Vec<VoiceInfo> = Vec::with_capacity(config.voices.len());
        for (i, v) in config.voices.iter().enumerate() {
            for (field, value) in [("name", &v.name), ("voice", &v.voice), ("language", &v.language)] {
                if value.trim().is_empty() {
                    return bad(format!("voices[{i}].{field} is empty"));
                }
            }
            let id = http_voice_id(&config.name, &v.language, &v.voice);
            if let Some(j) = voices.iter().position(|o| o.id == id) {
                return bad(format!("voices[{j}] and voices[{i}] have the same id {id:?}"));
            }
            voices.push(VoiceInfo {
                id,
                name: v.name.clone(),
                language: v.language.clone(),
                gender: v.gender,
                engine: config.name.clone(),
                description: v
                    .description
                    .clone()
                    .unwrap_or_else(|| format!("{} from the {} server", v.voice, config.name)),
            });
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(config.timeout_secs)))
            .http_status_as_error(false)
            .user_agent(format!("doppel/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let url = format!("{base}/audio/speech");
        Ok(HttpTts { config, voices, url, agent })
    }

    /// The engine's configured name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Where requests go: `{base_url}/audio/speech`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether `voice_id` is one of this engine's voices (ignoring case).
    pub fn has_voice(&self, voice_id: &str) -> bool {
        self.voices.iter().any(|v| v.id.eq_ignore_ascii_case(voice_id))
    }

    fn error(&self, what: impl fmt::Display) -> Error {
        Error::Engine(format!("{}: {what}", self.config.name))
    }

    fn transport_error(&self, e: ureq::Error) -> Error {
        let url = &self.url;
        match e {
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                self.error(format_args!("connection refused at {url}; is the server running?"))
            }
            ureq::Error::Timeout(_) => self.error(format_args!(
                "no complete answer from {url} within {} s (timeout_secs)",
                self.config.timeout_secs
            )),
            ureq::Error::HostNotFound => self.error(format_args!("cannot resolve the host of {url}")),
            ureq::Error::ConnectionFailed => self.error(format_args!("cannot connect to {url}")),
            ureq::Error::BodyExceedsLimit(_) => {
                self.error(format_args!("the reply from {url} is larger than {MAX_REPLY_BYTES} bytes"))
            }
            e => self.error(format_args!("request to {url} failed: {e}")),
        }
    }

    /// Asks the server to speak `text` with its voice `voice`, returning the sample rate and mono samples.
    fn request(&self, voice: &str, text: &str, speed: f32) -> Result<(u32, Vec<i16>)> {
        let body = serde_json::json!({
            "model": self.config.model,
            "input": text,
            "voice": voice,
            "response_format": "wav",
            "speed": speed,
        });
        let mut req = self.agent.post(&self.url).header("Accept", "audio/wav");
        if let Some(key) = &self.config.api_key {
            req = req.header("Authorization", format!("Bearer {key}"));
        }
        let reply = req.content_type("application/json").send(body.to_string()).map_err(|e| self.transport_error(e))?;
        let status = reply.status();
        let content_type =
            reply.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("no content type").to_string();
        let mut body = reply.into_body();
        if !status.is_success() {
            let mut bytes = Vec::new();
            // What could be read is quoted; a reply cut short is still worth showing.
            let _ = body.as_reader().take(ERROR_BODY_BYTES).read_to_end(&mut bytes);
            let text = String::from_utf8_lossy(&bytes);
            let quoted: String = text.trim().chars().take(ERROR_BODY_CHARS).collect();
            return Err(self.error(format_args!("{} answered HTTP {}: {quoted}", self.url, status.as_u16())));
        }
        let bytes = body.with_config().limit(MAX_REPLY_BYTES).read_to_vec().map_err(|e| self.transport_error(e))?;
        wav::decode_to_mono(&bytes).map_err(|e| {
            self.error(format_args!(
                "bad audio from {} ({content_type}, {} bytes): {e}; doppel asks for response_format \"wav\"",
                self.url,
                bytes.len()
            ))
        })
    }
}

impl Tts for HttpTts {
    fn voices(&self) -> Vec<VoiceInfo> {
        self.voices.clone()
    }

    fn synthesize(&self, voice_id: &str, plan: &Plan, settings: VoiceSettings) -> Result<Speech> {
        settings.validate()?;
        let index = self
            .voices
            .iter()
            .position(|v| v.id.eq_ignore_ascii_case(voice_id))
            .ok_or_else(|| Error::UnknownVoice { id: voice_id.to_string() })?;
        let voice = &self.config.voices[index].voice;
        let layout = Layout::of(plan);
        let mut replies: Vec<Option<(u32, Vec<i16>)>> = Vec::with_capacity(layout.steps.len());
        for step in &layout.steps {
            replies.push(match step {
                Step::Pause(_) => None,
                Step::Speak(piece) => {
                    let speed = settings.speed as f32 / 100.0 * piece.prosody.rate;
                    Some(self.request(voice, &piece.text, speed)?)
                }
            });
        }
        Ok(layout.assemble(replies, settings))
    }
}

/// A word of a piece: its display range and its length for spreading.
#[derive(Debug, Clone)]
struct WordSpan {
    disp_start: usize,
    disp_end: usize,
    weight: u32,
}

/// One request: text of one sentence with one prosody.
#[derive(Debug)]
struct Piece {
    text: String,
    prosody: Prosody,
    sentence: usize,
    words: Vec<WordSpan>,
}

#[derive(Debug)]
enum Step {
    Speak(Piece),
    /// Silence, milliseconds.
    Pause(u32),
}

/// Where a mark lands.
#[derive(Debug, Clone, Copy)]
enum Anchor {
    /// At the start of this word (counted over all pieces).
    Word(usize),
    /// At the start of this step (a break).
    Step(usize),
    End,
}

#[derive(Debug, Clone, Copy)]
enum UnitKind {
    Char(char),
    /// Text spoken as one word (`<sub alias>`, `<phoneme>`), with its length.
    Atomic(u32),
}

/// A piece of display text: one character, or a run spoken as one word.
#[derive(Debug, Clone, Copy)]
struct Unit {
    start: usize,
    end: usize,
    kind: UnitKind,
    group: Option<u32>,
}

#[derive(Debug)]
struct OpenPiece {
    prosody: Prosody,
    sentence: usize,
    text: String,
    units: Vec<Unit>,
}

/// A plan laid out as requests and silences, with its marks anchored.
#[derive(Debug)]
struct Layout {
    display: Vec<char>,
    sentences: Vec<(usize, usize)>,
    steps: Vec<Step>,
    marks: Vec<(Anchor, Mark)>,
    pending: Vec<(usize, Mark)>,
    open: Option<OpenPiece>,
    words: usize,
}

impl Layout {
    fn of(plan: &Plan) -> Layout {
        let display: Vec<char> = plan.display_text().chars().collect();
        let sentences = sentence_ranges(&display);
        let mut l = Layout {
            display,
            sentences,
            steps: Vec::new(),
            marks: Vec::new(),
            pending: Vec::new(),
            open: None,
            words: 0,
        };
        let mut pos = 0;
        for item in &plan.items {
            match item {
                PlanItem::Text(span) => {
                    let n = span.display.chars().count();
                    match &span.spoken {
                        Spoken::AsWritten => {
                            for (i, c) in span.display.chars().enumerate() {
                                let unit = Unit {
                                    start: pos + i,
                                    end: pos + i + 1,
                                    kind: UnitKind::Char(c),
                                    group: span.word_group,
                                };
                                l.push(unit, span.prosody, &c.to_string());
                            }
                        }
                        Spoken::Text(alias) => {
                            let unit = Unit {
                                start: pos,
                                end: pos + n,
                                kind: UnitKind::Atomic(weight(alias)),
                                group: span.word_group,
                            };
                            l.push(unit, span.prosody, &format!(" {alias} "));
                        }
                        Spoken::Pinyin(_) => {
                            let unit = Unit {
                                start: pos,
                                end: pos + n,
                                kind: UnitKind::Atomic(weight(&span.display)),
                                group: span.word_group,
                            };
                            l.push(unit, span.prosody, &span.display);
                        }
                    }
                    pos += n;
                }
                PlanItem::Break { ms } => {
                    l.flush();
                    let at = Anchor::Step(l.steps.len());
                    l.marks.extend(l.pending.drain(..).map(|(_, m)| (at, m)));
                    l.steps.push(Step::Pause(*ms));
                }
                PlanItem::Mark(m) => l.pending.push((pos, m.clone())),
            }
        }
        l.flush();
        l.marks.extend(l.pending.drain(..).map(|(_, m)| (Anchor::End, m)));
        l
    }

    fn sentence_of(&self, pos: usize) -> usize {
        self.sentences.iter().position(|&(_, b)| pos < b).unwrap_or(self.sentences.len().saturating_sub(1))
    }

    /// Adds a unit to the open piece, first closing it when the sentence or the prosody changes.
    fn push(&mut self, unit: Unit, prosody: Prosody, spoken: &str) {
        let sentence = self.sentence_of(unit.start);
        if self.open.as_ref().is_some_and(|p| p.sentence != sentence || p.prosody != prosody) {
            self.flush();
        }
        let open =
            self.open.get_or_insert_with(|| OpenPiece { prosody, sentence, text: String::new(), units: Vec::new() });
        open.text.push_str(spoken);
        open.units.push(unit);
    }

    /// Closes the open piece: a request if it has anything to say; marks before its words are anchored to them.
    fn flush(&mut self) {
        let Some(open) = self.open.take() else { return };
        if !open.text.chars().any(char::is_alphanumeric) {
            return;
        }
        let words = words_of(&open.units, &self.display);
        if words.is_empty() {
            return;
        }
        for (k, w) in words.iter().enumerate() {
            let mut i = 0;
            while i < self.pending.len() {
                if self.pending[i].0 <= w.disp_start {
                    let (_, m) = self.pending.remove(i);
                    self.marks.push((Anchor::Word(self.words + k), m));
                } else {
                    i += 1;
                }
            }
        }
        self.words += words.len();
        let text = open.text.split_whitespace().collect::<Vec<_>>().join(" ");
        self.steps.push(Step::Speak(Piece { text, prosody: open.prosody, sentence: open.sentence, words }));
    }

    /// Joins the replies (one per step, `None` for pauses) into the speech and its timeline.
    fn assemble(self, replies: Vec<Option<(u32, Vec<i16>)>>, settings: VoiceSettings) -> Speech {
        let rate = replies.iter().flatten().next().map_or(SILENCE_RATE, |r| r.0);
        let mut samples: Vec<i16> = Vec::new();
        let mut step_starts = Vec::with_capacity(self.steps.len());
        // Per word: start and end sample; per sentence: first and last word.
        let mut word_times: Vec<(u64, u64, &WordSpan, usize)> = Vec::new();
        for (step, reply) in self.steps.iter().zip(replies) {
            step_starts.push(samples.len() as u64);
            match (step, reply) {
                (Step::Pause(ms), _) => {
                    let n = u64::from(*ms) * u64::from(rate) / 1000;
                    samples.resize(samples.len() + n as usize, 0);
                }
                (Step::Speak(piece), Some((from, audio))) => {
                    let mut audio = resample(&audio, from, rate);
                    let gain = settings.volume as f32 / 140.0 * piece.prosody.volume;
                    if (gain - 1.0).abs() > f32::EPSILON {
                        for s in &mut audio {
                            *s = (*s as f32 * gain).round().clamp(i16::MIN as f32, i16::MAX as f32) as i16;
                        }
                    }
                    let offset = samples.len() as u64;
                    let (vs, ve) = voiced(&audio);
                    let (vs, ve) = (offset + vs as u64, offset + ve as u64);
                    let total: u64 = piece.words.iter().map(|w| u64::from(w.weight.max(1))).sum::<u64>().max(1);
                    let mut cum = 0u64;
                    for w in &piece.words {
                        let start = vs + (ve - vs) * cum / total;
                        cum += u64::from(w.weight.max(1));
                        let end = vs + (ve - vs) * cum / total;
                        word_times.push((start, end, w, piece.sentence));
                    }
                    samples.extend_from_slice(&audio);
                }
                (Step::Speak(_), None) => {}
            }
        }
        let sr = u64::from(rate);
        let total = samples.len() as u64;
        let ms = |s: u64| ((s.min(total) * 1000 + sr / 2) / sr) as u32;
        let duration_ms = ms(total);
        let text = |a: usize, b: usize| -> String {
            self.display.get(a..b.min(self.display.len())).map(|c| c.iter().collect::<String>()).unwrap_or_default()
        };
        let words: Vec<TextItem> = word_times
            .iter()
            .map(|(s, e, w, _)| TextItem {
                start_ms: ms(*s),
                end_ms: ms(*e),
                text: text(w.disp_start, w.disp_end).trim().to_string(),
                pinyin: None,
            })
            .collect();
        let mut sentences: Vec<TextItem> = Vec::new();
        for (i, &(a, b)) in self.sentences.iter().enumerate() {
            let inside = || word_times.iter().filter(|w| w.3 == i);
            if let (Some(first), Some(last)) = (inside().next(), inside().next_back()) {
                let t = text(a, b).trim().to_string();
                if !t.is_empty() {
                    sentences.push(TextItem { start_ms: ms(first.0), end_ms: ms(last.1), text: t, pinyin: None });
                }
            }
        }
        let mut marks: Vec<MarkItem> = self
            .marks
            .iter()
            .map(|(anchor, m)| {
                let at = match *anchor {
                    Anchor::Word(i) => word_times.get(i).map_or(total, |w| w.0),
                    Anchor::Step(i) => step_starts.get(i).copied().unwrap_or(total),
                    Anchor::End => total,
                };
                let (kind, tag) = match &m.kind {
                    PlanMarkKind::Mark => (MarkKind::Mark, None),
                    PlanMarkKind::Action { tag } => (MarkKind::Action, tag.clone()),
                    PlanMarkKind::Emotion { .. } => (MarkKind::Emotion, None),
                };
                MarkItem { at_ms: ms(at), name: m.name.clone(), kind, tag }
            })
            .collect();
        marks.sort_by_key(|m| m.at_ms);
        let audio: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
        let visemes = fit_visemes(doppel_lipsync::audio::visemes_from_audio(rate, &audio), duration_ms);
        let frames = doppel_lipsync::frames_string(&doppel_lipsync::frames(&visemes, FPS, duration_ms));
        let timeline =
            Timeline { duration_ms, sentences, words, phonemes: Vec::new(), marks, visemes, fps: FPS, frames };
        Speech { sample_rate: rate, samples, timeline }
    }
}

/// The length of a text for spreading words: letters and digits count 1, Han characters [`HAN_WEIGHT`].
fn weight(text: &str) -> u32 {
    text.chars().map(|c| if lang::is_han(c) { HAN_WEIGHT } else { u32::from(c.is_alphanumeric()) }).sum::<u32>().max(1)
}

/// The words of a piece: runs of letters and digits (with inner apostrophes and hyphens), each Han character
/// alone, each atomic unit alone; everything in one `<word>` group is one word.
fn words_of(units: &[Unit], display: &[char]) -> Vec<WordSpan> {
    #[derive(Clone, Copy)]
    struct Open {
        start: usize,
        end: usize,
        weight: u32,
        group: Option<u32>,
        /// Latin letters may join it; a Han character or an atomic unit stands alone.
        joinable: bool,
    }
    let mut out: Vec<WordSpan> = Vec::new();
    let mut cur: Option<Open> = None;
    let close = |cur: &mut Option<Open>, out: &mut Vec<WordSpan>| {
        if let Some(w) = cur.take() {
            let text: String = display.get(w.start..w.end).map(|c| c.iter().collect()).unwrap_or_default();
            if text.chars().any(char::is_alphanumeric) {
                out.push(WordSpan { disp_start: w.start, disp_end: w.end, weight: w.weight });
            }
        }
    };
    for u in units {
        let (word_char, joinable, weight) = match u.kind {
            UnitKind::Char(c) if lang::is_han(c) => (true, false, HAN_WEIGHT),
            UnitKind::Char(c) if c.is_alphanumeric() => (true, true, 1),
            UnitKind::Char('\'' | '’' | '-') => (cur.is_some_and(|w| w.joinable && w.group == u.group), true, 0),
            UnitKind::Char(_) => (false, false, 0),
            UnitKind::Atomic(w) => (true, false, w),
        };
        if let Some(w) = cur.as_mut().filter(|w| u.group.is_some() && w.group == u.group) {
            w.end = u.end;
            w.weight += weight;
            continue;
        }
        if !word_char {
            close(&mut cur, &mut out);
            continue;
        }
        match cur.as_mut() {
            Some(w) if joinable && w.joinable && w.group == u.group => {
                w.end = u.end;
                w.weight += weight;
            }
            _ => {
                close(&mut cur, &mut out);
                cur = Some(Open { start: u.start, end: u.end, weight, group: u.group, joinable });
            }
        }
    }
    close(&mut cur, &mut out);
    // A trailing apostrophe or hyphen belongs to no word.
    for w in &mut out {
        while w.disp_end > w.disp_start + 1 && matches!(display.get(w.disp_end - 1), Some('\'' | '’' | '-')) {
            w.disp_end -= 1;
        }
    }
    out
}

/// Linear resampling from `from` Hz to `to` Hz.
fn resample(samples: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to || samples.is_empty() {
        return samples.to_vec();
    }
    let n = (samples.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let last = samples.len() - 1;
    let step = f64::from(from) / f64::from(to);
    (0..n)
        .map(|i| {
            let x = i as f64 * step;
            let j = (x as usize).min(last);
            let f = x - j as f64;
            let (a, b) = (f64::from(samples[j]), f64::from(samples[(j + 1).min(last)]));
            (a + (b - a) * f).round() as i16
        })
        .collect()
}

/// The voiced part of a reply: from the first to the last sample louder than a 24th of its peak (about
/// −28 dB), so the silence servers put around speech counts to no word. All of it when it is silent.
fn voiced(samples: &[i16]) -> (usize, usize) {
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    let threshold = (peak / 24).max(64);
    let loud = |s: &i16| s.unsigned_abs() > threshold;
    match (samples.iter().position(loud), samples.iter().rposition(loud)) {
        (Some(a), Some(b)) if peak > 0 => (a, b + 1),
        _ => (0, samples.len()),
    }
}

/// Makes a track from the audio estimator cover exactly `0..duration_ms` (its rounding of the duration may
/// differ by a millisecond from the timeline's), gap-free.
fn fit_visemes(visemes: Vec<doppel_lipsync::Viseme>, duration_ms: u32) -> Vec<doppel_lipsync::Viseme> {
    let mut out: Vec<doppel_lipsync::Viseme> = Vec::with_capacity(visemes.len());
    let mut at = 0;
    for v in visemes {
        let end = v.end_ms.min(duration_ms);
        if end > at {
            out.push(doppel_lipsync::Viseme { start_ms: at, end_ms: end, shape: v.shape });
            at = end;
        }
    }
    if duration_ms > at {
        match out.last_mut() {
            Some(last) => last.end_ms = duration_ms,
            None => {
                out.push(doppel_lipsync::Viseme { start_ms: 0, end_ms: duration_ms, shape: doppel_lipsync::Shape::X })
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voice_ids_follow_the_documented_rule() {
        assert_eq!(http_voice_id("kokoro", "en-US", "af_heart"), "kokoro-en-us-af-heart");
        assert_eq!(http_voice_id("Open TTS", "zh-CN", "Xiao.Bei"), "open-tts-zh-cn-xiao-bei");
        assert_eq!(http_voice_id("k", "de", "jörg"), "k-de-j-rg");
    }

    #[test]
    fn words_are_split_as_the_espeak_engine_splits_them() {
        let plan =
            doppel_script::parse_text("It's well-known: 大家好, <sub alias=\"World Health Organization\">WHO</sub>!")
                .expect("plan");
        let l = Layout::of(&plan);
        let words: Vec<String> = l
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Speak(p) => Some(p),
                Step::Pause(_) => None,
            })
            .flat_map(|p| p.words.iter().map(|w| l.display[w.disp_start..w.disp_end].iter().collect::<String>()))
            .collect();
        assert_eq!(words, ["It's", "well-known", "大", "家", "好", "WHO"]);
    }

    #[test]
    fn resampling_keeps_the_duration() {
        let s: Vec<i16> = (0..44100).map(|i| (i % 100) as i16).collect();
        assert_eq!(resample(&s, 44100, 22050).len(), 22050);
        assert_eq!(resample(&s, 22050, 24000).len(), 48000);
    }

    #[test]
    fn visemes_are_fitted_to_the_duration() {
        use doppel_lipsync::{Shape, Viseme};
        let v = vec![Viseme { start_ms: 0, end_ms: 999, shape: Shape::X }];
        assert_eq!(fit_visemes(v, 1000), vec![Viseme { start_ms: 0, end_ms: 1000, shape: Shape::X }]);
        let v = vec![
            Viseme { start_ms: 0, end_ms: 500, shape: Shape::B },
            Viseme { start_ms: 500, end_ms: 1001, shape: Shape::X },
        ];
        assert_eq!(fit_visemes(v, 1000).last().map(|v| v.end_ms), Some(1000));
        assert_eq!(fit_visemes(Vec::new(), 40).len(), 1);
    }
}
