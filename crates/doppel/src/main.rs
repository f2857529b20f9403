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
    /// Render a script (MetaStudio's create-video JSON) or a text to a video file (.mp4 or .webm).
    Render(RenderArgs),
    /// List the available avatars.
    Avatars {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
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

#[derive(Debug, clap::Args)]
struct RenderArgs {
    /// The script file (JSON). Relative file paths inside it resolve against its folder.
    script: Option<PathBuf>,
    /// Render this text (plain or SSML) instead of a script file.
    #[arg(long, conflicts_with = "script")]
    text: Option<String>,
    /// Avatar id for --text (see `doppel avatars`).
    #[arg(long, default_value = "anna")]
    avatar: String,
    /// Voice id for --text; by default the avatar's voice, or a Chinese voice for Chinese text.
    #[arg(long)]
    voice: Option<String>,
    /// Output size for --text, WIDTHxHEIGHT (1080x1920, 1920x1080, 720x1280, 1280x720, 2160x3840, 3840x2160).
    #[arg(long, default_value = "1080x1920")]
    size: String,
    /// Background colour for --text (#RRGGBB, or #RRGGBBAA with a .webm output).
    #[arg(long)]
    background: Option<String>,
    /// The video file to write: .mp4 (H.264 + AAC) or .webm (VP8 + Opus).
    #[arg(short, long)]
    output: PathBuf,
    /// Also write the first frame as a JPEG cover.
    #[arg(long)]
    cover: Option<PathBuf>,
    /// Also write the subtitles, as SRT (.srt) or WebVTT (.vtt).
    #[arg(long)]
    subtitles: Option<PathBuf>,
    /// x264 preset (ultrafast … veryslow).
    #[arg(long, default_value = "veryfast")]
    preset: String,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Speak(args) => speak(args),
        Command::Render(args) => render(args),
        Command::Avatars { json } => avatars(json),
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

fn render(args: RenderArgs) -> Result<()> {
    let (script_json, base_dir) = match (&args.script, &args.text) {
        (Some(path), None) => {
            let json = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
            (json, base)
        }
        (None, Some(text)) => {
            let (w, h) = args
                .size
                .split_once(['x', 'X'])
                .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)))
                .ok_or_else(|| anyhow::anyhow!("--size: {:?} is not WIDTHxHEIGHT", args.size))?;
            let mut shoot = serde_json::json!({ "script_type": "TEXT", "text_config": { "text": text } });
            if let Some(bg) = &args.background {
                shoot["background_config"] =
                    serde_json::json!([{ "background_type": "COLOR", "background_color_config": bg }]);
            }
            let mut script = serde_json::json!({
                "model_asset_id": args.avatar,
                "video_config": { "width": w, "height": h },
                "shoot_scripts": [{ "sequence_no": 0, "shoot_script": shoot }],
            });
            if let Some(v) = &args.voice {
                script["voice_config"] = serde_json::json!({ "voice_asset_id": v });
            }
            (script.to_string(), PathBuf::from("."))
        }
        _ => bail!("give a SCRIPT file or --text"),
    };
    let script = doppel_script::parse_script(&script_json).map_err(|e| anyhow::anyhow!("{e}"))?;
    let subtitle_format = match &args.subtitles {
        None => None,
        Some(p) => match p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("srt") => Some(false),
            Some("vtt") => Some(true),
            _ => bail!("--subtitles: {} must end in .srt or .vtt", p.display()),
        },
    };
    let tts = EspeakTts::new();
    let mut bar = ProgressBar::new();
    let mut progress = |p: doppel_render::Progress| bar.update(p.frame, p.total_frames);
    let mut opts = doppel_render::RenderOptions::new(&tts);
    opts.base_dir = base_dir;
    opts.x264_preset = args.preset.clone();
    opts.cover = args.cover.clone();
    opts.progress = Some(&mut progress);
    let started = std::time::Instant::now();
    let report = doppel_render::render(&script, &args.output, &mut opts)?;
    drop(opts);
    bar.finish();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "wrote {} ({}x{}, {:.2} s, {} frames, avatar {}, voice {}) in {:.1} s ({:.1} fps)",
        args.output.display(),
        report.width,
        report.height,
        report.duration_ms as f64 / 1000.0,
        report.frames,
        report.avatar,
        report.voice,
        secs,
        report.frames as f64 / secs.max(1e-9)
    );
    if let Some(c) = &args.cover {
        eprintln!("wrote {}", c.display());
    }
    if let (Some(path), Some(vtt)) = (&args.subtitles, subtitle_format) {
        let text = if vtt {
            doppel_render::subtitles::to_vtt(&report.subtitles)
        } else {
            doppel_render::subtitles::to_srt(&report.subtitles)
        };
        write_file(path, |w| Ok(w.write_all(text.as_bytes())?))?;
        eprintln!("wrote {} ({} cues)", path.display(), report.subtitles.len());
    }
    Ok(())
}

/// A progress bar on a terminal, plain lines every 10% otherwise.
struct ProgressBar {
    tty: bool,
    last_decile: u64,
}

impl ProgressBar {
    fn new() -> ProgressBar {
        use std::io::IsTerminal;
        ProgressBar { tty: std::io::stderr().is_terminal(), last_decile: 0 }
    }

    fn update(&mut self, done: u64, total: u64) {
        let total = total.max(1);
        if self.tty {
            if done % 5 == 0 || done == total {
                let width = 30;
                let filled = (done * width / total) as usize;
                eprint!(
                    "\rrendering [{}{}] {:3}% {done}/{total} frames",
                    "#".repeat(filled),
                    "-".repeat(width as usize - filled),
                    done * 100 / total
                );
            }
        } else {
            let decile = done * 10 / total;
            if decile > self.last_decile {
                self.last_decile = decile;
                eprintln!("rendering: {}% ({done}/{total} frames)", decile * 10);
            }
        }
    }

    fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

fn avatars(json: bool) -> Result<()> {
    let infos: Vec<doppel_avatar::AvatarInfo> = doppel_avatar::builtin().iter().map(|a| a.info()).collect();
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &infos)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{:<8} {:<8} {:<10} {:<12} {:<30} ACTIONS", "ID", "NAME", "SIZE", "TRANSPARENT", "EMOTIONS")?;
        for a in infos {
            let actions: Vec<&str> = a.actions.iter().map(|x| x.name.as_str()).collect();
            writeln!(
                out,
                "{:<8} {:<8} {:<10} {:<12} {:<30} {}",
                a.id,
                a.name,
                format!("{}x{}", a.width, a.height),
                if a.transparent { "yes" } else { "no" },
                a.emotions.join(","),
                actions.join(",")
            )?;
        }
    }
    Ok(())
}
