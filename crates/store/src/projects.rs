//! Projects and their credentials. Everything a user owns belongs to one project. A credential set carries
//! every form of key a caller may use: a native API key (kept only as its SHA-256), an access key pair for
//! Huawei and Alibaba signatures, and a ZEGO app id with its server secret (the signature schemes need the
//! secrets themselves, so those are kept as given).

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{new_id, now_ms, opt_i64, sha256_hex, Db, Result};

/// A project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    /// 32 hex digits: also the `{project_id}` of MetaStudio paths.
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

/// A credential set of a project. `api_key` is only known when it was just created.
#[derive(Debug, Clone, Serialize)]
pub struct Credentials {
    pub id: String,
    pub project_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    pub access_key_id: String,
    pub access_key_secret: String,
    pub zego_app_id: u32,
    pub zego_server_secret: String,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

fn random_alnum(n: usize) -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..n).map(|_| CHARS[rng.random_range(0..CHARS.len())] as char).collect()
}

fn credentials_from_row(r: &AnyRow) -> Result<Credentials> {
    Ok(Credentials {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        api_key: None,
        access_key_id: r.try_get("access_key_id")?,
        access_key_secret: r.try_get("access_key_secret")?,
        zego_app_id: r.try_get::<i64, _>("zego_app_id")? as u32,
        zego_server_secret: r.try_get("zego_server_secret")?,
        created_at: r.try_get("created_at")?,
        revoked_at: opt_i64(r, "revoked_at")?,
    })
}

const CRED_COLS: &str =
    "id, project_id, access_key_id, access_key_secret, zego_app_id, zego_server_secret, created_at, revoked_at";

impl Db {
    /// Creates a project named `name`.
    pub async fn create_project(&self, name: &str) -> Result<Project> {
        let p = Project { id: new_id(), name: name.to_string(), created_at: now_ms() };
        sqlx::query("INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&p.id)
            .bind(&p.name)
            .bind(p.created_at)
            .execute(self.pool())
            .await?;
        Ok(p)
    }

    /// All projects, oldest first.
    pub async fn projects(&self) -> Result<Vec<Project>> {
        let rows = sqlx::query("SELECT id, name, created_at FROM projects ORDER BY created_at, id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Project { id: r.try_get("id")?, name: r.try_get("name")?, created_at: r.try_get("created_at")? })
            })
            .collect()
    }

    /// The project `id`.
    pub async fn project(&self, id: &str) -> Result<Option<Project>> {
        Ok(self.projects().await?.into_iter().find(|p| p.id == id))
    }

    /// Creates a new credential set for `project_id`; the result carries the API key in clear, once.
    pub async fn create_credentials(&self, project_id: &str) -> Result<Credentials> {
        // ZEGO app ids are uint32; draw until one is free (collisions are rare, the UNIQUE index is the judge).
        for _ in 0..16 {
            let api_key = format!("dpl_{}", hex::encode(rand::random::<[u8; 20]>()));
            let c = Credentials {
                id: new_id(),
                project_id: project_id.to_string(),
                api_key: Some(api_key.clone()),
                access_key_id: random_alnum(20),
                access_key_secret: random_alnum(40),
                zego_app_id: rand::random::<u32>().max(1),
                zego_server_secret: new_id(),
                created_at: now_ms(),
                revoked_at: None,
            };
            let res = sqlx::query(
                "INSERT INTO credentials (id, project_id, api_key_hash, access_key_id, access_key_secret, zego_app_id,
                 zego_server_secret, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&c.id)
            .bind(&c.project_id)
            .bind(sha256_hex(&api_key))
            .bind(&c.access_key_id)
            .bind(&c.access_key_secret)
            .bind(c.zego_app_id as i64)
            .bind(&c.zego_server_secret)
            .bind(c.created_at)
            .execute(self.pool())
            .await;
            match res {
                Ok(_) => return Ok(c),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(crate::Error::Invalid("could not draw unique credentials".into()))
    }

    /// The credential sets of a project (without API keys), oldest first.
    pub async fn credentials(&self, project_id: &str) -> Result<Vec<Credentials>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CRED_COLS} FROM credentials WHERE project_id = $1 ORDER BY created_at, id"
        )))
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(credentials_from_row).collect()
    }

    /// Revokes a credential set; false when there is no such live set.
    pub async fn revoke_credentials(&self, id: &str) -> Result<bool> {
        let r = sqlx::query("UPDATE credentials SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now_ms())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn live_credentials_where(&self, cond: &str, value: sqlx_value::V) -> Result<Option<Credentials>> {
        let sql = format!("SELECT {CRED_COLS} FROM credentials WHERE {cond} = $1 AND revoked_at IS NULL");
        let q = sqlx::query(AssertSqlSafe(sql));
        let q = match value {
            sqlx_value::V::S(s) => q.bind(s),
            sqlx_value::V::I(i) => q.bind(i),
        };
        match q.fetch_optional(self.pool()).await? {
            Some(r) => Ok(Some(credentials_from_row(&r)?)),
            None => Ok(None),
        }
    }

    /// The live credentials whose API key is `api_key`.
    pub async fn credentials_by_api_key(&self, api_key: &str) -> Result<Option<Credentials>> {
        self.live_credentials_where("api_key_hash", sqlx_value::V::S(sha256_hex(api_key))).await
    }

    /// The live credentials with access key id `ak`.
    pub async fn credentials_by_access_key(&self, ak: &str) -> Result<Option<Credentials>> {
        self.live_credentials_where("access_key_id", sqlx_value::V::S(ak.to_string())).await
    }

    /// The live credentials with ZEGO app id `app_id`.
    pub async fn credentials_by_zego_app_id(&self, app_id: u32) -> Result<Option<Credentials>> {
        self.live_credentials_where("zego_app_id", sqlx_value::V::I(app_id as i64)).await
    }
}

mod sqlx_value {
    pub(super) enum V {
        S(String),
        I(i64),
    }
}
