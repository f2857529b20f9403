//! Recorded speech (AUDIO scenes and `doppel lipsync`): a recording is decoded and checked, its mouth shapes
//! are estimated from the sound, and it becomes a [`Speech`] like the TTS engine's, so that motion, subtitles
//! and the soundtrack treat both alike.
//!
//! Reading ([`read`]): FFmpeg decodes the first audio stream of any format it knows (WAV, MP3, AAC/M4A, Ogg
//! Vorbis/Opus, FLAC …) to mono `f32` at [`RATE`]. A file is refused, with a message saying why, when it cannot
//! be opened as media, has no audio stream, is longer than the limit, is truncated (it decodes to more than
//! [`TRUNCATION_TOLERANCE_MS`] plus two codec frames less than its header declares), is damaged (the decoder
//! refused a packet: damaged data), or holds no samples at all.
//!
//! The timeline of a recording ([`Recording::speech`]):
//! * its duration is the recording's; its mouth shapes come from
//!   [`doppel_lipsync::audio::visemes_from_audio`] on the recording resampled to [`ESTIMATOR_RATE`], cut or
//!   extended to cover exactly `0..duration`; `fps` and `frames` are filled as the TTS engine fills them;
//! * no phonemes and no marks (actions come from `audio_drive_action_config`);
//! * sentences only when a text is given with the recording. Its display text (plain text or SSML) is split
//!   into sentences as the TTS engine splits (after `.` `!` `?` `;` `…`, their full-width forms, or a line
//!   break), and the sentences are laid over the speech of the recording ([`doppel_lipsync::audio::speech_spans`]
//!   with pauses of at least [`MIN_PAUSE_MS`]; the whole recording when none is found) in proportion to their
//!   length: a Han, kana or Hangul character weighs [`CJK_WEIGHT`] letters, other letters and digits one,
//!   punctuation and spaces nothing. Each boundary between two sentences moves to the nearest pause when that
//!   pause is within a third of the shorter sentence's share, so that a subtitle changes where the speaker
//!   pauses. Words (runs of letters and digits, each CJK character alone) are spread inside their sentence's
//!   speech by the same weights.
//!
//! The avatar's head follows speech: with a text, the words; without one, the speech spans ([`Recorded::speaking`]).

use std::path::Path;

use doppel_lipsync::{Shape, Viseme};
use doppel_media::decode::decode_audio_track;
use doppel_script::Plan;
use doppel_speech::{Speech, TextItem, Timeline};

/// The rate recordings are decoded at (the soundtrack's, so the voice is not resampled twice).
pub const RATE: u32 = crate::audio::RATE;
/// The rate the mouth-shape estimator hears.
pub const ESTIMATOR_RATE: u32 = 24_000;
/// Shortest pause between two speech spans, in milliseconds.
pub const MIN_PAUSE_MS: u32 = 250;
/// How much shorter than its header declares a recording may decode before it counts as truncated, besides
/// two codec frames of encoder padding.
pub const TRUNCATION_TOLERANCE_MS: u64 = 100;
/// Weight of a CJK character against a Latin letter when spreading text over speech (a Mandarin syllable takes
/// about as long as three letters of English).
pub const CJK_WEIGHT: u32 = 3;

/// A stretch of time, `(start_ms, end_ms)`.
pub type Span = (u32, u32);

/// A decoded recording: mono `f32` at [`RATE`].
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub samples: Vec<f32>,
    pub duration_ms: u32,
}

/// The mouth track of a recording, as `doppel lipsync` writes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LipTrack {
    pub duration_ms: u32,
    pub fps: u32,
    /// One shape letter per frame at `fps`.
    pub frames: String,
    pub visemes: Vec<Viseme>,
}

/// A recording as speech: the timeline and PCM of [`Speech`], and the stretches the avatar speaks in.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub speech: Speech,
    /// `(start_ms, end_ms)` of speaking: the words when a text was given, the speech spans otherwise.
    pub speaking: Vec<(u32, u32)>,
}

