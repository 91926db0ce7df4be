//! Go's time layouts (`time.Time.Format`): the reference time
//! `Mon Jan 2 15:04:05 MST 2006` written the way the output should look. Times here are
//! UTC, as Burrow's are on a server in UTC.

use chrono::{DateTime, Datelike, Timelike, Utc};

/// Go's zero time, 0001-01-01T00:00:00Z, in Unix seconds.
pub(super) const ZERO_UNIX: i64 = -62_135_596_800;

/// Go's `time.RFC3339Nano`, which `json.Marshal` uses for a `time.Time`.
pub(super) fn rfc3339_nano(t: &DateTime<Utc>) -> String {
    format(t, "2006-01-02T15:04:05.999999999Z07:00")
}

/// Go's `time.Time.String`.
pub(super) fn default_string(t: &DateTime<Utc>) -> String {
    format(t, "2006-01-02 15:04:05.999999999 -0700 MST")
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
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// The layout elements Go recognises, longest first where one is a prefix of another.
const ELEMENTS: &[&str] = &[
    "January",
    "Jan",
    "Monday",
    "Mon",
    "MST",
    "2006",
    "002",
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "15",
    "_2",
    "1",
    "2",
    "3",
    "4",
    "5",
    "PM",
    "pm",
    "-07:00:00",
    "-070000",
    "-07:00",
    "-0700",
    "-07",
    "Z07:00:00",
    "Z070000",
    "Z07:00",
    "Z0700",
    "Z07",
];

/// Formats `t` with Go layout `layout`.
pub(super) fn format(t: &DateTime<Utc>, layout: &str) -> String {
    let mut out = String::new();
    let mut rest = layout;
    while !rest.is_empty() {
        if let Some((digits, len)) = fraction(rest) {
            let nanos = format!("{:09}", t.nanosecond() % 1_000_000_000);
            let mut shown = nanos[..digits.len].to_string();
            if digits.trim_zeros {
                shown = shown.trim_end_matches('0').to_string();
            }
            if !shown.is_empty() || !digits.trim_zeros {
                out.push(digits.separator);
                out.push_str(&shown);
            }
            rest = &rest[len..];
            continue;
        }
        match ELEMENTS.iter().find(|e| rest.starts_with(**e)) {
            Some(element) => {
                out.push_str(&element_value(t, element));
                rest = &rest[element.len()..];
            }
            None => {
                let c = rest.chars().next().unwrap_or_default();
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

struct Fraction {
    separator: char,
    len: usize,
    trim_zeros: bool,
}

/// `.000`, `.999`, `,000`…: fractional seconds, when not followed by another digit.
fn fraction(rest: &str) -> Option<(Fraction, usize)> {
    let mut chars = rest.chars();
    let separator = chars.next().filter(|c| *c == '.' || *c == ',')?;
    let digit = chars.next().filter(|c| *c == '0' || *c == '9')?;
    let len = 1 + rest[1..].chars().take_while(|c| *c == digit).count();
    if rest[len..].starts_with(|c: char| c.is_ascii_digit()) || len - 1 > 9 {
        return None;
    }
    Some((
        Fraction {
            separator,
            len: len - 1,
            trim_zeros: digit == '9',
        },
        len,
    ))
}

fn element_value(t: &DateTime<Utc>, element: &str) -> String {
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    match element {
        "January" => MONTHS[t.month0() as usize].to_string(),
        "Jan" => MONTHS[t.month0() as usize][..3].to_string(),
        "Monday" => DAYS[t.weekday().num_days_from_monday() as usize].to_string(),
        "Mon" => DAYS[t.weekday().num_days_from_monday() as usize][..3].to_string(),
        "MST" => "UTC".to_string(),
        "2006" => format!("{:04}", t.year()),
        "06" => format!("{:02}", t.year().rem_euclid(100)),
        "002" => format!("{:03}", t.ordinal()),
        "01" => format!("{:02}", t.month()),
        "1" => t.month().to_string(),
        "02" => format!("{:02}", t.day()),
        "_2" => format!("{:>2}", t.day()),
        "2" => t.day().to_string(),
        "15" => format!("{:02}", t.hour()),
        "03" => format!("{hour12:02}"),
        "3" => hour12.to_string(),
        "04" => format!("{:02}", t.minute()),
        "4" => t.minute().to_string(),
        "05" => format!("{:02}", t.second()),
        "5" => t.second().to_string(),
        "PM" => if t.hour() >= 12 { "PM" } else { "AM" }.to_string(),
        "pm" => if t.hour() >= 12 { "pm" } else { "am" }.to_string(),
        // UTC: Go writes `Z` for the Z forms and a zero offset for the others.
        z if z.starts_with('Z') => "Z".to_string(),
        "-07:00:00" => "+00:00:00".to_string(),
        "-070000" => "+000000".to_string(),
        "-07:00" => "+00:00".to_string(),
        "-0700" => "+0000".to_string(),
        "-07" => "+00".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 7, 9, 5, 4).unwrap()
            + chrono::Duration::nanoseconds(120_000_000)
    }

    #[test]
    fn burrows_layouts_format_as_go_does() {
        assert_eq!(
            format(&t(), "Jan 02, 2006 15:04:05 UTC"),
            "Mar 07, 2026 09:05:04 UTC"
        );
        assert_eq!(
            format(&t(), "2006-01-02T15:04:05Z07:00"),
            "2026-03-07T09:05:04Z"
        );
        assert_eq!(rfc3339_nano(&t()), "2026-03-07T09:05:04.12Z");
        assert_eq!(default_string(&t()), "2026-03-07 09:05:04.12 +0000 UTC");
    }

    #[test]
    fn every_element_has_its_go_meaning() {
        assert_eq!(
            format(
                &t(),
                "Monday Mon January 1 2 _2 3 03 4 5 PM pm 06 002 .000 ,999 -07:00 MST"
            ),
            "Saturday Sat March 3 7  7 9 09 5 4 AM am 26 066 .120 ,12 +00:00 UTC"
        );
        // Digits after a fraction make it no fraction, as in Go: `01` is then the month.
        assert_eq!(format(&t(), ".0001"), ".0003");
    }
}
