//! Loading packages from folders and zips, and the errors of broken ones.

use std::io::{Cursor, Write};

use doppel_avatar::{Avatar, Error};
use serde_json::json;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::support::{avatar_dir, copy_of, edit_manifest, load_error, load_ok, prefixed, zip_of, TempDir};

#[test]
fn missing_slot_file_is_named_with_its_slot_key() {
    let pkg = copy_of("anna");
    std::fs::remove_file(pkg.join("parts/mouth_g.svg")).expect("remove");
    let msg = load_error(pkg.path());
    assert!(msg.contains("slots.mouth.G"), "{msg}");
    assert!(msg.contains("parts/mouth_g.svg"), "{msg}");
    assert!(msg.contains("missing from the package"), "{msg}");
}

#[test]
fn missing_part_file_is_named_with_its_part() {
    let pkg = copy_of("anna");
    std::fs::remove_file(pkg.join("parts/head.svg")).expect("remove");
    let msg = load_error(pkg.path());
    assert!(msg.contains("(head)") && msg.contains("parts/head.svg"), "{msg}");
}

#[test]
fn missing_required_slot_key_is_named() {
    let pkg = copy_of("anna");
    edit_manifest(pkg.path(), |m| {
        m["slots"]["mouth"].as_object_mut().expect("mouth").remove("G");
    });
    let msg = load_error(pkg.path());
    assert!(msg.contains("slots.mouth.G: missing"), "{msg}");
}

#[test]
fn missing_required_slot_lists_its_required_keys() {
    let pkg = copy_of("anna");
    edit_manifest(pkg.path(), |m| {
        m["slots"].as_object_mut().expect("slots").remove("eyes");
    });
    let msg = load_error(pkg.path());
    assert!(msg.contains("slots.eyes: missing (required states: open, half, closed)"), "{msg}");
    // The eyes part now names a slot that does not exist.
    assert!(msg.contains("unknown slot \"eyes\""), "{msg}");
}

#[test]
fn unknown_bone_of_a_part_is_named() {
    let pkg = copy_of("anna");
    edit_manifest(pkg.path(), |m| m["parts"][3]["bone"] = json!("shoulder"));
    let msg = load_error(pkg.path());
    assert!(msg.contains("parts[3] (upper_arm_l): unknown bone \"shoulder\""), "{msg}");
}

