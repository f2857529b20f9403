//! Photo digital humans end to end: `doppel serve` with the face models, the native API (a photo upload, an IMAGE
//! asset) and the official MetaStudio SDK (`tests/sdk/metastudio_photo.py`: photo detection and photo videos).
//! Needs the models and the astronaut photo (`scripts/face-models.sh --test`): without them the tests skip with
//! a message, and fail under `make test` (`DOPPEL_REQUIRE_MODELS`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};

use crate::support::{sdk_python, send, workspace_root, Opts, Server};

/// The models folder, when it has the models and the test photo.
fn models_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("DOPPEL_MODELS_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { workspace_root().join(d) })
        .unwrap_or_else(|| workspace_root().join("models"));
    let ready = ["face_detection_short_range.onnx", "face_landmark.onnx", "astronaut.png"]
        .iter()
        .all(|f| dir.join(f).is_file());
    if ready {
        return Some(dir);
    }
    let why = format!("{} lacks the face models or astronaut.png; run scripts/face-models.sh --test", dir.display());
    assert!(std::env::var_os("DOPPEL_REQUIRE_MODELS").is_none(), "{test}: {why}");
    eprintln!("skipping {test}: {why}");
    None
}

/// Makes a PNG with the ffmpeg tool: `filter` is a lavfi source.
fn ffmpeg_png(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let st = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y"])
        .args(args)
        .args(["-frames:v", "1"])
        .arg(&out)
        .stdin(Stdio::null())
        .status()
        .expect("run ffmpeg");
    assert!(st.success(), "ffmpeg {args:?}");
    out
}

