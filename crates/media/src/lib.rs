//! FFmpeg-backed media I/O for doppel: encoding and muxing video files ([`encode`]), inspecting media files
//! ([`probe`]), decoding audio and video ([`decode`]) and resampling audio ([`resample`]).
//!
//! Everything here is synchronous and CPU-bound: call it from a dedicated thread, never from an async runtime.
//! Files are written to a temporary sibling (`NAME.partial`) and renamed into place when complete, so a failed
//! or interrupted encode never leaves a partial output file behind.

pub mod decode;
pub mod encode;
pub mod image;
pub mod live;
pub mod probe;
pub mod resample;

use std::path::PathBuf;
use std::sync::Once;

pub use encode::{EncodeOptions, Encoder, Planes, VideoCodec};
pub use probe::{probe, MediaInfo, StreamInfo, StreamKind};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// FFmpeg reported an error while doing `what`.
    #[error("{what}: {source}")]
    Ffmpeg {
        what: String,
        #[source]
        source: ffmpeg_next::Error,
    },
    /// This FFmpeg build lacks a codec doppel needs.
    #[error("FFmpeg has no {0} codec (install Debian's libavcodec with x264, libvpx and libopus)")]
    MissingCodec(&'static str),
    /// Invalid options (odd sizes, zero frame rate, alpha with H.264 …).
    #[error("{0}")]
    Invalid(String),
    /// A file could not be written, moved or read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The input has no stream of the kind asked for.
    #[error("{path}: no {kind} stream")]
    NoStream { path: PathBuf, kind: &'static str },
}

/// This crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn ff<T>(what: impl Into<String>, r: std::result::Result<T, ffmpeg_next::Error>) -> Result<T> {
    r.map_err(|source| Error::Ffmpeg { what: what.into(), source })
}

/// Initializes FFmpeg once per process and quiets its log to errors.
pub(crate) fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // ffmpeg_next::init only registers formats on old FFmpeg versions; it cannot fail on 5.1.
        let _ = ffmpeg_next::init();
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Error);
    });
}
