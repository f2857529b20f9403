//! Times drawing the avatar: rest pose vs a turned head, at native size.
use doppel_avatar::manifest::BoneTransform;
use doppel_avatar::{builtin, FrameState};
use resvg::tiny_skia::Pixmap;
fn main() {
    let a = &builtin()[0];
    let rig = a.rasterize(1.0).unwrap();
    let mut canvas = Pixmap::new(1080, 1920).unwrap();
    let n = rig.bone_count();
    for (label, head_rot, arm_rot) in [("rest", 0.0, 0.0), ("head 1deg", 1.0, 0.0), ("arm 30deg", 0.0, 30.0)] {
        let mut pose = vec![BoneTransform::REST; n];
        pose[rig.bone_index("head").unwrap()].rotate = head_rot;
        pose[rig.bone_index("upper_arm_r").unwrap()].rotate = arm_rot;
        let st = FrameState { pose, emotion_mix: 1.0, ..Default::default() };
        let t = std::time::Instant::now();
        for _ in 0..50 {
            rig.draw(&st, &mut canvas.as_mut(), 0.0, 0.0);
        }
        println!("{label}: {:.2} ms/frame", t.elapsed().as_secs_f64() * 1000.0 / 50.0);
    }
    for size in [100u32, 400] {
        let mut sp = Pixmap::new(size, size).unwrap();
        sp.fill(resvg::tiny_skia::Color::from_rgba8(200, 100, 50, 255));
        let paint =
            resvg::tiny_skia::PixmapPaint { quality: resvg::tiny_skia::FilterQuality::Bilinear, ..Default::default() };
        let tr = resvg::tiny_skia::Transform::from_translate(500.0, 500.0)
            .pre_concat(resvg::tiny_skia::Transform::from_rotate(1.0));
        let t = std::time::Instant::now();
        for _ in 0..50 {
            canvas.draw_pixmap(0, 0, sp.as_ref(), &paint, tr, None);
        }
        println!("rotated {size}px square: {:.2} ms", t.elapsed().as_secs_f64() * 1000.0 / 50.0);
        let paint2 =
            resvg::tiny_skia::PixmapPaint { quality: resvg::tiny_skia::FilterQuality::Nearest, ..Default::default() };
        let t = std::time::Instant::now();
        for _ in 0..50 {
            canvas.draw_pixmap(0, 0, sp.as_ref(), &paint2, tr, None);
        }
        println!("rotated nearest {size}px square: {:.2} ms", t.elapsed().as_secs_f64() * 1000.0 / 50.0);
    }
    let t = std::time::Instant::now();
    let base = canvas.clone();
    for _ in 0..50 {
        canvas.data_mut().copy_from_slice(base.data());
    }
    println!("copy: {:.2} ms", t.elapsed().as_secs_f64() * 1000.0 / 50.0);
}
