//! Integration tests of `doppel-store` against real databases. Every database scenario runs twice: on a fresh
//! SQLite database in a new temporary directory, and on a fresh PostgreSQL database created for that test alone
//! on the server `DOPPEL_TEST_DATABASE_URL` names (the queue is global to a database, so tests running in
//! parallel must not share one). Without `DOPPEL_TEST_DATABASE_URL` the PostgreSQL half is skipped, with a
//! note, unless `DOPPEL_REQUIRE_POSTGRES=1`, which makes that an error.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use doppel_store::{
    now_ms, sha256_hex, AssetFilter, BlobConfig, Blobs, CancelOutcome, Db, Error, Job, JobFilter, JobOutput, JobState,
    NewAsset, SortDir,
};
use futures::StreamExt;
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection, Row};

/// A round number of milliseconds the tests give rows as their times, so that orderings are exact.
const BASE: i64 = 1_700_000_000_000;

// ---------------------------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------------------------

/// Where a scenario's database lives.
#[derive(Debug, Clone)]
enum Place {
    /// A temporary directory holding `doppel.db`.
    Sqlite { dir: PathBuf },
    /// The database `name` on the server of `admin_url`, reached at `url`.
    Postgres { admin_url: String, url: String, name: String },
}

fn random_hex(bytes: usize) -> String {
    hex::encode((0..bytes).map(|_| rand::random::<u8>()).collect::<Vec<_>>())
}

impl Place {
    fn label(&self) -> &'static str {
        match self {
            Place::Sqlite { .. } => "SQLite",
            Place::Postgres { .. } => "PostgreSQL",
        }
    }

    /// A new, empty place: a temporary directory, or a new database on the PostgreSQL server `postgres`.
    async fn create(test: &str, postgres: Option<&str>) -> Place {
        match postgres {
            None => {
                let dir = std::env::temp_dir().join(format!("doppel-store-{test}-{}", random_hex(8)));
                Place::Sqlite { dir }
            }
            Some(admin_url) => {
                let name = format!("doppel_t_{}", random_hex(8));
                let mut admin = sqlx::PgConnection::connect(admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("connecting to DOPPEL_TEST_DATABASE_URL={admin_url}: {e}"));
                sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await
                    .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
                admin.close().await.ok();
                Place::Postgres {
                    admin_url: admin_url.to_string(),
                    url: doppel_store::database_url_with_name(admin_url, &name),
                    name,
                }
            }
        }
    }

    /// Opens the database (a new pool each call, as a separate process would), migrating it.
    async fn open(&self) -> Db {
        match self {
            Place::Sqlite { dir } => Db::open_dir(dir).await.unwrap_or_else(|e| panic!("{}: {e}", dir.display())),
            Place::Postgres { url, .. } => Db::connect(url).await.unwrap_or_else(|e| panic!("{url}: {e}")),
        }
    }

    /// Removes the place (best effort: a leftover only costs space).
    async fn remove(&self) {
        match self {
            Place::Sqlite { dir } => {
                std::fs::remove_dir_all(dir).ok();
            }
            Place::Postgres { admin_url, name, .. } => {
                if let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(e) = sqlx::query(AssertSqlSafe(drop)).execute(&mut admin).await {
                        eprintln!("could not drop the test database {name}: {e}");
                    }
                    admin.close().await.ok();
                }
            }
        }
    }
}

/// What a scenario gets: the database, opened and migrated, and where it lives.
#[derive(Debug)]
struct Env {
    db: Db,
    place: Place,
}

impl Env {
    /// Another connection pool to the same database, as a second process would open.
    async fn connect_again(&self) -> Db {
        self.place.open().await
    }
}

/// The PostgreSQL server to test against, if any.
fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("DOPPEL_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_string()),
        _ => {
            if std::env::var("DOPPEL_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!(
                    "{test}: DOPPEL_REQUIRE_POSTGRES=1 but DOPPEL_TEST_DATABASE_URL is not set; point it at a \
                     PostgreSQL server (e.g. DOPPEL_TEST_DATABASE_URL=$(scripts/test-postgres.sh)) or unset \
                     DOPPEL_REQUIRE_POSTGRES to run the SQLite half only"
                );
            }
            println!("{test}: PostgreSQL skipped (DOPPEL_TEST_DATABASE_URL is not set); ran on SQLite only");
            None
        }
    }
}

/// Runs `scenario` on a fresh SQLite database and, when one is configured, a fresh PostgreSQL database; each
/// place is removed afterwards, also when the scenario panics. Fails when it failed on either.
async fn on_both<F, Fut>(test: &str, scenario: F)
where
    F: Fn(Env) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut servers = vec![None];
    if let Some(url) = postgres_url(test) {
        servers.push(Some(url));
    }
    let mut failed = Vec::new();
    for server in servers {
        let place = Place::create(test, server.as_deref()).await;
        let db = place.open().await;
        let outcome = tokio::spawn(scenario(Env { db, place: place.clone() })).await;
        place.remove().await;
        if let Err(e) = outcome {
            eprintln!("{test}: FAILED on {} ({e})", place.label());
            failed.push(place.label());
        }
    }
    assert!(failed.is_empty(), "{test} failed on {} (the panic is printed above)", failed.join(" and "));
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// A job filter with room for every job of a test.
fn all_jobs() -> JobFilter {
    JobFilter { limit: 1000, ..JobFilter::default() }
}

/// The count and the ids of one page of `project`'s jobs.
async fn list(db: &Db, project: &str, f: JobFilter) -> (i64, Vec<String>) {
    let (count, jobs) = db.list_jobs(project, &f).await.unwrap();
    (count, jobs.into_iter().map(|j| j.id).collect())
}

/// The count and the ids of one page of `project`'s assets.
async fn list_assets(db: &Db, project: &str, f: AssetFilter) -> (i64, Vec<String>) {
    let (count, assets) = db.list_assets(project, &f).await.unwrap();
    (count, assets.into_iter().map(|a| a.id).collect())
}

async fn exec(db: &Db, sql: &'static str, a: &str, b: &str) {
    sqlx::query(sql).bind(a.to_string()).bind(b.to_string()).execute(db.pool()).await.unwrap();
}

/// Gives job `id` the creation time `t` (rows made in one millisecond would otherwise tie).
async fn set_create_time(db: &Db, id: &str, t: i64) {
    sqlx::query("UPDATE jobs SET create_time = $1 WHERE id = $2").bind(t).bind(id).execute(db.pool()).await.unwrap();
}

/// Queues a job with the creation time `t`; `script_id` and `asset_name` as given.
async fn queue(db: &Db, project: &str, id: &str, job_type: &str, script_id: Option<&str>, name: Option<&str>, t: i64) {
    let script = json!({ "scenes": [{ "text": format!("job {id}") }] });
    let job = db.create_job(id, project, job_type, &script, script_id, name).await.unwrap();
    assert_eq!(job.state, JobState::Waiting);
    assert_eq!(job.script, script);
    set_create_time(db, id, t).await;
}

/// A job in `project` created at `t`, with nothing else set.
async fn queue_plain(db: &Db, project: &str, id: &str, t: i64) {
    queue(db, project, id, "VIDEO", None, None, t).await;
}

async fn get_job(db: &Db, project: &str, id: &str) -> Job {
    db.job(project, id).await.unwrap().unwrap_or_else(|| panic!("job {id} of {project} is missing"))
}

