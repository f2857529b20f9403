//! Writing and reading 16-bit mono PCM WAV files (the RIFF/WAVE format, PCM format tag 1), and decoding the
//! 16-bit PCM WAV that speech servers answer with ([`decode_to_mono`]: any channel count, streamed sizes).

use std::io::{self, Read, Write};

/// Writes `samples` as a 16-bit mono WAV.
pub fn write<W: Write>(mut out: W, sample_rate: u32, samples: &[i16]) -> io::Result<()> {
    let data_len = u32::try_from(samples.len() * 2).map_err(|_| io::Error::other("audio too long for WAV"))?;
    let mut header = Vec::with_capacity(44);
    header.extend_from_slice(b"RIFF");
    header.extend_from_slice(&(36 + data_len).to_le_bytes());
    header.extend_from_slice(b"WAVEfmt ");
    header.extend_from_slice(&16u32.to_le_bytes());
    header.extend_from_slice(&1u16.to_le_bytes()); // PCM
    header.extend_from_slice(&1u16.to_le_bytes()); // mono
    header.extend_from_slice(&sample_rate.to_le_bytes());
    header.extend_from_slice(&(sample_rate * 2).to_le_bytes());
    header.extend_from_slice(&2u16.to_le_bytes());
    header.extend_from_slice(&16u16.to_le_bytes());
    header.extend_from_slice(b"data");
    header.extend_from_slice(&data_len.to_le_bytes());
    out.write_all(&header)?;
    let mut body = Vec::with_capacity(samples.len() * 2);
    for s in samples {
        body.extend_from_slice(&s.to_le_bytes());
    }
    out.write_all(&body)
}

/// Reads a 16-bit mono PCM WAV written by [`write`] (or any canonical one), returning the sample rate and
/// samples.
pub fn read<R: Read>(mut input: R) -> io::Result<(u32, Vec<i16>)> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(bad("not a RIFF/WAVE file"));
    }
    let mut pos = 12;
    let mut rate = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let len = u32::from_le_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]) as usize;
        let body = bytes.get(pos + 8..(pos + 8).saturating_add(len).min(bytes.len())).unwrap_or(&[]);
        if id == b"fmt " && body.len() >= 16 {
            let format = u16::from_le_bytes([body[0], body[1]]);
            let channels = u16::from_le_bytes([body[2], body[3]]);
            let bits = u16::from_le_bytes([body[14], body[15]]);
            if format != 1 || channels != 1 || bits != 16 {
                return Err(bad("only 16-bit mono PCM is supported"));
            }
            rate = Some(u32::from_le_bytes([body[4], body[5], body[6], body[7]]));
        } else if id == b"data" {
            let rate = rate.ok_or_else(|| bad("data before fmt"))?;
            let samples = body.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
            return Ok((rate, samples));
        }
        pos += 8 + len + (len & 1);
    }
    Err(bad("no data chunk"))
}

