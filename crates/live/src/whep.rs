//! WHEP viewers: a browser's SDP offer in, an SDP answer out, and a task per viewer that sends the stream's
//! shared packets over WebRTC (str0m, sans-IO, on a UDP socket of its own).
//!
//! * The answer offers VP8 and H.264 Constrained Baseline (packetization mode 1) for video and Opus for
//!   audio; the viewer gets the first codec of the caller's preference (or VP8, then H.264) that its offer
//!   has.
//! * Media flows once ICE and DTLS are up (`Event::Connected`): the viewer subscribes to its codec, which asks
//!   the renderer for a keyframe, and skips video until a keyframe arrives. PLI/FIR and a lagging subscription
//!   ask for another.
//! * Audio and video are one media stream in the answer, so that the browser plays them in sync (it lines
//!   both up by the RTCP sender reports, whose wall clock is the stream's).
//! * A viewer ends on WHEP DELETE ([`crate::Hub::close_viewer`]), when the stream ends, when ICE disconnects or
//!   DTLS closes, or when nothing has come from the browser for [`SILENCE_LIMIT`] (a browser that vanished
//!   without a word). Its task owns everything it holds; ending the task releases it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use doppel_media::live::LiveCodec;
use str0m::change::SdpOffer;
use str0m::format::Codec;
use str0m::media::{Frequency, MediaKind, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig};
use tokio::net::UdpSocket;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

use crate::hub::{Hub, MediaPacket, Subscription};

/// Receives from a subscription's channel (never called without one: its `select!` branch is guarded).
async fn recv(rx: Option<&mut Receiver<Arc<MediaPacket>>>) -> Result<Arc<MediaPacket>, RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A viewer from which nothing arrives for this long is gone (browsers send STUN and RTCP every few seconds).
pub const SILENCE_LIMIT: Duration = Duration::from_secs(12);

/// Why an offer was refused.
#[derive(Debug, thiserror::Error)]
pub enum WhepError {
    #[error("the SDP offer cannot be parsed: {0}")]
    BadOffer(String),
    #[error("the offer cannot be answered: {0}")]
    Unacceptable(String),
    #[error("the stream has ended")]
    Ended,
    #[error("cannot open a UDP socket on {0}: {1}")]
    Socket(IpAddr, String),
}

/// An accepted viewer.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub viewer_id: String,
    pub answer: String,
}

/// Answers `offer` and starts the viewer's task (on the current tokio runtime). `ip` is the address the
/// browser reaches this machine at (its UDP socket binds there). `prefer` puts a codec first.
pub async fn accept(
    hub: Arc<Hub>,
    offer: &str,
    ip: IpAddr,
    prefer: Option<LiveCodec>,
    viewer_id: String,
) -> Result<Accepted, WhepError> {
    if hub.is_closed() {
        return Err(WhepError::Ended);
    }
    let offer = SdpOffer::from_sdp_string(offer).map_err(|e| WhepError::BadOffer(e.to_string()))?;
    let mut cfg = RtcConfig::new().clear_codecs().enable_vp8(true).enable_opus(true, false);
    // Constrained Baseline 3.1, packetization mode 1: what the encoder makes.
    cfg.codec_config().add_h264(Pt::from(108), Some(Pt::from(109)), true, 0x42e01f);
    let mut rtc = cfg.build(Instant::now());
    let socket = UdpSocket::bind((ip, 0)).await.map_err(|e| WhepError::Socket(ip, e.to_string()))?;
    let local = socket.local_addr().map_err(|e| WhepError::Socket(ip, e.to_string()))?;
    let candidate = Candidate::host(local, "udp").map_err(|e| WhepError::Socket(ip, e.to_string()))?;
    rtc.add_local_candidate(candidate);
    let answer = rtc.sdp_api().accept_offer(offer).map_err(|e| WhepError::Unacceptable(e.to_string()))?;
    let close = hub.add_viewer(&viewer_id);
    let id = viewer_id.clone();
    let viewer = Viewer { rtc, socket, local, hub: hub.clone(), id: id.clone(), prefer };
    tokio::spawn(async move {
        // The viewer runs in a task of its own, so that even a panic in it ends only this viewer, and it is
        // forgotten either way.
        let _ = tokio::spawn(viewer.run(close)).await;
        hub.remove_viewer(&id);
    });
    Ok(Accepted { viewer_id, answer: one_media_stream(&answer.to_sdp_string()) })
}

/// The answer with every track in one media stream (`a=msid:doppel …`). str0m names a random stream per
/// track when the offer has none (a browser's recvonly offer); browsers lip-sync only the tracks of one stream.
pub fn one_media_stream(sdp: &str) -> String {
    let mut ids: Vec<&str> = Vec::new();
    for line in sdp.lines() {
        if let Some(rest) = line.strip_prefix("a=msid:") {
            if let Some(id) = rest.split_whitespace().next().filter(|id| *id != "-" && !ids.contains(id)) {
                ids.push(id);
            }
        }
    }
    let mut out = sdp.to_string();
    for id in ids {
        out = out.replace(id, "doppel");
    }
    out
}

struct Viewer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    hub: Arc<Hub>,
    id: String,
    prefer: Option<LiveCodec>,
}

fn live_codec(c: Codec) -> Option<LiveCodec> {
    match c {
        Codec::Vp8 => Some(LiveCodec::Vp8),
        Codec::H264 => Some(LiveCodec::H264),
        _ => None,
    }
}