fn seconds(ms: u64) -> String {
    format!("{:.2} s", ms as f64 / 1000.0)
}

/// Decodes and checks the recording in `file`. `max_ms` bounds its length. Errors are messages about the file
/// (the caller names it).
pub fn read(file: &Path, max_ms: Option<u64>) -> Result<Recording, String> {
    let track = decode_audio_track(file, RATE, 1, max_ms).map_err(|e| match e {
        doppel_media::Error::NoStream { .. } => "has no audio stream (is it an audio file?)".to_string(),
        doppel_media::Error::Ffmpeg { source, .. } => {
            format!("is damaged or not audio: FFmpeg cannot read it ({source})")
        }
        other => format!("is damaged or not audio: {other}"),
    })?;
    let decoded_ms = track.duration_ms(RATE, 1);
    if let Some(max) = max_ms {
        let declared = track.declared_ms.unwrap_or(0);
        if track.cut || declared > max || decoded_ms > max {
            let len = if track.cut { format!("more than {}", seconds(max)) } else { seconds(declared.max(decoded_ms)) };
            return Err(format!("lasts {len}; the limit is {}", seconds(max)));
        }
    }
    if let Some(declared) = track.declared_ms {
        let tolerance = TRUNCATION_TOLERANCE_MS + 2 * track.max_frame_ms;
        if declared > decoded_ms + tolerance {
            return Err(format!(
                "is truncated: its header declares {} of audio but only {} is there",
                seconds(declared),
                seconds(decoded_ms)
            ));
        }
    }
    if track.damaged_packets > 0 {
        let at = track.first_damage_ms.map(|ms| format!(", the first at {}", seconds(ms))).unwrap_or_default();
        return Err(format!(
            "is damaged: the {} decoder refused {} packet{}{at}",
            codec_name(file),
            track.damaged_packets,
            if track.damaged_packets == 1 { "" } else { "s" }
        ));
    }
    if track.samples.is_empty() {
        return Err("holds no audio (0 s)".into());
    }
    let n = track.samples.len() as u64;
    let duration_ms = ((n * 1000 + u64::from(RATE) / 2) / u64::from(RATE)) as u32;
    if duration_ms == 0 {
        return Err("holds no audio (0 s)".into());
    }
    Ok(Recording { samples: track.samples, duration_ms })
}

fn codec_name(file: &Path) -> String {
    doppel_media::probe(file)
        .ok()
        .and_then(|i| i.stream(doppel_media::StreamKind::Audio).map(|s| s.codec.clone()))
        .unwrap_or_else(|| "audio".into())
}

impl Recording {
    /// The recording at [`ESTIMATOR_RATE`].
    fn for_estimator(&self) -> crate::Result<Vec<f32>> {
        Ok(doppel_media::resample::resample(&self.samples, RATE, 1, ESTIMATOR_RATE, 1)?)
    }

    /// The mouth shapes of the recording, covering `0..duration_ms`, and its speech spans.
    fn estimate(&self) -> crate::Result<(Vec<Viseme>, Vec<Span>)> {
        let pcm = self.for_estimator()?;
        let visemes = fit_track(doppel_lipsync::audio::visemes_from_audio(ESTIMATOR_RATE, &pcm), self.duration_ms);
        let mut spans: Vec<(u32, u32)> = doppel_lipsync::audio::speech_spans(ESTIMATOR_RATE, &pcm, MIN_PAUSE_MS)
            .into_iter()
            .map(|(s, e)| (s.min(self.duration_ms), e.min(self.duration_ms)))
            .filter(|(s, e)| e > s)
            .collect();
        spans.sort_unstable();
        spans.dedup_by(|b, a| {
            // Overlapping spans join (the later `b` folds into the earlier `a`).
            if b.0 <= a.1 {
                a.1 = a.1.max(b.1);
                true
            } else {
                false
            }
        });
        Ok((visemes, spans))
    }

