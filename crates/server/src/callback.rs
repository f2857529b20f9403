//! Job-completion callbacks in the form Huawei MetaStudio sends them.
//!
//! A job may carry `callback_config { callback_url, auth_type: NONE | MSS_A, key }`. When the job ends,
//! the server POSTs a JSON body with `result` (`SUCCEED` or `FAILED`), `asset_id` and `job_id` to the
//! callback URL (the body itself is built by the caller; this module signs and delivers it).
//!
//! With `auth_type = MSS_A` two query parameters are appended to the URL, `secret` and `time_stamp`.
//! The vendor reference defines them as `secret = hmac_sha256(key, URI(callback_url) + time_stamp)` and
//! `time_stamp = hex(timestamp)`. This module reads that as follows:
//!
//! * `URI(callback_url)` is the callback URL exactly as the user gave it, byte for byte, before the two
//!   parameters are appended (no normalisation, fragment included if there was one);
//! * `timestamp` is the current time in Unix seconds and `time_stamp` its lowercase hexadecimal form
//!   without a prefix (`65a1b2c3`);
//! * `secret` is the lowercase hexadecimal HMAC-SHA256, keyed with the UTF-8 bytes of `key`, of the
//!   UTF-8 bytes of `URI(callback_url)` immediately followed by `time_stamp`;
//! * the parameters are appended as `?secret=…&time_stamp=…`, or `&secret=…&time_stamp=…` when the URL
//!   already has a query (a URL ending in a bare `?` gets `?&secret=…`), in front of any `#fragment`.
//!
//! A receiver therefore strips the trailing `[?&]secret=…&time_stamp=…` to recover the original URL,
//! recomputes the HMAC and compares; [`verify_mss_a`] does exactly that.
//!
//! [`deliver`] POSTs through [`crate::fetch::post_json`], so callbacks obey the same SSRF policy as
//! every other user-supplied URL, and retries with exponential backoff, signing each attempt afresh.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::fetch::{post_json, FetchPolicy};

type HmacSha256 = Hmac<Sha256>;

fn mac_for(key: &str, callback_url: &str, time_stamp: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(callback_url.as_bytes());
    mac.update(time_stamp.as_bytes());
    mac
}

/// The MSS_A `(secret, time_stamp)` pair for `callback_url` (as the user gave it) at `timestamp_secs`.
pub fn mss_a_secret(key: &str, callback_url: &str, timestamp_secs: i64) -> (String, String) {
    let time_stamp = format!("{timestamp_secs:x}");
    let secret = hex::encode(mac_for(key, callback_url, &time_stamp).finalize().into_bytes());
    (secret, time_stamp)
}

/// The URL to POST a callback to at `now_secs`.
///
/// For `auth_type` `MSS_A` (case-insensitive) with a key, `secret` and `time_stamp` are appended as
/// described in the module documentation; for `NONE`, no auth type, or `MSS_A` without a key (which
/// job validation refuses earlier) the URL is returned unchanged.
pub fn signed_url(callback_url: &str, auth_type: Option<&str>, key: Option<&str>, now_secs: i64) -> String {
    let key = match (auth_type, key) {
        (Some(auth), Some(key)) if auth.eq_ignore_ascii_case("MSS_A") => key,
        _ => return callback_url.to_string(),
    };
    let (secret, time_stamp) = mss_a_secret(key, callback_url, now_secs);
    let (before_fragment, fragment) = match callback_url.find('#') {
        Some(at) => callback_url.split_at(at),
        None => (callback_url, ""),
    };
    let separator = if before_fragment.contains('?') { '&' } else { '?' };
    format!("{before_fragment}{separator}secret={secret}&time_stamp={time_stamp}{fragment}")
}

/// Checks an MSS_A-signed callback URL as a receiver would: the signature must match `key` and the
/// time stamp must lie within `max_skew_secs` of `now_secs`.
pub fn verify_mss_a(key: &str, url_with_params: &str, now_secs: i64, max_skew_secs: i64) -> bool {
    let (before_fragment, fragment) = match url_with_params.find('#') {
        Some(at) => url_with_params.split_at(at),
        None => (url_with_params, ""),
    };
    let Some(at) = before_fragment.rfind("secret=") else {
        return false;
    };
    // The parameters must be appended after a '?' or '&' that is not part of the original URL.
    let Some(base) = before_fragment[..at].strip_suffix(['?', '&']) else {
        return false;
    };
    let Some((secret, time_stamp)) = before_fragment[at + "secret=".len()..].split_once("&time_stamp=") else {
        return false;
    };
    let Ok(timestamp) = i64::from_str_radix(time_stamp, 16) else {
        return false;
    };
    if time_stamp.is_empty() || time_stamp.starts_with(['+', '-']) || time_stamp != format!("{timestamp:x}") {
        return false;
    }
    if now_secs.abs_diff(timestamp) > max_skew_secs.unsigned_abs() {
        return false;
    }
    let Ok(secret) = hex::decode(secret) else {
        return false;
    };
    let original = format!("{base}{fragment}");
    mac_for(key, &original, time_stamp).verify_slice(&secret).is_ok()
}

