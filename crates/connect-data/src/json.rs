//! JSON as Kafka's JsonConverter sees it through Jackson: a tree whose numbers keep their
//! Jackson node kind (int, long, BigInteger, and floats as exact decimals, since the
//! converter reads with `USE_BIG_DECIMAL_FOR_FLOATS`), a parser with Jackson's defaults,
//! and a compact writer byte-identical to Jackson's (`1.0E10` doubles, uppercase `\u00XX`
//! escapes, NaN as a string, binary as padded base64).
//!
//! serde_json is not used: it cannot keep decimals exact without a workspace-wide feature
//! (`arbitrary_precision`) that changes every other crate's number handling, and its
//! float and escape output differ from Jackson's.

use base64::Engine;
use num_bigint::BigInt;
use num_traits::ToPrimitive;

use crate::decimal::Decimal;
use crate::javafmt::{java_double_to_string, java_float_to_string};

/// Jackson's `JsonNode`, with the node kinds the converter distinguishes.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonNode {
    /// Jackson's `MissingNode`: what an empty document reads as.
    Missing,
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    BigInteger(BigInt),
    Float(f32),
    Double(f64),
    Decimal(Decimal),
    Text(String),
    Binary(Vec<u8>),
    Array(Vec<JsonNode>),
    /// Fields in insertion order; a repeated key keeps its first position, last value.
    Object(Vec<(String, JsonNode)>),
}

impl JsonNode {
    /// Jackson's `getNodeType()` name (what Kafka's messages print).
    pub fn node_type(&self) -> &'static str {
        match self {
            JsonNode::Missing => "MISSING",
            JsonNode::Null => "NULL",
            JsonNode::Bool(_) => "BOOLEAN",
            JsonNode::Int(_)
            | JsonNode::Long(_)
            | JsonNode::BigInteger(_)
            | JsonNode::Float(_)
            | JsonNode::Double(_)
            | JsonNode::Decimal(_) => "NUMBER",
            JsonNode::Text(_) => "STRING",
            JsonNode::Binary(_) => "BINARY",
            JsonNode::Array(_) => "ARRAY",
            JsonNode::Object(_) => "OBJECT",
        }
    }

    /// Jackson's `get(name)` on an object (`None` for other nodes and absent fields).
    pub fn get(&self, name: &str) -> Option<&JsonNode> {
        match self {
            JsonNode::Object(fields) => fields.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Jackson's `ObjectNode.set`/`put`: replaces in place, else appends.
    pub fn set(fields: &mut Vec<(String, JsonNode)>, name: &str, value: JsonNode) {
        match fields.iter_mut().find(|(k, _)| k == name) {
            Some(entry) => entry.1 = value,
            None => fields.push((name.to_string(), value)),
        }
    }

    pub fn is_null_or_missing(&self) -> bool {
        matches!(self, JsonNode::Null | JsonNode::Missing)
    }

    pub fn is_number(&self) -> bool {
        self.node_type() == "NUMBER"
    }

    /// Jackson's `isInt()`: an int node, i.e. an integer literal that fits 32 bits.
    pub fn is_int(&self) -> bool {
        matches!(self, JsonNode::Int(_))
    }

    /// Jackson's `isIntegralNumber()`.
    pub fn is_integral(&self) -> bool {
        matches!(
            self,
            JsonNode::Int(_) | JsonNode::Long(_) | JsonNode::BigInteger(_)
        )
    }

    /// Jackson's `booleanValue()`: false for anything but `true`.
    pub fn boolean_value(&self) -> bool {
        matches!(self, JsonNode::Bool(true))
    }

    /// Jackson's `longValue()`: Java's narrowing conversions; 0 for non-numbers.
    pub fn long_value(&self) -> i64 {
        match self {
            JsonNode::Int(v) => i64::from(*v),
            JsonNode::Long(v) => *v,
            JsonNode::BigInteger(v) => Decimal::new(v.clone(), 0).to_i64_wrapping(),
            JsonNode::Float(v) => *v as i64,
            JsonNode::Double(v) => *v as i64,
            JsonNode::Decimal(v) => v.to_i64_wrapping(),
            _ => 0,
        }
    }

    /// Jackson's `intValue()`.
    pub fn int_value(&self) -> i32 {
        match self {
            JsonNode::Float(v) => *v as i32,
            JsonNode::Double(v) => *v as i32,
            other => other.long_value() as i32,
        }
    }

    /// Jackson's `doubleValue()`.
    pub fn double_value(&self) -> f64 {
        match self {
            JsonNode::Int(v) => f64::from(*v),
            JsonNode::Long(v) => *v as f64,
            JsonNode::BigInteger(v) => v.to_f64().unwrap_or(0.0),
            JsonNode::Float(v) => f64::from(*v),
            JsonNode::Double(v) => *v,
            JsonNode::Decimal(v) => v.to_f64(),
            _ => 0.0,
        }
    }

    /// Jackson's `floatValue()`.
    pub fn float_value(&self) -> f32 {
        match self {
            JsonNode::Decimal(v) => v.to_f32(),
            JsonNode::Float(v) => *v,
            JsonNode::BigInteger(v) => v.to_f32().unwrap_or(0.0),
            other => other.double_value() as f32,
        }
    }

    /// Jackson's `decimalValue()`.
    pub fn decimal_value(&self) -> Decimal {
        match self {
            JsonNode::Int(v) => Decimal::from_i64(i64::from(*v)),
            JsonNode::Long(v) => Decimal::from_i64(*v),
            JsonNode::BigInteger(v) => Decimal::new(v.clone(), 0),
            JsonNode::Float(v) => Decimal::from_f64(f64::from(*v)).unwrap_or(Decimal::from_i64(0)),
            JsonNode::Double(v) => Decimal::from_f64(*v).unwrap_or(Decimal::from_i64(0)),
            JsonNode::Decimal(v) => v.clone(),
            _ => Decimal::from_i64(0),
        }
    }

    /// Jackson's `textValue()`: the text of a string node, else none.
    pub fn text_value(&self) -> Option<&str> {
        match self {
            JsonNode::Text(text) => Some(text),
            _ => None,
        }
    }

    /// Jackson's `binaryValue()`: a binary node's bytes, a string node's base64 decoded
    /// (`Err` when it is not base64), none for other nodes.
    pub fn binary_value(&self) -> Result<Option<Vec<u8>>, InvalidBase64> {
        match self {
            JsonNode::Binary(bytes) => Ok(Some(bytes.clone())),
            JsonNode::Text(text) => base64_decode(text).map(Some).ok_or(InvalidBase64),
            _ => Ok(None),
        }
    }

    /// Jackson's `asText()` (used for map keys): a node's text form.
    pub fn as_text(&self) -> String {
        match self {
            JsonNode::Text(text) => text.clone(),
            JsonNode::Missing => String::new(),
            JsonNode::Binary(bytes) => base64::engine::general_purpose::STANDARD.encode(bytes),
            JsonNode::Array(_) | JsonNode::Object(_) => String::new(),
            other => {
                let mut out = String::new();
                write_node(&mut out, other);
                out
            }
        }
    }

    /// The compact JSON text Jackson's `writeValueAsBytes` produces.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_node(&mut out, self);
        out
    }
}

