//! The short-range face detector (BlazeFace, 128 x 128 input): input, anchors, decoding and weighted
//! non-maximum suppression, as MediaPipe's `face_detection_short_range` graph does them.

use serde::Serialize;

use crate::sample::Square;
use crate::Picture;

/// The detector's input side.
pub const SIDE: usize = 128;
/// A detection counts from this score.
const MIN_SCORE: f32 = 0.5;
/// Boxes overlapping more than this (intersection over union) are one face.
const MERGE_IOU: f32 = 0.3;

/// A face the detector found, in picture pixels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    /// Confidence, 0.5..1.
    pub score: f32,
    /// The box: left, top, right, bottom.
    pub bbox: [f32; 4],
    /// Eye on the picture's left, the other eye, nose tip, mouth centre, left and right tragion.
    pub keypoints: [[f32; 2]; 6],
}

impl Detection {
    /// The longer side of the box.
    pub fn side(&self) -> f32 {
        (self.bbox[2] - self.bbox[0]).max(self.bbox[3] - self.bbox[1])
    }

    fn area(&self) -> f32 {
        (self.bbox[2] - self.bbox[0]).max(0.0) * (self.bbox[3] - self.bbox[1]).max(0.0)
    }

    fn iou(&self, other: &Detection) -> f32 {
        let (a, b) = (&self.bbox, &other.bbox);
        let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
        let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
        let inter = w * h;
        let union = self.area() + other.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }
}

/// The square of the picture the detector reads: the whole picture, centred, padded to a square with black.
fn square(p: Picture<'_>) -> Square {
    Square { cx: p.width as f32 / 2.0, cy: p.height as f32 / 2.0, side: p.width.max(p.height) as f32, angle: 0.0 }
}

/// The detector's input: RGB in -1..1, NCHW.
pub fn input(p: Picture<'_>) -> Vec<f32> {
    square(p).read(p, SIDE, 1.0 / 127.5, -1.0)
}

/// Anchor centres (0..1), in the model's output order: a 16 x 16 grid with 2 anchors a cell (stride 8), then an
/// 8 x 8 grid with 6 (three stride-16 layers of 2, merged), rows first.
fn anchors() -> Vec<(f32, f32)> {
    let mut out = Vec::with_capacity(896);
    for (n, per_cell) in [(16usize, 2usize), (8, 6)] {
        for y in 0..n {
            for x in 0..n {
                for _ in 0..per_cell {
                    out.push(((x as f32 + 0.5) / n as f32, (y as f32 + 0.5) / n as f32));
                }
            }
        }
    }
    out
}

/// Decodes the detector's outputs (`regressors` 896 x 16, `scores` 896 logits) into faces, largest first.
pub fn decode(p: Picture<'_>, regressors: &[f32], scores: &[f32]) -> Vec<Detection> {
    let sq = square(p);
    let to_px = |x: f32, y: f32| sq.to_picture(1, x, y);
    let mut found = Vec::new();
    for (i, (ax, ay)) in anchors().into_iter().enumerate() {
        let (Some(r), Some(&logit)) = (regressors.get(i * 16..i * 16 + 16), scores.get(i)) else { break };
        let score = 1.0 / (1.0 + (-logit.clamp(-100.0, 100.0)).exp());
        if score.is_nan() || score < MIN_SCORE {
            continue;
        }
        let s = SIDE as f32;
        let (cx, cy, w, h) = (r[0] / s + ax, r[1] / s + ay, r[2] / s, r[3] / s);
        let (x0, y0) = to_px(cx - w / 2.0, cy - h / 2.0);
        let (x1, y1) = to_px(cx + w / 2.0, cy + h / 2.0);
        let mut keypoints = [[0.0; 2]; 6];
        for (k, kp) in keypoints.iter_mut().enumerate() {
            let (x, y) = to_px(r[4 + 2 * k] / s + ax, r[5 + 2 * k] / s + ay);
            *kp = [x, y];
        }
        found.push(Detection { score, bbox: [x0, y0, x1, y1], keypoints });
    }
    let mut faces = weighted_nms(found);
    faces.sort_by(|a, b| b.area().total_cmp(&a.area()));
    faces
}

/// Groups overlapping boxes, best first; each group becomes the score-weighted mean of its boxes and keypoints,
/// with the group's best score.
fn weighted_nms(mut found: Vec<Detection>) -> Vec<Detection> {
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while let Some(best) = found.first().cloned() {
        let (group, rest): (Vec<Detection>, Vec<Detection>) =
            found.into_iter().partition(|d| d.iou(&best) > MERGE_IOU || d == &best);
        found = rest;
        let total: f32 = group.iter().map(|d| d.score).sum();
        let mut merged = Detection { score: best.score, bbox: [0.0; 4], keypoints: [[0.0; 2]; 6] };
        for d in &group {
            let w = d.score / total;
            for k in 0..4 {
                merged.bbox[k] += d.bbox[k] * w;
            }
            for k in 0..6 {
                merged.keypoints[k][0] += d.keypoints[k][0] * w;
                merged.keypoints[k][1] += d.keypoints[k][1] * w;
            }
        }
        out.push(merged);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_896_anchors_with_the_fine_grid_first() {
        let a = anchors();
        assert_eq!(a.len(), 896);
        assert_eq!(a[0], (1.0 / 32.0, 1.0 / 32.0));
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], (3.0 / 32.0, 1.0 / 32.0));
        assert_eq!(a[512], (1.0 / 16.0, 1.0 / 16.0));
        assert_eq!(a[895], (15.0 / 16.0, 15.0 / 16.0));
    }

    #[test]
    fn overlapping_boxes_merge_by_score() {
        let d = |score, x0: f32| Detection { score, bbox: [x0, 0.0, x0 + 10.0, 10.0], keypoints: [[x0, 0.0]; 6] };
        let out = weighted_nms(vec![d(0.6, 1.0), d(0.9, 0.0), d(0.8, 50.0)]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        assert!((out[0].bbox[0] - 0.4).abs() < 1e-5, "{:?}", out[0].bbox);
        assert_eq!(out[1].bbox[0], 50.0);
    }
}
