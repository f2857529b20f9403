//! End-to-end tests of the ZEGO dialect: `doppel serve` on a temporary data directory, called the way a ZEGO
//! client calls `aigc-digitalhuman-api.zegotech.cn` (common parameters and an MD5 signature in the query,
//! business parameters in a JSON body), with only the endpoint changed.

use std::ops::Deref;
use std::time::{Duration, Instant};

use doppel_server::dialect::zego::signature;
use serde_json::{json, Value};

use crate::support::{http_client, now_secs, probe_bytes, Opts, Server};

/// Seed 000's response example (GetDigitalHumanInfo), the shape our answer must have.
const SEED_000_EXAMPLE: &str = r#"{
    "Code": 0,
    "Message": "success",
    "RequestId": "52ef286e-0ee5-4cbb-ba93-45c4f89c5d00",
    "Data": {
        "DigitalHumanId": "fa592895-d988-4584-b27b-97b8f4b921ad",
        "Name": "xxx",
        "AvatarUrl": "https://xxx.com/xxx.png",
        "Actions": [
            {"Action": "802_921474", "PreviewUrl": "https://xxx.com/preview/xxx/xxx.mp4"},
            {"Action": "idle_action", "PreviewUrl": "https://xxx.com/preview/xxx/xxx.mp4"}
        ],
        "IsPublic": true
    }
}"#;

/// A running `doppel serve` on its own temporary directory, with its ZEGO credentials; killed and cleaned up when
/// dropped.
#[derive(Debug)]
struct Zego {
    server: Server,
    app_id: u32,
    secret: String,
    api_key: String,
    /// Sends no credentials; waits up to 180 s.
    http: reqwest::Client,
}

impl Deref for Zego {
    type Target = Server;

    fn deref(&self) -> &Server {
        &self.server
    }
}

impl Zego {
    fn start(name: &str) -> Zego {
        Zego::start_with(name, &Opts::new())
    }

    fn start_with(name: &str, opts: &Opts) -> Zego {
        let server = Server::start_temp(&format!("zego-{name}"), opts);
        Zego {
            app_id: server.creds["zego_app_id"].as_u64().expect("zego_app_id") as u32,
            secret: server.cred("zego_server_secret"),
            api_key: server.cred("api_key"),
            http: http_client(&[], Duration::from_secs(180)),
            server,
        }
    }

    /// The query of a call signed like ZEGO's samples: a fresh 16-hex nonce, `timestamp` in Unix seconds.
    fn signed_query(&self, action: &str, app_id: u32, secret: &str, nonce: &str, timestamp: i64) -> String {
        let sig = signature(&app_id.to_string(), nonce, secret, &timestamp.to_string());
        format!(
            "Action={action}&AppId={app_id}&SignatureNonce={nonce}&Timestamp={timestamp}&Signature={sig}\
             &SignatureVersion=2.0"
        )
    }

    fn query(&self, action: &str) -> String {
        self.signed_query(action, self.app_id, &self.secret, &nonce(), now_secs())
    }

    /// POSTs `body` to `/?{query}`; returns the HTTP status and the JSON answer.
    async fn post_query(&self, query: &str, body: &Value) -> (u16, Value) {
        let resp = self.http.post(format!("{}/?{query}", self.base)).json(body).send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
    }

    /// Calls `action` with `body`, correctly signed; returns the answer (HTTP 200 checked).
    async fn call(&self, action: &str, body: Value) -> Value {
        let (status, v) = self.post_query(&self.query(action), &body).await;
        assert_eq!(status, 200, "{action}: {v}");
        envelope_ok(&v);
        v
    }

    /// Calls `action`, which must succeed; returns `Data`.
    async fn data(&self, action: &str, body: Value) -> Value {
        let v = self.call(action, body.clone()).await;
        assert_eq!(v["Code"], 0, "{action} {body}: {v}\nserver log:\n{}", self.log_text());
        assert_eq!(v["Message"], "success");
        v["Data"].clone()
    }

