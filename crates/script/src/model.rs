//! The script model: MetaStudio's "create 2D digital human video" request body as typed Rust, and the
//! entry points that parse and validate it.
//!
//! Every field of the vendor's field tree is here with its wire name. Fields are optional: a missing field is
//! `None` (or an empty list), and re-serializing a script writes back only what was given. Documented defaults
//! are available through `*_or_default()` accessors and the constants in [`crate::limits`]. Unknown fields are
//! accepted and ignored.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::limits;
use crate::plan::{self, Plan};
use crate::ssml::{self, SsmlError};
use crate::validate::{self, decode_base64};
use crate::Result;

/// Parses and validates a request body. Returns the first problem found: JSON syntax, then types (with the
/// JSON path), then the documented limits (see [`validate()`](crate::validate())).
pub fn parse_script(json: &str) -> Result<Script> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| Error::from_json_syntax(&e))?;
    parse_script_value(value)
}

/// [`parse_script`] for a body already parsed as JSON.
pub fn parse_script_value(value: serde_json::Value) -> Result<Script> {
    let script: Script =
        serde_path_to_error::deserialize(value).map(|de::Obj(s)| s).map_err(Error::from_deserialize)?;
    match validate::validate(&script).into_iter().next() {
        Some(e) => Err(e),
        None => Ok(script),
    }
}

