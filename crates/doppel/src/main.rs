//! The `doppel` command: speak text to a WAV with its timeline, list voices. Later: render, serve.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use doppel_speech::{default_voice_for, EspeakTts, Tts, VoiceSettings};

#[derive(Debug, Parser)]
#[command(name = "doppel", version, about = "doppel: self-hosted digital humans", propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Speak a text (plain or SSML) to a WAV file, with an optional timeline of words, phonemes, marks and mouth
    /// shapes.
    Speak(SpeakArgs),
    /// List the available voices.
    Voices {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
struct SpeakArgs {
    /// The text to speak: plain text or SSML (MetaStudio tags: break, prosody, say-as, sub, phoneme, word,
    /// emotion, insert-action, mark). Use `-` to read it from standard input.
    #[arg(long)]
    text: String,
    /// Voice id (see `doppel voices`); by default an English or Chinese voice chosen by the text.
    #[arg(long)]
    voice: Option<String>,
    /// Speaking speed, 50–200 (100 = normal).
    #[arg(long, default_value_t = 100)]
    speed: u32,
    /// Pitch, 50–200 (100 = normal).
    #[arg(long, default_value_t = 100)]
    pitch: u32,
    /// Volume, 90–240 (140 = normal).
    #[arg(long, default_value_t = 140)]
    volume: u32,
    /// Where to write the WAV (16-bit mono PCM).
    #[arg(short, long)]
    output: PathBuf,
    /// Where to write the timeline JSON.
    #[arg(long)]
    timeline: Option<PathBuf>,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Speak(args) => speak(args),
        Command::Voices { json } => voices(json),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn speak(args: SpeakArgs) -> Result<()> {
    let text = if args.text == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).context("reading the text from standard input")?;
        s
    } else {
        args.text
    };
    let plan = doppel_script::parse_text(&text).map_err(|e| anyhow::anyhow!("--text: {e}"))?;
    let settings = VoiceSettings { speed: args.speed, pitch: args.pitch, volume: args.volume };
    let voice = args.voice.unwrap_or_else(|| default_voice_for(&plan).to_string());
    let tts = EspeakTts::new();
    let speech = tts.synthesize(&voice, &plan, settings)?;
    if speech.samples.is_empty() {
        bail!("--text has nothing to speak");
    }
    write_file(&args.output, |w| {
        doppel_speech::wav::write(w, speech.sample_rate, &speech.samples).map_err(Into::into)
    })?;
    eprintln!(
        "wrote {} ({:.2} s, {} Hz, voice {voice})",
        args.output.display(),
        speech.timeline.duration_ms as f64 / 1000.0,
        speech.sample_rate
    );
    if let Some(path) = &args.timeline {
        write_file(path, |w| {
            serde_json::to_writer_pretty(&mut *w, &speech.timeline)?;
            writeln!(w)?;
            Ok(())
        })?;
        eprintln!(
            "wrote {} ({} words, {} phonemes, {} marks, {} visemes)",
            path.display(),
            speech.timeline.words.len(),
            speech.timeline.phonemes.len(),
            speech.timeline.marks.len(),
            speech.timeline.visemes.len()
        );
    }
    Ok(())
}

/// Writes a file through a temporary sibling and a rename, so a crash never leaves half a file behind.
fn write_file(path: &Path, f: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("partial");
    let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut w = BufWriter::new(file);
    f(&mut w)?;
    w.flush()?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn voices(json: bool) -> Result<()> {
    let tts = EspeakTts::new();
    let voices = tts.voices();
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &voices)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{:<24} {:<10} {:<7} {:<7} DESCRIPTION", "ID", "NAME", "LANG", "GENDER")?;
        for v in voices {
            let gender = serde_json::to_value(v.gender)?.as_str().unwrap_or_default().to_string();
            writeln!(out, "{:<24} {:<10} {:<7} {:<7} {}", v.id, v.name, v.language, gender, v.description)?;
        }
    }
    Ok(())
}
