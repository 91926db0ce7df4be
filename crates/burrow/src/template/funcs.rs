//! The functions a template can call: Go's predefined ones (`and`, `or`, `not`, `len`,
//! `index`, `print`, `printf`, `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `html`,
//! `js`, `urlquery`) and Burrow's helpers (`jsonencoder`, `topicsbystatus`,
//! `partitioncounts`, `add`, `minus`, `multiply`, `divide`, `maxlag`,
//! `formattimestamp`), as Burrow's `helpers.go` defines them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{TimeZone, Utc};

use super::gotime;
use super::value::Value;
use crate::status::Status;

/// Whether `name` is a function templates may call.
pub(super) fn exists(name: &str) -> bool {
    matches!(
        name,
        "and"
            | "or"
            | "not"
            | "len"
            | "index"
            | "print"
            | "printf"
            | "println"
            | "eq"
            | "ne"
            | "lt"
            | "le"
            | "gt"
            | "ge"
            | "html"
            | "js"
            | "urlquery"
            | "jsonencoder"
            | "topicsbystatus"
            | "partitioncounts"
            | "add"
            | "minus"
            | "multiply"
            | "divide"
            | "maxlag"
            | "formattimestamp"
    )
}

/// Calls function `name` with `args`.
pub(super) fn call(name: &str, args: Vec<Value>) -> Result<Value, String> {
    let arity = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!(
                "wrong number of args for {name}: want {n} got {}",
                args.len()
            ))
        }
    };
    match name {
        "and" | "or" => {
            let want = name == "or";
            let last = args
                .len()
                .checked_sub(1)
                .ok_or_else(|| format!("wrong number of args for {name}: want at least 1 got 0"))?;
            Ok(args
                .iter()
                .position(|a| a.truthy() == want)
                .map_or_else(|| args[last].clone(), |i| args[i].clone()))
        }
        "not" => {
            arity(1)?;
            Ok(Value::Bool(!args[0].truthy()))
        }
        "len" => {
            arity(1)?;
            match &args[0] {
                Value::Str(s) => Ok(Value::Int(s.len() as i64)),
                Value::List(l) => Ok(Value::Int(l.len() as i64)),
                Value::Map(m) => Ok(Value::Int(m.len() as i64)),
                other => Err(format!("len of type {}", other.type_name())),
            }
        }
        "index" => {
            let mut args = args.into_iter();
            let mut value = args
                .next()
                .ok_or("wrong number of args for index: want at least 1 got 0")?;
            for key in args {
                value = index(&value, &key)?;
            }
            Ok(value)
        }
        "print" => Ok(Value::Str(sprint(&args))),
        "println" => Ok(Value::Str(
            args.iter().map(Value::print).collect::<Vec<_>>().join(" ") + "\n",
        )),
        "printf" => {
            let (format, rest) = args
                .split_first()
                .ok_or("wrong number of args for printf: want at least 1 got 0")?;
            match format {
                Value::Str(f) => Ok(Value::Str(sprintf(f, rest))),
                other => Err(format!("printf: format is a {}", other.type_name())),
            }
        }
        "eq" => {
            let (first, rest) = args
                .split_first()
                .ok_or("missing argument for comparison")?;
            if rest.is_empty() {
                return Err("missing argument for comparison".to_string());
            }
            for other in rest {
                if compare(first, other)? == Ordering::Equal {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        "ne" | "lt" | "le" | "gt" | "ge" => {
            arity(2)?;
            let order = compare(&args[0], &args[1])?;
            if name != "ne" && !ordered(&args[0]) {
                return Err(format!(
                    "invalid type for comparison: {}",
                    args[0].type_name()
                ));
            }
            Ok(Value::Bool(match name {
                "ne" => order != Ordering::Equal,
                "lt" => order == Ordering::Less,
                "le" => order != Ordering::Greater,
                "gt" => order == Ordering::Greater,
                _ => order != Ordering::Less,
            }))
        }
        "html" => Ok(Value::Str(escape_html(&sprint(&args)))),
        "js" => Ok(Value::Str(escape_js(&sprint(&args)))),
        "urlquery" => Ok(Value::Str(url_escape(&sprint(&args)))),
        "jsonencoder" => {
            arity(1)?;
            Ok(Value::Str(args[0].to_json().to_string()))
        }
        "topicsbystatus" => {
            arity(1)?;
            topics_by_status(&args[0])
        }
        "partitioncounts" => {
            arity(1)?;
            partition_counts(&args[0])
        }
        "add" | "minus" | "multiply" | "divide" => {
            arity(2)?;
            let int = |v: &Value| {
                v.as_int()
                    .ok_or_else(|| format!("{name}: {} is not an int", v.type_name()))
            };
            let (a, b) = (int(&args[0])?, int(&args[1])?);
            match name {
                "add" => Ok(Value::Int(a.wrapping_add(b))),
                "minus" => Ok(Value::Int(a.wrapping_sub(b))),
                "multiply" => Ok(Value::Int(a.wrapping_mul(b))),
                _ if b == 0 => Err("divide: integer divide by zero".to_string()),
                _ => Ok(Value::Int(a / b)),
            }
        }
        "maxlag" => {
            arity(1)?;
            match &args[0] {
                Value::Nil | Value::Missing => Ok(Value::Int(0)),
                partition => index(partition, &Value::Str("CurrentLag".into())),
            }
        }
        "formattimestamp" => {
            arity(2)?;
            let (Some(ms), Value::Str(layout)) = (args[0].as_int(), &args[1]) else {
                return Err("formattimestamp: want (int64, string)".to_string());
            };
            let time = Utc
                .timestamp_millis_opt(ms)
                .single()
                .ok_or_else(|| format!("formattimestamp: {ms} is out of range"))?;
            Ok(Value::Str(gotime::format(&time, layout)))
        }
        _ => Err(format!("function {name:?} not defined")),
    }
}

/// `index m k` / `index l i`, and a struct's field (for `maxlag`).
fn index(value: &Value, key: &Value) -> Result<Value, String> {
    match (value, key) {
        (Value::Map(map), Value::Str(k)) => Ok(map.get(k).cloned().unwrap_or(Value::Missing)),
        (Value::List(list), key) => {
            let i = key
                .as_int()
                .ok_or_else(|| format!("cannot index slice with {}", key.type_name()))?;
            usize::try_from(i)
                .ok()
                .and_then(|i| list.get(i))
                .cloned()
                .ok_or_else(|| format!("error calling index: index out of range: {i}"))
        }
        (Value::Struct(s), Value::Str(k)) => s
            .fields
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("can't evaluate field {k}")),
        (other, _) => Err(format!("can't index item of type {}", other.type_name())),
    }
}

fn ordered(value: &Value) -> bool {
    matches!(
        value,
        Value::Int(_) | Value::F32(_) | Value::F64(_) | Value::Str(_) | Value::Status(_)
    )
}

/// Go's comparison of basic values: numbers with numbers, strings with strings, bools
/// with bools; anything else is an error ("incompatible types for comparison").
fn compare(a: &Value, b: &Value) -> Result<Ordering, String> {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Ok(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Ok(x.cmp(y)),
        (Value::Nil | Value::Missing, Value::Nil | Value::Missing) => Ok(Ordering::Equal),
        _ => match (a.as_int(), b.as_int()) {
            (Some(x), Some(y)) => Ok(x.cmp(&y)),
            _ => match (a.as_float(), b.as_float()) {
                (Some(x), Some(y)) => x
                    .partial_cmp(&y)
                    .ok_or_else(|| "NaN in comparison".to_string()),
                _ => Err(format!(
                    "incompatible types for comparison: {} and {}",
                    a.type_name(),
                    b.type_name()
                )),
            },
        },
    }
}

/// Go's `fmt.Sprint`: a space between operands when neither is a string.
fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 && !matches!(arg, Value::Str(_)) && !matches!(args[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        out.push_str(&arg.print());
    }
    out
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%v %s %d %f %g %e %t %q %x %X %c %%`
/// with the `-`, `+`, `0` and space flags, width and precision.
fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(f) = chars.next_if(|c| matches!(c, '-' | '+' | '0' | ' ' | '#')) {
            flags.push(f);
        }
        let mut width = String::new();
        while let Some(d) = chars.next_if(char::is_ascii_digit) {
            width.push(d);
        }
        let mut precision = None;
        if chars.next_if_eq(&'.').is_some() {
            let mut p = String::new();
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                p.push(d);
            }
            precision = Some(p.parse::<usize>().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let text = format_verb(verb, arg, precision, flags.contains('+'));
        let width = width.parse::<usize>().unwrap_or(0);
        let pad = width.saturating_sub(text.chars().count());
        if flags.contains('-') {
            out.push_str(&text);
            out.push_str(&" ".repeat(pad));
        } else if flags.contains('0') && !matches!(verb, 's' | 'q' | 'v' | 't') {
            let (sign, digits) = match text.strip_prefix('-') {
                Some(d) => ("-", d),
                None => ("", text.as_str()),
            };
            out.push_str(sign);
            out.push_str(&"0".repeat(pad));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&text);
        }
    }
    let extra: Vec<&Value> = args.collect();
    if !extra.is_empty() {
        out.push_str("%!(EXTRA ");
        out.push_str(
            &extra
                .iter()
                .map(|a| format!("{}={}", a.type_name(), a.print()))
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push(')');
    }
    out
}

fn format_verb(verb: char, arg: &Value, precision: Option<usize>, plus: bool) -> String {
    let signed = |s: String, negative: bool| {
        if plus && !negative {
            format!("+{s}")
        } else {
            s
        }
    };
    match (verb, arg) {
        ('d', v) if v.as_int().is_some() => {
            let i = v.as_int().unwrap_or_default();
            signed(i.to_string(), i < 0)
        }
        ('f' | 'F', v) if v.as_float().is_some() => {
            let f = v.as_float().unwrap_or_default();
            signed(format!("{f:.*}", precision.unwrap_or(6)), f < 0.0)
        }
        ('e', v) if v.as_float().is_some() => {
            let f = v.as_float().unwrap_or_default();
            go_exponent(&format!("{f:.*e}", precision.unwrap_or(6)))
        }
        ('g', v) if v.as_float().is_some() => v.as_float().unwrap_or_default().to_string(),
        ('x' | 'X', v) if v.as_int().is_some() => {
            let s = format!("{:x}", v.as_int().unwrap_or_default());
            if verb == 'X' {
                s.to_uppercase()
            } else {
                s
            }
        }
        ('x' | 'X', Value::Str(s)) => {
            let hex: String = s.bytes().map(|b| format!("{b:02x}")).collect();
            if verb == 'X' {
                hex.to_uppercase()
            } else {
                hex
            }
        }
        ('c', v) if v.as_int().is_some() => u32::try_from(v.as_int().unwrap_or_default())
            .ok()
            .and_then(char::from_u32)
            .map_or_else(|| "\u{FFFD}".to_string(), String::from),
        ('t', Value::Bool(b)) => b.to_string(),
        ('q', Value::Str(s)) => serde_json::Value::String(s.clone()).to_string(),
        ('s' | 'v', v) => {
            let s = v.print();
            match precision {
                Some(p) if matches!(v, Value::Str(_)) => s.chars().take(p).collect(),
                _ => s,
            }
        }
        (verb, v) => format!("%!{verb}({}={})", v.type_name(), v.print()),
    }
}

/// Rust's `1.5e3` as Go's `1.500000e+03`.
fn go_exponent(rust: &str) -> String {
    match rust.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => rust.to_string(),
    }
}

fn escape_html(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn escape_js(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
fn url_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn partition_field(partition: &Value, field: &str) -> Result<Value, String> {
    index(partition, &Value::Str(field.to_string()))
}

fn partition_list(value: &Value) -> Result<&[Value], String> {
    match value {
        Value::List(list) => Ok(list),
        Value::Nil | Value::Missing => Ok(&[]),
        other => Err(format!(
            "want a list of partitions, got {}",
            other.type_name()
        )),
    }
}

/// Burrow's `classifyTopicsByStatus`: status name → the topics with a partition in it.
fn topics_by_status(partitions: &Value) -> Result<Value, String> {
    let mut by_status: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for partition in partition_list(partitions)? {
        let status = partition_field(partition, "Status")?.print();
        let topic = partition_field(partition, "Topic")?.print();
        by_status.entry(status).or_default().insert(topic);
    }
    Ok(Value::Map(
        by_status
            .into_iter()
            .map(|(status, topics)| {
                (
                    status,
                    Value::List(topics.into_iter().map(Value::Str).collect()),
                )
            })
            .collect(),
    ))
}

/// Burrow's `templateCountPartitions`: counts of `warn`, `stop`, `stall`, `rewind` and
/// `unknown` (any other status but OK).
fn partition_counts(partitions: &Value) -> Result<Value, String> {
    let mut counts: BTreeMap<String, i64> = ["warn", "stop", "stall", "rewind", "unknown"]
        .into_iter()
        .map(|k| (k.to_string(), 0))
        .collect();
    for partition in partition_list(partitions)? {
        let key = match partition_field(partition, "Status")? {
            Value::Status(Status::Ok) => continue,
            Value::Status(Status::Warn) => "warn",
            Value::Status(Status::Stop) => "stop",
            Value::Status(Status::Stall) => "stall",
            Value::Status(Status::Rewind) => "rewind",
            _ => "unknown",
        };
        *counts.entry(key.to_string()).or_default() += 1;
    }
    Ok(Value::Map(
        counts
            .into_iter()
            .map(|(k, v)| (k, Value::Int(v)))
            .collect(),
    ))
}