/// Defines a string enum with exact wire names, `as_str`, `NAMES`, `Display`, and serde impls whose error for
/// an unknown value names the allowed ones.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            /// The wire names, in the order of [`Self::ALL`].
            pub const NAMES: &'static [&'static str] = &[$($wire,)+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// The value with this exact wire name.
            pub fn from_wire(s: &str) -> Option<Self> {
                match s {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "one of {}", $name::NAMES.join(", "))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<$name, E> {
                        $name::from_wire(v).ok_or_else(|| E::unknown_variant(v, $name::NAMES))
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

wire_enum! {
    /// `shoot_script.script_type`: how the scene is driven. Default [`ScriptType::Text`].
    #[derive(Default)]
    ScriptType {
        /// Text spoken by TTS (`text_config.text`).
        #[default]
        Text = "TEXT",
        /// Recorded audio (`audio_drive_file_external_url` or `audio_config`).
        Audio = "AUDIO",
    }
}

wire_enum! {
    /// `video_config.clip_mode`. Default [`ClipMode::Resize`].
    #[derive(Default)]
    ClipMode {
        /// Scale to one of [`limits::RESIZE_RESOLUTIONS`].
        #[default]
        Resize = "RESIZE",
        /// Crop `width`x`height` at (`dx`, `dy`).
        Crop = "CROP",
    }
}

wire_enum! {
    /// `video_config.codec`. Default [`Codec::H264`].
    #[derive(Default)]
    Codec {
        /// H.264 in MP4.
        #[default]
        H264 = "H264",
        /// VP8 in WebM (with alpha).
        Vp8 = "VP8",
        /// QuickTime RLE in MOV (with alpha; text limited to [`limits::QTRLE_MAX_PLAIN_CHARS`]).
        Qtrle = "QTRLE",
    }
}

wire_enum! {
    /// `background_config[].background_type`.
    BackgroundType {
        /// An image (`background_config` URL or `background_asset_id`).
        Image = "IMAGE",
        /// A solid colour (`background_color_config`).
        Color = "COLOR",
    }
}

wire_enum! {
    /// `layer_config[].layer_type`.
    LayerType {
        /// The avatar.
        Human = "HUMAN",
        /// An image (`image_config`).
        Image = "IMAGE",
        /// A video (`video_config`).
        Video = "VIDEO",
        /// Text (`text_config`).
        Text = "TEXT",
    }
}

wire_enum! {
    /// `emotion_config[].emotion` (deprecated by the vendor in favour of `<emotion>` in the text). Default HAPPY.
    #[derive(Default)]
    EmotionType {
        #[default]
        Happy = "HAPPY",
        Sad = "SAD",
        Calm = "CALM",
        Anger = "ANGER",
    }
}

wire_enum! {
    /// `callback_config.auth_type`.
    AuthType {
        /// The URL carries its own authentication.
        None = "NONE",
        /// HMAC-SHA256: `secret` and `time_stamp` are appended to the URL, signed with `key`.
        MssA = "MSS_A",
    }
}

wire_enum! {
    /// `human_position_2d.position` (deprecated by the vendor). Default MIDDLE.
    #[derive(Default)]
    HumanPosition {
        Left = "LEFT",
        #[default]
        Middle = "MIDDLE",
        Right = "RIGHT",
    }
}

wire_enum! {
    /// `subtitle_file_info.*.subtitle_file_state`.
    SubtitleFileState {
        Generating = "GENERATING",
        GenerateSucceed = "GENERATE_SUCCEED",
        GenerateFailed = "GENERATE_FAILED",
    }
}

impl EmotionType {
    /// The plan's emotion for this value.
    pub fn to_plan(self) -> plan::Emotion {
        match self {
            EmotionType::Happy => plan::Emotion::Happy,
            EmotionType::Sad => plan::Emotion::Sad,
            EmotionType::Calm => plan::Emotion::Calm,
            EmotionType::Anger => plan::Emotion::Anger,
        }
    }
}

/// The request body of `POST /v1/{project_id}/2d-digital-human-videos`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct Script {
    /// A stored script to start from; when given, `shoot_scripts` (and the other configs) may be left out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_id: Option<String>,
    /// The avatar model asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_asset_id: Option<String>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub voice_config: Option<VoiceConfig>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub video_config: Option<VideoConfig>,
    /// The scenes, spoken in `sequence_no` order.
    #[serde(deserialize_with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub shoot_scripts: Vec<ShootScriptItem>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub output_asset_config: Option<OutputAssetConfig>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub background_music_config: Option<BackgroundMusicConfig>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub review_config: Option<ReviewConfig>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub callback_config: Option<CallbackConfig>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub action_config: Option<ActionConfig>,
}

/// `voice_config`: the TTS voice and its base settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct VoiceConfig {
    /// Voice asset id, 1–256 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice_asset_id: Option<String>,
    /// 50–200, 100 = normal speed (about 150 words or 250 Chinese characters a minute).
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub speed: Option<i64>,
    /// 50–200, default 100.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub pitch: Option<i64>,
    /// 90–240, default 140.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub volume: Option<i64>,
}

impl VoiceConfig {
    /// `speed`, or 100.
    pub fn speed_or_default(&self) -> i64 {
        self.speed.unwrap_or(limits::DEFAULT_VOICE_SPEED)
    }

    /// `pitch`, or 100.
    pub fn pitch_or_default(&self) -> i64 {
        self.pitch.unwrap_or(limits::DEFAULT_VOICE_PITCH)
    }

    /// `volume`, or 140.
    pub fn volume_or_default(&self) -> i64 {
        self.volume.unwrap_or(limits::DEFAULT_VOICE_VOLUME)
    }
}

/// `video_config`: output video settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct VideoConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_mode: Option<ClipMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<Codec>,
    /// Average bitrate, kbit/s, 40–30000.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub bitrate: Option<i64>,
    /// Pixels, 0–3840; with RESIZE, `(width, height)` is one of [`limits::RESIZE_RESOLUTIONS`].
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
    /// Pixels, 0–3840.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
    /// Frames per second. A string on the wire (`"25"`), a number accepted too; kept as the integer and
    /// written back as a string. Must be 25.
    #[serde(
        deserialize_with = "de::frame_rate",
        serialize_with = "de::frame_rate_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub frame_rate: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_subtitle_enable: Option<bool>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub subtitle_config: Option<SubtitleConfig>,
    /// Crop origin x (CROP only), -1920–3840.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub dx: Option<i64>,
    /// Crop origin y (CROP only), -1920–3840.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub dy: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_enable_super_resolution: Option<bool>,
    /// End on the first frame, for seamless concatenation (ignored once action tags are used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_end_at_first_frame: Option<bool>,
    /// Upload the result to this URL (allow-listed at the vendor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_external_url: Option<String>,
    /// Apply the tenant's pronunciation dictionary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_vocabulary_config_enable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_system_watermark: Option<bool>,
}

impl VideoConfig {
    /// `clip_mode`, or RESIZE.
    pub fn clip_mode_or_default(&self) -> ClipMode {
        self.clip_mode.unwrap_or_default()
    }

    /// `codec`, or H264.
    pub fn codec_or_default(&self) -> Codec {
        self.codec.unwrap_or_default()
    }

