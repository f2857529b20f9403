//! The avatar manifest (`avatar.json`, format 1) and its validation. `docs/avatar-format.md` is the user guide.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `avatar.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version; only 1 exists.
    pub format: u32,
    /// Stable id (`model_asset_id`): lower-case letters, digits, `-` and `_`.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The native canvas every part is drawn on.
    pub canvas: Canvas,
    /// Whether the avatar's background is transparent (it is drawn over the scene).
    #[serde(default = "yes")]
    pub transparent: bool,
    /// Voice id used when a script names none.
    #[serde(default)]
    pub default_voice: Option<String>,
    pub bones: Vec<BoneDef>,
    /// Parts in draw order, back to front.
    pub parts: Vec<PartDef>,
    /// Swappable parts: slot name → state key (`open`, `open.happy`, `A`, `X.sad` …) → file.
    #[serde(default)]
    pub slots: BTreeMap<String, BTreeMap<String, String>>,
    /// Emotions the face can show (`HAPPY`, `SAD`, `CALM`, `ANGER`).
    #[serde(default)]
    pub emotions: Vec<String>,
    #[serde(default)]
    pub actions: Vec<ActionDef>,
    /// A photo avatar: the photo and its face mesh (then parts and slots are not needed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo: Option<PhotoDef>,
}

/// The photo of a photo avatar and its 468-point face mesh (MediaPipe order), in canvas pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoDef {
    /// The photo (PNG), canvas-sized.
    pub file: String,
    /// `[x, y, z]` per point.
    pub landmarks: Vec<[f32; 3]>,
}

fn yes() -> bool {
    true
}

/// Canvas size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Canvas {
    pub width: u32,
    pub height: u32,
}

/// A bone: parts attached to it turn about its pivot; children follow their parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoneDef {
    pub name: String,
    #[serde(default)]
    pub parent: Option<String>,
    /// Canvas coordinates of the joint.
    pub pivot: [f32; 2],
}

/// A drawn part: a file, or a slot whose file is chosen per frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartDef {
    pub name: String,
    pub bone: String,
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub slot: Option<String>,
}

/// A bone's offset from rest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoneTransform {
    /// Degrees, clockwise on screen.
    #[serde(default)]
    pub rotate: f32,
    #[serde(default)]
    pub dx: f32,
    #[serde(default)]
    pub dy: f32,
    #[serde(default = "one")]
    pub scale: f32,
}

fn one() -> f32 {
    1.0
}

impl Default for BoneTransform {
    fn default() -> Self {
        BoneTransform::REST
    }
}

impl BoneTransform {
    /// No change from the drawn pose.
    pub const REST: BoneTransform = BoneTransform { rotate: 0.0, dx: 0.0, dy: 0.0, scale: 1.0 };

    /// Linear interpolation from `self` to `other`.
    pub fn lerp(self, other: BoneTransform, t: f32) -> BoneTransform {
        let l = |a: f32, b: f32| a + (b - a) * t;
        BoneTransform {
            rotate: l(self.rotate, other.rotate),
            dx: l(self.dx, other.dx),
            dy: l(self.dy, other.dy),
            scale: l(self.scale, other.scale),
        }
    }

    /// Adds another offset on top of this one (rotations and shifts add, scales multiply).
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, other: BoneTransform) -> BoneTransform {
        BoneTransform {
            rotate: self.rotate + other.rotate,
            dx: self.dx + other.dx,
            dy: self.dy + other.dy,
            scale: self.scale * other.scale,
        }
    }
}

/// A keyframe of an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keyframe {
    pub t_ms: u32,
    /// Bones not named are at rest.
    #[serde(default)]
    pub bones: BTreeMap<String, BoneTransform>,
}

/// An action: keyframed bone motion, or a frame sequence replacing one part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionDef {
    pub name: String,
    #[serde(default)]
    pub tag: Option<String>,
    pub duration_ms: u32,
    #[serde(default)]
    pub keyframes: Vec<Keyframe>,
    /// Files shown at 25 fps in place of `frame_part` while the action plays.
    #[serde(default)]
    pub frames: Vec<String>,
    #[serde(default)]
    pub frame_part: Option<String>,
}

/// Slot states every avatar must provide.
pub const REQUIRED_SLOTS: &[(&str, &[&str])] = &[
    ("eyes", &["open", "half", "closed"]),
    ("brows", &["neutral"]),
    ("mouth", &["A", "B", "C", "D", "E", "F", "G", "H", "X"]),
];

