//! Which bill line earned which of a bill's points.
//!
//! Every component of the bill's earning (after the bill cap) is shared out over the lines
//! that produced it, in proportion to what each line contributed:
//! - the base and the tier bonus by the lines' exact points;
//! - a multiplier campaign by its eligible lines' exact points, an extra-percentage or fixed
//!   campaign by its eligible lines' amounts.
//!
//! Each line's share is rounded down to the program's point decimals; what rounding leaves
//! of the component goes to the contributing line with the largest weight (the first such in
//! bill order). So the shares of a component add up to it exactly, and the lines' points add
//! up to the bill's total exactly, caps and rounding included. A component no line weighs
//! anything for (a fixed bonus on eligible lines of amount zero) goes to the first
//! contributing line.

use rust_decimal::Decimal;

use super::breakdown::LinePoints;
use crate::error::{Error, Result};
use crate::values::{PointPrecision, Points};

/// Shares `component` over the lines by `weights` (`None`: the line does not take part);
/// see the [module docs](self). The shares add up to `component` exactly.
pub(super) fn share(
    component: Points,
    weights: &[Option<Decimal>],
    precision: PointPrecision,
) -> Result<Vec<Points>> {
    let mut shares = vec![Points::ZERO; weights.len()];
    if component.is_zero() {
        return Ok(shares);
    }
    // The line that takes the remainder: the largest weight, first in bill order on ties.
    let mut heaviest: Option<(usize, Decimal)> = None;
    let mut total = Decimal::ZERO;
    for (i, w) in weights.iter().enumerate() {
        if let Some(w) = *w {
            total = total.checked_add(w).ok_or(OVERFLOW)?;
            if heaviest.is_none_or(|(_, max)| w > max) {
                heaviest = Some((i, w));
            }
        }
    }
    let Some((heaviest, _)) = heaviest else {
        return Err(Error::InvalidField {
            what: "earning breakdown",
            reason: format!("{component} points came from no line"),
        });
    };
    let mut given = Points::ZERO;
    if total > Decimal::ZERO {
        for (slot, w) in shares.iter_mut().zip(weights) {
            let Some(w) = *w else { continue };
            let exact = component
                .value()
                .checked_mul(w)
                .and_then(|p| p.checked_div(total))
                .ok_or(OVERFLOW)?;
            *slot = precision.round_down(exact).map_err(|_| OVERFLOW)?;
            given = given.checked_add(*slot).map_err(|_| OVERFLOW)?;
        }
    }
    let rest = component
        .value()
        .checked_sub(given.value())
        .ok_or(OVERFLOW)?;
    if let Some(slot) = shares.get_mut(heaviest) {
        *slot =
            Points::new(slot.value().checked_add(rest).ok_or(OVERFLOW)?).map_err(|_| OVERFLOW)?;
    }
    Ok(shares)
}

/// Adds one component's shares into the lines' points.
pub(super) fn add_shares(
    lines: &mut [LinePoints],
    shares: &[Points],
    pick: fn(&mut LinePoints) -> &mut Points,
) -> Result<()> {
    for (line, share) in lines.iter_mut().zip(shares) {
        let slot = pick(line);
        *slot = slot.checked_add(*share).map_err(|_| OVERFLOW)?;
        line.total = line.total.checked_add(*share).map_err(|_| OVERFLOW)?;
    }
    Ok(())
}

const OVERFLOW: Error = Error::Overflow("a bill line's points");
