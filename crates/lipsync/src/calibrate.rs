//! Calibrating and measuring the audio estimator ([`crate::audio`]): training its classifier on recordings whose
//! true track is known, and scoring an estimated track against the truth.
//!
//! Calibration is deterministic: the same utterances and [`Settings`] give the same [`Profile`] bit for bit
//! (single-threaded, seeded shuffling, fixed order of floating-point operations). `doppel lipsync-calibrate` feeds
//! it doppel's own TTS voices speaking `corpus/calibration.txt`.

use std::collections::VecDeque;

use crate::audio::{frame_decision, softmax, Base, Frontend, Profile, HOP_MS, N_BASE};
use crate::{Rng, Shape, Viseme};

/// One recording prepared for calibration or evaluation.
#[derive(Debug, Clone)]
pub struct Utterance {
    /// Front-end features, one per 10 ms hop.
    pub rows: Vec<Base>,
    /// The true shape at each hop's centre.
    pub labels: Vec<Shape>,
    /// The true per-frame track at 25 fps.
    pub truth_frames: Vec<Shape>,
    /// The true track.
    pub truth: Vec<Viseme>,
}

/// Runs the front end over a whole recording.
pub fn features(sample_rate: u32, samples: &[f32], cep_mean: [f32; 12]) -> (Vec<Base>, [f32; 12]) {
    let mut fe = Frontend::new(sample_rate, cep_mean);
    let mut rows = Vec::new();
    fe.push(samples, &mut rows);
    fe.finish(&mut rows);
    (rows, fe.cepstral_mean())
}

impl Utterance {
    /// Prepares a recording with its true track.
    pub fn new(sample_rate: u32, samples: &[f32], truth: Vec<Viseme>, cep_mean: [f32; 12]) -> Utterance {
        let (rows, _) = features(sample_rate, samples, cep_mean);
        let labels = (0..rows.len())
            .map(|k| {
                let t = k as u32 * HOP_MS + HOP_MS / 2;
                truth.iter().find(|v| v.start_ms <= t && t < v.end_ms).map_or(Shape::X, |v| v.shape)
            })
            .collect();
        let duration_ms = truth.last().map_or(0, |v| v.end_ms);
        let truth_frames = crate::frames(&truth, 25, duration_ms);
        Utterance { rows, labels, truth_frames, truth }
    }
}

/// How the classifier is trained.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub offsets: Vec<i32>,
    pub hidden: usize,
    pub epochs: usize,
    pub batch: usize,
    pub learning_rate: f32,
    pub weight_decay: f32,
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            offsets: vec![-8, -5, -3, -2, -1, 0, 1, 2, 3, 4],
            hidden: 64,
            epochs: 12,
            batch: 128,
            learning_rate: 2e-3,
            weight_decay: 1e-4,
            seed: 20261122,
        }
    }
}

fn class_index(s: Shape) -> usize {
    Shape::ALL.iter().position(|&x| x == s).unwrap_or(8)
}

