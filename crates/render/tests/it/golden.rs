//! Golden-image tests of the compositor: frames drawn with [`Prepared::draw_frame`] (nothing is encoded) are
//! compared with reference PNGs in `tests/golden/`.
//!
//! * A frame matches its reference when no more than [`MAX_MISMATCH`] of its pixels differ by more than
//!   [`TOLERANCE`] in some channel (fonts and antialiasing may differ slightly between machines). On a mismatch the
//!   frame (`<name>.actual.png`) and a picture of the differences (`<name>.diff.png`: differing pixels red, the rest
//!   a faded grey copy of the reference) are written to `target/tmp/golden/`, and the test fails naming them.
//! * `MAKE_REF=1 cargo test -p doppel-render golden` writes the references instead (look at them before committing).
//!
//! The frames are deterministic: idle gestures are off (`action_interval` 255) and every text starts with a pause,
//! so frame 0 shows the rest pose, the rest mouth and open eyes whatever the voice's exact timing (espeak-ng timing
//! varies slightly from one synthesis to the next). The subtitle frame is taken in the middle of the sentence, from
//! a crop that shows no head, so the mouth, blinks and nods (which follow the speech timing) are out of the picture.
//!
//! Besides the references, structural tests check facts that need none: layer order, the crop window at 1:1, the
//! landscape placement.

use std::path::{Path, PathBuf};

use doppel_render::{prepare, RenderOptions};
use doppel_speech::EspeakTts;
use serde_json::{json, Value};
use tiny_skia::{Color, Pixmap, PremultipliedColorU8};

use crate::tmp_dir;

/// Largest per-channel difference that still counts as the same pixel.
const TOLERANCE: u8 = 2;
/// Share of pixels that may differ by more than [`TOLERANCE`].
const MAX_MISMATCH: f64 = 0.001;

/// The scene background (straight RGB).
const BACKGROUND: [u8; 3] = [0xDD, 0xE6, 0xF0];
/// The image layer colours.
const RED: [u8; 3] = [0xD9, 0x44, 0x36];
const BLUE: [u8; 3] = [0x2B, 0x6C, 0xD6];
const GREEN: [u8; 3] = [0x2E, 0x9E, 0x5B];
const ORANGE: [u8; 3] = [0xF0, 0x8A, 0x24];

/// A short English line after a pause: frame 0 is silent, at rest.
const HELLO: &str = "<speak><break time=\"600ms\"/>Hello there.</speak>";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn hex(c: [u8; 3]) -> String {
    format!("#{:02X}{:02X}{:02X}", c[0], c[1], c[2])
}

/// Writes a `size`×`size` solid square PNG into `dir` and returns its absolute path as a string.
fn square(dir: &Path, name: &str, size: u32, c: [u8; 3]) -> String {
    let mut p = Pixmap::new(size, size).expect("pixmap");
    p.fill(Color::from_rgba8(c[0], c[1], c[2], 255));
    let path = dir.join(name);
    p.save_png(&path).expect("write png");
    path.to_str().expect("utf-8 path").to_string()
}

/// An IMAGE layer.
fn image_layer(url: &str, (x, y): (i64, i64), size: i64, index: i64) -> Value {
    json!({ "layer_type": "IMAGE", "image_config": { "image_url": url },
            "position": { "dx": x, "dy": y, "layer_index": index }, "size": { "width": size, "height": size } })
}

/// A TEXT layer (the text goes in as Base64 UTF-8).
fn text_layer(text: &str, (x, y): (i64, i64), font_size: i64, color: &str, index: i64) -> Value {
    json!({ "layer_type": "TEXT",
            "text_config": { "text_context": base64(text.as_bytes()), "font_size": font_size, "font_color": color },
            "position": { "dx": x, "dy": y, "layer_index": index } })
}

/// The HUMAN layer: where anna stands (and at which `layer_index`).
fn human_layer((x, y): (i64, i64), (w, h): (i64, i64), index: i64) -> Value {
    json!({ "layer_type": "HUMAN", "position": { "dx": x, "dy": y, "layer_index": index },
            "size": { "width": w, "height": h } })
}

