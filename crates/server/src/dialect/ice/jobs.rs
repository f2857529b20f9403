//! ICE's avatar video Actions: `SubmitAvatarVideoJob` (text → a MetaStudio-style script, checked and queued
//! through [`crate::api::check_script`] and [`crate::api::submit_job`], so it is an ordinary doppel job) and
//! `GetSmartHandleJob` (any job of the project, in ICE's terms).
//!
//! `SubmitAvatarVideoJob` parameters (JSON strings, as the SDK sends them):
//! * `InputConfig`: `{"Text": "…"}`, at least 5 characters; SSML as doppel's scripts accept it works too. Or
//!   `{"InputFile": "…"}`, a recording (MP3, WAV or any audio FFmpeg reads) as an http(s) URL under the fetch
//!   policy or a doppel asset id (ICE's media id): an audio-driven video, an AUDIO scene whose mouth shapes are
//!   estimated from the recording; a `Text` beside it becomes the subtitle text, timed by the audio.
//! * `EditingConfig`: `AvatarId` (required; `ListAvatars`), `Voice` (a `ListSmartVoiceGroups` id; default: the
//!   avatar's voice), `SpeechRate` and `PitchRate` (−500–500, 0 = normal; −500 is half, 500 double, linear on
//!   each side), `Volume` (0–100, default 50). ICE documents these keys only in prose; they follow Alibaba
//!   Cloud's TTS parameters. Other keys are ignored.
//! * `OutputConfig`: `Width` and `Height` (together, one of the RESIZE sizes such as 1080×1920), `Bitrate`
//!   (kbit/s), `MediaURL` (where ICE would upload the video: doppel keeps the video itself and answers a signed
//!   URL, but a `.webm` name asks for a WebM (VP8, with alpha when the avatar has it) instead of an MP4, and
//!   the URL's bucket and object are shown in `SmartJobInfo.OutputConfig`).
//! * `Title` (≤128 bytes; also the output's asset name), `Description` (≤128 bytes), `UserData` (echoed).
//!
//! The answer has `JobId` (the doppel job id). ICE also answers the output's `MediaId`, which doppel only
//! knows once the video exists: `GetSmartHandleJob` gives it in `JobResult.MediaId`.
//!
//! `GetSmartHandleJob` states: WAITING → `Created`, PROCESSING → `Executing`, SUCCEED → `Finished`, FAILED,
//! CANCELED and BLOCK → `Failed` (with `ErrorCode`/`ErrorMessage`). `JobResult{MediaId, MediaUrl}` (the video's
//! asset id and a signed URL of it) once `Finished`. `SmartJobInfo` has `JobType` `AvatarVideo`, `UserId` (the
//! project id), the times, `Title`/`Description` and the `MediaURL`'s `OutputConfig{Bucket, Object}` when the
//! job came through ICE. `Output` and `JobResult.AiResult` (ICE's sentence timestamps) are not given; the
//! native API lists the job's subtitle files.

use doppel_store::{Job, JobState};
use serde_json::{json, Map, Value};

use super::{IceError, IceResult, Params};
use crate::api::{self, JOB_TYPE_2D};
use crate::{catalog, iso_time, AppState};

/// Where the ICE request's own fields are kept in the job's script (the script parser ignores the key).
pub const SCRIPT_KEY: &str = "ice";
/// Shortest `InputConfig.Text`, in characters (ICE's documented minimum).
pub const MIN_TEXT_CHARS: usize = 5;
/// Longest `Title` and `Description`, in bytes.
pub const MAX_TITLE_BYTES: usize = 128;

/// A string member of a JSON-object parameter; absent, null and empty are `None`.
fn str_field(obj: &Map<String, Value>, param: &str, key: &str) -> IceResult<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(IceError::param(format!("{param}.{key} must be a string, not {other}"))),
    }
}

/// An integer member (a number, or a string holding one) within `[min, max]`.
fn int_field(obj: &Map<String, Value>, param: &str, key: &str, min: i64, max: i64) -> IceResult<Option<i64>> {
    let n = match obj.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
        Some(n) => Err(IceError::param(format!("{param}.{key} is {n}, out of range [{min}, {max}]"))),
        None => Err(IceError::param(format!("{param}.{key} must be an integer"))),
    }
}

