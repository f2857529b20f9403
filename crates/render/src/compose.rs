//! Scene compositing: the static parts of a scene (background and layers below the avatar, layers above it)
//! are drawn once; each frame (or each changed window of it, see [`crate::painter`]) copies the base, draws the
//! avatar, then the overlay and the subtitle.

use doppel_avatar::rig::{DrawCache, DrawStep};
use doppel_avatar::{FrameState, Rig};
use tiny_skia::{Color, FilterQuality, Pixmap, PixmapMut, PixmapPaint, Transform};

/// Output geometry: the layout (MetaStudio's 1920x1080 or 1080x1920 coordinate space) mapped to output pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    pub out_w: u32,
    pub out_h: u32,
    pub layout_w: f32,
    pub layout_h: f32,
    /// Output pixels per layout pixel.
    pub scale: f32,
    /// Layout pixel shown at the output's top-left (CROP).
    pub origin: (f32, f32),
}

impl Geometry {
    /// Layout coordinates to output pixels.
    pub fn to_out(self, x: f32, y: f32) -> (f32, f32) {
        ((x - self.origin.0) * self.scale, (y - self.origin.1) * self.scale)
    }
}

/// A still picture placed in layout coordinates.
#[derive(Debug, Clone)]
pub struct Placed {
    pub pixmap: Pixmap,
    /// Top-left and size in layout pixels.
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// A video layer placed in layout coordinates; its frames are already scaled to output pixels.
#[derive(Debug)]
pub struct PlacedVideo {
    pub layer: crate::video_layer::VideoLayer,
    pub x: f32,
    pub y: f32,
}

/// A layer: a still picture, or a video whose frame changes with time.
#[derive(Debug)]
pub enum Layer {
    Still(Placed),
    Video(PlacedVideo),
}

/// What a scene shows besides the avatar, already resolved.
#[derive(Debug)]
pub struct SceneLook {
    pub background: Background,
    /// Layers under the avatar, bottom first.
    pub below: Vec<Layer>,
    /// Layers over the avatar, bottom first.
    pub above: Vec<Layer>,
}

/// A scene background.
#[derive(Debug, Clone)]
pub enum Background {
    /// Straight RGBA.
    Color([u8; 4]),
    /// An image covering the layout.
    Image(Pixmap),
}

/// One drawing step of a frame after the base.
#[derive(Debug)]
enum Op {
    /// A run of still layers, precomposed at output size.
    Still(Pixmap),
    /// A video layer's current frame at an output position.
    Video(crate::video_layer::VideoLayer, i32, i32),
}

/// The drawn static parts of one scene at output size, and the dynamic layers between them.
#[derive(Debug)]
pub struct Stage {
    /// The background and the still layers under the avatar up to the first video layer.
    pub base: Pixmap,
    below: Vec<Op>,
    above: Vec<Op>,
}

/// Turns layers into steps: consecutive stills share one precomposed pixmap (the first run under the avatar goes
/// into `base` when `base` is given).
fn ops(g: &Geometry, layers: Vec<Layer>, mut base: Option<&mut Pixmap>) -> Option<Vec<Op>> {
    let mut out = Vec::new();
    let mut current: Option<Pixmap> = None;
    for layer in layers {
        match layer {
            Layer::Still(p) => {
                if let Some(b) = base.as_deref_mut() {
                    draw_placed(b, g, &p);
                } else {
                    let pm = match current.as_mut() {
                        Some(pm) => pm,
                        None => current.insert(Pixmap::new(g.out_w, g.out_h)?),
                    };
                    draw_placed(pm, g, &p);
                }
            }
            Layer::Video(v) => {
                base = None;
                if let Some(pm) = current.take() {
                    out.push(Op::Still(pm));
                }
                let (x, y) = g.to_out(v.x, v.y);
                out.push(Op::Video(v.layer, x.round() as i32, y.round() as i32));
            }
        }
    }
    if let Some(pm) = current.take() {
        out.push(Op::Still(pm));
    }
    Some(out)
}

/// Runs drawing steps on `canvas`, whose top-left pixel is `(ox, oy)` of the frame.
fn run_ops(ops: &[Op], canvas: &mut PixmapMut<'_>, (ox, oy): (i32, i32), t_ms: u32) {
    for op in ops {
        match op {
            Op::Still(pm) => doppel_avatar::rig::blend_over(canvas, pm, -ox, -oy),
            Op::Video(layer, x, y) => {
                if let Some(frame) = layer.frame_at(t_ms) {
                    doppel_avatar::rig::blend_over(canvas, frame, *x - ox, *y - oy);
                }
            }
        }
    }
}

fn draw_placed(canvas: &mut Pixmap, g: &Geometry, p: &Placed) {
    let (x, y) = g.to_out(p.x, p.y);
    let sx = p.w * g.scale / p.pixmap.width().max(1) as f32;
    let sy = p.h * g.scale / p.pixmap.height().max(1) as f32;
    let paint = PixmapPaint { quality: FilterQuality::Bicubic, ..PixmapPaint::default() };
    canvas.draw_pixmap(0, 0, p.pixmap.as_ref(), &paint, Transform::from_translate(x, y).pre_scale(sx, sy), None);
}

impl Stage {
    /// Draws the static parts of a scene.
    pub fn new(g: &Geometry, look: SceneLook) -> Option<Stage> {
        let mut base = Pixmap::new(g.out_w, g.out_h)?;
        match &look.background {
            Background::Color([r, gg, b, a]) => base.fill(Color::from_rgba8(*r, *gg, *b, *a)),
            Background::Image(img) => {
                // Cover the layout, centred.
                let s = (g.layout_w / img.width() as f32).max(g.layout_h / img.height() as f32);
                let (w, h) = (img.width() as f32 * s, img.height() as f32 * s);
                let p = Placed { pixmap: img.clone(), x: (g.layout_w - w) / 2.0, y: (g.layout_h - h) / 2.0, w, h };
                base.fill(Color::BLACK);
                draw_placed(&mut base, g, &p);
            }
        }
        let below = ops(g, look.below, Some(&mut base))?;
        let above = ops(g, look.above, None)?;
        Some(Stage { base, below, above })
    }