/// Standard Base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A one-scene script for anna on the [`BACKGROUND`] colour, without idle gestures.
fn script(video: Value, text: &str, layers: Vec<Value>) -> doppel_script::Script {
    let mut video_config = json!({ "codec": "H264" });
    for (k, v) in video.as_object().expect("object") {
        video_config[k.as_str()] = v.clone();
    }
    doppel_script::parse_script_value(json!({
        "model_asset_id": "anna",
        "video_config": video_config,
        "action_config": { "action_interval": 255 },
        "shoot_scripts": [{ "sequence_no": 0, "shoot_script": {
            "script_type": "TEXT",
            "text_config": { "text": text },
            "background_config": [{ "background_type": "COLOR", "background_color_config": hex(BACKGROUND) }],
            "layer_config": layers
        }}]
    }))
    .expect("valid script")
}

/// Prepares `script` and draws the given frames (nothing is written).
fn draw(script: &doppel_script::Script, frames: &[usize]) -> Vec<Pixmap> {
    let tts = EspeakTts::new();
    let opts = RenderOptions::new(&tts);
    let prepared = prepare(script, Path::new("golden.mp4"), &opts).expect("prepare");
    frames
        .iter()
        .map(|&i| {
            assert!(i < prepared.frames(), "frame {i} of {}", prepared.frames());
            let mut canvas = prepared.canvas();
            prepared.draw_frame(i, &mut canvas);
            canvas
        })
        .collect()
}

fn draw_first(script: &doppel_script::Script) -> Pixmap {
    draw(script, &[0]).remove(0)
}

/// Straight RGB of an opaque pixel.
fn rgb(p: PremultipliedColorU8) -> [u8; 3] {
    let c = p.demultiply();
    [c.red(), c.green(), c.blue()]
}

fn pixel(p: &Pixmap, x: u32, y: u32) -> [u8; 3] {
    rgb(p.pixel(x, y).unwrap_or_else(|| panic!("({x}, {y}) is outside {}x{}", p.width(), p.height())))
}

/// Compares `actual` with `tests/golden/<name>.png`, or writes the reference when `MAKE_REF=1`.
fn check_golden(name: &str, actual: &Pixmap) {
    let reference = golden_dir().join(format!("{name}.png"));
    if std::env::var("MAKE_REF").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(golden_dir()).expect("golden dir");
        actual.save_png(&reference).expect("write the reference");
        eprintln!("wrote {}", reference.display());
        return;
    }
    let expected = Pixmap::load_png(&reference).unwrap_or_else(|e| {
        panic!("{}: {e}; `MAKE_REF=1 cargo test -p doppel-render golden` writes it", reference.display())
    });
    let size = (actual.width(), actual.height());
    assert_eq!((expected.width(), expected.height()), size, "{name}: size differs from {}", reference.display());

    let mut diff = Pixmap::new(size.0, size.1).expect("pixmap");
    let mut bad = 0usize;
    let mut worst = 0u8;
    for ((a, e), d) in actual.pixels().iter().zip(expected.pixels()).zip(diff.pixels_mut()) {
        let (a, e) = (a.demultiply(), e.demultiply());
        let delta = [a.red().abs_diff(e.red()), a.green().abs_diff(e.green()), a.blue().abs_diff(e.blue())]
            .into_iter()
            .chain([a.alpha().abs_diff(e.alpha())])
            .max()
            .unwrap_or(0);
        worst = worst.max(delta);
        let shown = if delta > TOLERANCE {
            bad += 1;
            // Red, brighter the larger the difference.
            tiny_skia::ColorU8::from_rgba(128 + delta / 2, 0, 0, 255)
        } else {
            // A faded grey copy of the reference, for orientation.
            let luma = (e.red() as u32 * 299 + e.green() as u32 * 587 + e.blue() as u32 * 114) / 1000;
            let g = (170 + luma / 3) as u8;
            tiny_skia::ColorU8::from_rgba(g, g, g, 255)
        };
        *d = shown.premultiply();
    }
    let ratio = bad as f64 / actual.pixels().len() as f64;
    if ratio > MAX_MISMATCH {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("golden");
        std::fs::create_dir_all(&out).expect("output dir");
        let (a, d) = (out.join(format!("{name}.actual.png")), out.join(format!("{name}.diff.png")));
        actual.save_png(&a).expect("write the frame");
        diff.save_png(&d).expect("write the diff");
        panic!(
            "{name}: {bad} pixels ({:.3} %, at most {:.3} % allowed) differ by more than {TOLERANCE} (up to {worst}) \
             from {}\n  frame: {}\n  differences: {}",
            ratio * 100.0,
            MAX_MISMATCH * 100.0,
            reference.display(),
            a.display(),
            d.display()
        );
    }
}