    /// `frame_rate`, or 25.
    pub fn frame_rate_or_default(&self) -> i64 {
        self.frame_rate.unwrap_or(limits::FRAME_RATE)
    }
}

/// `video_config.subtitle_config`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct SubtitleConfig {
    /// Lower-left corner x of the subtitle box, 0–1920.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub dx: Option<i64>,
    /// Lower-left corner y of the subtitle box, 0–1920.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub dy: Option<i64>,
    /// Box height, 0–1920 (a front-end convenience; not used for rendering by the vendor).
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub h: Option<i64>,
    /// Box width, 0–1920 (the vendor fixes the width at 80% of the screen).
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub w: Option<i64>,
    /// 0–64 characters, default `HarmonyOS_Sans_SC_Black`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub font_name: Option<String>,
    /// 4–120, default 54.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub font_size: Option<i64>,
    /// `#RRGGBB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub font_color: Option<String>,
    /// `#RRGGBB`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stroke_color: Option<String>,
    /// Pixels, 0–50.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stroke_thickness: Option<f64>,
    /// 0 (transparent)–1 (opaque), default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opacity: Option<f64>,
}

impl SubtitleConfig {
    /// `font_size`, or 54.
    pub fn font_size_or_default(&self) -> i64 {
        self.font_size.unwrap_or(limits::DEFAULT_SUBTITLE_FONT_SIZE)
    }

    /// `font_name`, or `HarmonyOS_Sans_SC_Black`.
    pub fn font_name_or_default(&self) -> &str {
        self.font_name.as_deref().unwrap_or(limits::DEFAULT_FONT_NAME)
    }

    /// `opacity`, or 1.
    pub fn opacity_or_default(&self) -> f64 {
        self.opacity.unwrap_or(1.0)
    }
}

/// `shoot_scripts[]`: one scene.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct ShootScriptItem {
    /// Required and unique, 0–2147483647; scenes play in this order.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub sequence_no: Option<i64>,
    /// Reserved by the vendor; seconds, 0–2592000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<f64>,
    /// Reserved by the vendor; seconds, 0–2592000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<f64>,
    /// Required.
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub shoot_script: Option<ShootScript>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub subtitle_file_info: Option<SubtitleFiles>,
}

/// `shoot_scripts[].shoot_script`: what happens in the scene.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct ShootScript {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_type: Option<ScriptType>,
    /// The text to speak (TEXT scripts).
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub text_config: Option<TextConfig>,
    /// Audio length in seconds (AUDIO scripts; informative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_duration: Option<f64>,
    /// Actions at given times (AUDIO scripts).
    #[serde(deserialize_with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub audio_drive_action_config: Vec<AudioDriveActionConfig>,
    /// The driving audio file (AUDIO scripts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_drive_file_external_url: Option<String>,
    /// Deprecated by the vendor (actions belong in the text as `<insert-action>`).
    #[serde(deserialize_with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub animation_config: Vec<AnimationConfig>,
    /// Backgrounds. A single object is accepted as a list of one (the vendor's own example sends one).
    #[serde(deserialize_with = "de::one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub background_config: Vec<BackgroundConfigInfo>,
    /// Deprecated by the vendor (emotions belong in the text as `<emotion>`).
    #[serde(deserialize_with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub emotion_config: Vec<EmotionConfig>,
    #[serde(deserialize_with = "de::list", skip_serializing_if = "Vec::is_empty")]
    pub layer_config: Vec<LayerConfig>,
    /// An uploaded audio (AUDIO scripts).
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub audio_config: Option<AudioInfo>,
}

impl ShootScript {
    /// `script_type`, or TEXT.
    pub fn script_type_or_default(&self) -> ScriptType {
        self.script_type.unwrap_or_default()
    }

    /// `text_config.text`, if given.
    pub fn text(&self) -> Option<&str> {
        self.text_config.as_ref()?.text.as_deref()
    }
}

/// `shoot_script.text_config`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct TextConfig {
    /// Plain text or SSML (see [`crate::ssml`]); ≤ 131,072 characters, ≤ 10,000 excluding tags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `shoot_script.audio_drive_action_config[]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct AudioDriveActionConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_name: Option<String>,
    /// Seconds, 0–2592000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_start_time: Option<f64>,
}

