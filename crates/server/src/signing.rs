//! Signed file URLs: every URL the API hands out for a file (`avatar_url`, `preview_url`, `cover_url`,
//! `preview_video_url`, asset downloads) works without an API key until it expires.
//!
//! A URL is `{base}/files/{path}?expires={unix seconds}&sig={hex}` where `sig` is HMAC-SHA256 over
//! `"{path}\n{expires}"` with the server's URL key (kept in the database's settings, so every server process of
//! one deployment signs and checks alike). Time is an input: `now` is passed in, so tests can move it.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks file URLs.
#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
    base: String,
    ttl_secs: i64,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlSigner").field("base", &self.base).field("ttl_secs", &self.ttl_secs).finish()
    }
}

/// Why a signed URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Expired,
    Invalid,
}

impl UrlSigner {
    /// A signer with `key`, handing out URLs under `base` (no trailing slash) valid for `ttl_secs`.
    pub fn new(key: &[u8], base: &str, ttl_secs: i64) -> UrlSigner {
        UrlSigner { key: key.to_vec(), base: base.trim_end_matches('/').to_string(), ttl_secs }
    }

    /// The public base URL (no trailing slash).
    pub fn base(&self) -> &str {
        &self.base
    }

    fn sig(&self, path: &str, expires: i64) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(path.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The signed URL of `path` (relative to `/files/`, e.g. `assets/ID`), valid from `now` for the TTL.
    pub fn url(&self, path: &str, now_secs: i64) -> String {
        let expires = now_secs + self.ttl_secs;
        format!("{}/files/{path}?expires={expires}&sig={}", self.base, self.sig(path, expires))
    }

    /// Checks the `expires` and `sig` query values of a request for `path` at `now`.
    pub fn verify(
        &self,
        path: &str,
        expires: Option<&str>,
        sig: Option<&str>,
        now_secs: i64,
    ) -> Result<(), SignatureError> {
        let (Some(expires), Some(sig)) = (expires, sig) else { return Err(SignatureError::Missing) };
        let exp: i64 = expires.parse().map_err(|_| SignatureError::Invalid)?;
        let want = self.sig(path, exp);
        if !crate::dialect::constant_time_eq(want.as_bytes(), sig.as_bytes()) {
            return Err(SignatureError::Invalid);
        }
        if now_secs > exp {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(url: &str) -> (String, String, String) {
        let u = url::Url::parse(url).unwrap();
        let path = u.path().strip_prefix("/files/").unwrap().to_string();
        let get = |k: &str| u.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.to_string()).unwrap();
        (path, get("expires"), get("sig"))
    }

    #[test]
    fn signed_urls_expire_and_resist_tampering() {
        let s = UrlSigner::new(b"secret", "http://127.0.0.1:8080/", 86_400);
        let url = s.url("assets/abc", 1_000_000);
        assert!(url.starts_with("http://127.0.0.1:8080/files/assets/abc?expires=1086400&sig="));
        let (path, exp, sig) = query(&url);
        assert_eq!(s.verify(&path, Some(&exp), Some(&sig), 1_000_000), Ok(()));
        assert_eq!(s.verify(&path, Some(&exp), Some(&sig), 1_086_400), Ok(()));
        assert_eq!(s.verify(&path, Some(&exp), Some(&sig), 1_086_401), Err(SignatureError::Expired));
        assert_eq!(s.verify("assets/abd", Some(&exp), Some(&sig), 1_000_000), Err(SignatureError::Invalid));
        assert_eq!(s.verify(&path, Some("1086401"), Some(&sig), 1_000_000), Err(SignatureError::Invalid));
        assert_eq!(s.verify(&path, None, Some(&sig), 1_000_000), Err(SignatureError::Missing));
        let other = UrlSigner::new(b"other", "http://x", 86_400);
        assert_eq!(other.verify(&path, Some(&exp), Some(&sig), 1_000_000), Err(SignatureError::Invalid));
    }
}
