//! Live streams end to end: `doppel serve`, the native stream API, and headless Chromium watching the stream
//! over WHEP with its own WebRTC (VP8 and H.264), driven by text, interrupted, left without a goodbye, and
//! stopped.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::cdp::Browser;
use crate::support::{send, Opts, Server};

/// Waits for the viewer page to connect; says why not after 20 s.
const READY: &str = "Promise.race([doppel.ready.then(() => 'ok', (e) => 'failed: ' + e.message), \
    new Promise((r) => setTimeout(() => r('timeout: ' + document.getElementById('status').textContent + ' / ' \
    + doppel.connectionState()), 20000))])";

/// Polls the stream until `ok` holds for it (or panics after `within`).
pub async fn wait_stream(server: &Server, task: &str, within: Duration, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let r = send(server.client.get(server.url(&format!("/api/v1/streams/{task}")))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        if ok(&v) {
            return v;
        }
        assert!(Instant::now() < deadline, "stream {task} never got there: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls a drive until its status is `status`.
pub async fn wait_drive(server: &Server, task: &str, drive: &str, status: i64, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let r = send(server.client.get(server.url(&format!("/api/v1/streams/{task}/drives/{drive}")))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        if v["status"] == status {
            return v;
        }
        assert!(Instant::now() < deadline, "drive {drive} never reached status {status}: {v}");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

/// Creates a stream; returns its task id.
async fn create_stream(server: &Server, body: Value) -> String {
    let r = send(server.client.post(server.url("/api/v1/streams")).json(&body)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["task_id"].as_str().expect("task_id").to_string()
}

/// Threads of the server process whose name starts with `live-` (a stream's renderer and preparer).
fn live_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.starts_with("live-")))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_plays_in_chromium_speaks_when_driven_and_stops() {
    let server = Server::start_temp("live-e2e", &Opts::new().workers(0));
    let r = send(server.client.post(server.url("/api/v1/streams")).json(&json!({
        "digital_human_id": "anna", "width": 720, "height": 1280, "background_color": "#203040"
    })))
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    let task = created["task_id"].as_str().expect("task_id").to_string();
    for k in ["whep_url", "viewer_token", "viewer_url"] {
        assert!(created[k].as_str().is_some_and(|s| !s.is_empty()), "{k} missing: {created}");
    }
    let viewer_url = created["viewer_url"].as_str().unwrap().to_string();
    let v = wait_stream(&server, &task, Duration::from_secs(30), |v| v["status"] == 3).await;
    assert!(v["mouth_box"]["width"].as_u64().is_some(), "{v}");

    // A VP8 viewer (the default): frames at the asked size, a live audio track, a picture within a second.
    let mut vp8 = Browser::open(&server.dir().join("chromium-vp8"), &viewer_url).await;
    vp8.wait_for("window.doppel && window.doppel.ready", Duration::from_secs(20)).await;
    let ready = vp8.eval(READY).await;
    if ready != "ok" {
        let v = send(server.client.get(server.url(&format!("/api/v1/streams/{task}")))).await.json();
        let stats = vp8.eval("doppel.stats()").await;
        panic!("the viewer did not connect: {ready}\nstream: {v}\npage: {stats}");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let stats = loop {
        let s = vp8.eval("doppel.stats()").await;
        if s["framesDecoded"].as_u64().unwrap_or(0) > 25 {
            break s;
        }
        assert!(Instant::now() < deadline, "frames are not arriving: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!((stats["width"].as_u64(), stats["height"].as_u64()), (Some(720), Some(1280)), "{stats}");
    assert_eq!(stats["codec"], "video/VP8", "{stats}");
    assert!(stats["keyFramesDecoded"].as_u64().unwrap_or(0) >= 1, "{stats}");
    assert_eq!(stats["audioTrack"], "live", "{stats}");
    assert!(stats["audioSamples"].as_u64().unwrap_or(0) > 0, "no audio samples: {stats}");
    let timing = vp8.eval("doppel.timing()").await;
    let join_ms = timing["firstFrame"].as_f64().unwrap() - timing["answered"].as_f64().unwrap();
    assert!(join_ms < 1000.0, "first picture {join_ms:.0} ms after the WHEP answer");
    // Audio and video are one media stream, which is what browsers lip-sync.
    assert_eq!(timing["videoStreams"], json!(["doppel"]), "{timing}");
    assert_eq!(timing["audioStreams"], json!(["doppel"]), "{timing}");

    // Idle: the mouth region barely changes. Speaking: it does, and there is sound.
    let idle = vp8.eval("doppel.mouthActivity(1200)").await;
    let text = "Hello, I am a live digital human. I speak when you ask, and I can go on for quite a while.";
    let d = vp8.eval(&format!("doppel.drive({text:?})")).await;
    let drive = d["drive_id"].as_str().expect("drive_id").to_string();
    assert_eq!(d["status"], 1, "{d}");
    wait_drive(&server, &task, &drive, 2, Duration::from_secs(10)).await;
    let speaking = vp8.eval("doppel.mouthActivity(1500)").await;
    let level = vp8.eval("doppel.audioLevel(1000)").await.as_f64().unwrap_or(0.0);
    eprintln!("mouth activity: idle {idle}, speaking {speaking}; audio level {level:.3}; join {join_ms:.0} ms");
    let (idle_mean, speaking_mean) = (idle["mean"].as_f64().unwrap(), speaking["mean"].as_f64().unwrap());
    assert!(speaking_mean > 3.0 * idle_mean + 0.5, "the mouth does not move: idle {idle}, speaking {speaking}");
    assert!(level > 0.01, "the stream is silent while speaking (RMS {level})");

    // Interrupt: the drive ends at once, and the mouth is still afterwards.
    vp8.eval("doppel.interrupt()").await;
    wait_drive(&server, &task, &drive, 5, Duration::from_secs(2)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = vp8.eval("doppel.mouthActivity(1200)").await;
    let after_mean = after["mean"].as_f64().unwrap();
    assert!(after_mean < speaking_mean / 3.0 && after_mean <= 2.0 * idle_mean + 0.3, "still moving: {after}");

    // An H.264 viewer shares the stream; the server encodes each codec once for everyone.
    let h264_url = format!("{viewer_url}&codec=h264");
    let mut h264 = Browser::open(&server.dir().join("chromium-h264"), &h264_url).await;
    h264.wait_for("window.doppel && window.doppel.ready", Duration::from_secs(20)).await;
    let ready = h264.eval(READY).await;
    assert_eq!(ready, "ok", "the H.264 viewer did not connect: {ready}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let stats = loop {
        let s = h264.eval("doppel.stats()").await;
        if s["framesDecoded"].as_u64().unwrap_or(0) > 10 {
            break s;
        }
        assert!(Instant::now() < deadline, "H.264 frames are not arriving: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(stats["codec"], "video/H264", "{stats}");
    assert_eq!((stats["width"].as_u64(), stats["height"].as_u64()), (Some(720), Some(1280)), "{stats}");
    let v =
        wait_stream(&server, &task, Duration::from_secs(5), |v| v["viewers"].as_array().is_some_and(|a| a.len() == 2))
            .await;
    let mut codecs: Vec<&str> = v["viewers"].as_array().unwrap().iter().filter_map(|x| x["codec"].as_str()).collect();
    codecs.sort();
    assert_eq!(codecs, ["H264", "VP8"], "{v}");

    // The H.264 viewer vanishes without a DELETE: the server notices and lets it go.
    h264.kill();
    wait_stream(&server, &task, Duration::from_secs(40), |v| v["viewers"].as_array().is_some_and(|a| a.len() == 1))
        .await;

    // Stopping mid-sentence releases everything: the drive is interrupted, the viewer closed, the threads gone.
    let d = vp8.eval(&format!("doppel.drive({text:?})")).await;
    let drive = d["drive_id"].as_str().unwrap().to_string();
    wait_drive(&server, &task, &drive, 2, Duration::from_secs(10)).await;
    assert_eq!(live_threads(server.pid()), 2, "a renderer and a preparer per stream");
    let r = send(server.client.delete(server.url(&format!("/api/v1/streams/{task}")))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = wait_stream(&server, &task, Duration::from_secs(5), |v| v["status"] == 5).await;
    assert!(v["ended_at"].is_string(), "{v}");
    wait_drive(&server, &task, &drive, 5, Duration::from_secs(1)).await;
    wait_stream(&server, &task, Duration::from_secs(15), |v| v["viewers"].as_array().is_some_and(|a| a.is_empty()))
        .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while live_threads(server.pid()) > 0 {
        assert!(Instant::now() < deadline, "the stream's threads are still running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // No more frames reach the viewer, and its connection ends (the browser notices within its consent checks).
    // (What the browser still holds in its jitter buffer plays out first.)
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = vp8.eval("doppel.stats()").await["framesDecoded"].as_u64().unwrap_or(0);
    loop {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let now = vp8.eval("doppel.stats()").await["framesDecoded"].as_u64().unwrap_or(0);
        if now == last {
            break;
        }
        assert!(Instant::now() < deadline, "frames still arrive 10 s after the stop ({now})");
        last = now;
    }
    vp8.wait_for("doppel.connectionState() !== 'connected'", Duration::from_secs(40)).await;
    // A stopped stream stays queryable, and refuses drives.
    let r =
        send(server.client.post(server.url(&format!("/api/v1/streams/{task}/drives"))).json(&json!({"text": "hi"})))
            .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(r.text().contains("stream_stopped"), "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_survives_a_server_crash() {
    let tmp = crate::support::TempDir::new("live-crash");
    let mut server = Server::start(&tmp.data(), &Opts::new().workers(0));
    let r = send(server.client.post(server.url("/api/v1/streams")).json(&json!({
        "digital_human_id": "leo", "width": 1280, "height": 720, "stream_id": "kept"
    })))
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let task = r.json()["task_id"].as_str().unwrap().to_string();
    wait_stream(&server, &task, Duration::from_secs(30), |v| v["status"] == 3).await;

    // SIGKILL: no chance to say goodbye. The restarted server takes the stream over once its hold lapses.
    server.kill();
    let server = Server::start(&tmp.data(), &Opts::new().workers(0));
    let v = wait_stream(&server, &task, Duration::from_secs(60), |v| {
        v["status"] == 3 && v["stats"]["frames"].as_u64() > Some(0)
    })
    .await;
    assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(1280), Some(720)), "{v}");
    assert_eq!(v["stream_id"], "kept");
    let r = send(server.client.post(server.url(&format!("/api/v1/streams/{task}/drives"))).json(&json!({
        "text": "I am back."
    })))
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let drive = r.json()["drive_id"].as_str().unwrap().to_string();
    wait_drive(&server, &task, &drive, 4, Duration::from_secs(20)).await;
    // The StreamId is still taken by the running stream.
    let r = send(server.client.post(server.url("/api/v1/streams")).json(&json!({
        "digital_human_id": "anna", "stream_id": "kept"
    })))
    .await;
    assert_eq!(r.status, 409, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_is_pushed_to_an_rtmp_server() {
    let server = Server::start_temp("live-rtmp", &Opts::new().workers(0).env("DOPPEL_FETCH_ALLOW_PRIVATE", "true"));
    // Only rtmp:// and rtmps:// URLs.
    let r = send(server.client.post(server.url("/api/v1/streams")).json(&json!({
        "digital_human_id": "leo", "rtmp_url": "http://example.com/live"
    })))
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("rtmp_url"), "{}", r.text());

    // FFmpeg listens as an RTMP server and records what it receives.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("rtmp://127.0.0.1:{port}/live/doppel");
    let out = server.dir().join("received.flv");
    let mut ffmpeg = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-listen", "1", "-i", &url, "-c", "copy", "-t", "4"])
        .arg(&out)
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("ffmpeg (make test installs it)");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let r = send(server.client.post(server.url("/api/v1/streams")).json(&json!({
        "digital_human_id": "leo", "width": 1280, "height": 720, "rtmp_url": url
    })))
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let task = r.json()["task_id"].as_str().unwrap().to_string();
    wait_stream(&server, &task, Duration::from_secs(30), |v| v["status"] == 3).await;
    let r = send(server.client.post(server.url(&format!("/api/v1/streams/{task}/drives"))).json(&json!({
        "text": "Hello to everyone watching through the media server."
    })))
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let deadline = Instant::now() + Duration::from_secs(40);
    while ffmpeg.try_wait().expect("ffmpeg").is_none() {
        if Instant::now() > deadline {
            let _ = ffmpeg.kill();
            panic!("the RTMP server received too little in 40 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let info = doppel_media::probe(&out).expect("probe what the RTMP server recorded");
    let video = info.stream(doppel_media::StreamKind::Video).expect("video");
    let audio = info.stream(doppel_media::StreamKind::Audio).expect("audio");
    assert_eq!((video.codec.as_str(), video.width, video.height), ("h264", 1280, 720), "{info:?}");
    assert_eq!((audio.codec.as_str(), audio.sample_rate), ("aac", 48_000), "{info:?}");
    assert!(video.packets >= 90, "{} frames in 4 s", video.packets);
    let v = wait_stream(&server, &task, Duration::from_secs(5), |v| v["stats"]["rtmp_sent"].as_u64() >= Some(90)).await;
    assert_eq!(v["status"], 3, "the stream goes on after the server leaves: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_and_idle_time_stop_streams_by_themselves() {
    let server = Server::start_temp("live-ttl", &Opts::new().workers(0));
    // Not JSON: the native error body.
    let r =
        send(server.client.post(server.url("/api/v1/streams")).header("content-type", "application/json").body("{"))
            .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "invalid_json", "{}", r.text());
    // Out of range: named, with the limits.
    let r =
        send(server.client.post(server.url("/api/v1/streams")).json(&json!({"digital_human_id": "anna", "ttl": 5})))
            .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("ttl: 5 is out of range [10, 86400]"), "{}", r.text());
    let short = create_stream(&server, json!({"digital_human_id": "anna", "ttl": 10})).await;
    let idle =
        create_stream(&server, json!({"digital_human_id": "leo", "width": 1280, "height": 720, "max_idle_time": 30}))
            .await;
    let started = Instant::now();
    let v = wait_stream(&server, &short, Duration::from_secs(20), |v| v["status"] == 5).await;
    assert!(v["reason"].as_str().is_some_and(|r| r.contains("TTL")), "{v}");
    assert!(started.elapsed() >= Duration::from_secs(8), "stopped too early: {v}");
    // A drive keeps an idle stream alive; 30 s after the last one it stops.
    let r = send(
        server.client.post(server.url(&format!("/api/v1/streams/{idle}/drives"))).json(&json!({"text": "Still here."})),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text());
    let spoke = Instant::now();
    let v = wait_stream(&server, &idle, Duration::from_secs(45), |v| v["status"] == 5).await;
    assert!(v["reason"].as_str().is_some_and(|r| r.contains("MaxIdleTime")), "{v}");
    assert!(spoke.elapsed() >= Duration::from_secs(29), "stopped {:?} after the drive: {v}", spoke.elapsed());
}
