//! Integration tests of doppel-script: the script model, every documented limit, the SSML parser, and a
//! no-panic property test. Shared helpers live here.

mod docs;
mod limits;
mod no_panic;
mod script;
mod ssml;

use doppel_script::{parse_script_value, Error, Plan, PlanItem, TextSpan};
use serde_json::{json, Value};

/// A realistic, valid request body touching every section: a TEXT scene with HUMAN/IMAGE/TEXT/VIDEO layers on a
/// COLOR background and an AUDIO scene on an IMAGE background.
pub fn full_script() -> Value {
    json!({
        "model_asset_id": "cda7e9a469ee9cf3ffc1ad62794a12ff",
        "voice_config": {
            "voice_asset_id": "f5e6a13eab4443fa85421191ad061780",
            "speed": 100,
            "pitch": 100,
            "volume": 140
        },
        "video_config": {
            "clip_mode": "RESIZE",
            "codec": "H264",
            "bitrate": 5000,
            "width": 1080,
            "height": 1920,
            "frame_rate": "25",
            "is_subtitle_enable": true,
            "subtitle_config": {
                "dx": 108, "dy": 1700, "h": 80, "w": 864,
                "font_name": "HarmonyOS_Sans_SC_Black",
                "font_size": 54,
                "font_color": "#FFFFFF",
                "stroke_color": "#000000",
                "stroke_thickness": 2,
                "opacity": 1
            },
            "dx": 0,
            "dy": 0,
            "is_enable_super_resolution": false,
            "is_end_at_first_frame": false,
            "is_vocabulary_config_enable": false,
            "disable_system_watermark": false
        },
        "shoot_scripts": [
            {
                "sequence_no": 0,
                "start_time": 0,
                "end_time": 30,
                "shoot_script": {
                    "script_type": "TEXT",
                    "text_config": {
                        "text": "<speak><emotion type=\"HAPPY\"><insert-action name=\"双手指尖交触\" tag=\"system_female_animation_0026\"/>大家好，<break time=\"200ms\"/>我是小云。</emotion></speak>"
                    },
                    "background_config": [{
                        "background_type": "COLOR",
                        "background_color_config": "#FFFFFF",
                        "human_position_2d": {"position": "MIDDLE", "position_x": 540, "position_y": 1920},
                        "human_size_2d": {"width": 1080, "height": 1920}
                    }],
                    "layer_config": [
                        {
                            "layer_type": "HUMAN",
                            "position": {"dx": 0, "dy": 0, "layer_index": 1},
                            "size": {"width": 1080, "height": 1920}
                        },
                        {
                            "layer_type": "IMAGE",
                            "asset_id": "img-asset-1",
                            "group_id": "group-1",
                            "position": {"dx": 40, "dy": 40, "layer_index": 2},
                            "size": {"width": 200, "height": 200},
                            "rotation": {"angle": 0},
                            "image_config": {"image_url": "https://assets.example.com/logo.png"}
                        },
                        {
                            "layer_type": "TEXT",
                            "position": {"dx": 40, "dy": 300, "layer_index": 3},
                            "size": {"width": 600, "height": 80},
                            "text_config": {
                                "text_context": "5rWL6K+V5paH5a2X5rC05Y2w",
                                "font_name": "HarmonyOS_Sans_SC_Regular",
                                "font_size": 32,
                                "font_color": "#FF0000"
                            }
                        },
                        {
                            "layer_type": "VIDEO",
                            "position": {"dx": 600, "dy": 40, "layer_index": 4},
                            "size": {"width": 400, "height": 225},
                            "video_config": {
                                "video_url": "https://assets.example.com/clip.mp4",
                                "video_cover_url": "https://assets.example.com/clip.jpg",
                                "loop_count": -1,
                                "video_sound": 0,
                                "is_play_the_entire_video": false
                            }
                        }
                    ]
                }
            },
            {
                "sequence_no": 1,
                "shoot_script": {
                    "script_type": "AUDIO",
                    "audio_drive_file_external_url": "https://obs.example.com/voice.wav",
                    "audio_duration": 12.5,
                    "audio_drive_action_config": [
                        {"action_tag": "system_female_animation_0026", "action_name": "wave", "action_start_time": 1.5}
                    ],
                    "background_config": [{
                        "background_type": "IMAGE",
                        "background_config": "https://assets.example.com/studio.jpg",
                        "background_asset_id": "bg-asset-1"
                    }]
                }
            }
        ],
        "output_asset_config": {"asset_name": "demo video"},
        "background_music_config": {"music_asset_id": "music-1", "volume": 50},
        "review_config": {"no_need_review": false},
        "callback_config": {"callback_url": "https://hooks.example.com/doppel", "auth_type": "MSS_A", "key": "s3cret"},
        "action_config": {"action_interval": 0}
    })
}

/// `value` with the field at JSON pointer `pointer` set to `new`; missing objects on the way are created.
pub fn with(mut value: Value, pointer: &str, new: Value) -> Value {
    let mut cur = &mut value;
    for part in pointer.split('/').skip(1) {
        cur = match cur {
            Value::Object(map) => map.entry(part.to_string()).or_insert(Value::Null),
            Value::Array(items) => {
                let i: usize = part.parse().expect("array index in pointer");
                items.get_mut(i).expect("array index exists")
            }
            other => {
                *other = json!({});
                match other {
                    Value::Object(map) => map.entry(part.to_string()).or_insert(Value::Null),
                    _ => unreachable!(),
                }
            }
        };
    }
    *cur = new;
    value
}

/// `value` without the field at `pointer`.
pub fn without(mut value: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer with a parent");
    if let Some(Value::Object(map)) = value.pointer_mut(parent) {
        map.remove(key);
    }
    value
}

/// The error parsing `value` gives; panics when it parses.
pub fn error_of(value: Value) -> Error {
    match parse_script_value(value) {
        Ok(_) => panic!("expected an error, the script parsed"),
        Err(e) => e,
    }
}

/// Asserts `value` parses, showing the error when not.
pub fn assert_parses(value: Value) {
    if let Err(e) = parse_script_value(value) {
        panic!("expected the script to parse, got: {e}");
    }
}

/// The plan's text spans.
pub fn spans(plan: &Plan) -> Vec<&TextSpan> {
    plan.items
        .iter()
        .filter_map(|i| match i {
            PlanItem::Text(t) => Some(t),
            _ => None,
        })
        .collect()
}
