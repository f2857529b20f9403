//! The script model: the full request body, types with their paths, enums, required fields, resolutions,
//! defaults, re-serialization and text plans.

use doppel_script::{
    parse_script, parse_script_value, validate, AuthType, BackgroundType, ClipMode, Codec, Emotion, ErrorKind,
    LayerType, MarkKind, PlanItem, Script, ScriptType, Spoken,
};
use serde_json::{json, Value};

use crate::{assert_parses, error_of, full_script, with, without};

const TEXT0: &str = "/shoot_scripts/0/shoot_script";

#[test]
fn full_request_body_parses_into_typed_fields() {
    let s = parse_script_value(full_script()).expect("valid");
    let voice = s.voice_config.as_ref().unwrap();
    assert_eq!(voice.voice_asset_id.as_deref(), Some("f5e6a13eab4443fa85421191ad061780"));
    assert_eq!((voice.speed, voice.pitch, voice.volume), (Some(100), Some(100), Some(140)));
    let video = s.video_config.as_ref().unwrap();
    assert_eq!(video.codec, Some(Codec::H264));
    assert_eq!(video.clip_mode_or_default(), ClipMode::Resize);
    assert_eq!((video.width, video.height, video.frame_rate), (Some(1080), Some(1920), Some(25)));
    assert_eq!(video.subtitle_config.as_ref().unwrap().stroke_thickness, Some(2.0));
    assert_eq!(s.shoot_scripts.len(), 2);

    let text = s.shoot_scripts[0].shoot_script.as_ref().unwrap();
    assert_eq!(text.script_type, Some(ScriptType::Text));
    assert_eq!(text.background_config[0].background_type, Some(BackgroundType::Color));
    let types: Vec<_> = text.layer_config.iter().map(|l| l.layer_type.unwrap()).collect();
    assert_eq!(types, [LayerType::Human, LayerType::Image, LayerType::Text, LayerType::Video]);
    let text_layer = text.layer_config[2].text_config.as_ref().unwrap();
    assert_eq!(text_layer.decoded_text().as_deref(), Some("测试文字水印"));
    assert_eq!(text.layer_config[3].video_config.as_ref().unwrap().loop_count_or_default(), -1);

    let audio = s.shoot_scripts[1].shoot_script.as_ref().unwrap();
    assert_eq!(audio.script_type_or_default(), ScriptType::Audio);
    assert_eq!(audio.audio_duration, Some(12.5));
    assert_eq!(audio.audio_drive_action_config[0].action_start_time, Some(1.5));

    assert_eq!(s.background_music_config.as_ref().unwrap().volume, Some(50));
    assert_eq!(s.callback_config.as_ref().unwrap().auth_type, Some(AuthType::MssA));
    assert_eq!(s.action_config.as_ref().unwrap().interval_s(), Some(4.0));
    assert!(validate(&s).is_empty());
}

#[test]
fn parse_script_reads_text_too() {
    let s = parse_script(&full_script().to_string()).expect("valid");
    assert_eq!(s, parse_script_value(full_script()).unwrap());
}

