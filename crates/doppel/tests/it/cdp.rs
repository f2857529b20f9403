//! A headless Chromium driven over the DevTools protocol: open a page, evaluate JavaScript in it (awaiting
//! promises), read the JSON result. Just what the live-stream tests need; the browser is killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A browser with one page.
pub struct Browser {
    child: Child,
    page: Socket,
    next_id: u64,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser").field("pid", &self.child.id()).finish()
    }
}

impl Browser {
    /// Starts Chromium (profile in `profile`) on `url`, with autoplay allowed (so the page can hear audio).
    pub async fn open(profile: &Path, url: &str) -> Browser {
        let mut cmd = crate::support::headless_chromium(profile);
        cmd.args(["--remote-debugging-port=0", "--autoplay-policy=no-user-gesture-required"])
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start chromium");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(ws) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(ws.trim().to_string());
                }
            }
        });
        let browser_ws = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30)))
            .await
            .expect("join")
            .expect("chromium did not print its DevTools address");
        let port = browser_ws.split(':').nth(2).and_then(|p| p.split('/').next()).expect("port").to_string();
        // The page target's own socket.
        let mut page_ws = None;
        for _ in 0..100 {
            let list: Value = reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client")
                .get(format!("http://127.0.0.1:{port}/json/list"))
                .send()
                .await
                .expect("DevTools /json/list")
                .json()
                .await
                .expect("JSON");
            page_ws = list
                .as_array()
                .and_then(|a| a.iter().find(|t| t["type"] == "page"))
                .and_then(|t| t["webSocketDebuggerUrl"].as_str())
                .map(str::to_string);
            if page_ws.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let page_ws = page_ws.expect("a page target");
        let (page, _) = tokio_tungstenite::connect_async(page_ws.as_str()).await.expect("connect to the page");
        Browser { child, page, next_id: 1 }
    }

    /// Evaluates `expr` in the page, awaiting a promise, and returns its value as JSON. Panics with the page's
    /// exception.
    pub async fn eval(&mut self, expr: &str) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"id": id, "method": "Runtime.evaluate",
            "params": {"expression": expr, "awaitPromise": true, "returnByValue": true}});
        self.page.send(Message::Text(msg.to_string().into())).await.expect("send to the page");
        loop {
            let m = tokio::time::timeout(Duration::from_secs(120), self.page.next())
                .await
                .unwrap_or_else(|_| panic!("no answer to {expr}"))
                .expect("page socket open")
                .expect("page message");
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(t.as_str()).expect("CDP JSON");
            if v["id"] != id {
                continue;
            }
            if let Some(e) = v["result"].get("exceptionDetails") {
                panic!("{expr} threw: {e}");
            }
            return v["result"]["result"]["value"].clone();
        }
    }

    /// Waits until `expr` is truthy in the page (it may still be loading).
    pub async fn wait_for(&mut self, expr: &str, within: Duration) {
        let deadline = std::time::Instant::now() + within;
        loop {
            let probe = format!("(() => {{ try {{ return !!({expr}); }} catch (e) {{ return false; }} }})()");
            if self.eval(&probe).await == Value::Bool(true) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{expr} never held in the page");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Kills the browser at once (no goodbye to the server: a vanished viewer).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill();
    }
}
