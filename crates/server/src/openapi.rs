//! The OpenAPI 3.0.3 description of the native API, served at `/api/v1/openapi.json`.
//!
//! Written by hand from [`crate::api`]: every route of [`crate::api::routes`] with its parameters, bodies,
//! answers and error codes. Enumerations and limits come from the constants the handlers check against, so the
//! two cannot drift apart there; the test at the bottom keeps the list of paths in step with `api.rs`.
//! `docs/api.md` is the user's guide to the same API.

use doppel_store::JobState;
use serde_json::{json, Map, Value};

use crate::api::{ASSET_TYPES, DEFAULT_LIMIT, JOB_TYPES, MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, MAX_LIMIT};

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for group in [meta_paths(), video_paths(), human_paths(), voice_paths(), asset_paths(), stream_paths()] {
        paths.extend(group);
    }
    let mut schemas = Map::new();
    for group in [
        error_schemas(),
        job_schemas(),
        script_schemas(),
        human_schemas(),
        voice_schemas(),
        asset_schemas(),
        stream_schemas(),
    ] {
        schemas.extend(group);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "doppel native API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": info_description(),
            "license": {"name": env!("CARGO_PKG_LICENSE")},
        },
        "servers": [{"url": "/api/v1", "description": "this server"}],
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": "videos", "description": "Video jobs: submit a script, follow the job, cancel it."},
            {"name": "digital-humans", "description": "The avatars a script's model_asset_id can name."},
            {"name": "voices", "description": "The voices a script's voice_config.voice_asset_id can name."},
            {"name": "assets", "description": "Uploaded files and job results."},
            {"name": "streams", "description": "Live streams: create, drive, interrupt, watch over WHEP (docs/live-streams.md)."},
            {"name": "meta", "description": "This description."},
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`Authorization: Bearer <api_key>`. A first `doppel serve` writes the default \
                        project's key to `DATA_DIR/credentials.json` (`api_key`); `doppel keys create --project ID` \
                        makes more. A key sees only its own project: other projects' ids answer 404.",
                }
            },
            "schemas": schemas,
        },
    })
}

fn info_description() -> String {
    format!(
        "The native API of doppel, a self-hosted digital-human video platform: submit video jobs, follow and \
cancel them, import digital humans, list voices, upload assets. A job's body is a script in Huawei Cloud \
MetaStudio's create-video format, documented field by field in `docs/script.md` of the doppel repository; \
`docs/api.md` there is the user's guide to this API, with curl examples.

**Authentication.** Every operation except `GET /openapi.json` needs `Authorization: Bearer <api_key>`; a \
missing, malformed, unknown or revoked key answers 401 `unauthorized`. Every id is looked up within the key's \
project, so another project's ids answer 404.

**Errors** have the body `{{\"error\": {{\"code\": \"...\", \"message\": \"...\", \"request_id\": \"...\"}}}}` (schema \
`Error`); `code` is stable, `message` is for people and names the parameter or JSON path at fault. Every response \
carries `X-Request-Id`: the caller's own `X-Request-Id` when it is 1 to 128 printable ASCII characters, otherwise \
a new id. Request bodies larger than the server's `max_upload_bytes` (default 512 MiB) answer 413 `too_large`.

**Times** are ISO 8601 in UTC with whole seconds, e.g. `2022-11-30T06:59:56Z`.

**Listings** take `offset` (at least 0, default 0) and `limit` (1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}) and \
answer `count`, the number of all matching items, with one page of them.

**Outside `/api/v1`** (so not among the paths below):

* `GET /healthz`: no key needed; answers 200 `{{\"status\": \"ok\", \"version\": \"...\"}}`.
* `GET /files/{{path}}?expires=...&sig=...`: the signed file URLs this API hands out (`url`, `avatar_url`, \
`preview_url`, `cover_url`, `preview_video_url`). No key is needed: the signature is the permission. They are \
valid for 24 hours by default (server setting `signed_url_ttl_secs`). A changed, incomplete or expired URL \
answers 403 `signature_invalid`, `signature_missing` or `url_expired`; a file that no longer exists 404 \
`not_found`. Avatar thumbnails, action previews and voice samples are rendered on their first request and \
cached."
    )
}

// ---------------------------------------------------------------------------------------------------------------
// Building blocks

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A reference that may also be `null` (OpenAPI 3.0 ignores siblings of `$ref`, hence `allOf`).
fn nullable_ref(name: &str, description: &str) -> Value {
    json!({"allOf": [schema_ref(name)], "nullable": true, "description": description})
}

fn request_id_header() -> Value {
    json!({
        "X-Request-Id": {
            "description": "The request's id: the caller's own X-Request-Id when it is sane, otherwise a new one.",
            "schema": {"type": "string"},
        }
    })
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({
        "description": description,
        "headers": request_id_header(),
        "content": {"application/json": {"schema": schema}},
    })
}

fn no_content(description: &str) -> Value {
    json!({"description": description, "headers": request_id_header()})
}

fn error(description: &str) -> Value {
    json_response(description, schema_ref("Error"))
}

fn unauthorized() -> Value {
    error(
        "`unauthorized`: the Authorization header is missing or not `Bearer <api_key>`, or the key is unknown or revoked.",
    )
}

fn not_found(what: &str) -> Value {
    error(&format!("`not_found`: no {what} with this id in the caller's project."))
}

fn too_large() -> Value {
    error("`too_large`: the body is larger than the server's `max_upload_bytes` (default 512 MiB).")
}

fn internal() -> Value {
    error("`internal`: the server failed (database, blob store); the message says what.")
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
}

fn query_param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