// (a) Layer order: the background, an image under the avatar, the avatar, an image over it.

/// CROP window of the layer-order scene (layout = anna's 1080×1920 canvas, shown at 1:1).
const LAYERS_CROP: (i64, i64, i64, i64) = (200, 400, 640, 960);
/// The image under the avatar (layer_index 1): above her left shoulder (viewer's left), partly behind hair and
/// shoulder, partly on the background.
const LOWER: ((i64, i64), i64) = ((150, 700), 300);
/// The image over the avatar (layer_index 3): over her hair, neck and shoulder on the viewer's right.
const UPPER: ((i64, i64), i64) = ((630, 820), 200);

fn layer_scene(dir: &Path, with_images: bool) -> doppel_script::Script {
    let (dx, dy, w, h) = LAYERS_CROP;
    let mut layers = vec![human_layer((0, 0), (1080, 1920), 2)];
    if with_images {
        layers.push(image_layer(&square(dir, "lower.png", LOWER.1 as u32, RED), LOWER.0, LOWER.1, 1));
        layers.push(image_layer(&square(dir, "upper.png", UPPER.1 as u32, BLUE), UPPER.0, UPPER.1, 3));
    }
    script(json!({ "clip_mode": "CROP", "width": w, "height": h, "dx": dx, "dy": dy }), HELLO, layers)
}

#[test]
fn golden_layer_order() {
    let dir = tmp_dir("golden-layers");
    check_golden("layer_order", &draw_first(&layer_scene(&dir, true)));
}

/// Output pixels (inset by 2 from the edges, where the image filtering blends) of a square layer in the
/// layer-order scene.
fn inside(((x, y), size): ((i64, i64), i64)) -> impl Iterator<Item = (u32, u32)> {
    let (dx, dy, w, h) = LAYERS_CROP;
    let (x0, y0) = ((x - dx + 2).max(0), (y - dy + 2).max(0));
    let (x1, y1) = ((x - dx + size - 2).min(w), (y - dy + size - 2).min(h));
    (y0..y1).flat_map(move |y| (x0..x1).map(move |x| (x as u32, y as u32)))
}

#[test]
fn lower_layer_goes_behind_the_avatar_and_upper_layer_in_front() {
    let dir = tmp_dir("layers-structure");
    let with = draw_first(&layer_scene(&dir, true));
    let without = draw_first(&layer_scene(&dir, false));

    // Under the lower image: where there is no avatar, the image shows; where there is, the avatar shows as it
    // does without the image (bar antialiased edge pixels, which blend with what is under them).
    let (mut on_background, mut on_avatar, mut avatar_kept) = (0, 0, 0);
    for (x, y) in inside(LOWER) {
        if pixel(&without, x, y) == BACKGROUND {
            assert_eq!(pixel(&with, x, y), RED, "({x}, {y}): the lower image should show beside the avatar");
            on_background += 1;
        } else {
            on_avatar += 1;
            avatar_kept += usize::from(pixel(&with, x, y) == pixel(&without, x, y));
        }
    }
    assert!(on_background > 5_000 && on_avatar > 5_000, "{on_background} background, {on_avatar} avatar pixels");
    assert!(avatar_kept * 100 >= on_avatar * 98, "the avatar shows at only {avatar_kept} of {on_avatar} pixels");

    // The upper image covers everything under it, avatar included.
    let mut over_avatar = 0;
    for (x, y) in inside(UPPER) {
        assert_eq!(pixel(&with, x, y), BLUE, "({x}, {y}): the upper image should cover the avatar");
        over_avatar += usize::from(pixel(&without, x, y) != BACKGROUND);
    }
    assert!(over_avatar > 3_000, "the upper image covers only {over_avatar} avatar pixels");

    // The same at two single points (output pixels): her left shoulder under the lower image, her neck under the
    // upper image.
    let (shoulder, neck) = ((230, 500), (450, 480));
    assert_ne!(pixel(&without, shoulder.0, shoulder.1), BACKGROUND, "the shoulder point misses the avatar");
    assert_eq!(pixel(&with, shoulder.0, shoulder.1), pixel(&without, shoulder.0, shoulder.1));
    assert_ne!(pixel(&without, neck.0, neck.1), BACKGROUND, "the neck point misses the avatar");
    assert_eq!(pixel(&with, neck.0, neck.1), BLUE);
}

