//! Java's `Double.toString` and `Float.toString`, which Jackson's output, Kafka's messages
//! and `Cast` to string all print floating-point numbers with.

/// The shortest digits of a finite, non-zero float and the decimal exponent of its first
/// digit, from Rust's shortest round-trip formatting (the digits Java 19+ prints too).
fn shortest_digits(scientific: &str) -> (bool, String, i32) {
    let (mantissa, exponent) = scientific.split_once('e').expect("{:e} has an exponent");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (
        negative,
        digits,
        exponent.parse().expect("integer exponent"),
    )
}

fn java_floating_to_string(negative: bool, digits: &str, exponent: i32, plain: bool) -> String {
    let sign = if negative { "-" } else { "" };
    if plain {
        // 10^-3 <= |v| < 10^7: plain decimal with at least one fractional digit.
        if exponent >= 0 {
            let point = exponent as usize + 1;
            let integer = if digits.len() >= point {
                digits[..point].to_string()
            } else {
                format!("{digits}{}", "0".repeat(point - digits.len()))
            };
            let fraction = if digits.len() > point {
                &digits[point..]
            } else {
                "0"
            };
            format!("{sign}{integer}.{fraction}")
        } else {
            let zeros = "0".repeat((-exponent - 1) as usize);
            format!("{sign}0.{zeros}{digits}")
        }
    } else {
        let fraction = if digits.len() > 1 { &digits[1..] } else { "0" };
        format!("{sign}{}.{fraction}E{exponent}", &digits[..1])
    }
}

/// Java's `Double.toString(double)` (JDK 19+: shortest digits that read back exactly).
pub fn java_double_to_string(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_string();
    }
    let (negative, digits, exponent) = shortest_digits(&format!("{value:e}"));
    let plain = (1e-3..1e7).contains(&value.abs());
    java_floating_to_string(negative, &digits, exponent, plain)
}

/// Java's `Float.toString(float)`.
pub fn java_float_to_string(value: f32) -> String {
    if value.is_nan() {
        return "NaN".to_string();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .to_string();
    }
    let (negative, digits, exponent) = shortest_digits(&format!("{value:e}"));
    let plain = (1e-3..1e7).contains(&value.abs());
    java_floating_to_string(negative, &digits, exponent, plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_and_floats_print_as_java() {
        for (value, text) in [
            (1.0, "1.0"),
            (12.34, "12.34"),
            (-0.5, "-0.5"),
            (100.0, "100.0"),
            (1e7, "1.0E7"),
            (1.2345678e7, "1.2345678E7"),
            (9999999.0, "9999999.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1e21, "1.0E21"),
            (f64::MAX, "1.7976931348623157E308"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
        ] {
            assert_eq!(java_double_to_string(value), text, "{value}");
        }
        assert_eq!(java_float_to_string(12.34f32), "12.34");
        assert_eq!(java_float_to_string(1e10f32), "1.0E10");
        assert_eq!(java_float_to_string(0.1f32), "0.1");
    }
}
