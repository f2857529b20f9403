//! The 468-point face mesh: the crop it reads (from a detection), the named points doppel uses, measures on a
//! mesh (mouth opening, eye openness, head turn) and the photo check.

use serde::Serialize;

use crate::detect::Detection;
use crate::sample::Square;
use crate::{Analysis, Picture};

/// The mesh model's input side.
pub const SIDE: usize = 192;
/// The iris model's input side.
pub const EYE_SIDE: usize = 64;

/// Points of the mesh by MediaPipe index (`points.rs`, which doppel-avatar's photo rig shares).
#[path = "points.rs"]
pub mod idx;

/// The crop the mesh model reads for a detection: 1.5 x the box's longer side, centred on the box, turned so
/// that the eyes are level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roi {
    pub cx: f32,
    pub cy: f32,
    pub size: f32,
    pub angle: f32,
}

impl Roi {
    pub fn of(d: &Detection) -> Roi {
        let [x0, y0, x1, y1] = d.bbox;
        let ([ex0, ey0], [ex1, ey1]) = (d.keypoints[0], d.keypoints[1]);
        let tau = std::f32::consts::TAU;
        let a = -(ey0 - ey1).atan2(ex1 - ex0);
        let angle = a - tau * ((a + std::f32::consts::PI) / tau).floor();
        Roi { cx: (x0 + x1) / 2.0, cy: (y0 + y1) / 2.0, size: d.side() * 1.5, angle }
    }

    /// The crop the iris model reads for an eye between mesh points `a` and `b` (its corners, picture left to
    /// right): 2.3 x their distance, turned so that the corners are level.
    pub fn of_eye(l: &[[f32; 3]], a: usize, b: usize) -> Roi {
        let (p, q) = (l[a], l[b]);
        let tau = std::f32::consts::TAU;
        let t = -(p[1] - q[1]).atan2(q[0] - p[0]);
        let angle = t - tau * ((t + std::f32::consts::PI) / tau).floor();
        let side = (q[0] - p[0]).abs().max((q[1] - p[1]).abs()) * 2.3;
        Roi { cx: (p[0] + q[0]) / 2.0, cy: (p[1] + q[1]) / 2.0, size: side.max(1.0), angle }
    }

    /// The iris model's input: RGB in 0..1, NCHW, mirrored left to right when `mirrored`.
    pub fn eye_input(&self, p: Picture<'_>, mirrored: bool) -> Vec<f32> {
        let mut v = self.square().read(p, EYE_SIDE, 1.0 / 255.0, 0.0);
        if mirrored {
            for row in v.chunks_exact_mut(EYE_SIDE) {
                row.reverse();
            }
        }
        v
    }

    /// The iris model's eye contour (crop pixels, mirrored when the input was) in the picture.
    pub fn eye_in_picture(&self, points: &[f32], mirrored: bool) -> Vec<[f32; 3]> {
        let sq = self.square();
        let n = EYE_SIDE as f32;
        points
            .chunks_exact(3)
            .map(|p| {
                let x = if mirrored { n - p[0] } else { p[0] };
                let (px, py) = sq.to_picture(EYE_SIDE, x, p[1]);
                [px, py, p[2] / n * self.size]
            })
            .collect()
    }

    fn square(&self) -> Square {
        Square { cx: self.cx, cy: self.cy, side: self.size, angle: self.angle }
    }

    /// The mesh model's input: RGB in 0..1, NCHW.
    pub fn input(&self, p: Picture<'_>) -> Vec<f32> {
        self.square().read(p, SIDE, 1.0 / 255.0, 0.0)
    }

    /// The model's 468 x (x, y, z) in crop pixels, mapped to the picture.
    pub fn landmarks_in_picture(&self, points: &[f32]) -> Vec<[f32; 3]> {
        let sq = self.square();
        points
            .chunks_exact(3)
            .take(468)
            .map(|p| {
                let (x, y) = sq.to_picture(SIDE, p[0], p[1]);
                [x, y, p[2] / SIDE as f32 * self.size]
            })
            .collect()
    }
}

