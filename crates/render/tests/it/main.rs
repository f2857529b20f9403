//! Integration tests of doppel-render: real TTS, real FFmpeg, files in a temporary folder.

mod golden;
mod lipsync;
mod photo;
mod recording;
mod render;
mod subtitles;
mod text;
mod video_layer;

use std::path::PathBuf;

/// A fresh temporary folder for one test.
pub fn tmp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("doppel-render-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
