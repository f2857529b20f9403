//! End-to-end tests of the Alibaba Cloud ICE dialect: the real `doppel serve` on a temporary data directory,
//! driven by the official Python SDK (`tests/sdk/ice_client.py`, both signature schemes) and by requests signed
//! here with the server's own signer, checked against seed 001 and against the native API.
//!
//! The SDK test needs the test virtualenv (`scripts/test-venv.sh`; `DOPPEL_TEST_VENV`, default `.venv-test` in
//! the workspace): without it the test is skipped with a message, or fails when `DOPPEL_REQUIRE_SDK=1`.

use std::process::Command;
use std::time::{Duration, Instant};

use doppel_server::dialect::ice::sign;
use serde_json::{json, Value};

use crate::support::{sdk_python, workspace_root, Opts, Server};

/// Seed 001's example answer of `GetAvatar`, as published.
const SEED_001_EXAMPLE: &str = r#"{
  "RequestId": "******11-DB8D-4A9A-875B-275798******",
  "Data": {
    "Avatar": {
      "AvatarId": "Avatar-XXXX",
      "AvatarName": "",
      "AvatarDescription": "",
      "AvatarType": "2DAvatar",
      "Thumbnail": "https://your-bucket.oss-cn-hangzhou.aliyuncs.com/thumbnail.png",
      "Portrait": "****571c704445f9a0ee011406c2****",
      "Transparent": true,
      "Width": 1080,
      "Height": 1920
    }
  },
  "Success": true
}"#;

/// A server for the test `name`.
fn start(name: &str) -> Server {
    Server::start_temp(&format!("ice-{name}"), &Opts::new())
}

/// Calls signed as ICE's clients sign them (and native ones, to compare).
impl Server {
    /// A native API call with the project's API key.
    async fn native(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("native request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// An RPC (HMAC-SHA1) call: the common parameters in the query, `business` in the query or, with
    /// `form_body`, in an `application/x-www-form-urlencoded` body, as the SDK's `v2` mode sends them.
    async fn rpc(&self, action: &str, business: &[(&str, &str)], form_body: bool) -> (u16, Value) {
        let owned = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let mut common = owned(&[
            ("Action", action),
            ("Format", "json"),
            ("Version", "2020-11-09"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
        ]);
        common.push(("AccessKeyId".into(), self.cred("access_key_id")));
        common.push(("SignatureNonce".into(), doppel_store::new_id()));
        common.push(("Timestamp".into(), doppel_server::iso_time(doppel_store::now_ms())));
        let business = owned(business);
        let all: Vec<(String, String)> = common.iter().chain(business.iter()).cloned().collect();
        let signature = sign::rpc_signature(&self.cred("access_key_secret"), &sign::rpc_string_to_sign("POST", &all));
        common.push(("Signature".into(), signature));
        let encode = |pairs: &[(String, String)]| {
            url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs.iter()).finish()
        };
        let req = if form_body {
            self.anon
                .post(format!("http://{}/?{}", self.addr, encode(&common)))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encode(&business))
        } else {
            let query: Vec<(String, String)> = common.into_iter().chain(business).collect();
            self.anon.post(format!("http://{}/?{}", self.addr, encode(&query)))
        };
        let resp = req.send().await.expect("rpc request");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("a JSON answer"))
    }