/// A string node read as bytes was not base64 (Jackson's `IOException` there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not base64")]
pub struct InvalidBase64;

/// Base64 as Jackson reads it: the standard alphabet, padding optional.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine.decode(text).ok()
}

fn write_node(out: &mut String, node: &JsonNode) {
    match node {
        JsonNode::Missing => {}
        JsonNode::Null => out.push_str("null"),
        JsonNode::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
        JsonNode::Int(v) => out.push_str(&v.to_string()),
        JsonNode::Long(v) => out.push_str(&v.to_string()),
        JsonNode::BigInteger(v) => out.push_str(&v.to_string()),
        JsonNode::Float(v) if v.is_finite() => out.push_str(&java_float_to_string(*v)),
        JsonNode::Float(v) => write_string(out, &java_float_to_string(*v)),
        JsonNode::Double(v) if v.is_finite() => out.push_str(&java_double_to_string(*v)),
        JsonNode::Double(v) => write_string(out, &java_double_to_string(*v)),
        JsonNode::Decimal(v) => out.push_str(&v.to_string()),
        JsonNode::Text(text) => write_string(out, text),
        JsonNode::Binary(bytes) => write_string(
            out,
            &base64::engine::general_purpose::STANDARD.encode(bytes),
        ),
        JsonNode::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_node(out, item);
            }
            out.push(']');
        }
        JsonNode::Object(fields) => {
            out.push('{');
            for (i, (name, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, name);
                out.push(':');
                write_node(out, value);
            }
            out.push('}');
        }
    }
}

