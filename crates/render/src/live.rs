//! Live scenes: the same avatars, voices, lip-sync and compositing as a video file, cut into takes a live
//! stream plays one after another on a clock.
//!
//! A [`LiveScene`] is resolved once when a stream starts (avatar rasterized at the output scale, background
//! drawn, voice checked, through [`crate::prepare`] on a one-line script); then every drive becomes a
//! [`Segment`] (speech or a recording with its motion and soundtrack) in milliseconds, and silence becomes idle
//! segments (blinks, breathing, the avatar's idle gestures). Breathing and the head's slow sway follow the
//! stream's clock ([`doppel_avatar::motion::Motion::state_at`]), so joins between segments do not jump.

use std::path::{Path, PathBuf};

use doppel_avatar::motion::{Cue, CueKind, Motion, MotionInput, MotionOptions};
use doppel_avatar::{Avatar, FrameState, Shape};
use doppel_media::Planes;
use doppel_speech::{Speech, Tts, VoiceSettings};
use tiny_skia::Pixmap;

use crate::job::{has_han, mark_cues};
use crate::recording::Recording;
use crate::{audio, Error, Prepared, RenderOptions, Result, FPS};

/// Samples per channel of one frame of a segment's soundtrack (48 kHz at 25 fps).
pub const SAMPLES_PER_FRAME: usize = 1920;

/// The background of a live stream.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveBackground {
    /// `#RRGGBB` (or `#AARRGGBB`, whose alpha is ignored: live video is opaque).
    Color(String),
    /// An image file.
    Image(PathBuf),
}

/// What a live stream shows.
#[derive(Debug, Clone)]
pub struct LiveSpec {
    /// Avatar id (built-in or one of `avatars`).
    pub avatar: String,
    /// Voice id; `None` for the avatar's default voice.
    pub voice: Option<String>,
    pub width: u32,
    pub height: u32,
    pub background: LiveBackground,
    /// Extra avatar packages (uploaded and photo avatars).
    pub avatars: Vec<Avatar>,
    /// Seed of blinks and idle gestures.
    pub seed: u64,
}

/// A stretch of a live stream: motion, and exactly `frames` frames of 48 kHz stereo sound.
#[derive(Debug, Clone)]
pub struct Segment {
    pub motion: Motion,
    /// Interleaved stereo at 48 kHz, [`SAMPLES_PER_FRAME`] × 2 per frame.
    pub audio: Vec<f32>,
    pub frames: usize,
    /// Whether the avatar speaks in it (a drive), as opposed to idling.
    pub speaking: bool,
}

impl Segment {
    /// The sound of frame `i` (silence past the end).
    pub fn frame_audio(&self, i: usize) -> &[f32] {
        let n = SAMPLES_PER_FRAME * 2;
        self.audio.get(i * n..(i + 1) * n).unwrap_or(&[])
    }
}

/// A stream's resolved look and voice.
pub struct LiveScene {
    prepared: Prepared,
    voice: String,
    actions: Vec<String>,
    seed: u64,
}

impl std::fmt::Debug for LiveScene {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveScene").field("size", &self.prepared.size()).field("voice", &self.voice).finish()
    }
}

impl LiveScene {
    /// Resolves the avatar, voice, size and background. Errors name the field (`model_asset_id`,
    /// `voice_config.voice_asset_id`, `background` …) like a file render's.
    pub fn new(spec: &LiveSpec, tts: &dyn Tts) -> Result<LiveScene> {
        if spec.width < 2 || spec.height < 2 || spec.width > 4096 || spec.height > 4096 {
            return Err(Error::script("video_config", format!("size {}x{} is out of range", spec.width, spec.height)));
        }
        let background = match &spec.background {
            LiveBackground::Color(c) => {
                let rgba = crate::subtitles::parse_hex_color(c)
                    .ok_or_else(|| Error::script("background", format!("{c:?} is not a colour (#RRGGBB)")))?;
                let opaque = format!("#{:02X}{:02X}{:02X}", rgba[0], rgba[1], rgba[2]);
                serde_json::json!({"background_type": "COLOR", "background_color_config": opaque})
            }
            LiveBackground::Image(p) => {
                serde_json::json!({"background_type": "IMAGE", "background_config": p.display().to_string()})
            }
        };
        let script = serde_json::json!({
            "model_asset_id": spec.avatar,
            "voice_config": {"voice_asset_id": spec.voice},
            "video_config": {"width": spec.width & !1, "height": spec.height & !1, "codec": "H264"},
            "shoot_scripts": [{"sequence_no": 0, "shoot_script": {
                "script_type": "TEXT", "text_config": {"text": "Hello."}, "background_config": [background]}}],
        });
        let script: doppel_script::Script =
            serde_json::from_value(script).map_err(|e| Error::script("", format!("live scene: {e}")))?;
        let mut opts = RenderOptions::new(tts);
        opts.avatars = spec.avatars.clone();
        opts.seed = spec.seed;
        opts.base_dir = PathBuf::from("/");
        let prepared = crate::prepare(&script, Path::new("live.mp4"), &opts)?;
        let avatar_id = prepared.avatar_id().to_string();
        let avatar = spec
            .avatars
            .iter()
            .find(|a| a.manifest.id.eq_ignore_ascii_case(&avatar_id))
            .or_else(|| doppel_avatar::builtin_by_id(&avatar_id));
        let actions = avatar.map(|a| a.manifest.actions.iter().map(|d| d.name.clone()).collect()).unwrap_or_default();
        Ok(LiveScene { voice: prepared.voice_id().to_string(), prepared, actions, seed: spec.seed })
    }

