//! Draws the assets the example scripts use (a studio background, a logo, a short music loop), so that they are
//! the team's own work: `cargo run -p doppel-render --example make_example_assets -- examples/assets`.

use std::path::PathBuf;

use tiny_skia::{
    Color, FillRule, GradientStop, LinearGradient, Paint, PathBuilder, Pixmap, Point, Rect, Shader, SpreadMode,
    Transform,
};

fn rect(x: f32, y: f32, w: f32, h: f32) -> Rect {
    Rect::from_xywh(x, y, w, h).expect("rect")
}

fn solid(r: u8, g: u8, b: u8, a: u8) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(Color::from_rgba8(r, g, b, a));
    p.anti_alias = true;
    p
}

fn gradient(y0: f32, y1: f32, top: Color, bottom: Color) -> Paint<'static> {
    let shader = LinearGradient::new(
        Point::from_xy(0.0, y0),
        Point::from_xy(0.0, y1),
        vec![GradientStop::new(0.0, top), GradientStop::new(1.0, bottom)],
        SpreadMode::Pad,
        Transform::identity(),
    )
    .unwrap_or(Shader::SolidColor(top));
    Paint { shader, ..Paint::default() }
}

/// A calm studio: a blue-grey wall with soft light, a window with city blocks, shelves and a floor line.
fn studio(w: u32, h: u32) -> Pixmap {
    let mut pm = Pixmap::new(w, h).expect("pixmap");
    let (wf, hf) = (w as f32, h as f32);
    pm.fill_rect(
        rect(0.0, 0.0, wf, hf),
        &gradient(0.0, hf, Color::from_rgba8(214, 225, 236, 255), Color::from_rgba8(176, 192, 210, 255)),
        Transform::identity(),
        None,
    );
    // Window with sky and buildings.
    let (wx, wy, ww, wh) = (wf * 0.58, hf * 0.12, wf * 0.34, hf * 0.5);
    pm.fill_rect(
        rect(wx - 12.0, wy - 12.0, ww + 24.0, wh + 24.0),
        &solid(245, 247, 250, 255),
        Transform::identity(),
        None,
    );
    pm.fill_rect(
        rect(wx, wy, ww, wh),
        &gradient(wy, wy + wh, Color::from_rgba8(150, 196, 235, 255), Color::from_rgba8(214, 234, 248, 255)),
        Transform::identity(),
        None,
    );
    let blocks = [
        (0.02, 0.55, 0.12),
        (0.16, 0.35, 0.1),
        (0.28, 0.6, 0.14),
        (0.45, 0.25, 0.09),
        (0.57, 0.5, 0.13),
        (0.73, 0.4, 0.1),
        (0.85, 0.62, 0.13),
    ];
    for (i, (bx, top, bw)) in blocks.iter().enumerate() {
        let shade = 120 + (i as u8 % 3) * 18;
        pm.fill_rect(
            rect(wx + ww * bx, wy + wh * top, ww * bw, wh * (1.0 - top)),
            &solid(shade, shade + 20, shade + 45, 255),
            Transform::identity(),
            None,
        );
    }
    for k in 1..3 {
        let x = wx + ww * k as f32 / 3.0;
        pm.fill_rect(rect(x - 5.0, wy, 10.0, wh), &solid(245, 247, 250, 255), Transform::identity(), None);
    }
    pm.fill_rect(rect(wx, wy + wh * 0.5 - 5.0, ww, 10.0), &solid(245, 247, 250, 255), Transform::identity(), None);
    // Shelves with books on the left.
    for s in 0..2 {
        let sy = hf * (0.3 + 0.22 * s as f32);
        pm.fill_rect(rect(wf * 0.06, sy, wf * 0.26, 14.0), &solid(120, 94, 74, 255), Transform::identity(), None);
        let colors = [(52, 94, 140), (196, 120, 76), (90, 140, 110), (230, 190, 90), (150, 90, 120), (70, 80, 100)];
        let mut x = wf * 0.07;
        for (i, (r, g, b)) in colors.iter().enumerate() {
            let bh = hf * (0.09 + 0.015 * ((i * 7 + s) % 4) as f32);
            let bw = wf * 0.022;
            pm.fill_rect(rect(x, sy - bh, bw, bh), &solid(*r, *g, *b, 255), Transform::identity(), None);
            x += bw + wf * 0.006;
        }
        // A small plant.
        let mut pb = PathBuilder::new();
        pb.push_circle(wf * 0.28, sy - hf * 0.05, hf * 0.04);
        if let Some(path) = pb.finish() {
            pm.fill_path(&path, &solid(96, 150, 100, 255), FillRule::Winding, Transform::identity(), None);
        }
        pm.fill_rect(
            rect(wf * 0.265, sy - hf * 0.03, wf * 0.03, hf * 0.03),
            &solid(200, 160, 130, 255),
            Transform::identity(),
            None,
        );
    }
    // Floor.
    pm.fill_rect(
        rect(0.0, hf * 0.78, wf, hf * 0.22),
        &gradient(hf * 0.78, hf, Color::from_rgba8(150, 132, 118, 255), Color::from_rgba8(118, 102, 90, 255)),
        Transform::identity(),
        None,
    );
    pm.fill_rect(rect(0.0, hf * 0.78, wf, 6.0), &solid(235, 235, 235, 255), Transform::identity(), None);
    pm
}

