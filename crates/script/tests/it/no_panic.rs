//! Property test: pseudo-random texts and bodies, built from SSML and JSON fragments, never make the parsers
//! panic; they return `Ok` or `Err`.

use doppel_script::{parse_script, parse_text, plain_len};
use serde_json::json;

/// xorshift64*: small, deterministic, good enough to mix fragments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SSML_FRAGMENTS: &[&str] = &[
    "<speak>",
    "</speak>",
    "<speak",
    "<?xml version=\"1.0\"?>",
    "<break time=\"",
    "200ms",
    "1.5s",
    "10s",
    "11s",
    "\"/>",
    "/>",
    ">",
    "<",
    "</",
    "<prosody rate=\"",
    "x-fast",
    "+20%",
    "150%",
    "1e9",
    "</prosody>",
    "<emotion type=\"",
    "HAPPY",
    "sad",
    "</emotion>",
    "<insert-action name=\"",
    "tag=\"",
    "<mark name=\"m\"/>",
    "<say-as interpret-as=\"",
    "characters",
    "digits",
    "</say-as>",
    "<sub alias=\"",
    "</sub>",
    "<phoneme ph=\"",
    "liao3",
    "lv4",
    "</phoneme>",
    "<word>",
    "</word>",
    "<s>",
    "</s>",
    "<p>",
    "</p>",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "&",
    "&#x",
    "&#",
    "&amp;",
    "&lt;",
    ";",
    "\"",
    "'",
    "=",
    " ",
    "\n",
    "中",
    "文",
    "，",
    "a",
    "Z",
    "0",
    "9",
    "\u{feff}",
    "\u{0}",
    "\u{10FFFF}",
    "é",
    "ü",
    "<foo>",
    "</foo>",
    "?>",
    "<!DOCTYPE",
];

const JSON_FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"shoot_scripts\"",
    "\"sequence_no\"",
    "\"shoot_script\"",
    "\"text_config\"",
    "\"text\"",
    "\"video_config\"",
    "\"frame_rate\"",
    "\"width\"",
    "\"layer_config\"",
    "\"background_config\"",
    "\"script_type\"",
    "\"TEXT\"",
    "\"AUDIO\"",
    "1080",
    "1080.0",
    "-1",
    "1e400",
    "18446744073709551616",
    "null",
    "true",
    "\"25\"",
    "\"中\"",
    "\"",
    "\\u00",
    " ",
];

fn random_string(rng: &mut Rng, fragments: &[&str], max_parts: usize) -> String {
    let parts = rng.below(max_parts + 1);
    let mut s = String::new();
    for _ in 0..parts {
        if rng.below(8) == 0 {
            // A random scalar value from anywhere in Unicode.
            let c = char::from_u32((rng.next() % 0x11_0000) as u32).unwrap_or('\u{FFFD}');
            s.push(c);
        } else {
            s.push_str(fragments[rng.below(fragments.len())]);
        }
    }
    s
}

#[test]
fn random_ssml_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for _ in 0..4000 {
        let text = random_string(&mut rng, SSML_FRAGMENTS, 40);
        match parse_text(&text) {
            Ok(plan) => {
                parsed += 1;
                assert!(plain_len(&plan) <= text.chars().count());
            }
            Err(e) => assert!(e.offset <= text.chars().count(), "offset {} past the end of {text:?}", e.offset),
        }
    }
    // The generator reaches both outcomes.
    assert!(parsed > 0 && parsed < 4000, "parsed {parsed} of 4000");
}

#[test]
fn random_texts_inside_scripts_never_panic() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for _ in 0..2000 {
        let text = random_string(&mut rng, SSML_FRAGMENTS, 30);
        let body = json!({"shoot_scripts": [{"sequence_no": 0, "shoot_script": {"text_config": {"text": text}}}]});
        let script = parse_script(&body.to_string());
        if let Ok(s) = script {
            let _ = s.text_plans();
        }
    }
}

#[test]
fn random_json_never_panics() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for _ in 0..3000 {
        let body = random_string(&mut rng, JSON_FRAGMENTS, 30);
        let _ = parse_script(&body);
    }
}

#[test]
fn hostile_inputs_finish() {
    let long = 200_000;
    for text in [
        "<".repeat(long),
        "<s".repeat(long / 2),
        "<!--".repeat(long / 4),
        "&".repeat(long),
        "&#x".repeat(long / 3),
        format!("<break {}", "a=\"1\" ".repeat(long / 6)),
        format!("<speak>{}", "<word>".repeat(long / 6)),
        format!("<speak><sub alias=\"{}\">x</sub></speak>", "a".repeat(long)),
        "中<".repeat(long / 2),
    ] {
        let _ = parse_text(&text);
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_eq!(parse_script(&deep).unwrap_err().code(), "invalid_json");
}
