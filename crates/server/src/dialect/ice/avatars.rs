//! ICE's avatar and voice catalog Actions: `GetAvatar` (seed 001, field for field), `ListAvatars` and
//! `ListSmartVoiceGroups`, over doppel's digital humans ([`crate::catalog`]) and TTS voices.
//!
//! Decisions where ICE and doppel differ:
//! * `AvatarType` is always `2DAvatar` (the only type ICE documents). `ListAvatars` with another `AvatarType`
//!   lists nothing.
//! * `Thumbnail` is a signed URL of the avatar's thumbnail. `Portrait` is documented as "the media asset ID of
//!   the portrait image"; doppel keeps no separate portrait asset, so it is the signed URL of the same image
//!   (ICE accepts a URL wherever it accepts a media id).
//! * `ListSmartVoiceGroups` groups the voices by language (`Type` is the BCP 47 tag, e.g. `en-US`) and answers
//!   every voice whatever `VoiceType` asks for: doppel has one voice family. `Voice` is the id to pass as
//!   `EditingConfig.Voice`; `VoiceType` is `Female`/`Male`; `VoiceUrl` a signed URL of a spoken sample.

use serde_json::{json, Value};

use super::{IceError, IceResult, Params};
use crate::catalog::{self, Human};
use crate::AppState;

/// The only avatar type.
pub const AVATAR_TYPE: &str = "2DAvatar";

/// The ICE view of a digital human: seed 001's `Data.Avatar` (`with_size` adds `Width` and `Height`, which
/// `ListAvatars` does not have).
pub fn avatar_json(state: &AppState, h: &Human, now_secs: i64, with_size: bool) -> Value {
    let native = h.to_json(state, now_secs);
    let text = |k: &str| native[k].as_str().unwrap_or("").to_string();
    let mut out = json!({
        "AvatarId": h.id(),
        "AvatarName": text("name"),
        "AvatarDescription": text("description"),
        "AvatarType": AVATAR_TYPE,
        "Thumbnail": text("avatar_url"),
        "Portrait": text("avatar_url"),
        "Transparent": native["transparent"].as_bool().unwrap_or(false),
    });
    if with_size {
        out["Width"] = json!(native["width"].as_u64().unwrap_or(0));
        out["Height"] = json!(native["height"].as_u64().unwrap_or(0));
    }
    out
}

/// `GetAvatar`: `AvatarId` → `Data.Avatar`.
pub async fn get(state: &AppState, project: &str, p: &Params, now_secs: i64) -> IceResult<Value> {
    let id = p.required("AvatarId")?;
    let h = catalog::human(state, project, id).await?.ok_or_else(|| {
        IceError::not_found(
            "InvalidAvatarId.NotFound",
            format!("avatar {id:?} does not exist (ListAvatars lists the avatars of this account)"),
        )
    })?;
    Ok(json!({"Data": {"Avatar": avatar_json(state, &h, now_secs, true)}, "Success": true}))
}

/// `ListAvatars`: `AvatarType`, `PageNo` (from 1), `PageSize` (1–100, default 10) → `Data{TotalCount,
/// AvatarList}`. Built-in avatars first, then the project's own, oldest first.
pub async fn list(state: &AppState, project: &str, p: &Params, now_secs: i64) -> IceResult<Value> {
    let page_no = p.int("PageNo", 1, i32::MAX as i64, 1)?;
    let page_size = p.int("PageSize", 1, 100, 10)?;
    let all = match p.get("AvatarType") {
        Some(t) if t != AVATAR_TYPE => Vec::new(),
        _ => catalog::humans(state, project).await?,
    };
    let skip = ((page_no - 1) * page_size) as usize;
    let list: Vec<Value> =
        all.iter().skip(skip).take(page_size as usize).map(|h| avatar_json(state, h, now_secs, false)).collect();
    Ok(json!({"Data": {"TotalCount": all.len(), "AvatarList": list}, "Success": true}))
}

/// `ListSmartVoiceGroups` → `VoiceGroups[]{Type, VoiceList[]}`, one group per language in catalog order.
pub fn voice_groups(state: &AppState, _p: &Params, now_secs: i64) -> Value {
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for v in catalog::voices_json(state, now_secs) {
        let text = |k: &str| v[k].as_str().unwrap_or("").to_string();
        let language = text("language");
        let gender = match text("gender").as_str() {
            "female" => "Female".to_string(),
            "male" => "Male".to_string(),
            other => other.to_string(),
        };
        let voice = json!({
            "Voice": text("id"),
            "Name": text("name"),
            "Desc": text("description"),
            "Remark": format!("{} voice", text("engine")),
            "Tag": language,
            "VoiceType": gender,
            "VoiceUrl": text("preview_url"),
            "VoiceSource": "System",
        });
        match groups.iter_mut().find(|(l, _)| *l == language) {
            Some((_, list)) => list.push(voice),
            None => groups.push((language, vec![voice])),
        }
    }
    let groups: Vec<Value> = groups.into_iter().map(|(t, list)| json!({"Type": t, "VoiceList": list})).collect();
    json!({"VoiceGroups": groups})
}