/// A JSON string as Jackson escapes it: `"` and `\`, the short escapes for \b \t \n \f
/// \r, other control characters as uppercase `\u00XX`; everything else verbatim.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Why bytes are not JSON, with the byte offset where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at byte {offset}")]
pub struct JsonParseError {
    pub message: String,
    pub offset: usize,
}

/// Jackson's default limit on nesting (StreamReadConstraints).
const MAX_DEPTH: usize = 1000;

/// Reads one JSON document as Jackson's `readTree` does with default features: empty
/// input is `Missing`, and what follows the first value is not read
/// (`FAIL_ON_TRAILING_TOKENS` is off).
pub fn parse(bytes: &[u8]) -> Result<JsonNode, JsonParseError> {
    let mut parser = Parser { bytes, at: 0 };
    parser.skip_whitespace();
    if parser.at == bytes.len() {
        return Ok(JsonNode::Missing);
    }
    parser.value(0)
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn fail<T>(&self, message: &str) -> Result<T, JsonParseError> {
        Err(JsonParseError {
            message: message.to_string(),
            offset: self.at,
        })
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &str, node: JsonNode) -> Result<JsonNode, JsonParseError> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(node)
        } else {
            self.fail("Unrecognized token")
        }
    }

    fn value(&mut self, depth: usize) -> Result<JsonNode, JsonParseError> {
        if depth > MAX_DEPTH {
            return self.fail("Document nesting depth exceeds the maximum allowed (1000)");
        }
        self.skip_whitespace();
        match self.bytes.get(self.at) {
            None => self.fail("Unexpected end-of-input"),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(JsonNode::Text(self.string()?)),
            Some(b't') => self.literal("true", JsonNode::Bool(true)),
            Some(b'f') => self.literal("false", JsonNode::Bool(false)),
            Some(b'n') => self.literal("null", JsonNode::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.fail("Unexpected character"),
        }
    }

    fn object(&mut self, depth: usize) -> Result<JsonNode, JsonParseError> {
        self.at += 1;
        let mut fields = Vec::new();
        self.skip_whitespace();
        if self.bytes.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(JsonNode::Object(fields));
        }
        loop {
            self.skip_whitespace();
            if self.bytes.get(self.at) != Some(&b'"') {
                return self
                    .fail("Unexpected character: was expecting double-quote to start field name");
            }
            let name = self.string()?;
            self.skip_whitespace();
            if self.bytes.get(self.at) != Some(&b':') {
                return self.fail(
                    "Unexpected character: was expecting a colon to separate field name and value",
                );
            }
            self.at += 1;
            let value = self.value(depth + 1)?;
            JsonNode::set(&mut fields, &name, value);
            self.skip_whitespace();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(JsonNode::Object(fields));
                }
                _ => {
                    return self.fail(
                        "Unexpected character: was expecting comma to separate Object entries",
                    )
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<JsonNode, JsonParseError> {
        self.at += 1;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.bytes.get(self.at) == Some(&b']') {
            self.at += 1;
            return Ok(JsonNode::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_whitespace();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(JsonNode::Array(items));
                }
                _ => {
                    return self.fail(
                        "Unexpected character: was expecting comma to separate Array entries",
                    )
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonParseError> {
        let hex = self
            .bytes
            .get(self.at..self.at + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok());
        match hex {
            Some(v) => {
                self.at += 4;
                Ok(v)
            }
            None => self
                .fail("Unexpected character: expected a hex-digit for character escape sequence"),
        }
    }

    fn string(&mut self) -> Result<String, JsonParseError> {
        self.at += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&byte) = self.bytes.get(self.at) else {
                return self.fail(
                    "Unexpected end-of-input: was expecting closing quote for a string value",
                );
            };
            self.at += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    let Some(&escape) = self.bytes.get(self.at) else {
                        return self.fail("Unexpected end-of-input in character escape sequence");
                    };
                    self.at += 1;
                    let c = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let high = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&high)
                                && self.bytes[self.at..].starts_with(b"\\u")
                            {
                                let save = self.at;
                                self.at += 2;
                                let low = self.hex4()?;
                                if (0xDC00..0xE000).contains(&low) {
                                    0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                                } else {
                                    self.at = save;
                                    high
                                }
                            } else {
                                high
                            };
                            // A lone surrogate cannot be held in a Rust string.
                            char::from_u32(code).unwrap_or('\u{FFFD}')
                        }
                        _ => return self.fail("Unrecognized character escape"),
                    };
                    let mut buffer = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
                }
                0..=0x1F => {
                    return self.fail("Illegal unquoted character: has to be escaped using backslash to be included in string value");
                }
                other => out.push(other),
            }
        }
        match String::from_utf8(out) {
            Ok(text) => Ok(text),
            Err(_) => self.fail("Invalid UTF-8 middle byte"),
        }
    }

    fn number(&mut self) -> Result<JsonNode, JsonParseError> {
        let start = self.at;
        let digits = |p: &mut Parser<'_>| {
            let from = p.at;
            while p.bytes.get(p.at).is_some_and(u8::is_ascii_digit) {
                p.at += 1;
            }
            p.at - from
        };
        if self.bytes[self.at] == b'-' {
            self.at += 1;
        }
        // Kafka's deserializer enables ALLOW_LEADING_ZEROS_FOR_NUMBERS: `0012` is 12.
        if digits(self) == 0 {
            return self.fail("Unexpected character: expected digit after minus sign");
        }
        let mut floating = false;
        if self.bytes.get(self.at) == Some(&b'.') {
            floating = true;
            self.at += 1;
            if digits(self) == 0 {
                return self.fail("Unexpected character: Decimal point not followed by a digit");
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            floating = true;
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return self
                    .fail("Unexpected character: Exponent indicator not followed by a digit");
            }
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).expect("ASCII digits");
        if floating {
            return match text.parse::<Decimal>() {
                Ok(decimal) => Ok(JsonNode::Decimal(decimal)),
                Err(_) => self.fail("Invalid numeric value"),
            };
        }
        if let Ok(v) = text.parse::<i32>() {
            return Ok(JsonNode::Int(v));
        }
        if let Ok(v) = text.parse::<i64>() {
            return Ok(JsonNode::Long(v));
        }
        match text.parse::<BigInt>() {
            Ok(v) => Ok(JsonNode::BigInteger(v)),
            Err(_) => self.fail("Invalid numeric value"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_into_jacksons_node_kinds() {
        assert_eq!(parse(b"12").unwrap(), JsonNode::Int(12));
        assert_eq!(parse(b"3000000000").unwrap(), JsonNode::Long(3_000_000_000));
        assert!(matches!(
            parse(b"99999999999999999999").unwrap(),
            JsonNode::BigInteger(_)
        ));
        assert_eq!(
            parse(b"1.50").unwrap(),
            JsonNode::Decimal("1.50".parse().unwrap())
        );
        assert_eq!(
            parse(b"1e3").unwrap(),
            JsonNode::Decimal("1e3".parse().unwrap())
        );
        assert_eq!(parse(b"0012").unwrap(), JsonNode::Int(12));
        assert!(parse(b"-").is_err());
        assert!(parse(b"1.").is_err());
    }

    #[test]
    fn parses_objects_keeping_order_and_the_last_duplicate() {
        let node = parse(br#" {"b":1,"a":[true,null,"x\u00e9\n"],"b":2} trailing"#).unwrap();
        assert_eq!(
            node,
            JsonNode::Object(vec![
                ("b".into(), JsonNode::Int(2)),
                (
                    "a".into(),
                    JsonNode::Array(vec![
                        JsonNode::Bool(true),
                        JsonNode::Null,
                        JsonNode::Text("xé\n".into())
                    ])
                ),
            ])
        );
        assert_eq!(parse(b"  ").unwrap(), JsonNode::Missing);
        assert!(parse(b"{\"a\" 1}").is_err());
        assert!(parse(b"[1,]").is_err());
        assert!(parse(b"\"a\x01\"").is_err());
        assert!(parse(&[b'['; 2000]).is_err());
    }

    #[test]
    fn writes_compactly_with_jacksons_escapes() {
        let node = JsonNode::Object(vec![
            ("s".into(), JsonNode::Text("a\"b\\c\u{1}\té/".into())),
            ("d".into(), JsonNode::Double(f64::NAN)),
            ("b".into(), JsonNode::Binary(vec![0, 1, 2])),
            ("f".into(), JsonNode::Float(1.5)),
        ]);
        assert_eq!(
            node.to_json(),
            r#"{"s":"a\"b\\c\u0001\té/","d":"NaN","b":"AAEC","f":1.5}"#
        );
    }
}