/// `shoot_script.animation_config[]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct AnimationConfig {
    /// Action asset id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub animation: Option<String>,
}

/// `shoot_script.background_config[]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct BackgroundConfigInfo {
    /// Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background_type: Option<BackgroundType>,
    /// Not used for videos.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background_title: Option<String>,
    /// Deprecated by the vendor (use a HUMAN layer).
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub human_position_2d: Option<HumanPosition2D>,
    /// Deprecated by the vendor (use a HUMAN layer).
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub human_size_2d: Option<HumanSize2D>,
    /// Thumbnail of a video background (not used for videos).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background_cover_url: Option<String>,
    /// The image URL (IMAGE), 1–2048 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background_config: Option<String>,
    /// `#RRGGBB` (COLOR).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background_color_config: Option<String>,
    /// The image asset (IMAGE), 0–64 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background_asset_id: Option<String>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub background_image_config: Option<BackgroundImageConfig>,
}

/// `background_config[].background_image_config`: where the background image lies on the canvas.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct BackgroundImageConfig {
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub dx: Option<i64>,
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub dy: Option<i64>,
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
}

/// `background_config[].human_position_2d` (deprecated by the vendor).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct HumanPosition2D {
    /// Ignored when `position_x`/`position_y` are given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<HumanPosition>,
    /// Pixels, -1920–3840.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub position_x: Option<i64>,
    /// Pixels, -1920–3840.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub position_y: Option<i64>,
}

/// `background_config[].human_size_2d` (deprecated by the vendor).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct HumanSize2D {
    /// Pixels, 1–7680.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
    /// Pixels, 1–7680.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
}

/// `shoot_script.emotion_config[]` (deprecated by the vendor).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct EmotionConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emotion: Option<EmotionType>,
}

/// `shoot_script.layer_config[]`: one layer of the scene.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct LayerConfig {
    /// Required.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_type: Option<LayerType>,
    /// The asset shown (not needed for external URLs), 0–64 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset_id: Option<String>,
    /// Layers with the same group share their position across scenes, 0–64 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Show the layer from this scene on (livestreams only).
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub sequence_no: Option<i64>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub position: Option<LayerPositionConfig>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub size: Option<LayerSizeConfig>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub rotation: Option<LayerRotationConfig>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub image_config: Option<ImageLayerConfig>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub video_config: Option<VideoLayerConfig>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub text_config: Option<TextLayerConfig>,
}

/// `layer_config[].position`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct LayerPositionConfig {
    /// Upper-left x on the canvas, -1920–3840, default 0.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub dx: Option<i64>,
    /// Upper-left y on the canvas, -1920–3840, default 0.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub dy: Option<i64>,
    /// 1 (bottom)–100, default 100.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub layer_index: Option<i64>,
}

impl LayerPositionConfig {
    /// `layer_index`, or 100.
    pub fn layer_index_or_default(&self) -> i64 {
        self.layer_index.unwrap_or(limits::DEFAULT_LAYER_INDEX)
    }
}

/// `layer_config[].size`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct LayerSizeConfig {
    /// Pixels on the canvas, 1–7680.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub width: Option<i64>,
    /// Pixels on the canvas, 1–7680.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub height: Option<i64>,
}

/// `layer_config[].rotation`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct LayerRotationConfig {
    /// Degrees about the layer's centre, 0–360, default 0 (videos do not rotate).
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub angle: Option<i64>,
}

/// `layer_config[].image_config`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct ImageLayerConfig {
    /// 1–2048 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

/// `layer_config[].video_config`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct VideoLayerConfig {
    /// 1–2048 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_url: Option<String>,
    /// 1–2048 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_cover_url: Option<String>,
    /// -1 (loop forever, the default), 0 (do not play)–100.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub loop_count: Option<i64>,
    /// Volume of the video's own sound in percent, 0 (muted, the default)–100.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub video_sound: Option<i64>,
    /// Play the whole video even when the scene's speech ends first (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_play_the_entire_video: Option<bool>,
}

impl VideoLayerConfig {
    /// `loop_count`, or -1.
    pub fn loop_count_or_default(&self) -> i64 {
        self.loop_count.unwrap_or(limits::DEFAULT_LOOP_COUNT)
    }

    /// `video_sound`, or 0.
    pub fn video_sound_or_default(&self) -> i64 {
        self.video_sound.unwrap_or(0)
    }
}

