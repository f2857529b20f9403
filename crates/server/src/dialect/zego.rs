//! ZEGO's Digital Human API dialect: `GET|POST /?Action=…&AppId=…&SignatureNonce=…&Timestamp=…&Signature=…&
//! SignatureVersion=2.0` (see `shared/reference/vendor-apis.md` §1), so a ZEGO client works against doppel by
//! changing only its endpoint.
//!
//! Request: the common parameters are in the query; the business parameters in a JSON body (POST) or in the
//! query (GET). A POST's query may carry business parameters too; the body wins where both name one.
//!
//! Order of checks (the first that fails answers): method (GET or POST) → `SignatureVersion` is `2.0` → the
//! common parameters are present and well formed (`400000001` naming the parameter) → `Timestamp` within ±10
//! minutes of now (`100000004`) → `AppId` names live credentials and `Signature` = lowercase hex
//! `md5(AppId + SignatureNonce + ServerSecret + Timestamp)`, compared in constant time (`100000005`; an unknown
//! AppId answers the same, so callers cannot probe for app ids) → `SignatureNonce` not used before within the
//! window (`100000005`) → `Action` known (`400000001` naming it) → at most 10 calls per second per Action per
//! AppId (`400010009`) → the Action's own parameters.
//!
//! Answer: `{"Code":0,"Message":"success","RequestId":…,"Data":{…}}`; an error has a non-zero `Code`, a
//! `Message` naming what was wrong, and no `Data`. ZEGO's docs describe outcomes only through `Code`, so every
//! answer is HTTP 200 except a method other than GET/POST (405, still in the envelope). `RequestId` is the
//! request id of the `X-Request-Id` header.
//!
//! Actions: [`ACTIONS`]: the catalog ([`humans`]) and the live stream tasks and drives ([`streams`]).

mod humans;
mod limit;
mod sign;
mod streams;

use std::collections::HashMap;

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

pub use limit::RateLimiter;
pub use sign::{check_signature, check_timestamp, signature, WINDOW_SECS};

use crate::error::ApiError;
use crate::AppState;

/// ZEGO's return codes used here (`Code` of the envelope).
pub mod code {
    pub const SUCCESS: i64 = 0;
    pub const SIGNATURE_EXPIRED: i64 = 100_000_004;
    pub const SIGNATURE_ERROR: i64 = 100_000_005;
    pub const INVALID_PARAMETER: i64 = 400_000_001;
    pub const DIGITAL_HUMAN_NOT_FOUND: i64 = 400_000_003;
    pub const TIMBRE_NOT_FOUND: i64 = 400_000_004;
    pub const TASK_NOT_FOUND: i64 = 400_000_005;
    pub const STREAM_NOT_STARTED: i64 = 400_000_006;
    pub const STREAM_STOPPED: i64 = 400_000_007;
    pub const STREAM_LIMIT: i64 = 400_000_008;
    pub const STREAM_ID_EXISTS: i64 = 400_000_015;
    pub const SYSTEM_ERROR: i64 = 400_010_000;
    pub const RATE_LIMITED: i64 = 400_010_009;
}

/// The Actions this server answers.
pub const ACTIONS: &[&str] = &[
    "GetDigitalHumanList",
    "GetDigitalHumanInfo",
    "GetTimbreList",
    "CreateDigitalHumanStreamTask",
    "GetDigitalHumanStreamTaskStatus",
    "QueryDigitalHumanStreamTasks",
    "StopDigitalHumanStreamTask",
    "DriveByText",
    "DriveByAudio",
    "DriveByWsStream",
    "InterruptDriveTask",
    "DoAction",
    "GetDriveStatus",
];

/// The documented QPS limit of every Action.
pub const QPS_LIMIT: usize = 10;

/// Largest request body read (the documented bodies are a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The common parameters, which are never business parameters.
const COMMON: &[&str] = &["Action", "AppId", "SignatureNonce", "Timestamp", "Signature", "SignatureVersion"];

/// An error answer: a ZEGO return code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZegoError {
    pub code: i64,
    pub message: String,
}

impl ZegoError {
    pub fn new(code: i64, message: impl Into<String>) -> ZegoError {
        ZegoError { code, message: message.into() }
    }

    /// `400000001`: a parameter is missing or invalid; `message` names it.
    pub fn param(message: impl Into<String>) -> ZegoError {
        ZegoError::new(code::INVALID_PARAMETER, format!("invalid parameter: {}", message.into()))
    }

