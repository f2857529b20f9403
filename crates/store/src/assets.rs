//! Assets: files a project owns (uploaded media, fonts, avatar packages, and every result file of a job). The
//! row keeps what the API shows; the bytes live in the blob store under `blob_key`.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use crate::{now_ms, opt_string, Arg, Db, Query, Result};

/// An asset row.
#[derive(Debug, Clone, Serialize)]
pub struct Asset {
    pub id: String,
    pub project_id: String,
    /// IMAGE, VIDEO, AUDIO, MUSIC, FONT, HUMAN_MODEL_2D, SUBTITLE.
    pub asset_type: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    #[serde(skip)]
    pub blob_key: String,
    /// The job that produced it, for result files.
    pub job_id: Option<String>,
    /// Facts found when it was checked (width, height, duration…).
    pub meta: serde_json::Value,
    pub created_at: i64,
}

/// An asset about to be inserted (its bytes are already in the blob store).
#[derive(Debug, Clone)]
pub struct NewAsset {
    pub id: String,
    pub project_id: String,
    pub asset_type: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub blob_key: String,
    pub job_id: Option<String>,
    pub meta: serde_json::Value,
}

/// Filters of an asset listing.
#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    pub offset: i64,
    pub limit: i64,
    pub asset_type: Option<String>,
    pub name: Option<String>,
}

const ASSET_COLS: &str = "id, project_id, asset_type, name, content_type, size, blob_key, job_id, meta, created_at";

fn asset_from_row(r: &AnyRow) -> Result<Asset> {
    let meta: String = r.try_get("meta")?;
    Ok(Asset {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        asset_type: r.try_get("asset_type")?,
        name: r.try_get("name")?,
        content_type: r.try_get("content_type")?,
        size: r.try_get("size")?,
        blob_key: r.try_get("blob_key")?,
        job_id: opt_string(r, "job_id")?,
        meta: serde_json::from_str(&meta).unwrap_or(serde_json::Value::Null),
        created_at: r.try_get("created_at")?,
    })
}

pub(crate) async fn insert_asset(tx: &mut Transaction<'_, Any>, a: &NewAsset, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO assets (id, project_id, asset_type, name, content_type, size, blob_key, job_id, meta, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&a.id)
    .bind(&a.project_id)
    .bind(&a.asset_type)
    .bind(&a.name)
    .bind(&a.content_type)
    .bind(a.size)
    .bind(&a.blob_key)
    .bind(a.job_id.clone())
    .bind(a.meta.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Db {
    /// Inserts an asset whose bytes are already stored.
    pub async fn create_asset(&self, a: &NewAsset) -> Result<Asset> {
        let mut tx = self.pool().begin().await?;
        insert_asset(&mut tx, a, now_ms()).await?;
        tx.commit().await?;
        self.asset(&a.project_id, &a.id).await?.ok_or_else(|| crate::Error::Invalid("asset vanished".into()))
    }

    /// The asset `id` of `project_id`.
    pub async fn asset(&self, project_id: &str, id: &str) -> Result<Option<Asset>> {
        let row =
            sqlx::query(AssertSqlSafe(format!("SELECT {ASSET_COLS} FROM assets WHERE id = $1 AND project_id = $2")))
                .bind(id)
                .bind(project_id)
                .fetch_optional(self.pool())
                .await?;
        row.as_ref().map(asset_from_row).transpose()
    }

    /// The asset `id`, whatever its project (for signed file URLs, which carry no project).
    pub async fn asset_any_project(&self, id: &str) -> Result<Option<Asset>> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {ASSET_COLS} FROM assets WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(asset_from_row).transpose()
    }

    /// One page of the project's assets, newest first, and how many match.
    pub async fn list_assets(&self, project_id: &str, f: &AssetFilter) -> Result<(i64, Vec<Asset>)> {
        let mut q = Query::new("");
        q.push(" WHERE project_id = ?", Arg::S(project_id.to_string()));
        if let Some(t) = &f.asset_type {
            q.push(" AND asset_type = ?", Arg::S(t.clone()));
        }
        if let Some(n) = &f.name {
            q.push(" AND name = ?", Arg::S(n.clone()));
        }
        let filter = q.sql.clone();
        let count_q = Query { sql: format!("SELECT COUNT(*) FROM assets{filter}"), args: q.args.clone() };
        let count: i64 = count_q.build().fetch_one(self.pool()).await?.try_get(0)?;
        let mut page = Query {
            sql: format!("SELECT {ASSET_COLS} FROM assets{filter} ORDER BY created_at DESC, id"),
            args: q.args,
        };
        page.push(" LIMIT ?", Arg::I(f.limit.max(0)));
        page.push(" OFFSET ?", Arg::I(f.offset.max(0)));
        let rows = page.build().fetch_all(self.pool()).await?;
        Ok((count, rows.iter().map(asset_from_row).collect::<Result<_>>()?))
    }

    /// Deletes the asset row; returns it so the caller can delete its blob.
    pub async fn delete_asset(&self, project_id: &str, id: &str) -> Result<Option<Asset>> {
        let Some(a) = self.asset(project_id, id).await? else { return Ok(None) };
        sqlx::query("DELETE FROM assets WHERE id = $1 AND project_id = $2")
            .bind(id)
            .bind(project_id)
            .execute(self.pool())
            .await?;
        Ok(Some(a))
    }

    /// Whether the asset is in use: the package of a digital human.
    pub async fn asset_in_use(&self, id: &str) -> Result<bool> {
        let r = sqlx::query("SELECT COUNT(*) FROM digital_humans WHERE package_asset_id = $1")
            .bind(id)
            .fetch_one(self.pool())
            .await?;
        Ok(r.try_get::<i64, _>(0)? > 0)
    }
}
