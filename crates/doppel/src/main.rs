//! The `doppel` command: speak text, render scripts to video files, estimate the mouth shapes of a recording
//! (`lipsync`), list avatars and voices, run the server (`serve`) or only its render workers (`worker`), manage
//! projects and credentials (`project`, `keys`), and calibrate and measure the audio lip-sync estimator
//! (`lipsync-calibrate`, `lipsync-eval`).

mod lipsync_eval;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use doppel_speech::{default_voice_for, Engines, Tts, VoiceSettings};

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
        #[command(flatten)]
        tts: TtsArgs,
    },
    /// Calibrate the audio lip-sync estimator from the built-in voices and write its profile (JSON).
    LipsyncCalibrate(lipsync_eval::CalibrateArgs),
    /// Measure the audio lip-sync estimator against the phoneme-derived track on the evaluation corpus.
    LipsyncEval(lipsync_eval::EvalArgs),
    /// Estimate the mouth shapes of a recording (any audio FFmpeg reads) and write the track as JSON.
    Lipsync(LipsyncArgs),
    /// Run the server: native API, signed file URLs and render workers.
    Serve(ServerArgs),
    /// Run only render workers on the server's database (scale-out); no HTTP.
    Worker(ServerArgs),
    /// Manage projects.
    Project {
        #[command(subcommand)]
        command: ProjectCommand,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Manage a project's credentials (API key, access keys, ZEGO app id and secret).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Clone, clap::Args)]
struct ServerArgs {
    /// Address to listen on [env: DOPPEL_LISTEN; default 127.0.0.1:8080].
    #[arg(long, global = true)]
    listen: Option<std::net::SocketAddr>,
    /// Data directory: SQLite database, blobs, caches, credentials.json [env: DOPPEL_DATA_DIR; default
    /// ./doppel-data].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Configuration file (TOML; see doppel.example.toml) [env: DOPPEL_CONFIG].
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Database URL, postgres://… for scale-out [env: DOPPEL_DATABASE_URL; default SQLite in the data dir].
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Concurrent renders in this process [env: DOPPEL_WORKERS; default 1].
    #[arg(long, global = true)]
    workers: Option<usize>,
}

#[derive(Debug, Subcommand)]
enum ProjectCommand {
    /// Create a project and its first credentials (printed as JSON, the API key only this once).
    Create {
        /// Project name.
        #[arg(long, default_value = "project")]
        name: String,
    },
    /// List projects.
    List,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List a project's credentials (without API keys).
    List {
        /// Project id.
        #[arg(long)]
        project: String,
    },
    /// Create new credentials for a project (printed as JSON, the API key only this once).
    Create {
        /// Project id.
        #[arg(long)]
        project: String,
    },
    /// Revoke credentials by their id.
    Revoke {
        /// Credentials id (see `doppel keys list`).
        id: String,
    },
}

/// Where `speak`, `voices` and `render` find voices besides the built-in ones.
#[derive(Debug, Clone, clap::Args)]
struct TtsArgs {
    /// Configuration file (TOML, the one `doppel serve --config` reads; see doppel.example.toml): its
    /// `[[tts.http]]` engines add their voices [env: DOPPEL_CONFIG].
    #[arg(long)]
    config: Option<PathBuf>,
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
    #[command(flatten)]
    tts: TtsArgs,
}

#[derive(Debug, clap::Args)]
struct LipsyncArgs {
    /// The recording: WAV, MP3, AAC/M4A, Ogg (Vorbis or Opus), FLAC, or any other audio FFmpeg reads.
    audio: PathBuf,
    /// Where to write the track (JSON: duration_ms, fps, frames, visemes); standard output by default.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Frame rate of the `frames` string (one shape letter per frame).
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u32).range(1..=120))]
    fps: u32,
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
    #[command(flatten)]
    tts: TtsArgs,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Speak(args) => speak(args),
        Command::Render(args) => render(args),
        Command::Avatars { json } => avatars(json),
        Command::Voices { json, tts } => voices(json, &tts),
        Command::Lipsync(args) => lipsync(args),
        Command::LipsyncCalibrate(args) => lipsync_eval::calibrate_command(args),
        Command::LipsyncEval(args) => lipsync_eval::eval_command(args),
        Command::Serve(args) => server_config(&args).and_then(|c| runtime()?.block_on(doppel_server::serve(c))),
        Command::Worker(args) => server_config(&args).and_then(|c| runtime()?.block_on(doppel_server::run_workers(c))),
        Command::Project { command, server } => runtime().and_then(|rt| rt.block_on(project(command, server))),
        Command::Keys { command, server } => runtime().and_then(|rt| rt.block_on(keys(command, server))),
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
    let tts = tts_engines(&args.tts)?;
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

