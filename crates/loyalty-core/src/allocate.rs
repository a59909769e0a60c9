//! Exact proportional allocation: splitting an amount over weights so the shares add up to
//! the amount to the last unit.
//!
//! Used wherever one amount must be spread over a bill's lines (a bill discount, a partial
//! return). Rounding every share on its own loses or invents units; here every share is
//! rounded down and the units left over go, one each, to the shares that lost the most
//! (largest remainder), ties to the earliest. The arithmetic is done on exact integers
//! (`u128`), not on rounded decimal quotients, so no division error can leak into a share.

use rust_decimal::Decimal;

use crate::error::{Error, Result};

/// Splits `total` over `weights` in proportion, in units of `10^-decimals`.
///
/// `total` must be non-negative with at most `decimals` places; weights must be non-negative.
/// Each share is `total * weight / sum(weights)` rounded down to `decimals` places, plus one
/// unit for the shares with the largest remainders (ties: earliest index) until the shares add
/// up to `total` exactly. So every share is within one unit of its exact value and never
/// exceeds it by a whole unit, a zero weight always gets zero, and a weight equal to the whole
/// gets everything.
///
/// Fails with [`Error::InvalidBill`] when `total` is not zero but the weights add up to zero
/// (there is nothing to split it over), and with [`Error::Overflow`] when the exact
/// products leave 128-bit integers (not reachable with bounded amounts and at most four
/// places).
///
/// ```
/// use loyalty_core::allocate;
/// use rust_decimal::Decimal;
/// // A 50.00 flat discount over the pharmacy lines 475.00 (Medicines), 180.00 (Baby Care)
/// // and 300.00 (General): exact shares 24.869.., 9.424.., 15.706.. -> 24.87, 9.42, 15.71.
/// let lines = [Decimal::new(47_500, 2), Decimal::new(18_000, 2), Decimal::new(30_000, 2)];
/// let shares = allocate(Decimal::new(5_000, 2), &lines, 2)?;
/// assert_eq!(shares, [Decimal::new(2_487, 2), Decimal::new(942, 2), Decimal::new(1_571, 2)]);
/// // Three equal weights: the leftover cent goes to the first.
/// let thirds = allocate(Decimal::ONE, &[Decimal::ONE; 3], 2)?;
/// assert_eq!(thirds, [Decimal::new(34, 2), Decimal::new(33, 2), Decimal::new(33, 2)]);
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn allocate(total: Decimal, weights: &[Decimal], decimals: u32) -> Result<Vec<Decimal>> {
    if decimals > Decimal::MAX_SCALE {
        return Err(Error::TooLarge {
            what: "allocation decimals",
            value: Decimal::from(decimals),
            max: Decimal::from(Decimal::MAX_SCALE),
        });
    }
    if total.is_sign_negative() && !total.is_zero() {
        return Err(Error::Negative {
            what: "amount to allocate",
            value: total,
        });
    }
    let total_units = units("amount to allocate", total, decimals)?;

    for &w in weights {
        if w.is_sign_negative() && !w.is_zero() {
            return Err(Error::Negative {
                what: "allocation weight",
                value: w,
            });
        }
    }
    // Bring all weights to one scale so they become exact integers.
    let scale = weights
        .iter()
        .map(|w| w.normalize().scale())
        .max()
        .unwrap_or(0);
    let weights = weights
        .iter()
        .map(|&w| units("allocation weight", w, scale))
        .collect::<Result<Vec<u128>>>()?;
    let weight_sum = weights.iter().try_fold(0u128, |acc, &w| {
        acc.checked_add(w)
            .ok_or(Error::Overflow("allocation weights"))
    })?;

    if weight_sum == 0 {
        if total_units == 0 {
            return Ok(vec![Decimal::ZERO; weights.len()]);
        }
        return Err(Error::InvalidBill(format!(
            "cannot allocate {total} over weights that add up to zero"
        )));
    }

    // share_i = floor(total * w_i / W), remainder_i = (total * w_i) mod W.
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut allocated = 0u128;
    for &w in &weights {
        let product = total_units
            .checked_mul(w)
            .ok_or(Error::Overflow("allocation"))?;
        let share = product / weight_sum;
        allocated += share; // shares add up to at most total_units
        shares.push(share);
        remainders.push(product % weight_sum);
    }

    // The leftover is sum(remainder_i) / W, fewer units than there are non-zero remainders,
    // so it only ever goes to shares that were actually rounded down.
    let leftover = total_units - allocated;
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]).then(a.cmp(&b)));
    for &i in order
        .iter()
        .take(usize::try_from(leftover).unwrap_or(usize::MAX))
    {
        shares[i] += 1;
    }

    shares
        .into_iter()
        .map(|s| from_units(s, decimals))
        .collect()
}

/// `value` as an exact integer count of `10^-scale` units.
fn units(what: &'static str, value: Decimal, scale: u32) -> Result<u128> {
    let value = value.normalize();
    if value.scale() > scale {
        return Err(Error::TooPrecise {
            what,
            value,
            max_decimals: scale,
        });
    }
    let mantissa = u128::try_from(value.mantissa()).map_err(|_| Error::Negative { what, value })?;
    10u128
        .checked_pow(scale - value.scale())
        .and_then(|factor| mantissa.checked_mul(factor))
        .ok_or(Error::Overflow("allocation"))
}

