//! Integration tests of `doppel-store`'s S3 blob store against a real S3-compatible server: the one at
//! `DOPPEL_TEST_S3_ENDPOINT` (plain http), in its bucket `doppel-test`, which `scripts/test-s3.sh` starts and
//! creates (moto_server; `make test` sets the variable). Each test keeps to keys under its own random prefix, so
//! tests running in parallel, or runs sharing a server, never see each other's blobs. Without
//! `DOPPEL_TEST_S3_ENDPOINT` the tests that need a server are skipped, with a note, unless
//! `DOPPEL_REQUIRE_S3=1`, which makes that an error. The config errors are checked with or without a server.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use doppel_store::{BlobConfig, Blobs, Error};
use futures::StreamExt;
use rand::Rng;

const BUCKET: &str = "doppel-test";

/// The endpoint of the S3 server to test against, or `None` (with a note) when the test is to be skipped.
fn endpoint(test: &str) -> Option<String> {
    match std::env::var("DOPPEL_TEST_S3_ENDPOINT") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("DOPPEL_REQUIRE_S3").is_ok_and(|v| v == "1") {
                panic!(
                    "{test}: DOPPEL_REQUIRE_S3=1 but DOPPEL_TEST_S3_ENDPOINT is not set; point it at an S3-compatible \
                     server with a bucket {BUCKET} (e.g. DOPPEL_TEST_S3_ENDPOINT=$(scripts/test-s3.sh)) or unset \
                     DOPPEL_REQUIRE_S3 to skip the S3 tests"
                );
            }
            println!("{test}: skipped (DOPPEL_TEST_S3_ENDPOINT is not set)");
            None
        }
    }
}

fn random_hex(bytes: usize) -> String {
    hex::encode((0..bytes).map(|_| rand::random::<u8>()).collect::<Vec<_>>())
}

/// An S3 blob config for the bucket at `endpoint`; moto takes any credentials.
fn s3_config(endpoint: &str) -> BlobConfig {
    BlobConfig {
        kind: Some("s3".into()),
        bucket: Some(BUCKET.into()),
        endpoint: Some(endpoint.into()),
        region: Some("us-east-1".into()),
        access_key_id: Some("doppel-test-key".into()),
        secret_access_key: Some("doppel-test-secret".into()),
        allow_http: true,
    }
}

/// A new, empty temporary directory; removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("doppel-s3-{test}-{}", random_hex(8)));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// The S3 blob store at `endpoint` and a random key prefix (ending in `/`) for one test.
fn s3_blobs(endpoint: &str, dir: &Path) -> (Blobs, String) {
    let blobs = Blobs::from_config(&s3_config(endpoint), dir)
        .unwrap_or_else(|e| panic!("an s3 blob store at DOPPEL_TEST_S3_ENDPOINT={endpoint}: {e}"));
    (blobs, format!("doppel-store-tests/{}/", random_hex(8)))
}

