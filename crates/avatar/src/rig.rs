//! The rig: an avatar's parts rasterized at one scale as sprites, its bones, and drawing a frame's state.

use std::collections::HashMap;

use resvg::{tiny_skia, usvg};
use tiny_skia::{FilterQuality, Pixmap, PixmapMut, PixmapPaint, PremultipliedColorU8, Transform};

use crate::manifest::{ActionDef, BoneTransform};
use crate::package::Avatar;
use crate::{Emotion, Error, EyeState, FrameState, Result};

/// A rasterized part: premultiplied RGBA cropped to its visible pixels, placed at `(x, y)` on the scaled canvas.
#[derive(Debug, Clone)]
pub struct Sprite {
    pub pixmap: Pixmap,
    pub x: i32,
    pub y: i32,
}

#[derive(Debug, Clone)]
struct RigBone {
    parent: Option<usize>,
    pivot: (f32, f32),
}

#[derive(Debug, Clone)]
enum PartKind {
    Fixed(usize),
    Slot(String),
}

#[derive(Debug, Clone)]
struct RigPart {
    name: String,
    bone: usize,
    kind: PartKind,
}

/// An avatar ready to draw at one scale.
#[derive(Debug, Clone)]
pub struct Rig {
    pub id: String,
    /// The scale the sprites were rasterized at (1.0 = native canvas).
    pub scale: f32,
    /// The scaled canvas size.
    pub width: u32,
    pub height: u32,
    bones: Vec<RigBone>,
    bone_names: Vec<String>,
    parts: Vec<RigPart>,
    slots: HashMap<String, HashMap<String, usize>>,
    sprites: Vec<Sprite>,
    /// Sprites of frame-sequence actions, by action name.
    action_frames: HashMap<String, Vec<usize>>,
    pub actions: Vec<ActionDef>,
}

fn rasterize(avatar: &Avatar, file: &str, scale: f32) -> Result<Sprite> {
    let m = &avatar.manifest;
    let bytes = avatar.file(file).ok_or_else(|| Error::Invalid {
        avatar: m.id.clone(),
        problems: vec![format!("file {file:?} is missing from the package")],
    })?;
    let w = ((m.canvas.width as f32 * scale).round() as u32).max(1);
    let h = ((m.canvas.height as f32 * scale).round() as u32).max(1);
    let bad = |e: String| Error::Invalid { avatar: m.id.clone(), problems: vec![format!("{file}: {e}")] };
    let mut full = Pixmap::new(w, h).ok_or_else(|| bad("canvas too large".into()))?;
    if file.to_ascii_lowercase().ends_with(".png") {
        let png = Pixmap::decode_png(bytes).map_err(|e| bad(e.to_string()))?;
        let sx = w as f32 / png.width() as f32;
        let sy = h as f32 / png.height() as f32;
        let paint = PixmapPaint { quality: FilterQuality::Bicubic, ..PixmapPaint::default() };
        full.draw_pixmap(0, 0, png.as_ref(), &paint, Transform::from_scale(sx, sy), None);
    } else {
        // A part may not reach outside its package: `<image href>` to files or URLs resolves to nothing.
        let mut svg_opts = usvg::Options::default();
        svg_opts.image_href_resolver.resolve_string = Box::new(|_, _| None);
        let tree = usvg::Tree::from_data(bytes, &svg_opts).map_err(|e| bad(e.to_string()))?;
        let size = tree.size();
        let t = Transform::from_scale(w as f32 / size.width(), h as f32 / size.height());
        resvg::render(&tree, t, &mut full.as_mut());
    }
    Ok(crop(full))
}

/// Crops a full-canvas pixmap to the bounding box of its visible pixels.
fn crop(full: Pixmap) -> Sprite {
    let (w, h) = (full.width() as usize, full.height() as usize);
    let px = full.pixels();
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0usize, 0usize);
    for y in 0..h {
        let row = &px[y * w..(y + 1) * w];
        if let Some(first) = row.iter().position(|p| p.alpha() > 0) {
            let last = row.iter().rposition(|p| p.alpha() > 0).unwrap_or(first);
            x0 = x0.min(first);
            x1 = x1.max(last + 1);
            y0 = y0.min(y);
            y1 = y + 1;
        }
    }
    if x1 <= x0 || y1 <= y0 {
        let empty = Pixmap::new(1, 1).unwrap_or(full);
        return Sprite { pixmap: empty, x: 0, y: 0 };
    }
    let (cw, ch) = ((x1 - x0) as u32, (y1 - y0) as u32);
    let Some(mut out) = Pixmap::new(cw, ch) else { return Sprite { pixmap: full, x: 0, y: 0 } };
    {
        let dst = out.pixels_mut();
        for y in 0..ch as usize {
            dst[y * cw as usize..(y + 1) * cw as usize].copy_from_slice(&px[(y0 + y) * w + x0..(y0 + y) * w + x1]);
        }
    }
    Sprite { pixmap: out, x: x0 as i32, y: y0 as i32 }
}

