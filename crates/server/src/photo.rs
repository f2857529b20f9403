//! Photo avatars on the server: a picture (uploaded, an IMAGE asset, or MetaStudio's base64 `human_image`) is
//! decoded, checked with the face models (`doppel_face`) and, when it passes, kept as a digital human whose
//! package holds the photo and its face mesh. Decoding and the models run on blocking threads.

use axum::body::Bytes;
use axum::http::StatusCode;
use doppel_face::Analysis;
use doppel_render::photo::{check_photo, photo_avatar, PhotoError};
use doppel_store::DigitalHuman;
use serde_json::{json, Value};

use crate::api::store_asset;
use crate::catalog;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Whether bytes start like a picture FFmpeg reads (PNG, JPEG, WebP, BMP, GIF).
pub fn looks_like_image(b: &[u8]) -> bool {
    b.starts_with(b"\x89PNG")
        || b.starts_with(&[0xFF, 0xD8, 0xFF])
        || (b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP")
        || b.starts_with(b"BM")
        || b.starts_with(b"GIF8")
}

/// A picture decoded to straight RGBA: width, height, pixels.
type Decoded = (u32, u32, Vec<u8>);

/// Decodes picture bytes (through a temporary file in the data directory, which FFmpeg reads).
async fn decode(state: &AppState, field: &str, bytes: Bytes) -> ApiResult<Decoded> {
    if !looks_like_image(&bytes) {
        return Err(ApiError::bad_request(
            "invalid_photo",
            format!("{field}: not a PNG, JPEG, WebP, BMP or GIF picture"),
        ));
    }
    let dir = state.config.data_dir.join("tmp");
    let path = dir.join(format!("photo-{}", doppel_store::new_id()));
    let field = field.to_string();
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir).map_err(ApiError::internal)?;
        std::fs::write(&path, &bytes).map_err(ApiError::internal)?;
        let frame = doppel_media::image::read_image(&path);
        let _ = std::fs::remove_file(&path);
        let f = frame
            .map_err(|e| ApiError::bad_request("invalid_photo", format!("{field}: cannot decode the picture: {e}")))?;
        Ok((f.width, f.height, f.data))
    })
    .await
    .map_err(ApiError::internal)?
}

fn photo_error(field: &str, e: PhotoError) -> ApiError {
    match e {
        PhotoError::Problem(p) => ApiError::bad_request("invalid_photo", format!("{field}: {} ({})", p, p.code())),
        PhotoError::Picture(m) => ApiError::bad_request("invalid_photo", format!("{field}: {m}")),
        other => ApiError::internal(other),
    }
}

fn models(state: &AppState) -> ApiResult<doppel_face::FaceModels> {
    match state.faces.as_ref() {
        Ok(m) => Ok(m.clone()),
        Err(e) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "photo_avatars_unavailable",
            format!("photo avatars are not set up on this server: {e}"),
        )),
    }
}

/// Checks a picture as a photo avatar would be checked; `field` names it in errors.
pub async fn check(state: &AppState, field: &str, bytes: Bytes) -> ApiResult<Analysis> {
    let models = models(state)?;
    let (w, h, data) = decode(state, field, bytes).await?;
    let f = field.to_string();
    tokio::task::spawn_blocking(move || check_photo(&models, w, h, &data).map_err(|e| photo_error(&f, e)))
        .await
        .map_err(ApiError::internal)?
}

/// Makes a photo digital human in a project from picture bytes: checks the photo, reads its face once and stores
/// the package (a HUMAN_MODEL_2D asset) and the digital human. `source` goes into the asset's metadata.
pub async fn create_human(
    state: &AppState,
    project_id: &str,
    field: &str,
    name: &str,
    bytes: Bytes,
    source: Value,
) -> ApiResult<DigitalHuman> {
    let models = models(state)?;
    let (w, h, data) = decode(state, field, bytes).await?;
    let id = doppel_store::new_id();
    let (f, hid, hname) = (field.to_string(), id.clone(), name.to_string());
    let (avatar, zip) = tokio::task::spawn_blocking(move || {
        let made = photo_avatar(&models, &hid, &hname, (w, h), &data).map_err(|e| photo_error(&f, e))?;
        let zip = made.avatar.to_zip().map_err(ApiError::internal)?;
        Ok::<_, ApiError>((made.avatar, zip))
    })
    .await
    .map_err(ApiError::internal)??;
    let mut meta = json!({"digital_human_id": id, "photo": true});
    if let (Some(m), Value::Object(src)) = (meta.as_object_mut(), source) {
        m.extend(src);
    }
    let asset = store_asset(
        state,
        project_id,
        "HUMAN_MODEL_2D",
        &format!("{name}.zip"),
        "application/zip",
        Bytes::from(zip),
        meta,
    )
    .await?;
    let mut info = catalog::info_of(&avatar);
    info["package_id"] = json!(avatar.manifest.id);
    Ok(state.db.create_human(&id, project_id, &asset.id, &info).await?)
}