    /// An ACS3-HMAC-SHA256 call with the business parameters in the query, as the SDK's default mode sends it.
    async fn acs3(&self, action: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let query: Vec<(String, String)> = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let payload = sign::sha256_hex(b"");
        let headers: Vec<(String, String)> = vec![
            ("host".into(), self.addr.clone()),
            ("x-acs-action".into(), action.into()),
            ("x-acs-content-sha256".into(), payload.clone()),
            ("x-acs-date".into(), doppel_server::iso_time(doppel_store::now_ms())),
            ("x-acs-signature-nonce".into(), doppel_store::new_id()),
            ("x-acs-version".into(), "2020-11-09".into()),
        ];
        let mut map = axum::http::HeaderMap::new();
        for (k, v) in &headers {
            map.insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        let signed: Vec<String> = headers.iter().map(|(k, _)| k.clone()).collect();
        let canonical_headers = sign::acs3_canonical_headers(&map, &signed).expect("headers");
        let canonical = sign::acs3_canonical_request("POST", "/", &query, &canonical_headers, &signed, &payload);
        let signature = sign::acs3_signature(&self.cred("access_key_secret"), &sign::acs3_string_to_sign(&canonical));
        let authorization = format!(
            "ACS3-HMAC-SHA256 Credential={},SignedHeaders={},Signature={signature}",
            self.cred("access_key_id"),
            signed.join(";")
        );
        let qs = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(query.iter()).finish();
        let mut req = self.anon.post(format!("http://{}/?{qs}", self.addr)).header("authorization", authorization);
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().await.expect("acs3 request");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("a JSON answer"))
    }
}

/// The JSON's structure: every value replaced by its type name.
fn shape(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::String(_) => json!("string"),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!("integer"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("boolean"),
        Value::Null => json!("null"),
    }
}

/// Replaces the request id and signed URLs (which change with every call) by placeholders.
fn redact(mut v: Value, addr: &str) -> Value {
    if v["RequestId"].as_str().is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())) {
        v["RequestId"] = json!("<request-id>");
    }
    fn walk(v: &mut Value, prefix: &str) {
        match v {
            Value::Object(m) => m.values_mut().for_each(|x| walk(x, prefix)),
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, prefix)),
            Value::String(s) if s.starts_with(prefix) && s.contains("?expires=") && s.contains("&sig=") => {
                let path = s[prefix.len()..].split('?').next().unwrap_or("").to_string();
                *s = format!("<signed {path}>");
            }
            _ => {}
        }
    }
    walk(&mut v, &format!("http://{addr}/files/"));
    v
}

#[tokio::test]
async fn get_avatar_answers_seed_001_field_for_field() {
    let server = start("get-avatar");
    let seed: Value = serde_json::from_str(SEED_001_EXAMPLE).expect("seed example");
    let expected = json!({
        "RequestId": "<request-id>",
        "Data": {"Avatar": {
            "AvatarId": "anna",
            "AvatarName": "Anna",
            "AvatarDescription": "Business presenter, half-body, navy blazer",
            "AvatarType": "2DAvatar",
            "Thumbnail": "<signed humans/anna/thumbnail.jpg>",
            "Portrait": "<signed humans/anna/thumbnail.jpg>",
            "Transparent": true,
            "Width": 1080,
            "Height": 1920
        }},
        "Success": true
    });
    let by_acs3 = server.acs3("GetAvatar", &[("AvatarId", "anna")]).await;
    let by_rpc = server.rpc("GetAvatar", &[("AvatarId", "anna")], false).await;
    for (status, body) in [by_acs3, by_rpc] {
        assert_eq!(status, 200, "{body}");
        assert_eq!(shape(&body), shape(&seed), "GetAvatar's structure and types are seed 001's: {body}");
        assert_eq!(redact(body, &server.addr), expected);
    }
    // The signed thumbnail URL serves an image without credentials.
    let (_, body) = server.rpc("GetAvatar", &[("AvatarId", "leo")], false).await;
    let thumb = body["Data"]["Avatar"]["Thumbnail"].as_str().expect("Thumbnail").to_string();
    let resp = server.anon.get(&thumb).send().await.expect("thumbnail");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/jpeg");
    assert_eq!(&resp.bytes().await.expect("bytes")[..2], &[0xFF, 0xD8], "a JPEG");
    // ListAvatars has the same fields but the size.
    let (status, list) = server.acs3("ListAvatars", &[("PageSize", "100")]).await;
    assert_eq!(status, 200, "{list}");
    let mut keys: Vec<&str> =
        list["Data"]["AvatarList"][0].as_object().expect("avatar").keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["AvatarDescription", "AvatarId", "AvatarName", "AvatarType", "Portrait", "Thumbnail", "Transparent"]
    );
    assert_eq!(list["Data"]["TotalCount"], 2);
}

