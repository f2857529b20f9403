//! The avatars built into doppel: `anna` and `leo`.

use doppel_avatar::{builtin, builtin_by_id};

use crate::support::{avatar_dir, load_ok};

/// The actions both built-ins have, with their durations, as `docs/avatar-format.md` lists them.
const ACTIONS: &[(&str, u32)] = &[
    ("wave", 2200),
    ("nod", 1400),
    ("point", 2400),
    ("present", 2400),
    ("bow", 2000),
    ("shrug", 1600),
    ("think", 2600),
    ("idle_hand", 1500),
    ("idle_lean", 2000),
];

#[test]
fn builtin_avatars_are_exactly_anna_and_leo_sorted_by_id() {
    let ids: Vec<&str> = builtin().iter().map(|a| a.manifest.id.as_str()).collect();
    assert_eq!(ids, ["anna", "leo"]);
}

#[test]
fn builtin_avatars_are_transparent_portrait_1080_by_1920() {
    for avatar in builtin() {
        let info = avatar.info();
        assert_eq!((info.width, info.height), (1080, 1920), "{}", info.id);
        assert!(info.transparent, "{}", info.id);
        assert!(!info.name.is_empty() && !info.description.is_empty(), "{}", info.id);
    }
}

#[test]
fn builtin_avatars_have_the_documented_actions_and_idle_gestures() {
    for avatar in builtin() {
        let info = avatar.info();
        let actions: Vec<(&str, u32)> = info.actions.iter().map(|a| (a.name.as_str(), a.duration_ms)).collect();
        assert_eq!(actions, ACTIONS, "{}", info.id);
        for required in ["wave", "nod", "point", "present", "bow"] {
            assert!(actions.iter().any(|(n, _)| *n == required), "{} lacks {required}", info.id);
        }
        assert!(actions.iter().filter(|(n, _)| n.starts_with("idle_")).count() >= 2, "{}", info.id);
    }
}

#[test]
fn builtin_actions_start_and_end_at_rest() {
    for avatar in builtin() {
        for action in &avatar.manifest.actions {
            let (first, last) =
                (action.keyframes.first().expect("keyframes"), action.keyframes.last().expect("keyframes"));
            assert!(first.t_ms == 0 && first.bones.is_empty(), "{} {}", avatar.manifest.id, action.name);
            assert!(last.t_ms == action.duration_ms && last.bones.is_empty(), "{} {}", avatar.manifest.id, action.name);
        }
    }
}

#[test]
fn builtin_avatars_have_the_four_emotions() {
    for avatar in builtin() {
        assert_eq!(avatar.info().emotions, ["HAPPY", "SAD", "CALM", "ANGER"], "{}", avatar.manifest.id);
    }
}

#[test]
fn builtin_default_voices_are_catalog_voice_ids() {
    let voice = |id: &str| builtin_by_id(id).and_then(|a| a.info().default_voice);
    assert_eq!(voice("anna").as_deref(), Some("espeak-en-us-ava"));
    assert_eq!(voice("leo").as_deref(), Some("espeak-en-us-adam"));
}

#[test]
fn builtin_by_id_ignores_case_and_rejects_unknown_ids() {
    assert_eq!(builtin_by_id("ANNA").map(|a| a.manifest.id.as_str()), Some("anna"));
    assert_eq!(builtin_by_id("Leo").map(|a| a.manifest.id.as_str()), Some("leo"));
    assert!(builtin_by_id("bob").is_none());
}

#[test]
fn builtin_avatars_equal_their_folders_in_the_repository() {
    for avatar in builtin() {
        let from_disk = load_ok(&avatar_dir(&avatar.manifest.id));
        assert_eq!(from_disk.manifest, avatar.manifest);
        for part in &avatar.manifest.parts {
            if let Some(file) = &part.file {
                assert_eq!(from_disk.file(file), avatar.file(file), "{file}");
            }
        }
    }
}

#[test]
fn builtin_avatars_rasterize_every_part() {
    for avatar in builtin() {
        let rig = avatar.rasterize(0.1).expect("rasterize");
        assert_eq!((rig.width, rig.height), (108, 192));
        assert_eq!(rig.bone_count(), avatar.manifest.bones.len());
    }
}
