//! Who sent an ICE request: checks its ACS3-HMAC-SHA256 or RPC HMAC-SHA1 signature (see [`super::sign`]) against
//! the access key's secret, its time against the clock, and its nonce against the ones already used, and
//! answers the credentials (and so the project) it was signed with.
//!
//! Order of checks, the first that fails answering: the signature's parameters are present and well formed
//! (400) → the time is within 15 minutes of now (403 `InvalidTimeStamp.Expired`) → the access key exists and is
//! live (403 `InvalidAccessKeyId.NotFound`) → the signature matches, compared in constant time (403
//! `SignatureDoesNotMatch`, with the string the server signed, as Alibaba Cloud does) → the nonce was not used
//! by this access key within the window (403 `SignatureNonceUsed`). A request with no signature at all is 401.

use axum::http::{header, HeaderMap, StatusCode};
use doppel_store::{Credentials, Db};

use super::sign::{self, ACS3_ALGORITHM, RPC_METHOD, RPC_VERSION, WINDOW_MS};
use super::IceError;
use crate::dialect::constant_time_eq;

/// Which signature a request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Authorization: ACS3-HMAC-SHA256 …` (the SDK's default).
    Acs3,
    /// `Signature`, `SignatureNonce`, `Timestamp`, `AccessKeyId` parameters (`signature_algorithm='v2'`).
    Rpc,
}

/// What authentication looks at in a request.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    /// The query's parameters, decoded, in order.
    pub query: &'a [(String, String)],
    /// The form body's parameters, decoded (empty unless the body is `application/x-www-form-urlencoded`).
    pub form: &'a [(String, String)],
    pub body: &'a [u8],
}

/// An authenticated request.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub credentials: Credentials,
    pub scheme: Scheme,
}

fn incomplete(message: impl Into<String>) -> IceError {
    IceError::new(StatusCode::BAD_REQUEST, "IncompleteSignature", message)
}

fn forbidden(code: &str, message: impl Into<String>) -> IceError {
    IceError::new(StatusCode::FORBIDDEN, code, message)
}

/// Checks the request's signature at `now_ms` and returns the credentials it was made with.
pub async fn authenticate(db: &Db, req: &Incoming<'_>, now_ms: i64) -> Result<Authenticated, IceError> {
    let authorization = req.headers.get(header::AUTHORIZATION).map(|v| String::from_utf8_lossy(v.as_bytes()));
    let has_rpc = req
        .query
        .iter()
        .chain(req.form)
        .any(|(k, _)| matches!(k.as_str(), "Signature" | "AccessKeyId" | "SignatureNonce" | "SignatureMethod"));
    match authorization {
        Some(a) if a.trim_start().starts_with("ACS3-") => acs3(db, req, &a, now_ms).await,
        _ if has_rpc => rpc(db, req, now_ms).await,
        _ => Err(IceError::new(
            StatusCode::UNAUTHORIZED,
            "IncompleteSignature",
            "the request is not signed: send an `Authorization: ACS3-HMAC-SHA256 …` header, or the AccessKeyId, \
             SignatureNonce, Timestamp, SignatureMethod, SignatureVersion and Signature parameters",
        )),
    }
}

/// Checks the time, the key, the signature and the nonce, in that order. `check` compares the signature with
/// one computed with the key's secret and returns what the server signed, for the mismatch message.
async fn finish(
    db: &Db,
    scheme: Scheme,
    access_key_id: &str,
    time: (&str, &str),
    nonce: &str,
    now_ms: i64,
    check: impl FnOnce(&str) -> (bool, String),
) -> Result<Authenticated, IceError> {
    let (time_name, time_text) = time;
    let at = crate::parse_iso_time(time_text).ok_or_else(|| {
        IceError::new(
            StatusCode::BAD_REQUEST,
            "InvalidTimeStamp.Format",
            format!("{time_name} {time_text:?} is not a UTC time such as 2026-11-20T08:00:00Z"),
        )
    })?;
    if !sign::time_ok(at, now_ms) {
        return Err(forbidden(
            "InvalidTimeStamp.Expired",
            format!(
                "{time_name} {time_text} is more than {} minutes from the server's time {}",
                WINDOW_MS / 60_000,
                crate::iso_time(now_ms)
            ),
        ));
    }
    if nonce.len() > 128 {
        return Err(incomplete("the signature nonce is longer than 128 characters"));
    }
    let credentials = db.credentials_by_access_key(access_key_id).await?.ok_or_else(|| {
        forbidden("InvalidAccessKeyId.NotFound", format!("access key id {access_key_id:?} does not exist"))
    })?;
    let (ok, detail) = check(&credentials.access_key_secret);
    if !ok {
        return Err(forbidden(
            "SignatureDoesNotMatch",
            format!(
                "the request signature does not match the signature the server calculated; check your \
                 access key secret and signing method. Server string to sign is: {detail}"
            ),
        ));
    }
    let fresh = db.use_nonce(&format!("ice:{}", credentials.access_key_id), nonce, at + WINDOW_MS + 1000).await?;
    if !fresh {
        return Err(forbidden(
            "SignatureNonceUsed",
            format!("the signature nonce {nonce:?} has already been used; sign every request with a new nonce"),
        ));
    }
    Ok(Authenticated { credentials, scheme })
}