#[tokio::test]
async fn a_job_submitted_over_ice_is_a_native_job_and_back() {
    let server = start("jobs");
    // Parameters in a form body, as a v2 client may send them.
    let (status, body) = server
        .rpc(
            "SubmitAvatarVideoJob",
            &[
                ("InputConfig", r#"{"Text":"Form bodies work too, 你好."}"#),
                ("EditingConfig", r#"{"AvatarId":"leo","SpeechRate":-100}"#),
                ("OutputConfig", r#"{"Width":720,"Height":1280,"Bitrate":1500}"#),
                ("Title", "ice form job"),
            ],
            true,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let job_id = body["JobId"].as_str().expect("JobId").to_string();
    assert!(body["RequestId"].is_string());

    // The native API sees an ordinary job with the translated script.
    let (status, native) =
        server.native(reqwest::Method::GET, &format!("/api/v1/videos/{job_id}?show_script=true"), None).await;
    assert_eq!(status, 200, "{native}");
    assert_eq!(native["job_type"], "2D_DIGITAL_HUMAN_VIDEO");
    assert_eq!(native["model_asset_id"], "leo");
    assert_eq!(native["voice_config"]["speed"], 90);
    assert_eq!(native["video_config"], json!({"codec": "H264", "width": 720, "height": 1280, "bitrate": 1500}));
    assert_eq!(native["output_asset_config"]["asset_name"], "ice form job");

    let deadline = Instant::now() + Duration::from_secs(180);
    let native = loop {
        let (_, j) = server.native(reqwest::Method::GET, &format!("/api/v1/videos/{job_id}"), None).await;
        match j["state"].as_str() {
            Some("SUCCEED") => break j,
            Some("FAILED" | "CANCELED") => panic!("job failed: {j}\n{}", server.log_text()),
            _ if Instant::now() > deadline => panic!("job not done in 180 s: {j}"),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let (status, ice) = server.acs3("GetSmartHandleJob", &[("JobId", &job_id)]).await;
    assert_eq!(status, 200, "{ice}");
    assert_eq!(ice["State"], "Finished");
    assert_eq!(ice["JobId"], job_id.as_str());
    assert_eq!(ice["JobResult"]["MediaId"], native["output_asset_config"]["asset_id"]);
    assert_eq!(ice["SmartJobInfo"]["Title"], "ice form job");
    let media = ice["JobResult"]["MediaUrl"].as_str().expect("MediaUrl");
    let video = server.anon.get(media).send().await.expect("download").bytes().await.expect("bytes");
    assert_eq!(&video[4..8], b"ftyp", "an MP4");

    // …and a job made with the native API is visible to GetSmartHandleJob.
    let script = json!({"model_asset_id": "anna", "shoot_scripts": [{"sequence_no": 0,
        "shoot_script": {"script_type": "TEXT", "text_config": {"text": "Native job."}}}]});
    let (status, created) = server.native(reqwest::Method::POST, "/api/v1/videos", Some(&script)).await;
    assert_eq!(status, 200, "{created}");
    let native_id = created["job_id"].as_str().expect("job_id");
    let (status, ice) = server.rpc("GetSmartHandleJob", &[("JobId", native_id)], false).await;
    assert_eq!(status, 200, "{ice}");
    assert!(["Created", "Executing", "Finished"].contains(&ice["State"].as_str().unwrap_or("")), "{ice}");
}

#[tokio::test]
async fn protocol_errors_have_the_alibaba_cloud_shape() {
    let server = start("errors");
    let cases = [
        (server.rpc("DescribeRegions", &[], false).await, 404, "InvalidAction.NotFound"),
        (server.acs3("GetAvatar", &[]).await, 400, "MissingAvatarId"),
        (server.acs3("GetAvatar", &[("AvatarId", "nobody")]).await, 404, "InvalidAvatarId.NotFound"),
        (server.rpc("GetSmartHandleJob", &[("JobId", "nope")], false).await, 404, "InvalidJobId.NotFound"),
        (server.rpc("ListAvatars", &[("PageSize", "101")], false).await, 400, "InvalidParameter"),
        (
            server
                .rpc(
                    "SubmitAvatarVideoJob",
                    &[("InputConfig", r#"{"Text":"Hello world"}"#), ("EditingConfig", r#"{"AvatarId":"nobody"}"#)],
                    false,
                )
                .await,
            404,
            "InvalidAvatarId.NotFound",
        ),
        (
            server
                .rpc(
                    "SubmitAvatarVideoJob",
                    &[
                        ("InputConfig", r#"{"Text":"Hello world"}"#),
                        ("EditingConfig", r#"{"AvatarId":"anna"}"#),
                        ("OutputConfig", r#"{"Width":700,"Height":1280}"#),
                    ],
                    false,
                )
                .await,
            400,
            "InvalidParameter",
        ),
    ];
    for ((status, body), want_status, want_code) in cases {
        assert_eq!((status, body["Code"].as_str().unwrap_or("")), (want_status, want_code), "{body}");
        let mut keys: Vec<&str> = body.as_object().expect("object").keys().map(|k| k.as_str()).collect();
        keys.sort();
        assert_eq!(keys, ["Code", "Message", "RequestId"], "{body}");
    }
    let (_, bad_size) = server
        .rpc(
            "SubmitAvatarVideoJob",
            &[
                ("InputConfig", r#"{"Text":"Hello world"}"#),
                ("EditingConfig", r#"{"AvatarId":"anna"}"#),
                ("OutputConfig", r#"{"Width":700,"Height":1280}"#),
            ],
            false,
        )
        .await;
    assert!(bad_size["Message"].as_str().unwrap_or("").starts_with("OutputConfig"), "{bad_size}");

    // Unsigned, and the wrong method.
    let resp =
        server.anon.post(format!("http://{}/?Action=GetAvatar&AvatarId=anna", server.addr)).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.json::<Value>().await.unwrap()["Code"], "IncompleteSignature");
    let resp = server.anon.put(format!("http://{}/?Action=GetAvatar", server.addr)).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "GET, POST");
}

#[tokio::test]
async fn the_official_sdk_works_with_both_signature_schemes() {
    let test = "the_official_sdk_works_with_both_signature_schemes";
    let Some(python) = sdk_python(test, "Alibaba Cloud ICE", "alibabacloud_ice20201109, alibabacloud_tea_openapi")
    else {
        return;
    };
    let server = start("sdk");
    let script = workspace_root().join("tests/sdk/ice_client.py");
    let (addr, ak, sk) = (server.addr.clone(), server.cred("access_key_id"), server.cred("access_key_secret"));
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args([&addr, &ak, &sk])
            .env("DOPPEL_SDK_TIMEOUT", "180")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .output()
            .expect("run ice_client.py")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ice_client.py failed:\n{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log_text()
    );
    // The SDK's jobs are native jobs.
    let jobs: Vec<&str> =
        stdout.lines().find_map(|l| l.strip_prefix("ICE_JOBS ")).expect("ICE_JOBS line").split_whitespace().collect();
    assert_eq!(jobs.len(), 2, "{stdout}");
    for id in jobs {
        let (status, job) = server.native(reqwest::Method::GET, &format!("/api/v1/videos/{id}"), None).await;
        assert_eq!(status, 200, "{job}");
        assert_eq!(job["state"], "SUCCEED", "{job}");
        assert!(job["output_asset_config"]["preview_video_url"].is_string(), "{job}");
    }
}
