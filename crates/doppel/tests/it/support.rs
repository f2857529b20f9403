//! The harness the end-to-end tests of `doppel serve` share (`server`, `dialect_ice`, `dialect_zego`,
//! `dialect_metastudio`): the real binary started on a temporary data directory with only the settings the test
//! chooses, HTTP clients for it, answers read whole, the test virtualenv's python for the vendor SDK tests, and a
//! few small helpers.
//!
//! A server's files (its data directory and its log) are removed when the test passes and kept, with the path of
//! the log printed, when it fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `doppel` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_doppel");

/// How long a test's HTTP client waits for an answer, unless it says otherwise.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a server may take to print `listening ADDR`.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// `doppel`, without the `DOPPEL_*` variables of the environment the tests run in: its settings are the test's
/// alone.
pub fn doppel_command() -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars_os() {
        if key.as_encoded_bytes().starts_with(b"DOPPEL_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// A temporary directory, removed when dropped (unless the test failed, so its logs can be read).
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// `$TMPDIR/doppel-it-NAME-ID`, new and empty.
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("doppel-it-{name}-{}", doppel_store::new_id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The data directory of a server in this directory.
    pub fn data(&self) -> PathBuf {
        self.0.join("data")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test files kept in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// How to start a server: besides these, it gets `DOPPEL_X264_PRESET=ultrafast` (short renders) and no other
/// `DOPPEL_*` variable.
#[derive(Debug, Clone)]
pub struct Opts {
    workers: usize,
    env: Vec<(&'static str, String)>,
    database_url: Option<String>,
    credentials_dir: Option<PathBuf>,
}

impl Default for Opts {
    fn default() -> Opts {
        Opts { workers: 1, env: Vec::new(), database_url: None, credentials_dir: None }
    }
}

impl Opts {
    /// One render worker, the embedded database.
    pub fn new() -> Opts {
        Opts::default()
    }

    /// `--workers N` (0: an API-only server, whose jobs stay WAITING).
    pub fn workers(mut self, n: usize) -> Opts {
        self.workers = n;
        self
    }

    /// Sets the environment variable `key` for the server.
    pub fn env(mut self, key: &'static str, value: impl ToString) -> Opts {
        self.env.push((key, value.to_string()));
        self
    }

    /// `--database-url URL`.
    pub fn database_url(mut self, url: &str) -> Opts {
        self.database_url = Some(url.to_string());
        self
    }

    /// Reads `credentials.json` from `dir`, where an earlier server on the same database wrote it, instead of the
    /// server's own data directory.
    pub fn credentials_from(mut self, dir: &Path) -> Opts {
        self.credentials_dir = Some(dir.to_path_buf());
        self
    }
}

/// Numbers the servers' logs, so that servers started in one directory (a restart, two processes) keep theirs.
static STARTS: AtomicUsize = AtomicUsize::new(0);

/// A running `doppel serve`, killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    pub data_dir: PathBuf,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `credentials.json` as written on the first start.
    pub creds: Value,
    /// Sends `Authorization: Bearer <api_key>`.
    pub client: reqwest::Client,
    /// Sends no credentials.
    pub anon: reqwest::Client,
    /// The server's standard error.
    pub log: PathBuf,
    /// The directory the server was started in by [`Server::start_temp`]; dropped (so removed) after the server
    /// is killed.
    _tmp: Option<TempDir>,
}

impl Server {
    /// Starts `doppel serve --listen 127.0.0.1:0 --data-dir DATA_DIR` and waits until it listens. Its log is
    /// `server-N.log` next to `DATA_DIR`; starting again on the same `DATA_DIR` is a restart.
    pub fn start(data_dir: &Path, opts: &Opts) -> Server {
        let n = STARTS.fetch_add(1, Ordering::SeqCst);
        let log = data_dir.parent().expect("data dir parent").join(format!("server-{n}.log"));
        let mut cmd = doppel_command();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(["--workers", &opts.workers.to_string()]);
        if let Some(url) = &opts.database_url {
            cmd.args(["--database-url", url]);
        }
        cmd.env("DOPPEL_X264_PRESET", "ultrafast");
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }
        let err = std::fs::File::create(&log).expect("server log");
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::from(err));
        let mut child = cmd.spawn().expect("spawn doppel serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    if let Some(a) = line.strip_prefix("listening ") {
                        break a.trim().to_string();
                    }
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "doppel serve did not print `listening ADDR` ({e}); its log ({}):\n{}",
                        log.display(),
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            }
        };
        let creds_file = opts.credentials_dir.as_deref().unwrap_or(data_dir).join("credentials.json");
        let creds: Value = serde_json::from_slice(&std::fs::read(&creds_file).expect("credentials.json"))
            .expect("credentials.json is JSON");
        let key = creds["api_key"].as_str().expect("api_key").to_string();
        Server {
            child,
            data_dir: data_dir.to_path_buf(),
            base: format!("http://{addr}"),
            addr,
            creds,
            client: http_client(&[("authorization", &format!("Bearer {key}"))], HTTP_TIMEOUT),
            anon: http_client(&[], HTTP_TIMEOUT),
            log,
            _tmp: None,
        }
    }

    /// Starts a server on a new temporary directory (see [`TempDir::new`]), which it owns.
    pub fn start_temp(name: &str, opts: &Opts) -> Server {
        let tmp = TempDir::new(name);
        let mut server = Server::start(&tmp.data(), opts);
        server._tmp = Some(tmp);
        server
    }

    /// The directory of the data directory and the log, for the test's own files.
    pub fn dir(&self) -> &Path {
        self.data_dir.parent().expect("data dir parent")
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn port(&self) -> u16 {
        self.addr.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
    }

    /// A string of `credentials.json`.
    pub fn cred(&self, key: &str) -> String {
        self.creds[key].as_str().unwrap_or_else(|| panic!("credentials.json has no {key}")).to_string()
    }

    /// SIGKILLs the server and waits for it to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- log of the server on {} ({}), kept in {}:\n{}",
                self.data_dir.display(),
                self.base,
                self.log.display(),
                self.log_text()
            );
        }
    }
}

