//! Lip sync as it shows in the video: the mouth region of the decoded frames changes exactly where the speech's
//! mouth-shape track (`Timeline::frames`, one letter per 40 ms frame) changes, and the lips are closed on every
//! bilabial (p, b, m).
//!
//! One render (`render()` into a temporary folder) gives both the report's timeline and the MP4: they come from the
//! same synthesis. (espeak-ng timing varies very slightly from one utterance to the next, so a second synthesis of
//! the same text must never be compared with the first.) Both tests share that one render.

use std::sync::OnceLock;

use doppel_avatar::{BoneTransform, EyeState, FrameState, MouthShape, Shape};
use doppel_media::decode::VideoReader;
use doppel_render::{render, RenderOptions, FPS};
use doppel_speech::{EspeakTts, Timeline};
use serde_json::json;
use tiny_skia::{Color, Pixmap};

use crate::tmp_dir;

/// Plenty of bilabials (b, p, m) next to open vowels, and a pause between the sentences (rest, X).
const TEXT: &str = "Bob ate a big pie. Mama made apple pie.";

/// Output size; anna (1080 × 1920 canvas) is drawn at 2/3 of her native size.
const WIDTH: u32 = 720;
const HEIGHT: u32 = 1280;
const SCALE: f32 = 2.0 / 3.0;

/// The mouth region in output pixels, `x0, y0, x1, y1` (end exclusive).
///
/// Every one of anna's mouth shapes differs from the rest shape X only inside native x 498–581, y 673–747
/// (332–387 × 449–498 at 2/3; `mouth_region_holds_every_mouth_shape_and_no_eye` checks it by drawing). The head
/// moves a few pixels while she speaks (sway up to ±4 px, nods up to 3 px, breathing ±2 px at this size), so the
/// region has a margin of about 8 px. Its top (y 441) stays below the eyes (y ≤ 400 at 2/3, plus head movement), so
/// blinks never show in it; its bottom stays above the chin.
const MOUTH: (u32, u32, u32, u32) = (324, 441, 396, 506);

/// Head movement compensated between consecutive frames: ± this many pixels in x and y.
///
/// The head is drawn at whole-pixel offsets and moves at most 1 px from one frame to the next (nods are the fastest:
/// 3 px over 9 frames); 2 px leaves a margin without letting one mouth shape pass for another.
const SHIFT: i32 = 2;

/// The mouth changed between two frames when the motion-compensated mean absolute difference of the mouth region
/// (0–255, over RGB) is above this.
///
/// Calibrated from the data (H.264 at crf 20, as rendered):
/// * Frames holding one shape: at most 1.7 (coding noise; the plain difference reaches 9 when the head moves a
///   pixel, which is why the difference is taken at the best shift within ±`SHIFT` px).
/// * Frames where the shape changes: 11–42 in this video, except rest X ↔ closed A, both closed lips (X slightly
///   fuller): 4.7. Drawn losslessly at 2/3, every pair of shapes differs by at least 8.9 at the best shift (B ↔ G),
///   except X ↔ A: 3.7.
///
/// 3.0 sits between the two groups: 1.8× the largest hold, and below the X ↔ A change (the only one within 3× of
/// it), which the 90 % rule lets pass even if coding ever blurs it.
const CHANGE: f64 = 3.0;

/// Share of shape changes that must show as a change, and of held shapes that must show as still.
const MIN_SHARE: f64 = 0.9;

/// A mouth is open when its region has more than this many "opening" pixels: the dark cavity (luma < 60: the mouth
/// interior #4A1C26 has luma 43, the lip line #7E3440 of the closed shapes 76) or teeth (every channel > 215; skin
/// and lips have blue ≤ 180).
///
/// Calibrated from the data: closed A frames have 1–39 such pixels and rest X frames 4–46 (antialiased lip line,
/// coding noise); open shapes have far more: B (teeth together) 247–291, C 553–588, D 1198–1222. 120 is 3× the
/// most a closed mouth shows and under half the least an open one (B) shows.
const OPEN_PIXELS: usize = 120;

/// A patch of RGB pixels: the mouth region plus `SHIFT` px all around, for shifted comparisons.
struct Patch {
    w: i32,
    rgb: Vec<u8>,
}

impl Patch {
    fn cut(frame: &[u8], width: u32) -> Patch {
        let (x0, y0, x1, y1) = MOUTH;
        let pad = SHIFT as u32;
        let mut rgb = Vec::new();
        for y in y0 - pad..y1 + pad {
            for x in x0 - pad..x1 + pad {
                let i = ((y * width + x) * 4) as usize;
                rgb.extend_from_slice(&frame[i..i + 3]);
            }
        }
        Patch { w: (x1 - x0 + 2 * pad) as i32, rgb }
    }

    /// The pixel at `(x, y)` relative to the region's top-left corner (`-SHIFT..` is inside the patch).
    fn at(&self, x: i32, y: i32) -> &[u8] {
        let i = (((y + SHIFT) * self.w + x + SHIFT) * 3) as usize;
        &self.rgb[i..i + 3]
    }

