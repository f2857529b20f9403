//! doppel's avatars: the package format ([`manifest`], [`package`]), the built-in avatars ([`builtin`]), the
//! rig that draws a frame ([`Rig`]), and the motion that a speech timeline drives ([`motion`]).
//!
//! A package is a folder or zip with `avatar.json` and full-canvas SVG or PNG parts (see
//! `docs/avatar-format.md`). Parts hang on bones; slots (eyes, brows, mouth) swap their part per frame; actions
//! are keyframed bone offsets. This crate is pure: no network, no clock; the caller passes times in and owns the
//! canvas; the only file access is [`Avatar::load`].

pub mod manifest;
pub mod motion;
pub mod package;
pub mod photo;
pub mod raster;
pub mod rig;

pub use doppel_lipsync::Shape;
pub use manifest::{BoneTransform, Manifest};
pub use package::{builtin, builtin_by_id, ActionInfo, Avatar, AvatarInfo};
pub use rig::Rig;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The package is invalid; every problem is listed with the field it concerns.
    #[error("avatar {avatar} is invalid: {}", problems.join("; "))]
    Invalid { avatar: String, problems: Vec<String> },
    /// An action named in a script does not exist for this avatar.
    #[error("avatar {avatar} has no action {action:?} (it has: {})", available.join(", "))]
    UnknownAction { avatar: String, action: String, available: Vec<String> },
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// A facial expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Emotion {
    #[default]
    Neutral,
    Happy,
    Sad,
    Calm,
    Anger,
}

impl Emotion {
    /// From a wire name (`HAPPY`, …, `NEUTRAL`), case-insensitive.
    pub fn from_name(name: &str) -> Option<Emotion> {
        Some(match name.to_ascii_uppercase().as_str() {
            "NEUTRAL" => Emotion::Neutral,
            "HAPPY" => Emotion::Happy,
            "SAD" => Emotion::Sad,
            "CALM" => Emotion::Calm,
            "ANGER" | "ANGRY" => Emotion::Anger,
            _ => return None,
        })
    }

    /// The slot-state suffix (`happy`, …; `neutral`).
    pub fn key(self) -> &'static str {
        match self {
            Emotion::Neutral => "neutral",
            Emotion::Happy => "happy",
            Emotion::Sad => "sad",
            Emotion::Calm => "calm",
            Emotion::Anger => "anger",
        }
    }
}

/// Eyelid state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EyeState {
    #[default]
    Open,
    Half,
    Closed,
}

/// Everything that varies from frame to frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrameState {
    /// One offset per bone, in the manifest's bone order.
    pub pose: Vec<BoneTransform>,
    pub eyes: EyeState,
    pub mouth: MouthShape,
    pub emotion: Emotion,
    /// The emotion being left, shown underneath while `emotion_mix` < 1.
    pub previous_emotion: Emotion,
    /// 0 → only `previous_emotion`, 1 → only `emotion`.
    pub emotion_mix: f32,
    /// A frame-sequence action in progress: (part name, (action name, frame index)).
    pub frame_override: Option<(String, (String, usize))>,
}

/// A mouth shape with a default (rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MouthShape(pub Shape);

impl Default for MouthShape {
    fn default() -> Self {
        MouthShape(Shape::X)
    }
}

impl MouthShape {
    pub fn letter(self) -> char {
        self.0.letter()
    }
}