/// Trains a profile on utterances prepared with cepstral mean `cep_mean`.
pub fn train(utts: &[Utterance], cep_mean: [f32; 12], settings: &Settings, about: &str) -> Profile {
    let d = settings.offsets.len() * N_BASE;
    let h = settings.hidden;
    let mut profile = Profile {
        about: about.to_string(),
        offsets: settings.offsets.clone(),
        cep_mean: cep_mean.to_vec(),
        mean: vec![0.0; d],
        std: vec![1.0; d],
        hidden: h,
        w1: vec![0.0; h * d],
        b1: vec![0.0; h],
        w2: vec![0.0; 9 * h],
        b2: vec![0.0; 9],
        closure_threshold: 0.5,
    };
    // Inputs (unstandardized) and labels.
    let mut xs: Vec<f32> = Vec::new();
    let mut ys: Vec<usize> = Vec::new();
    let mut x = Vec::with_capacity(d);
    for u in utts {
        let rows: VecDeque<Base> = u.rows.iter().copied().collect();
        for (k, &label) in u.labels.iter().enumerate() {
            profile.input(&rows, 0, k, &mut x);
            xs.extend_from_slice(&x);
            ys.push(class_index(label));
        }
    }
    let n = ys.len();
    if n == 0 {
        return profile;
    }
    // Standardization.
    let mut mean = vec![0f64; d];
    let mut sq = vec![0f64; d];
    for row in xs.chunks(d) {
        for (i, &v) in row.iter().enumerate() {
            mean[i] += f64::from(v);
            sq[i] += f64::from(v) * f64::from(v);
        }
    }
    for i in 0..d {
        mean[i] /= n as f64;
        let var = (sq[i] / n as f64 - mean[i] * mean[i]).max(1e-6);
        profile.mean[i] = mean[i] as f32;
        profile.std[i] = var.sqrt() as f32;
    }
    for row in xs.chunks_mut(d) {
        for (i, v) in row.iter_mut().enumerate() {
            *v = (*v - profile.mean[i]) / profile.std[i];
        }
    }
    // Initialization (scaled uniform) and Adam.
    let mut rng = Rng(settings.seed);
    let s1 = (6.0 / (d + h) as f32).sqrt();
    profile.w1.iter_mut().for_each(|w| *w = (rng.uniform() * 2.0 - 1.0) * s1);
    let s2 = (6.0 / (h + 9) as f32).sqrt();
    profile.w2.iter_mut().for_each(|w| *w = (rng.uniform() * 2.0 - 1.0) * s2);
    let mut adam = [Adam::new(h * d), Adam::new(h), Adam::new(9 * h), Adam::new(9)];
    let mut order: Vec<usize> = (0..n).collect();
    let mut g1 = vec![0f32; h * d];
    let mut gb1 = vec![0f32; h];
    let mut g2 = vec![0f32; 9 * h];
    let mut gb2 = vec![0f32; 9];
    let mut hid = vec![0f32; h];
    let mut dh = vec![0f32; h];
    for epoch in 0..settings.epochs {
        // Fisher-Yates with the seeded generator.
        for i in (1..n).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let lr = settings.learning_rate * if epoch + 2 >= settings.epochs { 0.3 } else { 1.0 };
        for batch in order.chunks(settings.batch.max(1)) {
            g1.iter_mut().for_each(|v| *v = 0.0);
            gb1.iter_mut().for_each(|v| *v = 0.0);
            g2.iter_mut().for_each(|v| *v = 0.0);
            gb2.iter_mut().for_each(|v| *v = 0.0);
            for &i in batch {
                let xi = &xs[i * d..(i + 1) * d];
                for (j, hj) in hid.iter_mut().enumerate() {
                    let row = &profile.w1[j * d..(j + 1) * d];
                    *hj = (profile.b1[j] + row.iter().zip(xi).map(|(w, v)| w * v).sum::<f32>()).tanh();
                }
                let mut z = [0f32; 9];
                for (c, zc) in z.iter_mut().enumerate() {
                    let row = &profile.w2[c * h..(c + 1) * h];
                    *zc = profile.b2[c] + row.iter().zip(&hid).map(|(w, v)| w * v).sum::<f32>();
                }
                softmax(&mut z);
                z[ys[i]] -= 1.0;
                dh.iter_mut().for_each(|v| *v = 0.0);
                for c in 0..9 {
                    gb2[c] += z[c];
                    let row = &mut g2[c * h..(c + 1) * h];
                    let wrow = &profile.w2[c * h..(c + 1) * h];
                    for j in 0..h {
                        row[j] += z[c] * hid[j];
                        dh[j] += z[c] * wrow[j];
                    }
                }
                for j in 0..h {
                    let g = dh[j] * (1.0 - hid[j] * hid[j]);
                    gb1[j] += g;
                    let row = &mut g1[j * d..(j + 1) * d];
                    for (r, v) in row.iter_mut().zip(xi) {
                        *r += g * v;
                    }
                }
            }
            let scale = 1.0 / batch.len() as f32;
            adam[0].step(&mut profile.w1, &g1, scale, lr, settings.weight_decay);
            adam[1].step(&mut profile.b1, &gb1, scale, lr, 0.0);
            adam[2].step(&mut profile.w2, &g2, scale, lr, settings.weight_decay);
            adam[3].step(&mut profile.b2, &gb2, scale, lr, 0.0);
        }
    }
    // The closure threshold that best balances exact agreement and detected closures on the training data.
    let posts: Vec<Vec<[f32; 9]>> = utts.iter().map(|u| hop_posteriors(&profile, &u.rows)).collect();
    let mut best = (f64::MIN, 0.5f32);
    for step in 1..20 {
        let t = step as f32 * 0.05;
        let mut total = Agreement::default();
        for (u, p) in utts.iter().zip(&posts) {
            total.add(&score(&u.truth, &u.truth_frames, &frames_from_posteriors(p, u.truth_frames.len(), t)));
        }
        let value = total.exact() + total.closures_detected();
        if value > best.0 {
            best = (value, t);
        }
    }
    profile.closure_threshold = best.1;
    profile
}

/// Adam optimizer state for one parameter tensor.
struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl Adam {
    fn new(n: usize) -> Adam {
        Adam { m: vec![0.0; n], v: vec![0.0; n], t: 0 }
    }

    fn step(&mut self, w: &mut [f32], g: &[f32], scale: f32, lr: f32, decay: f32) {
        self.t += 1;
        let (b1, b2) = (0.9f32, 0.999f32);
        let c1 = 1.0 - b1.powi(self.t);
        let c2 = 1.0 - b2.powi(self.t);
        for i in 0..w.len() {
            let gi = g[i] * scale + decay * w[i];
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * gi;
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * gi * gi;
            w[i] -= lr * (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + 1e-8);
        }
    }
}