/// Alibaba Cloud's rate (−500–500, 0 normal, −500 half, 500 double) as a MetaStudio percentage (50–200).
pub fn rate_percent(rate: i64) -> i64 {
    if rate >= 0 {
        100 + rate / 5
    } else {
        100 + rate / 10
    }
}

/// Alibaba Cloud's volume (0–100, 50 normal) as MetaStudio's (90–240, 140 normal).
pub fn volume_level(volume: i64) -> i64 {
    if volume <= 50 {
        90 + volume
    } else {
        140 + 2 * (volume - 50)
    }
}

/// The script fields' names as an ICE caller knows them, for error messages (longest first).
const FIELD_NAMES: &[(&str, &str)] = &[
    ("shoot_scripts[0].shoot_script.audio_drive_file_external_url", "InputConfig.InputFile"),
    ("shoot_scripts[0].shoot_script.text_config.text", "InputConfig.Text"),
    ("output_asset_config.asset_name", "Title"),
    ("voice_config.voice_asset_id", "EditingConfig.Voice"),
    ("voice_config.speed", "EditingConfig.SpeechRate"),
    ("voice_config.pitch", "EditingConfig.PitchRate"),
    ("voice_config.volume", "EditingConfig.Volume"),
    ("video_config.bitrate", "OutputConfig.Bitrate"),
    ("video_config.width", "OutputConfig.Width"),
    ("video_config.height", "OutputConfig.Height"),
    ("video_config", "OutputConfig"),
    ("model_asset_id", "EditingConfig.AvatarId"),
];

/// A script check's error in ICE's terms.
fn script_error(e: crate::error::ApiError) -> IceError {
    let mut e = IceError::from(e);
    if e.status.is_client_error() {
        for (from, to) in FIELD_NAMES {
            e.message = e.message.replace(from, to);
        }
    }
    e
}

/// The bucket and object of an OSS-style URL (`https://BUCKET.oss-REGION.aliyuncs.com/OBJECT`).
fn bucket_and_object(media_url: &str) -> Option<(String, String)> {
    let u = url::Url::parse(media_url).ok()?;
    let host = u.host_str()?;
    let bucket = host.split('.').next().unwrap_or(host).to_string();
    Some((bucket, u.path().trim_start_matches('/').to_string()))
}

