//! The asset library as MetaStudio shows it (`GET /v1/{project_id}/digital-assets[/{asset_id}]`), in the SDK's
//! `DigitalAssetInfo` shape:
//!
//! * digital humans are `HUMAN_MODEL_2D` assets whose `asset_id` is the `model_asset_id` a script names: the
//!   built-in avatars as SYSTEM assets, the project's imported ones as its own (CUSTOMIZATION);
//! * voices are SYSTEM `VOICE_MODEL` assets whose `asset_id` is the `voice_config.voice_asset_id`;
//! * the project's stored files (uploads and job results) keep their type: IMAGE, VIDEO, AUDIO, MUSIC; fonts and
//!   subtitle files are COMMON_FILE. Avatar packages (zips) are not listed on their own: the digital human they
//!   hold is.
//!
//! As on MetaStudio, a listing without `asset_source` shows the project's own assets only; built-in avatars and
//! voices need `asset_source=SYSTEM` (or `ALL`). Everything is ACTIVED. Listings are built in memory from the
//! catalog and the project's asset rows, filtered, sorted and paged here.

use std::collections::HashMap;

use doppel_store::{Asset, AssetFilter};
use serde_json::{json, Value};

use super::MsError;
use crate::catalog::{self, Human};
use crate::{iso_time, parse_iso_time, AppState};

/// Asset types a listing may ask for (the SDK's `asset_type` values, plus COMMON_FILE, which doppel shows).
pub const LIST_TYPES: &[&str] = &[
    "VOICE_MODEL",
    "VIDEO",
    "IMAGE",
    "PPT",
    "MATERIAL",
    "HUMAN_MODEL_2D",
    "BUSINESS_CARD_TEMPLET",
    "MUSIC",
    "AUDIO",
    "COMMON_FILE",
];
/// Asset states (every doppel asset is ACTIVED).
pub const STATES: &[&str] =
    &["CREATING", "FAILED", "UNACTIVED", "ACTIVED", "DELETING", "DELETED", "BLOCK", "WAITING_DELETE"];
/// Services an avatar or voice asset supports in doppel.
const SERVICES: &[&str] = &["VIDEO_2D"];
/// Stored types shown under their own name (others are COMMON_FILE; avatar packages are hidden).
const STORED_TYPES: &[&str] = &["IMAGE", "VIDEO", "AUDIO", "MUSIC"];

/// Where an asset comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    System,
    Customization,
}

/// One asset as listed: its view and what sorting and filtering need.
#[derive(Debug)]
struct Item {
    view: Value,
    source: Source,
    created_ms: i64,
    order: i64,
}

impl Item {
    fn str(&self, key: &str) -> &str {
        self.view[key].as_str().unwrap_or("")
    }

    fn kind(&self) -> &str {
        self.str("asset_type")
    }

    fn tags(&self) -> Vec<&str> {
        self.view["tags"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
    }

    fn voice_meta(&self) -> &Value {
        &self.view["asset_extra_meta"]["voice_model_meta"]
    }

    fn human_meta(&self) -> &Value {
        &self.view["asset_extra_meta"]["human_model_2d_meta"]
    }
}

fn now_secs() -> i64 {
    doppel_store::now_ms() / 1000
}

/// The sex of an avatar or voice as MetaStudio writes it.
fn sex_of(gender: &str) -> &'static str {
    match gender.to_ascii_lowercase().as_str() {
        "female" => "FEMALE",
        "male" => "MALE",
        _ => "UNKNOW",
    }
}

/// MetaStudio's language code for a BCP 47 tag.
fn language_of(tag: &str) -> &'static str {
    match tag.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase().as_str() {
        "zh" | "cmn" => "CN",
        "en" => "EN",
        "de" => "GER",
        "fr" => "fr",
        "ko" => "Kr",
        "pt" => "por",
        "ja" => "JPN",
        "it" => "Ita",
        "es" => "ESP",
        "ru" => "Russian",
        _ => "UNKNOW",
    }
}

