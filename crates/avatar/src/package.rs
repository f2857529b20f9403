//! Loading avatar packages (a directory, a zip, or built into the binary), validating them, and turning their
//! parts into sprites at a render scale.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use include_dir::{include_dir, Dir};
use serde::Serialize;

use crate::manifest::Manifest;
use crate::rig::Rig;
use crate::{Error, Result};

static BUILTIN_DIR: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../../avatars");

/// A loaded, validated avatar package: the manifest and the bytes of every file it uses.
#[derive(Debug, Clone)]
pub struct Avatar {
    pub manifest: Manifest,
    files: Arc<BTreeMap<String, Vec<u8>>>,
}

/// What catalogs show of an avatar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AvatarInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub width: u32,
    pub height: u32,
    pub transparent: bool,
    pub default_voice: Option<String>,
    pub emotions: Vec<String>,
    pub actions: Vec<ActionInfo>,
}

/// An action as catalogs show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionInfo {
    pub name: String,
    pub tag: Option<String>,
    pub duration_ms: u32,
}

/// Normalizes a package-relative path, refusing absolute paths and `..`.
fn clean(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for c in path.split(['/', '\\']) {
        match c {
            "" | "." => {}
            ".." => return None,
            c => parts.push(c),
        }
    }
    (!parts.is_empty() && !path.starts_with('/')).then(|| parts.join("/"))
}

impl Avatar {
    /// Loads a package from a directory or a `.zip` file.
    pub fn load(path: &Path) -> Result<Avatar> {
        let name = path.display().to_string();
        if path.is_dir() {
            let root = path.to_path_buf();
            Avatar::from_files(&name, |rel| std::fs::read(root.join(rel)).ok())
        } else {
            let bytes = std::fs::read(path).map_err(|e| Error::Io { path: path.to_path_buf(), source: e })?;
            Avatar::from_zip(&name, &bytes)
        }
    }

