//! A render job: resolve a script (avatar, voice, geometry, scenes, assets), then speak, animate, composite and
//! encode every scene into one file.

use std::path::{Path, PathBuf};

use doppel_avatar::motion::{Cue, CueKind, Motion, MotionInput, MotionOptions};
use doppel_avatar::{Avatar, Emotion};
use doppel_media::{EncodeOptions, Encoder, VideoCodec};
use doppel_script::{BackgroundType, ClipMode, Codec, LayerType, Plan, Script, ScriptType};
use doppel_speech::{MarkKind, Speech, Tts, VoiceSettings};
use tiny_skia::Pixmap;

use crate::audio;
use crate::compose::{Background, Geometry, Layer, Placed, PlacedVideo, SceneLook, Stage};
use crate::painter::{Painter, Patch};
use crate::recording;
use crate::subtitles::{self, cues_from_timeline, parse_hex_color, style_from_config, SubtitleTrack};
use crate::text::{TextRenderer, TextStyle};
use crate::video_layer::VideoLayer;
use crate::{Error, Result};

/// Frames per second of every doppel video.
pub const FPS: u32 = 25;

/// How to render.
pub struct RenderOptions<'a> {
    /// The speech engine.
    pub tts: &'a dyn Tts,
    /// Relative file paths in the script (background images, layers, music) resolve against this folder.
    pub base_dir: PathBuf,
    /// Extra avatar packages (besides the built-ins) that `model_asset_id` may name.
    pub avatars: Vec<Avatar>,
    /// x264 preset.
    pub x264_preset: String,
    /// Seed for blinks and idle gestures.
    pub seed: u64,
    /// Called after every frame.
    pub progress: Option<&'a mut dyn FnMut(Progress)>,
    /// Where to write a JPEG cover (the first frame), if wanted.
    pub cover: Option<PathBuf>,
    /// Checked before every frame: when it becomes true the render stops with [`Error::Canceled`] and removes
    /// its partial output.
    pub cancel: Option<&'a std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for RenderOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderOptions")
            .field("base_dir", &self.base_dir)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl<'a> RenderOptions<'a> {
    /// Defaults: files relative to the current directory, x264 `veryfast`, seed 1.
    pub fn new(tts: &'a dyn Tts) -> RenderOptions<'a> {
        RenderOptions {
            tts,
            base_dir: PathBuf::from("."),
            avatars: Vec::new(),
            x264_preset: "veryfast".into(),
            seed: 1,
            progress: None,
            cover: None,
            cancel: None,
        }
    }
}

/// Progress of a render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub frame: u64,
    pub total_frames: u64,
}

/// What a render produced.
#[derive(Debug, Clone)]
pub struct RenderReport {
    pub width: u32,
    pub height: u32,
    pub frames: u64,
    pub duration_ms: u64,
    pub codec: VideoCodec,
    pub alpha: bool,
    pub avatar: String,
    pub voice: String,
    /// Each scene's speech, in order, with its start in the video.
    pub scenes: Vec<(u64, doppel_speech::Timeline)>,
    /// Subtitle cues of the whole video (also when they are not burned in): write them with
    /// [`crate::subtitles::to_srt`] or [`crate::subtitles::to_vtt`].
    pub subtitles: Vec<subtitles::Cue>,
}

struct Scene {
    path: String,
    speech: Speech,
    /// When the avatar speaks, `(start_ms, end_ms)`: the words, or a recording's speech spans.
    speaking: Vec<(u32, u32)>,
    frames: usize,
    look: SceneLook,
    /// Where the avatar stands: top-left in layout px and its scale relative to its canvas.
    human: (f32, f32, f32),
    cues: Vec<Cue>,
    videos: Vec<VideoSound>,
}

fn resolve_file(base: &Path, path: &str, field: &str) -> Result<PathBuf> {
    if path.starts_with("http://") || path.starts_with("https://") {
        return Err(Error::script(
            field,
            format!("{path:?} is a URL; the command line renders local files only (the server fetches assets)"),
        ));
    }
    let p = Path::new(path);
    let full = if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
    if !full.is_file() {
        return Err(Error::asset(field, &full, "no such file"));
    }
    Ok(full)
}