/// `offset` and `limit`, as every listing takes them (checked by `api::job_filter`).
fn paging_params() -> Vec<Value> {
    vec![
        query_param(
            "offset",
            "How many matching items to skip. An integer of at least 0; otherwise 400 `invalid_parameter`.",
            json!({"type": "integer", "format": "int32", "minimum": 0, "default": 0}),
        ),
        query_param(
            "limit",
            &format!(
                "Page size: an integer from 1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}; otherwise 400 \
                 `invalid_parameter`."
            ),
            json!({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
        ),
    ]
}

/// One operation. `responses` maps status codes to responses.
fn operation(tag: &str, id: &str, summary: &str, description: &str, parameters: Vec<Value>, responses: Value) -> Value {
    let mut op = json!({
        "tags": [tag],
        "operationId": id,
        "summary": summary,
        "description": description,
        "responses": responses,
    });
    if !parameters.is_empty() {
        op["parameters"] = Value::Array(parameters);
    }
    op
}

/// An upload body: the raw file, or a multipart form with `file` (and optionally `name`, plus `type` when
/// `with_type`).
fn upload_body(what: &str, with_type: bool) -> Value {
    let mut form = json!({
        "type": "object",
        "required": ["file"],
        "properties": {
            "name": {
                "type": "string",
                "maxLength": 256,
                "description": "The asset's name; default the file part's file name.",
            },
            "file": {"type": "string", "format": "binary", "description": what},
        },
    });
    if with_type {
        form["properties"]["type"] = json!({
            "type": "string",
            "enum": ASSET_TYPES,
            "description": "The asset type (`asset_type` is accepted too); required here or as the `type` query \
                parameter. Lower case is accepted.",
        });
    }
    json!({
        "required": true,
        "description": format!(
            "Either the raw file as the body (any Content-Type other than multipart/form-data; it is kept as the \
             asset's content type), with `name`{} in the query; or a multipart/form-data form with a `file` part. \
             An empty file answers 400 `empty_upload`; a form without `file` 400 `missing_file`.",
            if with_type { " and `type`" } else { "" }
        ),
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {"schema": form},
        },
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Paths

fn meta_paths() -> Map<String, Value> {
    let mut op = operation(
        "meta",
        "getOpenApi",
        "This OpenAPI document",
        "The OpenAPI 3.0.3 description of the native API. Needs no API key.",
        vec![],
        json!({"200": json_response("The document.", json!({"type": "object"}))}),
    );
    op["security"] = json!([]);
    let mut m = Map::new();
    m.insert("/openapi.json".into(), json!({"get": op}));
    m
}

fn job_id_param() -> Value {
    path_param("job_id", "The job's id, as `POST /videos` answered it.")
}

fn video_list_params() -> Vec<Value> {
    let states: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
    let mut p = paging_params();
    p.extend([
        query_param(
            "state",
            &format!(
                "Only jobs in these states: a comma-separated list of {}, e.g. `WAITING,PROCESSING`. Default: \
                 every state. An unknown state answers 400 `invalid_parameter`.",
                states.join(", ")
            ),
            json!({"type": "string", "example": "SUCCEED,FAILED"}),
        ),
        query_param(
            "sort_key",
            "The sort key; only `create_time` exists (and is the default).",
            json!({"type": "string", "enum": ["create_time"], "default": "create_time"}),
        ),
        query_param(
            "sort_dir",
            "Sort direction of `create_time` (case-insensitive).",
            json!({"type": "string", "enum": ["asc", "desc"], "default": "asc"}),
        ),
        query_param(
            "create_since",
            "Only jobs created at or after this time: ISO 8601 UTC such as `2022-11-30T06:59:56Z` (a fraction or an \
             offset such as `+01:00` is accepted too).",
            json!({"type": "string", "format": "date-time"}),
        ),
        query_param(
            "create_until",
            "Only jobs created at or before this time; same format as `create_since`.",
            json!({"type": "string", "format": "date-time"}),
        ),
        query_param("script_id", "Only jobs whose script had this `script_id`.", json!({"type": "string"})),
        query_param(
            "asset_name",
            "Only jobs whose script's `output_asset_config.asset_name` is exactly this.",
            json!({"type": "string"}),
        ),
        query_param("job_type", "Only jobs of this type.", json!({"type": "string", "enum": JOB_TYPES})),
        query_param(
            "job_id",
            &format!(
                "Only these jobs: one id or a comma-separated list (together with `job_ids` at most {MAX_LIMIT})."
            ),
            json!({"type": "string"}),
        ),
        query_param(
            "job_ids",
            &format!(
                "Same as `job_id`; both lists are joined. More than {MAX_LIMIT} ids answer 400 `invalid_parameter`."
            ),
            json!({"type": "string"}),
        ),
    ]);
    p
}

fn video_paths() -> Map<String, Value> {
    let create = {
        let mut op = operation(
            "videos",
            "createVideo",
            "Submit a video job",
            "Checks the script fully (JSON syntax, every field's type and limit, the digital human, the voice, and \
             every file reference: an asset id must exist in the project, anything else must be an http(s) URL) \
             and queues a job of type 2D_DIGITAL_HUMAN_VIDEO. Nothing is queued when the script is refused. URLs \
             are fetched only when the job runs, under the server's fetch policy.",
            vec![],
            json!({
                "200": json_response("The job is queued (state WAITING).", schema_ref("JobCreated")),
                "400": error(
                    "`invalid_json`: the body is not JSON (the message gives line and column); `invalid_script`: the \
                     script breaks a rule (the message starts with the JSON path, e.g. \
                     `shoot_scripts[0].shoot_script.text_config.text: ...`); `bad_body`: the body could not be read."
                ),
                "401": unauthorized(),
                "413": too_large(),
                "500": internal(),
            }),
        );
        op["requestBody"] = json!({
            "required": true,
            "description": "The script: the JSON body of MetaStudio's create-2D-digital-human-video request. See \
                `docs/script.md` for every field.",
            "content": {"application/json": {"schema": schema_ref("Script")}},
        });
        op
    };
    let list = operation(
        "videos",
        "listVideos",
        "List video jobs",
        "The project's jobs that match every given filter, oldest first unless `sort_dir=desc`. The jobs carry no \
         script fields.",
        video_list_params(),
        json!({
            "200": json_response("One page of jobs and the number of all matching jobs.", schema_ref("JobList")),
            "400": error("`invalid_parameter`: the message names the parameter and what it accepts."),
            "401": unauthorized(),
            "500": internal(),
        }),
    );
    let show = operation(
        "videos",
        "showVideo",
        "Show a video job",
        "The job's state, progress, times, result and error.",
        vec![
            job_id_param(),
            query_param(
                "show_script",
                "`true` (or `1`): also return the submitted script's top-level fields (those the job view does not \
                 already fill).",
                json!({"type": "boolean", "default": false}),
            ),
        ],
        json!({
            "200": json_response("The job.", schema_ref("Job")),
            "401": unauthorized(),
            "404": not_found("job"),
            "500": internal(),
        }),
    );
    let cancel = operation(
        "videos",
        "cancelVideo",
        "Cancel a video job",
        "Cancels a WAITING or PROCESSING job: it becomes CANCELED at once; a render in progress stops within about \
         a second and leaves no result. A canceled job sends no callback.",
        vec![job_id_param()],
        json!({
            "200": json_response("The canceled job.", schema_ref("Job")),
            "401": unauthorized(),
            "404": not_found("job"),
            "409": error("`job_finished`: the job is already SUCCEED, FAILED or CANCELED."),
            "500": internal(),
        }),
    );
    let mut m = Map::new();
    m.insert("/videos".into(), json!({"post": create, "get": list}));
    m.insert("/videos/{job_id}".into(), json!({"get": show}));
    m.insert("/videos/{job_id}/cancel".into(), json!({"post": cancel}));
    m
}

fn human_paths() -> Map<String, Value> {
    let mut list_params = paging_params();
    list_params.push(query_param(
        "public",
        "`true` (or `1`): only the built-in digital humans; `false` (or `0`): only the project's imported ones. \
         Default: both. Anything else answers 400 `invalid_parameter`.",
        json!({"type": "boolean"}),
    ));
    let list = operation(
        "digital-humans",
        "listDigitalHumans",
        "List digital humans",
        "The built-in digital humans (public, seen by every project) first, then the project's imported ones, \
         oldest first.",
        list_params,
        json!({
            "200": json_response("One page of digital humans and the number of all.", schema_ref("DigitalHumanList")),
            "400": error("`invalid_parameter`: `offset`, `limit` or `public` is out of range or not a value it accepts."),
            "401": unauthorized(),
            "500": internal(),
        }),
    );
    let import = {
        let mut op = operation(
            "digital-humans",
            "importDigitalHuman",
            "Import a digital human",
            "Imports an avatar package (a zip; see `docs/avatar-format.md`) as a digital human private to the \
             project, or makes a photo avatar from a picture (PNG, JPEG, WebP, BMP, GIF as the body) or from JSON \
             `{\"image_asset_id\", \"name\"}` naming an IMAGE asset (see `docs/photo-avatars.md`; a photo that \
             fails the check answers 400 `invalid_photo` naming the problem). The package is kept as a \
             HUMAN_MODEL_2D asset; the new digital human's `id` is what a script's `model_asset_id` names.",
            vec![query_param(
                "name",
                "Name of the package asset (default the multipart file name, else `avatar.zip`).",
                json!({"type": "string"}),
            )],
            json!({
                "201": json_response("The new digital human.", schema_ref("DigitalHuman")),
                "400": error(
                    "`invalid_avatar`: the package is not a valid avatar package (the message says why); \
                     `empty_upload`, `missing_file`, `bad_body`: the body is empty, has no `file` part or could not \
                     be read."
                ),
                "401": unauthorized(),
                "413": too_large(),
                "500": internal(),
            }),
        );
        op["requestBody"] = upload_body("The avatar package (zip).", false);
        op
    };
    let id = || path_param("id", "The digital human's id: a built-in id such as `anna`, or an imported one's.");
    let show = operation(
        "digital-humans",
        "showDigitalHuman",
        "Show a digital human",
        "One digital human, built in or imported.",
        vec![id()],
        json!({
            "200": json_response("The digital human.", schema_ref("DigitalHuman")),
            "401": unauthorized(),
            "404": not_found("digital human"),
            "500": internal(),
        }),
    );
    let delete = operation(
        "digital-humans",
        "deleteDigitalHuman",
        "Delete an imported digital human",
        "Deletes an imported digital human, its package asset and its cached previews.",
        vec![id()],
        json!({
            "204": no_content("Deleted."),
            "401": unauthorized(),
            "403": error("`builtin`: built-in digital humans cannot be deleted."),
            "404": not_found("digital human"),
            "500": internal(),
        }),
    );
    let mut m = Map::new();
    m.insert("/digital-humans".into(), json!({"get": list, "post": import}));
    m.insert("/digital-humans/{id}".into(), json!({"get": show, "delete": delete}));
    m
}

fn voice_paths() -> Map<String, Value> {
    let list = operation(
        "voices",
        "listVoices",
        "List voices",
        "Every voice of the server (the same for every project); no paging.",
        vec![],
        json!({
            "200": json_response("All voices.", schema_ref("VoiceList")),
            "401": unauthorized(),
        }),
    );
    let show = operation(
        "voices",
        "showVoice",
        "Show a voice",
        "One voice; the id is matched without regard to case.",
        vec![path_param("id", "The voice's id, e.g. `espeak-en-us-ava`.")],
        json!({
            "200": json_response("The voice.", schema_ref("Voice")),
            "401": unauthorized(),
            "404": not_found("voice"),
        }),
    );
    let mut m = Map::new();
    m.insert("/voices".into(), json!({"get": list}));
    m.insert("/voices/{id}".into(), json!({"get": show}));
    m
}

fn asset_paths() -> Map<String, Value> {
    let upload = {
        let mut op = operation(
            "assets",
            "uploadAsset",
            "Upload an asset",
            &format!(
                "Stores a file in the project after checking that it is what its type says. IMAGE: must decode as an \
                 image of at most {MAX_IMAGE_SIDE} pixels a side and {MAX_IMAGE_PIXELS} pixels in all. VIDEO: must \
                 probe as a video with a picture within the same limits. AUDIO and MUSIC: must probe with an audio \
                 stream. FONT: TrueType, OpenType, collection or WOFF/WOFF2. HUMAN_MODEL_2D: a valid avatar package \
                 zip (stored only; `POST /digital-humans` imports one as a digital human). Facts found (size, \
                 duration, ...) go into `meta`. A script names the asset by its `asset_id`."
            ),
            vec![
                query_param(
                    "type",
                    "The asset type (`asset_type` is accepted too; lower case is accepted). Required, here or as a \
                     multipart field; without it 400 `missing_type`.",
                    json!({"type": "string", "enum": ASSET_TYPES}),
                ),
                query_param(
                    "name",
                    "The asset's name, at most 256 characters (default the multipart file name, else the type in \
                     lower case).",
                    json!({"type": "string", "maxLength": 256}),
                ),
            ],
            json!({
                "201": json_response("The stored asset.", schema_ref("Asset")),
                "400": error(
                    "`missing_type`, `invalid_type`: no or an unknown asset type; `invalid_name`: the name is longer \
                     than 256 characters; `invalid_media`: the file is not what its type says or is too large in \
                     pixels (the message says which); `empty_upload`, `missing_file`, `bad_body`: the body is empty, \
                     has no `file` part or could not be read."
                ),
                "401": unauthorized(),
                "413": too_large(),
                "500": internal(),
            }),
        );
        op["requestBody"] = upload_body("The file.", true);
        op
    };
    let mut list_params = paging_params();
    list_params.extend([
        query_param(
            "type",
            "Only assets of this type (`asset_type` is accepted too; lower case is accepted). Job results are VIDEO \
             (the video), IMAGE (its cover) and SUBTITLE (SRT and WebVTT) assets.",
            json!({"type": "string"}),
        ),
        query_param("name", "Only assets with exactly this name.", json!({"type": "string"})),
    ]);
    let list = operation(
        "assets",
        "listAssets",
        "List assets",
        "The project's assets, uploads and job results alike, newest first.",
        list_params,
        json!({
            "200": json_response("One page of assets and the number of all matching assets.", schema_ref("AssetList")),
            "400": error("`invalid_parameter`: `offset` or `limit` is out of range."),
            "401": unauthorized(),
            "500": internal(),
        }),
    );
    let id = || path_param("id", "The asset's id.");
    let show = operation(
        "assets",
        "showAsset",
        "Show an asset",
        "One asset, with a fresh signed download URL.",
        vec![id()],
        json!({
            "200": json_response("The asset.", schema_ref("Asset")),
            "401": unauthorized(),
            "404": not_found("asset"),
            "500": internal(),
        }),
    );
    let delete = operation(
        "assets",
        "deleteAsset",
        "Delete an asset",
        "Deletes the asset and its file. Jobs that named it fail when they run.",
        vec![id()],
        json!({
            "204": no_content("Deleted."),
            "401": unauthorized(),
            "404": not_found("asset"),
            "409": error("`asset_in_use`: the asset is the package of a digital human; delete the digital human."),
            "500": internal(),
        }),
    );
    let content = operation(
        "assets",
        "getAssetContent",
        "Download an asset",
        "The asset's bytes with its content type, using the API key (the asset's `url` needs none).",
        vec![id()],
        json!({
            "200": {
                "description": "The file, with the asset's Content-Type and Content-Length.",
                "headers": request_id_header(),
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            },
            "401": unauthorized(),
            "404": not_found("asset"),
            "500": internal(),
        }),
    );
    let mut m = Map::new();
    m.insert("/assets".into(), json!({"post": upload, "get": list}));
    m.insert("/assets/{id}".into(), json!({"get": show, "delete": delete}));
    m.insert("/assets/{id}/content".into(), json!({"get": content}));
    m
}

fn task_id_param() -> Value {
    path_param("task_id", "The stream's `task_id`.")
}

fn stream_paths() -> Map<String, Value> {
    let viewer = " A stream's `viewer_token` is accepted in place of the API key (also as `?token=`).";
    let stream_errors = |extra: &str| {
        json!({
            "401": unauthorized(),
            "404": not_found("stream"),
            "409": error(&format!(
                "`stream_not_started` (status 1), `stream_stopped`, or `stream_elsewhere` (another doppel process \
                 runs it).{extra}"
            )),
        })
    };
    let mut create = operation(
        "streams",
        "createStream",
        "Create a live stream",
        "Starts a stream (status 1, then 3 within about a second). The answer also says how to watch it: \
         `whep_url`, `viewer_token` (returned only here) and `viewer_url` (the viewer page).",
        vec![],
        json!({
            "201": json_response("The new stream and how to watch it.", schema_ref("Stream")),
            "400": error("`invalid_stream`: a field is out of range, or the digital human or voice does not exist."),
            "401": unauthorized(),
            "409": error("`stream_id_taken`: an unfinished stream of the project has this `stream_id`."),
            "429": error("`stream_limit`: the project runs `[live] max_streams_per_project` streams already."),
        }),
    );
    create["requestBody"] =
        json!({"required": true, "content": {"application/json": {"schema": schema_ref("StreamRequest")}}});
    let list = operation(
        "streams",
        "listStreams",
        "List live streams",
        "The project's streams, newest first (at most 100).",
        vec![query_param("live", "`true`: only unfinished streams (status 1, 3, 4).", json!({"type": "boolean"}))],
        json!({"200": json_response("The streams.", json!({"type": "object", "properties": {"streams": {"type": "array", "items": schema_ref("Stream")}}})), "401": unauthorized()}),
    );
    let show = operation(
        "streams",
        "showStream",
        "Show a live stream",
        &format!("The stream, its viewers and renderer statistics; stopped streams stay queryable.{viewer}"),
        vec![task_id_param()],
        json!({"200": json_response("The stream.", schema_ref("Stream")), "401": unauthorized(), "404": not_found("stream")}),
    );
    let stop_desc = "Stops the stream: status 4, then 5 once its renderer, encoders and viewers are released.";
    let stop = |id: &str| {
        operation(
            "streams",
            id,
            "Stop a live stream",
            stop_desc,
            vec![task_id_param()],
            json!({"200": json_response("The stream.", schema_ref("Stream")), "401": unauthorized(), "404": not_found("stream")}),
        )
    };
    let mut drive = operation(
        "streams",
        "driveStream",
        "Drive a live stream",
        &format!(
            "Exactly one of `text`, `audio_url`, `audio_asset_id` or `pcm: true`. Queued (status 1) unless \
             `interrupt` is true, which interrupts what plays and drops the queue. A PCM drive answers 201 with \
             `drive_id` and `ws_url` (the WebSocket of ZEGO's Start / PCM / Stop protocol).{viewer}"
        ),
        vec![task_id_param()],
        {
            let mut r = stream_errors("");
            r["202"] = json_response("The drive.", schema_ref("Drive"));
            r["201"] = json_response("A PCM drive: `drive_id` and `ws_url`.", json!({"type": "object"}));
            r["400"] = error(
                "`invalid_drive`: the text is empty or too long, an unknown voice or asset, or not exactly one source.",
            );
            r
        },
    );
    drive["requestBody"] =
        json!({"required": true, "content": {"application/json": {"schema": schema_ref("DriveRequest")}}});
    let drives = operation(
        "streams",
        "listDrives",
        "List a stream's drives",
        &format!("Oldest first, the last 1000, while the process that runs the stream remembers them.{viewer}"),
        vec![task_id_param()],
        json!({"200": json_response("The drives.", json!({"type": "object", "properties": {"drives": {"type": "array", "items": schema_ref("Drive")}}})), "401": unauthorized(), "404": not_found("stream")}),
    );
    let show_drive = operation(
        "streams",
        "showDrive",
        "Show a drive",
        &format!("One drive.{viewer}"),
        vec![task_id_param(), path_param("drive_id", "The drive's id.")],
        json!({"200": json_response("The drive.", schema_ref("Drive")), "401": unauthorized(), "404": not_found("drive")}),
    );
    let interrupt = operation(
        "streams",
        "interruptStream",
        "Interrupt",
        &format!("Ends the playing drive on the next frame (status 5) and drops the queued ones.{viewer}"),
        vec![task_id_param()],
        {
            let mut r = stream_errors("");
            r["200"] = json_response("`{\"interrupted\": true}`.", json!({"type": "object"}));
            r
        },
    );
    let mut action = operation(
        "streams",
        "streamAction",
        "Play an action",
        &format!("`{{\"action\": NAME}}`: one of the digital human's actions, now.{viewer}"),
        vec![task_id_param()],
        {
            let mut r = stream_errors("");
            r["200"] = json_response("`{\"action\": NAME}`.", json!({"type": "object"}));
            r["400"] = error("`invalid_action`: no such action (the message lists them).");
            r
        },
    );
    action["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["action"], "properties": {"action": {"type": "string"}}}}}});
    let mut ws = operation(
        "streams",
        "streamPcmSocket",
        "WebSocket PCM drive",
        "A WebSocket (ZEGO's protocol): text `{\"Action\":\"Start\",\"Payload\":{\"DriveId\",\"SampleRate\": 16000 or \
         24000}}`, binary mono 16-bit little-endian PCM, text `{\"Action\":\"Stop\",\"Payload\":{\"DriveId\"}}`. \
         Authorized by the `Token` from `DriveByWsStream` or a `pcm: true` drive, not by a key.",
        vec![task_id_param(), query_param("Token", "The WebSocket token.", json!({"type": "string"}))],
        json!({"101": {"description": "Switching to the WebSocket protocol."}, "401": unauthorized()}),
    );
    ws["security"] = json!([]);
    let mut whep = operation(
        "streams",
        "whepOffer",
        "Watch (WHEP)",
        &format!(
            "An SDP offer (`Content-Type: application/sdp`) in; 201 with the SDP answer and `Location` (DELETE it to \
             leave). VP8 or H.264 Constrained Baseline video (`?codec=vp8|h264`; by default VP8 when offered), Opus \
             audio; media over UDP from `[live] webrtc_ip`.{viewer}"
        ),
        vec![
            task_id_param(),
            query_param("codec", "`vp8` or `h264`.", json!({"type": "string", "enum": ["vp8", "h264"]})),
        ],
        {
            let mut r = stream_errors("");
            r["201"] = json!({"description": "The SDP answer.", "content": {"application/sdp": {"schema": {"type": "string"}}}});
            r["400"] = error("`invalid_offer`: not an SDP offer, or nothing in it doppel can send.");
            r
        },
    );
    whep["requestBody"] = json!({"required": true, "content": {"application/sdp": {"schema": {"type": "string"}}}});
    let mut whep_options = operation(
        "streams",
        "whepOptions",
        "WHEP preflight",
        "CORS preflight; `Accept-Post: application/sdp`.",
        vec![task_id_param()],
        json!({"204": {"description": "Allowed."}}),
    );
    let whep_delete = operation(
        "streams",
        "whepDelete",
        "Leave (WHEP)",
        &format!("Closes the viewer the `Location` names.{viewer}"),
        vec![task_id_param(), path_param("viewer", "The viewer's id (the last part of `Location`).")],
        json!({"200": {"description": "Closed."}, "401": unauthorized(), "404": not_found("viewer")}),
    );
    let mut whep_delete_options = operation(
        "streams",
        "whepViewerOptions",
        "WHEP preflight (viewer)",
        "CORS preflight.",
        vec![task_id_param(), path_param("viewer", "The viewer's id.")],
        json!({"204": {"description": "Allowed."}}),
    );
    whep_options["security"] = json!([]);
    whep_delete_options["security"] = json!([]);
    let mut m = Map::new();
    m.insert("/streams".into(), json!({"post": create, "get": list}));
    m.insert("/streams/{task_id}".into(), json!({"get": show, "delete": stop("deleteStream")}));
    m.insert("/streams/{task_id}/stop".into(), json!({"post": stop("stopStream")}));
    m.insert("/streams/{task_id}/drives".into(), json!({"post": drive, "get": drives}));
    m.insert("/streams/{task_id}/drives/{drive_id}".into(), json!({"get": show_drive}));
    m.insert("/streams/{task_id}/interrupt".into(), json!({"post": interrupt}));
    m.insert("/streams/{task_id}/actions".into(), json!({"post": action}));
    m.insert("/streams/{task_id}/ws".into(), json!({"get": ws}));
    m.insert("/streams/{task_id}/whep".into(), json!({"post": whep, "options": whep_options}));
    m.insert("/streams/{task_id}/whep/{viewer}".into(), json!({"delete": whep_delete, "options": whep_delete_options}));
    m
}

fn stream_schemas() -> Map<String, Value> {
    let status = "1 initializing, 2 initialization failed, 3 streaming, 4 stopping, 5 stopped (ZEGO's numbers).";
    schemas(vec![
        (
            "StreamRequest",
            json!({
                "type": "object",
                "required": ["digital_human_id"],
                "additionalProperties": false,
                "properties": {
                    "digital_human_id": {"type": "string", "description": "A built-in, imported or photo digital human."},
                    "voice_id": {"type": "string", "description": "Default: the digital human's voice."},
                    "background_color": {"type": "string", "example": "#203040"},
                    "background_image": {"type": "string", "description": "An IMAGE asset id or an http(s) URL."},
                    "width": {"type": "integer", "default": 720, "description": "720x1280, 1280x720, 1080x1920 or 1920x1080."},
                    "height": {"type": "integer", "default": 1280},
                    "bitrate": {"type": "integer", "default": 2000000, "minimum": 100000, "maximum": 3000000, "description": "Bits per second."},
                    "room_id": {"type": "string", "maxLength": 128},
                    "stream_id": {"type": "string", "maxLength": 128, "pattern": "^[0-9A-Za-z_-]+$"},
                    "ttl": {"type": "integer", "default": 86400, "minimum": 10, "maximum": 86400},
                    "max_idle_time": {"type": "integer", "default": 900, "minimum": 30, "maximum": 86400},
                    "callback_url": {"type": "string", "format": "uri", "description": "Status changes, as ZEGO's EventType 3 and 4."},
                    "rtmp_url": {"type": "string", "description": "Also push the stream here (rtmp:// or rtmps://; H.264 and AAC in FLV)."},
                },
            }),
        ),
        (
            "Stream",
            json!({
                "type": "object",
                "properties": {
                    "task_id": {"type": "string"},
                    "status": {"type": "integer", "enum": [1, 2, 3, 4, 5], "description": status},
                    "status_name": {"type": "string"},
                    "room_id": {"type": "string"},
                    "stream_id": {"type": "string"},
                    "created_at": time_field("When the stream was created."),
                    "ended_at": time_field("When it stopped or failed."),
                    "reason": {"type": "string", "description": "Why it failed or stopped."},
                    "config": {"type": "object", "description": "What was asked."},
                    "width": {"type": "integer"},
                    "height": {"type": "integer"},
                    "mouth_box": {"type": "object", "description": "Where the mouth moves: x, y, width, height in pixels."},
                    "viewers": {"type": "array", "items": {"type": "object"}},
                    "stats": {"type": "object", "description": "frames ticked, encoded, late ticks, work_ms per encoded frame."},
                    "whep_url": {"type": "string", "format": "uri"},
                    "viewer_url": {"type": "string", "format": "uri"},
                    "viewer_token": {"type": "string", "description": "Only in the answer to the create call."},
                },
            }),
        ),
        (
            "DriveRequest",
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "text": {"type": "string", "maxLength": 1800, "description": "Plain text or SSML."},
                    "audio_url": {"type": "string", "format": "uri"},
                    "audio_asset_id": {"type": "string"},
                    "pcm": {"type": "boolean"},
                    "voice_id": {"type": "string"},
                    "speed": {"type": "integer", "minimum": 50, "maximum": 200},
                    "pitch": {"type": "integer", "minimum": 50, "maximum": 200},
                    "volume": {"type": "integer", "minimum": 90, "maximum": 240},
                    "interrupt": {"type": "boolean", "default": false},
                },
            }),
        ),
        (
            "Drive",
            json!({
                "type": "object",
                "properties": {
                    "drive_id": {"type": "string"},
                    "kind": {"type": "string", "enum": ["text", "audio", "pcm"]},
                    "status": {"type": "integer", "enum": [1, 2, 3, 4, 5], "description": "1 queued, 2 driving, 3 failed, 4 finished, 5 interrupted."},
                    "status_name": {"type": "string"},
                    "error": {"type": "string"},
                    "created_at_ms": {"type": "integer"},
                    "started_at_ms": {"type": "integer"},
                    "ended_at_ms": {"type": "integer"},
                },
            }),
        ),
    ])
}

// ---------------------------------------------------------------------------------------------------------------
// Schemas

fn schemas(list: Vec<(&str, Value)>) -> Map<String, Value> {
    list.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn nullable(mut schema: Value) -> Value {
    schema["nullable"] = json!(true);
    schema
}

fn time_field(description: &str) -> Value {
    json!({"type": "string", "format": "date-time", "example": "2022-11-30T06:59:56Z", "description": description})
}

fn signed_url(description: &str) -> Value {
    json!({
        "type": "string",
        "format": "uri",
        "description": format!("{description} A signed URL: needs no API key, valid for 24 hours by default."),
    })
}

fn error_schemas() -> Map<String, Value> {
    let codes = "Stable machine code. Native API: `unauthorized` (401); `invalid_json`, `invalid_script`, \
        `invalid_parameter`, `bad_body`, `missing_file`, `empty_upload`, `missing_type`, `invalid_type`, \
        `invalid_name`, `invalid_media`, `invalid_avatar` (400); `builtin` (403); `not_found` (404); \
        `job_finished`, `asset_in_use` (409); `too_large` (413); `internal` (500). Signed file URLs: \
        `signature_missing`, `signature_invalid`, `url_expired` (403), `not_found` (404).";
    schemas(vec![(
        "Error",
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message", "request_id"],
                    "properties": {
                        "code": {"type": "string", "description": codes, "example": "not_found"},
                        "message": {
                            "type": "string",
                            "description": "What went wrong, for people; names the parameter or JSON path at fault.",
                            "example": "job \"4c1f0e9a5d2b4b7e8f0a1c2d3e4f5a6b\" does not exist",
                        },
                        "request_id": {
                            "type": "string",
                            "description": "The request's id, also in the X-Request-Id header.",
                        },
                    },
                }
            },
        }),
    )])
}