/// Decodes a 16-bit PCM WAV of any channel count to mono (channels averaged), returning the sample rate and
/// samples. Made for replies of speech servers: a `data` chunk whose size is 0 or `0xFFFFFFFF` (what a server
/// that streams its answer writes before it knows the length), or larger than what follows, runs to the end of
/// the bytes; the RIFF size is not checked. `WAVE_FORMAT_EXTENSIBLE` with a PCM sub-format is accepted; any
/// other format (float, 8/24/32-bit, compressed) is an error that names it.
pub fn decode_to_mono(bytes: &[u8]) -> io::Result<(u32, Vec<i16>)> {
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, m);
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(bad("not a RIFF/WAVE file".into()));
    }
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let mut pos = 12;
    let mut format: Option<(u32, usize)> = None;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let len = u32::from_le_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]);
        let start = pos + 8;
        if id == b"data" {
            let (rate, channels) = format.ok_or_else(|| bad("the data chunk comes before the fmt chunk".into()))?;
            let end = match len {
                0 | u32::MAX => bytes.len(),
                n => start.saturating_add(n as usize).min(bytes.len()),
            };
            let frame = 2 * channels;
            let samples = bytes[start..end]
                .chunks_exact(frame)
                .map(|f| {
                    let sum: i32 = f.chunks_exact(2).map(|c| i32::from(i16::from_le_bytes([c[0], c[1]]))).sum();
                    (sum / channels as i32) as i16
                })
                .collect();
            return Ok((rate, samples));
        }
        let body = bytes.get(start..start.saturating_add(len as usize).min(bytes.len())).unwrap_or(&[]);
        if id == b"fmt " {
            if body.len() < 16 {
                return Err(bad(format!("the fmt chunk is {} bytes, too short", body.len())));
            }
            let mut tag = u16_at(body, 0);
            if tag == 0xFFFE && body.len() >= 26 {
                tag = u16_at(body, 24); // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the tag
            }
            let channels = u16_at(body, 2);
            let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
            let bits = u16_at(body, 14);
            if tag != 1 || bits != 16 {
                let kind = match tag {
                    1 => "PCM".to_string(),
                    3 => "IEEE float".to_string(),
                    6 => "A-law".to_string(),
                    7 => "µ-law".to_string(),
                    t => format!("format tag {t:#06x}"),
                };
                return Err(bad(format!("{kind} with {bits}-bit samples; only 16-bit PCM is supported")));
            }
            if channels == 0 || rate == 0 {
                return Err(bad(format!("{channels} channels at {rate} Hz")));
            }
            format = Some((rate, usize::from(channels)));
        }
        pos = start.saturating_add(len as usize).saturating_add((len & 1) as usize);
    }
    Err(bad("no data chunk".into()))
}

#[cfg(test)]
mod tests {
    /// A WAV header for `channels` × 16-bit PCM with a data chunk of `data_len` bytes.
    fn header(channels: u16, rate: u32, data_len: u32) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&data_len.wrapping_add(36).to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes());
        h.extend_from_slice(&channels.to_le_bytes());
        h.extend_from_slice(&rate.to_le_bytes());
        h.extend_from_slice(&(rate * 2 * u32::from(channels)).to_le_bytes());
        h.extend_from_slice(&(2 * channels).to_le_bytes());
        h.extend_from_slice(&16u16.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&data_len.to_le_bytes());
        h
    }

    #[test]
    fn decodes_stereo_and_streamed_sizes() {
        let mut stereo = header(2, 24000, 8);
        for s in [100i16, 300, -50, -150] {
            stereo.extend_from_slice(&s.to_le_bytes());
        }
        assert_eq!(super::decode_to_mono(&stereo).unwrap(), (24000, vec![200, -100]));
        for size in [0, u32::MAX] {
            let mut streamed = header(1, 22050, size);
            for s in [1i16, 2, 3] {
                streamed.extend_from_slice(&s.to_le_bytes());
            }
            assert_eq!(super::decode_to_mono(&streamed).unwrap(), (22050, vec![1, 2, 3]));
        }
    }

    #[test]
    fn other_formats_are_named() {
        let mut float = header(1, 24000, 4);
        float[20] = 3;
        float[34] = 32;
        float.extend_from_slice(&0f32.to_le_bytes());
        let err = super::decode_to_mono(&float).unwrap_err().to_string();
        assert!(err.contains("IEEE float") && err.contains("32-bit"), "{err}");
        let err = super::decode_to_mono(b"ID3\x04 this is an mp3").unwrap_err().to_string();
        assert_eq!(err, "not a RIFF/WAVE file");
    }

    #[test]
    fn round_trip() {
        let samples = [0i16, 1, -1, i16::MAX, i16::MIN];
        let mut buf = Vec::new();
        super::write(&mut buf, 22050, &samples).unwrap();
        assert_eq!(buf.len(), 44 + 10);
        assert_eq!(super::read(&buf[..]).unwrap(), (22050, samples.to_vec()));
    }
}
