//! Subtitles: cues from a speech timeline, SRT and WebVTT files, and burned-in drawing.
//!
//! A cue is a sentence of the timeline, or a part of one: a sentence longer than `max_chars` (CJK characters
//! counting two, others one) is cut at word boundaries into parts of about equal length, each shown while its
//! words are spoken. Burned-in subtitles are drawn once per cue ([`SubtitleTrack`]) and looked up per frame.

use std::fmt::Write as _;

use doppel_speech::{TextItem, Timeline};
use tiny_skia::Pixmap;

use crate::text::{Align, TextRenderer, TextStyle};

/// The shortest a cue lasts: one frame at 25 fps.
pub const MIN_CUE_MS: u32 = 40;

/// A timed subtitle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cue {
    pub start_ms: u32,
    /// Exclusive: the cue shows for `start_ms <= t < end_ms`.
    pub end_ms: u32,
    pub text: String,
}

/// The display width of a character: 2 for CJK (wide and fullwidth) characters, 0 for control characters and
/// combining marks that draw nothing by themselves, 1 for the rest.
pub fn char_width(c: char) -> usize {
    let u = c as u32;
    if c.is_control() || matches!(u, 0x200B..=0x200F | 0xFE00..=0xFE0F | 0x0300..=0x036F) {
        0
    } else if is_wide(u) {
        2
    } else {
        1
    }
}

fn is_wide(u: u32) -> bool {
    matches!(u,
        0x1100..=0x115F          // Hangul Jamo
        | 0x2E80..=0x303E        // CJK radicals, Kangxi, CJK symbols and punctuation
        | 0x3041..=0x33FF        // kana, Bopomofo, Hangul compatibility Jamo, CJK compatibility
        | 0x3400..=0x4DBF        // CJK extension A
        | 0x4E00..=0x9FFF        // CJK unified ideographs
        | 0xA000..=0xA4CF        // Yi
        | 0xAC00..=0xD7A3        // Hangul syllables
        | 0xF900..=0xFAFF        // CJK compatibility ideographs
        | 0xFE30..=0xFE4F        // CJK compatibility forms
        | 0xFF00..=0xFF60        // fullwidth forms
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F      // emoji (drawn wide)
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x3FFFD) // CJK extensions B and beyond
}

/// The display width of a text ([`char_width`] summed).
pub fn text_width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// A piece of a sentence that a cue may start at: its byte offset in the sentence text and when it starts being
/// spoken.
#[derive(Debug, Clone, Copy)]
struct Unit {
    at: usize,
    start_ms: u32,
}

/// The subtitle cues of a timeline, sentence by sentence; sentences wider than `max_chars` (see [`text_width`];
/// 0: no limit) are split at word boundaries into several cues timed by their words. Times are shifted by
/// `offset_ms` (the start of the scene). Cues are in order, never overlap, last at least [`MIN_CUE_MS`], and their
/// texts are (trimmed) pieces of the sentence texts.
pub fn cues_from_timeline(t: &Timeline, offset_ms: u32, max_chars: usize) -> Vec<Cue> {
    let mut cues = Vec::new();
    for s in &t.sentences {
        let text = s.text.trim();
        if text.is_empty() {
            continue;
        }
        if max_chars == 0 || text_width(text) <= max_chars {
            cues.push(Cue { start_ms: s.start_ms, end_ms: s.end_ms, text: text.to_string() });
            continue;
        }
        split_sentence(s, text, &t.words, max_chars, &mut cues);
    }
    for c in &mut cues {
        c.start_ms = c.start_ms.saturating_add(offset_ms);
        c.end_ms = c.end_ms.saturating_add(offset_ms);
    }
    normalize(&mut cues);
    cues
}

