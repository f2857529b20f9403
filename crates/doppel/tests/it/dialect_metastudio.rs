//! End-to-end tests of the Huawei MetaStudio dialect on the real `doppel serve`: Huawei's official Python SDK
//! (`tests/sdk/metastudio_client.py`, run with the test venv's python) against it, and checks over reqwest with
//! `X-Auth-Token` (plus one AK/SK-signed request): the dialect and the native API share one set of jobs, `/api/v1`
//! is not shadowed, errors use MetaStudio's envelope and codes, and the create/show/list answers for seed 003's
//! example body have the vendor's shape (compared with ids, times and URLs redacted).
//!
//! The SDK test needs the venv made by `scripts/test-venv.sh` (`$DOPPEL_TEST_VENV`, default `.venv-test` at the
//! workspace root); without it the test prints a skip line, unless `DOPPEL_REQUIRE_SDK=1` makes that a failure.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use doppel_server::dialect::metastudio::sign;
use serde_json::{json, Value};

use crate::support::{
    crc32, http_client, is_vendor_time, now_secs, sdk_python, send, workspace_root, Opts, Resp, Server, HTTP_TIMEOUT,
};

// ---------------------------------------------------------------------------------------------------------------
// The official SDK

#[test]
fn the_official_metastudio_sdk_works_against_doppel() {
    let test = "the_official_metastudio_sdk_works_against_doppel";
    let Some(python) = sdk_python(test, "MetaStudio", "huaweicloudsdkmetastudio, huaweicloudsdkcore") else {
        return;
    };
    let server = Server::start_temp("ms-sdk", &Opts::new());
    let script = workspace_root().join("tests/sdk/metastudio_client.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(server.port().to_string())
        .arg(server.cred("access_key_id"))
        .arg(server.cred("access_key_secret"))
        .arg(server.cred("project_id"))
        .env("DOPPEL_SDK_TIMEOUT", "300")
        .stdin(Stdio::null())
        .output()
        .expect("run the SDK client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the SDK client failed ({}):\n{stdout}\n{stderr}", out.status);
    assert!(stdout.contains("PASS:"), "{stdout}");
    // The SDK warns when an answer does not fit its models (TypeConversionWarning and the like).
    assert!(!stderr.contains("ConversionWarning") && !stderr.contains("SdkWarning"), "the SDK warned: {stderr}");
}

// ---------------------------------------------------------------------------------------------------------------
// Over HTTP with reqwest

/// A MetaStudio error answer: status, code, a phrase in the message, and the request id in body and header.
fn assert_ms_error(r: &Resp, status: u16, code: &str, needle: &str) {
    let body = r.json();
    assert_eq!((r.status, body["error_code"].as_str()), (status, Some(code)), "{body}");
    let msg = body["error_msg"].as_str().unwrap_or_default();
    assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
    assert!(!r.request_id.is_empty() && body["request_id"] == r.request_id.as_str(), "{r:?}");
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["error_code", "error_msg", "request_id"]);
}

fn is_hex_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Replaces what differs between runs: 32-hex ids by `<id>`, vendor times by `<time>`, URLs by `<url>`, and a
/// positive `duration` by `<seconds>`.
fn redact(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let r = match (k.as_str(), v) {
                        ("duration", Value::Number(n)) if n.as_f64().is_some_and(|d| d > 0.0) => json!("<seconds>"),
                        _ => redact(v),
                    };
                    (k.clone(), r)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redact).collect()),
        Value::String(s) if is_hex_id(s) => json!("<id>"),
        Value::String(s) if is_vendor_time(s) => json!("<time>"),
        Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => json!("<url>"),
        other => other.clone(),
    }
}

