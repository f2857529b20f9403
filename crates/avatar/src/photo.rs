//! Photo avatars: one photo and its 468-point face mesh, animated by warping the photo through a triangle mesh.
//!
//! The mesh is a Delaunay triangulation of the landmarks plus two rings of border points around the face. Per
//! frame every vertex is displaced (mouth shape, eyelids, emotion, head motion) and each triangle is drawn by
//! mapping its pixels back into the photo (bilinear). The outer ring never moves, so the warp is confined to the
//! ring's box and meets the untouched photo without a seam; the background and hair outside stay put. Displacements
//! only ever move a point part of the way toward a fixed target, so no triangle turns over (a test checks every
//! combination). Between the inner lips, where the photo has nothing to show once the mouth opens wider than in the
//! photo, an inside of the mouth is drawn: teeth under the upper lip, a dark cavity, a tongue hint, coloured from
//! the photo's lips and skin.
//!
//! Everything is in the rig's scaled canvas pixels. The displacement of each vertex for each mouth shape, emotion
//! and eyelid is computed once when the rig is built.

use tiny_skia::Pixmap;

use crate::manifest::BoneTransform;
use crate::{Emotion, EyeState, FrameState, Shape};

/// Mesh indices (MediaPipe's face mesh), shared with doppel-face.
#[allow(dead_code)]
#[path = "../../face/src/points.rs"]
mod idx;

/// How far each mouth shape opens the lips, as the inner-lip gap over the face height (`X` keeps the photo's own),
/// and how much it narrows (+) or widens (−) the mouth, as a fraction of its half width.
fn shape_params(s: Shape) -> Option<(f32, f32)> {
    Some(match s {
        Shape::A => (0.0, 0.0),
        Shape::B => (0.035, -0.02),
        Shape::C => (0.075, -0.05),
        Shape::D => (0.125, -0.03),
        Shape::E => (0.07, 0.12),
        Shape::F => (0.03, 0.22),
        Shape::G => (0.02, 0.0),
        Shape::H => (0.055, 0.0),
        Shape::X => return None,
    })
}

/// The mouth opening (inner-lip gap over face height) a photo rig shows for a shape: what the warp aims at.
pub fn intended_opening(rest_opening: f32, s: Shape) -> f32 {
    match shape_params(s) {
        Some((open, _)) => open,
        None => rest_opening,
    }
}

/// What a photo frame shows, quantized so that equal poses draw equal pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FacePose {
    mouth: Shape,
    eyes: EyeState,
    emotion: Emotion,
    previous: Emotion,
    /// Emotion cross-fade in 16ths.
    mix: u8,
    /// Head offset in quarter pixels and turn in tenths of a degree.
    head: (i32, i32, i32),
}

impl FacePose {
    /// The photo as it is: mouth at rest, eyes open, no emotion, head still.
    pub fn is_rest(&self) -> bool {
        self.mouth == Shape::X
            && self.eyes == EyeState::Open
            && (self.emotion == Emotion::Neutral || self.mix == 0)
            && (self.previous == Emotion::Neutral || self.mix == 16)
            && self.head == (0, 0, 0)
    }

    /// The pose of a frame; `scale` turns the head bone's offsets (canvas units) into rig pixels.
    pub fn of(state: &FrameState, head_bone: Option<usize>, scale: f32) -> FacePose {
        let h = head_bone.and_then(|i| state.pose.get(i)).copied().unwrap_or(BoneTransform::REST);
        FacePose {
            mouth: state.mouth.0,
            eyes: state.eyes,
            emotion: state.emotion,
            previous: state.previous_emotion,
            mix: (state.emotion_mix.clamp(0.0, 1.0) * 16.0).round() as u8,
            // A photo turns at most 3 degrees: further, the face would visibly bend against what stays put.
            head: (
                (h.dx * scale * 4.0).round() as i32,
                (h.dy * scale * 4.0).round() as i32,
                (h.rotate.clamp(-3.0, 3.0) * 10.0).round() as i32,
            ),
        }
    }
}

/// Colours of the inside of the mouth (premultiplied = straight: opaque), shaded from the photo.
#[derive(Debug, Clone, Copy)]
struct MouthColours {
    teeth: [f32; 3],
    cavity: [f32; 3],
    tongue: [f32; 3],
}