/// Splits a long sentence (its trimmed text `text`) into cues appended to `out`.
fn split_sentence(s: &TextItem, text: &str, words: &[TextItem], max_chars: usize, out: &mut Vec<Cue>) {
    let (s0, s1) = (s.start_ms, s.end_ms.max(s.start_ms));
    // Find the sentence's words in its text, in order.
    let mut units = Vec::new();
    let mut cursor = 0;
    for w in words.iter().filter(|w| w.start_ms >= s0 && w.end_ms <= s1 && w.start_ms <= w.end_ms) {
        let needle = w.text.trim();
        if needle.is_empty() {
            continue;
        }
        if let Some(pos) = text[cursor..].find(needle) {
            let at = cursor + pos;
            // A word starting where the previous one does (a repeated find) adds no boundary.
            if units.last().is_none_or(|u: &Unit| u.at < at) {
                units.push(Unit { at, start_ms: w.start_ms });
            }
            cursor = at + needle.len();
        }
    }
    if units.len() < 2 {
        units = pseudo_words(text, s0, s1);
    }
    if units.len() < 2 {
        out.push(Cue { start_ms: s0, end_ms: s1, text: text.to_string() });
        return;
    }
    // Unit i spans text[at_i..at_{i+1}] (the first also takes anything before it).
    units[0].at = 0;
    let bounds: Vec<usize> = units.iter().map(|u| u.at).chain([text.len()]).collect();
    let width_of = |a: usize, b: usize| text_width(text[bounds[a]..bounds[b]].trim());

    // Fewest cues, then the most even widths: best[j] = (cues, sum of squared widths, previous cut) for units 0..j.
    let n = units.len();
    let mut best: Vec<Option<(usize, u64, usize)>> = vec![None; n + 1];
    best[0] = Some((0, 0, 0));
    for j in 1..=n {
        for i in (0..j).rev() {
            let w = width_of(i, j);
            if w > max_chars && j - i > 1 {
                break; // wider with more units to the left
            }
            if let Some((c, sq, _)) = best[i] {
                let cand = (c + 1, sq + (w as u64) * (w as u64), i);
                if best[j].is_none_or(|b| (cand.0, cand.1) < (b.0, b.1)) {
                    best[j] = Some(cand);
                }
            }
        }
    }
    let mut cuts = vec![n];
    let mut j = n;
    while j > 0 {
        let Some((_, _, i)) = best[j] else { break };
        cuts.push(i);
        j = i;
    }
    cuts.reverse();

    let groups: Vec<(usize, usize)> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
    for (k, &(a, b)) in groups.iter().enumerate() {
        let piece = text[bounds[a]..bounds[b]].trim();
        if piece.is_empty() {
            continue;
        }
        // The first cue starts with the sentence, the last ends with it; in between a cue lasts until the next
        // one's first word, so pauses between words keep the current cue on screen.
        let start = if k == 0 { s0 } else { units[a].start_ms };
        let end = if k + 1 == groups.len() { s1 } else { units[b].start_ms };
        out.push(Cue { start_ms: start.max(s0), end_ms: end.min(s1), text: piece.to_string() });
    }
}

/// Word-like units of a sentence with no usable word timings: runs of non-space characters (each CJK character
/// on its own, closing punctuation attached to what precedes it, opening punctuation to what follows), timed in
/// proportion to their width.
fn pseudo_words(text: &str, s0: u32, s1: u32) -> Vec<Unit> {
    let mut starts = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        let boundary = !c.is_whitespace()
            && !is_closing(c)
            && match prev {
                None => true,
                Some(p) => !is_opening(p) && (p.is_whitespace() || char_width(c) == 2 || char_width(p) == 2),
            };
        if boundary {
            starts.push(i);
        }
        prev = Some(c);
    }
    let total = text_width(text).max(1) as u64;
    let dur = u64::from(s1 - s0);
    let time_at = |byte: usize| s0 + (dur * text_width(&text[..byte]) as u64 / total) as u32;
    starts.iter().map(|&at| Unit { at, start_ms: time_at(at) }).collect()
}

fn is_closing(c: char) -> bool {
    matches!(
        c,
        ',' | '.'
            | ';'
            | ':'
            | '?'
            | '!'
            | ')'
            | ']'
            | '}'
            | '%'
            | '\u{2019}'
            | '\u{201D}'
            | '，'
            | '。'
            | '、'
            | '；'
            | '：'
            | '？'
            | '！'
            | '）'
            | '》'
            | '」'
            | '』'
            | '】'
            | '…'
            | '—'
            | '～'
    )
}

fn is_opening(c: char) -> bool {
    matches!(c, '(' | '[' | '{' | '\u{2018}' | '\u{201C}' | '（' | '《' | '「' | '『' | '【')
}

/// Sorts the cues, removes empty ones, and makes them non-overlapping and at least [`MIN_CUE_MS`] long (pushing a
/// cue later when the one before it needs the time).
fn normalize(cues: &mut Vec<Cue>) {
    cues.retain(|c| !c.text.trim().is_empty());
    cues.sort_by_key(|c| c.start_ms);
    let mut prev_end = 0u32;
    for c in cues.iter_mut() {
        c.start_ms = c.start_ms.max(prev_end);
        c.end_ms = c.end_ms.max(c.start_ms.saturating_add(MIN_CUE_MS));
        prev_end = c.end_ms;
    }
}

/// `HH:MM:SS<sep>mmm` (hours take more digits past 99).
fn timestamp(ms: u32, sep: char) -> String {
    let (h, m, s, f) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{h:02}:{m:02}:{s:02}{sep}{f:03}")
}

/// Cue text made safe for a subtitle file: no `\r`, no blank lines (which end a cue), trimmed lines.
fn cue_lines(text: &str) -> Vec<&str> {
    text.split(['\n', '\r']).map(str::trim).filter(|l| !l.is_empty()).collect()
}