fn file(id: &str, name: &str, category: &str, url: String, size: Option<i64>) -> Value {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let mut f = json!({
        "file_id": id,
        "file_name": name,
        "file_type": ext,
        "asset_file_category": category,
        "download_url": url,
        "state": "CREATED",
    });
    if let Some(s) = size {
        f["file_size"] = json!(s);
    }
    f
}

/// A digital human as a HUMAN_MODEL_2D asset.
fn human_item(state: &AppState, project_id: &str, h: &Human, created_ms: i64, order: i64) -> Item {
    let now = now_secs();
    let id = h.id();
    let (info, source) = match h {
        Human::Builtin(a) => (catalog::info_of(a), Source::System),
        Human::Private(d) => (d.info.clone(), Source::Customization),
    };
    let (w, ht) = (info["width"].as_u64().unwrap_or(0), info["height"].as_u64().unwrap_or(0));
    let actions: Vec<&Value> = info["actions"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    let tag_map: Vec<Value> = actions
        .iter()
        .filter_map(|a| {
            let name = a["name"].as_str()?;
            Some(json!({
                "tag": a["tag"].as_str().unwrap_or(name),
                "action_name_zh": name,
                "action_name_en": name,
                "action_duration": a["duration_ms"].as_f64().unwrap_or(0.0) / 1000.0,
                "catalog": "ACTION",
                "file_name": format!("{name}.mp4"),
            }))
        })
        .collect();
    let mut files = vec![file(
        &format!("{id}-cover"),
        "thumbnail.jpg",
        "COVER",
        state.signer.url(&format!("humans/{id}/thumbnail.jpg"), now),
        None,
    )];
    if let Human::Private(d) = h {
        files.insert(
            0,
            file(
                &d.package_asset_id,
                "avatar.zip",
                "MAIN",
                state.signer.url(&format!("assets/{}", d.package_asset_id), now),
                None,
            ),
        );
    }
    for a in &actions {
        if let Some(name) = a["name"].as_str() {
            files.push(file(
                &format!("{id}-action-{name}"),
                &format!("{name}.mp4"),
                "SAMPLE",
                state.signer.url(&format!("humans/{id}/actions/{name}.mp4"), now),
                None,
            ));
        }
    }
    let time = iso_time(created_ms);
    let view = json!({
        "project_id": project_id,
        "asset_id": id,
        "asset_name": info["name"],
        "asset_description": info["description"],
        "create_time": time,
        "update_time": time,
        "asset_type": "HUMAN_MODEL_2D",
        "asset_state": "ACTIVED",
        "tags": [],
        "asset_extra_meta": {"human_model_2d_meta": {
            "is_action_editable": !tag_map.is_empty(),
            "is_live_copy": false,
            "is_real_background": false,
            "support_live": false,
            "model_resolution": if w.max(ht) >= 3840 { "4K" } else { "1080P" },
            "is_with_action_library": !tag_map.is_empty(),
            "action_tag_map": tag_map,
            "is_flexus": false,
            "voice_asset_id": info["default_voice"],
        }},
        "system_properties": [],
        "files": files,
        "asset_order": order,
        "supported_service": SERVICES,
    });
    Item { view, source, created_ms, order }
}

/// A voice (from [`catalog::voices_json`]) as a VOICE_MODEL asset.
fn voice_item(project_id: &str, v: &Value, created_ms: i64, order: i64) -> Item {
    let id = v["id"].as_str().unwrap_or_default();
    let time = iso_time(created_ms);
    let language = language_of(v["language"].as_str().unwrap_or(""));
    let sample_url = v["preview_url"].as_str().unwrap_or("").to_string();
    let sample = file(&format!("{id}-sample"), "preview.wav", "SAMPLE", sample_url, None);
    let view = json!({
        "project_id": project_id,
        "asset_id": id,
        "asset_name": v["name"],
        "asset_description": v["description"],
        "create_time": time,
        "update_time": time,
        "asset_type": "VOICE_MODEL",
        "asset_state": "ACTIVED",
        "tags": [v["language"], v["engine"]],
        "asset_extra_meta": {"voice_model_meta": {
            "order": order,
            "model_type": "COMMON",
            "sex": sex_of(v["gender"].as_str().unwrap_or("")),
            "language": language,
            "speed_ratio": 1.0,
            "volume_ratio": 1.0,
            "is_realtime_voice": true,
            "is_flexus": false,
        }},
        "system_properties": [],
        "files": [sample],
        "asset_order": order,
        "supported_service": SERVICES,
    });
    Item { view, source: Source::System, created_ms, order }
}

/// The MetaStudio type of a stored asset; None for avatar packages (shown as their digital human).
fn stored_type(asset_type: &str) -> Option<&'static str> {
    match asset_type {
        "HUMAN_MODEL_2D" => None,
        t => Some(STORED_TYPES.iter().copied().find(|s| *s == t).unwrap_or("COMMON_FILE")),
    }
}

