//! Video jobs and the durable queue they wait in.
//!
//! A job is WAITING until a worker claims it. Claiming sets PROCESSING, the worker's id and a lease; the worker
//! renews the lease with every progress update ([`Db::heartbeat`]). When the worker dies the lease runs out and
//! the next claim takes the job again (after `max_attempts` lost leases it is FAILED instead, so a job that kills
//! its worker cannot loop forever). A heartbeat that finds the job no longer PROCESSING under its worker (it
//! was canceled) tells the worker to stop. Finishing inserts the output assets and sets SUCCEED in one
//! transaction, and only while the worker still holds the job.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::assets::{insert_asset, NewAsset};
use crate::{now_ms, opt_i64, opt_string, Arg, Backend, Db, Query, Result};

/// The state of a job (MetaStudio's enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum JobState {
    Waiting,
    Processing,
    Succeed,
    Failed,
    Canceled,
    Block,
}

impl JobState {
    /// Every state.
    pub const ALL: [JobState; 6] = [
        JobState::Waiting,
        JobState::Processing,
        JobState::Succeed,
        JobState::Failed,
        JobState::Canceled,
        JobState::Block,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Waiting => "WAITING",
            JobState::Processing => "PROCESSING",
            JobState::Succeed => "SUCCEED",
            JobState::Failed => "FAILED",
            JobState::Canceled => "CANCELED",
            JobState::Block => "BLOCK",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the job is over.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Succeed | JobState::Failed | JobState::Canceled)
    }
}

/// A job row.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub project_id: String,
    pub job_type: String,
    pub state: JobState,
    /// The script as submitted (JSON).
    pub script: serde_json::Value,
    pub script_id: Option<String>,
    pub asset_name: Option<String>,
    /// 0–100.
    pub progress: i64,
    pub create_time: i64,
    pub lastupdate_time: i64,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub duration_ms: Option<i64>,
    pub error_code: Option<String>,
    pub error_msg: Option<String>,
    pub output_asset_id: Option<String>,
    pub cover_asset_id: Option<String>,
    pub worker: Option<String>,
    pub attempts: i64,
}

const JOB_COLS: &str = "id, project_id, job_type, state, script, script_id, asset_name, progress, create_time, \
    lastupdate_time, start_time, end_time, duration_ms, error_code, error_msg, output_asset_id, cover_asset_id, \
    worker, attempts";

fn job_from_row(r: &AnyRow) -> Result<Job> {
    let state: String = r.try_get("state")?;
    let script: String = r.try_get("script")?;
    Ok(Job {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        job_type: r.try_get("job_type")?,
        state: JobState::parse(&state).ok_or_else(|| crate::Error::Invalid(format!("job state {state:?}")))?,
        script: serde_json::from_str(&script).unwrap_or(serde_json::Value::Null),
        script_id: opt_string(r, "script_id")?,
        asset_name: opt_string(r, "asset_name")?,
        progress: r.try_get("progress")?,
        create_time: r.try_get("create_time")?,
        lastupdate_time: r.try_get("lastupdate_time")?,
        start_time: opt_i64(r, "start_time")?,
        end_time: opt_i64(r, "end_time")?,
        duration_ms: opt_i64(r, "duration_ms")?,
        error_code: opt_string(r, "error_code")?,
        error_msg: opt_string(r, "error_msg")?,
        output_asset_id: opt_string(r, "output_asset_id")?,
        cover_asset_id: opt_string(r, "cover_asset_id")?,
        worker: opt_string(r, "worker")?,
        attempts: r.try_get("attempts")?,
    })
}

/// Sort direction of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDir {
    #[default]
    Asc,
    Desc,
}

/// Filters of a job listing (seed 004's query parameters, already parsed and checked).
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub offset: i64,
    /// At most this many jobs (the caller bounds it).
    pub limit: i64,
    pub states: Vec<JobState>,
    /// Only `create_time` exists as a key; the direction applies to it.
    pub sort_dir: SortDir,
    pub create_since: Option<i64>,
    pub create_until: Option<i64>,
    pub script_id: Option<String>,
    pub asset_name: Option<String>,
    pub job_type: Option<String>,
    pub job_ids: Vec<String>,
}

/// What [`Db::cancel_job`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    Canceled,
    NotFound,
    /// The job is already in this final state.
    AlreadyFinal(JobState),
}

/// The result files of a finished job, already in the blob store.
#[derive(Debug, Clone)]
pub struct JobOutput {
    pub video: NewAsset,
    pub cover: Option<NewAsset>,
    pub extra: Vec<NewAsset>,
    pub duration_ms: i64,
}

