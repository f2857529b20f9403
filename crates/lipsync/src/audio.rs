//! Mouth shapes from audio alone: the same nine-shape track as [`crate::visemes`] gives from phonemes, estimated
//! from a recording for which no phoneme timing exists (recorded narration, other TTS engines, live audio).
//!
//! How it works, per 10 ms hop:
//! 1. **Front end** ([`Frontend`]): a 25 ms Hann window, pre-emphasis, a power spectrum, 26 mel bands from 60 Hz to
//!    7.8 kHz, and 12 cepstral coefficients (c1–c12) with a running cepstral mean taken over speech only (so a
//!    microphone's colour is removed). Loudness is measured against a tracked speech level (a peak that decays
//!    2 dB/s), so a quiet and a loud recording of the same speech give the same features. Plus the zero-crossing
//!    rate. Any sample rate from 8 kHz up works: the bands are in hertz.
//! 2. **Classifier** ([`Profile`]): the features of the hops around the current one (a context of
//!    [`Profile::offsets`], at most [`MAX_FUTURE_HOPS`] hops ahead) are standardized and go through a small neural
//!    network (one tanh hidden layer, softmax over the nine shapes). Its weights are calibrated from doppel's own TTS
//!    voices, where the phoneme-derived track is the truth (`doppel lipsync-calibrate`); the result ships inside
//!    this crate (`profile.json`), so nothing is downloaded.
//! 3. **Frames**: a video frame's shape is the most probable one over the hops inside it, except that a closure
//!    (A) wins when any hop in the frame is confident enough of it ([`Profile::closure_threshold`]), as the
//!    phoneme-derived track lets a bilabial win a frame it covers a third of.
//!
//! [`Estimator`] runs this as a stream: samples go in as they arrive and each frame's shape comes out as soon as the
//! audio up to [`LOOKAHEAD_MS`] past the end of that frame is in. [`visemes_from_audio`] runs it over a whole
//! recording. This module is pure and deterministic: the same samples give the same track.

use std::collections::VecDeque;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::{Shape, Viseme};

/// Hop between feature vectors.
pub const HOP_MS: u32 = 10;
/// Analysis window length.
const WIN_MS: f64 = 25.0;
/// Number of mel bands.
const N_MEL: usize = 26;
/// Number of cepstral coefficients kept (c1..=c12).
const N_CEP: usize = 12;
/// Features per hop: relative loudness, zero-crossing rate, c1..c12.
pub const N_BASE: usize = 2 + N_CEP;
/// The furthest hop ahead a profile may look at.
pub const MAX_FUTURE_HOPS: usize = 4;
/// How much audio past the end of a frame the estimator needs before it decides the frame: the future context
/// plus half an analysis window.
pub const LOOKAHEAD_MS: u32 = MAX_FUTURE_HOPS as u32 * HOP_MS + 13;
/// Below this loudness (dB relative to full scale) a hop is silence whatever the speech level is.
const SILENCE_DBFS: f64 = -60.0;
/// A hop this far (dB) under the tracked speech level counts as a pause for [`speech_spans`] and the cepstral mean.
const PAUSE_DB: f32 = -30.0;

/// One hop's features, before context stacking and standardization.
pub type Base = [f32; N_BASE];

/// Turns audio into one [`Base`] feature vector per 10 ms hop, incrementally.
///
/// Hop `k` is centred at `10k + 5` ms; its window reaches half a window past that, so it is computed once the audio
/// reaches there (or at [`Frontend::finish`], which pads with silence).
#[derive(Debug, Clone)]
pub struct Frontend {
    rate: u32,
    win: usize,
    window: Vec<f32>,
    window_power: f64,
    fft: Fft,
    filters: Vec<(usize, Vec<f32>)>,
    dct: Vec<[f32; N_MEL]>,
    /// Samples from absolute index `buf_start` on.
    buf: VecDeque<f32>,
    buf_start: usize,
    received: usize,
    next_hop: usize,
    level_db: f64,
    cep_mean: [f32; N_CEP],
    spectrum: Vec<(f32, f32)>,
}

