//! doppel's script model: the MetaStudio "create 2D digital human video" body, its SSML texts, and validation
//! against the documented limits, into speech [`Plan`]s.
//!
//! # The format
//! A script is the JSON body of Huawei Cloud MetaStudio's `POST /v1/{project_id}/2d-digital-human-videos`:
//! `voice_config`, `video_config`, a list of `shoot_scripts` (scenes: a text or an audio file, backgrounds,
//! layers), background music, a callback and action settings. [`Script`] models every field of the vendor's
//! field tree with its wire name. Missing fields are `None` (or empty lists) and re-serializing writes back only
//! what was given; unknown fields are ignored; `*_or_default()` accessors give the documented defaults.
//!
//! ```
//! let script = doppel_script::parse_script(r#"{
//!     "voice_config": {"voice_asset_id": "v1", "speed": 120},
//!     "video_config": {"codec": "H264", "width": 1080, "height": 1920, "frame_rate": "25"},
//!     "shoot_scripts": [{"sequence_no": 0, "shoot_script": {
//!         "script_type": "TEXT",
//!         "text_config": {"text": "<speak><emotion type=\"HAPPY\">大家好，<break time=\"200ms\"/>我是小云。</emotion></speak>"}
//!     }}]
//! }"#).unwrap();
//! assert_eq!(script.voice_config.as_ref().unwrap().pitch_or_default(), 100);
//! let plans = script.text_plans().unwrap();
//! assert_eq!(plans[0].plan.display_text(), "大家好，我是小云。");
//! ```
//!
//! # Parsing and errors
//! [`parse_script`] reads JSON (syntax errors carry line and column), deserializes it (type errors carry the
//! JSON path, such as `shoot_scripts[0].shoot_script.text_config.text`), then [`validate()`]s it and returns
//! the first problem. [`validate()`] returns all of them. Every error is an [`Error`] with the `path` and an
//! [`ErrorKind`] that names the limit (`voice_config.speed: 201 is out of range 50–200`) and has a stable
//! [`code`](Error::code). All limits live in [`limits`].
//!
//! Numbers: integer fields accept JSON floats with no fractional part (`1080.0`); a fraction (`607.5`) is a
//! type error. `frame_rate` is a string on the wire (`"25"`) but a number is accepted too; it is kept as an
//! integer and written back as a string. A single object is accepted where the vendor's own example sends one
//! instead of a list (`background_config`). `null` counts as absent everywhere.
//!
//! # Texts: plain text or SSML
//! [`parse_text`] turns a `text_config.text` into a [`Plan`] (text spans, breaks, marks). A text starting with
//! `<speak` or `<?xml` is strict SSML; anything else is plain text in which the supported tags are still
//! parsed, and any other `<` or `&` is literal. Supported: `<speak>`, `<break>`, `<prosody>`, `<say-as>`,
//! `<sub>`, `<phoneme>`, `<word>`, `<emotion>`, `<insert-action>`, `<mark>`, `<s>`, `<p>`, comments, CDATA and
//! the XML entities. The [`ssml`] module documents each rule; the notable decisions where the vendor is silent:
//!
//! * `</emotion>` returns to the enclosing emotion, or emits a `NEUTRAL` mark ([`Emotion::Neutral`]) at the
//!   outermost level.
//! * `<phoneme ph=…>` is spoken as pinyin only when `ph` looks like tone-numbered pinyin (`liao3`, `lv4 hao3`);
//!   other alphabets are ignored and the text is read as written.
//! * Prosody values are multipliers that nest by multiplication, bounded to rate 0.5–2, pitch 0.5–2, volume 0–2.
//! * Display text collapses each run of whitespace to one space and trims the ends; the 10,000-character limit
//!   counts this display text.
//!
//! # Where doppel decides (the vendor is silent or inconsistent)
//! * `shoot_scripts` may be left out only when `script_id` names a stored script (as the vendor documents);
//!   at most [`limits::MAX_SHOOT_SCRIPTS`] items; each needs `sequence_no` and `shoot_script`.
//! * Subtitle and text layer `font_size` use the usable range 4–120, not the nominal 0–120.
//! * `output_asset_config.asset_name` is limited to 256 characters, as the SDK documents.
//! * An IMAGE/VIDEO layer needs its URL or an `asset_id`; a TEXT layer needs `text_context` (Base64 of UTF-8).
//! * `callback_config` needs an `http(s)://` `callback_url`, and `key` with `auth_type` MSS_A.
//! * With the QTRLE codec, the TEXT scenes together hold fewer than 1500 characters excluding tags.
//! * Lengths count characters (Unicode scalar values), never bytes.

mod error;
pub mod limits;
mod model;
pub mod plan;
pub mod ssml;
mod validate;

pub use error::{Error, ErrorKind};
pub use model::*;
pub use plan::{Emotion, Mark, MarkKind, Plan, PlanItem, Prosody, Spoken, TextSpan};
pub use ssml::{parse_text, plain_len, SsmlError};
pub use validate::{decode_base64, validate};

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;