impl Db {
    /// Queues a new job.
    pub async fn create_job(
        &self,
        id: &str,
        project_id: &str,
        job_type: &str,
        script: &serde_json::Value,
        script_id: Option<&str>,
        asset_name: Option<&str>,
    ) -> Result<Job> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO jobs (id, project_id, job_type, state, script, script_id, asset_name, progress, create_time,
             lastupdate_time, attempts) VALUES ($1, $2, $3, 'WAITING', $4, $5, $6, 0, $7, $7, 0)",
        )
        .bind(id)
        .bind(project_id)
        .bind(job_type)
        .bind(script.to_string())
        .bind(script_id.map(str::to_string))
        .bind(asset_name.map(str::to_string))
        .bind(now)
        .execute(self.pool())
        .await?;
        self.job(project_id, id).await?.ok_or_else(|| crate::Error::Invalid("job vanished".into()))
    }

    /// The job `id` of `project_id`.
    pub async fn job(&self, project_id: &str, id: &str) -> Result<Option<Job>> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {JOB_COLS} FROM jobs WHERE id = $1 AND project_id = $2")))
            .bind(id)
            .bind(project_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// The job `id`, whatever its project (for workers).
    pub async fn job_any_project(&self, id: &str) -> Result<Option<Job>> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {JOB_COLS} FROM jobs WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// One page of the project's jobs and the number of jobs that match the filter.
    pub async fn list_jobs(&self, project_id: &str, f: &JobFilter) -> Result<(i64, Vec<Job>)> {
        let mut q = Query::new("");
        q.push(" WHERE project_id = ?", Arg::S(project_id.to_string()));
        if !f.states.is_empty() {
            q.raw(" AND state IN (");
            for (i, s) in f.states.iter().enumerate() {
                q.push(if i == 0 { "?" } else { ", ?" }, Arg::S(s.as_str().to_string()));
            }
            q.raw(")");
        }
        if let Some(t) = f.create_since {
            q.push(" AND create_time >= ?", Arg::I(t));
        }
        if let Some(t) = f.create_until {
            q.push(" AND create_time <= ?", Arg::I(t));
        }
        if let Some(s) = &f.script_id {
            q.push(" AND script_id = ?", Arg::S(s.clone()));
        }
        if let Some(s) = &f.asset_name {
            q.push(" AND asset_name = ?", Arg::S(s.clone()));
        }
        if let Some(s) = &f.job_type {
            q.push(" AND job_type = ?", Arg::S(s.clone()));
        }
        if !f.job_ids.is_empty() {
            q.raw(" AND id IN (");
            for (i, s) in f.job_ids.iter().enumerate() {
                q.push(if i == 0 { "?" } else { ", ?" }, Arg::S(s.clone()));
            }
            q.raw(")");
        }
        let filter = q.sql.clone();
        let count_q = Query { sql: format!("SELECT COUNT(*) FROM jobs{filter}"), args: q.args.clone() };
        let count: i64 = count_q.build().fetch_one(self.pool()).await?.try_get(0)?;
        let dir = if f.sort_dir == SortDir::Desc { "DESC" } else { "ASC" };
        let mut page = Query {
            sql: format!("SELECT {JOB_COLS} FROM jobs{filter} ORDER BY create_time {dir}, id {dir}"),
            args: q.args,
        };
        page.push(" LIMIT ?", Arg::I(f.limit.max(0)));
        page.push(" OFFSET ?", Arg::I(f.offset.max(0)));
        let rows = page.build().fetch_all(self.pool()).await?;
        Ok((count, rows.iter().map(job_from_row).collect::<Result<_>>()?))
    }

    /// Cancels a WAITING or PROCESSING job of the project. A worker rendering it learns at its next heartbeat.
    pub async fn cancel_job(&self, project_id: &str, id: &str) -> Result<CancelOutcome> {
        let now = now_ms();
        let r = sqlx::query(
            "UPDATE jobs SET state = 'CANCELED', end_time = $1, lastupdate_time = $1, worker = NULL, lease_until = NULL
             WHERE id = $2 AND project_id = $3 AND state IN ('WAITING', 'PROCESSING')",
        )
        .bind(now)
        .bind(id)
        .bind(project_id)
        .execute(self.pool())
        .await?;
        if r.rows_affected() == 1 {
            return Ok(CancelOutcome::Canceled);
        }
        Ok(match self.job(project_id, id).await? {
            Some(j) => CancelOutcome::AlreadyFinal(j.state),
            None => CancelOutcome::NotFound,
        })
    }

    /// Claims the oldest job that is waiting (or whose worker's lease ran out) for `worker`, holding it until
    /// `now + lease_ms`. Jobs that lost their worker `max_attempts` times are failed instead.
    pub async fn claim_job(&self, worker: &str, lease_ms: i64, max_attempts: i64) -> Result<Option<Job>> {
        let now = now_ms();
        sqlx::query(
            "UPDATE jobs SET state = 'FAILED', end_time = $1, lastupdate_time = $1, worker = NULL, lease_until = NULL,
             error_code = 'WORKER_LOST', error_msg = 'the job stopped its worker ' || CAST(attempts AS TEXT) || ' times'
             WHERE state = 'PROCESSING' AND lease_until < $1 AND attempts >= $2",
        )
        .bind(now)
        .bind(max_attempts)
        .execute(self.pool())
        .await?;
        let lock = if self.backend() == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE jobs SET state = 'PROCESSING', worker = $1, lease_until = $2, attempts = attempts + 1,
             start_time = COALESCE(start_time, $3), lastupdate_time = $3, progress = 0
             WHERE id = (SELECT id FROM jobs WHERE state = 'WAITING' OR (state = 'PROCESSING' AND lease_until < $3)
                         ORDER BY create_time, id LIMIT 1{lock})
             RETURNING {JOB_COLS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(worker)
            .bind(now + lease_ms)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Records progress and renews the lease. False when the worker no longer holds the job (canceled, or its
    /// lease ran out and another worker took it): the worker must stop.
    pub async fn heartbeat(&self, id: &str, worker: &str, progress: i64, lease_ms: i64) -> Result<bool> {
        let now = now_ms();
        let r = sqlx::query(
            "UPDATE jobs SET progress = $1, lease_until = $2, lastupdate_time = $3
             WHERE id = $4 AND worker = $5 AND state = 'PROCESSING'",
        )
        .bind(progress.clamp(0, 100))
        .bind(now + lease_ms)
        .bind(now)
        .bind(id)
        .bind(worker)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Marks the job SUCCEED with its outputs, in one transaction, if `worker` still holds it. False when it
    /// does not (the caller then deletes the blobs it wrote).
    pub async fn finish_job(&self, id: &str, worker: &str, out: &JobOutput) -> Result<bool> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        // The guarded UPDATE comes first: it is the check that the worker still holds the job, and it makes the
        // transaction a writer from its first statement. (On SQLite a transaction that reads first and writes
        // later fails with SQLITE_BUSY, without waiting, when another connection writes in between.) Should an
        // insert below fail, dropping `tx` rolls the UPDATE back.
        let r = sqlx::query(
            "UPDATE jobs SET state = 'SUCCEED', progress = 100, end_time = $1, lastupdate_time = $1, duration_ms = $2,
             output_asset_id = $3, cover_asset_id = $4, worker = NULL, lease_until = NULL
             WHERE id = $5 AND worker = $6 AND state = 'PROCESSING'",
        )
        .bind(now)
        .bind(out.duration_ms)
        .bind(&out.video.id)
        .bind(out.cover.as_ref().map(|c| c.id.clone()))
        .bind(id)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        insert_asset(&mut tx, &out.video, now).await?;
        if let Some(c) = &out.cover {
            insert_asset(&mut tx, c, now).await?;
        }
        for a in &out.extra {
            insert_asset(&mut tx, a, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Marks the job FAILED with an error, if `worker` still holds it.
    pub async fn fail_job(&self, id: &str, worker: &str, code: &str, message: &str) -> Result<bool> {
        let now = now_ms();
        let r = sqlx::query(
            "UPDATE jobs SET state = 'FAILED', end_time = $1, lastupdate_time = $1, error_code = $2, error_msg = $3,
             worker = NULL, lease_until = NULL WHERE id = $4 AND worker = $5 AND state = 'PROCESSING'",
        )
        .bind(now)
        .bind(code)
        .bind(message)
        .bind(id)
        .bind(worker)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Gives a claimed job back to the queue (a worker shutting down cleanly).
    pub async fn release_job(&self, id: &str, worker: &str) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE jobs SET state = 'WAITING', worker = NULL, lease_until = NULL, progress = 0, attempts = attempts - 1
             WHERE id = $1 AND worker = $2 AND state = 'PROCESSING'",
        )
        .bind(id)
        .bind(worker)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }
}
