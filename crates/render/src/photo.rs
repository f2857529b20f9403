//! A photo becomes a photo avatar: the picture is checked (one open-eyed, frontal face of at least 128 px, see
//! [`doppel_face::Problem`]), its face mesh is read once, and both go into an avatar package
//! ([`doppel_avatar::Avatar::from_photo`]) that renders like any other avatar.

use doppel_avatar::Avatar;
use doppel_face::{Analysis, FaceModels, Picture, Problem};
use tiny_skia::{IntSize, Pixmap};

/// The longest side a photo avatar keeps; larger photos are scaled down (MetaStudio accepts up to 1080p).
pub const MAX_SIDE: u32 = 1920;
/// The largest picture accepted at all, per side.
pub const MAX_INPUT_SIDE: u32 = 8192;

/// Why a photo did not become an avatar.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The picture is not usable (size, bytes).
    #[error("{0}")]
    Picture(String),
    /// The photo check refused it.
    #[error("{0}")]
    Problem(Problem),
    /// The face models failed (missing files, a model error).
    #[error(transparent)]
    Face(#[from] doppel_face::Error),
    #[error(transparent)]
    Avatar(#[from] doppel_avatar::Error),
}

/// A photo avatar and what the check saw.
#[derive(Debug, Clone)]
pub struct PhotoAvatar {
    pub avatar: Avatar,
    pub analysis: Analysis,
}

/// Straight RGBA flattened onto black (a photo avatar is opaque) and scaled so that neither side exceeds
/// [`MAX_SIDE`]; returns the pixels (premultiplied = straight, all opaque) and the size.
fn opaque(width: u32, height: u32, rgba: &[u8]) -> Result<Pixmap, PhotoError> {
    if width < 16 || height < 16 || width > MAX_INPUT_SIDE || height > MAX_INPUT_SIDE {
        return Err(PhotoError::Picture(format!(
            "the photo is {width}x{height}; each side must be 16–{MAX_INPUT_SIDE} pixels"
        )));
    }
    if rgba.len() != width as usize * height as usize * 4 {
        return Err(PhotoError::Picture(format!("{width}x{height} pixels need {} bytes", width * height * 4)));
    }
    let flat: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| {
            let a = p[3] as u32;
            [(p[0] as u32 * a / 255) as u8, (p[1] as u32 * a / 255) as u8, (p[2] as u32 * a / 255) as u8, 255]
        })
        .collect();
    let size = IntSize::from_wh(width, height).ok_or_else(|| PhotoError::Picture("empty photo".into()))?;
    let full = Pixmap::from_vec(flat, size).ok_or_else(|| PhotoError::Picture("empty photo".into()))?;
    let k = (MAX_SIDE as f32 / width.max(height) as f32).min(1.0);
    if k >= 1.0 {
        return Ok(full);
    }
    let (w, h) = (((width as f32 * k).round() as u32).max(16), ((height as f32 * k).round() as u32).max(16));
    let mut out = Pixmap::new(w, h).ok_or_else(|| PhotoError::Picture("empty photo".into()))?;
    let paint = tiny_skia::PixmapPaint { quality: tiny_skia::FilterQuality::Bicubic, ..Default::default() };
    out.draw_pixmap(0, 0, full.as_ref(), &paint, tiny_skia::Transform::from_scale(k, k), None);
    Ok(out)
}

/// Checks a photo and reads its face without making an avatar (MetaStudio's photo detection).
pub fn check_photo(models: &FaceModels, width: u32, height: u32, rgba: &[u8]) -> Result<Analysis, PhotoError> {
    let img = opaque(width, height, rgba)?;
    let analysis = models.analyze(Picture::new(img.width(), img.height(), img.data())?)?;
    match analysis.problem() {
        Some(p) => Err(PhotoError::Problem(p)),
        None => Ok(analysis),
    }
}

/// Makes a photo avatar with the given id and name from straight RGBA pixels.
pub fn photo_avatar(
    models: &FaceModels,
    id: &str,
    name: &str,
    (width, height): (u32, u32),
    rgba: &[u8],
) -> Result<PhotoAvatar, PhotoError> {
    let img = opaque(width, height, rgba)?;
    let analysis = models.analyze(Picture::new(img.width(), img.height(), img.data())?)?;
    if let Some(p) = analysis.problem() {
        return Err(PhotoError::Problem(p));
    }
    let landmarks = analysis.face.as_ref().map(|f| f.landmarks.clone()).unwrap_or_default();
    let png = img.encode_png().map_err(|e| PhotoError::Picture(format!("encoding the photo: {e}")))?;
    let avatar = Avatar::from_photo(id, name, png, (img.width(), img.height()), landmarks)?;
    Ok(PhotoAvatar { avatar, analysis })
}
