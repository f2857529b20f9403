//! `doppel lipsync-calibrate` and `doppel lipsync-eval`: calibrating the audio-only mouth-shape estimator from
//! doppel's own TTS voices, and measuring how well it agrees with the phoneme-derived track.
//!
//! Both speak a corpus (`crates/lipsync/corpus/*.txt`, built into the binary) with the built-in espeak-ng voices.
//! For every sentence the TTS timeline gives the true track; the estimator only hears the audio.
//! - Calibration speaks `calibration.txt` with every voice of the sentence's language and trains the classifier
//!   ([`doppel_lipsync::calibrate::train`]), deterministically: the same corpus gives the same profile.
//! - Evaluation speaks `evaluation.txt` (never used for calibration), one voice per sentence in rotation (or every
//!   voice with `--all-voices`), runs the streaming [`Estimator`] on the audio in 20 ms chunks as a live stream would
//!   feed it, and reports frame agreement (open/closed, exact shape), bilabial closures detected, and speed.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use doppel_lipsync::audio::Estimator;
use doppel_lipsync::calibrate::{self, Agreement, Settings, Utterance};
use doppel_speech::{EspeakTts, Speech, Tts, VoiceSettings};

/// The calibration corpus.
const CALIBRATION: &str = include_str!("../../lipsync/corpus/calibration.txt");
/// The evaluation corpus.
const EVALUATION: &str = include_str!("../../lipsync/corpus/evaluation.txt");

/// Targets the estimator must meet on the evaluation corpus.
pub const TARGET_OPEN_CLOSED: f64 = 0.85;
pub const TARGET_EXACT: f64 = 0.55;
pub const TARGET_CLOSURES: f64 = 0.80;

const EN_VOICES: [&str; 4] = ["espeak-en-us-ava", "espeak-en-us-adam", "espeak-en-gb-bella", "espeak-en-gb-brian"];
const ZH_VOICES: [&str; 2] = ["espeak-zh-cn-xiaoyun", "espeak-zh-cn-xiaoming"];

#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// A corpus file instead of the built-in calibration corpus (lines `en<TAB>text` or `zh<TAB>text`).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Where to write the profile (the shipped one is crates/lipsync/src/profile.json).
    #[arg(short, long)]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// A corpus file instead of the built-in evaluation corpus.
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Use only the first N sentences of each language (a quick check).
    #[arg(long)]
    limit: Option<usize>,
    /// Speak every sentence with every voice of its language instead of one voice per sentence in rotation.
    #[arg(long)]
    all_voices: bool,
    /// Exit with an error if agreement is below the targets (open/closed 85%, exact 55%, closures 80%).
    #[arg(long)]
    check: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// One corpus line.
#[derive(Debug)]
struct Sentence {
    zh: bool,
    text: String,
}

fn parse_corpus(text: &str) -> Result<Vec<Sentence>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((lang, sentence)) = line.split_once('\t') else {
            bail!("corpus line {}: expected `en<TAB>text` or `zh<TAB>text`", i + 1);
        };
        let zh = match lang {
            "en" => false,
            "zh" => true,
            other => bail!("corpus line {}: unknown language {other:?} (en or zh)", i + 1),
        };
        out.push(Sentence { zh, text: sentence.trim().to_string() });
    }
    Ok(out)
}

fn load_corpus(path: Option<&PathBuf>, builtin: &str) -> Result<Vec<Sentence>> {
    match path {
        Some(p) => parse_corpus(&std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?),
        None => parse_corpus(builtin),
    }
}

fn speak(tts: &EspeakTts, voice: &str, text: &str) -> Result<Speech> {
    let plan = doppel_script::parse_text(text).map_err(|e| anyhow::anyhow!("corpus sentence {text:?}: {e}"))?;
    Ok(tts.synthesize(voice, &plan, VoiceSettings::default())?)
}

fn samples_f32(speech: &Speech) -> Vec<f32> {
    speech.samples.iter().map(|&s| f32::from(s) / 32768.0).collect()
}

