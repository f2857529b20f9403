//! doppel's renderer: a script becomes a video file. For each scene (`shoot_scripts`, in `sequence_no` order)
//! the text is spoken ([`doppel_speech`]) or, in an AUDIO scene, a recording is decoded and timed
//! ([`recording`]); the timeline drives the avatar's motion ([`doppel_avatar::motion`]),
//! every frame is composited (background, layers, the avatar, subtitles) at the output size, converted to
//! YUV, and encoded with the audio (voice plus background music) by [`doppel_media`].
//!
//! Everything is resolved and checked before the output file is created: a missing image, an unknown avatar,
//! voice or action is an error that names it, and no partial file is left behind.

mod audio;
mod compose;
mod job;
pub mod live;
pub mod painter;
pub mod photo;
pub mod recording;
pub mod subtitles;
pub mod text;
pub mod video_layer;
mod yuv;

use std::path::{Path, PathBuf};

pub use job::{prepare, render, Prepared, Progress, RenderOptions, RenderReport, FPS};
pub use painter::{Painter, Patch, Rect};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The script is invalid or asks for something doppel cannot do; `path` is the JSON path.
    #[error("{path}: {message}")]
    Script { path: String, message: String },
    /// A file the script refers to could not be used.
    #[error("{path}: {file}: {message}")]
    Asset { path: String, file: PathBuf, message: String },
    #[error(transparent)]
    Speech(#[from] doppel_speech::Error),
    #[error(transparent)]
    Avatar(#[from] doppel_avatar::Error),
    #[error(transparent)]
    Media(#[from] doppel_media::Error),
    /// The caller's cancel flag was set; nothing was left behind.
    #[error("the render was canceled")]
    Canceled,
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn script(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Script { path: path.into(), message: message.into() }
    }

    pub(crate) fn asset(path: impl Into<String>, file: &Path, message: impl Into<String>) -> Error {
        Error::Asset { path: path.into(), file: file.to_path_buf(), message: message.into() }
    }
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