fn voices(json: bool, tts: &TtsArgs) -> Result<()> {
    let voices = tts_engines(tts)?.voices();
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &voices)?;
        writeln!(out)?;
    } else {
        let w = voices.iter().map(|v| v.id.len()).max().unwrap_or(0).max(24);
        writeln!(out, "{:<w$} {:<10} {:<7} {:<7} DESCRIPTION", "ID", "NAME", "LANG", "GENDER")?;
        for v in voices {
            let gender = serde_json::to_value(v.gender)?.as_str().unwrap_or_default().to_string();
            writeln!(out, "{:<w$} {:<10} {:<7} {:<7} {}", v.id, v.name, v.language, gender, v.description)?;
        }
    }
    Ok(())
}

fn lipsync(args: LipsyncArgs) -> Result<()> {
    let file = &args.audio;
    if !file.is_file() {
        bail!("{}: no such file", file.display());
    }
    let recording =
        doppel_render::recording::read(file, None).map_err(|m| anyhow::anyhow!("{}: {m}", file.display()))?;
    let track = recording.lip_track(args.fps)?;
    let write = |w: &mut dyn Write| -> Result<()> {
        serde_json::to_writer_pretty(&mut *w, &track)?;
        writeln!(w)?;
        Ok(())
    };
    match &args.output {
        Some(path) => {
            write_file(path, |w| write(w))?;
            eprintln!(
                "wrote {} ({:.2} s, {} frames at {} fps, {} visemes)",
                path.display(),
                track.duration_ms as f64 / 1000.0,
                track.frames.len(),
                track.fps,
                track.visemes.len()
            );
        }
        None => write(&mut std::io::stdout().lock())?,
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
    let tts = tts_engines(&args.tts)?;
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
            if done.is_multiple_of(5) || done == total {
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

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

/// The configuration file: `--config`, else `DOPPEL_CONFIG`.
fn config_path(flag: &Option<PathBuf>) -> Option<PathBuf> {
    flag.clone().or_else(|| std::env::var_os("DOPPEL_CONFIG").map(PathBuf::from))
}

/// The voices of `--config` (or `DOPPEL_CONFIG`): espeak-ng and the file's `[[tts.http]]` engines; espeak-ng
/// alone without a file.
fn tts_engines(args: &TtsArgs) -> Result<Engines> {
    match config_path(&args.config) {
        Some(path) => doppel_server::Config::from_file(&path)?
            .tts_engines()
            .with_context(|| format!("{}: the [tts] section", path.display())),
        None => Ok(Engines::new()),
    }
}

/// The server configuration: defaults, then the config file, then `DOPPEL_*` variables, then flags.
fn server_config(args: &ServerArgs) -> Result<doppel_server::Config> {
    let mut c = match config_path(&args.config) {
        Some(path) => doppel_server::Config::from_file(&path)?,
        None => doppel_server::Config::default(),
    };
    c.apply_env(|k| std::env::var(k).ok())?;
    if let Some(v) = args.listen {
        c.listen = v;
    }
    if let Some(v) = &args.data_dir {
        c.data_dir = v.clone();
    }
    if let Some(v) = &args.database_url {
        c.database_url = Some(v.clone());
    }
    if let Some(v) = args.workers {
        c.workers = v;
    }
    Ok(c)
}

async fn open_db(args: &ServerArgs) -> Result<doppel_store::Db> {
    let c = server_config(args)?;
    if c.database_url.is_none() {
        std::fs::create_dir_all(&c.data_dir).with_context(|| format!("creating {}", c.data_dir.display()))?;
    }
    Ok(doppel_store::Db::connect(&c.database_url()).await?)
}

async fn project(command: ProjectCommand, server: ServerArgs) -> Result<()> {
    let db = open_db(&server).await?;
    match command {
        ProjectCommand::Create { name } => {
            let p = db.create_project(&name).await?;
            let c = db.create_credentials(&p.id).await?;
            let mut out = serde_json::to_value(doppel_server::CredentialsFile::new(&c))?;
            out["name"] = serde_json::json!(p.name);
            out["credentials_id"] = serde_json::json!(c.id);
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        ProjectCommand::List => {
            for p in db.projects().await? {
                println!("{}  {}", p.id, p.name);
            }
        }
    }
    Ok(())
}

async fn keys(command: KeysCommand, server: ServerArgs) -> Result<()> {
    let db = open_db(&server).await?;
    match command {
        KeysCommand::List { project } => {
            if db.project(&project).await?.is_none() {
                bail!("no project {project:?} (see `doppel project list`)");
            }
            println!("{}", serde_json::to_string_pretty(&db.credentials(&project).await?)?);
        }
        KeysCommand::Create { project } => {
            if db.project(&project).await?.is_none() {
                bail!("no project {project:?} (see `doppel project list`)");
            }
            let c = db.create_credentials(&project).await?;
            let mut out = serde_json::to_value(doppel_server::CredentialsFile::new(&c))?;
            out["credentials_id"] = serde_json::json!(c.id);
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        KeysCommand::Revoke { id } => {
            if !db.revoke_credentials(&id).await? {
                bail!("no live credentials {id:?}");
            }
            println!("revoked {id}");
        }
    }
    Ok(())
}
