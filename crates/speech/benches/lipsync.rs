//! Benchmark of the audio lip-sync estimator (`doppel_lipsync::audio`): the same speech turned into mouth shapes
//! from its audio alone, against a baseline measured in the same run on the same audio: the estimator's own front
//! end (windowing, FFT, mel bands, cepstra) without the classifier and the frame decisions. The estimator is fed
//! 20 ms chunks, as a live stream would feed it. One core; median of 5 runs.
//!
//! Run with `make bench` (or `cargo bench -p doppel-speech --bench lipsync`); prints a Markdown table.

use std::time::{Duration, Instant};

use doppel_lipsync::audio::{Estimator, Frontend};
use doppel_speech::{EspeakTts, Tts, VoiceSettings};

const EN: &str = "Good morning and welcome to the quarterly review. Our team shipped three new products this \
season, and customers have responded with enthusiasm. Maybe Bob brought bread for my mom before the big meeting. \
Revenue grew by twelve percent, while costs stayed flat, and we opened offices in two new cities. ";
const ZH: &str = "大家好，欢迎来到本季度的业务回顾。我们的团队在这个季度发布了三款新产品，客户的反馈非常积极。\
妈妈帮我买了面包和牛奶，朋友们都很喜欢。";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let tts = EspeakTts::new();
    println!("| audio | length | baseline: front end only | estimator (streamed, 20 ms chunks) | ratio estimator/baseline | estimator real-time factor |");
    println!("|---|---|---|---|---|---|");
    for (name, voice, text) in [("English", "espeak-en-us-ava", EN), ("Chinese", "espeak-zh-cn-xiaoyun", ZH)] {
        let plan = doppel_script::parse_text(&text.repeat(8)).expect("bench text parses");
        let speech = tts.synthesize(voice, &plan, VoiceSettings::default()).expect("synthesis");
        let rate = speech.sample_rate;
        let samples: Vec<f32> = speech.samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
        let seconds = samples.len() as f64 / f64::from(rate);
        let chunk = (rate / 50) as usize;
        let (mut base, mut full) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let t = Instant::now();
            let mut fe = Frontend::new(rate, [0.0; 12]);
            let mut rows = Vec::new();
            for c in samples.chunks(chunk) {
                fe.push(c, &mut rows);
            }
            fe.finish(&mut rows);
            std::hint::black_box(&rows);
            base.push(t.elapsed());
            let t = Instant::now();
            let mut est = Estimator::new(rate, 25);
            let mut frames = Vec::new();
            for c in samples.chunks(chunk) {
                frames.extend(est.push(c));
            }
            frames.extend(est.finish());
            std::hint::black_box(&frames);
            full.push(t.elapsed());
        }
        let (b, f) = (median(base), median(full));
        println!(
            "| {name}, {voice} | {seconds:.1} s | {:.1} ms | {:.1} ms | {:.2}x | {:.0}x |",
            b.as_secs_f64() * 1000.0,
            f.as_secs_f64() * 1000.0,
            f.as_secs_f64() / b.as_secs_f64(),
            seconds / f.as_secs_f64()
        );
    }
}