impl Rig {
    pub(crate) fn new(avatar: &Avatar, scale: f32) -> Result<Rig> {
        let m = &avatar.manifest;
        if !(scale > 0.0 && scale <= 4.0) {
            return Err(Error::Invalid {
                avatar: m.id.clone(),
                problems: vec![format!("scale {scale} is out of range")],
            });
        }
        let mut sprites = Vec::new();
        let mut by_file: HashMap<String, usize> = HashMap::new();
        let mut sprite = |file: &str| -> Result<usize> {
            if let Some(&i) = by_file.get(file) {
                return Ok(i);
            }
            sprites.push(rasterize(avatar, file, scale)?);
            by_file.insert(file.to_string(), sprites.len() - 1);
            Ok(sprites.len() - 1)
        };
        let bone_names: Vec<String> = m.bones.iter().map(|b| b.name.clone()).collect();
        let index = |name: &str| bone_names.iter().position(|n| n == name);
        let bones = m
            .bones
            .iter()
            .map(|b| RigBone { parent: b.parent.as_deref().and_then(index), pivot: (b.pivot[0], b.pivot[1]) })
            .collect();
        let mut parts = Vec::new();
        for p in &m.parts {
            let kind = match (&p.file, &p.slot) {
                (Some(f), _) => PartKind::Fixed(sprite(f)?),
                (None, Some(s)) => PartKind::Slot(s.clone()),
                (None, None) => continue,
            };
            parts.push(RigPart { name: p.name.clone(), bone: index(&p.bone).unwrap_or(0), kind });
        }
        let mut slots = HashMap::new();
        for (slot, states) in &m.slots {
            let mut map = HashMap::new();
            for (state, file) in states {
                map.insert(state.clone(), sprite(file)?);
            }
            slots.insert(slot.clone(), map);
        }
        let mut action_frames = HashMap::new();
        for a in &m.actions {
            if !a.frames.is_empty() {
                let ids = a.frames.iter().map(|f| sprite(f)).collect::<Result<Vec<_>>>()?;
                action_frames.insert(a.name.clone(), ids);
            }
        }
        Ok(Rig {
            id: m.id.clone(),
            scale,
            width: ((m.canvas.width as f32 * scale).round() as u32).max(1),
            height: ((m.canvas.height as f32 * scale).round() as u32).max(1),
            bones,
            bone_names,
            parts,
            slots,
            sprites,
            action_frames,
            actions: m.actions.clone(),
        })
    }

    /// The index of a bone.
    pub fn bone_index(&self, name: &str) -> Option<usize> {
        self.bone_names.iter().position(|n| n == name)
    }

    /// The name of bone `i` ("" past the end).
    pub fn bone_name(&self, i: usize) -> &str {
        self.bone_names.get(i).map_or("", String::as_str)
    }

    /// Number of bones (the length of a pose).
    pub fn bone_count(&self) -> usize {
        self.bones.len()
    }