/// Translates an ICE `SubmitAvatarVideoJob` into doppel's script JSON. Checks what ICE documents; the rest is
/// checked by [`api::check_script`].
pub fn script_of(p: &Params) -> IceResult<Value> {
    let input = p.json_object("InputConfig")?.ok_or_else(|| IceError::missing("InputConfig"))?;
    let file = str_field(&input, "InputConfig", "InputFile")?;
    let text = str_field(&input, "InputConfig", "Text")?;
    let shoot = match file {
        Some(file) if file.trim().is_empty() => {
            return Err(IceError::param("InputConfig.InputFile is empty: give the recording's URL or media id"));
        }
        // An audio-driven video: the recording drives the mouth; a text beside it is the subtitle text.
        Some(file) => {
            let mut shoot = json!({"script_type": "AUDIO", "audio_drive_file_external_url": file.trim()});
            if let Some(t) = text.filter(|t| !t.trim().is_empty()) {
                shoot["text_config"] = json!({"text": t});
            }
            shoot
        }
        None => {
            let text = text.ok_or_else(|| {
                IceError::param("InputConfig.Text or InputConfig.InputFile is required: the words the avatar speaks")
            })?;
            if text.trim().chars().count() < MIN_TEXT_CHARS {
                return Err(IceError::param(format!(
                    "InputConfig.Text must have at least {MIN_TEXT_CHARS} characters"
                )));
            }
            json!({"script_type": "TEXT", "text_config": {"text": text}})
        }
    };
    let editing = p.json_object("EditingConfig")?.ok_or_else(|| IceError::missing("EditingConfig"))?;
    let avatar = str_field(&editing, "EditingConfig", "AvatarId")?
        .ok_or_else(|| IceError::param("EditingConfig.AvatarId is required (ListAvatars lists the avatars)"))?;
    let mut voice = Map::new();
    if let Some(v) = str_field(&editing, "EditingConfig", "Voice")? {
        voice.insert("voice_asset_id".into(), json!(v));
    }
    if let Some(r) = int_field(&editing, "EditingConfig", "SpeechRate", -500, 500)? {
        voice.insert("speed".into(), json!(rate_percent(r)));
    }
    if let Some(r) = int_field(&editing, "EditingConfig", "PitchRate", -500, 500)? {
        voice.insert("pitch".into(), json!(rate_percent(r)));
    }
    if let Some(v) = int_field(&editing, "EditingConfig", "Volume", 0, 100)? {
        voice.insert("volume".into(), json!(volume_level(v)));
    }
    let output = p.json_object("OutputConfig")?.unwrap_or_default();
    let media_url = str_field(&output, "OutputConfig", "MediaURL")?;
    let webm = media_url.as_deref().is_some_and(|u| {
        let path = url::Url::parse(u).map(|p| p.path().to_string()).unwrap_or_else(|_| u.to_string());
        path.to_ascii_lowercase().ends_with(".webm")
    });
    let mut video = Map::new();
    video.insert("codec".into(), json!(if webm { "VP8" } else { "H264" }));
    let width = int_field(&output, "OutputConfig", "Width", 1, 3840)?;
    let height = int_field(&output, "OutputConfig", "Height", 1, 3840)?;
    match (width, height) {
        (Some(w), Some(h)) => {
            video.insert("width".into(), json!(w));
            video.insert("height".into(), json!(h));
        }
        (Some(_), None) => return Err(IceError::param("OutputConfig.Height is required with OutputConfig.Width")),
        (None, Some(_)) => return Err(IceError::param("OutputConfig.Width is required with OutputConfig.Height")),
        (None, None) => {}
    }
    if let Some(b) = int_field(&output, "OutputConfig", "Bitrate", 40, 30000)? {
        video.insert("bitrate".into(), json!(b));
    }
    let title = p.get("Title");
    let description = p.get("Description");
    for (name, v) in [("Title", title), ("Description", description)] {
        if v.is_some_and(|s| s.len() > MAX_TITLE_BYTES) {
            return Err(IceError::param(format!("{name} is longer than {MAX_TITLE_BYTES} bytes")));
        }
    }
    let mut script = json!({
        "model_asset_id": avatar,
        "video_config": video,
        "shoot_scripts": [{"sequence_no": 0, "shoot_script": shoot}],
        SCRIPT_KEY: {
            "Title": title,
            "Description": description,
            "UserData": p.get("UserData"),
            "MediaURL": media_url,
        },
    });
    if !voice.is_empty() {
        script["voice_config"] = Value::Object(voice);
    }
    if let Some(t) = title {
        script["output_asset_config"] = json!({"asset_name": t});
    }
    Ok(script)
}

/// `SubmitAvatarVideoJob` → `{JobId}`.
pub async fn submit(state: &AppState, project: &str, p: &Params) -> IceResult<Value> {
    let script = script_of(p)?;
    let avatar = script["model_asset_id"].as_str().unwrap_or("");
    if catalog::human(state, project, avatar).await?.is_none() {
        return Err(IceError::not_found(
            "InvalidAvatarId.NotFound",
            format!("EditingConfig.AvatarId: avatar {avatar:?} does not exist (ListAvatars lists the avatars)"),
        ));
    }
    if let Some(v) = script["voice_config"]["voice_asset_id"].as_str() {
        use doppel_speech::Tts;
        if !state.tts.voices().iter().any(|x| x.id.eq_ignore_ascii_case(v)) {
            return Err(IceError::param(format!(
                "EditingConfig.Voice: voice {v:?} does not exist (ListSmartVoiceGroups lists the voices)"
            )));
        }
    }
    let checked = api::check_script(state, project, script.clone()).await.map_err(script_error)?;
    let job = api::submit_job(state, project, JOB_TYPE_2D, &script, &checked).await?;
    Ok(json!({"JobId": job.id}))
}