    /// `400010000`: something failed on our side.
    pub fn system(e: impl std::fmt::Display) -> ZegoError {
        ZegoError::new(code::SYSTEM_ERROR, format!("system error: {e}"))
    }
}

impl From<ApiError> for ZegoError {
    fn from(e: ApiError) -> ZegoError {
        ZegoError::system(e.message)
    }
}

impl From<doppel_store::Error> for ZegoError {
    fn from(e: doppel_store::Error) -> ZegoError {
        ZegoError::system(e)
    }
}

/// This dialect's result type.
pub type ZegoResult<T> = Result<T, ZegoError>;

/// The business parameters of a request: the JSON body's members, then the query's non-common parameters.
#[derive(Debug, Clone, Default)]
pub struct Params {
    body: Map<String, Value>,
    query: HashMap<String, String>,
    /// Names the object these parameters are in (`VideoConfig.`), for messages.
    prefix: String,
}

impl Params {
    /// Parameters from a parsed body and a query (common parameters are ignored).
    pub fn new(body: Map<String, Value>, query: &HashMap<String, String>) -> Params {
        let query = query.iter().filter(|(k, _)| !COMMON.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone()));
        Params { body, query: query.collect(), prefix: String::new() }
    }

    /// The members of object parameter `name` (absent or null: no members); messages name them `name.Member`.
    pub fn object(&self, name: &str) -> ZegoResult<Params> {
        let prefix = format!("{}{name}.", self.prefix);
        match self.value(name) {
            None => Ok(Params { prefix, ..Params::default() }),
            Some(Value::Object(m)) => Ok(Params { body: m, query: HashMap::new(), prefix }),
            Some(other) => Err(ZegoError::param(format!("{}{name} must be an object, not {other}", self.prefix))),
        }
    }

    /// The elements of array parameter `name` that are objects, each named `name[i].`.
    pub fn objects(&self, name: &str) -> ZegoResult<Vec<Params>> {
        match self.value(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Object(m) => {
                        Ok(Params { body: m, query: HashMap::new(), prefix: format!("{}{name}[{i}].", self.prefix) })
                    }
                    other => {
                        Err(ZegoError::param(format!("{}{name}[{i}] must be an object, not {other}", self.prefix)))
                    }
                })
                .collect(),
            Some(other) => Err(ZegoError::param(format!("{}{name} must be an array, not {other}", self.prefix))),
        }
    }

    /// The full name of parameter `name` (with the enclosing objects).
    pub fn name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn value(&self, name: &str) -> Option<Value> {
        match self.body.get(name) {
            Some(Value::Null) | None => self.query.get(name).map(|s| Value::String(s.clone())),
            Some(v) => Some(v.clone()),
        }
    }

    /// A string parameter; absent, null and empty are all `None`.
    pub fn string(&self, name: &str) -> ZegoResult<Option<String>> {
        match self.value(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(ZegoError::param(format!("{} must be a string, not {other}", self.name(name)))),
        }
    }

    /// A required, non-empty string parameter.
    pub fn required_string(&self, name: &str) -> ZegoResult<String> {
        self.string(name)?.ok_or_else(|| ZegoError::param(format!("{} is required", self.name(name))))
    }

    /// An integer parameter within `[min, max]`, `default` when absent. A JSON string holding an integer is
    /// accepted, as GET queries carry every value as text.
    pub fn int(&self, name: &str, min: i64, max: i64, default: i64) -> ZegoResult<i64> {
        let n = match self.value(name) {
            None => return Ok(default),
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) if s.trim().is_empty() => return Ok(default),
            Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
            Some(_) => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            Some(n) => Err(ZegoError::param(format!("{} is {n}, out of range [{min}, {max}]", self.name(name)))),
            None => Err(ZegoError::param(format!("{} must be an integer", self.name(name)))),
        }
    }
}

/// Handles one request of this dialect.
pub async fn handle(state: AppState, req: Request) -> Response {
    match run(&state, req).await {
        Ok(data) => envelope(StatusCode::OK, code::SUCCESS, "success", Some(data)),
        Err((status, e)) => envelope(status, e.code, &e.message, None),
    }
}

/// The envelope of every answer.
fn envelope(status: StatusCode, code: i64, message: &str, data: Option<Value>) -> Response {
    let mut id = crate::error::current_request_id();
    if id.is_empty() {
        id = doppel_store::new_id();
    }
    let mut body = json!({"Code": code, "Message": message, "RequestId": id});
    if let Some(d) = data {
        body["Data"] = d;
    }
    let mut resp = (status, axum::Json(body)).into_response();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    }
    resp
}

