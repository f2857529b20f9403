//! Every documented limit: accepted at the limit, rejected one past it, with the field's path and the limit in
//! the message.

use doppel_script::limits::{self, FloatRange, IntRange, LenRange};
use doppel_script::ErrorKind;
use serde_json::{json, Value};

use crate::{assert_parses, error_of, full_script, with};

/// The body with some fields set first.
fn base(setup: &[(&str, Value)]) -> Value {
    setup.iter().fold(full_script(), |v, (p, x)| with(v, p, x.clone()))
}

fn check_int(pointer: &str, path: &str, range: IntRange, setup: &[(&str, Value)]) {
    for ok in [range.min, range.max] {
        assert_parses(with(base(setup), pointer, json!(ok)));
    }
    for bad in [range.min - 1, range.max + 1] {
        let e = error_of(with(base(setup), pointer, json!(bad)));
        assert_eq!(e.path, path);
        assert_eq!(e.code(), "out_of_range");
        assert_eq!(e.to_string(), format!("{path}: {bad} is out of range {}–{}", range.min, range.max));
    }
}

fn check_float(pointer: &str, path: &str, range: FloatRange, step: f64) {
    for ok in [range.min, range.max] {
        assert_parses(with(full_script(), pointer, json!(ok)));
    }
    for bad in [range.min - step, range.max + step] {
        let e = error_of(with(full_script(), pointer, json!(bad)));
        assert_eq!(e.path, path);
        assert_eq!(e.to_string(), format!("{path}: {bad} is out of range {}–{}", range.min, range.max));
    }
}

/// `make(n)` builds a value of `n` characters.
fn check_len(pointer: &str, path: &str, range: LenRange, make: &dyn Fn(usize) -> String) {
    for ok in [range.min, range.max] {
        assert_parses(with(full_script(), pointer, json!(make(ok))));
    }
    let e = error_of(with(full_script(), pointer, json!(make(range.max + 1))));
    assert_eq!(e.path, path);
    assert_eq!(
        e.to_string(),
        format!("{path}: is too long: {} characters, the maximum is {}", range.max + 1, range.max)
    );
    if range.min == 1 {
        let e = error_of(with(full_script(), pointer, json!("")));
        assert_eq!(e.to_string(), format!("{path}: must not be empty"));
    }
}

fn han(n: usize) -> String {
    "中".repeat(n)
}

fn url(n: usize) -> String {
    let mut s = "https://".to_string();
    s.push_str(&"a".repeat(n.saturating_sub(8)));
    s.truncate(n);
    s
}

const TEXT0: &str = "/shoot_scripts/0/shoot_script";
const TEXT0_PATH: &str = "shoot_scripts[0].shoot_script";
const AUDIO1: &str = "/shoot_scripts/1/shoot_script";
const AUDIO1_PATH: &str = "shoot_scripts[1].shoot_script";

#[test]
fn voice_config_ranges() {
    check_int("/voice_config/speed", "voice_config.speed", limits::VOICE_SPEED, &[]);
    check_int("/voice_config/pitch", "voice_config.pitch", limits::VOICE_PITCH, &[]);
    check_int("/voice_config/volume", "voice_config.volume", limits::VOICE_VOLUME, &[]);
    check_len("/voice_config/voice_asset_id", "voice_config.voice_asset_id", limits::VOICE_ASSET_ID_LEN, &han);
}

#[test]
fn speed_example_message() {
    let e = error_of(with(full_script(), "/voice_config/speed", json!(201)));
    assert_eq!(e.to_string(), "voice_config.speed: 201 is out of range 50–200");
    assert_eq!(e.kind, ErrorKind::OutOfRange { value: "201".into(), min: "50".into(), max: "200".into() });
}

#[test]
fn video_config_ranges() {
    let crop = [("/video_config/clip_mode", json!("CROP"))];
    check_int("/video_config/bitrate", "video_config.bitrate", limits::VIDEO_BITRATE, &[]);
    check_int("/video_config/width", "video_config.width", limits::VIDEO_WIDTH, &crop);
    check_int("/video_config/height", "video_config.height", limits::VIDEO_HEIGHT, &crop);
    check_int("/video_config/dx", "video_config.dx", limits::VIDEO_CROP_OFFSET, &crop);
    check_int("/video_config/dy", "video_config.dy", limits::VIDEO_CROP_OFFSET, &crop);
}