impl Frontend {
    /// A front end for audio at `sample_rate` Hz, its cepstral mean starting at `cep_mean` (a profile's).
    pub fn new(sample_rate: u32, cep_mean: [f32; N_CEP]) -> Frontend {
        let rate = sample_rate.max(1000);
        let win = ((f64::from(rate) * WIN_MS / 1000.0).round() as usize).max(8);
        let n = win.next_power_of_two();
        let window: Vec<f32> = (0..win)
            .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (win - 1) as f64).cos()) as f32)
            .collect();
        let window_power = window.iter().map(|&w| f64::from(w * w)).sum::<f64>();
        // Mel filters (triangles) from 60 Hz to 7.8 kHz or just under Nyquist, each normalized to unit weight so
        // the band values do not depend on the sample rate.
        let mel = |f: f64| 2595.0 * (1.0 + f / 700.0).log10();
        let hz = |m: f64| 700.0 * (10f64.powf(m / 2595.0) - 1.0);
        let (lo, hi) = (mel(60.0), mel(7800.0f64.min(f64::from(rate) * 0.48)));
        let edges: Vec<f64> = (0..N_MEL + 2).map(|i| hz(lo + (hi - lo) * i as f64 / (N_MEL + 1) as f64)).collect();
        let bin_hz = f64::from(rate) / n as f64;
        let filters = (0..N_MEL)
            .map(|m| {
                let (a, c, b) = (edges[m], edges[m + 1], edges[m + 2]);
                let first = (a / bin_hz).ceil() as usize;
                let last = ((b / bin_hz).floor() as usize).min(n / 2);
                let mut w: Vec<f32> = (first..=last.max(first))
                    .map(|k| {
                        let f = k as f64 * bin_hz;
                        let v = if f <= c { (f - a) / (c - a) } else { (b - f) / (b - c) };
                        v.max(0.0) as f32
                    })
                    .collect();
                let sum: f32 = w.iter().sum();
                if sum <= 0.0 {
                    // A band narrower than a bin: take the nearest bin.
                    w = vec![1.0];
                    return (((c / bin_hz).round() as usize).min(n / 2), w);
                }
                w.iter_mut().for_each(|x| *x /= sum);
                (first, w)
            })
            .collect();
        let dct = (1..=N_CEP)
            .map(|c| {
                let mut row = [0f32; N_MEL];
                for (m, r) in row.iter_mut().enumerate() {
                    *r = ((std::f64::consts::PI * c as f64 * (m as f64 + 0.5) / N_MEL as f64).cos()
                        * (2.0 / N_MEL as f64).sqrt()) as f32;
                }
                row
            })
            .collect();
        Frontend {
            rate,
            win,
            window,
            window_power,
            fft: Fft::new(n),
            filters,
            dct,
            buf: VecDeque::new(),
            buf_start: 0,
            received: 0,
            next_hop: 0,
            level_db: -50.0,
            cep_mean,
            spectrum: vec![(0.0, 0.0); n],
        }
    }

    /// The sample index where hop `k`'s window starts (may be negative: before the audio, read as silence).
    fn window_start(&self, k: usize) -> i64 {
        let centre = (k as u64 * 2 + 1) * u64::from(self.rate) / 200;
        centre as i64 - (self.win / 2) as i64
    }

    /// Adds samples (mono, -1..1) and returns the features of every hop whose window is now complete.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<Base>) {
        self.buf.extend(samples.iter().map(|s| if s.is_finite() { s.clamp(-1.0, 1.0) } else { 0.0 }));
        self.received += samples.len();
        while self.window_start(self.next_hop) + self.win as i64 <= self.received as i64 {
            out.push(self.hop());
        }
        self.trim();
    }

    /// Pads with silence and returns the features of the remaining hops, one per started 10 ms of audio.
    pub fn finish(&mut self, out: &mut Vec<Base>) {
        let hops = (self.received as u64 * 100).div_ceil(u64::from(self.rate)) as usize;
        while self.next_hop < hops {
            out.push(self.hop());
        }
    }

    /// How many hops have been computed so far.
    pub fn hops(&self) -> usize {
        self.next_hop
    }

    /// The running cepstral mean (of speech so far).
    pub fn cepstral_mean(&self) -> [f32; N_CEP] {
        self.cep_mean
    }

    fn trim(&mut self) {
        let keep_from = self.window_start(self.next_hop).max(0) as usize;
        while self.buf_start < keep_from && !self.buf.is_empty() {
            self.buf.pop_front();
            self.buf_start += 1;
        }
    }

    fn sample(&self, i: i64) -> f32 {
        if i < self.buf_start as i64 {
            return 0.0;
        }
        self.buf.get(i as usize - self.buf_start).copied().unwrap_or(0.0)
    }

    fn hop(&mut self) -> Base {
        let start = self.window_start(self.next_hop);
        self.next_hop += 1;
        let mut energy = 0f64;
        let mut crossings = 0u32;
        let mut prev_raw = self.sample(start - 1);
        let mut prev_sign = prev_raw >= 0.0;
        let mut spectrum = std::mem::take(&mut self.spectrum);
        for (i, slot) in spectrum.iter_mut().enumerate() {
            if i >= self.win {
                *slot = (0.0, 0.0);
                continue;
            }
            let x = self.sample(start + i as i64);
            energy += f64::from(x * x);
            let sign = x >= 0.0;
            if sign != prev_sign {
                crossings += 1;
            }
            prev_sign = sign;
            *slot = ((x - 0.97 * prev_raw) * self.window[i], 0.0);
            prev_raw = x;
        }
        self.fft.run(&mut spectrum);
        self.spectrum = spectrum;
        let scale = 1.0 / (self.window_power * f64::from(self.rate) / 16000.0);
        let mut bands = [0f32; N_MEL];
        for (band, (first, w)) in bands.iter_mut().zip(&self.filters) {
            let mut p = 0f64;
            for (j, &wj) in w.iter().enumerate() {
                let (re, im) = self.spectrum[first + j];
                p += f64::from(wj) * f64::from(re * re + im * im);
            }
            *band = (p * scale + 1e-9).ln() as f32;
        }
        let mut cep = [0f32; N_CEP];
        for (c, row) in cep.iter_mut().zip(&self.dct) {
            *c = row.iter().zip(&bands).map(|(a, b)| a * b).sum();
        }
        let db = 10.0 * (energy / self.win as f64 + 1e-12).log10();
        // Speech level: a peak tracker that decays 2 dB per second and never sinks below -50 dBFS.
        self.level_db = (self.level_db - 2.0 * f64::from(HOP_MS) / 1000.0).max(db).max(-50.0);
        let rel = if db < SILENCE_DBFS { -60.0 } else { (db - self.level_db).clamp(-60.0, 0.0) } as f32;
        if rel > PAUSE_DB {
            // Cepstral mean over speech, time constant about 3 s.
            let a = 1.0 / 300.0;
            for (m, c) in self.cep_mean.iter_mut().zip(&cep) {
                *m += a * (c - *m);
            }
        }
        let mut base = [0f32; N_BASE];
        base[0] = rel / 10.0;
        base[1] = crossings as f32 / self.win as f32 * 10.0;
        for i in 0..N_CEP {
            base[2 + i] = cep[i] - self.cep_mean[i];
        }
        base
    }
}