fn job_schemas() -> Map<String, Value> {
    let states: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
    let job = json!({
        "type": "object",
        "description": "A video job (MetaStudio's job view plus `progress`). With `show_script=true` the script's \
            top-level fields (`model_asset_id`, `voice_config`, `video_config`, `shoot_scripts`, ...) are added.",
        "required": ["job_id", "state", "job_type", "progress", "create_time", "lastupdate_time"],
        "properties": {
            "job_id": {"type": "string", "example": "4c1f0e9a5d2b4b7e8f0a1c2d3e4f5a6b"},
            "state": {
                "type": "string",
                "enum": states,
                "description": "WAITING (queued), PROCESSING (rendering), SUCCEED, FAILED, CANCELED. BLOCK is \
                    MetaStudio's frozen state; doppel never sets it.",
            },
            "job_type": {"type": "string", "enum": JOB_TYPES},
            "progress": {
                "type": "integer",
                "minimum": 0,
                "maximum": 100,
                "description": "Percent done: 0 while waiting, up to 99 while rendering, 100 when SUCCEED.",
            },
            "start_time": nullable(time_field("When a worker first took the job.")),
            "end_time": nullable(time_field("When the job ended (SUCCEED, FAILED or CANCELED).")),
            "duration": {
                "type": "number",
                "nullable": true,
                "description": "Length of the result video in seconds (once SUCCEED).",
            },
            "output_asset_config": nullable_ref(
                "OutputAssetInfo",
                "The result once SUCCEED; before that only `asset_name` when the script gave one, else null.",
            ),
            "error_info": nullable_ref("ErrorInfo", "Why the job FAILED; null otherwise."),
            "create_time": time_field("When the job was submitted."),
            "lastupdate_time": time_field("When the job last changed (progress included)."),
            "script_id": {"type": "string", "nullable": true, "description": "The script's `script_id`, if any."},
        },
        "additionalProperties": true,
    });
    let output = json!({
        "type": "object",
        "properties": {
            "asset_id": {"type": "string", "description": "The result video's asset (type VIDEO)."},
            "asset_name": {
                "type": "string",
                "description": "The script's `output_asset_config.asset_name`, else the video asset's name.",
            },
            "cover_url": nullable(signed_url("The cover picture (first frame, JPEG).")),
            "preview_video_url": signed_url("The result video (MP4, or WebM for VP8)."),
        },
    });
    let error_info = json!({
        "type": "object",
        "properties": {
            "error_code": {
                "type": "string",
                "description": "INVALID_SCRIPT, INVALID_AVATAR, INPUT_UNAVAILABLE (a referenced URL or asset could \
                    not be fetched), INPUT_INVALID (a referenced file is unusable), RENDER_FAILED, INTERNAL, or \
                    WORKER_LOST (the job stopped its worker too many times).",
                "example": "INPUT_UNAVAILABLE",
            },
            "error_msg": {"type": "string", "nullable": true},
        },
    });
    schemas(vec![
        ("Job", job),
        ("OutputAssetInfo", output),
        ("ErrorInfo", error_info),
        (
            "JobList",
            json!({
                "type": "object",
                "required": ["count", "jobs"],
                "properties": {
                    "count": {"type": "integer", "description": "Number of all jobs that match the filters."},
                    "jobs": {"type": "array", "items": schema_ref("Job")},
                },
            }),
        ),
        (
            "JobCreated",
            json!({
                "type": "object",
                "required": ["job_id"],
                "properties": {"job_id": {"type": "string", "example": "4c1f0e9a5d2b4b7e8f0a1c2d3e4f5a6b"}},
            }),
        ),
    ])
}

