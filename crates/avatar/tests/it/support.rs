//! Shared helpers: temporary folders, package copies and edits, zips, synthetic packages, pixel comparison.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use doppel_avatar::manifest::BoneTransform;
use doppel_avatar::{builtin_by_id, Avatar, FrameState, Rig};
use serde_json::{json, Value};
use tiny_skia::Pixmap;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// The repository's `avatars/<id>` folder.
pub fn avatar_dir(id: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../avatars").join(id)
}

/// A fresh folder under cargo's target tmp dir, removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("avatar-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Copies a folder recursively.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("create dir");
    for entry in std::fs::read_dir(src).expect("read dir") {
        let entry = entry.expect("dir entry");
        let to = dst.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).expect("copy file");
        }
    }
}

/// A temporary copy of a built-in avatar's folder; the package is at `.path()`.
pub fn copy_of(id: &str) -> TempDir {
    let dir = TempDir::new(id);
    copy_dir(&avatar_dir(id), dir.path());
    dir
}

/// Reads, edits and writes back `avatar.json` of a package folder.
pub fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut Value)) {
    let path = dir.join("avatar.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&path).expect("read avatar.json")).expect("parse");
    edit(&mut v);
    std::fs::write(&path, serde_json::to_vec_pretty(&v).expect("serialize")).expect("write avatar.json");
}

/// The message of a load that must fail.
pub fn load_error(path: &Path) -> String {
    match Avatar::load(path) {
        Ok(a) => panic!("{} loaded as {:?} but should fail", path.display(), a.manifest.id),
        Err(e) => e.to_string(),
    }
}

/// Loads a package that must load.
pub fn load_ok(path: &Path) -> Avatar {
    Avatar::load(path).unwrap_or_else(|e| panic!("{} should load: {e}", path.display()))
}

/// Every file of a folder as (relative path with `/`, bytes), sorted.
pub fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("under root");
                let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                out.push((rel, std::fs::read(&path).expect("read file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A deflated zip archive of the given entries, in order.
pub fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, bytes) in entries {
        zip.start_file(name.as_str(), opts).expect("start zip entry");
        zip.write_all(bytes).expect("write zip entry");
    }
    zip.finish().expect("finish zip").into_inner()
}

/// The entries of a package folder with `prefix` (`""` or `"anna/"`) in front of every name.
pub fn prefixed(dir: &Path, prefix: &str) -> Vec<(String, Vec<u8>)> {
    files_of(dir).into_iter().map(|(name, bytes)| (format!("{prefix}{name}"), bytes)).collect()
}

/// The built-in anna rasterized at 0.25 (270 × 480), shared by the tests.
pub fn anna_rig() -> &'static Rig {
    static RIG: OnceLock<Rig> = OnceLock::new();
    RIG.get_or_init(|| builtin_by_id("anna").expect("anna is built in").rasterize(0.25).expect("rasterize anna"))
}

/// Rest pose, open eyes, mouth X, neutral.
pub fn rest(rig: &Rig) -> FrameState {
    FrameState { pose: vec![BoneTransform::REST; rig.bone_count()], emotion_mix: 1.0, ..FrameState::default() }
}

/// Draws a state onto a fresh transparent pixmap of the rig's size.
pub fn draw(rig: &Rig, state: &FrameState) -> Pixmap {
    let mut p = Pixmap::new(rig.width, rig.height).expect("pixmap");
    rig.draw(state, &mut p.as_mut(), 0.0, 0.0);
    p
}

/// A rectangle in pixels, inclusive: (x0, y0, x1, y1).
pub type Rect = (u32, u32, u32, u32);

/// The bounding box of the pixels that differ between two same-size pixmaps.
pub fn diff_box(a: &Pixmap, b: &Pixmap) -> Option<Rect> {
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    let w = a.width();
    let mut r: Option<Rect> = None;
    for (i, (p, q)) in a.pixels().iter().zip(b.pixels()).enumerate() {
        if p != q {
            let (x, y) = (i as u32 % w, i as u32 / w);
            r = Some(match r {
                None => (x, y, x, y),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
            });
        }
    }
    r
}

/// A box given in native canvas pixels, in the pixels of a rig drawn at `scale` (grown to whole pixels).
pub fn scaled(native: Rect, scale: f32) -> Rect {
    let (x0, y0, x1, y1) = native;
    let lo = |v: u32| (v as f32 * scale).floor() as u32;
    let hi = |v: u32| (v as f32 * scale).ceil() as u32;
    (lo(x0), lo(y0), hi(x1), hi(y1))
}

/// Whether `inner` lies inside `outer`.
pub fn within(inner: Rect, outer: Rect) -> bool {
    inner.0 >= outer.0 && inner.1 >= outer.1 && inner.2 <= outer.2 && inner.3 <= outer.3
}

/// Number of pixels in a box with alpha at least `min_alpha`.
pub fn count_alpha(p: &Pixmap, r: Rect, min_alpha: u8) -> usize {
    let mut n = 0;
    for y in r.1..=r.3.min(p.height() - 1) {
        for x in r.0..=r.2.min(p.width() - 1) {
            if p.pixel(x, y).is_some_and(|c| c.alpha() >= min_alpha) {
                n += 1;
            }
        }
    }
    n
}

/// An SVG document of `w × h` with a matching viewBox around `body`.
pub fn svg(w: u32, h: u32, body: &str) -> Vec<u8> {
    format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">{body}</svg>"#)
        .into_bytes()
}

/// A PNG of `w × h`, transparent except an opaque `rgb` rectangle `r` (inclusive).
pub fn png(w: u32, h: u32, r: Rect, rgb: (u8, u8, u8)) -> Vec<u8> {
    let mut p = Pixmap::new(w, h).expect("pixmap");
    let color = tiny_skia::PremultipliedColorU8::from_rgba(rgb.0, rgb.1, rgb.2, 255).expect("colour");
    let width = w as usize;
    for y in r.1..=r.3 {
        for x in r.0..=r.2 {
            p.pixels_mut()[y as usize * width + x as usize] = color;
        }
    }
    p.encode_png().expect("encode png")
}

/// A small package written by a test: a manifest to edit and files to add before `write`.
#[derive(Debug)]
pub struct Synthetic {
    pub manifest: Value,
    pub files: Vec<(String, Vec<u8>)>,
}

impl Synthetic {
    /// A valid package of `w × h`: one root bone `body` (pivot at the bottom centre), the three required slots with
    /// every required key pointing at an empty image, each slot shown by one part, no other part, no action.
    pub fn new(w: u32, h: u32) -> Synthetic {
        let blank = "parts/blank.svg";
        let manifest = json!({
            "format": 1,
            "id": "synthetic",
            "name": "Synthetic",
            "canvas": { "width": w, "height": h },
            "bones": [ { "name": "body", "pivot": [w / 2, h] } ],
            "parts": [
                { "name": "eyes", "bone": "body", "slot": "eyes" },
                { "name": "brows", "bone": "body", "slot": "brows" },
                { "name": "mouth", "bone": "body", "slot": "mouth" }
            ],
            "slots": {
                "eyes": { "open": blank, "half": blank, "closed": blank },
                "brows": { "neutral": blank },
                "mouth": { "A": blank, "B": blank, "C": blank, "D": blank, "E": blank, "F": blank, "G": blank,
                           "H": blank, "X": blank }
            }
        });
        Synthetic { manifest, files: vec![(blank.to_string(), svg(w, h, ""))] }
    }

    /// Adds a bone.
    pub fn bone(&mut self, bone: Value) -> &mut Self {
        self.manifest["bones"].as_array_mut().expect("bones").push(bone);
        self
    }

    /// Adds a part drawn from `file` (with its bytes) on `bone`, behind the face slots.
    pub fn part(&mut self, name: &str, bone: &str, file: &str, bytes: Vec<u8>) -> &mut Self {
        let parts = self.manifest["parts"].as_array_mut().expect("parts");
        let at = parts.len() - 3;
        parts.insert(at, json!({ "name": name, "bone": bone, "file": file }));
        self.file(file, bytes)
    }

    /// Adds a package file.
    pub fn file(&mut self, path: &str, bytes: Vec<u8>) -> &mut Self {
        self.files.push((path.to_string(), bytes));
        self
    }

    /// Adds an action.
    pub fn action(&mut self, action: Value) -> &mut Self {
        let m = self.manifest.as_object_mut().expect("manifest");
        m.entry("actions").or_insert_with(|| json!([])).as_array_mut().expect("actions").push(action);
        self
    }

    /// Writes the package into a new temporary folder.
    pub fn write(&self) -> TempDir {
        let dir = TempDir::new("synthetic");
        std::fs::write(dir.join("avatar.json"), serde_json::to_vec_pretty(&self.manifest).expect("json"))
            .expect("write avatar.json");
        for (path, bytes) in &self.files {
            let to = dir.join(path);
            std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
            std::fs::write(to, bytes).expect("write file");
        }
        dir
    }

    /// Writes and loads the package, which must be valid.
    pub fn load(&self) -> (TempDir, Avatar) {
        let dir = self.write();
        let avatar = load_ok(dir.path());
        (dir, avatar)
    }
}