/// The speech of an AUDIO scene: its recording (`audio_drive_file_external_url`: a file, relative to the base
/// folder, or what the server fetched), checked and timed, with the optional `text_config.text` as its
/// subtitle text (see [`crate::recording`]).
fn recorded_speech(shoot: &doppel_script::ShootScript, path: &str, base: &Path) -> Result<recording::Recorded> {
    let field = format!("{path}.audio_drive_file_external_url");
    let Some(src) = shoot.audio_drive_file_external_url.as_deref().filter(|u| !u.trim().is_empty()) else {
        return Err(Error::script(
            format!("{path}.audio_config.audio_id"),
            "doppel has no numeric audio ids: name the recording (a file, a URL or an uploaded asset's id) in \
             audio_drive_file_external_url",
        ));
    };
    let file = resolve_file(base, src, &field)?;
    let rec = recording::read(&file, Some(doppel_script::limits::AUDIO_SCENE_MAX_MS))
        .map_err(|m| Error::asset(&field, &file, m))?;
    let text = match shoot.text().filter(|t| !t.trim().is_empty()) {
        Some(t) => Some(
            doppel_script::parse_text(t)
                .map_err(|e| Error::script(format!("{path}.text_config.text"), e.to_string()))?,
        ),
        None => None,
    };
    rec.speech(text.as_ref())
}

fn load_image(file: &Path, field: &str) -> Result<Pixmap> {
    let img = doppel_media::image::read_image(file).map_err(|e| Error::asset(field, file, e.to_string()))?;
    let mut pm = Pixmap::new(img.width, img.height).ok_or_else(|| Error::asset(field, file, "empty image"))?;
    for (dst, src) in pm.pixels_mut().iter_mut().zip(img.data.chunks_exact(4)) {
        let c = tiny_skia::ColorU8::from_rgba(src[0], src[1], src[2], src[3]);
        *dst = c.premultiply();
    }
    Ok(pm)
}

