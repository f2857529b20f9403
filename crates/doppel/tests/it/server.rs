//! End-to-end tests of `doppel serve`: the real binary started on a temporary data directory and driven over
//! HTTP, as a client would. Each test starts its own server (and so has its own database and files); the
//! server renders with the ultrafast x264 preset to keep the renders short.
//!
//! The PostgreSQL test runs only when `DOPPEL_TEST_DATABASE_URL` names a server (see
//! `scripts/test-postgres.sh`); with `DOPPEL_REQUIRE_POSTGRES=1` its absence is an error.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doppel_store::now_ms;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{json, Value};

use crate::support::{
    crc32, doppel_command, http_client, is_vendor_time, now_secs, probe_bytes, send, Opts, Resp, Server, TempDir,
    HTTP_TIMEOUT,
};

// ---------------------------------------------------------------------------------------------------------------
// Calls of the native API (the server itself is `support`'s)
// ---------------------------------------------------------------------------------------------------------------

impl Server {
    async fn get(&self, path: &str) -> Resp {
        send(self.client.get(self.url(path))).await
    }

    async fn post_json(&self, path: &str, body: &Value) -> Resp {
        send(self.client.post(self.url(path)).json(body)).await
    }

    async fn post(&self, path: &str) -> Resp {
        send(self.client.post(self.url(path))).await
    }

    /// Submits a video job; it must be accepted.
    async fn create(&self, script: &Value) -> String {
        let r = self.post_json("/api/v1/videos", script).await;
        assert_eq!(r.status, 200, "create: {}", r.text());
        r.json()["job_id"].as_str().expect("job_id").to_string()
    }

    async fn job(&self, id: &str) -> Value {
        let r = self.get(&format!("/api/v1/videos/{id}")).await;
        assert_eq!(r.status, 200, "job {id}: {}", r.text());
        r.json()
    }