fn from_units(units: u128, decimals: u32) -> Result<Decimal> {
    let units = i128::try_from(units).map_err(|_| Error::Overflow("allocation"))?;
    Decimal::try_from_i128_with_scale(units, decimals)
        .map(|d| d.normalize())
        .map_err(|_| Error::Overflow("allocation"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    #[test]
    fn shares_are_proportional_when_they_divide_exactly() {
        let shares = allocate(dec!(30), &[dec!(1), dec!(2)], 0).unwrap();
        assert_eq!(shares, [dec!(10), dec!(20)]);
    }

    #[test]
    fn the_leftover_unit_goes_to_the_largest_remainder() {
        // Exact 3.33.. and 6.66..: the second has the larger remainder.
        let shares = allocate(dec!(10), &[dec!(1), dec!(2)], 0).unwrap();
        assert_eq!(shares, [dec!(3), dec!(7)]);
    }

    #[test]
    fn equal_remainders_favour_the_earliest_share() {
        let shares = allocate(dec!(0.02), &[dec!(1), dec!(1), dec!(1)], 2).unwrap();
        assert_eq!(shares, [dec!(0.01), dec!(0.01), dec!(0)]);
    }

    #[test]
    fn a_zero_weight_gets_nothing() {
        let shares = allocate(dec!(1), &[dec!(0), dec!(1), dec!(0)], 2).unwrap();
        assert_eq!(shares, [dec!(0), dec!(1), dec!(0)]);
    }

    #[test]
    fn weights_of_different_scales_are_compared_exactly() {
        let shares = allocate(dec!(3), &[dec!(0.5), dec!(1)], 0).unwrap();
        assert_eq!(shares, [dec!(1), dec!(2)]);
    }

    #[test]
    fn nothing_to_allocate_gives_zero_shares_even_without_weights() {
        assert_eq!(
            allocate(dec!(0), &[dec!(0), dec!(0)], 2).unwrap(),
            [dec!(0); 2]
        );
        assert!(allocate(dec!(0), &[], 2).unwrap().is_empty());
    }

    #[test]
    fn allocating_over_zero_weights_is_rejected() {
        assert!(matches!(
            allocate(dec!(1), &[dec!(0), dec!(0)], 2),
            Err(Error::InvalidBill(m)) if m.contains("add up to zero")
        ));
        assert!(matches!(
            allocate(dec!(1), &[], 2),
            Err(Error::InvalidBill(_))
        ));
    }

    #[test]
    fn a_total_finer_than_the_decimals_is_rejected() {
        assert!(matches!(
            allocate(dec!(1.005), &[dec!(1)], 2),
            Err(Error::TooPrecise { .. })
        ));
    }

    #[test]
    fn a_negative_total_is_rejected() {
        assert!(matches!(
            allocate(dec!(-1), &[dec!(1)], 2),
            Err(Error::Negative { .. })
        ));
    }

    #[test]
    fn a_negative_weight_is_rejected() {
        assert!(matches!(
            allocate(dec!(1), &[dec!(2), dec!(-1)], 2),
            Err(Error::Negative { .. })
        ));
    }

    #[test]
    fn more_decimals_than_a_decimal_can_hold_are_rejected() {
        assert!(matches!(
            allocate(dec!(1), &[dec!(1)], 29),
            Err(Error::TooLarge { .. })
        ));
    }

    #[test]
    fn the_largest_amounts_split_without_overflow() {
        let max = crate::values::MAX_AMOUNT;
        let weights = [max, dec!(0.0001), max];
        let shares = allocate(max, &weights, 4).unwrap();
        assert_eq!(shares.iter().copied().sum::<Decimal>(), max);
    }

    fn cents() -> impl Strategy<Value = Decimal> {
        (0i64..=10_000_000).prop_map(|c| Decimal::new(c, 2))
    }

    proptest! {
        #[test]
        fn shares_add_up_exactly_and_stay_within_one_unit(
            total in cents(),
            weights in prop::collection::vec(cents(), 1..20),
            decimals in 2u32..=4,
        ) {
            let weight_sum: Decimal = weights.iter().copied().sum();
            prop_assume!(!weight_sum.is_zero());
            let shares = allocate(total, &weights, decimals).unwrap();
            prop_assert_eq!(shares.len(), weights.len());
            prop_assert_eq!(shares.iter().copied().sum::<Decimal>(), total);
            let unit = Decimal::new(1, decimals);
            for (share, weight) in shares.iter().zip(&weights) {
                prop_assert!(!share.is_sign_negative());
                // |share - exact| < unit  <=>  |share * W - total * w| < unit * W
                let gap = (share * weight_sum - total * weight).abs();
                prop_assert!(gap < unit * weight_sum, "share {} of weight {}", share, weight);
                if weight.is_zero() {
                    prop_assert!(share.is_zero());
                }
            }
        }

        #[test]
        fn allocating_weights_over_their_own_sum_gives_them_back(
            weights in prop::collection::vec(cents(), 1..20),
        ) {
            let total: Decimal = weights.iter().copied().sum();
            prop_assert_eq!(allocate(total, &weights, 2).unwrap(), weights);
        }
    }
}