/// `layer_config[].text_config`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct TextLayerConfig {
    /// The text, Base64-encoded UTF-8, 0–1024 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_context: Option<String>,
    /// 0–64 characters, default `HarmonyOS_Sans_SC_Black`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub font_name: Option<String>,
    /// Pixels, 4–120, default 16.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub font_size: Option<i64>,
    /// `#RRGGBB`, default `#FFFFFF`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub font_color: Option<String>,
}

impl TextLayerConfig {
    /// The decoded text of `text_context`: `None` when absent, not Base64 or not UTF-8.
    pub fn decoded_text(&self) -> Option<String> {
        let bytes = decode_base64(self.text_context.as_deref()?)?;
        String::from_utf8(bytes).ok()
    }

    /// `font_size`, or 16.
    pub fn font_size_or_default(&self) -> i64 {
        self.font_size.unwrap_or(limits::DEFAULT_TEXT_LAYER_FONT_SIZE)
    }

    /// `font_color`, or `#FFFFFF`.
    pub fn font_color_or_default(&self) -> &str {
        self.font_color.as_deref().filter(|c| !c.is_empty()).unwrap_or(limits::DEFAULT_COLOR)
    }

    /// `font_name`, or `HarmonyOS_Sans_SC_Black`.
    pub fn font_name_or_default(&self) -> &str {
        self.font_name.as_deref().filter(|c| !c.is_empty()).unwrap_or(limits::DEFAULT_FONT_NAME)
    }
}

/// `shoot_script.audio_config` (the SDK's `AudioInfo`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct AudioInfo {
    /// The uploaded audio, as returned by the script APIs.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub audio_id: Option<i64>,
}

/// `shoot_scripts[].subtitle_file_info`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct SubtitleFiles {
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub text_subtitle_file: Option<SubtitleFileInfo>,
    #[serde(deserialize_with = "de::object", skip_serializing_if = "Option::is_none")]
    pub audio_subtitle_file: Option<SubtitleFileInfo>,
}

/// One subtitle file of `subtitle_file_info`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct SubtitleFileInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtitle_file_download_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtitle_file_upload_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subtitle_file_state: Option<SubtitleFileState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

/// `output_asset_config`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct OutputAssetConfig {
    /// Name of the output video asset, 0–256 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset_name: Option<String>,
}

/// `background_music_config`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct BackgroundMusicConfig {
    /// 0–64 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub music_asset_id: Option<String>,
    /// Percent, 0–100, default 100.
    #[serde(deserialize_with = "de::int", skip_serializing_if = "Option::is_none")]
    pub volume: Option<i64>,
}

impl BackgroundMusicConfig {
    /// `volume`, or 100.
    pub fn volume_or_default(&self) -> i64 {
        self.volume.unwrap_or(limits::DEFAULT_MUSIC_VOLUME)
    }
}

/// `review_config`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct ReviewConfig {
    /// Skip content review (allow-listed tenants at the vendor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_need_review: Option<bool>,
}

/// `callback_config`: where to report the job's end.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct CallbackConfig {
    /// Required, `http://` or `https://`, 1–2048 characters. Receives `{result, asset_id, job_id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<AuthType>,
    /// The HMAC key; required with MSS_A.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// `action_config`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(default)]
pub struct ActionConfig {
    /// Seconds between automatic non-semantic actions, 0–255: 0 (or absent) = every 4 s, 255 = none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_interval: Option<f64>,
}

impl ActionConfig {
    /// The interval in seconds, or `None` when automatic actions are off (255).
    pub fn interval_s(&self) -> Option<f64> {
        match self.action_interval {
            None => Some(limits::DEFAULT_ACTION_INTERVAL_S),
            Some(v) if v == limits::ACTION_INTERVAL_NONE => None,
            Some(v) if v <= 0.0 => Some(limits::DEFAULT_ACTION_INTERVAL_S),
            Some(v) => Some(v),
        }
    }
}

/// The parsed plan of one TEXT scene.
#[derive(Debug, Clone, PartialEq)]
pub struct TextPlan {
    /// Index in `shoot_scripts`.
    pub index: usize,
    /// The scene's `sequence_no`.
    pub sequence_no: i64,
    pub plan: Plan,
}