/// A photo ready to warp at one scale.
#[derive(Debug, Clone)]
pub struct PhotoRig {
    /// The photo at the rig's scale (opaque).
    pub image: Pixmap,
    /// Vertices at rest: the landmarks, then the border rings.
    rest: Vec<[f32; 2]>,
    /// Triangles (vertex indices) of the Delaunay triangulation of the rest vertices.
    tris: Vec<[u32; 3]>,
    /// Per vertex: how much the head's motion moves it.
    head_weight: Vec<f32>,
    /// Displacements per mouth shape (index of `Shape::ALL`) and per emotion.
    by_shape: Vec<Vec<[f32; 2]>>,
    by_emotion: Vec<Vec<[f32; 2]>>,
    /// The box the warp may change, `(x0, y0, x1, y1)`, inside the image.
    pub region: (i32, i32, i32, i32),
    /// Face height (forehead to chin) in pixels, and the inner-lip gap at rest.
    face_height: f32,
    rest_gap: f32,
    /// The point the head turns about (below the chin).
    pivot: [f32; 2],
    colours: MouthColours,
    /// The face's down direction (unit), perpendicular to the eye line.
    down: [f32; 2],
}

fn sub(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    [a[0] - b[0], a[1] - b[1]]
}
fn add(a: [f32; 2], b: [f32; 2]) -> [f32; 2] {
    [a[0] + b[0], a[1] + b[1]]
}
fn mul(a: [f32; 2], k: f32) -> [f32; 2] {
    [a[0] * k, a[1] * k]
}
fn len(a: [f32; 2]) -> f32 {
    (a[0] * a[0] + a[1] * a[1]).sqrt()
}
fn cross(a: [f32; 2], b: [f32; 2]) -> f32 {
    a[0] * b[1] - a[1] * b[0]
}
fn area2(p: &[[f32; 2]], t: &[u32; 3]) -> f32 {
    let (a, b, c) = (p[t[0] as usize], p[t[1] as usize], p[t[2] as usize]);
    cross(sub(b, a), sub(c, a))
}

impl PhotoRig {
    /// Builds the rig from the photo at the rig's scale and the landmarks in the same pixels.
    pub fn new(image: Pixmap, landmarks: &[[f32; 3]]) -> Option<PhotoRig> {
        if landmarks.len() < idx::LANDMARKS {
            return None;
        }
        let (w, h) = (image.width() as f32, image.height() as f32);
        let lm: Vec<[f32; 2]> = landmarks[..idx::LANDMARKS].iter().map(|p| [p[0], p[1]]).collect();
        let forehead = lm[idx::FOREHEAD];
        let chin = lm[idx::CHIN];
        let face_height = len(sub(chin, forehead)).max(4.0);
        let down = mul(sub(chin, forehead), 1.0 / face_height);
        let right = [-down[1], down[0]];
        // Border rings on ellipses around the face oval, in the face's own axes.
        let centre = mul(idx::OVAL.iter().fold([0.0, 0.0], |acc, &i| add(acc, lm[i])), 1.0 / idx::OVAL.len() as f32);
        let (mut half_w, mut half_h) = (0.0f32, 0.0f32);
        for &i in &idx::OVAL {
            let d = sub(lm[i], centre);
            half_w = half_w.max((d[0] * right[0] + d[1] * right[1]).abs());
            half_h = half_h.max((d[0] * down[0] + d[1] * down[1]).abs());
        }
        let mut rest = lm.clone();
        // The head's motion moves the whole face rigidly (no triangle of the face changes shape), and fades out over
        // the rings around it.
        let mut head_weight = vec![1.0f32; idx::LANDMARKS];

        let inside = |p: [f32; 2]| [p[0].clamp(0.0, w), p[1].clamp(0.0, h)];
        for (ring, (kw, kh, weight)) in [(1.5f32, 1.45f32, 0.45f32), (2.1, 1.85, 0.0)].into_iter().enumerate() {
            let n = 20;
            for k in 0..n {
                let a = k as f32 / n as f32 * std::f32::consts::TAU + ring as f32 * 0.15;
                let (s, c) = a.sin_cos();
                let p = add(centre, add(mul(right, c * half_w * kw), mul(down, s * half_h * kh)));
                let clipped = inside(p);
                // An inner-ring point the picture's edge pushed toward the face is left out: it would sit too close
                // to the face for the head's motion to fade out between them.
                if weight > 0.0 && len(sub(clipped, p)) > 0.5 {
                    continue;
                }
                let p = clipped;
                if rest.iter().all(|q| len(sub(*q, p)) > 1.0) {
                    rest.push(p);
                    head_weight.push(weight);
                }
            }
        }
        // The corners of the outer ring's box, clipped to the image, keep the warp inside a rectangle.
        let (x0, y0, x1, y1) = bounds(&rest);
        let points: Vec<delaunator::Point> =
            rest.iter().map(|p| delaunator::Point { x: p[0] as f64, y: p[1] as f64 }).collect();
        let tri = delaunator::triangulate(&points);
        let mut tris: Vec<[u32; 3]> =
            tri.triangles.chunks_exact(3).map(|t| [t[0] as u32, t[1] as u32, t[2] as u32]).collect();
        tris.retain(|t| area2(&rest, t).abs() > 1e-6);

        let rest_gap = len(sub(lm[idx::INNER_LOWER], lm[idx::INNER_UPPER]));
        let mut rig = PhotoRig {
            image,
            rest,
            tris,
            head_weight,
            by_shape: Vec::new(),
            by_emotion: Vec::new(),
            region: (
                (x0.floor() as i32).max(0),
                (y0.floor() as i32).max(0),
                (x1.ceil() as i32).min(w as i32),
                (y1.ceil() as i32).min(h as i32),
            ),
            face_height,
            rest_gap,
            pivot: add(chin, mul(down, face_height * 0.25)),
            colours: MouthColours { teeth: [0.0; 3], cavity: [0.0; 3], tongue: [0.0; 3] },
            down,
        };
        rig.by_shape = Shape::ALL.iter().map(|&s| rig.shape_displacement(s)).collect();
        rig.by_emotion = [Emotion::Neutral, Emotion::Happy, Emotion::Sad, Emotion::Calm, Emotion::Anger]
            .iter()
            .map(|&e| rig.emotion_displacement(e))
            .collect();
        rig.colours = rig.mouth_colours();
        Some(rig)
    }