impl Manifest {
    /// Every problem with the manifest, each naming the field; `exists` says whether a package file exists.
    pub fn problems(&self, exists: &dyn Fn(&str) -> bool) -> Vec<String> {
        let mut p = Vec::new();
        if self.format != 1 {
            p.push(format!("format: {} is not supported (only 1)", self.format));
        }
        if self.id.is_empty()
            || self.id.len() > 64
            || !self.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            p.push(format!("id: {:?} must be 1–64 of a–z, 0–9, - and _", self.id));
        }
        for (what, v) in [("canvas.width", self.canvas.width), ("canvas.height", self.canvas.height)] {
            if !(16..=8192).contains(&v) {
                p.push(format!("{what}: {v} is out of range 16–8192"));
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for (i, b) in self.bones.iter().enumerate() {
            if seen.contains(&b.name.as_str()) {
                p.push(format!("bones[{i}]: duplicate bone {:?}", b.name));
            }
            match &b.parent {
                Some(parent) if !seen.contains(&parent.as_str()) => {
                    p.push(format!("bones[{i}].parent: {parent:?} is not a bone listed before {:?}", b.name))
                }
                None if i > 0 => p.push(format!("bones[{i}].parent: only the first bone may be the root")),
                _ => {}
            }
            seen.push(&b.name);
        }
        if self.bones.is_empty() {
            p.push("bones: at least one bone is required".into());
        }
        for (i, part) in self.parts.iter().enumerate() {
            if !self.bones.iter().any(|b| b.name == part.bone) {
                p.push(format!("parts[{i}] ({}): unknown bone {:?}", part.name, part.bone));
            }
            match (&part.file, &part.slot) {
                (Some(_), Some(_)) | (None, None) => {
                    p.push(format!("parts[{i}] ({}): give exactly one of file and slot", part.name))
                }
                (Some(file), None) if !exists(file) => {
                    p.push(format!("parts[{i}] ({}): file {file:?} is missing from the package", part.name))
                }
                (None, Some(slot)) if !self.slots.contains_key(slot) => {
                    p.push(format!("parts[{i}] ({}): unknown slot {slot:?}", part.name))
                }
                _ => {}
            }
        }
        if let Some(photo) = &self.photo {
            if !exists(&photo.file) {
                p.push(format!("photo.file: {:?} is missing from the package", photo.file));
            }
            if photo.landmarks.len() != 468 {
                p.push(format!("photo.landmarks: {} points, 468 are required", photo.landmarks.len()));
            }
            if photo.landmarks.iter().flatten().any(|v| !v.is_finite()) {
                p.push("photo.landmarks: every coordinate must be a finite number".into());
            }
        }
        let required: &[(&str, &[&str])] = if self.photo.is_some() { &[] } else { REQUIRED_SLOTS };
        for (slot, states) in required {
            match self.slots.get(*slot) {
                None => p.push(format!("slots.{slot}: missing (required states: {})", states.join(", "))),
                Some(map) => {
                    for s in *states {
                        if !map.contains_key(*s) {
                            p.push(format!("slots.{slot}.{s}: missing"));
                        }
                    }
                }
            }
            if !self.parts.iter().any(|part| part.slot.as_deref() == Some(*slot)) {
                p.push(format!("parts: no part shows slot {slot:?}"));
            }
        }
        for (slot, map) in &self.slots {
            // The rig shows any other slot in its `default` state; without one the state drawn would be arbitrary.
            if !REQUIRED_SLOTS.iter().any(|(s, _)| s == slot) && !map.contains_key("default") {
                p.push(format!(
                    "slots.{slot}.default: missing (slots other than eyes, brows and mouth always show it)"
                ));
            }
            for (state, file) in map {
                if !exists(file) {
                    p.push(format!("slots.{slot}.{state}: file {file:?} is missing from the package"));
                }
            }
        }
        for (i, a) in self.actions.iter().enumerate() {
            if a.duration_ms == 0 || a.duration_ms > 60_000 {
                p.push(format!("actions[{i}] ({}): duration_ms {} is out of range 1–60000", a.name, a.duration_ms));
            }
            let mut last = 0;
            for (k, kf) in a.keyframes.iter().enumerate() {
                if kf.t_ms < last || kf.t_ms > a.duration_ms {
                    p.push(format!(
                        "actions[{i}] ({}).keyframes[{k}]: t_ms {} is out of order or past duration_ms",
                        a.name, kf.t_ms
                    ));
                }
                last = kf.t_ms;
                for bone in kf.bones.keys() {
                    if !self.bones.iter().any(|b| &b.name == bone) {
                        p.push(format!("actions[{i}] ({}).keyframes[{k}]: unknown bone {bone:?}", a.name));
                    }
                }
            }
            if !a.frames.is_empty() {
                match &a.frame_part {
                    Some(part) if self.parts.iter().any(|x| &x.name == part) => {}
                    _ => p.push(format!("actions[{i}] ({}): frames need a frame_part naming a part", a.name)),
                }
                for f in &a.frames {
                    if !exists(f) {
                        p.push(format!("actions[{i}] ({}): frame file {f:?} is missing from the package", a.name));
                    }
                }
            }
        }
        p
    }
}
