//! Text drawing for text layers and subtitles: shaping, wrapping and rasterizing a string into a tight
//! premultiplied-RGBA [`Pixmap`], with an optional outline (stroke) under the fill.
//!
//! Shaping and line breaking are cosmic-text's (HarfBuzz-style shaping, Unicode line breaking, so Han text with
//! no spaces wraps between characters); glyph fills are swash's antialiased masks; the stroke is the glyph outlines
//! widened with tiny-skia's stroker (round joins), so it follows the glyph shapes exactly at any thickness.
//!
//! # Fonts
//!
//! Scripts name MetaStudio's fonts, which are not free to redistribute. [`resolve_font`] maps every name to the
//! CJK font the project installs (Debian `fonts-noto-cjk`), picking the weight from the name:
//!
//! | name (case-insensitive)                                   | family             | weight |
//! |-----------------------------------------------------------|--------------------|--------|
//! | `HarmonyOS_Sans_SC_Black`, any name with `black`/`heavy`  | `Noto Sans CJK SC` | 900 (Black where installed, else Bold 700) |
//! | any name with `bold`                                      | `Noto Sans CJK SC` | 700    |
//! | any name with `medium`                                    | `Noto Sans CJK SC` | 500 (Medium where installed, else Regular/Bold by CSS matching) |
//! | `HarmonyOS_Sans_SC_Thin`, any name with `thin`/`light`    | `Noto Sans CJK SC` | 300 (Light where installed, else Regular 400) |
//! | `HarmonyOS_Sans_SC_Regular` and every other name          | `Noto Sans CJK SC` | 400    |
//!
//! Noto Sans CJK SC covers Han, kana, hangul and Latin. A [`TextStyle::font_name`] that is exactly the family name
//! of an installed font (`DejaVu Sans`, say) is used as it is, at the weight its name suggests. Characters the
//! chosen font lacks fall back per script (Han → `Noto Sans CJK SC`, others → `Noto Sans`/`DejaVu Sans`, …);
//! characters no installed font has (most emoji here) draw as the font's missing-glyph box.
//!
//! Drawing never panics: control characters other than line breaks and tabs are dropped, a size or width that is
//! not a finite positive number is replaced or rejected, and a canvas larger than [`MAX_DIMENSION`] per side (or
//! [`MAX_PIXELS`] in all) is cut off at the right and bottom.

use std::fmt;

use cosmic_text::{
    Attrs, Buffer, CacheKey, Command, Family, FontSystem, Metrics, Shaping, SwashCache, SwashContent, Weight, Wrap,
};
use tiny_skia::{FillRule, LineCap, LineJoin, Mask, PathBuilder, Pixmap, PremultipliedColorU8, Stroke, Transform};

/// The family every MetaStudio font name maps to.
pub const CJK_FAMILY: &str = "Noto Sans CJK SC";

/// The largest width or height, in pixels, of a drawn text image; text beyond it is cut off.
pub const MAX_DIMENSION: u32 = 16_384;

/// The largest number of pixels of a drawn text image; the image is cut off at the bottom to stay below it.
pub const MAX_PIXELS: u64 = 1 << 26;

/// The largest font size, in pixels, that is drawn; larger sizes are drawn at this size.
pub const MAX_FONT_SIZE: f32 = 1024.0;

/// Glyph images and outlines kept between calls before the caches are emptied.
const CACHE_LIMIT: usize = 8192;

/// Horizontal alignment of the lines of a text block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Center,
}

/// How to draw a piece of text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextStyle {
    /// A MetaStudio font name (`HarmonyOS_Sans_SC_Regular`, …) or an installed family; see [`resolve_font`].
    pub font_name: String,
    /// Font size (em size) in pixels.
    pub size_px: f32,
    /// Fill colour, straight (not premultiplied) RGBA.
    pub color: [u8; 4],
    /// Outline colour (straight RGBA) and thickness in pixels outside the glyph edges, drawn under the fill.
    pub stroke: Option<([u8; 4], f32)>,
    /// Opacity of the whole drawing (fill and stroke together), 0 to 1.
    pub opacity: f32,
    /// Alignment of the lines within the block (the block is as wide as its widest line).
    pub align: Align,
    /// Wrap lines longer than this many pixels (between words, or between characters for CJK text and words
    /// that do not fit alone). `None`: break only at line breaks in the text.
    pub max_width: Option<f32>,
    /// Distance between baselines, as a multiple of `size_px`.
    pub line_height: f32,
}

