//! doppel's server: the native API under `/api/v1`, signed file URLs under `/files`, and the workers that run
//! video jobs from the durable queue in [`doppel_store`].
//!
//! Also the web console at `/console` (`console.html`: a static page over the native API).
//!
//! Layout: [`config`] (file, environment, flags), [`error`] (the native error body and request ids), [`auth`]
//! (API keys → project), [`api`] (native handlers), [`files`] (signed downloads, generated previews),
//! [`catalog`] (digital humans and voices as the API shows them), [`worker`] (claims and renders jobs),
//! [`resolve`] (script file references → local files), [`fetch`] (URL fetch policy), [`callback`] (job
//! callbacks), [`signing`] (URL signatures), [`openapi`] (the API description).
//!
//! Invariants: every handler that touches a row passes the caller's project to the store (another project's
//! ids answer 404); no handler blocks the async runtime (renders and FFmpeg work run on blocking threads); a
//! script is fully validated, and its asset references checked, before its job is created.

pub mod api;
pub mod auth;
pub mod callback;
pub mod catalog;
pub mod config;
pub mod dialect;
pub mod error;
pub mod fetch;
pub mod files;
pub mod live;
pub mod openapi;
pub mod photo;
pub mod resolve;
pub mod signing;
pub mod worker;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::routing::get;
use axum::Router;
use doppel_speech::Engines;
use doppel_store::{Blobs, Credentials, Db};
use serde_json::json;

pub use config::Config;

use crate::signing::UrlSigner;

/// What every handler and worker shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub blobs: Blobs,
    pub config: Arc<Config>,
    pub signer: UrlSigner,
    /// Every voice: espeak-ng and the configured HTTP engines (`[[tts.http]]`).
    pub tts: Arc<Engines>,
    /// Woken when a job is queued, so idle workers start at once.
    pub queue_notify: Arc<tokio::sync::Notify>,
    /// Serializes generation of cached previews (one render per file).
    pub preview_lock: Arc<tokio::sync::Mutex<()>>,
    /// The face models photo avatars need, or why they are not available.
    pub faces: Arc<Result<doppel_face::FaceModels, String>>,
    /// The live streams this process runs.
    pub live: Arc<live::Live>,
}

impl AppState {
    /// Opens the database and blob store of `config`; `base` is the public base URL for file links.
    pub async fn open(config: Config, base: &str) -> anyhow::Result<AppState> {
        let tts = Arc::new(config.tts_engines()?);
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
        let db = Db::connect(&config.database_url()).await.context("opening the database")?;
        let blobs = Blobs::from_config(&config.blob, &config.data_dir).context("opening the blob store")?;
        let key = db.setting_or_init("url_signing_key", || hex::encode(rand::random::<[u8; 32]>())).await?;
        let signer = UrlSigner::new(key.as_bytes(), base, config.signed_url_ttl_secs as i64);
        let dir = config.models_dir.clone();
        let faces = tokio::task::spawn_blocking(move || doppel_face::FaceModels::load(&dir).map_err(|e| e.to_string()))
            .await
            .context("loading the face models")?;
        if let Err(e) = &faces {
            eprintln!("doppel: photo avatars are off: {e}");
        }
        Ok(AppState {
            db,
            blobs,
            config: Arc::new(config),
            signer,
            tts,
            queue_notify: Arc::new(tokio::sync::Notify::new()),
            preview_lock: Arc::new(tokio::sync::Mutex::new(())),
            faces: Arc::new(faces),
            live: Arc::new(live::Live::default()),
        })
    }
}

/// The HTTP application.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_upload_bytes as usize;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/console", get(console))
        .nest("/api/v1", api::routes().merge(live::api::routes()))
        .merge(live::api::page_routes())
        .nest("/files", files::routes())
        .merge(dialect::routes())
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(error::request_id))
        .with_state(state)
}

/// The web console: one static page that uses the native API with a key the user pastes.
async fn console() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("console.html"))
}

async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

/// What a first start wrote to `credentials.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CredentialsFile {
    pub project_id: String,
    pub api_key: String,
    pub access_key_id: String,
    pub access_key_secret: String,
    pub zego_app_id: u32,
    pub zego_server_secret: String,
}

impl CredentialsFile {
    pub fn new(c: &Credentials) -> CredentialsFile {
        CredentialsFile {
            project_id: c.project_id.clone(),
            api_key: c.api_key.clone().unwrap_or_default(),
            access_key_id: c.access_key_id.clone(),
            access_key_secret: c.access_key_secret.clone(),
            zego_app_id: c.zego_app_id,
            zego_server_secret: c.zego_server_secret.clone(),
        }
    }
}

