//! Java's `SimpleDateFormat` patterns (`--date-format`), for the letters Kafka users write:
//! `yyyy-MM-dd HH:mm:ss:SSS` and the like. Quoted text (`'T'`, `''`) is literal; a letter
//! Java does not know is refused as Java refuses it.

use chrono::{DateTime, Datelike, Local, Offset, Timelike};

use crate::ToolError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    /// A pattern letter repeated `count` times.
    Field(char, usize),
}

/// A parsed `SimpleDateFormat` pattern.
#[derive(Debug, Clone)]
pub(super) struct JavaDateFormat {
    tokens: Vec<Token>,
}

const PATTERN_LETTERS: &str = "GyYMLwWDdFEuaHkKhmsSzZX";

impl JavaDateFormat {
    pub(super) fn new(pattern: &str) -> Result<JavaDateFormat, ToolError> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut literal = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                if chars.get(i + 1) == Some(&'\'') {
                    literal.push('\'');
                    i += 2;
                    continue;
                }
                // Quoted text up to the closing quote; `''` inside stands for one quote.
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(ToolError::Usage(format!(
                                "Unterminated quote in the date format {pattern}"
                            )))
                        }
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            literal.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&other) => {
                            literal.push(other);
                            i += 1;
                        }
                    }
                }
            } else if c.is_ascii_alphabetic() {
                if !PATTERN_LETTERS.contains(c) {
                    return Err(ToolError::Usage(format!("Illegal pattern character '{c}'")));
                }
                if !literal.is_empty() {
                    tokens.push(Token::Literal(std::mem::take(&mut literal)));
                }
                let mut count = 1;
                while chars.get(i + count) == Some(&c) {
                    count += 1;
                }
                tokens.push(Token::Field(c, count));
                i += count;
            } else {
                literal.push(c);
                i += 1;
            }
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        Ok(JavaDateFormat { tokens })
    }

    pub(super) fn format(&self, time: &DateTime<Local>) -> String {
        let mut out = String::new();
        for token in &self.tokens {
            match token {
                Token::Literal(text) => out.push_str(text),
                Token::Field(letter, count) => field(&mut out, *letter, *count, time),
            }
        }
        out
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn number(out: &mut String, value: i64, width: usize) {
    out.push_str(&format!("{value:0width$}"));
}

/// Text fields: the full name from 4 letters on, else the 3-letter abbreviation.
fn text(out: &mut String, name: &str, count: usize) {
    if count >= 4 {
        out.push_str(name);
    } else {
        out.extend(name.chars().take(3));
    }
}

fn field(out: &mut String, letter: char, count: usize, time: &DateTime<Local>) {
    let offset_seconds = time.offset().fix().local_minus_utc();
    match letter {
        'G' => out.push_str(if time.year() > 0 { "AD" } else { "BC" }),
        'y' | 'Y' => {
            let year = i64::from(if letter == 'Y' {
                time.iso_week().year()
            } else {
                time.year()
            });
            if count == 2 {
                number(out, year.rem_euclid(100), 2);
            } else {
                number(out, year, count);
            }
        }
        'M' | 'L' => {
            if count >= 3 {
                text(out, MONTHS[time.month0() as usize], count);
            } else {
                number(out, i64::from(time.month()), count);
            }
        }
        'w' => number(out, i64::from(time.iso_week().week()), count),
        'W' => {
            // Week of the month with Sunday-first weeks, as in Java's default US locale.
            let first_weekday = (i64::from(time.weekday().num_days_from_sunday())
                - i64::from(time.day0()))
            .rem_euclid(7);
            number(out, (i64::from(time.day0()) + first_weekday) / 7 + 1, count);
        }
        'D' => number(out, i64::from(time.ordinal()), count),
        'd' => number(out, i64::from(time.day()), count),
        'F' => number(out, i64::from(time.day0()) / 7 + 1, count),
        'E' => text(
            out,
            WEEKDAYS[time.weekday().num_days_from_monday() as usize],
            count,
        ),
        'u' => number(out, i64::from(time.weekday().number_from_monday()), count),
        'a' => out.push_str(if time.hour() < 12 { "AM" } else { "PM" }),
        'H' => number(out, i64::from(time.hour()), count),
        'k' => number(
            out,
            i64::from(if time.hour() == 0 { 24 } else { time.hour() }),
            count,
        ),
        'K' => number(out, i64::from(time.hour() % 12), count),
        'h' => number(
            out,
            i64::from(match time.hour() % 12 {
                0 => 12,
                h => h,
            }),
            count,
        ),
        'm' => number(out, i64::from(time.minute()), count),
        's' => number(out, i64::from(time.second()), count),
        'S' => number(
            out,
            i64::from(time.timestamp_subsec_millis().min(999)),
            count,
        ),
        'z' => out.push_str(&time.format("%Z").to_string()),
        'Z' => out.push_str(&offset_text(offset_seconds, false)),
        'X' => {
            if offset_seconds == 0 {
                out.push('Z');
            } else {
                let full = offset_text(offset_seconds, count >= 3);
                out.push_str(if count == 1 { &full[..3] } else { &full });
            }
        }
        _ => {}
    }
}

/// `+hhmm`, or `+hh:mm` with `colon`.
fn offset_text(offset_seconds: i32, colon: bool) -> String {
    let sign = if offset_seconds < 0 { '-' } else { '+' };
    let minutes = offset_seconds.unsigned_abs() / 60;
    let (hours, minutes) = (minutes / 60, minutes % 60);
    if colon {
        format!("{sign}{hours:02}:{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> DateTime<Local> {
        Local
            .with_ymd_and_hms(y, mo, d, h, mi, s)
            .single()
            .expect("a local time")
            + chrono::Duration::milliseconds(i64::from(ms))
    }

    #[test]
    fn kafkas_default_pattern_prints_milliseconds_after_a_colon() {
        let format = JavaDateFormat::new("yyyy-MM-dd HH:mm:ss:SSS").unwrap();
        assert_eq!(
            format.format(&at(2024, 3, 7, 9, 5, 2, 42)),
            "2024-03-07 09:05:02:042"
        );
    }

    #[test]
    fn text_fields_quotes_and_twelve_hour_clock() {
        let format = JavaDateFormat::new("EEE, d MMM yy 'at' h:mm a ''").unwrap();
        assert_eq!(
            format.format(&at(2024, 3, 7, 15, 5, 0, 0)),
            "Thu, 7 Mar 24 at 3:05 PM '"
        );
    }

    #[test]
    fn unknown_letters_are_refused_as_java_refuses_them() {
        assert_eq!(
            JavaDateFormat::new("yyyy-qq").unwrap_err().to_string(),
            "Illegal pattern character 'q'"
        );
    }
}