/// Resolves, speaks and plans a script for an output file (`.mp4` or `.webm`; the extension picks the codec when
/// the script names none). Nothing is written.
pub fn prepare(script: &Script, out: &Path, opts: &RenderOptions<'_>) -> Result<Prepared> {
    let errors = doppel_script::validate(script);
    if let Some(e) = errors.into_iter().next() {
        return Err(Error::script(e.path.clone(), e.kind.to_string()));
    }
    // Avatar.
    let avatar_id = script.model_asset_id.as_deref().filter(|s| !s.is_empty()).unwrap_or("anna");
    let avatar = opts
        .avatars
        .iter()
        .find(|a| a.manifest.id.eq_ignore_ascii_case(avatar_id))
        .or_else(|| doppel_avatar::builtin_by_id(avatar_id))
        .ok_or_else(|| {
            let known: Vec<String> = doppel_avatar::builtin().iter().map(|a| a.manifest.id.clone()).collect();
            Error::script("model_asset_id", format!("unknown avatar {avatar_id:?} (built-in: {})", known.join(", ")))
        })?
        .clone();

    // Output format.
    let video = script.video_config.clone().unwrap_or_default();
    let ext = out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let codec = match (video.codec, ext.as_deref()) {
        (Some(Codec::H264), Some("webm")) | (Some(Codec::Vp8), Some("mp4")) => {
            return Err(Error::script(
                "video_config.codec",
                format!("does not match the output file {}", out.display()),
            ))
        }
        (Some(Codec::Qtrle), _) => {
            return Err(Error::script("video_config.codec", "QTRLE (MOV) output is not supported; use H264 or VP8"))
        }
        (Some(Codec::Vp8), _) | (None, Some("webm")) => VideoCodec::Vp8,
        _ => VideoCodec::H264,
    };

    // Geometry.
    let canvas = avatar.manifest.canvas;
    let geometry = match video.clip_mode_or_default() {
        ClipMode::Resize => {
            let (w, h) = match (video.width, video.height) {
                (Some(w), Some(h)) if w > 0 && h > 0 => (w as u32, h as u32),
                _ => (canvas.width, canvas.height),
            };
            let (lw, lh) = if w >= h { (1920.0, 1080.0) } else { (1080.0, 1920.0) };
            Geometry { out_w: w, out_h: h, layout_w: lw, layout_h: lh, scale: w as f32 / lw, origin: (0.0, 0.0) }
        }
        ClipMode::Crop => {
            let (lw, lh) = (canvas.width as f32, canvas.height as f32);
            let w = video.width.filter(|&w| w > 0).unwrap_or(canvas.width as i64) as u32 & !1;
            let h = video.height.filter(|&h| h > 0).unwrap_or(canvas.height as i64) as u32 & !1;
            let origin = (video.dx.unwrap_or(0) as f32, video.dy.unwrap_or(0) as f32);
            Geometry { out_w: w.max(2), out_h: h.max(2), layout_w: lw, layout_h: lh, scale: 1.0, origin }
        }
    };

    // Voice.
    let voice_cfg = script.voice_config.clone().unwrap_or_default();
    let settings = VoiceSettings {
        speed: voice_cfg.speed_or_default() as u32,
        pitch: voice_cfg.pitch_or_default() as u32,
        volume: voice_cfg.volume_or_default() as u32,
    };
    let plans = script.text_plans().map_err(|e| Error::script(e.path.clone(), e.kind.to_string()))?;
    let first_plan = plans.first().map(|p| p.plan.clone()).unwrap_or_default();
    let voice = voice_cfg
        .voice_asset_id
        .clone()
        .filter(|v| !v.is_empty())
        .or_else(|| avatar.manifest.default_voice.clone().filter(|_| !has_han(&first_plan)))
        .unwrap_or_else(|| doppel_speech::default_voice_for(&first_plan).to_string());
    if !opts.tts.voices().iter().any(|v| v.id.eq_ignore_ascii_case(&voice)) {
        return Err(Error::script(
            "voice_config.voice_asset_id",
            format!("unknown voice {voice:?}; `doppel voices` lists them"),
        ));
    }

    // Scenes, in sequence_no order; everything is resolved before the output file is created.
    let mut items: Vec<(usize, &doppel_script::ShootScriptItem)> = script.shoot_scripts.iter().enumerate().collect();
    items.sort_by_key(|(_, s)| s.sequence_no.unwrap_or(0));
    let mut scenes = Vec::new();
    let mut alpha = false;
    let mut fonts: Option<TextRenderer> = None;
    for (index, item) in items {
        let path = format!("shoot_scripts[{index}].shoot_script");
        let Some(shoot) = &item.shoot_script else { continue };
        let (speech, speaking) = if shoot.script_type_or_default() == ScriptType::Audio {
            let recorded = recorded_speech(shoot, &path, &opts.base_dir)?;
            (recorded.speech, recorded.speaking)
        } else {
            let plan = plans
                .iter()
                .find(|p| p.index == index)
                .map(|p| p.plan.clone())
                .ok_or_else(|| Error::script(format!("{path}.text_config.text"), "missing"))?;
            let speech = opts.tts.synthesize(&voice, &plan, settings)?;
            let words = speech.timeline.words.iter().map(|w| (w.start_ms, w.end_ms)).collect();
            (speech, words)
        };
        let frames = (speech.timeline.duration_ms as u64 * FPS as u64).div_ceil(1000).max(1) as usize;
        let ResolvedLook { look, human, alpha: scene_alpha, videos } =
            resolve_look(shoot, &path, &opts.base_dir, &geometry, &avatar, codec, &mut fonts)?;
        alpha |= scene_alpha;
        // `is_play_the_entire_video`: the scene lasts until its videos have played.
        let entire_ms = videos.iter().filter_map(|v| v.entire_ms).max().unwrap_or(0);
        let frames = frames.max((entire_ms as u64 * FPS as u64).div_ceil(1000) as usize);
        let mut cues = mark_cues(&speech.timeline);
        for (k, a) in shoot.audio_drive_action_config.iter().enumerate() {
            let name = a.action_name.clone().or(a.action_tag.clone()).unwrap_or_default();
            let at = (a.action_start_time.unwrap_or(0.0) * 1000.0) as u32;
            let field = format!("{path}.audio_drive_action_config[{k}]");
            if name.is_empty() {
                return Err(Error::script(field, "needs action_name or action_tag"));
            }
            let known = avatar.manifest.actions.iter().any(|d| {
                d.name.eq_ignore_ascii_case(&name) || d.tag.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(&name))
            });
            if !known {
                let names: Vec<&str> = avatar.manifest.actions.iter().map(|d| d.name.as_str()).collect();
                return Err(Error::script(
                    field,
                    format!("avatar {} has no action {name:?} (it has: {})", avatar.manifest.id, names.join(", ")),
                ));
            }
            cues.push(Cue { at_ms: at, kind: CueKind::Action(name) });
        }
        scenes.push(Scene { path, speech, speaking, frames, look, human, cues, videos });
    }
    if scenes.is_empty() {
        return Err(Error::script("shoot_scripts", "no scene to render"));
    }
    let idle_interval_ms = match script.action_config.as_ref().and_then(|a| a.action_interval) {
        Some(v) if v >= 255.0 => None,
        Some(v) if v > 0.0 => Some((v * 1000.0) as u32),
        _ => Some(4000),
    };

    // Rigs and motions (one rig per distinct avatar scale).
    let mut rigs: Vec<(f32, doppel_avatar::Rig)> = Vec::new();
    let mut plans_motion = Vec::new();
    for s in &scenes {
        let scale = s.human.2 * geometry.scale;
        let rig_index = match rigs.iter().position(|(k, _)| (k - scale).abs() < 1e-4) {
            Some(i) => i,
            None => {
                rigs.push((scale, avatar.rasterize(scale)?));
                rigs.len() - 1
            }
        };
        let rig = &rigs[rig_index].1;
        let mouth = s.speech.timeline.frame_shapes();
        let input =
            MotionInput { duration_ms: s.frames as u32 * 1000 / FPS, mouth: &mouth, words: &s.speaking, cues: &s.cues };
        let mopts = MotionOptions { fps: FPS, idle_interval_ms, seed: opts.seed, ..MotionOptions::default() };
        let motion = Motion::plan(rig, &input, &mopts).map_err(|e| match e {
            doppel_avatar::Error::UnknownAction { .. } => {
                Error::script(format!("{}.text_config.text", s.path), e.to_string())
            }
            other => Error::Avatar(other),
        })?;
        plans_motion.push((rig_index, motion));
    }

    // Music.
    let total_frames: usize = scenes.iter().map(|s| s.frames).sum();
    let mut track = Vec::with_capacity(total_frames * audio::samples_per_frame(FPS) * 2);
    for s in &scenes {
        let mut scene_track = audio::scene_voice(&s.speech.samples, s.speech.sample_rate, s.frames, FPS)?;
        for v in s.videos.iter().filter(|v| v.volume > 0) {
            let scene_ms = s.frames as u32 * 1000 / FPS;
            let sound = VideoLayer::audio(&v.file, v.volume, scene_ms, v.loops, &v.field)?;
            for (a, b) in scene_track.iter_mut().zip(sound) {
                *a = (*a + b).clamp(-1.0, 1.0);
            }
        }
        track.extend(scene_track);
    }
    if let Some(m) = &script.background_music_config {
        if let Some(id) = m.music_asset_id.as_deref().filter(|s| !s.is_empty()) {
            let file = resolve_file(&opts.base_dir, id, "background_music_config.music_asset_id")?;
            let music = doppel_media::decode::decode_audio(&file, audio::RATE, audio::CHANNELS)
                .map_err(|e| Error::asset("background_music_config.music_asset_id", &file, e.to_string()))?;
            audio::mix_music(&mut track, &music, m.volume.unwrap_or(100).clamp(0, 100) as u32);
        }
    }

    // Subtitles: sentence by sentence, timed by the speech; burned in when asked.
    let sub_cfg = video.subtitle_config.clone().unwrap_or_default();
    let sub_style = style_from_config(
        sub_cfg.dx,
        sub_cfg.dy,
        sub_cfg.font_name.as_deref(),
        sub_cfg.font_size,
        sub_cfg.font_color.as_deref(),
        sub_cfg.stroke_color.as_deref(),
        sub_cfg.stroke_thickness,
        sub_cfg.opacity,
        (geometry.out_w as f32 / geometry.scale).round() as u32,
        (geometry.out_h as f32 / geometry.scale).round() as u32,
        geometry.scale,
    );
    // Two lines of the box: a CJK character counts two units, about one em; a latin letter one, about half.
    let max_units = ((sub_style.box_width / sub_style.size_px.max(1.0)) * 2.0 * 2.0) as usize;
    let mut cues: Vec<subtitles::Cue> = Vec::new();
    let mut offset = 0u32;
    for s in &scenes {
        cues.extend(cues_from_timeline(&s.speech.timeline, offset, max_units.max(8)));
        offset += s.frames as u32 * 1000 / FPS;
    }
    let track_subs = if video.is_subtitle_enable.unwrap_or(false) {
        Some(SubtitleTrack::new(fonts.get_or_insert_with(TextRenderer::new), &cues, &sub_style))
    } else {
        None
    };

    // Stages: the static parts of every scene, drawn once.
    let mut prepared_scenes = Vec::new();
    let mut start = 0usize;
    for (s, (rig, motion)) in scenes.into_iter().zip(plans_motion) {
        let stage = Stage::new(&geometry, s.look).ok_or_else(|| Error::script("video_config", "bad size"))?;
        let at = geometry.to_out(s.human.0, s.human.1);
        prepared_scenes.push(PreparedScene {
            start,
            frames: s.frames,
            rig,
            motion,
            stage,
            at,
            timeline: s.speech.timeline,
        });
        start += s.frames;
    }
    Ok(Prepared {
        geometry,
        codec,
        alpha: alpha && codec == VideoCodec::Vp8,
        bitrate_kbps: video.bitrate.map(|b| b.clamp(40, 30_000) as u32),
        scenes: prepared_scenes,
        rigs: rigs.into_iter().map(|(_, r)| r).collect(),
        audio: track,
        subtitle_track: track_subs,
        cues,
        avatar: avatar.manifest.id.clone(),
        voice,
        frames: total_frames,
    })
}