#[test]
fn subtitle_config_ranges() {
    let p = "/video_config/subtitle_config";
    let path = "video_config.subtitle_config";
    for f in ["dx", "dy", "h", "w"] {
        check_int(&format!("{p}/{f}"), &format!("{path}.{f}"), limits::SUBTITLE_BOX, &[]);
    }
    check_int(&format!("{p}/font_size"), &format!("{path}.font_size"), limits::SUBTITLE_FONT_SIZE, &[]);
    assert_eq!(limits::SUBTITLE_FONT_SIZE, IntRange::new(4, 120), "the usable range, not the nominal 0–120");
    check_len(&format!("{p}/font_name"), &format!("{path}.font_name"), limits::FONT_NAME_LEN, &han);
    check_float(
        &format!("{p}/stroke_thickness"),
        &format!("{path}.stroke_thickness"),
        limits::SUBTITLE_STROKE_THICKNESS,
        0.5,
    );
    check_float(&format!("{p}/opacity"), &format!("{path}.opacity"), limits::SUBTITLE_OPACITY, 0.01);
}

#[test]
fn colors_are_limited_in_length_and_shape() {
    for (pointer, path) in [
        ("/video_config/subtitle_config/font_color", "video_config.subtitle_config.font_color"),
        ("/video_config/subtitle_config/stroke_color", "video_config.subtitle_config.stroke_color"),
        (
            "/shoot_scripts/0/shoot_script/layer_config/2/text_config/font_color",
            "shoot_scripts[0].shoot_script.layer_config[2].text_config.font_color",
        ),
        (
            "/shoot_scripts/0/shoot_script/background_config/0/background_color_config",
            "shoot_scripts[0].shoot_script.background_config[0].background_color_config",
        ),
    ] {
        assert_parses(with(full_script(), pointer, json!("#00ff7F")));
        let e = error_of(with(full_script(), pointer, json!("#".repeat(17))));
        assert_eq!(e.to_string(), format!("{path}: is too long: 17 characters, the maximum is 16"));
        let e = error_of(with(full_script(), pointer, json!("red")));
        assert_eq!(e.code(), "invalid_format");
        let expected = if path.ends_with("background_color_config") {
            "a #RRGGBB or #RRGGBBAA colour"
        } else {
            "a #RRGGBB colour"
        };
        assert_eq!(e.to_string(), format!("{path}: \"red\" is not {expected}"));
        let e = error_of(with(full_script(), pointer, json!("#12345G")));
        assert_eq!(e.path, path);
    }
    // A background may be transparent; other colours have no alpha.
    assert_parses(with(
        full_script(),
        &format!("{TEXT0}/background_config/0/background_color_config"),
        json!("#00000000"),
    ));
    let e = error_of(with(full_script(), "/video_config/subtitle_config/font_color", json!("#00000000")));
    assert_eq!(e.code(), "invalid_format");
    // Empty colours mean "the default", except for a COLOR background, which needs one.
    assert_parses(with(full_script(), "/video_config/subtitle_config/font_color", json!("")));
    let e = error_of(with(full_script(), &format!("{TEXT0}/background_config/0/background_color_config"), json!("")));
    assert_eq!(e.code(), "invalid_format");
}

#[test]
fn shoot_script_item_ranges() {
    check_int("/shoot_scripts/0/sequence_no", "shoot_scripts[0].sequence_no", limits::SEQUENCE_NO, &[]);
    check_float("/shoot_scripts/0/start_time", "shoot_scripts[0].start_time", limits::SCRIPT_TIME, 0.5);
    check_float("/shoot_scripts/0/end_time", "shoot_scripts[0].end_time", limits::SCRIPT_TIME, 0.5);
    check_float(
        &format!("{AUDIO1}/audio_duration"),
        &format!("{AUDIO1_PATH}.audio_duration"),
        limits::SCRIPT_TIME,
        0.5,
    );
    let audio_url = format!("{AUDIO1}/audio_drive_file_external_url");
    let audio_url_path = format!("{AUDIO1_PATH}.audio_drive_file_external_url");
    for ok in [1, limits::URL_LEN.max] {
        assert_parses(with(full_script(), &audio_url, json!(url(ok))));
    }
    let e = error_of(with(full_script(), &audio_url, json!(url(limits::URL_LEN.max + 1))));
    assert_eq!(e.path, audio_url_path);
    assert_eq!(e.code(), "too_long");
    check_float(
        &format!("{AUDIO1}/audio_drive_action_config/0/action_start_time"),
        &format!("{AUDIO1_PATH}.audio_drive_action_config[0].action_start_time"),
        limits::SCRIPT_TIME,
        0.5,
    );
}