/// The files under `dir` as an uncompressed ZIP archive (an avatar package to import).
fn stored_zip(dir: &Path) -> Vec<u8> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read_dir").map(|e| e.expect("entry").path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                let name = p.strip_prefix(base).unwrap().to_string_lossy().replace('\\', "/");
                out.push((name, std::fs::read(&p).expect("read")));
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    let (mut zip, mut central) = (Vec::new(), Vec::new());
    let u16le = |v: &mut Vec<u8>, x: u16| v.extend_from_slice(&x.to_le_bytes());
    let u32le = |v: &mut Vec<u8>, x: u32| v.extend_from_slice(&x.to_le_bytes());
    for (name, data) in &files {
        let (crc, len, offset) = (crc32(data), data.len() as u32, zip.len() as u32);
        u32le(&mut zip, 0x0403_4b50);
        for x in [20, 0, 0, 0, 0x21] {
            u16le(&mut zip, x); // version, flags, stored, time, date
        }
        for x in [crc, len, len] {
            u32le(&mut zip, x);
        }
        u16le(&mut zip, name.len() as u16);
        u16le(&mut zip, 0);
        zip.extend_from_slice(name.as_bytes());
        zip.extend_from_slice(data);
        u32le(&mut central, 0x0201_4b50);
        for x in [20, 20, 0, 0, 0, 0x21] {
            u16le(&mut central, x);
        }
        for x in [crc, len, len] {
            u32le(&mut central, x);
        }
        for x in [name.len() as u16, 0, 0, 0, 0] {
            u16le(&mut central, x);
        }
        u32le(&mut central, 0);
        u32le(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let (cd_offset, cd_len) = (zip.len() as u32, central.len() as u32);
    zip.extend_from_slice(&central);
    u32le(&mut zip, 0x0605_4b50);
    for x in [0, 0, files.len() as u16, files.len() as u16] {
        u16le(&mut zip, x);
    }
    u32le(&mut zip, cd_len);
    u32le(&mut zip, cd_offset);
    u16le(&mut zip, 0);
    zip
}

/// Seed 003's example script, made valid for doppel: a built-in avatar and voice, the one frame rate (25), a
/// colour background, and whole-pixel layer numbers.
fn seed_body() -> Value {
    json!({
        "script_id": "4b5b6effcf3b4c72a0baccb265111765",
        "model_asset_id": "leo",
        "voice_config": {"voice_asset_id": "espeak-en-us-adam", "speed": 100, "pitch": 100, "volume": 140},
        "video_config": {"codec": "H264", "bitrate": 5000, "width": 720, "height": 1280, "frame_rate": "25"},
        "shoot_scripts": [{
            "sequence_no": 0,
            "shoot_script": {
                "text_config": {"text": "Hello, everyone. I'm Yunling."},
                "background_config": [{"background_type": "COLOR", "background_color_config": "#FFFFFF"}],
                "layer_config": [{
                    "layer_type": "HUMAN",
                    "position": {"dx": 236, "dy": 0, "layer_index": 1},
                    "size": {"width": 608, "height": 1080}
                }],
                "script_type": "TEXT"
            }
        }],
        "output_asset_config": {"asset_name": "One Day"}
    })
}

/// The redacted show answer of a finished job of [`seed_body`] (seed 003's fields; `script_id` kept).
fn expected_show() -> Value {
    json!({
        "job_id": "<id>",
        "state": "SUCCEED",
        "job_type": "2D_DIGITAL_HUMAN_VIDEO",
        "start_time": "<time>",
        "end_time": "<time>",
        "duration": "<seconds>",
        "output_asset_config": {
            "asset_id": "<id>",
            "asset_name": "One Day",
            "cover_url": "<url>",
            "preview_video_url": "<url>"
        },
        "error_info": null,
        "create_time": "<time>",
        "lastupdate_time": "<time>",
        "script_id": "<id>"
    })
}

async fn wait_succeed(ms: &reqwest::Client, url: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let r = send(ms.get(url)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let body = r.json();
        match body["state"].as_str() {
            Some("SUCCEED") => return body,
            Some("WAITING") | Some("PROCESSING") if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            _ => panic!("job did not succeed: {body}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metastudio_and_native_apis_share_jobs_and_answer_in_the_vendor_shape() {
    let server = Server::start_temp("ms-http", &Opts::new());
    let (base, project, key) = (server.base.clone(), server.cred("project_id"), server.cred("api_key"));
    let ms = http_client(&[("x-auth-token", &key)], HTTP_TIMEOUT);
    let (native, anon) = (&server.client, &server.anon);
    let v1 = |path: &str| format!("{base}/v1/{project}{path}");

    // Create: `{job_id}` and nothing else.
    let created = send(ms.post(v1("/2d-digital-human-videos")).json(&seed_body())).await;
    assert_eq!(created.status, 200, "{}", created.text());
    assert_eq!(redact(&created.json()), json!({"job_id": "<id>"}));
    assert!(!created.request_id.is_empty());
    let job = created.json()["job_id"].as_str().unwrap().to_string();

    // Show right away: the same key set whatever the state.
    let early = send(ms.get(v1(&format!("/2d-digital-human-videos/{job}")))).await;
    assert_eq!(early.status, 200);
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&early.json()), keys(&expected_show()));

    // The native API shows the MetaStudio job…
    let r = send(native.get(format!("{base}/api/v1/videos/{job}"))).await;
    assert_eq!((r.status, r.json()["job_id"].as_str()), (200, Some(job.as_str())), "{}", r.text());
    assert_eq!(r.json()["job_type"], "2D_DIGITAL_HUMAN_VIDEO");
    // …and MetaStudio shows a native job.
    let r = send(native.post(format!("{base}/api/v1/videos")).json(&seed_body())).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let native_job = r.json()["job_id"].as_str().unwrap().to_string();
    let r = send(ms.get(v1(&format!("/2d-digital-human-videos/{native_job}")))).await;
    assert_eq!((r.status, r.json()["job_id"].as_str()), (200, Some(native_job.as_str())), "{}", r.text());

    // Wait for both jobs; then the snapshots.
    let done = wait_succeed(&ms, &v1(&format!("/2d-digital-human-videos/{job}"))).await;
    wait_succeed(&ms, &v1(&format!("/2d-digital-human-videos/{native_job}"))).await;
    assert_eq!(redact(&done), expected_show());
    assert_eq!(done["script_id"], "4b5b6effcf3b4c72a0baccb265111765");
    let with_script = send(ms.get(v1(&format!("/2d-digital-human-videos/{job}?show_script=true")))).await;
    let mut expected = expected_show();
    let body = seed_body();
    for k in ["model_asset_id", "voice_config", "video_config", "shoot_scripts"] {
        expected[k] = body[k].clone();
    }
    assert_eq!(redact(&with_script.json()), redact(&expected));

    let list = send(ms.get(v1(&format!("/digital-human-videos?job_ids={job}&job_ids={native_job}&limit=10")))).await;
    assert_eq!(list.status, 200, "{}", list.text());
    let list = list.json();
    assert_eq!(list["count"], 2);
    let mine = list["jobs"].as_array().unwrap().iter().find(|j| j["job_id"] == job.as_str()).expect("listed");
    let mut expected_item = expected_show();
    expected_item.as_object_mut().unwrap().remove("script_id");
    assert_eq!(redact(mine), expected_item);
    assert_eq!(keys(&list), ["count", "jobs"]);
    for (query, want) in [
        (format!("job_id={job}"), 1),
        ("script_id=4b5b6effcf3b4c72a0baccb265111765".to_string(), 2),
        (format!("job_ids={job},{native_job}&state=SUCCEED,WAITING,PROCESSING"), 2),
        ("asset_name=One%20Day&sort_key=create_time&sort_dir=desc".to_string(), 2),
        ("job_type=PHOTO_DIGITAL_HUMAN_VIDEO".to_string(), 0),
        (format!("create_until=2000-01-01T00:00:00Z&job_id={job}"), 0),
    ] {
        let r = send(ms.get(v1(&format!("/digital-human-videos?{query}")))).await;
        assert_eq!((r.status, r.json()["count"].as_i64()), (200, Some(want)), "{query}: {}", r.text());
    }
    // Both APIs count the same jobs.
    let all_ms = send(ms.get(v1("/digital-human-videos"))).await;
    let all_native = send(native.get(format!("{base}/api/v1/videos"))).await;
    assert_eq!(all_ms.json()["count"], all_native.json()["count"]);

    // The asset library: avatars and voices as the SDK names them; the result video under its type.
    let humans = send(ms.get(v1("/digital-assets?asset_type=HUMAN_MODEL_2D&asset_source=ALL"))).await;
    assert_eq!(humans.status, 200, "{}", humans.text());
    let humans = humans.json();
    let leo = humans["assets"].as_array().unwrap().iter().find(|a| a["asset_id"] == "leo").expect("leo");
    assert_eq!(
        keys(leo),
        [
            "asset_description",
            "asset_extra_meta",
            "asset_id",
            "asset_name",
            "asset_order",
            "asset_state",
            "asset_type",
            "create_time",
            "files",
            "project_id",
            "supported_service",
            "system_properties",
            "tags",
            "update_time"
        ]
    );
    assert_eq!((leo["asset_type"].as_str(), leo["asset_state"].as_str()), (Some("HUMAN_MODEL_2D"), Some("ACTIVED")));
    assert!(leo["asset_extra_meta"]["human_model_2d_meta"]["action_tag_map"].as_array().is_some_and(|a| !a.is_empty()));
    let voices = send(ms.get(v1("/digital-assets?asset_type=VOICE_MODEL&asset_source=SYSTEM&limit=100"))).await.json();
    let adam = voices["assets"].as_array().unwrap().iter().find(|a| a["asset_id"] == "espeak-en-us-adam");
    let adam = adam.expect("the voice of the script is listed");
    assert_eq!(adam["asset_extra_meta"]["voice_model_meta"]["sex"], "MALE");
    let out_id = done["output_asset_config"]["asset_id"].as_str().unwrap();
    let video = send(ms.get(v1(&format!("/digital-assets/{out_id}")))).await;
    assert_eq!((video.status, video.json()["asset_type"].as_str()), (200, Some("VIDEO")), "{}", video.text());
    assert_eq!(video.json()["files"][0]["asset_file_category"], "MAIN");
    let own = send(ms.get(v1("/digital-assets?asset_type=VIDEO,IMAGE"))).await;
    assert_eq!(own.json()["count"], 4, "each job's video and cover: {}", own.text());

    // An imported avatar is the project's own HUMAN_MODEL_2D asset, usable as model_asset_id.
    let package = stored_zip(&workspace_root().join("avatars/leo"));
    let r = send(native.post(format!("{base}/api/v1/digital-humans?name=mine.zip")).body(package)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let mine = r.json()["id"].as_str().unwrap().to_string();
    let own_humans = send(ms.get(v1("/digital-assets?asset_type=HUMAN_MODEL_2D"))).await.json();
    assert_eq!(own_humans["count"], 1, "{own_humans}");
    let listed = &own_humans["assets"][0];
    assert_eq!(listed["asset_id"], mine.as_str());
    assert_eq!(keys(listed), keys(leo));
    assert!(listed["files"].as_array().unwrap().iter().any(|f| f["asset_file_category"] == "MAIN"), "{listed}");
    let shown = send(ms.get(v1(&format!("/digital-assets/{mine}")))).await;
    assert_eq!(redact(&shown.json()), redact(listed));
    let with_both = send(ms.get(v1("/digital-assets?asset_type=HUMAN_MODEL_2D&asset_source=ALL&limit=100"))).await;
    assert_eq!(with_both.json()["count"], humans["count"].as_i64().unwrap() + 1);
    let mut uses = seed_body();
    uses["model_asset_id"] = json!(mine);
    let r = send(ms.post(v1("/2d-digital-human-videos")).json(&uses)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let third = r.json()["job_id"].as_str().unwrap().to_string();
    let r = send(ms.post(v1(&format!("/2d-digital-human-videos/{third}/cancel")))).await;
    assert_eq!((r.status, &r.json()), (200, &json!({})));

    // One request signed with the project's access key pair (doppel's own client-side signer).
    let (ak, sk) = (server.cred("access_key_id"), server.cred("access_key_secret"));
    let host = format!("127.0.0.1:{}", server.port());
    let path = format!("/v1/{project}/digital-human-videos");
    let date = sign::format_sdk_date(now_secs());
    let headers = [("content-type", "application/json"), ("host", host.as_str()), ("x-sdk-date", date.as_str())];
    let authz = sign::authorization(&ak, &sk, "GET", &path, "limit=1", &headers, b"");
    let signed = |query: &str| {
        anon.get(format!("{base}{path}?{query}"))
            .header("content-type", "application/json")
            .header("host", &host)
            .header("x-sdk-date", &date)
            .header("authorization", &authz)
    };
    let r = send(signed("limit=1")).await;
    assert_eq!((r.status, r.json()["jobs"].as_array().map(Vec::len)), (200, Some(1)), "{}", r.text());
    assert_ms_error(&send(signed("limit=2")).await, 401, "MSS.00000001", "signature does not match");

    // Errors in MetaStudio's envelope.
    let unknown = "0".repeat(32);
    assert_ms_error(&send(anon.get(v1("/digital-human-videos"))).await, 401, "MSS.00000001", "no credentials");
    let bad_token = http_client(&[("x-auth-token", "dpl_nope")], HTTP_TIMEOUT);
    assert_ms_error(&send(bad_token.get(v1("/digital-human-videos"))).await, 401, "MSS.00000001", "X-Auth-Token");
    let bearer = send(native.get(v1("/digital-human-videos"))).await;
    assert_ms_error(&bearer, 401, "MSS.00000001", "SDK-HMAC-SHA256");
    let other = format!("{base}/v1/{}/digital-human-videos", "f".repeat(32));
    assert_ms_error(&send(ms.get(other)).await, 403, "MSS.00010009", "urlTenantId");
    let r = send(ms.get(v1("/digital-human-videos")).header("x-project-id", "f".repeat(32))).await;
    assert_ms_error(&r, 403, "MSS.00010009", "X-Project-Id");
    assert_ms_error(
        &send(ms.get(v1(&format!("/2d-digital-human-videos/{unknown}")))).await,
        404,
        "MSS.00000002",
        &unknown,
    );
    assert_ms_error(
        &send(ms.post(v1(&format!("/2d-digital-human-videos/{unknown}/cancel")))).await,
        404,
        "MSS.00000002",
        &unknown,
    );
    assert_ms_error(
        &send(ms.post(v1(&format!("/2d-digital-human-videos/{job}/cancel")))).await,
        400,
        "MSS.00000003",
        "already SUCCEED",
    );
    let mut bad = seed_body();
    bad["voice_config"]["speed"] = json!(300);
    let r = send(ms.post(v1("/2d-digital-human-videos")).json(&bad)).await;
    assert_ms_error(&r, 400, "MSS.00000003", "voice_config.speed: 300 is out of range 50–200");
    let mut bad = seed_body();
    bad["model_asset_id"] = json!("nobody");
    assert_ms_error(
        &send(ms.post(v1("/2d-digital-human-videos")).json(&bad)).await,
        400,
        "MSS.00000003",
        "model_asset_id",
    );
    let r = send(ms.post(v1("/2d-digital-human-videos")).body("{not json")).await;
    assert_ms_error(&r, 400, "MSS.00000003", "invalid JSON");
    assert_ms_error(&send(ms.get(v1("/digital-human-videos?limit=0"))).await, 400, "MSS.00000003", "limit");
    assert_ms_error(&send(ms.get(v1("/digital-human-videos?state=CREATING"))).await, 400, "MSS.00000003", "state");
    let r = send(ms.get(v1(&format!("/2d-digital-human-videos/{job}?show_script=maybe")))).await;
    assert_ms_error(&r, 400, "MSS.00000003", "show_script");
    assert_ms_error(&send(ms.get(v1("/digital-assets/nobody"))).await, 404, "MSS.00000002", "nobody");
    assert_ms_error(&send(ms.get(v1("/no-such-api"))).await, 404, "MSS.00010003", "/no-such-api");
    assert_ms_error(&send(ms.delete(v1("/digital-human-videos"))).await, 405, "MSS.00010004", "DELETE");

    // The native API and the other routes are not shadowed by `/v1`.
    let r = send(anon.get(format!("{base}/api/v1/videos"))).await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (401, Some("unauthorized")), "{}", r.text());
    let r = send(anon.get(format!("{base}/api/v1/openapi.json"))).await;
    assert_eq!(r.status, 200);
    let r = send(anon.get(format!("{base}/healthz"))).await;
    assert_eq!((r.status, r.json()["status"].as_str()), (200, Some("ok")));
    let r = send(native.get(format!("{base}/api/v1/digital-humans"))).await;
    assert_eq!(r.status, 200, "{}", r.text());
}
