//! The files a script refers to. On the server a script names media by asset id or by http(s) URL, never by
//! local path. [`refs`] lists every such reference with its JSON path (checked when a job is submitted);
//! [`localize`] fetches each one into the job's work folder and rewrites the script to point at the local
//! copies, so the renderer only ever sees local files.

use std::path::Path;

use doppel_script::{BackgroundType, LayerType, Script, ScriptType};
use doppel_store::{Blobs, Db};

use crate::fetch::{self, FetchPolicy};

/// Where a reference points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Url(String),
    Asset(String),
}

/// A file reference in a script: its JSON path and value.
#[derive(Debug, Clone)]
pub struct Ref {
    pub path: String,
    pub target: Target,
    /// The media the field takes: IMAGE, VIDEO or AUDIO.
    pub kind: &'static str,
}

fn target(value: &str) -> Target {
    // Anything with a scheme is a URL (and refused unless http or https); anything else names an asset.
    if value.contains("://") {
        Target::Url(value.to_string())
    } else {
        Target::Asset(value.to_string())
    }
}

/// Calls `f(path, value)` for every file reference of `script`, letting it rewrite the value.
fn visit(script: &mut Script, f: &mut dyn FnMut(String, &'static str, &mut String)) {
    let mut each = |path: String, kind: &'static str, v: &mut Option<String>| {
        if let Some(s) = v.as_mut().filter(|s| !s.is_empty()) {
            f(path, kind, s);
        }
    };
    for (i, item) in script.shoot_scripts.iter_mut().enumerate() {
        let Some(ss) = item.shoot_script.as_mut() else { continue };
        let sp = format!("shoot_scripts[{i}].shoot_script");
        // The recording of an AUDIO scene: an asset id (doppel's ids are strings, so the vendor's numeric
        // `audio_config.audio_id` cannot name one) or a URL. A TEXT scene ignores the field.
        if ss.script_type_or_default() == ScriptType::Audio {
            each(format!("{sp}.audio_drive_file_external_url"), "AUDIO", &mut ss.audio_drive_file_external_url);
        }
        for (j, b) in ss.background_config.iter_mut().enumerate() {
            if b.background_type != Some(BackgroundType::Image) {
                continue;
            }
            let bp = format!("{sp}.background_config[{j}]");
            if b.background_config.as_deref().is_some_and(|s| !s.is_empty()) {
                each(format!("{bp}.background_config"), "IMAGE", &mut b.background_config);
            } else {
                each(format!("{bp}.background_asset_id"), "IMAGE", &mut b.background_asset_id);
            }
        }
        for (k, l) in ss.layer_config.iter_mut().enumerate() {
            let lp = format!("{sp}.layer_config[{k}]");
            match l.layer_type {
                Some(LayerType::Image) => {
                    let url = l.image_config.as_mut().map(|c| &mut c.image_url);
                    match url {
                        Some(u) if u.as_deref().is_some_and(|s| !s.is_empty()) => {
                            each(format!("{lp}.image_config.image_url"), "IMAGE", u)
                        }
                        _ => each(format!("{lp}.asset_id"), "IMAGE", &mut l.asset_id),
                    }
                }
                Some(LayerType::Video) => {
                    let url = l.video_config.as_mut().map(|c| &mut c.video_url);
                    match url {
                        Some(u) if u.as_deref().is_some_and(|s| !s.is_empty()) => {
                            each(format!("{lp}.video_config.video_url"), "VIDEO", u)
                        }
                        _ => each(format!("{lp}.asset_id"), "VIDEO", &mut l.asset_id),
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(m) = script.background_music_config.as_mut() {
        each("background_music_config.music_asset_id".into(), "AUDIO", &mut m.music_asset_id);
    }
}

/// Every file reference of `script`.
pub fn refs(script: &Script) -> Vec<Ref> {
    let mut copy = script.clone();
    let mut out = Vec::new();
    visit(&mut copy, &mut |path, kind, v| out.push(Ref { path, target: target(v), kind }));
    out
}

/// Fetches or copies every referenced file into `dir` and rewrites `script` to the local paths. Errors name the
/// JSON path of the reference.
pub async fn localize(
    script: &mut Script,
    project_id: &str,
    db: &Db,
    blobs: &Blobs,
    policy: &FetchPolicy,
    dir: &Path,
) -> Result<(), String> {
    let list = refs(script);
    let mut local = Vec::with_capacity(list.len());
    for (n, r) in list.iter().enumerate() {
        let file = match &r.target {
            Target::Url(u) => {
                let got = fetch::fetch(policy, u).await.map_err(|e| format!("{}: {e}", r.path))?;
                let ext = extension(got.final_url.path(), got.content_type.as_deref());
                let file = dir.join(format!("input-{n}.{ext}"));
                tokio::fs::write(&file, &got.bytes).await.map_err(|e| format!("{}: {e}", r.path))?;
                // Fetched media is checked like an upload before the renderer sees it.
                let (kind, f2) = (r.kind, file.clone());
                tokio::task::spawn_blocking(move || crate::api::probe_media(kind, &f2))
                    .await
                    .map_err(|e| format!("{}: {e}", r.path))?
                    .map_err(|e| format!("{}: {u}: {e}", r.path))?;
                file
            }
            Target::Asset(id) => {
                let asset = db
                    .asset(project_id, id)
                    .await
                    .map_err(|e| format!("{}: {e}", r.path))?
                    .ok_or_else(|| format!("{}: asset {id:?} does not exist", r.path))?;
                let ext = extension(&asset.name, Some(&asset.content_type));
                let file = dir.join(format!("input-{n}.{ext}"));
                blobs.get_to_file(&asset.blob_key, &file).await.map_err(|e| format!("{}: {e}", r.path))?;
                file
            }
        };
        local.push(file.display().to_string());
    }
    let mut it = local.into_iter();
    visit(script, &mut |_, _, v| {
        if let Some(l) = it.next() {
            *v = l;
        }
    });
    Ok(())
}

/// A file extension for a download, from its name or content type (FFmpeg probes content anyway; the extension
/// only helps it guess).
fn extension(name: &str, content_type: Option<&str>) -> String {
    let from_name = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| e.len() <= 5 && e.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_ascii_lowercase);
    if let Some(e) = from_name {
        return e;
    }
    let ct = content_type.unwrap_or("").split(';').next().unwrap_or("").trim();
    match ct {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "video/quicktime" => "mov",
        "audio/mpeg" => "mp3",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/ogg" => "ogg",
        "audio/flac" => "flac",
        "audio/aac" => "aac",
        "audio/mp4" => "m4a",
        _ => "bin",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_reference_with_its_path() {
        let script = doppel_script::parse_script(
            r##"{"shoot_scripts": [{"sequence_no": 0, "shoot_script": {"script_type": "TEXT",
              "text_config": {"text": "hi"},
              "background_config": [{"background_type": "IMAGE", "background_config": "https://example.com/a.png"}],
              "layer_config": [
                {"layer_type": "HUMAN", "asset_id": "ignored"},
                {"layer_type": "IMAGE", "asset_id": "img1", "position": {"dx": 0, "dy": 0}, "size": {"width": 10, "height": 10}},
                {"layer_type": "VIDEO", "video_config": {"video_url": "http://example.com/v.mp4"}, "position": {"dx": 0, "dy": 0}, "size": {"width": 10, "height": 10}}
              ]}},
              {"sequence_no": 1, "shoot_script": {"script_type": "AUDIO", "audio_drive_file_external_url": "rec1"}},
              {"sequence_no": 2, "shoot_script": {"script_type": "TEXT", "text_config": {"text": "hi"},
                "audio_drive_file_external_url": "ignored"}}],
              "background_music_config": {"music_asset_id": "m1"}}"##,
        )
        .unwrap();
        let r: Vec<(String, Target)> = refs(&script).into_iter().map(|r| (r.path, r.target)).collect();
        assert_eq!(
            r,
            vec![
                (
                    "shoot_scripts[0].shoot_script.background_config[0].background_config".into(),
                    Target::Url("https://example.com/a.png".into())
                ),
                ("shoot_scripts[0].shoot_script.layer_config[1].asset_id".into(), Target::Asset("img1".into())),
                (
                    "shoot_scripts[0].shoot_script.layer_config[2].video_config.video_url".into(),
                    Target::Url("http://example.com/v.mp4".into())
                ),
                ("shoot_scripts[1].shoot_script.audio_drive_file_external_url".into(), Target::Asset("rec1".into())),
                ("background_music_config.music_asset_id".into(), Target::Asset("m1".into())),
            ]
        );
    }

    #[test]
    fn extensions() {
        assert_eq!(extension("a/b/photo.PNG", None), "png");
        assert_eq!(extension("x", Some("image/jpeg; q=1")), "jpg");
        assert_eq!(extension("x", None), "bin");
    }
}