    /// The mouth track at `fps` frames per second.
    pub fn lip_track(&self, fps: u32) -> crate::Result<LipTrack> {
        let (visemes, _) = self.estimate()?;
        let fps = fps.max(1);
        let frames = doppel_lipsync::frames_string(&doppel_lipsync::frames(&visemes, fps, self.duration_ms));
        Ok(LipTrack { duration_ms: self.duration_ms, fps, frames, visemes })
    }

    /// The recording as speech, with sentences and words from `text` when given (see the module docs).
    pub fn speech(&self, text: Option<&Plan>) -> crate::Result<Recorded> {
        let (visemes, spans) = self.estimate()?;
        let duration_ms = self.duration_ms;
        let fps = doppel_lipsync::Options::default().fps;
        let frames = doppel_lipsync::frames_string(&doppel_lipsync::frames(&visemes, fps, duration_ms));
        let display = text.map(Plan::display_text).unwrap_or_default();
        let (sentences, words) = if display.trim().is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let axis_spans = if spans.is_empty() { vec![(0, duration_ms)] } else { spans.clone() };
            lay_text(&display, &axis_spans)
        };
        let speaking = if words.is_empty() { spans } else { words.iter().map(|w| (w.start_ms, w.end_ms)).collect() };
        let timeline =
            Timeline { duration_ms, sentences, words, phonemes: Vec::new(), marks: Vec::new(), visemes, fps, frames };
        let samples = self.samples.iter().map(|&s| (s * 32767.0).round().clamp(-32768.0, 32767.0) as i16).collect();
        Ok(Recorded { speech: Speech { sample_rate: RATE, samples, timeline }, speaking })
    }
}

/// Cuts or extends a viseme track to cover exactly `0..duration_ms` without gaps (the rest shape fills what
/// the estimator left out), joining neighbours of one shape.
fn fit_track(track: Vec<Viseme>, duration_ms: u32) -> Vec<Viseme> {
    let mut out: Vec<Viseme> = Vec::with_capacity(track.len() + 1);
    let mut cursor = 0u32;
    for v in track {
        let end = v.end_ms.min(duration_ms);
        if end <= cursor {
            continue;
        }
        push(&mut out, cursor, end, v.shape);
        cursor = end;
    }
    if cursor < duration_ms || out.is_empty() {
        push(&mut out, cursor, duration_ms.max(cursor), Shape::X);
    }
    out
}