impl Viewer {
    /// Sends what str0m wants sent; returns when it next wants a timeout, or `None` when it failed.
    async fn drain(&mut self, events: &mut Vec<Event>) -> Option<Instant> {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => return Some(t),
                Ok(Output::Transmit(t)) => {
                    let _ = self.socket.send_to(&t.contents, t.destination).await;
                }
                Ok(Output::Event(e)) => events.push(e),
                Err(_) => return None,
            }
        }
    }

    /// The video codec and payload type to send, and the audio payload type.
    fn pick(&mut self, video: Mid, audio: Option<Mid>) -> Option<(LiveCodec, Pt, Option<Pt>)> {
        let offered: Vec<(LiveCodec, Pt)> = self
            .rtc
            .writer(video)?
            .payload_params()
            .filter_map(|p| live_codec(p.spec().codec).map(|c| (c, p.pt())))
            .collect();
        let order: Vec<LiveCodec> = self.prefer.into_iter().chain(LiveCodec::ALL).collect();
        let (codec, pt) = order.iter().find_map(|c| offered.iter().find(|(o, _)| o == c).copied())?;
        let audio_pt = audio
            .and_then(|m| self.rtc.writer(m)?.payload_params().find(|p| p.spec().codec == Codec::Opus).map(|p| p.pt()));
        Some((codec, pt, audio_pt))
    }

    async fn run(mut self, close: Arc<tokio::sync::Notify>) {
        let mut buf = vec![0u8; 2000];
        let mut events = Vec::new();
        let (mut video_mid, mut audio_mid) = (None, None);
        let mut sub: Option<Subscription> = None;
        let mut pts = None;
        let mut need_key = true;
        let mut last_heard = Instant::now();
        let mut closing: Option<Instant> = None;
        let mut connected = false;
        loop {
            let Some(deadline) = self.drain(&mut events).await else { break };
            for e in events.drain(..) {
                match e {
                    Event::MediaAdded(m) if m.kind == MediaKind::Video => video_mid = Some(m.mid),
                    Event::MediaAdded(m) if m.kind == MediaKind::Audio => audio_mid = Some(m.mid),
                    Event::Connected => connected = true,
                    Event::KeyframeRequest(_) => {
                        if let Some(s) = &sub {
                            self.hub.request_keyframe(s.codec);
                        }
                    }
                    Event::IceConnectionStateChange(IceConnectionState::Disconnected) | Event::Closed => {
                        self.rtc.disconnect();
                    }
                    _ => {}
                }
            }
            // Media flows once connected and the video's mid is known (the events may come in either order).
            if let (true, None, Some(v)) = (connected, &sub, video_mid) {
                if let Some((codec, vpt, apt)) = self.pick(v, audio_mid) {
                    self.hub.set_viewer_codec(&self.id, codec);
                    sub = Some(self.hub.subscribe(codec));
                    pts = Some((vpt, apt));
                    need_key = true;
                }
            }
            let close_stuck = closing.is_some_and(|t| t.elapsed() > Duration::from_secs(2));
            if !self.rtc.is_alive() || last_heard.elapsed() > SILENCE_LIMIT || close_stuck {
                break;
            }
            let wait = deadline.saturating_duration_since(Instant::now());
            let (vpt, apt) = pts.unwrap_or((Pt::from(0), None));
            let codec = sub.as_ref().map(|s: &Subscription| s.codec);
            let (vrx, arx) = match sub.as_mut() {
                Some(s) => (Some(&mut s.video), Some(&mut s.audio)),
                None => (None, None),
            };
            let watching = vrx.is_some();
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => {
                    let Ok((n, source)) = r else { continue };
                    last_heard = Instant::now();
                    if let Ok(receive) = Receive::new(Protocol::Udp, source, self.local, &buf[..n]) {
                        let _ = self.rtc.handle_input(Input::Receive(Instant::now(), receive));
                    }
                }
                _ = tokio::time::sleep(wait) => {
                    let _ = self.rtc.handle_input(Input::Timeout(Instant::now()));
                }
                f = recv(vrx), if watching => match f {
                    Ok(p) => {
                        if need_key && !p.key {
                            continue;
                        }
                        need_key = false;
                        if let Some(mid) = video_mid {
                            if let Some(w) = self.rtc.writer(mid) {
                                let t = MediaTime::from_90khz(p.pts.max(0) as u64 * 3600);
                                let _ = w.write(vpt, p.wallclock, t, p.data.clone());
                            }
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        need_key = true;
                        if let Some(c) = codec {
                            self.hub.request_keyframe(c);
                        }
                    }
                    Err(RecvError::Closed) => break,
                },
                a = recv(arx), if watching => {
                    if let (Ok(p), Some(mid), Some(apt)) = (a, audio_mid, apt) {
                        if let Some(w) = self.rtc.writer(mid) {
                            let t = MediaTime::new(p.pts.max(0) as u64, Frequency::FORTY_EIGHT_KHZ);
                            let _ = w.write(apt, p.wallclock, t, p.data.clone());
                        }
                    }
                }
                _ = close.notified(), if closing.is_none() => {
                    // RTCP BYE and DTLS close_notify tell the browser; then the connection goes quiet.
                    closing = Some(Instant::now());
                    if self.rtc.close().is_err() {
                        self.rtc.disconnect();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_track_joins_one_stream() {
        let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=msid:AbC123 t1\r\na=ssrc:1 msid:AbC123 t1\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=msid:XyZ789 t2\r\n";
        let out = one_media_stream(sdp);
        assert_eq!(out.matches("a=msid:doppel ").count(), 2, "{out}");
        assert!(out.contains("a=ssrc:1 msid:doppel t1"), "{out}");
        assert!(!out.contains("AbC123") && !out.contains("XyZ789"));
    }
}