    /// An action by name or tag (case-insensitive).
    pub fn action(&self, name_or_tag: &str) -> Option<&ActionDef> {
        self.actions.iter().find(|a| {
            a.name.eq_ignore_ascii_case(name_or_tag)
                || a.tag.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(name_or_tag))
        })
    }

    /// World transforms of every bone for a pose, in scaled canvas pixels.
    fn world(&self, pose: &[BoneTransform]) -> Vec<Transform> {
        let s = self.scale;
        let mut out: Vec<Transform> = Vec::with_capacity(self.bones.len());
        for (i, b) in self.bones.iter().enumerate() {
            let t = pose.get(i).copied().unwrap_or(BoneTransform::REST);
            let (px, py) = (b.pivot.0 * s, b.pivot.1 * s);
            let local = Transform::from_translate(t.dx * s, t.dy * s)
                .pre_translate(px, py)
                .pre_concat(Transform::from_rotate(t.rotate))
                .pre_scale(t.scale, t.scale)
                .pre_translate(-px, -py);
            let world = match b.parent.and_then(|p| out.get(p)) {
                Some(parent) => parent.pre_concat(local),
                None => local,
            };
            out.push(world);
        }
        out
    }

    fn slot_sprite(&self, slot: &str, face: &FaceKey) -> Option<usize> {
        let states = self.slots.get(slot)?;
        let emotion = face.emotion.key();
        let base: &str = match slot {
            "eyes" => match face.eyes {
                EyeState::Open => "open",
                EyeState::Half => "half",
                EyeState::Closed => "closed",
            },
            "brows" => {
                return states.get(emotion).or_else(|| states.get("neutral")).copied();
            }
            "mouth" => face.mouth,
            _ => return states.get("default").or_else(|| states.values().next()).copied(),
        };
        states.get(&format!("{base}.{emotion}")).or_else(|| states.get(base)).copied()
    }

    /// Draws the avatar in `state` onto `canvas`, its top-left corner at `(x, y)`.
    pub fn draw(&self, state: &FrameState, canvas: &mut PixmapMut<'_>, x: f32, y: f32) {
        let world = self.world(&state.pose);
        let origin = Transform::from_translate(x, y);
        let current = FaceKey { eyes: state.eyes, mouth: mouth_key(state.mouth.0), emotion: state.emotion };
        let previous = FaceKey { emotion: state.previous_emotion, ..current };
        let mut i = 0;
        while i < self.parts.len() {
            // A run of consecutive parts on one bone (the face: head, eyes, brows, mouth, hair) is drawn as one
            // layer when the bone turns: the parts are stacked at rest, then the stack is transformed once.
            let bone = self.parts[i].bone;
            let mut j = i + 1;
            while j < self.parts.len() && self.parts[j].bone == bone {
                j += 1;
            }
            let t = origin.pre_concat(world.get(bone).copied().unwrap_or_default());
            let layers: Vec<(usize, f32)> =
                self.parts[i..j].iter().flat_map(|p| self.part_sprites(p, state, &current, &previous)).collect();
            if j - i > 1 && !is_translation(&t) {
                self.draw_group(canvas, &layers, t);
            } else {
                for (id, opacity) in layers {
                    self.blit(canvas, id, t, opacity);
                }
            }
            i = j;
        }
    }

    /// The sprites a part shows in a state, bottom first, with their opacity (two during an emotion cross-fade).
    fn part_sprites(
        &self,
        part: &RigPart,
        state: &FrameState,
        current: &FaceKey<'_>,
        previous: &FaceKey<'_>,
    ) -> Vec<(usize, f32)> {
        let frame_override = state
            .frame_override
            .as_ref()
            .filter(|(p, _)| *p == part.name)
            .and_then(|(_, (name, i))| self.action_frames.get(name).and_then(|v| v.get(*i)).copied());
        match (&part.kind, frame_override) {
            (_, Some(id)) => vec![(id, 1.0)],
            (PartKind::Fixed(id), None) => vec![(*id, 1.0)],
            (PartKind::Slot(slot), None) => {
                let now = self.slot_sprite(slot, current);
                let before = self.slot_sprite(slot, previous);
                match (before, now) {
                    (Some(b), Some(n)) if b != n && state.emotion_mix < 1.0 => {
                        vec![(b, 1.0), (n, state.emotion_mix.clamp(0.0, 1.0))]
                    }
                    (_, Some(n)) => vec![(n, 1.0)],
                    _ => Vec::new(),
                }
            }
        }
    }

    /// Stacks sprites at rest into one layer over their union, then draws it with `t`.
    fn draw_group(&self, canvas: &mut PixmapMut<'_>, layers: &[(usize, f32)], t: Transform) {
        let sprites: Vec<(&Sprite, f32)> =
            layers.iter().filter_map(|&(id, o)| self.sprites.get(id).map(|s| (s, o))).collect();
        let x0 = sprites.iter().map(|(s, _)| s.x).min().unwrap_or(0);
        let y0 = sprites.iter().map(|(s, _)| s.y).min().unwrap_or(0);
        let x1 = sprites.iter().map(|(s, _)| s.x + s.pixmap.width() as i32).max().unwrap_or(0);
        let y1 = sprites.iter().map(|(s, _)| s.y + s.pixmap.height() as i32).max().unwrap_or(0);
        let Some(mut layer) = Pixmap::new((x1 - x0).max(1) as u32, (y1 - y0).max(1) as u32) else { return };
        for (s, opacity) in sprites {
            if opacity >= 1.0 {
                blend_over(&mut layer.as_mut(), &s.pixmap, s.x - x0, s.y - y0);
            } else {
                let paint = PixmapPaint { opacity, ..PixmapPaint::default() };
                layer.draw_pixmap(s.x - x0, s.y - y0, s.pixmap.as_ref(), &paint, Transform::identity(), None);
            }
        }
        let paint = PixmapPaint { quality: FilterQuality::Bilinear, ..PixmapPaint::default() };
        canvas.draw_pixmap(0, 0, layer.as_ref(), &paint, t.pre_translate(x0 as f32, y0 as f32), None);
    }

    fn blit(&self, canvas: &mut PixmapMut<'_>, sprite: usize, t: Transform, opacity: f32) {
        let Some(s) = self.sprites.get(sprite) else { return };
        let t = t.pre_translate(s.x as f32, s.y as f32);
        // Unrotated, unscaled parts (most of them, most of the time) take the plain blend loop at the nearest whole
        // pixel; the rest go through tiny-skia's bilinear transform.
        if is_translation(&t) && opacity >= 1.0 {
            blend_over(canvas, &s.pixmap, t.tx.round() as i32, t.ty.round() as i32);
        } else {
            let paint = PixmapPaint { opacity, quality: FilterQuality::Bilinear, ..PixmapPaint::default() };
            canvas.draw_pixmap(0, 0, s.pixmap.as_ref(), &paint, t, None);
        }
    }
}

