//! Scene compositing: the static parts of a scene (background and layers below the avatar, layers above it)
//! are drawn once; each frame copies the base, draws the avatar, then the overlay and the subtitle.

use doppel_avatar::{FrameState, Rig};
use tiny_skia::{Color, FilterQuality, Pixmap, PixmapPaint, Transform};

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

/// What a scene shows besides the avatar, already resolved.
#[derive(Debug, Clone)]
pub struct SceneLook {
    pub background: Background,
    /// Layers under the avatar, bottom first.
    pub below: Vec<Placed>,
    /// Layers over the avatar, bottom first.
    pub above: Vec<Placed>,
}

/// A scene background.
#[derive(Debug, Clone)]
pub enum Background {
    /// Straight RGBA.
    Color([u8; 4]),
    /// An image covering the layout.
    Image(Pixmap),
}

/// The drawn static parts of one scene at output size.
#[derive(Debug)]
pub struct Stage {
    pub base: Pixmap,
    pub overlay: Option<Pixmap>,
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
    pub fn new(g: &Geometry, look: &SceneLook) -> Option<Stage> {
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
        for p in &look.below {
            draw_placed(&mut base, g, p);
        }
        let overlay = if look.above.is_empty() {
            None
        } else {
            let mut o = Pixmap::new(g.out_w, g.out_h)?;
            for p in &look.above {
                draw_placed(&mut o, g, p);
            }
            Some(o)
        };
        Some(Stage { base, overlay })
    }

    /// Draws one frame into `canvas` (same size as the stage).
    pub fn frame(
        &self,
        canvas: &mut Pixmap,
        rig: &Rig,
        state: &FrameState,
        at: (f32, f32),
        subtitle: Option<(&Pixmap, i32, i32)>,
    ) {
        canvas.data_mut().copy_from_slice(self.base.data());
        rig.draw(state, &mut canvas.as_mut(), at.0, at.1);
        if let Some(o) = &self.overlay {
            doppel_avatar::rig::blend_over(&mut canvas.as_mut(), o, 0, 0);
        }
        if let Some((img, x, y)) = subtitle {
            doppel_avatar::rig::blend_over(&mut canvas.as_mut(), img, x, y);
        }
    }
}
