//! The MaxMind DB data section encoding (spec: "Output Data Section").
//!
//! Values are written once: whole records are deduplicated, and a string met a second time
//! (map keys such as `autonomous_system_organization`, repeated organisation names) becomes a
//! pointer to its first copy. On the real ASN data this roughly halves the data section.

use std::collections::HashMap;

/// A value of the format's data model, limited to the types our schemas write.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// UTF-8 string.
    String(String),
    /// Unsigned 16-bit integer.
    U16(u16),
    /// Unsigned 32-bit integer.
    U32(u32),
    /// Unsigned 64-bit integer.
    U64(u64),
    /// Boolean.
    Bool(bool),
    /// Array of values.
    Array(Vec<Value>),
    /// Map with string keys, in the order given.
    Map(Vec<(String, Value)>),
}

const POINTER: u8 = 1;
const UTF8: u8 = 2;
const UINT16: u8 = 5;
const UINT32: u8 = 6;
const MAP: u8 = 7;
const UINT64: u8 = 9;
const ARRAY: u8 = 11;
const BOOLEAN: u8 = 14;

/// Strings shorter than this are cheaper inline than behind a pointer.
const MIN_POINTER_STRING: usize = 4;

/// Appends values to a data section, sharing repeats.
#[derive(Default)]
pub struct DataWriter {
    buf: Vec<u8>,
    strings: HashMap<String, u32>,
    records: HashMap<Value, u32>,
    /// Whether to share strings through pointers; off for the metadata section, which the
    /// format decodes on its own and where pointers would be relative to another base.
    share: bool,
}

impl DataWriter {
    /// A writer for the data section (sharing on).
    pub fn new() -> Self {
        DataWriter {
            share: true,
            ..Default::default()
        }
    }

    /// A writer without pointers, for the metadata section.
    pub fn plain() -> Self {
        DataWriter::default()
    }