/// The script: its top-level fields, with the nested objects in outline. `docs/script.md` is the reference.
fn script_schemas() -> Map<String, Value> {
    let script = json!({
        "type": "object",
        "description": "A video script: the body of Huawei Cloud MetaStudio's create-2D-digital-human-video \
            request, field for field. `docs/script.md` in the doppel repository documents every field, limit and \
            the SSML of texts. Absent and null are the same; unknown fields are ignored; enums are case-sensitive.",
        "required": ["shoot_scripts"],
        "properties": {
            "script_id": {
                "type": "string",
                "description": "Kept with the job (a listing filter). Stored scripts are not supported: \
                    `shoot_scripts` is required all the same.",
            },
            "model_asset_id": {
                "type": "string",
                "description": "The digital human: a built-in id (`anna`, `leo`) or an imported one's id; see \
                    `GET /digital-humans`. Must exist.",
                "example": "anna",
            },
            "voice_config": schema_ref("VoiceConfig"),
            "video_config": schema_ref("VideoConfig"),
            "shoot_scripts": {
                "type": "array",
                "minItems": 1,
                "maxItems": 100,
                "description": "The scenes, played in `sequence_no` order.",
                "items": schema_ref("ShootScriptItem"),
            },
            "output_asset_config": {
                "type": "object",
                "properties": {
                    "asset_name": {
                        "type": "string",
                        "maxLength": 256,
                        "description": "Name of the result video asset (also the `asset_name` listing filter).",
                    }
                },
            },
            "background_music_config": {
                "type": "object",
                "properties": {
                    "music_asset_id": {
                        "type": "string",
                        "description": "The id of an AUDIO or MUSIC asset of the project, or an http(s) URL.",
                    },
                    "volume": {"type": "integer", "minimum": 0, "maximum": 100, "default": 100},
                },
            },
            "review_config": {
                "type": "object",
                "description": "Accepted for compatibility; no effect.",
                "properties": {"no_need_review": {"type": "boolean"}},
            },
            "callback_config": schema_ref("CallbackConfig"),
            "action_config": {
                "type": "object",
                "properties": {
                    "action_interval": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 255,
                        "default": 0,
                        "description": "Seconds between automatic gestures; 0 = every 4 s, 255 = none.",
                    }
                },
            },
        },
        "additionalProperties": true,
    });
    let voice = json!({
        "type": "object",
        "properties": {
            "voice_asset_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 256,
                "description": "A voice id from `GET /voices`; must exist. Default: chosen by the text's language.",
                "example": "espeak-en-us-ava",
            },
            "speed": {"type": "integer", "minimum": 50, "maximum": 200, "default": 100},
            "pitch": {"type": "integer", "minimum": 50, "maximum": 200, "default": 100},
            "volume": {"type": "integer", "minimum": 90, "maximum": 240, "default": 140},
        },
    });
    let video = json!({
        "type": "object",
        "description": "The output video; more fields (crop origin, subtitle_config, ...) in docs/script.md.",
        "properties": {
            "clip_mode": {"type": "string", "enum": ["RESIZE", "CROP"], "default": "RESIZE"},
            "codec": {
                "type": "string",
                "enum": ["H264", "VP8", "QTRLE"],
                "default": "H264",
                "description": "H264: MP4; VP8: WebM (with alpha for a transparent background). QTRLE is accepted \
                    but its render fails: use H264 or VP8.",
            },
            "bitrate": {"type": "integer", "minimum": 40, "maximum": 30000, "description": "kbit/s"},
            "width": {
                "type": "integer",
                "minimum": 0,
                "maximum": 3840,
                "description": "With RESIZE, width x height is one of 1920x1080, 1080x1920, 1280x720, 720x1280, \
                    3840x2160, 2160x3840.",
            },
            "height": {"type": "integer", "minimum": 0, "maximum": 3840},
            "frame_rate": {"type": "string", "default": "25"},
            "is_subtitle_enable": {"type": "boolean", "default": false},
            "subtitle_config": {"type": "object"},
        },
        "additionalProperties": true,
    });
    let shoot = json!({
        "type": "object",
        "required": ["sequence_no", "shoot_script"],
        "properties": {
            "sequence_no": {"type": "integer", "minimum": 0, "maximum": 2147483647, "description": "Unique."},
            "shoot_script": {
                "type": "object",
                "properties": {
                    "script_type": {"type": "string", "enum": ["TEXT", "AUDIO"], "default": "TEXT"},
                    "text_config": {
                        "type": "object",
                        "properties": {
                            "text": {
                                "type": "string",
                                "maxLength": 131072,
                                "description": "Plain text or SSML (at most 10,000 characters excluding tags).",
                            }
                        },
                    },
                    "audio_drive_file_external_url": {
                        "type": "string",
                        "maxLength": 2048,
                        "description": "The recording of an AUDIO scene (WAV, MP3, AAC/M4A, Ogg, FLAC …; at most \
                            10 minutes): the id of an AUDIO or MUSIC asset of the project, or an http(s) URL. The \
                            video lasts as long as the recording; `text_config.text` is optional and gives the \
                            subtitles.",
                    },
                    "audio_drive_action_config": {
                        "type": "array",
                        "description": "AUDIO scenes: actions (`action_name` or `action_tag`) started at \
                            `action_start_time` seconds.",
                        "items": {"type": "object"},
                    },
                    "background_config": {
                        "type": "array",
                        "description": "Backgrounds: COLOR, or IMAGE by `background_config` (URL) or \
                            `background_asset_id`. A single object is accepted too.",
                        "items": {"type": "object"},
                    },
                    "layer_config": {
                        "type": "array",
                        "description": "Layers: HUMAN, IMAGE (`image_config.image_url` or `asset_id`), VIDEO \
                            (`video_config.video_url` or `asset_id`), TEXT.",
                        "items": {"type": "object"},
                    },
                },
                "additionalProperties": true,
            },
        },
        "additionalProperties": true,
    });
    let callback = json!({
        "type": "object",
        "description": "Where to report the end of the job: when it ends SUCCEED or FAILED the server POSTs \
            `{\"job_id\", \"result\", \"asset_id\"}` to `callback_url`, retrying with backoff.",
        "required": ["callback_url"],
        "properties": {
            "callback_url": {"type": "string", "format": "uri", "maxLength": 2048, "description": "http(s) URL."},
            "auth_type": {
                "type": "string",
                "enum": ["NONE", "MSS_A"],
                "description": "MSS_A: `secret` = hex(HMAC-SHA256(key, callback_url + time_stamp)) and `time_stamp` \
                    = the Unix time in seconds in hexadecimal are appended to the URL as query parameters.",
            },
            "key": {"type": "string", "description": "The HMAC key; required with MSS_A."},
        },
    });
    schemas(vec![
        ("Script", script),
        ("VoiceConfig", voice),
        ("VideoConfig", video),
        ("ShootScriptItem", shoot),
        ("CallbackConfig", callback),
    ])
}

