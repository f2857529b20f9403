//! Live streams glass to glass, on loopback: `doppel serve` runs one 720x1280 stream (built-in avatar `anna`,
//! VP8), and headless Chromium watches it over WHEP with its own WebRTC, through the viewer page.
//!
//! * **Latency**: from sending a drive-by-text request to the first frame the browser presents whose mouth
//!   region differs from the frame shown when the request left (mean |Δluma| over the stream's `mouth_box`
//!   above a threshold set from idle noise), over `DOPPEL_BENCH_DRIVES` (default 50) drives; median and p95.
//!   Beside it, the server's part (request to the drive's first rendered frame) and the baseline of the same
//!   run: synthesizing the same texts with the same voice alone.
//! * **A/V skew**: on 20 drives (each from silence), when the mouth first moves against when the sound starts
//!   (analyser RMS over 0.02), at the browser and in the source itself: their difference is what the way from
//!   renderer to screen adds.
//! * **Pacing**: frames the server's clock produced and frames Chromium decoded over `DOPPEL_BENCH_PACING_SECS`
//!   (default 60; the documented run uses 600), with a drive every 5 s; the lowest 10-second rate the browser
//!   saw.
//!
//! `cargo bench -p doppel --bench live` (needs Debian's `chromium`; `make bench` runs it).

#[allow(dead_code)]
#[path = "../tests/it/support.rs"]
mod support;

#[allow(dead_code)]
#[path = "../tests/it/cdp.rs"]
mod cdp;

use std::time::{Duration, Instant};

use doppel_speech::{Engines, Tts, VoiceSettings};
use serde_json::{json, Value};
use support::{send, Opts, Server};

const TEXTS: [&str; 5] = [
    "Hello there.",
    "Yes, we have that in stock.",
    "Let me check that for you.",
    "Thanks for asking!",
    "Welcome back to the stream.",
];

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// In synthesized speech: when the mouth first leaves rest minus when the sound's RMS (over 512 samples at
/// 48 kHz, as the viewer page measures) first passes 0.02, in milliseconds.
fn mouth_minus_sound_ms(speech: &doppel_speech::Speech) -> f64 {
    let shapes = speech.timeline.frame_shapes();
    let mouth = shapes.iter().position(|s| *s != doppel_avatar::Shape::X).unwrap_or(0) as f64 * 40.0;
    let rate = speech.sample_rate as usize;
    let window = (512 * rate / 48_000).max(1);
    let samples: Vec<f64> = speech.samples.iter().map(|&x| x as f64 / 32768.0).collect();
    let sound = (0..samples.len().saturating_sub(window))
        .step_by(window / 4 + 1)
        .find(|&i| (samples[i..i + window].iter().map(|x| x * x).sum::<f64>() / window as f64).sqrt() > 0.02)
        .map(|i| (i + window) as f64 * 1000.0 / rate as f64)
        .unwrap_or(0.0);
    mouth - sound
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * p).round() as usize]
}

