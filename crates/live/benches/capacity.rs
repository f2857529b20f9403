//! Streams per machine: `k` live streams at 720x1280 (built-in avatar `anna`), each watched (a VP8 subscriber,
//! so every frame is drawn and encoded) and speaking without pause, for `DOPPEL_BENCH_SECS` (default 30) each.
//! For each `k` it reports the frame rate the clocks kept, the share of late ticks, and the work per frame;
//! the baseline is one stream in the same run (`work ×1` is the ratio to it). A count is sustained when every
//! stream keeps 25 ± 0.5 fps with under 1% late ticks.
//!
//! `cargo bench -p doppel-live --bench capacity` (`DOPPEL_BENCH_MAX_STREAMS`, default 4; `DOPPEL_BENCH_CODEC`
//! `vp8` or `h264`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use doppel_live::{LiveCodec, Session, SessionConfig, StreamStatus};
use doppel_render::live::{LiveBackground, LiveSpec};
use doppel_speech::{Engines, Tts, VoiceSettings};

const TEXT: &str = "Welcome to the live stream. I can talk about our products for as long as you like, \
                    and answer questions as they come in.";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Row {
    k: usize,
    fps_min: f64,
    late_pct: f64,
    work_ms: f64,
}

fn run(k: usize, secs: u64, codec: LiveCodec, tts: &Arc<dyn Tts>) -> Row {
    let sessions: Vec<Arc<Session>> = (0..k)
        .map(|i| {
            let config = SessionConfig {
                id: format!("bench-{i}"),
                ttl: Duration::from_secs(3600),
                max_idle: Duration::from_secs(3600),
                bitrate_kbps: 2000,
                x264_preset: "veryfast".into(),
                encoder_threads: 1,
                events: Arc::new(|_| {}),
                now_ms: || 0,
                rtmp_url: None,
            };
            let spec = LiveSpec {
                avatar: "anna".into(),
                voice: None,
                width: 720,
                height: 1280,
                background: LiveBackground::Color("#203040".into()),
                avatars: Vec::new(),
                seed: i as u64 + 1,
            };
            Session::start(config, spec, tts.clone())
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while sessions.iter().any(|s| s.status() != StreamStatus::Streaming) {
        assert!(Instant::now() < deadline, "streams did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let subs: Vec<_> = sessions.iter().map(|s| s.hub().subscribe(codec)).collect();
    let keep_talking = |s: &Session| {
        while s.drives().iter().filter(|d| !d.status.is_final()).count() < 2 {
            s.drive_text(TEXT, None, VoiceSettings::default(), false).expect("drive");
        }
    };
    // Warm up (encoders open, first drives prepared), then measure.
    let warm = Instant::now() + Duration::from_secs(3);
    while Instant::now() < warm {
        sessions.iter().for_each(|s| keep_talking(s));
        std::thread::sleep(Duration::from_millis(200));
    }
    let before: Vec<_> = sessions.iter().map(|s| s.stats()).collect();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        sessions.iter().for_each(|s| keep_talking(s));
        std::thread::sleep(Duration::from_millis(200));
    }
    let elapsed = start.elapsed().as_secs_f64();
    let after: Vec<_> = sessions.iter().map(|s| s.stats()).collect();
    drop(subs);
    for s in &sessions {
        s.stop("bench done");
    }
    let mut fps_min = f64::MAX;
    let (mut late, mut frames, mut work) = (0u64, 0u64, 0.0);
    for (b, a) in before.iter().zip(&after) {
        let f = a.frames - b.frames;
        fps_min = fps_min.min(f as f64 / elapsed);
        late += a.late - b.late;
        frames += f;
        work += a.work_ms;
    }
    while sessions.iter().any(|s| s.status() != StreamStatus::Stopped) {
        std::thread::sleep(Duration::from_millis(20));
    }
    Row { k, fps_min, late_pct: 100.0 * late as f64 / frames.max(1) as f64, work_ms: work / k as f64 }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let secs = env_num("DOPPEL_BENCH_SECS", 30);
    let max = env_num("DOPPEL_BENCH_MAX_STREAMS", 4) as usize;
    let codec = match std::env::var("DOPPEL_BENCH_CODEC").as_deref() {
        Ok("h264") => LiveCodec::H264,
        _ => LiveCodec::Vp8,
    };
    let tts: Arc<dyn Tts> = Arc::new(Engines::with_http(Vec::new()).expect("espeak"));
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("live capacity: 720x1280, {} speaking, {secs} s per row, {cores} cores", codec.name());
    println!("streams   min fps  late % work ms/frame work ×1 sustained");
    let mut base = None;
    let mut best = 0;
    for k in 1..=max {
        let r = run(k, secs, codec, &tts);
        let base_ms = *base.get_or_insert(r.work_ms);
        let ok = (r.fps_min - 25.0).abs() <= 0.5 && r.late_pct < 1.0;
        if ok {
            best = r.k;
        }
        println!(
            "{:>7} {:>9.2} {:>7.2} {:>13.1} {:>7.2} {}",
            r.k,
            r.fps_min,
            r.late_pct,
            r.work_ms,
            r.work_ms / base_ms,
            if ok { "yes" } else { "no" }
        );
        if !ok {
            break;
        }
    }
    println!("sustained: {best} stream(s) of 720x1280 at 25 fps on {cores} cores");
}