    /// Mean absolute difference (per channel, 0–255) between this region and `other`'s moved by `(dx, dy)`.
    fn diff_at(&self, other: &Patch, dx: i32, dy: i32) -> f64 {
        let (w, h) = region_size();
        let mut sum = 0u64;
        for y in 0..h {
            for x in 0..w {
                let (a, b) = (self.at(x, y), other.at(x + dx, y + dy));
                sum += a.iter().zip(b).map(|(p, q)| p.abs_diff(*q) as u64).sum::<u64>();
            }
        }
        sum as f64 / (w * h * 3) as f64
    }

    /// The difference to `other` at the shift (within ±`SHIFT` px) that matches best: what is left when the head's
    /// own movement is taken out.
    fn diff(&self, other: &Patch) -> f64 {
        let mut best = f64::MAX;
        for dy in -SHIFT..=SHIFT {
            for dx in -SHIFT..=SHIFT {
                best = best.min(self.diff_at(other, dx, dy));
            }
        }
        best
    }

    /// Pixels of the region that show an open mouth: dark cavity or teeth (see [`OPEN_PIXELS`]).
    fn opening(&self) -> usize {
        let (w, h) = region_size();
        let mut n = 0;
        for y in 0..h {
            for x in 0..w {
                let p = self.at(x, y);
                let luma = (p[0] as u32 * 299 + p[1] as u32 * 587 + p[2] as u32 * 114) / 1000;
                if luma < 60 || p.iter().all(|&c| c > 215) {
                    n += 1;
                }
            }
        }
        n
    }
}

fn region_size() -> (i32, i32) {
    let (x0, y0, x1, y1) = MOUTH;
    ((x1 - x0) as i32, (y1 - y0) as i32)
}

/// The rendered take: its timeline (from the report) and the mouth patch of every decoded frame.
struct Take {
    timeline: Timeline,
    letters: Vec<char>,
    patches: Vec<Patch>,
}

fn take() -> &'static Take {
    static TAKE: OnceLock<Take> = OnceLock::new();
    TAKE.get_or_init(|| {
        let dir = tmp_dir("lipsync");
        let out = dir.join("lipsync.mp4");
        let script = doppel_script::parse_script_value(json!({
            "model_asset_id": "anna",
            "video_config": { "width": WIDTH, "height": HEIGHT, "codec": "H264" },
            "action_config": { "action_interval": 255 },
            "shoot_scripts": [{ "sequence_no": 0, "shoot_script": {
                "script_type": "TEXT",
                "text_config": { "text": TEXT },
                "background_config": [{ "background_type": "COLOR", "background_color_config": "#DDE6F0" }]
            }}]
        }))
        .expect("valid script");
        let tts = EspeakTts::new();
        let mut opts = RenderOptions::new(&tts);
        opts.base_dir = dir.clone();
        let report = render(&script, &out, &mut opts).expect("render");
        assert_eq!(report.scenes.len(), 1);
        let timeline = report.scenes[0].1.clone();
        assert_eq!(timeline.fps, FPS);
        let letters: Vec<char> = timeline.frames.chars().collect();
        assert_eq!(letters.len() as u64, report.frames, "one mouth letter per frame: {}", timeline.frames);

        let mut reader = VideoReader::open(&out).expect("open the video");
        let mut patches = Vec::new();
        while let Some(f) = reader.next_frame().expect("decode") {
            assert_eq!((f.width, f.height), (WIDTH, HEIGHT));
            // Decoded frame i is video frame i, the one letter i of the track describes.
            let at = patches.len() as i64 * (1000 / FPS) as i64;
            assert!(f.pts_ms.abs_diff(at) <= 1, "decoded frame {} at {} ms", patches.len(), f.pts_ms);
            patches.push(Patch::cut(&f.data, f.width));
        }
        // Every frame decodes back, the last one included.
        let decoded = patches.len() as u64;
        assert_eq!(decoded, report.frames, "{decoded} of {} frames", report.frames);
        let _ = std::fs::remove_dir_all(&dir);
        Take { timeline, letters, patches }
    })
}