// (b) CROP and RESIZE of one scene.

/// A green square over the avatar (no HUMAN layer: the avatar stands under every layer), top right of her head.
const SQUARE: ((i64, i64), i64) = ((580, 240), 200);
/// The CROP window (layout px): the head and shoulders, and the square.
const CROP: (i64, i64, i64, i64) = (300, 200, 540, 960);

fn crop_resize_scene(dir: &Path, video: Value) -> doppel_script::Script {
    let layer = image_layer(&square(dir, "green.png", SQUARE.1 as u32, GREEN), SQUARE.0, SQUARE.1, 3);
    script(video, HELLO, vec![layer])
}

fn crop_video((dx, dy, w, h): (i64, i64, i64, i64)) -> Value {
    json!({ "clip_mode": "CROP", "width": w, "height": h, "dx": dx, "dy": dy })
}

#[test]
fn golden_crop_and_resize() {
    let dir = tmp_dir("golden-crop-resize");
    let resize = json!({ "clip_mode": "RESIZE", "width": 720, "height": 1280 });
    check_golden("resize_720x1280", &draw_first(&crop_resize_scene(&dir, resize)));
    check_golden("crop_540x960", &draw_first(&crop_resize_scene(&dir, crop_video(CROP))));
}

#[test]
fn crop_shows_its_window_at_full_size_and_resize_scales_the_whole_layout() {
    let dir = tmp_dir("crop-structure");
    let full = draw_first(&crop_resize_scene(&dir, crop_video((0, 0, 1080, 1920))));
    let crop = draw_first(&crop_resize_scene(&dir, crop_video(CROP)));
    let (dx, dy, w, h) = CROP;
    assert_eq!((crop.width(), crop.height()), (w as u32, h as u32));
    // The crop is the window of the full-size frame, pixel for pixel.
    for y in 0..h as u32 {
        for x in 0..w as u32 {
            assert_eq!(crop.pixel(x, y), full.pixel(x + dx as u32, y + dy as u32), "crop ({x}, {y})");
        }
    }
    // RESIZE shows the whole layout at 2/3: the square's middle and corners land where they should.
    let resize = draw_first(&crop_resize_scene(&dir, json!({ "clip_mode": "RESIZE", "width": 720, "height": 1280 })));
    assert_eq!((resize.width(), resize.height()), (720, 1280));
    let ((sx, sy), size) = SQUARE;
    let at = |x: i64, y: i64| pixel(&resize, (x * 2 / 3) as u32, (y * 2 / 3) as u32);
    for (x, y) in [(sx + 4, sy + 4), (sx + size - 5, sy + 4), (sx + 4, sy + size - 5), (sx + size / 2, sy + size / 2)] {
        assert_eq!(at(x, y), GREEN, "layout ({x}, {y})");
    }
    for (x, y) in [(sx - 6, sy + size / 2), (sx + size / 2, sy - 6)] {
        assert_ne!(at(x, y), GREEN, "layout ({x}, {y}) is outside the square");
    }
    // The background at a corner, and the avatar at 2/3 of her size: her blazer (layout 375, 1200) and shirt
    // (layout 540, 1200) look the same as at full size, bar the resampling of their shading.
    assert_eq!(pixel(&resize, 2, 2), BACKGROUND);
    for (x, y) in [(375, 1200), (540, 1200)] {
        let (a, b) = (pixel(&resize, x * 2 / 3, y * 2 / 3), pixel(&full, x, y));
        assert_ne!(b, BACKGROUND, "layout ({x}, {y}) misses the avatar");
        assert!(a.iter().zip(b).all(|(p, q)| p.abs_diff(q) <= 12), "layout ({x}, {y}): {a:?} at 2/3, {b:?} at 1:1");
    }
}

// (c) Text layers and burned-in CJK subtitles.

/// The CROP window (layout px) of the text scene: her body and hands, no head.
const TEXT_CROP: (i64, i64, i64, i64) = (180, 1100, 720, 720);
/// One short Chinese sentence after a pause: one subtitle cue, on one line.
const CHINESE: &str = "<speak><break time=\"600ms\"/>大家好，我是安娜。</speak>";
/// A frame in the middle of the sentence: 1.28 s (the voice speaks it from about 0.63 s to 1.91 s, and its one cue
/// shows as long).
const SUBTITLE_FRAME: usize = 32;