/// Whether a hop's features say speech (louder than a pause).
pub fn is_speech(base: &Base) -> bool {
    base[0] * 10.0 > PAUSE_DB
}

/// A radix-2 complex FFT of a fixed power-of-two size.
#[derive(Debug, Clone)]
struct Fft {
    n: usize,
    twiddles: Vec<(f32, f32)>,
    rev: Vec<usize>,
}

impl Fft {
    fn new(n: usize) -> Fft {
        let bits = n.trailing_zeros();
        let rev = (0..n).map(|i| if bits == 0 { 0 } else { i.reverse_bits() >> (usize::BITS - bits) }).collect();
        let twiddles = (0..n / 2)
            .map(|k| {
                let a = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
                (a.cos() as f32, a.sin() as f32)
            })
            .collect();
        Fft { n, twiddles, rev }
    }

    fn run(&self, x: &mut [(f32, f32)]) {
        let n = self.n;
        for i in 0..n {
            let j = self.rev[i];
            if j > i {
                x.swap(i, j);
            }
        }
        let mut len = 2;
        while len <= n {
            let step = n / len;
            for start in (0..n).step_by(len) {
                for k in 0..len / 2 {
                    let (wr, wi) = self.twiddles[k * step];
                    let (ar, ai) = x[start + k];
                    let (br, bi) = x[start + k + len / 2];
                    let (tr, ti) = (br * wr - bi * wi, br * wi + bi * wr);
                    x[start + k] = (ar + tr, ai + ti);
                    x[start + k + len / 2] = (ar - tr, ai - ti);
                }
            }
            len *= 2;
        }
    }
}

