//! Proto <-> domain conversion. Every value from the wire is parsed into a `loyalty-core`
//! type here (so it is valid from then on); every domain value leaves as a string decimal.

mod cashback;
pub mod ledger;
pub mod points;
mod program;
pub mod text;
mod views;

pub use cashback::wallet_to_pb;
pub use points::{PointFormat, PointFormats};
pub use program::{
    program_kind_to_pb, rules_from_pb, rules_to_pb, settings_from_pb, settings_to_pb,
};
pub use text::{opt_text, quoted, required_text, short_list, text};
pub use views::{
    campaign_to_pb, card_number, member_to_pb, member_update_from_pb, membership_to_pb,
    program_to_pb, reward_from_pb, reward_to_pb,
};

use chrono::{DateTime, Utc};
use loyalty_core::ledger::EntryKind;
use loyalty_core::{Bill, BillLine, Category, Currency, IdempotencyKey, Money, Points};
use rust_decimal::Decimal;

use crate::error::{ApiError, ApiResult};
use crate::pb;

/// A required, non-empty id field.
pub fn id(field: &'static str, value: &str) -> ApiResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::field(field, "is required"));
    }
    if value.len() > 64 || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(ApiError::field(field, "is not a valid id"));
    }
    Ok(value.to_owned())
}

/// An optional id field (empty = none).
pub fn opt_id(field: &'static str, value: &str) -> ApiResult<Option<String>> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        id(field, value).map(Some)
    }
}

/// An exact decimal string of at most [`text::MAX_DECIMAL`] characters.
pub fn decimal(field: &'static str, value: &str) -> ApiResult<Decimal> {
    let v = text::bounded(field, value, text::MAX_DECIMAL)?.trim();
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+');
    if !plain {
        return Err(ApiError::field(
            field,
            format!(
                "{} is not a decimal number such as \"12.50\"",
                quoted(value)
            ),
        ));
    }
    v.parse::<Decimal>()
        .map_err(|_| ApiError::field(field, format!("{} is not a decimal number", quoted(value))))
}

/// An optional decimal string (empty = none).
pub fn opt_decimal(field: &'static str, value: &str) -> ApiResult<Option<Decimal>> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        decimal(field, value).map(Some)
    }
}

/// A quantity of points.
pub fn points(field: &'static str, value: &str) -> ApiResult<Points> {
    Points::new(decimal(field, value)?).map_err(|e| ApiError::field(field, e.to_string()))
}

/// An optional quantity of points (empty = none).
pub fn opt_points(field: &'static str, value: &str) -> ApiResult<Option<Points>> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        points(field, value).map(Some)
    }
}

/// A money amount in `currency`.
pub fn money(field: &'static str, value: &str, currency: Currency) -> ApiResult<Money> {
    Money::new(decimal(field, value)?, currency).map_err(|e| ApiError::field(field, e.to_string()))
}

/// A currency code.
pub fn currency(field: &'static str, value: &str) -> ApiResult<Currency> {
    Currency::new(value).map_err(|e| ApiError::field(field, e.to_string()))
}

/// The idempotency key every mutating request carries.
pub fn idempotency_key(value: &str) -> ApiResult<IdempotencyKey> {
    IdempotencyKey::new(value).map_err(|e| ApiError::field("idempotency_key", e.to_string()))
}

/// An RFC 3339 time.
pub fn time(field: &'static str, value: &str) -> ApiResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text::bounded(field, value, text::MAX_TIME)?.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::field(
                field,
                format!(
                    "{} is not an RFC 3339 time such as \"2026-11-21T10:00:00Z\"",
                    quoted(value)
                ),
            )
        })
}

/// An optional RFC 3339 time (empty = none).
pub fn opt_time(field: &'static str, value: &str) -> ApiResult<Option<DateTime<Utc>>> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        time(field, value).map(Some)
    }
}

/// A time as RFC 3339 (UTC, `Z`).
pub fn time_to_pb(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// An optional time (none = empty string).
pub fn opt_time_to_pb(at: Option<DateTime<Utc>>) -> String {
    at.map(time_to_pb).unwrap_or_default()
}

/// A bill reference: 1..=128 printable characters.
pub fn reference(field: &'static str, value: &str) -> ApiResult<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > 128 || v.chars().any(char::is_control) {
        return Err(ApiError::field(
            field,
            "must have 1 to 128 printable characters",
        ));
    }
    Ok(v.to_owned())
}