/// The slot-state key of a mouth shape (`"A"` … `"X"`).
fn mouth_key(shape: crate::Shape) -> &'static str {
    const KEYS: [&str; 9] = ["A", "B", "C", "D", "E", "F", "G", "H", "X"];
    crate::Shape::ALL.iter().position(|&s| s == shape).map_or("X", |i| KEYS[i])
}

/// Whether a transform only moves (no turn, no scale).
fn is_translation(t: &Transform) -> bool {
    (t.sx - 1.0).abs() < 1e-4 && (t.sy - 1.0).abs() < 1e-4 && t.kx.abs() < 1e-5 && t.ky.abs() < 1e-5
}

#[derive(Debug, Clone, Copy)]
struct FaceKey<'a> {
    eyes: EyeState,
    mouth: &'a str,
    emotion: Emotion,
}

/// Source-over of a premultiplied sprite at an integer offset, clipped to the canvas.
pub fn blend_over(canvas: &mut PixmapMut<'_>, src: &Pixmap, x: i32, y: i32) {
    let (cw, ch) = (canvas.width() as i32, canvas.height() as i32);
    let (sw, sh) = (src.width() as i32, src.height() as i32);
    let x0 = x.max(0);
    let y0 = y.max(0);
    let x1 = (x + sw).min(cw);
    let y1 = (y + sh).min(ch);
    if x1 <= x0 || y1 <= y0 {
        return;
    }
    let sp = src.pixels();
    let dp = canvas.pixels_mut();
    for row in y0..y1 {
        let s_off = ((row - y) * sw + (x0 - x)) as usize;
        let d_off = (row * cw + x0) as usize;
        let n = (x1 - x0) as usize;
        let srow = &sp[s_off..s_off + n];
        let drow = &mut dp[d_off..d_off + n];
        for (d, s) in drow.iter_mut().zip(srow) {
            let sa = s.alpha();
            if sa == 255 {
                *d = *s;
            } else if sa != 0 {
                let inv = 255 - sa as u16;
                let mix = |sc: u8, dc: u8| -> u8 { sc + ((dc as u16 * inv + 127) / 255) as u8 };
                let out = PremultipliedColorU8::from_rgba(
                    mix(s.red(), d.red()),
                    mix(s.green(), d.green()),
                    mix(s.blue(), d.blue()),
                    mix(sa, d.alpha()),
                );
                if let Some(o) = out {
                    *d = o;
                }
            }
        }
    }
}
