//! Subtitles: cues from a speech timeline, SRT and WebVTT files, and burned-in drawing (placeholder).
