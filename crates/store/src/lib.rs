//! doppel's state: one database (SQLite in the data directory by default, PostgreSQL for scale-out) holding
//! projects, credentials, jobs (a durable queue), assets, imported digital humans and live streams; and one blob store (a
//! local directory by default, S3-compatible as an option) holding the bytes of assets.
//!
//! Both databases go through sqlx's `Any` driver with runtime queries written once: `$N` placeholders, integer
//! milliseconds for times, JSON as text. Where the two differ (claiming a job uses `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL; SQLite has one writer at a time) the [`Backend`] picks the statement.
//!
//! Invariants:
//! - every row belongs to a project, and every read or write through this crate's API that a user can cause
//!   names the project, so one project cannot see another's rows;
//! - a job is PROCESSING only while a worker holds its lease; a lease that runs out (the worker died) puts the
//!   job back in line for the next claim, and the job's output assets are inserted in the same transaction that
//!   marks it SUCCEED, so a job that ran twice still has exactly one output.

pub mod assets;
pub mod blob;
pub mod humans;
pub mod jobs;
pub mod projects;
pub mod streams;

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Row};

pub use assets::{Asset, AssetFilter, NewAsset};
pub use blob::{BlobConfig, Blobs};
pub use humans::DigitalHuman;
pub use jobs::{CancelOutcome, Job, JobFilter, JobOutput, JobState, SortDir};
pub use projects::{Credentials, Project};
pub use streams::{CreateRefusal, NewStream, StreamRow};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("blob store: {0}")]
    Blob(#[from] object_store::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database: projects, credentials, jobs, assets, digital humans, settings.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// A new random id: 32 lowercase hex digits (128 bits), the shape of MetaStudio's ids.
pub fn new_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// `url` (`postgres://…/DB?query`) naming database `name` instead, keeping any `?query`: for tools and tests
/// that create a database next to the one they were given.
pub fn database_url_with_name(url: &str, name: &str) -> String {
    let (base, query) = url.split_at(url.find('?').unwrap_or(url.len()));
    let host_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[host_start..].find('/') {
        Some(i) => &base[..host_start + i],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// Lowercase hex SHA-256 of `s` (how API keys are kept).
pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// Schema migrations, applied in order once each. Never edit a released one; append.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE TABLE credentials (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id),
        api_key_hash TEXT NOT NULL UNIQUE,
        access_key_id TEXT NOT NULL UNIQUE,
        access_key_secret TEXT NOT NULL,
        zego_app_id BIGINT NOT NULL UNIQUE,
        zego_server_secret TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
    );
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        job_type TEXT NOT NULL,
        state TEXT NOT NULL,
        script TEXT NOT NULL,
        script_id TEXT,
        asset_name TEXT,
        progress BIGINT NOT NULL DEFAULT 0,
        create_time BIGINT NOT NULL,
        lastupdate_time BIGINT NOT NULL,
        start_time BIGINT,
        end_time BIGINT,
        duration_ms BIGINT,
        error_code TEXT,
        error_msg TEXT,
        output_asset_id TEXT,
        cover_asset_id TEXT,
        worker TEXT,
        lease_until BIGINT,
        attempts BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX jobs_by_project ON jobs(project_id, create_time);
    CREATE INDEX jobs_by_state ON jobs(state, create_time);
    CREATE TABLE assets (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        asset_type TEXT NOT NULL,
        name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        blob_key TEXT NOT NULL,
        job_id TEXT,
        meta TEXT NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE INDEX assets_by_project ON assets(project_id, created_at);
    CREATE INDEX assets_by_job ON assets(job_id);
    CREATE TABLE digital_humans (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        package_asset_id TEXT NOT NULL,
        info TEXT NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE INDEX humans_by_project ON digital_humans(project_id, created_at);
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE nonces (
        scope TEXT NOT NULL,
        nonce TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (scope, nonce)
    )",
    // 2: live streams (see `streams`). At most one unfinished stream per project and StreamId.
    "CREATE TABLE streams (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        room_id TEXT NOT NULL,
        stream_id TEXT NOT NULL,
        status BIGINT NOT NULL,
        fail_reason TEXT,
        config TEXT NOT NULL,
        viewer_token_hash TEXT NOT NULL,
        owner TEXT NOT NULL,
        heartbeat_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        ended_at BIGINT
    );
    CREATE INDEX streams_project ON streams (project_id, created_at);
    CREATE UNIQUE INDEX streams_live_stream_id ON streams (project_id, stream_id) WHERE status IN (1, 3, 4)",
];

impl Db {
    /// Opens the database at `url` (`sqlite://PATH` or `postgres://...`) and brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(Error::Invalid(format!("{url}: database URLs start with sqlite:// or postgres://")));
        };
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            // One writer at a time: waiting for the lock beats failing with SQLITE_BUSY.
            options = options.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::query("PRAGMA busy_timeout = 15000").execute(&mut *conn).await?;
                    sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                    Ok(())
                })
            });
        } else {
            options = options.max_connections(16);
        }
        let pool = options.connect(url).await?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        }
        let db = Db { pool, backend };
        db.migrate().await?;
        Ok(db)
    }

    /// Opens (creating) the SQLite database `doppel.db` in `dir`.
    pub async fn open_dir(dir: &Path) -> Result<Db> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.display().to_string(), source })?;
        let file = dir.join("doppel.db");
        Db::connect(&format!("sqlite://{}?mode=rwc", file.display())).await
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for crates that add their own queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            // Several servers may start at once on one database: one migrates, the others wait.
            sqlx::query("SELECT pg_advisory_xact_lock(7423001)").execute(&mut *tx).await?;
        }
        sqlx::query("CREATE TABLE IF NOT EXISTS doppel_schema (version BIGINT NOT NULL)").execute(&mut *tx).await?;
        let version: Option<i64> =
            sqlx::query("SELECT MAX(version) FROM doppel_schema").fetch_one(&mut *tx).await?.try_get(0)?;
        let version = version.unwrap_or(0) as usize;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version) {
            for stmt in m.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                sqlx::query(AssertSqlSafe(stmt.to_string())).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO doppel_schema (version) VALUES ($1)").bind(i as i64 + 1).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A server-wide setting, created with `init` when it does not exist yet (the first writer wins, so every
    /// process on one database agrees).
    pub async fn setting_or_init(&self, key: &str, init: impl FnOnce() -> String) -> Result<String> {
        if let Some(v) = self.setting(key).await? {
            return Ok(v);
        }
        let value = init();
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(&value)
            .execute(&self.pool)
            .await?;
        Ok(self.setting(key).await?.unwrap_or(value))
    }

    /// A server-wide setting.
    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        Ok(match row {
            Some(r) => Some(r.try_get(0)?),
            None => None,
        })
    }

    /// Records `nonce` in `scope` until `expires_at` (ms); false when it was already seen (a replay).
    pub async fn use_nonce(&self, scope: &str, nonce: &str, expires_at: i64) -> Result<bool> {
        let now = now_ms();
        sqlx::query("DELETE FROM nonces WHERE expires_at < $1").bind(now).execute(&self.pool).await?;
        let done = sqlx::query(
            "INSERT INTO nonces (scope, nonce, expires_at) VALUES ($1, $2, $3) ON CONFLICT (scope, nonce) DO NOTHING",
        )
        .bind(scope)
        .bind(nonce)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// One bind value of a query built at run time.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    I(i64),
    S(String),
}

