//! Server configuration: built-in defaults, then a TOML file (`--config`, see `doppel.example.toml`), then
//! `DOPPEL_*` environment variables, then command-line flags; later ones win.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use doppel_store::BlobConfig;
use serde::Deserialize;

use crate::fetch::FetchPolicy;

/// Everything `doppel serve` and `doppel worker` can be told.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the embedded default keeps everything (database, blobs, caches, credentials.json).
    pub data_dir: PathBuf,
    /// `postgres://…` for scale-out; default: SQLite `DATA_DIR/doppel.db`.
    pub database_url: Option<String>,
    /// The address clients reach this server at, used in the file URLs the API hands out; default
    /// `http://LISTEN`.
    pub public_url: Option<String>,
    /// Concurrent renders in this process (0 = none: an API-only node).
    pub workers: usize,
    /// Largest accepted upload or request body, bytes.
    pub max_upload_bytes: u64,
    /// Lifetime of signed file URLs, seconds (24 h as the vendors document).
    pub signed_url_ttl_secs: u64,
    /// A worker's hold on a job, renewed about every second; a job whose worker stopped renewing it for this
    /// long is run again by another worker.
    pub job_lease_secs: u64,
    /// A job that lost its worker this many times fails instead of running again.
    pub job_max_attempts: i64,
    /// x264 preset for renders.
    pub x264_preset: String,
    /// How URLs in scripts and callbacks are fetched.
    pub fetch: FetchPolicy,
    /// Where blobs are stored.
    pub blob: BlobConfig,
    /// Text-to-speech engines besides the built-in espeak-ng voices.
    pub tts: TtsConfig,
    /// Where the face models for photo avatars are (`scripts/face-models.sh` makes them); without them photo
    /// avatars cannot be created, and everything else works.
    pub models_dir: PathBuf,
    /// Live streams.
    pub live: LiveConfig,
}

/// The `[live]` section: live streams.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveConfig {
    /// Unfinished streams a project may have at once (ZEGO's `400000008` beyond it).
    pub max_streams_per_project: i64,
    /// The address browsers reach this machine at for WebRTC media (UDP, one port per viewer); default: the
    /// listen address when it names one, else the address of the default route.
    pub webrtc_ip: Option<std::net::IpAddr>,
    /// x264 preset of live H.264 (`ultrafast` fits more streams on few cores).
    pub x264_preset: String,
    /// Encoder threads per stream and codec.
    pub encoder_threads: usize,
}

impl Default for LiveConfig {
    fn default() -> LiveConfig {
        LiveConfig { max_streams_per_project: 4, webrtc_ip: None, x264_preset: "veryfast".into(), encoder_threads: 1 }
    }
}

/// The `[tts]` section: HTTP engines (`[[tts.http]]`, OpenAI-compatible speech servers) whose voices join the
/// catalog next to the built-in ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TtsConfig {
    pub http: Vec<doppel_speech::HttpConfig>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("doppel-data"),
            database_url: None,
            public_url: None,
            workers: 1,
            max_upload_bytes: 512 * 1024 * 1024,
            signed_url_ttl_secs: 24 * 3600,
            job_lease_secs: 10,
            job_max_attempts: 3,
            x264_preset: "veryfast".into(),
            fetch: FetchPolicy::default(),
            blob: BlobConfig::default(),
            tts: TtsConfig::default(),
            models_dir: PathBuf::from("models"),
            live: LiveConfig::default(),
        }
    }
}

impl Config {
    /// Reads a TOML config file.
    pub fn from_file(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Applies `DOPPEL_*` environment variables from `get` (a function so tests need not touch the process
    /// environment).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        fn parse<T: std::str::FromStr>(name: &str, v: &str) -> anyhow::Result<T>
        where
            T::Err: std::fmt::Display,
        {
            v.parse().map_err(|e| anyhow::anyhow!("{name}={v:?}: {e}"))
        }
        if let Some(v) = get("DOPPEL_LISTEN") {
            self.listen = parse("DOPPEL_LISTEN", &v)?;
        }
        if let Some(v) = get("DOPPEL_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("DOPPEL_DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = get("DOPPEL_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = get("DOPPEL_WORKERS") {
            self.workers = parse("DOPPEL_WORKERS", &v)?;
        }
        if let Some(v) = get("DOPPEL_MAX_UPLOAD_BYTES") {
            self.max_upload_bytes = parse("DOPPEL_MAX_UPLOAD_BYTES", &v)?;
        }
        if let Some(v) = get("DOPPEL_SIGNED_URL_TTL_SECS") {
            self.signed_url_ttl_secs = parse("DOPPEL_SIGNED_URL_TTL_SECS", &v)?;
        }
        if let Some(v) = get("DOPPEL_JOB_LEASE_SECS") {
            self.job_lease_secs = parse("DOPPEL_JOB_LEASE_SECS", &v)?;
        }
        if let Some(v) = get("DOPPEL_FETCH_ALLOW_PRIVATE") {
            self.fetch.allow_private = parse("DOPPEL_FETCH_ALLOW_PRIVATE", &v)?;
        }
        if let Some(v) = get("DOPPEL_MODELS_DIR") {
            self.models_dir = PathBuf::from(v);
        }
        if let Some(v) = get("DOPPEL_X264_PRESET") {
            self.x264_preset = v;
        }
        if let Some(v) = get("DOPPEL_LIVE_MAX_STREAMS") {
            self.live.max_streams_per_project = parse("DOPPEL_LIVE_MAX_STREAMS", &v)?;
        }
        if let Some(v) = get("DOPPEL_WEBRTC_IP") {
            self.live.webrtc_ip = Some(parse("DOPPEL_WEBRTC_IP", &v)?);
        }
        Ok(())
    }

    /// Every voice engine this configuration names: espeak-ng and the `[[tts.http]]` engines. Fails on a bad
    /// engine entry or a voice id two voices would share.
    pub fn tts_engines(&self) -> anyhow::Result<doppel_speech::Engines> {
        Ok(doppel_speech::Engines::with_http(self.tts.http.clone())?)
    }

    /// The SQLite URL of the embedded default, or the configured database.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("doppel.db").display()),
        }
    }

