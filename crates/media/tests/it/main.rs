//! Integration tests of doppel-media with the real FFmpeg: encode, probe, decode back.

use std::path::PathBuf;

use doppel_media::decode::{decode_audio, VideoReader};
use doppel_media::{probe, EncodeOptions, Encoder, StreamKind, VideoCodec};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("doppel-media-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// Encodes `frames` frames of a moving bar over grey (left half transparent when alpha) and a 440 Hz tone.
fn encode(path: &std::path::Path, opts: &EncodeOptions, frames: u32) {
    let mut enc = Encoder::create(path, opts).expect("create");
    let (w, h) = (opts.width as usize, opts.height as usize);
    for i in 0..frames {
        let p = enc.planes();
        let (y, ys) = p.y;
        for row in 0..h {
            for col in 0..w {
                let bar = (col + i as usize * 8) % w < w / 8;
                y[row * ys + col] = if bar { 235 } else { 110 };
            }
        }
        for (plane, stride) in [p.u, p.v] {
            for row in 0..h / 2 {
                plane[row * stride..row * stride + w / 2].fill(128);
            }
        }
        if let Some((a, s)) = p.a {
            for row in 0..h {
                for col in 0..w {
                    a[row * s + col] = if col < w / 2 { 0 } else { 255 };
                }
            }
        }
        enc.push_frame().expect("frame");
        if let Some(rate) = opts.audio_rate {
            let per_frame = (rate / opts.fps) as usize;
            let ch = opts.audio_channels as usize;
            let mut samples = Vec::with_capacity(per_frame * ch);
            for k in 0..per_frame {
                let t = (i as usize * per_frame + k) as f32 / rate as f32;
                let s = (t * 440.0 * std::f32::consts::TAU).sin() * 0.5;
                samples.extend(std::iter::repeat_n(s, ch));
            }
            enc.push_audio(&samples).expect("audio");
        }
    }
    enc.finish().expect("finish");
}

#[test]
fn h264_mp4_has_high_profile_aac_and_matching_lengths() {
    let path = tmp("a.mp4");
    let opts = EncodeOptions { width: 360, height: 640, bitrate_kbps: Some(2000), ..EncodeOptions::default() };
    encode(&path, &opts, 50);
    let info = probe(&path).expect("probe");
    assert!(info.format.contains("mp4"), "{}", info.format);
    let v = info.stream(StreamKind::Video).expect("video");
    assert_eq!((v.codec.as_str(), v.width, v.height, v.profile), ("h264", 360, 640, 100));
    assert_eq!(v.pixel_format, "yuv420p");
    assert_eq!(v.packets, 50);
    assert!((v.fps - 25.0).abs() < 0.01, "{}", v.fps);
    assert_eq!(v.duration_ms, 2000);
    let a = info.stream(StreamKind::Audio).expect("audio");
    assert_eq!((a.codec.as_str(), a.sample_rate, a.channels), ("aac", 48000, 2));
    assert!(a.duration_ms.abs_diff(v.duration_ms) <= 40, "audio {} ms vs video {} ms", a.duration_ms, v.duration_ms);
    assert!(!doppel_media::encode::partial_path(&path).exists());
    // Every frame decodes back, the last one included.
    let mut reader = VideoReader::open(&path).expect("open");
    let mut decoded = 0;
    while reader.next_frame().expect("decode").is_some() {
        decoded += 1;
    }
    assert_eq!(decoded, 50);
    // faststart: the moov atom comes before mdat.
    let bytes = std::fs::read(&path).expect("read");
    let find = |tag: &[u8]| bytes.windows(4).position(|w| w == tag).expect("atom");
    assert!(find(b"moov") < find(b"mdat"));
}

#[test]
fn audio_decodes_back_to_the_tone() {
    let path = tmp("tone.mp4");
    encode(&path, &EncodeOptions { width: 64, height: 64, ..EncodeOptions::default() }, 25);
    let pcm = decode_audio(&path, 16000, 1).expect("decode");
    assert!((pcm.len() as i64 - 16000).abs() < 1200, "{} samples", pcm.len());
    let middle = &pcm[2000..14000];
    let crossings = middle.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
    let hz = crossings as f64 / (middle.len() as f64 / 16000.0);
    assert!((hz - 440.0).abs() < 10.0, "{hz} Hz");
}

#[test]
fn vp8_webm_with_alpha_decodes_with_alpha() {
    let path = tmp("alpha.webm");
    let opts =
        EncodeOptions { width: 320, height: 240, codec: VideoCodec::Vp8, alpha: true, ..EncodeOptions::default() };
    encode(&path, &opts, 25);
    let info = probe(&path).expect("probe");
    assert!(info.format.contains("webm"), "{}", info.format);
    let v = info.stream(StreamKind::Video).expect("video");
    assert_eq!(v.codec, "vp8");
    assert!(v.alpha, "no alpha: {v:?}");
    assert_eq!(info.stream(StreamKind::Audio).map(|a| a.codec.as_str()), Some("opus"));
    let mut reader = VideoReader::open(&path).expect("open");
    let frame = reader.next_frame().expect("decode").expect("a frame");
    assert!(reader.alpha);
    let alpha_at = |x: usize, y: usize| frame.data[(y * frame.width as usize + x) * 4 + 3];
    assert!(alpha_at(40, 120) < 16, "left should be transparent: {}", alpha_at(40, 120));
    assert!(alpha_at(280, 120) > 240, "right should be opaque: {}", alpha_at(280, 120));
    let mut count = 1;
    while reader.next_frame().expect("decode").is_some() {
        count += 1;
    }
    assert_eq!(count, 25);
}

#[test]
fn bad_options_and_failed_encodes_leave_no_file() {
    let path = tmp("bad.mp4");
    let odd = EncodeOptions { width: 101, ..EncodeOptions::default() };
    assert!(Encoder::create(&path, &odd).unwrap_err().to_string().contains("even"));
    let alpha = EncodeOptions { alpha: true, ..EncodeOptions::default() };
    assert!(Encoder::create(&path, &alpha).unwrap_err().to_string().contains("VP8"));
    let enc = Encoder::create(&path, &EncodeOptions { width: 64, height: 64, ..EncodeOptions::default() }).unwrap();
    assert!(doppel_media::encode::partial_path(&path).exists());
    drop(enc);
    assert!(!path.exists() && !doppel_media::encode::partial_path(&path).exists());
    assert!(probe(&tmp("missing.mp4")).is_err());
}

#[test]
fn resampling_keeps_duration() {
    let input: Vec<f32> = (0..22050).map(|i| (i as f32 / 22050.0 * 300.0 * std::f32::consts::TAU).sin()).collect();
    let out = doppel_media::resample::resample(&input, 22050, 1, 48000, 2).expect("resample");
    let frames = out.len() / 2;
    assert!((frames as i64 - 48000).abs() < 100, "{frames}");
    assert!(out.chunks_exact(2).all(|c| c[0] == c[1]));
}

/// A 16-bit mono WAV of `ms` milliseconds of a 300 Hz tone at `rate`.
fn tone_wav(rate: u32, ms: u32) -> Vec<u8> {
    let n = rate * ms / 1000;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + n * 2).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&1u16.to_le_bytes()); // mono
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2).to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(n * 2).to_le_bytes());
    for i in 0..n {
        let s = ((i as f32 / rate as f32 * 300.0 * std::f32::consts::TAU).sin() * 12000.0) as i16;
        b.extend_from_slice(&s.to_le_bytes());
    }
    b
}

