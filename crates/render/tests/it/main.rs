//! Integration tests of doppel-render (real TTS, real FFmpeg).