    /// Loads a package from the bytes of a zip archive; `avatar.json` may be at the root or in one folder.
    pub fn from_zip(name: &str, bytes: &[u8]) -> Result<Avatar> {
        let bad = |m: String| Error::Invalid { avatar: name.to_string(), problems: vec![m] };
        let mut zip =
            zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| bad(format!("not a zip archive: {e}")))?;
        let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut total = 0u64;
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).map_err(|e| bad(format!("zip entry {i}: {e}")))?;
            if f.is_dir() {
                continue;
            }
            let Some(path) = f.name().ok().and_then(|n| clean(&n)) else { continue };
            total += f.size();
            if total > 256 << 20 {
                return Err(bad("package is larger than 256 MiB unpacked".into()));
            }
            let mut data = Vec::with_capacity(f.size().min(64 << 20) as usize);
            f.read_to_end(&mut data).map_err(|e| bad(format!("{path}: {e}")))?;
            entries.insert(path, data);
        }
        let manifest_path = entries
            .keys()
            .filter(|k| *k == "avatar.json" || k.ends_with("/avatar.json"))
            .min_by_key(|k| k.len())
            .cloned()
            .ok_or_else(|| bad("avatar.json is missing".into()))?;
        let prefix = manifest_path.trim_end_matches("avatar.json").to_string();
        Avatar::from_files(name, |rel| entries.get(&format!("{prefix}{rel}")).cloned())
    }

    /// Builds an avatar from a file reader (`read("parts/body.svg")`), validating everything.
    pub fn from_files(name: &str, read: impl Fn(&str) -> Option<Vec<u8>>) -> Result<Avatar> {
        let json = read("avatar.json").ok_or_else(|| Error::Invalid {
            avatar: name.to_string(),
            problems: vec!["avatar.json is missing".into()],
        })?;
        let manifest: Manifest = serde_json::from_slice(&json)
            .map_err(|e| Error::Invalid { avatar: name.to_string(), problems: vec![format!("avatar.json: {e}")] })?;
        let mut files = BTreeMap::new();
        let mut wanted: Vec<&String> = manifest.parts.iter().filter_map(|p| p.file.as_ref()).collect();
        wanted.extend(manifest.slots.values().flat_map(|m| m.values()));
        wanted.extend(manifest.actions.iter().flat_map(|a| a.frames.iter()));
        wanted.extend(manifest.photo.as_ref().map(|p| &p.file));
        for f in wanted {
            if let Some(bytes) = clean(f).and_then(|c| read(&c)) {
                files.insert(f.clone(), bytes);
            }
        }
        let problems = manifest.problems(&|f| files.contains_key(f));
        if !problems.is_empty() {
            return Err(Error::Invalid { avatar: name.to_string(), problems });
        }
        Ok(Avatar { manifest, files: Arc::new(files) })
    }

    /// A photo avatar: a canvas-sized opaque PNG and its 468-point face mesh in the same pixels. The avatar has a
    /// body and a head bone (the head turns about a point below the chin), every emotion, and a `nod` action.
    pub fn from_photo(
        id: &str,
        name: &str,
        png: Vec<u8>,
        (width, height): (u32, u32),
        landmarks: Vec<[f32; 3]>,
    ) -> Result<Avatar> {
        let bad = |m: String| Error::Invalid { avatar: id.to_string(), problems: vec![m] };
        if landmarks.len() != 468 {
            return Err(bad(format!("photo.landmarks: {} points, 468 are required", landmarks.len())));
        }
        let (forehead, chin) = (landmarks[10], landmarks[152]);
        let face_height = ((chin[0] - forehead[0]).powi(2) + (chin[1] - forehead[1]).powi(2)).sqrt();
        let nod = |dy: f32| serde_json::json!({ "head": { "dy": dy * face_height } });
        let manifest = serde_json::json!({
            "format": 1,
            "id": id,
            "name": name,
            "description": "Photo avatar",
            "canvas": { "width": width, "height": height },
            "transparent": false,
            "bones": [
                { "name": "body", "pivot": [width as f32 / 2.0, height as f32] },
                { "name": "head", "parent": "body", "pivot": [chin[0], chin[1]] }
            ],
            "parts": [],
            "emotions": ["HAPPY", "SAD", "CALM", "ANGER"],
            "actions": [{
                "name": "nod", "tag": "nod", "duration_ms": 1200,
                "keyframes": [
                    { "t_ms": 0, "bones": {} }, { "t_ms": 300, "bones": nod(0.05) }, { "t_ms": 600, "bones": {} },
                    { "t_ms": 900, "bones": nod(0.04) }, { "t_ms": 1200, "bones": {} }
                ]
            }],
            "photo": { "file": "photo.png", "landmarks": landmarks }
        });
        let json = serde_json::to_vec(&manifest).map_err(|e| bad(e.to_string()))?;
        let files: BTreeMap<String, Vec<u8>> =
            [("avatar.json".to_string(), json), ("photo.png".to_string(), png)].into();
        Avatar::from_files(id, |rel| files.get(rel).cloned())
    }

    /// The package as a zip archive (`avatar.json` and every file it names), as [`Avatar::from_zip`] reads it.
    pub fn to_zip(&self) -> Result<Vec<u8>> {
        use std::io::Write;
        let bad = |e: String| Error::Invalid {
            avatar: self.manifest.id.clone(),
            problems: vec![format!("writing the zip: {e}")],
        };
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let json = serde_json::to_vec_pretty(&self.manifest).map_err(|e| bad(e.to_string()))?;
        for (name, data) in
            std::iter::once(("avatar.json", &json)).chain(self.files.iter().map(|(k, v)| (k.as_str(), v)))
        {
            zip.start_file(name, opts).map_err(|e| bad(e.to_string()))?;
            zip.write_all(data).map_err(|e| bad(e.to_string()))?;
        }
        Ok(zip.finish().map_err(|e| bad(e.to_string()))?.into_inner())
    }

    /// Whether this is a photo avatar.
    pub fn is_photo(&self) -> bool {
        self.manifest.photo.is_some()
    }

    /// The bytes of a package file named in the manifest.
    pub fn file(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// The avatar as catalogs show it.
    pub fn info(&self) -> AvatarInfo {
        let m = &self.manifest;
        AvatarInfo {
            id: m.id.clone(),
            name: m.name.clone(),
            description: m.description.clone(),
            width: m.canvas.width,
            height: m.canvas.height,
            transparent: m.transparent,
            default_voice: m.default_voice.clone(),
            emotions: m.emotions.clone(),
            actions: m
                .actions
                .iter()
                .map(|a| ActionInfo { name: a.name.clone(), tag: a.tag.clone(), duration_ms: a.duration_ms })
                .collect(),
        }
    }

    /// Rasterizes every part at `scale` (1.0 = the native canvas) into a rig ready to draw.
    pub fn rasterize(&self, scale: f32) -> Result<Rig> {
        Rig::new(self, scale)
    }
}

/// The avatars built into doppel (from the repository's `avatars/` folder), loaded once.
pub fn builtin() -> &'static [Avatar] {
    static CELL: OnceLock<Vec<Avatar>> = OnceLock::new();
    CELL.get_or_init(|| {
        let mut out = Vec::new();
        for dir in BUILTIN_DIR.dirs() {
            let loaded = Avatar::from_files(&dir.path().display().to_string(), |rel| {
                BUILTIN_DIR.get_file(dir.path().join(rel)).map(|f| f.contents().to_vec())
            });
            // The built-ins are validated by the test suite; a broken one is left out rather than panicking.
            if let Ok(a) = loaded {
                out.push(a);
            }
        }
        out.sort_by(|a, b| a.manifest.id.cmp(&b.manifest.id));
        out
    })
}

/// A built-in avatar by id.
pub fn builtin_by_id(id: &str) -> Option<&'static Avatar> {
    builtin().iter().find(|a| a.manifest.id.eq_ignore_ascii_case(id))
}