impl Script {
    /// All problems of this script (see [`validate()`](crate::validate())).
    pub fn validate(&self) -> Vec<Error> {
        validate::validate(self)
    }

    /// The plans of the TEXT scenes in `sequence_no` order (ties in list order).
    ///
    /// Errors as validation does for the texts: a TEXT scene without text is [`ErrorKind::Missing`], a text
    /// that is not valid SSML is [`ErrorKind::Ssml`], both with the path of the text field. The length limits
    /// are checked by [`validate()`](crate::validate()), not here.
    pub fn text_plans(&self) -> Result<Vec<TextPlan>> {
        let mut plans = Vec::new();
        for (index, item) in self.shoot_scripts.iter().enumerate() {
            let Some(shoot) = &item.shoot_script else { continue };
            if shoot.script_type_or_default() != ScriptType::Text {
                continue;
            }
            let path = format!("shoot_scripts[{index}].shoot_script.text_config.text");
            let text = shoot.text().ok_or_else(|| Error::new(path.clone(), ErrorKind::Missing))?;
            let plan = ssml::parse_text(text).map_err(|e: SsmlError| Error::ssml(path, e))?;
            plans.push(TextPlan { index, sequence_no: item.sequence_no.unwrap_or(index as i64), plan });
        }
        plans.sort_by_key(|p| (p.sequence_no, p.index));
        Ok(plans)
    }
}

/// Deserialization helpers for the wire's loose spots.
mod de {
    use std::fmt;

    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};
    use serde::Serializer;

    /// An optional integer; `null` is absent, a float with no fractional part (`1080.0`) is accepted.
    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        d.deserialize_any(IntVisitor { what: "an integer" })
    }

    /// `frame_rate`: a string of digits (`"25"`) or an integer.
    pub fn frame_rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        d.deserialize_any(IntVisitor { what: "a frame rate as an integer or a string of digits (\"25\")" })
    }

    pub fn frame_rate_as_string<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(n) => s.collect_str(n),
            None => s.serialize_none(),
        }
    }

    struct IntVisitor {
        what: &'static str,
    }

    impl IntVisitor {
        fn accepts_strings(&self) -> bool {
            self.what.starts_with("a frame rate")
        }
    }

    /// `v` as an i64 when it is integral and in range.
    fn integral(v: f64) -> Option<i64> {
        const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
        (v.is_finite() && v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v)).then_some(v as i64)
    }

    impl<'de> Visitor<'de> for IntVisitor {
        type Value = Option<i64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.what)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v).map(Some).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &"an integer below 2^63"))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            integral(v).map(Some).ok_or_else(|| E::invalid_type(Unexpected::Float(v), &self))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let t = v.trim();
            let digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            match (self.accepts_strings() && digits).then(|| t.parse::<i64>().ok()).flatten() {
                Some(n) => Ok(Some(n)),
                None => Err(E::invalid_type(Unexpected::Str(v), &self)),
            }
        }
    }

    /// A JSON object deserialized as `T`. serde's derived structs also accept a JSON array (fields by
    /// position); the wire format has no such thing, so an array is a type error here.
    pub struct Obj<T>(pub T);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<T>(std::marker::PhantomData<T>);

            impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
                type Value = Obj<T>;

                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }

                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                    T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Obj)
                }
            }

            d.deserialize_map(V(std::marker::PhantomData))
        }
    }

    /// An optional object; `null` is absent.
    pub fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Ok(Option::<Obj<T>>::deserialize(d)?.map(|Obj(t)| t))
    }

    /// A list of objects; `null` is an empty list.
    pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        let items = Option::<Vec<Obj<T>>>::deserialize(d)?.unwrap_or_default();
        Ok(items.into_iter().map(|Obj(t)| t).collect())
    }

    /// A list, or a single object standing for a list of one; `null` is an empty list.
    pub fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        struct V<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Vec<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of objects or one object")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
                Ok(Vec::new())
            }

            fn visit_none<E: de::Error>(self) -> Result<Vec<T>, E> {
                Ok(Vec::new())
            }

            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
                d.deserialize_any(self)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(Obj(item)) = seq.next_element()? {
                    out.push(item);
                }
                Ok(out)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<T>, A::Error> {
                Ok(vec![T::deserialize(de::value::MapAccessDeserializer::new(map))?])
            }
        }

        d.deserialize_any(V(std::marker::PhantomData))
    }
}