impl Default for TextStyle {
    fn default() -> Self {
        TextStyle {
            font_name: "HarmonyOS_Sans_SC_Regular".into(),
            size_px: 32.0,
            color: [255, 255, 255, 255],
            stroke: None,
            opacity: 1.0,
            align: Align::Left,
            max_width: None,
            line_height: 1.25,
        }
    }
}

/// The family and weight (100–900) used for a MetaStudio font name; see the module documentation for the table.
pub fn resolve_font(name: &str) -> (&'static str, u16) {
    (CJK_FAMILY, weight_from_name(name))
}

/// The weight a font name suggests (`…_Black` → 900, `…Bold` → 700, `…_Thin`/`…Light` → 300, otherwise 400).
fn weight_from_name(name: &str) -> u16 {
    let n = name.to_ascii_lowercase();
    if n.contains("black") || n.contains("heavy") {
        900
    } else if n.contains("bold") {
        700
    } else if n.contains("medium") {
        500
    } else if n.contains("thin") || n.contains("light") {
        300
    } else {
        400
    }
}

/// A drawn text block.
#[derive(Debug, Clone)]
pub struct RenderedText {
    /// The drawing, premultiplied RGBA, tight around the block, the stroke and any ink that overhangs the block.
    pub pixmap: Pixmap,
    /// Where the block's top-left corner lies in `pixmap` (non-negative, usually the stroke thickness).
    pub block_x: i32,
    pub block_y: i32,
    /// The block's size: the widest line, and the number of lines times the line height.
    pub block_width: f32,
    pub block_height: f32,
    /// The number of lines after wrapping.
    pub lines: usize,
}

/// A glyph placed in block coordinates.
#[derive(Debug, Clone, Copy)]
struct Placed {
    key: CacheKey,
    /// Integer pen position of the glyph image (the image's origin).
    x: i32,
    y: i32,
    /// Exact origin of the glyph outline (the integer position plus the sub-pixel bin the image was drawn at).
    ox: f32,
    oy: f32,
}

/// A shaped, wrapped text block.
#[derive(Debug)]
struct Layout {
    glyphs: Vec<Placed>,
    width: f32,
    height: f32,
    lines: usize,
}

/// Shapes and draws text. Owns the font database (all system fonts, loaded once in [`TextRenderer::new`], which
/// takes a fraction of a second) and a glyph cache; create one and reuse it.
pub struct TextRenderer {
    fonts: FontSystem,
    cache: SwashCache,
}

impl fmt::Debug for TextRenderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TextRenderer").field("faces", &self.fonts.db().len()).finish_non_exhaustive()
    }
}

impl Default for TextRenderer {
    fn default() -> Self {
        Self::new()
    }
}

impl TextRenderer {
    /// A renderer using every font installed on the system.
    pub fn new() -> TextRenderer {
        Self::with_font_system(FontSystem::new())
    }

    /// A renderer using the given font system (to share one, or to load extra fonts).
    pub fn with_font_system(fonts: FontSystem) -> TextRenderer {
        TextRenderer { fonts, cache: SwashCache::new() }
    }

    /// The font system, to load more fonts into.
    pub fn font_system_mut(&mut self) -> &mut FontSystem {
        &mut self.fonts
    }

    /// The family and weight `font_name` is drawn with: the installed family of exactly that name if there is one,
    /// otherwise [`resolve_font`]'s mapping.
    pub fn font_for(&self, font_name: &str) -> (String, u16) {
        let name = font_name.trim();
        let installed = !name.is_empty()
            && self.fonts.db().faces().any(|f| f.families.iter().any(|(fam, _)| fam.eq_ignore_ascii_case(name)));
        if installed {
            (name.to_string(), weight_from_name(name))
        } else {
            let (family, weight) = resolve_font(name);
            (family.to_string(), weight)
        }
    }

    /// The size (width, height) of the text block `text` makes in `style`: its widest line and its number of
    /// lines times the line height. `None` for text with nothing to draw.
    pub fn measure(&mut self, text: &str, style: &TextStyle) -> Option<(f32, f32)> {
        self.layout(text, style).map(|l| (l.width, l.height))
    }

    /// Draws `text`, returning a tight premultiplied-RGBA pixmap; `None` for text with nothing visible (empty,
    /// whitespace only, fully transparent) or an invalid size. See [`TextRenderer::render_block`] for where the
    /// text block lies in the pixmap.
    pub fn render(&mut self, text: &str, style: &TextStyle) -> Option<Pixmap> {
        self.render_block(text, style).map(|r| r.pixmap)
    }