async fn stream(server: &Server, task: &str) -> Value {
    send(server.client.get(server.url(&format!("/api/v1/streams/{task}")))).await.json()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let drives = env_num("DOPPEL_BENCH_DRIVES", 50) as usize;
    let pacing_secs = env_num("DOPPEL_BENCH_PACING_SECS", 60);
    let server = Server::start_temp("bench-live", &Opts::new().workers(0));
    let r = send(server.client.post(server.url("/api/v1/streams")).json(&json!({
        "digital_human_id": "anna", "width": 720, "height": 1280, "background_color": "#203040"
    })))
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    let task = created["task_id"].as_str().unwrap().to_string();
    let viewer = created["viewer_url"].as_str().unwrap().to_string();
    while stream(&server, &task).await["status"] != 3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut b = cdp::Browser::open(&server.dir().join("chromium"), &viewer).await;
    b.wait_for("window.doppel && window.doppel.ready", Duration::from_secs(20)).await;
    b.eval("doppel.ready.then(() => true)").await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The threshold: well above what idle frames do to the mouth region.
    let idle = b.eval("doppel.mouthActivity(3000)").await;
    let threshold = (idle["max"].as_f64().unwrap_or(1.0) * 2.0).max(4.0);

    // Latency.
    let (mut glass, mut server_part) = (Vec::new(), Vec::new());
    for i in 0..drives + 3 {
        let text = TEXTS[i % TEXTS.len()];
        let ms = b.eval(&format!("doppel.latency({text:?}, {threshold})")).await.as_f64().unwrap_or(-1.0);
        let list = send(server.client.get(server.url(&format!("/api/v1/streams/{task}/drives")))).await.json();
        let last = list["drives"].as_array().and_then(|d| d.last()).cloned().unwrap_or(Value::Null);
        if i >= 3 && ms >= 0.0 {
            glass.push(ms);
            if let (Some(c), Some(s)) = (last["created_at_ms"].as_i64(), last["started_at_ms"].as_i64()) {
                server_part.push((s - c) as f64);
            }
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let failed = drives - glass.len();

    // Baseline: the same texts synthesized alone with the stream's voice. Also where, in the source itself, the
    // mouth first opens against where the sound first passes the browser's threshold.
    let tts = Engines::with_http(Vec::new()).expect("espeak");
    let mut synth = Vec::new();
    let mut source_offset = Vec::new();
    for i in 0..drives {
        let plan = doppel_script::parse_text(TEXTS[i % TEXTS.len()]).unwrap();
        let t = Instant::now();
        let speech = tts.synthesize("espeak-en-us-ava", &plan, VoiceSettings::default()).expect("synthesize");
        synth.push(t.elapsed().as_secs_f64() * 1000.0);
        if i < TEXTS.len() {
            source_offset.push(mouth_minus_sound_ms(&speech));
        }
    }

    // A/V skew.
    let mut skew = Vec::new();
    for i in 0..20 {
        let text = TEXTS[i % TEXTS.len()];
        let v = b.eval(&format!("doppel.avSkew({text:?}, {threshold})")).await;
        if let Some(s) = v["skew"].as_f64() {
            skew.push(s);
        }
    }

    // Pacing.
    let s0 = stream(&server, &task).await["stats"].clone();
    let f0 = b.eval("doppel.stats()").await["framesDecoded"].as_f64().unwrap_or(0.0);
    let t0 = Instant::now();
    let (mut last_f, mut last_t) = (f0, Instant::now());
    let mut window_min = f64::MAX;
    let mut next_drive = Instant::now();
    while t0.elapsed() < Duration::from_secs(pacing_secs) {
        if Instant::now() >= next_drive {
            let _ = b.eval(&format!("doppel.drive({:?})", TEXTS[1])).await;
            next_drive += Duration::from_secs(5);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        if last_t.elapsed() >= Duration::from_secs(10) {
            let f = b.eval("doppel.stats()").await["framesDecoded"].as_f64().unwrap_or(0.0);
            window_min = window_min.min((f - last_f) / last_t.elapsed().as_secs_f64());
            (last_f, last_t) = (f, Instant::now());
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let s1 = stream(&server, &task).await["stats"].clone();
    let f1 = b.eval("doppel.stats()").await["framesDecoded"].as_f64().unwrap_or(0.0);
    let server_fps = (s1["frames"].as_f64().unwrap() - s0["frames"].as_f64().unwrap()) / secs;
    let late = s1["late"].as_u64().unwrap_or(0) - s0["late"].as_u64().unwrap_or(0);
    let viewer_fps = (f1 - f0) / secs;

    let med = percentile(&mut glass.clone(), 0.5);
    let p95 = percentile(&mut glass.clone(), 0.95);
    let srv = percentile(&mut server_part.clone(), 0.5);
    let syn = percentile(&mut synth.clone(), 0.5);
    let sk_med = percentile(&mut skew.clone(), 0.5);
    let sk_abs = percentile(&mut skew.iter().map(|s| s.abs()).collect::<Vec<_>>(), 0.95);
    let src = percentile(&mut source_offset.clone(), 0.5);
    let transport = sk_med - src;

    println!("live, glass to glass on loopback (720x1280 VP8, anna, Chromium over WHEP):");
    println!(
        "  latency over {} drives ({failed} not seen): median {med:.0} ms, p95 {p95:.0} ms (threshold {threshold:.1})",
        glass.len()
    );
    println!("  server part (request → first frame rendered): median {srv:.0} ms");
    println!("  baseline, synthesis alone: median {syn:.1} ms; latency / synthesis = {:.1}", med / syn);
    println!(
        "  mouth onset − sound onset at the viewer over {} drives: median {sk_med:+.0} ms, p95 |·| {sk_abs:.0} ms",
        skew.len()
    );
    println!("  the same in the source (first open mouth frame − first sound over the threshold): median {src:+.0} ms");
    println!("  A/V skew added on the way (viewer − source): {transport:+.0} ms");

    println!(
        "  pacing over {secs:.0} s: server {server_fps:.2} fps ({late} late ticks), viewer {viewer_fps:.2} fps, \
         lowest 10 s at the viewer {window_min:.2} fps"
    );
}
