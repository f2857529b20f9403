//! Validation of a parsed [`Script`] against every documented limit (see [`crate::limits`]), reporting each
//! problem with the JSON path of its field.

use std::collections::HashSet;

use crate::error::{Error, ErrorKind};
use crate::limits::{self, FloatRange, IntRange, LenRange};
use crate::model::{
    BackgroundConfigInfo, BackgroundType, ClipMode, Codec, LayerConfig, LayerType, Script, ScriptType, ShootScript,
};
use crate::plan::Plan;
use crate::ssml;

/// Every problem of `script`, in document order (empty when it is valid).
///
/// Besides the ranges in [`crate::limits`], these rules hold:
/// * `shoot_scripts` is required and non-empty unless `script_id` names a stored script; each item needs a
///   unique `sequence_no` and a `shoot_script`.
/// * A TEXT script needs `text_config.text`; an AUDIO script needs `audio_drive_file_external_url` or
///   `audio_config`, and its `text_config.text` is optional (the subtitle text of the recording). A text,
///   wherever given, must parse (see [`crate::ssml`]) and fit both length limits.
/// * With `clip_mode` RESIZE (the default), `width` and `height` come together and form one of
///   [`limits::RESIZE_RESOLUTIONS`]. `frame_rate`, when given, is 25.
/// * Colours are `#RRGGBB` when not empty; a COLOR background needs one. An IMAGE background needs
///   `background_config` or `background_asset_id`. An IMAGE or VIDEO layer needs its URL or an `asset_id`;
///   `text_context` is Base64 of UTF-8 text.
/// * `callback_url` is required in a `callback_config` and is an `http(s)://` URL; `auth_type` MSS_A needs `key`.
pub fn validate(script: &Script) -> Vec<Error> {
    let mut v = Validator::default();
    v.script(script);
    v.errors
}

/// Checks one `text_config.text` at `path`: raw length, SSML, length excluding tags. Returns the plan when it
/// parses (even when it is too long).
fn check_text(path: &str, text: &str, errors: &mut Vec<Error>) -> Option<Plan> {
    let raw = text.chars().count();
    if raw > limits::TEXT_MAX_CHARS {
        errors.push(Error::new(path, ErrorKind::TooLong { len: raw, max: limits::TEXT_MAX_CHARS, what: "characters" }));
        return None;
    }
    match ssml::parse_text(text) {
        Err(e) => {
            errors.push(Error::ssml(path, e));
            None
        }
        Ok(plan) => {
            let plain = ssml::plain_len(&plan);
            if plain > limits::TEXT_MAX_PLAIN_CHARS {
                errors.push(Error::new(
                    path,
                    ErrorKind::TooLong {
                        len: plain,
                        max: limits::TEXT_MAX_PLAIN_CHARS,
                        what: "characters excluding SSML tags",
                    },
                ));
            }
            Some(plan)
        }
    }
}

/// Decodes standard Base64 (`A–Z a–z 0–9 + /`), with or without `=` padding. `None` when it is not Base64.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    fn sextet(b: u8) -> Option<u32> {
        match b {
            b'A'..=b'Z' => Some(u32::from(b - b'A')),
            b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    let body = s.trim_end_matches('=').as_bytes();
    let padding = bytes.len() - body.len();
    if padding > 2 || (padding > 0 && !bytes.len().is_multiple_of(4)) || body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in body {
        acc = (acc << 6) | sextet(b)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xFF) as u8);
        }
        acc &= (1 << bits) - 1;
    }
    Some(out)
}

fn is_hex_color(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7 && b.first() == Some(&b'#') && b.iter().skip(1).all(u8::is_ascii_hexdigit)
}

/// `#RRGGBB`, or `#RRGGBBAA` with alpha (a transparent background is `#00000000`).
fn is_hex_color_alpha(s: &str) -> bool {
    let b = s.as_bytes();
    is_hex_color(s) || (b.len() == 9 && b.first() == Some(&b'#') && b.iter().skip(1).all(u8::is_ascii_hexdigit))
}