    /// Draws `text` and tells where the text block (the line boxes) lies in the drawing, for placing it.
    pub fn render_block(&mut self, text: &str, style: &TextStyle) -> Option<RenderedText> {
        let opacity = if style.opacity.is_finite() { style.opacity.clamp(0.0, 1.0) } else { 1.0 };
        if opacity <= 0.0 {
            return None;
        }
        if self.cache.image_cache.len() > CACHE_LIMIT || self.cache.outline_command_cache.len() > CACHE_LIMIT {
            self.cache.image_cache.clear();
            self.cache.outline_command_cache.clear();
        }
        let layout = self.layout(text, style)?;
        let stroke =
            style.stroke.filter(|(c, w)| c[3] > 0 && w.is_finite() && *w > 0.0).map(|(c, w)| (c, w.min(512.0)));
        let pad = stroke.map_or(0.0, |(_, w)| w.ceil() + 1.0);

        // The ink bounds, in block coordinates.
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for g in &layout.glyphs {
            if let Some(img) = self.cache.get_image(&mut self.fonts, g.key) {
                let p = img.placement;
                if p.width == 0 || p.height == 0 {
                    continue;
                }
                let (l, t) = ((g.x + p.left) as f32, (g.y - p.top) as f32);
                x0 = x0.min(l - pad);
                y0 = y0.min(t - pad);
                x1 = x1.max(l + p.width as f32 + pad);
                y1 = y1.max(t + p.height as f32 + pad);
            }
        }
        if x0 > x1 {
            return None; // no ink: whitespace only
        }
        let left = x0.min(0.0).floor();
        let top = y0.min(0.0).floor();
        let right = x1.max(layout.width).ceil();
        let bottom = y1.max(layout.height).ceil();
        let width = ((right - left) as u64).clamp(1, MAX_DIMENSION as u64);
        let height = ((bottom - top) as u64).clamp(1, MAX_DIMENSION as u64).min((MAX_PIXELS / width).max(1));
        let (width, height) = (width as u32, height as u32);
        let (sx, sy) = (-left as i32, -top as i32);
        let n = width as usize * height as usize;

        // The glyphs that show on the canvas (long text may be cut off).
        let margin = pad as i32 + 1;
        let mut visible = Vec::with_capacity(layout.glyphs.len());
        for g in &layout.glyphs {
            if let Some(img) = self.cache.get_image(&mut self.fonts, g.key) {
                let p = img.placement;
                let (l, t) = (g.x + sx + p.left, g.y + sy - p.top);
                let shows = l - margin < width as i32
                    && t - margin < height as i32
                    && l + p.width as i32 + margin > 0
                    && t + p.height as i32 + margin > 0;
                if shows && p.width > 0 && p.height > 0 {
                    visible.push(*g);
                }
            }
        }

        // Stroke coverage: the glyph outlines filled and widened, or (for bitmap glyphs without outlines) the glyph
        // image stamped around a circle.
        let mut stroke_cov: Option<Vec<u8>> = None;
        if let Some((_, w)) = stroke {
            let mut cov = vec![0u8; n];
            let widened =
                Stroke { width: 2.0 * w, line_join: LineJoin::Round, line_cap: LineCap::Round, ..Stroke::default() };
            let mut mask = Mask::new(width, height);
            for g in &visible {
                let (ox, oy) = (g.ox + sx as f32, g.oy + sy as f32);
                let outline = self.cache.get_outline_commands(&mut self.fonts, g.key).filter(|c| !c.is_empty());
                match (outline, mask.as_mut()) {
                    (Some(commands), Some(mask)) => {
                        // Glyph by glyph: small paths rasterize only where they are.
                        let mut pb = PathBuilder::new();
                        append_outline(&mut pb, commands, ox, oy);
                        if let Some(path) = pb.finish() {
                            mask.fill_path(&path, FillRule::Winding, true, Transform::identity());
                            if let Some(band) = path.stroke(&widened, 1.0) {
                                mask.fill_path(&band, FillRule::Winding, true, Transform::identity());
                            }
                        }
                    }
                    _ => {
                        if let Some(img) = self.cache.get_image(&mut self.fonts, g.key) {
                            stamp_dilated(&mut cov, width, height, img, g.x + sx, g.y + sy, w);
                        }
                    }
                }
            }
            if let Some(mask) = mask {
                for (c, m) in cov.iter_mut().zip(mask.data()) {
                    *c = (*c).max(*m);
                }
            }
            stroke_cov = Some(cov);
        }

        // Fill coverage (outline glyphs) and colour glyphs (premultiplied, straight images composited over).
        let mut fill_cov = vec![0u8; n];
        let mut colour: Option<Vec<[f32; 4]>> = None;
        for g in &visible {
            let Some(img) = self.cache.get_image(&mut self.fonts, g.key) else { continue };
            let p = img.placement;
            let (gx, gy) = (g.x + sx + p.left, g.y + sy - p.top);
            let bpp = match img.content {
                SwashContent::Mask => 1,
                SwashContent::Color | SwashContent::SubpixelMask => 4,
            };
            if img.data.len() < p.width as usize * p.height as usize * bpp {
                continue;
            }
            for row in 0..p.height as i32 {
                let y = gy + row;
                if y < 0 || y >= height as i32 {
                    continue;
                }
                for col in 0..p.width as i32 {
                    let x = gx + col;
                    if x < 0 || x >= width as i32 {
                        continue;
                    }
                    let src = (row as usize * p.width as usize + col as usize) * bpp;
                    let dst = y as usize * width as usize + x as usize;
                    match img.content {
                        SwashContent::Mask => {
                            let (a, b) = (fill_cov[dst] as u32, img.data[src] as u32);
                            fill_cov[dst] = (a + b - (a * b + 127) / 255) as u8;
                        }
                        SwashContent::SubpixelMask => {
                            let d = &img.data[src..src + 3];
                            let b = (d[0] as u32 + d[1] as u32 + d[2] as u32) / 3;
                            let a = fill_cov[dst] as u32;
                            fill_cov[dst] = (a + b - (a * b + 127) / 255) as u8;
                        }
                        SwashContent::Color => {
                            let layer = colour.get_or_insert_with(|| vec![[0.0; 4]; n]);
                            let d = &img.data[src..src + 4];
                            let a = d[3] as f32 / 255.0;
                            let px = &mut layer[dst];
                            for k in 0..3 {
                                px[k] = d[k] as f32 / 255.0 * a + px[k] * (1.0 - a);
                            }
                            px[3] = a + px[3] * (1.0 - a);
                        }
                    }
                }
            }
        }

        // Composite: colour glyphs over fill over stroke, all times the opacity.
        let mut pixmap = Pixmap::new(width, height)?;
        let fill = unit_rgba(style.color);
        let stroke_rgba = stroke.map_or([0.0; 4], |(c, _)| unit_rgba(c));
        let mut any = false;
        for (i, out) in pixmap.pixels_mut().iter_mut().enumerate() {
            let fa = fill_cov[i] as f32 / 255.0 * fill[3];
            let sa = stroke_cov.as_ref().map_or(0.0, |s| s[i] as f32 / 255.0 * stroke_rgba[3]);
            let mut px = [0.0f32; 4];
            for k in 0..3 {
                px[k] = fill[k] * fa + stroke_rgba[k] * sa * (1.0 - fa);
            }
            px[3] = fa + sa * (1.0 - fa);
            if let Some(layer) = &colour {
                let c = layer[i];
                for k in 0..4 {
                    px[k] = c[k] + px[k] * (1.0 - c[3]);
                }
            }
            if px[3] <= 0.0 {
                continue;
            }
            let a = (px[3] * opacity * 255.0).round().clamp(0.0, 255.0) as u8;
            let ch = |v: f32| ((v * opacity * 255.0).round().clamp(0.0, 255.0) as u8).min(a);
            if let Some(c) = PremultipliedColorU8::from_rgba(ch(px[0]), ch(px[1]), ch(px[2]), a) {
                any |= a > 0;
                *out = c;
            }
        }
        if !any {
            return None;
        }
        Some(RenderedText {
            pixmap,
            block_x: sx,
            block_y: sy,
            block_width: layout.width,
            block_height: layout.height,
            lines: layout.lines,
        })
    }