fn dist(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Forehead to chin, in pixels.
pub fn face_height(l: &[[f32; 3]]) -> f32 {
    dist(l[idx::FOREHEAD], l[idx::CHIN])
}

/// How far the mouth is open: the inner lips' distance at the centre over the face height.
pub fn mouth_opening(l: &[[f32; 3]]) -> f32 {
    dist(l[idx::INNER_UPPER], l[idx::INNER_LOWER]) / face_height(l).max(1e-3)
}

/// How far each eye is open: the lids' distance at the centre over the eye's width (picture left, right).
pub fn eye_openness(l: &[[f32; 3]]) -> (f32, f32) {
    let left = dist(l[159], l[145]) / dist(l[33], l[133]).max(1e-3);
    let right = dist(l[386], l[374]) / dist(l[362], l[263]).max(1e-3);
    (left, right)
}

/// The head's turn to the side, in degrees (positive: the picture-right cheek is further away).
pub fn yaw_degrees(l: &[[f32; 3]]) -> f32 {
    let (a, b) = (l[idx::CHEEK_LEFT], l[idx::CHEEK_RIGHT]);
    (b[2] - a[2]).atan2(dist(a, b)).to_degrees()
}

/// Limits of the photo check.
pub const MIN_FACE_PX: f32 = 128.0;
/// Eyes are closed under this openness (lid distance over eye width) as the iris model reads them (an open eye
/// reads about 0.4, a closed one about 0.2). The face mesh's own eyelid points barely move with the lids; without
/// the iris model the check uses them with [`MIN_EYE_OPENNESS_MESH`].
pub const MIN_EYE_OPENNESS: f32 = 0.25;
pub const MIN_EYE_OPENNESS_MESH: f32 = 0.12;
pub const MAX_YAW_DEGREES: f32 = 30.0;
/// A second face counts when it is at least this fraction of the largest face's size.
pub const OTHER_FACE_FRACTION: f32 = 0.5;

/// Why a photo cannot become a photo avatar.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Problem {
    #[error("no face was found in the photo")]
    NoFace,
    #[error("the photo shows {count} faces; it must show exactly one")]
    SeveralFaces { count: usize },
    #[error("the face is {size_px:.0} px, under the minimum of {min_px:.0} px (face box x 1.5, the area the face mesh reads)")]
    FaceTooSmall { size_px: f32, min_px: f32 },
    #[error("the eyes are closed (openness {openness:.2}, the minimum is {min:.2}); use a photo with open eyes")]
    EyesClosed { openness: f32, min: f32 },
    #[error("the head is turned {yaw_degrees:.0} degrees to the side (at most {max_degrees:.0}); use a frontal photo")]
    HeadTurned { yaw_degrees: f32, max_degrees: f32 },
}

impl Problem {
    /// A stable code: `NO_FACE`, `SEVERAL_FACES`, `FACE_TOO_SMALL`, `EYES_CLOSED`, `HEAD_TURNED`.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::NoFace => "NO_FACE",
            Problem::SeveralFaces { .. } => "SEVERAL_FACES",
            Problem::FaceTooSmall { .. } => "FACE_TOO_SMALL",
            Problem::EyesClosed { .. } => "EYES_CLOSED",
            Problem::HeadTurned { .. } => "HEAD_TURNED",
        }
    }
}

