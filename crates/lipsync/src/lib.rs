//! Mouth shapes for 2D animation: phonemes become a track of the nine classic shapes (A–H and X) with
//! coarticulation, and the track becomes one shape per video frame.
//!
//! The shapes (the set hand-drawn 2D animation uses):
//!
//! | shape | mouth | sounds |
//! |---|---|---|
//! | A | closed | m b p |
//! | B | slightly open, teeth together | most consonants (k s t d n …), also ee |
//! | C | open | eh ae, as in men, bat |
//! | D | wide open | aa, as in father |
//! | E | slightly rounded | ao er, as in off, bird |
//! | F | puckered | uw ow w, as in you, show, way |
//! | G | teeth on lower lip | f v |
//! | H | tongue up | long l |
//! | X | rest | silence |
//!
//! Coarticulation rules, applied in this order by [`visemes`]:
//! 1. Each phoneme maps to a shape ([`shape_of`]); diphthongs split in two halves (`aɪ` → D then B).
//! 2. Gaps between phonemes longer than [`Options::rest_gap_ms`] rest (X); shorter gaps hold the previous shape.
//! 3. The mouth anticipates the next vowel: a vowel's shape starts [`Options::anticipation_ms`] early, taking
//!    time from the consonant before it, but never from a bilabial closure.
//! 4. Bilabials close fully: an A is stretched to at least one frame so that it lands on a frame.
//! 5. Shapes shorter than one frame are merged into the neighbour they most resemble.
//!
//! This crate is pure: no I/O, no clock; times are milliseconds passed in.

pub mod audio;
pub mod calibrate;
mod rng;

pub use rng::Rng;

use serde::{Deserialize, Serialize};

/// One of the nine mouth shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Shape {
    A,
    B,
    C,
    D,
    E,
    F,
    G,
    H,
    X,
}

impl Shape {
    /// All shapes, in letter order.
    pub const ALL: [Shape; 9] =
        [Shape::A, Shape::B, Shape::C, Shape::D, Shape::E, Shape::F, Shape::G, Shape::H, Shape::X];

    /// The shape's letter.
    pub fn letter(self) -> char {
        match self {
            Shape::A => 'A',
            Shape::B => 'B',
            Shape::C => 'C',
            Shape::D => 'D',
            Shape::E => 'E',
            Shape::F => 'F',
            Shape::G => 'G',
            Shape::H => 'H',
            Shape::X => 'X',
        }
    }

    /// The shape for a letter.
    pub fn from_letter(c: char) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.letter() == c.to_ascii_uppercase())
    }

    /// Whether the lips are open (anything but closed A and rest X).
    pub fn is_open(self) -> bool {
        !matches!(self, Shape::A | Shape::X)
    }

    /// How far the jaw is open, 0 (closed) to 4 (wide), used to pick the closer neighbour when merging.
    fn openness(self) -> i32 {
        match self {
            Shape::A | Shape::X => 0,
            Shape::B | Shape::G | Shape::F => 1,
            Shape::H | Shape::E => 2,
            Shape::C => 3,
            Shape::D => 4,
        }
    }

    fn is_vowelish(self) -> bool {
        matches!(self, Shape::C | Shape::D | Shape::E | Shape::F)
    }
}

/// A timed phoneme, as input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phone<'a> {
    pub start_ms: u32,
    pub end_ms: u32,
    /// IPA (espeak-ng's IPA names: `b`, `ɑː`, `aɪ`, `tɕ`, `s.` …).
    pub ipa: &'a str,
}

/// A timed mouth shape, as output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viseme {
    pub start_ms: u32,
    pub end_ms: u32,
    pub shape: Shape,
}

/// Tuning of [`visemes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Frame rate of the animation; shapes shorter than one frame are merged (default 25).
    pub fps: u32,
    /// How early a vowel's shape starts before its phoneme (default 30 ms).
    pub anticipation_ms: u32,
    /// Silences at least this long show the rest shape X (default 120 ms).
    pub rest_gap_ms: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options { fps: 25, anticipation_ms: 30, rest_gap_ms: 120 }
    }
}

impl Options {
    fn frame_ms(&self) -> u32 {
        1000 / self.fps.max(1)
    }
}