/// The parts of one frame (see [`Prepared::frame_parts`]).
pub(crate) struct FrameParts<'a> {
    pub scene: usize,
    pub stage: &'a Stage,
    pub rig: &'a doppel_avatar::Rig,
    pub state: doppel_avatar::FrameState,
    pub at: (f32, f32),
    pub scene_ms: u32,
    pub subtitle: Option<(&'a Pixmap, i32, i32)>,
}

struct PreparedScene {
    start: usize,
    frames: usize,
    rig: usize,
    motion: Motion,
    stage: Stage,
    at: (f32, f32),
    timeline: doppel_speech::Timeline,
}

/// A script resolved, spoken and planned: every frame can be drawn, and the whole can be encoded.
pub struct Prepared {
    geometry: Geometry,
    codec: VideoCodec,
    alpha: bool,
    bitrate_kbps: Option<u32>,
    scenes: Vec<PreparedScene>,
    rigs: Vec<doppel_avatar::Rig>,
    audio: Vec<f32>,
    subtitle_track: Option<SubtitleTrack>,
    cues: Vec<subtitles::Cue>,
    avatar: String,
    voice: String,
    frames: usize,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("geometry", &self.geometry)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// Number of video frames.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Output width and height.
    pub fn size(&self) -> (u32, u32) {
        (self.geometry.out_w, self.geometry.out_h)
    }