fn human_schemas() -> Map<String, Value> {
    let human = json!({
        "type": "object",
        "required": ["id", "name", "type", "is_public", "avatar_url", "width", "height", "actions", "emotions"],
        "properties": {
            "id": {"type": "string", "description": "What a script's `model_asset_id` names.", "example": "anna"},
            "name": {"type": "string", "example": "Anna"},
            "description": {"type": "string"},
            "type": {"type": "string", "enum": ["2DAvatar"]},
            "is_public": {"type": "boolean", "description": "true for built-ins, false for imported ones."},
            "avatar_url": signed_url("A thumbnail (JPEG)."),
            "portrait": {"type": "boolean", "description": "Taller than wide."},
            "transparent": {"type": "boolean", "description": "Drawn on a transparent canvas."},
            "width": {"type": "integer", "description": "Canvas width, pixels."},
            "height": {"type": "integer", "description": "Canvas height, pixels."},
            "default_voice": {"type": "string", "nullable": true, "description": "Voice id used when a script names none."},
            "actions": {"type": "array", "items": schema_ref("DigitalHumanAction")},
            "emotions": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Emotions the `<emotion>` tag can use.",
                "example": ["HAPPY", "SAD", "CALM", "ANGER"],
            },
        },
    });
    let action = json!({
        "type": "object",
        "required": ["action", "preview_url"],
        "properties": {
            "action": {"type": "string", "description": "The name `<insert-action name=...>` uses.", "example": "wave"},
            "preview_url": signed_url("A short preview video of the action (MP4)."),
        },
    });
    let list = json!({
        "type": "object",
        "required": ["count", "digital_humans"],
        "properties": {
            "count": {"type": "integer", "description": "Number of all matching digital humans."},
            "digital_humans": {"type": "array", "items": schema_ref("DigitalHuman")},
        },
    });
    schemas(vec![("DigitalHuman", human), ("DigitalHumanAction", action), ("DigitalHumanList", list)])
}