    /// Base of the URLs handed out, without a trailing slash.
    pub fn public_base(&self, bound: SocketAddr) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{bound}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_with_its_documented_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../doppel.example.toml");
        let c = Config::from_file(&path).unwrap();
        let d = Config::default();
        assert_eq!(c.listen, d.listen);
        assert_eq!(c.data_dir, d.data_dir);
        assert_eq!(c.workers, d.workers);
        assert_eq!(c.max_upload_bytes, d.max_upload_bytes);
        assert_eq!(c.signed_url_ttl_secs, d.signed_url_ttl_secs);
        assert_eq!(c.job_lease_secs, d.job_lease_secs);
        assert_eq!(c.job_max_attempts, d.job_max_attempts);
        assert_eq!(c.x264_preset, d.x264_preset);
        assert_eq!(c.models_dir, d.models_dir);
        assert_eq!(c.fetch.allow_private, d.fetch.allow_private);
        assert_eq!(c.fetch.max_bytes, d.fetch.max_bytes);
        assert_eq!(c.fetch.timeout_secs, d.fetch.timeout_secs);
        assert_eq!(c.fetch.max_redirects, d.fetch.max_redirects);
        assert!(c.blob.kind.is_none());
        assert!(c.tts.http.is_empty());
    }

    #[test]
    fn the_example_tts_section_works_when_uncommented() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../doppel.example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let start = text.find("# [[tts.http]]").expect("the example has a [[tts.http]] entry");
        let block: Vec<&str> =
            text[start..].lines().map(|l| l.strip_prefix("# ").or(l.strip_prefix('#')).unwrap_or(l)).collect();
        let c: Config = toml::from_str(&block.join("\n")).unwrap();
        use doppel_speech::Tts;
        let voices = c.tts_engines().unwrap().voices();
        let ids: Vec<&str> = voices.iter().map(|v| v.id.as_str()).collect();
        assert!(ids.ends_with(&["kokoro-en-us-af-heart", "kokoro-zh-cn-zf-xiaobei"]), "{ids:?}");
    }

    #[test]
    fn http_tts_engines_are_configured_with_their_voices() {
        let text = r#"
            [[tts.http]]
            name = "kokoro"
            base_url = "http://127.0.0.1:8880/v1"
            api_key = "not-needed"
            [[tts.http.voices]]
            name = "Heart"
            voice = "af_heart"
            language = "en-US"
            gender = "female"
            [[tts.http.voices]]
            name = "Xiaobei"
            voice = "zf_xiaobei"
            language = "zh-CN"
            gender = "female"
            description = "Mandarin, female"
        "#;
        let c: Config = toml::from_str(text).unwrap();
        let e = &c.tts.http[0];
        assert_eq!((e.model.as_str(), e.timeout_secs, e.voices.len()), ("tts-1", 60, 2));
        use doppel_speech::Tts;
        let ids: Vec<String> = c.tts_engines().unwrap().voices().into_iter().map(|v| v.id).collect();
        assert!(
            ids.ends_with(&["kokoro-en-us-af-heart".to_string(), "kokoro-zh-cn-zf-xiaobei".to_string()]),
            "{ids:?}"
        );
        let typo = toml::from_str::<Config>(
            "[[tts.http]]\nname = \"k\"\nbase_url = \"http://h/v1\"\nvoices = []\nmodle = \"x\"",
        );
        assert!(typo.unwrap_err().to_string().contains("modle"));
    }

    #[test]
    fn environment_overrides_and_names_bad_values() {
        let mut c = Config::default();
        let env = |k: &str| match k {
            "DOPPEL_LISTEN" => Some("0.0.0.0:9000".to_string()),
            "DOPPEL_WORKERS" => Some("3".to_string()),
            _ => None,
        };
        c.apply_env(env).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.workers, 3);
        let err = c.apply_env(|k| (k == "DOPPEL_WORKERS").then(|| "many".to_string())).unwrap_err();
        assert!(err.to_string().contains("DOPPEL_WORKERS=\"many\""), "{err}");
        let bad = toml::from_str::<Config>("listen = \"x\"\nnope = 1").unwrap_err().to_string();
        assert!(bad.contains("listen") || bad.contains("nope"), "{bad}");
    }
}
