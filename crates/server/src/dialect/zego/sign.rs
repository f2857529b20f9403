//! ZEGO's request signature (`SignatureVersion=2.0`): `md5(AppId + SignatureNonce + ServerSecret + Timestamp)`
//! over the texts as sent, as 32 lowercase hex digits, valid while `Timestamp` is within ±10 minutes of now.
//! Time is an input, so tests can move it.

use md5::{Digest, Md5};

use super::{code, ZegoError};
use crate::dialect::constant_time_eq;

/// How far (seconds) a request's `Timestamp` may be from now, either way.
pub const WINDOW_SECS: i64 = 600;

/// The signature of one request: lowercase hex MD5 of the four texts concatenated.
pub fn signature(app_id: &str, nonce: &str, secret: &str, timestamp: &str) -> String {
    let mut md5 = Md5::new();
    for part in [app_id, nonce, secret, timestamp] {
        md5.update(part.as_bytes());
    }
    hex::encode(md5.finalize())
}

/// `100000004` unless `timestamp` is within [`WINDOW_SECS`] of `now_secs`.
pub fn check_timestamp(timestamp: i64, now_secs: i64) -> Result<(), ZegoError> {
    if timestamp.abs_diff(now_secs) > WINDOW_SECS as u64 {
        return Err(ZegoError::new(
            code::SIGNATURE_EXPIRED,
            format!(
                "signature expired: Timestamp {timestamp} is {} seconds from the server's time {now_secs} \
                 (allowed: {WINDOW_SECS})",
                timestamp.abs_diff(now_secs)
            ),
        ));
    }
    Ok(())
}

/// The `100000005` answer.
pub fn mismatch() -> ZegoError {
    ZegoError::new(
        code::SIGNATURE_ERROR,
        "signature error: Signature must be md5(AppId + SignatureNonce + ServerSecret + Timestamp) in lowercase hex",
    )
}

/// `100000005` unless `given` is the signature of the other four (compared in constant time; hex case is
/// ignored).
pub fn check_signature(app_id: &str, nonce: &str, secret: &str, timestamp: &str, given: &str) -> Result<(), ZegoError> {
    let want = signature(app_id, nonce, secret, timestamp);
    if constant_time_eq(want.as_bytes(), given.to_ascii_lowercase().as_bytes()) {
        Ok(())
    } else {
        Err(mismatch())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "9193cc662a4c0ec135ec71fb57194b38";

    #[test]
    fn the_published_test_vector() {
        let sig = signature("12345", "4fd24687296dd9f3", SECRET, "1615186943");
        assert_eq!(sig, "43e5cfcca828314675f91b001390566a");
        assert_eq!(check_signature("12345", "4fd24687296dd9f3", SECRET, "1615186943", &sig), Ok(()));
        let upper = sig.to_ascii_uppercase();
        assert_eq!(check_signature("12345", "4fd24687296dd9f3", SECRET, "1615186943", &upper), Ok(()));
    }

    #[test]
    fn a_wrong_signature_is_100000005() {
        let sig = "43e5cfcca828314675f91b001390566a";
        for (app, nonce, secret, ts, given) in [
            ("12345", "4fd24687296dd9f3", SECRET, "1615186943", "43e5cfcca828314675f91b001390566b"),
            ("12345", "4fd24687296dd9f3", SECRET, "1615186943", "43e5cfcca828314675f91b00139056"),
            ("12345", "4fd24687296dd9f3", SECRET, "1615186943", ""),
            ("12346", "4fd24687296dd9f3", SECRET, "1615186943", sig),
            ("12345", "4fd24687296dd9f4", SECRET, "1615186943", sig),
            ("12345", "4fd24687296dd9f3", "9193cc662a4c0ec135ec71fb57194b39", "1615186943", sig),
            ("12345", "4fd24687296dd9f3", SECRET, "1615186944", sig),
        ] {
            let e = check_signature(app, nonce, secret, ts, given).unwrap_err();
            assert_eq!(e.code, code::SIGNATURE_ERROR, "{app} {nonce} {secret} {ts} {given}");
        }
    }

    #[test]
    fn timestamps_older_or_newer_than_ten_minutes_are_100000004() {
        let ts = 1_615_186_943;
        for now in [ts, ts + 600, ts - 600, ts + 1] {
            assert_eq!(check_timestamp(ts, now), Ok(()), "now {now}");
        }
        for now in [ts + 601, ts - 601, ts + 20 * 60, 0] {
            let e = check_timestamp(ts, now).unwrap_err();
            assert_eq!(e.code, code::SIGNATURE_EXPIRED, "now {now}");
            assert!(e.message.contains("Timestamp 1615186943"), "{e:?}");
        }
        assert_eq!(check_timestamp(i64::MIN, i64::MAX).unwrap_err().code, code::SIGNATURE_EXPIRED);
    }
}
