//! Digital humans and voices as the API shows them, and the media doppel generates for them on first use and
//! caches in the blob store: an avatar thumbnail (JPEG), a short preview video per action (MP4), a voice sample
//! (WAV).
//!
//! Built-in avatars are public: every project sees them. Imported ones (avatar packages uploaded as zips) are
//! private to their project; their id is a generated 32-hex id, which is also their `model_asset_id`.

use std::path::Path;

use doppel_avatar::Avatar;
use doppel_store::DigitalHuman;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::AppState;

/// A digital human visible to a project.
#[derive(Debug, Clone)]
pub enum Human {
    Builtin(&'static Avatar),
    Private(DigitalHuman),
}

impl Human {
    pub fn id(&self) -> String {
        match self {
            Human::Builtin(a) => a.manifest.id.clone(),
            Human::Private(d) => d.id.clone(),
        }
    }

    fn info(&self) -> Value {
        match self {
            Human::Builtin(a) => info_of(a),
            Human::Private(d) => d.info.clone(),
        }
    }

    /// Action names.
    pub fn actions(&self) -> Vec<String> {
        self.info()["actions"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["name"].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    /// The API's view: seed 001's fields in snake case plus actions with preview URLs.
    pub fn to_json(&self, state: &AppState, now_secs: i64) -> Value {
        let info = self.info();
        let id = self.id();
        let (w, h) = (info["width"].as_u64().unwrap_or(0), info["height"].as_u64().unwrap_or(0));
        let actions: Vec<Value> = self
            .actions()
            .iter()
            .map(|a| json!({"action": a, "preview_url": state.signer.url(&format!("humans/{id}/actions/{a}.mp4"), now_secs)}))
            .collect();
        json!({
            "id": id,
            "name": info["name"],
            "description": info["description"],
            "type": if info["photo"].as_bool() == Some(true) { "PHOTO" } else { "2DAvatar" },
            "is_public": matches!(self, Human::Builtin(_)),
            "avatar_url": state.signer.url(&format!("humans/{id}/thumbnail.jpg"), now_secs),
            "portrait": h > w,
            "transparent": info["transparent"],
            "width": w,
            "height": h,
            "default_voice": info["default_voice"],
            "actions": actions,
            "emotions": info["emotions"],
        })
    }
}

/// What the API keeps of an avatar's manifest.
pub fn info_of(a: &Avatar) -> Value {
    let i = a.info();
    json!({
        "name": i.name,
        "description": i.description,
        "width": i.width,
        "height": i.height,
        "transparent": i.transparent,
        "default_voice": i.default_voice,
        "emotions": i.emotions,
        "actions": i.actions,
        "photo": a.is_photo(),
    })
}

/// Every digital human the project sees: built-ins first, then its own, oldest first.
pub async fn humans(state: &AppState, project_id: &str) -> Result<Vec<Human>, ApiError> {
    let mut out: Vec<Human> = doppel_avatar::builtin().iter().map(Human::Builtin).collect();
    out.extend(state.db.humans(project_id).await?.into_iter().map(Human::Private));
    Ok(out)
}

/// The digital human `id` as the project sees it.
pub async fn human(state: &AppState, project_id: &str, id: &str) -> Result<Option<Human>, ApiError> {
    if let Some(a) = doppel_avatar::builtin().iter().find(|a| a.manifest.id == id) {
        return Ok(Some(Human::Builtin(a)));
    }
    Ok(state.db.human(project_id, id).await?.map(Human::Private))
}

/// Loads an imported digital human's package, with the digital human's id as the avatar id.
pub async fn load_private(state: &AppState, d: &DigitalHuman) -> Result<Avatar, String> {
    let asset = state
        .db
        .asset(&d.project_id, &d.package_asset_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the package of digital human {} is gone", d.id))?;
    let bytes = state.blobs.get(&asset.blob_key).await.map_err(|e| e.to_string())?;
    let id = d.id.clone();
    tokio::task::spawn_blocking(move || {
        let mut a = Avatar::from_zip(&id, &bytes).map_err(|e| e.to_string())?;
        a.manifest.id = id;
        Ok(a)
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The avatar a script's `model_asset_id` names in a project: a built-in (handled by the renderer) or one of
/// the project's imported digital humans, loaded.
pub async fn avatars_for(
    state: &AppState,
    project_id: &str,
    model_asset_id: Option<&str>,
) -> Result<Vec<Avatar>, String> {
    let Some(id) = model_asset_id.filter(|s| !s.is_empty()) else { return Ok(Vec::new()) };
    if doppel_avatar::builtin_by_id(id).is_some() {
        return Ok(Vec::new());
    }
    match state.db.human(project_id, id).await.map_err(|e| e.to_string())? {
        Some(d) => Ok(vec![load_private(state, &d).await?]),
        None => Ok(Vec::new()),
    }
}

/// The voice catalog as the API shows it.
pub fn voices_json(state: &AppState, now_secs: i64) -> Vec<Value> {
    use doppel_speech::Tts;
    state
        .tts
        .voices()
        .into_iter()
        .map(|v| {
            let mut j = serde_json::to_value(&v).unwrap_or(Value::Null);
            j["preview_url"] = json!(state.signer.url(&format!("voices/{}/preview.wav", v.id), now_secs));
            j
        })
        .collect()
}

/// A short script that shows `avatar` (optionally doing `action`) on a light background.
fn preview_script(avatar: &Avatar, action: Option<&str>) -> doppel_script::Script {
    let portrait = avatar.manifest.canvas.height >= avatar.manifest.canvas.width;
    let (w, h) = if portrait { (720, 1280) } else { (1280, 720) };
    let lead = match action {
        Some(a) => format!("<insert-action name=\"{a}\"/>"),
        None => String::new(),
    };
    let text = format!("<speak>{lead}Hello! I am {}.</speak>", xml_escape(&avatar.manifest.name));
    let body = json!({
        "model_asset_id": avatar.manifest.id,
        "video_config": {"codec": "H264", "width": w, "height": h, "bitrate": 1500},
        "shoot_scripts": [{"sequence_no": 0, "shoot_script": {
            "script_type": "TEXT",
            "text_config": {"text": text},
            "background_config": [{"background_type": "COLOR", "background_color_config": "#EEF1F5"}]
        }}],
        "action_config": {"action_interval": 255}
    });
    doppel_script::parse_script_value(body).unwrap_or_default()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Renders a preview video (`action` given) or a thumbnail JPEG (`action` None) of `avatar` into `out`.
/// Blocking: call on a blocking thread.
pub fn render_preview(
    tts: &dyn doppel_speech::Tts,
    avatar: &Avatar,
    action: Option<&str>,
    out: &Path,
) -> Result<(), String> {
    let script = preview_script(avatar, action);
    let mut opts = doppel_render::RenderOptions::new(tts);
    opts.avatars = vec![avatar.clone()];
    opts.x264_preset = "veryfast".into();
    match action {
        Some(_) => {
            doppel_render::render(&script, out, &mut opts).map_err(|e| e.to_string())?;
        }
        None => {
            let video = out.with_extension("mp4");
            let prepared = doppel_render::prepare(&script, &video, &opts).map_err(|e| e.to_string())?;
            let mut canvas = prepared.canvas();
            prepared.draw_frame(0, &mut canvas);
            let (w, h) = prepared.size();
            doppel_media::image::write_jpeg(out, w, h, canvas.data()).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
