//! `GET /files/{path}?expires=…&sig=…`: the files behind signed URLs (see [`crate::signing`]). No API key is
//! needed; the signature is the permission. Generated files (avatar thumbnails, action previews, voice samples)
//! are rendered on first request and cached in the blob store under `cache/`.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::StreamExt;
use serde::Deserialize;

use crate::catalog;
use crate::error::{ApiError, ApiResult};
use crate::signing::SignatureError;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/{*path}", get(file))
}

#[derive(Debug, Deserialize)]
struct Sig {
    expires: Option<String>,
    sig: Option<String>,
}

fn now_secs() -> i64 {
    doppel_store::now_ms() / 1000
}

async fn file(State(state): State<AppState>, Path(path): Path<String>, Query(q): Query<Sig>) -> ApiResult<Response> {
    match state.signer.verify(&path, q.expires.as_deref(), q.sig.as_deref(), now_secs()) {
        Ok(()) => {}
        Err(SignatureError::Expired) => {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "url_expired", "this signed URL has expired"))
        }
        Err(SignatureError::Missing) => {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "signature_missing", "the URL needs expires and sig"))
        }
        Err(SignatureError::Invalid) => {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "signature_invalid", "the URL's signature is invalid"))
        }
    }
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["assets", id] => {
            let asset = state.db.asset_any_project(id).await?.ok_or_else(|| ApiError::not_found("asset", id))?;
            stream_blob(&state, &asset.blob_key, &asset.content_type, Some(&asset.name)).await
        }
        ["humans", id, "thumbnail.jpg"] => {
            let key = format!("cache/humans/{id}/thumbnail.jpg");
            generate(&state, &key, Generate::Thumbnail { human: id.to_string() }).await?;
            stream_blob(&state, &key, "image/jpeg", None).await
        }
        ["humans", id, "actions", file] if file.ends_with(".mp4") => {
            let action = file.trim_end_matches(".mp4").to_string();
            let key = format!("cache/humans/{id}/actions/{action}.mp4");
            generate(&state, &key, Generate::Action { human: id.to_string(), action }).await?;
            stream_blob(&state, &key, "video/mp4", None).await
        }
        ["voices", id, "preview.wav"] => {
            let key = format!("cache/voices/{id}/preview.wav");
            generate(&state, &key, Generate::Voice { voice: id.to_string() }).await?;
            stream_blob(&state, &key, "audio/wav", None).await
        }
        _ => Err(ApiError::not_found("file", &path)),
    }
}

/// Streams a stored blob as the response body.
pub(crate) async fn stream_blob(
    state: &AppState,
    key: &str,
    content_type: &str,
    name: Option<&str>,
) -> ApiResult<Response> {
    let (size, stream) = state.blobs.stream(key).await.map_err(|e| match e {
        doppel_store::Error::Blob(object_store::Error::NotFound { .. }) => ApiError::not_found("file", key),
        other => ApiError::internal(other),
    })?;
    let body = Body::from_stream(stream.map(|r| r.map_err(std::io::Error::other)));
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    if let Some(n) = name {
        let safe: String = n.chars().filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\').collect();
        if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{safe}\"")) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    Ok(resp)
}

enum Generate {
    Thumbnail { human: String },
    Action { human: String, action: String },
    Voice { voice: String },
}

/// Makes sure the generated file `key` exists, rendering it when it does not.
async fn generate(state: &AppState, key: &str, what: Generate) -> ApiResult<()> {
    if state.blobs.exists(key).await? {
        return Ok(());
    }
    let _guard = state.preview_lock.lock().await;
    if state.blobs.exists(key).await? {
        return Ok(());
    }
    let dir = state.config.data_dir.join("tmp");
    tokio::fs::create_dir_all(&dir).await.map_err(ApiError::internal)?;
    let tmp = dir.join(format!("gen-{}", doppel_store::new_id()));
    let result = async {
        match what {
            Generate::Voice { voice } => {
                let tts = state.tts.clone();
                let out = tmp.with_extension("wav");
                let out2 = out.clone();
                tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
                    use doppel_speech::Tts;
                    let speech = tts.preview(&voice).map_err(|e| match e {
                        doppel_speech::Error::UnknownVoice { id } => ApiError::not_found("voice", &id),
                        // An HTTP engine's server is down or failed.
                        e => ApiError::new(StatusCode::BAD_GATEWAY, "tts_failed", e.to_string()),
                    })?;
                    let f = std::fs::File::create(&out2).map_err(ApiError::internal)?;
                    doppel_speech::wav::write(std::io::BufWriter::new(f), speech.sample_rate, &speech.samples)
                        .map_err(ApiError::internal)
                })
                .await
                .map_err(ApiError::internal)??;
                Ok(out)
            }
            Generate::Thumbnail { human } => render(state, &human, None, tmp.with_extension("jpg")).await,
            Generate::Action { human, action } => render(state, &human, Some(action), tmp.with_extension("mp4")).await,
        }
    }
    .await;
    let out = result?;
    let stored = state.blobs.put_file(key, &out).await;
    let _ = tokio::fs::remove_file(&out).await;
    stored?;
    Ok(())
}

async fn render(
    state: &AppState,
    human: &str,
    action: Option<String>,
    out: std::path::PathBuf,
) -> ApiResult<std::path::PathBuf> {
    let avatar = match doppel_avatar::builtin_by_id(human) {
        Some(a) => a.clone(),
        None => {
            let d =
                state.db.human_any_project(human).await?.ok_or_else(|| ApiError::not_found("digital human", human))?;
            catalog::load_private(state, &d).await.map_err(ApiError::internal)?
        }
    };
    if let Some(a) = &action {
        if !avatar.manifest.actions.iter().any(|x| &x.name == a) {
            return Err(ApiError::not_found("action", a));
        }
    }
    let tts = state.tts.clone();
    let out2 = out.clone();
    tokio::task::spawn_blocking(move || catalog::render_preview(tts.as_ref(), &avatar, action.as_deref(), &out2))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(out)
}
