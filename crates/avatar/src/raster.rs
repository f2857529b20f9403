//! Pixel loops for drawing sprites (premultiplied RGBA): source-over at a whole-pixel offset, and a turned,
//! scaled or faded sprite through an affine transform with bilinear sampling.
//!
//! Both work on pixels packed in a `u32` and blend two channels at a time (red with blue, green with alpha) in
//! integer arithmetic. The transformed draw walks each canvas row only over the span where the sprite lands,
//! stepping the sprite position in 16.16 fixed point, and filters the four channels of a pixel together with
//! SSE2 on x86-64. Flat illustrations are mostly empty space and areas of one colour, so four transparent texels
//! are skipped and four equal opaque ones copied without filtering. On a turned flat sprite this is about five
//! times as fast as tiny-skia's general pipeline (`cargo run --release -p doppel-avatar --example draw_bench`),
//! which matters because a turned limb or head is redrawn on most frames of a gesture.
//!
//! Sprites carry a transparent margin of at least one pixel (see `rig::crop`), so the sprite's own edge fades
//! out smoothly under the bilinear filter: no separate anti-aliasing is needed, and no sample reads outside it.

use tiny_skia::{Pixmap, PixmapMut, Transform};

const LOW: u32 = 0x00ff_00ff;

/// `a * (256 - f) + b * f`, over 256, for two packed pixels (`f` in 0..=256).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))] // x86-64 uses the vector version; tests compare the two
#[inline(always)]
fn lerp(a: u32, b: u32, f: u32) -> u32 {
    let g = 256 - f;
    let rb = (((a & LOW) * g + (b & LOW) * f) >> 8) & LOW;
    let ag = (((a >> 8) & LOW) * g + ((b >> 8) & LOW) * f) & !LOW;
    rb | ag
}

/// Every channel of a packed pixel times `m`, over 255 (rounded).
#[inline(always)]
fn scale255(p: u32, m: u32) -> u32 {
    let mul = |x: u32| {
        let t = x * m + 0x0080_0080;
        ((t + ((t >> 8) & LOW)) >> 8) & LOW
    };
    mul(p & LOW) | (mul((p >> 8) & LOW) << 8)
}

/// Source-over of premultiplied `s` onto `d`.
#[inline(always)]
fn over(s: u32, d: u32) -> u32 {
    let sa = s >> 24;
    if sa == 255 {
        return s;
    }
    // Channels stay within 255: s + d * (255 - sa) / 255 ≤ sa + (255 - sa).
    s + scale255(d, 255 - sa)
}

/// Source-over of a premultiplied sprite at a whole-pixel offset, clipped to the canvas.
pub fn blend_over(canvas: &mut PixmapMut<'_>, src: &Pixmap, x: i32, y: i32) {
    let (cw, ch) = (canvas.width() as i32, canvas.height() as i32);
    let (sw, sh) = (src.width() as i32, src.height() as i32);
    let (x0, y0, x1, y1) = (x.max(0), y.max(0), (x + sw).min(cw), (y + sh).min(ch));
    if x1 <= x0 || y1 <= y0 {
        return;
    }
    let n = (x1 - x0) as usize;
    let sp = src.data();
    let dp = canvas.data_mut();
    for row in y0..y1 {
        let s_off = ((row - y) * sw + (x0 - x)) as usize * 4;
        let d_off = (row * cw + x0) as usize * 4;
        let srow = &sp[s_off..s_off + n * 4];
        let drow = &mut dp[d_off..d_off + n * 4];
        for (d, s) in drow.chunks_exact_mut(4).zip(srow.chunks_exact(4)) {
            let sa = s[3];
            if sa == 255 {
                d.copy_from_slice(s);
            } else if sa != 0 {
                let sv = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                let dv = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
                d.copy_from_slice(&over(sv, dv).to_le_bytes());
            }
        }
    }
}

/// Where the rectangle `(x0, y0, x1, y1)` lands under `t`: the box `(min x, min y, max x, max y)` around its four
/// corners, or `None` when a corner is not finite.
pub(crate) fn landing((x0, y0, x1, y1): (i32, i32, i32, i32), t: &Transform) -> Option<(f32, f32, f32, f32)> {
    let corners = [(x0, y0), (x1, y0), (x0, y1), (x1, y1)].map(|(x, y)| {
        let (x, y) = (x as f32, y as f32);
        (t.sx * x + t.kx * y + t.tx, t.ky * x + t.sy * y + t.ty)
    });
    let (mut lo_x, mut lo_y, mut hi_x, mut hi_y) = (f32::INFINITY, f32::INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY);
    for (x, y) in corners {
        (lo_x, lo_y, hi_x, hi_y) = (lo_x.min(x), lo_y.min(y), hi_x.max(x), hi_y.max(y));
    }
    [lo_x, lo_y, hi_x, hi_y].iter().all(|v| v.is_finite()).then_some((lo_x, lo_y, hi_x, hi_y))
}

