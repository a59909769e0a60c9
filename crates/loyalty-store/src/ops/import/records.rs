//! The import file's records: one JSON object per line, its `type` saying what it is, parsed
//! and checked line by line so that a bad line is rejected alone with a precise reason.

use chrono::{DateTime, NaiveDate, Utc};
use loyalty_core::{CardNumber, Points};
use rust_decimal::Decimal;
use serde::Deserialize;

/// One record of an import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportRecord {
    /// A member with its card (and referrer); present when its customer id is known.
    Member(MemberRecord),
    /// A member in a program (with its tier); present when the member already joined.
    Membership(MembershipRecord),
    /// An opening balance: one lot with its original earn date and expiry; present when the
    /// membership already holds an imported lot with the same reference.
    Lot(LotRecord),
}

/// A member to enroll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    /// The tenant's customer id (the natural key).
    pub customer_id: String,
    /// The card number.
    pub card_number: CardNumber,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// The referrer's customer id (imported on an earlier line or run).
    pub referrer: Option<String>,
}

/// A membership to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRecord {
    /// The member's customer id.
    pub customer_id: String,
    /// The program's id or name.
    pub program: String,
    /// The tier's name, if the member holds one.
    pub tier: Option<String>,
}

/// An opening balance lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotRecord {
    /// The member's customer id.
    pub customer_id: String,
    /// The program's id or name.
    pub program: String,
    /// The lot's points (remaining in the old system).
    pub points: Points,
    /// When the points were earned in the old system.
    pub earned_at: DateTime<Utc>,
    /// When they expire (`None`: as the program's expiry policy says from `earned_at`).
    pub expires_at: Option<DateTime<Utc>>,
    /// The lot's key in the old system, unique per membership: what makes a re-import skip it.
    pub reference: String,
}

/// A line as written: every field optional so that a missing one gets its own message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(rename = "type")]
    kind: Option<String>,
    customer_id: Option<String>,
    card_number: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    referrer: Option<String>,
    program: Option<String>,
    tier: Option<String>,
    points: Option<Amount>,
    earned_at: Option<String>,
    expires_at: Option<String>,
    reference: Option<String>,
}

/// Points as a decimal string ("12.5") or a whole JSON number (never a float).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Amount {
    Text(String),
    Whole(u64),
}

/// The most characters of a customer id, program, tier or reference (as in the API).
const MAX_KEY: usize = 128;

fn required(field: &'static str, value: Option<String>, max: usize) -> Result<String, String> {
    let value = value.ok_or_else(|| format!("{field} is missing"))?;
    checked(field, &value, max)
}

fn checked(field: &'static str, value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{field} is empty"));
    }
    if value.chars().count() > max {
        return Err(format!("{field} has more than {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field} holds a control character"));
    }
    Ok(value.to_owned())
}

fn optional(
    field: &'static str,
    value: Option<String>,
    max: usize,
) -> Result<Option<String>, String> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => checked(field, v, max).map(Some),
    }
}

/// An RFC 3339 instant, or a date (midnight UTC).
fn instant(field: &'static str, value: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
        .ok_or_else(|| format!("{field} {value:.32?} is not an RFC 3339 time or a YYYY-MM-DD date"))
}

fn points(value: Option<Amount>) -> Result<Points, String> {
    let value = match value.ok_or("points is missing")? {
        Amount::Text(text) => text
            .trim()
            .parse::<Decimal>()
            .map_err(|_| format!("points {text:.32?} is not a decimal number"))?,
        Amount::Whole(n) => Decimal::from(n),
    };
    let points = Points::new(value).map_err(|e| format!("points: {e}"))?;
    if points.is_zero() {
        return Err("points must be more than zero".into());
    }
    Ok(points)
}

/// Fields a record of `kind` does not take, so that a misplaced one is refused, not ignored.
fn refuse_extra(kind: &str, fields: &[(&str, bool)]) -> Result<(), String> {
    match fields.iter().find(|(_, present)| *present) {
        Some((name, _)) => Err(format!("a {kind} record has no field {name}")),
        None => Ok(()),
    }
}