/// `doppel lipsync-calibrate`.
pub fn calibrate_command(args: CalibrateArgs) -> Result<()> {
    let corpus = load_corpus(args.corpus.as_ref(), CALIBRATION)?;
    let tts = EspeakTts::new();
    let started = Instant::now();
    let mut recordings = Vec::new();
    for s in &corpus {
        let voices: &[&str] = if s.zh { &ZH_VOICES } else { &EN_VOICES };
        for v in voices {
            let speech = speak(&tts, v, &s.text)?;
            recordings.push((speech.sample_rate, samples_f32(&speech), speech.timeline.visemes));
        }
    }
    let seconds: f64 = recordings.iter().map(|(r, s, _)| s.len() as f64 / f64::from(*r)).sum();
    eprintln!(
        "spoke {} sentences as {} recordings ({seconds:.0} s of audio) in {:.1} s",
        corpus.len(),
        recordings.len(),
        started.elapsed().as_secs_f64()
    );
    // The cepstral mean a stream starts from: the average over recordings of where the running mean ends up.
    let mut cep_mean = [0f32; 12];
    for (rate, samples, _) in &recordings {
        let (_, m) = calibrate::features(*rate, samples, [0.0; 12]);
        for (a, b) in cep_mean.iter_mut().zip(m) {
            *a += b / recordings.len() as f32;
        }
    }
    let utts: Vec<Utterance> =
        recordings.into_iter().map(|(rate, samples, truth)| Utterance::new(rate, &samples, truth, cep_mean)).collect();
    let settings = Settings::default();
    let about = format!(
        "doppel lipsync-calibrate: {} sentences of the built-in calibration corpus, every built-in espeak-ng voice of \
         the sentence's language ({} recordings, {seconds:.0} s); offsets {:?}, {} hidden units, {} epochs",
        corpus.len(),
        utts.len(),
        settings.offsets,
        settings.hidden,
        settings.epochs
    );
    let trained = Instant::now();
    let profile = calibrate::train(&utts, cep_mean, &settings, &about);
    eprintln!(
        "trained in {:.1} s; closure threshold {:.2}",
        trained.elapsed().as_secs_f64(),
        profile.closure_threshold
    );
    let json = serde_json::to_string(&profile)?;
    std::fs::write(&args.output, json + "\n").with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!("wrote {}", args.output.display());
    Ok(())
}

/// Agreement and speed over a corpus.
#[derive(Debug, serde::Serialize)]
struct Report {
    sentences: usize,
    recordings: usize,
    audio_seconds: f64,
    english: Scores,
    chinese: Scores,
    all: Scores,
    /// Audio seconds estimated per second of estimator time, on one core.
    realtime_factor: f64,
    targets: Targets,
    pass: bool,
}

#[derive(Debug, serde::Serialize)]
struct Scores {
    frames: usize,
    open_closed: f64,
    exact: f64,
    closures: usize,
    closures_detected: f64,
}

#[derive(Debug, serde::Serialize)]
struct Targets {
    open_closed: f64,
    exact: f64,
    closures_detected: f64,
}

impl From<&Agreement> for Scores {
    fn from(a: &Agreement) -> Scores {
        Scores {
            frames: a.frames,
            open_closed: a.open_closed(),
            exact: a.exact(),
            closures: a.closures,
            closures_detected: a.closures_detected(),
        }
    }
}