/// A simple logo: a rounded square with two overlapping circles (a "d" and its double).
fn logo(size: u32) -> Pixmap {
    let mut pm = Pixmap::new(size, size).expect("pixmap");
    let s = size as f32;
    let mut pb = PathBuilder::new();
    let r = s * 0.2;
    pb.move_to(r, 0.0);
    pb.line_to(s - r, 0.0);
    pb.quad_to(s, 0.0, s, r);
    pb.line_to(s, s - r);
    pb.quad_to(s, s, s - r, s);
    pb.line_to(r, s);
    pb.quad_to(0.0, s, 0.0, s - r);
    pb.line_to(0.0, r);
    pb.quad_to(0.0, 0.0, r, 0.0);
    pb.close();
    if let Some(path) = pb.finish() {
        pm.fill_path(&path, &solid(33, 56, 102, 255), FillRule::Winding, Transform::identity(), None);
    }
    for (cx, color) in [(0.42, (94, 160, 255, 255)), (0.58, (255, 176, 92, 200))] {
        let mut pb = PathBuilder::new();
        pb.push_circle(s * cx, s * 0.5, s * 0.24);
        if let Some(path) = pb.finish() {
            pm.fill_path(
                &path,
                &solid(color.0, color.1, color.2, color.3),
                FillRule::Winding,
                Transform::identity(),
                None,
            );
        }
    }
    pm
}

/// Eight seconds of soft chords (I–vi–IV–V in C) with a gentle pulse, 22,050 Hz mono.
fn music() -> Vec<i16> {
    let rate = 22050.0;
    let chords: [[f32; 3]; 4] =
        [[261.63, 329.63, 392.0], [220.0, 261.63, 329.63], [174.61, 220.0, 261.63], [196.0, 246.94, 293.66]];
    let total = (rate * 8.0) as usize;
    (0..total)
        .map(|i| {
            let t = i as f32 / rate;
            let chord = chords[((t / 2.0) as usize) % 4];
            let beat = (t * 2.0).fract();
            let env = 0.55 + 0.45 * (-beat * 3.0).exp();
            let edge = (t.min(8.0 - t) * 8.0).min(1.0);
            let v: f32 = chord
                .iter()
                .map(|f| (t * f * std::f32::consts::TAU).sin() + 0.3 * (t * f * 2.0 * std::f32::consts::TAU).sin())
                .sum();
            (v / 4.0 * 0.5 * env * edge * 32767.0) as i16
        })
        .collect()
}

/// A four-second animated bar chart (480x270, 25 fps, H.264, no sound) for a VIDEO layer.
fn chart(path: &std::path::Path) {
    let (w, h) = (480u32, 270u32);
    let opts = doppel_media::EncodeOptions { width: w, height: h, audio_rate: None, ..Default::default() };
    let mut enc = doppel_media::Encoder::create(path, &opts).expect("chart encoder");
    let values = [0.35f32, 0.55, 0.45, 0.8, 0.95];
    let colors = [(52u8, 94u8, 140u8), (196, 120, 76), (90, 140, 110), (230, 190, 90), (33, 56, 102)];
    for i in 0..100u32 {
        let mut pm = Pixmap::new(w, h).expect("pixmap");
        pm.fill(Color::from_rgba8(250, 250, 252, 255));
        let grow = ((i as f32 / 60.0).min(1.0) * std::f32::consts::FRAC_PI_2).sin();
        for (k, (v, c)) in values.iter().zip(colors).enumerate() {
            let bh = (h as f32 - 60.0) * v * grow;
            let x = 40.0 + k as f32 * 85.0;
            pm.fill_rect(
                rect(x, h as f32 - 30.0 - bh.max(1.0), 60.0, bh.max(1.0)),
                &solid(c.0, c.1, c.2, 255),
                Transform::identity(),
                None,
            );
        }
        pm.fill_rect(
            rect(30.0, h as f32 - 30.0, w as f32 - 60.0, 3.0),
            &solid(80, 80, 90, 255),
            Transform::identity(),
            None,
        );
        let p = enc.planes();
        let (y, ys) = p.y;
        let (u, us) = p.u;
        let (v, vs) = p.v;
        // BT.709 limited range, by hand (the renderer uses yuvutils-rs; this asset maker keeps to the basics).
        for row in 0..h as usize {
            for col in 0..w as usize {
                let px = pm.pixels()[row * w as usize + col];
                let (r, g, b) = (px.red() as f32, px.green() as f32, px.blue() as f32);
                y[row * ys + col] = (16.0 + 0.1826 * r + 0.6142 * g + 0.0620 * b).round() as u8;
                if row % 2 == 0 && col % 2 == 0 {
                    u[row / 2 * us + col / 2] = (128.0 - 0.1006 * r - 0.3386 * g + 0.4392 * b).round() as u8;
                    v[row / 2 * vs + col / 2] = (128.0 + 0.4392 * r - 0.3989 * g - 0.0403 * b).round() as u8;
                }
            }
        }
        enc.push_frame().expect("frame");
    }
    enc.finish().expect("finish chart");
}

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "examples/assets".into()));
    std::fs::create_dir_all(&dir).expect("assets dir");
    studio(1920, 1080).save_png(dir.join("studio.png")).expect("studio.png");
    studio(1080, 1920).save_png(dir.join("studio-portrait.png")).expect("studio-portrait.png");
    logo(256).save_png(dir.join("logo.png")).expect("logo.png");
    let mut f = std::fs::File::create(dir.join("music.wav")).expect("music.wav");
    doppel_speech::wav::write(&mut f, 22050, &music()).expect("write music");
    chart(&dir.join("chart.mp4"));
    println!("wrote studio.png, studio-portrait.png, logo.png, music.wav and chart.mp4 to {}", dir.display());
}
