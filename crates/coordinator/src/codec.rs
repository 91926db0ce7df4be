//! Kafka's primitive encodings for the coordinators' records (`__transaction_state`,
//! `__share_group_state`): classic int16/int32 lengths, flexible uvarint lengths and
//! tagged-field sections, as Kafka's generated message classes write them.

use bytes::{Buf, BufMut, BytesMut};

/// Why bytes could not be read as a record's fields.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("record ends early")]
    Truncated,
    #[error("non-nullable {field} is null")]
    Null { field: &'static str },
    #[error("{field} is not UTF-8")]
    NotUtf8 { field: &'static str },
    #[error("unsigned varint longer than 5 bytes")]
    VarintTooLong,
}

/// Invariant: `s` fits an int16 length (callers check client-supplied strings; topic
/// names are at most 249 bytes).
pub(crate) fn put_string(out: &mut BytesMut, s: &str) {
    out.put_i16(i16::try_from(s.len()).expect("string fits an int16 length"));
    out.put_slice(s.as_bytes());
}

pub(crate) fn put_compact_string(out: &mut BytesMut, s: &str) {
    put_uvarint(out, s.len() as u32 + 1);
    out.put_slice(s.as_bytes());
}

/// An array's length: classic int32 (-1 for null) or compact uvarint length+1 (0 for
/// null). Invariant: `len` fits an int32 (a record's arrays do).
pub(crate) fn put_array_len(out: &mut BytesMut, len: Option<usize>, flexible: bool) {
    let len = len.map(|n| i32::try_from(n).expect("array length fits i32"));
    match (flexible, len) {
        (false, len) => out.put_i32(len.unwrap_or(-1)),
        (true, None) => put_uvarint(out, 0),
        (true, Some(n)) => put_uvarint(out, n as u32 + 1),
    }
}

pub(crate) fn put_uvarint(out: &mut BytesMut, mut value: u32) {
    while value >= 0x80 {
        out.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

/// Reads Kafka's primitive types off the front of a byte slice.
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader(bytes)
    }
    /// How many bytes are left: a bound for reservations made from counts in the data.
    pub(crate) fn remaining(&self) -> usize {
        self.0.len()
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.0.len() < n {
            return Err(CodecError::Truncated);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    pub(crate) fn i8(&mut self) -> Result<i8, CodecError> {
        Ok(self.take(1)?.get_i8())
    }
    pub(crate) fn i16(&mut self) -> Result<i16, CodecError> {
        Ok(self.take(2)?.get_i16())
    }
    pub(crate) fn i32(&mut self) -> Result<i32, CodecError> {
        Ok(self.take(4)?.get_i32())
    }
    pub(crate) fn i64(&mut self) -> Result<i64, CodecError> {
        Ok(self.take(8)?.get_i64())
    }
    /// Kafka's unsigned varint: 7 bits a byte, low first, at most 5 bytes.
    pub(crate) fn uvarint(&mut self) -> Result<u32, CodecError> {
        let mut value: u32 = 0;
        for i in 0..5 {
            let byte = self.take(1)?[0];
            value |= u32::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CodecError::VarintTooLong)
    }
    /// A compact length: uvarint length+1, 0 for null.
    pub(crate) fn compact_len(&mut self) -> Result<Option<usize>, CodecError> {
        Ok(self.uvarint()?.checked_sub(1).map(|len| len as usize))
    }
    /// An array's length; `None` for null (a classic negative length).
    pub(crate) fn array_len(&mut self, flexible: bool) -> Result<Option<usize>, CodecError> {
        if flexible {
            self.compact_len()
        } else {
            Ok(usize::try_from(self.i32()?).ok())
        }
    }
    pub(crate) fn string(
        &mut self,
        flexible: bool,
        field: &'static str,
    ) -> Result<String, CodecError> {
        let len = if flexible {
            self.compact_len()?
        } else {
            usize::try_from(self.i16()?).ok()
        };
        let len = len.ok_or(CodecError::Null { field })?;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| CodecError::NotUtf8 { field })
    }
    /// A tagged-field section: a count, then (tag, size, bytes) per field.
    pub(crate) fn skip_tagged_fields(&mut self) -> Result<(), CodecError> {
        for _ in 0..self.uvarint()? {
            let _tag = self.uvarint()?;
            let size = self.uvarint()?;
            self.take(size as usize)?;
        }
        Ok(())
    }
}