    /// The avatar's id.
    pub fn avatar_id(&self) -> &str {
        &self.avatar
    }

    /// The voice's id.
    pub fn voice_id(&self) -> &str {
        &self.voice
    }

    /// Whether the video carries alpha.
    pub fn alpha(&self) -> bool {
        self.alpha
    }

    /// The soundtrack: interleaved stereo at 48 kHz, exactly as long as the video.
    pub fn audio(&self) -> &[f32] {
        &self.audio
    }

    /// A new canvas of the output size.
    pub fn canvas(&self) -> Pixmap {
        Pixmap::new(self.geometry.out_w.max(1), self.geometry.out_h.max(1)).unwrap_or_else(|| {
            // Sizes are checked when preparing; a 1x1 canvas keeps this infallible.
            Pixmap::new(1, 1).expect("1x1 pixmap")
        })
    }

    /// Draws frame `index` (0-based over the whole video) into `canvas` (premultiplied RGBA, output size).
    pub fn draw_frame(&self, index: usize, canvas: &mut Pixmap) {
        if let Some(f) = self.frame_parts(index) {
            f.stage.frame(canvas, f.scene_ms, f.rig, &f.state, f.at, f.subtitle);
        }
    }

    /// The avatar's state in frame `index` (what its motion planned: pose, eyes, mouth shape, emotion).
    pub fn avatar_state(&self, index: usize) -> Option<doppel_avatar::FrameState> {
        self.frame_parts(index).map(|f| f.state)
    }

    /// Draws frame `index` with the avatar at rest (mouth shape X, eyes open, no emotion, no motion): what a
    /// photo avatar's frames must match outside the parts that move.
    pub fn draw_frame_at_rest(&self, index: usize, canvas: &mut Pixmap) {
        if let Some(f) = self.frame_parts(index) {
            let rest = doppel_avatar::FrameState {
                pose: vec![Default::default(); f.rig.bone_count()],
                emotion_mix: 1.0,
                ..Default::default()
            };
            f.stage.frame(canvas, f.scene_ms, f.rig, &rest, f.at, f.subtitle);
        }
    }