/// A query built at run time: SQL with `$N` placeholders and its values, bound in order.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pub sql: String,
    pub args: Vec<Arg>,
}

impl Query {
    pub fn new(sql: &str) -> Query {
        Query { sql: sql.to_string(), args: Vec::new() }
    }

    /// Appends `sql` in which `?` stands for the next placeholder, and its value.
    pub fn push(&mut self, sql: &str, arg: Arg) -> &mut Query {
        self.args.push(arg);
        let n = self.args.len();
        self.sql.push_str(&sql.replacen('?', &format!("${n}"), 1));
        self
    }

    pub fn raw(&mut self, sql: &str) -> &mut Query {
        self.sql.push_str(sql);
        self
    }

    pub fn build(&self) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
        let mut q = sqlx::query(AssertSqlSafe(self.sql.clone()));
        for a in &self.args {
            q = match a {
                Arg::I(i) => q.bind(*i),
                Arg::S(s) => q.bind(s.clone()),
            };
        }
        q
    }
}

pub(crate) fn opt_string(row: &AnyRow, col: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}

pub(crate) fn opt_i64(row: &AnyRow, col: &str) -> Result<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_urls_get_another_name() {
        let f = super::database_url_with_name;
        assert_eq!(f("postgres://u@h:5432/a", "b"), "postgres://u@h:5432/b");
        assert_eq!(f("postgres://u@h:5432/a?sslmode=disable", "b"), "postgres://u@h:5432/b?sslmode=disable");
        assert_eq!(f("postgres://u@h:5432", "b"), "postgres://u@h:5432/b");
    }
}