/// The common parameters of a request, as sent (the signature covers the texts, not their parsed values).
#[derive(Debug, Clone)]
struct Common {
    app_id: u32,
    app_id_text: String,
    nonce: String,
    timestamp: i64,
    timestamp_text: String,
    signature: String,
}

/// Reads and checks the form of the common parameters (not the signature).
fn common(query: &HashMap<String, String>) -> ZegoResult<Common> {
    let get = |k: &str| query.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let required = |k: &str| get(k).map(str::to_string).ok_or_else(|| ZegoError::param(format!("{k} is required")));
    match get("SignatureVersion") {
        Some("2.0") => {}
        Some(v) => return Err(ZegoError::param(format!("SignatureVersion {v:?} is not supported; use 2.0"))),
        None => return Err(ZegoError::param("SignatureVersion is required")),
    }
    let app_id_text = required("AppId")?;
    let app_id = app_id_text
        .parse::<u32>()
        .map_err(|_| ZegoError::param(format!("AppId {app_id_text:?} is not an unsigned 32-bit integer")))?;
    let nonce = required("SignatureNonce")?;
    let timestamp_text = required("Timestamp")?;
    let timestamp = timestamp_text
        .parse::<i64>()
        .map_err(|_| ZegoError::param(format!("Timestamp {timestamp_text:?} is not a Unix time in seconds")))?;
    let signature = required("Signature")?;
    Ok(Common { app_id, app_id_text, nonce, timestamp, timestamp_text, signature })
}

fn now_secs() -> i64 {
    doppel_store::now_ms() / 1000
}

