//! Every documented limit and default of the script format, in one place, so validation, later code and docs
//! use the same numbers.
//!
//! Ranges are inclusive. String lengths are counted in characters (Unicode scalar values), not bytes, as the
//! vendor's "字符长度" ("character length") means. Sources: the MetaStudio field tables (seed 003) and the SDK
//! field tree (`hw_create2d.txt`); where a limit is doppel's own choice, its doc comment says so.

use std::fmt;

/// An inclusive range of integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntRange {
    pub min: i64,
    pub max: i64,
}

impl IntRange {
    /// `min..=max`.
    pub const fn new(min: i64, max: i64) -> Self {
        IntRange { min, max }
    }

    /// Whether `v` lies in the range.
    pub const fn contains(&self, v: i64) -> bool {
        self.min <= v && v <= self.max
    }
}

impl fmt::Display for IntRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", self.min, self.max)
    }
}

/// An inclusive range of real numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloatRange {
    pub min: f64,
    pub max: f64,
}

impl FloatRange {
    /// `min..=max`.
    pub const fn new(min: f64, max: f64) -> Self {
        FloatRange { min, max }
    }

    /// Whether `v` lies in the range (NaN never does).
    pub fn contains(&self, v: f64) -> bool {
        self.min <= v && v <= self.max
    }
}

impl fmt::Display for FloatRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", self.min, self.max)
    }
}

/// An inclusive range of string lengths, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LenRange {
    pub min: usize,
    pub max: usize,
}

impl LenRange {
    /// `min..=max` characters.
    pub const fn new(min: usize, max: usize) -> Self {
        LenRange { min, max }
    }
}

// ---- voice_config -------------------------------------------------------------------------------------------

/// `voice_config.voice_asset_id`: 1–256 characters.
pub const VOICE_ASSET_ID_LEN: LenRange = LenRange::new(1, 256);
/// `voice_config.speed`: 50 = half speed, 100 = normal, 200 = double.
pub const VOICE_SPEED: IntRange = IntRange::new(50, 200);
/// `voice_config.pitch`.
pub const VOICE_PITCH: IntRange = IntRange::new(50, 200);
/// `voice_config.volume`.
pub const VOICE_VOLUME: IntRange = IntRange::new(90, 240);
/// Default `voice_config.speed`.
pub const DEFAULT_VOICE_SPEED: i64 = 100;
/// Default `voice_config.pitch`.
pub const DEFAULT_VOICE_PITCH: i64 = 100;
/// Default `voice_config.volume`.
pub const DEFAULT_VOICE_VOLUME: i64 = 140;

// ---- video_config -------------------------------------------------------------------------------------------

/// `video_config.bitrate`, kbit/s.
pub const VIDEO_BITRATE: IntRange = IntRange::new(40, 30_000);
/// `video_config.width`, pixels.
pub const VIDEO_WIDTH: IntRange = IntRange::new(0, 3840);
/// `video_config.height`, pixels.
pub const VIDEO_HEIGHT: IntRange = IntRange::new(0, 3840);
/// The `(width, height)` pairs allowed with `clip_mode` RESIZE. 4K needs a 4K avatar model.
pub const RESIZE_RESOLUTIONS: [(i64, i64); 6] =
    [(1920, 1080), (1080, 1920), (1280, 720), (720, 1280), (3840, 2160), (2160, 3840)];
/// `video_config.dx` / `dy`: the crop origin (used with `clip_mode` CROP).
pub const VIDEO_CROP_OFFSET: IntRange = IntRange::new(-1920, 3840);
/// The only frame rate a 2D avatar video has; `video_config.frame_rate` must be this when given.
pub const FRAME_RATE: i64 = 25;
/// `video_config.subtitle_config.dx`, `dy`, `h`, `w`, pixels.
pub const SUBTITLE_BOX: IntRange = IntRange::new(0, 1920);
/// `video_config.subtitle_config.font_size`. The vendor's interface accepts 0–120, but documents 4–120 as the
/// range actually usable; doppel enforces 4–120.
pub const SUBTITLE_FONT_SIZE: IntRange = IntRange::new(4, 120);
/// Default subtitle font size.
pub const DEFAULT_SUBTITLE_FONT_SIZE: i64 = 54;
/// Font names (`subtitle_config.font_name`, text layer `font_name`): 0–64 characters.
pub const FONT_NAME_LEN: LenRange = LenRange::new(0, 64);
/// Default font for subtitles and text layers.
pub const DEFAULT_FONT_NAME: &str = "HarmonyOS_Sans_SC_Black";
/// Colour strings (`font_color`, `stroke_color`, `background_color_config`): 0–16 characters, and when not
/// empty, `#RRGGBB`.
pub const COLOR_LEN: LenRange = LenRange::new(0, 16);
/// `video_config.subtitle_config.stroke_thickness`, pixels.
pub const SUBTITLE_STROKE_THICKNESS: FloatRange = FloatRange::new(0.0, 50.0);
/// `video_config.subtitle_config.opacity`: 0 = transparent, 1 = opaque.
pub const SUBTITLE_OPACITY: FloatRange = FloatRange::new(0.0, 1.0);
/// The QTRLE codec (allow-listed at the vendor) is limited to "fewer than 1500 characters" of text: doppel
/// counts the characters excluding SSML tags of all TEXT shoot scripts together.
pub const QTRLE_MAX_PLAIN_CHARS: usize = 1499;

// ---- shoot_scripts ------------------------------------------------------------------------------------------