/// A calibrated classifier: context offsets, standardization, and a one-hidden-layer network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// What it was calibrated on and how (free text, for people).
    pub about: String,
    /// Hop offsets stacked into one input, e.g. `[-4, -2, 0, 2, 4]`; none above [`MAX_FUTURE_HOPS`].
    pub offsets: Vec<i32>,
    /// The cepstral mean a stream starts from.
    pub cep_mean: Vec<f32>,
    /// Per-input mean and standard deviation.
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    /// Hidden layer: `hidden × inputs` weights, row-major, and biases.
    pub hidden: usize,
    pub w1: Vec<f32>,
    pub b1: Vec<f32>,
    /// Output layer: `9 × hidden` weights (shapes in [`Shape::ALL`] order), and biases.
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
    /// A frame shows a closure (A) when any of its hops gives A at least this probability.
    pub closure_threshold: f32,
}

/// The profile shipped with doppel, calibrated on its built-in voices.
pub fn builtin_profile() -> &'static Profile {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    PROFILE.get_or_init(|| {
        let p: Profile = serde_json::from_str(include_str!("profile.json")).expect("the built-in profile parses");
        p.check().expect("the built-in profile is consistent");
        p
    })
}

impl Profile {
    /// Inputs of the network.
    pub fn inputs(&self) -> usize {
        self.offsets.len() * N_BASE
    }

    /// Checks that the sizes agree and the context looks no further ahead than allowed.
    pub fn check(&self) -> Result<(), String> {
        let d = self.inputs();
        let h = self.hidden;
        if self.offsets.is_empty() || self.offsets.iter().any(|&o| o > MAX_FUTURE_HOPS as i32 || o < -50) {
            return Err(format!("offsets {:?} must be in -50..={MAX_FUTURE_HOPS}", self.offsets));
        }
        let sizes = [
            ("cep_mean", self.cep_mean.len(), N_CEP),
            ("mean", self.mean.len(), d),
            ("std", self.std.len(), d),
            ("w1", self.w1.len(), h * d),
            ("b1", self.b1.len(), h),
            ("w2", self.w2.len(), 9 * h),
            ("b2", self.b2.len(), 9),
        ];
        for (name, have, want) in sizes {
            if have != want {
                return Err(format!("{name} has {have} values, expected {want}"));
            }
        }
        Ok(())
    }

    fn cep_mean_array(&self) -> [f32; N_CEP] {
        let mut m = [0f32; N_CEP];
        m.iter_mut().zip(&self.cep_mean).for_each(|(a, b)| *a = *b);
        m
    }

    /// Stacks the context of hop `k` from `rows` (hop `k` at index `k - first`; outside rows read as silence)
    /// into `x`, standardized.
    pub fn input(&self, rows: &VecDeque<Base>, first: usize, k: usize, x: &mut Vec<f32>) {
        x.clear();
        for &o in &self.offsets {
            let j = k as i64 + i64::from(o) - first as i64;
            let row = if j >= 0 { rows.get(j as usize) } else { None };
            match row {
                Some(r) => x.extend_from_slice(r),
                None => x.extend_from_slice(&SILENT),
            }
        }
        for ((v, m), s) in x.iter_mut().zip(&self.mean).zip(&self.std) {
            *v = (*v - m) / s;
        }
    }

    /// Shape probabilities for one standardized input.
    pub fn posteriors(&self, x: &[f32], hidden: &mut Vec<f32>) -> [f32; 9] {
        let d = x.len();
        hidden.clear();
        hidden.extend(self.b1.iter().enumerate().map(|(i, b)| {
            let row = &self.w1[i * d..(i + 1) * d];
            (b + row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>()).tanh()
        }));
        let mut z = [0f32; 9];
        for (c, zc) in z.iter_mut().enumerate() {
            let row = &self.w2[c * self.hidden..(c + 1) * self.hidden];
            *zc = self.b2[c] + row.iter().zip(hidden.iter()).map(|(w, h)| w * h).sum::<f32>();
        }
        softmax(&mut z);
        z
    }
}