fn new_asset(project: &str, id: &str, asset_type: &str, name: &str, job_id: Option<&str>) -> NewAsset {
    NewAsset {
        id: id.to_string(),
        project_id: project.to_string(),
        asset_type: asset_type.to_string(),
        name: name.to_string(),
        content_type: "application/octet-stream".to_string(),
        size: 1234,
        blob_key: format!("projects/{project}/assets/{id}"),
        job_id: job_id.map(str::to_string),
        meta: json!({ "width": 1920, "height": 1080, "name": name }),
    }
}

/// The output of job `job` of `project`: a video, and a cover and one extra file when `full`.
fn output(project: &str, job: &str, full: bool) -> JobOutput {
    let id = |kind: &str| format!("{job}-{kind}-{}", random_hex(4));
    JobOutput {
        video: new_asset(project, &id("video"), "VIDEO", "output.mp4", Some(job)),
        cover: full.then(|| new_asset(project, &id("cover"), "IMAGE", "cover.jpg", Some(job))),
        extra: if full { vec![new_asset(project, &id("srt"), "SUBTITLE", "output.srt", Some(job))] } else { vec![] },
        duration_ms: 12_345,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Migrations
// ---------------------------------------------------------------------------------------------------------------

async fn schema_versions(db: &Db) -> Vec<i64> {
    let rows = sqlx::query("SELECT version FROM doppel_schema ORDER BY version").fetch_all(db.pool()).await.unwrap();
    rows.iter().map(|r| r.try_get::<i64, _>(0).unwrap()).collect()
}

async fn migrations_scenario(env: Env) {
    let db = &env.db;
    let versions = schema_versions(db).await;
    assert!(!versions.is_empty(), "no migration recorded");
    assert_eq!(versions, (1..=versions.len() as i64).collect::<Vec<_>>(), "each migration recorded once, in order");
    let project = db.create_project("kept").await.unwrap();

    // Connecting again (twice in a row, then twice at once) applies nothing new and keeps the data.
    let again = env.connect_again().await;
    let third = env.connect_again().await;
    let (x, y) = tokio::join!(env.connect_again(), env.connect_again());
    for other in [&again, &third, &x, &y] {
        assert_eq!(other.backend(), db.backend());
        assert_eq!(schema_versions(other).await, versions);
        assert_eq!(other.project(&project.id).await.unwrap(), Some(project.clone()));
        assert_eq!(other.projects().await.unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent() {
    on_both("migrations_are_idempotent", migrations_scenario).await;
}

#[tokio::test]
async fn connect_rejects_other_urls() {
    for url in ["mysql://localhost/db", "doppel.db", ""] {
        match Db::connect(url).await {
            Err(Error::Invalid(msg)) => assert!(msg.contains("sqlite://"), "{msg}"),
            other => panic!("{url:?}: expected Error::Invalid, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Projects and credentials
// ---------------------------------------------------------------------------------------------------------------

/// Every value of every row of the credentials table, as text.
async fn credential_table_values(db: &Db) -> Vec<Vec<String>> {
    let rows = sqlx::query("SELECT * FROM credentials").fetch_all(db.pool()).await.unwrap();
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| match row.try_get::<Option<String>, _>(i) {
                    Ok(s) => s.unwrap_or_default(),
                    Err(_) => row.try_get::<Option<i64>, _>(i).unwrap().map(|n| n.to_string()).unwrap_or_default(),
                })
                .collect()
        })
        .collect()
}

async fn credentials_scenario(env: Env) {
    let db = &env.db;
    let p1 = db.create_project("one").await.unwrap();
    let p2 = db.create_project("two").await.unwrap();
    assert_eq!(p1.id.len(), 32);
    assert_ne!(p1.id, p2.id);
    let all: BTreeSet<String> = db.projects().await.unwrap().into_iter().map(|p| p.id).collect();
    assert_eq!(all, BTreeSet::from([p1.id.clone(), p2.id.clone()]));
    assert_eq!(db.project(&p2.id).await.unwrap(), Some(p2.clone()));
    assert_eq!(db.project("0123456789abcdef0123456789abcdef").await.unwrap(), None);

    let c1 = db.create_credentials(&p1.id).await.unwrap();
    let c2 = db.create_credentials(&p2.id).await.unwrap();
    let key1 = c1.api_key.clone().expect("a new credential set carries its API key");
    let key2 = c2.api_key.clone().unwrap();
    assert!(key1.starts_with("dpl_"), "{key1}");
    assert_ne!(key1, key2);
    assert_eq!(c1.project_id, p1.id);
    assert_eq!(c1.access_key_id.len(), 20);
    assert_eq!(c1.access_key_secret.len(), 40);
    assert_ne!(c1.zego_app_id, 0);
    assert_eq!(c1.revoked_at, None);

    // Each form of key finds its own set, without the API key.
    let found = db.credentials_by_api_key(&key1).await.unwrap().expect("by API key");
    assert_eq!(
        (found.id.as_str(), found.project_id.as_str(), found.api_key.as_deref()),
        (c1.id.as_str(), p1.id.as_str(), None)
    );
    let found = db.credentials_by_access_key(&c1.access_key_id).await.unwrap().expect("by access key");
    assert_eq!((found.id.as_str(), found.access_key_secret.as_str()), (c1.id.as_str(), c1.access_key_secret.as_str()));
    let found = db.credentials_by_zego_app_id(c1.zego_app_id).await.unwrap().expect("by ZEGO app id");
    assert_eq!((found.id.as_str(), found.zego_app_id), (c1.id.as_str(), c1.zego_app_id));
    assert_eq!(found.zego_server_secret, c1.zego_server_secret);
    assert_eq!(found.created_at, c1.created_at);
    assert_eq!(db.credentials_by_api_key(&key2).await.unwrap().unwrap().project_id, p2.id);
    assert!(db.credentials_by_api_key("dpl_0000").await.unwrap().is_none());
    assert!(db.credentials_by_api_key(&key1.to_uppercase()).await.unwrap().is_none());
    assert!(db.credentials_by_access_key("NOSUCHKEY").await.unwrap().is_none());
    assert!(db.credentials_by_access_key(&c1.access_key_secret).await.unwrap().is_none());

    // A second set for project one; listing is per project, oldest first.
    let c3 = db.create_credentials(&p1.id).await.unwrap();
    let mut expected = vec![(c1.created_at, c1.id.clone()), (c3.created_at, c3.id.clone())];
    expected.sort();
    let listed: Vec<String> = db.credentials(&p1.id).await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(listed, expected.into_iter().map(|(_, id)| id).collect::<Vec<_>>());
    assert!(db.credentials(&p1.id).await.unwrap().iter().all(|c| c.api_key.is_none()));
    assert_eq!(db.credentials(&p2.id).await.unwrap().len(), 1);

    // The API key is kept only as its SHA-256: no column of any row contains it, or its random part.
    let rows = credential_table_values(db).await;
    assert_eq!(rows.len(), 3);
    for key in [&key1, &key2, c3.api_key.as_ref().unwrap()] {
        let secret_part = key.trim_start_matches("dpl_");
        for row in &rows {
            for value in row {
                assert!(!value.contains(secret_part), "an API key is stored in clear: {value}");
            }
        }
        assert!(rows.iter().any(|row| row.contains(&sha256_hex(key))), "the API key's hash is stored");
    }

    // Revoking makes every lookup of that set fail, once; the other sets keep working.
    assert!(db.revoke_credentials(&c1.id).await.unwrap());
    assert!(!db.revoke_credentials(&c1.id).await.unwrap(), "revoking twice");
    assert!(!db.revoke_credentials("no-such-credentials").await.unwrap());
    assert!(db.credentials_by_api_key(&key1).await.unwrap().is_none());
    assert!(db.credentials_by_access_key(&c1.access_key_id).await.unwrap().is_none());
    assert!(db.credentials_by_zego_app_id(c1.zego_app_id).await.unwrap().is_none());
    assert_eq!(db.credentials_by_api_key(c3.api_key.as_ref().unwrap()).await.unwrap().unwrap().id, c3.id);
    assert_eq!(db.credentials_by_zego_app_id(c2.zego_app_id).await.unwrap().unwrap().id, c2.id);
    let listed = db.credentials(&p1.id).await.unwrap();
    let revoked = listed.iter().find(|c| c.id == c1.id).unwrap();
    assert!(revoked.revoked_at.is_some_and(|t| t >= c1.created_at));
    assert!(listed.iter().find(|c| c.id == c3.id).unwrap().revoked_at.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projects_and_credentials() {
    on_both("projects_and_credentials", credentials_scenario).await;
}

// ---------------------------------------------------------------------------------------------------------------
// Jobs: reading and listing
// ---------------------------------------------------------------------------------------------------------------

async fn set_state(db: &Db, id: &str, state: JobState) {
    exec(db, "UPDATE jobs SET state = $1 WHERE id = $2", state.as_str(), id).await;
}

async fn job_listing_scenario(env: Env) {
    let db = &env.db;
    let a = db.create_project("a").await.unwrap().id;
    let b = db.create_project("b").await.unwrap().id;

    // Project a: six jobs, a4 and a5 created in the same millisecond.
    //   id  type   script asset state       create_time
    //   a0  VIDEO  s1     n1    WAITING     BASE
    //   a1  VIDEO  s1     n2    CANCELED    BASE+1000
    //   a2  T2     s2     n1    SUCCEED     BASE+2000
    //   a3  VIDEO  -      -     FAILED      BASE+3000
    //   a4  T2     s2     n2    PROCESSING  BASE+4000
    //   a5  VIDEO  s1     n1    WAITING     BASE+4000
    // Project b: three jobs that look like a's.
    queue(db, &a, "a3", "VIDEO", None, None, BASE + 3000).await;
    queue(db, &a, "a5", "VIDEO", Some("s1"), Some("n1"), BASE + 4000).await;
    queue(db, &a, "a0", "VIDEO", Some("s1"), Some("n1"), BASE).await;
    queue(db, &a, "a2", "T2", Some("s2"), Some("n1"), BASE + 2000).await;
    queue(db, &a, "a4", "T2", Some("s2"), Some("n2"), BASE + 4000).await;
    queue(db, &a, "a1", "VIDEO", Some("s1"), Some("n2"), BASE + 1000).await;
    queue(db, &b, "b0", "VIDEO", Some("s1"), Some("n1"), BASE).await;
    queue(db, &b, "b1", "VIDEO", Some("s1"), Some("n1"), BASE + 1000).await;
    queue(db, &b, "b2", "T2", Some("s2"), Some("n1"), BASE + 5000).await;
    assert_eq!(db.cancel_job(&a, "a1").await.unwrap(), CancelOutcome::Canceled);
    set_state(db, "a2", JobState::Succeed).await;
    set_state(db, "a3", JobState::Failed).await;
    set_state(db, "a4", JobState::Processing).await;

    // Reading one job is scoped to its project.
    let a0 = get_job(db, &a, "a0").await;
    assert_eq!((a0.project_id.as_str(), a0.job_type.as_str(), a0.state), (a.as_str(), "VIDEO", JobState::Waiting));
    assert_eq!((a0.script_id.as_deref(), a0.asset_name.as_deref()), (Some("s1"), Some("n1")));
    assert_eq!((a0.progress, a0.attempts, a0.create_time), (0, 0, BASE));
    assert_eq!((a0.start_time, a0.end_time, a0.worker.as_deref()), (None, None, None));
    assert_eq!(a0.script, json!({ "scenes": [{ "text": "job a0" }] }));
    let a3 = get_job(db, &a, "a3").await;
    assert_eq!((a3.script_id, a3.asset_name), (None, None));
    assert!(db.job(&b, "a0").await.unwrap().is_none(), "a job of another project");
    assert!(db.job(&a, "b0").await.unwrap().is_none(), "a job of another project");
    assert!(db.job(&a, "nope").await.unwrap().is_none());
    assert_eq!(db.job_any_project("b0").await.unwrap().unwrap().project_id, b);
    assert!(db.job_any_project("nope").await.unwrap().is_none());
    assert!(db.create_job("a0", &b, "VIDEO", &json!({}), None, None).await.is_err(), "job ids are unique");

    let by = |f: JobFilter| list(db, &a, f);
    let everything = strings(&["a0", "a1", "a2", "a3", "a4", "a5"]);
    assert_eq!(by(all_jobs()).await, (6, everything.clone()));
    let mut reversed = everything.clone();
    reversed.reverse();
    assert_eq!(by(JobFilter { sort_dir: SortDir::Desc, ..all_jobs() }).await, (6, reversed));
    assert_eq!(list(db, &b, all_jobs()).await, (3, strings(&["b0", "b1", "b2"])));
    assert_eq!(list(db, "no-such-project", all_jobs()).await, (0, vec![]));

    // States, one and several.
    let states = |states: &[JobState]| JobFilter { states: states.to_vec(), ..all_jobs() };
    assert_eq!(by(states(&[JobState::Waiting])).await, (2, strings(&["a0", "a5"])));
    assert_eq!(by(states(&[JobState::Waiting, JobState::Processing])).await, (3, strings(&["a0", "a4", "a5"])));
    let finals = [JobState::Succeed, JobState::Failed, JobState::Canceled];
    assert_eq!(by(states(&finals)).await, (3, strings(&["a1", "a2", "a3"])));
    assert_eq!(by(states(&[JobState::Block])).await, (0, vec![]));
    assert_eq!(by(states(&JobState::ALL)).await, (6, everything.clone()));

    // Creation time bounds, both inclusive.
    let since = |t: i64| JobFilter { create_since: Some(t), ..all_jobs() };
    let until = |t: i64| JobFilter { create_until: Some(t), ..all_jobs() };
    assert_eq!(by(since(BASE + 2000)).await, (4, strings(&["a2", "a3", "a4", "a5"])));
    assert_eq!(by(since(BASE + 2001)).await, (3, strings(&["a3", "a4", "a5"])));
    assert_eq!(by(until(BASE + 2000)).await, (3, strings(&["a0", "a1", "a2"])));
    assert_eq!(by(until(BASE - 1)).await, (0, vec![]));
    let window = JobFilter { create_since: Some(BASE + 1000), create_until: Some(BASE + 3000), ..all_jobs() };
    assert_eq!(by(window).await, (3, strings(&["a1", "a2", "a3"])));
    let instant = JobFilter { create_since: Some(BASE + 4000), create_until: Some(BASE + 4000), ..all_jobs() };
    assert_eq!(by(instant).await, (2, strings(&["a4", "a5"])));

    // Exact matches on script id, asset name and job type.
    let script = |s: &str| JobFilter { script_id: Some(s.to_string()), ..all_jobs() };
    assert_eq!(by(script("s1")).await, (3, strings(&["a0", "a1", "a5"])));
    assert_eq!(by(script("s2")).await, (2, strings(&["a2", "a4"])));
    assert_eq!(by(script("s")).await, (0, vec![]));
    let name = |s: &str| JobFilter { asset_name: Some(s.to_string()), ..all_jobs() };
    assert_eq!(by(name("n1")).await, (3, strings(&["a0", "a2", "a5"])));
    assert_eq!(by(name("n2")).await, (2, strings(&["a1", "a4"])));
    assert_eq!(by(name("N1")).await, (0, vec![]));
    let job_type = |s: &str| JobFilter { job_type: Some(s.to_string()), ..all_jobs() };
    assert_eq!(by(job_type("VIDEO")).await, (4, strings(&["a0", "a1", "a3", "a5"])));
    assert_eq!(by(job_type("T2")).await, (2, strings(&["a2", "a4"])));
    assert_eq!(by(job_type("AUDIO")).await, (0, vec![]));

    // Job ids: only the project's own, in listing order, whatever order they were asked in.
    let ids = |ids: &[&str]| JobFilter { job_ids: strings(ids), ..all_jobs() };
    assert_eq!(by(ids(&["a3", "a1", "b0", "missing"])).await, (2, strings(&["a1", "a3"])));
    assert_eq!(by(ids(&["a4"])).await, (1, strings(&["a4"])));
    assert_eq!(by(ids(&["b0", "b1"])).await, (0, vec![]));

    // Filters combine with AND.
    let combined = JobFilter {
        states: vec![JobState::Waiting, JobState::Canceled],
        job_type: Some("VIDEO".into()),
        script_id: Some("s1".into()),
        ..all_jobs()
    };
    assert_eq!(by(combined.clone()).await, (3, strings(&["a0", "a1", "a5"])));
    let narrower = JobFilter { asset_name: Some("n1".into()), sort_dir: SortDir::Desc, ..combined.clone() };
    assert_eq!(by(narrower).await, (2, strings(&["a5", "a0"])));
    let timed = JobFilter { create_since: Some(BASE + 1), job_ids: strings(&["a0", "a1", "a2"]), ..combined };
    assert_eq!(by(timed).await, (1, strings(&["a1"])));

    // Paging: the count is of all matches; a page beyond the end is empty.
    let page = |offset: i64, limit: i64| JobFilter { offset, limit, ..JobFilter::default() };
    assert_eq!(by(page(0, 2)).await, (6, strings(&["a0", "a1"])));
    assert_eq!(by(page(2, 2)).await, (6, strings(&["a2", "a3"])));
    assert_eq!(by(page(4, 2)).await, (6, strings(&["a4", "a5"])));
    assert_eq!(by(page(5, 2)).await, (6, strings(&["a5"])));
    assert_eq!(by(page(6, 2)).await, (6, vec![]));
    assert_eq!(by(page(100, 10)).await, (6, vec![]));
    assert_eq!(by(page(0, 0)).await, (6, vec![]));
    let desc_page = JobFilter { offset: 1, limit: 4, sort_dir: SortDir::Desc, ..JobFilter::default() };
    assert_eq!(by(desc_page).await, (6, strings(&["a4", "a3", "a2", "a1"])));
    let filtered_page = JobFilter {
        offset: 2,
        limit: 2,
        states: vec![JobState::Waiting, JobState::Processing],
        ..JobFilter::default()
    };
    assert_eq!(by(filtered_page).await, (3, strings(&["a5"])));
    let beyond =
        JobFilter { offset: 3, limit: 2, states: vec![JobState::Waiting, JobState::Processing], ..Default::default() };
    assert_eq!(by(beyond).await, (3, vec![]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_listing_filters() {
    on_both("job_listing_filters", job_listing_scenario).await;
}

// ---------------------------------------------------------------------------------------------------------------
// Jobs: canceling
// ---------------------------------------------------------------------------------------------------------------

async fn cancel_scenario(env: Env) {
    let db = &env.db;
    let p = db.create_project("p").await.unwrap().id;
    let q = db.create_project("q").await.unwrap().id;
    queue_plain(db, &p, "waiting", BASE).await;
    queue_plain(db, &p, "succeeds", BASE + 1).await;
    queue_plain(db, &p, "fails", BASE + 2).await;

    assert_eq!(db.cancel_job(&q, "waiting").await.unwrap(), CancelOutcome::NotFound, "another project's job");
    assert_eq!(get_job(db, &p, "waiting").await.state, JobState::Waiting, "untouched by the other project");
    assert_eq!(db.cancel_job(&p, "no-such-job").await.unwrap(), CancelOutcome::NotFound);

    let before = now_ms();
    assert_eq!(db.cancel_job(&p, "waiting").await.unwrap(), CancelOutcome::Canceled);
    let job = get_job(db, &p, "waiting").await;
    assert_eq!(job.state, JobState::Canceled);
    assert!(job.end_time.is_some_and(|t| t >= before), "end time set");
    assert_eq!(db.cancel_job(&p, "waiting").await.unwrap(), CancelOutcome::AlreadyFinal(JobState::Canceled));
    assert_eq!(db.cancel_job(&q, "waiting").await.unwrap(), CancelOutcome::NotFound);

    // Jobs that ended otherwise stay as they are.
    let claimed = db.claim_job("w", 60_000, 3).await.unwrap().expect("a job to claim");
    assert_eq!(claimed.id, "succeeds", "the canceled job is not claimed");
    assert!(db.finish_job("succeeds", "w", &output(&p, "succeeds", false)).await.unwrap());
    assert_eq!(db.cancel_job(&p, "succeeds").await.unwrap(), CancelOutcome::AlreadyFinal(JobState::Succeed));
    assert_eq!(db.claim_job("w", 60_000, 3).await.unwrap().unwrap().id, "fails");
    assert!(db.fail_job("fails", "w", "RENDER_FAILED", "no").await.unwrap());
    assert_eq!(db.cancel_job(&p, "fails").await.unwrap(), CancelOutcome::AlreadyFinal(JobState::Failed));
    assert_eq!(get_job(db, &p, "succeeds").await.state, JobState::Succeed);
    assert!(db.claim_job("w", 60_000, 3).await.unwrap().is_none(), "nothing left to claim");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_job() {
    on_both("cancel_job", cancel_scenario).await;
}

// ---------------------------------------------------------------------------------------------------------------
// The queue
// ---------------------------------------------------------------------------------------------------------------

async fn claim_order_scenario(env: Env) {
    let db = &env.db;
    let p = db.create_project("p").await.unwrap().id;
    let q = db.create_project("q").await.unwrap().id;
    // Queued in another order than they were created in; "tie-b" and "tie-a" share a millisecond.
    queue_plain(db, &p, "third", BASE + 300).await;
    queue_plain(db, &q, "second", BASE + 200).await;
    queue_plain(db, &p, "first", BASE + 100).await;
    queue_plain(db, &p, "tie-b", BASE + 400).await;
    queue_plain(db, &p, "tie-a", BASE + 400).await;
    queue_plain(db, &p, "canceled", BASE).await;
    db.cancel_job(&p, "canceled").await.unwrap();

    let before = now_ms();
    let first = db.claim_job("w1", 60_000, 3).await.unwrap().expect("a job");
    assert_eq!(first.id, "first");
    assert_eq!(
        (first.state, first.worker.as_deref(), first.attempts, first.progress),
        (JobState::Processing, Some("w1"), 1, 0)
    );
    assert!(first.start_time.is_some_and(|t| t >= before));
    let stored = get_job(db, &p, "first").await;
    assert_eq!((stored.state, stored.worker.as_deref(), stored.attempts), (JobState::Processing, Some("w1"), 1));
    let order = [("w2", "second"), ("w1", "third"), ("w3", "tie-a"), ("w3", "tie-b")];
    for (worker, expected) in order {
        let job = db.claim_job(worker, 60_000, 3).await.unwrap().expect("a job");
        assert_eq!((job.id.as_str(), job.worker.as_deref()), (expected, Some(worker)));
    }
    assert!(db.claim_job("w4", 60_000, 3).await.unwrap().is_none(), "everything is claimed");

    // Heartbeats: true while held (recording progress, clamped to 0–100), false for anyone else.
    assert!(db.heartbeat("first", "w1", 40, 60_000).await.unwrap());
    assert_eq!(get_job(db, &p, "first").await.progress, 40);
    assert!(db.heartbeat("first", "w1", 250, 60_000).await.unwrap());
    assert_eq!(get_job(db, &p, "first").await.progress, 100);
    assert!(db.heartbeat("first", "w1", -3, 60_000).await.unwrap());
    assert_eq!(get_job(db, &p, "first").await.progress, 0);
    assert!(!db.heartbeat("first", "w2", 50, 60_000).await.unwrap(), "another worker's heartbeat");
    assert!(!db.heartbeat("no-such-job", "w1", 50, 60_000).await.unwrap());
    assert!(!db.heartbeat("canceled", "w1", 50, 60_000).await.unwrap());
    assert_eq!(get_job(db, &p, "first").await.worker.as_deref(), Some("w1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_claims_oldest_first_and_heartbeats() {
    on_both("queue_claims_oldest_first_and_heartbeats", claim_order_scenario).await;
}

async fn cancel_processing_scenario(env: Env) {
    let db = &env.db;
    let p = db.create_project("p").await.unwrap().id;
    queue_plain(db, &p, "job", BASE).await;
    assert_eq!(db.claim_job("w1", 60_000, 3).await.unwrap().unwrap().id, "job");
    assert!(db.heartbeat("job", "w1", 10, 60_000).await.unwrap());

    assert_eq!(db.cancel_job(&p, "job").await.unwrap(), CancelOutcome::Canceled);
    let job = get_job(db, &p, "job").await;
    assert_eq!((job.state, job.worker.as_deref()), (JobState::Canceled, None));
    assert!(!db.heartbeat("job", "w1", 20, 60_000).await.unwrap(), "the worker learns at its next heartbeat");
    assert!(!db.finish_job("job", "w1", &output(&p, "job", true)).await.unwrap(), "a canceled job cannot succeed");
    assert!(!db.fail_job("job", "w1", "X", "x").await.unwrap());
    assert!(!db.release_job("job", "w1").await.unwrap());
    let job = get_job(db, &p, "job").await;
    assert_eq!((job.state, job.output_asset_id), (JobState::Canceled, None));
    assert_eq!(list_assets(db, &p, AssetFilter { limit: 100, ..Default::default() }).await, (0, vec![]));
    assert!(db.claim_job("w2", 60_000, 3).await.unwrap().is_none(), "a canceled job is not claimed again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_cancel_while_processing() {
    on_both("queue_cancel_while_processing", cancel_processing_scenario).await;
}

async fn lease_scenario(env: Env) {
    let db = &env.db;
    let p = db.create_project("p").await.unwrap().id;

    // A lease kept alive by heartbeats is not taken.
    queue_plain(db, &p, "renewed", BASE).await;
    assert_eq!(db.claim_job("w1", 500, 3).await.unwrap().unwrap().id, "renewed");
    for i in 0..12 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(db.heartbeat("renewed", "w1", i, 500).await.unwrap());
        assert!(db.claim_job("w2", 500, 3).await.unwrap().is_none(), "a renewed lease was taken");
    }
    assert!(db.fail_job("renewed", "w1", "DONE", "out of the way").await.unwrap());

    // A lease that runs out: the next claim takes the job again.
    queue_plain(db, &p, "lost", BASE + 1).await;
    let first = db.claim_job("w1", 400, 3).await.unwrap().unwrap();
    assert_eq!((first.id.as_str(), first.attempts), ("lost", 1));
    assert!(db.claim_job("w2", 10_000, 3).await.unwrap().is_none(), "the lease still holds");
    tokio::time::sleep(Duration::from_millis(900)).await;
    let second = db.claim_job("w2", 10_000, 3).await.unwrap().expect("the expired job is claimed again");
    assert_eq!((second.id.as_str(), second.worker.as_deref(), second.attempts), ("lost", Some("w2"), 2));
    assert_eq!(second.start_time, first.start_time, "the start time is the first claim's");

    // The old worker has lost it: every call of it says so, and changes nothing.
    assert!(!db.heartbeat("lost", "w1", 90, 10_000).await.unwrap());
    assert!(!db.finish_job("lost", "w1", &output(&p, "lost", true)).await.unwrap());
    assert!(!db.fail_job("lost", "w1", "X", "x").await.unwrap());
    assert!(!db.release_job("lost", "w1").await.unwrap());
    let job = get_job(db, &p, "lost").await;
    assert_eq!(
        (job.state, job.worker.as_deref(), job.attempts, job.progress),
        (JobState::Processing, Some("w2"), 2, 0)
    );
    assert_eq!(list_assets(db, &p, AssetFilter { limit: 100, ..Default::default() }).await.0, 0);

    // The new one still holds it and can finish it.
    assert!(db.heartbeat("lost", "w2", 70, 10_000).await.unwrap());
    let out = output(&p, "lost", false);
    assert!(db.finish_job("lost", "w2", &out).await.unwrap());
    let job = get_job(db, &p, "lost").await;
    assert_eq!((job.state, job.attempts, job.output_asset_id), (JobState::Succeed, 2, Some(out.video.id)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_lease_expiry() {
    on_both("queue_lease_expiry", lease_scenario).await;
}

async fn finish_scenario(env: Env) {
    let db = &env.db;
    let p = db.create_project("p").await.unwrap().id;
    let q = db.create_project("q").await.unwrap().id;
    let everything = || AssetFilter { limit: 100, ..Default::default() };
    db.create_asset(&new_asset(&p, "upload", "IMAGE", "photo.png", None)).await.unwrap();
    queue_plain(db, &p, "full", BASE).await;
    queue_plain(db, &p, "bare", BASE + 1).await;
    queue_plain(db, &p, "broken", BASE + 2).await;
    assert_eq!(db.claim_job("w1", 60_000, 3).await.unwrap().unwrap().id, "full");
    assert_eq!(db.claim_job("w1", 60_000, 3).await.unwrap().unwrap().id, "bare");
    assert_eq!(db.claim_job("w1", 60_000, 3).await.unwrap().unwrap().id, "broken");

    // Video, cover and one extra file.
    let out = output(&p, "full", true);
    let cover = out.cover.clone().unwrap();
    assert!(!db.finish_job("full", "w2", &out).await.unwrap(), "only the holder finishes");
    assert_eq!(list_assets(db, &p, everything()).await.0, 1, "a refused finish inserts nothing");
    let before = now_ms();
    assert!(db.finish_job("full", "w1", &out).await.unwrap());
    let job = get_job(db, &p, "full").await;
    assert_eq!((job.state, job.progress, job.duration_ms), (JobState::Succeed, 100, Some(12_345)));
    assert_eq!(
        (job.output_asset_id.as_deref(), job.cover_asset_id.as_deref()),
        (Some(out.video.id.as_str()), Some(cover.id.as_str()))
    );
    assert_eq!(job.worker, None);
    assert!(job.end_time.is_some_and(|t| t >= before));
    let (count, ids) = list_assets(db, &p, everything()).await;
    assert_eq!(count, 4);
    let ids: BTreeSet<String> = ids.into_iter().collect();
    let expected = [out.video.id.clone(), cover.id.clone(), out.extra[0].id.clone(), "upload".to_string()];
    assert_eq!(ids, BTreeSet::from(expected));
    for new in [&out.video, &cover, &out.extra[0]] {
        let stored = db.asset(&p, &new.id).await.unwrap().expect("an output asset");
        assert_eq!((stored.job_id.as_deref(), stored.asset_type.as_str()), (Some("full"), new.asset_type.as_str()));
        assert_eq!((stored.name.as_str(), stored.size, &stored.blob_key), (new.name.as_str(), new.size, &new.blob_key));
        assert_eq!((&stored.content_type, &stored.meta), (&new.content_type, &new.meta));
        assert!(db.asset(&q, &new.id).await.unwrap().is_none());
    }

    // Finishing again changes nothing: exactly one set of outputs.
    assert!(!db.finish_job("full", "w1", &output(&p, "full", true)).await.unwrap());
    assert_eq!(list_assets(db, &p, everything()).await.0, 4);
    assert_eq!(get_job(db, &p, "full").await.output_asset_id, Some(out.video.id.clone()));

    // Only a video.
    let bare = output(&p, "bare", false);
    assert!(db.finish_job("bare", "w1", &bare).await.unwrap());
    let job = get_job(db, &p, "bare").await;
    assert_eq!((job.output_asset_id, job.cover_asset_id), (Some(bare.video.id.clone()), None));
    assert_eq!(list_assets(db, &p, everything()).await.0, 5);

    // One output cannot be inserted (its id is taken): nothing of the finish happens.
    let mut broken = output(&p, "broken", true);
    broken.extra.push(new_asset(&p, "upload", "IMAGE", "clash.png", Some("broken")));
    assert!(db.finish_job("broken", "w1", &broken).await.is_err());
    assert!(db.asset(&p, &broken.video.id).await.unwrap().is_none(), "a failed finish left an asset behind");
    assert_eq!(list_assets(db, &p, everything()).await.0, 5);
    let job = get_job(db, &p, "broken").await;
    assert_eq!((job.state, job.worker.as_deref(), job.output_asset_id), (JobState::Processing, Some("w1"), None));
    assert!(db.heartbeat("broken", "w1", 99, 60_000).await.unwrap(), "still held after a failed finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_finish_inserts_outputs_once() {
    on_both("queue_finish_inserts_outputs_once", finish_scenario).await;
}

async fn max_attempts_scenario(env: Env) {
    let db = &env.db;
    let p = db.create_project("p").await.unwrap().id;
    queue_plain(db, &p, "deadly", BASE).await;
    let first = db.claim_job("w1", 150, 2).await.unwrap().unwrap();
    assert_eq!((first.id.as_str(), first.attempts), ("deadly", 1));
    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = db.claim_job("w2", 150, 2).await.unwrap().unwrap();
    assert_eq!((second.id.as_str(), second.attempts), ("deadly", 2));
    tokio::time::sleep(Duration::from_millis(400)).await;

    // Two workers lost it; with max_attempts 2 the next claim fails it instead of running it a third time.
    queue_plain(db, &p, "next", BASE + 1).await;
    let before = now_ms();
    assert_eq!(db.claim_job("w3", 60_000, 2).await.unwrap().unwrap().id, "next", "the next job is claimed");
    let job = get_job(db, &p, "deadly").await;
    assert_eq!(
        (job.state, job.error_code.as_deref(), job.worker.as_deref()),
        (JobState::Failed, Some("WORKER_LOST"), None)
    );
    assert!(job.error_msg.as_deref().is_some_and(|m| m.contains('2')), "{:?}", job.error_msg);
    assert!(job.end_time.is_some_and(|t| t >= before));
    assert_eq!(job.attempts, 2);
    assert!(!db.heartbeat("deadly", "w2", 50, 60_000).await.unwrap());
    assert!(!db.finish_job("deadly", "w2", &output(&p, "deadly", false)).await.unwrap());
    assert_eq!(db.cancel_job(&p, "deadly").await.unwrap(), CancelOutcome::AlreadyFinal(JobState::Failed));
    assert!(db.claim_job("w4", 60_000, 2).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_max_attempts() {
    on_both("queue_max_attempts", max_attempts_scenario).await;
}

async fn fail_release_scenario(env: Env) {
    let db = &env.db;
    let p = db.create_project("p").await.unwrap().id;
    queue_plain(db, &p, "fails", BASE).await;
    queue_plain(db, &p, "released", BASE + 1).await;
    assert_eq!(db.claim_job("w1", 60_000, 3).await.unwrap().unwrap().id, "fails");
    assert_eq!(db.claim_job("w1", 60_000, 3).await.unwrap().unwrap().id, "released");

    assert!(!db.fail_job("fails", "w2", "RENDER_FAILED", "not yours").await.unwrap());
    let before = now_ms();
    assert!(db.fail_job("fails", "w1", "RENDER_FAILED", "the font is missing").await.unwrap());
    let job = get_job(db, &p, "fails").await;
    assert_eq!((job.state, job.error_code.as_deref()), (JobState::Failed, Some("RENDER_FAILED")));
    assert_eq!((job.error_msg.as_deref(), job.worker.as_deref()), (Some("the font is missing"), None));
    assert!(job.end_time.is_some_and(|t| t >= before));
    assert!(!db.fail_job("fails", "w1", "AGAIN", "again").await.unwrap(), "failing twice");
    assert!(!db.heartbeat("fails", "w1", 1, 60_000).await.unwrap());

    assert!(db.heartbeat("released", "w1", 30, 60_000).await.unwrap());
    assert!(!db.release_job("released", "w2").await.unwrap(), "only the holder releases");
    assert!(db.release_job("released", "w1").await.unwrap());
    let job = get_job(db, &p, "released").await;
    assert_eq!((job.state, job.worker.as_deref(), job.progress, job.attempts), (JobState::Waiting, None, 0, 0));
    assert!(!db.release_job("released", "w1").await.unwrap(), "releasing twice");
    assert!(!db.heartbeat("released", "w1", 40, 60_000).await.unwrap(), "a released job is no longer held");
    let again = db.claim_job("w2", 60_000, 3).await.unwrap().expect("the released job is back in line");
    assert_eq!((again.id.as_str(), again.worker.as_deref(), again.attempts), ("released", Some("w2"), 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_fail_and_release() {
    on_both("queue_fail_and_release", fail_release_scenario).await;
}

const CONCURRENT_JOBS: usize = 40;
const WORKERS: usize = 4;

async fn concurrency_scenario(env: Env) {
    let db = &env.db;
    let projects = [db.create_project("p").await.unwrap().id, db.create_project("q").await.unwrap().id];
    let mut queued = BTreeMap::new();
    for i in 0..CONCURRENT_JOBS {
        let id = format!("job-{i:02}");
        let project = &projects[i % 2];
        queue_plain(db, project, &id, BASE + i as i64).await;
        queued.insert(id, project.clone());
    }

    // Each worker is its own pool, as a separate process would be; they start together.
    let start = Arc::new(tokio::sync::Barrier::new(WORKERS));
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let db = env.connect_again().await;
        let start = start.clone();
        workers.push(tokio::spawn(async move {
            let worker = format!("worker-{w}");
            let mut done = Vec::new();
            start.wait().await;
            while let Some(job) = db.claim_job(&worker, 60_000, 3).await.unwrap() {
                assert_eq!((job.state, job.worker.as_deref()), (JobState::Processing, Some(worker.as_str())));
                assert!(db.heartbeat(&job.id, &worker, 50, 60_000).await.unwrap(), "{worker} lost {}", job.id);
                tokio::task::yield_now().await;
                let out = output(&job.project_id, &job.id, false);
                let finished = db.finish_job(&job.id, &worker, &out).await.unwrap();
                assert!(finished, "{worker} could not finish {}", job.id);
                done.push((job.id, out.video.id));
            }
            done
        }));
    }
    let mut claimed = BTreeMap::new();
    let mut per_worker = Vec::new();
    for w in workers {
        let done = w.await.expect("a worker panicked");
        per_worker.push(done.len());
        for (job, video) in done {
            assert!(claimed.insert(job.clone(), video).is_none(), "{job} was claimed twice");
        }
    }
    println!("{:?}: jobs per worker: {per_worker:?}", db.backend());
    assert_eq!(claimed.len(), CONCURRENT_JOBS, "every job claimed once");
    assert!(claimed.keys().eq(queued.keys()));
    for (id, project) in &queued {
        let job = get_job(db, project, id).await;
        assert_eq!((job.state, job.attempts, job.progress), (JobState::Succeed, 1, 100), "{id}");
        assert_eq!(job.output_asset_id.as_ref(), Some(&claimed[id]), "{id}");
    }
    for project in &projects {
        let (count, assets) = db.list_assets(project, &AssetFilter { limit: 100, ..Default::default() }).await.unwrap();
        assert_eq!(count as usize, CONCURRENT_JOBS / 2);
        assert!(assets.iter().all(|a| queued[a.job_id.as_ref().unwrap()] == *project));
    }
    assert!(db.claim_job("late", 60_000, 3).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queue_concurrent_workers() {
    on_both("queue_concurrent_workers", concurrency_scenario).await;
}

// ---------------------------------------------------------------------------------------------------------------
// Assets and digital humans
// ---------------------------------------------------------------------------------------------------------------

async fn set_created_at(db: &Db, id: &str, t: i64) {
    sqlx::query("UPDATE assets SET created_at = $1 WHERE id = $2").bind(t).bind(id).execute(db.pool()).await.unwrap();
}

async fn assets_scenario(env: Env) {
    let db = &env.db;
    let p = db.create_project("p").await.unwrap().id;
    let q = db.create_project("q").await.unwrap().id;

    // Listing is newest first; "x2" and "x1" share a millisecond and go by id.
    let made = [
        ("logo1", "IMAGE", "logo.png", BASE),
        ("clip", "VIDEO", "clip.mp4", BASE + 10),
        ("bg", "IMAGE", "bg.png", BASE + 20),
        ("pkg", "HUMAN_MODEL_2D", "anna.zip", BASE + 30),
        ("x2", "FONT", "font.ttf", BASE + 40),
        ("x1", "FONT", "font.ttf", BASE + 40),
        ("logo2", "IMAGE", "logo.png", BASE + 50),
    ];
    for (id, kind, name, t) in made {
        let new = new_asset(&p, id, kind, name, None);
        let asset = db.create_asset(&new).await.unwrap();
        assert_eq!((asset.id.as_str(), asset.project_id.as_str()), (id, p.as_str()));
        assert_eq!((asset.asset_type.as_str(), asset.name.as_str(), asset.size), (kind, name, 1234));
        assert_eq!((&asset.blob_key, &asset.meta, &asset.content_type), (&new.blob_key, &new.meta, &new.content_type));
        assert_eq!(asset.job_id, None);
        set_created_at(db, id, t).await;
    }
    assert!(db.create_asset(&new_asset(&q, "bg", "IMAGE", "bg.png", None)).await.is_err(), "asset ids are unique");

    let all = || AssetFilter { limit: 100, ..Default::default() };
    let newest_first = strings(&["logo2", "x1", "x2", "pkg", "bg", "clip", "logo1"]);
    assert_eq!(list_assets(db, &p, all()).await, (7, newest_first.clone()));
    let logo = db.asset(&p, "logo1").await.unwrap().unwrap();
    assert_eq!((logo.name.as_str(), logo.created_at), ("logo.png", BASE));

    // Another project sees nothing of them and cannot delete them.
    assert_eq!(list_assets(db, &q, all()).await, (0, vec![]));
    assert!(db.asset(&q, "logo1").await.unwrap().is_none());
    assert!(db.delete_asset(&q, "logo1").await.unwrap().is_none());
    assert!(db.asset(&p, "logo1").await.unwrap().is_some(), "still there after another project's delete");
    assert_eq!(db.asset_any_project("logo1").await.unwrap().unwrap().project_id, p);
    assert!(db.asset_any_project("nope").await.unwrap().is_none());

    // Filters.
    let kind = |t: &str| AssetFilter { asset_type: Some(t.into()), ..all() };
    let named = |n: &str| AssetFilter { name: Some(n.into()), ..all() };
    assert_eq!(list_assets(db, &p, kind("IMAGE")).await, (3, strings(&["logo2", "bg", "logo1"])));
    assert_eq!(list_assets(db, &p, kind("FONT")).await, (2, strings(&["x1", "x2"])));
    assert_eq!(list_assets(db, &p, kind("AUDIO")).await, (0, vec![]));
    assert_eq!(list_assets(db, &p, named("logo.png")).await, (2, strings(&["logo2", "logo1"])));
    assert_eq!(list_assets(db, &p, named("logo")).await, (0, vec![]));
    let both = AssetFilter { asset_type: Some("IMAGE".into()), name: Some("bg.png".into()), ..all() };
    assert_eq!(list_assets(db, &p, both).await, (1, strings(&["bg"])));
    let mismatch = AssetFilter { asset_type: Some("VIDEO".into()), name: Some("bg.png".into()), ..all() };
    assert_eq!(list_assets(db, &p, mismatch).await, (0, vec![]));

    // Paging.
    let page = |offset: i64, limit: i64| AssetFilter { offset, limit, ..Default::default() };
    assert_eq!(list_assets(db, &p, page(0, 3)).await, (7, strings(&["logo2", "x1", "x2"])));
    assert_eq!(list_assets(db, &p, page(3, 3)).await, (7, strings(&["pkg", "bg", "clip"])));
    assert_eq!(list_assets(db, &p, page(6, 3)).await, (7, strings(&["logo1"])));
    assert_eq!(list_assets(db, &p, page(7, 3)).await, (7, vec![]));
    assert_eq!(list_assets(db, &p, page(0, 0)).await, (7, vec![]));
    let image_page = AssetFilter { offset: 1, limit: 1, asset_type: Some("IMAGE".into()), ..Default::default() };
    assert_eq!(list_assets(db, &p, image_page).await, (3, strings(&["bg"])));

    // Deleting returns the row (for its blob), once.
    let deleted = db.delete_asset(&p, "clip").await.unwrap().expect("the deleted asset");
    assert_eq!(
        (deleted.id.as_str(), deleted.blob_key.as_str()),
        ("clip", format!("projects/{p}/assets/clip").as_str())
    );
    assert!(db.asset(&p, "clip").await.unwrap().is_none());
    assert!(db.delete_asset(&p, "clip").await.unwrap().is_none(), "deleting twice");
    assert_eq!(list_assets(db, &p, all()).await.0, 6);

    // A digital human's package is in use while the human exists.
    assert!(!db.asset_in_use("pkg").await.unwrap());
    let info = json!({ "name": "Anna", "width": 1080, "height": 1920, "actions": ["wave"] });
    let human = db.create_human("anna", &p, "pkg", &info).await.unwrap();
    assert_eq!(
        (human.id.as_str(), human.project_id.as_str(), human.package_asset_id.as_str()),
        ("anna", p.as_str(), "pkg")
    );
    assert_eq!(human.info, info);
    assert!(db.asset_in_use("pkg").await.unwrap());
    assert!(!db.asset_in_use("logo1").await.unwrap());
    assert_eq!(db.human(&p, "anna").await.unwrap().unwrap().info, info);
    assert!(db.human(&q, "anna").await.unwrap().is_none());
    assert_eq!(db.human_any_project("anna").await.unwrap().unwrap().project_id, p);
    assert_eq!(db.humans(&p).await.unwrap().into_iter().map(|h| h.id).collect::<Vec<_>>(), strings(&["anna"]));
    assert!(db.humans(&q).await.unwrap().is_empty());
    assert!(db.delete_human(&q, "anna").await.unwrap().is_none());
    assert!(db.asset_in_use("pkg").await.unwrap());
    assert_eq!(db.delete_human(&p, "anna").await.unwrap().unwrap().package_asset_id, "pkg");
    assert!(db.human(&p, "anna").await.unwrap().is_none());
    assert!(!db.asset_in_use("pkg").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_and_humans() {
    on_both("assets_and_humans", assets_scenario).await;
}

// ---------------------------------------------------------------------------------------------------------------
// Settings and nonces
// ---------------------------------------------------------------------------------------------------------------

async fn settings_scenario(env: Env) {
    let db = &env.db;
    assert_eq!(db.setting("signing_key").await.unwrap(), None);
    assert_eq!(db.setting_or_init("signing_key", || "first".into()).await.unwrap(), "first");
    let mut called = false;
    let second = db
        .setting_or_init("signing_key", || {
            called = true;
            "second".into()
        })
        .await
        .unwrap();
    assert_eq!(second, "first");
    assert!(!called, "init is not called when the setting exists");
    assert_eq!(db.setting("signing_key").await.unwrap().as_deref(), Some("first"));
    let other = env.connect_again().await;
    assert_eq!(other.setting_or_init("signing_key", || "third".into()).await.unwrap(), "first");

    // Several processes initializing at once agree on one value.
    let mut pools = Vec::new();
    for _ in 0..4 {
        pools.push(env.connect_again().await);
    }
    let inits = pools.iter().enumerate().map(|(i, d)| d.setting_or_init("shared", move || format!("value-{i}")));
    let values = futures::future::join_all(inits).await.into_iter().map(Result::unwrap).collect::<Vec<_>>();
    assert!(values.iter().all(|v| *v == values[0]), "{values:?}");
    assert_eq!(db.setting("shared").await.unwrap(), Some(values[0].clone()));

    // Nonces: the first use passes, a replay does not, the scope separates.
    let later = now_ms() + 60_000;
    assert!(db.use_nonce("zego", "n1", later).await.unwrap());
    assert!(!db.use_nonce("zego", "n1", later).await.unwrap(), "a replay");
    assert!(!other.use_nonce("zego", "n1", later).await.unwrap(), "a replay through another process");
    assert!(db.use_nonce("huawei", "n1", later).await.unwrap(), "another scope");
    assert!(db.use_nonce("zego", "n2", later).await.unwrap());
    // An expired nonce is forgotten: it only has to be refused while its signature is valid.
    assert!(db.use_nonce("zego", "old", now_ms() - 1).await.unwrap());
    assert!(db.use_nonce("zego", "old", later).await.unwrap());
    assert!(!db.use_nonce("zego", "old", later).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_and_nonces() {
    on_both("settings_and_nonces", settings_scenario).await;
}

// ---------------------------------------------------------------------------------------------------------------
// Blobs (no database: once)
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_local() {
    let dir = std::env::temp_dir().join(format!("doppel-store-blobs-{}", random_hex(8)));
    let result = tokio::spawn(blobs_scenario(dir.clone())).await;
    std::fs::remove_dir_all(&dir).ok();
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn blobs_scenario(dir: PathBuf) {
    let blobs = Blobs::local(&dir.join("blobs")).unwrap();
    assert!(dir.join("blobs").is_dir(), "the directory is created");

    let key = "projects/p/assets/a";
    assert!(!blobs.exists(key).await.unwrap());
    assert!(matches!(blobs.get(key).await, Err(Error::Blob(object_store::Error::NotFound { .. }))));
    blobs.put(key, Bytes::from_static(b"hello")).await.unwrap();
    assert!(blobs.exists(key).await.unwrap());
    assert!(!blobs.exists("projects/p/assets").await.unwrap(), "a directory is not a blob");
    assert_eq!(blobs.get(key).await.unwrap(), Bytes::from_static(b"hello"));
    blobs.put(key, Bytes::from_static(b"replaced")).await.unwrap();
    assert_eq!(blobs.get(key).await.unwrap(), Bytes::from_static(b"replaced"));

    // A bigger blob, streamed in several chunks and copied into a file.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let big_key = "projects/p/jobs/j/output.mp4";
    blobs.put(big_key, Bytes::from(big.clone())).await.unwrap();
    let (size, mut stream) = blobs.stream(big_key).await.unwrap();
    assert_eq!(size, big.len() as u64);
    let mut streamed = Vec::new();
    while let Some(chunk) = stream.next().await {
        streamed.extend_from_slice(&chunk.unwrap());
    }
    assert!(streamed == big, "streamed bytes differ");
    let file = dir.join("copy.mp4");
    assert_eq!(blobs.get_to_file(big_key, &file).await.unwrap(), big.len() as u64);
    assert!(std::fs::read(&file).unwrap() == big, "copied bytes differ");
    assert!(blobs.get_to_file("missing", &dir.join("missing.bin")).await.is_err());
    assert!(blobs.stream("missing").await.is_err());

    // A file in.
    let source = dir.join("source.txt");
    std::fs::write(&source, b"from a file").unwrap();
    assert_eq!(blobs.put_file("projects/p/assets/f", &source).await.unwrap(), 11);
    assert_eq!(blobs.get("projects/p/assets/f").await.unwrap(), Bytes::from_static(b"from a file"));
    assert!(matches!(blobs.put_file("x", &dir.join("no-such-file")).await, Err(Error::Io { .. })));

    // Deleting: gone, and deleting again is no error; the other blobs stay.
    blobs.delete(key).await.unwrap();
    assert!(!blobs.exists(key).await.unwrap());
    assert!(blobs.get(key).await.is_err());
    blobs.delete(key).await.unwrap();
    blobs.delete("never/stored").await.unwrap();
    assert!(blobs.exists(big_key).await.unwrap());
    assert!(blobs.exists("projects/p/assets/f").await.unwrap());

    // The config picks the store.
    let data = dir.join("data");
    let local = Blobs::from_config(&BlobConfig::default(), &data).unwrap();
    local.put("k", Bytes::from_static(b"v")).await.unwrap();
    assert_eq!(std::fs::read(data.join("blobs").join("k")).unwrap(), b"v");
    let ftp = BlobConfig { kind: Some("ftp".into()), ..Default::default() };
    assert!(matches!(Blobs::from_config(&ftp, &data), Err(Error::Invalid(_))));
    let no_bucket = BlobConfig { kind: Some("s3".into()), ..Default::default() };
    assert!(matches!(Blobs::from_config(&no_bucket, &data), Err(Error::Invalid(_))));
}