fn text_scene() -> doppel_script::Script {
    let layers = vec![
        text_layer("Quarterly update", (220, 1130), 56, "#FFFFFF", 3),
        text_layer("数字人视频平台", (220, 1210), 56, "#FFD54A", 3),
    ];
    let (dx, dy, w, h) = TEXT_CROP;
    let video = json!({ "clip_mode": "CROP", "width": w, "height": h, "dx": dx, "dy": dy, "is_subtitle_enable": true });
    script(video, CHINESE, layers)
}

#[test]
fn golden_text_layers_and_subtitles() {
    let frames = draw(&text_scene(), &[0, SUBTITLE_FRAME]);
    // Frame 0 is silent: the text layers, no subtitle yet.
    check_golden("text_layers", &frames[0]);
    check_golden("subtitles_zh", &frames[1]);
}

// (d) Landscape with the avatar on the right.

/// The HUMAN layer of the landscape scene (layout px of the 1920×1080 layout).
const LANDSCAPE_HUMAN: ((i64, i64), (i64, i64)) = ((1250, 0), (607, 1080));
/// A logo square at the top left.
const LOGO: ((i64, i64), i64) = ((120, 120), 160);

fn landscape_scene(dir: &Path) -> doppel_script::Script {
    let layers = vec![
        human_layer(LANDSCAPE_HUMAN.0, LANDSCAPE_HUMAN.1, 2),
        image_layer(&square(dir, "logo.png", LOGO.1 as u32, ORANGE), LOGO.0, LOGO.1, 3),
    ];
    script(json!({ "clip_mode": "RESIZE", "width": 1280, "height": 720 }), HELLO, layers)
}

#[test]
fn golden_landscape_avatar_on_the_right() {
    let dir = tmp_dir("golden-landscape");
    check_golden("landscape_1280x720", &draw_first(&landscape_scene(&dir)));
}

#[test]
fn landscape_avatar_stands_inside_its_layer_on_the_right() {
    let dir = tmp_dir("landscape-structure");
    let frame = draw_first(&landscape_scene(&dir));
    assert_eq!((frame.width(), frame.height()), (1280, 720));
    // Everything the avatar draws lies inside its layer box (1250–1857 × 0–1080 → 833–1238 × 0–720 at 2/3), with a
    // few pixels for the head's sway; elsewhere only the background and the logo show.
    let ((hx, _), (hw, _)) = LANDSCAPE_HUMAN;
    let (left, right) = ((hx * 2 / 3 - 6) as u32, ((hx + hw) * 2 / 3 + 6) as u32);
    let ((lx, ly), ls) = LOGO;
    let logo = |x: u32, y: u32| {
        let (x, y) = (x as i64, y as i64);
        x >= lx * 2 / 3 - 2 && x < (lx + ls) * 2 / 3 + 2 && y >= ly * 2 / 3 - 2 && y < (ly + ls) * 2 / 3 + 2
    };
    let (mut avatar, mut min_x, mut max_x, mut max_y) = (0, u32::MAX, 0, 0);
    for y in 0..720 {
        for x in 0..1280 {
            if logo(x, y) || pixel(&frame, x, y) == BACKGROUND {
                continue;
            }
            assert!((left..right).contains(&x), "avatar pixel at ({x}, {y}), outside {left}..{right}");
            avatar += 1;
            (min_x, max_x, max_y) = (min_x.min(x), max_x.max(x), max_y.max(y));
        }
    }
    // She is centred in her box (1035), fills a good part of it and stands on the bottom edge.
    assert!(avatar > 60_000, "only {avatar} avatar pixels");
    assert!(max_x - min_x > 180, "avatar spans {min_x}..{max_x}");
    let centre = ((hx + hw / 2) * 2 / 3) as u32;
    assert!((min_x + max_x).abs_diff(2 * centre) <= 20, "avatar spans {min_x}..{max_x}, box centre {centre}");
    assert_eq!(max_y, 719, "the avatar should reach the bottom edge");
    assert_eq!(pixel(&frame, (lx + ls / 2) as u32 * 2 / 3, (ly + ls / 2) as u32 * 2 / 3), ORANGE);
}