    /// Downloads `url` with no credentials at all.
    async fn download(&self, url: &str) -> Vec<u8> {
        let resp = self.anon.get(url).timeout(Duration::from_secs(300)).send().await.expect("download");
        assert_eq!(resp.status().as_u16(), 200, "{url}\nserver log:\n{}", self.log_text());
        resp.bytes().await.expect("bytes").to_vec()
    }
}

fn nonce() -> String {
    doppel_store::new_id()[..16].to_string()
}

/// Every answer is `{Code, Message, RequestId[, Data]}`.
fn envelope_ok(v: &Value) {
    assert!(v["Code"].is_i64(), "{v}");
    assert!(v["Message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(v["RequestId"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    let keys: Vec<&str> = v.as_object().expect("object").keys().map(String::as_str).collect();
    let want: &[&str] =
        if v["Code"] == 0 { &["Code", "Data", "Message", "RequestId"] } else { &["Code", "Message", "RequestId"] };
    assert_eq!(keys, want, "{v}");
}

/// The answer must be the error `code`, with a message containing `mention`.
fn assert_error(v: &Value, code: i64, mention: &str) {
    assert_eq!(v["Code"], code, "{v}");
    assert!(v["Message"].as_str().is_some_and(|m| m.contains(mention)), "message should mention {mention:?}: {v}");
    assert!(v.get("Data").is_none(), "{v}");
}

/// The shape of a JSON value: keys kept, every leaf replaced by its type, arrays by the shape of their elements
/// (which must all agree). Ids, names and URLs are redacted this way.
fn shape(v: &Value) -> Value {
    match v {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(a) => {
            let shapes: Vec<Value> = a.iter().map(shape).collect();
            assert!(shapes.windows(2).all(|w| w[0] == w[1]), "array elements differ in shape: {v}");
            Value::Array(shapes.into_iter().take(1).collect())
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

/// `url` must be a signed `/files/{path}` URL of this server.
fn assert_signed(z: &Zego, url: &str, path: &str) {
    let prefix = format!("{}/files/{path}?expires=", z.base);
    assert!(url.starts_with(&prefix), "{url} should start with {prefix}");
    let u = url::Url::parse(url).expect("URL");
    let expires: i64 = u.query_pairs().find(|(k, _)| k == "expires").expect("expires").1.parse().expect("int");
    assert!(expires > now_secs(), "{url} has expired");
    let sig = u.query_pairs().find(|(k, _)| k == "sig").expect("sig").1.to_string();
    assert!(sig.len() == 64 && sig.bytes().all(|b| b.is_ascii_hexdigit()), "{url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zego_clients_read_the_catalog_and_play_the_previews() {
    let z = Zego::start("catalog");
    let native = reqwest::Client::builder().no_proxy().build().expect("client");
    let seed: Value = serde_json::from_str(SEED_000_EXAMPLE).expect("seed example");

    for id in ["anna", "leo"] {
        let v = z.call("GetDigitalHumanInfo", json!({"DigitalHumanId": id})).await;
        assert_eq!(v["Code"], 0, "{v}\n{}", z.log_text());
        // Snapshot of the shape: the same keys, at every level, with the same types, as seed 000's example.
        assert_eq!(shape(&v), shape(&seed), "GetDigitalHumanInfo({id}) differs in shape from seed 000: {v}");
        let d = &v["Data"];
        assert_eq!(d["DigitalHumanId"], id);
        assert_eq!(d["IsPublic"], true);
        assert!(d["Name"].as_str().is_some_and(|n| !n.is_empty()));
        assert_signed(&z, d["AvatarUrl"].as_str().unwrap(), &format!("humans/{id}/thumbnail.jpg"));

        // The same actions as the native API shows.
        let n: Value = native
            .get(format!("{}/api/v1/digital-humans/{id}", z.base))
            .bearer_auth(&z.api_key)
            .send()
            .await
            .expect("native")
            .json()
            .await
            .expect("json");
        let native_actions: Vec<&str> =
            n["actions"].as_array().expect("native actions").iter().map(|a| a["action"].as_str().unwrap()).collect();
        let actions = d["Actions"].as_array().expect("Actions");
        let names: Vec<&str> = actions.iter().map(|a| a["Action"].as_str().expect("Action")).collect();
        assert!(names.len() >= 2, "{d}");
        assert_eq!(names, native_actions);
        for a in actions {
            let name = a["Action"].as_str().unwrap();
            assert_signed(&z, a["PreviewUrl"].as_str().unwrap(), &format!("humans/{id}/actions/{name}.mp4"));
        }
        // Two previews per avatar download, with no credentials, as playable H.264 videos with sound.
        for a in &actions[..2] {
            let name = a["Action"].as_str().unwrap();
            let bytes = z.download(a["PreviewUrl"].as_str().unwrap()).await;
            let info = probe_bytes(z.dir(), &format!("{id}-{name}.mp4"), &bytes);
            let video = info.stream(doppel_media::StreamKind::Video).expect("video stream");
            assert_eq!(video.codec, "h264", "{id}/{name}");
            assert!(video.width > 0 && video.height > 0 && video.duration_ms > 500, "{id}/{name}: {video:?}");
            assert!(info.stream(doppel_media::StreamKind::Audio).is_some(), "{id}/{name} has no audio");
        }
    }
    // The avatar image is a picture.
    let d = z.data("GetDigitalHumanInfo", json!({"DigitalHumanId": "anna"})).await;
    let jpg = z.download(d["AvatarUrl"].as_str().unwrap()).await;
    std::fs::write(z.dir().join("anna.jpg"), &jpg).expect("write");
    assert!(doppel_media::image::read_image(&z.dir().join("anna.jpg")).is_ok(), "AvatarUrl is not an image");

    // GET with every parameter in the query works too.
    let q = format!("{}&DigitalHumanId=leo", z.query("GetDigitalHumanInfo"));
    let v: Value = z.http.get(format!("{}/?{q}", z.base)).send().await.expect("GET").json().await.expect("json");
    assert_eq!((&v["Code"], &v["Data"]["DigitalHumanId"]), (&json!(0), &json!("leo")), "{v}");

    // GetDigitalHumanList: the built-ins are public; this project imported none; paging by Offset/Limit.
    let all = z.data("GetDigitalHumanList", json!({})).await;
    assert_eq!(all["Total"], 2, "{all}");
    let humans = all["DigitalHumans"].as_array().expect("DigitalHumans");
    let ids: Vec<&str> = humans.iter().map(|h| h["DigitalHumanId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["anna", "leo"]);
    for h in humans {
        assert_eq!(shape(h), shape(&seed["Data"]), "{h}");
    }
    let public = z.data("GetDigitalHumanList", json!({"FetchMode": 2, "InferenceMode": 1})).await;
    assert_eq!(public["Total"], 2);
    let private = z.data("GetDigitalHumanList", json!({"FetchMode": 3})).await;
    assert_eq!((&private["Total"], &private["DigitalHumans"]), (&json!(0), &json!([])));
    let second = z.data("GetDigitalHumanList", json!({"Offset": 1, "Limit": 1})).await;
    assert_eq!(second["Total"], 2);
    assert_eq!(second["DigitalHumans"].as_array().unwrap().len(), 1);
    assert_eq!(second["DigitalHumans"][0]["DigitalHumanId"], "leo");
    let v = z.call("GetDigitalHumanList", json!({"Limit": 21})).await;
    assert_error(&v, 400000001, "Limit");
    let v = z.call("GetDigitalHumanList", json!({"FetchMode": 4})).await;
    assert_error(&v, 400000001, "FetchMode");

    // GetTimbreList: every voice of the native catalog, as {TimbreId, Name, AvatarUrl}.
    let voices: Value = native
        .get(format!("{}/api/v1/voices", z.base))
        .bearer_auth(&z.api_key)
        .send()
        .await
        .expect("native voices")
        .json()
        .await
        .expect("json");
    let voice_ids: Vec<&str> = voices["voices"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap()).collect();
    let t = z.data("GetTimbreList", json!({})).await;
    assert_eq!(t["Total"], voice_ids.len(), "{t}");
    let timbres = t["Timbres"].as_array().expect("Timbres");
    assert_eq!(timbres.len(), voice_ids.len().min(20));
    for (tm, id) in timbres.iter().zip(&voice_ids) {
        assert_eq!(shape(tm), json!({"TimbreId": "string", "Name": "string", "AvatarUrl": "string"}), "{tm}");
        assert_eq!(tm["TimbreId"], *id);
    }
    // With a digital human: its own voice, pictured by its thumbnail.
    let anna = z.data("GetTimbreList", json!({"DigitalHumanId": "anna"})).await;
    assert_eq!(anna["Total"], 1, "{anna}");
    assert_eq!(anna["Timbres"][0]["TimbreId"], "espeak-en-us-ava");
    assert_signed(&z, anna["Timbres"][0]["AvatarUrl"].as_str().unwrap(), "humans/anna/thumbnail.jpg");
    let page = z.data("GetTimbreList", json!({"Offset": 1, "Limit": 1})).await;
    assert_eq!(page["Timbres"][0]["TimbreId"], voice_ids[1]);
    let v = z.call("GetTimbreList", json!({"DigitalHumanId": "nobody"})).await;
    assert_error(&v, 400000003, "nobody");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zego_errors_answer_with_zego_codes() {
    let z = Zego::start("errors");

    // An unknown digital human, a missing or mistyped parameter.
    let v = z.call("GetDigitalHumanInfo", json!({"DigitalHumanId": "fa592895-d988-4584-b27b-97b8f4b921ad"})).await;
    assert_error(&v, 400000003, "fa592895-d988-4584-b27b-97b8f4b921ad");
    let v = z.call("GetDigitalHumanInfo", json!({})).await;
    assert_error(&v, 400000001, "DigitalHumanId");
    let v = z.call("GetDigitalHumanInfo", json!({"DigitalHumanId": 7})).await;
    assert_error(&v, 400000001, "DigitalHumanId");
    let (status, v) = z.post_query(&z.query("GetDigitalHumanInfo"), &json!(["anna"])).await;
    assert_eq!(status, 200);
    assert_error(&v, 400000001, "JSON object");

    // Unknown Actions, including ZEGO's RTC-room drive, which doppel does not serve (it has no ZEGO rooms).
    for action in ["NoSuchAction", "DriveByRTCStream"] {
        let v = z.call(action, json!({})).await;
        assert_error(&v, 400000001, action);
    }

    // A wrong signature, a wrong secret, an AppId that does not exist.
    let ts = now_secs();
    let n = nonce();
    let good = z.signed_query("GetDigitalHumanList", z.app_id, &z.secret, &n, ts);
    let sig = signature(&z.app_id.to_string(), &n, &z.secret, &ts.to_string());
    let flipped = format!("{}{}", &sig[..31], if sig.ends_with('0') { '1' } else { '0' });
    let (status, v) = z.post_query(&good.replace(&sig, &flipped), &json!({})).await;
    assert_eq!(status, 200);
    assert_error(&v, 100000005, "signature");
    let (_, v) =
        z.post_query(&z.signed_query("GetDigitalHumanList", z.app_id, "wrong", &nonce(), ts), &json!({})).await;
    assert_error(&v, 100000005, "signature");
    let other = z.app_id.wrapping_add(1).max(1);
    for secret in [z.secret.as_str(), ""] {
        let (_, v) =
            z.post_query(&z.signed_query("GetDigitalHumanList", other, secret, &nonce(), ts), &json!({})).await;
        assert_error(&v, 100000005, "signature");
    }

    // A timestamp 20 minutes old (or ahead), correctly signed, has expired.
    for skew in [-20 * 60, 20 * 60] {
        let q = z.signed_query("GetDigitalHumanList", z.app_id, &z.secret, &nonce(), now_secs() + skew);
        let (status, v) = z.post_query(&q, &json!({})).await;
        assert_eq!(status, 200);
        assert_error(&v, 100000004, "expired");
    }

    // A signed query works once; its replay is refused.
    let q = z.query("GetDigitalHumanList");
    assert_eq!(z.post_query(&q, &json!({})).await.1["Code"], 0);
    let (_, v) = z.post_query(&q, &json!({})).await;
    assert_error(&v, 100000005, "SignatureNonce");

    // Missing or unsupported common parameters are named.
    let (_, v) = z
        .post_query(&z.query("GetDigitalHumanList").replace("SignatureVersion=2.0", "SignatureVersion=1.0"), &json!({}))
        .await;
    assert_error(&v, 400000001, "SignatureVersion");
    let no_nonce =
        format!("Action=GetDigitalHumanList&AppId={}&Timestamp={ts}&Signature={sig}&SignatureVersion=2.0", z.app_id);
    let (_, v) = z.post_query(&no_nonce, &json!({})).await;
    assert_error(&v, 400000001, "SignatureNonce");

    // Only GET and POST.
    let resp = z.http.put(format!("{}/?{}", z.base, z.query("GetDigitalHumanList"))).send().await.expect("PUT");
    assert_eq!(resp.status().as_u16(), 405);
    let v: Value = resp.json().await.expect("json");
    assert_error(&v, 400000001, "PUT");

    // 10 calls per second per Action: the 11th call within one second is refused, other Actions are not.
    let start = Instant::now();
    let mut codes = Vec::new();
    for _ in 0..11 {
        codes.push(z.call("GetTimbreList", json!({})).await["Code"].as_i64().unwrap());
    }
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_millis(950), "11 calls took {elapsed:?}: too slow to test a one-second window");
    assert_eq!(codes[..10], [0; 10], "{codes:?}");
    assert_eq!(codes[10], 400010009, "{codes:?}");
    let v = z.call("GetTimbreList", json!({})).await;
    assert_error(&v, 400010009, "GetTimbreList");
    assert_eq!(z.call("GetDigitalHumanList", json!({})).await["Code"], 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(z.call("GetTimbreList", json!({})).await["Code"], 0, "the window slides");

    // The native API is not shadowed, even by a query that looks like ZEGO's.
    let native = reqwest::Client::builder().no_proxy().build().expect("client");
    for path in ["/api/v1/digital-humans", "/api/v1/digital-humans?AppId=1&SignatureVersion=2.0"] {
        let resp = native.get(format!("{}{path}", z.base)).bearer_auth(&z.api_key).send().await.expect("native");
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["count"], 2, "{path}: {v}");
        assert!(v["digital_humans"].is_array(), "{path}: {v}");
    }
}

/// A local HTTP server that records the callbacks POSTed to `/cb` and serves `wav` at `/voice.wav`.
async fn callback_receiver(wav: Vec<u8>) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use axum::routing::{get, post};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = seen.clone();
    let app = axum::Router::new()
        .route(
            "/cb",
            post(move |axum::Json(v): axum::Json<Value>| {
                let keep = keep.clone();
                async move {
                    keep.lock().unwrap().push(v);
                    "ok"
                }
            }),
        )
        .route("/voice.wav", get(move || async move { ([("content-type", "audio/wav")], wav.clone()) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

impl Zego {
    /// Calls a polling Action, waiting out ZEGO's rate limit (10 calls per second per Action) when it answers
    /// `400010009`; returns `Data`.
    async fn poll(&self, action: &str, body: Value) -> Value {
        loop {
            let v = self.call(action, body.clone()).await;
            if v["Code"] != 400_010_009 {
                assert_eq!(v["Code"], 0, "{action} {body}: {v}");
                return v["Data"].clone();
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Polls `GetDriveStatus` until drive `drive` has `status`.
    async fn wait_drive(&self, task: &str, drive: &str, status: i64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let d = self.poll("GetDriveStatus", json!({"TaskId": task, "DriveId": drive})).await;
            if d["DriveList"][0]["Status"] == status {
                return;
            }
            assert!(Instant::now() < deadline, "drive {drive} never reached {status}: {d}");
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Polls `GetDigitalHumanStreamTaskStatus` until the task has `status`; returns `Data`.
    async fn wait_task(&self, task: &str, status: i64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let d = self.poll("GetDigitalHumanStreamTaskStatus", json!({"TaskId": task})).await;
            if d["Status"] == status {
                return d;
            }
            assert!(Instant::now() < deadline, "task {task} never reached {status}: {d}");
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zego_stream_tasks_are_created_driven_interrupted_and_stopped() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    // A recording to drive with: `doppel speak` output, served over HTTP and sent as 16 kHz PCM.
    let tmp = crate::support::TempDir::new("zego-live-voice");
    let wav = tmp.path().join("voice.wav");
    let out = crate::support::doppel_command()
        .args(["speak", "--text", "This is a recorded voice driving the live avatar, one sentence at a time.", "-o"])
        .arg(&wav)
        .output()
        .expect("doppel speak");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (base, callbacks) = callback_receiver(std::fs::read(&wav).unwrap()).await;
    let z = Zego::start_with(
        "streams",
        &Opts::new().workers(0).env("DOPPEL_LIVE_MAX_STREAMS", 2).env("DOPPEL_FETCH_ALLOW_PRIVATE", "true"),
    );
    let create = |stream_id: &str| {
        json!({
            "DigitalHumanConfig": {"DigitalHumanId": "anna", "BackgroundColor": "#102030"},
            "RTCConfig": {"RoomId": "room-1", "StreamId": stream_id},
            "VideoConfig": {"Width": 720, "Height": 1280, "Bitrate": 1_500_000},
            "TTL": 600,
            "MaxIdleTime": 120,
            "CallbackUrl": format!("{base}/cb"),
        })
    };

    // Refusals name the field, with ZEGO's codes.
    let bad = |patch: Value| {
        let mut b = create("s-bad");
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let v = z.call("CreateDigitalHumanStreamTask", bad(json!({"DigitalHumanConfig": {}}))).await;
    assert_error(&v, 400_000_001, "DigitalHumanConfig.DigitalHumanId");
    let v =
        z.call("CreateDigitalHumanStreamTask", bad(json!({"DigitalHumanConfig": {"DigitalHumanId": "nobody"}}))).await;
    assert_error(&v, 400_000_003, "nobody");
    let v = z.call("CreateDigitalHumanStreamTask", bad(json!({"VideoConfig": {"Width": 1000, "Height": 1000}}))).await;
    assert_error(&v, 400_000_001, "VideoConfig.Width");
    let v = z.call("CreateDigitalHumanStreamTask", bad(json!({"TTL": 5}))).await;
    assert_error(&v, 400_000_001, "TTL is 5, out of range [10, 86400]");
    let v = z
        .call("CreateDigitalHumanStreamTask", bad(json!({"RTCConfig": {"RoomId": "r", "StreamId": "no spaces"}})))
        .await;
    assert_error(&v, 400_000_001, "RTCConfig.StreamId");

    // Two streams; the StreamId is unique among running tasks; the third is over the limit.
    let d = z.data("CreateDigitalHumanStreamTask", create("s-1")).await;
    let task = d["TaskId"].as_str().expect("TaskId").to_string();
    for k in ["WhepUrl", "ViewerToken", "ViewerUrl"] {
        assert!(d[k].as_str().is_some_and(|s| s.starts_with("http") || k == "ViewerToken"), "{k}: {d}");
    }
    assert_error(&z.call("CreateDigitalHumanStreamTask", create("s-1")).await, 400_000_015, "s-1");
    let other = z.data("CreateDigitalHumanStreamTask", create("s-2")).await["TaskId"].as_str().unwrap().to_string();
    assert_error(&z.call("CreateDigitalHumanStreamTask", create("s-3")).await, 400_000_008, "2 stream tasks");

    let st = z.wait_task(&task, 3).await;
    assert_eq!((st["RoomId"].as_str(), st["StreamId"].as_str()), (Some("room-1"), Some("s-1")), "{st}");
    assert!(st["CreateTime"].as_i64().is_some_and(|t| (t - now_secs()).abs() < 120), "{st}");
    let q = z.data("QueryDigitalHumanStreamTasks", json!({})).await;
    let ids: Vec<&str> = q["TaskList"].as_array().unwrap().iter().filter_map(|t| t["TaskId"].as_str()).collect();
    assert!(ids.contains(&task.as_str()) && ids.contains(&other.as_str()), "{q}");
    assert_error(&z.call("GetDigitalHumanStreamTaskStatus", json!({"TaskId": "nope"})).await, 400_000_005, "nope");

    // Text drives: queued in order; an interrupt ends the playing one and drops the rest.
    let say = |text: &str, timbre: &str, mode: i64| {
        json!({"TaskId": task, "Text": text, "InterruptMode": mode,
               "TTSConfig": {"TimbreId": timbre, "SpeechRate": 100, "Volume": 60}})
    };
    let mut no_timbre = say("Hello.", "x", 0);
    no_timbre["TTSConfig"] = json!({});
    assert_error(&z.call("DriveByText", no_timbre).await, 400_000_001, "TTSConfig.TimbreId");
    assert_error(&z.call("DriveByText", say("Hello.", "no-such-voice", 0)).await, 400_000_004, "no-such-voice");
    let long = "This sentence keeps the avatar busy for a few seconds, so that the next one has to wait its turn.";
    let first = z.data("DriveByText", say(long, "espeak-en-us-ava", 0)).await["DriveId"].as_str().unwrap().to_string();
    let second = z.data("DriveByText", say(long, "espeak-en-us-ava", 0)).await["DriveId"].as_str().unwrap().to_string();
    z.wait_drive(&task, &first, 2).await;
    let all = z.data("GetDriveStatus", json!({"TaskId": task})).await;
    assert_eq!(all["DriveList"][1]["Status"], 1, "the second waits: {all}");
    z.wait_drive(&task, &first, 4).await;
    z.wait_drive(&task, &second, 2).await;
    z.data("InterruptDriveTask", json!({"TaskId": task})).await;
    z.wait_drive(&task, &second, 5).await;

    // Audio drives: one from a URL that answers nothing fails alone; one from a real URL plays.
    let broken = z.data("DriveByAudio", json!({"TaskId": task, "AudioUrl": "http://127.0.0.1:1/missing.wav"})).await;
    let broken = broken["DriveId"].as_str().unwrap().to_string();
    z.wait_drive(&task, &broken, 3).await;
    assert_eq!(z.data("GetDigitalHumanStreamTaskStatus", json!({"TaskId": task})).await["Status"], 3);
    let heard = z.data("DriveByAudio", json!({"TaskId": task, "AudioUrl": format!("{base}/voice.wav")})).await;
    let heard = heard["DriveId"].as_str().unwrap().to_string();
    z.wait_drive(&task, &heard, 2).await;
    z.wait_drive(&task, &heard, 4).await;

    // Actions.
    z.data("DoAction", json!({"TaskId": task, "Action": "wave"})).await;
    assert_error(&z.call("DoAction", json!({"TaskId": task, "Action": "fly"})).await, 400_000_001, "wave");

    // PCM over the WebSocket: Start, binary PCM (16 kHz), Stop.
    let ws = z.data("DriveByWsStream", json!({"TaskId": task})).await;
    let (ws_drive, address) = (ws["DriveId"].as_str().unwrap().to_string(), ws["WssAddress"].as_str().unwrap());
    assert!(address.starts_with("ws://") && address.contains("Token="), "{ws}");
    let (mut socket, _) = tokio_tungstenite::connect_async(address).await.expect("WebSocket");
    let start = |id: &str| {
        Message::Text(json!({"Action": "Start", "Payload": {"DriveId": id, "SampleRate": 16000}}).to_string().into())
    };
    socket.send(start("not-a-drive")).await.unwrap();
    let reply = socket.next().await.unwrap().unwrap();
    assert!(reply.to_text().unwrap().contains("400000001"), "{reply}");
    socket.send(start(&ws_drive)).await.unwrap();
    let reply = socket.next().await.unwrap().unwrap();
    assert!(reply.to_text().unwrap().contains("\"Code\":0"), "{reply}");
    let pcm = doppel_media::decode::decode_audio(&wav, 16_000, 1).expect("decode");
    let bytes: Vec<u8> = pcm.iter().flat_map(|s| ((s * 32767.0) as i16).to_le_bytes()).collect();
    for (i, chunk) in bytes.chunks(4096).enumerate() {
        socket.send(Message::Binary(chunk.to_vec().into())).await.unwrap();
        if i == 3 {
            z.wait_drive(&task, &ws_drive, 2).await;
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    socket
        .send(Message::Text(json!({"Action": "Stop", "Payload": {"DriveId": ws_drive}}).to_string().into()))
        .await
        .unwrap();
    z.wait_drive(&task, &ws_drive, 4).await;
    drop(socket);

    // Stop: the task ends, stays queryable, and refuses what needs a stream.
    z.data("StopDigitalHumanStreamTask", json!({"TaskId": other})).await;
    z.data("StopDigitalHumanStreamTask", json!({"TaskId": task})).await;
    z.wait_task(&task, 5).await;
    assert_error(&z.call("StopDigitalHumanStreamTask", json!({"TaskId": task})).await, 400_000_007, "stopped");
    assert_error(&z.call("DriveByText", say("Hello.", "espeak-en-us-ava", 0)).await, 400_000_007, "stopped");
    let q = z.data("QueryDigitalHumanStreamTasks", json!({})).await;
    assert!(!q.to_string().contains(&task), "a stopped task is not running: {q}");

    // Callbacks: EventType 3 (task status) and 4 (drive status), signed with the server secret as ZEGO signs.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = callbacks.lock().unwrap().clone();
        let of_task: Vec<&Value> = seen.iter().filter(|v| v["TaskId"] == task.as_str()).collect();
        let task_statuses: Vec<i64> =
            of_task.iter().filter(|v| v["EventType"] == 3).filter_map(|v| v["Detail"]["Status"].as_i64()).collect();
        let drive_statuses: Vec<i64> =
            of_task.iter().filter(|v| v["EventType"] == 4).filter_map(|v| v["Detail"]["Status"].as_i64()).collect();
        let complete = task_statuses.contains(&3)
            && task_statuses.contains(&5)
            && [1, 2, 3, 4, 5].iter().all(|s| drive_statuses.contains(s));
        if complete {
            for v in &of_task {
                let (ts, nonce) = (v["Timestamp"].as_str().unwrap(), v["Nonce"].as_str().unwrap());
                assert_eq!(v["Signature"], doppel_server::live::callback_signature(&z.secret, ts, nonce), "{v}");
                assert_eq!(v["AppId"], z.app_id, "{v}");
            }
            break;
        }
        assert!(Instant::now() < deadline, "callbacks so far: task {task_statuses:?}, drives {drive_statuses:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn the_callback_signature_is_zegos() {
    // vendor-apis.md §1.2: nonce=123412, timestamp=1470820198, secret='secret'.
    assert_eq!(
        doppel_server::live::callback_signature("secret", "1470820198", "123412"),
        "5bd59fd62953a8059fb7eaba95720f66d19e4517"
    );
}