    /// Shapes and wraps `text`; `None` when there is nothing to lay out or the style is unusable.
    fn layout(&mut self, text: &str, style: &TextStyle) -> Option<Layout> {
        let text = sanitize(text);
        if text.trim().is_empty() {
            return None;
        }
        if !(style.size_px.is_finite() && style.size_px > 0.0) {
            return None;
        }
        let size = style.size_px.clamp(1.0, MAX_FONT_SIZE);
        let line_height =
            if style.line_height.is_finite() && style.line_height > 0.0 { style.line_height } else { 1.25 };
        let line_px = (size * line_height).clamp(1.0, 8.0 * MAX_FONT_SIZE);
        let max_width = match style.max_width {
            Some(w) if w.is_nan() => None,
            Some(w) if w.is_infinite() => None,
            Some(w) => Some(w.max(1.0)),
            None => None,
        };

        let (family, weight) = self.font_for(&style.font_name);
        let attrs = Attrs::new().family(Family::Name(&family)).weight(Weight(weight));
        let mut buffer = Buffer::new(&mut self.fonts, Metrics::new(size, line_px));
        buffer.set_wrap(Wrap::WordOrGlyph);
        buffer.set_size(max_width, None);
        buffer.set_text(&text, &attrs, Shaping::Advanced, None);
        buffer.shape_until_scroll(&mut self.fonts, false);

        let runs: Vec<_> = buffer.layout_runs().collect();
        if runs.is_empty() {
            return None;
        }
        let width = runs.iter().map(|r| r.line_w).fold(0.0f32, f32::max);
        let height = runs.iter().map(|r| r.line_top + r.line_height).fold(0.0f32, f32::max);
        let mut glyphs = Vec::new();
        for run in &runs {
            let dx = match style.align {
                Align::Left => 0.0,
                Align::Center => ((width - run.line_w) / 2.0).max(0.0),
            };
            for glyph in run.glyphs {
                let pg = glyph.physical((dx, run.line_y), 1.0);
                glyphs.push(Placed {
                    key: pg.cache_key,
                    x: pg.x,
                    y: pg.y,
                    ox: pg.x as f32 + pg.cache_key.x_bin.as_float(),
                    oy: pg.y as f32 + pg.cache_key.y_bin.as_float(),
                });
            }
        }
        Some(Layout { glyphs, width, height, lines: runs.len() })
    }
}