/// The features of digital silence.
const SILENT: Base = {
    let mut b = [0f32; N_BASE];
    b[0] = -6.0;
    b
};

/// Turns logits into probabilities in place.
pub fn softmax(z: &mut [f32]) {
    let max = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    z.iter_mut().for_each(|v| *v /= sum);
}

/// The audio-to-shapes estimator as a stream.
///
/// ```
/// use doppel_lipsync::audio::Estimator;
/// let mut est = Estimator::new(16_000, 25);
/// let mut frames = est.push(&vec![0.0; 16_000]); // one second of silence
/// frames.extend(est.finish());
/// assert_eq!(frames.len(), 25);
/// assert!(frames.iter().all(|s| *s == doppel_lipsync::Shape::X));
/// ```
#[derive(Debug, Clone)]
pub struct Estimator {
    profile: &'static Profile,
    frontend: Frontend,
    fps: u32,
    /// Base rows from hop `rows_first` on.
    rows: VecDeque<Base>,
    rows_first: usize,
    /// Posteriors from hop `post_first` on.
    post: VecDeque<[f32; 9]>,
    post_first: usize,
    next_frame: usize,
    new_rows: Vec<Base>,
    x: Vec<f32>,
    h: Vec<f32>,
}

impl Estimator {
    /// An estimator with the built-in profile for audio at `sample_rate`, giving one shape per frame at `fps`.
    pub fn new(sample_rate: u32, fps: u32) -> Estimator {
        Estimator::with_profile(builtin_profile(), sample_rate, fps)
    }

    /// An estimator with a given profile.
    pub fn with_profile(profile: &'static Profile, sample_rate: u32, fps: u32) -> Estimator {
        Estimator {
            profile,
            frontend: Frontend::new(sample_rate, profile.cep_mean_array()),
            fps: fps.clamp(1, 100),
            rows: VecDeque::new(),
            rows_first: 0,
            post: VecDeque::new(),
            post_first: 0,
            next_frame: 0,
            new_rows: Vec::new(),
            x: Vec::new(),
            h: Vec::new(),
        }
    }

    /// Adds mono samples in -1..1 and returns the shapes of the frames that are now decided, in order.
    pub fn push(&mut self, samples: &[f32]) -> Vec<Shape> {
        let mut rows = std::mem::take(&mut self.new_rows);
        rows.clear();
        self.frontend.push(samples, &mut rows);
        self.rows.extend(rows.iter().copied());
        self.new_rows = rows;
        self.advance(false)
    }

    /// Ends the stream (padding with silence) and returns the remaining frames: in all, one per started frame of
    /// the audio pushed.
    pub fn finish(mut self) -> Vec<Shape> {
        let mut rows = Vec::new();
        self.frontend.finish(&mut rows);
        self.rows.extend(rows);
        self.advance(true)
    }

    /// Frame `j` covers hops whose centre lies in `[j/fps, (j+1)/fps)`: hops `first..end`.
    fn frame_hops(&self, j: usize) -> (usize, usize) {
        let edge = |j: usize| ((j as u64 * 1000 / u64::from(self.fps)) as usize + 4) / 10;
        (edge(j), edge(j + 1).max(edge(j) + 1))
    }

    fn advance(&mut self, finished: bool) -> Vec<Shape> {
        let max_future = self.profile.offsets.iter().copied().max().unwrap_or(0).max(0) as usize;
        let total_rows = self.rows_first + self.rows.len();
        // Posteriors for every hop whose future context is in.
        let mut k = self.post_first + self.post.len();
        while k < total_rows && (finished || k + max_future < total_rows) {
            self.profile.input(&self.rows, self.rows_first, k, &mut self.x);
            let p = self.profile.posteriors(&self.x, &mut self.h);
            self.post.push_back(p);
            k += 1;
        }
        let have = self.post_first + self.post.len();
        let total_frames = if finished {
            let ms = self.frontend.received as u64 * 1000 / u64::from(self.frontend.rate);
            Some((ms * u64::from(self.fps)).div_ceil(1000) as usize)
        } else {
            None
        };
        let mut out = Vec::new();
        loop {
            if total_frames.is_some_and(|t| self.next_frame >= t) {
                break;
            }
            let (a, b) = self.frame_hops(self.next_frame);
            if b > have && !finished {
                break;
            }
            out.push(self.frame_shape(a, b.min(have)));
            self.next_frame += 1;
        }
        // Drop what no later frame needs.
        let (next_a, _) = self.frame_hops(self.next_frame);
        while self.post_first < next_a && !self.post.is_empty() {
            self.post.pop_front();
            self.post_first += 1;
        }
        let min_offset = self.profile.offsets.iter().copied().min().unwrap_or(0).min(0).unsigned_abs() as usize;
        let keep_rows_from = (self.post_first + self.post.len()).saturating_sub(min_offset);
        while self.rows_first < keep_rows_from && !self.rows.is_empty() {
            self.rows.pop_front();
            self.rows_first += 1;
        }
        out
    }