/// At most this many `shoot_scripts` items. The vendor documents no maximum; this is doppel's own bound.
pub const MAX_SHOOT_SCRIPTS: usize = 100;
/// `shoot_scripts[].sequence_no` (also used for `layer_config[].sequence_no`).
pub const SEQUENCE_NO: IntRange = IntRange::new(0, 2_147_483_647);
/// Times in seconds: `start_time`, `end_time`, `audio_duration`, `action_start_time` (30 days).
pub const SCRIPT_TIME: FloatRange = FloatRange::new(0.0, 2_592_000.0);
/// `text_config.text`, raw length including SSML tags.
pub const TEXT_MAX_CHARS: usize = 131_072;
/// `text_config.text`, characters excluding SSML tags (the display text of the parsed plan).
pub const TEXT_MAX_PLAIN_CHARS: usize = 10_000;
/// The longest recording an AUDIO scene may have, in milliseconds (10 minutes). The vendor documents none; this
/// is doppel's own bound (a scene's frames and audio are held in memory while it renders).
pub const AUDIO_SCENE_MAX_MS: u64 = 600_000;
/// URLs: `background_config`, `image_url`, `video_url`, `video_cover_url`, `callback_url`,
/// `audio_drive_file_external_url` (a URL or, on doppel's server, an asset id): 1–2048 characters.
pub const URL_LEN: LenRange = LenRange::new(1, 2048);
/// Asset and group ids (`background_asset_id`, layer `asset_id`, `group_id`, `music_asset_id`): 0–64 characters.
pub const ASSET_ID_LEN: LenRange = LenRange::new(0, 64);
/// `background_config[].human_position_2d.position_x` / `position_y`, pixels.
pub const HUMAN_POSITION: IntRange = IntRange::new(-1920, 3840);
/// `background_config[].human_size_2d.width` / `height`, pixels.
pub const HUMAN_SIZE: IntRange = IntRange::new(1, 7680);
/// `layer_config[].position.dx` / `dy`, pixels on the 1920x1080 (or 1080x1920) canvas.
pub const LAYER_POSITION: IntRange = IntRange::new(-1920, 3840);
/// `layer_config[].position.layer_index`: 1 is the bottom layer.
pub const LAYER_INDEX: IntRange = IntRange::new(1, 100);
/// Default `layer_index`.
pub const DEFAULT_LAYER_INDEX: i64 = 100;
/// `layer_config[].size.width` / `height`, pixels.
pub const LAYER_SIZE: IntRange = IntRange::new(1, 7680);
/// `layer_config[].rotation.angle`, degrees.
pub const LAYER_ROTATION: IntRange = IntRange::new(0, 360);
/// `layer_config[].video_config.loop_count`: -1 = loop forever, 0 = do not play.
pub const LAYER_LOOP_COUNT: IntRange = IntRange::new(-1, 100);
/// Default `loop_count`.
pub const DEFAULT_LOOP_COUNT: i64 = -1;
/// `layer_config[].video_config.video_sound`: volume in percent, 0 = muted (the default).
pub const LAYER_VIDEO_SOUND: IntRange = IntRange::new(0, 100);
/// `layer_config[].text_config.text_context` (Base64): 0–1024 characters.
pub const TEXT_LAYER_CONTEXT_LEN: LenRange = LenRange::new(0, 1024);
/// `layer_config[].text_config.font_size`: the usable range (the interface nominally accepts 0–120).
pub const TEXT_LAYER_FONT_SIZE: IntRange = IntRange::new(4, 120);
/// Default text layer font size.
pub const DEFAULT_TEXT_LAYER_FONT_SIZE: i64 = 16;
/// Default text layer and background colour.
pub const DEFAULT_COLOR: &str = "#FFFFFF";

// ---- the rest of the request --------------------------------------------------------------------------------

/// `background_music_config.volume`, percent.
pub const MUSIC_VOLUME: IntRange = IntRange::new(0, 100);
/// Default music volume.
pub const DEFAULT_MUSIC_VOLUME: i64 = 100;
/// `output_asset_config.asset_name`: 0–256 characters (the SDK documents 256; names of stored files are cut at
/// 240).
pub const ASSET_NAME_LEN: LenRange = LenRange::new(0, 256);
/// `action_config.action_interval`, seconds: 0 = the default interval, 255 = no automatic actions.
pub const ACTION_INTERVAL: FloatRange = FloatRange::new(0.0, 255.0);
/// The interval used when `action_interval` is 0 or absent, seconds.
pub const DEFAULT_ACTION_INTERVAL_S: f64 = 4.0;
/// The `action_interval` value that turns automatic non-semantic actions off.
pub const ACTION_INTERVAL_NONE: f64 = 255.0;

// ---- SSML ---------------------------------------------------------------------------------------------------

/// The longest `<break>`, milliseconds.
pub const BREAK_MAX_MS: u32 = 10_000;
/// Deepest element nesting the SSML parser accepts (doppel's own bound, `<speak>` counts).
pub const SSML_MAX_DEPTH: usize = 64;
/// `<prosody rate>` multiplier in force, nested elements multiplied together.
pub const PROSODY_RATE: FloatRange = FloatRange::new(0.5, 2.0);
/// `<prosody pitch>` multiplier in force.
pub const PROSODY_PITCH: FloatRange = FloatRange::new(0.5, 2.0);
/// `<prosody volume>` multiplier in force.
pub const PROSODY_VOLUME: FloatRange = FloatRange::new(0.0, 2.0);