/// The photo check on an analysis (see `docs/photo-avatars.md`).
pub fn check(a: &Analysis) -> Option<Problem> {
    let (Some(main), Some(face)) = (a.detections.first(), a.face.as_ref()) else { return Some(Problem::NoFace) };
    let count = a.detections.iter().filter(|d| d.side() >= main.side() * OTHER_FACE_FRACTION).count();
    if count > 1 {
        return Some(Problem::SeveralFaces { count });
    }
    if face.size < MIN_FACE_PX {
        return Some(Problem::FaceTooSmall { size_px: face.size, min_px: MIN_FACE_PX });
    }
    let ((l, r), min) = match &a.eyes {
        Some(eyes) => (eyes.openness(), MIN_EYE_OPENNESS),
        None => (eye_openness(&face.landmarks), MIN_EYE_OPENNESS_MESH),
    };
    if l.max(r) < min {
        return Some(Problem::EyesClosed { openness: l.max(r), min });
    }
    let yaw = yaw_degrees(&face.landmarks);
    if yaw.abs() > MAX_YAW_DEGREES {
        return Some(Problem::HeadTurned { yaw_degrees: yaw, max_degrees: MAX_YAW_DEGREES });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Face;

    /// A frontal face: a box of `side` px at `x`, eyes open, cheeks level in depth.
    fn detection(x: f32, side: f32) -> Detection {
        Detection { score: 0.9, bbox: [x, 0.0, x + side, side], keypoints: [[0.0; 2]; 6] }
    }

    fn face(side: f32) -> Face {
        let mut l = vec![[0.0f32; 3]; 468];
        l[idx::FOREHEAD] = [50.0, 0.0, 0.0];
        l[idx::CHIN] = [50.0, 100.0, 0.0];
        l[idx::CHEEK_LEFT] = [0.0, 50.0, 0.0];
        l[idx::CHEEK_RIGHT] = [100.0, 50.0, 0.0];
        for (outer, inner, up, down, x) in [(33, 133, 159, 145, 20.0), (263, 362, 386, 374, 70.0)] {
            l[outer] = [x, 30.0, 0.0];
            l[inner] = [x + 20.0, 30.0, 0.0];
            l[up] = [x + 10.0, 27.0, 0.0];
            l[down] = [x + 10.0, 33.0, 0.0];
        }
        Face { detection: detection(0.0, side / 1.5), landmarks: l, presence: 1.0, size: side }
    }

    fn analysis(detections: Vec<Detection>, face: Face) -> Analysis {
        Analysis { detections, face: Some(face), eyes: None }
    }

    #[test]
    fn the_photo_check_names_each_problem() {
        let ok = analysis(vec![detection(0.0, 100.0)], face(150.0));
        assert_eq!(check(&ok), None);
        // A second face half the size or more counts; a small one in the background does not.
        let two = analysis(vec![detection(0.0, 100.0), detection(200.0, 60.0)], face(150.0));
        assert_eq!(check(&two), Some(Problem::SeveralFaces { count: 2 }));
        let background = analysis(vec![detection(0.0, 100.0), detection(200.0, 30.0)], face(150.0));
        assert_eq!(check(&background), None);
        assert!(matches!(
            check(&analysis(vec![detection(0.0, 80.0)], face(120.0))),
            Some(Problem::FaceTooSmall { .. })
        ));
        let mut closed = face(150.0);
        closed.landmarks[159][1] = 29.5;
        closed.landmarks[145][1] = 30.5;
        closed.landmarks[386][1] = 29.5;
        closed.landmarks[374][1] = 30.5;
        assert!(matches!(check(&analysis(vec![detection(0.0, 100.0)], closed)), Some(Problem::EyesClosed { .. })));
        let mut turned = face(150.0);
        turned.landmarks[idx::CHEEK_RIGHT][2] = 80.0;
        match check(&analysis(vec![detection(0.0, 100.0)], turned)) {
            Some(Problem::HeadTurned { yaw_degrees, .. }) => {
                assert!((yaw_degrees - 38.66).abs() < 0.1, "{yaw_degrees}")
            }
            other => panic!("expected HeadTurned, got {other:?}"),
        }
        let none = Analysis { detections: Vec::new(), face: None, eyes: None };
        assert_eq!(check(&none), Some(Problem::NoFace));
        assert_eq!(Problem::FaceTooSmall { size_px: 1.0, min_px: 2.0 }.code(), "FACE_TOO_SMALL");
    }
}