/// A bill's lines in `currency` (the program's).
pub fn bill_lines(bill: &pb::Bill, currency: Currency) -> ApiResult<Vec<BillLine>> {
    if !bill.currency.trim().is_empty() {
        let given = self::currency("bill.currency", &bill.currency)?;
        if given != currency {
            return Err(ApiError::field(
                "bill.currency",
                format!("the program's currency is {currency}, not {given}"),
            ));
        }
    }
    if bill.lines.is_empty() {
        return Err(ApiError::field(
            "bill.lines",
            "a bill needs at least one line",
        ));
    }
    bill.lines
        .iter()
        .map(|l| {
            let category = if l.category.trim().is_empty() {
                None
            } else {
                Some(
                    Category::new(&l.category)
                        .map_err(|e| ApiError::field("bill.lines.category", e.to_string()))?,
                )
            };
            Ok(BillLine {
                category,
                amount: money("bill.lines.amount", &l.amount, currency)?,
            })
        })
        .collect()
}

/// Checks the whole bill through `loyalty-core` (so malformed bills fail before the store).
pub fn check_bill(lines: &[BillLine], currency: Currency, at: DateTime<Utc>) -> ApiResult<()> {
    Bill::new(lines.to_vec(), currency, at)
        .map(|_| ())
        .map_err(|e| ApiError::field("bill", e.to_string()))
}

/// An entry kind on the wire.
pub fn kind_to_pb(kind: EntryKind) -> pb::EntryKind {
    match kind {
        EntryKind::Earned => pb::EntryKind::Earned,
        EntryKind::ReferralEarned => pb::EntryKind::ReferralEarned,
        EntryKind::ActionBonus => pb::EntryKind::ActionBonus,
        EntryKind::TierBonus => pb::EntryKind::TierBonus,
        EntryKind::CampaignBonus => pb::EntryKind::CampaignBonus,
        EntryKind::Adjusted => pb::EntryKind::Adjusted,
        EntryKind::Reserved => pb::EntryKind::Reserved,
        EntryKind::Captured => pb::EntryKind::Captured,
        EntryKind::Released => pb::EntryKind::Released,
        EntryKind::Redeemed => pb::EntryKind::Redeemed,
        EntryKind::Reversed => pb::EntryKind::Reversed,
        EntryKind::Returned => pb::EntryKind::Returned,
        EntryKind::Expired => pb::EntryKind::Expired,
        EntryKind::Matured => pb::EntryKind::Matured,
        EntryKind::Imported => pb::EntryKind::Imported,
    }
}

/// An entry kind from the wire.
pub fn kind_from_pb(value: i32) -> ApiResult<EntryKind> {
    let kind = pb::EntryKind::try_from(value)
        .map_err(|_| ApiError::field("kinds", format!("unknown entry kind {value}")))?;
    EntryKind::ALL
        .iter()
        .copied()
        .find(|k| kind_to_pb(*k) == kind)
        .ok_or_else(|| ApiError::field("kinds", "ENTRY_KIND_UNSPECIFIED is not a kind"))
}

/// A page size: 0 means the default of 50; at most 500.
pub fn page_size(value: u32) -> u32 {
    if value == 0 { 50 } else { value.min(500) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_float_looking_amount_in_scientific_notation_is_rejected() {
        assert!(decimal("amount", "1e5").is_err());
        assert!(decimal("amount", "").is_err());
        assert!(decimal("amount", "ten").is_err());
    }

    #[test]
    fn negative_points_are_rejected_with_the_field_name() {
        let err = points("points", "-5").unwrap_err();
        assert!(err.to_string().contains("points"), "{err}");
    }

    #[test]
    fn every_entry_kind_survives_the_wire() {
        for kind in EntryKind::ALL {
            assert_eq!(kind_from_pb(kind_to_pb(kind) as i32).unwrap(), kind);
        }
    }

    #[test]
    fn a_bill_in_another_currency_is_rejected() {
        let bill = pb::Bill {
            reference: "B1".into(),
            currency: "USD".into(),
            lines: vec![pb::BillLine {
                category: String::new(),
                amount: "10".into(),
            }],
            at: String::new(),
        };
        assert!(bill_lines(&bill, Currency::new("INR").unwrap()).is_err());
    }
}