    fn frame_shape(&self, a: usize, b: usize) -> Shape {
        let hops: Vec<&[f32; 9]> = (a..b).filter_map(|k| self.post.get(k.checked_sub(self.post_first)?)).collect();
        frame_decision(&hops, self.profile.closure_threshold)
    }
}

/// The shape of a frame from the posteriors of its hops.
pub fn frame_decision(hops: &[&[f32; 9]], closure_threshold: f32) -> Shape {
    if hops.is_empty() {
        return Shape::X;
    }
    if hops.iter().any(|p| p[0] >= closure_threshold) {
        return Shape::A;
    }
    let mut sum = [0f32; 9];
    for p in hops {
        for (s, v) in sum.iter_mut().zip(p.iter()) {
            *s += v;
        }
    }
    let best = (0..9).max_by(|&i, &j| sum[i].total_cmp(&sum[j])).unwrap_or(8);
    Shape::ALL[best]
}

/// The nine-shape track of a mono recording (samples in -1..1), covering `0..duration` without gaps, at 25 fps.
pub fn visemes_from_audio(sample_rate: u32, samples: &[f32]) -> Vec<Viseme> {
    let fps = 25;
    let mut est = Estimator::new(sample_rate, fps);
    let mut frames = est.push(samples);
    frames.extend(est.finish());
    let duration_ms = (samples.len() as u64 * 1000 / u64::from(sample_rate.max(1))) as u32;
    frames_to_visemes(&frames, fps, duration_ms)
}

/// Joins per-frame shapes into a gap-free track covering `0..duration_ms`.
pub fn frames_to_visemes(frames: &[Shape], fps: u32, duration_ms: u32) -> Vec<Viseme> {
    let mut out: Vec<Viseme> = Vec::new();
    let fps = u64::from(fps.max(1));
    for (i, &shape) in frames.iter().enumerate() {
        let start = ((i as u64 * 1000 / fps) as u32).min(duration_ms);
        let end = (((i as u64 + 1) * 1000 / fps) as u32).min(duration_ms);
        if end <= start {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.shape == shape => last.end_ms = end,
            _ => out.push(Viseme { start_ms: start, end_ms: end, shape }),
        }
    }
    if out.is_empty() {
        out.push(Viseme { start_ms: 0, end_ms: duration_ms, shape: Shape::X });
    }
    out
}

