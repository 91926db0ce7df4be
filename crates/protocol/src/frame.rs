//! Kafka's framing: every request and response is a 4-byte big-endian size followed by
//! that many bytes. Sans-io: the caller owns the socket and the buffer.

use bytes::{Buf, Bytes, BytesMut};

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("request of {size} bytes exceeds socket.request.max.bytes ({max})")]
    TooLarge { size: usize, max: usize },
    #[error("negative frame size {size}")]
    NegativeSize { size: i32 },
}

/// Splits whole frames off the front of a read buffer.
///
/// The size prefix is checked against `max_bytes` before any room is reserved for the
/// frame, so a client announcing 2 GiB costs nothing but its connection.
#[derive(Debug, Clone, Copy)]
pub struct FrameDecoder {
    max_bytes: usize,
}

impl FrameDecoder {
    pub fn new(max_bytes: usize) -> Self {
        FrameDecoder { max_bytes }
    }

    /// Size of the frame at the front of `buf`, once its prefix has arrived.
    pub fn peek_size(&self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let size = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        if size < 0 {
            return Err(FrameError::NegativeSize { size });
        }
        let size = size as usize;
        if size > self.max_bytes {
            return Err(FrameError::TooLarge {
                size,
                max: self.max_bytes,
            });
        }
        Ok(Some(size))
    }

    /// Takes one whole frame (without its size prefix) off `buf`, or `None` when more bytes
    /// are needed. Reserves room for the rest of an announced frame once it is known valid.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        let Some(size) = self.peek_size(buf)? else {
            return Ok(None);
        };
        if buf.len() < 4 + size {
            buf.reserve(4 + size - buf.len());
            return Ok(None);
        }
        buf.advance(4);
        Ok(Some(buf.split_to(size).freeze()))
    }
}

/// Prefixes `body` with its size.
pub fn write_frame(body: &[u8], out: &mut BytesMut) {
    out.reserve(4 + body.len());
    out.extend_from_slice(&(body.len() as i32).to_be_bytes());
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_whole_frames_and_waits_for_partial_ones() {
        let decoder = FrameDecoder::new(1024);
        let mut buf = BytesMut::new();
        write_frame(b"hello", &mut buf);
        write_frame(b"world!", &mut buf);
        buf.truncate(buf.len() - 2);
        assert_eq!(decoder.decode(&mut buf).unwrap().unwrap(), &b"hello"[..]);
        assert_eq!(decoder.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"d!");
        assert_eq!(decoder.decode(&mut buf).unwrap().unwrap(), &b"world!"[..]);
        assert!(buf.is_empty());
    }

    #[test]
    fn refuses_oversized_frame_before_reserving() {
        let decoder = FrameDecoder::new(100);
        let mut buf = BytesMut::from(&(i32::MAX).to_be_bytes()[..]);
        assert_eq!(
            decoder.decode(&mut buf),
            Err(FrameError::TooLarge {
                size: i32::MAX as usize,
                max: 100
            })
        );
        assert!(buf.capacity() < 1024);
    }

    #[test]
    fn refuses_negative_size() {
        let decoder = FrameDecoder::new(100);
        let mut buf = BytesMut::from(&(-5i32).to_be_bytes()[..]);
        assert_eq!(
            decoder.decode(&mut buf),
            Err(FrameError::NegativeSize { size: -5 })
        );
    }
}