/// Draws `src` with `t` (sprite pixels to canvas pixels) onto `canvas` with bilinear sampling, source-over, at
/// `opacity` (0–1). A transform that cannot be inverted draws nothing.
pub fn draw_transformed(canvas: &mut PixmapMut<'_>, src: &Pixmap, t: Transform, opacity: f32) {
    let Some(inv) = t.invert() else { return };
    let (sw, sh) = (src.width() as i64, src.height() as i64);
    if sw < 2 || sh < 2 {
        return;
    }
    let (cw, ch) = (canvas.width() as i32, canvas.height() as i32);
    let alpha = (opacity.clamp(0.0, 1.0) * 255.0).round() as u32;
    if alpha == 0 {
        return;
    }
    // Where the sprite lands, clipped to the canvas.
    let Some((min_x, min_y, max_x, max_y)) = landing((0, 0, sw as i32, sh as i32), &t) else { return };
    let y0 = (min_y.floor() as i32).max(0);
    let y1 = (max_y.ceil() as i32).min(ch);
    let bx0 = (min_x.floor() as i32).max(0);
    let bx1 = (max_x.ceil() as i32).min(cw);
    if y1 <= y0 || bx1 <= bx0 {
        return;
    }
    // Sprite position per canvas pixel centre, minus half a pixel so that whole numbers are texel centres; valid
    // while 0 <= u < sw - 1 and 0 <= v < sh - 1 (the four texels exist). Fixed point 16.16.
    const ONE: f64 = 65536.0;
    let (du, dv) = (inv.sx as f64, inv.ky as f64);
    let (umax, vmax) = ((sw - 1) as f64, (sh - 1) as f64);
    let (fdu, fdv) = ((du * ONE).round() as i64, (dv * ONE).round() as i64);
    let dp = canvas.data_mut();
    for y in y0..y1 {
        let cy = y as f64 + 0.5;
        // u(x) = u0 + du * x over the row, likewise v.
        let u0 = inv.kx as f64 * cy + inv.tx as f64 + du * 0.5 - 0.5;
        let v0 = inv.sy as f64 * cy + inv.ty as f64 + dv * 0.5 - 0.5;
        // The span of x where 0 <= u(x) < umax and 0 <= v(x) < vmax.
        let (mut xa, mut xb) = (bx0 as f64, bx1 as f64);
        for (s0, d, max) in [(u0, du, umax), (v0, dv, vmax)] {
            if d.abs() < 1e-12 {
                if s0 < 0.0 || s0 >= max {
                    xb = xa;
                }
            } else {
                let (a, b) = ((0.0 - s0) / d, (max - s0) / d);
                let (lo, hi) = if d > 0.0 { (a, b) } else { (b, a) };
                xa = xa.max(lo.ceil());
                xb = xb.min(hi.ceil());
            }
        }
        if xb <= xa {
            continue;
        }
        let (xa, xb) = (xa as i32, xb as i32);
        let u = ((u0 + du * xa as f64) * ONE).round() as i64;
        let v = ((v0 + dv * xa as f64) * ONE).round() as i64;
        let span = Span { x: xa as usize..xb as usize, u, v, du: fdu, dv: fdv, alpha };
        span_over(&mut dp[(y * cw) as usize * 4..(y * cw + cw) as usize * 4], src, span);
    }
}

/// One canvas row's run of a transformed draw: canvas pixels `x`, the sprite position of the first (16.16
/// fixed point, texel centres on whole numbers) and its step per pixel, and the opacity.
struct Span {
    x: std::ops::Range<usize>,
    u: i64,
    v: i64,
    du: i64,
    dv: i64,
    alpha: u32,
}

