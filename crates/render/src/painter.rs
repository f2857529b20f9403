//! Incremental frames: a [`Painter`] draws frame after frame of a prepared render, but only the rectangles that
//! changed since the frame before, and hands them over as a YUV [`Patch`] to lay onto the previous frame.
//!
//! What changes is found by comparing the avatar's drawing steps ([`doppel_avatar::rig::DrawStep`]) with the
//! previous frame's, the subtitle shown, and the video layers (always redrawn). A changed step dirties its old and
//! its new bounds; nearby rectangles are merged, and every rectangle is aligned to even pixels so that its 4:2:0
//! chroma is exactly what converting the whole frame gives. Each rectangle is redrawn from the scene's stage
//! (background, layers, avatar, overlay, subtitle) into a scratch canvas of its size and converted to YUV.
//!
//! Invariant: applying the patches of frames `0..=i`, in order, to any planes gives the planes of converting
//! the whole frame `i` as [`crate::Prepared::draw_frame`] draws it, up to rounding: a sample may differ by one
//! level, and the anti-aliased edge of a turned part, drawn into a window rather than the whole frame, may round
//! differently in a pixel or two. The first patch of a scene covers the whole frame.

use doppel_avatar::rig::{DrawCache, DrawStep};
use doppel_media::encode::Planes;
use tiny_skia::PixmapMut;

use crate::job::Prepared;
use crate::Result;

/// Two rectangles closer than this (extra pixels their union would cover) are redrawn as one.
const MERGE_SLACK: i64 = 64 * 64;

/// A rectangle of the frame in pixels: top-left `x`, `y` (even), size `w`, `h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// The changed rectangles of one frame as YUV 4:2:0 (and alpha), each rectangle's planes tightly packed one after
/// the other.
#[derive(Debug, Default)]
pub struct Patch {
    rects: Vec<Rect>,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
    a: Vec<u8>,
}

impl Patch {
    /// An empty patch (to be filled by [`Painter::paint`]).
    pub fn new() -> Patch {
        Patch::default()
    }

    /// The rectangles that changed.
    pub fn rects(&self) -> &[Rect] {
        &self.rects
    }

    /// Pixels covered (the sum of the rectangles' areas).
    pub fn area(&self) -> u64 {
        self.rects.iter().map(|r| r.w as u64 * r.h as u64).sum()
    }

    /// Lays the patch onto the planes of the previous frame. The planes must be the frame's size (the alpha
    /// plane is written only when the patch has alpha and the planes have one).
    pub fn apply(&self, planes: Planes<'_>) {
        let Planes { y, u, v, mut a } = planes;
        let (mut oy, mut oc) = (0usize, 0usize);
        for r in &self.rects {
            let (x, yy, w, h) = (r.x as usize, r.y as usize, r.w as usize, r.h as usize);
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            put(&self.y[oy..oy + w * h], w, h, (x, yy), (&mut *y.0, y.1));
            put(&self.u[oc..oc + cw * ch], cw, ch, (x / 2, yy / 2), (&mut *u.0, u.1));
            put(&self.v[oc..oc + cw * ch], cw, ch, (x / 2, yy / 2), (&mut *v.0, v.1));
            if let (Some((plane, stride)), false) = (a.as_mut(), self.a.is_empty()) {
                put(&self.a[oy..oy + w * h], w, h, (x, yy), (&mut **plane, *stride));
            }
            oy += w * h;
            oc += cw * ch;
        }
    }
}

/// Copies a tightly packed `w`×`h` block to `(x, y)` of a strided plane, clipped to the plane.
fn put(src: &[u8], w: usize, h: usize, (x, y): (usize, usize), (dst, stride): (&mut [u8], usize)) {
    if w == 0 {
        return;
    }
    for (row, chunk) in src.chunks_exact(w).take(h).enumerate() {
        let start = (y + row) * stride + x;
        let n = w.min(stride.saturating_sub(x));
        if let Some(d) = dst.get_mut(start..start + n) {
            d.copy_from_slice(&chunk[..n]);
        }
    }
}