/// Retry schedule for [`deliver`].
#[derive(Debug, Clone)]
pub struct Backoff {
    /// Total attempts, the first included (default 6; 0 is treated as 1).
    pub attempts: u32,
    /// Pause after the first failed attempt (default 1 s).
    pub first: Duration,
    /// Each following pause is this many times the previous one (default 2).
    pub factor: u32,
    /// Longest pause (default 60 s).
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { attempts: 6, first: Duration::from_secs(1), factor: 2, max: Duration::from_secs(60) }
    }
}

impl Backoff {
    /// The pause after failed attempt `attempt` (1-based): `first * factor^(attempt-1)`, at most `max`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1);
        self.factor
            .checked_pow(exponent)
            .and_then(|multiplier| self.first.checked_mul(multiplier))
            .map_or(self.max, |delay| delay.min(self.max))
    }
}

fn now_unix_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// POSTs the callback `body`, retrying connection failures and non-2xx answers per `backoff`.
///
/// `url` is the callback URL as configured and is used in error messages; `sign` turns the current
/// Unix time into the URL actually posted to (usually `|now| signed_url(url, auth, key, now)`), so
/// each attempt carries a fresh time stamp. Returns the 1-based attempt that succeeded, or the last
/// error once all attempts have failed.
pub async fn deliver(
    policy: &FetchPolicy,
    url: &str,
    body: &serde_json::Value,
    backoff: &Backoff,
    sign: impl Fn(i64) -> String,
) -> Result<u32, String> {
    let attempts = backoff.attempts.max(1);
    let mut last_error = String::new();
    for attempt in 1..=attempts {
        let target = sign(now_unix_secs());
        match post_json(policy, &target, body, &[]).await {
            Ok(status) if (200..300).contains(&status) => return Ok(attempt),
            Ok(status) => {
                last_error = format!("callback to {url}: attempt {attempt} of {attempts}: HTTP status {status}")
            }
            Err(err) => last_error = format!("callback to {url}: attempt {attempt} of {attempts}: {err}"),
        }
        if attempt < attempts {
            tokio::time::sleep(backoff.delay(attempt)).await;
        }
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::State;
    use axum::http::{StatusCode, Uri};
    use axum::routing::post;
    use axum::Router;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    const KEY: &str = "doppel-test-key";
    const URL: &str = "https://example.com/cb?job=42";
    const TS: i64 = 0x65a1_b2c3; // 2024-01-12T21:44:35Z

    fn independent_hmac(key: &str, message: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(message.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn mss_a_secret_matches_hmac_of_url_and_hex_time() {
        let (secret, time_stamp) = mss_a_secret(KEY, URL, TS);
        assert_eq!(time_stamp, "65a1b2c3");
        assert_eq!(secret, independent_hmac(KEY, "https://example.com/cb?job=4265a1b2c3"));
        // Computed outside Rust: python3 hmac.new(key, url + "65a1b2c3", sha256).hexdigest()
        assert_eq!(secret, "f69f6af2a4fafeb5dd87e288b70a2663ed30a3173284621e4061fb95b30a3e31");
    }

    #[test]
    fn signed_url_appends_parameters() {
        let (secret, _) = mss_a_secret(KEY, URL, TS);
        assert_eq!(
            signed_url(URL, Some("MSS_A"), Some(KEY), TS),
            format!("https://example.com/cb?job=42&secret={secret}&time_stamp=65a1b2c3")
        );
        let plain = "https://example.com/cb";
        let (secret, _) = mss_a_secret(KEY, plain, TS);
        assert_eq!(
            signed_url(plain, Some("mss_a"), Some(KEY), TS),
            format!("https://example.com/cb?secret={secret}&time_stamp=65a1b2c3")
        );
        let with_fragment = "https://example.com/cb#done";
        let (secret, _) = mss_a_secret(KEY, with_fragment, TS);
        assert_eq!(
            signed_url(with_fragment, Some("MSS_A"), Some(KEY), TS),
            format!("https://example.com/cb?secret={secret}&time_stamp=65a1b2c3#done")
        );
        assert_eq!(signed_url(URL, Some("NONE"), Some(KEY), TS), URL);
        assert_eq!(signed_url(URL, None, Some(KEY), TS), URL);
        assert_eq!(signed_url(URL, Some("MSS_A"), None, TS), URL);
    }

    #[test]
    fn verify_round_trip() {
        for url in [URL, "https://example.com/cb", "https://example.com/cb?", "http://h:8080/a/b?x=1&y=2#f"] {
            let signed = signed_url(url, Some("MSS_A"), Some(KEY), TS);
            assert!(verify_mss_a(KEY, &signed, TS, 300), "{signed}");
            assert!(verify_mss_a(KEY, &signed, TS + 300, 300), "{signed}");
            assert!(verify_mss_a(KEY, &signed, TS - 300, 300), "{signed}");
        }
    }

    #[test]
    fn verify_rejects_wrong_key_stale_time_and_tampering() {
        let signed = signed_url(URL, Some("MSS_A"), Some(KEY), TS);
        assert!(!verify_mss_a("other-key", &signed, TS, 300));
        assert!(!verify_mss_a(KEY, &signed, TS + 301, 300));
        assert!(!verify_mss_a(KEY, &signed, TS - 301, 300));
        assert!(!verify_mss_a(KEY, &signed.replace("job=42", "job=43"), TS, 300));
        assert!(!verify_mss_a(KEY, &signed.replace("65a1b2c3", "65a1b2c4"), TS, 300));
        assert!(!verify_mss_a(KEY, URL, TS, 300));
        assert!(!verify_mss_a(KEY, &format!("{URL}&secret=zz&time_stamp=65a1b2c3"), TS, 300));
    }

    #[test]
    fn backoff_delays_grow_and_cap() {
        let b = Backoff::default();
        assert_eq!((b.attempts, b.factor), (6, 2));
        let delays: Vec<u64> = (1..=8).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(b.delay(200), Duration::from_secs(60));
    }

    #[derive(Clone, Default)]
    struct Hook {
        failures_left: Arc<Mutex<u32>>,
        seen: Arc<Mutex<Vec<String>>>,
    }

    async fn hook(State(hook): State<Hook>, uri: Uri, body: String) -> StatusCode {
        hook.seen.lock().unwrap().push(format!("{uri} {body}"));
        let mut left = hook.failures_left.lock().unwrap();
        if *left > 0 {
            *left -= 1;
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::OK
        }
    }

    async fn serve(failures: u32) -> (SocketAddr, Hook) {
        let state = Hook { failures_left: Arc::new(Mutex::new(failures)), ..Hook::default() };
        let router = Router::new().route("/cb", post(hook)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        (addr, state)
    }

    fn quick(attempts: u32) -> Backoff {
        Backoff { attempts, first: Duration::from_millis(10), factor: 2, max: Duration::from_millis(100) }
    }

    fn local_policy() -> FetchPolicy {
        FetchPolicy { allow_private: true, timeout_secs: 5, ..FetchPolicy::default() }
    }

    #[tokio::test]
    async fn deliver_retries_until_success() {
        let (addr, state) = serve(2).await;
        let url = format!("http://{addr}/cb?job=7");
        let body = serde_json::json!({"result": "SUCCEED", "asset_id": "a1", "job_id": "7"});
        let attempt =
            deliver(&local_policy(), &url, &body, &quick(6), |now| signed_url(&url, Some("MSS_A"), Some(KEY), now))
                .await
                .unwrap();
        assert_eq!(attempt, 3);
        let seen = state.seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        let now = now_unix_secs();
        for request in seen.iter() {
            let (path, posted) = request.split_once(' ').unwrap();
            assert!(verify_mss_a(KEY, &format!("http://{addr}{path}"), now, 60), "{path}");
            assert_eq!(serde_json::from_str::<serde_json::Value>(posted).unwrap(), body);
        }
    }

    #[tokio::test]
    async fn deliver_gives_up_after_attempts() {
        let (addr, state) = serve(u32::MAX).await;
        let url = format!("http://{addr}/cb");
        let body = serde_json::json!({"result": "FAILED"});
        let err = deliver(&local_policy(), &url, &body, &quick(4), |_| url.clone()).await.unwrap_err();
        assert_eq!(state.seen.lock().unwrap().len(), 4);
        assert_eq!(err, format!("callback to {url}: attempt 4 of 4: HTTP status 503"));
    }

    #[tokio::test]
    async fn deliver_retries_connection_errors() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/cb", listener.local_addr().unwrap());
        drop(listener);
        let body = serde_json::json!({});
        let err = deliver(&local_policy(), &url, &body, &quick(2), |_| url.clone()).await.unwrap_err();
        assert!(err.starts_with(&format!("callback to {url}: attempt 2 of 2: {url}: ")), "{err}");
    }

    #[tokio::test]
    async fn deliver_obeys_fetch_policy() {
        let (addr, state) = serve(0).await;
        let url = format!("http://{addr}/cb");
        let body = serde_json::json!({});
        let err = deliver(&FetchPolicy::default(), &url, &body, &quick(2), |_| url.clone()).await.unwrap_err();
        assert!(err.contains("private, loopback or link-local"), "{err}");
        assert!(state.seen.lock().unwrap().is_empty());
    }
}