/// The first characters of a value, for messages.
fn short(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

#[derive(Default)]
struct Validator {
    errors: Vec<Error>,
}

impl Validator {
    fn push(&mut self, path: impl Into<String>, kind: ErrorKind) {
        self.errors.push(Error::new(path, kind));
    }

    fn int(&mut self, path: &str, v: Option<i64>, range: IntRange) {
        if let Some(v) = v {
            if !range.contains(v) {
                self.push(
                    path,
                    ErrorKind::OutOfRange {
                        value: v.to_string(),
                        min: range.min.to_string(),
                        max: range.max.to_string(),
                    },
                );
            }
        }
    }

    fn float(&mut self, path: &str, v: Option<f64>, range: FloatRange) {
        if let Some(v) = v {
            if !range.contains(v) {
                self.push(
                    path,
                    ErrorKind::OutOfRange {
                        value: v.to_string(),
                        min: range.min.to_string(),
                        max: range.max.to_string(),
                    },
                );
            }
        }
    }

    /// Length in characters; returns whether the value is present and within the range.
    fn len(&mut self, path: &str, v: Option<&str>, range: LenRange) -> bool {
        let Some(v) = v else { return false };
        let n = v.chars().count();
        if n < range.min {
            self.push(path, ErrorKind::Empty);
            false
        } else if n > range.max {
            self.push(path, ErrorKind::TooLong { len: n, max: range.max, what: "characters" });
            false
        } else {
            true
        }
    }

    /// A colour: 0–16 characters and, when not empty, `#RRGGBB`.
    fn color(&mut self, path: &str, v: Option<&str>) {
        if self.len(path, v, limits::COLOR_LEN) {
            if let Some(c) = v.filter(|c| !c.is_empty() && !is_hex_color(c)) {
                self.push(path, ErrorKind::InvalidFormat { value: short(c), expected: "a #RRGGBB colour" });
            }
        }
    }

    fn script(&mut self, s: &Script) {
        if let Some(vc) = &s.voice_config {
            self.len("voice_config.voice_asset_id", vc.voice_asset_id.as_deref(), limits::VOICE_ASSET_ID_LEN);
            self.int("voice_config.speed", vc.speed, limits::VOICE_SPEED);
            self.int("voice_config.pitch", vc.pitch, limits::VOICE_PITCH);
            self.int("voice_config.volume", vc.volume, limits::VOICE_VOLUME);
        }
        if s.video_config.is_some() {
            self.video(s);
        }
        self.shoot_scripts(s);
        if let Some(o) = &s.output_asset_config {
            self.len("output_asset_config.asset_name", o.asset_name.as_deref(), limits::ASSET_NAME_LEN);
        }
        if let Some(m) = &s.background_music_config {
            self.len("background_music_config.music_asset_id", m.music_asset_id.as_deref(), limits::ASSET_ID_LEN);
            self.int("background_music_config.volume", m.volume, limits::MUSIC_VOLUME);
        }
        if let Some(c) = &s.callback_config {
            let path = "callback_config.callback_url";
            match c.callback_url.as_deref() {
                None => self.push(path, ErrorKind::Missing),
                Some(url) => {
                    if self.len(path, Some(url), limits::URL_LEN) {
                        let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
                        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                            self.push(
                                path,
                                ErrorKind::InvalidFormat { value: short(url), expected: "an http:// or https:// URL" },
                            );
                        }
                    }
                }
            }
            if c.auth_type == Some(crate::model::AuthType::MssA) && c.key.as_deref().is_none_or(str::is_empty) {
                self.push("callback_config.key", ErrorKind::Missing);
            }
        }
        if let Some(a) = &s.action_config {
            self.float("action_config.action_interval", a.action_interval, limits::ACTION_INTERVAL);
        }
    }

    fn video(&mut self, s: &Script) {
        let Some(v) = &s.video_config else { return };
        self.int("video_config.bitrate", v.bitrate, limits::VIDEO_BITRATE);
        self.int("video_config.width", v.width, limits::VIDEO_WIDTH);
        self.int("video_config.height", v.height, limits::VIDEO_HEIGHT);
        if v.clip_mode_or_default() == ClipMode::Resize {
            match (v.width, v.height) {
                (Some(_), None) => self.push("video_config.height", ErrorKind::Missing),
                (None, Some(_)) => self.push("video_config.width", ErrorKind::Missing),
                (Some(w), Some(h))
                    if limits::VIDEO_WIDTH.contains(w)
                        && limits::VIDEO_HEIGHT.contains(h)
                        && !limits::RESIZE_RESOLUTIONS.contains(&(w, h)) =>
                {
                    self.push(
                        "video_config",
                        ErrorKind::NotAllowed {
                            value: format!("{w}x{h}"),
                            allowed: limits::RESIZE_RESOLUTIONS.iter().map(|(w, h)| format!("{w}x{h}")).collect(),
                            what: "RESIZE resolution",
                        },
                    );
                }
                _ => {}
            }
        }
        self.int("video_config.dx", v.dx, limits::VIDEO_CROP_OFFSET);
        self.int("video_config.dy", v.dy, limits::VIDEO_CROP_OFFSET);
        if let Some(fr) = v.frame_rate {
            if fr != limits::FRAME_RATE {
                self.push(
                    "video_config.frame_rate",
                    ErrorKind::NotAllowed {
                        value: fr.to_string(),
                        allowed: vec![limits::FRAME_RATE.to_string()],
                        what: "frame rate",
                    },
                );
            }
        }
        if let Some(sc) = &v.subtitle_config {
            let p = "video_config.subtitle_config";
            self.int(&format!("{p}.dx"), sc.dx, limits::SUBTITLE_BOX);
            self.int(&format!("{p}.dy"), sc.dy, limits::SUBTITLE_BOX);
            self.int(&format!("{p}.h"), sc.h, limits::SUBTITLE_BOX);
            self.int(&format!("{p}.w"), sc.w, limits::SUBTITLE_BOX);
            self.len(&format!("{p}.font_name"), sc.font_name.as_deref(), limits::FONT_NAME_LEN);
            self.int(&format!("{p}.font_size"), sc.font_size, limits::SUBTITLE_FONT_SIZE);
            self.color(&format!("{p}.font_color"), sc.font_color.as_deref());
            self.color(&format!("{p}.stroke_color"), sc.stroke_color.as_deref());
            self.float(&format!("{p}.stroke_thickness"), sc.stroke_thickness, limits::SUBTITLE_STROKE_THICKNESS);
            self.float(&format!("{p}.opacity"), sc.opacity, limits::SUBTITLE_OPACITY);
        }
    }

    fn shoot_scripts(&mut self, s: &Script) {
        let items = &s.shoot_scripts;
        if items.is_empty() {
            if s.script_id.as_deref().is_none_or(|id| id.trim().is_empty()) {
                self.push("shoot_scripts", ErrorKind::Missing);
            }
            return;
        }
        if items.len() > limits::MAX_SHOOT_SCRIPTS {
            self.push("shoot_scripts", ErrorKind::TooMany { len: items.len(), max: limits::MAX_SHOOT_SCRIPTS });
        }
        let mut seen = HashSet::new();
        let mut qtrle_chars = 0usize;
        for (i, item) in items.iter().enumerate() {
            let p = format!("shoot_scripts[{i}]");
            match item.sequence_no {
                None => self.push(format!("{p}.sequence_no"), ErrorKind::Missing),
                Some(n) => {
                    self.int(&format!("{p}.sequence_no"), Some(n), limits::SEQUENCE_NO);
                    if !seen.insert(n) {
                        self.push(format!("{p}.sequence_no"), ErrorKind::Duplicate { value: n.to_string() });
                    }
                }
            }
            self.float(&format!("{p}.start_time"), item.start_time, limits::SCRIPT_TIME);
            self.float(&format!("{p}.end_time"), item.end_time, limits::SCRIPT_TIME);
            match &item.shoot_script {
                None => self.push(format!("{p}.shoot_script"), ErrorKind::Missing),
                Some(ss) => qtrle_chars += self.shoot_script(&format!("{p}.shoot_script"), ss),
            }
        }
        let qtrle = s.video_config.as_ref().is_some_and(|v| v.codec == Some(Codec::Qtrle));
        if qtrle && qtrle_chars > limits::QTRLE_MAX_PLAIN_CHARS {
            self.push(
                "shoot_scripts",
                ErrorKind::TooLong {
                    len: qtrle_chars,
                    max: limits::QTRLE_MAX_PLAIN_CHARS,
                    what: "characters excluding SSML tags in all TEXT scripts together (QTRLE codec)",
                },
            );
        }
    }

    /// Checks a `shoot_script`; returns the characters excluding tags of its text when it is a TEXT script.
    fn shoot_script(&mut self, p: &str, ss: &ShootScript) -> usize {
        let script_type = ss.script_type_or_default();
        let text_path = format!("{p}.text_config.text");
        let mut plain = 0;
        match ss.text() {
            Some(text) => {
                if let Some(plan) = check_text(&text_path, text, &mut self.errors) {
                    if script_type == ScriptType::Text {
                        plain = ssml::plain_len(&plan);
                    }
                }
            }
            None if script_type == ScriptType::Text => self.push(text_path, ErrorKind::Missing),
            None => {}
        }
        let url_path = format!("{p}.audio_drive_file_external_url");
        // An empty value counts as absent (some clients send "" next to `audio_config`).
        self.len(&url_path, ss.audio_drive_file_external_url.as_deref().filter(|u| !u.is_empty()), limits::URL_LEN);
        let url = ss.audio_drive_file_external_url.as_deref().filter(|u| !u.trim().is_empty());
        if script_type == ScriptType::Audio && url.is_none() && ss.audio_config.is_none() {
            self.push(url_path, ErrorKind::Missing);
        }
        self.float(&format!("{p}.audio_duration"), ss.audio_duration, limits::SCRIPT_TIME);
        for (j, a) in ss.audio_drive_action_config.iter().enumerate() {
            self.float(
                &format!("{p}.audio_drive_action_config[{j}].action_start_time"),
                a.action_start_time,
                limits::SCRIPT_TIME,
            );
        }
        for (j, b) in ss.background_config.iter().enumerate() {
            self.background(&format!("{p}.background_config[{j}]"), b);
        }
        for (j, l) in ss.layer_config.iter().enumerate() {
            self.layer(&format!("{p}.layer_config[{j}]"), l);
        }
        plain
    }

    fn background(&mut self, p: &str, b: &BackgroundConfigInfo) {
        let url_path = format!("{p}.background_config");
        let color_path = format!("{p}.background_color_config");
        self.len(&url_path, b.background_config.as_deref(), limits::URL_LEN);
        self.len(&format!("{p}.background_asset_id"), b.background_asset_id.as_deref(), limits::ASSET_ID_LEN);
        match b.background_type {
            None => self.push(format!("{p}.background_type"), ErrorKind::Missing),
            Some(BackgroundType::Color) => match b.background_color_config.as_deref() {
                None => self.push(color_path.clone(), ErrorKind::Missing),
                Some(c) if self.len(&color_path, Some(c), limits::COLOR_LEN) && !is_hex_color_alpha(c) => self.push(
                    color_path.clone(),
                    ErrorKind::InvalidFormat { value: short(c), expected: "a #RRGGBB or #RRGGBBAA colour" },
                ),
                Some(_) => {}
            },
            Some(BackgroundType::Image) => {
                let has_url = b.background_config.as_deref().is_some_and(|u| !u.is_empty());
                let has_asset = b.background_asset_id.as_deref().is_some_and(|a| !a.is_empty());
                if !has_url && !has_asset {
                    self.push(url_path, ErrorKind::Missing);
                }
            }
        }
        if b.background_type != Some(BackgroundType::Color) {
            self.color(&color_path, b.background_color_config.as_deref());
        }
        if let Some(hp) = &b.human_position_2d {
            self.int(&format!("{p}.human_position_2d.position_x"), hp.position_x, limits::HUMAN_POSITION);
            self.int(&format!("{p}.human_position_2d.position_y"), hp.position_y, limits::HUMAN_POSITION);
        }
        if let Some(hs) = &b.human_size_2d {
            self.int(&format!("{p}.human_size_2d.width"), hs.width, limits::HUMAN_SIZE);
            self.int(&format!("{p}.human_size_2d.height"), hs.height, limits::HUMAN_SIZE);
        }
    }

    fn layer(&mut self, p: &str, l: &LayerConfig) {
        self.len(&format!("{p}.asset_id"), l.asset_id.as_deref(), limits::ASSET_ID_LEN);
        self.len(&format!("{p}.group_id"), l.group_id.as_deref(), limits::ASSET_ID_LEN);
        self.int(&format!("{p}.sequence_no"), l.sequence_no, limits::SEQUENCE_NO);
        if let Some(pos) = &l.position {
            self.int(&format!("{p}.position.dx"), pos.dx, limits::LAYER_POSITION);
            self.int(&format!("{p}.position.dy"), pos.dy, limits::LAYER_POSITION);
            self.int(&format!("{p}.position.layer_index"), pos.layer_index, limits::LAYER_INDEX);
        }
        if let Some(size) = &l.size {
            self.int(&format!("{p}.size.width"), size.width, limits::LAYER_SIZE);
            self.int(&format!("{p}.size.height"), size.height, limits::LAYER_SIZE);
        }
        if let Some(r) = &l.rotation {
            self.int(&format!("{p}.rotation.angle"), r.angle, limits::LAYER_ROTATION);
        }
        if let Some(ic) = &l.image_config {
            self.len(&format!("{p}.image_config.image_url"), ic.image_url.as_deref(), limits::URL_LEN);
        }
        if let Some(vc) = &l.video_config {
            self.len(&format!("{p}.video_config.video_url"), vc.video_url.as_deref(), limits::URL_LEN);
            self.len(&format!("{p}.video_config.video_cover_url"), vc.video_cover_url.as_deref(), limits::URL_LEN);
            self.int(&format!("{p}.video_config.loop_count"), vc.loop_count, limits::LAYER_LOOP_COUNT);
            self.int(&format!("{p}.video_config.video_sound"), vc.video_sound, limits::LAYER_VIDEO_SOUND);
        }
        if let Some(tc) = &l.text_config {
            let path = format!("{p}.text_config.text_context");
            if self.len(&path, tc.text_context.as_deref(), limits::TEXT_LAYER_CONTEXT_LEN) {
                if let Some(t) = tc.text_context.as_deref() {
                    let text = decode_base64(t).and_then(|b| String::from_utf8(b).ok());
                    if text.is_none() {
                        self.push(path, ErrorKind::InvalidFormat { value: short(t), expected: "Base64 of UTF-8 text" });
                    }
                }
            }
            self.len(&format!("{p}.text_config.font_name"), tc.font_name.as_deref(), limits::FONT_NAME_LEN);
            self.int(&format!("{p}.text_config.font_size"), tc.font_size, limits::TEXT_LAYER_FONT_SIZE);
            self.color(&format!("{p}.text_config.font_color"), tc.font_color.as_deref());
        }
        let has_asset = l.asset_id.as_deref().is_some_and(|a| !a.is_empty());
        match l.layer_type {
            None => self.push(format!("{p}.layer_type"), ErrorKind::Missing),
            Some(LayerType::Image) => {
                let url = l.image_config.as_ref().and_then(|c| c.image_url.as_deref());
                if url.is_none() && !has_asset {
                    self.push(format!("{p}.image_config.image_url"), ErrorKind::Missing);
                }
            }
            Some(LayerType::Video) => {
                let url = l.video_config.as_ref().and_then(|c| c.video_url.as_deref());
                if url.is_none() && !has_asset {
                    self.push(format!("{p}.video_config.video_url"), ErrorKind::Missing);
                }
            }
            Some(LayerType::Text) => {
                if l.text_config.as_ref().and_then(|c| c.text_context.as_deref()).is_none() {
                    self.push(format!("{p}.text_config.text_context"), ErrorKind::Missing);
                }
            }
            Some(LayerType::Human) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(decode_base64("5rWL6K+V5paH5a2X5rC05Y2w"), Some("测试文字水印".as_bytes().to_vec()));
        assert_eq!(decode_base64("aGk="), Some(b"hi".to_vec()));
        assert_eq!(decode_base64("aGk"), Some(b"hi".to_vec()));
        assert_eq!(decode_base64(""), Some(Vec::new()));
        assert_eq!(decode_base64("aGk=="), None);
        assert_eq!(decode_base64("a"), None);
        assert_eq!(decode_base64("a==="), None);
        assert_eq!(decode_base64("aG-k"), None);
        assert_eq!(decode_base64("aG=k"), None);
    }

    #[test]
    fn colors_are_six_hex_digits() {
        assert!(is_hex_color("#00ff7F"));
        assert!(!is_hex_color("#fff"));
        assert!(!is_hex_color("00ff7F0"));
        assert!(!is_hex_color("#00ff7G"));
        assert!(!is_hex_color("#中中"));
    }
}
