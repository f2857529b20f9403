//! Fetching user-supplied URLs (script media, callback targets) under an SSRF policy.
//!
//! Scripts may name background images, layer images and videos and audio by URL, and jobs may carry a
//! callback URL. Those URLs come from API users, so the server must not become a proxy into its own
//! network. Every request made here follows these rules:
//!
//! * only `http` and `https` URLs are accepted;
//! * the host is resolved once ([`tokio::net::lookup_host`]); if *any* resolved address is not public
//!   (see [`is_public`]) the request is refused, unless [`FetchPolicy::allow_private`] is set; hosts
//!   written as IP literals are checked directly;
//! * the connection goes to exactly the checked addresses: each request uses its own HTTP client whose
//!   DNS entry for the host is pinned to them, so a second, different DNS answer (DNS rebinding) cannot
//!   redirect the connection; system proxies are not used, since a proxy would connect on our behalf to
//!   an address we never checked;
//! * redirects are never followed by the HTTP client; [`fetch`] follows them itself, checking every hop
//!   again, up to [`FetchPolicy::max_redirects`]; [`post_json`] follows none;
//! * [`FetchPolicy::timeout_secs`] bounds the whole operation: DNS, every redirect hop and the body;
//! * the body is streamed and abandoned as soon as it grows past [`FetchPolicy::max_bytes`] (a larger
//!   `Content-Length` is refused before reading anything);
//! * a status other than 2xx is an error that names the status.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE, LOCATION};
use reqwest::{Client, Response, StatusCode};
use url::{Host, Url};

/// Limits applied to every outgoing request made on behalf of a user (`[fetch]` in the server config).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(default)]
pub struct FetchPolicy {
    /// Allow loopback, private, link-local and other non-public addresses (default `false`).
    pub allow_private: bool,
    /// Largest response body accepted, in bytes (default 200 MiB).
    pub max_bytes: u64,
    /// Time allowed for the whole fetch, redirects and body included, in seconds (default 30).
    pub timeout_secs: u64,
    /// Most redirects [`fetch`] follows (default 5).
    pub max_redirects: usize,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy { allow_private: false, max_bytes: 200 * 1024 * 1024, timeout_secs: 30, max_redirects: 5 }
    }
}

/// A successfully fetched body.
#[derive(Debug)]
pub struct Fetched {
    /// The complete response body.
    pub bytes: Bytes,
    /// The `Content-Type` header of the final response, if any and if it is valid text.
    pub content_type: Option<String>,
    /// The URL the body finally came from, after redirects.
    pub final_url: Url,
}

/// Why a fetch failed. Every message starts with the URL concerned.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The text is not a URL at all, or has no host.
    #[error("{url}: not a valid URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// A scheme other than `http` or `https`.
    #[error("{url}: only http and https URLs are allowed")]
    Scheme { url: String },
    /// The host is, or resolves to, an address that is not public.
    #[error("{url}: {addr} is a private, loopback or link-local address (allow it with fetch.allow_private)")]
    PrivateAddress { url: String, addr: IpAddr },
    /// The host name could not be resolved.
    #[error("{url}: could not resolve host {host}: {reason}")]
    Dns { url: String, host: String, reason: String },
    /// The whole operation took longer than the policy allows.
    #[error("{url}: timed out after {secs} s (fetch.timeout_secs)")]
    Timeout { url: String, secs: u64 },
    /// The server answered with a status other than 2xx.
    #[error("{url}: HTTP status {}", status_text(*status))]
    Status { url: String, status: u16 },
    /// The body is larger than the policy allows.
    #[error("{url}: larger than the limit of {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    /// More redirects than the policy allows.
    #[error("{url}: more than {limit} redirects (fetch.max_redirects)")]
    TooManyRedirects { url: String, limit: usize },
    /// A redirect without a usable `Location` header.
    #[error("{url}: bad redirect: {reason}")]
    BadRedirect { url: String, reason: String },
    /// Connection, TLS or protocol failure, or a request that could not be built.
    #[error("{url}: {reason}")]
    Request { url: String, reason: String },
}