/// Line breaks normalized to `\n`; other control characters (except tabs) removed.
fn sanitize(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    text.chars()
        .filter_map(|c| match c {
            '\r' => Some('\n'),
            '\n' | '\t' => Some(c),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

fn unit_rgba(c: [u8; 4]) -> [f32; 4] {
    [c[0] as f32 / 255.0, c[1] as f32 / 255.0, c[2] as f32 / 255.0, c[3] as f32 / 255.0]
}

/// Appends a glyph outline (font orientation, y up) with its origin at (ox, oy) in canvas pixels (y down).
fn append_outline(pb: &mut PathBuilder, commands: &[Command], ox: f32, oy: f32) {
    let mut open = false;
    for c in commands {
        match *c {
            Command::MoveTo(p) => {
                if open {
                    pb.close();
                }
                pb.move_to(ox + p.x, oy - p.y);
                open = true;
            }
            Command::LineTo(p) if open => pb.line_to(ox + p.x, oy - p.y),
            Command::QuadTo(c1, p) if open => pb.quad_to(ox + c1.x, oy - c1.y, ox + p.x, oy - p.y),
            Command::CurveTo(c1, c2, p) if open => {
                pb.cubic_to(ox + c1.x, oy - c1.y, ox + c2.x, oy - c2.y, ox + p.x, oy - p.y)
            }
            Command::Close if open => {
                pb.close();
                open = false;
            }
            _ => {}
        }
    }
    if open {
        pb.close();
    }
}

/// Stamps a glyph image's alpha at offsets around circles of radius up to `r` into `cov` (max), for glyphs that
/// have no outline to widen (colour bitmaps).
fn stamp_dilated(cov: &mut [u8], width: u32, height: u32, img: &cosmic_text::SwashImage, x: i32, y: i32, r: f32) {
    let p = img.placement;
    let bpp = match img.content {
        SwashContent::Mask => 1,
        _ => 4,
    };
    if img.data.len() < p.width as usize * p.height as usize * bpp {
        return;
    }
    let alpha = |i: usize| if bpp == 1 { img.data[i] } else { img.data[i * 4 + 3] };
    let mut offsets = vec![(0i32, 0i32)];
    let rings = (r / 2.0).ceil().max(1.0) as i32;
    for ring in 1..=rings {
        let rr = r * ring as f32 / rings as f32;
        for k in 0..16 {
            let a = k as f32 * std::f32::consts::TAU / 16.0;
            offsets.push(((rr * a.cos()).round() as i32, (rr * a.sin()).round() as i32));
        }
    }
    offsets.sort_unstable();
    offsets.dedup();
    let (gx, gy) = (x + p.left, y - p.top);
    for (dx, dy) in offsets {
        for row in 0..p.height as i32 {
            let ty = gy + row + dy;
            if ty < 0 || ty >= height as i32 {
                continue;
            }
            for col in 0..p.width as i32 {
                let tx = gx + col + dx;
                if tx < 0 || tx >= width as i32 {
                    continue;
                }
                let a = alpha(row as usize * p.width as usize + col as usize);
                let d = &mut cov[ty as usize * width as usize + tx as usize];
                *d = (*d).max(a);
            }
        }
    }
}
