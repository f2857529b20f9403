//! Still images through FFmpeg: reading any image FFmpeg decodes (PNG, JPEG, WebP, BMP, …) to RGBA, and writing
//! JPEG (cover images).

use std::path::Path;

use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::{codec, encoder, frame, Dictionary, Packet, Rational};

use crate::decode::{RgbaFrame, VideoReader};
use crate::{ff, init, Error, Result};

/// Reads the first frame of an image (or video) file as RGBA.
pub fn read_image(path: &Path) -> Result<RgbaFrame> {
    let mut reader = VideoReader::open(path)?;
    reader.next_frame()?.ok_or_else(|| Error::NoStream { path: path.to_path_buf(), kind: "image" })
}

/// Writes straight-alpha RGBA (`width * 4` bytes a row; alpha ignored) as a JPEG of quality about 90.
pub fn write_jpeg(path: &Path, width: u32, height: u32, rgba: &[u8]) -> Result<()> {
    init();
    if width == 0 || height == 0 || rgba.len() < (width * height * 4) as usize {
        return Err(Error::Invalid(format!("{width}x{height} image with {} bytes", rgba.len())));
    }
    let codec = encoder::find(codec::Id::MJPEG).ok_or(Error::MissingCodec("mjpeg"))?;
    let mut enc = ff("configuring the JPEG encoder", codec::context::Context::new_with_codec(codec).encoder().video())?;
    enc.set_width(width);
    enc.set_height(height);
    enc.set_format(Pixel::YUVJ420P);
    enc.set_time_base(Rational::new(1, 25));
    // Fixed quality: qscale 3 (mjpeg's scale is 2 best .. 31 worst).
    enc.set_flags(codec::Flags::QSCALE);
    enc.set_global_quality(3 * 118);
    let mut opts = Dictionary::new();
    opts.set("qmin", "2");
    opts.set("qmax", "4");
    let mut enc = ff("opening the JPEG encoder", enc.open_with(opts))?;
    let mut src = frame::Video::new(Pixel::RGBA, width, height);
    let stride = src.stride(0);
    for y in 0..height as usize {
        let row = width as usize * 4;
        src.data_mut(0)[y * stride..y * stride + row].copy_from_slice(&rgba[y * row..(y + 1) * row]);
    }
    let mut dst = frame::Video::empty();
    let mut scaler = ff(
        "creating a scaler",
        scaling::Context::get(Pixel::RGBA, width, height, Pixel::YUVJ420P, width, height, scaling::Flags::BICUBIC),
    )?;
    ff("converting to YUV", scaler.run(&src, &mut dst))?;
    dst.set_pts(Some(0));
    // SAFETY: a plain field write on a frame we own.
    unsafe { (*dst.as_mut_ptr()).quality = 3 * 118 };
    ff("encoding the JPEG", enc.send_frame(&dst))?;
    ff("flushing the JPEG encoder", enc.send_eof())?;
    let mut packet = Packet::empty();
    ff("encoding the JPEG", enc.receive_packet(&mut packet))?;
    let data = packet.data().ok_or_else(|| Error::Invalid("the JPEG encoder produced nothing".into()))?;
    let tmp = crate::encode::partial_path(path);
    std::fs::write(&tmp, data).map_err(|source| Error::Io { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, path).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}