/// A stored asset (upload or job result) in the SDK's shape.
fn stored_item(state: &AppState, a: &Asset, kind: &str) -> Item {
    let m = &a.meta;
    let mode = |w: u64, h: u64| if h > w { "Vertical" } else { "Horizontal" };
    let (w, h) = (m["width"].as_u64(), m["height"].as_u64());
    let secs = m["duration_ms"].as_i64().map(|d| (d + 500) / 1000);
    let extra =
        match kind {
            "IMAGE" => {
                let mut meta = json!({"size": a.size});
                if let (Some(w), Some(h)) = (w, h) {
                    meta["width"] = json!(w);
                    meta["height"] = json!(h);
                    meta["mode"] = json!(mode(w, h));
                }
                json!({"image_meta": meta})
            }
            "VIDEO" => {
                let mut meta = json!({"width": w, "height": h, "duration": secs});
                if let (Some(w), Some(h)) = (w, h) {
                    meta["mode"] = json!(mode(w, h));
                }
                let fps = m["fps"].as_f64().or(m["frames"]
                    .as_f64()
                    .zip(m["duration_ms"].as_f64())
                    .and_then(|(f, d)| if d > 0.0 { Some((f * 1000.0 / d).round()) } else { None }));
                if let Some(fps) = fps {
                    meta["frame_rate"] = json!(format!("{}", fps.round() as i64));
                }
                meta["video_codec"] = json!(if a.content_type.contains("webm") { "VP8" } else { "H264" });
                json!({"video_meta": meta})
            }
            "AUDIO" | "MUSIC" => {
                json!({"audio_meta": {"duration": secs, "sample": m["sample_rate"], "audio_channels": m["channels"]}})
            }
            _ => json!({}),
        };
    let props: Vec<Value> = if a.job_id.is_some() {
        vec![json!({"key": "CREATED_BY_PLATFORM", "value": "Yes"})]
    } else if kind == "IMAGE" {
        vec![json!({"key": "BACKGROUND_IMG", "value": "Yes"})]
    } else {
        Vec::new()
    };
    let time = iso_time(a.created_at);
    let url = state.signer.url(&format!("assets/{}", a.id), now_secs());
    let view = json!({
        "project_id": a.project_id,
        "asset_id": a.id,
        "asset_name": a.name,
        "asset_description": "",
        "create_time": time,
        "update_time": time,
        "asset_type": kind,
        "asset_state": "ACTIVED",
        "tags": [],
        "asset_extra_meta": extra,
        "system_properties": props,
        "files": [file(&a.id, &a.name, "MAIN", url, Some(a.size))],
        "asset_order": 0,
    });
    Item { view, source: Source::Customization, created_ms: a.created_at, order: 0 }
}

/// When the project began (what built-in assets show as their creation time).
async fn project_created(state: &AppState, project_id: &str) -> Result<i64, MsError> {
    Ok(state.db.project(project_id).await?.map(|p| p.created_at).unwrap_or(0))
}

/// Sort keys of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Time,
    Order,
}

/// A parsed listing query.
#[derive(Debug, Default)]
struct Query {
    offset: i64,
    limit: i64,
    name: Option<String>,
    tags: Vec<String>,
    tags_all: bool,
    start: Option<i64>,
    end: Option<i64>,
    types: Vec<String>,
    sort: Option<SortKey>,
    desc: bool,
    sources: Vec<Source>,
    states: Vec<String>,
    exact_name: bool,
    exact_tag: bool,
    ids: Vec<String>,
    sex: Vec<String>,
    language: Vec<String>,
    properties: Vec<(String, String)>,
    realtime_voice: Option<bool>,
    action_editable: Option<bool>,
    action_library: Option<bool>,
    movable: Option<bool>,
    service: Option<String>,
}