#[test]
fn mouth_region_holds_every_mouth_shape_and_no_eye() {
    let rig = doppel_avatar::builtin_by_id("anna").expect("anna").rasterize(SCALE).expect("rasterize");
    let state = |mouth, eyes| FrameState {
        pose: vec![BoneTransform::REST; rig.bone_count()],
        mouth: MouthShape(mouth),
        eyes,
        emotion_mix: 1.0,
        ..FrameState::default()
    };
    let draw = |s: &FrameState| {
        let mut p = Pixmap::new(WIDTH, HEIGHT).expect("pixmap");
        p.fill(Color::WHITE);
        rig.draw(s, &mut p.as_mut(), 0.0, 0.0);
        p
    };
    // The bounding box of the pixels that differ between two drawings.
    let changed = |a: &Pixmap, b: &Pixmap| {
        let mut r: Option<(u32, u32, u32, u32)> = None;
        for (i, (p, q)) in a.pixels().iter().zip(b.pixels()).enumerate() {
            if p != q {
                let (x, y) = (i as u32 % WIDTH, i as u32 / WIDTH);
                let (x0, y0, x1, y1) = r.unwrap_or((x, y, x, y));
                r = Some((x0.min(x), y0.min(y), x1.max(x), y1.max(y)));
            }
        }
        r
    };
    let rest = draw(&state(Shape::X, EyeState::Open));
    // Every shape shows inside the region with the margin for head movement to spare.
    let margin = 6;
    let (x0, y0, x1, y1) = MOUTH;
    for s in Shape::ALL.into_iter().filter(|s| *s != Shape::X) {
        let b = changed(&rest, &draw(&state(s, EyeState::Open))).unwrap_or_else(|| panic!("{s:?} looks like X"));
        assert!(
            b.0 >= x0 + margin && b.1 >= y0 + margin && b.2 < x1 - margin && b.3 < y1 - margin,
            "{s:?} changes {b:?}, not well inside {MOUTH:?}"
        );
    }
    // Blinks change pixels well above it.
    let b = changed(&rest, &draw(&state(Shape::X, EyeState::Closed))).expect("closed eyes differ");
    assert!(b.3 + margin < y0, "the eyes reach y {} (region from {y0})", b.3);
}

#[test]
fn mouth_pixels_change_exactly_where_the_mouth_track_changes() {
    let t = take();
    let (mut changes, mut changes_seen, mut holds, mut holds_still) = (0, 0, 0, 0);
    let mut table = String::new();
    for i in 1..t.patches.len() {
        let d = t.patches[i].diff(&t.patches[i - 1]);
        let changed = t.letters[i] != t.letters[i - 1];
        if changed {
            changes += 1;
            changes_seen += usize::from(d > CHANGE);
        } else {
            holds += 1;
            holds_still += usize::from(d <= CHANGE);
        }
        let flag = if changed != (d > CHANGE) { "  <-- wrong" } else { "" };
        table += &format!("{i:3} {}{} {d:6.2}{flag}\n", t.letters[i - 1], t.letters[i]);
    }
    eprintln!("frame, shapes, motion-compensated difference:\n{table}");
    assert!(changes >= 15 && holds >= 20, "{changes} changes and {holds} holds in {}", t.timeline.frames);
    let seen = changes_seen as f64 / changes as f64;
    let still = holds_still as f64 / holds as f64;
    eprintln!("{changes_seen}/{changes} changes show, {holds_still}/{holds} holds stay still");
    assert!(seen >= MIN_SHARE, "only {changes_seen} of {changes} shape changes show in the mouth region");
    assert!(still >= MIN_SHARE, "only {holds_still} of {holds} held shapes stay still in the mouth region");
}

#[test]
fn mouth_is_closed_on_every_bilabial() {
    let t = take();
    let opening: Vec<usize> = t.patches.iter().map(Patch::opening).collect();
    // The measure tells closed from open lips in this very video: every A (closed) frame is under the threshold,
    // every frame showing teeth or the cavity (B, C, D) over it.
    for (i, (&n, &letter)) in opening.iter().zip(&t.letters).enumerate() {
        match letter {
            'A' => assert!(n < OPEN_PIXELS, "frame {i} (A, closed) has {n} opening pixels"),
            'B' | 'C' | 'D' => assert!(n > OPEN_PIXELS, "frame {i} ({letter}, open) has only {n} opening pixels"),
            _ => {}
        }
    }
    for shape in ['A', 'D'] {
        let counts: Vec<usize> = opening.iter().zip(&t.letters).filter(|(_, &l)| l == shape).map(|(&n, _)| n).collect();
        assert!(!counts.is_empty(), "no {shape} frame in {}", t.timeline.frames);
        eprintln!("{shape}: opening pixels {counts:?}");
    }

    // Every p, b and m: some frame within one frame of the phoneme shows closed lips.
    let frame_ms = 1000 / FPS;
    let bilabial = |p: &str| {
        let mut c = p.chars();
        matches!(c.next(), Some('p' | 'b' | 'm')) && c.all(|c| !c.is_ascii_alphabetic())
    };
    let mut checked = 0;
    for p in t.timeline.phonemes.iter().filter(|p| bilabial(&p.phoneme)) {
        let first = (p.start_ms / frame_ms).saturating_sub(1) as usize;
        let last = ((p.end_ms.max(p.start_ms + 1) - 1) / frame_ms + 1) as usize;
        let around = &opening[first.min(opening.len() - 1)..=last.min(opening.len() - 1)];
        let closed = around.iter().min().copied().unwrap_or(usize::MAX);
        assert!(
            closed < OPEN_PIXELS,
            "{:?} at {}–{} ms: frames {first}–{last} are all open (opening pixels {around:?}, letters {:?})",
            p.phoneme,
            p.start_ms,
            p.end_ms,
            t.letters.get(first..=last.min(t.letters.len() - 1))
        );
        checked += 1;
    }
    // Bob (2), big, pie, Mama (2), made, apple, pie: 9 bilabials (8 required), so that the check cannot pass vacuously.
    assert!(checked >= 8, "only {checked} bilabials in {:?}", t.timeline.phonemes);
}