/// ICE's name of a job state.
pub fn state_name(s: JobState) -> &'static str {
    match s {
        JobState::Waiting => "Created",
        JobState::Processing => "Executing",
        JobState::Succeed => "Finished",
        JobState::Failed | JobState::Canceled | JobState::Block => "Failed",
    }
}

/// The `GetSmartHandleJob` view of a job.
pub fn job_view(state: &AppState, job: &Job, now_secs: i64) -> Value {
    let ice = &job.script[SCRIPT_KEY];
    let text = |k: &str| ice[k].as_str().map(str::to_string);
    let mut info = json!({
        "JobType": "AvatarVideo",
        "UserId": job.project_id,
        "CreateTime": iso_time(job.create_time),
        "ModifiedTime": iso_time(job.lastupdate_time),
    });
    for k in ["Title", "Description"] {
        if let Some(v) = text(k) {
            info[k] = json!(v);
        }
    }
    if let Some((bucket, object)) = text("MediaURL").as_deref().and_then(bucket_and_object) {
        info["OutputConfig"] = json!({"Bucket": bucket, "Object": object});
    }
    let mut out = json!({"JobId": job.id, "State": state_name(job.state), "SmartJobInfo": info});
    if let Some(u) = text("UserData") {
        out["UserData"] = json!(u);
    }
    if let (JobState::Succeed, Some(media)) = (job.state, &job.output_asset_id) {
        out["JobResult"] = json!({
            "MediaId": media,
            "MediaUrl": state.signer.url(&format!("assets/{media}"), now_secs),
        });
    }
    match job.state {
        JobState::Failed => {
            out["ErrorCode"] = json!(job.error_code.clone().unwrap_or_else(|| "Failed".into()));
            out["ErrorMessage"] = json!(job.error_msg.clone().unwrap_or_default());
        }
        JobState::Canceled => {
            out["ErrorCode"] = json!("Canceled");
            out["ErrorMessage"] = json!("the job was canceled");
        }
        JobState::Block => {
            out["ErrorCode"] = json!("Blocked");
            out["ErrorMessage"] = json!(job.error_msg.clone().unwrap_or_else(|| "the job was blocked".into()));
        }
        _ => {}
    }
    out
}

