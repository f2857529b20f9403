//! Live streams as rows: what was asked (the config JSON), the status ZEGO numbers (1 initializing, 2 init
//! failed, 3 streaming, 4 stopping, 5 stopped), and which server process runs the stream (`owner`, renewed
//! through `heartbeat_at`). A stream whose owner stopped renewing is taken over by another process (or the
//! restarted one), so a crash does not lose a stream. Rows stay after a stream ends, so it can be queried.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{now_ms, Db, Result};

/// Statuses of a stream that has not ended.
pub const LIVE_STATUSES: &str = "(1, 3, 4)";

/// A stream row.
#[derive(Debug, Clone)]
pub struct StreamRow {
    pub id: String,
    pub project_id: String,
    pub room_id: String,
    pub stream_id: String,
    pub status: i64,
    pub fail_reason: Option<String>,
    pub config: serde_json::Value,
    pub viewer_token_hash: String,
    pub owner: String,
    pub heartbeat_at: i64,
    pub created_at: i64,
    pub ended_at: Option<i64>,
}

/// What creating a stream needs.
#[derive(Debug, Clone)]
pub struct NewStream<'a> {
    pub id: &'a str,
    pub project_id: &'a str,
    pub room_id: &'a str,
    pub stream_id: &'a str,
    pub config: &'a serde_json::Value,
    pub viewer_token_hash: &'a str,
    pub owner: &'a str,
}

const COLS: &str = "id, project_id, room_id, stream_id, status, fail_reason, config, viewer_token_hash, owner, \
                    heartbeat_at, created_at, ended_at";

fn from_row(r: &AnyRow) -> Result<StreamRow> {
    let config: String = r.try_get("config")?;
    Ok(StreamRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        room_id: r.try_get("room_id")?,
        stream_id: r.try_get("stream_id")?,
        status: r.try_get("status")?,
        fail_reason: r.try_get("fail_reason")?,
        config: serde_json::from_str(&config).unwrap_or(serde_json::Value::Null),
        viewer_token_hash: r.try_get("viewer_token_hash")?,
        owner: r.try_get("owner")?,
        heartbeat_at: r.try_get("heartbeat_at")?,
        created_at: r.try_get("created_at")?,
        ended_at: r.try_get("ended_at")?,
    })
}

/// Why a stream could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateRefusal {
    /// The project already runs `limit` streams.
    Limit(i64),
    /// An unfinished stream of the project has this StreamId.
    StreamIdTaken,
}

impl Db {
    /// Creates a stream (status 1) unless the project already runs `limit` unfinished streams or one of them
    /// has the same StreamId.
    pub async fn create_stream(
        &self,
        s: &NewStream<'_>,
        limit: i64,
    ) -> Result<std::result::Result<StreamRow, CreateRefusal>> {
        let mut tx = self.pool().begin().await?;
        if self.backend() == crate::Backend::Postgres {
            // Serialize creations within a project, so two at once cannot both pass the limit.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))").bind(s.project_id).execute(&mut *tx).await?;
        }
        let running: i64 = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM streams WHERE project_id = $1 AND status IN {LIVE_STATUSES}"
        )))
        .bind(s.project_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if running >= limit {
            return Ok(Err(CreateRefusal::Limit(limit)));
        }
        let taken: i64 = sqlx::query(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM streams WHERE project_id = $1 AND stream_id = $2 AND status IN {LIVE_STATUSES}"
        )))
        .bind(s.project_id)
        .bind(s.stream_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if taken > 0 {
            return Ok(Err(CreateRefusal::StreamIdTaken));
        }
        let now = now_ms();
        sqlx::query(
            "INSERT INTO streams (id, project_id, room_id, stream_id, status, fail_reason, config, viewer_token_hash, \
             owner, heartbeat_at, created_at, ended_at) VALUES ($1, $2, $3, $4, 1, NULL, $5, $6, $7, $8, $9, NULL)",
        )
        .bind(s.id)
        .bind(s.project_id)
        .bind(s.room_id)
        .bind(s.stream_id)
        .bind(s.config.to_string())
        .bind(s.viewer_token_hash)
        .bind(s.owner)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let row = self.stream(s.project_id, s.id).await?;
        row.map(Ok).ok_or_else(|| crate::Error::Invalid("stream vanished".into()))
    }

    /// The project's stream `id`.
    pub async fn stream(&self, project_id: &str, id: &str) -> Result<Option<StreamRow>> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLS} FROM streams WHERE id = $1 AND project_id = $2")))
            .bind(id)
            .bind(project_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Stream `id` whatever its project (for viewer tokens, which name a stream, not a project).
    pub async fn stream_any_project(&self, id: &str) -> Result<Option<StreamRow>> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLS} FROM streams WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The project's streams, newest first; only unfinished ones when `live_only`.
    pub async fn streams(&self, project_id: &str, live_only: bool, limit: i64) -> Result<Vec<StreamRow>> {
        let filter = if live_only { format!("AND status IN {LIVE_STATUSES}") } else { String::new() };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLS} FROM streams WHERE project_id = $1 {filter} ORDER BY created_at DESC, id LIMIT $2"
        )))
        .bind(project_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Records a stream's status (and, for 2 and 5, why and when it ended). A stream that has ended keeps its
    /// final status.
    pub async fn set_stream_status(&self, id: &str, status: i64, reason: Option<&str>) -> Result<()> {
        let ended = if status == 2 || status == 5 { Some(now_ms()) } else { None };
        sqlx::query(
            "UPDATE streams SET status = $1, fail_reason = COALESCE($2, fail_reason), ended_at = COALESCE($3, ended_at) \
             WHERE id = $4 AND status NOT IN (2, 5)",
        )
        .bind(status)
        .bind(reason)
        .bind(ended)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Renews `owner`'s hold on its unfinished streams.
    pub async fn stream_heartbeat(&self, owner: &str) -> Result<()> {
        sqlx::query(AssertSqlSafe(format!(
            "UPDATE streams SET heartbeat_at = $1 WHERE owner = $2 AND status IN {LIVE_STATUSES}"
        )))
        .bind(now_ms())
        .bind(owner)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Takes over unfinished streams whose owner has not renewed its hold since `stale_before` (ms): they
    /// become `owner`'s, and are returned for it to run again.
    pub async fn take_over_streams(&self, owner: &str, stale_before: i64) -> Result<Vec<StreamRow>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLS} FROM streams WHERE status IN {LIVE_STATUSES} AND heartbeat_at < $1 AND owner <> $2"
        )))
        .bind(stale_before)
        .bind(owner)
        .fetch_all(self.pool())
        .await?;
        let mut taken = Vec::new();
        for r in rows.iter().map(from_row) {
            let r = r?;
            let done = sqlx::query(
                "UPDATE streams SET owner = $1, heartbeat_at = $2 WHERE id = $3 AND owner = $4 AND heartbeat_at = $5",
            )
            .bind(owner)
            .bind(now_ms())
            .bind(&r.id)
            .bind(&r.owner)
            .bind(r.heartbeat_at)
            .execute(self.pool())
            .await?;
            if done.rows_affected() == 1 {
                taken.push(StreamRow { owner: owner.to_string(), ..r });
            }
        }
        Ok(taken)
    }
}
