//! Times drawing: the avatar at rest, with a turned head and a turned arm (native size), and one turned sprite
//! through doppel's sampler (`raster::draw_transformed`) against tiny-skia's bilinear pipeline.
//!
//! `cargo run --release -p doppel-avatar --example draw_bench`
use doppel_avatar::manifest::BoneTransform;
use doppel_avatar::raster::draw_transformed;
use doppel_avatar::{builtin, FrameState};
use resvg::tiny_skia::{Color, FilterQuality, Pixmap, PixmapPaint, Transform};

fn time(label: &str, pixels: f64, mut f: impl FnMut()) {
    let n = 50;
    let t = std::time::Instant::now();
    for _ in 0..n {
        f();
    }
    let s = t.elapsed().as_secs_f64() / n as f64;
    println!("{label}: {:.2} ms ({:.2} ns a pixel)", s * 1e3, s * 1e9 / pixels);
}

fn main() {
    let a = &builtin()[0];
    let rig = a.rasterize(1.0).expect("rig");
    let mut canvas = Pixmap::new(1080, 1920).expect("canvas");
    let n = rig.bone_count();
    let all = 1080.0 * 1920.0;
    for (label, head_rot, arm_rot) in [("rest", 0.0, 0.0), ("head 1deg", 1.0, 0.0), ("arm 30deg", 0.0, 30.0)] {
        let mut pose = vec![BoneTransform::REST; n];
        pose[rig.bone_index("head").expect("head")].rotate = head_rot;
        pose[rig.bone_index("upper_arm_r").expect("arm")].rotate = arm_rot;
        let st = FrameState { pose, emotion_mix: 1.0, ..Default::default() };
        time(&format!("avatar, {label}"), all, || rig.draw(&st, &mut canvas.as_mut(), 0.0, 0.0));
    }
    // A flat sprite with a soft-edged disc on it, turned by 3 degrees.
    let mut sprite = Pixmap::new(402, 702).expect("sprite");
    sprite.fill(Color::from_rgba8(200, 100, 50, 255));
    let mut pb = resvg::tiny_skia::PathBuilder::new();
    pb.push_circle(200.0, 350.0, 150.0);
    let disc = pb.finish().expect("path");
    let mut paint = resvg::tiny_skia::Paint::default();
    paint.set_color_rgba8(40, 90, 200, 160);
    sprite.fill_path(&disc, &paint, resvg::tiny_skia::FillRule::Winding, Transform::identity(), None);
    let turn = Transform::from_translate(500.0, 500.0).pre_concat(Transform::from_rotate(3.0));
    let px = 402.0 * 702.0;
    time("turned sprite, doppel", px, || draw_transformed(&mut canvas.as_mut(), &sprite, turn, 1.0));
    let bilinear = PixmapPaint { quality: FilterQuality::Bilinear, ..Default::default() };
    time("turned sprite, tiny-skia", px, || {
        canvas.draw_pixmap(0, 0, sprite.as_ref(), &bilinear, turn, None);
    });
    let base = canvas.clone();
    time("frame copy", all, || canvas.data_mut().copy_from_slice(base.data()));
}
