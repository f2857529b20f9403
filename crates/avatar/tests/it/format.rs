//! The rules of `docs/avatar-format.md`, checked against the loader, the rig and the motion.

use std::collections::BTreeMap;

use doppel_avatar::manifest::{ActionDef, BoneTransform, Keyframe, Manifest};
use doppel_avatar::motion::{sample_action, Cue, CueKind, Motion, MotionInput, MotionOptions};
use doppel_avatar::{builtin_by_id, FrameState};
use serde_json::{json, Value};

use crate::support::{draw, load_error, png, rest, svg, Synthetic};

const DOC: &str = include_str!("../../../../docs/avatar-format.md");

/// The problems of anna's manifest after an edit (every file counts as present).
fn problems_after(edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut v = serde_json::to_value(&builtin_by_id("anna").expect("anna").manifest).expect("to json");
    edit(&mut v);
    let m: Manifest = serde_json::from_value(v).expect("still parses");
    m.problems(&|_| true)
}

fn assert_problem(problems: &[String], needle: &str) {
    assert!(problems.iter().any(|p| p.contains(needle)), "{needle:?} not in {problems:#?}");
}

/// Centre of mass of the alpha of a pixmap.
fn centroid(p: &tiny_skia::Pixmap) -> (f64, f64) {
    let (mut sx, mut sy, mut sa) = (0.0, 0.0, 0.0);
    for (i, c) in p.pixels().iter().enumerate() {
        let a = c.alpha() as f64;
        sx += a * (i as u32 % p.width()) as f64;
        sy += a * (i as u32 / p.width()) as f64;
        sa += a;
    }
    assert!(sa > 0.0, "nothing drawn");
    // Pixel (x, y) covers x..x+1: its centre is at x + 0.5.
    (sx / sa + 0.5, sy / sa + 0.5)
}

fn transform(rotate: f32, dx: f32, dy: f32, scale: f32) -> BoneTransform {
    BoneTransform { rotate, dx, dy, scale }
}

