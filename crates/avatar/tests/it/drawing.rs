//! Drawing the built-in anna: what changes where.

use doppel_avatar::manifest::BoneTransform;
use doppel_avatar::motion::sample_action;
use doppel_avatar::{Emotion, EyeState, FrameState, MouthShape, Shape};

use crate::support::{anna_rig, count_alpha, diff_box, draw, rest, scaled, within, Rect};

const SCALE: f32 = 0.25;
/// Native canvas regions of anna's face (1080 × 1920).
const MOUTH: Rect = (470, 650, 610, 770);
const EYES: Rect = (415, 530, 665, 600);
/// Brows, eyes and mouth.
const FACE: Rect = (415, 470, 665, 770);
/// Beside the head on the viewer's left, outside the body at rest: where a waving hand goes.
const WAVING_HAND: Rect = (30, 300, 240, 1000);

#[test]
fn rest_pose_covers_much_of_the_canvas_and_leaves_the_corners_transparent() {
    let rig = anna_rig();
    assert_eq!((rig.width, rig.height), (270, 480));
    let p = draw(rig, &rest(rig));
    let opaque = p.pixels().iter().filter(|c| c.alpha() == 255).count();
    assert!(opaque > p.pixels().len() / 5, "{opaque} opaque of {}", p.pixels().len());
    let (w, h) = (p.width() - 1, p.height() - 1);
    for (x, y) in [(0, 0), (w, 0), (0, h), (w, h)] {
        assert_eq!(p.pixel(x, y).map(|c| c.alpha()), Some(0), "corner {x},{y}");
    }
    // The whole top band above the hair is empty too.
    assert_eq!(count_alpha(&p, (0, 0, w, 40), 1), 0);
}

#[test]
fn drawing_is_repeatable_and_offset_by_the_origin() {
    let rig = anna_rig();
    let a = draw(rig, &rest(rig));
    assert!(diff_box(&a, &draw(rig, &rest(rig))).is_none());
    // Drawn 10 px right and 20 px down, pixel (x, y) moves to (x + 10, y + 20).
    let mut moved = tiny_skia::Pixmap::new(rig.width, rig.height).expect("pixmap");
    rig.draw(&rest(rig), &mut moved.as_mut(), 10.0, 20.0);
    for (x, y) in [(135, 150), (100, 300), (170, 200)] {
        assert_eq!(a.pixel(x, y), moved.pixel(x + 10, y + 20), "{x},{y}");
    }
}

#[test]
fn mouth_shape_changes_pixels_only_around_the_mouth() {
    let rig = anna_rig();
    let mouth = |s| draw(rig, &FrameState { mouth: MouthShape(s), ..rest(rig) });
    let a = mouth(Shape::A);
    let d = mouth(Shape::D);
    let changed = diff_box(&a, &d).expect("A and D differ");
    assert!(within(changed, scaled(MOUTH, SCALE)), "{changed:?}");
    // Every shape differs from rest X, always inside the mouth region.
    let x = mouth(Shape::X);
    for s in Shape::ALL.into_iter().filter(|s| *s != Shape::X) {
        let changed = diff_box(&x, &mouth(s)).unwrap_or_else(|| panic!("{s:?} looks like X"));
        assert!(within(changed, scaled(MOUTH, SCALE)), "{s:?}: {changed:?}");
    }
}

#[test]
fn closing_the_eyes_changes_pixels_only_around_both_eyes() {
    let rig = anna_rig();
    let open = draw(rig, &rest(rig));
    for state in [EyeState::Closed, EyeState::Half] {
        let changed = diff_box(&open, &draw(rig, &FrameState { eyes: state, ..rest(rig) })).expect("eyes change");
        assert!(within(changed, scaled(EYES, SCALE)), "{state:?}: {changed:?}");
        // Both eyes: the change spans the middle of the face.
        let mid = (540.0 * SCALE) as u32;
        assert!(changed.0 < mid && changed.2 > mid, "{state:?}: {changed:?}");
    }
}

#[test]
fn emotion_changes_only_brows_eyes_and_mouth() {
    let rig = anna_rig();
    let neutral = draw(rig, &rest(rig));
    for e in [Emotion::Happy, Emotion::Sad, Emotion::Calm, Emotion::Anger] {
        let shown = draw(rig, &FrameState { emotion: e, previous_emotion: e, ..rest(rig) });
        let changed = diff_box(&neutral, &shown).unwrap_or_else(|| panic!("{e:?} looks neutral"));
        assert!(within(changed, scaled(FACE, SCALE)), "{e:?}: {changed:?}");
    }
    // Happy changes the brows (above the eyes) as well as the mouth (below them).
    let happy = draw(rig, &FrameState { emotion: Emotion::Happy, previous_emotion: Emotion::Happy, ..rest(rig) });
    let changed = diff_box(&neutral, &happy).expect("happy");
    assert!(changed.1 < (530.0 * SCALE) as u32 && changed.3 > (650.0 * SCALE) as u32, "{changed:?}");
}

#[test]
fn emotion_mix_fades_from_the_previous_emotion_to_the_new_one() {
    let rig = anna_rig();
    let face = |emotion, previous_emotion, emotion_mix| {
        draw(rig, &FrameState { emotion, previous_emotion, emotion_mix, ..rest(rig) })
    };
    let neutral = face(Emotion::Neutral, Emotion::Neutral, 1.0);
    let happy = face(Emotion::Happy, Emotion::Happy, 1.0);
    assert!(diff_box(&neutral, &face(Emotion::Happy, Emotion::Neutral, 0.0)).is_none(), "mix 0 is the previous");
    assert!(diff_box(&happy, &face(Emotion::Happy, Emotion::Neutral, 1.0)).is_none(), "mix 1 is the new one");
    let half = face(Emotion::Happy, Emotion::Neutral, 0.5);
    assert!(diff_box(&half, &neutral).is_some() && diff_box(&half, &happy).is_some());
}

#[test]
fn wave_peak_raises_the_hand_beside_the_head() {
    let rig = anna_rig();
    let avatar = doppel_avatar::builtin_by_id("anna").expect("anna");
    let bones: Vec<String> = avatar.manifest.bones.iter().map(|b| b.name.clone()).collect();
    let wave = rig.action("wave").expect("wave");
    let mut pose = vec![BoneTransform::REST; bones.len()];
    sample_action(wave, &bones, 720.0, &mut pose);
    let at_rest = draw(rig, &rest(rig));
    let waving = draw(rig, &FrameState { pose, ..rest(rig) });
    let region = scaled(WAVING_HAND, SCALE);
    assert_eq!(count_alpha(&at_rest, region, 1), 0, "nothing beside the head at rest");
    let hand = count_alpha(&waving, region, 255);
    assert!(hand > 300, "only {hand} opaque pixels of the raised arm beside the head");
    // The character's other hand (viewer's right) does not come up.
    assert_eq!(count_alpha(&waving, scaled((880, 300, 1080, 760), SCALE), 1), 0);
}