    /// Draws the frame at scene time `t_ms` into `canvas` (same size as the stage).
    pub fn frame(
        &self,
        canvas: &mut Pixmap,
        t_ms: u32,
        rig: &Rig,
        state: &FrameState,
        at: (f32, f32),
        subtitle: Option<(&Pixmap, i32, i32)>,
    ) {
        let steps = rig.plan(state, at.0, at.1);
        let mut cache = DrawCache::default();
        self.draw_region(&mut canvas.as_mut(), (0, 0), t_ms, (rig, &steps, &mut cache), subtitle);
    }

    /// Draws the part of the frame at scene time `t_ms` whose top-left pixel is `origin` into `canvas` (a window
    /// of the frame: background and layers below, the avatar's planned `steps` drawn by `rig` (keeping what can
    /// serve later frames in `cache`), layers above, the subtitle).
    pub fn draw_region(
        &self,
        canvas: &mut PixmapMut<'_>,
        origin: (i32, i32),
        t_ms: u32,
        (rig, steps, cache): (&Rig, &[DrawStep], &mut DrawCache),
        subtitle: Option<(&Pixmap, i32, i32)>,
    ) {
        copy_window(&self.base, canvas, origin);
        run_ops(&self.below, canvas, origin, t_ms);
        rig.draw_steps(steps, canvas, origin, cache);
        run_ops(&self.above, canvas, origin, t_ms);
        if let Some((img, x, y)) = subtitle {
            doppel_avatar::rig::blend_over(canvas, img, x - origin.0, y - origin.1);
        }
    }

    /// The boxes `(x0, y0, x1, y1)` of the layers that change by themselves (video layers): redrawn every frame.
    pub fn moving_rects(&self) -> impl Iterator<Item = (i32, i32, i32, i32)> + '_ {
        self.below.iter().chain(&self.above).filter_map(|op| match op {
            Op::Video(layer, x, y) => Some((*x, *y, x + layer.width() as i32, y + layer.height() as i32)),
            Op::Still(_) => None,
        })
    }
}

/// Copies the window of `src` whose top-left is `origin` into `dst` (the window's size); what lies outside `src`
/// is left as it was.
fn copy_window(src: &Pixmap, dst: &mut PixmapMut<'_>, (ox, oy): (i32, i32)) {
    let (sw, sh) = (src.width() as i32, src.height() as i32);
    let (dw, dh) = (dst.width() as i32, dst.height() as i32);
    let (x0, x1) = (ox.max(0), (ox + dw).min(sw));
    if x1 <= x0 {
        return;
    }
    let n = (x1 - x0) as usize * 4;
    let (s, d) = (src.data(), dst.data_mut());
    for row in oy.max(0)..(oy + dh).min(sh) {
        let so = (row * sw + x0) as usize * 4;
        let doff = ((row - oy) * dw + (x0 - ox)) as usize * 4;
        d[doff..doff + n].copy_from_slice(&s[so..so + n]);
    }
}