    /// Polls the job until `ok` holds; fails on timeout, or when the job ends in a state `ok` refuses.
    async fn wait_job(&self, id: &str, timeout: Duration, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let j = self.job(id).await;
            if ok(&j) {
                return j;
            }
            let state = j["state"].as_str().unwrap_or_default();
            if ["SUCCEED", "FAILED", "CANCELED"].contains(&state) {
                panic!("job {id} ended {state} while waiting for {what}: {j}\nserver log:\n{}", self.log_text());
            }
            if Instant::now() > deadline {
                panic!("job {id}: no {what} after {timeout:?}: {j}\nserver log:\n{}", self.log_text());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_succeed(&self, id: &str, timeout: Duration) -> Value {
        self.wait_job(id, timeout, "SUCCEED", |j| j["state"] == "SUCCEED").await
    }

    /// Waits until the job renders (PROCESSING with some progress).
    async fn wait_rendering(&self, id: &str) -> Value {
        self.wait_job(id, Duration::from_secs(120), "PROCESSING with progress", |j| {
            j["state"] == "PROCESSING" && j["progress"].as_i64().unwrap_or(0) > 0
        })
        .await
    }

    /// `GET /api/v1/videos?QUERY`.
    async fn list(&self, query: &[(&str, &str)]) -> Resp {
        self.get(&format!("/api/v1/videos?{}", qs(query))).await
    }

    /// The count and the job ids of a listing that must succeed.
    async fn list_ids(&self, query: &[(&str, &str)]) -> (i64, Vec<String>) {
        let r = self.list(query).await;
        assert_eq!(r.status, 200, "list {query:?}: {}", r.text());
        let v = r.json();
        let ids = v["jobs"].as_array().expect("jobs").iter().map(|j| j["job_id"].as_str().unwrap().to_string());
        (v["count"].as_i64().expect("count"), ids.collect())
    }

    /// Every asset of the project (of `asset_type`, when given).
    async fn assets(&self, asset_type: Option<&str>) -> Vec<Value> {
        let mut q = vec![("limit", "100")];
        if let Some(t) = asset_type {
            q.push(("type", t));
        }
        let r = self.get(&format!("/api/v1/assets?{}", qs(&q))).await;
        assert_eq!(r.status, 200, "assets: {}", r.text());
        let v = r.json();
        let list = v["assets"].as_array().expect("assets").clone();
        assert_eq!(v["count"].as_i64(), Some(list.len() as i64), "more than one page of assets");
        list
    }

    /// `POST /api/v1/assets?QUERY` with a raw body.
    async fn upload(&self, query: &[(&str, &str)], content_type: &str, bytes: Vec<u8>) -> Resp {
        let req = self.client.post(self.url(&format!("/api/v1/assets?{}", qs(query))));
        send(req.header(CONTENT_TYPE, content_type).body(bytes)).await
    }

    /// Lines of the server's log saying a worker finished a job.
    fn done_lines(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|l| l.starts_with("doppel worker ") && l.contains(": job ") && l.ends_with(" done"))
            .map(str::to_string)
            .collect()
    }
}

/// A URL query string.
fn qs(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Checks a native error answer: status, code, a message mentioning `needle`, and the request id in the body
/// equal to the header's.
fn assert_error(r: &Resp, status: u16, code: &str, needle: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    let e = &r.json()["error"];
    assert_eq!(e["code"], code, "{}", r.text());
    let message = e["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "message {message:?} does not mention {needle:?}");
    assert_eq!(e["request_id"], r.request_id.as_str(), "{}", r.text());
}

/// A one-scene script speaking `text` as the built-in avatar anna, 720x1280.
fn script(text: &str) -> Value {
    json!({
        "model_asset_id": "anna",
        "video_config": {"codec": "H264", "width": 720, "height": 1280, "bitrate": 1000},
        "shoot_scripts": [{"sequence_no": 0, "shoot_script": {"script_type": "TEXT", "text_config": {"text": text}}}]
    })
}

fn short_script() -> Value {
    script("Hello there.")
}

/// A script of `sentences` sentences: 20 make a render of several seconds.
fn long_script(sentences: usize) -> Value {
    let text: Vec<String> = (1..=sentences)
        .map(|i| format!("This is sentence number {i} of a longer text, spoken calmly so that the video runs a while."))
        .collect();
    script(&text.join(" "))
}

/// `ms` as an ISO 8601 UTC time with milliseconds (`2026-01-02T03:04:05.678Z`).
fn iso_ms(ms: i64) -> String {
    doppel_server::iso_time(ms).replace('Z', &format!(".{:03}Z", ms.rem_euclid(1000)))
}

/// Checks that `v` is a time in the vendors' format (`2026-01-02T03:04:05Z`) within ten minutes of now.
fn assert_time(v: &Value, what: &str) {
    let s = v.as_str().unwrap_or_else(|| panic!("{what}: {v} is not a string"));
    assert!(is_vendor_time(s), "{what}: {s:?} is not like 2026-01-02T03:04:05Z");
    let ms = doppel_server::parse_iso_time(s).unwrap_or_else(|| panic!("{what}: {s:?} does not parse"));
    assert!((ms - now_ms()).abs() < 600_000, "{what}: {s} is not about now");
}

fn example_asset(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/assets").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The files under `dir` (none when it does not exist).
fn entries(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd.map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renders_a_job_and_serves_its_files() {
    let tmp = TempDir::new("render");
    let server = Server::start(&tmp.data(), &Opts::new());

    // The first start wrote the default project's credentials, readable by their owner only.
    let creds_file = tmp.data().join("credentials.json");
    let mode = std::fs::metadata(&creds_file).expect("credentials.json").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "credentials.json mode {:o}", mode & 0o777);
    for key in ["project_id", "api_key", "access_key_id", "access_key_secret", "zego_server_secret"] {
        assert!(server.creds[key].as_str().is_some_and(|s| !s.is_empty()), "{key} in {}", server.creds);
    }
    assert!(server.creds["zego_app_id"].as_u64().is_some_and(|n| n > 0), "{}", server.creds);

    let health = send(server.anon.get(server.url("/healthz"))).await;
    assert_eq!((health.status, health.json()["status"].clone()), (200, json!("ok")));
    // A caller's own request id is kept.
    let mine = send(server.client.get(server.url("/api/v1/voices")).header("x-request-id", "my-id-42")).await;
    assert_eq!((mine.status, mine.request_id.as_str()), (200, "my-id-42"));
    assert!(mine.json()["count"].as_i64().is_some_and(|n| n > 0), "{}", mine.text());
    let humans = server.get("/api/v1/digital-humans").await.json();
    let ids: Vec<&str> = humans["digital_humans"].as_array().unwrap().iter().filter_map(|h| h["id"].as_str()).collect();
    assert!(ids.contains(&"anna"), "{humans}");

    let mut body = short_script();
    body["output_asset_config"] = json!({"asset_name": "hello-e2e"});
    let id = server.create(&body).await;
    assert_eq!(id.len(), 32, "{id}");
    let j = server.wait_succeed(&id, Duration::from_secs(120)).await;
    assert_eq!(j["job_id"], id.as_str());
    assert_eq!(j["progress"], 100, "{j}");
    assert_eq!(j["job_type"], "2D_DIGITAL_HUMAN_VIDEO");
    assert!(j["error_info"].is_null(), "{j}");
    assert!(j["duration"].as_f64().is_some_and(|d| d > 0.3), "{j}");
    for key in ["create_time", "lastupdate_time", "start_time", "end_time"] {
        assert_time(&j[key], key);
    }
    let out = &j["output_asset_config"];
    assert_eq!(out["asset_name"], "hello-e2e", "{j}");
    let asset_id = out["asset_id"].as_str().expect("asset_id").to_string();
    let cover_url = out["cover_url"].as_str().expect("cover_url").to_string();
    let preview_url = out["preview_video_url"].as_str().expect("preview_video_url").to_string();
    assert!(preview_url.starts_with(&format!("{}/files/", server.base)), "{preview_url}");

    // The files download without the API key.
    let video = send(server.anon.get(&preview_url)).await;
    assert_eq!(video.status, 200, "{}", video.text());
    assert_eq!(video.content_type, "video/mp4");
    let info = probe_bytes(tmp.path(), "preview.mp4", &video.body);
    let v = info.stream(doppel_media::StreamKind::Video).expect("a video stream");
    assert_eq!((v.codec.as_str(), v.width, v.height), ("h264", 720, 1280));
    let a = info.stream(doppel_media::StreamKind::Audio).expect("an audio stream");
    assert!(a.duration_ms > 300, "audio of {} ms", a.duration_ms);
    let cover = send(server.anon.get(&cover_url)).await;
    assert_eq!((cover.status, cover.content_type.as_str()), (200, "image/jpeg"));
    assert!(cover.body.starts_with(&[0xFF, 0xD8, 0xFF]), "the cover is not a JPEG");

    // The result is the project's asset, tied to its job, and its content is the same file.
    let videos = server.assets(Some("VIDEO")).await;
    let mine: Vec<&Value> = videos.iter().filter(|a| a["job_id"] == id.as_str()).collect();
    assert_eq!(mine.len(), 1, "{videos:?}");
    assert_eq!(mine[0]["asset_id"], asset_id.as_str());
    assert_eq!(mine[0]["name"], "hello-e2e.mp4");
    assert_time(&mine[0]["create_time"], "asset create_time");
    let content = server.get(&format!("/api/v1/assets/{asset_id}/content")).await;
    assert_eq!(content.status, 200);
    assert!(content.body == video.body, "the asset's content differs from the preview download");

    // The script comes back on request.
    let with_script = server.get(&format!("/api/v1/videos/{id}?show_script=true")).await.json();
    assert_eq!(with_script["shoot_scripts"][0]["shoot_script"]["text_config"]["text"], "Hello there.");
    assert_eq!(with_script["video_config"]["width"], 720);
    assert!(j.get("shoot_scripts").is_none(), "the script is shown without show_script");

    let missing = server.get(&format!("/api/v1/videos/{}", "0".repeat(32))).await;
    assert_error(&missing, 404, "not_found", "does not exist");
    // Nothing left in the work folder.
    assert!(entries(&tmp.data().join("work")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_bad_scripts_before_queueing_them() {
    let tmp = TempDir::new("bad-scripts");
    let server = Server::start(&tmp.data(), &Opts::new().workers(0));

    let mut fast = short_script();
    fast["voice_config"] = json!({"speed": 500});
    let r = server.post_json("/api/v1/videos", &fast).await;
    assert_error(&r, 400, "invalid_script", "voice_config.speed");
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("500"), "{}", r.text());
    assert_eq!(server.list_ids(&[]).await.0, 0, "a refused script left a job");

    let mut nobody = short_script();
    nobody["model_asset_id"] = json!("nobody");
    let r = server.post_json("/api/v1/videos", &nobody).await;
    assert_error(&r, 400, "invalid_script", "model_asset_id");
    assert!(r.text().contains("nobody"), "{}", r.text());

    let mut voice = short_script();
    voice["voice_config"] = json!({"voice_asset_id": "no-such-voice"});
    let r = server.post_json("/api/v1/videos", &voice).await;
    assert_error(&r, 400, "invalid_script", "voice_config.voice_asset_id");

    let mut layer = short_script();
    layer["shoot_scripts"][0]["shoot_script"]["layer_config"] = json!([{
        "layer_type": "IMAGE",
        "asset_id": "0123456789abcdef0123456789abcdef",
        "position": {"dx": 10, "dy": 10, "layer_index": 3},
        "size": {"width": 100, "height": 100}
    }]);
    let r = server.post_json("/api/v1/videos", &layer).await;
    assert_error(&r, 400, "invalid_script", "shoot_scripts[0].shoot_script.layer_config[0].asset_id");
    assert!(r.text().contains("0123456789abcdef0123456789abcdef"), "{}", r.text());

    let mut ftp = short_script();
    ftp["shoot_scripts"][0]["shoot_script"]["layer_config"] = json!([{
        "layer_type": "IMAGE",
        "image_config": {"image_url": "ftp://example.com/logo.png"},
        "size": {"width": 100, "height": 100}
    }]);
    let r = server.post_json("/api/v1/videos", &ftp).await;
    assert_error(&r, 400, "invalid_script", "shoot_scripts[0].shoot_script.layer_config[0].image_config.image_url");

    let bad_json = server.client.post(server.url("/api/v1/videos")).header(CONTENT_TYPE, "application/json");
    let r = send(bad_json.body("{\"model_asset_id\": \"anna\", ")).await;
    assert_error(&r, 400, "invalid_json", "line 1");

    let r = server.post_json("/api/v1/videos", &json!({"model_asset_id": "anna"})).await;
    assert_error(&r, 400, "invalid_script", "shoot_scripts");

    assert_eq!(server.list_ids(&[]).await.0, 0, "a refused script left a job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_filters_pages_and_cancels_jobs() {
    let tmp = TempDir::new("list");
    // No workers: every job stays WAITING.
    let server = Server::start(&tmp.data(), &Opts::new().workers(0));
    let start = now_ms();
    let mut ids = Vec::new();
    let mut mid = 0;
    for i in 0..7 {
        if i == 3 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            mid = now_ms();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut body = short_script();
        body["output_asset_config"] = json!({"asset_name": if i % 2 == 0 { "even" } else { "odd" }});
        body["script_id"] = json!(format!("s{}", i % 3));
        ids.push(server.create(&body).await);
        // Distinct creation times, so that the order is the order of creation.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pick = |is: &[usize]| -> Vec<String> { is.iter().map(|&i| ids[i].clone()).collect() };
    let all: Vec<usize> = (0..7).collect();

    let (count, got) = server.list_ids(&[]).await;
    assert_eq!((count, got), (7, ids.clone()));
    let first = server.list(&[("limit", "1")]).await.json();
    let j = &first["jobs"][0];
    assert_eq!((j["state"].as_str(), j["progress"].as_i64()), (Some("WAITING"), Some(0)), "{j}");
    assert_eq!((j["script_id"].as_str(), j["output_asset_config"]["asset_name"].as_str()), (Some("s0"), Some("even")));
    assert_time(&j["create_time"], "create_time");

    let mut reversed = ids.clone();
    reversed.reverse();
    assert_eq!(server.list_ids(&[("sort_dir", "desc")]).await, (7, reversed.clone()));
    assert_eq!(server.list_ids(&[("sort_key", "create_time"), ("sort_dir", "DESC")]).await, (7, reversed));
    assert_eq!(server.list_ids(&[("sort_dir", "asc")]).await, (7, ids.clone()));

    type Query = Vec<(&'static str, String)>;
    let cases: Vec<(Query, Vec<usize>)> = vec![
        (vec![("asset_name", "even".into())], vec![0, 2, 4, 6]),
        (vec![("asset_name", "odd".into())], vec![1, 3, 5]),
        (vec![("asset_name", "none".into())], vec![]),
        (vec![("script_id", "s0".into())], vec![0, 3, 6]),
        (vec![("script_id", "s2".into())], vec![2, 5]),
        (vec![("script_id", "s0".into()), ("asset_name", "even".into())], vec![0, 6]),
        (vec![("job_id", ids[4].clone())], vec![4]),
        (vec![("job_id", format!("{},{}", ids[5], ids[1]))], vec![1, 5]),
        (vec![("job_id", "0".repeat(32))], vec![]),
        (vec![("state", "WAITING".into())], all.clone()),
        (vec![("state", "SUCCEED".into())], vec![]),
        (vec![("state", "SUCCEED,WAITING".into())], all.clone()),
        (vec![("create_since", iso_ms(mid))], vec![3, 4, 5, 6]),
        (vec![("create_until", iso_ms(mid))], vec![0, 1, 2]),
        (vec![("create_since", iso_ms(mid)), ("create_until", iso_ms(mid))], vec![]),
        (vec![("create_since", doppel_server::iso_time(start - 60_000))], all.clone()),
        (vec![("create_since", doppel_server::iso_time(now_ms() + 60_000))], vec![]),
        (vec![("create_until", iso_ms(mid)), ("asset_name", "odd".into())], vec![1]),
        (vec![("job_type", "2D_DIGITAL_HUMAN_VIDEO".into())], all.clone()),
        (vec![("job_type", "PHOTO_DIGITAL_HUMAN_VIDEO".into())], vec![]),
    ];
    for (query, want) in &cases {
        let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (count, got) = server.list_ids(&q).await;
        assert_eq!((count, got), (want.len() as i64, pick(want)), "{q:?}");
    }

    // Paging: the count is of all matches, the page is a slice of them.
    let page = |offset: &'static str| [("limit", "3"), ("offset", offset)];
    assert_eq!(server.list_ids(&page("0")).await, (7, pick(&[0, 1, 2])));
    assert_eq!(server.list_ids(&page("3")).await, (7, pick(&[3, 4, 5])));
    assert_eq!(server.list_ids(&page("6")).await, (7, pick(&[6])));
    assert_eq!(server.list_ids(&page("7")).await, (7, vec![]));
    assert_eq!(server.list_ids(&page("1000")).await, (7, vec![]));
    let q = [("limit", "2"), ("offset", "2"), ("sort_dir", "desc")];
    assert_eq!(server.list_ids(&q).await, (7, pick(&[4, 3])));
    assert_eq!(server.list_ids(&[("limit", "2"), ("asset_name", "even"), ("offset", "2")]).await, (4, pick(&[4, 6])));

    for (k, v) in [
        ("limit", "0"),
        ("limit", "abc"),
        ("limit", "101"),
        ("offset", "-1"),
        ("state", "NOPE"),
        ("state", "WAITING,NOPE"),
        ("sort_dir", "up"),
        ("sort_key", "name"),
        ("create_since", "yesterday"),
        ("create_until", "2026-13-01T00:00:00Z"),
        ("job_type", "NOPE"),
    ] {
        let r = server.list(&[(k, v)]).await;
        assert_error(&r, 400, "invalid_parameter", &format!("{k}: "));
    }

    // Cancel a waiting job: it is over, for good.
    let r = server.post(&format!("/api/v1/videos/{}/cancel", ids[2])).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["state"], "CANCELED", "{j}");
    assert_time(&j["end_time"], "end_time");
    assert_eq!(server.job(&ids[2]).await["state"], "CANCELED");
    let again = server.post(&format!("/api/v1/videos/{}/cancel", ids[2])).await;
    assert_error(&again, 409, "job_finished", "CANCELED");
    let missing = server.post(&format!("/api/v1/videos/{}/cancel", "0".repeat(32))).await;
    assert_error(&missing, 404, "not_found", "does not exist");
    assert_eq!(server.list_ids(&[("state", "CANCELED")]).await, (1, pick(&[2])));
    assert_eq!(server.list_ids(&[("state", "WAITING")]).await, (6, pick(&[0, 1, 3, 4, 5, 6])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancels_a_rendering_job_and_leaves_nothing() {
    let tmp = TempDir::new("cancel");
    // A render of a minute or more: it is far from done when it is canceled.
    let server = Server::start(&tmp.data(), &Opts::new());
    let id = server.create(&long_script(60)).await;
    server.wait_rendering(&id).await;

    let r = server.post(&format!("/api/v1/videos/{id}/cancel")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"], "CANCELED");
    let canceled_at = Instant::now();

    // The worker notices within a heartbeat, stops the render and removes its files.
    let work = tmp.data().join("work");
    while !entries(&work).is_empty() {
        assert!(canceled_at.elapsed() < Duration::from_secs(10), "work files left: {:?}", entries(&work));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // It is free for the next job at once (it did not finish the canceled render first).
    let next = server.create(&short_script()).await;
    server.wait_job(&next, Duration::from_secs(10), "the next job to start", |j| j["state"] != "WAITING").await;
    let j = server.job(&id).await;
    assert_eq!(j["state"], "CANCELED", "{j}");
    assert!(j["output_asset_config"].is_null() || j["output_asset_config"].get("asset_id").is_none(), "{j}");

    server.wait_succeed(&next, Duration::from_secs(120)).await;
    let j = server.job(&id).await;
    assert_eq!(j["state"], "CANCELED", "the canceled job changed state: {j}");
    let assets = server.assets(None).await;
    assert!(!assets.iter().any(|a| a["job_id"] == id.as_str()), "the canceled job left assets: {assets:?}");
    assert_eq!(assets.iter().filter(|a| a["job_id"] == next.as_str() && a["asset_type"] == "VIDEO").count(), 1);
    assert!(entries(&work).is_empty(), "work files left: {:?}", entries(&work));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_render_runs_the_job_again_after_a_restart() {
    let tmp = TempDir::new("kill");
    let opts = Opts::new().env("DOPPEL_JOB_LEASE_SECS", 2);
    let mut server = Server::start(&tmp.data(), &opts);
    let id = server.create(&long_script(20)).await;
    server.wait_rendering(&id).await;
    server.kill();
    drop(server);

    let server = Server::start(&tmp.data(), &opts);
    let j = server.wait_succeed(&id, Duration::from_secs(240)).await;
    let asset_id = j["output_asset_config"]["asset_id"].as_str().expect("asset_id").to_string();
    let videos = server.assets(Some("VIDEO")).await;
    let mine: Vec<&Value> = videos.iter().filter(|a| a["job_id"] == id.as_str()).collect();
    assert_eq!(mine.len(), 1, "{videos:?}");
    assert_eq!(mine[0]["asset_id"], asset_id.as_str());
    let covers = server.assets(Some("IMAGE")).await;
    assert_eq!(covers.iter().filter(|a| a["job_id"] == id.as_str()).count(), 1, "{covers:?}");
    // No work files are left, not even those of the killed first attempt.
    let left = entries(&tmp.data().join("work"));
    assert!(left.is_empty(), "work files left: {left:?}");
    // The video plays.
    let video = send(server.anon.get(j["output_asset_config"]["preview_video_url"].as_str().unwrap())).await;
    assert_eq!(video.status, 200);
    let info = probe_bytes(tmp.path(), "after-restart.mp4", &video.body);
    assert!(info.stream(doppel_media::StreamKind::Video).is_some_and(|v| v.duration_ms > 10_000));
}

#[derive(Debug, Clone, Default)]
struct Hook(Arc<Mutex<Vec<(String, Value)>>>);

async fn record_callback(
    axum::extract::State(hook): axum::extract::State<Hook>,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    hook.0.lock().unwrap().push((uri.to_string(), body));
    axum::http::StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_back_with_an_mss_a_signature() {
    let hook = Hook::default();
    let app = axum::Router::new().route("/cb", axum::routing::post(record_callback)).with_state(hook.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("callback server") });

    let tmp = TempDir::new("callback");
    let server = Server::start(&tmp.data(), &Opts::new().env("DOPPEL_FETCH_ALLOW_PRIVATE", "true"));
    let callback_url = format!("http://{addr}/cb?order=42");
    let mut body = short_script();
    body["callback_config"] = json!({"callback_url": callback_url, "auth_type": "MSS_A", "key": "k123"});
    let id = server.create(&body).await;
    let j = server.wait_succeed(&id, Duration::from_secs(120)).await;

    let deadline = Instant::now() + Duration::from_secs(15);
    while hook.0.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no callback arrived\nserver log:\n{}", server.log_text());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls = hook.0.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (uri, posted) = &calls[0];
    assert_eq!(posted, &json!({"job_id": id, "result": "SUCCEED", "asset_id": j["output_asset_config"]["asset_id"]}));
    assert!(uri.starts_with("/cb?order=42&secret="), "{uri}");
    let received = format!("http://{addr}{uri}");
    assert!(doppel_server::callback::verify_mss_a("k123", &received, now_secs(), 300), "{received}");
    assert!(!doppel_server::callback::verify_mss_a("k124", &received, now_secs(), 300), "{received}");
    assert!(!doppel_server::callback::verify_mss_a("k123", &received.replace("order=42", "order=43"), now_secs(), 300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeps_projects_apart() {
    let tmp = TempDir::new("projects");
    let server = Server::start(&tmp.data(), &Opts::new().workers(0));
    let up = server.upload(&[("type", "IMAGE"), ("name", "logo.png")], "image/png", example_asset("logo.png")).await;
    assert_eq!(up.status, 201, "{}", up.text());
    let asset_id = up.json()["asset_id"].as_str().expect("asset_id").to_string();
    let job_id = server.create(&short_script()).await;

    let mut cmd = doppel_command();
    cmd.args(["project", "create", "--name", "other", "--data-dir"]).arg(tmp.data());
    let out = cmd.output().expect("run doppel project create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let other: Value = serde_json::from_slice(&out.stdout).expect("project create prints JSON");
    assert_eq!(other["name"], "other");
    assert_ne!(other["project_id"], server.creds["project_id"]);
    let key = other["api_key"].as_str().expect("api_key");
    assert_ne!(key, server.creds["api_key"].as_str().unwrap());
    let client = http_client(&[("authorization", &format!("Bearer {key}"))], HTTP_TIMEOUT);
    let get = |path: String| send(client.get(server.url(&path)));

    assert_error(&get(format!("/api/v1/videos/{job_id}")).await, 404, "not_found", &job_id);
    let cancel = send(client.post(server.url(&format!("/api/v1/videos/{job_id}/cancel")))).await;
    assert_error(&cancel, 404, "not_found", &job_id);
    assert_error(&get(format!("/api/v1/assets/{asset_id}")).await, 404, "not_found", &asset_id);
    assert_error(&get(format!("/api/v1/assets/{asset_id}/content")).await, 404, "not_found", &asset_id);
    let delete = send(client.delete(server.url(&format!("/api/v1/assets/{asset_id}")))).await;
    assert_error(&delete, 404, "not_found", &asset_id);
    let list = get("/api/v1/videos".into()).await.json();
    assert_eq!((list["count"].as_i64(), list["jobs"].as_array().map(Vec::len)), (Some(0), Some(0)), "{list}");
    let list = get(format!("/api/v1/videos?job_id={job_id}")).await.json();
    assert_eq!(list["count"], 0, "{list}");
    assert_eq!(get("/api/v1/assets".into()).await.json()["count"], 0);

    // The other project's own job is its own, and invisible to the first.
    let r = send(client.post(server.url("/api/v1/videos")).json(&short_script())).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let theirs = r.json()["job_id"].as_str().unwrap().to_string();
    assert_eq!(server.list_ids(&[]).await, (1, vec![job_id.clone()]));
    assert_error(&server.get(&format!("/api/v1/videos/{theirs}")).await, 404, "not_found", &theirs);

    // The first project's rows are untouched.
    assert_eq!(server.job(&job_id).await["state"], "WAITING");
    assert_eq!(server.get(&format!("/api/v1/assets/{asset_id}")).await.status, 200);

    // Without a valid API key: 401 in the native error shape.
    let none = send(server.anon.get(server.url("/api/v1/videos"))).await;
    assert_error(&none, 401, "unauthorized", "Authorization");
    let wrong = send(server.anon.get(server.url("/api/v1/videos")).header(AUTHORIZATION, "Bearer nope")).await;
    assert_error(&wrong, 401, "unauthorized", "API key");
    let basic = send(server.anon.get(server.url("/api/v1/videos")).header(AUTHORIZATION, "Basic dXNlcjpwYXNz")).await;
    assert_error(&basic, 401, "unauthorized", "Bearer");
    let create = send(server.anon.post(server.url("/api/v1/videos")).json(&short_script())).await;
    assert_error(&create, 401, "unauthorized", "Authorization");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_urls_expire_and_resist_tampering() {
    let tmp = TempDir::new("signed");
    let server = Server::start(&tmp.data(), &Opts::new().workers(0).env("DOPPEL_SIGNED_URL_TTL_SECS", 2));
    let logo = example_asset("logo.png");
    let up = server.upload(&[("type", "IMAGE"), ("name", "logo.png")], "image/png", logo.clone()).await;
    assert_eq!(up.status, 201, "{}", up.text());
    let asset = up.json();
    let id = asset["asset_id"].as_str().expect("asset_id").to_string();
    let url = asset["url"].as_str().expect("url").to_string();

    let ok = send(server.anon.get(&url)).await;
    assert_eq!((ok.status, ok.content_type.as_str()), (200, "image/png"), "{}", ok.text());
    assert!(ok.body == logo, "the download differs from the upload");

    let mut tampered = url.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    assert_error(&send(server.anon.get(&tampered)).await, 403, "signature_invalid", "signature");
    let later = url.replace("expires=", "expires=9");
    assert_error(&send(server.anon.get(&later)).await, 403, "signature_invalid", "signature");
    let other = url.replace(&id, &"0".repeat(32));
    assert_error(&send(server.anon.get(&other)).await, 403, "signature_invalid", "signature");
    let bare = url.split('?').next().unwrap().to_string();
    assert_error(&send(server.anon.get(&bare)).await, 403, "signature_missing", "sig");

    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_error(&send(server.anon.get(&url)).await, 403, "url_expired", "expired");
    // The API hands out a fresh one.
    let fresh = server.get(&format!("/api/v1/assets/{id}")).await.json()["url"].as_str().unwrap().to_string();
    assert_ne!(fresh, url);
    assert_eq!(send(server.anon.get(&fresh)).await.status, 200);
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A PNG whose header claims `width`x`height` RGBA pixels, with one tiny (wrong) IDAT.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    png_chunk(&mut png, b"IHDR", &ihdr);
    // zlib stream of a single empty stored block.
    png_chunk(&mut png, b"IDAT", &[0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01]);
    png_chunk(&mut png, b"IEND", &[]);
    png
}

#[test]
fn crc32_matches_the_png_reference() {
    // The CRC of an empty IEND chunk is a constant of every PNG file.
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_uploads() {
    let tmp = TempDir::new("uploads");
    let server = Server::start(&tmp.data(), &Opts::new().workers(0).env("DOPPEL_MAX_UPLOAD_BYTES", 100_000));

    let huge = server.upload(&[("type", "IMAGE"), ("name", "huge.png")], "image/png", png_claiming(100_000, 100_000));
    assert_error(&huge.await, 400, "invalid_media", "100000x100000");

    // A JPEG and a GIF whose headers claim too many pixels.
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    jpeg.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    jpeg.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 8, 0xEA, 0x60, 0xEA, 0x60, 3]);
    jpeg.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
    let r = server.upload(&[("type", "IMAGE"), ("name", "huge.jpg")], "image/jpeg", jpeg).await;
    assert_error(&r, 400, "invalid_media", "60000x60000");
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&[0x50, 0xC3, 0x10, 0x27, 0, 0, 0, 0x3B]);
    let r = server.upload(&[("type", "IMAGE"), ("name", "huge.gif")], "image/gif", gif).await;
    assert_error(&r, 400, "invalid_media", "50000x10000");

    let garbage: Vec<u8> = (0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let r = server.upload(&[("type", "VIDEO"), ("name", "clip.mp4")], "video/mp4", garbage.clone()).await;
    assert_error(&r, 400, "invalid_media", "file: ");
    let r = server.upload(&[("type", "IMAGE"), ("name", "x.png")], "image/png", garbage.clone()).await;
    assert_error(&r, 400, "invalid_media", "file: ");
    let r = server.upload(&[("type", "FONT"), ("name", "x.ttf")], "font/ttf", garbage.clone()).await;
    assert_error(&r, 400, "invalid_media", "font");
    // An image is not a video's sound.
    let r = server.upload(&[("type", "AUDIO"), ("name", "logo.wav")], "audio/wav", example_asset("logo.png")).await;
    assert_error(&r, 400, "invalid_media", "audio");

    let r = server.upload(&[("name", "logo.png")], "image/png", example_asset("logo.png")).await;
    assert_error(&r, 400, "missing_type", "type");
    let r = server.upload(&[("type", "NOPE"), ("name", "logo.png")], "image/png", example_asset("logo.png")).await;
    assert_error(&r, 400, "invalid_type", "NOPE");
    let r = server.upload(&[("type", "IMAGE")], "image/png", Vec::new()).await;
    assert_error(&r, 400, "empty_upload", "empty");

    // Bodies over the limit: the server answers 413 from the declared length without reading the body, so (as
    // with any HTTP server) a client still writing may see the connection close first. Send only the headers, as
    // a client waiting for `100 Continue` would, and read the answer.
    let key = server.cred("api_key");
    for (ct, query) in [("video/mp4", "?type=VIDEO&name=big.mp4"), ("multipart/form-data; boundary=b", "")] {
        let (status, body) = headers_only_post(&server.addr, &format!("/api/v1/assets{query}"), &key, ct, 150_000);
        assert_eq!(status, 413, "{body}");
        let v: Value = serde_json::from_str(&body).expect("413 body is JSON");
        assert_eq!(v["error"]["code"], "too_large", "{body}");
        assert!(v["error"]["message"].as_str().unwrap_or("").contains("100000"), "{body}");
    }
    let boundary = "doppel-boundary-7f3a";
    let multipart = |file: &[u8]| {
        let mut b = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nIMAGE\r\n--{boundary}\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"logo.png\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .into_bytes();
        b.extend_from_slice(file);
        b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        b
    };
    let mp = format!("multipart/form-data; boundary={boundary}");
    let mut script = short_script();
    script["padding"] = json!("x".repeat(150_000));
    let r = server.post_json("/api/v1/videos", &script).await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.json()["error"]["request_id"], r.request_id.as_str());

    // What passes the checks is kept, with what was found.
    let logo = example_asset("logo.png");
    let r =
        send(server.client.post(server.url("/api/v1/assets")).header(CONTENT_TYPE, &mp).body(multipart(&logo))).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let a = r.json();
    assert_eq!((a["asset_type"].as_str(), a["name"].as_str()), (Some("IMAGE"), Some("logo.png")), "{a}");
    assert_eq!(a["size"].as_u64(), Some(logo.len() as u64));
    assert!(a["meta"]["width"].as_u64().is_some_and(|w| w > 0), "{a}");
    let jpeg = tmp.path().join("small.jpg");
    doppel_media::image::write_jpeg(&jpeg, 64, 48, &[200u8; 64 * 48 * 4]).expect("write a JPEG");
    let r =
        server.upload(&[("type", "IMAGE"), ("name", "small.jpg")], "image/jpeg", std::fs::read(&jpeg).unwrap()).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["meta"], json!({"width": 64, "height": 48}));
    let r = server.upload(&[("type", "VIDEO"), ("name", "chart.mp4")], "video/mp4", example_asset("chart.mp4")).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.json()["meta"]["duration_ms"].as_u64().is_some_and(|d| d > 0), "{}", r.text());
    let kept = server.assets(None).await;
    let names: HashSet<&str> = kept.iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(names, HashSet::from(["logo.png", "small.jpg", "chart.mp4"]));
    // Nothing of the refused uploads is left behind.
    assert!(entries(&tmp.data().join("tmp")).is_empty(), "{:?}", entries(&tmp.data().join("tmp")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_share_one_postgres_queue() {
    use sqlx::{AssertSqlSafe, Connection, Row};

    let admin_url = match std::env::var("DOPPEL_TEST_DATABASE_URL") {
        Ok(u) if !u.trim().is_empty() => u.trim().to_string(),
        _ => {
            if std::env::var("DOPPEL_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!(
                    "DOPPEL_REQUIRE_POSTGRES=1 but DOPPEL_TEST_DATABASE_URL is not set; point it at a PostgreSQL \
                     server (e.g. DOPPEL_TEST_DATABASE_URL=$(scripts/test-postgres.sh)) or unset \
                     DOPPEL_REQUIRE_POSTGRES"
                );
            }
            println!("processes_share_one_postgres_queue: skipped (DOPPEL_TEST_DATABASE_URL is not set)");
            return;
        }
    };
    let name = format!("doppel_it_{}", &doppel_store::new_id()[..16]);
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("connecting to DOPPEL_TEST_DATABASE_URL={admin_url}: {e}"));
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    let url = doppel_store::database_url_with_name(&admin_url, &name);

    let tmp = TempDir::new("postgres");
    let (dir_a, dir_b) = (tmp.path().join("a"), tmp.path().join("b"));
    let opts = Opts::new().workers(1).database_url(&url);
    let a = Server::start(&dir_a, &opts);
    let b = Server::start(&dir_b, &opts.clone().credentials_from(&dir_a));
    assert!(!dir_b.join("credentials.json").exists(), "the second server bootstrapped a project again");
    assert_eq!(a.creds, b.creds);

    let mut ids = Vec::new();
    for i in 0..6 {
        let server = if i % 2 == 0 { &a } else { &b };
        ids.push(server.create(&script(&format!("Job number {i}."))).await);
    }
    for (i, id) in ids.iter().enumerate() {
        // Either server's API sees every job.
        let server = if i % 2 == 0 { &b } else { &a };
        server.wait_succeed(id, Duration::from_secs(180)).await;
    }

    let db = doppel_store::Db::connect(&url).await.expect("connect to the test database");
    let rows = sqlx::query("SELECT id, attempts FROM jobs").fetch_all(db.pool()).await.expect("jobs");
    let attempts: BTreeMap<String, i64> =
        rows.iter().map(|r| (r.try_get("id").unwrap(), r.try_get("attempts").unwrap())).collect();
    let want: BTreeMap<String, i64> = ids.iter().map(|id| (id.clone(), 1)).collect();
    assert_eq!(attempts, want, "every job ran exactly once");
    let rows = sqlx::query("SELECT job_id, COUNT(*) AS n FROM assets WHERE asset_type = 'VIDEO' GROUP BY job_id")
        .fetch_all(db.pool())
        .await
        .expect("assets");
    let videos: BTreeMap<String, i64> =
        rows.iter().map(|r| (r.try_get("job_id").unwrap(), r.try_get("n").unwrap())).collect();
    assert_eq!(videos, want, "one video per job");
    db.pool().close().await;

    // Both processes rendered: each logged at least one finished job, and together every job once.
    let deadline = Instant::now() + Duration::from_secs(5);
    let (done_a, done_b) = loop {
        let (da, db) = (a.done_lines(), b.done_lines());
        if da.len() + db.len() >= ids.len() || Instant::now() > deadline {
            break (da, db);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!done_a.is_empty() && !done_b.is_empty(), "one process did all the work: {done_a:?} {done_b:?}");
    let mut done: Vec<String> =
        done_a.iter().chain(&done_b).map(|l| l.split(": job ").nth(1).unwrap().replace(" done", "")).collect();
    done.sort();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(done, sorted);

    drop((a, b));
    let drop_db = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    if let Err(e) = sqlx::query(AssertSqlSafe(drop_db)).execute(&mut admin).await {
        eprintln!("could not drop the test database {name}: {e}");
    }
    admin.close().await.ok();
}

/// POSTs only the request head (declaring `len` body bytes) over a raw connection and returns the status and body
/// of the answer.
fn headers_only_post(addr: &str, path: &str, key: &str, content_type: &str, len: usize) -> (u16, String) {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).expect("send head");
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_console_loads_the_catalog_in_a_real_browser() {
    let server = Server::start_temp("console", &Opts::new().workers(0));
    // A browser opening the server's address lands on the console; API clients at `/` are not redirected.
    let home = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let r = home.get(server.url("/")).header("accept", "text/html").send().await.expect("GET /");
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/console");
    let page = send(server.anon.get(server.url("/console"))).await;
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"), "{}", page.content_type);

    // Headless Chromium runs the page's script with the key from the URL fragment and renders the catalog.
    let profile = server.dir().join("chromium-profile");
    let url = format!("{}/console#key={}", server.base, server.cred("api_key"));
    let out = tokio::task::spawn_blocking(move || {
        crate::support::headless_chromium(&profile)
            .args(["--virtual-time-budget=20000", "--dump-dom"])
            .arg(url)
            .output()
            .expect("run chromium")
    })
    .await
    .expect("chromium thread");
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("data-ready=\"1\""), "the console did not connect:\n{dom}");
    for name in ["class=\"name\">Anna<", "class=\"name\">Leo<", "connected: 2 digital humans, 6 voices"] {
        assert!(dom.contains(name), "{name} missing from the rendered console:\n{dom}");
    }
    // The voice list and the action preview links come from the API.
    assert!(dom.contains("value=\"espeak-en-us-ava\""), "{dom}");
    assert!(dom.contains("/files/humans/anna/actions/wave.mp4?expires="), "{dom}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renders_an_audio_script_from_an_uploaded_recording() {
    let tmp = TempDir::new("audio-script");
    let server = Server::start(&tmp.data(), &Opts::new());
    // A recording: `doppel speak` output, uploaded as an AUDIO asset.
    let wav = tmp.path().join("narration.wav");
    let out = doppel_command()
        .args(["speak", "--text", "Hello from a recording. The avatar follows it.", "-o"])
        .arg(&wav)
        .output()
        .expect("run doppel speak");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let audio_ms =
        doppel_media::probe(&wav).expect("probe").stream(doppel_media::StreamKind::Audio).unwrap().duration_ms;
    let up =
        server.upload(&[("type", "AUDIO"), ("name", "narration.wav")], "audio/wav", std::fs::read(&wav).unwrap()).await;
    assert_eq!(up.status, 201, "{}", up.text());
    let audio_id = up.json()["asset_id"].as_str().expect("asset_id").to_string();
    let audio_script = |reference: Value| {
        json!({
            "model_asset_id": "anna",
            "video_config": {"codec": "H264", "width": 720, "height": 1280},
            "shoot_scripts": [{"sequence_no": 0, "shoot_script": {
                "script_type": "AUDIO",
                "audio_drive_file_external_url": reference,
                "text_config": {"text": "Hello from a recording. The avatar follows it."},
                "audio_drive_action_config": [{"action_name": "wave", "action_start_time": 0.5}]
            }}]
        })
    };

    // Bad references are refused before a job exists, naming the field.
    let field = "shoot_scripts[0].shoot_script.audio_drive_file_external_url";
    let r = server.post_json("/api/v1/videos", &audio_script(json!("0123456789abcdef0123456789abcdef"))).await;
    assert_error(&r, 400, "invalid_script", field);
    assert!(r.text().contains("does not exist"), "{}", r.text());
    let logo = server.upload(&[("type", "IMAGE"), ("name", "logo.png")], "image/png", example_asset("logo.png")).await;
    let logo_id = logo.json()["asset_id"].as_str().expect("asset_id").to_string();
    let r = server.post_json("/api/v1/videos", &audio_script(json!(logo_id))).await;
    assert_error(&r, 400, "invalid_script", field);
    assert!(r.text().contains("not audio"), "{}", r.text());
    let mut numeric = audio_script(Value::Null);
    numeric["shoot_scripts"][0]["shoot_script"]["audio_config"] = json!({"audio_id": 7});
    let r = server.post_json("/api/v1/videos", &numeric).await;
    assert_error(&r, 400, "invalid_script", "shoot_scripts[0].shoot_script.audio_config.audio_id");
    assert_eq!(server.list_ids(&[]).await.0, 0, "a refused script left a job");

    // The recording drives the video: it lasts as long, and its text becomes the subtitles.
    let id = server.create(&audio_script(json!(audio_id))).await;
    let j = server.wait_succeed(&id, Duration::from_secs(180)).await;
    let preview_url = j["output_asset_config"]["preview_video_url"].as_str().expect("preview_video_url");
    let video = send(server.anon.get(preview_url)).await;
    assert_eq!(video.status, 200, "{}", video.text());
    let info = probe_bytes(tmp.path(), "audio-video.mp4", &video.body);
    let v = info.stream(doppel_media::StreamKind::Video).expect("a video stream");
    let a = info.stream(doppel_media::StreamKind::Audio).expect("an audio stream");
    assert!(v.duration_ms.abs_diff(audio_ms) <= 80, "video {} ms, recording {audio_ms} ms", v.duration_ms);
    assert!(a.duration_ms.abs_diff(v.duration_ms) <= 40, "audio {} vs video {}", a.duration_ms, v.duration_ms);
    let subtitles = server.assets(Some("SUBTITLE")).await;
    assert!(subtitles.iter().any(|s| s["job_id"] == id.as_str()), "no subtitles: {subtitles:?}");
    assert!(entries(&tmp.data().join("work")).is_empty());
}