/// `doppel lipsync-eval`.
pub fn eval_command(args: EvalArgs) -> Result<()> {
    let mut corpus = load_corpus(args.corpus.as_ref(), EVALUATION)?;
    if let Some(n) = args.limit {
        let (mut en, mut zh) = (0, 0);
        corpus.retain(|s| {
            let count = if s.zh { &mut zh } else { &mut en };
            *count += 1;
            *count <= n
        });
    }
    if corpus.is_empty() {
        bail!("the corpus has no sentences");
    }
    let tts = EspeakTts::new();
    let (mut en, mut zh) = (Agreement::default(), Agreement::default());
    let (mut en_i, mut zh_i) = (0usize, 0usize);
    let mut audio_seconds = 0.0;
    let mut estimator_seconds = 0.0;
    let mut recordings = 0;
    for s in &corpus {
        let voices: &[&str] = if s.zh { &ZH_VOICES } else { &EN_VOICES };
        let index = if s.zh { &mut zh_i } else { &mut en_i };
        let chosen: Vec<&str> = if args.all_voices { voices.to_vec() } else { vec![voices[*index % voices.len()]] };
        *index += 1;
        for voice in chosen {
            let speech = speak(&tts, voice, &s.text)?;
            let samples = samples_f32(&speech);
            let started = Instant::now();
            let mut est = Estimator::new(speech.sample_rate, 25);
            let chunk = (speech.sample_rate / 50).max(1) as usize;
            let mut frames = Vec::new();
            for c in samples.chunks(chunk) {
                frames.extend(est.push(c));
            }
            frames.extend(est.finish());
            estimator_seconds += started.elapsed().as_secs_f64();
            audio_seconds += samples.len() as f64 / f64::from(speech.sample_rate);
            recordings += 1;
            let truth_frames = speech.timeline.frame_shapes();
            let score = calibrate::score(&speech.timeline.visemes, &truth_frames, &frames);
            if s.zh { &mut zh } else { &mut en }.add(&score);
        }
    }
    let mut all = en;
    all.add(&zh);
    let pass = all.open_closed() >= TARGET_OPEN_CLOSED
        && all.exact() >= TARGET_EXACT
        && all.closures_detected() >= TARGET_CLOSURES;
    let report = Report {
        sentences: corpus.len(),
        recordings,
        audio_seconds,
        english: Scores::from(&en),
        chinese: Scores::from(&zh),
        all: Scores::from(&all),
        realtime_factor: audio_seconds / estimator_seconds.max(1e-9),
        targets: Targets { open_closed: TARGET_OPEN_CLOSED, exact: TARGET_EXACT, closures_detected: TARGET_CLOSURES },
        pass,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} sentences, {} recordings, {:.0} s of audio; estimator {:.0}x real time on one core",
            report.sentences, report.recordings, report.audio_seconds, report.realtime_factor
        );
        println!(
            "{:<10} {:>8} {:>12} {:>8} {:>10} {:>10}",
            "", "frames", "open/closed", "exact", "closures", "detected"
        );
        for (name, s) in [("English", &report.english), ("Chinese", &report.chinese), ("all", &report.all)] {
            println!(
                "{:<10} {:>8} {:>11.1}% {:>7.1}% {:>10} {:>9.1}%",
                name,
                s.frames,
                s.open_closed * 100.0,
                s.exact * 100.0,
                s.closures,
                s.closures_detected * 100.0
            );
        }
        println!(
            "targets: open/closed ≥ {:.0}%, exact ≥ {:.0}%, closures ≥ {:.0}%: {}",
            TARGET_OPEN_CLOSED * 100.0,
            TARGET_EXACT * 100.0,
            TARGET_CLOSURES * 100.0,
            if pass { "met" } else { "NOT met" }
        );
    }
    if args.check && !pass {
        bail!("lip-sync agreement is below the targets");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_corpora_parse_and_are_big_enough() {
        let cal = parse_corpus(CALIBRATION).unwrap();
        let eval = parse_corpus(EVALUATION).unwrap();
        assert!(eval.len() >= 200, "{} evaluation sentences", eval.len());
        assert!(eval.iter().any(|s| s.zh) && eval.iter().any(|s| !s.zh));
        // No evaluation sentence is used for calibration.
        assert!(eval.iter().all(|e| cal.iter().all(|c| c.text != e.text)));
    }

    #[test]
    fn bad_corpus_lines_are_reported() {
        assert!(parse_corpus("fr\tBonjour").unwrap_err().to_string().contains("line 1"));
        assert!(parse_corpus("# c\nhello").unwrap_err().to_string().contains("line 2"));
    }
}
