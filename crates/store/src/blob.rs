//! Blob storage behind one interface (the `object_store` crate): a local directory by default, any
//! S3-compatible service as an option. Keys are relative paths such as `projects/P/assets/A`.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::{Error, Result};

/// Where blobs go (the `[blob]` section of the config file).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BlobConfig {
    /// `local` (default: `DATA_DIR/blobs`) or `s3`.
    pub kind: Option<String>,
    /// S3 bucket.
    pub bucket: Option<String>,
    /// S3 endpoint for S3-compatible services, e.g. `http://127.0.0.1:9000`.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Allow a plain-http endpoint.
    pub allow_http: bool,
}

/// The blob store.
#[derive(Debug, Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
}

impl Blobs {
    /// A blob store in the local directory `dir` (created when missing).
    pub fn local(dir: &Path) -> Result<Blobs> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.display().to_string(), source })?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true);
        Ok(Blobs { store: Arc::new(fs) })
    }

    /// The blob store `config` describes; `data_dir` holds the local default.
    pub fn from_config(config: &BlobConfig, data_dir: &Path) -> Result<Blobs> {
        match config.kind.as_deref().unwrap_or("local") {
            "local" => Blobs::local(&data_dir.join("blobs")),
            "s3" => {
                let bucket = config
                    .bucket
                    .as_deref()
                    .ok_or_else(|| Error::Invalid("blob.bucket: an s3 blob store needs a bucket".into()))?;
                let mut b = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_allow_http(config.allow_http);
                if let Some(e) = &config.endpoint {
                    b = b.with_endpoint(e);
                }
                if let Some(r) = &config.region {
                    b = b.with_region(r);
                }
                if let Some(k) = &config.access_key_id {
                    b = b.with_access_key_id(k);
                }
                if let Some(s) = &config.secret_access_key {
                    b = b.with_secret_access_key(s);
                }
                Ok(Blobs { store: Arc::new(b.build()?) })
            }
            other => Err(Error::Invalid(format!("blob.kind: {other:?} is not one of local, s3"))),
        }
    }

    /// Stores `bytes` under `key`.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.store.put(&Key::from(key), PutPayload::from_bytes(bytes)).await?;
        Ok(())
    }

    /// Stores the file at `path` under `key`.
    pub async fn put_file(&self, key: &str, path: &Path) -> Result<u64> {
        let bytes =
            tokio::fs::read(path).await.map_err(|source| Error::Io { path: path.display().to_string(), source })?;
        let n = bytes.len() as u64;
        self.put(key, Bytes::from(bytes)).await?;
        Ok(n)
    }

    /// The bytes under `key`.
    pub async fn get(&self, key: &str) -> Result<Bytes> {
        Ok(self.store.get(&Key::from(key)).await?.bytes().await?)
    }

    /// The bytes under `key` as a stream, with the total size.
    pub async fn stream(
        &self,
        key: &str,
    ) -> Result<(u64, futures::stream::BoxStream<'static, object_store::Result<Bytes>>)> {
        let r = self.store.get(&Key::from(key)).await?;
        let size = r.meta.size;
        Ok((size, r.into_stream()))
    }

    /// Copies the blob under `key` into the file `path`.
    pub async fn get_to_file(&self, key: &str, path: &Path) -> Result<u64> {
        let io = |source| Error::Io { path: path.display().to_string(), source };
        let mut file = tokio::fs::File::create(path).await.map_err(io)?;
        let mut stream = self.store.get(&Key::from(key)).await?.into_stream();
        let mut n = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            n += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        Ok(n)
    }

    /// Whether a blob is stored under `key`.
    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self.store.head(&Key::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes the blob under `key` (no error when it is already gone).
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&Key::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
