//! Reading a square model input out of a picture: a square of the picture (any centre, side and turn) resampled
//! to `n` x `n`, planar RGB (NCHW) floats.

use crate::Picture;

/// Where an input square lies in the picture: its centre, side and turn (radians, clockwise on screen).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Square {
    pub cx: f32,
    pub cy: f32,
    pub side: f32,
    pub angle: f32,
}

impl Square {
    /// The picture point under input coordinate `(u, v)`, both in `0..n` (pixel centres at `i + 0.5`).
    pub fn to_picture(self, n: usize, u: f32, v: f32) -> (f32, f32) {
        let (s, c) = self.angle.sin_cos();
        let (du, dv) = ((u / n as f32 - 0.5) * self.side, (v / n as f32 - 0.5) * self.side);
        (self.cx + c * du - s * dv, self.cy + s * du + c * dv)
    }

    /// The square resampled to `n` x `n`, each channel mapped by `scale * px + offset`. A downscaled picture is
    /// averaged over several bilinear samples per pixel (so it does not alias); outside the picture is black.
    pub fn read(self, picture: Picture<'_>, n: usize, scale: f32, offset: f32) -> Vec<f32> {
        let sub = ((self.side / n as f32).ceil() as usize).clamp(1, 6);
        let mut out = vec![0.0f32; 3 * n * n];
        let inv = 1.0 / (sub * sub) as f32;
        for v in 0..n {
            for u in 0..n {
                let mut acc = [0.0f32; 3];
                for j in 0..sub {
                    for i in 0..sub {
                        let su = u as f32 + (i as f32 + 0.5) / sub as f32;
                        let sv = v as f32 + (j as f32 + 0.5) / sub as f32;
                        let (x, y) = self.to_picture(n, su, sv);
                        let px = bilinear(picture, x, y);
                        for k in 0..3 {
                            acc[k] += px[k];
                        }
                    }
                }
                for (k, a) in acc.iter().enumerate() {
                    out[k * n * n + v * n + u] = a * inv * scale + offset;
                }
            }
        }
        out
    }
}

/// The RGB value at picture point `(x, y)` (pixel centres at `i + 0.5`), 0..255; black outside the picture.
pub fn bilinear(p: Picture<'_>, x: f32, y: f32) -> [f32; 3] {
    let (fx, fy) = (x - 0.5, y - 0.5);
    let (x0, y0) = (fx.floor(), fy.floor());
    let (ax, ay) = (fx - x0, fy - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let texel = |xi: i64, yi: i64| -> [f32; 3] {
        if xi < 0 || yi < 0 || xi >= p.width as i64 || yi >= p.height as i64 {
            return [0.0; 3];
        }
        let o = (yi as usize * p.width as usize + xi as usize) * 4;
        [p.rgba[o] as f32, p.rgba[o + 1] as f32, p.rgba[o + 2] as f32]
    };
    let (a, b, c, d) = (texel(x0, y0), texel(x0 + 1, y0), texel(x0, y0 + 1), texel(x0 + 1, y0 + 1));
    let mut out = [0.0; 3];
    for k in 0..3 {
        let top = a[k] + (b[k] - a[k]) * ax;
        let bottom = c[k] + (d[k] - c[k]) * ax;
        out[k] = top + (bottom - top) * ay;
    }
    out
}
