//! Draws the contact sheet of the built-in avatars (rest, the four emotions, every mouth shape and the peak of
//! every action) with doppel's own renderer: `cargo run -p doppel-avatar --example contact_sheet -- OUT.png`.

use doppel_avatar::manifest::BoneTransform;
use doppel_avatar::motion::sample_action;
use doppel_avatar::{builtin, Emotion, FrameState, MouthShape, Shape};
use resvg::tiny_skia::{Color, Pixmap};

fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "docs/avatars.png".into());
    let scale = 0.25;
    let avatars = builtin();
    // Per avatar, one row of poses and one row of faces.
    let max_actions = avatars.iter().map(|a| a.manifest.actions.len()).max().unwrap_or(0);
    let cols = 1 + max_actions;
    let (cw, ch) = ((1080.0 * scale) as u32, (1920.0 * scale) as u32);
    let face_h = ch / 2;
    let mut sheet = Pixmap::new(cw * cols as u32, (ch + face_h) * avatars.len() as u32).expect("sheet");
    sheet.fill(Color::from_rgba8(226, 232, 240, 255));
    for (row, avatar) in avatars.iter().enumerate() {
        let rig = avatar.rasterize(scale).expect("rasterize");
        let bones: Vec<String> = avatar.manifest.bones.iter().map(|b| b.name.clone()).collect();
        let rest =
            FrameState { pose: vec![BoneTransform::REST; bones.len()], emotion_mix: 1.0, ..FrameState::default() };
        let y0 = (row as u32 * (ch + face_h)) as f32;
        rig.draw(&rest, &mut sheet.as_mut(), 0.0, y0);
        for (i, action) in avatar.manifest.actions.iter().enumerate() {
            // The pose farthest from rest: the keyframe with the largest total rotation.
            let peak = action
                .keyframes
                .iter()
                .max_by_key(|k| {
                    k.bones.values().map(|b| (b.rotate.abs() + b.dx.abs() + b.dy.abs()) as i32).sum::<i32>()
                })
                .map_or(0, |k| k.t_ms);
            let mut pose = vec![BoneTransform::REST; bones.len()];
            sample_action(action, &bones, peak as f32, &mut pose);
            let state = FrameState { pose, ..rest.clone() };
            rig.draw(&state, &mut sheet.as_mut(), (cw * (i as u32 + 1)) as f32, y0);
        }
        // Faces: emotions with their rest mouth, then the nine mouth shapes, cropped around the head.
        let faces: Vec<(Emotion, Shape)> =
            [Emotion::Neutral, Emotion::Happy, Emotion::Sad, Emotion::Calm, Emotion::Anger]
                .into_iter()
                .map(|e| (e, Shape::X))
                .chain(Shape::ALL.into_iter().filter(|s| *s != Shape::X).map(|s| (Emotion::Neutral, s)))
                .collect();
        let face_w = cw * cols as u32 / faces.len() as u32;
        let face_rig = avatar.rasterize(1.0).expect("rasterize");
        for (i, (emotion, shape)) in faces.into_iter().enumerate() {
            let mut tile = Pixmap::new(face_rig.width, face_rig.height).expect("tile");
            let state = FrameState { emotion, previous_emotion: emotion, mouth: MouthShape(shape), ..rest.clone() };
            face_rig.draw(&state, &mut tile.as_mut(), 0.0, 0.0);
            // Head region of the native canvas (x 380–700, y 470–950), zoomed into its own tile.
            let zoom = face_w as f32 / 320.0;
            let mut cell = Pixmap::new(face_w, face_h).expect("cell");
            cell.fill(Color::from_rgba8(241, 245, 249, 255));
            let paint = resvg::tiny_skia::PixmapPaint {
                quality: resvg::tiny_skia::FilterQuality::Bicubic,
                ..Default::default()
            };
            let t = resvg::tiny_skia::Transform::from_scale(zoom, zoom).pre_translate(-380.0, -470.0);
            cell.draw_pixmap(0, 0, tile.as_ref(), &paint, t, None);
            let at = resvg::tiny_skia::Transform::from_translate((face_w * i as u32) as f32, y0 + ch as f32);
            sheet.draw_pixmap(0, 0, cell.as_ref(), &paint, at, None);
        }
    }
    sheet.save_png(&out).expect("write png");
    println!("wrote {out}");
}