    /// Output width and height.
    pub fn size(&self) -> (u32, u32) {
        self.prepared.size()
    }

    /// The stream's voice.
    pub fn voice(&self) -> &str {
        &self.voice
    }

    /// The avatar's action names.
    pub fn actions(&self) -> &[String] {
        &self.actions
    }

    fn rig(&self) -> Result<&doppel_avatar::Rig> {
        self.prepared.first_scene().map(|(_, r, _)| r).ok_or_else(|| Error::script("", "live scene has no stage"))
    }

    fn segment(
        &self,
        mouth: &[Shape],
        words: &[(u32, u32)],
        cues: &[Cue],
        pcm: Option<(&[i16], u32)>,
        seed: u64,
    ) -> Result<Segment> {
        let frames = mouth.len().max(1);
        let input = MotionInput { duration_ms: (frames as u64 * 1000 / FPS as u64) as u32, mouth, words, cues };
        let mopts = MotionOptions { fps: FPS, seed, ..MotionOptions::default() };
        let motion = Motion::plan(self.rig()?, &input, &mopts)?;
        let audio = match pcm {
            Some((samples, rate)) => audio::scene_voice(samples, rate, frames, FPS)?,
            None => vec![0.0; frames * SAMPLES_PER_FRAME * 2],
        };
        Ok(Segment { motion, audio, frames, speaking: pcm.is_some() })
    }

    /// Speech as a segment: its mouth shapes, the actions and emotions of its marks, its sound.
    pub fn speech_segment(&self, speech: &Speech, speaking: &[(u32, u32)], seed: u64) -> Result<Segment> {
        let mouth = speech.timeline.frame_shapes();
        let cues = mark_cues(&speech.timeline);
        self.segment(&mouth, speaking, &cues, Some((&speech.samples, speech.sample_rate)), seed)
    }

    /// Says `text` (plain text or doppel's SSML with action and emotion tags) with `voice` (the stream's when
    /// `None`). Errors name `text` or `voice`.
    pub fn say(
        &self,
        tts: &dyn Tts,
        voice: Option<&str>,
        text: &str,
        settings: VoiceSettings,
        seed: u64,
    ) -> Result<Segment> {
        let plan = doppel_script::parse_text(text).map_err(|e| Error::script("text", e.to_string()))?;
        if plan.display_text().trim().is_empty() && plan.items.is_empty() {
            return Err(Error::script("text", "is empty"));
        }
        let voice = voice.filter(|v| !v.is_empty()).unwrap_or(if has_han(&plan) && !self.voice.starts_with("zh") {
            doppel_speech::DEFAULT_ZH_VOICE
        } else {
            &self.voice
        });
        settings.validate()?;
        let speech = tts.synthesize(voice, &plan, settings)?;
        let words: Vec<(u32, u32)> = speech.timeline.words.iter().map(|w| (w.start_ms, w.end_ms)).collect();
        self.speech_segment(&speech, &words, seed)
    }

    /// A recording (mono at [`crate::recording::RATE`]) as a segment: its mouth shapes come from the sound.
    pub fn recorded(&self, recording: &Recording, seed: u64) -> Result<Segment> {
        let recorded = recording.speech(None)?;
        self.speech_segment(&recorded.speech, &recorded.speaking, seed)
    }

    /// `ms` of idling: blinks and breathing, and one of the avatar's idle gestures now and then.
    pub fn idle(&self, ms: u32, seed: u64) -> Segment {
        let frames = ((ms as u64 * FPS as u64).div_ceil(1000) as usize).max(1);
        let mouth = vec![Shape::X; frames];
        let idles: Vec<&String> = self.actions.iter().filter(|a| a.starts_with("idle")).collect();
        let mut cues = Vec::new();
        if !idles.is_empty() {
            let mut rng = doppel_lipsync::Rng(seed ^ self.seed ^ 0x1D1E);
            let mut t = rng.range(3000.0, 7000.0) as u32;
            while t + 3000 < ms {
                let pick = idles[(rng.next() % idles.len() as u64) as usize];
                cues.push(Cue { at_ms: t, kind: CueKind::Action(pick.clone()) });
                t += rng.range(7000.0, 12_000.0) as u32;
            }
        }
        self.segment(&mouth, &[], &cues, None, seed).unwrap_or_else(|_| {
            // Idle actions come from the avatar itself; without them the plan cannot fail.
            let motion = Motion::plan(
                self.rig().expect("a live scene has a rig"),
                &MotionInput { duration_ms: ms, mouth: &mouth, words: &[], cues: &[] },
                &MotionOptions::default(),
            )
            .expect("a motion without cues");
            Segment { motion, audio: vec![0.0; frames * SAMPLES_PER_FRAME * 2], frames, speaking: false }
        })
    }