    /// How much the head bone's motion is scaled for this face (motion is planned for a head about 250 px tall).
    pub fn motion_scale(&self) -> f32 {
        (self.face_height / 250.0).clamp(0.2, 2.0)
    }

    /// The inner-lip gap at rest over the face height.
    pub fn rest_opening(&self) -> f32 {
        self.rest_gap / self.face_height
    }

    /// Vertex displacements for a mouth shape. The inner lips move by pairs (upper and lower point at the same
    /// place along the mouth): toward each other to close, apart to open. Every other point of the lower face
    /// follows as a smooth field of its place along the mouth and its depth from the inner lips: fully on the inner
    /// lips, less on the outer lips, fading out above the upper lip; below the lower lip the jaw drops with an
    /// opening mouth.
    fn shape_displacement(&self, s: Shape) -> Vec<[f32; 2]> {
        let mut d = vec![[0.0f32; 2]; self.rest.len()];
        let Some((open, narrow)) = shape_params(s) else { return d };
        let p = &self.rest;
        let down = self.down;
        let right = [-down[1], down[0]];
        let (c0, c1) = (p[idx::LIPS_INNER_UPPER[0]], p[idx::LIPS_INNER_UPPER[10]]);
        let axis = sub(c1, c0);
        let frame = Between::new(c0, c1, down);
        let along = |q: [f32; 2]| frame.along(q);
        let depth = |q: [f32; 2]| dot(q, down);
        let mid = mul(add(c0, c1), 0.5);
        let delta = open * self.face_height - self.rest_gap;
        // Per pair: place along the mouth, depths of the four contours, and the inner points' displacements.
        let mut pairs = Vec::with_capacity(11);
        for k in 0..11 {
            let (u, l) = (p[idx::LIPS_INNER_UPPER[k]], p[idx::LIPS_INNER_LOWER[k]]);
            let x = (k as f32 - 5.0) / 5.0;
            let taper = (1.0 - x * x).max(0.0);
            let (du, dl) = if delta < 0.0 {
                // Closing: both lips move toward their meeting line, at most all the way.
                let f = (-delta / self.rest_gap.max(1e-3)).min(0.97) * (0.35 + 0.65 * taper);
                let meet = mul(add(u, l), 0.5);
                (mul(sub(meet, u), f), mul(sub(meet, l), f))
            } else {
                // Opening: the jaw drops the lower lip; the upper lip lifts a little.
                let g = delta * (0.3 + 0.7 * taper);
                (mul(down, -0.15 * g), mul(down, 0.85 * g))
            };
            let s = if k == 0 {
                0.0
            } else if k == 10 {
                1.0
            } else {
                along(mul(add(u, l), 0.5))
            };
            let depths = [depth(u), depth(l), depth(p[idx::LIPS_OUTER_UPPER[k]]), depth(p[idx::LIPS_OUTER_LOWER[k]])];
            pairs.push((s, depths, du, dl));
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Linear interpolation of the pairs at a place along the mouth.
        let at = |s: f32| -> ([f32; 4], [f32; 2], [f32; 2]) {
            let k = pairs.iter().position(|e| e.0 >= s).unwrap_or(pairs.len() - 1).max(1);
            let (a, b) = (&pairs[k - 1], &pairs[k]);
            let f = if b.0 > a.0 { ((s - a.0) / (b.0 - a.0)).clamp(0.0, 1.0) } else { 0.0 };
            let mut dep = [0.0; 4];
            for (j, v) in dep.iter_mut().enumerate() {
                *v = a.1[j] + (b.1[j] - a.1[j]) * f;
            }
            (dep, add(a.2, mul(sub(b.2, a.2), f)), add(a.3, mul(sub(b.3, a.3), f)))
        };
        let half_width = len(axis) / 2.0;
        let chin_v = dot(sub(p[idx::CHIN], mid), down).max(1.0);
        for (i, q) in p.iter().enumerate().take(idx::LANDMARKS) {
            let sq = along(*q);
            let sc = sq.clamp(0.0, 1.0);
            let outside = (-sq).max(sq - 1.0).max(0.0);
            let wx = (1.0 - outside / 0.35).max(0.0);
            let (dep, du, dl) = at(sc);
            let dq = depth(*q);
            // How far from each inner lip, in lip thicknesses (0 on the inner lip, 1 on the outer lip).
            let t_up = ((dep[0] - dq) / (dep[0] - dep[2]).max(1.0)).max(0.0);
            let t_lo = ((dq - dep[1]) / (dep[3] - dep[1]).max(1.0)).max(0.0);
            let fade = |t: f32, w_out: f32| {
                if t <= 1.0 {
                    1.0 + (w_out - 1.0) * t
                } else {
                    w_out * (1.0 - (t - 1.0) / 1.5).max(0.0)
                }
            };
            let w_up = fade(t_up, 0.6) * wx;
            let w_lo = fade(t_lo, if delta < 0.0 { 0.5 } else { 1.0 }) * wx;
            // Upper or lower lip, blended across the meeting line (which the corners share).
            let mid_depth = (dep[0] + dep[1]) / 2.0;
            let blend_over = ((dep[3] - dep[2]).abs() * 0.25).max(1.0);
            let lower_frac = smooth(((dq - mid_depth) / blend_over + 1.0) / 2.0);
            let mut v_lo = mul(dl, w_lo);
            if delta > 0.0 {
                // The jaw and chin follow an opening mouth, less toward the ears.
                let r = sub(*q, mid);
                let (u, vv) = (dot(r, right) / (half_width * 2.6), dot(r, down) / chin_v);
                let jaw =
                    smooth(vv / 0.35).min(1.0) * (1.0 - u * u).max(0.0) * (1.0 - (vv - 1.0).max(0.0) * 2.0).max(0.0);
                v_lo = add(v_lo, mul(down, 0.8 * delta * jaw * (1.0 - w_lo.min(1.0))));
            }
            let mut v = add(mul(du, w_up * (1.0 - lower_frac)), mul(v_lo, lower_frac));
            let t = t_up.min(t_lo);
            // Rounding narrows the mouth, spreading widens it.
            if narrow != 0.0 {
                let wn = if t <= 1.0 { 1.0 } else { (1.0 - (t - 1.0) / 1.5).max(0.0) } * wx;
                v = add(v, mul(right, -dot(sub(*q, mid), right) * narrow * 0.5 * wn));
            }
            d[i] = v;
        }
        d
    }

    /// Vertex displacements for an emotion (neutral: none): mouth corners, cheeks, brows and lids.
    fn emotion_displacement(&self, e: Emotion) -> Vec<[f32; 2]> {
        let mut d = vec![[0.0f32; 2]; self.rest.len()];
        let fh = self.face_height;
        let down = self.down;
        let right = [-down[1], down[0]];
        let centre_u = dot(mul(add(self.rest[idx::FOREHEAD], self.rest[idx::CHIN]), 0.5), right);
        // (points, displacement along (outward, down) in face heights)
        let mut controls: Vec<(&[usize], f32, f32)> = Vec::new();
        // The corners with the points of every lip ring that meet there.
        let corners: &[usize] = &[61, 291, 78, 308, 62, 292, 76, 306, 184, 408, 96, 325, 77, 307];
        let near_corners: &[usize] = &[146, 185, 375, 409, 95, 191, 324, 415];
        let lower_lids: &[usize] = &[145, 144, 153, 374, 373, 380];
        let upper_lids: &[usize] = &[159, 158, 160, 386, 385, 387];
        match e {
            Emotion::Neutral => return d,
            Emotion::Happy => {
                controls.extend([(corners, 0.012, -0.022), (near_corners, 0.006, -0.012)]);
                controls.extend([(&idx::CHEEKS[..], 0.0, -0.012), (lower_lids, 0.0, -0.006)]);
            }
            Emotion::Sad => {
                controls.extend([(corners, -0.004, 0.02), (near_corners, -0.002, 0.01)]);
                controls.extend([(&idx::BROW_INNER[..], 0.0, -0.018), (&idx::BROW_OUTER[..], 0.0, 0.006)]);
            }
            Emotion::Calm => {
                controls.extend([(corners, 0.004, -0.008), (upper_lids, 0.0, 0.008)]);
            }
            Emotion::Anger => {
                controls.extend([(&idx::BROW_INNER[..], -0.012, 0.02), (corners, -0.004, 0.008)]);
                controls.extend([(upper_lids, 0.0, 0.006)]);
            }
        }
        for (points, out, dn) in controls {
            for &i in points {
                let side = (dot(self.rest[i], right) - centre_u).signum();
                let v = add(mul(right, side * out * fh), mul(down, dn * fh));
                d[i] = add(d[i], v);
            }
        }
        // Spread the controls' displacements as a smooth field over every point, so neighbouring points (and the thin
        // triangles between lip rings) move alike.
        let moved: Vec<(usize, [f32; 2])> = d.iter().copied().enumerate().filter(|(_, v)| len(*v) > 0.0).collect();
        let radius = 0.05 * fh;
        let mut out = vec![[0.0f32; 2]; self.rest.len()];
        for (i, q) in self.rest.iter().enumerate().take(idx::LANDMARKS) {
            let mut acc = [0.0f32; 2];
            let mut wsum = 0.0f32;
            for &(j, v) in &moved {
                let r = len(sub(*q, self.rest[j])) / radius;
                let w = (-r * r).exp();
                acc = add(acc, mul(v, w));
                wsum += w;
            }
            // A smooth field through the controls: their weighted mean near them, fading out away from them.
            out[i] = mul(acc, 1.0 / wsum.max(1.0));
        }
        // The two inner lips move together, so lips a mouth shape pressed together stay together.
        for (&u, &l) in idx::LIPS_INNER_UPPER.iter().zip(&idx::LIPS_INNER_LOWER) {
            let both = mul(add(out[u], out[l]), 0.5);
            out[u] = both;
            out[l] = both;
        }
        out
    }

    /// The inside-of-the-mouth colours, from the photo's lips and cheeks.
    fn mouth_colours(&self) -> MouthColours {
        let avg = |points: &[usize]| -> [f32; 3] {
            let mut acc = [0.0f32; 3];
            for &i in points {
                let c = sample(&self.image, self.rest[i][0], self.rest[i][1]);
                for k in 0..3 {
                    acc[k] += c[k] / points.len() as f32;
                }
            }
            acc
        };
        let lips = avg(&[0, 17, 37, 267, 84, 314, 39, 269]);
        let skin = avg(&idx::CHEEKS);
        let luma = (0.2126 * skin[0] + 0.7152 * skin[1] + 0.0722 * skin[2]).clamp(60.0, 230.0);
        let k = (luma / 170.0).clamp(0.75, 1.0);
        MouthColours {
            teeth: [240.0 * k, 236.0 * k, 224.0 * k],
            cavity: [lips[0] * 0.22 + 12.0, lips[1] * 0.15 + 4.0, lips[2] * 0.15 + 6.0],
            tongue: [lips[0] * 0.8 + 20.0, lips[1] * 0.5, lips[2] * 0.55],
        }
    }

    /// The vertices of a pose.
    pub fn vertices(&self, pose: &FacePose) -> Vec<[f32; 2]> {
        let shape = Shape::ALL.iter().position(|&s| s == pose.mouth).unwrap_or(8);
        let emo = |e: Emotion| match e {
            Emotion::Neutral => 0,
            Emotion::Happy => 1,
            Emotion::Sad => 2,
            Emotion::Calm => 3,
            Emotion::Anger => 4,
        };
        let mix = pose.mix as f32 / 16.0;
        let (cur, prev) = (&self.by_emotion[emo(pose.emotion)], &self.by_emotion[emo(pose.previous)]);
        let (dx, dy, rot) =
            (pose.head.0 as f32 / 4.0, pose.head.1 as f32 / 4.0, (pose.head.2 as f32 / 10.0).to_radians());
        let (s, c) = rot.sin_cos();
        self.rest
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut q = add(*p, self.by_shape[shape][i]);
                q = add(q, add(mul(cur[i], mix), mul(prev[i], 1.0 - mix)));
                let w = self.head_weight[i];
                if w > 0.0 {
                    let r = sub(q, self.pivot);
                    let turned = add(self.pivot, [c * r[0] - s * r[1] + dx, s * r[0] + c * r[1] + dy]);
                    q = add(q, mul(sub(turned, q), w));
                }
                q
            })
            .collect()
    }

    /// Whether any triangle of a pose is turned over relative to rest (a degenerate one does not count).
    pub fn flipped_triangles(&self, pose: &FacePose) -> usize {
        let v = self.vertices(pose);
        self.tris
            .iter()
            .filter(|t| {
                let (a0, a1) = (area2(&self.rest, t), area2(&v, t));
                a0 * a1 < 0.0 && a1.abs() > 1e-3
            })
            .count()
    }

    /// Draws the warped region for a pose into `out` (the size of [`PhotoRig::region`]).
    pub fn warp(&self, pose: &FacePose, out: &mut Pixmap) {
        let (rx0, ry0, rx1, ry1) = self.region;
        let (rw, rh) = ((rx1 - rx0).max(0) as usize, (ry1 - ry0).max(0) as usize);
        if out.width() as usize != rw || out.height() as usize != rh {
            return;
        }
        // Start from the photo: pixels no triangle covers are the photo's.
        {
            let src = self.image.data();
            let iw = self.image.width() as usize;
            let dst = out.data_mut();
            for y in 0..rh {
                let s = ((ry0 as usize + y) * iw + rx0 as usize) * 4;
                dst[y * rw * 4..(y + 1) * rw * 4].copy_from_slice(&src[s..s + rw * 4]);
            }
        }
        let v = self.vertices(pose);
        let gap = len(sub(v[idx::INNER_LOWER], v[idx::INNER_UPPER]));
        let reveal = ((gap - self.rest_gap) / (0.025 * self.face_height)).clamp(0.0, 1.0);
        let dst = out.data_mut();
        for t in &self.tris {
            let [a, b, c] = t.map(|i| i as usize);
            let (pa, pb, pc) = (v[a], v[b], v[c]);
            let den = cross(sub(pb, pa), sub(pc, pa));
            if den.abs() < 1e-6 {
                continue;
            }
            let (sa, sb, sc) = (self.rest[a], self.rest[b], self.rest[c]);
            let minx = (pa[0].min(pb[0]).min(pc[0]).floor() as i32).max(rx0);
            let maxx = (pa[0].max(pb[0]).max(pc[0]).ceil() as i32).min(rx1 - 1);
            let miny = (pa[1].min(pb[1]).min(pc[1]).floor() as i32).max(ry0);
            let maxy = (pa[1].max(pb[1]).max(pc[1]).ceil() as i32).min(ry1 - 1);
            let eps = -1e-4 * den.abs();
            for y in miny..=maxy {
                let py = y as f32 + 0.5;
                for x in minx..=maxx {
                    let px = x as f32 + 0.5;
                    let q = [px, py];
                    let wa = cross(sub(pb, q), sub(pc, q)) / den;
                    let wb = cross(sub(pc, q), sub(pa, q)) / den;
                    let wc = 1.0 - wa - wb;
                    if wa * den.abs() < eps || wb * den.abs() < eps || wc * den.abs() < eps {
                        continue;
                    }
                    let sx = wa * sa[0] + wb * sb[0] + wc * sc[0];
                    let sy = wa * sa[1] + wb * sb[1] + wc * sc[1];
                    let col = sample(&self.image, sx, sy);
                    let o = ((y - ry0) as usize * rw + (x - rx0) as usize) * 4;
                    dst[o] = col[0].clamp(0.0, 255.0) as u8;
                    dst[o + 1] = col[1].clamp(0.0, 255.0) as u8;
                    dst[o + 2] = col[2].clamp(0.0, 255.0) as u8;
                    dst[o + 3] = 255;
                }
            }
        }
        if reveal > 0.0 {
            self.fill_mouth(&v, gap, reveal, out);
        }
        let closed = match pose.eyes {
            EyeState::Open => 0.0,
            EyeState::Half => 0.55,
            EyeState::Closed => 1.0,
        };
        if closed > 0.0 {
            for (lower, upper) in idx::EYES {
                self.close_eye(&v, &lower, &upper, closed, out);
            }
        }
    }

    /// Lowers an eyelid over the eye by `closed` (0 open .. 1 shut): each column of the eye between the upper
    /// lid and the lid's new edge takes the lid skin just above it, and the edge gets a line of lashes.
    fn close_eye(&self, v: &[[f32; 2]], lower: &[usize; 9], upper: &[usize; 7], closed: f32, out: &mut Pixmap) {
        let (rx0, ry0, rx1, ry1) = self.region;
        let rw = (rx1 - rx0) as usize;
        let lo: Vec<[f32; 2]> = lower.iter().map(|&i| v[i]).collect();
        let mut up: Vec<[f32; 2]> = vec![lo[0]];
        up.extend(upper.iter().map(|&i| v[i]));
        up.push(lo[8]);
        let mut poly = up.clone();
        poly.extend(lo.iter().rev().skip(1).take(7));
        let (c0, c1) = (lo[0], lo[8]);
        let frame = Between::new(c0, c1, self.down);
        let along_of = |p: [f32; 2]| frame.along(p);
        let depth_at = |line: &[[f32; 2]], s: f32| frame.depth_at(line, s);
        let eye_w = len(sub(c1, c0)).max(1.0);
        let lash = (eye_w * 0.09).max(1.0);
        let (x0, y0, x1, y1) = bounds(&poly);
        let reach = eye_w * 0.25;
        let src = out.clone();
        // The skin colour under the eye, for the lid.
        let mid_height = (dot(lo[4], self.down) - dot(up[4], self.down)).max(1.0);
        let mut lid = [0.0f32; 3];
        for p in &lo {
            let below = add(*p, mul(self.down, mid_height * 1.3 + 2.0));
            let c = sample(&src, below[0] - rx0 as f32, below[1] - ry0 as f32);
            for k in 0..3 {
                lid[k] += c[k] / lo.len() as f32;
            }
        }
        let (sd, dst) = (src.data(), out.data_mut());
        let ry1i = ry1 - 1;
        let at = |q: [f32; 2]| -> usize {
            let (fx, fy) = ((q[0] as i32).clamp(rx0, rx1 - 1), (q[1] as i32).clamp(ry0, ry1i));
            ((fy - ry0) as usize * rw + (fx - rx0) as usize) * 4
        };
        for y in ((y0 - reach).floor() as i32).max(ry0)..=((y1 + lash).ceil() as i32).min(ry1i) {
            for x in (x0.floor() as i32).max(rx0)..=(x1.ceil() as i32).min(rx1 - 1) {
                let q = [x as f32 + 0.5, y as f32 + 0.5];
                let s = along_of(q);
                if !(0.0..=1.0).contains(&s) {
                    continue;
                }
                let (du, dl) = (depth_at(&up, s), depth_at(&lo, s));
                let height = (dl - du).max(0.0);
                // The lid starts above the upper lid's edge (covering its lashes) and comes down to `edge`; toward
                // the corners, where the eye is thin, it covers less.
                let taper = (1.0 - (2.0 * s - 1.0).powi(4)).max(0.0);
                let top = du - 0.6 * height.max(1.0) * taper;
                let edge = du + height * closed;
                let dq = dot(q, self.down);
                let o = ((y - ry0) as usize * rw + (x - rx0) as usize) * 4;
                if dq >= top && dq <= edge {
                    // Lid skin: from the photo's row just above the lid into the skin colour under the eye, a
                    // little darker toward the edge.
                    let t = ((dq - top) / (edge - top).max(1.0)).clamp(0.0, 1.0);
                    let f = at(sub(q, mul(self.down, dq - top + 1.0)));
                    let w = smooth(t / 0.4);
                    let shade = 1.0 - 0.18 * t * t;
                    for c in 0..3 {
                        let v = sd[f + c] as f32 + (lid[c] - sd[f + c] as f32) * w;
                        dst[o + c] = (v * shade).clamp(0.0, 255.0) as u8;
                    }
                }
                // Lashes along the lid's edge.
                let from_edge = dq - edge;
                if closed >= 0.5 && from_edge > -lash && from_edge < lash * 0.6 && taper > 0.05 {
                    let k = 0.3 + 0.7 * (from_edge.abs() / lash).min(1.0);
                    for c in 0..3 {
                        dst[o + c] = (dst[o + c] as f32 * k) as u8;
                    }
                }
            }
        }
    }

    /// Paints the inside of the mouth between the deformed inner lips, over the warped photo by `reveal`.
    fn fill_mouth(&self, v: &[[f32; 2]], gap: f32, reveal: f32, out: &mut Pixmap) {
        let (rx0, ry0, rx1, ry1) = self.region;
        let rw = (rx1 - rx0) as usize;
        let upper: Vec<[f32; 2]> = idx::LIPS_INNER_UPPER.iter().map(|&i| v[i]).collect();
        let lower: Vec<[f32; 2]> = idx::LIPS_INNER_LOWER.iter().map(|&i| v[i]).collect();
        let mut poly = upper.clone();
        poly.extend(lower.iter().rev());
        let (c0, c1) = (upper[0], upper[10]);
        let frame = Between::new(c0, c1, self.down);
        let along_of = |p: [f32; 2]| frame.along(p);
        let depth_at = |line: &[[f32; 2]], s: f32| frame.depth_at(line, s);
        let teeth_px = 0.035 * self.face_height;
        let (x0, y0, x1, y1) = bounds(&poly);
        let dst = out.data_mut();
        for y in (y0.floor() as i32).max(ry0)..=(y1.ceil() as i32).min(ry1 - 1) {
            for x in (x0.floor() as i32).max(rx0)..=(x1.ceil() as i32).min(rx1 - 1) {
                let q = [x as f32 + 0.5, y as f32 + 0.5];
                if !point_in_polygon(q, &poly) {
                    continue;
                }
                let s = along_of(q).clamp(0.0, 1.0);
                let (du, dl) = (depth_at(&upper, s), depth_at(&lower, s));
                let across = if dl > du { ((dot(q, self.down) - du) / (dl - du)).clamp(0.0, 1.0) } else { 0.5 };
                let inner = self.mouth_inside(across, s, gap, teeth_px);
                let o = ((y - ry0) as usize * rw + (x - rx0) as usize) * 4;
                for k in 0..3 {
                    let c = dst[o + k] as f32;
                    dst[o + k] = (c + (inner[k] - c) * reveal).clamp(0.0, 255.0) as u8;
                }
            }
        }
    }

    /// The colour inside the mouth at `across` (0 upper lip .. 1 lower lip) and `along` (0..1 corner to corner).
    fn mouth_inside(&self, across: f32, along: f32, gap: f32, teeth_px: f32) -> [f32; 3] {
        let c = &self.colours;
        let teeth_edge = (teeth_px / gap.max(1.0)).min(0.45);
        let tongue_from = 0.72;
        let mut col = if across < teeth_edge {
            let f = ((teeth_edge - across) / (0.25 * teeth_edge).max(1e-3)).clamp(0.0, 1.0);
            lerp3(c.cavity, c.teeth, f)
        } else if across > tongue_from {
            let f = ((across - tongue_from) / (1.0 - tongue_from)).clamp(0.0, 1.0) * 0.8;
            lerp3(c.cavity, c.tongue, f)
        } else {
            c.cavity
        };
        // Darker toward the corners.
        let e = (2.0 * along - 1.0).abs();
        let shade = 1.0 - 0.55 * e * e;
        for v in &mut col {
            *v *= shade;
        }
        col
    }
}