fn status_text(status: u16) -> String {
    match StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()) {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

/// Most of a [`post_json`] response body that is read (and then discarded).
const POST_RESPONSE_LIMIT: usize = 64 * 1024;

/// Whether `ip` is an ordinary, globally routable unicast address that user-supplied URLs may reach.
///
/// `false` for unspecified, loopback, private (10/8, 172.16/12, 192.168/16), shared/CGNAT (100.64/10),
/// link-local (169.254/16, fe80::/10), IETF protocol assignments (192.0.0/24, 2001::/23), documentation
/// (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20), benchmarking (198.18/15),
/// 6to4 relay anycast (192.88.99/24), multicast, reserved 240/4 and broadcast, IPv6 unique-local
/// (fc00::/7) and anything else outside the IPv6 global-unicast block 2000::/3. IPv6 forms that embed an
/// IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by
/// the embedded address; IPv4-compatible `::/96` and local-use NAT64 `64:ff9b:1::/48` are refused.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0 // "this network", includes unspecified
        || a == 10
        || (a == 100 && (64..128).contains(&b))
        || a == 127
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 192 && b == 88 && c == 99)
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224; // multicast 224/4, reserved 240/4, broadcast
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // IPv4-compatible (deprecated), unspecified and loopback.
    if seg[..6].iter().all(|&s| s == 0) {
        return false;
    }
    // NAT64 well-known prefix: judged by the IPv4 address it reaches.
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded_v4(seg[6], seg[7]));
    }
    // 6to4: the IPv4 address follows the prefix.
    if seg[0] == 0x2002 {
        return is_public_v4(embedded_v4(seg[1], seg[2]));
    }
    let global_unicast = seg[0] & 0xe000 == 0x2000; // 2000::/3
    let refused = !global_unicast
        || seg[0] & 0xfe00 == 0x2000 && seg[1] < 0x0200 // 2001::/23 (Teredo, ORCHID, benchmarking, ...)
        || seg[0] == 0x2001 && seg[1] == 0x0db8 // 2001:db8::/32 documentation
        || seg[0] & 0xfff0 == 0x3ff0; // 3fff::/20 documentation
    !refused
}

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// Parses `url` and checks its scheme.
fn parse_url(url: &str) -> Result<Url, FetchError> {
    let parsed = Url::parse(url).map_err(|e| FetchError::InvalidUrl { url: url.to_string(), reason: e.to_string() })?;
    check_scheme(&parsed)?;
    Ok(parsed)
}

fn check_scheme(url: &Url) -> Result<(), FetchError> {
    match url.scheme() {
        "http" | "https" => Ok(()),
        _ => Err(FetchError::Scheme { url: url.to_string() }),
    }
}

fn check_addr(policy: &FetchPolicy, url: &Url, addr: IpAddr) -> Result<(), FetchError> {
    if policy.allow_private || is_public(addr) {
        Ok(())
    } else {
        Err(FetchError::PrivateAddress { url: url.to_string(), addr })
    }
}

/// Checks the host of `url` against the policy and builds a client that can only reach the checked
/// addresses and never follows redirects.
async fn pinned_client(policy: &FetchPolicy, url: &Url) -> Result<Client, FetchError> {
    check_scheme(url)?;
    let builder = Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy();
    let builder = match url.host() {
        None => return Err(FetchError::InvalidUrl { url: url.to_string(), reason: "no host".into() }),
        Some(Host::Ipv4(v4)) => {
            check_addr(policy, url, IpAddr::V4(v4))?;
            builder
        }
        Some(Host::Ipv6(v6)) => {
            check_addr(policy, url, IpAddr::V6(v6))?;
            builder
        }
        Some(Host::Domain(domain)) => {
            let port = url.port_or_known_default().unwrap_or(80);
            let dns_error = |reason: String| FetchError::Dns { url: url.to_string(), host: domain.to_string(), reason };
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((domain, port)).await.map_err(|e| dns_error(e.to_string()))?.collect();
            if addrs.is_empty() {
                return Err(dns_error("no addresses".into()));
            }
            for addr in &addrs {
                check_addr(policy, url, addr.ip())?;
            }
            builder.resolve_to_addrs(domain, &addrs)
        }
    };
    builder.build().map_err(|e| request_error(url, e))
}

/// A request error with its chain of causes, which carry the useful part ("connection refused").
fn request_error(url: &Url, err: reqwest::Error) -> FetchError {
    let err = err.without_url();
    let mut reason = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !reason.contains(&text) {
            reason.push_str(": ");
            reason.push_str(&text);
        }
        source = cause.source();
    }
    FetchError::Request { url: url.to_string(), reason }
}

