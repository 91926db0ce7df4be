//! `Decimal`: Java's `BigDecimal` as Connect uses it, an arbitrary-precision unscaled
//! integer and a scale, value = unscaled × 10^-scale. Kept exact (never through `f64`)
//! because the Decimal logical type carries database NUMERICs through Kafka unchanged.

use std::fmt;
use std::str::FromStr;

use num_bigint::{BigInt, Sign};
use num_traits::{Signed, ToPrimitive, Zero};

/// Java's `BigDecimal`. Equality is Java's `equals`: `1.0` and `1.00` differ (scale counts).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal {
    unscaled: BigInt,
    scale: i32,
}

impl Decimal {
    pub fn new(unscaled: BigInt, scale: i32) -> Decimal {
        Decimal { unscaled, scale }
    }

    pub fn from_i64(value: i64) -> Decimal {
        Decimal::new(BigInt::from(value), 0)
    }

    /// Java's `new BigDecimal(new BigInteger(bytes), scale)`: `bytes` is the unscaled
    /// value in big-endian two's complement. Empty bytes are invalid, as in Java.
    pub fn from_unscaled_bytes(bytes: &[u8], scale: i32) -> Option<Decimal> {
        if bytes.is_empty() {
            return None;
        }
        Some(Decimal::new(BigInt::from_signed_bytes_be(bytes), scale))
    }

    /// Java's `unscaledValue().toByteArray()`: the shortest big-endian two's complement.
    pub fn unscaled_bytes(&self) -> Vec<u8> {
        self.unscaled.to_signed_bytes_be()
    }

    pub fn unscaled(&self) -> &BigInt {
        &self.unscaled
    }

    pub fn scale(&self) -> i32 {
        self.scale
    }

    /// Java's `doubleValue()`: the nearest `f64`.
    pub fn to_f64(&self) -> f64 {
        f64::from_str(&format!("{}e{}", self.unscaled, -i64::from(self.scale))).unwrap_or(0.0)
    }

    /// Java's `floatValue()`: the nearest `f32`.
    pub fn to_f32(&self) -> f32 {
        f32::from_str(&format!("{}e{}", self.unscaled, -i64::from(self.scale))).unwrap_or(0.0)
    }

    /// The integer part (rounded toward zero), as `toBigInteger()`.
    pub fn to_big_integer(&self) -> BigInt {
        if self.scale <= 0 {
            self.unscaled.clone() * BigInt::from(10).pow(self.scale.unsigned_abs())
        } else {
            &self.unscaled / BigInt::from(10).pow(self.scale.unsigned_abs())
        }
    }

    /// Java's `longValue()`: the integer part's low 64 bits (wrapping, as Java does).
    pub fn to_i64_wrapping(&self) -> i64 {
        let low = self.to_big_integer() & BigInt::from(u64::MAX);
        low.to_u64().unwrap_or(0) as i64
    }

    /// Java's `BigDecimal.valueOf(double)`: the shortest decimal that reads back as `value`
    /// (`Double.toString`'s digits). `None` for NaN and the infinities.
    pub fn from_f64(value: f64) -> Option<Decimal> {
        if !value.is_finite() {
            return None;
        }
        crate::javafmt::java_double_to_string(value).parse().ok()
    }
}

/// Why a string is not a Java `BigDecimal` (Java throws `NumberFormatException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Character array is missing \"exponent\" mark 'e' or 'E'.")]
pub struct ParseDecimalError;

impl FromStr for Decimal {
    type Err = ParseDecimalError;