#[test]
fn at_most_100_shoot_scripts() {
    let item = |i: usize| json!({"sequence_no": i, "shoot_script": {"text_config": {"text": "hi"}}});
    let list = |n: usize| Value::Array((0..n).map(item).collect());
    assert_parses(with(full_script(), "/shoot_scripts", list(limits::MAX_SHOOT_SCRIPTS)));
    let e = error_of(with(full_script(), "/shoot_scripts", list(limits::MAX_SHOOT_SCRIPTS + 1)));
    assert_eq!(e.to_string(), "shoot_scripts: has 101 items, the maximum is 100");
    assert_eq!(e.code(), "too_many");
}

#[test]
fn background_ranges() {
    let p = format!("{TEXT0}/background_config/0");
    let path = format!("{TEXT0_PATH}.background_config[0]");
    for f in ["position_x", "position_y"] {
        check_int(
            &format!("{p}/human_position_2d/{f}"),
            &format!("{path}.human_position_2d.{f}"),
            limits::HUMAN_POSITION,
            &[],
        );
    }
    for f in ["width", "height"] {
        check_int(&format!("{p}/human_size_2d/{f}"), &format!("{path}.human_size_2d.{f}"), limits::HUMAN_SIZE, &[]);
    }
    let p = format!("{AUDIO1}/background_config/0");
    let path = format!("{AUDIO1_PATH}.background_config[0]");
    check_len(&format!("{p}/background_config"), &format!("{path}.background_config"), limits::URL_LEN, &url);
    check_len(&format!("{p}/background_asset_id"), &format!("{path}.background_asset_id"), limits::ASSET_ID_LEN, &han);
}

#[test]
fn layer_ranges() {
    let layer = |i: usize| format!("{TEXT0}/layer_config/{i}");
    let path = |i: usize| format!("{TEXT0_PATH}.layer_config[{i}]");
    check_int(&format!("{}/position/dx", layer(0)), &format!("{}.position.dx", path(0)), limits::LAYER_POSITION, &[]);
    check_int(&format!("{}/position/dy", layer(0)), &format!("{}.position.dy", path(0)), limits::LAYER_POSITION, &[]);
    check_int(
        &format!("{}/position/layer_index", layer(0)),
        &format!("{}.position.layer_index", path(0)),
        limits::LAYER_INDEX,
        &[],
    );
    check_int(&format!("{}/size/width", layer(0)), &format!("{}.size.width", path(0)), limits::LAYER_SIZE, &[]);
    check_int(&format!("{}/size/height", layer(0)), &format!("{}.size.height", path(0)), limits::LAYER_SIZE, &[]);
    check_int(
        &format!("{}/rotation/angle", layer(1)),
        &format!("{}.rotation.angle", path(1)),
        limits::LAYER_ROTATION,
        &[],
    );
    check_int(&format!("{}/sequence_no", layer(1)), &format!("{}.sequence_no", path(1)), limits::SEQUENCE_NO, &[]);
    check_len(&format!("{}/asset_id", layer(1)), &format!("{}.asset_id", path(1)), limits::ASSET_ID_LEN, &han);
    check_len(&format!("{}/group_id", layer(1)), &format!("{}.group_id", path(1)), limits::ASSET_ID_LEN, &han);
    check_len(
        &format!("{}/image_config/image_url", layer(1)),
        &format!("{}.image_config.image_url", path(1)),
        limits::URL_LEN,
        &url,
    );
    check_int(
        &format!("{}/text_config/font_size", layer(2)),
        &format!("{}.text_config.font_size", path(2)),
        limits::TEXT_LAYER_FONT_SIZE,
        &[],
    );
    check_len(
        &format!("{}/text_config/font_name", layer(2)),
        &format!("{}.text_config.font_name", path(2)),
        limits::FONT_NAME_LEN,
        &han,
    );
    check_int(
        &format!("{}/video_config/loop_count", layer(3)),
        &format!("{}.video_config.loop_count", path(3)),
        limits::LAYER_LOOP_COUNT,
        &[],
    );
    check_int(
        &format!("{}/video_config/video_sound", layer(3)),
        &format!("{}.video_config.video_sound", path(3)),
        limits::LAYER_VIDEO_SOUND,
        &[],
    );
    check_len(
        &format!("{}/video_config/video_url", layer(3)),
        &format!("{}.video_config.video_url", path(3)),
        limits::URL_LEN,
        &url,
    );
    check_len(
        &format!("{}/video_config/video_cover_url", layer(3)),
        &format!("{}.video_config.video_cover_url", path(3)),
        limits::URL_LEN,
        &url,
    );
}