/// Places between two contours that share their corners `c0` and `c1` (lids, lips): how far along the corner-to-
/// corner axis (0..1), and how deep along the face's down direction.
struct Between {
    c0: [f32; 2],
    axis: [f32; 2],
    l2: f32,
    down: [f32; 2],
}

impl Between {
    fn new(c0: [f32; 2], c1: [f32; 2], down: [f32; 2]) -> Between {
        let axis = sub(c1, c0);
        Between { c0, axis, l2: dot(axis, axis).max(1e-6), down }
    }

    fn along(&self, p: [f32; 2]) -> f32 {
        dot(sub(p, self.c0), self.axis) / self.l2
    }

    /// A contour's depth at `s` along the axis (linear between its points; the contour runs from `c0` to `c1`).
    fn depth_at(&self, line: &[[f32; 2]], s: f32) -> f32 {
        for k in 0..line.len() - 1 {
            let (s0, s1) = (self.along(line[k]), self.along(line[k + 1]));
            if s <= s1 || k == line.len() - 2 {
                let f = if s1 > s0 { ((s - s0) / (s1 - s0)).clamp(0.0, 1.0) } else { 0.0 };
                return dot(add(line[k], mul(sub(line[k + 1], line[k]), f)), self.down);
            }
        }
        dot(line[0], self.down)
    }
}