fn voice_schemas() -> Map<String, Value> {
    let voice = json!({
        "type": "object",
        "required": ["id", "name", "language", "gender", "engine", "description", "preview_url"],
        "properties": {
            "id": {
                "type": "string",
                "description": "What a script's `voice_config.voice_asset_id` names.",
                "example": "espeak-en-us-ava",
            },
            "name": {"type": "string", "example": "Ava"},
            "language": {"type": "string", "description": "BCP 47 tag.", "example": "en-US"},
            "gender": {"type": "string", "enum": ["female", "male"]},
            "engine": {
                "type": "string",
                "description": "`espeak-ng`, or the name of an HTTP engine configured as `[[tts.http]]`.",
                "example": "espeak-ng",
            },
            "description": {"type": "string"},
            "preview_url": signed_url("A spoken sample (WAV)."),
        },
    });
    let list = json!({
        "type": "object",
        "required": ["count", "voices"],
        "properties": {
            "count": {"type": "integer"},
            "voices": {"type": "array", "items": schema_ref("Voice")},
        },
    });
    schemas(vec![("Voice", voice), ("VoiceList", list)])
}

fn asset_schemas() -> Map<String, Value> {
    let asset = json!({
        "type": "object",
        "required": ["asset_id", "asset_type", "name", "content_type", "size", "meta", "create_time", "url"],
        "properties": {
            "asset_id": {"type": "string", "description": "What scripts name the asset by."},
            "asset_type": {
                "type": "string",
                "description": format!(
                    "Uploads: {}. Job results: VIDEO, IMAGE (cover), SUBTITLE.",
                    ASSET_TYPES.join(", ")
                ),
            },
            "name": {"type": "string"},
            "content_type": {"type": "string", "example": "image/png"},
            "size": {"type": "integer", "format": "int64", "description": "Bytes."},
            "job_id": {"type": "string", "nullable": true, "description": "The job that made it; null for uploads."},
            "meta": {
                "type": "object",
                "additionalProperties": true,
                "description": "What the checks found: `width`, `height` (images, videos), `duration_ms`, `fps` \
                    (videos), `duration_ms`, `sample_rate`, `channels` (audio); for avatar packages the digital \
                    human's facts.",
            },
            "create_time": time_field("When the asset was stored."),
            "url": signed_url("The file."),
        },
    });
    let list = json!({
        "type": "object",
        "required": ["count", "assets"],
        "properties": {
            "count": {"type": "integer", "description": "Number of all matching assets."},
            "assets": {"type": "array", "items": schema_ref("Asset")},
        },
    });
    schemas(vec![("Asset", asset), ("AssetList", list)])
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use super::*;

    /// Every route of `api::routes()` and `live::api::routes()`, as (method, path). Keep in step with them.
    const ROUTES: &[(&str, &str)] = &[
        ("get", "/openapi.json"),
        ("post", "/videos"),
        ("get", "/videos"),
        ("get", "/videos/{job_id}"),
        ("post", "/videos/{job_id}/cancel"),
        ("get", "/digital-humans"),
        ("post", "/digital-humans"),
        ("get", "/digital-humans/{id}"),
        ("delete", "/digital-humans/{id}"),
        ("get", "/voices"),
        ("get", "/voices/{id}"),
        ("post", "/assets"),
        ("get", "/assets"),
        ("get", "/assets/{id}"),
        ("delete", "/assets/{id}"),
        ("get", "/assets/{id}/content"),
        ("post", "/streams"),
        ("get", "/streams"),
        ("get", "/streams/{task_id}"),
        ("delete", "/streams/{task_id}"),
        ("post", "/streams/{task_id}/stop"),
        ("post", "/streams/{task_id}/drives"),
        ("get", "/streams/{task_id}/drives"),
        ("get", "/streams/{task_id}/drives/{drive_id}"),
        ("post", "/streams/{task_id}/interrupt"),
        ("post", "/streams/{task_id}/actions"),
        ("get", "/streams/{task_id}/ws"),
        ("post", "/streams/{task_id}/whep"),
        ("options", "/streams/{task_id}/whep"),
        ("delete", "/streams/{task_id}/whep/{viewer}"),
        ("options", "/streams/{task_id}/whep/{viewer}"),
    ];

    const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("$ref", Value::String(s)) => out.push(s.clone()),
                        _ => refs(x, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn is_an_openapi_3_0_3_object() {
        let doc = document();
        let text = serde_json::to_string(&doc).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert!(parsed.is_object());
        assert_eq!(parsed["openapi"], "3.0.3");
        assert_eq!(parsed["servers"][0]["url"], "/api/v1");
        assert_eq!(parsed["security"], json!([{"bearerAuth": []}]));
        assert_eq!(parsed["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer");
        let info = parsed["info"]["description"].as_str().unwrap();
        for s in ["/healthz", "/files/{path}", "docs/script.md"] {
            assert!(info.contains(s), "info.description lacks {s}");
        }
    }

    #[test]
    fn documents_exactly_the_routes_of_api_rs() {
        let doc = document();
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                assert!(METHODS.contains(&method.as_str()), "{path}: {method} is not an HTTP method");
                documented.insert((method.clone(), path.clone()));
                // Every {parameter} of the path is declared as a path parameter, and no other.
                let in_path: BTreeSet<&str> =
                    path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();
                let declared: BTreeSet<&str> = op["parameters"]
                    .as_array()
                    .map(|ps| ps.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect())
                    .unwrap_or_default();
                assert_eq!(in_path, declared, "{method} {path}: path parameters");
                assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}: responses");
                assert!(op["operationId"].is_string(), "{method} {path}: operationId");
            }
        }
        let expected: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        assert_eq!(documented, expected);
        let ids: Vec<&str> = ROUTES.iter().map(|(m, p)| doc["paths"][p][m]["operationId"].as_str().unwrap()).collect();
        assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len(), "operationIds are unique");
        // Only the document itself is open; the rest inherit the global bearer requirement.
        for (m, p) in ROUTES {
            let open = doc["paths"][p][m].get("security") == Some(&json!([]));
            let unauthenticated = *p == "/openapi.json" || p.ends_with("/ws") || *m == "options";
            assert_eq!(open, unauthenticated, "{m} {p}: security");
        }
    }

    #[test]
    fn every_ref_names_a_component_schema() {
        let doc = document();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for r in &found {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{r} is not a schema ref"));
            assert!(schemas.contains_key(name), "{r} points at no schema");
        }
        for name in [
            "Job",
            "JobList",
            "DigitalHuman",
            "DigitalHumanList",
            "Voice",
            "VoiceList",
            "Asset",
            "AssetList",
            "Error",
            "Script",
        ] {
            assert!(schemas.contains_key(name), "schema {name} is missing");
        }
    }

    /// The listing parameters as documented are exactly what `api::job_filter` accepts.
    #[test]
    fn list_parameters_agree_with_the_checks() {
        let doc = document();
        let params = doc["paths"]["/videos"]["get"]["parameters"].as_array().unwrap();
        let param = |n: &str| params.iter().find(|p| p["name"] == n).unwrap()["schema"].clone();
        let accepts =
            |k: &str, v: &str| crate::api::job_filter(&HashMap::from([(k.to_string(), v.to_string())])).is_ok();
        let limit = param("limit");
        let (min, max) = (limit["minimum"].as_i64().unwrap(), limit["maximum"].as_i64().unwrap());
        assert_eq!((min, max, limit["default"].as_i64().unwrap()), (1, 100, 10));
        assert!(accepts("limit", &min.to_string()) && accepts("limit", &max.to_string()));
        assert!(!accepts("limit", &(min - 1).to_string()) && !accepts("limit", &(max + 1).to_string()));
        assert!(accepts("offset", "0") && !accepts("offset", "-1"));
        assert_eq!(crate::api::job_filter(&HashMap::new()).unwrap().limit, 10);
        for key in ["sort_dir", "job_type", "sort_key"] {
            for v in param(key)["enum"].as_array().unwrap() {
                assert!(accepts(key, v.as_str().unwrap()), "{key}={v}");
            }
            assert!(!accepts(key, "nonsense"), "{key}");
        }
        for st in JobState::ALL {
            assert!(accepts("state", st.as_str()));
        }
        assert!(accepts("state", "WAITING,PROCESSING") && !accepts("state", "CREATING"));
        assert!(accepts("create_since", "2022-11-30T06:59:56Z") && !accepts("create_until", "yesterday"));
    }
}