/// The shape of one phoneme and, for diphthongs, the shape of its second half.
pub fn shape_of(ipa: &str) -> (Shape, Option<Shape>) {
    // Strip length, stress, tone and syllabic marks; keep the letters.
    let core: String = ipa
        .chars()
        .filter(|c| !matches!(c, 'ː' | 'ˈ' | 'ˌ' | '.' | '̩' | '̃' | '-' | '1'..='5' | 'ʰ' | 'ʲ' | 'ʷ' | '#'))
        .collect();
    let mut chars = core.chars();
    let Some(first) = chars.next() else {
        return (Shape::X, None);
    };
    let rest: String = chars.collect();
    let first_shape = char_shape(first);
    // A vowel followed by a different vowel shape is a diphthong: split it.
    if first_shape.is_vowelish() || matches!(first, 'i' | 'ɪ' | 'e') {
        if let Some(second) = rest.chars().last() {
            let second_shape = char_shape(second);
            if second_shape != first_shape && is_vowel_char(second) {
                return (first_shape, Some(second_shape));
            }
        }
    }
    // Affricates and clusters take the shape of their first sound, except a lip closure anywhere (e.g. "mb").
    if core.chars().any(|c| matches!(c, 'm' | 'b' | 'p' | 'ɱ')) && !is_vowel_char(first) {
        return (Shape::A, None);
    }
    (first_shape, None)
}

fn is_vowel_char(c: char) -> bool {
    matches!(
        c,
        'a' | 'e'
            | 'i'
            | 'o'
            | 'u'
            | 'y'
            | 'æ'
            | 'ɑ'
            | 'ɐ'
            | 'ɒ'
            | 'ɔ'
            | 'ə'
            | 'ɚ'
            | 'ɛ'
            | 'ɜ'
            | 'ɝ'
            | 'ɞ'
            | 'ɤ'
            | 'ɨ'
            | 'ɪ'
            | 'ɯ'
            | 'ɵ'
            | 'ø'
            | 'œ'
            | 'ʉ'
            | 'ʊ'
            | 'ʌ'
            | 'ʏ'
            | 'ɘ'
            | 'ɶ'
            | 'ᵻ'
    )
}

fn char_shape(c: char) -> Shape {
    match c {
        'm' | 'b' | 'p' | 'ɱ' | 'ɓ' => Shape::A,
        'f' | 'v' | 'ʋ' => Shape::G,
        'l' | 'ɫ' | 'ɭ' | 'ʎ' => Shape::H,
        'w' | 'ʍ' | 'u' | 'ʊ' | 'o' | 'ʉ' | 'ɵ' | 'y' | 'ʏ' | 'ø' => Shape::F,
        'ɔ' | 'ɒ' | 'ɜ' | 'ɝ' | 'ɚ' | 'ɞ' | 'ɤ' | 'œ' | 'ɹ' | 'ʁ' => Shape::E,
        'a' | 'ɑ' | 'ɶ' => Shape::D,
        'æ' | 'ɛ' | 'e' | 'ə' | 'ɐ' | 'ʌ' | 'ɘ' | 'ᵻ' => Shape::C,
        'i' | 'ɪ' | 'ɨ' | 'ɯ' | 'j' => Shape::B,
        _ => Shape::B,
    }
}

