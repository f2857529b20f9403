//! doppel's live streams: a digital human on air all the time, speaking when driven, watched over WebRTC.
//!
//! * [`session`]: a stream's real-time renderer (25 fps on a clock), its drive queue (text, recordings, PCM
//!   arriving over a WebSocket), interrupts and actions, and its status (ZEGO's 1–5 for streams and drives).
//! * [`hub`]: the stream's outputs: one encode per codec (VP8, H.264 Constrained Baseline) while that codec has
//!   viewers, Opus audio, fanned out to every viewer; keyframes on join.
//! * [`whep`]: WHEP viewers (an SDP offer in, an answer out) over str0m.
//! * [`rtmp`]: pushing the stream to an RTMP server (H.264 and AAC in FLV).
//!
//! The server ([`doppel-server`]) owns the sessions, stores their rows, and speaks the APIs.
//!
//! Invariants: a stream's renderer and preparer are plain threads and never block an async runtime; viewers are
//! tokio tasks that own their socket and state, so a failing viewer ends alone; every status change goes
//! through the session's event callback exactly once, in order; a stopped stream holds no thread, socket or
//! encoder.

pub mod hub;
pub mod rtmp;
pub mod session;
pub mod whep;

pub use doppel_media::live::LiveCodec;
pub use hub::Hub;
pub use session::{
    DriveInfo, DriveKind, DriveStatus, Event, PcmFeed, Session, SessionConfig, SessionError, Stats, StreamStatus,
};
