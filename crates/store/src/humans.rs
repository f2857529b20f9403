//! Digital humans a project imported (avatar packages uploaded as HUMAN_MODEL_2D assets). The built-in ones are
//! not rows: they ship with the binary and every project sees them.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{now_ms, Db, Result};

/// An imported digital human.
#[derive(Debug, Clone, Serialize)]
pub struct DigitalHuman {
    pub id: String,
    pub project_id: String,
    /// The HUMAN_MODEL_2D asset holding the package (zip).
    pub package_asset_id: String,
    /// What the API shows, taken from the manifest when it was imported (name, size, actions, emotions…).
    pub info: serde_json::Value,
    pub created_at: i64,
}

fn human_from_row(r: &AnyRow) -> Result<DigitalHuman> {
    let info: String = r.try_get("info")?;
    Ok(DigitalHuman {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        package_asset_id: r.try_get("package_asset_id")?,
        info: serde_json::from_str(&info).unwrap_or(serde_json::Value::Null),
        created_at: r.try_get("created_at")?,
    })
}

const COLS: &str = "id, project_id, package_asset_id, info, created_at";

impl Db {
    /// Records an imported digital human.
    pub async fn create_human(
        &self,
        id: &str,
        project_id: &str,
        package_asset_id: &str,
        info: &serde_json::Value,
    ) -> Result<DigitalHuman> {
        sqlx::query(
            "INSERT INTO digital_humans (id, project_id, package_asset_id, info, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(project_id)
        .bind(package_asset_id)
        .bind(info.to_string())
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        self.human(project_id, id).await?.ok_or_else(|| crate::Error::Invalid("digital human vanished".into()))
    }

    /// The project's digital human `id`.
    pub async fn human(&self, project_id: &str, id: &str) -> Result<Option<DigitalHuman>> {
        let row =
            sqlx::query(AssertSqlSafe(format!("SELECT {COLS} FROM digital_humans WHERE id = $1 AND project_id = $2")))
                .bind(id)
                .bind(project_id)
                .fetch_optional(self.pool())
                .await?;
        row.as_ref().map(human_from_row).transpose()
    }

    /// The digital human `id`, whatever its project (for signed preview URLs).
    pub async fn human_any_project(&self, id: &str) -> Result<Option<DigitalHuman>> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLS} FROM digital_humans WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(human_from_row).transpose()
    }

    /// All digital humans of a project, oldest first.
    pub async fn humans(&self, project_id: &str) -> Result<Vec<DigitalHuman>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {COLS} FROM digital_humans WHERE project_id = $1 ORDER BY created_at, id"
        )))
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(human_from_row).collect()
    }

    /// Deletes a digital human; returns it so the caller can delete its package.
    pub async fn delete_human(&self, project_id: &str, id: &str) -> Result<Option<DigitalHuman>> {
        let Some(h) = self.human(project_id, id).await? else { return Ok(None) };
        sqlx::query("DELETE FROM digital_humans WHERE id = $1 AND project_id = $2")
            .bind(id)
            .bind(project_id)
            .execute(self.pool())
            .await?;
        Ok(Some(h))
    }
}