#[test]
fn json_examples_in_the_doc_parse_and_the_minimal_package_loads() {
    let mut blocks = Vec::new();
    let mut rest = DOC;
    while let Some(start) = rest.find("```json\n") {
        let body = &rest[start + 8..];
        let end = body.find("```").expect("closed block");
        blocks.push(&body[..end]);
        rest = &body[end..][3..];
    }
    let complete: Vec<&str> =
        blocks.into_iter().filter(|b| b.trim_start().starts_with('{') && !b.contains('…')).collect();
    let (mut manifests, mut actions) = (Vec::new(), 0);
    for block in &complete {
        if block.contains("\"format\"") {
            manifests.push(serde_json::from_str::<Manifest>(block).unwrap_or_else(|e| panic!("{e}:\n{block}")));
        } else {
            serde_json::from_str::<ActionDef>(block).unwrap_or_else(|e| panic!("{e}:\n{block}"));
            actions += 1;
        }
    }
    assert!(actions >= 2, "the wave and frame-sequence examples");
    let blob = manifests.iter().find(|m| m.id == "blob").expect("the minimal package example");

    // Write the minimal package with simple images for every file it names, and load it.
    let mut pkg = Synthetic::new(blob.canvas.width, blob.canvas.height);
    pkg.manifest = serde_json::to_value(blob).expect("json");
    pkg.files.clear();
    let files =
        blob.parts.iter().filter_map(|p| p.file.clone()).chain(blob.slots.values().flat_map(|s| s.values().cloned()));
    for f in files {
        pkg.file(&f, svg(1080, 1920, r##"<ellipse cx="540" cy="700" rx="170" ry="210" fill="#F3C7A6"/>"##));
    }
    let (_dir, avatar) = pkg.load();
    let rig = avatar.rasterize(0.1).expect("rasterize");
    // Its nod moves the head down by the documented 16 px at 300 ms.
    let bones: Vec<String> = avatar.manifest.bones.iter().map(|b| b.name.clone()).collect();
    let mut pose = vec![BoneTransform::REST; bones.len()];
    sample_action(rig.action("nod").expect("nod"), &bones, 300.0, &mut pose);
    assert_eq!(pose[1].dy, 16.0);
}

#[test]
fn bone_transform_is_translate_pivot_rotate_scale_and_children_follow_parents() {
    // body: pivot (300, 600); arm hangs on body with pivot (400, 300); an 8 × 8 dot centred at (450, 300) on arm.
    let mut pkg = Synthetic::new(600, 600);
    pkg.bone(json!({ "name": "arm", "parent": "body", "pivot": [400, 300] }));
    pkg.part(
        "dot",
        "arm",
        "parts/dot.svg",
        svg(600, 600, r##"<rect x="446" y="296" width="8" height="8" fill="#000"/>"##),
    );
    let (_dir, avatar) = pkg.load();
    let rig = avatar.rasterize(1.0).expect("rasterize");

    // (a, b, c, d, e, f) maps (x, y) to (a·x + c·y + e, b·x + d·y + f).
    type Affine = [f64; 6];
    let mul = |m: Affine, n: Affine| -> Affine {
        [
            m[0] * n[0] + m[2] * n[1],
            m[1] * n[0] + m[3] * n[1],
            m[0] * n[2] + m[2] * n[3],
            m[1] * n[2] + m[3] * n[3],
            m[0] * n[4] + m[2] * n[5] + m[4],
            m[1] * n[4] + m[3] * n[5] + m[5],
        ]
    };
    let translate = |x: f64, y: f64| [1.0, 0.0, 0.0, 1.0, x, y];
    // The documented local transform: translate(dx, dy) · translate(pivot) · rotate · scale · translate(−pivot).
    let local = |t: BoneTransform, (px, py): (f64, f64)| {
        let (s, c) = (t.rotate as f64).to_radians().sin_cos();
        let rotate = [c, s, -s, c, 0.0, 0.0];
        let k = t.scale as f64;
        let scale = [k, 0.0, 0.0, k, 0.0, 0.0];
        mul(mul(mul(mul(translate(t.dx as f64, t.dy as f64), translate(px, py)), rotate), scale), translate(-px, -py))
    };
    let apply = |m: Affine, (x, y): (f64, f64)| (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]);

    let poses = [
        (BoneTransform::REST, BoneTransform::REST),
        (BoneTransform::REST, transform(90.0, 0.0, 0.0, 1.0)),
        (transform(12.0, 10.0, -5.0, 1.1), BoneTransform::REST),
        (transform(12.0, 10.0, -5.0, 1.1), transform(-35.0, 3.0, 4.0, 0.8)),
        (transform(-10.0, -20.0, 0.0, 0.9), transform(120.0, 0.0, -6.0, 1.2)),
    ];
    for (body, arm) in poses {
        // world(arm) = world(body) · local(arm), world(body) = local(body).
        let world = mul(local(body, (300.0, 600.0)), local(arm, (400.0, 300.0)));
        let expected = apply(world, (450.0, 300.0));
        assert!(expected.0 > 20.0 && expected.0 < 580.0 && expected.1 > 20.0 && expected.1 < 580.0, "{expected:?}");
        let got = centroid(&draw(&rig, &FrameState { pose: vec![body, arm], ..rest(&rig) }));
        let err = ((got.0 - expected.0).powi(2) + (got.1 - expected.1).powi(2)).sqrt();
        assert!(err < 0.75, "body {body:?} arm {arm:?}: drawn at {got:?}, formula says {expected:?}");
    }
    // Positive rotation is clockwise on screen (y down): a point right of the pivot swings below it.
    let got = centroid(&draw(
        &rig,
        &FrameState { pose: vec![BoneTransform::REST, transform(90.0, 0.0, 0.0, 1.0)], ..rest(&rig) },
    ));
    assert!((got.0 - 400.0).abs() < 0.75 && (got.1 - 350.0).abs() < 0.75, "{got:?}");
}

#[test]
fn keyframes_ease_in_and_out_with_half_cosine() {
    let kf = |t_ms, bones: &[(&str, BoneTransform)]| Keyframe {
        t_ms,
        bones: bones.iter().map(|(n, t)| (n.to_string(), *t)).collect::<BTreeMap<_, _>>(),
    };
    let action = ActionDef {
        name: "lift".into(),
        tag: None,
        duration_ms: 1000,
        keyframes: vec![kf(0, &[]), kf(1000, &[("arm", transform(90.0, 40.0, -20.0, 2.0))])],
        frames: Vec::new(),
        frame_part: None,
    };
    let bones = ["body".to_string(), "arm".to_string()];
    for t in [0.0f32, 100.0, 250.0, 500.0, 750.0, 999.0, 1000.0] {
        let mut pose = [BoneTransform::REST; 2];
        sample_action(&action, &bones, t, &mut pose);
        let e = (1.0 - (std::f32::consts::PI * t / 1000.0).cos()) / 2.0;
        assert_eq!(pose[0], BoneTransform::REST, "{t}: unnamed bones stay at rest");
        let want = transform(90.0 * e, 40.0 * e, -20.0 * e, 1.0 + e);
        for (got, want) in
            [(pose[1].rotate, want.rotate), (pose[1].dx, want.dx), (pose[1].dy, want.dy), (pose[1].scale, want.scale)]
        {
            assert!((got - want).abs() < 1e-3, "t {t}: {:?} vs {want:?}", pose[1]);
        }
    }
    // Outside the action: rest.
    let mut pose = [BoneTransform::REST; 2];
    sample_action(&action, &bones, 1001.0, &mut pose);
    assert_eq!(pose[1], BoneTransform::REST);
}

#[test]
fn keyframes_hold_before_the_first_and_after_the_last_and_jump_at_equal_times() {
    let kf = |t_ms, rotate| Keyframe { t_ms, bones: [("arm".to_string(), transform(rotate, 0.0, 0.0, 1.0))].into() };
    let action = ActionDef {
        name: "jumpy".into(),
        tag: None,
        duration_ms: 1000,
        keyframes: vec![kf(200, 10.0), kf(500, 20.0), kf(500, 60.0), kf(800, 60.0)],
        frames: Vec::new(),
        frame_part: None,
    };
    let bones = ["arm".to_string()];
    let at = |t| {
        let mut pose = [BoneTransform::REST];
        sample_action(&action, &bones, t, &mut pose);
        pose[0].rotate
    };
    assert_eq!(at(0.0), 10.0, "before the first keyframe: its pose");
    assert_eq!(at(200.0), 10.0);
    assert!((at(499.0) - 20.0).abs() < 0.01, "{}", at(499.0));
    assert_eq!(at(500.0), 60.0, "two keyframes at one time: a jump to the later");
    assert_eq!(at(900.0), 60.0, "after the last keyframe: its pose");
    assert_eq!(at(1000.0), 60.0, "up to duration_ms");
    assert_eq!(at(1000.5), 0.0, "then rest");
    // Equal times are allowed; going back in time is not.
    assert!(problems_after(|m| m["actions"][0]["keyframes"][2]["t_ms"] = json!(480)).is_empty());
    let p = problems_after(|m| m["actions"][0]["keyframes"][2]["t_ms"] = json!(100));
    assert_problem(&p, "actions[0] (wave).keyframes[2]: t_ms 100 is out of order or past duration_ms");
}

#[test]
fn overlapping_actions_add_up() {
    let kf = |t_ms, rotate, scale| Keyframe {
        t_ms,
        bones: [("arm".to_string(), transform(rotate, 1.0, 0.0, scale))].into(),
    };
    let hold = |rotate, scale| ActionDef {
        name: "hold".into(),
        tag: None,
        duration_ms: 100,
        keyframes: vec![kf(0, rotate, scale)],
        frames: Vec::new(),
        frame_part: None,
    };
    let bones = ["arm".to_string()];
    let mut pose = [BoneTransform::REST];
    sample_action(&hold(10.0, 2.0), &bones, 50.0, &mut pose);
    sample_action(&hold(5.0, 1.5), &bones, 50.0, &mut pose);
    assert_eq!(pose[0], transform(15.0, 2.0, 0.0, 3.0), "rotations and shifts add, scales multiply");
}

#[test]
fn manifest_rules_of_the_loader() {
    assert!(problems_after(|_| {}).is_empty());
    assert_problem(&problems_after(|m| m["format"] = json!(2)), "format: 2 is not supported");
    // id: 1–64 of a–z, 0–9, - and _.
    for bad in ["", "Anna", "an na", "anna.v2", &"a".repeat(65)] {
        assert_problem(&problems_after(|m| m["id"] = json!(bad)), "id:");
    }
    for good in ["a", "anna-2_b", "-x", &"a".repeat(64)] {
        assert!(problems_after(|m| m["id"] = json!(good)).is_empty(), "{good}");
    }
    // canvas: 16–8192 each way.
    for (w, h, ok) in [(16, 16, true), (8192, 8192, true), (15, 100, false), (100, 8193, false), (0, 0, false)] {
        let p = problems_after(|m| m["canvas"] = json!({ "width": w, "height": h }));
        assert_eq!(p.is_empty(), ok, "{w}×{h}: {p:?}");
    }
    // bones: unique, the first is the only root, parents listed before.
    assert_problem(&problems_after(|m| m["bones"][2]["name"] = json!("head")), "bones[2]: duplicate bone \"head\"");
    assert_problem(&problems_after(|m| m["bones"][0]["parent"] = json!("head")), "bones[0].parent");
    assert_problem(
        &problems_after(|m| m["bones"][2].as_object_mut().expect("bone").remove("parent").map(drop).unwrap_or(())),
        "bones[2].parent: only the first bone may be the root",
    );
    assert_problem(&problems_after(|m| m["bones"][2]["parent"] = json!("forearm_l")), "bones[2].parent");
    assert_problem(&problems_after(|m| m["bones"] = json!([])), "bones: at least one bone is required");
    // parts: exactly one of file and slot; the slot must exist.
    assert_problem(&problems_after(|m| m["parts"][0]["slot"] = json!("eyes")), "give exactly one of file and slot");
    assert_problem(
        &problems_after(|m| m["parts"][6] = json!({ "name": "eyes", "bone": "head", "slot": "eye" })),
        "unknown slot \"eye\"",
    );
    // Each required slot is shown by at least one part.
    let p = problems_after(|m| {
        m["parts"].as_array_mut().expect("parts").retain(|p| p["slot"] != json!("brows"));
    });
    assert_problem(&p, "parts: no part shows slot \"brows\"");
    // actions: 1–60000 ms.
    assert_problem(&problems_after(|m| m["actions"][1]["duration_ms"] = json!(0)), "duration_ms 0 is out of range");
    assert_problem(&problems_after(|m| m["actions"][1]["duration_ms"] = json!(60_001)), "out of range 1–60000");
    assert_problem(&problems_after(|m| m["actions"][1]["keyframes"][2]["t_ms"] = json!(1401)), "past duration_ms");
    // frames need a frame_part naming a part.
    let p = problems_after(|m| m["actions"][1]["frames"] = json!(["parts/head.svg"]));
    assert_problem(&p, "actions[1] (nod): frames need a frame_part naming a part");
    let p = problems_after(|m| {
        m["actions"][1]["frames"] = json!(["parts/head.svg"]);
        m["actions"][1]["frame_part"] = json!("tail");
    });
    assert_problem(&p, "frames need a frame_part");
}

#[test]
fn loader_is_lenient_where_the_doc_says_so() {
    // A slot shown by two parts, a part name used twice, an action name used twice, unknown emotion names and
    // unknown fields are all accepted.
    let p = problems_after(|m| {
        m["parts"].as_array_mut().expect("parts").push(json!({ "name": "mouth", "bone": "body", "slot": "mouth" }));
        m["actions"].as_array_mut().expect("actions").push(json!({ "name": "wave", "duration_ms": 100 }));
        m["emotions"] = json!(["HAPPY", "BORED"]);
        m["future_field"] = json!({ "x": 1 });
    });
    assert!(p.is_empty(), "{p:?}");
    // Required fields: name, canvas, bones, parts; duration_ms of every action.
    let anna = serde_json::to_value(&builtin_by_id("anna").expect("anna").manifest).expect("json");
    for field in ["name", "canvas", "bones", "parts", "format", "id"] {
        let mut v = anna.clone();
        v.as_object_mut().expect("object").remove(field);
        let e = serde_json::from_value::<Manifest>(v).expect_err(field).to_string();
        assert!(e.contains(&format!("missing field `{field}`")), "{e}");
    }
    let e =
        serde_json::from_value::<ActionDef>(json!({ "name": "sparkle", "frame_part": "body", "frames": ["a.png"] }))
            .expect_err("duration_ms is required")
            .to_string();
    assert!(e.contains("duration_ms"), "{e}");
    // Optional: description, transparent (true), default_voice, slots/emotions/actions (empty).
    let mut v = anna.clone();
    for field in ["description", "transparent", "default_voice", "emotions", "actions"] {
        v.as_object_mut().expect("object").remove(field);
    }
    let m: Manifest = serde_json::from_value(v).expect("parses");
    assert!(m.transparent && m.default_voice.is_none() && m.actions.is_empty() && m.description.is_empty());
}

#[test]
fn other_slots_show_their_default_state() {
    let mut pkg = Synthetic::new(100, 100);
    pkg.file("parts/red.svg", svg(100, 100, r##"<rect x="10" y="10" width="20" height="20" fill="#FF0000"/>"##));
    pkg.file("parts/blue.svg", svg(100, 100, r##"<rect x="10" y="10" width="20" height="20" fill="#0000FF"/>"##));
    pkg.manifest["parts"]
        .as_array_mut()
        .expect("parts")
        .push(json!({ "name": "badge", "bone": "body", "slot": "badge" }));
    pkg.manifest["slots"]["badge"] = json!({ "another": "parts/red.svg", "default": "parts/blue.svg" });
    let (_dir, avatar) = pkg.load();
    let rig = avatar.rasterize(1.0).expect("rasterize");
    let p = draw(&rig, &rest(&rig));
    let c = p.pixel(20, 20).expect("pixel");
    assert_eq!((c.red(), c.blue(), c.alpha()), (0, 255, 255), "the `default` key");
    // Without `default` the state shown would be arbitrary: such a package is rejected.
    pkg.manifest["slots"]["badge"] = json!({ "b": "parts/blue.svg", "a": "parts/red.svg" });
    let dir = pkg.write();
    let msg = load_error(dir.path());
    assert!(msg.contains("slots.badge.default: missing"), "{msg}");
}

#[test]
fn png_and_svg_parts_are_scaled_to_the_canvas() {
    // A 100 × 100 PNG and a 50 × 50 SVG on a 200 × 200 canvas, each opaque in its top-left quarter.
    let mut pkg = Synthetic::new(200, 200);
    pkg.part("red", "body", "parts/red.png", png(100, 100, (0, 0, 49, 49), (255, 0, 0)));
    pkg.part(
        "blue",
        "body",
        "parts/blue.svg",
        svg(50, 50, r##"<rect x="25" y="25" width="25" height="25" fill="#0000FF"/>"##),
    );
    let (_dir, avatar) = pkg.load();
    for scale in [1.0f32, 0.5] {
        let rig = avatar.rasterize(scale).expect("rasterize");
        let p = draw(&rig, &rest(&rig));
        let px = |x: f32, y: f32| p.pixel((x * scale) as u32, (y * scale) as u32).expect("pixel");
        // The PNG's quarter covers canvas 0–100, the SVG's bottom-right quarter 100–200.
        assert_eq!((px(50.0, 50.0).red(), px(50.0, 50.0).alpha()), (255, 255), "scale {scale}");
        assert_eq!((px(150.0, 150.0).blue(), px(150.0, 150.0).alpha()), (255, 255), "scale {scale}");
        assert_eq!(px(150.0, 50.0).alpha(), 0, "scale {scale}");
        assert_eq!(px(50.0, 150.0).alpha(), 0, "scale {scale}");
    }
}

#[test]
fn frame_sequence_plays_at_25_fps_in_place_of_its_part() {
    let mut pkg = Synthetic::new(100, 100);
    pkg.part(
        "body",
        "body",
        "parts/body.svg",
        svg(100, 100, r##"<rect x="0" y="0" width="100" height="100" fill="#808080"/>"##),
    );
    let colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)];
    let frames: Vec<String> = (0..colours.len()).map(|i| format!("parts/glow_{i:03}.png")).collect();
    for (f, c) in frames.iter().zip(colours) {
        pkg.file(f, png(100, 100, (40, 40, 59, 59), c));
    }
    // 3 frames held for 200 ms, and 5 frames cut to 100 ms.
    pkg.action(json!({ "name": "glow", "duration_ms": 200, "frame_part": "body", "frames": frames[..3] }));
    pkg.action(json!({ "name": "flash", "duration_ms": 100, "frame_part": "body", "frames": frames }));
    let (_dir, avatar) = pkg.load();
    let rig = avatar.rasterize(1.0).expect("rasterize");
    let shown = |action: &str| -> Vec<Option<usize>> {
        let cues = [Cue { at_ms: 0, kind: CueKind::Action(action.into()) }];
        let input = MotionInput { duration_ms: 400, mouth: &[], words: &[], cues: &cues };
        let opts = MotionOptions { fps: 50, idle_interval_ms: None, ..MotionOptions::default() };
        let m = Motion::plan(&rig, &input, &opts).expect("plan");
        (0..m.frames())
            .map(|i| {
                m.state(i).frame_override.map(|(part, (name, k))| {
                    assert_eq!((part.as_str(), name.as_str()), ("body", action));
                    k
                })
            })
            .collect()
    };
    // Video at 50 fps (20 ms): each image shows for 40 ms; the last stays until duration_ms, then the part is back.
    let glow = shown("glow");
    assert_eq!(glow[..11], [0, 0, 1, 1, 2, 2, 2, 2, 2, 2, 2].map(Some), "{glow:?}");
    assert!(glow[11..].iter().all(Option::is_none), "{glow:?}");
    let flash = shown("flash");
    assert_eq!(flash[..6], [Some(0), Some(0), Some(1), Some(1), Some(2), Some(2)], "{flash:?}");
    assert!(flash[6..].iter().all(Option::is_none), "frames past duration_ms never show: {flash:?}");
    // Drawing: image 1 (green) replaces the grey body.
    let state = FrameState { frame_override: Some(("body".into(), ("glow".into(), 1))), ..rest(&rig) };
    let p = draw(&rig, &state);
    let c = p.pixel(50, 50).expect("pixel");
    assert_eq!((c.red(), c.green(), c.blue(), c.alpha()), (0, 255, 0, 255));
    assert_eq!(p.pixel(10, 10).map(|c| c.alpha()), Some(0), "the grey body is not drawn");
}

#[test]
fn idle_gestures_are_the_actions_named_idle() {
    let mut pkg = Synthetic::new(100, 100);
    pkg.action(json!({ "name": "idle_blip", "duration_ms": 300, "keyframes": [] }));
    pkg.action(json!({ "name": "wave", "tag": "hello", "duration_ms": 300, "keyframes": [] }));
    let (_dir, avatar) = pkg.load();
    let rig = avatar.rasterize(0.5).expect("rasterize");
    let words: Vec<(u32, u32)> = (0..20).map(|i| (i * 500, i * 500 + 300)).collect();
    let cues = [Cue { at_ms: 100, kind: CueKind::Action("Hello".into()) }];
    let input = MotionInput { duration_ms: 10_000, mouth: &[], words: &words, cues: &cues };
    let m = Motion::plan(&rig, &input, &MotionOptions { idle_interval_ms: Some(1000), ..MotionOptions::default() })
        .expect("plan");
    let names: Vec<&str> = m.scheduled_actions().into_iter().map(|(_, n)| n).collect();
    assert_eq!(names[0], "wave", "found by its tag: {names:?}");
    assert!(names[1..].iter().all(|n| *n == "idle_blip") && names.len() > 2, "{names:?}");
}