/// Posteriors of every hop of a whole recording (what the stream computes, all at once).
pub fn hop_posteriors(profile: &Profile, rows: &[Base]) -> Vec<[f32; 9]> {
    let q: VecDeque<Base> = rows.iter().copied().collect();
    let (mut x, mut h) = (Vec::new(), Vec::new());
    (0..rows.len())
        .map(|k| {
            profile.input(&q, 0, k, &mut x);
            profile.posteriors(&x, &mut h)
        })
        .collect()
}

/// Per-frame shapes (25 fps) from hop posteriors.
pub fn frames_from_posteriors(post: &[[f32; 9]], frames: usize, closure_threshold: f32) -> Vec<Shape> {
    (0..frames)
        .map(|j| {
            let hops: Vec<&[f32; 9]> = post.iter().skip(j * 4).take(4).collect();
            frame_decision(&hops, closure_threshold)
        })
        .collect()
}

/// Frame agreement between an estimated track and the truth.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Agreement {
    pub frames: usize,
    /// Frames where both say open, or both say closed (A or X).
    pub open_closed: usize,
    /// Frames with the same shape.
    pub exact: usize,
    /// True closures (A) of at least 60 ms.
    pub closures: usize,
    /// Of those, how many have an estimated A within one frame of them.
    pub closures_found: usize,
}

impl Agreement {
    /// Adds another recording's counts.
    pub fn add(&mut self, o: &Agreement) {
        self.frames += o.frames;
        self.open_closed += o.open_closed;
        self.exact += o.exact;
        self.closures += o.closures;
        self.closures_found += o.closures_found;
    }

    pub fn open_closed(&self) -> f64 {
        self.open_closed as f64 / self.frames.max(1) as f64
    }

    pub fn exact(&self) -> f64 {
        self.exact as f64 / self.frames.max(1) as f64
    }

    pub fn closures_detected(&self) -> f64 {
        if self.closures == 0 {
            return 1.0;
        }
        self.closures_found as f64 / self.closures as f64
    }
}

/// Scores estimated frames (25 fps) against the true track and its frames.
pub fn score(truth: &[Viseme], truth_frames: &[Shape], est: &[Shape]) -> Agreement {
    let n = truth_frames.len().min(est.len());
    let mut a = Agreement { frames: n, ..Agreement::default() };
    for (t, e) in truth_frames.iter().zip(est) {
        a.open_closed += usize::from(t.is_open() == e.is_open());
        a.exact += usize::from(t == e);
    }
    for v in truth.iter().filter(|v| v.shape == Shape::A && v.end_ms - v.start_ms >= 60) {
        a.closures += 1;
        // Frames overlapping the closure, widened by one frame each side.
        let first = (v.start_ms / 40).saturating_sub(1) as usize;
        let last = (v.end_ms.saturating_sub(1) / 40 + 1) as usize;
        if (first..=last).any(|f| est.get(f) == Some(&Shape::A)) {
            a.closures_found += 1;
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoring_counts_frames_and_closures() {
        let truth = vec![
            Viseme { start_ms: 0, end_ms: 80, shape: Shape::X },
            Viseme { start_ms: 80, end_ms: 160, shape: Shape::A },
            Viseme { start_ms: 160, end_ms: 240, shape: Shape::D },
        ];
        let tf = crate::frames(&truth, 25, 240);
        let est = vec![Shape::X, Shape::X, Shape::X, Shape::A, Shape::C, Shape::D];
        let a = score(&truth, &tf, &est);
        assert_eq!(a.frames, 6);
        assert_eq!(a.exact, 4);
        assert_eq!(a.open_closed, 6);
        assert_eq!((a.closures, a.closures_found), (1, 1));
    }

    #[test]
    fn training_is_deterministic_and_learns_a_separable_task() {
        // Two "shapes": loud hops are D, quiet hops are X.
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for k in 0..400 {
            let loud = (k / 20) % 2 == 0;
            let mut r = [0f32; N_BASE];
            r[0] = if loud { 0.0 } else { -6.0 };
            r[2] = if loud { 1.0 } else { 0.0 };
            rows.push(r);
            labels.push(if loud { Shape::D } else { Shape::X });
        }
        let u = Utterance { rows, labels, truth_frames: vec![], truth: vec![] };
        let s = Settings { offsets: vec![0], hidden: 4, epochs: 30, batch: 16, ..Settings::default() };
        let p1 = train(std::slice::from_ref(&u), [0.0; 12], &s, "test");
        let p2 = train(std::slice::from_ref(&u), [0.0; 12], &s, "test");
        assert_eq!(p1, p2);
        let post = hop_posteriors(&p1, &u.rows);
        let correct = post.iter().zip(&u.labels).filter(|(p, l)| p[class_index(**l)] > 0.5).count();
        assert!(correct >= 390, "{correct}/400");
    }
}