/// Runs `work` under the policy's overall time limit.
async fn with_timeout<T>(
    policy: &FetchPolicy,
    url: &str,
    work: impl std::future::Future<Output = Result<T, FetchError>>,
) -> Result<T, FetchError> {
    match tokio::time::timeout(Duration::from_secs(policy.timeout_secs), work).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::Timeout { url: url.to_string(), secs: policy.timeout_secs }),
    }
}

/// GETs `url` under `policy`, following redirects (each hop checked again), and returns the whole body.
pub async fn fetch(policy: &FetchPolicy, url: &str) -> Result<Fetched, FetchError> {
    with_timeout(policy, url, fetch_inner(policy, url)).await
}

async fn fetch_inner(policy: &FetchPolicy, url: &str) -> Result<Fetched, FetchError> {
    let mut current = parse_url(url)?;
    let mut redirects = 0usize;
    loop {
        let client = pinned_client(policy, &current).await?;
        let response = client.get(current.clone()).send().await.map_err(|e| request_error(&current, e))?;
        let status = response.status();
        if is_followed_redirect(status) {
            if redirects >= policy.max_redirects {
                return Err(FetchError::TooManyRedirects { url: url.to_string(), limit: policy.max_redirects });
            }
            current = redirect_target(&current, &response)?;
            redirects += 1;
            continue;
        }
        if !status.is_success() {
            return Err(FetchError::Status { url: current.to_string(), status: status.as_u16() });
        }
        let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let bytes = read_limited(&current, response, policy.max_bytes).await?;
        return Ok(Fetched { bytes, content_type, final_url: current });
    }
}

fn is_followed_redirect(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    )
}

fn redirect_target(current: &Url, response: &Response) -> Result<Url, FetchError> {
    let bad = |reason: String| FetchError::BadRedirect { url: current.to_string(), reason };
    let location = response.headers().get(LOCATION).ok_or_else(|| bad("no Location header".into()))?;
    let location = location.to_str().map_err(|_| bad("Location header is not text".into()))?;
    let next = current.join(location).map_err(|e| bad(format!("Location {location:?}: {e}")))?;
    check_scheme(&next)?;
    Ok(next)
}

