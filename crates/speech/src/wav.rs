//! Writing and reading 16-bit mono PCM WAV files (the RIFF/WAVE format, PCM format tag 1).

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

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let samples = [0i16, 1, -1, i16::MAX, i16::MIN];
        let mut buf = Vec::new();
        super::write(&mut buf, 22050, &samples).unwrap();
        assert_eq!(buf.len(), 44 + 10);
        assert_eq!(super::read(&buf[..]).unwrap(), (22050, samples.to_vec()));
    }
}