/// What the previous frame showed.
#[derive(Debug, Default)]
struct Shown {
    scene: Option<usize>,
    steps: Vec<DrawStep>,
    /// The subtitle image (by address), its top-left and size.
    subtitle: Option<(usize, i32, i32, u32, u32)>,
}

/// Draws the frames of a [`Prepared`] render one after the other as patches.
#[derive(Debug)]
pub struct Painter<'a> {
    prepared: &'a Prepared,
    shown: Shown,
    canvas: Vec<u8>,
    scratch: Vec<u8>,
    dirty: Vec<(i32, i32, i32, i32)>,
    cache: DrawCache,
}

impl<'a> Painter<'a> {
    pub(crate) fn new(prepared: &'a Prepared) -> Painter<'a> {
        Painter {
            prepared,
            shown: Shown::default(),
            canvas: Vec::new(),
            scratch: Vec::new(),
            dirty: Vec::new(),
            cache: DrawCache::for_frames(prepared.size().0, prepared.size().1),
        }
    }

    /// Draws frame `index` into `patch`: what changed since the frame this painter painted before, whichever it
    /// was (the whole frame when that was another scene, or for the first frame painted).
    pub fn paint(&mut self, index: usize, patch: &mut Patch) -> Result<()> {
        patch.rects.clear();
        let Some(frame) = self.prepared.frame_parts(index) else { return Ok(()) };
        let (fw, fh) = self.prepared.size();
        let steps = frame.rig.plan(&frame.state, frame.at.0, frame.at.1);
        let subtitle = frame.subtitle.map(|(p, x, y)| (p as *const _ as usize, x, y, p.width(), p.height()));
        self.dirty.clear();
        if self.shown.scene != Some(frame.scene) {
            self.cache.clear();
            self.dirty.push((0, 0, fw as i32, fh as i32));
        } else {
            let old = &self.shown.steps;
            if old.len() != steps.len() {
                self.dirty.extend(old.iter().chain(&steps).map(|s| frame.rig.bounds(s)));
            } else {
                for (a, b) in old.iter().zip(&steps) {
                    frame.rig.changed_bounds(a, b, &mut self.dirty);
                }
            }
            if self.shown.subtitle != subtitle {
                for (_, x, y, w, h) in [self.shown.subtitle, subtitle].into_iter().flatten() {
                    self.dirty.push((x, y, x + w as i32, y + h as i32));
                }
            }
            self.dirty.extend(frame.stage.moving_rects());
        }
        let rects = merge(&mut self.dirty, fw, fh);
        let alpha = self.prepared.alpha();
        let (mut ny, mut nc) = (0usize, 0usize);
        for r in &rects {
            ny += (r.w * r.h) as usize;
            nc += (r.w.div_ceil(2) * r.h.div_ceil(2)) as usize;
        }
        patch.y.resize(ny, 0);
        patch.u.resize(nc, 0);
        patch.v.resize(nc, 0);
        patch.a.resize(if alpha { ny } else { 0 }, 0);
        let (mut oy, mut oc) = (0usize, 0usize);
        for r in &rects {
            let (w, h) = (r.w as usize, r.h as usize);
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            self.canvas.resize(w * h * 4, 0);
            // Rectangles are never empty, so the window always exists.
            if let Some(mut canvas) = PixmapMut::from_bytes(&mut self.canvas[..w * h * 4], r.w, r.h) {
                let avatar = (frame.rig, steps.as_slice(), &mut self.cache);
                frame.stage.draw_region(&mut canvas, (r.x as i32, r.y as i32), frame.scene_ms, avatar, frame.subtitle);
            }
            let planes = Planes {
                y: (&mut patch.y[oy..oy + w * h], w),
                u: (&mut patch.u[oc..oc + cw * ch], cw),
                v: (&mut patch.v[oc..oc + cw * ch], cw),
                a: alpha.then(|| (&mut patch.a[oy..oy + w * h], w)),
            };
            crate::yuv::convert(&self.canvas[..w * h * 4], r.w, r.h, planes, &mut self.scratch)?;
            oy += w * h;
            oc += cw * ch;
        }
        patch.rects = rects;
        self.shown = Shown { scene: Some(frame.scene), steps, subtitle };
        Ok(())
    }
}

/// Clips dirty boxes `(x0, y0, x1, y1)` to the frame, aligns them to even pixels and merges those that overlap
/// or lie close together.
fn merge(boxes: &mut Vec<(i32, i32, i32, i32)>, fw: u32, fh: u32) -> Vec<Rect> {
    let (fw, fh) = (fw as i32, fh as i32);
    let mut out: Vec<(i32, i32, i32, i32)> = Vec::with_capacity(boxes.len());
    for &(x0, y0, x1, y1) in boxes.iter() {
        let (x0, y0) = (x0.clamp(0, fw) & !1, y0.clamp(0, fh) & !1);
        let (x1, y1) = (((x1.clamp(0, fw) + 1) & !1).min(fw), ((y1.clamp(0, fh) + 1) & !1).min(fh));
        if x1 > x0 && y1 > y0 {
            out.push((x0, y0, x1, y1));
        }
    }
    boxes.clear();
    let area = |b: &(i32, i32, i32, i32)| (b.2 - b.0) as i64 * (b.3 - b.1) as i64;
    'again: loop {
        for i in 0..out.len() {
            for j in i + 1..out.len() {
                let (a, b) = (out[i], out[j]);
                let u = (a.0.min(b.0), a.1.min(b.1), a.2.max(b.2), a.3.max(b.3));
                if area(&u) <= area(&a) + area(&b) + MERGE_SLACK {
                    out[i] = u;
                    out.swap_remove(j);
                    continue 'again;
                }
            }
        }
        break;
    }
    out.into_iter()
        .map(|(x0, y0, x1, y1)| Rect { x: x0 as u32, y: y0 as u32, w: (x1 - x0) as u32, h: (y1 - y0) as u32 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_are_clipped_aligned_and_merged() {
        let mut boxes = vec![(-5, 3, 11, 9), (10, 4, 20, 8), (500, 500, 510, 511), (900, 900, 1000, 1000)];
        let mut rects = merge(&mut boxes, 1000, 960);
        rects.sort_by_key(|r| (r.x, r.y));
        assert_eq!(
            rects,
            vec![
                Rect { x: 0, y: 2, w: 20, h: 8 },
                Rect { x: 500, y: 500, w: 10, h: 12 },
                Rect { x: 900, y: 900, w: 100, h: 60 },
            ]
        );
        // Boxes that mostly overlap become one; boxes that overlap a little stay two.
        let mut boxes = vec![(0, 0, 300, 300), (0, 200, 300, 500)];
        assert_eq!(merge(&mut boxes, 1000, 1000), vec![Rect { x: 0, y: 0, w: 300, h: 500 }]);
        let mut boxes = vec![(0, 0, 300, 300), (250, 250, 550, 550)];
        assert_eq!(merge(&mut boxes, 1000, 1000).len(), 2);
    }

    #[test]
    fn a_patch_lands_at_its_rectangle() {
        let patch = Patch {
            rects: vec![Rect { x: 2, y: 2, w: 2, h: 2 }],
            y: vec![1, 2, 3, 4],
            u: vec![9],
            v: vec![7],
            a: Vec::new(),
        };
        let (mut y, mut u, mut v) = (vec![0u8; 6 * 4], vec![0u8; 3 * 2], vec![0u8; 3 * 2]);
        patch.apply(Planes { y: (&mut y, 6), u: (&mut u, 3), v: (&mut v, 3), a: None });
        assert_eq!(&y[12..18], &[0, 0, 1, 2, 0, 0]);
        assert_eq!(&y[18..24], &[0, 0, 3, 4, 0, 0]);
        assert_eq!(u, vec![0, 0, 0, 0, 9, 0]);
        assert_eq!(v, vec![0, 0, 0, 0, 7, 0]);
    }
}