    /// Java's `new BigDecimal(String)`: `[sign] digits [. digits] [(e|E) [sign] digits]`.
    fn from_str(text: &str) -> Result<Decimal, ParseDecimalError> {
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(at) => {
                let exponent: i64 = text[at + 1..].parse().map_err(|_| ParseDecimalError)?;
                (&text[..at], exponent)
            }
            None => (text, 0),
        };
        let (negative, digits) = match mantissa.as_bytes().first() {
            Some(b'-') => (true, &mantissa[1..]),
            Some(b'+') => (false, &mantissa[1..]),
            _ => (false, mantissa),
        };
        let (integer, fraction) = match digits.split_once('.') {
            Some((integer, fraction)) => (integer, fraction),
            None => (digits, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if integer.len() + fraction.len() == 0 || !all_digits(integer) || !all_digits(fraction) {
            return Err(ParseDecimalError);
        }
        let magnitude =
            BigInt::from_str(&format!("{integer}{fraction}")).map_err(|_| ParseDecimalError)?;
        let scale = fraction.len() as i64 - exponent;
        let scale = i32::try_from(scale).map_err(|_| ParseDecimalError)?;
        let unscaled = if negative { -magnitude } else { magnitude };
        Ok(Decimal::new(unscaled, scale))
    }
}

impl fmt::Display for Decimal {
    /// Java's `BigDecimal.toString()`: plain notation when the scale is non-negative and
    /// the adjusted exponent is at least -6, scientific (`1.23E+5`) otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let coefficient = self.unscaled.abs().to_string();
        let sign = if self.unscaled.sign() == Sign::Minus {
            "-"
        } else {
            ""
        };
        let length = coefficient.len() as i64;
        let scale = i64::from(self.scale);
        let adjusted = -scale + (length - 1);
        if scale >= 0 && adjusted >= -6 {
            if scale == 0 {
                return write!(f, "{sign}{coefficient}");
            }
            if length > scale {
                let point = (length - scale) as usize;
                return write!(
                    f,
                    "{sign}{}.{}",
                    &coefficient[..point],
                    &coefficient[point..]
                );
            }
            let zeros = "0".repeat((scale - length) as usize);
            return write!(f, "{sign}0.{zeros}{coefficient}");
        }
        write!(f, "{sign}{}", &coefficient[..1])?;
        if length > 1 {
            write!(f, ".{}", &coefficient[1..])?;
        }
        if adjusted != 0 {
            let plus = if adjusted > 0 { "+" } else { "" };
            write!(f, "E{plus}{adjusted}")?;
        }
        Ok(())
    }
}

impl Decimal {
    pub fn is_zero(&self) -> bool {
        self.unscaled.is_zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn to_string_follows_javas_big_decimal() {
        // Cases from BigDecimal's javadoc (unscaled, scale, text).
        for (unscaled, scale, text) in [
            (123, 0, "123"),
            (-123, 0, "-123"),
            (123, -1, "1.23E+3"),
            (123, 3, "0.123"),
            (123, 10, "1.23E-8"),
            (-123, 12, "-1.23E-10"),
            (0, 0, "0"),
            (0, 2, "0.00"),
            (0, -2, "0E+2"),
            (5, -1, "5E+1"),
            (1234, 2, "12.34"),
            (1, 6, "0.000001"),
            (1, 7, "1E-7"),
        ] {
            assert_eq!(
                Decimal::new(BigInt::from(unscaled), scale).to_string(),
                text
            );
        }
    }

    #[test]
    fn parses_as_javas_string_constructor() {
        assert_eq!(d("1.56"), Decimal::new(BigInt::from(156), 2));
        assert_eq!(d("-0.5"), Decimal::new(BigInt::from(-5), 1));
        assert_eq!(d("1E+3"), Decimal::new(BigInt::from(1), -3));
        assert_eq!(d("1.5e-2"), Decimal::new(BigInt::from(15), 3));
        assert!("".parse::<Decimal>().is_err());
        assert!("1.2.3".parse::<Decimal>().is_err());
        assert!("abc".parse::<Decimal>().is_err());
    }

    #[test]
    fn unscaled_bytes_are_minimal_twos_complement() {
        // DecimalTest: 156 at scale 2 is [0, -100]; -156 is [-1, 100].
        assert_eq!(d("1.56").unscaled_bytes(), vec![0, 156]);
        assert_eq!(d("-1.56").unscaled_bytes(), vec![255, 100]);
        assert_eq!(d("0").unscaled_bytes(), vec![0]);
        assert_eq!(
            Decimal::from_unscaled_bytes(&[255, 100], 2).unwrap(),
            d("-1.56")
        );
    }

    #[test]
    fn numeric_views_truncate_and_round_as_java() {
        assert_eq!(d("12.99").to_i64_wrapping(), 12);
        assert_eq!(d("-12.99").to_i64_wrapping(), -12);
        assert_eq!(d("18446744073709551617").to_i64_wrapping(), 1);
        assert_eq!(d("1.5").to_f64(), 1.5);
        assert_eq!(Decimal::from_f64(0.1).unwrap(), d("0.1"));
    }
}