/// Everything the stream of the blob under `key` yields, with the size it announced.
async fn streamed(blobs: &Blobs, key: &str) -> (u64, Vec<u8>) {
    let (size, mut stream) = blobs.stream(key).await.unwrap();
    let mut all = Vec::new();
    while let Some(chunk) = stream.next().await {
        all.extend_from_slice(&chunk.unwrap());
    }
    (size, all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_blob_round_trips() {
    let Some(endpoint) = endpoint("s3_blob_round_trips") else { return };
    let dir = TempDir::new("round-trips");
    let (blobs, prefix) = s3_blobs(&endpoint, dir.path());
    let key = format!("{prefix}projects/p/assets/a");

    // Nothing there yet.
    assert!(!blobs.exists(&key).await.unwrap());
    assert!(matches!(blobs.get(&key).await, Err(Error::Blob(object_store::Error::NotFound { .. }))));

    // Put bytes, and read them back whole, as a stream and into a file.
    blobs.put(&key, Bytes::from_static(b"hello, s3")).await.unwrap();
    assert!(blobs.exists(&key).await.unwrap());
    assert_eq!(blobs.get(&key).await.unwrap(), Bytes::from_static(b"hello, s3"));
    assert_eq!(streamed(&blobs, &key).await, (9, b"hello, s3".to_vec()));
    let copy = dir.path().join("copy");
    assert_eq!(blobs.get_to_file(&key, &copy).await.unwrap(), 9);
    assert_eq!(std::fs::read(&copy).unwrap(), b"hello, s3");

    // Putting again replaces the blob, also with a shorter one.
    blobs.put(&key, Bytes::from_static(b"bye")).await.unwrap();
    assert_eq!(blobs.get(&key).await.unwrap(), Bytes::from_static(b"bye"));

    // An empty blob is a blob.
    let empty = format!("{prefix}empty");
    blobs.put(&empty, Bytes::new()).await.unwrap();
    assert!(blobs.exists(&empty).await.unwrap());
    assert_eq!(blobs.get(&empty).await.unwrap(), Bytes::new());
    assert_eq!(streamed(&blobs, &empty).await, (0, Vec::new()));

    // From a file; a missing file is an I/O error naming it, and stores nothing.
    let source = dir.path().join("source");
    std::fs::write(&source, b"from a file").unwrap();
    let from_file = format!("{prefix}projects/p/assets/f");
    assert_eq!(blobs.put_file(&from_file, &source).await.unwrap(), 11);
    assert_eq!(blobs.get(&from_file).await.unwrap(), Bytes::from_static(b"from a file"));
    let missing = dir.path().join("no-such-file");
    match blobs.put_file(&format!("{prefix}never"), &missing).await {
        Err(Error::Io { path, .. }) => assert_eq!(path, missing.display().to_string()),
        other => panic!("put_file of a missing file: {other:?}"),
    }
    assert!(!blobs.exists(&format!("{prefix}never")).await.unwrap());

    // Keys with slashes are separate blobs, and none is a prefix of another's contents.
    let nested = [
        format!("{prefix}a/b/c/d.bin"),
        format!("{prefix}a/b/c"),
        format!("{prefix}a/b"),
        format!("{prefix}projects/p/jobs/j/output/video.mp4"),
    ];
    for (i, k) in nested.iter().enumerate() {
        blobs.put(k, Bytes::from(format!("blob {i}"))).await.unwrap();
    }
    for (i, k) in nested.iter().enumerate() {
        assert!(blobs.exists(k).await.unwrap(), "{k}");
        assert_eq!(blobs.get(k).await.unwrap(), Bytes::from(format!("blob {i}")), "{k}");
    }
    assert!(!blobs.exists(&format!("{prefix}a/b/c/d")).await.unwrap());
    assert!(!blobs.exists(&format!("{prefix}a")).await.unwrap());

    // Deleting: gone, and deleting again (or what was never stored) is no error; the other blobs stay.
    blobs.delete(&key).await.unwrap();
    assert!(!blobs.exists(&key).await.unwrap());
    assert!(blobs.get(&key).await.is_err());
    assert!(blobs.stream(&key).await.is_err());
    blobs.delete(&key).await.unwrap();
    blobs.delete(&format!("{prefix}never/stored")).await.unwrap();
    assert!(blobs.exists(&from_file).await.unwrap());
    blobs.delete(&nested[1]).await.unwrap();
    assert!(!blobs.exists(&nested[1]).await.unwrap());
    assert!(blobs.exists(&nested[0]).await.unwrap());
    assert!(blobs.exists(&nested[2]).await.unwrap());

    for k in nested.iter().chain([&from_file, &empty]) {
        blobs.delete(k).await.unwrap();
        assert!(!blobs.exists(k).await.unwrap(), "{k}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_large_blob_round_trips_byte_for_byte() {
    let Some(endpoint) = endpoint("s3_large_blob_round_trips_byte_for_byte") else { return };
    let dir = TempDir::new("large");
    let (blobs, prefix) = s3_blobs(&endpoint, dir.path());

    // 5 MiB of random bytes: any chunk lost, repeated or out of order shows.
    let mut data = vec![0u8; 5 * 1024 * 1024];
    rand::rng().fill(&mut data[..]);
    let data = Bytes::from(data);
    let key = format!("{prefix}projects/p/assets/big.mp4");
    blobs.put(&key, data.clone()).await.unwrap();

    let got = blobs.get(&key).await.unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "get returned other bytes than were put");
    let (size, all) = streamed(&blobs, &key).await;
    assert_eq!(size, data.len() as u64);
    assert!(all == data, "the stream yielded other bytes than were put");
    let copy = dir.path().join("big.mp4");
    assert_eq!(blobs.get_to_file(&key, &copy).await.unwrap(), data.len() as u64);
    assert!(std::fs::read(&copy).unwrap() == data, "get_to_file wrote other bytes than were put");

    // The same through a file, under a second key.
    let file_key = format!("{prefix}projects/p/assets/big-from-file.mp4");
    assert_eq!(blobs.put_file(&file_key, &copy).await.unwrap(), data.len() as u64);
    assert!(blobs.get(&file_key).await.unwrap() == data, "put_file stored other bytes than the file's");

    blobs.delete(&key).await.unwrap();
    blobs.delete(&file_key).await.unwrap();
    assert!(!blobs.exists(&key).await.unwrap());
    assert!(!blobs.exists(&file_key).await.unwrap());
}

/// The config errors need no server: they come before any request.
#[test]
fn s3_config_errors_name_the_setting() {
    let dir = TempDir::new("config");
    let message = |config: &BlobConfig| match Blobs::from_config(config, dir.path()) {
        Err(Error::Invalid(m)) => m,
        other => panic!("{config:?}: expected an invalid-config error, got {other:?}"),
    };

    let no_bucket = BlobConfig { bucket: None, ..s3_config("http://127.0.0.1:1") };
    let m = message(&no_bucket);
    assert!(m.contains("blob.bucket"), "{m}");
    assert!(message(&BlobConfig { kind: Some("s3".into()), ..Default::default() }).contains("blob.bucket"));

    let ftp = BlobConfig { kind: Some("ftp".into()), ..s3_config("http://127.0.0.1:1") };
    let m = message(&ftp);
    assert!(m.contains("blob.kind"), "{m}");
    assert!(m.contains("ftp"), "{m}");
}