/// Turns timed phonemes into a gap-free track of mouth shapes covering `0..duration_ms`.
///
/// `phones` must be sorted by start; overlapping or out-of-range phones are clipped. The result starts at 0 and
/// ends at `duration_ms`, consecutive visemes have different shapes, and every A (bilabial) lasts at least one
/// frame.
pub fn visemes(phones: &[Phone<'_>], duration_ms: u32, opts: &Options) -> Vec<Viseme> {
    let frame = opts.frame_ms();
    // 1. Raw segments with rests in the gaps.
    let mut segs: Vec<Viseme> = Vec::with_capacity(phones.len() * 2 + 2);
    let mut cursor = 0u32;
    for p in phones {
        let start = p.start_ms.clamp(cursor, duration_ms);
        let end = p.end_ms.clamp(start, duration_ms);
        if end <= start {
            continue;
        }
        if start > cursor {
            let gap_shape = if start - cursor >= opts.rest_gap_ms || segs.is_empty() {
                Shape::X
            } else {
                segs.last().map_or(Shape::X, |s| s.shape)
            };
            push(&mut segs, cursor, start, gap_shape);
        }
        match shape_of(p.ipa) {
            (s, Some(second)) if end - start >= 2 * frame => {
                let mid = start + (end - start) / 2;
                push(&mut segs, start, mid, s);
                push(&mut segs, mid, end, second);
            }
            (s, _) => push(&mut segs, start, end, s),
        }
        cursor = end;
    }
    if duration_ms > cursor || segs.is_empty() {
        push(&mut segs, cursor, duration_ms.max(cursor), Shape::X);
    }
    // 3. Anticipation: a vowel shape starts early, taking time from the consonant before it (not from A or X).
    if opts.anticipation_ms > 0 {
        for i in 1..segs.len() {
            let (prev, cur) = (segs[i - 1], segs[i]);
            if cur.shape.is_vowelish() && !matches!(prev.shape, Shape::A | Shape::X) && !prev.shape.is_vowelish() {
                let take = opts.anticipation_ms.min((prev.end_ms - prev.start_ms) / 2);
                segs[i - 1].end_ms -= take;
                segs[i].start_ms -= take;
            }
        }
    }
    // 4. Bilabials last at least one frame: grow A into its neighbours (the later one first, then the earlier).
    for i in 0..segs.len() {
        if segs[i].shape != Shape::A {
            continue;
        }
        let len = segs[i].end_ms - segs[i].start_ms;
        if len >= frame {
            continue;
        }
        let mut need = frame - len;
        if i + 1 < segs.len() {
            let next_len = segs[i + 1].end_ms - segs[i + 1].start_ms;
            let take = need.min(next_len.saturating_sub(1) / 2).min(need);
            segs[i].end_ms += take;
            segs[i + 1].start_ms += take;
            need -= take;
        }
        if need > 0 && i > 0 {
            let prev_len = segs[i - 1].end_ms - segs[i - 1].start_ms;
            let take = need.min(prev_len.saturating_sub(1) / 2);
            segs[i].start_ms -= take;
            segs[i - 1].end_ms -= take;
        }
    }
    segs.retain(|s| s.end_ms > s.start_ms);
    // 5. Merge shapes shorter than a frame into the neighbour closest in openness; A and long-enough shapes stay.
    loop {
        let short = (0..segs.len())
            .filter(|&i| segs[i].shape != Shape::A && segs[i].end_ms - segs[i].start_ms < frame)
            .min_by_key(|&i| segs[i].end_ms - segs[i].start_ms);
        let Some(i) = short else { break };
        if segs.len() == 1 {
            break;
        }
        let o = segs[i].shape.openness();
        let left = i.checked_sub(1).filter(|&j| segs[j].shape != Shape::A || i + 1 >= segs.len());
        let right = Some(i + 1).filter(|&j| j < segs.len() && (segs[j].shape != Shape::A || i == 0));
        let target = match (left, right) {
            (Some(l), Some(r)) => {
                if (segs[l].shape.openness() - o).abs() <= (segs[r].shape.openness() - o).abs() {
                    l
                } else {
                    r
                }
            }
            (Some(l), None) => l,
            (None, Some(r)) => r,
            // Between two closures: the gap stays (it is the brief opening between two bilabials).
            (None, None) => {
                segs[i].shape = Shape::B;
                if segs[i].end_ms - segs[i].start_ms < frame {
                    // Give it to the earlier closure instead, keeping both As.
                    let end = segs[i].end_ms;
                    segs[i - 1].end_ms = end;
                    segs.remove(i);
                }
                normalize(&mut segs);
                continue;
            }
        };
        if target < i {
            segs[target].end_ms = segs[i].end_ms;
        } else {
            segs[target].start_ms = segs[i].start_ms;
        }
        segs.remove(i);
        normalize(&mut segs);
    }
    normalize(&mut segs);
    segs
}

fn push(segs: &mut Vec<Viseme>, start: u32, end: u32, shape: Shape) {
    if end <= start {
        return;
    }
    if let Some(last) = segs.last_mut() {
        if last.shape == shape && last.end_ms == start {
            last.end_ms = end;
            return;
        }
    }
    segs.push(Viseme { start_ms: start, end_ms: end, shape });
}

/// Joins neighbours with the same shape and drops empty segments.
fn normalize(segs: &mut Vec<Viseme>) {
    let mut out: Vec<Viseme> = Vec::with_capacity(segs.len());
    for s in segs.drain(..) {
        if s.end_ms <= s.start_ms {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.shape == s.shape => last.end_ms = s.end_ms,
            _ => out.push(s),
        }
    }
    *segs = out;
}

/// The shape of each frame of a `duration_ms` track at `fps`: frame `i` covers `[i/fps, (i+1)/fps)` and shows
/// the shape that covers most of it, except that a closure (A) covering at least a third of a frame wins, so
/// that no bilabial is missed.
pub fn frames(visemes: &[Viseme], fps: u32, duration_ms: u32) -> Vec<Shape> {
    let fps = u64::from(fps.max(1));
    let count = (u64::from(duration_ms) * fps).div_ceil(1000);
    let mut out = Vec::with_capacity(count as usize);
    let mut j = 0usize;
    for i in 0..count {
        let a = (i * 1000 / fps) as u32;
        let b = (((i + 1) * 1000 / fps) as u32).min(duration_ms.max(a + 1));
        while j < visemes.len() && visemes[j].end_ms <= a {
            j += 1;
        }
        let mut best = (0u32, Shape::X);
        let mut closed = 0u32;
        let mut k = j;
        while k < visemes.len() && visemes[k].start_ms < b {
            let v = visemes[k];
            let overlap = v.end_ms.min(b).saturating_sub(v.start_ms.max(a));
            if v.shape == Shape::A {
                closed += overlap;
            }
            if overlap > best.0 {
                best = (overlap, v.shape);
            }
            k += 1;
        }
        out.push(if closed * 3 >= b - a && closed > 0 { Shape::A } else { best.1 });
    }
    out
}

/// The frames as a string of shape letters.
pub fn frames_string(shapes: &[Shape]) -> String {
    shapes.iter().map(|s| s.letter()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ph(start_ms: u32, end_ms: u32, ipa: &str) -> Phone<'_> {
        Phone { start_ms, end_ms, ipa }
    }

    #[test]
    fn shapes_follow_the_table() {
        assert_eq!(shape_of("b").0, Shape::A);
        assert_eq!(shape_of("m").0, Shape::A);
        assert_eq!(shape_of("ɑː").0, Shape::D);
        assert_eq!(shape_of("æ").0, Shape::C);
        assert_eq!(shape_of("f").0, Shape::G);
        assert_eq!(shape_of("l").0, Shape::H);
        assert_eq!(shape_of("uː").0, Shape::F);
        assert_eq!(shape_of("ɔː").0, Shape::E);
        assert_eq!(shape_of("t").0, Shape::B);
        assert_eq!(shape_of("aɪ"), (Shape::D, Some(Shape::B)));
        assert_eq!(shape_of(""), (Shape::X, None));
    }

    #[test]
    fn short_bilabial_is_stretched_to_a_frame() {
        let phones = [ph(0, 100, "ɑː"), ph(100, 115, "p"), ph(115, 300, "ɑː")];
        let v = visemes(&phones, 300, &Options::default());
        let a = v.iter().find(|v| v.shape == Shape::A).expect("closure kept");
        assert!(a.end_ms - a.start_ms >= 40, "{v:?}");
        assert!(frames(&v, 25, 300).contains(&Shape::A));
    }

    #[test]
    fn long_silence_rests_and_track_covers_duration() {
        let phones = [ph(200, 300, "ɑː"), ph(600, 700, "ɛ")];
        let v = visemes(&phones, 900, &Options::default());
        assert_eq!(v.first().map(|v| (v.start_ms, v.shape)), Some((0, Shape::X)));
        assert_eq!(v.last().map(|v| v.end_ms), Some(900));
        assert!(v.windows(2).all(|w| w[0].end_ms == w[1].start_ms && w[0].shape != w[1].shape));
        assert!(v.iter().any(|s| s.shape == Shape::X && s.start_ms <= 320 && s.end_ms >= 560));
    }

    #[test]
    fn no_shape_but_a_is_shorter_than_a_frame() {
        let phones: Vec<Phone> =
            (0..40).map(|i| ph(i * 15, i * 15 + 15, ["t", "ɪ", "s", "ə", "k"][i as usize % 5])).collect();
        let v = visemes(&phones, 600, &Options::default());
        for s in &v {
            assert!(s.end_ms - s.start_ms >= 40 || s.shape == Shape::A, "{s:?} in {v:?}");
        }
    }

    #[test]
    fn empty_input_is_rest() {
        assert_eq!(visemes(&[], 100, &Options::default()), vec![Viseme { start_ms: 0, end_ms: 100, shape: Shape::X }]);
        assert_eq!(frames(&visemes(&[], 100, &Options::default()), 25, 100).len(), 3);
    }
}