#[test]
fn an_audio_track_reports_its_declared_length_and_a_cut() {
    use doppel_media::decode::decode_audio_track;
    let whole = tmp("whole.wav");
    let bytes = tone_wav(16000, 2000);
    std::fs::write(&whole, &bytes).expect("write");
    let t = decode_audio_track(&whole, 24000, 1, None).expect("decode");
    assert_eq!((t.declared_ms, t.damaged_packets, t.cut), (Some(2000), 0, false));
    assert!(t.duration_ms(24000, 1).abs_diff(2000) <= 2, "{} ms", t.duration_ms(24000, 1));

    // Cut in half (at an odd byte): the header still declares 2 s.
    let half = tmp("half.wav");
    std::fs::write(&half, &bytes[..bytes.len() / 2 + 1]).expect("write");
    let t = decode_audio_track(&half, 24000, 1, None).expect("decode");
    assert_eq!(t.declared_ms, Some(2000));
    assert!(t.duration_ms(24000, 1) < 1100, "{} ms", t.duration_ms(24000, 1));

    // Decoding stops at the limit asked for.
    let t = decode_audio_track(&whole, 24000, 1, Some(500)).expect("decode");
    assert!(t.cut && t.duration_ms(24000, 1) < 1000, "{} ms", t.duration_ms(24000, 1));

    // An MP4's AAC track declares its length too.
    let mp4 = tmp("declared.mp4");
    encode(&mp4, &EncodeOptions { width: 64, height: 64, ..EncodeOptions::default() }, 25);
    let t = decode_audio_track(&mp4, 24000, 2, None).expect("decode");
    let declared = t.declared_ms.expect("declared");
    let decoded = t.duration_ms(24000, 2);
    assert!(declared.abs_diff(decoded) < 100, "declared {declared} ms, decoded {decoded} ms");
    assert_eq!(t.damaged_packets, 0);
}