fn push(out: &mut Vec<Viseme>, start_ms: u32, end_ms: u32, shape: Shape) {
    match out.last_mut() {
        Some(last) if last.shape == shape => last.end_ms = end_ms,
        _ => out.push(Viseme { start_ms, end_ms, shape }),
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // kana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0x20000..=0x2FFFF) // supplementary ideographs
}

/// How long a piece of text takes to say, in letter units.
fn weight(text: &str) -> u32 {
    text.chars().map(|c| if is_cjk(c) { CJK_WEIGHT } else { u32::from(c.is_alphanumeric()) }).sum()
}

/// Sentences of a display text, as the TTS engine splits them: after `.`, `!`, `?`, `;`, `…`, their full-width
/// forms or a line break (with closing quotes and brackets), when what follows is not a letter or digit of the
/// same word (so `3.14` stays whole). Trimmed, empty ones left out.
fn sentences(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    doppel_speech::sentence_ranges(&chars)
        .into_iter()
        .map(|(a, b)| chars[a..b].iter().collect::<String>().trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Words of a sentence: runs of characters between spaces, each CJK character alone; those without a letter or
/// digit (punctuation) are left out.
fn words(sentence: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        if cur.chars().any(char::is_alphanumeric) {
            out.push(std::mem::take(cur));
        } else {
            cur.clear();
        }
    };
    for c in sentence.chars() {
        if c.is_whitespace() {
            flush(&mut cur, &mut out);
        } else if is_cjk(c) {
            flush(&mut cur, &mut out);
            out.push(c.to_string());
        } else {
            cur.push(c);
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// The speech spans laid end to end: a position on this axis is an amount of speech, mapped back to the time
/// at which that much has been spoken.
struct Axis<'a> {
    spans: &'a [(u32, u32)],
    /// Where each span ends on the axis.
    ends: Vec<f64>,
}

impl Axis<'_> {
    fn new(spans: &[(u32, u32)]) -> Axis<'_> {
        let mut total = 0.0;
        let ends = spans
            .iter()
            .map(|&(s, e)| {
                total += f64::from(e - s);
                total
            })
            .collect();
        Axis { spans, ends }
    }

    fn total(&self) -> f64 {
        self.ends.last().copied().unwrap_or(0.0)
    }

    /// The time at which speech from `x` on starts: a point between two spans is the later span's start.
    fn start_at(&self, x: f64) -> u32 {
        match self.ends.iter().position(|&end| end > x) {
            Some(j) => self.spans[j].1 - (self.ends[j] - x).round().min(f64::from(self.spans[j].1)) as u32,
            None => self.spans.last().map_or(0, |s| s.1),
        }
        .max(self.spans.first().map_or(0, |s| s.0))
    }

    /// The time at which speech up to `x` ends: a point between two spans is the earlier span's end.
    fn end_at(&self, x: f64) -> u32 {
        match self.ends.iter().position(|&end| end >= x) {
            Some(j) => self.spans[j].1 - (self.ends[j] - x).round().min(f64::from(self.spans[j].1)) as u32,
            None => self.spans.last().map_or(0, |s| s.1),
        }
    }
}

/// Lays the sentences and words of `text` over the speech `spans` (non-empty, sorted, not overlapping).
fn lay_text(text: &str, spans: &[(u32, u32)]) -> (Vec<TextItem>, Vec<TextItem>) {
    let axis = Axis::new(spans);
    let total = axis.total();
    let list: Vec<(String, Vec<String>)> = sentences(text).into_iter().map(|s| (s.clone(), words(&s))).collect();
    let weights: Vec<f64> = list.iter().map(|(s, _)| f64::from(weight(s).max(1))).collect();
    let sum: f64 = weights.iter().sum();
    // Proportional boundaries on the axis, then each moved to a nearby pause.
    let mut bounds = vec![0.0];
    let mut acc = 0.0;
    for (k, w) in weights.iter().enumerate() {
        acc += w;
        if k + 1 == weights.len() {
            bounds.push(total);
            break;
        }
        let at = total * acc / sum;
        let reach = total * w.min(weights[k + 1]) / sum / 3.0;
        let prev = *bounds.last().unwrap_or(&0.0);
        let pause = axis.ends[..axis.ends.len().saturating_sub(1)]
            .iter()
            .copied()
            .filter(|&g| g > prev && (g - at).abs() <= reach)
            .min_by(|a, b| (a - at).abs().total_cmp(&(b - at).abs()));
        bounds.push(pause.unwrap_or(at).max(prev));
    }
    let mut sentence_items = Vec::new();
    let mut word_items = Vec::new();
    for (k, (sentence, ws)) in list.iter().enumerate() {
        let (a, b) = (bounds[k], bounds[k + 1]);
        sentence_items.push(TextItem {
            start_ms: axis.start_at(a),
            end_ms: axis.end_at(b).max(axis.start_at(a)),
            text: sentence.clone(),
            pinyin: None,
        });
        let word_weights: Vec<f64> = ws.iter().map(|w| f64::from(weight(w).max(1))).collect();
        let word_sum: f64 = word_weights.iter().sum();
        let mut x = a;
        for (i, (w, ww)) in ws.iter().zip(&word_weights).enumerate() {
            // The last word ends exactly where its sentence does (sums of fractions may overshoot by a hair).
            let next = if i + 1 == ws.len() { b } else { (x + (b - a) * ww / word_sum).min(b) };
            let (start_ms, end_ms) = (axis.start_at(x), axis.end_at(next));
            if end_ms > start_ms {
                word_items.push(TextItem { start_ms, end_ms, text: w.clone(), pinyin: None });
            }
            x = next;
        }
    }
    (sentence_items, word_items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_and_words_split_like_the_engine() {
        assert_eq!(sentences("Hello there. Pi is 3.14! 你好。再见"), ["Hello there.", "Pi is 3.14!", "你好。", "再见"]);
        assert_eq!(words("Hello, big world — ok?"), ["Hello,", "big", "world", "ok?"]);
        assert_eq!(words("大家好，我是"), ["大", "家", "好", "我", "是"]);
        assert_eq!(weight("ab 中。"), 2 + CJK_WEIGHT);
    }

    #[test]
    fn text_lays_over_speech_and_snaps_to_pauses() {
        // Two bursts of speech of 1 s with a pause between, two sentences of nearly equal length.
        let spans = [(200, 1200), (1800, 2800)];
        let (s, w) = lay_text("One two three. Four five six!", &spans);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].start_ms, s[0].end_ms), (200, 1200));
        assert_eq!((s[1].start_ms, s[1].end_ms), (1800, 2800));
        assert_eq!(w.len(), 6);
        assert!(w.windows(2).all(|p| p[0].end_ms <= p[1].start_ms), "{w:?}");
        let t = Timeline {
            duration_ms: 3000,
            sentences: s,
            words: w,
            phonemes: Vec::new(),
            marks: Vec::new(),
            visemes: fit_track(Vec::new(), 3000),
            fps: 25,
            frames: String::new(),
        };
        t.check().expect("a valid timeline");
    }

    #[test]
    fn laid_text_always_makes_a_valid_timeline() {
        let texts = [
            "One.",
            "A b. C d e f g! H?",
            "大家好，我是小云。今天天气很好！Hello world.",
            "... ! ?",
            "Word",
            "Pi is 3.14; e is 2.72. Done…",
        ];
        let mut seed = 7u32;
        let mut next = |m: u32| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (seed >> 8) % m
        };
        for text in texts {
            for n in 1..7 {
                let mut spans = Vec::new();
                let mut t = next(300);
                for _ in 0..n {
                    let len = 1 + next(900);
                    spans.push((t, t + len));
                    t += len + 1 + next(700);
                }
                let (sentences, words) = lay_text(text, &spans);
                let t = Timeline {
                    duration_ms: t,
                    sentences,
                    words,
                    phonemes: Vec::new(),
                    marks: Vec::new(),
                    visemes: fit_track(Vec::new(), t),
                    fps: 25,
                    frames: String::new(),
                };
                t.check().unwrap_or_else(|e| panic!("{text:?} over {spans:?}: {e}"));
            }
        }
    }

    #[test]
    fn text_without_pauses_spreads_in_proportion() {
        let (s, w) = lay_text("Short. A much longer sentence here.", &[(0, 3000)]);
        let len = |i: usize| s[i].end_ms - s[i].start_ms;
        assert!(len(1) > 3 * len(0), "{s:?}");
        assert_eq!((s[0].start_ms, s[1].end_ms), (0, 3000));
        assert_eq!(w.first().map(|w| w.text.as_str()), Some("Short."));
    }

    #[test]
    fn the_track_is_fitted_to_the_duration() {
        let v = |a, b, shape| Viseme { start_ms: a, end_ms: b, shape };
        assert_eq!(
            fit_track(vec![v(0, 500, Shape::B), v(500, 1200, Shape::X)], 1000),
            [v(0, 500, Shape::B), v(500, 1000, Shape::X)]
        );
        assert_eq!(fit_track(vec![v(0, 500, Shape::B)], 800), [v(0, 500, Shape::B), v(500, 800, Shape::X)]);
        assert_eq!(fit_track(Vec::new(), 40), [v(0, 40, Shape::X)]);
    }
}