#[test]
fn defaults_fill_missing_fields() {
    let s = parse_script(r#"{"shoot_scripts":[{"sequence_no":3,"shoot_script":{"text_config":{"text":"hi"}}}]}"#)
        .expect("valid");
    assert_eq!(s.voice_config, None);
    let voice = s.voice_config.clone().unwrap_or_default();
    assert_eq!((voice.speed_or_default(), voice.pitch_or_default(), voice.volume_or_default()), (100, 100, 140));
    let shoot = s.shoot_scripts[0].shoot_script.as_ref().unwrap();
    assert_eq!(shoot.script_type, None);
    assert_eq!(shoot.script_type_or_default(), ScriptType::Text);
    let video = s.video_config.clone().unwrap_or_default();
    assert_eq!(
        (video.clip_mode_or_default(), video.codec_or_default(), video.frame_rate_or_default()),
        (ClipMode::Resize, Codec::H264, 25)
    );
}

#[test]
fn reserialized_script_invents_nothing() {
    let body = json!({
        "shoot_scripts": [{"sequence_no": 0, "shoot_script": {"text_config": {"text": "hi"}}}],
        "video_config": {"frame_rate": 25, "width": 1920.0, "height": 1080}
    });
    let s = parse_script_value(body).unwrap();
    let out = serde_json::to_value(&s).unwrap();
    assert_eq!(
        out,
        json!({
            "shoot_scripts": [{"sequence_no": 0, "shoot_script": {"text_config": {"text": "hi"}}}],
            "video_config": {"frame_rate": "25", "width": 1920, "height": 1080}
        })
    );
    // And the full body survives a round trip.
    let full = parse_script_value(full_script()).unwrap();
    let again = parse_script_value(serde_json::to_value(&full).unwrap()).unwrap();
    assert_eq!(full, again);
}

#[test]
fn unknown_fields_are_ignored() {
    let body = with(full_script(), "/future_field", json!({"anything": [1, 2, 3]}));
    let body = with(body, "/voice_config/emotion_level", json!(3));
    let body = with(body, &format!("{TEXT0}/layer_config/0/opacity"), json!(0.5));
    assert_parses(body);
}

#[test]
fn frame_rate_accepts_string_and_number_and_must_be_25() {
    for ok in [json!("25"), json!(25), json!(25.0), json!(" 25 "), Value::Null] {
        assert_parses(with(full_script(), "/video_config/frame_rate", ok));
    }
    let e = error_of(with(full_script(), "/video_config/frame_rate", json!(30)));
    assert_eq!(e.to_string(), "video_config.frame_rate: 30 is not an allowed frame rate (allowed: 25)");
    let e = error_of(with(full_script(), "/video_config/frame_rate", json!("30")));
    assert_eq!(e.code(), "not_allowed");
    for bad in [json!("25fps"), json!("2.5e1"), json!(25.5), json!(true)] {
        let e = error_of(with(full_script(), "/video_config/frame_rate", bad));
        assert_eq!(e.path, "video_config.frame_rate");
        assert_eq!(e.code(), "invalid_type");
    }
}

#[test]
fn wrong_types_are_named_with_their_path() {
    let cases = [
        ("/voice_config/speed", json!("fast"), "voice_config.speed"),
        ("/video_config/width", json!(1080.5), "video_config.width"),
        ("/video_config/is_subtitle_enable", json!("yes"), "video_config.is_subtitle_enable"),
        ("/shoot_scripts", json!("none"), "shoot_scripts"),
        ("/shoot_scripts/1/sequence_no", json!([1]), "shoot_scripts[1].sequence_no"),
        (&format!("{TEXT0}/text_config/text") as &str, json!(5), "shoot_scripts[0].shoot_script.text_config.text"),
        (
            &format!("{TEXT0}/layer_config/0/position/dx"),
            json!("656,"),
            "shoot_scripts[0].shoot_script.layer_config[0].position.dx",
        ),
        (
            &format!("{TEXT0}/layer_config/0/size/width"),
            json!(607.5),
            "shoot_scripts[0].shoot_script.layer_config[0].size.width",
        ),
        ("/shoot_scripts/1/shoot_script/audio_duration", json!("12s"), "shoot_scripts[1].shoot_script.audio_duration"),
        ("/callback_config", json!([]), "callback_config"),
    ];
    for (pointer, value, path) in cases {
        let e = error_of(with(full_script(), pointer, value));
        assert_eq!(e.path, path);
        assert_eq!(e.code(), "invalid_type");
        assert!(e.to_string().starts_with(&format!("{path}: invalid type")), "{e}");
    }
    let e = error_of(json!([1, 2]));
    assert_eq!(e.path, "");
    assert!(e.to_string().starts_with("invalid type"), "{e}");
}

#[test]
fn integral_floats_are_accepted_for_integers() {
    let body = with(full_script(), "/video_config/width", json!(1080.0));
    let body = with(body, "/voice_config/speed", json!(120.0));
    let s = parse_script_value(body).unwrap();
    assert_eq!(s.video_config.unwrap().width, Some(1080));
    assert_eq!(s.voice_config.unwrap().speed, Some(120));
    let e = error_of(with(full_script(), "/voice_config/speed", json!(1e30)));
    assert_eq!(e.code(), "invalid_type");
}

#[test]
fn invalid_json_reports_line_and_column() {
    let e = parse_script("{\n  \"voice_config\": {\"speed\": 1,}\n}").unwrap_err();
    assert_eq!(e.path, "");
    match &e.kind {
        ErrorKind::InvalidJson { line, column, message } => {
            assert_eq!(*line, 2);
            assert!(*column > 0);
            assert!(!message.contains("at line"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(e.code(), "invalid_json");
    assert!(e.to_string().starts_with("invalid JSON at line 2, column "), "{e}");
}

#[test]
fn unknown_enum_values_name_the_path_and_allowed_values() {
    let cases = [
        (format!("{TEXT0}/script_type"), "shoot_scripts[0].shoot_script.script_type", "VIDEO", "TEXT, AUDIO"),
        ("/video_config/codec".to_string(), "video_config.codec", "H265", "H264, VP8, QTRLE"),
        ("/video_config/clip_mode".to_string(), "video_config.clip_mode", "resize", "RESIZE, CROP"),
        (
            format!("{TEXT0}/background_config/0/background_type"),
            "shoot_scripts[0].shoot_script.background_config[0].background_type",
            "VIDEO",
            "IMAGE, COLOR",
        ),
        (
            format!("{TEXT0}/layer_config/1/layer_type"),
            "shoot_scripts[0].shoot_script.layer_config[1].layer_type",
            "AUDIO",
            "HUMAN, IMAGE, VIDEO, TEXT",
        ),
        (
            format!("{TEXT0}/emotion_config"),
            "shoot_scripts[0].shoot_script.emotion_config[0].emotion",
            "JOY",
            "HAPPY, SAD, CALM, ANGER",
        ),
        ("/callback_config/auth_type".to_string(), "callback_config.auth_type", "BASIC", "NONE, MSS_A"),
    ];
    for (pointer, path, value, allowed) in cases {
        let v = if pointer.ends_with("emotion_config") { json!([{"emotion": value}]) } else { json!(value) };
        let e = error_of(with(full_script(), &pointer, v));
        assert_eq!(e.path, path);
        assert_eq!(e.code(), "not_allowed");
        assert_eq!(e.to_string(), format!("{path}: {value} is not an allowed value (allowed: {allowed})"));
    }
    let e = error_of(with(full_script(), "/video_config/codec", json!(264)));
    assert_eq!(e.code(), "invalid_type");
    assert!(e.to_string().contains("one of H264, VP8, QTRLE"), "{e}");
}

#[test]
fn resize_resolutions_are_the_six_documented() {
    for (w, h) in doppel_script::limits::RESIZE_RESOLUTIONS {
        let body = with(with(full_script(), "/video_config/width", json!(w)), "/video_config/height", json!(h));
        assert_parses(body);
    }
    let body = with(with(full_script(), "/video_config/width", json!(1000)), "/video_config/height", json!(1000));
    let e = error_of(body.clone());
    assert_eq!(
        e.to_string(),
        "video_config: 1000x1000 is not an allowed RESIZE resolution (allowed: 1920x1080, 1080x1920, 1280x720, 720x1280, 3840x2160, 2160x3840)"
    );
    // Clip mode defaults to RESIZE.
    assert_eq!(error_of(without(body.clone(), "/video_config/clip_mode")).path, "video_config");
    // CROP keeps any size in range.
    assert_parses(with(body, "/video_config/clip_mode", json!("CROP")));
}

#[test]
fn resize_needs_width_and_height_together() {
    let e = error_of(without(full_script(), "/video_config/height"));
    assert_eq!(e.to_string(), "video_config.height: required field is missing");
    let e = error_of(without(full_script(), "/video_config/width"));
    assert_eq!(e.path, "video_config.width");
    assert_parses(without(without(full_script(), "/video_config/width"), "/video_config/height"));
}

#[test]
fn shoot_scripts_are_required_unless_a_stored_script_is_named() {
    let e = error_of(without(full_script(), "/shoot_scripts"));
    assert_eq!(e.to_string(), "shoot_scripts: required field is missing");
    assert_eq!(e.code(), "missing");
    assert_eq!(error_of(with(full_script(), "/shoot_scripts", json!([]))).path, "shoot_scripts");
    assert_eq!(error_of(with(full_script(), "/shoot_scripts", Value::Null)).path, "shoot_scripts");
    assert_parses(with(
        without(full_script(), "/shoot_scripts"),
        "/script_id",
        json!("4b5b6effcf3b4c72a0baccb265111765"),
    ));
}

#[test]
fn required_fields_inside_scenes() {
    let cases: [(Value, &str); 8] = [
        (without(full_script(), "/shoot_scripts/0/sequence_no"), "shoot_scripts[0].sequence_no"),
        (without(full_script(), "/shoot_scripts/0/shoot_script"), "shoot_scripts[0].shoot_script"),
        (
            without(full_script(), &format!("{TEXT0}/text_config/text")),
            "shoot_scripts[0].shoot_script.text_config.text",
        ),
        (without(full_script(), &format!("{TEXT0}/text_config")), "shoot_scripts[0].shoot_script.text_config.text"),
        (
            without(full_script(), "/shoot_scripts/1/shoot_script/audio_drive_file_external_url"),
            "shoot_scripts[1].shoot_script.audio_drive_file_external_url",
        ),
        (
            without(full_script(), &format!("{TEXT0}/background_config/0/background_type")),
            "shoot_scripts[0].shoot_script.background_config[0].background_type",
        ),
        (
            without(full_script(), &format!("{TEXT0}/background_config/0/background_color_config")),
            "shoot_scripts[0].shoot_script.background_config[0].background_color_config",
        ),
        (
            without(full_script(), &format!("{TEXT0}/layer_config/3/layer_type")),
            "shoot_scripts[0].shoot_script.layer_config[3].layer_type",
        ),
    ];
    for (body, path) in cases {
        let e = error_of(body);
        assert_eq!(e.to_string(), format!("{path}: required field is missing"));
    }
    // An AUDIO scene may use an uploaded audio instead of a URL.
    let body = without(full_script(), "/shoot_scripts/1/shoot_script/audio_drive_file_external_url");
    assert_parses(with(body, "/shoot_scripts/1/shoot_script/audio_config", json!({"audio_id": 7})));
    // An empty TEXT text is allowed (0 characters is in range).
    assert_parses(with(full_script(), &format!("{TEXT0}/text_config/text"), json!("")));
}

#[test]
fn image_backgrounds_and_layers_need_a_source() {
    let bg = "/shoot_scripts/1/shoot_script/background_config/0";
    let body =
        without(without(full_script(), &format!("{bg}/background_config")), &format!("{bg}/background_asset_id"));
    let e = error_of(body.clone());
    assert_eq!(e.path, "shoot_scripts[1].shoot_script.background_config[0].background_config");
    assert_parses(with(body, &format!("{bg}/background_asset_id"), json!("bg-2")));

    let layer = format!("{TEXT0}/layer_config/1");
    let body = without(without(full_script(), &format!("{layer}/image_config")), &format!("{layer}/asset_id"));
    assert_eq!(error_of(body).path, "shoot_scripts[0].shoot_script.layer_config[1].image_config.image_url");
    let layer = format!("{TEXT0}/layer_config/3");
    let body = without(full_script(), &format!("{layer}/video_config"));
    assert_eq!(error_of(body).path, "shoot_scripts[0].shoot_script.layer_config[3].video_config.video_url");
    let layer = format!("{TEXT0}/layer_config/2");
    let body = without(full_script(), &format!("{layer}/text_config/text_context"));
    assert_eq!(error_of(body).path, "shoot_scripts[0].shoot_script.layer_config[2].text_config.text_context");
}

#[test]
fn background_config_may_be_a_single_object_as_in_the_vendor_example() {
    let body = with(
        full_script(),
        "/shoot_scripts/1/shoot_script/background_config",
        json!({"background_type": "IMAGE", "background_config": "https://assets.example.com/bg.jpg"}),
    );
    let s = parse_script_value(body).unwrap();
    assert_eq!(s.shoot_scripts[1].shoot_script.as_ref().unwrap().background_config.len(), 1);
    // Errors inside it still carry a path.
    let body = with(full_script(), "/shoot_scripts/1/shoot_script/background_config", json!({"background_type": 1}));
    assert_eq!(error_of(body).path, "shoot_scripts[1].shoot_script.background_config.background_type");
}

#[test]
fn callback_rules() {
    let e = error_of(without(full_script(), "/callback_config/key"));
    assert_eq!(e.to_string(), "callback_config.key: required field is missing");
    assert_parses(with(without(full_script(), "/callback_config/key"), "/callback_config/auth_type", json!("NONE")));
    let e = error_of(with(full_script(), "/callback_config", json!({})));
    assert_eq!(e.path, "callback_config.callback_url");
}

#[test]
fn duplicate_sequence_numbers_are_rejected() {
    let e = error_of(with(full_script(), "/shoot_scripts/1/sequence_no", json!(0)));
    assert_eq!(e.to_string(), "shoot_scripts[1].sequence_no: 0 is used more than once; it must be unique");
    assert_eq!(e.kind, ErrorKind::Duplicate { value: "0".into() });
}

#[test]
fn validate_reports_every_problem_in_document_order() {
    let mut s: Script = parse_script_value(full_script()).unwrap();
    s.voice_config.as_mut().unwrap().speed = Some(10);
    s.voice_config.as_mut().unwrap().volume = Some(999);
    s.background_music_config.as_mut().unwrap().volume = Some(101);
    let errors = validate(&s);
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["voice_config.speed", "voice_config.volume", "background_music_config.volume"]);
    assert!(errors.iter().all(|e| e.code() == "out_of_range"));
    assert_eq!(s.validate(), errors);
}

#[test]
fn ssml_errors_carry_the_text_path_and_character_offset() {
    let text = "<speak>大家好，我是小云。!<prosody rate=\"fast\">再见";
    let e = error_of(with(full_script(), &format!("{TEXT0}/text_config/text"), json!(text)));
    assert_eq!(
        e.to_string(),
        "shoot_scripts[0].shoot_script.text_config.text: malformed SSML at character 17: unclosed <prosody>"
    );
    assert_eq!(e.kind, ErrorKind::Ssml { offset: 17, message: "unclosed <prosody>".into() });
    assert_eq!(e.code(), "ssml");
}

#[test]
fn text_plans_come_in_sequence_order() {
    let body = json!({"shoot_scripts": [
        {"sequence_no": 5, "shoot_script": {"text_config": {"text": "second"}}},
        {"sequence_no": 9, "shoot_script": {"script_type": "AUDIO", "audio_config": {"audio_id": 1}}},
        {"sequence_no": 2, "shoot_script": {"script_type": "TEXT", "text_config": {"text": "<speak>first<mark name=\"m\"/></speak>"}}}
    ]});
    let s = parse_script_value(body).unwrap();
    let plans = s.text_plans().unwrap();
    let order: Vec<(usize, i64, String)> =
        plans.iter().map(|p| (p.index, p.sequence_no, p.plan.display_text())).collect();
    assert_eq!(order, [(2, 2, "first".to_string()), (0, 5, "second".to_string())]);
    assert!(matches!(&plans[0].plan.items[1], PlanItem::Mark(m) if m.kind == MarkKind::Mark));
}

#[test]
fn text_plans_of_the_example_scene() {
    let s = parse_script_value(full_script()).unwrap();
    let plans = s.text_plans().unwrap();
    assert_eq!(plans.len(), 1);
    let items = &plans[0].plan.items;
    assert!(matches!(&items[0], PlanItem::Mark(m) if m.kind == MarkKind::Emotion { emotion: Emotion::Happy }));
    assert!(matches!(items.last(), Some(PlanItem::Mark(m)) if m.name == "NEUTRAL"));
    assert!(crate::spans(&plans[0].plan).iter().all(|t| t.spoken == Spoken::AsWritten));
}

#[test]
fn an_audio_scene_takes_an_optional_subtitle_text_that_must_parse() {
    const AUDIO1: &str = "/shoot_scripts/1/shoot_script";
    // Only the audio reference: valid.
    assert!(full_script().pointer(&format!("{AUDIO1}/text_config")).is_none());
    assert_parses(full_script());
    // With a plain or SSML text: valid, and it is no TEXT plan (nothing is spoken).
    for text in ["Welcome to the studio.", "<speak>Welcome <break time=\"200ms\"/>back.</speak>"] {
        let body = with(full_script(), &format!("{AUDIO1}/text_config"), json!({"text": text}));
        assert_parses(body.clone());
        let plans = parse_script_value(body).unwrap().text_plans().unwrap();
        assert!(plans.iter().all(|p| p.index == 0), "an AUDIO text became a plan");
    }
    // A text that does not parse is an error at its path.
    let body = with(full_script(), &format!("{AUDIO1}/text_config"), json!({"text": "<speak>open"}));
    let e = error_of(body);
    assert_eq!(e.path, "shoot_scripts[1].shoot_script.text_config.text");
    assert_eq!(e.code(), "ssml");
    // An empty URL counts as absent.
    let body = with(full_script(), &format!("{AUDIO1}/audio_drive_file_external_url"), json!(""));
    assert_eq!(
        error_of(body).to_string(),
        "shoot_scripts[1].shoot_script.audio_drive_file_external_url: required field is missing"
    );
}