#[cfg(target_arch = "x86_64")]
fn span_over(row: &mut [u8], src: &Pixmap, span: Span) {
    // SAFETY: SSE2 is part of the x86-64 baseline; every CPU that runs an x86-64 binary has it.
    unsafe { span_over_sse2(row, src, span) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn span_over_sse2(row: &mut [u8], src: &Pixmap, span: Span) {
    span_over_with(row, src, span, |t, b, fx, fy, a, d| sample_over(t, b, fx, fy, a, d));
}

#[cfg(not(target_arch = "x86_64"))]
fn span_over(row: &mut [u8], src: &Pixmap, span: Span) {
    span_over_with(row, src, span, sample_over_scalar);
}

/// Samples and lays over every pixel of a span with `sample` (see [`sample_over_scalar`]).
#[inline(always)]
fn span_over_with(row: &mut [u8], src: &Pixmap, span: Span, sample: impl Fn(u64, u64, u32, u32, u32, u32) -> u32) {
    let (sw, sh) = (src.width() as i64, src.height() as i64);
    let (umax, vmax) = (((sw - 1) << 16) - 1, ((sh - 1) << 16) - 1);
    let (sp, stride) = (src.data(), sw as usize);
    let Span { x, mut u, mut v, du, dv, alpha } = span;
    for x in x {
        // Rounding may put the ends a hair outside; clamp into the valid square.
        let uc = u.clamp(0, umax);
        let vc = v.clamp(0, vmax);
        u += du;
        v += dv;
        let i = (vc >> 16) as usize * stride + (uc >> 16) as usize;
        let (fx, fy) = (((uc >> 8) & 0xff) as u32, ((vc >> 8) & 0xff) as u32);
        let (top, bottom) = (load8(sp, i), load8(sp, i + stride));
        // Flat illustrations are mostly empty space and areas of one colour: four transparent texels leave the
        // canvas as it is, four equal opaque ones are the colour itself.
        if top == 0 && bottom == 0 {
            continue;
        }
        let out = &mut row[x * 4..x * 4 + 4];
        if top == bottom && top as u32 == (top >> 32) as u32 && alpha == 255 && top >> 56 == 255 {
            out.copy_from_slice(&(top as u32).to_le_bytes());
            continue;
        }
        let d = u32::from_le_bytes([out[0], out[1], out[2], out[3]]);
        out.copy_from_slice(&sample(top, bottom, fx, fy, alpha, d).to_le_bytes());
    }
}

/// Reads pixels `i` and `i + 1` as one little-endian `u64`.
#[inline(always)]
fn load8(px: &[u8], i: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&px[4 * i..4 * i + 8]);
    u64::from_le_bytes(b)
}

/// One bilinear sample from the texel pairs `top` (left, right) and `bottom`, weighted `fx`, `fy` (0–255, in
/// 256ths), faded to `alpha` (0–255) and laid over `d`; plain integer code, two channels at a time in a `u32`.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn sample_over_scalar(top: u64, bottom: u64, fx: u32, fy: u32, alpha: u32, d: u32) -> u32 {
    let t = lerp(top as u32, (top >> 32) as u32, fx);
    let b = lerp(bottom as u32, (bottom >> 32) as u32, fx);
    let mut s = lerp(t, b, fy);
    if alpha < 255 {
        s = scale255(s, alpha);
    }
    over(s, d)
}