/// `GetSmartHandleJob`: `JobId` → the job.
pub async fn get(state: &AppState, project: &str, p: &Params, now_secs: i64) -> IceResult<Value> {
    let id = p.required("JobId")?;
    let job = state
        .db
        .job(project, id)
        .await?
        .ok_or_else(|| IceError::not_found("InvalidJobId.NotFound", format!("job {id:?} does not exist")))?;
    Ok(job_view(state, &job, now_secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_job_becomes_a_script() {
        let p = Params::from_pairs(&[
            ("InputConfig", r#"{"Text":"Hello from doppel."}"#),
            ("EditingConfig", r#"{"AvatarId":"anna","Voice":"espeak-en-us-ava","SpeechRate":250,"Volume":100}"#),
            (
                "OutputConfig",
                r#"{"MediaURL":"https://b.oss-cn-shanghai.aliyuncs.com/x/y.webm","Width":720,"Height":"1280",
                    "Bitrate":2000}"#,
            ),
            ("Title", "greeting"),
            ("UserData", r#"{"k":1}"#),
        ]);
        let s = script_of(&p).unwrap();
        assert_eq!(s["model_asset_id"], "anna");
        assert_eq!(s["shoot_scripts"][0]["shoot_script"]["text_config"]["text"], "Hello from doppel.");
        assert_eq!(s["voice_config"], json!({"voice_asset_id": "espeak-en-us-ava", "speed": 150, "volume": 240}));
        assert_eq!(s["video_config"], json!({"codec": "VP8", "width": 720, "height": 1280, "bitrate": 2000}));
        assert_eq!(s["output_asset_config"]["asset_name"], "greeting");
        assert_eq!(s[SCRIPT_KEY]["UserData"], r#"{"k":1}"#);
        doppel_script::parse_script_value(s).expect("a valid doppel script");
        assert_eq!(
            bucket_and_object("https://b.oss-cn-shanghai.aliyuncs.com/x/y.webm"),
            Some(("b".into(), "x/y.webm".into()))
        );
    }

    #[test]
    fn an_input_file_becomes_an_audio_scene_with_the_text_as_subtitles() {
        let p = Params::from_pairs(&[
            ("InputConfig", r#"{"InputFile":"https://b.oss-cn-shanghai.aliyuncs.com/a.mp3","Text":"Hi there."}"#),
            ("EditingConfig", r#"{"AvatarId":"anna"}"#),
        ]);
        let s = script_of(&p).unwrap();
        let shoot = &s["shoot_scripts"][0]["shoot_script"];
        assert_eq!(shoot["script_type"], "AUDIO");
        assert_eq!(shoot["audio_drive_file_external_url"], "https://b.oss-cn-shanghai.aliyuncs.com/a.mp3");
        assert_eq!(shoot["text_config"]["text"], "Hi there.");
        doppel_script::parse_script_value(s).expect("a valid doppel script");
    }

    #[test]
    fn rates_and_volume_map_onto_the_script_ranges() {
        assert_eq!([rate_percent(-500), rate_percent(0), rate_percent(500)], [50, 100, 200]);
        assert_eq!([volume_level(0), volume_level(50), volume_level(100)], [90, 140, 240]);
    }

    #[test]
    fn bad_submissions_name_the_field() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: &[Case] = &[
            (&[("EditingConfig", r#"{"AvatarId":"anna"}"#)], "MissingInputConfig", "InputConfig"),
            (&[("InputConfig", "{\"Text\":\"Hello world\"}")], "MissingEditingConfig", "EditingConfig"),
            (
                &[("InputConfig", r#"{"InputFile":"  "}"#), ("EditingConfig", r#"{"AvatarId":"anna"}"#)],
                "InvalidParameter",
                "InputConfig.Text or InputConfig.InputFile",
            ),
            (
                &[("InputConfig", "{}"), ("EditingConfig", r#"{"AvatarId":"anna"}"#)],
                "InvalidParameter",
                "InputConfig.Text or InputConfig.InputFile",
            ),
            (
                &[("InputConfig", r#"{"Text":"Hi"}"#), ("EditingConfig", r#"{"AvatarId":"anna"}"#)],
                "InvalidParameter",
                "at least 5",
            ),
            (
                &[("InputConfig", "Hello"), ("EditingConfig", r#"{"AvatarId":"anna"}"#)],
                "InvalidParameter",
                "InputConfig is not valid JSON",
            ),
            (
                &[("InputConfig", r#"{"Text":"Hello world"}"#), ("EditingConfig", "{}")],
                "InvalidParameter",
                "EditingConfig.AvatarId",
            ),
            (
                &[
                    ("InputConfig", r#"{"Text":"Hello world"}"#),
                    ("EditingConfig", r#"{"AvatarId":"anna","SpeechRate":900}"#),
                ],
                "InvalidParameter",
                "EditingConfig.SpeechRate is 900, out of range [-500, 500]",
            ),
            (
                &[
                    ("InputConfig", r#"{"Text":"Hello world"}"#),
                    ("EditingConfig", r#"{"AvatarId":"anna"}"#),
                    ("OutputConfig", r#"{"Width":720}"#),
                ],
                "InvalidParameter",
                "OutputConfig.Height is required",
            ),
        ];
        for (p, code, needle) in cases {
            let e = script_of(&Params::from_pairs(p)).unwrap_err();
            assert_eq!(e.code, *code, "{p:?}: {e:?}");
            assert!(e.message.contains(needle), "{p:?}: {e:?}");
        }
    }

    #[test]
    fn script_check_errors_speak_ice_names() {
        let e = script_error(crate::error::ApiError::bad_request(
            "invalid_script",
            "video_config: 700x1280 is not a RESIZE resolution",
        ));
        assert_eq!(e.message, "OutputConfig: 700x1280 is not a RESIZE resolution");
    }

    #[test]
    fn job_states_have_ice_names() {
        let names: Vec<&str> = JobState::ALL.iter().map(|s| state_name(*s)).collect();
        assert_eq!(names, ["Created", "Executing", "Finished", "Failed", "Failed", "Failed"]);
    }
}