/// Stretches of speech in a mono recording, as `(start_ms, end_ms)`, separated by pauses of at least
/// `min_pause_ms`; stretches shorter than 60 ms are dropped (clicks, breaths).
pub fn speech_spans(sample_rate: u32, samples: &[f32], min_pause_ms: u32) -> Vec<(u32, u32)> {
    let mut fe = Frontend::new(sample_rate, builtin_profile().cep_mean_array());
    let mut rows = Vec::new();
    fe.push(samples, &mut rows);
    fe.finish(&mut rows);
    let duration_ms = (samples.len() as u64 * 1000 / u64::from(sample_rate.max(1))) as u32;
    let mut spans: Vec<(u32, u32)> = Vec::new();
    for (k, row) in rows.iter().enumerate() {
        if !is_speech(row) {
            continue;
        }
        let (s, e) = (k as u32 * HOP_MS, ((k as u32 + 1) * HOP_MS).min(duration_ms));
        match spans.last_mut() {
            Some(last) if s <= last.1 + min_pause_ms => last.1 = e,
            _ => spans.push((s, e)),
        }
    }
    spans.retain(|(s, e)| e - s >= 60);
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, ms: u32, hz: f32, amp: f32) -> Vec<f32> {
        let n = (rate as u64 * ms as u64 / 1000) as usize;
        (0..n).map(|i| amp * (2.0 * std::f32::consts::PI * hz * i as f32 / rate as f32).sin()).collect()
    }

    #[test]
    fn fft_matches_a_direct_transform() {
        let n = 16;
        let input: Vec<(f32, f32)> = (0..n).map(|i| ((i as f32 * 0.7).sin(), 0.0)).collect();
        let mut x = input.clone();
        Fft::new(n).run(&mut x);
        for (k, got) in x.iter().enumerate() {
            let (mut re, mut im) = (0f64, 0f64);
            for (t, v) in input.iter().enumerate() {
                let a = -2.0 * std::f64::consts::PI * (k * t) as f64 / n as f64;
                re += f64::from(v.0) * a.cos();
                im += f64::from(v.0) * a.sin();
            }
            assert!((f64::from(got.0) - re).abs() < 1e-4 && (f64::from(got.1) - im).abs() < 1e-4, "bin {k}");
        }
    }

    #[test]
    fn one_hop_per_started_ten_ms_at_any_rate() {
        for rate in [8000, 16000, 22050, 24000, 44100, 48000] {
            let mut fe = Frontend::new(rate, [0.0; N_CEP]);
            let mut rows = Vec::new();
            let audio = tone(rate, 1234, 440.0, 0.3);
            for chunk in audio.chunks(333) {
                fe.push(chunk, &mut rows);
            }
            fe.finish(&mut rows);
            assert_eq!(rows.len(), 124, "rate {rate}");
            assert!(rows.iter().all(|r| r.iter().all(|v| v.is_finite())));
        }
    }

    #[test]
    fn streaming_and_whole_give_the_same_frames() {
        let rate = 16000;
        let mut audio = tone(rate, 300, 200.0, 0.4);
        audio.extend(vec![0.0; 4000]);
        audio.extend(tone(rate, 500, 700.0, 0.2));
        let mut whole = Estimator::new(rate, 25);
        let mut a = whole.push(&audio);
        a.extend(whole.finish());
        let mut streamed = Estimator::new(rate, 25);
        let mut b = Vec::new();
        for chunk in audio.chunks(97) {
            b.extend(streamed.push(chunk));
        }
        b.extend(streamed.finish());
        assert_eq!(a, b);
        assert_eq!(a.len(), (audio.len() as u64 * 25).div_ceil(16000) as usize);
    }

    #[test]
    fn a_frame_is_decided_within_the_lookahead() {
        let rate = 16000;
        let mut est = Estimator::new(rate, 25);
        // After 1 s plus the look-ahead, every frame of that second is out.
        let n = (rate as u64 * u64::from(1000 + LOOKAHEAD_MS) / 1000) as usize;
        let frames = est.push(&tone(rate, 1000 + LOOKAHEAD_MS, 300.0, 0.3)[..n]);
        assert!(frames.len() >= 25, "{} frames after 1 s + look-ahead", frames.len());
    }

    #[test]
    fn silence_rests_and_spans_find_speechlike_bursts() {
        let rate = 22050;
        let v = visemes_from_audio(rate, &vec![0.0; 22050]);
        assert_eq!(v, vec![Viseme { start_ms: 0, end_ms: 1000, shape: Shape::X }]);
        let mut audio = vec![0.0; 4410];
        audio.extend(tone(rate, 400, 250.0, 0.3));
        audio.extend(vec![0.0; 11025]);
        audio.extend(tone(rate, 300, 250.0, 0.3));
        let spans = speech_spans(rate, &audio, 200);
        assert_eq!(spans.len(), 2, "{spans:?}");
        assert!(spans[0].0.abs_diff(200) <= 20 && spans[0].1.abs_diff(600) <= 20, "{spans:?}");
    }

    #[test]
    fn garbage_samples_do_not_panic() {
        let audio = [f32::NAN, f32::INFINITY, -7.0, 3.0, 0.1];
        let v = visemes_from_audio(8000, &audio.repeat(1000));
        assert!(!v.is_empty());
        assert!(visemes_from_audio(48000, &[]).len() == 1);
    }

    #[test]
    fn builtin_profile_is_consistent() {
        builtin_profile().check().unwrap();
    }
}
