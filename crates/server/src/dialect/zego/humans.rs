//! The catalog Actions: `GetDigitalHumanList`, `GetDigitalHumanInfo` (seed 000, field for field) and
//! `GetTimbreList`, over the same digital humans and voices as the native API ([`crate::catalog`]). URLs are
//! the native API's signed `/files/…` URLs: `AvatarUrl` is the avatar's thumbnail, each action's `PreviewUrl`
//! its generated preview video.
//!
//! Built-in digital humans are public (`IsPublic: true`); a project's imported ones are private. Timbres are
//! doppel's voices; a timbre's `AvatarUrl` is the thumbnail of the digital human it belongs to (the one whose
//! default voice it is), or empty when none does.

use doppel_speech::Tts;
use serde_json::{json, Value};

use super::{code, Params, ZegoError, ZegoResult};
use crate::catalog::{self, Human};
use crate::AppState;

/// Largest `Offset` and `Limit` of the listings, and the default `Limit`.
const MAX_OFFSET: i64 = 1_000_000;
const MAX_LIMIT: i64 = 20;

/// A digital human as ZEGO shows it: `DigitalHumanId, Name, AvatarUrl, IsPublic, Actions[]{Action, PreviewUrl}`.
pub fn human_json(state: &AppState, h: &Human, now_secs: i64) -> Value {
    let n = h.to_json(state, now_secs);
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let actions: Vec<Value> = n["actions"]
        .as_array()
        .map(|a| {
            a.iter().map(|x| json!({"Action": text(&x["action"]), "PreviewUrl": text(&x["preview_url"])})).collect()
        })
        .unwrap_or_default();
    json!({
        "DigitalHumanId": h.id(),
        "Name": text(&n["name"]),
        "AvatarUrl": text(&n["avatar_url"]),
        "IsPublic": matches!(h, Human::Builtin(_)),
        "Actions": actions,
    })
}

fn not_found(id: &str) -> ZegoError {
    ZegoError::new(
        code::DIGITAL_HUMAN_NOT_FOUND,
        format!("digital human not found: DigitalHumanId {id:?} does not exist (see GetDigitalHumanList)"),
    )
}

fn page<T>(all: Vec<T>, offset: i64, limit: i64) -> Vec<T> {
    all.into_iter().skip(offset as usize).take(limit as usize).collect()
}

/// `GetDigitalHumanList`: `InferenceMode` (1 normal, 2 advanced: the same humans here), `FetchMode` (1 all,
/// 2 public, 3 private), `Offset`, `Limit` → `{Total, DigitalHumans[]}`.
pub async fn list(state: &AppState, project_id: &str, p: &Params, now_secs: i64) -> ZegoResult<Value> {
    p.int("InferenceMode", 1, 2, 1)?;
    let fetch = p.int("FetchMode", 1, 3, 1)?;
    let offset = p.int("Offset", 0, MAX_OFFSET, 0)?;
    let limit = p.int("Limit", 1, MAX_LIMIT, MAX_LIMIT)?;
    let all: Vec<Human> = catalog::humans(state, project_id)
        .await?
        .into_iter()
        .filter(|h| match fetch {
            2 => matches!(h, Human::Builtin(_)),
            3 => matches!(h, Human::Private(_)),
            _ => true,
        })
        .collect();
    let total = all.len();
    let humans: Vec<Value> = page(all, offset, limit).iter().map(|h| human_json(state, h, now_secs)).collect();
    Ok(json!({"Total": total, "DigitalHumans": humans}))
}

/// `GetDigitalHumanInfo`: `DigitalHumanId` → the digital human (`400000003` when the project sees none).
pub async fn info(state: &AppState, project_id: &str, p: &Params, now_secs: i64) -> ZegoResult<Value> {
    let id = p.required_string("DigitalHumanId")?;
    let h = catalog::human(state, project_id, &id).await?.ok_or_else(|| not_found(&id))?;
    Ok(human_json(state, &h, now_secs))
}

/// `GetTimbreList`: without `DigitalHumanId` every voice; with it, the voice of that digital human. `Offset`,
/// `Limit` → `{Total, Timbres[]{TimbreId, Name, AvatarUrl}}`.
pub async fn timbres(state: &AppState, project_id: &str, p: &Params, now_secs: i64) -> ZegoResult<Value> {
    let human = p.string("DigitalHumanId")?;
    let offset = p.int("Offset", 0, MAX_OFFSET, 0)?;
    let limit = p.int("Limit", 1, MAX_LIMIT, MAX_LIMIT)?;
    let voices = state.tts.voices();
    let thumbnail = |id: &str| state.signer.url(&format!("humans/{id}/thumbnail.jpg"), now_secs);
    let all: Vec<Value> = match human {
        Some(id) => {
            let h = catalog::human(state, project_id, &id).await?.ok_or_else(|| not_found(&id))?;
            let voice = h.to_json(state, now_secs)["default_voice"].as_str().map(str::to_string);
            voices
                .iter()
                .filter(|v| voice.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(&v.id)))
                .map(|v| json!({"TimbreId": v.id, "Name": v.name, "AvatarUrl": thumbnail(&h.id())}))
                .collect()
        }
        None => voices
            .iter()
            .map(|v| {
                let owner = doppel_avatar::builtin()
                    .iter()
                    .find(|a| a.manifest.default_voice.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(&v.id)));
                let avatar_url = owner.map(|a| thumbnail(&a.manifest.id)).unwrap_or_default();
                json!({"TimbreId": v.id, "Name": v.name, "AvatarUrl": avatar_url})
            })
            .collect(),
    };
    let total = all.len();
    Ok(json!({"Total": total, "Timbres": page(all, offset, limit)}))
}
