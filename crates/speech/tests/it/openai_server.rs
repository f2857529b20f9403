//! A small server speaking OpenAI's text-to-speech API, for tests: `POST /v1/audio/speech` with a JSON body is
//! answered with a real WAV of the requested text, spoken by espeak-ng (`EspeakTts::speak_raw`) with the voice
//! the request names. It checks the bearer key, the path and the body, records every request, and can be told
//! how to answer the next ones (other formats, streamed sizes, errors, garbage, slowness).
//!
//! Shared by doppel-speech's integration tests and the `doppel` binary's (which includes this file by path).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use doppel_speech::EspeakTts;
use serde_json::{json, Value};

/// The API key the server accepts.
pub const KEY: &str = "sk-doppel-test";

/// The voices the server knows, and the espeak-ng voice that speaks each.
pub const VOICES: &[(&str, &str)] =
    &[("alloy", "espeak-en-us-ava"), ("onyx", "espeak-en-us-adam"), ("xiaobei", "espeak-zh-cn-xiaoyun")];

/// How the server answers a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// 16-bit mono WAV at espeak-ng's 22,050 Hz, with a Content-Length.
    Wav,
    /// The same speech as 16-bit stereo at 44,100 Hz.
    Stereo44k,
    /// 16-bit mono with the data size a streaming server writes (`0xFFFFFFFF`), sent chunked.
    Streamed,
    /// HTTP 500 with a long JSON error body.
    Status500,
    /// HTTP 200, `audio/wav`, and text that is no audio at all.
    Garbage,
    /// A WAV of 32-bit float samples.
    Float,
    /// Wait this long, then answer normally.
    Slow(Duration),
}

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: Value,
}

/// A running test server; it lives until the test process ends.
#[derive(Debug, Clone)]
pub struct SpeechServer {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    /// Per audio reply: its sample rate and length in samples per channel.
    sent: Arc<Mutex<Vec<(u32, usize)>>>,
}

impl SpeechServer {
    /// Starts a server on a free port of 127.0.0.1.
    pub fn start() -> SpeechServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the test speech server");
        let server = SpeechServer {
            port: listener.local_addr().expect("local address").port(),
            requests: Arc::default(),
            replies: Arc::default(),
            sent: Arc::default(),
        };
        let s = server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || s.handle(stream));
            }
        });
        server
    }

    /// The API base to configure: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Answers the next requests in this order (then with [`Reply::Wav`] again).
    pub fn then(&self, replies: impl IntoIterator<Item = Reply>) {
        self.replies.lock().expect("replies").extend(replies);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("requests").clone()
    }

    /// The audio replies sent so far: sample rate and samples per channel of each.
    pub fn sent(&self) -> Vec<(u32, usize)> {
        self.sent.lock().expect("sent").clone()
    }

    fn handle(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
        let (mut length, mut authorization, mut content_type) = (0usize, None, None);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                let value = value.trim().to_string();
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.parse().unwrap_or(0),
                    "authorization" => authorization = Some(value),
                    "content-type" => content_type = Some(value),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        self.requests.lock().expect("requests").push(Request {
            path: path.clone(),
            authorization: authorization.clone(),
            content_type,
            body: body.clone(),
        });
        let mut out = stream;
        if method != "POST" || path != "/v1/audio/speech" {
            return respond(&mut out, 404, "application/json", json!({"detail": "Not Found"}).to_string().as_bytes());
        }
        if authorization.as_deref() != Some(&format!("Bearer {KEY}")) {
            let e = json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}});
            return respond(&mut out, 401, "application/json", e.to_string().as_bytes());
        }
        let (Some(text), Some(voice), Some(_model)) =
            (body["input"].as_str(), body["voice"].as_str(), body["model"].as_str())
        else {
            return respond(&mut out, 422, "application/json", br#"{"detail":"input, voice and model are required"}"#);
        };
        if body["response_format"] != "wav" {
            return respond(&mut out, 400, "application/json", br#"{"detail":"only wav in this test server"}"#);
        }
        let Some(&(_, espeak_voice)) = VOICES.iter().find(|(v, _)| *v == voice) else {
            let e = json!({"detail": format!("voice {voice:?} not found")});
            return respond(&mut out, 400, "application/json", e.to_string().as_bytes());
        };
        let mut reply = self.replies.lock().expect("replies").pop_front().unwrap_or(Reply::Wav);
        if let Reply::Slow(d) = reply {
            std::thread::sleep(d);
            reply = Reply::Wav;
        }
        let speech = || {
            let samples = EspeakTts::new().speak_raw(espeak_voice, text).expect("espeak-ng speaks the request");
            let rate = if reply == Reply::Stereo44k { 44100 } else { 22050 };
            self.sent.lock().expect("sent").push((rate, samples.len() * (rate / 22050) as usize));
            samples
        };
        match reply {
            Reply::Wav | Reply::Slow(_) => respond(&mut out, 200, "audio/wav", &wav(22050, 1, 1, &speech(), None)),
            Reply::Stereo44k => {
                let stereo: Vec<i16> = speech().iter().flat_map(|&s| [s, s, s, s]).collect();
                respond(&mut out, 200, "audio/wav", &wav(44100, 2, 1, &stereo, None))
            }
            Reply::Streamed => {
                let bytes = wav(22050, 1, 1, &speech(), Some(u32::MAX));
                let _ = write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                );
                for chunk in bytes.chunks(4096) {
                    let _ = write!(out, "{:x}\r\n", chunk.len());
                    let _ = out.write_all(chunk);
                    let _ = out.write_all(b"\r\n");
                }
                let _ = out.write_all(b"0\r\n\r\n");
            }
            Reply::Status500 => {
                let detail = format!("the model ran out of memory while speaking; {}", "details ".repeat(60));
                respond(&mut out, 500, "application/json", json!({"detail": detail}).to_string().as_bytes())
            }
            Reply::Garbage => respond(&mut out, 200, "audio/wav", b"this is not audio at all, just some text"),
            Reply::Float => {
                let samples: Vec<i16> = speech().iter().flat_map(|&s| [0, s]).collect();
                respond(&mut out, 200, "audio/wav", &wav(22050, 1, 3, &samples, None))
            }
        }
    }
}

fn respond(out: &mut TcpStream, status: u16, content_type: &str, body: &[u8]) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        _ => "Internal Server Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(body);
}

/// A WAV of `channels` interleaved channels; `tag` 1 is 16-bit PCM, 3 is 32-bit float (the 16-bit words are
/// written as they are, two per sample). `data_size` overrides the data chunk's size field.
pub fn wav(rate: u32, channels: u16, tag: u16, words: &[i16], data_size: Option<u32>) -> Vec<u8> {
    let bits: u16 = if tag == 3 { 32 } else { 16 };
    let len = (words.len() * 2) as u32;
    let mut h = Vec::with_capacity(44 + words.len() * 2);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&data_size.map_or(36 + len, |_| u32::MAX).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&tag.to_le_bytes());
    h.extend_from_slice(&channels.to_le_bytes());
    h.extend_from_slice(&rate.to_le_bytes());
    h.extend_from_slice(&(rate * u32::from(channels) * u32::from(bits / 8)).to_le_bytes());
    h.extend_from_slice(&(channels * bits / 8).to_le_bytes());
    h.extend_from_slice(&bits.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_size.unwrap_or(len).to_le_bytes());
    for w in words {
        h.extend_from_slice(&w.to_le_bytes());
    }
    h
}