/// Writes `value` as JSON to `path`, readable by its owner only.
pub fn write_private_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(serde_json::to_string_pretty(value)?.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// On a database with no project yet: creates the default project and its credentials, and writes them to
/// `DATA_DIR/credentials.json` (mode 0600). Returns the file's path when it did.
pub async fn bootstrap(db: &Db, data_dir: &Path) -> anyhow::Result<Option<std::path::PathBuf>> {
    if !db.projects().await?.is_empty() {
        return Ok(None);
    }
    let project = db.create_project("default").await?;
    let creds = db.create_credentials(&project.id).await?;
    let path = data_dir.join("credentials.json");
    write_private_json(&path, &CredentialsFile::new(&creds))?;
    Ok(Some(path))
}

/// Runs the server until Ctrl-C: binds, bootstraps, starts `config.workers` workers, serves.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listener =
        tokio::net::TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    let bound: SocketAddr = listener.local_addr()?;
    let base = config.public_base(bound);
    let state = AppState::open(config, &base).await?;
    if let Some(path) = bootstrap(&state.db, &state.config.data_dir).await? {
        eprintln!("doppel: created the default project; its credentials are in {}", path.display());
    } else {
        eprintln!(
            "doppel: credentials of the first project: {}",
            state.config.data_dir.join("credentials.json").display()
        );
    }
    let workers = worker::spawn_workers(&state, state.config.workers);
    let supervisor = live::spawn_supervisor(state.clone());
    let creds = state.config.data_dir.join("credentials.json");
    eprintln!("doppel: listening on http://{bound} ({} render worker(s))", workers.len());
    eprintln!("doppel: console    {base}/console   (paste the api_key from {})", creds.display());
    eprintln!("doppel: API        {base}/api/v1   (OpenAPI: {base}/api/v1/openapi.json, docs/api.md)");
    eprintln!("doppel: try it:");
    eprintln!("  KEY=$(jq -r .api_key {})", creds.display());
    eprintln!("  curl -s -H \"Authorization: Bearer $KEY\" {base}/api/v1/digital-humans");
    eprintln!(
        "  curl -s -H \"Authorization: Bearer $KEY\" {base}/api/v1/videos -d '{{\"shoot_scripts\":[{{\"sequence_no\":0,\
         \"shoot_script\":{{\"script_type\":\"TEXT\",\"text_config\":{{\"text\":\"Hello from doppel!\"}}}}}}]}}'"
    );
    eprintln!(
        "  curl -s -H \"Authorization: Bearer $KEY\" {base}/api/v1/videos/JOB_ID   # poll; then open preview_video_url"
    );
    // Machine-readable line for scripts and tests.
    println!("listening {bound}");
    let app = router(state.clone());
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    // Live streams stay on: their rows are taken over by another process, or by this one when it restarts.
    supervisor.abort();
    worker::stop(&state, workers).await;
    Ok(())
}

/// Runs only workers (no HTTP) until Ctrl-C.
pub async fn run_workers(config: Config) -> anyhow::Result<()> {
    let base = config.public_base(config.listen);
    let n = config.workers.max(1);
    let state = AppState::open(config, &base).await?;
    let workers = worker::spawn_workers(&state, n);
    eprintln!("doppel: {} render worker(s) waiting for jobs", workers.len());
    shutdown_signal().await;
    worker::stop(&state, workers).await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// Formats milliseconds since the epoch as the vendors do: `2022-11-30T06:59:56Z` (UTC, whole seconds).
pub fn iso_time(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&f).unwrap_or_default()
}

/// Parses an ISO 8601 / RFC 3339 time (`2022-11-30T06:59:56Z`, with or without fraction or offset) to ms.
pub fn parse_iso_time(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok().or_else(|| {
        let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        time::PrimitiveDateTime::parse(s.trim_end_matches('Z'), &f).ok().map(|p| p.assume_utc())
    })?;
    Some((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_in_the_vendor_format() {
        assert_eq!(iso_time(1_669_791_596_000), "2022-11-30T06:59:56Z");
        assert_eq!(parse_iso_time("2022-11-30T06:59:56Z"), Some(1_669_791_596_000));
        assert_eq!(parse_iso_time("2022-11-30T06:59:56"), Some(1_669_791_596_000));
        assert_eq!(parse_iso_time("2022-11-30T07:59:56+01:00"), Some(1_669_791_596_000));
        assert_eq!(parse_iso_time("yesterday"), None);
    }
}