/// Parses a request body: empty is no parameters; otherwise a JSON object.
fn parse_body(bytes: &[u8]) -> ZegoResult<Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ZegoError::param("the request body must be a JSON object")),
        Err(e) => Err(ZegoError::param(format!(
            "the request body is not valid JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))),
    }
}

async fn run(state: &AppState, req: Request) -> Result<Value, (StatusCode, ZegoError)> {
    let ok = |e: ZegoError| (StatusCode::OK, e);
    if req.method() != Method::GET && req.method() != Method::POST {
        let m = req.method().clone();
        return Err((
            StatusCode::METHOD_NOT_ALLOWED,
            ZegoError::param(format!("method {m} is not supported; use POST")),
        ));
    }
    let mut query: HashMap<String, String> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()) {
        query.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    let c = common(&query).map_err(ok)?;

    // Authentication.
    let now = now_secs();
    check_timestamp(c.timestamp, now).map_err(ok)?;
    let creds = state.db.credentials_by_zego_app_id(c.app_id).await.map_err(|e| ok(e.into()))?;
    // An unknown AppId is checked against a secret nobody has, so it answers like a wrong signature.
    let secret = creds.as_ref().map(|c| c.zego_server_secret.as_str()).unwrap_or("");
    let checked = check_signature(&c.app_id_text, &c.nonce, secret, &c.timestamp_text, &c.signature);
    let creds = match (creds, checked) {
        (Some(creds), Ok(())) => creds,
        (_, Err(e)) => return Err(ok(e)),
        // A signature made with an empty secret must not open an AppId that does not exist.
        (None, Ok(())) => return Err(ok(sign::mismatch())),
    };
    let expires_ms = (c.timestamp + WINDOW_SECS + 1) * 1000;
    let fresh =
        state.db.use_nonce(&format!("zego:{}", c.app_id), &c.nonce, expires_ms).await.map_err(|e| ok(e.into()))?;
    if !fresh {
        return Err(ok(ZegoError::new(
            code::SIGNATURE_ERROR,
            "signature error: this SignatureNonce was already used; sign every call with a new nonce",
        )));
    }

    // Action and rate limit.
    let action = query.get("Action").map(|s| s.trim()).filter(|s| !s.is_empty());
    let Some(action) = action else { return Err(ok(ZegoError::param("Action is required"))) };
    let Some(action) = ACTIONS.iter().copied().find(|a| *a == action) else {
        return Err(ok(ZegoError::param(format!(
            "Action {action:?} is not supported (supported: {})",
            ACTIONS.join(", ")
        ))));
    };
    if !limit::global().check(c.app_id, action, std::time::Instant::now()) {
        return Err(ok(ZegoError::new(
            code::RATE_LIMITED,
            format!("rate limited: at most {QPS_LIMIT} {action} calls per second per AppId"),
        )));
    }

    // Business parameters.
    let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES).await.map_err(|_| {
        ok(ZegoError::param(format!("the request body is unreadable or larger than {MAX_BODY_BYTES} bytes")))
    })?;
    let params = Params::new(parse_body(&bytes).map_err(ok)?, &query);
    let project = creds.project_id.as_str();
    let data = match action {
        "GetDigitalHumanList" => humans::list(state, project, &params, now).await,
        "GetDigitalHumanInfo" => humans::info(state, project, &params, now).await,
        "GetTimbreList" => humans::timbres(state, project, &params, now).await,
        "CreateDigitalHumanStreamTask" => streams::create(state, project, &params).await,
        "GetDigitalHumanStreamTaskStatus" => streams::status(state, project, &params).await,
        "QueryDigitalHumanStreamTasks" => streams::query(state, project).await,
        "StopDigitalHumanStreamTask" => streams::stop(state, project, &params).await,
        "DriveByText" => streams::drive_text(state, project, &params).await,
        "DriveByAudio" => streams::drive_audio(state, project, &params).await,
        "DriveByWsStream" => streams::drive_ws(state, project, &params).await,
        "InterruptDriveTask" => streams::interrupt(state, project, &params).await,
        "DoAction" => streams::do_action(state, project, &params).await,
        "GetDriveStatus" => streams::drive_status(state, project, &params).await,
        other => Err(ZegoError::param(format!("Action {other:?} is not supported"))),
    };
    data.map_err(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn common_parameters_are_checked_and_named() {
        let good = [
            ("AppId", "12345"),
            ("SignatureNonce", "4fd24687296dd9f3"),
            ("Timestamp", "1615186943"),
            ("Signature", "43e5cfcca828314675f91b001390566a"),
            ("SignatureVersion", "2.0"),
        ];
        let c = common(&q(&good)).expect("valid");
        assert_eq!((c.app_id, c.timestamp), (12345, 1_615_186_943));
        for (i, (name, _)) in good.iter().enumerate() {
            let mut missing = good.to_vec();
            missing.remove(i);
            let e = common(&q(&missing)).unwrap_err();
            assert_eq!(e.code, code::INVALID_PARAMETER);
            assert!(e.message.contains(name), "{e:?}");
        }
        let mut v1 = good.to_vec();
        v1[4] = ("SignatureVersion", "1.0");
        assert!(common(&q(&v1)).unwrap_err().message.contains("SignatureVersion"));
        let mut bad_app = good.to_vec();
        bad_app[0] = ("AppId", "-1");
        assert!(common(&q(&bad_app)).unwrap_err().message.contains("AppId"));
        let mut bad_ts = good.to_vec();
        bad_ts[2] = ("Timestamp", "yesterday");
        assert!(common(&q(&bad_ts)).unwrap_err().message.contains("Timestamp"));
    }

    #[test]
    fn params_come_from_the_body_then_the_query() {
        let body = parse_body(br#"{"DigitalHumanId": "anna", "Limit": 5, "Offset": "2", "Bad": 1.5}"#).unwrap();
        let p = Params::new(body, &q(&[("DigitalHumanId", "leo"), ("FetchMode", "3"), ("AppId", "1")]));
        assert_eq!(p.string("DigitalHumanId").unwrap().as_deref(), Some("anna"));
        assert_eq!(p.int("Limit", 1, 20, 20).unwrap(), 5);
        assert_eq!(p.int("Offset", 0, 1_000_000, 0).unwrap(), 2);
        assert_eq!(p.int("FetchMode", 1, 3, 1).unwrap(), 3);
        assert_eq!(p.int("InferenceMode", 1, 2, 1).unwrap(), 1);
        assert_eq!(p.string("AppId").unwrap(), None, "common parameters are not business parameters");
        assert!(p.int("Bad", 0, 10, 0).unwrap_err().message.contains("Bad must be an integer"));
        assert!(p.int("Limit", 1, 4, 4).unwrap_err().message.contains("Limit is 5, out of range [1, 4]"));
        assert!(p.string("Limit").unwrap_err().message.contains("Limit must be a string"));
        assert!(p.required_string("Nothing").unwrap_err().message.contains("Nothing is required"));
        assert!(parse_body(b"  ").unwrap().is_empty());
        assert_eq!(parse_body(b"[1]").unwrap_err().code, code::INVALID_PARAMETER);
        assert_eq!(parse_body(b"{").unwrap_err().code, code::INVALID_PARAMETER);
    }
}
