//! What the captured part of a hold pays.

use crate::error::{Error, Result};
use crate::program::Rules;
use crate::redeem::Redemption;
use crate::values::{ConversionRate, Money, Points};

/// What capturing `captured` of the points a hold reserved pays: exactly what a redemption of
/// the captured points pays ([`points_value`](crate::points_value): the program's conversion
/// rate applied to them, rounded down to the currency's minor units), never more than the
/// hold's value.
///
/// The captured points are valued on their own, never as a share of the hold's value: that
/// value was already rounded, and a share of it can lose a minor unit. At "100 points = 10.00"
/// a hold of 28.19 points is worth 2.81 (2.819 rounded down); capturing 20.75 of them pays
/// 2.07 (2.075 rounded down), as redeeming 20.75 points does, not 2.06 (2.81 × 20.75 / 28.19).
///
/// `reserved` is the redemption the reservation was checked as: the held points and their
/// value. The program's rules may have changed since the points were reserved:
/// - at the reservation's rate the cap never binds (fewer points are never worth more); if the
///   rate went up since, the capture pays no more than the value the bill's limits were
///   checked against;
/// - if the program no longer lets points pay bills, the captured points are valued at the
///   reservation's own rate (`reserved.value` for `reserved.points`), so a checkout that was
///   allowed when the points were reserved can still finish.
///
/// Refuses more points than were reserved ([`Error::CaptureExceedsHold`]) and a reservation
/// in another currency than the program's ([`Error::CurrencyMismatch`]).
///
/// ```
/// use loyalty_core::hold::captured_value;
/// use loyalty_core::{
///     ConversionRate, Currency, Money, PointPrecision, ProgramRules, Redemption,
///     RedemptionRules, Rounding,
/// };
/// let inr = Currency::new("INR")?;
/// let mut pharmacy = ProgramRules::new(inr);
/// pharmacy.precision = PointPrecision::new(2, Rounding::Down)?;
/// pharmacy.redemption = Some(RedemptionRules {
///     rate: ConversionRate::new("100".parse()?, Money::parse("10.00", inr)?)?,
///     min_points: "10".parse()?,
///     max_bill_share: "50".parse()?,
///     max_points_per_bill: None,
/// });
/// let pharmacy = pharmacy.validate()?;
/// let reserved = Redemption { points: "28.19".parse()?, value: Money::parse("2.81", inr)? };
/// assert_eq!(captured_value(&pharmacy, &reserved, "20.75".parse()?)?.to_string(), "2.07 INR");
/// assert_eq!(captured_value(&pharmacy, &reserved, "28.19".parse()?)?.to_string(), "2.81 INR");
/// # Ok::<(), loyalty_core::Error>(())
/// ```
pub fn captured_value(rules: &Rules, reserved: &Redemption, captured: Points) -> Result<Money> {
    let currency = rules.currency;
    Money::zero(currency).same_currency(&reserved.value)?;
    if captured > reserved.points {
        return Err(Error::CaptureExceedsHold {
            requested: captured.value(),
            held: reserved.points.value(),
        });
    }
    let value = match &rules.redemption {
        Some(redemption) => redemption.rate.value_of(captured)?,
        None if reserved.value.is_zero() => Money::zero(currency),
        None => ConversionRate::new(reserved.points, reserved.value)?.value_of(captured)?,
    };
    if value.amount() > reserved.value.amount() {
        Ok(reserved.value)
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, TimeZone, Utc};
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use uuid::Uuid;

    use super::*;
    use crate::bill::{Bill, BillLine};
    use crate::checkout::earn_on_bill;
    use crate::hold::Hold;
    use crate::lots::Lot;
    use crate::program::{ProgramRules, RedemptionRules};
    use crate::redeem::{RedemptionContext, points_value, validate_redemption};
    use crate::values::{Currency, PointPrecision, Rounding};

    fn inr() -> Currency {
        Currency::new("INR").unwrap()
    }

    fn pts(s: &str) -> Points {
        s.parse().unwrap()
    }

    fn money(s: &str) -> Money {
        Money::parse(s, inr()).unwrap()
    }

    /// Points with `decimals` decimals, earning 1 point per 10 spent, paying bills at
    /// `points` = `value`, from the smallest point, up to the whole bill.
    fn program(decimals: u32, points: &str, value: &str) -> Rules {
        let mut rules = ProgramRules::new(inr());
        rules.precision = PointPrecision::new(decimals, Rounding::Down).unwrap();
        rules.base_rate = crate::EarnRate::new(pts("1"), Decimal::from(10)).unwrap();
        rules.redemption = Some(RedemptionRules {
            rate: ConversionRate::new(pts(points), money(value)).unwrap(),
            min_points: Points::new(Decimal::new(1, decimals)).unwrap(),
            max_bill_share: "100".parse().unwrap(),
            max_points_per_bill: None,
        });
        rules.validate().unwrap()
    }

    /// "100 points = 10.00" with two point decimals.
    fn pharmacy() -> Rules {
        program(2, "100", "10.00")
    }

    /// A redemption of `points` on a bill of `bill` by a member with plenty of points.
    fn redeem(rules: &Rules, bill: &str, points: Points) -> Result<Redemption> {
        let checkout = RedemptionContext {
            bill_amount: money(bill),
            available: pts("1000000"),
            already_redeemed_on_bill: Points::ZERO,
            already_redeemed_value_on_bill: Money::zero(inr()),
        };
        validate_redemption(rules, &checkout, points)
    }

    /// Reserves `reserved.points` on one lot and captures `captured` of them (`None`: all).
    fn capture(reserved: &Redemption, captured: Option<Points>) -> Points {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let lot = Lot {
            id: Uuid::from_u128(1),
            remaining: pts("1000000"),
            spendable_from: now,
            expires_at: None,
            pending: false,
        };
        let mut hold =
            Hold::reserve(&[lot], reserved.points, now, now + TimeDelta::minutes(15)).unwrap();
        hold.capture(captured, now).unwrap().captured
    }

    #[test]
    fn capturing_20_75_of_28_19_held_points_pays_2_07_like_redeeming_20_75_points() {
        let rules = pharmacy();
        let reserved = redeem(&rules, "163.89", pts("28.19")).unwrap();
        assert_eq!(reserved.value, money("2.81")); // 2.819 rounded down
        let captured = capture(&reserved, Some(pts("20.75")));

        let value = captured_value(&rules, &reserved, captured).unwrap();

        assert_eq!(value, money("2.07")); // 2.075 rounded down, not 2.81 x 20.75 / 28.19 = 2.06
        assert_eq!(value, redeem(&rules, "163.89", pts("20.75")).unwrap().value);
    }

    #[test]
    fn the_bill_of_163_89_then_earns_on_161_82() {
        let rules = pharmacy();
        let reserved = redeem(&rules, "163.89", pts("28.19")).unwrap();
        let value = captured_value(&rules, &reserved, pts("20.75")).unwrap();
        let line = BillLine {
            category: None,
            amount: money("163.89"),
        };
        let bill = Bill::new(vec![line], inr(), Utc::now()).unwrap();

        let earned = earn_on_bill(&rules, None, &[], &bill, &value, false).unwrap();

        assert_eq!(earned.earning_amount, money("161.82"));
        assert_eq!(earned.earning.total, pts("16.18"));
    }

    #[test]
    fn a_full_capture_pays_the_holds_value() {
        let rules = pharmacy();
        let reserved = redeem(&rules, "163.89", pts("28.19")).unwrap();
        let captured = capture(&reserved, None);
        assert_eq!(
            captured_value(&rules, &reserved, captured).unwrap(),
            money("2.81")
        );
    }

    #[test]
    fn after_the_rate_went_up_a_capture_pays_no_more_than_the_hold_was_worth() {
        let reserved = redeem(&pharmacy(), "163.89", pts("28.19")).unwrap();
        let dearer = program(2, "100", "20.00");
        assert_eq!(
            captured_value(&dearer, &reserved, pts("20.75")).unwrap(),
            money("2.81")
        );
        assert_eq!(
            captured_value(&dearer, &reserved, pts("10")).unwrap(),
            money("2.00")
        );
    }

    #[test]
    fn a_program_that_stopped_redeeming_values_the_capture_at_the_reservations_rate() {
        let reserved = Redemption {
            points: pts("30"),
            value: money("3.00"),
        };
        let mut rules = ProgramRules::new(inr());
        rules.precision = PointPrecision::new(2, Rounding::Down).unwrap();
        let rules = rules.validate().unwrap();
        assert_eq!(
            captured_value(&rules, &reserved, pts("20.75")).unwrap(),
            money("2.07")
        );
    }

    #[test]
    fn capturing_more_than_was_reserved_is_refused() {
        let rules = pharmacy();
        let reserved = redeem(&rules, "163.89", pts("28.19")).unwrap();
        assert!(matches!(
            captured_value(&rules, &reserved, pts("28.20")),
            Err(Error::CaptureExceedsHold { .. })
        ));
    }

    #[test]
    fn a_reservation_in_another_currency_is_refused() {
        let reserved = Redemption {
            points: pts("30"),
            value: Money::parse("3.00", Currency::new("USD").unwrap()).unwrap(),
        };
        assert!(matches!(
            captured_value(&pharmacy(), &reserved, pts("20")),
            Err(Error::CurrencyMismatch { .. })
        ));
    }

    /// (point decimals, rate points in hundredths, rate value in cents, held points in the
    /// smallest unit, captured share in ten-thousandths)
    fn cases() -> impl Strategy<Value = (u32, i64, i64, i64, i64)> {
        (
            0u32..=2,
            1i64..100_000,
            1i64..100_000,
            1i64..10_000_000,
            1i64..=10_000,
        )
    }

    proptest! {
        #[test]
        fn a_capture_pays_what_a_redemption_of_the_captured_points_pays(
            (decimals, rate_points, rate_value, held, share) in cases()
        ) {
            let rate_points = Decimal::new(rate_points, 2).to_string();
            let rate_value = Decimal::new(rate_value, 2).to_string();
            let rules = program(decimals, &rate_points, &rate_value);
            let held = Points::new(Decimal::new(held, decimals)).unwrap();
            // Reservations worth less than the smallest coin are refused like redemptions.
            let Ok(reserved) = redeem(&rules, "100000000", held) else {
                return Ok(());
            };
            let part = rules
                .precision
                .round_down(held.value() * Decimal::new(share, 4))
                .unwrap();
            prop_assume!(!part.is_zero());
            let captured = capture(&reserved, Some(part));

            let value = captured_value(&rules, &reserved, captured).unwrap();

            prop_assert_eq!(value, points_value(&rules, captured).unwrap());
            if let Ok(redeemed) = redeem(&rules, "100000000", captured) {
                prop_assert_eq!(value, redeemed.value);
            }
            prop_assert!(value.amount() <= reserved.value.amount());
            if captured == held {
                prop_assert_eq!(value, reserved.value);
            }
        }
    }
}