    /// Writes `value` unless an equal value was already written; returns its offset.
    pub fn insert_record(&mut self, value: &Value) -> Result<u32, String> {
        if let Some(&offset) = self.records.get(value) {
            return Ok(offset);
        }
        let offset = self.offset()?;
        self.write(value)?;
        self.records.insert(value.clone(), offset);
        Ok(offset)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// The encoded bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Distinct records written through [`DataWriter::insert_record`].
    pub fn record_count(&self) -> usize {
        self.records.len()
    }

    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn offset(&self) -> Result<u32, String> {
        u32::try_from(self.buf.len()).map_err(|_| "data section over 4 GiB".to_owned())
    }

    /// Writes one value at the end of the section.
    pub fn write(&mut self, value: &Value) -> Result<(), String> {
        match value {
            Value::String(s) => self.write_string(s)?,
            Value::U16(n) => self.write_uint(UINT16, u64::from(*n))?,
            Value::U32(n) => self.write_uint(UINT32, u64::from(*n))?,
            Value::U64(n) => self.write_uint(UINT64, *n)?,
            Value::Bool(b) => self.control(BOOLEAN, usize::from(*b))?,
            Value::Array(items) => {
                self.control(ARRAY, items.len())?;
                for item in items {
                    self.write(item)?;
                }
            }
            Value::Map(pairs) => {
                self.control(MAP, pairs.len())?;
                for (key, item) in pairs {
                    self.write_string(key)?;
                    self.write(item)?;
                }
            }
        }
        Ok(())
    }

    fn write_string(&mut self, s: &str) -> Result<(), String> {
        if self.share && s.len() >= MIN_POINTER_STRING {
            if let Some(&at) = self.strings.get(s) {
                self.pointer(at);
                return Ok(());
            }
            let at = self.offset()?;
            self.strings.insert(s.to_owned(), at);
        }
        self.control(UTF8, s.len())?;
        self.buf.extend_from_slice(s.as_bytes());
        Ok(())
    }

    fn write_uint(&mut self, kind: u8, n: u64) -> Result<(), String> {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        self.control(kind, bytes.len() - skip)?;
        self.buf.extend_from_slice(&bytes[skip..]);
        Ok(())
    }

    /// Control byte, extended type byte and size bytes, in the order the spec gives.
    fn control(&mut self, kind: u8, size: usize) -> Result<(), String> {
        let (size_bits, extra): (u8, Vec<u8>) = match size {
            0..29 => (size as u8, Vec::new()),
            29..285 => (29, vec![(size - 29) as u8]),
            285..65_821 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
            65_821..16_843_037 => {
                let v = (size - 65_821) as u32;
                (31, v.to_be_bytes()[1..].to_vec())
            }
            _ => {
                return Err(format!(
                    "value of {size} items or bytes is over the format's limit"
                ));
            }
        };
        if kind <= 7 {
            self.buf.push((kind << 5) | size_bits);
        } else {
            self.buf.push(size_bits);
            self.buf.push(kind - 7);
        }
        self.buf.extend_from_slice(&extra);
        Ok(())
    }

    fn pointer(&mut self, at: u32) {
        let base = POINTER << 5;
        match at {
            0..2048 => self
                .buf
                .extend_from_slice(&[base | (at >> 8) as u8, at as u8]),
            2048..526_336 => {
                let v = at - 2048;
                self.buf.extend_from_slice(&[
                    base | 0x08 | (v >> 16) as u8,
                    (v >> 8) as u8,
                    v as u8,
                ]);
            }
            526_336..134_744_064 => {
                let v = at - 526_336;
                self.buf.extend_from_slice(&[
                    base | 0x10 | (v >> 24) as u8,
                    (v >> 16) as u8,
                    (v >> 8) as u8,
                    v as u8,
                ]);
            }
            _ => {
                self.buf.push(base | 0x18);
                self.buf.extend_from_slice(&at.to_be_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(v: &Value) -> Vec<u8> {
        let mut w = DataWriter::plain();
        assert!(w.write(v).is_ok());
        w.into_bytes()
    }

    #[test]
    fn encodes_the_spec_examples() {
        // Sizes 28, 80 and 13,392 from the spec's "Payload Size" section.
        assert_eq!(bytes(&Value::String("a".repeat(28)))[0], 0b0101_1100);
        assert_eq!(
            &bytes(&Value::String("a".repeat(80)))[..2],
            &[0b0101_1101, 51]
        );
        assert_eq!(
            &bytes(&Value::String("a".repeat(13_392)))[..3],
            &[0b0101_1110, 0x33, 0x33]
        );
        assert_eq!(bytes(&Value::U32(0)), vec![0xC0]);
        assert_eq!(bytes(&Value::U32(258)), vec![0xC2, 1, 2]);
        assert_eq!(bytes(&Value::U64(1)), vec![0x01, 0x02, 1]);
        assert_eq!(bytes(&Value::Bool(true)), vec![0x01, 0x07]);
    }

    #[test]
    fn repeats_become_pointers_and_records_are_shared() {
        let mut w = DataWriter::new();
        let rec = |org: &str| Value::Map(vec![("org".into(), Value::String(org.into()))]);
        let a = w.insert_record(&rec("Example Org")).unwrap_or(u32::MAX);
        let b = w.insert_record(&rec("Other")).unwrap_or(u32::MAX);
        let again = w.insert_record(&rec("Example Org")).unwrap_or(u32::MAX);
        assert_eq!(a, again);
        assert_ne!(a, b);
        let c = w.insert_record(&Value::Array(vec![Value::String("Example Org".into())]));
        let c = c.unwrap_or(u32::MAX) as usize;
        let buf = w.into_bytes();
        // The array's element is a 2-byte pointer to the first copy at offset 5.
        assert_eq!(&buf[c..], &[0x01, 0x04, 0x20, 5]);
    }
}