type ParamError = (String, String);

fn values(q: &HashMap<String, String>, key: &str) -> Vec<String> {
    q.get(key)
        .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

fn one_of(q: &HashMap<String, String>, key: &str, allowed: &[&str]) -> Result<Vec<String>, ParamError> {
    let got = values(q, key);
    for v in &got {
        if !allowed.contains(&v.as_str()) {
            return Err((key.into(), format!("{v:?} is not allowed (allowed: {})", allowed.join(", "))));
        }
    }
    Ok(got)
}

fn flag(q: &HashMap<String, String>, key: &str) -> Result<Option<bool>, ParamError> {
    match q.get(key).map(|s| s.trim().to_ascii_lowercase()) {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) if s == "true" => Ok(Some(true)),
        Some(s) if s == "false" => Ok(Some(false)),
        Some(s) => Err((key.into(), format!("{s:?} is not true or false"))),
    }
}

fn time_param(q: &HashMap<String, String>, key: &str) -> Result<Option<i64>, ParamError> {
    match q.get(key).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => parse_iso_time(v)
            .map(Some)
            .ok_or_else(|| (key.into(), format!("{v:?} is not an RFC 3339 time such as 2021-01-10T08:43:17Z"))),
    }
}

fn parse_query(q: &HashMap<String, String>) -> Result<Query, ParamError> {
    let paging = crate::api::job_filter(
        &q.iter().filter(|(k, _)| *k == "offset" || *k == "limit").map(|(k, v)| (k.clone(), v.clone())).collect(),
    )?;
    let mut out = Query {
        offset: paging.offset,
        limit: paging.limit,
        name: q.get("name").filter(|s| !s.is_empty()).cloned(),
        tags: values(q, "tag"),
        start: time_param(q, "start_time")?,
        end: time_param(q, "end_time")?,
        types: one_of(q, "asset_type", LIST_TYPES)?,
        states: one_of(q, "asset_state", STATES)?,
        ids: values(q, "asset_id"),
        sex: one_of(q, "sex", &["MALE", "FEMALE", "UNKNOW"])?,
        language: values(q, "language"),
        realtime_voice: flag(q, "is_realtime_voice")?,
        action_editable: flag(q, "action_editable")?,
        action_library: flag(q, "is_with_action_library")?,
        movable: flag(q, "is_movable")?,
        ..Query::default()
    };
    let combination = one_of(q, "tag_combination_type", &["INTERSECTION", "UNION_SET"])?;
    out.tags_all = combination.first().is_some_and(|c| c == "INTERSECTION");
    out.sort = match one_of(q, "sort_key", &["create_time", "update_time", "asset_order"])?.first().map(String::as_str)
    {
        Some("asset_order") => Some(SortKey::Order),
        Some(_) => Some(SortKey::Time),
        None => None,
    };
    out.desc = match q.get("sort_dir").map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("asc") => false,
        Some("desc") => true,
        Some(other) => return Err(("sort_dir".into(), format!("{other:?} is not asc or desc"))),
    };
    out.sources = match one_of(q, "asset_source", &["SYSTEM", "CUSTOMIZATION", "ALL"])?.first().map(String::as_str) {
        Some("SYSTEM") => vec![Source::System],
        Some("ALL") => vec![Source::System, Source::Customization],
        _ => vec![Source::Customization],
    };
    for f in values(q, "accurate_query_field") {
        match f.as_str() {
            "name" | "asset_name" => out.exact_name = true,
            "tag" | "tags" => out.exact_tag = true,
            other => {
                return Err(("accurate_query_field".into(), format!("{other:?} is not a field (allowed: name, tag)")))
            }
        }
    }
    for p in values(q, "system_property") {
        let (k, v) =
            p.split_once(':').ok_or_else(|| ("system_property".to_string(), format!("{p:?} is not KEY:VALUE")))?;
        out.properties.push((k.trim().to_string(), v.trim().to_string()));
    }
    if let Some(s) = q.get("supported_service").filter(|s| !s.is_empty()) {
        if !["VIDEO_2D", "LIVE_2D", "CHAT_2D"].contains(&s.as_str()) {
            return Err(("supported_service".into(), format!("{s:?} is not VIDEO_2D, LIVE_2D or CHAT_2D")));
        }
        out.service = Some(s.clone());
    }
    Ok(out)
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

