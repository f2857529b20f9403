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
        let server = Server::start_temp(&format!("zego-{name}"), &Opts::new());
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

    // Unknown Actions, including the stream-task ones not served yet.
    for action in ["NoSuchAction", "CreateDigitalHumanStreamTask"] {
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
