//! The framing shared by log segments and snapshots: `[len u32][crc32 u32][seq u64][payload]`,
//! little-endian, the checksum covering the sequence number and the payload. A reader stops at
//! the first frame that is short or fails its checksum: that is a torn tail, not an error.

use std::io::{self, Read};

pub const HEADER: usize = 16;
/// No record is larger; a length field above it is garbage, not a reason to allocate.
pub const MAX_PAYLOAD: usize = 4 * 1024 * 1024;

/// Appends one frame to `out`.
pub fn encode(out: &mut Vec<u8>, seq: u64, payload: &[u8]) {
    let seq_bytes = seq.to_le_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&seq_bytes);
    crc.update(payload);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&seq_bytes);
    out.extend_from_slice(payload);
}

/// How a read of one frame ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Frame {
        seq: u64,
        payload: Vec<u8>,
    },
    /// Clean end of input.
    End,
    /// A partial or damaged frame: everything from here on is not trustworthy.
    Torn(&'static str),
}

/// Reads frames one by one, tracking the offset just past the last good one.
pub struct Reader<R> {
    inner: R,
    pub good_offset: u64,
}

impl<R: Read> Reader<R> {
    pub fn new(inner: R, start_offset: u64) -> Self {
        Reader {
            inner,
            good_offset: start_offset,
        }
    }

    pub fn next_frame(&mut self) -> io::Result<Next> {
        let mut header = [0u8; HEADER];
        match read_full(&mut self.inner, &mut header)? {
            0 => return Ok(Next::End),
            n if n < HEADER => return Ok(Next::Torn("short header")),
            _ => {}
        }
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let mut seq_bytes = [0u8; 8];
        seq_bytes.copy_from_slice(&header[8..16]);
        if len > MAX_PAYLOAD {
            return Ok(Next::Torn("length out of range"));
        }
        let mut payload = vec![0u8; len];
        if read_full(&mut self.inner, &mut payload)? < len {
            return Ok(Next::Torn("short payload"));
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&seq_bytes);
        hasher.update(&payload);
        if hasher.finalize() != crc {
            return Ok(Next::Torn("checksum mismatch"));
        }
        self.good_offset += (HEADER + len) as u64;
        Ok(Next::Frame {
            seq: u64::from_le_bytes(seq_bytes),
            payload,
        })
    }
}

/// Reads until `buf` is full or input ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for seq in 1..=n {
            encode(&mut out, seq, format!("payload {seq}").as_bytes());
        }
        out
    }

    fn read_all(bytes: &[u8]) -> (Vec<u64>, Next, u64) {
        let mut reader = Reader::new(bytes, 0);
        let mut seqs = Vec::new();
        loop {
            match reader.next_frame().expect("in memory") {
                Next::Frame { seq, payload } => {
                    assert_eq!(payload, format!("payload {seq}").as_bytes());
                    seqs.push(seq);
                }
                end => return (seqs, end, reader.good_offset),
            }
        }
    }

    #[test]
    fn frames_round_trip() {
        let bytes = frames(3);
        let (seqs, end, offset) = read_all(&bytes);
        assert_eq!(seqs, vec![1, 2, 3]);
        assert_eq!(end, Next::End);
        assert_eq!(offset, bytes.len() as u64);
    }

    /// Cutting the input anywhere keeps every whole frame before the cut and nothing after.
    #[test]
    fn every_truncation_is_a_clean_torn_tail() {
        let bytes = frames(3);
        let one = frames(1).len();
        for cut in 0..bytes.len() {
            let (seqs, end, offset) = read_all(&bytes[..cut]);
            let whole = cut / one;
            assert_eq!(seqs.len(), whole, "cut at {cut}");
            assert_eq!(offset, (whole * one) as u64);
            if cut % one == 0 {
                assert_eq!(end, Next::End);
            } else {
                assert!(matches!(end, Next::Torn(_)), "cut at {cut}");
            }
        }
    }

    #[test]
    fn a_flipped_bit_stops_the_read() {
        let mut bytes = frames(3);
        let one = frames(1).len();
        bytes[one + HEADER + 2] ^= 0x10;
        let (seqs, end, offset) = read_all(&bytes);
        assert_eq!(seqs, vec![1]);
        assert_eq!(end, Next::Torn("checksum mismatch"));
        assert_eq!(offset, one as u64);
    }

    #[test]
    fn an_absurd_length_is_not_allocated() {
        let mut bytes = vec![0xff, 0xff, 0xff, 0xff];
        bytes.extend_from_slice(&[0; 12]);
        let (_, end, _) = read_all(&bytes);
        assert_eq!(end, Next::Torn("length out of range"));
    }
}
