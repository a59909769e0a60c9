//! Shared checks for the decimal-backed value types.

use rust_decimal::Decimal;

use crate::error::{Error, Result, excerpt};

/// The most decimal places any amount (points or money) may have.
///
/// Four places are enough for every currency's minor units and for fractional points, and they
/// let storage keep amounts as exact 64-bit integers of ten-thousandths.
pub const MAX_SCALE: u32 = 4;

/// The largest amount of points or money the engine accepts: one hundred trillion.
///
/// With [`MAX_SCALE`] places this still fits a signed 64-bit integer of ten-thousandths.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0x107A_4000, 0x5AF3, 0, false, 0); // 100_000_000_000_000

/// Parses a decimal written in plain notation ("12.50", "-3", "0.5").
pub(crate) fn parse(what: &'static str, input: &str) -> Result<Decimal> {
    let trimmed = input.trim();
    let well_formed = !trimmed.is_empty()
        && trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+');
    if !well_formed {
        return Err(Error::NotADecimal {
            what,
            input: excerpt(input),
        });
    }
    trimmed.parse::<Decimal>().map_err(|_| Error::NotADecimal {
        what,
        input: excerpt(input),
    })
}

/// Checks that an amount is within `0..=MAX_AMOUNT` with at most `MAX_SCALE` places, and
/// returns it normalized (no trailing zeros).
pub(crate) fn amount(what: &'static str, value: Decimal) -> Result<Decimal> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(Error::Negative { what, value });
    }
    if value > MAX_AMOUNT {
        return Err(Error::TooLarge {
            what,
            value,
            max: MAX_AMOUNT,
        });
    }
    let normalized = value.normalize();
    if normalized.scale() > MAX_SCALE {
        return Err(Error::TooPrecise {
            what,
            value,
            max_decimals: MAX_SCALE,
        });
    }
    // `normalize` turns -0 into 0, so the stored value is never negative zero.
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn max_amount_is_one_hundred_trillion() {
        assert_eq!(MAX_AMOUNT, dec!(100_000_000_000_000));
    }

    #[test]
    fn scientific_notation_and_words_are_not_decimals() {
        assert!(parse("x", "1e5").is_err());
        assert!(parse("x", "ten").is_err());
        assert!(parse("x", "").is_err());
        assert!(parse("x", "NaN").is_err());
    }

    #[test]
    fn negative_zero_is_stored_as_zero() {
        let zero = amount("x", dec!(-0.00)).unwrap();
        assert!(!zero.is_sign_negative());
    }
}