#[test]
fn text_layer_context_is_limited_base64() {
    let pointer = format!("{TEXT0}/layer_config/2/text_config/text_context");
    let path = format!("{TEXT0_PATH}.layer_config[2].text_config.text_context");
    // 1024 Base64 characters decode to 768 bytes of valid UTF-8.
    check_len(&pointer, &path, limits::TEXT_LAYER_CONTEXT_LEN, &|n| {
        let mut s = "QUJD".repeat(n / 4 + 1);
        s.truncate(n);
        s
    });
    let e = error_of(with(full_script(), &pointer, json!("not base64!")));
    assert_eq!(e.to_string(), format!("{path}: \"not base64!\" is not Base64 of UTF-8 text"));
    // Valid Base64, but not UTF-8.
    let e = error_of(with(full_script(), &pointer, json!("//79")));
    assert_eq!(e.code(), "invalid_format");
    // Padding is optional.
    assert_parses(with(full_script(), &pointer, json!("aGk")));
    assert_parses(with(full_script(), &pointer, json!("aGk=")));
}

#[test]
fn music_output_callback_and_action_limits() {
    check_int("/background_music_config/volume", "background_music_config.volume", limits::MUSIC_VOLUME, &[]);
    check_len(
        "/background_music_config/music_asset_id",
        "background_music_config.music_asset_id",
        limits::ASSET_ID_LEN,
        &han,
    );
    check_len("/output_asset_config/asset_name", "output_asset_config.asset_name", limits::ASSET_NAME_LEN, &han);
    check_len("/callback_config/callback_url", "callback_config.callback_url", LenRange::new(8, 2048), &url);
    let e = error_of(with(full_script(), "/callback_config/callback_url", json!("")));
    assert_eq!(e.to_string(), "callback_config.callback_url: must not be empty");
    check_float("/action_config/action_interval", "action_config.action_interval", limits::ACTION_INTERVAL, 0.5);
}

#[test]
fn callback_url_must_be_http() {
    let e = error_of(with(full_script(), "/callback_config/callback_url", json!("ftp://example.com/x")));
    assert_eq!(
        e.to_string(),
        "callback_config.callback_url: \"ftp://example.com/x\" is not an http:// or https:// URL"
    );
    assert_parses(with(full_script(), "/callback_config/callback_url", json!("HTTP://example.com/x")));
}

#[test]
fn text_raw_length_limit() {
    let pointer = format!("{TEXT0}/text_config/text");
    let path = format!("{TEXT0_PATH}.text_config.text");
    let wrap = |n: usize| {
        let (head, tail) = ("<speak>hi<!--", "--></speak>");
        format!("{head}{}{tail}", "x".repeat(n - head.len() - tail.len()))
    };
    assert_eq!(wrap(limits::TEXT_MAX_CHARS).chars().count(), 131_072);
    assert_parses(with(full_script(), &pointer, json!(wrap(limits::TEXT_MAX_CHARS))));
    let e = error_of(with(full_script(), &pointer, json!(wrap(limits::TEXT_MAX_CHARS + 1))));
    assert_eq!(e.to_string(), format!("{path}: is too long: 131073 characters, the maximum is 131072"));
}

#[test]
fn text_plain_length_limit_counts_characters_excluding_tags() {
    let pointer = format!("{TEXT0}/text_config/text");
    let path = format!("{TEXT0_PATH}.text_config.text");
    assert_parses(with(full_script(), &pointer, json!("中".repeat(10_000))));
    let e = error_of(with(full_script(), &pointer, json!("中".repeat(10_001))));
    assert_eq!(
        e.to_string(),
        format!("{path}: is too long: 10001 characters excluding SSML tags, the maximum is 10000")
    );
    assert_eq!(e.kind, ErrorKind::TooLong { len: 10_001, max: 10_000, what: "characters excluding SSML tags" });
    // 10,000 characters of text plus tags: more than 10,000 raw characters, still fine.
    let tagged = format!(
        "<speak><prosody rate=\"fast\">{}</prosody><break time=\"1s\"/>{}<mark name=\"end\"/></speak>",
        "a".repeat(5_000),
        "中".repeat(5_000)
    );
    assert!(tagged.chars().count() > 10_050);
    assert_parses(with(full_script(), &pointer, json!(tagged)));
}

#[test]
fn qtrle_limits_the_text_of_all_scenes() {
    let s = with(full_script(), "/video_config/codec", json!("QTRLE"));
    let pointer = format!("{TEXT0}/text_config/text");
    assert_parses(with(s.clone(), &pointer, json!("a".repeat(limits::QTRLE_MAX_PLAIN_CHARS))));
    let e = error_of(with(s, &pointer, json!("a".repeat(limits::QTRLE_MAX_PLAIN_CHARS + 1))));
    assert_eq!(e.path, "shoot_scripts");
    assert!(e.to_string().contains("1500 characters excluding SSML tags"), "{e}");
    assert!(e.to_string().contains("the maximum is 1499"), "{e}");
}