/// Reads the body of `response`, failing as soon as it exceeds `limit` bytes.
async fn read_limited(url: &Url, mut response: Response, limit: u64) -> Result<Bytes, FetchError> {
    let too_large = || FetchError::TooLarge { url: url.to_string(), limit };
    let declared = response.content_length();
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    const MAX_PREALLOC: u64 = 8 * 1024 * 1024;
    let capacity = declared.unwrap_or(0).min(limit).min(MAX_PREALLOC);
    let mut buf = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(|e| request_error(url, e))? {
        if (buf.len() as u64).saturating_add(chunk.len() as u64) > limit {
            return Err(too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// POSTs `body` as JSON to `url` under `policy`, with extra `headers`, and returns the response status.
///
/// The address checks are the same as for [`fetch`]; redirects are not followed (a 3xx status is simply
/// returned), and at most 64 KiB of the response body is read before the connection is dropped. Any
/// status is `Ok`; deciding which ones count as delivered is up to the caller.
pub async fn post_json(
    policy: &FetchPolicy,
    url: &str,
    body: &serde_json::Value,
    headers: &[(String, String)],
) -> Result<u16, FetchError> {
    with_timeout(policy, url, post_json_inner(policy, url, body, headers)).await
}

async fn post_json_inner(
    policy: &FetchPolicy,
    url: &str,
    body: &serde_json::Value,
    headers: &[(String, String)],
) -> Result<u16, FetchError> {
    let target = parse_url(url)?;
    let client = pinned_client(policy, &target).await?;
    let mut request = client.post(target.clone()).json(body);
    for (name, value) in headers {
        let bad =
            |what: &str| FetchError::Request { url: target.to_string(), reason: format!("invalid header {what}") };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad(&format!("name {name:?}")))?;
        let value = HeaderValue::from_str(value).map_err(|_| bad(&format!("value for {name}")))?;
        request = request.header(name, value);
    }
    let mut response = request.send().await.map_err(|e| request_error(&target, e))?;
    let status = response.status().as_u16();
    // The request has been delivered once a status arrived; the body only matters for keeping the
    // exchange tidy, so read a little of it and ignore failures.
    let mut read = 0usize;
    while read < POST_RESPONSE_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            Ok(None) | Err(_) => break,
        }
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::{Path, State};
    use axum::http::HeaderMap;
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::{get, post};
    use axum::Router;
    use std::sync::{Arc, Mutex};

    type Received = Arc<Mutex<Vec<(Option<String>, Option<String>, Vec<u8>)>>>;

    async fn serve(router: Router) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        addr
    }

    async fn redirect_chain(Path(n): Path<u32>) -> axum::response::Response {
        if n == 0 {
            "done".into_response()
        } else if n % 2 == 0 {
            Redirect::temporary(&format!("/r/{}", n - 1)).into_response()
        } else {
            Redirect::to(&format!("/r/{}", n - 1)).into_response()
        }
    }

    async fn record(State(received): State<Received>, headers: HeaderMap, body: Bytes) -> &'static str {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        received.lock().unwrap().push((header("content-type"), header("x-doppel-test"), body.to_vec()));
        "thanks"
    }

    async fn test_server() -> (SocketAddr, Received) {
        let received = Received::default();
        let router = Router::new()
            .route("/ok.png", get(|| async { ([(CONTENT_TYPE, "image/png")], b"PNGDATA".to_vec()) }))
            .route("/big", get(|| async { vec![7u8; 20_000] }))
            .route(
                "/endless",
                get(|| async {
                    // Never ends: only a reader that stops early can finish.
                    let chunks = futures::stream::repeat_with(|| Ok::<_, std::io::Error>(Bytes::from(vec![1u8; 1024])));
                    Body::from_stream(chunks)
                }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    "late"
                }),
            )
            .route("/r/{n}", get(redirect_chain))
            .route("/to-ftp", get(|| async { Redirect::to("ftp://example.com/file") }))
            .route("/missing", get(|| async { (StatusCode::NOT_FOUND, "no") }))
            .route("/hook", post(record))
            .route("/hook-moved", post(|| async { Redirect::temporary("/hook") }))
            .with_state(received.clone());
        (serve(router).await, received)
    }

    fn private_ok() -> FetchPolicy {
        FetchPolicy { allow_private: true, timeout_secs: 10, ..FetchPolicy::default() }
    }

    #[test]
    fn policy_defaults_and_partial_config() {
        let p = FetchPolicy::default();
        assert!(!p.allow_private);
        assert_eq!(p.max_bytes, 209_715_200);
        assert_eq!((p.timeout_secs, p.max_redirects), (30, 5));
        let p: FetchPolicy = serde_json::from_str(r#"{"allow_private": true, "max_redirects": 2}"#).unwrap();
        assert!(p.allow_private);
        assert_eq!((p.max_bytes, p.timeout_secs, p.max_redirects), (209_715_200, 30, 2));
    }

    #[tokio::test]
    async fn fetch_ok_with_allow_private() {
        let (addr, _) = test_server().await;
        let url = format!("http://{addr}/ok.png");
        let got = fetch(&private_ok(), &url).await.unwrap();
        assert_eq!(&got.bytes[..], b"PNGDATA");
        assert_eq!(got.content_type.as_deref(), Some("image/png"));
        assert_eq!(got.final_url.as_str(), url);
    }

    #[tokio::test]
    async fn fetch_refuses_loopback_literal() {
        let (addr, _) = test_server().await;
        let url = format!("http://{addr}/ok.png");
        let err = fetch(&FetchPolicy::default(), &url).await.unwrap_err();
        assert!(matches!(err, FetchError::PrivateAddress { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "{url}: 127.0.0.1 is a private, loopback or link-local address (allow it with fetch.allow_private)"
            )
        );
    }

    #[tokio::test]
    async fn fetch_refuses_names_resolving_to_loopback() {
        let (addr, _) = test_server().await;
        let url = format!("http://localhost:{}/ok.png", addr.port());
        let err = fetch(&FetchPolicy::default(), &url).await.unwrap_err();
        assert!(matches!(err, FetchError::PrivateAddress { .. }), "{err:?}");
        // ...while the same name is fine when private addresses are allowed (pinned to the checked address).
        let got = fetch(&private_ok(), &url).await.unwrap();
        assert_eq!(&got.bytes[..], b"PNGDATA");
    }

    #[tokio::test]
    async fn fetch_refuses_mapped_loopback_literal() {
        let err = fetch(&FetchPolicy::default(), "http://[::ffff:127.0.0.1]:9/x").await.unwrap_err();
        assert!(matches!(err, FetchError::PrivateAddress { .. }), "{err:?}");
        let err = fetch(&FetchPolicy::default(), "http://0x7f.1/x").await.unwrap_err();
        assert!(err.to_string().contains("127.0.0.1 is a private"), "{err}");
    }

    #[tokio::test]
    async fn fetch_rejects_large_content_length() {
        let (addr, _) = test_server().await;
        let url = format!("http://{addr}/big");
        let policy = FetchPolicy { max_bytes: 10_000, ..private_ok() };
        let err = fetch(&policy, &url).await.unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { limit: 10_000, .. }), "{err:?}");
        assert_eq!(err.to_string(), format!("{url}: larger than the limit of 10000 bytes"));
        // Exactly at the limit is fine.
        let policy = FetchPolicy { max_bytes: 20_000, ..private_ok() };
        assert_eq!(fetch(&policy, &url).await.unwrap().bytes.len(), 20_000);
    }

    #[tokio::test]
    async fn fetch_stops_streamed_body_at_limit() {
        let (addr, _) = test_server().await;
        let url = format!("http://{addr}/endless");
        let policy = FetchPolicy { max_bytes: 100_000, timeout_secs: 5, ..private_ok() };
        let err = fetch(&policy, &url).await.unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { limit: 100_000, .. }), "{err:?}");
    }

    #[tokio::test]
    async fn fetch_times_out() {
        let (addr, _) = test_server().await;
        let url = format!("http://{addr}/slow");
        let policy = FetchPolicy { timeout_secs: 1, ..private_ok() };
        let started = std::time::Instant::now();
        let err = fetch(&policy, &url).await.unwrap_err();
        assert!(matches!(err, FetchError::Timeout { secs: 1, .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(err.to_string(), format!("{url}: timed out after 1 s (fetch.timeout_secs)"));
    }

    #[tokio::test]
    async fn fetch_follows_redirects() {
        let (addr, _) = test_server().await;
        let got = fetch(&private_ok(), &format!("http://{addr}/r/5")).await.unwrap();
        assert_eq!(&got.bytes[..], b"done");
        assert_eq!(got.final_url.as_str(), format!("http://{addr}/r/0"));
    }

    #[tokio::test]
    async fn fetch_stops_at_redirect_limit() {
        let (addr, _) = test_server().await;
        let url = format!("http://{addr}/r/6");
        let err = fetch(&private_ok(), &url).await.unwrap_err();
        assert!(matches!(err, FetchError::TooManyRedirects { limit: 5, .. }), "{err:?}");
        assert_eq!(err.to_string(), format!("{url}: more than 5 redirects (fetch.max_redirects)"));
        let policy = FetchPolicy { max_redirects: 0, ..private_ok() };
        let err = fetch(&policy, &format!("http://{addr}/r/1")).await.unwrap_err();
        assert!(matches!(err, FetchError::TooManyRedirects { limit: 0, .. }), "{err:?}");
    }

    #[tokio::test]
    async fn fetch_rechecks_redirect_target() {
        let (addr, _) = test_server().await;
        let err = fetch(&private_ok(), &format!("http://{addr}/to-ftp")).await.unwrap_err();
        assert_eq!(err.to_string(), "ftp://example.com/file: only http and https URLs are allowed");
    }

    #[tokio::test]
    async fn fetch_rejects_non_http_scheme() {
        for url in ["ftp://example.com/a.png", "file:///etc/passwd", "gopher://example.com/"] {
            let err = fetch(&private_ok(), url).await.unwrap_err();
            assert!(matches!(err, FetchError::Scheme { .. }), "{err:?}");
            assert_eq!(err.to_string(), format!("{url}: only http and https URLs are allowed"));
        }
        let err = fetch(&private_ok(), "not a url").await.unwrap_err();
        assert!(matches!(err, FetchError::InvalidUrl { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn fetch_reports_http_status() {
        let (addr, _) = test_server().await;
        let url = format!("http://{addr}/missing");
        let err = fetch(&private_ok(), &url).await.unwrap_err();
        assert!(matches!(err, FetchError::Status { status: 404, .. }), "{err:?}");
        assert_eq!(err.to_string(), format!("{url}: HTTP status 404 Not Found"));
    }

    #[tokio::test]
    async fn fetch_reports_connection_failure() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = format!("http://127.0.0.1:{port}/x");
        let err = fetch(&private_ok(), &url).await.unwrap_err();
        assert!(matches!(err, FetchError::Request { .. }), "{err:?}");
        assert!(err.to_string().starts_with(&url), "{err}");
    }

    #[tokio::test]
    async fn fetch_reports_dns_failure() {
        let err = fetch(&FetchPolicy::default(), "http://doppel-test.invalid/x").await.unwrap_err();
        assert!(matches!(err, FetchError::Dns { .. }), "{err:?}");
        assert!(err.to_string().starts_with("http://doppel-test.invalid/x: could not resolve host"), "{err}");
    }

    #[test]
    fn is_public_table() {
        let table: &[(&str, bool)] = &[
            // IPv4
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("93.184.216.34", true),
            ("100.63.255.255", true),
            ("100.128.0.0", true),
            ("172.15.255.255", true),
            ("172.32.0.0", true),
            ("192.0.1.1", true),
            ("198.17.255.255", true),
            ("198.20.0.0", true),
            ("223.255.255.255", true),
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("10.0.0.1", false),
            ("10.255.255.255", false),
            ("100.64.0.1", false),
            ("100.127.255.255", false),
            ("127.0.0.1", false),
            ("127.255.0.1", false),
            ("169.254.169.254", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.0.0.8", false),
            ("192.0.2.1", false),
            ("192.88.99.1", false),
            ("192.168.1.1", false),
            ("198.18.0.1", false),
            ("198.19.255.255", false),
            ("198.51.100.7", false),
            ("203.0.113.9", false),
            ("224.0.0.1", false),
            ("239.255.255.250", false),
            ("240.0.0.1", false),
            ("255.255.255.255", false),
            // IPv6
            ("2001:4860:4860::8888", true),
            ("2606:4700:4700::1111", true),
            ("2a00:1450:4001:80b::200e", true),
            ("::", false),
            ("::1", false),
            ("fe80::1", false),
            ("febf:ffff::1", false),
            ("fec0::1", false),
            ("fc00::1", false),
            ("fd12:3456:789a::1", false),
            ("ff02::1", false),
            ("ff0e::1", false),
            ("2001:db8::1", false),
            ("3fff::1", false),
            ("2001::1", false),
            ("2001:2::1", false),
            ("100::1", false),
            ("4000::1", false),
            // IPv6 forms that embed IPv4
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.1.2.3", false),
            ("::ffff:169.254.169.254", false),
            ("::ffff:192.168.0.1", false),
            ("::ffff:8.8.8.8", true),
            ("::127.0.0.1", false),
            ("::8.8.8.8", false),
            ("64:ff9b::7f00:1", false),
            ("64:ff9b::a9fe:a9fe", false),
            ("64:ff9b::808:808", true),
            ("64:ff9b:1::808:808", false),
            ("2002:7f00:1::1", false),
            ("2002:c0a8:101::1", false),
            ("2002:808:808::1", true),
        ];
        for &(text, expected) in table {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(is_public(ip), expected, "{text}");
        }
    }

    #[tokio::test]
    async fn post_json_delivers_body() {
        let (addr, received) = test_server().await;
        let body = serde_json::json!({"result": "SUCCEED", "job_id": "j1"});
        let headers = [("X-Doppel-Test".to_string(), "yes".to_string())];
        let status = post_json(&private_ok(), &format!("http://{addr}/hook"), &body, &headers).await.unwrap();
        assert_eq!(status, 200);
        let received = received.lock().unwrap();
        assert_eq!(received.len(), 1);
        let (content_type, test_header, bytes) = &received[0];
        assert_eq!(content_type.as_deref(), Some("application/json"));
        assert_eq!(test_header.as_deref(), Some("yes"));
        assert_eq!(serde_json::from_slice::<serde_json::Value>(bytes).unwrap(), body);
    }

    #[tokio::test]
    async fn post_json_checks_address_and_does_not_follow_redirects() {
        let (addr, received) = test_server().await;
        let body = serde_json::json!({});
        let err = post_json(&FetchPolicy::default(), &format!("http://{addr}/hook"), &body, &[]).await.unwrap_err();
        assert!(matches!(err, FetchError::PrivateAddress { .. }), "{err:?}");
        let status = post_json(&private_ok(), &format!("http://{addr}/hook-moved"), &body, &[]).await.unwrap();
        assert_eq!(status, 307);
        assert!(received.lock().unwrap().is_empty());
    }
}