#[test]
fn unknown_bone_in_a_keyframe_is_named() {
    let pkg = copy_of("anna");
    edit_manifest(pkg.path(), |m| m["actions"][0]["keyframes"][1]["bones"]["tail"] = json!({ "rotate": 5 }));
    let msg = load_error(pkg.path());
    assert!(msg.contains("actions[0] (wave).keyframes[1]: unknown bone \"tail\""), "{msg}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let pkg = copy_of("anna");
    std::fs::remove_file(pkg.join("parts/mouth_g.svg")).expect("remove");
    edit_manifest(pkg.path(), |m| {
        m["id"] = json!("Anna!");
        m["canvas"]["width"] = json!(8);
        m["parts"][0]["bone"] = json!("nope");
    });
    match Avatar::load(pkg.path()) {
        Err(Error::Invalid { avatar, problems }) => {
            assert_eq!(avatar, pkg.path().display().to_string());
            let all = problems.join("\n");
            for needle in ["id: \"Anna!\"", "canvas.width: 8 is out of range 16–8192", "parts[0]", "slots.mouth.G"] {
                assert!(all.contains(needle), "{needle} not in {all}");
            }
        }
        other => panic!("expected Invalid, got {:?}", other.map(|a| a.manifest.id)),
    }
}

#[test]
fn malformed_avatar_json_is_reported_with_the_file_name() {
    let pkg = copy_of("anna");
    std::fs::write(pkg.join("avatar.json"), b"{ \"format\": 1, ").expect("write");
    let msg = load_error(pkg.path());
    assert!(msg.contains("avatar.json:"), "{msg}");
}

#[test]
fn folder_without_avatar_json_is_rejected() {
    let pkg = copy_of("anna");
    std::fs::remove_file(pkg.join("avatar.json")).expect("remove");
    assert!(load_error(pkg.path()).contains("avatar.json is missing"));
}

#[test]
fn nonexistent_path_is_an_io_error_naming_it() {
    let dir = TempDir::new("nothing");
    let path = dir.join("no-such-avatar.zip");
    match Avatar::load(&path) {
        Err(e @ Error::Io { .. }) => assert!(e.to_string().contains("no-such-avatar.zip"), "{e}"),
        other => panic!("expected Io, got {:?}", other.map(|a| a.manifest.id)),
    }
}

#[test]
fn manifest_paths_cannot_leave_the_package_folder() {
    let dir = TempDir::new("escape");
    let pkg = dir.join("pkg");
    crate::support::copy_dir(&avatar_dir("anna"), &pkg);
    // A real file right next to the package, and one by absolute path: neither may be read.
    std::fs::copy(pkg.join("parts/mouth_g.svg"), dir.join("outside.svg")).expect("copy");
    let absolute = dir.join("outside.svg").display().to_string();
    edit_manifest(&pkg, |m| {
        m["slots"]["mouth"]["G"] = json!("../outside.svg");
        m["slots"]["mouth"]["H"] = json!(absolute);
    });
    let msg = load_error(&pkg);
    assert!(msg.contains("slots.mouth.G: file \"../outside.svg\" is missing from the package"), "{msg}");
    assert!(msg.contains("slots.mouth.H: file"), "{msg}");
}

#[test]
fn zip_with_avatar_json_at_the_root_loads() {
    let dir = TempDir::new("zip-root");
    let path = dir.join("anna.zip");
    std::fs::write(&path, zip_of(&prefixed(&avatar_dir("anna"), ""))).expect("write zip");
    let avatar = load_ok(&path);
    assert_eq!(avatar.manifest, load_ok(&avatar_dir("anna")).manifest);
    assert!(avatar.file("parts/mouth_g.svg").is_some_and(|b| b.starts_with(b"<svg")));
    avatar.rasterize(0.1).expect("rasterize from zip");
}

#[test]
fn zip_with_the_package_inside_one_folder_loads() {
    let dir = TempDir::new("zip-folder");
    let path = dir.join("anna.zip");
    std::fs::write(&path, zip_of(&prefixed(&avatar_dir("anna"), "anna/"))).expect("write zip");
    let avatar = load_ok(&path);
    assert_eq!(avatar.manifest.id, "anna");
    assert!(avatar.file("parts/head.svg").is_some());
}

#[test]
fn zip_uses_the_shallowest_avatar_json() {
    let mut entries = prefixed(&avatar_dir("anna"), "");
    // A second, broken package deeper in the archive is ignored.
    entries.push(("old/avatar.json".into(), b"not json".to_vec()));
    let avatar = Avatar::from_zip("two.zip", &zip_of(&entries)).expect("loads the root package");
    assert_eq!(avatar.manifest.id, "anna");
}

#[test]
fn zip_entries_that_climb_out_with_dot_dot_are_ignored() {
    // The whole package under `../evil/`: nothing is usable, so avatar.json is missing.
    let escaping = zip_of(&prefixed(&avatar_dir("anna"), "../evil/"));
    let msg = Avatar::from_zip("evil.zip", &escaping).map(|a| a.manifest.id).expect_err("must fail").to_string();
    assert!(msg.contains("evil.zip") && msg.contains("avatar.json is missing"), "{msg}");

    // A good package with one stray `../` entry loads, without that entry.
    let mut entries = prefixed(&avatar_dir("anna"), "");
    entries.push(("../evil.svg".into(), b"<svg/>".to_vec()));
    let avatar = Avatar::from_zip("stray.zip", &zip_of(&entries)).expect("loads");
    assert!(avatar.file("../evil.svg").is_none());
}

#[test]
fn zip_without_avatar_json_is_rejected() {
    let entries: Vec<_> = prefixed(&avatar_dir("anna"), "").into_iter().filter(|(n, _)| n != "avatar.json").collect();
    let msg =
        Avatar::from_zip("parts.zip", &zip_of(&entries)).map(|a| a.manifest.id).expect_err("must fail").to_string();
    assert!(msg.contains("avatar.json is missing"), "{msg}");
}

#[test]
fn zip_missing_a_slot_file_names_it() {
    let entries: Vec<_> =
        prefixed(&avatar_dir("anna"), "").into_iter().filter(|(n, _)| n != "parts/mouth_g.svg").collect();
    let msg =
        Avatar::from_zip("anna.zip", &zip_of(&entries)).map(|a| a.manifest.id).expect_err("must fail").to_string();
    assert!(msg.contains("slots.mouth.G") && msg.contains("parts/mouth_g.svg"), "{msg}");
}

#[test]
fn garbage_and_truncated_zips_are_rejected_without_panicking() {
    let dir = TempDir::new("garbage");
    let garbage: Vec<u8> = (0u32..4096).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let path = dir.join("garbage.zip");
    std::fs::write(&path, &garbage).expect("write");
    assert!(load_error(&path).contains("not a zip archive"));

    assert!(Avatar::from_zip("empty", b"").is_err());
    let good = zip_of(&prefixed(&avatar_dir("anna"), ""));
    for cut in [good.len() / 3, good.len() / 2, good.len() - 30] {
        assert!(Avatar::from_zip("cut", &good[..cut]).is_err(), "cut at {cut}");
    }
    // Corrupt the middle of the compressed data but keep the directory: every outcome is an error, not a panic.
    let mut flipped = good.clone();
    for b in &mut flipped[good.len() / 4..good.len() / 2] {
        *b ^= 0x5A;
    }
    assert!(Avatar::from_zip("flipped", &flipped).is_err());
}

#[test]
fn zip_larger_than_256_mib_unpacked_is_rejected() {
    // 257 MiB of zeros deflate to a few hundred KiB; the declared size alone is refused, before unpacking.
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    zip.start_file("huge.bin", opts).expect("start");
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..257 {
        zip.write_all(&chunk).expect("write");
    }
    let bytes = zip.finish().expect("finish").into_inner();
    assert!(bytes.len() < 8 << 20);
    let msg = Avatar::from_zip("bomb.zip", &bytes).map(|a| a.manifest.id).expect_err("must fail").to_string();
    assert!(msg.contains("larger than 256 MiB"), "{msg}");
}
