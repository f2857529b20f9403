//! Render workers: each claims the oldest waiting job from the durable queue, fetches what its script refers
//! to, renders it on a blocking thread, stores the results as assets and finishes the job, then reports to the
//! job's callback URL.
//!
//! While a job renders, a heartbeat every 250 ms writes its progress and renews the lease; when the heartbeat
//! finds the job no longer held (canceled, or taken over after a lost lease) it raises the render's cancel flag,
//! and the render stops before its next frame, leaving no partial file. Work files live in
//! `DATA_DIR/work/JOB-ATTEMPT` and are removed afterwards.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use doppel_store::{Job, JobOutput, JobState, NewAsset};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::{callback, catalog, resolve, AppState};

/// A running worker.
#[derive(Debug)]
pub struct WorkerHandle {
    pub id: String,
    stop: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

/// Starts `n` workers.
pub fn spawn_workers(state: &AppState, n: usize) -> Vec<WorkerHandle> {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    let pid = std::process::id();
    (0..n)
        .map(|i| {
            let id = format!("{host}-{pid}-{i}-{}", &doppel_store::new_id()[..8]);
            let stop = Arc::new(AtomicBool::new(false));
            let task = tokio::spawn(run(state.clone(), id.clone(), stop.clone()));
            WorkerHandle { id, stop, task }
        })
        .collect()
}

/// Stops workers: a job in progress is given back to the queue so another worker (or this server after a
/// restart) runs it.
pub async fn stop(state: &AppState, workers: Vec<WorkerHandle>) {
    for w in &workers {
        w.stop.store(true, Ordering::SeqCst);
    }
    state.queue_notify.notify_waiters();
    for w in workers {
        let _ = tokio::time::timeout(Duration::from_secs(5), w.task).await;
    }
}

async fn run(state: AppState, id: String, stop: Arc<AtomicBool>) {
    let lease_ms = state.config.job_lease_secs as i64 * 1000;
    while !stop.load(Ordering::SeqCst) {
        let claimed = state.db.claim_job(&id, lease_ms, state.config.job_max_attempts).await;
        match claimed {
            Ok(Some(job)) => {
                let job_id = job.id.clone();
                run_job(&state, &id, job, &stop).await;
                if stop.load(Ordering::SeqCst) {
                    let _ = state.db.release_job(&job_id, &id).await;
                }
            }
            Ok(None) => {
                // Idle: wait for a new job in this process, or poll for jobs queued by other processes.
                let _ = tokio::time::timeout(Duration::from_millis(500), state.queue_notify.notified()).await;
            }
            Err(e) => {
                eprintln!("doppel worker {id}: claiming a job: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Why a job did not succeed.
enum Outcome {
    Failed(String, String),
    /// Canceled or taken over: someone else decided its state.
    Lost,
}

async fn run_job(state: &AppState, worker: &str, job: Job, stop: &Arc<AtomicBool>) {
    let cancel = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let lease_ms = state.config.job_lease_secs as i64 * 1000;
    let beat = {
        let (db, id, w) = (state.db.clone(), job.id.clone(), worker.to_string());
        let (cancel, progress, stop) = (cancel.clone(), progress.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                if stop.load(Ordering::SeqCst) {
                    cancel.store(true, Ordering::SeqCst);
                }
                match db.heartbeat(&id, &w, progress.load(Ordering::Relaxed) as i64, lease_ms).await {
                    Ok(true) => {}
                    Ok(false) => {
                        cancel.store(true, Ordering::SeqCst);
                        return;
                    }
                    Err(e) => eprintln!("doppel worker {w}: heartbeat of job {id}: {e}"),
                }
            }
        })
    };
    let dir = state.config.data_dir.join("work").join(format!("{}-{}", job.id, job.attempts));
    let result = render_job(state, &job, &dir, cancel.clone(), progress.clone()).await;
    beat.abort();
    let outcome = match result {
        Ok(out) => match state.db.finish_job(&job.id, worker, &out).await {
            Ok(true) => {
                eprintln!("doppel worker {worker}: job {} done", job.id);
                None
            }
            Ok(false) => {
                delete_outputs(state, &out).await;
                Some(Outcome::Lost)
            }
            Err(e) => {
                delete_outputs(state, &out).await;
                Some(Outcome::Failed("INTERNAL".into(), format!("storing the result: {e}")))
            }
        },
        Err(o) => Some(o),
    };
    if let Some(Outcome::Failed(code, msg)) = &outcome {
        if !stop.load(Ordering::SeqCst) {
            let _ = state.db.fail_job(&job.id, worker, code, msg).await;
        }
    }
    let _ = tokio::fs::remove_dir_all(&dir).await;
    // And the folders of earlier attempts whose process died before it could remove them.
    for attempt in 1..job.attempts {
        let old = state.config.data_dir.join("work").join(format!("{}-{attempt}", job.id));
        let _ = tokio::fs::remove_dir_all(&old).await;
    }
    // Report the end to the job's callback URL, if any.
    if let Ok(Some(done)) = state.db.job_any_project(&job.id).await {
        if matches!(done.state, JobState::Succeed | JobState::Failed) {
            send_callback(state, &done);
        }
    }
}

async fn delete_outputs(state: &AppState, out: &JobOutput) {
    for a in std::iter::once(&out.video).chain(out.cover.iter()).chain(out.extra.iter()) {
        let _ = state.blobs.delete(&a.blob_key).await;
    }
}

async fn render_job(
    state: &AppState,
    job: &Job,
    dir: &std::path::Path,
    cancel: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
) -> Result<JobOutput, Outcome> {
    let fail = |code: &str, msg: String| Outcome::Failed(code.to_string(), msg);
    let mut script =
        doppel_script::parse_script_value(job.script.clone()).map_err(|e| fail("INVALID_SCRIPT", e.to_string()))?;
    tokio::fs::create_dir_all(dir).await.map_err(|e| fail("INTERNAL", format!("{}: {e}", dir.display())))?;
    resolve::localize(&mut script, &job.project_id, &state.db, &state.blobs, &state.config.fetch, dir)
        .await
        .map_err(|e| fail("INPUT_UNAVAILABLE", e))?;
    let avatars = catalog::avatars_for(state, &job.project_id, script.model_asset_id.as_deref())
        .await
        .map_err(|e| fail("INVALID_AVATAR", e))?;
    let ext = match script.video_config.as_ref().map(|v| v.codec_or_default()) {
        Some(doppel_script::Codec::Vp8) => "webm",
        _ => "mp4",
    };
    let video = dir.join(format!("video.{ext}"));
    let cover = dir.join("cover.jpg");
    let tts = state.tts.clone();
    let preset = state.config.x264_preset.clone();
    let (video2, cover2, base) = (video.clone(), cover.clone(), dir.to_path_buf());
    let report = tokio::task::spawn_blocking(move || {
        let mut on_progress = |p: doppel_render::Progress| {
            let pct = (p.frame * 99).checked_div(p.total_frames).unwrap_or(0);
            progress.store(pct, Ordering::Relaxed);
        };
        let mut opts = doppel_render::RenderOptions::new(tts.as_ref());
        opts.base_dir = base;
        opts.avatars = avatars;
        opts.x264_preset = preset;
        opts.cover = Some(cover2);
        opts.cancel = Some(&cancel);
        opts.progress = Some(&mut on_progress);
        doppel_render::render(&script, &video2, &mut opts)
    })
    .await
    .map_err(|e| fail("INTERNAL", format!("the render stopped: {e}")))?;
    let report = match report {
        Ok(r) => r,
        Err(doppel_render::Error::Canceled) => return Err(Outcome::Lost),
        Err(e @ doppel_render::Error::Script { .. }) => return Err(fail("INVALID_SCRIPT", e.to_string())),
        Err(e @ doppel_render::Error::Asset { .. }) => return Err(fail("INPUT_INVALID", e.to_string())),
        Err(e) => return Err(fail("RENDER_FAILED", e.to_string())),
    };
    // Store the files. Keys carry the attempt, so a second run never overwrites what a first one left.
    let name = job.asset_name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| format!("video-{}", job.id));
    let prefix = format!("projects/{}/jobs/{}/{}", job.project_id, job.id, job.attempts);
    let put = |file: std::path::PathBuf, asset_type: &str, file_name: String, content_type: &str, meta| {
        let key = format!("{prefix}/{file_name}");
        let a = NewAsset {
            id: doppel_store::new_id(),
            project_id: job.project_id.clone(),
            asset_type: asset_type.to_string(),
            name: file_name,
            content_type: content_type.to_string(),
            size: 0,
            blob_key: key,
            job_id: Some(job.id.clone()),
            meta,
        };
        (file, a)
    };
    let meta = json!({"width": report.width, "height": report.height, "duration_ms": report.duration_ms,
                      "frames": report.frames, "alpha": report.alpha});
    let video_ct = if ext == "webm" { "video/webm" } else { "video/mp4" };
    let mut files = vec![put(video, "VIDEO", format!("{name}.{ext}"), video_ct, meta)];
    files.push(put(cover, "IMAGE", format!("{name}.jpg"), "image/jpeg", json!({"cover_of": job.id})));
    let srt = dir.join("subtitles.srt");
    let vtt = dir.join("subtitles.vtt");
    if !report.subtitles.is_empty() {
        std::fs::write(&srt, doppel_render::subtitles::to_srt(&report.subtitles))
            .map_err(|e| fail("INTERNAL", e.to_string()))?;
        std::fs::write(&vtt, doppel_render::subtitles::to_vtt(&report.subtitles))
            .map_err(|e| fail("INTERNAL", e.to_string()))?;
        files.push(put(srt, "SUBTITLE", format!("{name}.srt"), "application/x-subrip", json!({})));
        files.push(put(vtt, "SUBTITLE", format!("{name}.vtt"), "text/vtt", json!({})));
    }
    let mut stored = Vec::new();
    for (file, mut a) in files {
        match state.blobs.put_file(&a.blob_key, &file).await {
            Ok(n) => {
                a.size = n as i64;
                stored.push(a);
            }
            Err(e) => {
                for s in &stored {
                    let _ = state.blobs.delete(&s.blob_key).await;
                }
                return Err(fail("INTERNAL", format!("storing {}: {e}", a.name)));
            }
        }
    }
    let mut it = stored.into_iter();
    let video = it.next().ok_or_else(|| fail("INTERNAL", "no video".into()))?;
    let cover = it.next();
    Ok(JobOutput { video, cover, extra: it.collect(), duration_ms: report.duration_ms as i64 })
}

/// Sends the job's callback (if its script has one) in the background, retrying with backoff.
fn send_callback(state: &AppState, job: &Job) {
    let Ok(script) = doppel_script::parse_script_value(job.script.clone()) else { return };
    let Some(cb) = script.callback_config else { return };
    let Some(url) = cb.callback_url.filter(|u| !u.is_empty()) else { return };
    let body = json!({
        "job_id": job.id,
        "result": job.state.as_str(),
        "asset_id": job.output_asset_id.clone().unwrap_or_default(),
    });
    let auth = cb.auth_type.map(|a| a.as_str());
    let key = cb.key;
    let policy = state.config.fetch.clone();
    let job_id = job.id.clone();
    tokio::spawn(async move {
        let sign = |now: i64| callback::signed_url(&url, auth, key.as_deref(), now);
        if let Err(e) = callback::deliver(&policy, &url, &body, &callback::Backoff::default(), sign).await {
            eprintln!("doppel: callback of job {job_id} to {url} failed: {e}");
        }
    });
}