async fn wait_done(server: &Server, job: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let r = send(server.client.get(server.url(&format!("/api/v1/videos/{job}")))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        match v["state"].as_str() {
            Some("WAITING") | Some("PROCESSING") if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await
            }
            _ => return v,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_becomes_a_digital_human_that_renders_and_bad_photos_are_refused() {
    let test = "a_photo_becomes_a_digital_human_that_renders_and_bad_photos_are_refused";
    let Some(models) = models_dir(test) else { return };
    let server = Server::start_temp("photo-native", &Opts::new().env("DOPPEL_MODELS_DIR", models.display()));
    let photo = std::fs::read(models.join("astronaut.png")).expect("astronaut.png");

    // An uploaded photo becomes a photo digital human.
    let r = send(
        server
            .client
            .post(server.url("/api/v1/digital-humans?name=astronaut.png"))
            .header(CONTENT_TYPE, "image/png")
            .body(photo.clone()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let human = r.json();
    assert_eq!(human["type"], "PHOTO", "{human}");
    assert_eq!((human["width"].as_u64(), human["height"].as_u64()), (Some(512), Some(512)), "{human}");
    assert_eq!(human["portrait"], false);
    assert_eq!(human["name"], "astronaut");
    let id = human["id"].as_str().expect("id").to_string();
    let list = send(server.client.get(server.url("/api/v1/digital-humans?public=false"))).await.json();
    assert!(list["digital_humans"].as_array().expect("list").iter().any(|h| h["id"] == id.as_str()), "{list}");
    let thumb = send(server.anon.get(human["avatar_url"].as_str().expect("avatar_url"))).await;
    assert_eq!(thumb.status, 200, "thumbnail");

    // It speaks in a script like any digital human.
    let script = json!({
        "model_asset_id": id,
        "video_config": { "width": 720, "height": 1280, "codec": "H264" },
        "shoot_scripts": [{ "sequence_no": 0, "shoot_script": {
            "script_type": "TEXT", "text_config": { "text": "Hello, I am a photo that talks." }
        }}]
    });
    let r = send(server.client.post(server.url("/api/v1/videos")).json(&script)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let job = r.json()["job_id"].as_str().expect("job_id").to_string();
    let done = wait_done(&server, &job).await;
    assert_eq!(done["state"], "SUCCEED", "{done}");

    // An IMAGE asset can become one too.
    let r = send(
        server
            .client
            .post(server.url("/api/v1/assets?type=IMAGE&name=portrait.png"))
            .header(CONTENT_TYPE, "image/png")
            .body(photo.clone()),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let asset = r.json()["asset_id"].as_str().expect("asset id").to_string();
    let r =
        send(server.client.post(server.url("/api/v1/digital-humans")).json(&json!({"image_asset_id": asset}))).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["name"], "portrait");

    // Refusals name the problem.
    let dir = server.dir().to_path_buf();
    let gradient = ffmpeg_png(&dir, "gradient.png", &["-f", "lavfi", "-i", "nullsrc=s=256x256,geq=r='X':g='Y':b=128"]);
    let small = ffmpeg_png(
        &dir,
        "small.png",
        &["-i", &models.join("astronaut.png").display().to_string(), "-vf", "scale=256:256"],
    );
    for (file, code) in [(gradient, "NO_FACE"), (small, "FACE_TOO_SMALL")] {
        let r = send(
            server
                .client
                .post(server.url("/api/v1/digital-humans"))
                .header(CONTENT_TYPE, "image/png")
                .body(std::fs::read(&file).expect("png")),
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.text());
        let e = r.json();
        assert_eq!(e["error"]["code"], "invalid_photo", "{e}");
        assert!(e["error"]["message"].as_str().is_some_and(|m| m.contains(code)), "{code}: {e}");
    }
    let r =
        send(server.client.post(server.url("/api/v1/digital-humans")).json(&json!({"image_asset_id": "nope"}))).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("image_asset_id"), "{}", r.text());
}

#[test]
fn the_official_metastudio_sdk_makes_photo_videos() {
    let test = "the_official_metastudio_sdk_makes_photo_videos";
    let Some(models) = models_dir(test) else { return };
    let Some(python) = sdk_python(test, "MetaStudio", "huaweicloudsdkmetastudio, huaweicloudsdkcore") else {
        return;
    };
    let server = Server::start_temp("ms-photo", &Opts::new().env("DOPPEL_MODELS_DIR", models.display()));
    let no_face =
        ffmpeg_png(server.dir(), "gradient.png", &["-f", "lavfi", "-i", "nullsrc=s=256x256,geq=r='X':g='Y':b=128"]);
    let out = Command::new(&python)
        .arg(workspace_root().join("tests/sdk/metastudio_photo.py"))
        .arg(server.port().to_string())
        .arg(server.cred("access_key_id"))
        .arg(server.cred("access_key_secret"))
        .arg(server.cred("project_id"))
        .arg(models.join("astronaut.png"))
        .arg(&no_face)
        .env("DOPPEL_SDK_TIMEOUT", "300")
        .stdin(Stdio::null())
        .output()
        .expect("run the SDK client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the SDK client failed ({}):\n{stdout}\n{stderr}\nserver log:\n{}",
        out.status,
        server.log_text()
    );
    assert!(stdout.contains("PASS:"), "{stdout}");
    assert!(!stderr.contains("ConversionWarning") && !stderr.contains("SdkWarning"), "the SDK warned: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_digital_human_goes_live() {
    let test = "a_photo_digital_human_goes_live";
    let Some(models) = models_dir(test) else { return };
    let server = Server::start_temp("photo-live", &Opts::new().workers(0).env("DOPPEL_MODELS_DIR", models.display()));
    let photo = std::fs::read(models.join("astronaut.png")).expect("astronaut.png");
    let r = send(
        server
            .client
            .post(server.url("/api/v1/digital-humans?name=astronaut.png"))
            .header(CONTENT_TYPE, "image/png")
            .body(photo),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_string();
    let r = send(server.client.post(server.url("/api/v1/streams")).json(&json!({"digital_human_id": id}))).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let task = r.json()["task_id"].as_str().expect("task_id").to_string();
    let v = crate::live::wait_stream(&server, &task, Duration::from_secs(60), |v| v["status"] == 3).await;
    // The mouth is where the face is: in the upper half of the portrait, near the middle.
    let (x, y) = (v["mouth_box"]["x"].as_u64().expect("mouth_box"), v["mouth_box"]["y"].as_u64().unwrap());
    assert!((150..570).contains(&x) && (100..900).contains(&y), "{v}");
    let r = send(server.client.post(server.url(&format!("/api/v1/streams/{task}/drives"))).json(&json!({
        "text": "Hello from a photo."
    })))
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let drive = r.json()["drive_id"].as_str().unwrap().to_string();
    crate::live::wait_drive(&server, &task, &drive, 4, Duration::from_secs(30)).await;
}