/// A client that ignores proxies, sends `headers` with every request and gives up after `timeout`.
pub fn http_client(headers: &[(&str, &str)], timeout: Duration) -> reqwest::Client {
    let mut map = reqwest::header::HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            reqwest::header::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            reqwest::header::HeaderValue::from_str(v).expect("header value"),
        );
    }
    reqwest::Client::builder().no_proxy().default_headers(map).timeout(timeout).build().expect("HTTP client")
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub request_id: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends a request and reads the answer, which (whatever it is) must carry an `X-Request-Id`.
pub async fn send(req: reqwest::RequestBuilder) -> Resp {
    let r = req.send().await.expect("HTTP request");
    let status = r.status().as_u16();
    let header = |name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let (request_id, content_type) = (header("x-request-id"), header("content-type"));
    let url = r.url().clone();
    let body = r.bytes().await.expect("HTTP body").to_vec();
    assert!(!request_id.is_empty(), "no X-Request-Id on the answer {status} to {url}");
    Resp { status, request_id, content_type, body }
}

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// The python of the test virtualenv (`DOPPEL_TEST_VENV`, relative to the workspace root; default `.venv-test`),
/// when it can import `modules`, the vendor's `sdk`. Without it the test `test` is skipped (`None`, with a line
/// saying so), or fails when `DOPPEL_REQUIRE_SDK=1`.
pub fn sdk_python(test: &str, sdk: &str, modules: &str) -> Option<PathBuf> {
    let venv = match std::env::var("DOPPEL_TEST_VENV") {
        // An absolute path replaces the root.
        Ok(v) if !v.is_empty() => workspace_root().join(v),
        _ => workspace_root().join(".venv-test"),
    };
    let python = venv.join("bin/python");
    let probe = Command::new(&python).args(["-c", &format!("import {modules}")]).stdin(Stdio::null()).output();
    let why = match probe {
        Ok(o) if o.status.success() => return Some(python),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            format!("{} cannot import the {sdk} SDK ({})", python.display(), err.trim())
        }
        Err(e) => format!("no test venv at {} ({}: {e})", venv.display(), python.display()),
    };
    let why = format!("{why}; make it with scripts/test-venv.sh (or set DOPPEL_TEST_VENV)");
    if std::env::var("DOPPEL_REQUIRE_SDK").is_ok_and(|v| v == "1") {
        panic!("DOPPEL_REQUIRE_SDK=1 but {why}");
    }
    eprintln!("skipping {test}: {why}");
    None
}

/// Writes `bytes` to `dir/name` and probes it, which must find playable media.
pub fn probe_bytes(dir: &Path, name: &str, bytes: &[u8]) -> doppel_media::MediaInfo {
    let file = dir.join(name);
    std::fs::write(&file, bytes).expect("write");
    doppel_media::probe(&file).unwrap_or_else(|e| panic!("{name} is not playable media: {e}"))
}

pub fn now_secs() -> i64 {
    doppel_store::now_ms() / 1000
}

/// Whether `s` is a time in the vendors' format, `2026-01-02T03:04:05Z`.
pub fn is_vendor_time(s: &str) -> bool {
    s.len() == 20
        && s.bytes().enumerate().all(|(i, c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// CRC-32 (IEEE, as PNG and ZIP use).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Debian's Chromium, headless, with a fresh profile in `profile` and the flags this machine needs (no sandbox as
/// root, no GPU, no background traffic to the closed network). `make test` installs it.
pub fn headless_chromium(profile: &Path) -> Command {
    let bin = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("chromium is not installed: `make test` installs it (apt package chromium)");
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}