/// Whether `item` passes the query's filters (not paging).
fn matches(q: &Query, item: &Item) -> bool {
    if !q.sources.contains(&item.source) {
        return false;
    }
    if !q.types.is_empty() && !q.types.iter().any(|t| t == item.kind()) {
        return false;
    }
    if !q.states.is_empty() && !q.states.iter().any(|s| s == "ACTIVED") {
        return false;
    }
    if !q.ids.is_empty() && !q.ids.iter().any(|i| i.eq_ignore_ascii_case(item.str("asset_id"))) {
        return false;
    }
    if let Some(n) = &q.name {
        let name = item.str("asset_name");
        if !(if q.exact_name { name == n } else { contains_ci(name, n) }) {
            return false;
        }
    }
    if !q.tags.is_empty() {
        let tags = item.tags();
        let has = |t: &String| tags.iter().any(|x| if q.exact_tag { x == t } else { contains_ci(x, t) });
        let ok = if q.tags_all { q.tags.iter().all(has) } else { q.tags.iter().any(has) };
        if !ok {
            return false;
        }
    }
    if q.start.is_some_and(|s| item.created_ms < s) || q.end.is_some_and(|e| item.created_ms > e) {
        return false;
    }
    let props = &item.view["system_properties"];
    for (k, v) in &q.properties {
        let found = props.as_array().is_some_and(|a| {
            a.iter().any(|p| p["key"] == k.as_str() && p["value"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(v)))
        });
        if !found {
            return false;
        }
    }
    let voice = item.kind() == "VOICE_MODEL";
    let human = item.kind() == "HUMAN_MODEL_2D";
    if !q.sex.is_empty() {
        let sex = if voice { item.voice_meta()["sex"].as_str().unwrap_or("UNKNOW") } else { "UNKNOW" };
        if !q.sex.iter().any(|s| s == sex) {
            return false;
        }
    }
    if !q.language.is_empty() {
        let lang = if voice { item.voice_meta()["language"].as_str().unwrap_or("UNKNOW") } else { "UNKNOW" };
        if !q.language.iter().any(|l| l.eq_ignore_ascii_case(lang)) {
            return false;
        }
    }
    if voice && q.realtime_voice.is_some_and(|r| item.voice_meta()["is_realtime_voice"].as_bool() != Some(r)) {
        return false;
    }
    if human {
        let meta = item.human_meta();
        if q.action_editable.is_some_and(|b| meta["is_action_editable"].as_bool() != Some(b))
            || q.action_library.is_some_and(|b| meta["is_with_action_library"].as_bool() != Some(b))
            || q.movable == Some(true)
        {
            return false;
        }
    }
    if let Some(s) = &q.service {
        if (voice || human) && !SERVICES.contains(&s.as_str()) {
            return false;
        }
    }
    true
}

/// Every stored asset of the project that the query could show, oldest first.
async fn stored_assets(state: &AppState, project_id: &str, q: &Query) -> Result<Vec<Asset>, MsError> {
    // A single plain type is filtered by the database; anything else is filtered here.
    let pushed = match q.types.as_slice() {
        [t] if STORED_TYPES.contains(&t.as_str()) => Some(t.clone()),
        _ => None,
    };
    let mut out = Vec::new();
    const PAGE: i64 = 500;
    loop {
        let f = AssetFilter { offset: out.len() as i64, limit: PAGE, asset_type: pushed.clone(), name: None };
        let (_, page) = state.db.list_assets(project_id, &f).await?;
        let n = page.len() as i64;
        out.extend(page);
        if n < PAGE {
            break;
        }
    }
    out.reverse();
    Ok(out)
}