/// The bounding box `(x0, y0, x1, y1)` of points.
fn bounds(points: &[[f32; 2]]) -> (f32, f32, f32, f32) {
    points.iter().fold((f32::MAX, f32::MAX, f32::MIN, f32::MIN), |(x0, y0, x1, y1), p| {
        (x0.min(p[0]), y0.min(p[1]), x1.max(p[0]), y1.max(p[1]))
    })
}

fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

fn dot(a: [f32; 2], b: [f32; 2]) -> f32 {
    a[0] * b[0] + a[1] * b[1]
}

fn smooth(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

fn point_in_polygon(p: [f32; 2], poly: &[[f32; 2]]) -> bool {
    let mut inside = false;
    let mut j = poly.len() - 1;
    for i in 0..poly.len() {
        let (a, b) = (poly[i], poly[j]);
        if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0] {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// The colour at `(x, y)` in an opaque pixmap (pixel centres at `i + 0.5`), bilinear, clamped at the edges.
fn sample(img: &Pixmap, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = (img.width() as i32, img.height() as i32);
    let (fx, fy) = ((x - 0.5).clamp(0.0, (w - 1) as f32), (y - 0.5).clamp(0.0, (h - 1) as f32));
    let (x0, y0) = (fx.floor() as i32, fy.floor() as i32);
    let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let d = img.data();
    let at = |xi: i32, yi: i32, k: usize| d[((yi * w + xi) * 4) as usize + k] as f32;
    let mut out = [0.0f32; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let top = at(x0, y0, k) + (at(x1, y0, k) - at(x0, y0, k)) * ax;
        let bottom = at(x0, y1, k) + (at(x1, y1, k) - at(x0, y1, k)) * ax;
        *o = top + (bottom - top) * ay;
    }
    out
}