/// [`sample_over_scalar`] with SSE2: the four channels in 16-bit lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn sample_over(top: u64, bottom: u64, fx: u32, fy: u32, alpha: u32, d: u32) -> u32 {
    use std::arch::x86_64::*;
    let zero = _mm_setzero_si128();
    let (fx, gx) = (fx as i16, (256 - fx) as i16);
    let (fy, gy) = (fy as i16, (256 - fy) as i16);
    // Weights for [left, right] texels: 256 - f on the low four lanes, f on the high four.
    let wx = _mm_set_epi16(fx, fx, fx, fx, gx, gx, gx, gx);
    let wy = _mm_set_epi16(fy, fy, fy, fy, gy, gy, gy, gy);
    let horizontal = |pair: u64| {
        let p = _mm_mullo_epi16(_mm_unpacklo_epi8(_mm_cvtsi64_si128(pair as i64), zero), wx);
        _mm_srli_epi16::<8>(_mm_add_epi16(p, _mm_srli_si128::<8>(p)))
    };
    let rows = _mm_unpacklo_epi64(horizontal(top), horizontal(bottom));
    let p = _mm_mullo_epi16(rows, wy);
    let mut s = _mm_srli_epi16::<8>(_mm_add_epi16(p, _mm_srli_si128::<8>(p)));
    let div255 = |t: __m128i| {
        let t = _mm_add_epi16(t, _mm_set1_epi16(128));
        _mm_srli_epi16::<8>(_mm_add_epi16(t, _mm_srli_epi16::<8>(t)))
    };
    if alpha < 255 {
        s = div255(_mm_mullo_epi16(s, _mm_set1_epi16(alpha as i16)));
    }
    let inv = _mm_sub_epi16(_mm_set1_epi16(255), _mm_shufflelo_epi16::<0xFF>(s));
    let dv = _mm_unpacklo_epi8(_mm_cvtsi32_si128(d as i32), zero);
    let out = _mm_add_epi16(s, div255(_mm_mullo_epi16(dv, inv)));
    _mm_cvtsi128_si32(_mm_packus_epi16(out, zero)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use tiny_skia::Color;

    fn solid(w: u32, h: u32, c: Color) -> Pixmap {
        // With a transparent one-pixel margin, as sprites have.
        let mut p = Pixmap::new(w + 2, h + 2).expect("pixmap");
        let mut inner = Pixmap::new(w, h).expect("pixmap");
        inner.fill(c);
        blend_over(&mut p.as_mut(), &inner, 1, 1);
        p
    }

    #[test]
    fn packed_blending_matches_the_formula() {
        // 50% black over white: 128 grey with full alpha.
        let s = 0x8000_0000u32;
        let d = 0xffff_ffffu32;
        let o = over(s, d);
        assert_eq!(o >> 24, 255);
        assert!((o & 0xff).abs_diff(127) <= 1, "{o:08x}");
        assert_eq!(lerp(0x0000_0000, 0xffff_ffff, 128), 0x7f7f_7f7f);
        assert_eq!(scale255(0xffff_ffff, 255), 0xffff_ffff);
        assert_eq!(scale255(0xffff_ffff, 0), 0);
    }

    #[test]
    fn the_vector_sample_equals_the_scalar_one() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Premultiplied texels: every colour channel at most its alpha.
        let texel = |r: u64| {
            let a = (r & 0xff) as u32;
            let c = |k: u32| ((r >> (8 + 8 * k)) as u32 & 0xff) * a / 255;
            c(0) | c(1) << 8 | c(2) << 16 | a << 24
        };
        for _ in 0..20_000 {
            let top = texel(next()) as u64 | (texel(next()) as u64) << 32;
            let bottom = texel(next()) as u64 | (texel(next()) as u64) << 32;
            let r = next();
            let (fx, fy, alpha) = ((r & 0xff) as u32, (r >> 8 & 0xff) as u32, [255, 128, 3][(r >> 16) as usize % 3]);
            let d = texel(next());
            // SAFETY: SSE2 is part of the x86-64 baseline.
            #[cfg(target_arch = "x86_64")]
            let vector = unsafe { sample_over(top, bottom, fx, fy, alpha, d) };
            #[cfg(not(target_arch = "x86_64"))]
            let vector = sample_over_scalar(top, bottom, fx, fy, alpha, d);
            assert_eq!(
                vector,
                sample_over_scalar(top, bottom, fx, fy, alpha, d),
                "{top:016x} {bottom:016x} {fx} {fy} {alpha} {d:08x}"
            );
        }
    }

    #[test]
    fn a_translation_by_whole_pixels_copies_the_sprite() {
        let sprite = solid(10, 6, Color::from_rgba8(200, 40, 20, 255));
        let mut a = Pixmap::new(40, 30).expect("pixmap");
        let mut b = Pixmap::new(40, 30).expect("pixmap");
        draw_transformed(&mut a.as_mut(), &sprite, Transform::from_translate(5.0, 7.0), 1.0);
        blend_over(&mut b.as_mut(), &sprite, 5, 7);
        assert_eq!(a.data(), b.data());
    }

    #[test]
    fn a_turned_sprite_covers_its_area_with_soft_edges_and_fades() {
        let sprite = solid(40, 40, Color::from_rgba8(0, 0, 255, 255));
        let mut c = Pixmap::new(100, 100).expect("pixmap");
        let t = Transform::from_translate(50.0, 50.0).pre_rotate(30.0).pre_translate(-21.0, -21.0);
        draw_transformed(&mut c.as_mut(), &sprite, t, 1.0);
        let px = |x: u32, y: u32| c.pixel(x, y).expect("pixel");
        assert_eq!(px(50, 50).alpha(), 255, "centre covered");
        assert_eq!(px(5, 5).alpha(), 0, "corner untouched");
        let area: u64 = c.pixels().iter().map(|p| p.alpha() as u64).sum::<u64>() / 255;
        assert!(area.abs_diff(1600) < 60, "covered area {area} of 1600");
        let partial = c.pixels().iter().filter(|p| p.alpha() > 0 && p.alpha() < 255).count();
        assert!(partial > 100, "edges are anti-aliased ({partial} partial pixels)");
        let mut faded = Pixmap::new(100, 100).expect("pixmap");
        draw_transformed(&mut faded.as_mut(), &sprite, t, 0.5);
        assert!(faded.pixel(50, 50).expect("pixel").alpha().abs_diff(128) <= 1);
    }
}
