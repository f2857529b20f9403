//! Draws the photo avatar contact sheet `docs/photo-avatar.png` from the astronaut test photo: the face at each
//! mouth shape (A–H, X) on the first row, then each emotion (neutral, happy, sad, calm, anger), half-closed and
//! closed eyes on the second. Needs the face models and the photo (`scripts/face-models.sh --test`).
//!
//! `cargo run --release -p doppel-render --example photo_contact_sheet [MODELS_DIR] [OUT.png]`

use doppel_avatar::{Emotion, EyeState, FrameState, MouthShape, Shape};
use tiny_skia::{Pixmap, PixmapPaint, Transform};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).map_or("models", String::as_str));
    let out = args.get(2).map_or("docs/photo-avatar.png", String::as_str);
    let models = doppel_face::FaceModels::load(&dir)?;
    let img = doppel_media::image::read_image(&dir.join("astronaut.png"))?;
    let photo =
        doppel_render::photo::photo_avatar(&models, "astronaut", "Astronaut", (img.width, img.height), &img.data)?;
    let scale = 2.0;
    let rig = photo.avatar.rasterize(scale)?;
    let warp = rig.photo().ok_or("not a photo rig")?;
    let (x0, y0, x1, y1) = warp.region;
    let (cw, ch) = ((x1 - x0) as u32, (y1 - y0) as u32);
    let mut states = Vec::new();
    for s in Shape::ALL {
        states.push(FrameState { mouth: MouthShape(s), emotion_mix: 1.0, ..FrameState::default() });
    }
    for e in [Emotion::Neutral, Emotion::Happy, Emotion::Sad, Emotion::Calm, Emotion::Anger] {
        states.push(FrameState { emotion: e, emotion_mix: 1.0, ..FrameState::default() });
    }
    for eyes in [EyeState::Half, EyeState::Closed] {
        states.push(FrameState { eyes, emotion_mix: 1.0, ..FrameState::default() });
    }
    let cols = 9u32;
    let rows = (states.len() as u32).div_ceil(cols);
    let cell = (cw / 2, ch / 2);
    let mut sheet = Pixmap::new(cell.0 * cols, cell.1 * rows).ok_or("sheet size")?;
    sheet.fill(tiny_skia::Color::WHITE);
    for (i, mut state) in states.into_iter().enumerate() {
        state.pose = vec![Default::default(); rig.bone_count()];
        let mut canvas = Pixmap::new(rig.width, rig.height).ok_or("canvas")?;
        rig.draw(&state, &mut canvas.as_mut(), 0.0, 0.0);
        let (c, r) = (i as u32 % cols, i as u32 / cols);
        let t = Transform::from_translate((c * cell.0) as f32, (r * cell.1) as f32)
            .pre_scale(0.5, 0.5)
            .pre_translate(-x0 as f32, -y0 as f32);
        let paint = PixmapPaint { quality: tiny_skia::FilterQuality::Bicubic, ..PixmapPaint::default() };
        let clip = tiny_skia::Rect::from_xywh((c * cell.0) as f32, (r * cell.1) as f32, cell.0 as f32, cell.1 as f32)
            .ok_or("cell")?;
        let mut mask = tiny_skia::Mask::new(sheet.width(), sheet.height()).ok_or("mask")?;
        mask.fill_path(
            &tiny_skia::PathBuilder::from_rect(clip),
            tiny_skia::FillRule::Winding,
            false,
            Transform::identity(),
        );
        sheet.draw_pixmap(0, 0, canvas.as_ref(), &paint, t, Some(&mask));
    }
    sheet.save_png(out)?;
    println!("wrote {out} ({}x{}, {} x {} cells)", sheet.width(), sheet.height(), cols, rows);
    Ok(())
}