    /// Starts action `name` (or an action tag) `at_ms` into `segment`. Errors name the avatar's actions.
    pub fn add_action(&self, segment: &mut Segment, name: &str, at_ms: u32) -> Result<()> {
        segment.motion.add_action(self.rig()?, name, at_ms).map_err(|e| Error::script("action", e.to_string()))
    }

    /// Where the mouth moves in the output, `(x, y, width, height)` in pixels: the pixels that differ between
    /// the avatar at rest and with its mouth open (D), with a margin for head motion. Clients use it to
    /// place overlays; tests measure speech there.
    pub fn mouth_box(&self) -> Option<(u32, u32, u32, u32)> {
        let rig = self.rig().ok()?;
        let rest =
            FrameState { pose: vec![Default::default(); rig.bone_count()], emotion_mix: 1.0, ..Default::default() };
        let open = FrameState { mouth: doppel_avatar::MouthShape(Shape::D), ..rest.clone() };
        let (mut a, mut b) = (self.canvas(), self.canvas());
        self.draw(&rest, &mut a);
        self.draw(&open, &mut b);
        let (w, h) = (a.width(), a.height());
        let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
        // A visible difference: a photo's warp also moves the rest of the face by fractions of a pixel.
        let differs = |p: &tiny_skia::PremultipliedColorU8, q: &tiny_skia::PremultipliedColorU8| {
            let d = |x: u8, y: u8| (x as i32 - y as i32).abs();
            d(p.red(), q.red()) + d(p.green(), q.green()) + d(p.blue(), q.blue()) > 48
        };
        for (i, (p, q)) in a.pixels().iter().zip(b.pixels()).enumerate() {
            if differs(p, q) {
                let (x, y) = (i as u32 % w, i as u32 / w);
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
        if x0 > x1 {
            return None;
        }
        let m = ((x1 - x0).max(y1 - y0) / 4).max(4);
        let (x0, y0) = (x0.saturating_sub(m), y0.saturating_sub(m));
        let (x1, y1) = ((x1 + m).min(w - 1), (y1 + m).min(h - 1));
        Some((x0, y0, x1 - x0 + 1, y1 - y0 + 1))
    }

    /// A canvas of the output size.
    pub fn canvas(&self) -> Pixmap {
        self.prepared.canvas()
    }

    /// The avatar's state in frame `i` of `segment`, at `clock_ms` of the stream.
    pub fn state(&self, segment: &Segment, i: usize, clock_ms: u32) -> FrameState {
        segment.motion.state_at(i.min(segment.frames.saturating_sub(1)), clock_ms)
    }

    /// Draws `state` into `canvas`.
    pub fn draw(&self, state: &FrameState, canvas: &mut Pixmap) {
        if let Some((stage, rig, at)) = self.prepared.first_scene() {
            stage.frame(canvas, 0, rig, state, at, None);
        }
    }
}

/// A YUV 4:2:0 picture (BT.709, limited range) in memory: a live frame converted once and copied into every
/// encoder that needs it.
#[derive(Debug, Clone)]
pub struct Yuv420 {
    pub width: u32,
    pub height: u32,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
    scratch: Vec<u8>,
}

impl Yuv420 {
    /// A black picture.
    pub fn new(width: u32, height: u32) -> Yuv420 {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        Yuv420 { width, height, y: vec![16; w * h], u: vec![128; cw * ch], v: vec![128; cw * ch], scratch: Vec::new() }
    }

    /// Converts an opaque canvas of this size.
    pub fn convert(&mut self, canvas: &Pixmap) -> Result<()> {
        let cw = (self.width as usize).div_ceil(2);
        let planes =
            Planes { y: (&mut self.y, self.width as usize), u: (&mut self.u, cw), v: (&mut self.v, cw), a: None };
        crate::yuv::convert(canvas.data(), self.width, self.height, planes, &mut self.scratch)
    }

    /// Copies the picture into an encoder's planes.
    pub fn copy_to(&self, planes: Planes<'_>) {
        let (w, h) = (self.width as usize, self.height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        for (src, (dst, stride), rw, rows) in
            [(&self.y, planes.y, w, h), (&self.u, planes.u, cw, ch), (&self.v, planes.v, cw, ch)]
        {
            for r in 0..rows {
                dst[r * stride..r * stride + rw].copy_from_slice(&src[r * rw..(r + 1) * rw]);
            }
        }
    }

    /// The mean luma of a rectangle (a test's measure of what changed).
    pub fn mean_luma(&self, x: u32, y: u32, w: u32, h: u32) -> f64 {
        let mut sum = 0u64;
        let mut n = 0u64;
        for r in y..(y + h).min(self.height) {
            for c in x..(x + w).min(self.width) {
                sum += self.y[(r * self.width + c) as usize] as u64;
                n += 1;
            }
        }
        sum as f64 / n.max(1) as f64
    }
}