async fn acs3(db: &Db, req: &Incoming<'_>, authorization: &str, now_ms: i64) -> Result<Authenticated, IceError> {
    let auth = sign::parse_acs3_authorization(authorization)
        .map_err(|e| incomplete(format!("the Authorization header is malformed: {e}")))?;
    if auth.algorithm != ACS3_ALGORITHM {
        return Err(IceError::param_code(
            "UnsupportedSignatureMethod",
            format!("signature algorithm {} is not supported; use {ACS3_ALGORITHM}", auth.algorithm),
        ));
    }
    let header = |name: &str| req.headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string());
    let date = header("x-acs-date").ok_or_else(|| incomplete("the x-acs-date header is required"))?;
    let nonce = header("x-acs-signature-nonce")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| incomplete("the x-acs-signature-nonce header is required"))?;
    // Everything that steers the request must be covered by the signature.
    for name in req.headers.keys().map(|k| k.as_str()).filter(|k| *k == "host" || k.starts_with("x-acs-")) {
        if !auth.signed_headers.iter().any(|s| s == name) {
            return Err(incomplete(format!("the {name} header must be listed in SignedHeaders")));
        }
    }
    let payload = sign::sha256_hex(req.body);
    if let Some(claimed) = header("x-acs-content-sha256") {
        if !claimed.eq_ignore_ascii_case(&payload) {
            return Err(forbidden(
                "SignatureDoesNotMatch",
                "x-acs-content-sha256 is not the SHA-256 of the request body",
            ));
        }
    }
    let canonical_headers = sign::acs3_canonical_headers(req.headers, &auth.signed_headers)
        .map_err(|name| incomplete(format!("the signed header {name} is not in the request")))?;
    let canonical = sign::acs3_canonical_request(
        req.method,
        req.path,
        req.query,
        &canonical_headers,
        &auth.signed_headers,
        &payload,
    );
    let string_to_sign = sign::acs3_string_to_sign(&canonical);
    let given = auth.signature.to_ascii_lowercase();
    finish(db, Scheme::Acs3, &auth.access_key_id, ("x-acs-date", &date), &nonce, now_ms, |secret| {
        let want = sign::acs3_signature(secret, &string_to_sign);
        (
            constant_time_eq(want.as_bytes(), given.as_bytes()),
            format!("{string_to_sign} (canonical request: {canonical})"),
        )
    })
    .await
}