    /// A painter that draws the frames one after the other as patches of what changed (see [`Painter`]).
    pub fn painter(&self) -> Painter<'_> {
        Painter::new(self)
    }

    /// The first scene's stage, its rig and where the avatar stands: what a live stream draws every frame with.
    pub(crate) fn first_scene(&self) -> Option<(&Stage, &doppel_avatar::Rig, (f32, f32))> {
        let scene = self.scenes.first()?;
        Some((&scene.stage, self.rigs.get(scene.rig)?, scene.at))
    }

    /// What frame `index` shows: its scene, the avatar's state and place, and the subtitle.
    pub(crate) fn frame_parts(&self, index: usize) -> Option<FrameParts<'_>> {
        let (scene_index, scene) = self.scenes.iter().enumerate().rev().find(|(_, s)| s.start <= index)?;
        let rig = self.rigs.get(scene.rig)?;
        let local = (index - scene.start).min(scene.frames.saturating_sub(1));
        let t_ms = (index as u64 * 1000 / FPS as u64) as u32;
        Some(FrameParts {
            scene: scene_index,
            stage: &scene.stage,
            rig,
            state: scene.motion.state(local),
            at: scene.at,
            scene_ms: (local as u64 * 1000 / FPS as u64) as u32,
            subtitle: self.subtitle_track.as_ref().and_then(|t| t.frame(t_ms)),
        })
    }

    /// Encodes the whole video to `out`, writing the cover if asked.
    pub fn encode(&self, out: &Path, opts: &mut RenderOptions<'_>) -> Result<RenderReport> {
        let g = &self.geometry;
        let enc_opts = EncodeOptions {
            width: g.out_w,
            height: g.out_h,
            fps: FPS,
            codec: self.codec,
            bitrate_kbps: self.bitrate_kbps,
            alpha: self.alpha,
            x264_preset: opts.x264_preset.clone(),
            audio_rate: Some(audio::RATE),
            audio_channels: audio::CHANNELS,
        };
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        }
        let mut encoder = Encoder::create(out, &enc_opts)?;
        let per_frame = audio::samples_per_frame(FPS) * audio::CHANNELS as usize;
        if let Some(cover) = &opts.cover {
            let mut canvas = self.canvas();
            self.draw_frame(0, &mut canvas);
            write_cover(cover, &canvas)?;
        }
        // Drawing and encoding overlap: a drawing thread paints each frame's changed rectangles and converts them
        // to YUV a few frames ahead, while this thread lays them onto the encoder's frame (which keeps the
        // previous frame) and feeds the encoder. Patches go back to the drawer to be reused.
        std::thread::scope(|scope| -> Result<()> {
            let (frames_tx, frames_rx) = std::sync::mpsc::sync_channel::<Result<Patch>>(3);
            let (free_tx, free_rx) = std::sync::mpsc::channel::<Patch>();
            for _ in 0..4 {
                let _ = free_tx.send(Patch::new());
            }
            scope.spawn(move || {
                let mut painter = self.painter();
                for i in 0..self.frames {
                    let Ok(mut patch) = free_rx.recv() else { return };
                    let painted = painter.paint(i, &mut patch).map(|_| patch);
                    if frames_tx.send(painted).is_err() {
                        return;
                    }
                }
            });
            for i in 0..self.frames {
                if opts.cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed)) {
                    return Err(Error::Canceled);
                }
                let patch = frames_rx.recv().map_err(|_| Error::script("", "the drawing thread stopped"))??;
                patch.apply(encoder.planes());
                let _ = free_tx.send(patch);
                encoder.push_frame()?;
                let a = (i * per_frame).min(self.audio.len());
                encoder.push_audio(&self.audio[a..(a + per_frame).min(self.audio.len())])?;
                if let Some(p) = opts.progress.as_mut() {
                    p(Progress { frame: i as u64 + 1, total_frames: self.frames as u64 });
                }
            }
            Ok(())
        })?;
        encoder.finish()?;
        Ok(RenderReport {
            width: g.out_w,
            height: g.out_h,
            frames: self.frames as u64,
            duration_ms: self.frames as u64 * 1000 / FPS as u64,
            codec: self.codec,
            alpha: self.alpha,
            avatar: self.avatar.clone(),
            voice: self.voice.clone(),
            scenes: self.scenes.iter().map(|s| (s.start as u64 * 1000 / FPS as u64, s.timeline.clone())).collect(),
            subtitles: self.cues.clone(),
        })
    }
}

/// Renders `script` to `out` (`.mp4` or `.webm`): [`prepare`] then [`Prepared::encode`].
pub fn render(script: &Script, out: &Path, opts: &mut RenderOptions<'_>) -> Result<RenderReport> {
    prepare(script, out, opts)?.encode(out, opts)
}

/// The actions and emotions a timeline's marks ask for (from the script's action and emotion tags).
pub(crate) fn mark_cues(timeline: &doppel_speech::Timeline) -> Vec<Cue> {
    timeline
        .marks
        .iter()
        .filter_map(|m| match m.kind {
            MarkKind::Action => {
                Some(Cue { at_ms: m.at_ms, kind: CueKind::Action(m.tag.clone().unwrap_or(m.name.clone())) })
            }
            MarkKind::Emotion => Emotion::from_name(&m.name).map(|e| Cue { at_ms: m.at_ms, kind: CueKind::Emotion(e) }),
            MarkKind::Mark => None,
        })
        .collect()
}

pub(crate) fn has_han(plan: &Plan) -> bool {
    doppel_speech::default_voice_for(plan) == doppel_speech::DEFAULT_ZH_VOICE
}

fn write_cover(path: &Path, canvas: &Pixmap) -> Result<()> {
    let mut rgba = Vec::with_capacity(canvas.data().len());
    for p in canvas.pixels() {
        let c = p.demultiply();
        rgba.extend_from_slice(&[c.red(), c.green(), c.blue(), 255]);
    }
    doppel_media::image::write_jpeg(path, canvas.width(), canvas.height(), &rgba)?;
    Ok(())
}