/// `GET /v1/{project_id}/digital-assets`: `{count, assets}`.
pub async fn list(state: &AppState, project_id: &str, q: &HashMap<String, String>) -> Result<Value, MsError> {
    let q = parse_query(q).map_err(|(k, m)| MsError::bad_param(format!("{k}: {m}")))?;
    let wants = |t: &str| q.types.is_empty() || q.types.iter().any(|x| x == t);
    let system = q.sources.contains(&Source::System);
    let custom = q.sources.contains(&Source::Customization);
    let mut items = Vec::new();
    let born = project_created(state, project_id).await?;
    if wants("HUMAN_MODEL_2D") {
        for (i, h) in catalog::humans(state, project_id).await?.iter().enumerate() {
            let created = match h {
                Human::Builtin(_) if system => born,
                Human::Private(d) if custom => d.created_at,
                _ => continue,
            };
            items.push(human_item(state, project_id, h, created, i as i64));
        }
    }
    if wants("VOICE_MODEL") && system {
        for (i, v) in catalog::voices_json(state, now_secs()).iter().enumerate() {
            items.push(voice_item(project_id, v, born, i as i64));
        }
    }
    if custom && (q.types.is_empty() || q.types.iter().any(|t| t != "HUMAN_MODEL_2D" && t != "VOICE_MODEL")) {
        for a in stored_assets(state, project_id, &q).await? {
            if let Some(kind) = stored_type(&a.asset_type) {
                if wants(kind) {
                    items.push(stored_item(state, &a, kind));
                }
            }
        }
    }
    let mut items: Vec<Item> = items.into_iter().filter(|i| matches(&q, i)).collect();
    match q.sort {
        Some(SortKey::Order) => items.sort_by_key(|i| i.order),
        Some(SortKey::Time) => items.sort_by_key(|i| i.created_ms),
        None => {}
    }
    if q.desc {
        items.reverse();
    }
    let count = items.len();
    let page: Vec<Value> = items.into_iter().skip(q.offset as usize).take(q.limit as usize).map(|i| i.view).collect();
    Ok(json!({"count": count, "assets": page}))
}