async fn rpc(db: &Db, req: &Incoming<'_>, now_ms: i64) -> Result<Authenticated, IceError> {
    let mut params: Vec<(String, String)> = req.query.to_vec();
    params.extend(req.form.iter().cloned());
    let all = sign::sorted(&params);
    let get = |name: &str| all.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let required = |name: &str| get(name).ok_or_else(|| IceError::missing(name));
    let access_key_id = required("AccessKeyId")?;
    let signature = required("Signature")?;
    let nonce = required("SignatureNonce")?;
    let timestamp = required("Timestamp")?;
    let method = required("SignatureMethod")?;
    if method != RPC_METHOD {
        return Err(IceError::param_code(
            "UnsupportedSignatureMethod",
            format!("SignatureMethod {method:?} is not supported; use {RPC_METHOD}"),
        ));
    }
    let version = required("SignatureVersion")?;
    if version != RPC_VERSION {
        return Err(IceError::param_code(
            "UnsupportedSignatureVersion",
            format!("SignatureVersion {version:?} is not supported; use {RPC_VERSION}"),
        ));
    }
    let string_to_sign = sign::rpc_string_to_sign(req.method, &params);
    finish(db, Scheme::Rpc, access_key_id, ("Timestamp", timestamp), nonce, now_ms, |secret| {
        let want = sign::rpc_signature(secret, &string_to_sign);
        (constant_time_eq(want.as_bytes(), signature.as_bytes()), string_to_sign.clone())
    })
    .await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    struct Fixture {
        db: Db,
        creds: Credentials,
        dir: std::path::PathBuf,
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    async fn fixture() -> Fixture {
        let dir = std::env::temp_dir().join(format!("doppel-ice-auth-{}", doppel_store::new_id()));
        let db = Db::open_dir(&dir).await.expect("db");
        let project = db.create_project("p").await.expect("project");
        let creds = db.create_credentials(&project.id).await.expect("credentials");
        Fixture { db, creds, dir }
    }

    /// The database forgets nonces by the real clock, so the tests' "now" is the real one.
    fn now() -> i64 {
        doppel_store::now_ms()
    }

    /// An RPC request signed with `secret` at `at_ms` with `nonce`.
    fn rpc_query(ak: &str, secret: &str, at_ms: i64, nonce: &str) -> Vec<(String, String)> {
        let mut q: Vec<(String, String)> = [
            ("Action", "GetAvatar"),
            ("Format", "json"),
            ("Version", "2020-11-09"),
            ("AvatarId", "anna"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("AccessKeyId", ak),
            ("SignatureNonce", nonce),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        q.push(("Timestamp".into(), crate::iso_time(at_ms)));
        let sig = sign::rpc_signature(secret, &sign::rpc_string_to_sign("POST", &q));
        q.push(("Signature".into(), sig));
        q
    }

    /// The headers of an ACS3 request signed with `secret` at `at_ms` with `nonce`.
    fn acs3_headers(ak: &str, secret: &str, at_ms: i64, nonce: &str, query: &[(String, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        let date = crate::iso_time(at_ms);
        for (k, v) in [
            ("host", "127.0.0.1:8080"),
            ("x-acs-action", "GetAvatar"),
            ("x-acs-version", "2020-11-09"),
            ("x-acs-date", date.as_str()),
            ("x-acs-signature-nonce", nonce),
            ("x-acs-content-sha256", &sign::sha256_hex(b"")),
        ] {
            h.insert(k, HeaderValue::from_str(v).unwrap());
        }
        let signed: Vec<String> = {
            let mut s: Vec<String> = h.keys().map(|k| k.to_string()).collect();
            s.sort();
            s
        };
        let ch = sign::acs3_canonical_headers(&h, &signed).unwrap();
        let cr = sign::acs3_canonical_request("POST", "/", query, &ch, &signed, &sign::sha256_hex(b""));
        let sig = sign::acs3_signature(secret, &sign::acs3_string_to_sign(&cr));
        let auth = format!("{ACS3_ALGORITHM} Credential={ak},SignedHeaders={},Signature={sig}", signed.join(";"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&auth).unwrap());
        h
    }

    fn incoming<'a>(headers: &'a HeaderMap, query: &'a [(String, String)]) -> Incoming<'a> {
        Incoming { method: "POST", path: "/", headers, query, form: &[], body: b"" }
    }

    async fn code(f: &Fixture, headers: &HeaderMap, query: &[(String, String)], now: i64) -> Result<Scheme, String> {
        authenticate(&f.db, &incoming(headers, query), now).await.map(|a| a.scheme).map_err(|e| e.code)
    }

    #[tokio::test]
    async fn rpc_requests_are_checked_for_secret_time_and_replay() {
        let f = fixture().await;
        let (ak, sk) = (f.creds.access_key_id.clone(), f.creds.access_key_secret.clone());
        let now = now();
        let none = HeaderMap::new();
        let q = rpc_query(&ak, &sk, now - 60_000, "n1");
        let a = authenticate(&f.db, &incoming(&none, &q), now).await.expect("valid");
        assert_eq!((a.scheme, a.credentials.project_id.as_str()), (Scheme::Rpc, f.creds.project_id.as_str()));
        assert_eq!(code(&f, &none, &q, now).await, Err("SignatureNonceUsed".into()));
        let q = rpc_query(&ak, "wrong", now, "n2");
        assert_eq!(code(&f, &none, &q, now).await, Err("SignatureDoesNotMatch".into()));
        // A failed signature does not use up its nonce.
        let q = rpc_query(&ak, &sk, now, "n2");
        assert_eq!(code(&f, &none, &q, now).await, Ok(Scheme::Rpc));
        let q = rpc_query(&ak, &sk, now - WINDOW_MS - 60_000, "n3");
        assert_eq!(code(&f, &none, &q, now).await, Err("InvalidTimeStamp.Expired".into()));
        let q = rpc_query(&ak, &sk, now + WINDOW_MS + 60_000, "n4");
        assert_eq!(code(&f, &none, &q, now).await, Err("InvalidTimeStamp.Expired".into()));
        let q = rpc_query("NOSUCHKEY", &sk, now, "n5");
        assert_eq!(code(&f, &none, &q, now).await, Err("InvalidAccessKeyId.NotFound".into()));
        // Tampering with a signed parameter breaks the signature.
        let mut q = rpc_query(&ak, &sk, now, "n6");
        q[3].1 = "leo".into();
        assert_eq!(code(&f, &none, &q, now).await, Err("SignatureDoesNotMatch".into()));
        let q: Vec<(String, String)> =
            rpc_query(&ak, &sk, now, "n7").into_iter().filter(|(k, _)| k != "Timestamp").collect();
        assert_eq!(code(&f, &none, &q, now).await, Err("MissingTimestamp".into()));
        assert_eq!(code(&f, &none, &[], now).await, Err("IncompleteSignature".into()));
    }

    #[tokio::test]
    async fn acs3_requests_are_checked_for_secret_time_and_replay() {
        let f = fixture().await;
        let (ak, sk) = (f.creds.access_key_id.clone(), f.creds.access_key_secret.clone());
        let now = now();
        let q: Vec<(String, String)> = vec![("AvatarId".into(), "anna".into())];
        let h = acs3_headers(&ak, &sk, now + 30_000, "a1", &q);
        assert_eq!(code(&f, &h, &q, now).await, Ok(Scheme::Acs3));
        assert_eq!(code(&f, &h, &q, now).await, Err("SignatureNonceUsed".into()));
        let h = acs3_headers(&ak, "wrong", now, "a2", &q);
        assert_eq!(code(&f, &h, &q, now).await, Err("SignatureDoesNotMatch".into()));
        let h = acs3_headers(&ak, &sk, now - WINDOW_MS - 1000, "a3", &q);
        assert_eq!(code(&f, &h, &q, now).await, Err("InvalidTimeStamp.Expired".into()));
        let h = acs3_headers("NOSUCHKEY", &sk, now, "a4", &q);
        assert_eq!(code(&f, &h, &q, now).await, Err("InvalidAccessKeyId.NotFound".into()));
        // The query is signed…
        let h = acs3_headers(&ak, &sk, now, "a5", &q);
        let other: Vec<(String, String)> = vec![("AvatarId".into(), "leo".into())];
        assert_eq!(code(&f, &h, &other, now).await, Err("SignatureDoesNotMatch".into()));
        // …so is the body, through its hash…
        let h = acs3_headers(&ak, &sk, now, "a6", &q);
        let mut req = incoming(&h, &q);
        req.body = b"AvatarId=leo";
        assert_eq!(authenticate(&f.db, &req, now).await.unwrap_err().code, "SignatureDoesNotMatch");
        // …and every x-acs- header must be.
        let mut h = acs3_headers(&ak, &sk, now, "a7", &q);
        h.insert("x-acs-extra", HeaderValue::from_static("1"));
        assert_eq!(code(&f, &h, &q, now).await, Err("IncompleteSignature".into()));
        let mut h = acs3_headers(&ak, &sk, now, "a8", &q);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("ACS3-HMAC-SM3 Credential=x,SignedHeaders=host,Signature=ab"),
        );
        assert_eq!(code(&f, &h, &q, now).await, Err("UnsupportedSignatureMethod".into()));
    }
}
