//! RTMP push (next).
