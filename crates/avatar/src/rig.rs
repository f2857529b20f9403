//! The rig: an avatar's parts rasterized at one scale as sprites, its bones, and drawing a frame's state.

use std::collections::HashMap;

use resvg::{tiny_skia, usvg};
use tiny_skia::{FilterQuality, Pixmap, PixmapMut, PixmapPaint, Transform};

use crate::manifest::{ActionDef, BoneTransform};
use crate::package::Avatar;
use crate::photo::{FacePose, PhotoRig};
pub use crate::raster::blend_over;
use crate::raster::draw_transformed;
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
    /// A photo avatar's warp (then there are no parts).
    photo: Option<Box<PhotoRig>>,
    head: Option<usize>,
}

/// A photo avatar's photo at `scale`, opaque, canvas-sized (`w` x `h`).
fn photo_pixmap(avatar: &Avatar, file: &str, w: u32, h: u32) -> Result<Pixmap> {
    let bad = |e: String| Error::Invalid { avatar: avatar.manifest.id.clone(), problems: vec![format!("{file}: {e}")] };
    let bytes = avatar.file(file).ok_or_else(|| bad("missing from the package".into()))?;
    let png = Pixmap::decode_png(bytes).map_err(|e| bad(e.to_string()))?;
    let mut full = Pixmap::new(w, h).ok_or_else(|| bad("canvas too large".into()))?;
    full.fill(tiny_skia::Color::BLACK);
    let (sx, sy) = (w as f32 / png.width() as f32, h as f32 / png.height() as f32);
    let paint = PixmapPaint { quality: FilterQuality::Bicubic, ..PixmapPaint::default() };
    full.draw_pixmap(0, 0, png.as_ref(), &paint, Transform::from_scale(sx, sy), None);
    Ok(full)
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

/// Crops a full-canvas pixmap to the bounding box of its visible pixels plus a transparent margin of one pixel
/// (which a turned sprite's bilinear filter fades into, see [`crate::raster`]).
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
    let (cw, ch) = ((x1 - x0) as u32 + 2, (y1 - y0) as u32 + 2);
    let Some(mut out) = Pixmap::new(cw, ch) else { return Sprite { pixmap: full, x: 0, y: 0 } };
    {
        let dst = out.pixels_mut();
        for y in 0..(y1 - y0) {
            let d = (y + 1) * cw as usize + 1;
            dst[d..d + (x1 - x0)].copy_from_slice(&px[(y0 + y) * w + x0..(y0 + y) * w + x1]);
        }
    }
    Sprite { pixmap: out, x: x0 as i32 - 1, y: y0 as i32 - 1 }
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
        let width = ((m.canvas.width as f32 * scale).round() as u32).max(1);
        let height = ((m.canvas.height as f32 * scale).round() as u32).max(1);
        let photo = match &m.photo {
            Some(p) => {
                let image = photo_pixmap(avatar, &p.file, width, height)?;
                let (kx, ky) = (width as f32 / m.canvas.width as f32, height as f32 / m.canvas.height as f32);
                let landmarks: Vec<[f32; 3]> = p.landmarks.iter().map(|q| [q[0] * kx, q[1] * ky, q[2] * kx]).collect();
                let rig = PhotoRig::new(image, &landmarks).ok_or_else(|| Error::Invalid {
                    avatar: m.id.clone(),
                    problems: vec!["photo.landmarks: 468 points are required".into()],
                })?;
                Some(Box::new(rig))
            }
            None => None,
        };
        Ok(Rig {
            id: m.id.clone(),
            scale,
            width,
            height,
            photo,
            head: bone_names.iter().position(|n| n == "head"),
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

    /// Whether this is a photo avatar (drawn by warping its photo).
    pub fn is_photo(&self) -> bool {
        self.photo.is_some()
    }

    /// A photo avatar's warp, if this is one.
    pub fn photo(&self) -> Option<&PhotoRig> {
        self.photo.as_deref()
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
            // Bones move by whole pixels: a turned limb is redrawn when it turns, not on every breath, and moving
            // parts keep their exact pixels.
            let local = Transform::from_translate((t.dx * s).round(), (t.dy * s).round())
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
        self.draw_steps(&self.plan(state, x, y), canvas, (0, 0), &mut DrawCache::default());
    }

    /// The drawing steps of the avatar in `state`, its top-left corner at `(x, y)`, bottom first. Two frames
    /// whose steps are equal draw the same pixels, and a step only touches pixels inside [`Rig::bounds`]: the
    /// caller can redraw only what changed between frames.
    pub fn plan(&self, state: &FrameState, x: f32, y: f32) -> Vec<DrawStep> {
        if let Some(photo) = &self.photo {
            let face = FacePose::of(state, self.head, self.scale * photo.motion_scale());
            let transform = Transform::from_translate(x.round(), y.round());
            return vec![DrawStep { layers: Vec::new(), transform, face: Some(face) }];
        }
        let world = self.world(&state.pose);
        let origin = Transform::from_translate(x, y);
        let current = FaceKey { eyes: state.eyes, mouth: mouth_key(state.mouth.0), emotion: state.emotion };
        let previous = FaceKey { emotion: state.previous_emotion, ..current };
        let mut steps = Vec::new();
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
            if is_translation(&t) {
                // Unturned, unscaled parts (most of them, most of the time) are blended at the nearest whole pixel.
                let at = Transform::from_translate(t.tx.round(), t.ty.round());
                for (id, opacity) in layers {
                    steps.push(DrawStep { layers: vec![(id, opacity)], transform: at, face: None });
                }
            } else if layers.len() > 1 {
                steps.push(DrawStep { layers, transform: t, face: None });
            } else {
                for (id, opacity) in layers {
                    steps.push(DrawStep { layers: vec![(id, opacity)], transform: t, face: None });
                }
            }
            i = j;
        }
        steps
    }

    /// The pixels a step may touch, `(x0, y0, x1, y1)` with `x1`, `y1` exclusive, in canvas pixels (not clipped).
    pub fn bounds(&self, step: &DrawStep) -> (i32, i32, i32, i32) {
        if step.face.is_some() {
            return map_box((0, 0, self.width as i32, self.height as i32), &step.transform);
        }
        map_box(self.union_rect(&step.layers), &step.transform)
    }

    /// The boxes (see [`Rig::bounds`]) outside which two steps draw the same pixels: where only some sprites of
    /// a stack changed and the stack did not move, just those sprites' places.
    pub fn changed_bounds(&self, a: &DrawStep, b: &DrawStep, out: &mut Vec<(i32, i32, i32, i32)>) {
        if a == b {
            return;
        }
        if let (Some(photo), true, true) =
            (&self.photo, a.face.is_some() && b.face.is_some(), a.transform == b.transform)
        {
            // Only the warped region of a photo changes.
            out.push(map_box(photo.region, &a.transform));
            return;
        }
        if a.transform != b.transform || a.layers.len() != b.layers.len() {
            out.push(self.bounds(a));
            out.push(self.bounds(b));
            return;
        }
        for (la, lb) in a.layers.iter().zip(&b.layers) {
            if la != lb {
                out.push(map_box(self.union_rect(std::slice::from_ref(la)), &a.transform));
                out.push(map_box(self.union_rect(std::slice::from_ref(lb)), &b.transform));
            }
        }
    }

    /// The union of some sprites' rectangles at rest, `(x0, y0, x1, y1)`.
    fn union_rect(&self, layers: &[(usize, f32)]) -> (i32, i32, i32, i32) {
        let sprites = layers.iter().filter_map(|&(id, _)| self.sprites.get(id));
        let (mut x0, mut y0, mut x1, mut y1) = (i32::MAX, i32::MAX, i32::MIN, i32::MIN);
        for s in sprites {
            x0 = x0.min(s.x);
            y0 = y0.min(s.y);
            x1 = x1.max(s.x + s.pixmap.width() as i32);
            y1 = y1.max(s.y + s.pixmap.height() as i32);
        }
        if x1 <= x0 || y1 <= y0 {
            return (0, 0, 0, 0);
        }
        (x0, y0, x1, y1)
    }

    /// Draws planned steps onto `canvas`, whose top-left pixel is `offset` in the coordinates the steps were
    /// planned in (a canvas can be a window onto a larger frame). Steps outside the window are skipped; what can
    /// serve the next frames (stacks of sprites, turned parts already sampled) is kept in `cache`.
    pub fn draw_steps(
        &self,
        steps: &[DrawStep],
        canvas: &mut PixmapMut<'_>,
        offset: (i32, i32),
        cache: &mut DrawCache,
    ) {
        let shift = Transform::from_translate(-offset.0 as f32, -offset.1 as f32);
        let (w, h) = (canvas.width() as i32, canvas.height() as i32);
        for (k, step) in steps.iter().enumerate() {
            let (x0, y0, x1, y1) = self.bounds(step);
            if x1 <= offset.0 || y1 <= offset.1 || x0 >= offset.0 + w || y0 >= offset.1 + h {
                continue;
            }
            if let (Some(photo), Some(face)) = (&self.photo, &step.face) {
                let (tx, ty) = (step.transform.tx as i32, step.transform.ty as i32);
                let (rx0, ry0, rx1, ry1) = photo.region;
                let warped = cache.warped(photo, face);
                // The warped box is opaque: under it the photo need not be drawn, and a window inside it (the
                // painter's usual one) needs nothing else.
                let inside = offset.0 >= tx + rx0
                    && offset.1 >= ty + ry0
                    && offset.0 + w <= tx + rx1
                    && offset.1 + h <= ty + ry1;
                if warped.is_none() || !inside {
                    blend_over(canvas, &photo.image, tx - offset.0, ty - offset.1);
                }
                if let Some(warped) = warped {
                    blend_over(canvas, warped, tx + rx0 - offset.0, ty + ry0 - offset.1);
                }
                continue;
            }
            if let [(id, opacity)] = step.layers[..] {
                if opacity >= 1.0 && is_translation(&step.transform) {
                    self.blit(canvas, id, shift.pre_concat(step.transform), opacity);
                    continue;
                }
            }
            if let Some((layer, lx, ly)) = cache.sampled(self, k, step) {
                blend_over(canvas, layer, lx - offset.0, ly - offset.1);
            } else {
                self.draw_turned(canvas, step, shift.pre_concat(step.transform), cache);
            }
        }
    }

    /// Draws a turned (or faded) step with `t`, sampling its sprite or stack through the transform.
    fn draw_turned(&self, canvas: &mut PixmapMut<'_>, step: &DrawStep, t: Transform, cache: &mut DrawCache) {
        if let [(id, opacity)] = step.layers[..] {
            self.blit(canvas, id, t, opacity);
        } else if let Some((layer, lx, ly)) = cache.stack(self, &step.layers) {
            draw_transformed(canvas, layer, t.pre_translate(lx as f32, ly as f32), 1.0);
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

    /// Stacks sprites at rest into one layer over their union; returns it and its top-left at rest.
    fn stack(&self, layers: &[(usize, f32)]) -> Option<(Pixmap, i32, i32)> {
        let (x0, y0, x1, y1) = self.union_rect(layers);
        let mut layer = Pixmap::new((x1 - x0).max(1) as u32, (y1 - y0).max(1) as u32)?;
        for (s, opacity) in layers.iter().filter_map(|&(id, o)| self.sprites.get(id).map(|s| (s, o))) {
            if opacity >= 1.0 {
                blend_over(&mut layer.as_mut(), &s.pixmap, s.x - x0, s.y - y0);
            } else {
                let paint = PixmapPaint { opacity, ..PixmapPaint::default() };
                layer.draw_pixmap(s.x - x0, s.y - y0, s.pixmap.as_ref(), &paint, Transform::identity(), None);
            }
        }
        Some((layer, x0, y0))
    }

    fn blit(&self, canvas: &mut PixmapMut<'_>, sprite: usize, t: Transform, opacity: f32) {
        let Some(s) = self.sprites.get(sprite) else { return };
        let t = t.pre_translate(s.x as f32, s.y as f32);
        // Moved parts take the plain blend loop at the nearest whole pixel; turned or faded ones are sampled
        // through the transform.
        if is_translation(&t) && opacity >= 1.0 {
            blend_over(canvas, &s.pixmap, t.tx.round() as i32, t.ty.round() as i32);
        } else {
            draw_transformed(canvas, &s.pixmap, t, opacity);
        }
    }
}

/// A picture and its top-left corner in the coordinates it was drawn for.
type Placed = (Pixmap, i32, i32);

/// What drawing keeps for the frames to come.
///
/// * Stacks of sprites built for turned bones (the face: head, eyes, brows, mouth): the same face in the next
///   frames is not stacked again. A handful are kept.
/// * With [`DrawCache::for_frames`], each turned step as sampled, over transparency and clipped to the frame:
///   while a limb holds still, redrawing a window around it (because the head or the mouth beside it changed)
///   blends the sampled pixels instead of sampling again. One per step.
///
/// A cache belongs to one rig: [`DrawCache::clear`] it before drawing another.
#[derive(Debug, Default)]
pub struct DrawCache {
    stacks: Vec<(Vec<(usize, f32)>, Placed)>,
    sampled: Vec<Option<(DrawStep, Placed)>>,
    frame: Option<(i32, i32)>,
    /// A photo avatar's warped region by pose (the most recently used).
    warped: Vec<(FacePose, Pixmap)>,
}

impl DrawCache {
    /// How many stacks are kept (the most recently used).
    const STACKS: usize = 12;

    /// A cache for drawing a series of frames of `width` x `height` pixels.
    pub fn for_frames(width: u32, height: u32) -> DrawCache {
        DrawCache { frame: Some((width as i32, height as i32)), ..DrawCache::default() }
    }

    fn stack(&mut self, rig: &Rig, layers: &[(usize, f32)]) -> Option<(&Pixmap, i32, i32)> {
        if let Some(i) = self.stacks.iter().position(|e| e.0 == layers) {
            let e = self.stacks.remove(i);
            self.stacks.push(e);
        } else {
            let placed = rig.stack(layers)?;
            if self.stacks.len() >= Self::STACKS {
                self.stacks.remove(0);
            }
            self.stacks.push((layers.to_vec(), placed));
        }
        self.stacks.last().map(|(_, (pm, x, y))| (pm, *x, *y))
    }

    /// Step `k` sampled over transparency, and its top-left in the frame (sampled now unless it was last time).
    fn sampled(&mut self, rig: &Rig, k: usize, step: &DrawStep) -> Option<(&Pixmap, i32, i32)> {
        let (fw, fh) = self.frame?;
        if self.sampled.len() <= k {
            self.sampled.resize_with(k + 1, || None);
        }
        let fresh = !matches!(&self.sampled[k], Some((s, _)) if s == step);
        if fresh {
            let (x0, y0, x1, y1) = rig.bounds(step);
            let (x0, y0, x1, y1) = (x0.max(0), y0.max(0), x1.min(fw), y1.min(fh));
            let mut layer = Pixmap::new((x1 - x0).max(1) as u32, (y1 - y0).max(1) as u32)?;
            let t = Transform::from_translate(-x0 as f32, -y0 as f32).pre_concat(step.transform);
            rig.draw_turned(&mut layer.as_mut(), step, t, self);
            self.sampled[k] = Some((step.clone(), (layer, x0, y0)));
        }
        self.sampled[k].as_ref().map(|(_, (pm, x, y))| (pm, *x, *y))
    }

    /// A photo's warped region for a pose (warped now unless it was recently); `None` at rest (the photo itself).
    fn warped(&mut self, photo: &PhotoRig, pose: &FacePose) -> Option<&Pixmap> {
        if pose.is_rest() {
            return None;
        }
        if let Some(i) = self.warped.iter().position(|e| e.0 == *pose) {
            let e = self.warped.remove(i);
            self.warped.push(e);
        } else {
            let (x0, y0, x1, y1) = photo.region;
            let mut out = Pixmap::new((x1 - x0).max(1) as u32, (y1 - y0).max(1) as u32)?;
            photo.warp(pose, &mut out);
            if self.warped.len() >= Self::STACKS {
                self.warped.remove(0);
            }
            self.warped.push((*pose, out));
        }
        self.warped.last().map(|e| &e.1)
    }

    /// Forgets everything (before drawing another rig).
    pub fn clear(&mut self) {
        self.stacks.clear();
        self.sampled.clear();
        self.warped.clear();
    }
}

/// The box `(x0, y0, x1, y1)` covering a rectangle at rest once drawn with `t`: whole pixels for a translation,
/// one pixel more on every side for a turn (the bilinear filter and anti-aliased edges).
fn map_box((x0, y0, x1, y1): (i32, i32, i32, i32), t: &Transform) -> (i32, i32, i32, i32) {
    if is_translation(t) {
        let (dx, dy) = (t.tx.round() as i32, t.ty.round() as i32);
        return (x0 + dx, y0 + dy, x1 + dx, y1 + dy);
    }
    let Some((fx0, fy0, fx1, fy1)) = crate::raster::landing((x0, y0, x1, y1), t) else {
        return (i32::MIN / 2, i32::MIN / 2, i32::MAX / 2, i32::MAX / 2);
    };
    let clamp = |v: f32| v.clamp(i32::MIN as f32 / 4.0, i32::MAX as f32 / 4.0) as i32;
    (clamp(fx0.floor()) - 1, clamp(fy0.floor()) - 1, clamp(fx1.ceil()) + 1, clamp(fy1.ceil()) + 1)
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

/// One step of drawing an avatar frame: a sprite, or a stack of sprites drawn as one layer, with its opacity
/// and where it goes. Compare steps to find what changed between two frames.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawStep {
    /// Sprites (by index) and opacities, bottom first.
    layers: Vec<(usize, f32)>,
    /// Sprite (rest) coordinates to canvas pixels; a pure translation is rounded to whole pixels.
    transform: Transform,
    /// A photo avatar's pose (the step draws the photo, warped).
    face: Option<FacePose>,
}

#[derive(Debug, Clone, Copy)]
struct FaceKey<'a> {
    eyes: EyeState,
    mouth: &'a str,
    emotion: Emotion,
}