/// The cues as a SubRip (`.srt`) file: `1\n00:00:01,000 --> 00:00:02,500\ntext\n\n` per cue.
pub fn to_srt(cues: &[Cue]) -> String {
    let mut out = String::new();
    for (i, c) in cues.iter().enumerate() {
        let _ = write!(out, "{}\n{} --> {}\n", i + 1, timestamp(c.start_ms, ','), timestamp(c.end_ms, ','));
        for line in cue_lines(&c.text) {
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// The cues as a WebVTT (`.vtt`) file: `WEBVTT\n\n` then `00:00:01.000 --> 00:00:02.500\ntext\n\n` per cue, with
/// `&`, `<` and `>` escaped.
pub fn to_vtt(cues: &[Cue]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for c in cues {
        let _ = writeln!(out, "{} --> {}", timestamp(c.start_ms, '.'), timestamp(c.end_ms, '.'));
        for line in cue_lines(&c.text) {
            let line = line.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            out.push_str(&line);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// How burned-in subtitles look and where they go, in frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct SubtitleStyle {
    /// A MetaStudio font name or installed family (see [`crate::text::resolve_font`]).
    pub font_name: String,
    pub size_px: f32,
    /// Straight RGBA.
    pub color: [u8; 4],
    /// Outline colour (straight RGBA) and thickness in pixels.
    pub stroke: Option<([u8; 4], f32)>,
    /// 0 to 1.
    pub opacity: f32,
    /// Left edge of the subtitle box; text is centred in the box and wrapped to its width.
    pub box_x: f32,
    /// The y of the bottom of the box: the last line's box ends here, so longer cues grow upwards.
    pub box_bottom: f32,
    pub box_width: f32,
}

/// MetaStudio's subtitle font size on a 1080-pixel-wide layout.
pub const DEFAULT_SUBTITLE_SIZE: f32 = 54.0;
/// MetaStudio's subtitle outline thickness on a 1080-pixel-wide layout.
pub const DEFAULT_STROKE_PX: f32 = 3.0;
/// The subtitle box width as a share of the frame width (fixed, as MetaStudio's documentation says).
pub const BOX_WIDTH_SHARE: f32 = 0.8;
/// The default bottom of the subtitle box as a share of the frame height.
pub const BOX_BOTTOM_SHARE: f32 = 0.88;

impl SubtitleStyle {
    /// MetaStudio-like defaults for a `width`×`height` frame whose layout is scaled by `scale` (frame pixels per
    /// layout pixel; a 1080-wide layout on a 720-wide frame: 2/3): 54 px white text with a dark outline, the box
    /// 80 % of the width and centred, its bottom at 88 % of the height.
    pub fn for_frame(width: u32, height: u32, scale: f32) -> SubtitleStyle {
        let scale = if scale.is_finite() && scale > 0.0 { scale } else { 1.0 };
        let (w, h) = (width as f32, height as f32);
        let box_width = w * BOX_WIDTH_SHARE;
        SubtitleStyle {
            font_name: "HarmonyOS_Sans_SC_Regular".into(),
            size_px: DEFAULT_SUBTITLE_SIZE * scale,
            color: [255, 255, 255, 255],
            stroke: Some(([20, 20, 20, 255], (DEFAULT_STROKE_PX * scale).max(1.0))),
            opacity: 1.0,
            box_x: (w - box_width) / 2.0,
            box_bottom: h * BOX_BOTTOM_SHARE,
            box_width,
        }
    }

    /// The text style cues are drawn with: centred and wrapped to the box.
    pub fn text_style(&self) -> TextStyle {
        TextStyle {
            font_name: self.font_name.clone(),
            size_px: self.size_px,
            color: self.color,
            stroke: self.stroke,
            opacity: self.opacity,
            align: Align::Center,
            max_width: Some(self.box_width.max(1.0)),
            line_height: 1.25,
        }
    }
}

/// `#RRGGBB` or `#RRGGBBAA` (the `#` optional, hex digits in either case) as straight RGBA.
pub fn parse_hex_color(s: &str) -> Option<[u8; 4]> {
    let h = s.trim();
    let h = h.strip_prefix('#').unwrap_or(h);
    if !(h.len() == 6 || h.len() == 8) || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    let a = if h.len() == 8 { byte(6)? } else { 255 };
    Some([byte(0)?, byte(2)?, byte(4)?, a])
}

/// The burned-in style of a MetaStudio `subtitle_config`, for a `layout_w`×`layout_h` layout drawn at `scale`
/// frame pixels per layout pixel. Missing fields keep [`SubtitleStyle::for_frame`]'s defaults.
///
/// * `dx`, `dy`: the lower-left corner of the subtitle box in layout pixels (y down from the top). The box is
///   80 % of the screen wide whatever `w` says, and is kept on screen horizontally.
/// * `font_size` in layout pixels; `font_color`, `stroke_color`: `#RRGGBB` (or `#RRGGBBAA`), unparsable
///   colours keep the default; `stroke_thickness` in layout pixels, 0 for no outline; `opacity` 0 to 1.
#[allow(clippy::too_many_arguments)]
pub fn style_from_config(
    dx: Option<i64>,
    dy: Option<i64>,
    font_name: Option<&str>,
    font_size: Option<i64>,
    font_color: Option<&str>,
    stroke_color: Option<&str>,
    stroke_thickness: Option<f64>,
    opacity: Option<f64>,
    layout_w: u32,
    layout_h: u32,
    scale: f32,
) -> SubtitleStyle {
    let scale = if scale.is_finite() && scale > 0.0 { scale } else { 1.0 };
    let (frame_w, frame_h) = (layout_w as f32 * scale, layout_h as f32 * scale);
    let mut style = SubtitleStyle::for_frame(frame_w.round() as u32, frame_h.round() as u32, scale);
    if let Some(name) = font_name.map(str::trim).filter(|n| !n.is_empty()) {
        style.font_name = name.to_string();
    }
    if let Some(size) = font_size.filter(|s| *s > 0) {
        style.size_px = (size.min(2000) as f32) * scale;
    }
    if let Some(c) = font_color.and_then(parse_hex_color) {
        style.color = c;
    }
    let stroke_rgba = stroke_color.and_then(parse_hex_color);
    let default_stroke = style.stroke.unwrap_or(([20, 20, 20, 255], DEFAULT_STROKE_PX * scale));
    style.stroke = match stroke_thickness.filter(|t| t.is_finite()) {
        Some(t) if t <= 0.0 => None,
        Some(t) => Some((stroke_rgba.unwrap_or(default_stroke.0), (t.min(200.0) as f32) * scale)),
        None => Some((stroke_rgba.unwrap_or(default_stroke.0), default_stroke.1)),
    };
    if let Some(o) = opacity.filter(|o| o.is_finite()) {
        style.opacity = o.clamp(0.0, 1.0) as f32;
    }
    if let Some(x) = dx {
        let max_x = (frame_w - style.box_width).max(0.0);
        style.box_x = ((x.clamp(-1_000_000, 1_000_000) as f32) * scale).clamp(0.0, max_x);
    }
    if let Some(y) = dy {
        style.box_bottom = (y.clamp(-1_000_000, 1_000_000) as f32) * scale;
    }
    style
}

/// A drawn cue and where it goes.
#[derive(Debug, Clone)]
struct DrawnCue {
    start_ms: u32,
    end_ms: u32,
    image: Option<(Pixmap, i32, i32)>,
}

/// Burned-in subtitles: every cue drawn once, looked up per frame.
#[derive(Debug, Clone)]
pub struct SubtitleTrack {
    cues: Vec<DrawnCue>,
}

impl SubtitleTrack {
    /// Draws every cue (centred in the box, wrapped to its width, the last line's bottom on `box_bottom`).
    /// The cues should be in order and not overlap, as [`cues_from_timeline`] makes them.
    pub fn new(renderer: &mut TextRenderer, cues: &[Cue], style: &SubtitleStyle) -> SubtitleTrack {
        let text_style = style.text_style();
        let mut drawn: Vec<DrawnCue> = cues
            .iter()
            .filter(|c| c.end_ms > c.start_ms)
            .map(|c| {
                let image = renderer.render_block(&c.text, &text_style).map(|r| {
                    let left = style.box_x + (style.box_width - r.block_width) / 2.0;
                    let top = style.box_bottom - r.block_height;
                    let x = left.round() as i32 - r.block_x;
                    let y = top.round() as i32 - r.block_y;
                    (r.pixmap, x, y)
                });
                DrawnCue { start_ms: c.start_ms, end_ms: c.end_ms, image }
            })
            .collect();
        drawn.sort_by_key(|c| c.start_ms);
        SubtitleTrack { cues: drawn }
    }

    /// The cue image showing at `t_ms` and its top-left corner in the frame; `None` between cues.
    pub fn frame(&self, t_ms: u32) -> Option<(&Pixmap, i32, i32)> {
        let i = self.cues.partition_point(|c| c.start_ms <= t_ms);
        // Cues do not overlap, but look back a little in case they do.
        self.cues[..i]
            .iter()
            .rev()
            .take(4)
            .find(|c| t_ms < c.end_ms)
            .and_then(|c| c.image.as_ref())
            .map(|(p, x, y)| (p, *x, *y))
    }

    /// The number of cues.
    pub fn len(&self) -> usize {
        self.cues.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cues.is_empty()
    }
}