/// Parses one line of an import file into a record, or says precisely what is wrong with it.
///
/// ```
/// use loyalty_store::ops::import::{ImportRecord, parse_line};
/// let line = r#"{"type": "lot", "customer_id": "C-1001", "program": "Shop points",
///   "points": "150", "earned_at": "2025-03-01", "expires_at": "2026-03-01T00:00:00Z",
///   "reference": "OLD-77"}"#;
/// assert!(matches!(parse_line(line), Ok(ImportRecord::Lot(_))));
/// assert_eq!(parse_line(r#"{"type": "lot"}"#).unwrap_err(), "customer_id is missing");
/// ```
pub fn parse_line(text: &str) -> Result<ImportRecord, String> {
    let line: Line = serde_json::from_str(text).map_err(|e| {
        // serde's message may quote what was sent (an unknown field's name): keep it short.
        let message: String = e.to_string().chars().take(160).collect();
        format!("not a record: {message}")
    })?;
    let Line {
        kind,
        customer_id,
        card_number,
        name,
        phone,
        email,
        referrer,
        program,
        tier,
        points: amount,
        earned_at,
        expires_at,
        reference,
    } = line;
    let kind = kind.ok_or("type is missing (member, membership or lot)")?;
    match kind.as_str() {
        "member" => {
            refuse_extra(
                "member",
                &[
                    ("program", program.is_some()),
                    ("tier", tier.is_some()),
                    ("points", amount.is_some()),
                    ("earned_at", earned_at.is_some()),
                    ("expires_at", expires_at.is_some()),
                    ("reference", reference.is_some()),
                ],
            )?;
            let customer_id = required("customer_id", customer_id, MAX_KEY)?;
            let card = required("card_number", card_number, 32)?;
            let card_number = CardNumber::new(&card).map_err(|e| format!("card_number: {e}"))?;
            Ok(ImportRecord::Member(MemberRecord {
                customer_id,
                card_number,
                name: required("name", name, 200)?,
                phone: optional("phone", phone, 32)?,
                email: optional("email", email, 254)?,
                referrer: optional("referrer", referrer, MAX_KEY)?,
            }))
        }
        "membership" => {
            refuse_extra(
                "membership",
                &[
                    ("card_number", card_number.is_some()),
                    ("name", name.is_some()),
                    ("phone", phone.is_some()),
                    ("email", email.is_some()),
                    ("referrer", referrer.is_some()),
                    ("points", amount.is_some()),
                    ("earned_at", earned_at.is_some()),
                    ("expires_at", expires_at.is_some()),
                    ("reference", reference.is_some()),
                ],
            )?;
            Ok(ImportRecord::Membership(MembershipRecord {
                customer_id: required("customer_id", customer_id, MAX_KEY)?,
                program: required("program", program, MAX_KEY)?,
                tier: optional("tier", tier, 64)?,
            }))
        }
        "lot" => {
            refuse_extra(
                "lot",
                &[
                    ("card_number", card_number.is_some()),
                    ("name", name.is_some()),
                    ("phone", phone.is_some()),
                    ("email", email.is_some()),
                    ("referrer", referrer.is_some()),
                    ("tier", tier.is_some()),
                ],
            )?;
            let customer_id = required("customer_id", customer_id, MAX_KEY)?;
            let program = required("program", program, MAX_KEY)?;
            let points = points(amount)?;
            let earned_at = instant("earned_at", &required("earned_at", earned_at, 64)?)?;
            let expires_at = optional("expires_at", expires_at, 64)?
                .map(|at| instant("expires_at", &at))
                .transpose()?;
            let reference = required("reference", reference, MAX_KEY).map_err(|e| {
                format!(
                    "{e}: a lot needs its key in the old system, which makes a re-import skip it"
                )
            })?;
            Ok(ImportRecord::Lot(LotRecord {
                customer_id,
                program,
                points,
                earned_at,
                expires_at,
                reference,
            }))
        }
        other => Err(format!(
            "unknown type {other:.32?} (expected member, membership or lot)"
        )),
    }
}
