//! Workload benchmark: synthesis plus timeline and mouth shapes for a 1,000-word English text and a
//! 1,000-character Chinese text, against a baseline measured in the same run: espeak-ng speaking the same text
//! in one call with no plan, no chunking and no timeline.
//!
//! Run with `make bench` (or `cargo bench -p doppel-speech --bench speech`); prints a Markdown table.

use std::time::{Duration, Instant};

use doppel_speech::{EspeakTts, Tts, VoiceSettings};

const PARAGRAPH: &str = "Good morning and welcome to the quarterly review. Our team shipped three new products \
this season, and customers have responded with enthusiasm. <mark name=\"chart\"/>Revenue grew by twelve percent, \
while costs stayed flat. We opened offices in two new cities and hired forty engineers. <break time=\"300ms\"/> \
Next quarter we will focus on quality, speed and the experience of every person who uses our platform. \
<emotion type=\"HAPPY\">Thank you all for your hard work, your patience and your ideas.</emotion> Please bring \
your questions to the meeting on Friday, where the product leads will present their plans in detail. ";

const ZH_PARAGRAPH: &str = "大家好，欢迎来到本季度的业务回顾。我们的团队在这个季度发布了三款新产品，客户的反馈非常积极。\
<mark name=\"chart\"/>收入增长了百分之十二，而成本保持稳定。我们在两个新城市开设了办公室，并招聘了四十名工程师。\
<break time=\"300ms\"/>下个季度，我们将专注于质量、速度以及每一位用户的体验。<emotion type=\"HAPPY\">感谢大家的努力和耐心。</emotion>";

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

struct Row {
    name: &'static str,
    units: String,
    audio_s: f64,
    baseline: Duration,
    full: Duration,
}

fn measure(tts: &EspeakTts, name: &'static str, voice: &str, text: &str, units: String) -> Row {
    let runs = 5;
    let plan = doppel_script::parse_text(text).expect("bench text parses");
    let plain = strip_tags(text);
    // Warm up both paths (voice loading, page cache).
    let _ = tts.speak_raw(voice, &plain).expect("raw");
    let speech = tts.synthesize(voice, &plan, VoiceSettings::default()).expect("synthesis");
    let audio_s = speech.timeline.duration_ms as f64 / 1000.0;
    let mut base = Vec::new();
    let mut full = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(tts.speak_raw(voice, &plain).expect("raw"));
        base.push(t.elapsed());
        let t = Instant::now();
        let plan = doppel_script::parse_text(text).expect("bench text parses");
        std::hint::black_box(tts.synthesize(voice, &plan, VoiceSettings::default()).expect("synthesis"));
        full.push(t.elapsed());
    }
    Row { name, units, audio_s, baseline: median(base), full: median(full) }
}

fn main() {
    let tts = EspeakTts::new();
    let en: String = PARAGRAPH.repeat(11);
    let en_words = strip_tags(&en).split_whitespace().count();
    let zh: String = ZH_PARAGRAPH.repeat(9);
    let zh_chars = strip_tags(&zh).chars().filter(|&c| doppel_speech::lang::is_han(c)).count();
    let rows = [
        measure(&tts, "English, espeak-en-us-ava", "espeak-en-us-ava", &en, format!("{en_words} words")),
        measure(&tts, "Chinese, espeak-zh-cn-xiaoyun", "espeak-zh-cn-xiaoyun", &zh, format!("{zh_chars} characters")),
    ];
    println!("| text | size | audio | baseline: espeak-ng alone | doppel: plan + speech + timeline + visemes | ratio doppel/baseline | real-time factor (audio/wall) |");
    println!("|---|---|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {:.1} s | {:.0} ms | {:.0} ms | {:.2}x | {:.0}x |",
            r.name,
            r.units,
            r.audio_s,
            r.baseline.as_secs_f64() * 1000.0,
            r.full.as_secs_f64() * 1000.0,
            r.full.as_secs_f64() / r.baseline.as_secs_f64(),
            r.audio_s / r.full.as_secs_f64(),
        );
    }
}