/// `GET /v1/{project_id}/digital-assets/{asset_id}`.
pub async fn show(state: &AppState, project_id: &str, id: &str) -> Result<Value, MsError> {
    let born = project_created(state, project_id).await?;
    if let Some(h) = catalog::human(state, project_id, id).await? {
        let order = catalog::humans(state, project_id).await?.iter().position(|x| x.id() == h.id()).unwrap_or(0);
        let created = match &h {
            Human::Builtin(_) => born,
            Human::Private(d) => d.created_at,
        };
        return Ok(human_item(state, project_id, &h, created, order as i64).view);
    }
    let voices = catalog::voices_json(state, now_secs());
    if let Some((i, v)) =
        voices.iter().enumerate().find(|(_, v)| v["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
    {
        return Ok(voice_item(project_id, v, born, i as i64).view);
    }
    if let Some(a) = state.db.asset(project_id, id).await? {
        if let Some(kind) = stored_type(&a.asset_type) {
            return Ok(stored_item(state, &a, kind).view);
        }
    }
    Err(MsError::not_found(format!("asset {id:?} does not exist")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn item(kind: &str, source: Source, name: &str, extra: Value) -> Item {
        let mut view = json!({"asset_id": name.to_lowercase(), "asset_name": name, "asset_type": kind,
                              "tags": [], "system_properties": []});
        if let (Value::Object(v), Value::Object(e)) = (&mut view, extra) {
            v.extend(e);
        }
        Item { view, source, created_ms: 1000, order: 0 }
    }

    #[test]
    fn listing_parameters_are_checked_and_name_the_field() {
        let err = |pairs: &[(&str, &str)]| parse_query(&q(pairs)).unwrap_err();
        assert_eq!(err(&[("asset_type", "HUMAN_MODEL_2D,AVATAR")]).0, "asset_type");
        assert!(err(&[("asset_type", "AVATAR")]).1.contains("VOICE_MODEL"));
        assert_eq!(err(&[("limit", "0")]).0, "limit");
        assert_eq!(err(&[("sort_dir", "up")]).0, "sort_dir");
        assert_eq!(err(&[("asset_source", "MINE")]).0, "asset_source");
        assert_eq!(err(&[("start_time", "yesterday")]).0, "start_time");
        assert_eq!(err(&[("is_realtime_voice", "yes")]).0, "is_realtime_voice");
        assert_eq!(err(&[("system_property", "BACKGROUND_IMG")]).0, "system_property");
        let ok = parse_query(&q(&[("asset_type", "HUMAN_MODEL_2D,VOICE_MODEL"), ("asset_source", "ALL")])).unwrap();
        assert_eq!(ok.types, ["HUMAN_MODEL_2D", "VOICE_MODEL"]);
        assert_eq!(ok.sources, [Source::System, Source::Customization]);
        assert_eq!((ok.offset, ok.limit), (0, 10));
        // Without asset_source only the project's own assets are listed, as on MetaStudio.
        assert_eq!(parse_query(&q(&[])).unwrap().sources, [Source::Customization]);
    }

    #[test]
    fn filters_apply_to_the_kinds_they_describe() {
        let voice = item(
            "VOICE_MODEL",
            Source::System,
            "Ava",
            json!({"asset_extra_meta": {"voice_model_meta": {
                "sex": "FEMALE", "language": "EN", "is_realtime_voice": true
            }}}),
        );
        let human = item(
            "HUMAN_MODEL_2D",
            Source::System,
            "Anna",
            json!({"asset_extra_meta": {"human_model_2d_meta": {
                "is_action_editable": true, "is_with_action_library": true
            }}}),
        );
        let image = item(
            "IMAGE",
            Source::Customization,
            "Studio",
            json!({"system_properties": [{"key": "BACKGROUND_IMG", "value": "Yes"}]}),
        );
        let all = |pairs: &[(&str, &str)]| {
            let mut p = pairs.to_vec();
            p.push(("asset_source", "ALL"));
            let query = parse_query(&q(&p)).unwrap();
            [&voice, &human, &image]
                .iter()
                .filter(|i| matches(&query, i))
                .map(|i| i.str("asset_name").to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(all(&[]), ["Ava", "Anna", "Studio"]);
        assert_eq!(all(&[("asset_type", "VOICE_MODEL")]), ["Ava"]);
        assert_eq!(all(&[("sex", "FEMALE")]), ["Ava"]);
        assert_eq!(all(&[("language", "en")]), ["Ava"]);
        assert_eq!(all(&[("is_realtime_voice", "false")]), ["Anna", "Studio"]);
        assert_eq!(all(&[("action_editable", "true")]), ["Ava", "Anna", "Studio"]);
        assert_eq!(all(&[("is_movable", "true")]), ["Ava", "Studio"]);
        assert_eq!(all(&[("name", "an")]), ["Anna"]);
        assert_eq!(all(&[("name", "ann"), ("accurate_query_field", "name")]), Vec::<String>::new());
        assert_eq!(all(&[("system_property", "BACKGROUND_IMG:Yes")]), ["Studio"]);
        assert_eq!(all(&[("asset_id", "studio,ava")]), ["Ava", "Studio"]);
        assert_eq!(all(&[("asset_state", "BLOCK")]), Vec::<String>::new());
        assert_eq!(all(&[("start_time", "1970-01-01T00:00:02Z")]), Vec::<String>::new());
        let system = parse_query(&q(&[("asset_source", "SYSTEM")])).unwrap();
        assert!(matches(&system, &voice) && !matches(&system, &image));
    }

    #[test]
    fn vendor_codes_for_sex_and_language() {
        assert_eq!(sex_of("female"), "FEMALE");
        assert_eq!(sex_of("other"), "UNKNOW");
        assert_eq!(language_of("zh-CN"), "CN");
        assert_eq!(language_of("en-US"), "EN");
        assert_eq!(language_of("xx"), "UNKNOW");
        assert_eq!(stored_type("FONT"), Some("COMMON_FILE"));
        assert_eq!(stored_type("SUBTITLE"), Some("COMMON_FILE"));
        assert_eq!(stored_type("HUMAN_MODEL_2D"), None);
        assert_eq!(stored_type("MUSIC"), Some("MUSIC"));
    }
}