/// Resolves a scene's background and layers, and where the avatar stands. Returns whether it is transparent.
fn resolve_look(
    shoot: &doppel_script::ShootScript,
    path: &str,
    base: &Path,
    g: &Geometry,
    avatar: &Avatar,
    codec: VideoCodec,
    fonts: &mut Option<TextRenderer>,
) -> Result<ResolvedLook> {
    let canvas = avatar.manifest.canvas;
    let mut alpha = false;
    let background = match shoot.background_config.first() {
        None if codec == VideoCodec::Vp8 => {
            alpha = true;
            Background::Color([0, 0, 0, 0])
        }
        None => Background::Color([255, 255, 255, 255]),
        Some(b) => {
            let bp = format!("{path}.background_config[0]");
            match b.background_type {
                Some(BackgroundType::Color) | None => {
                    let c = b.background_color_config.as_deref().unwrap_or("#FFFFFF");
                    let rgba = parse_hex_color(c).ok_or_else(|| {
                        Error::script(format!("{bp}.background_color_config"), format!("{c:?} is not a colour"))
                    })?;
                    if rgba[3] < 255 {
                        if codec != VideoCodec::Vp8 {
                            return Err(Error::script(
                                format!("{bp}.background_color_config"),
                                "a transparent background needs VP8 (WebM) output; H.264 has no alpha",
                            ));
                        }
                        alpha = true;
                    }
                    Background::Color(rgba)
                }
                Some(BackgroundType::Image) => {
                    let (field, src) = match (&b.background_config, &b.background_asset_id) {
                        (Some(u), _) if !u.is_empty() => (format!("{bp}.background_config"), u.clone()),
                        (_, Some(a)) if !a.is_empty() => (format!("{bp}.background_asset_id"), a.clone()),
                        _ => {
                            return Err(Error::script(
                                bp,
                                "an IMAGE background needs background_config or background_asset_id",
                            ))
                        }
                    };
                    let file = resolve_file(base, &src, &field)?;
                    Background::Image(load_image(&file, &field)?)
                }
            }
        }
    };
    // Default placement: the avatar fits the layout height, centred, standing on the bottom edge.
    let fit = (g.layout_h / canvas.height as f32).min(g.layout_w / canvas.width as f32);
    let mut human = ((g.layout_w - canvas.width as f32 * fit) / 2.0, g.layout_h - canvas.height as f32 * fit, fit);
    if let Some(photo) = &avatar.manifest.photo {
        // A photo covers the frame (as far as the rig's largest scale allows), the face centred across and the
        // picture's top at the top.
        let cover =
            (g.layout_h / canvas.height as f32).max(g.layout_w / canvas.width as f32).min(4.0 / g.scale.max(1e-3));
        let face_x = photo.landmarks.iter().map(|p| p[0]).sum::<f32>() / photo.landmarks.len().max(1) as f32;
        let w = canvas.width as f32 * cover;
        let x = (g.layout_w / 2.0 - face_x * cover).clamp((g.layout_w - w).min(0.0), 0.0f32.max(g.layout_w - w));
        let h = canvas.height as f32 * cover;
        let y = if h >= g.layout_h { 0.0 } else { (g.layout_h - h) / 2.0 };
        human = (if w < g.layout_w { (g.layout_w - w) / 2.0 } else { x }, y, cover);
    }
    let mut human_index = i64::MIN;
    let mut layers: Vec<(i64, usize, Layer)> = Vec::new();
    let mut videos: Vec<VideoSound> = Vec::new();
    for (k, l) in shoot.layer_config.iter().enumerate() {
        let lp = format!("{path}.layer_config[{k}]");
        let pos = l.position.clone().unwrap_or_default();
        let (x, y) = (pos.dx.unwrap_or(0) as f32, pos.dy.unwrap_or(0) as f32);
        let index = pos.layer_index.unwrap_or(100);
        let size = l.size.clone().unwrap_or_default();
        match l.layer_type {
            Some(LayerType::Human) => {
                let (w, h) = (
                    size.width.map_or(canvas.width as f32 * fit, |v| v as f32),
                    size.height.map_or(canvas.height as f32 * fit, |v| v as f32),
                );
                let s = (w / canvas.width as f32).min(h / canvas.height as f32);
                human = (x + (w - canvas.width as f32 * s) / 2.0, y + (h - canvas.height as f32 * s), s);
                human_index = index;
            }
            Some(LayerType::Image) => {
                let src = l
                    .image_config
                    .as_ref()
                    .and_then(|c| c.image_url.clone())
                    .filter(|u| !u.is_empty())
                    .or_else(|| l.asset_id.clone().filter(|a| !a.is_empty()))
                    .ok_or_else(|| Error::script(format!("{lp}.image_config.image_url"), "missing"))?;
                let field = format!("{lp}.image_config.image_url");
                let file = resolve_file(base, &src, &field)?;
                let pm = load_image(&file, &field)?;
                let (w, h) = (
                    size.width.map_or(pm.width() as f32, |v| v as f32),
                    size.height.map_or(pm.height() as f32, |v| v as f32),
                );
                layers.push((index, k, Layer::Still(Placed { pixmap: pm, x, y, w, h })));
            }
            Some(LayerType::Text) => {
                let cfg = l.text_config.clone().unwrap_or_default();
                let text = cfg.decoded_text().ok_or_else(|| {
                    Error::script(format!("{lp}.text_config.text_context"), "not Base64 of UTF-8 text")
                })?;
                let style = TextStyle {
                    font_name: cfg.font_name.clone().unwrap_or_else(|| "HarmonyOS_Sans_SC_Black".into()),
                    size_px: cfg.font_size.unwrap_or(16).clamp(4, 120) as f32 * g.scale,
                    color: cfg.font_color.as_deref().and_then(parse_hex_color).unwrap_or([255, 255, 255, 255]),
                    max_width: size.width.map(|w| w as f32 * g.scale),
                    ..TextStyle::default()
                };
                let renderer = fonts.get_or_insert_with(TextRenderer::new);
                if let Some(pm) = renderer.render(&text, &style) {
                    let (w, h) = (pm.width() as f32 / g.scale, pm.height() as f32 / g.scale);
                    layers.push((index, k, Layer::Still(Placed { pixmap: pm, x, y, w, h })));
                }
            }
            Some(LayerType::Video) => {
                let cfg = l.video_config.clone().unwrap_or_default();
                let field = format!("{lp}.video_config.video_url");
                let src = cfg
                    .video_url
                    .clone()
                    .filter(|u| !u.is_empty())
                    .or_else(|| l.asset_id.clone().filter(|a| !a.is_empty()))
                    .ok_or_else(|| Error::script(field.clone(), "missing"))?;
                let file = resolve_file(base, &src, &field)?;
                let (w, h) = match (size.width, size.height) {
                    (Some(w), Some(h)) => (w as f32, h as f32),
                    _ => {
                        let info =
                            doppel_media::probe(&file).map_err(|e| Error::asset(&field, &file, e.to_string()))?;
                        let v = info
                            .stream(doppel_media::StreamKind::Video)
                            .ok_or_else(|| Error::asset(&field, &file, "no video stream"))?;
                        (v.width as f32, v.height as f32)
                    }
                };
                let loops = cfg.loop_count.unwrap_or(-1);
                let layer = VideoLayer::open(
                    &file,
                    ((w * g.scale).round() as u32).max(1),
                    ((h * g.scale).round() as u32).max(1),
                    loops,
                    &field,
                )?;
                let volume = cfg.video_sound.unwrap_or(0).clamp(0, 100) as u32;
                let entire = cfg.is_play_the_entire_video.unwrap_or(false);
                videos.push(VideoSound {
                    file: file.clone(),
                    field,
                    volume,
                    loops,
                    entire_ms: entire.then(|| layer.play_ms()).flatten(),
                });
                layers.push((index, k, Layer::Video(PlacedVideo { layer, x, y })));
            }
            None => return Err(Error::script(format!("{lp}.layer_type"), "missing")),
        }
    }
    layers.sort_by_key(|(i, k, _)| (*i, *k));
    let mut below = Vec::new();
    let mut above = Vec::new();
    // Higher layer_index draws on top. With no HUMAN layer the avatar stands on the background, under every layer.
    for (i, _, p) in layers {
        if human_index != i64::MIN && i < human_index {
            below.push(p);
        } else {
            above.push(p);
        }
    }
    Ok(ResolvedLook { look: SceneLook { background, below, above }, human, alpha, videos })
}

/// A scene's look, where the avatar stands (top-left in layout px and scale), whether it is transparent, and the
/// sound of its video layers.
struct ResolvedLook {
    look: SceneLook,
    human: (f32, f32, f32),
    alpha: bool,
    videos: Vec<VideoSound>,
}

/// The sound of a VIDEO layer, and how long the scene must last to play it entirely.
#[derive(Debug, Clone)]
struct VideoSound {
    file: PathBuf,
    field: String,
    volume: u32,
    loops: i64,
    entire_ms: Option<u32>,
}
